//! Sluice content: the verified store of update files in the WSUS layout
//! (`<XX>/<SHA1HEX>.<ext>`), in a local directory or an S3 bucket, and the HTTP-independent
//! logic for serving them (ranges, multipart layout, validators, preconditions).
//!
//! Nothing here knows about an HTTP framework; `sluice-server` maps requests onto
//! [`range::plan`] and [`conditional::evaluate`] and streams the file slices they name.

use std::io;
use std::path::{Path, PathBuf};

mod backend;
pub mod conditional;
pub mod layout;
pub mod range;
pub mod s3;
pub mod store;
pub mod validators;
mod verify;

pub use backend::{ContentFile, ContentStore, PartialDownload};
pub use layout::{ContentKey, parse_content_path, relative_url_path, sha1_hex};
pub use s3::{S3Access, S3Location, S3Settings, Secret};
pub use store::{ExpectedFile, StoredFile};
pub use validators::Validators;

/// Errors of the content store.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// A filesystem operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("writing", "renaming into", …).
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Reading the bytes to store failed (network, source file).
    #[error("reading the source failed: {0}")]
    Source(#[source] io::Error),
    /// The data is not the expected size.
    #[error("size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        /// Size from the metadata.
        expected: u64,
        /// Size seen (for an oversized stream: how far it got before being stopped).
        actual: u64,
    },
    /// The SHA-1 differs from the expected one.
    #[error("SHA-1 mismatch: expected {expected}, got {actual}")]
    Sha1Mismatch {
        /// Expected digest, hex.
        expected: String,
        /// Computed digest, hex.
        actual: String,
    },
    /// The SHA-256 differs from the expected one.
    #[error("SHA-256 mismatch: expected {expected}, got {actual}")]
    Sha256Mismatch {
        /// Expected digest, hex.
        expected: String,
        /// Computed digest, hex.
        actual: String,
    },
    /// A file name or extension that can't be part of a content path.
    #[error("unusable file name or extension: {0:?}")]
    InvalidFileName(String),
    /// Another [`PartialDownload`] for this digest is in use.
    #[error("a partial download of this file is already in progress")]
    PartialBusy,
    /// The S3 store cannot be used as configured; the message names the setting.
    #[error("{0}")]
    Unavailable(String),
    /// A request to the S3 store failed.
    #[error("{action} {key}: {source}")]
    Remote {
        /// What was being done ("inspecting", "uploading", …).
        action: &'static str,
        /// The object, `s3://bucket/key`.
        key: String,
        /// What the store answered.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A background task panicked or was cancelled.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ContentError {
    fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }

    /// True for errors that mean the data itself was wrong (size or digest), as opposed
    /// to an I/O problem worth retrying as is.
    pub fn is_verification_failure(&self) -> bool {
        matches!(
            self,
            Self::SizeMismatch { .. } | Self::Sha1Mismatch { .. } | Self::Sha256Mismatch { .. }
        )
    }
}
