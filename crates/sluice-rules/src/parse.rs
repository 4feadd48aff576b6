//! Rule XML → [`Expr`].
//!
//! Two spellings reach us. Update documents (server-to-server sync, local publishing) carry
//! rules in real namespaces, which `sluice-metadata` keeps as standalone XML with their
//! declarations; they are matched by namespace URI and local name. Clients and agents see
//! MS-WUSP Core fragments instead, where namespaces are stripped and replaced by the
//! pseudo-prefixes `b.` (Base), `m.` (MSI) and `d.` (WindowsDriver), everything else bare.
//! Both feed one builder through [`Name`], so the two spellings cannot drift apart.

use sluice_xml::{Element, Node};
use uuid::Uuid;

use crate::expr::*;
use crate::time::Timestamp;
use crate::version::Version;
use crate::RuleError;

/// Namespace URIs of the rule languages.
pub mod ns {
    pub use sluice_metadata::ns::{BAR, DRIVER, LAR, MSIAR, UPDATE};
    /// CBS applicability rules (`cbsar:`); confirmed by locally published CBS updates.
    pub const CBSAR: &str = "http://schemas.microsoft.com/msus/2002/12/CbsApplicabilityRules";
    /// The MSP patch applicability XML inside `MsiPatchMetadata`.
    pub const MSI_PATCH: &str = "http://www.microsoft.com/msi/patch_applicability.xsd";
    /// CBS package manifests inside `CbsPackageApplicabilityMetadata`.
    pub const CBS_ASSEMBLY: &str = "urn:schemas-microsoft-com:asm.v3";
}

/// Largest rule text accepted. The biggest real Core fragments (CBS manifests) are ~47 MB.
pub const MAX_RULE_BYTES: usize = 64 * 1024 * 1024;

const ROOT: &str = "sluice-rules-root";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Document,
    Fragment,
}

/// Which names an element may resolve to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Logical,
    Base,
    Msi,
    Cbs,
    Driver,
    /// A namespace we do not pin down (the Update namespace, the OS installer handler's, or
    /// anything new): only the CBS and product-release/device-attribute names, whose document
    /// namespace is not established, are accepted by local name.
    Loose,
    /// A bare fragment element: logical operators plus the loose names.
    Bare,
}

struct Name<'a> {
    scope: Scope,
    local: &'a str,
    /// Namespace URI to report when unsupported.
    namespace: String,
}

fn uri_family(uri: &str) -> Option<Scope> {
    // The 2002/12 URIs are what Microsoft Update serves; the 2005/04 CorporatePublishing
    // `.xsd` URIs are what locally published packages (SCUP, SDP files) use. Both are the
    // same languages.
    if !(uri.starts_with("http://schemas.microsoft.com/") || uri.starts_with("https://schemas.microsoft.com/")) {
        return None;
    }
    let tail = uri.trim_end_matches(".xsd");
    let tail = tail.rsplit('/').next().unwrap_or("");
    Some(match tail {
        "LogicalApplicabilityRules" => Scope::Logical,
        "BaseApplicabilityRules" => Scope::Base,
        "MsiApplicabilityRules" => Scope::Msi,
        "CbsApplicabilityRules" => Scope::Cbs,
        "WindowsDriver" if uri.contains("/UpdateHandlers/") => Scope::Driver,
        _ => return None,
    })
}

fn name_of(el: &Element, mode: Mode) -> Name<'_> {
    match mode {
        Mode::Document => Name {
            scope: uri_family(&el.ns).unwrap_or(Scope::Loose),
            local: &el.local,
            namespace: el.ns.clone(),
        },
        Mode::Fragment => {
            let q = el.qname.as_str();
            let (scope, local, namespace) = if let Some(l) = q.strip_prefix("b.") {
                (Scope::Base, l, ns::BAR)
            } else if let Some(l) = q.strip_prefix("m.") {
                (Scope::Msi, l, ns::MSIAR)
            } else if let Some(l) = q.strip_prefix("d.") {
                (Scope::Driver, l, ns::DRIVER)
            } else {
                (Scope::Bare, el.local.as_str(), "")
            };
            Name { scope, local, namespace: namespace.to_string() }
        }
    }
}

/// Typed access to an element's attributes, producing the messages `Malformed` carries.
struct Attrs<'a> {
    el: &'a Element,
}

type R<T> = Result<T, String>;

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

impl<'a> Attrs<'a> {
    fn get(&self, n: &str) -> Option<&'a str> {
        self.el.attr(n)
    }

    fn req(&self, n: &str) -> R<&'a str> {
        self.get(n).ok_or_else(|| format!("missing required attribute {n}"))
    }

    fn num<T: std::str::FromStr>(&self, n: &str, s: &str) -> R<T> {
        s.trim().parse::<T>().map_err(|_| format!("attribute {n}=\"{s}\" is not a valid number"))
    }

    fn num_req<T: std::str::FromStr>(&self, n: &str) -> R<T> {
        let s = self.req(n)?;
        self.num(n, s)
    }

    fn num_opt<T: std::str::FromStr>(&self, n: &str) -> R<Option<T>> {
        self.get(n).map(|s| self.num(n, s)).transpose()
    }

    fn bool_opt(&self, n: &str, default: bool) -> R<bool> {
        match self.get(n) {
            None => Ok(default),
            Some(s) => parse_bool(s).ok_or_else(|| format!("attribute {n}=\"{s}\" is not a boolean")),
        }
    }

    fn version(&self, n: &str, s: &str) -> R<Version> {
        Version::parse(s).map_err(|_| format!("attribute {n}=\"{s}\" is not a version"))
    }

    fn version_req(&self, n: &str) -> R<Version> {
        let s = self.req(n)?;
        self.version(n, s)
    }

    fn version_opt(&self, n: &str) -> R<Option<Version>> {
        self.get(n).map(|s| self.version(n, s)).transpose()
    }

    fn timestamp_req(&self, n: &str) -> R<Timestamp> {
        let s = self.req(n)?;
        Timestamp::parse(s).ok_or_else(|| format!("attribute {n}=\"{s}\" is not an xs:dateTime"))
    }

    fn cmp(&self, s: &str, scalar: bool) -> R<Comparison> {
        let c = Comparison::parse(s).ok_or_else(|| format!("Comparison=\"{s}\" is not a known comparison"))?;
        if scalar && !c.is_scalar() {
            return Err(format!("Comparison=\"{s}\" does not apply to numbers or versions"));
        }
        Ok(c)
    }

    fn cmp_req(&self, scalar: bool) -> R<Comparison> {
        let s = self.req("Comparison")?;
        self.cmp(s, scalar)
    }

    fn cmp_opt(&self, scalar: bool) -> R<Comparison> {
        match self.get("Comparison") {
            None => Ok(Comparison::EqualTo),
            Some(s) => self.cmp(s, scalar),
        }
    }

    fn key(&self) -> R<RegKey> {
        let k = self.req("Key")?;
        let hive = Hive::parse(k).ok_or_else(|| format!("Key=\"{k}\" is not a registry root"))?;
        Ok(RegKey {
            hive,
            subkey: self.req("Subkey")?.to_string(),
            reg_type32: self.bool_opt("RegType32", false)?,
        })
    }

    fn string(&self, n: &str) -> R<String> {
        self.req(n).map(str::to_string)
    }

    fn file(&self, prepend: bool) -> R<FileRef> {
        let path = self.string("Path")?;
        let base = if prepend {
            FileBase::Registry { key: self.key()?, value: self.get("Value").map(str::to_string) }
        } else {
            match self.num_opt::<u32>("Csidl")? {
                Some(c) => FileBase::Csidl(c),
                None => FileBase::Absolute,
            }
        };
        Ok(FileRef { base, path })
    }

    fn version_test(&self) -> R<VersionTest> {
        Ok(VersionTest {
            comparison: self.cmp_opt(true)?,
            major: self.num_opt("MajorVersion")?,
            minor: self.num_opt("MinorVersion")?,
            build: self.num_opt("BuildNumber")?,
            service_pack_major: self.num_opt("ServicePackMajor")?,
            service_pack_minor: self.num_opt("ServicePackMinor")?,
            product_type: self.num_opt("ProductType")?,
            suite_mask: self.num_opt("SuiteMask")?,
            all_suites_must_be_present: self.bool_opt("AllSuitesMustBePresent", false)?,
        })
    }

    fn all(&self) -> Vec<(String, String)> {
        self.el.attrs.iter().map(|a| (a.local.clone(), a.value.clone())).collect()
    }
}

fn element_children(el: &Element) -> impl Iterator<Item = &Element> {
    el.children.iter().filter_map(|n| match n {
        Node::Element(e) => Some(e),
        Node::Text(_) => None,
    })
}

fn malformed(name: &str, reason: impl Into<String>) -> Expr {
    Expr::Malformed { name: name.to_string(), reason: reason.into() }
}

/// Builds the expression for one element (namespace-aware when `mode` is `Document`).
pub(crate) fn build(el: &Element, mode: Mode) -> Expr {
    let name = name_of(el, mode);
    let local = name.local;
    let logical = matches!(name.scope, Scope::Logical | Scope::Bare);
    if logical {
        match local {
            "And" | "Or" => {
                let kids: Vec<Expr> = element_children(el).map(|c| build(c, mode)).collect();
                if kids.is_empty() {
                    return malformed(local, "needs at least one operand");
                }
                return if local == "And" { Expr::And(kids) } else { Expr::Or(kids) };
            }
            "Not" => {
                let mut kids = element_children(el);
                return match (kids.next(), kids.next()) {
                    (Some(only), None) => Expr::Not(Box::new(build(only, mode))),
                    (None, _) => malformed("Not", "needs exactly one operand, has none"),
                    (Some(_), Some(_)) => malformed("Not", "needs exactly one operand, has several"),
                };
            }
            "True" => return Expr::True,
            "False" => return Expr::False,
            _ => {}
        }
    }
    if name.scope == Scope::Base && local == "RegKeyLoop" {
        return reg_key_loop(el, mode);
    }
    let a = Attrs { el };
    let leaf: Option<R<Leaf>> = match name.scope {
        Scope::Base => base_leaf(local, &a),
        Scope::Msi => msi_leaf(local, &a, el, mode),
        Scope::Cbs => cbs_leaf(local, &a),
        Scope::Driver => driver_leaf(local, &a),
        Scope::Loose | Scope::Bare => cbs_leaf(local, &a).or_else(|| update_leaf(local, &a)),
        Scope::Logical => None,
    };
    match leaf {
        Some(Ok(l)) => Expr::Leaf(l),
        Some(Err(reason)) => malformed(local, reason),
        None => Expr::Unsupported { namespace: name.namespace, name: local.to_string() },
    }
}

fn reg_key_loop(el: &Element, mode: Mode) -> Expr {
    let a = Attrs { el };
    let head = (|| -> R<(RegKey, TrueIf)> {
        let key = a.key()?;
        let t = a.req("TrueIf")?;
        let true_if = TrueIf::parse(t).ok_or_else(|| format!("TrueIf=\"{t}\" is not Any, All or None"))?;
        Ok((key, true_if))
    })();
    let (key, true_if) = match head {
        Ok(h) => h,
        Err(e) => return malformed("RegKeyLoop", e),
    };
    let mut kids = element_children(el);
    match (kids.next(), kids.next()) {
        (Some(body), None) => Expr::RegKeyLoop { key, true_if, body: Box::new(build(body, mode)) },
        (None, _) => malformed("RegKeyLoop", "needs exactly one expression to loop, has none"),
        (Some(_), Some(_)) => malformed("RegKeyLoop", "needs exactly one expression to loop, has several"),
    }
}

fn base_leaf(local: &str, a: &Attrs<'_>) -> Option<R<Leaf>> {
    let key_value = |a: &Attrs<'_>| -> R<(RegKey, String)> { Ok((a.key()?, a.string("Value")?)) };
    Some(match local {
        "WindowsVersion" => a.version_test().map(Leaf::WindowsVersion),
        "PlatformVersion" => a.version_test().map(Leaf::PlatformVersion),
        "Platform" => a.string("PlatformID").map(|platform_id| Leaf::Platform { platform_id }),
        "Processor" => a.num_req("Architecture").map(|architecture| Leaf::Processor { architecture }),
        "NumberOfProcessors" => (|| {
            let n = match a.get("Number") {
                Some(_) => a.num_req("Number")?,
                None => a.num_req("Value")?,
            };
            Ok(Leaf::NumberOfProcessors { comparison: a.cmp_opt(true)?, number: n })
        })(),
        "WindowsLanguage" => Ok(Leaf::WindowsLanguage { language: a.get("Language").map(str::to_string) }),
        "MuiInstalled" => Ok(Leaf::Mui { element: "MuiInstalled", language: a.get("Language").map(str::to_string) }),
        "MuiLanguageInstalled" => {
            Ok(Leaf::Mui { element: "MuiLanguageInstalled", language: a.get("Language").map(str::to_string) })
        }
        "SystemMetric" => (|| {
            Ok(Leaf::SystemMetric {
                index: a.num_req("Index")?,
                comparison: a.cmp_opt(true)?,
                value: a.num_req("Value")?,
            })
        })(),
        "RegKeyExists" => a.key().map(|key| Leaf::RegKeyExists { key }),
        "RegValueExists" => (|| {
            let reg_type = match a.get("Type") {
                None => None,
                Some(t) => Some(RegType::parse(t).ok_or_else(|| format!("Type=\"{t}\" is not a registry type"))?),
            };
            Ok(Leaf::RegValueExists { key: a.key()?, value: a.get("Value").map(str::to_string), reg_type })
        })(),
        "RegDword" => (|| {
            let (key, value) = key_value(a)?;
            Ok(Leaf::RegDword { key, value, comparison: a.cmp_req(true)?, data: a.num_req("Data")? })
        })(),
        "RegQword" => (|| {
            let (key, value) = key_value(a)?;
            Ok(Leaf::RegQword { key, value, comparison: a.cmp_req(true)?, data: a.num_req("Data")? })
        })(),
        "RegSz" => (|| {
            let (key, value) = key_value(a)?;
            Ok(Leaf::RegSz { key, value, comparison: a.cmp_req(false)?, data: a.string("Data")? })
        })(),
        "RegExpandSz" => (|| {
            let (key, value) = key_value(a)?;
            Ok(Leaf::RegExpandSz { key, value, comparison: a.cmp_req(false)?, data: a.string("Data")? })
        })(),
        "RegSzToVersion" => (|| {
            let (key, value) = key_value(a)?;
            Ok(Leaf::RegSzToVersion { key, value, comparison: a.cmp_req(true)?, data: a.version_req("Data")? })
        })(),
        "WUv4RegKeySubstring" => (|| {
            let (key, value) = key_value(a)?;
            Ok(Leaf::WuV4RegKeySubstring { key, value, data: a.string("Data")? })
        })(),
        "WUv4RegKeyValue" => (|| {
            let (key, value) = key_value(a)?;
            Ok(Leaf::WuV4RegKeyValue { key, value, data: a.string("Data")? })
        })(),
        "FileExists" | "FileExistsPrependRegSz" => (|| {
            Ok(Leaf::FileExists {
                file: a.file(local == "FileExistsPrependRegSz")?,
                size: a.num_opt("Size")?,
                language: a.get("Language").map(str::to_string),
                version: a.version_opt("Version")?,
            })
        })(),
        "FileVersion" | "FileVersionPrependRegSz" => (|| {
            Ok(Leaf::FileVersion {
                file: a.file(local == "FileVersionPrependRegSz")?,
                comparison: a.cmp_req(true)?,
                version: a.version_req("Version")?,
            })
        })(),
        "FileSize" | "FileSizePrependRegSz" => (|| {
            Ok(Leaf::FileSize {
                file: a.file(local == "FileSizePrependRegSz")?,
                comparison: a.cmp_req(true)?,
                size: a.num_req("Size")?,
            })
        })(),
        "FileCreated" | "FileCreatedPrependRegSz" => (|| {
            Ok(Leaf::FileCreated {
                file: a.file(local == "FileCreatedPrependRegSz")?,
                comparison: a.cmp_req(true)?,
                created: a.timestamp_req("Created")?,
            })
        })(),
        "FileModified" | "FileModifiedPrependRegSz" => (|| {
            Ok(Leaf::FileModified {
                file: a.file(local == "FileModifiedPrependRegSz")?,
                comparison: a.cmp_req(true)?,
                modified: a.timestamp_req("Modified")?,
            })
        })(),
        "WmiQuery" => (|| {
            Ok(Leaf::WmiQuery {
                namespace: a.get("Namespace").unwrap_or("root\\cimv2").to_string(),
                query: a.string("WqlQuery")?,
            })
        })(),
        "LicenseDword" => (|| {
            Ok(Leaf::LicenseDword { value: a.string("Value")?, comparison: a.cmp_opt(true)?, data: a.num_req("Data")? })
        })(),
        "ClusteredOS" => Ok(Leaf::ClusteredOs),
        "ClusterResourceOwner" => (|| {
            Ok(Leaf::ClusterResourceOwner {
                key: a.key()?,
                value: a.get("Value").map(str::to_string),
                prefix: a.get("Prefix").unwrap_or("").to_string(),
                suffix: a.get("Suffix").unwrap_or("").to_string(),
            })
        })(),
        "Direct3D" => (|| {
            Ok(Leaf::Direct3D {
                hardware_version: a.num_req("HardwareVersion")?,
                feature_level_major: a.num_req("FeatureLevelMajor")?,
                feature_level_minor: a.num_req("FeatureLevelMinor")?,
            })
        })(),
        "Memory" => (|| {
            Ok(Leaf::Memory { min_size_mb: a.num_req("MinSizeInMB")?, kind: a.get("Type").unwrap_or("").to_string() })
        })(),
        "VideoMemory" => a.num_req("MinSizeInMB").map(|min_size_mb| Leaf::VideoMemory { min_size_mb }),
        "SensorById" => a.string("Id").map(|id| Leaf::SensorById { id }),
        "NFC" => a.string("Capability").map(|capability| Leaf::Nfc { capability }),
        "Camera" => a.string("Location").map(|location| Leaf::Camera { location }),
        "InstalledOnce" | "GenericQuery" | "SoftwareLicense" => {
            Ok(Leaf::Opaque { family: Family::Base, name: local.to_string(), attributes: a.all() })
        }
        _ => return None,
    })
}

fn texts_named(el: &Element, mode: Mode, wanted: &str) -> Vec<String> {
    element_children(el)
        .filter(|c| name_of(c, mode).local == wanted)
        .map(|c| c.text().trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

fn msi_leaf(local: &str, a: &Attrs<'_>, el: &Element, mode: Mode) -> Option<R<Leaf>> {
    Some(match local {
        "MsiProductInstalled" => (|| {
            Ok(Leaf::MsiProductInstalled {
                product_code: a.string("ProductCode")?,
                version_min: a.version_opt("VersionMin")?,
                version_max: a.version_opt("VersionMax")?,
                exclude_version_min: a.bool_opt("ExcludeVersionMin", false)?,
                exclude_version_max: a.bool_opt("ExcludeVersionMax", false)?,
                language: a.num_opt("Language")?,
            })
        })(),
        "MsiPatchInstalledForProduct" => (|| {
            Ok(Leaf::MsiPatchInstalledForProduct {
                patch_code: a.string("PatchCode")?,
                product_code: a.string("ProductCode")?,
                version_min: a.version_opt("VersionMin")?,
                version_max: a.version_opt("VersionMax")?,
                language: a.num_opt("Language")?,
            })
        })(),
        "MsiFeatureInstalledForProduct" => (|| {
            let features = texts_named(el, mode, "Feature");
            let products = texts_named(el, mode, "Product");
            if features.is_empty() || products.is_empty() {
                return Err("needs at least one Feature and one Product child".to_string());
            }
            Ok(Leaf::MsiFeatureInstalledForProduct {
                all_features_required: a.bool_opt("AllFeaturesRequired", false)?,
                all_products_required: a.bool_opt("AllProductsRequired", false)?,
                features,
                products,
            })
        })(),
        "MsiComponentInstalledForProduct" => (|| {
            let components = texts_named(el, mode, "Component");
            let products = texts_named(el, mode, "Product");
            if components.is_empty() || products.is_empty() {
                return Err("needs at least one Component and one Product child".to_string());
            }
            Ok(Leaf::MsiComponentInstalledForProduct {
                all_components_required: a.bool_opt("AllComponentsRequired", false)?,
                all_products_required: a.bool_opt("AllProductsRequired", false)?,
                components,
                products,
            })
        })(),
        "MsiPatchInstalled" => Ok(Leaf::MsiMetadata(MsiMetadataTest::PatchInstalled)),
        "MsiPatchSuperseded" => Ok(Leaf::MsiMetadata(MsiMetadataTest::PatchSuperseded)),
        "MsiPatchInstallable" => Ok(Leaf::MsiMetadata(MsiMetadataTest::PatchInstallable)),
        "MsiApplicationInstalled" => Ok(Leaf::MsiMetadata(MsiMetadataTest::ApplicationInstalled)),
        "MsiApplicationSuperseded" => Ok(Leaf::MsiMetadata(MsiMetadataTest::ApplicationSuperseded)),
        "MsiApplicationInstallable" => Ok(Leaf::MsiMetadata(MsiMetadataTest::ApplicationInstallable)),
        _ => return None,
    })
}

fn cbs_leaf(local: &str, a: &Attrs<'_>) -> Option<R<Leaf>> {
    Some(match local {
        "CbsPackageInstalled" => Ok(Leaf::CbsPackageInstalled),
        "CbsPackageInstallable" => Ok(Leaf::CbsPackageInstallable),
        "CbsPackageInstalledByIdentity" => {
            a.string("PackageIdentity").map(|identity| Leaf::CbsPackageInstalledByIdentity { identity })
        }
        "CbsPackageInstallableByIdentity" => {
            a.string("PackageIdentity").map(|identity| Leaf::CbsPackageInstallableByIdentity { identity })
        }
        _ => return None,
    })
}

fn driver_leaf(local: &str, a: &Attrs<'_>) -> Option<R<Leaf>> {
    Some(match local {
        "WindowsDriverInstalled" => Ok(Leaf::Driver(DriverTest::Installed)),
        "WindowsDriverInstallable" => Ok(Leaf::Driver(DriverTest::Installable)),
        "WindowsDriverSuperseded" => Ok(Leaf::Driver(DriverTest::Superseded)),
        "WindowsDriver" | "InstalledVersionRange" => {
            Ok(Leaf::Opaque { family: Family::Driver, name: local.to_string(), attributes: a.all() })
        }
        _ => return None,
    })
}

fn update_leaf(local: &str, a: &Attrs<'_>) -> Option<R<Leaf>> {
    Some(match local {
        "ProductReleaseInstalled" => (|| {
            Ok(Leaf::ProductReleaseInstalled { name: a.string("Name")?, version: a.string("Version")? })
        })(),
        "ProductReleaseVersion" => (|| {
            Ok(Leaf::ProductReleaseVersion {
                name: a.string("Name")?,
                version: a.string("Version")?,
                comparison: a.cmp_req(true)?,
            })
        })(),
        "DeviceAttribute" => (|| {
            Ok(Leaf::DeviceAttribute {
                name: a.string("Name")?,
                kind: a.get("Type").unwrap_or("String").to_string(),
                comparison: a.cmp_req(false)?,
                value: a.string("Value")?,
            })
        })(),
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Update-level metadata

/// Descendants of `el` (document order) named `local` in namespace `ns` or in no namespace.
/// The embedded manifests keep their own namespaces (`asm.v3`, the MSP applicability schema)
/// even inside fragments, because they travel as raw XML with their default declaration.
fn descendants<'a>(el: &'a Element, ns: &'a str, local: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
    let mut stack: Vec<&'a Element> = element_children(el).collect::<Vec<_>>().into_iter().rev().collect();
    std::iter::from_fn(move || {
        while let Some(e) = stack.pop() {
            let kids: Vec<&Element> = element_children(e).collect();
            stack.extend(kids.into_iter().rev());
            if e.local == local && (e.ns == ns || e.ns.is_empty()) {
                return Some(e);
            }
        }
        None
    })
}

fn in_patch_ns(el: &Element, local: &str) -> bool {
    el.local == local && (el.ns == ns::MSI_PATCH || el.ns.is_empty())
}

fn validated(el: &Element) -> bool {
    el.attr("Validate").and_then(parse_bool).unwrap_or(true)
}

fn msi_patch_info(el: &Element) -> MsiPatchInfo {
    let patch = descendants(el, ns::MSI_PATCH, "MsiPatch").next();
    let Some(patch) = patch else { return MsiPatchInfo::default() };
    let mut info = MsiPatchInfo { patch_code: patch.attr("PatchGUID").map(|s| s.trim().to_string()), targets: Vec::new() };
    for tp in element_children(patch).filter(|c| in_patch_ns(c, "TargetProduct")) {
        let mut t = MsiPatchTarget::default();
        for c in element_children(tp) {
            let text = c.text();
            let text = text.trim();
            if !(c.ns == ns::MSI_PATCH || c.ns.is_empty()) {
                continue;
            }
            match c.local.as_str() {
                "TargetProductCode" if validated(c) && !text.is_empty() => t.product_code = Some(text.to_string()),
                "TargetVersion" if validated(c) => {
                    let cmp = match c.attr("ComparisonType").map(str::trim) {
                        Some("LessThan") => MsiVersionComparison::LessThan,
                        Some("LessThanOrEqual") => MsiVersionComparison::LessThanOrEqual,
                        Some("Equal") | None => MsiVersionComparison::Equal,
                        Some("GreaterThanOrEqual") => MsiVersionComparison::GreaterThanOrEqual,
                        Some("GreaterThan") => MsiVersionComparison::GreaterThan,
                        Some(_) => MsiVersionComparison::None,
                    };
                    let parts = match c.attr("ComparisonFilter").map(str::trim) {
                        Some("Major") => 1,
                        Some("MajorMinor") => 2,
                        Some("MajorMinorUpdate") | None => 3,
                        Some(_) => 0,
                    };
                    if let (Ok(v), true) = (Version::parse(text), parts > 0) {
                        t.version = Some((cmp, parts, v));
                    }
                }
                "TargetLanguage" if validated(c) => {
                    t.language = text.parse().ok();
                }
                "UpgradeCode" if validated(c) && !text.is_empty() => t.upgrade_code = Some(text.to_string()),
                _ => {}
            }
        }
        info.targets.push(t);
    }
    info
}

/// Reads `CbsPackageApplicabilityMetadata`, `MsiPatchMetadata`, `MsiApplicationMetadata` and
/// `WindowsDriverMetaData` from the children of `container`.
fn metadata_from(container: &Element, mode: Mode) -> HandlerMetadata {
    let mut m = HandlerMetadata::default();
    for el in element_children(container) {
        let name = name_of(el, mode);
        match (name.scope, name.local) {
            (Scope::Cbs | Scope::Loose | Scope::Bare, "CbsPackageApplicabilityMetadata") => {
                if let Some(id) = descendants(el, ns::CBS_ASSEMBLY, "assemblyIdentity").next() {
                    let g = |n: &str| id.attr(n).unwrap_or("").trim().to_string();
                    let lang = g("language");
                    m.cbs_package = Some(CbsIdentity {
                        name: g("name"),
                        public_key_token: g("publicKeyToken"),
                        architecture: g("processorArchitecture"),
                        language: if lang.eq_ignore_ascii_case("neutral") { String::new() } else { lang },
                        version: g("version"),
                    })
                    .filter(|c| !c.name.is_empty());
                }
            }
            (Scope::Msi, "MsiPatchMetadata") => m.msi_patch = Some(msi_patch_info(el)),
            (Scope::Msi, "MsiApplicationMetadata") => {
                let mut code = el.attr("ProductCode").map(str::to_string);
                if code.is_none() {
                    let mut stack = vec![el];
                    while let Some(e) = stack.pop() {
                        if let Some(c) = e.attr("ProductCode") {
                            code = Some(c.to_string());
                            break;
                        }
                        if name_of(e, mode).local == "ProductCode" && !e.text().trim().is_empty() {
                            code = Some(e.text().trim().to_string());
                            break;
                        }
                        stack.extend(element_children(e));
                    }
                }
                m.msi_application_product = code;
            }
            (Scope::Driver, "WindowsDriverMetaData") => {
                let g = |n: &str| el.attr(n).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
                if let Some(hardware_id) = g("HardwareID") {
                    m.driver = Some(DriverInfo {
                        hardware_id,
                        driver_ver_date: g("DriverVerDate"),
                        driver_ver_version: g("DriverVerVersion"),
                        provider: g("Provider"),
                        manufacturer: g("Manufacturer"),
                        class: g("Class"),
                    });
                }
            }
            _ => {}
        }
    }
    m
}

// ---------------------------------------------------------------------------------------------
// Entry points

/// Parses text that holds any number of elements (a rule, a fragment) under a synthetic root.
/// Namespace declarations inside stay in effect; an XML declaration or BOM is dropped.
fn container(xml: &str) -> Result<Element, RuleError> {
    if xml.len() > MAX_RULE_BYTES {
        return Err(RuleError::TooLarge { size: xml.len(), max: MAX_RULE_BYTES });
    }
    let mut body = xml.trim_start_matches('\u{feff}').trim_start();
    if body.starts_with("<?xml") {
        match body.find("?>") {
            Some(end) => body = &body[end + 2..],
            None => return Err(RuleError::Xml("unterminated XML declaration".into())),
        }
    }
    let wrapped = format!("<{ROOT}>{body}</{ROOT}>");
    let root = sluice_xml::parse(&wrapped, "rule").map_err(|e| RuleError::Xml(e.reason))?;
    if root.local != ROOT || !root.ns.is_empty() {
        return Err(RuleError::Xml("rule text closes the element that encloses it".into()));
    }
    Ok(root)
}

fn is_rule_wrapper(el: &Element, mode: Mode) -> bool {
    let wrapper = matches!(el.local.as_str(), "IsInstalled" | "IsInstallable" | "IsSuperseded");
    match mode {
        Mode::Document => wrapper && el.ns == ns::UPDATE,
        Mode::Fragment => wrapper && el.qname == el.local,
    }
}

fn single_expression(root: &Element, mode: Mode) -> Result<Expr, RuleError> {
    let kids: Vec<&Element> = element_children(root).collect();
    match kids.as_slice() {
        [] => Err(RuleError::Empty),
        [one] if is_rule_wrapper(one, mode) => single_expression(one, mode),
        [one] => Ok(build(one, mode)),
        many => Err(RuleError::Several(many.len())),
    }
}

/// Parses one rule as `sluice-metadata` keeps it: a standalone element with its namespace
/// declarations (`<lar:And xmlns:lar="…">…</lar:And>`). Elements are matched by namespace
/// URI and local name. An `upd:IsInstalled`/`IsInstallable`/`IsSuperseded` wrapper is
/// accepted and unwrapped.
pub fn parse_rule(xml: &str) -> Result<Expr, RuleError> {
    single_expression(&container(xml)?, Mode::Document)
}

/// Parses one rule in MS-WUSP fragment form (no namespaces; `b.`, `m.`, `d.` pseudo-prefixes,
/// logical and CBS elements bare), as it appears inside a Core fragment's `IsInstalled`.
/// A bare `IsInstalled`/`IsInstallable`/`IsSuperseded` wrapper is accepted and unwrapped.
pub fn parse_fragment_rule(xml: &str) -> Result<Expr, RuleError> {
    single_expression(&container(xml)?, Mode::Fragment)
}

/// Builds an expression from an already-parsed, namespace-aware element.
pub fn expr_from_element(el: &Element) -> Expr {
    build(el, Mode::Document)
}

/// Builds an expression from an element of a fragment (pseudo-prefixed names).
pub fn expr_from_fragment_element(el: &Element) -> Expr {
    build(el, Mode::Fragment)
}

/// The three rules and the handler metadata of one update.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpdateRules {
    pub is_installed: Option<Expr>,
    pub is_installable: Option<Expr>,
    pub is_superseded: Option<Expr>,
    pub metadata: HandlerMetadata,
}

impl UpdateRules {
    /// From the verbatim rules `sluice-metadata` keeps. A rule that does not parse becomes
    /// `Malformed` (so it evaluates to unknown) instead of failing the whole update.
    pub fn from_metadata(r: &sluice_metadata::ApplicabilityRules) -> UpdateRules {
        let rule = |slot: &str, text: &Option<String>| {
            text.as_ref().map(|t| match parse_rule(t) {
                Ok(e) => e,
                Err(err) => malformed(slot, err.to_string()),
            })
        };
        let metadata = r
            .metadata
            .as_ref()
            .and_then(|t| container(t).ok())
            .map(|root| metadata_from(&root, Mode::Document))
            .unwrap_or_default();
        UpdateRules {
            is_installed: rule("IsInstalled", &r.is_installed),
            is_installable: rule("IsInstallable", &r.is_installable),
            is_superseded: rule("IsSuperseded", &r.is_superseded),
            metadata,
        }
    }

    /// From an `ApplicabilityRules` element, in document or fragment form.
    pub(crate) fn from_element(ar: &Element, mode: Mode) -> UpdateRules {
        let mut out = UpdateRules::default();
        for el in element_children(ar) {
            let slot_name = match mode {
                Mode::Document if el.ns != ns::UPDATE => continue,
                _ => el.local.as_str(),
            };
            let slot = match slot_name {
                "IsInstalled" => &mut out.is_installed,
                "IsInstallable" => &mut out.is_installable,
                "IsSuperseded" => &mut out.is_superseded,
                "Metadata" => {
                    out.metadata = metadata_from(el, mode);
                    continue;
                }
                _ => continue,
            };
            *slot = Some(match single_expression(el, mode) {
                Ok(e) => e,
                Err(err) => malformed(slot_name, err.to_string()),
            });
        }
        out
    }

    /// From the `ApplicabilityRules` element of a Core fragment, given as text.
    pub fn from_fragment(xml: &str) -> Result<UpdateRules, RuleError> {
        let root = container(xml)?;
        let ar = element_children(&root)
            .find(|e| e.qname == "ApplicabilityRules")
            .ok_or_else(|| RuleError::Fragment("no ApplicabilityRules element".into()))?;
        Ok(UpdateRules::from_element(ar, Mode::Fragment))
    }
}

impl From<&sluice_metadata::ApplicabilityRules> for UpdateRules {
    fn from(r: &sluice_metadata::ApplicabilityRules) -> Self {
        UpdateRules::from_metadata(r)
    }
}

/// A prerequisite clause: satisfied when at least one member is installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prerequisite {
    pub members: Vec<Uuid>,
    /// `AtLeastOne IsCategory="true"`: product/classification membership.
    pub is_category: bool,
}

impl From<&sluice_metadata::PrerequisiteGroup> for Prerequisite {
    fn from(g: &sluice_metadata::PrerequisiteGroup) -> Self {
        Prerequisite { members: g.members.clone(), is_category: g.is_category }
    }
}

/// What an agent needs from an MS-WUSP Core fragment to evaluate an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreFragment {
    pub update_id: Uuid,
    pub revision_number: Option<i32>,
    /// `Properties/@UpdateType` (`Software`, `Driver`, `Detectoid`, `Category`).
    pub update_type: Option<String>,
    pub prerequisites: Vec<Prerequisite>,
    /// Bundled slots; several ids in a slot are alternatives (`AtLeastOne`).
    pub bundled: Vec<Vec<Uuid>>,
    pub superseded: Vec<Uuid>,
    pub rules: UpdateRules,
}

fn uuid_attr(el: &Element, attr: &str) -> Result<Uuid, RuleError> {
    let s = el.attr(attr).ok_or_else(|| RuleError::Fragment(format!("{} without {attr}", el.qname)))?;
    Uuid::parse_str(s.trim()).map_err(|_| RuleError::Fragment(format!("{attr}=\"{s}\" is not a GUID")))
}

/// Parses a Core fragment (the text of `UpdateInfo/Xml` once unescaped): several top-level
/// elements, no namespaces.
pub fn parse_core_fragment(xml: &str) -> Result<CoreFragment, RuleError> {
    let root = container(xml)?;
    let top = |n: &str| element_children(&root).find(|e| e.qname == n);
    let ident = top("UpdateIdentity").ok_or_else(|| RuleError::Fragment("no UpdateIdentity".into()))?;
    let update_id = uuid_attr(ident, "UpdateID")?;
    let revision_number = ident.attr("RevisionNumber").and_then(|s| s.trim().parse().ok());
    let update_type = top("Properties").and_then(|p| p.attr("UpdateType")).map(str::to_string);
    let mut frag = CoreFragment {
        update_id,
        revision_number,
        update_type,
        prerequisites: Vec::new(),
        bundled: Vec::new(),
        superseded: Vec::new(),
        rules: UpdateRules::default(),
    };
    if let Some(rel) = top("Relationships") {
        for section in element_children(rel) {
            for item in element_children(section) {
                let ids: Vec<Uuid> = match item.qname.as_str() {
                    "UpdateIdentity" => vec![uuid_attr(item, "UpdateID")?],
                    "AtLeastOne" => element_children(item)
                        .filter(|e| e.qname == "UpdateIdentity")
                        .map(|e| uuid_attr(e, "UpdateID"))
                        .collect::<Result<_, _>>()?,
                    _ => continue,
                };
                match section.qname.as_str() {
                    "Prerequisites" => frag.prerequisites.push(Prerequisite {
                        members: ids,
                        is_category: item.attr("IsCategory").and_then(parse_bool).unwrap_or(false),
                    }),
                    "BundledUpdates" => frag.bundled.push(ids),
                    "SupersededUpdates" => frag.superseded.extend(ids),
                    _ => {}
                }
            }
        }
    }
    if let Some(ar) = top("ApplicabilityRules") {
        frag.rules = UpdateRules::from_element(ar, Mode::Fragment);
    }
    Ok(frag)
}
