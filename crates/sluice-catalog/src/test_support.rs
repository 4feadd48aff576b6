//! Fixtures shared by the catalog service's unit tests: times, update documents and a
//! catalog on an in-memory SQLite store.

use std::sync::Arc;

use sluice_store::Store;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::api::ApprovalRequest;
use crate::times::parse_rfc3339_utc;
use crate::{Catalog, CatalogError};

pub(crate) fn t(s: &str) -> OffsetDateTime {
    parse_rfc3339_utc(s).unwrap()
}

pub(crate) const T1: &str = "2026-02-01T00:00:00Z";
pub(crate) const D1: &str = "2026-03-01T08:00:00Z";

pub(crate) struct Doc {
    pub(crate) id: Uuid,
    pub(crate) kind: &'static str,
    pub(crate) deployable: bool,
    pub(crate) extra_props: &'static str,
    pub(crate) extra_localized: &'static str,
}

impl Doc {
    pub(crate) fn software(id: Uuid) -> Doc {
        Doc {
            id,
            kind: "Software",
            deployable: true,
            extra_props: "",
            extra_localized: "",
        }
    }

    pub(crate) fn xml(&self) -> (String, Vec<u8>) {
        let xml = format!(
            r#"<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"><upd:UpdateIdentity UpdateID="{}" RevisionNumber="100" /><upd:Properties UpdateType="{}" ExplicitlyDeployable="{}" PublicationState="Published" CreationDate="2026-01-01T00:00:00Z"{}></upd:Properties><upd:LocalizedPropertiesCollection><upd:LocalizedProperties><upd:Language>en</upd:Language><upd:Title>Test {}</upd:Title></upd:LocalizedProperties>{}</upd:LocalizedPropertiesCollection></upd:Update>"#,
            self.id, self.kind, self.deployable, self.extra_props, self.id, self.extra_localized
        );
        (format!("{}.xml", self.id), xml.into_bytes())
    }
}

pub(crate) const EULA_FILE: &str = r#"<upd:EulaFile Language="en"><upd:File FileName="eula-en.txt" Digest="AAECAwQFBgcICQoLDA0ODxAREhM=" Size="2048" /></upd:EulaFile>"#;

pub(crate) async fn catalog(docs: &[Doc]) -> (Catalog, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open("sqlite::memory:").await.unwrap();
    let content = Arc::new(
        sluice_content::ContentStore::open(dir.path().join("content"))
            .await
            .unwrap(),
    );
    let c = Catalog::new(store, content);
    if !docs.is_empty() {
        c.import_documents(docs.iter().map(Doc::xml).collect()).await.unwrap();
    }
    (c, dir)
}

/// Registers computers with nothing but their ids, as a first RegisterComputer would.
pub(crate) async fn register(c: &Catalog, ids: &[&str]) {
    for id in ids {
        c.store()
            .upsert_computer(&sluice_store::NewComputer { id: id.to_string(), ..sluice_store::NewComputer::default() })
            .await
            .unwrap();
    }
}

pub(crate) fn req(update: Uuid, group: &str) -> ApprovalRequest {
    ApprovalRequest {
        update: update.to_string(),
        group: group.into(),
        ..ApprovalRequest::default()
    }
}

pub(crate) fn is_conflict(e: &CatalogError) -> bool {
    matches!(e, CatalogError::Store(s) if s.is_conflict())
}
