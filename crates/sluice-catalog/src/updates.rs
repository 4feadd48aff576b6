//! The views administrators browse the catalog with: the list of updates and one update's
//! detail.

use std::collections::HashMap;

use sluice_metadata::parse_update_bytes;
use sluice_store::UpdateFilter;
use uuid::Uuid;

use crate::{Catalog, CatalogError, api, prepare};

impl Catalog {
    pub(crate) async fn category_titles(&self) -> Result<HashMap<Uuid, String>, CatalogError> {
        // Microsoft's classification names stand in until a sync brings the category itself.
        let mut titles: HashMap<Uuid, String> = sluice_metadata::publish::WELL_KNOWN_CLASSIFICATIONS
            .iter()
            .filter_map(|(name, id)| Some((Uuid::parse_str(id).ok()?, name.to_string())))
            .collect();
        titles.extend(self.store.list_categories().await?.into_iter().map(|c| (c.update_id, c.title)));
        Ok(titles)
    }

    /// The update an administrator names: its id, or a KB number (`KB5012345` or `5012345`)
    /// that exactly one update carries.
    pub async fn resolve_update(&self, name: &str) -> Result<Uuid, CatalogError> {
        let name = name.trim();
        if let Ok(id) = Uuid::parse_str(name) {
            return Ok(id);
        }
        let digits = name.get(..2).filter(|p| p.eq_ignore_ascii_case("kb")).map_or(name, |_| &name[2..]);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CatalogError::InvalidRequest(format!("'{name}' is neither an update id nor a KB number")));
        }
        let filter = UpdateFilter { kb: Some(digits.to_string()), limit: Some(11), ..UpdateFilter::default() };
        let found = self.store.list_updates(&filter).await?;
        match found.as_slice() {
            [] => Err(CatalogError::NotFound(format!("no update with KB{digits}"))),
            [one] => Ok(one.update_id),
            several => {
                let ids: Vec<String> = several.iter().take(10).map(|u| format!("{} ({})", u.update_id, u.title)).collect();
                let more = if several.len() > 10 { ", …" } else { "" };
                Err(CatalogError::InvalidRequest(format!(
                    "KB{digits} names several updates, give one by id: {}{more}",
                    ids.join("; ")
                )))
            }
        }
    }

    /// Everything about the latest revision of one update, named by id or KB number.
    pub async fn update_detail(&self, update_id: &str) -> Result<api::UpdateDetail, CatalogError> {
        let id = self.resolve_update(update_id).await?;
        let rev = self
            .store
            .latest_revision(id)
            .await?
            .ok_or_else(|| CatalogError::NotFound(format!("update {id}")))?;
        let titles = self.category_titles().await?;
        let cats = self.store.revision_categories(rev.id).await?;
        let xml = self
            .store
            .revision_xml(rev.id)
            .await?
            .ok_or_else(|| CatalogError::NotFound(format!("revision {}", rev.id)))?;
        let xml = prepare::decompress(&xml).map_err(|e| CatalogError::Internal(format!("stored XML of revision {}: {e}", rev.id)))?;
        let parsed = parse_update_bytes(xml.as_bytes(), &format!("revision {}", rev.id))
            .map_err(|e| CatalogError::Internal(format!("stored XML no longer parses: {e}")))?;
        let files = self.store.revision_files(rev.id).await?;
        let u = &parsed.update;
        let name_of = |id: &Uuid| titles.get(id).cloned().unwrap_or_else(|| id.to_string());
        let mut head = summary(&rev, &cats, &titles);
        // The listing reads these from its own query; one update reads them here.
        head.declined = self.store.is_declined(id).await?;
        Ok(api::UpdateDetail {
            summary: head,
            description: rev.description.clone(),
            publication_state: Some(rev.publication_state.clone()),
            is_bundle: rev.is_bundle,
            files: files
                .iter()
                .map(|f| {
                    let mut sha1 = [0u8; 20];
                    let _ = hex::decode_to_slice(&f.sha1, &mut sha1);
                    api::UpdateFileInfo {
                        name: f.file_name.clone(),
                        size: f.size as u64,
                        sha1: f.sha1.clone(),
                        sha256: f.sha256.clone(),
                        state: f.state.as_str().to_string(),
                        content_path: sluice_content::relative_url_path(&sha1, &f.file_name).unwrap_or_default(),
                    }
                })
                .collect(),
            prerequisites: u
                .relationships
                .prerequisites
                .iter()
                .map(|g| g.members.iter().map(name_of).collect())
                .collect(),
            bundled_updates: u
                .relationships
                .bundled_updates
                .iter()
                .map(|s| s.iter().map(|r| r.update_id.to_string()).collect())
                .collect(),
            superseded_updates: u.relationships.superseded_updates.iter().map(|i| i.to_string()).collect(),
            languages: u.localized.iter().map(|l| l.language.clone()).collect(),
            command_line: match &u.handler {
                Some(sluice_metadata::HandlerData::CommandLine(c)) => Some(match &c.arguments {
                    Some(a) => format!("{} {}", c.program, a),
                    None => c.program.clone(),
                }),
                _ => None,
            },
            has_installed_rule: u.rules.is_installed.is_some(),
            has_installable_rule: u.rules.is_installable.is_some(),
        })
    }
}

pub(crate) fn summary(
    rev: &sluice_store::Revision,
    cats: &[Uuid],
    titles: &HashMap<Uuid, String>,
) -> api::UpdateSummary {
    let name = |id: &Uuid| titles.get(id).cloned().unwrap_or_else(|| id.to_string());
    api::UpdateSummary {
        update_id: rev.update_id.to_string(),
        revision_number: rev.revision_number,
        revision_id: rev.id,
        title: rev.title.clone(),
        update_type: rev.update_type.as_str().to_string(),
        kb_article: rev.kb_article.clone(),
        msrc_severity: rev.msrc_severity.clone(),
        msrc_number: rev.msrc_number.clone(),
        classification: rev.classification.as_ref().map(name),
        products: cats.iter().filter(|c| Some(**c) != rev.classification).map(name).collect(),
        creation_date: rev
            .creation_date
            .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok()),
        is_locally_published: rev.is_locally_published,
        declined: false,
        needed: 0,
        failed: 0,
        installed: 0,
    }
}
