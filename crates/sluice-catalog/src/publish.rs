//! Local publishing: an administrator's update becomes a Microsoft-schema document, its file
//! a verified content-store entry, and both enter the catalog like any synced update.

use sluice_content::ExpectedFile;
use sluice_metadata::publish::{category_xml, software_update_xml, CategorySpec, PublishSpec, WELL_KNOWN_CLASSIFICATIONS};
use sluice_metadata::{parse_update, CommandLineInstall, MsrcSeverity, ReturnCode, ReturnResult, UpdateFile};
use sluice_store::FileState;
use time::format_description::well_known::Rfc3339;
use tokio::io::AsyncRead;
use uuid::Uuid;

use crate::api::{PublishRequest, ReturnCodeMeaning, UpdateDetail};
use crate::{Catalog, CatalogError};

fn invalid(msg: impl Into<String>) -> CatalogError {
    CatalogError::InvalidRequest(msg.into())
}

fn parse_ids(what: &str, v: &[String]) -> Result<Vec<Uuid>, CatalogError> {
    v.iter()
        .map(|s| Uuid::parse_str(s.trim()).map_err(|_| invalid(format!("{what} '{s}' is not an update id"))))
        .collect()
}

fn hex_digest<const N: usize>(what: &str, s: &str) -> Result<[u8; N], CatalogError> {
    let mut out = [0u8; N];
    hex::decode_to_slice(s.trim(), &mut out).map_err(|_| invalid(format!("{what} must be {} hex digits", N * 2)))?;
    Ok(out)
}

/// A category the publication needs: an existing one, or one to create alongside the update.
struct Resolved {
    id: Uuid,
    new_document: Option<String>,
}

impl Catalog {
    async fn resolve_classification(&self, given: Option<&str>, now: &str) -> Result<Resolved, CatalogError> {
        let given = given.unwrap_or("Updates").trim();
        let by_id = Uuid::parse_str(given).ok();
        let existing = match by_id {
            Some(id) => self.store.category(id).await?,
            None => self.store.category_by_title(given).await?,
        };
        if let Some(c) = existing {
            if c.category_type != "UpdateClassification" {
                return Err(invalid(format!("'{given}' is a {} category, not a classification", c.category_type)));
            }
            return Ok(Resolved { id: c.update_id, new_document: None });
        }
        // Not in the catalog yet (no sync has brought it): use Microsoft's id for the name so a
        // later sync files it under the same classification.
        let known = WELL_KNOWN_CLASSIFICATIONS
            .iter()
            .find(|(name, id)| name.eq_ignore_ascii_case(given) || by_id.is_some_and(|b| Uuid::parse_str(id).ok() == Some(b)));
        let Some((title, id)) = known else {
            let names: Vec<&str> = WELL_KNOWN_CLASSIFICATIONS.iter().map(|(n, _)| *n).collect();
            return Err(invalid(format!("unknown classification '{given}'; use one of: {}", names.join(", "))));
        };
        let id = Uuid::parse_str(id).map_err(|e| CatalogError::Internal(e.to_string()))?;
        Ok(Resolved {
            id,
            new_document: Some(category_xml(&CategorySpec {
                update_id: id,
                revision_number: 1,
                title: title.to_string(),
                category_type: "UpdateClassification".into(),
                parent: None,
                creation_date: now.to_string(),
            })),
        })
    }

    async fn resolve_product(&self, given: &str, now: &str) -> Result<Resolved, CatalogError> {
        let given = given.trim();
        if let Ok(id) = Uuid::parse_str(given) {
            return match self.store.category(id).await? {
                Some(c) if c.category_type == "Product" => Ok(Resolved { id, new_document: None }),
                Some(c) => Err(invalid(format!("'{given}' is a {} category, not a product", c.category_type))),
                None => Err(invalid(format!("no product with id {given} in the catalog"))),
            };
        }
        if let Some(c) = self.store.category_by_title(given).await? {
            if c.category_type != "Product" {
                return Err(invalid(format!("'{given}' is a {} category, not a product", c.category_type)));
            }
            return Ok(Resolved { id: c.update_id, new_document: None });
        }
        let id = Uuid::new_v4();
        Ok(Resolved {
            id,
            new_document: Some(category_xml(&CategorySpec {
                update_id: id,
                revision_number: 1,
                title: given.to_string(),
                category_type: "Product".into(),
                parent: None,
                creation_date: now.to_string(),
            })),
        })
    }

    /// Publishes a software update. `file` streams the bytes announced in `req.file`; they are
    /// verified (size, SHA-1, SHA-256) before anything becomes visible, and the metadata is
    /// stored only after the file is in place.
    pub async fn publish<R: AsyncRead>(&self, req: PublishRequest, file: R) -> Result<UpdateDetail, CatalogError> {
        if req.title.trim().is_empty() {
            return Err(invalid("a title is required"));
        }
        let announced = req.file.as_ref().ok_or_else(|| invalid("a file is required"))?;
        if announced.name.is_empty() || announced.name.contains(['/', '\\']) {
            return Err(invalid("the file name must be a plain name"));
        }
        let sha1: [u8; 20] = hex_digest("sha1", &announced.sha1)?;
        let sha256: [u8; 32] = hex_digest("sha256", &announced.sha256)?;
        let msrc_severity = match req.msrc_severity.as_deref() {
            None => None,
            Some(s) => Some(
                MsrcSeverity::parse(s)
                    .ok_or_else(|| invalid(format!("MSRC severity '{s}' is not Critical, Important, Moderate or Low")))?,
            ),
        };
        let prerequisites = parse_ids("prerequisite", &req.prerequisites)?;
        let supersedes = parse_ids("superseded update", &req.supersedes)?;
        for p in &prerequisites {
            if self.store.latest_revision(*p).await?.is_none() {
                return Err(invalid(format!("prerequisite {p} is not in the catalog")));
            }
        }
        let now_dt = time::OffsetDateTime::now_utc();
        let now = now_dt.format(&Rfc3339).map_err(|e| CatalogError::Internal(e.to_string()))?;
        let classification = self.resolve_classification(req.classification.as_deref(), &now).await?;
        let product = match req.product.as_deref() {
            Some(p) => Some(self.resolve_product(p, &now).await?),
            None => None,
        };

        let return_codes = if req.return_codes.is_empty() {
            vec![
                ReturnCode { code: 0, result: ReturnResult::Succeeded, reboot: false, description: None },
                ReturnCode { code: 3010, result: ReturnResult::Succeeded, reboot: true, description: None },
                ReturnCode { code: 1641, result: ReturnResult::Succeeded, reboot: true, description: None },
            ]
        } else {
            req.return_codes
                .iter()
                .map(|r| ReturnCode {
                    code: r.code,
                    result: if r.meaning == ReturnCodeMeaning::Failure { ReturnResult::Failed } else { ReturnResult::Succeeded },
                    reboot: r.meaning == ReturnCodeMeaning::Reboot,
                    description: None,
                })
                .collect()
        };
        let update_file = UpdateFile {
            file_name: announced.name.clone(),
            size: announced.size,
            modified: Some(now.clone()),
            sha1,
            sha256: Some(sha256),
            patching_type: None,
        };
        let spec = PublishSpec {
            update_id: Uuid::new_v4(),
            revision_number: 1,
            language: "en".into(),
            title: req.title.trim().to_string(),
            description: req.description.clone(),
            kb_article: req.kb.as_ref().map(|k| k.trim().trim_start_matches("KB").trim_start_matches("kb").to_string()),
            msrc_number: req.msrc_number.clone(),
            msrc_severity,
            classification: Some(classification.id),
            products: product.as_ref().map(|p| vec![p.id]).unwrap_or_default(),
            creation_date: now.clone(),
            file: Some(update_file),
            command_line: Some(CommandLineInstall {
                program: announced.name.clone(),
                arguments: req.command_line.clone().filter(|a| !a.trim().is_empty()),
                reboot_by_default: None,
                default_result: Some(ReturnResult::Failed),
                return_codes,
            }),
            installed_rule: req.installed_rule.clone(),
            installable_rule: req.installable_rule.clone(),
            prerequisites,
            supersedes,
            reboot_behavior: None,
        };

        let mut documents = Vec::new();
        for (name, doc) in [("classification", &classification.new_document), ("product", &product.as_ref().and_then(|p| p.new_document.clone()))] {
            if let Some(xml) = doc {
                documents.push(parse_update(xml, name).map_err(|e| CatalogError::Internal(e.to_string()))?);
            }
        }
        let xml = software_update_xml(&spec);
        // Administrator-supplied rules are spliced into the document: parsing it is what
        // validates them.
        documents.push(parse_update(&xml, "published update").map_err(|e| invalid(e.to_string()))?);

        let expected = ExpectedFile { sha1, sha256: Some(sha256), size: Some(announced.size), file_name: announced.name.clone() };
        self.content.put_verified(file, &expected).await.map_err(|e| {
            if e.is_verification_failure() { CatalogError::FileMismatch(e.to_string()) } else { CatalogError::Content(e) }
        })?;
        // The audit entry of the publish (if the caller audits it) names the new update.
        sluice_store::amend_pending(|e| e.target = spec.update_id.to_string());
        self.store_parsed(documents).await?;
        self.store.set_file_state(&hex::encode(sha1), FileState::Present).await?;
        self.update_detail(&spec.update_id.to_string()).await
    }
}
