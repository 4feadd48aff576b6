//! From an update document's element tree to the [`Update`] model.

use base64::Engine;
use uuid::Uuid;

use crate::dom::{to_standalone_xml, Element};
use crate::model::*;
use crate::ns;
use crate::MetadataError;

struct Ctx<'a> {
    doc: &'a str,
}

impl Ctx<'_> {
    fn err(&self, reason: impl Into<String>) -> MetadataError {
        MetadataError::Invalid { document: self.doc.to_string(), reason: reason.into() }
    }

    fn uuid(&self, el: &Element, attr: &str) -> Result<Uuid, MetadataError> {
        let v = el
            .attr(attr)
            .ok_or_else(|| self.err(format!("{} lacks {attr}", el.local)))?;
        Uuid::parse_str(v.trim()).map_err(|_| self.err(format!("{} has an invalid {attr} '{v}'", el.local)))
    }

    fn int<T: std::str::FromStr>(&self, el: &Element, attr: &str) -> Result<Option<T>, MetadataError> {
        match el.attr(attr) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<T>()
                .map(Some)
                .map_err(|_| self.err(format!("{} has an invalid {attr} '{v}'", el.local))),
        }
    }

    fn boolean(&self, el: &Element, attr: &str) -> Result<Option<bool>, MetadataError> {
        match el.attr(attr) {
            None => Ok(None),
            Some("true") | Some("1") => Ok(Some(true)),
            Some("false") | Some("0") => Ok(Some(false)),
            Some(v) => Err(self.err(format!("{} has an invalid boolean {attr} '{v}'", el.local))),
        }
    }
}

fn opt(s: Option<&str>) -> Option<String> {
    s.map(str::to_string)
}

/// Builds the model from a parsed `upd:Update` root element.
pub fn update_from_root(root: &Element, doc: &str) -> Result<Update, MetadataError> {
    let cx = Ctx { doc };
    if !root.is(ns::UPDATE, "Update") {
        return Err(cx.err(format!(
            "the root element is '{}' in namespace '{}', not Update in {}",
            root.local,
            root.ns,
            ns::UPDATE
        )));
    }
    let id_el = root.child(ns::UPDATE, "UpdateIdentity").ok_or_else(|| cx.err("no UpdateIdentity"))?;
    let identity = UpdateIdentity {
        update_id: cx.uuid(id_el, "UpdateID")?,
        revision_number: cx
            .int::<i32>(id_el, "RevisionNumber")?
            .ok_or_else(|| cx.err("UpdateIdentity lacks RevisionNumber"))?,
    };
    let props_el = root.child(ns::UPDATE, "Properties").ok_or_else(|| cx.err("no Properties"))?;
    let properties = properties(&cx, props_el)?;

    let mut localized = Vec::new();
    let mut eulas = Vec::new();
    if let Some(coll) = root.child(ns::UPDATE, "LocalizedPropertiesCollection") {
        for lp in coll.elements() {
            if lp.is(ns::UPDATE, "LocalizedProperties") {
                let language = lp
                    .child_text(ns::UPDATE, "Language")
                    .ok_or_else(|| cx.err("LocalizedProperties without Language"))?;
                localized.push(LocalizedProperties {
                    language,
                    title: lp.child_text(ns::UPDATE, "Title").unwrap_or_default(),
                    description: lp.child_text(ns::UPDATE, "Description"),
                    uninstall_notes: lp.child_text(ns::UPDATE, "UninstallNotes"),
                    more_info_url: lp.child_text(ns::UPDATE, "MoreInfoUrl"),
                    support_url: lp.child_text(ns::UPDATE, "SupportUrl"),
                });
            } else if lp.is(ns::UPDATE, "EulaFile") {
                let language = lp.attr("Language").unwrap_or("").to_string();
                let file_el = lp
                    .child(ns::UPDATE, "File")
                    .ok_or_else(|| cx.err("EulaFile without File"))?;
                eulas.push(EulaFile { language, file: file(&cx, file_el)? });
            }
        }
    }

    let mut relationships = Relationships::default();
    if let Some(rel) = root.child(ns::UPDATE, "Relationships") {
        if let Some(pre) = rel.child(ns::UPDATE, "Prerequisites") {
            for p in pre.elements() {
                if p.is(ns::UPDATE, "UpdateIdentity") {
                    relationships.prerequisites.push(PrerequisiteGroup {
                        members: vec![cx.uuid(p, "UpdateID")?],
                        is_category: false,
                        at_least_one: false,
                    });
                } else if p.is(ns::UPDATE, "AtLeastOne") {
                    let members = p
                        .children_named(ns::UPDATE, "UpdateIdentity")
                        .map(|m| cx.uuid(m, "UpdateID"))
                        .collect::<Result<Vec<_>, _>>()?;
                    relationships.prerequisites.push(PrerequisiteGroup {
                        members,
                        is_category: cx.boolean(p, "IsCategory")?.unwrap_or(false),
                        at_least_one: true,
                    });
                }
            }
        }
        if let Some(b) = rel.child(ns::UPDATE, "BundledUpdates") {
            for slot in b.elements() {
                let refs = if slot.is(ns::UPDATE, "UpdateIdentity") {
                    vec![update_ref(&cx, slot)?]
                } else if slot.is(ns::UPDATE, "AtLeastOne") {
                    slot.children_named(ns::UPDATE, "UpdateIdentity")
                        .map(|m| update_ref(&cx, m))
                        .collect::<Result<Vec<_>, _>>()?
                } else {
                    continue;
                };
                relationships.bundled_updates.push(refs);
            }
        }
        if let Some(s) = rel.child(ns::UPDATE, "SupersededUpdates") {
            for u in s.children_named(ns::UPDATE, "UpdateIdentity") {
                relationships.superseded_updates.push(cx.uuid(u, "UpdateID")?);
            }
        }
    }

    let mut rules = ApplicabilityRules::default();
    if let Some(ar) = root.child(ns::UPDATE, "ApplicabilityRules") {
        let scope = scope_of(&[root, ar]);
        let capture = |name: &str| -> Option<String> {
            ar.child(ns::UPDATE, name).map(|r| {
                let inner_scope = scope_with(&scope, r);
                r.elements()
                    .map(|e| to_standalone_xml(e, &inner_scope))
                    .collect::<Vec<_>>()
                    .join("")
            })
        };
        rules.is_installed = capture("IsInstalled");
        rules.is_installable = capture("IsInstallable");
        rules.is_superseded = capture("IsSuperseded");
        rules.metadata = capture("Metadata");
    }

    let mut files = Vec::new();
    if let Some(fs) = root.child(ns::UPDATE, "Files") {
        for f in fs.children_named(ns::UPDATE, "File") {
            files.push(file(&cx, f)?);
        }
    }

    let handler = match root.child(ns::UPDATE, "HandlerSpecificData") {
        Some(h) => Some(handler(&cx, h)?),
        None => None,
    };

    Ok(Update { identity, properties, localized, eulas, relationships, rules, files, handler })
}

fn scope_of(path: &[&Element]) -> Vec<(String, String)> {
    path.iter().flat_map(|e| e.ns_decls.iter().cloned()).collect()
}

fn scope_with(scope: &[(String, String)], el: &Element) -> Vec<(String, String)> {
    scope.iter().chain(el.ns_decls.iter()).cloned().collect()
}

fn update_ref(cx: &Ctx<'_>, el: &Element) -> Result<UpdateRef, MetadataError> {
    Ok(UpdateRef { update_id: cx.uuid(el, "UpdateID")?, revision_number: cx.int(el, "RevisionNumber")? })
}

fn behavior(cx: &Ctx<'_>, el: &Element) -> Result<Behavior, MetadataError> {
    Ok(Behavior {
        reboot_behavior: opt(el.attr("RebootBehavior")),
        impact: opt(el.attr("Impact")),
        can_request_user_input: cx.boolean(el, "CanRequestUserInput")?,
        requires_network_connectivity: cx.boolean(el, "RequiresNetworkConnectivity")?,
    })
}

fn properties(cx: &Ctx<'_>, p: &Element) -> Result<Properties, MetadataError> {
    let ut = p.attr("UpdateType").ok_or_else(|| cx.err("Properties lacks UpdateType"))?;
    let update_type = UpdateType::parse(ut).ok_or_else(|| cx.err(format!("unknown UpdateType '{ut}'")))?;
    let msrc_severity = match p.attr("MsrcSeverity") {
        None | Some("") => None,
        Some(s) => Some(MsrcSeverity::parse(s).ok_or_else(|| cx.err(format!("unknown MsrcSeverity '{s}'")))?),
    };
    let texts = |name: &str| p.children_named(ns::UPDATE, name).map(|e| e.text()).collect::<Vec<_>>();
    Ok(Properties {
        update_type,
        default_properties_language: opt(p.attr("DefaultPropertiesLanguage")),
        handler: opt(p.attr("Handler")),
        max_download_size: cx.int(p, "MaxDownloadSize")?,
        min_download_size: cx.int(p, "MinDownloadSize")?,
        publication_state: opt(p.attr("PublicationState")),
        creation_date: opt(p.attr("CreationDate")),
        publisher_id: opt(p.attr("PublisherID")),
        explicitly_deployable: cx.boolean(p, "ExplicitlyDeployable")?.unwrap_or(false),
        auto_select_on_websites: cx.boolean(p, "AutoSelectOnWebSites")?.unwrap_or(false),
        is_public: cx.boolean(p, "IsPublic")?,
        per_user: cx.boolean(p, "PerUser")?,
        eula_id: opt(p.attr("EulaID")),
        legacy_name: opt(p.attr("LegacyName")),
        detectoid_type: opt(p.attr("DetectoidType")),
        os_upgrade: opt(p.attr("OSUpgrade")),
        msrc_severity,
        is_locally_published: cx.boolean(p, "IsLocallyPublished")?.unwrap_or(false),
        kb_article_ids: texts("KBArticleID"),
        security_bulletin_ids: texts("SecurityBulletinID"),
        cve_ids: texts("CveID"),
        support_url: p.child_text(ns::UPDATE, "SupportUrl"),
        installation_behavior: p.child(ns::UPDATE, "InstallationBehavior").map(|b| behavior(cx, b)).transpose()?,
        uninstallation_behavior: p
            .child(ns::UPDATE, "UninstallationBehavior")
            .map(|b| behavior(cx, b))
            .transpose()?,
    })
}

fn b64(cx: &Ctx<'_>, what: &str, v: &str) -> Result<Vec<u8>, MetadataError> {
    let cleaned: String = v.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .map_err(|_| cx.err(format!("{what} is not valid base64")))
}

fn file(cx: &Ctx<'_>, f: &Element) -> Result<UpdateFile, MetadataError> {
    let file_name = f.attr("FileName").ok_or_else(|| cx.err("File lacks FileName"))?.to_string();
    let algo = f.attr("DigestAlgorithm").unwrap_or("SHA1");
    if !algo.eq_ignore_ascii_case("SHA1") {
        return Err(cx.err(format!("file {file_name}: unsupported DigestAlgorithm '{algo}'")));
    }
    let digest = f.attr("Digest").ok_or_else(|| cx.err(format!("file {file_name} lacks Digest")))?;
    let sha1: [u8; 20] = b64(cx, "Digest", digest)?
        .try_into()
        .map_err(|_| cx.err(format!("file {file_name}: Digest is not 20 bytes")))?;
    let mut sha256 = None;
    for ad in f.children_named(ns::UPDATE, "AdditionalDigest") {
        if ad.attr("Algorithm").is_some_and(|a| a.eq_ignore_ascii_case("SHA256")) {
            let v: [u8; 32] = b64(cx, "AdditionalDigest", &ad.text())?
                .try_into()
                .map_err(|_| cx.err(format!("file {file_name}: SHA256 digest is not 32 bytes")))?;
            sha256 = Some(v);
        }
    }
    Ok(UpdateFile {
        size: cx.int(f, "Size")?.ok_or_else(|| cx.err(format!("file {file_name} lacks Size")))?,
        modified: opt(f.attr("Modified")),
        sha1,
        sha256,
        patching_type: opt(f.attr("PatchingType")),
        file_name,
    })
}

fn handler(cx: &Ctx<'_>, h: &Element) -> Result<HandlerData, MetadataError> {
    let xsi_type = h
        .attrs
        .iter()
        .find(|a| a.local == "type" && a.ns == ns::XSI)
        .map(|a| a.value.clone())
        .unwrap_or_default();
    // The value is a QName whose prefix differs between publishers; the local part names the
    // handler's schema type.
    let local_type = xsi_type.rsplit(':').next().unwrap_or("").to_string();
    let first = h.elements().next();
    let data = match local_type.as_str() {
        "CommandLineInstallation" => {
            let ic = h
                .child(ns::CMD, "InstallCommand")
                .ok_or_else(|| cx.err("CommandLineInstallation without InstallCommand"))?;
            let mut return_codes = Vec::new();
            for rc in ic.children_named(ns::CMD, "ReturnCode") {
                let result = rc.attr("Result").ok_or_else(|| cx.err("ReturnCode lacks Result"))?;
                return_codes.push(ReturnCode {
                    code: cx.int(rc, "Code")?.ok_or_else(|| cx.err("ReturnCode lacks Code"))?,
                    result: ReturnResult::parse(result)
                        .ok_or_else(|| cx.err(format!("unknown ReturnCode Result '{result}'")))?,
                    reboot: cx.boolean(rc, "Reboot")?.unwrap_or(false),
                    description: opt(rc.attr("DefaultLocalizedDescription")),
                });
            }
            HandlerData::CommandLine(CommandLineInstall {
                program: ic.attr("Program").ok_or_else(|| cx.err("InstallCommand lacks Program"))?.to_string(),
                arguments: opt(ic.attr("Arguments")),
                reboot_by_default: cx.boolean(ic, "RebootByDefault")?,
                default_result: ic.attr("DefaultResult").and_then(ReturnResult::parse),
                return_codes,
            })
        }
        "WindowsInstaller" | "WindowsInstallerApp" => {
            let d = first;
            HandlerData::WindowsInstaller {
                product_code: d.and_then(|d| opt(d.attr("ProductCode"))),
                patch_code: d.and_then(|d| opt(d.attr("PatchCode"))),
                command_line: d.and_then(|d| opt(d.attr("CommandLine"))),
                uninstall_command_line: d.and_then(|d| opt(d.attr("UninstallCommandLine"))),
            }
        }
        "Cbs" => HandlerData::Cbs { package_identity: first.and_then(|d| opt(d.attr("PackageIdentity"))) },
        "WindowsPatch" => {
            HandlerData::WindowsPatch { install_parameters: first.and_then(|d| opt(d.attr("InstallParameters"))) }
        }
        "WindowsSetup" => HandlerData::WindowsSetup { program: first.and_then(|d| opt(d.attr("Program"))) },
        "OSInstallerMetadata" | "OSInstaller" => HandlerData::OsInstaller,
        "Category" => {
            let ci = h.child(ns::CATEGORY, "CategoryInformation");
            match ci {
                Some(ci) => HandlerData::Category(CategoryInfo {
                    category_type: opt(ci.attr("CategoryType")),
                    prohibits_subcategories: cx.boolean(ci, "ProhibitsSubcategories")?,
                    prohibits_updates: cx.boolean(ci, "ProhibitsUpdates")?,
                    display_order: cx.int(ci, "DisplayOrder")?,
                    excluded_by_default: cx.boolean(ci, "ExcludedByDefault")?,
                }),
                None => HandlerData::Category(CategoryInfo {
                    category_type: None,
                    prohibits_subcategories: None,
                    prohibits_updates: None,
                    display_order: None,
                    excluded_by_default: None,
                }),
            }
        }
        _ => HandlerData::Other { xsi_type },
    };
    Ok(data)
}
