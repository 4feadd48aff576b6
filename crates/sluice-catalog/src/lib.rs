//! The update catalog as an application service: ingest (parse, fragments, store), local
//! publishing, and the views administrators browse. Knows nothing of HTTP.

pub mod api;
pub mod approvals;
pub mod groups;
pub mod settings;
pub mod targeting;
pub mod times;
pub mod transfer;
mod prepare;
mod publish;
mod status;
#[cfg(test)]
mod test_support;

use std::collections::HashSet;
use std::sync::Arc;

use sluice_content::ContentStore;
use sluice_metadata::{parse_update_bytes, MetadataError, ParsedUpdate};
use sluice_store::{Store, StoreError, UpdateFilter};
use uuid::Uuid;

pub use prepare::prepare_revision;
/// Inflates a stored original document (`Store::revision_xml`) back to its XML text.
pub use prepare::decompress;

const CATALOG_VERSION_SETTING: &str = "catalog-version";

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// One or more documents were refused; nothing was stored.
    #[error("nothing stored; {} document(s) rejected: {}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Rejected(Vec<MetadataError>),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("the uploaded file does not match what was announced: {0}")]
    FileMismatch(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("content store: {0}")]
    Content(#[from] sluice_content::ContentError),
    #[error("internal error: {0}")]
    Internal(String),
}

pub(crate) fn invalid(msg: impl Into<String>) -> CatalogError {
    CatalogError::InvalidRequest(msg.into())
}

/// A request that clashes with the catalog's state (mapped to 409 by the admin API).
pub(crate) fn conflict(msg: impl Into<String>) -> CatalogError {
    CatalogError::Store(StoreError::Conflict(msg.into()))
}

/// The catalog service. Cheap to clone.
#[derive(Clone)]
pub struct Catalog {
    store: Store,
    content: Arc<ContentStore>,
}

impl Catalog {
    pub fn new(store: Store, content: Arc<ContentStore>) -> Self {
        Catalog { store, content }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn content(&self) -> &Arc<ContentStore> {
        &self.content
    }

    /// Ids of every category known to be a classification: the catalog's own, Microsoft's
    /// well-known ones, and those in `batch`.
    async fn classification_ids(&self, batch: &[ParsedUpdate]) -> Result<HashSet<Uuid>, CatalogError> {
        let mut ids: HashSet<Uuid> = sluice_metadata::publish::WELL_KNOWN_CLASSIFICATIONS
            .iter()
            .filter_map(|(_, id)| Uuid::parse_str(id).ok())
            .collect();
        for c in self.store.list_categories().await? {
            if c.category_type == "UpdateClassification" {
                ids.insert(c.update_id);
            }
        }
        for p in batch {
            if p.update.category_info().and_then(|c| c.category_type.as_deref()) == Some("UpdateClassification") {
                ids.insert(p.update.identity.update_id);
            }
        }
        Ok(ids)
    }

    /// Parses and stores a batch of update documents, all or nothing: if any document is
    /// refused, nothing is stored and every refusal is reported. Re-importing a revision that
    /// is already present changes nothing.
    pub async fn import_documents(&self, docs: Vec<(String, Vec<u8>)>) -> Result<Vec<api::ImportedRevision>, CatalogError> {
        let parsed = tokio::task::spawn_blocking(move || {
            let mut ok = Vec::with_capacity(docs.len());
            let mut errors = Vec::new();
            for (name, bytes) in &docs {
                match parse_update_bytes(bytes, name) {
                    Ok(p) => ok.push(p),
                    Err(e) => errors.push(e),
                }
            }
            (ok, errors)
        })
        .await
        .map_err(|e| CatalogError::Internal(e.to_string()))?;
        let (parsed, errors) = parsed;
        if !errors.is_empty() {
            return Err(CatalogError::Rejected(errors));
        }
        self.store_parsed(parsed).await
    }

    /// Stores already parsed documents in one transaction.
    pub async fn store_parsed(&self, parsed: Vec<ParsedUpdate>) -> Result<Vec<api::ImportedRevision>, CatalogError> {
        let classifications = self.classification_ids(&parsed).await?;
        let revs = tokio::task::spawn_blocking(move || {
            let revs: Vec<_> = parsed.iter().map(|p| prepare_revision(p, &classifications)).collect();
            (parsed, revs)
        })
        .await
        .map_err(|e| CatalogError::Internal(e.to_string()))?;
        let (parsed, revs) = revs;
        let outcomes = self.store.insert_revisions(&revs).await?;
        if outcomes.iter().any(|o| o.inserted) {
            self.bump_catalog_version().await?;
        }
        Ok(parsed
            .iter()
            .zip(outcomes)
            .map(|(p, o)| api::ImportedRevision {
                update_id: p.update.identity.update_id.to_string(),
                revision_number: p.update.identity.revision_number,
                revision_id: o.revision_id,
                inserted: o.inserted,
            })
            .collect())
    }

    /// A value that changes whenever revisions are added, so every process serving clients
    /// from this database notices (one settings read); 0 before the first import.
    pub async fn catalog_version(&self) -> Result<i64, CatalogError> {
        Ok(self.store.get_setting(CATALOG_VERSION_SETTING).await?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    async fn bump_catalog_version(&self) -> Result<(), CatalogError> {
        let current = self.catalog_version().await?;
        let now = i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos()).unwrap_or(i64::MAX);
        self.store.set_setting(CATALOG_VERSION_SETTING, &now.max(current.saturating_add(1)).to_string()).await?;
        Ok(())
    }

    /// Lists the latest revision of each update matching `q`.
    pub async fn list_updates(&self, q: &api::UpdateQuery) -> Result<Vec<api::UpdateSummary>, CatalogError> {
        let filter = UpdateFilter {
            text: q.text.clone(),
            classification: q.classification.clone(),
            product: q.product.clone(),
            kb: q.kb.clone(),
            update_type: None,
            include_categories: q.all_types,
            limit: Some(q.limit.unwrap_or(200).min(10_000) as i64),
            offset: q.offset.unwrap_or(0) as i64,
        };
        let rows = self.store.list_updates(&filter).await?;
        let titles = self.category_titles().await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let rev = self
                .store
                .revision(r.revision_id)
                .await?
                .ok_or_else(|| CatalogError::NotFound(format!("revision {}", r.revision_id)))?;
            let cats = self.store.revision_categories(r.revision_id).await?;
            out.push(summary(&rev, &cats, &titles));
        }
        Ok(out)
    }

    async fn category_titles(&self) -> Result<std::collections::HashMap<Uuid, String>, CatalogError> {
        // Microsoft's classification names stand in until a sync brings the category itself.
        let mut titles: std::collections::HashMap<Uuid, String> = sluice_metadata::publish::WELL_KNOWN_CLASSIFICATIONS
            .iter()
            .filter_map(|(name, id)| Some((Uuid::parse_str(id).ok()?, name.to_string())))
            .collect();
        titles.extend(self.store.list_categories().await?.into_iter().map(|c| (c.update_id, c.title)));
        Ok(titles)
    }

    /// Everything about the latest revision of one update.
    pub async fn update_detail(&self, update_id: &str) -> Result<api::UpdateDetail, CatalogError> {
        let id = Uuid::parse_str(update_id.trim())
            .map_err(|_| CatalogError::InvalidRequest(format!("'{update_id}' is not an update id")))?;
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
        Ok(api::UpdateDetail {
            summary: summary(&rev, &cats, &titles),
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

fn summary(
    rev: &sluice_store::Revision,
    cats: &[Uuid],
    titles: &std::collections::HashMap<Uuid, String>,
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
    }
}
