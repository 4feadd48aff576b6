//! Ingest: update documents parsed, checked and stored as revisions, all or nothing, and the
//! catalog version that tells every process serving clients from the same database that
//! revisions were added. Synchronisation, uploads, import of export packages and local
//! publishing all end here.

use std::collections::HashSet;

use sluice_metadata::{ParsedUpdate, parse_update_bytes};
use sluice_store::settings::CATALOG_VERSION;
use uuid::Uuid;

use crate::prepare::prepare_revision;
use crate::{Catalog, CatalogError, api};

impl Catalog {
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
        // Which updates are new and which only revised matters only to automatic approval;
        // without enabled rules and with new revisions approved as before, nothing is asked.
        let automatic = self.automatic_approval_active().await?;
        let mut had_earlier = HashSet::new();
        if automatic {
            for p in &parsed {
                let id = p.update.identity.update_id;
                if self.store.latest_revision(id).await?.is_some() {
                    had_earlier.insert(id);
                }
            }
        }
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
        if automatic {
            let (mut new, mut revised) = (Vec::new(), Vec::new());
            for (p, o) in parsed.iter().zip(&outcomes) {
                let id = p.update.identity.update_id;
                if !o.inserted {
                    continue;
                }
                let list = if had_earlier.contains(&id) { &mut revised } else { &mut new };
                if !list.contains(&id) {
                    list.push(id);
                }
            }
            // The revisions are stored whatever automatic approval then does: its failure is
            // logged, not reported as a failed ingest that would be retried.
            if let Err(e) = self.after_ingest(&new, &revised).await {
                tracing::error!(error = %e, "automatic approval after an ingest failed");
            }
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
        Ok(self.store.setting(CATALOG_VERSION).await?.unwrap_or(0))
    }

    /// Whether an ingest has automatic approval work: an enabled rule, or new revisions that
    /// must not keep their update's approvals.
    async fn automatic_approval_active(&self) -> Result<bool, CatalogError> {
        let options = self.store.setting(sluice_store::settings::AUTO_APPROVAL_OPTIONS).await?.unwrap_or_default();
        Ok(!options.approve_new_revisions || self.store.approval_rules().await?.iter().any(|r| r.enabled))
    }

    async fn bump_catalog_version(&self) -> Result<(), CatalogError> {
        self.store.bump_version(CATALOG_VERSION).await?;
        Ok(())
    }
}
