//! `POST /export` and `POST /import`: packages for disconnected networks, read and written on
//! the SERVER's filesystem (docs/export-format.md).

use serde::{Deserialize, Serialize};

/// `POST /export`. `out` is a directory on the server's filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExportRequest {
    pub out: String,
    /// RFC 3339 time or `YYYY-MM-DD` (UTC midnight): only revisions this server stored at or
    /// after it. All revisions when absent.
    #[serde(default)]
    pub since: Option<String>,
    /// Copy the content files that are present into the package.
    #[serde(default)]
    pub content: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExportReport {
    pub out: String,
    pub revisions: usize,
    pub files: usize,
    pub content_files: usize,
    /// Files of exported revisions whose content is not in this server's content store.
    pub content_missing: usize,
    pub bytes: u64,
    /// SHA-256 of `manifest.json`: carry it to the other side separately to detect tampering.
    pub manifest_sha256: String,
}

/// `POST /import`. `dir` is a package directory on the server's filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
// Named apart from the XML import's request in the OpenAPI document.
#[schema(as = PackageImportRequest)]
pub struct ImportRequest {
    pub dir: String,
    /// When given, the package is refused unless `manifest.json` has this SHA-256.
    #[serde(default)]
    pub manifest_sha256: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub package_files_verified: usize,
    pub revisions: usize,
    pub revisions_inserted: usize,
    pub revisions_already_present: usize,
    pub files: usize,
    pub mu_urls_set: usize,
    pub content_stored: usize,
    pub content_already_present: usize,
    pub source_server_id: Option<String>,
}
