//! The update catalog as an application service. Knows nothing of HTTP. One job per module:
//! - `ingest`: update documents parsed, prepared (`prepare`) and stored as revisions;
//! - `publish`: an administrator's own update published locally;
//! - `updates`: the update list and detail views;
//! - `transfer`: export and import packages for disconnected networks;
//! - `groups`: computer groups and computers;
//! - `approvals`: approvals, declines and license acceptance;
//! - `auto_approval`: automatic approval rules and WSUS's automatic options;
//! - `rollouts`: staged-rollout plans and moving updates through their rings;
//! - `license`: license facts derived from update documents, once;
//! - `status`: reported update states;
//! - `settings`: targeting mode and replica mode;
//! - `targeting`: loads the approval inheritance snapshot (`sluice_decide::targeting`).

pub mod api;
pub mod approvals;
pub mod bulk;
pub mod finding;
pub mod auto_approval;
pub mod groups;
pub mod settings;
pub mod targeting;
pub mod times;
pub mod transfer;
mod ingest;
mod license;
mod prepare;
mod publish;
pub mod reports;
pub mod rollouts;
mod status;
#[cfg(test)]
mod test_support;
mod updates;

use std::sync::Arc;

use sluice_content::ContentStore;
use sluice_metadata::MetadataError;
use sluice_store::{Store, StoreError};

pub use prepare::prepare_revision;
/// Inflates a stored original document (`Store::revision_xml`) back to its XML text.
pub use prepare::decompress;

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
}
