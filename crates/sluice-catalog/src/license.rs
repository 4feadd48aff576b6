//! License facts: what approving an update and answering a replica's GetDeployments need to
//! know about its license terms and installation behaviour, derived from its document once,
//! when it is stored (`prepare`), and kept with the revision. Revisions stored before the
//! store kept them get theirs from [`Catalog::derive_license_facts`] at startup, or when they
//! are approved first ([`Catalog::license_facts_of`]).

use sluice_metadata::{Update, UpdateType};
use sluice_store::LicenseFacts;
use uuid::Uuid;

use crate::{Catalog, CatalogError};

/// Revisions parsed per transaction by [`Catalog::derive_license_facts`].
const BACKFILL_BATCH: i64 = 200;

/// The key an update's license terms are accepted under: its `EulaID` when it is a GUID,
/// otherwise one derived from the EULA file's SHA-1, so every update carrying the same text
/// shares the acceptance. `None` without license terms, and when the `EulaID` is no GUID and
/// no EULA file comes with it (then no acceptance can be recorded).
pub(crate) fn eula_key(eula_id: Option<&str>, eula_digests: &[[u8; 20]]) -> Option<Uuid> {
    if let Some(u) = eula_id.and_then(|id| Uuid::parse_str(id.trim()).ok()) {
        return Some(u);
    }
    // The smallest digest, so the key does not depend on the order of the language variants.
    eula_digests.iter().min().map(|d| {
        let mut b = [0u8; 16];
        b.copy_from_slice(&d[..16]);
        uuid::Builder::from_custom_bytes(b).into_uuid()
    })
}

/// The license facts of a parsed update document.
pub(crate) fn license_facts(u: &Update) -> LicenseFacts {
    let eula_id = u.properties.eula_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let digests: Vec<[u8; 20]> = u.eulas.iter().map(|e| e.file.sha1).collect();
    LicenseFacts {
        eula_id: eula_id.map(str::to_owned),
        eula_key: eula_key(eula_id, &digests),
        eula_files: u.eulas.iter().map(|e| format!("{} ({})", e.file.file_name, e.language)).collect(),
        needs_user_input: u.properties.update_type != UpdateType::Category
            && u.properties.installation_behavior.as_ref().and_then(|b| b.can_request_user_input) == Some(true),
    }
}

/// The license facts of a stored (compressed) document, or why it cannot give them.
fn facts_of_stored(compressed: &[u8]) -> Result<LicenseFacts, String> {
    let xml = crate::prepare::decompress(compressed).map_err(|e| e.to_string())?;
    let parsed = sluice_metadata::parse_update_bytes(xml.as_bytes(), "stored revision").map_err(|e| e.to_string())?;
    Ok(license_facts(&parsed.update))
}

impl Catalog {
    /// Derives the license facts of every stored revision that has none (stored by a version
    /// that did not keep them), parsing each document once; returns how many it derived.
    /// Each batch is committed on its own, so an interrupted run resumes where it stopped, and
    /// a second run finds nothing to do. A document that no longer parses is passed over with
    /// a warning and keeps no facts: approving it is refused, as it was before facts were kept,
    /// rather than approved as if it carried no license terms.
    pub async fn derive_license_facts(&self) -> Result<usize, CatalogError> {
        let mut derived = 0;
        let mut after = 0;
        loop {
            let batch = self.store.revisions_without_license_facts(after, BACKFILL_BATCH).await?;
            let Some(last) = batch.last().map(|(id, _)| *id) else { return Ok(derived) };
            after = last;
            let facts = tokio::task::spawn_blocking(move || {
                batch
                    .into_iter()
                    .filter_map(|(id, compressed)| match facts_of_stored(&compressed) {
                        Ok(facts) => Some((id, facts)),
                        Err(e) => {
                            tracing::warn!(revision = id, error = %e, "stored document does not parse: its license terms stay unknown");
                            None
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(|e| CatalogError::Internal(e.to_string()))?;
            self.store.set_license_facts(&facts).await?;
            derived += facts.len();
            tracing::info!(derived, "license facts derived from stored revisions");
        }
    }

    /// The license facts of one stored revision, derived (and kept) now if it has none yet:
    /// a revision another server sharing the database stored with an older version.
    pub(crate) async fn license_facts_of(&self, rev: &sluice_store::Revision) -> Result<LicenseFacts, CatalogError> {
        if let Some(f) = &rev.license {
            return Ok(f.clone());
        }
        let compressed =
            self.store.revision_xml(rev.id).await?.ok_or_else(|| CatalogError::NotFound(format!("revision {}", rev.id)))?;
        let facts = facts_of_stored(&compressed)
            .map_err(|e| CatalogError::Internal(format!("the stored document of revision {} no longer parses: {e}", rev.id)))?;
        self.store.set_license_facts(&[(rev.id, facts.clone())]).await?;
        Ok(facts)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::test_support::*;

    const EULA_ID: &str = "0b9a3e4c-8c2e-4d1e-9c43-1d3b1c1e2f30";
    const ASKS_USER: &str = r#"><upd:InstallationBehavior CanRequestUserInput="true" /"#;

    #[tokio::test]
    async fn ingest_stores_the_license_facts() {
        let (with_file, with_id, asks, plain) = (Uuid::from_u128(0x300), Uuid::from_u128(0x301), Uuid::from_u128(0x302), Uuid::from_u128(0x303));
        let (c, _dir) = catalog(&[
            Doc { extra_localized: EULA_FILE, ..Doc::software(with_file) },
            Doc { extra_props: r#" EulaID="0B9A3E4C-8C2E-4D1E-9C43-1D3B1C1E2F30""#, ..Doc::software(with_id) },
            Doc { extra_props: ASKS_USER, ..Doc::software(asks) },
            Doc::software(plain),
        ])
        .await;
        let store = c.store();
        let facts = |id| async move { store.latest_revision(id).await.unwrap().unwrap().license.expect("derived at ingest") };
        let f = facts(with_file).await;
        assert_eq!(f.eula_files, vec!["eula-en.txt (en)".to_string()]);
        assert_eq!(f.eula_key, eula_key(None, &[core::array::from_fn(|i| i as u8)]), "keyed by the file's SHA-1");
        assert!(f.eula_key.is_some() && f.eula_id.is_none() && !f.needs_user_input);
        let f = facts(with_id).await;
        assert_eq!(f.eula_key, Some(Uuid::parse_str(EULA_ID).unwrap()), "keyed by the EulaID, in any case");
        assert_eq!(f.eula_id.as_deref(), Some("0B9A3E4C-8C2E-4D1E-9C43-1D3B1C1E2F30"));
        assert!(f.eula_files.is_empty());
        assert!(facts(asks).await.needs_user_input);
        assert_eq!(facts(plain).await, LicenseFacts::default());
    }

    #[tokio::test]
    async fn revisions_stored_without_facts_get_them_once() {
        let (c, _dir) = catalog(&[]).await;
        let id = Uuid::from_u128(0x310);
        let (name, bytes) = Doc { extra_localized: EULA_FILE, extra_props: ASKS_USER, ..Doc::software(id) }.xml();
        let parsed = sluice_metadata::parse_update_bytes(&bytes, &name).unwrap();
        // Stored as a version that did not keep the facts stored it, next to a document that
        // no longer parses.
        let legacy = sluice_store::NewRevision { license: None, ..crate::prepare::prepare_revision(&parsed, &HashSet::new()) };
        let broken = sluice_store::NewRevision {
            update_id: Uuid::from_u128(0x311),
            revision_number: 1,
            title: "broken".into(),
            publication_state: "Published".into(),
            xml_compressed: crate::prepare::compress("<not-an-update/>"),
            ..Default::default()
        };
        c.store().insert_revisions(&[legacy, broken]).await.unwrap();
        assert_eq!(c.store().latest_revision(id).await.unwrap().unwrap().license, None);

        assert_eq!(c.derive_license_facts().await.unwrap(), 1);
        let derived = c.store().latest_revision(id).await.unwrap().unwrap().license.unwrap();
        assert_eq!(derived, license_facts(&parsed.update), "the same facts ingest derives");
        assert!(derived.needs_user_input && derived.eula_key.is_some());
        // The broken document keeps no facts, so nothing takes it for one without license terms.
        let broken = c.store().latest_revision(Uuid::from_u128(0x311)).await.unwrap().unwrap();
        assert_eq!(broken.license, None);
        assert_eq!(c.derive_license_facts().await.unwrap(), 0, "a second run derives nothing");
        let e = c.license_facts_of(&broken).await.unwrap_err();
        assert!(e.to_string().contains("no longer parses"), "{e}");
    }

    #[test]
    fn eula_keys_are_stable() {
        let id = "0b9a3e4c-8c2e-4d1e-9c43-1d3b1c1e2f30";
        assert_eq!(eula_key(Some(id), &[[7; 20]]), Some(Uuid::parse_str(id).unwrap()));
        let a = eula_key(None, &[[9; 20], [3; 20]]);
        assert_eq!(a, eula_key(None, &[[3; 20], [9; 20]]), "language order does not matter");
        assert_ne!(a, eula_key(None, &[[4; 20]]));
        assert_eq!(eula_key(None, &[]), None);
        assert_eq!(eula_key(Some("not-a-guid"), &[]), None);
        assert_eq!(eula_key(Some("not-a-guid"), &[[4; 20]]), eula_key(None, &[[4; 20]]));
    }
}
