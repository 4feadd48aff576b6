//! Catalog commands and views as the admin API carries them (JSON): shared by the server,
//! which maps routes onto them, and the `sluice` CLI.

use serde::{Deserialize, Serialize};

pub const API_PREFIX: &str = "/api/v1";

/// How a command-line installer's exit code is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReturnCodeMeaning {
    Success,
    Reboot,
    Failure,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnCodeSpec {
    pub code: i64,
    pub meaning: ReturnCodeMeaning,
}

/// The file of an update being published, as the client measured it. The server recomputes
/// both digests while storing and refuses the upload if they differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishFile {
    pub name: String,
    pub size: u64,
    /// Lower-case hex.
    pub sha1: String,
    /// Lower-case hex.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PublishRequest {
    pub title: String,
    pub description: Option<String>,
    pub kb: Option<String>,
    pub msrc_number: Option<String>,
    pub msrc_severity: Option<String>,
    /// Classification title or id (e.g. "Security Updates").
    pub classification: Option<String>,
    /// Product title or id; a new product category is created for an unknown title.
    pub product: Option<String>,
    /// Arguments passed to the file when it is installed.
    pub command_line: Option<String>,
    pub return_codes: Vec<ReturnCodeSpec>,
    pub installed_rule: Option<String>,
    pub installable_rule: Option<String>,
    pub prerequisites: Vec<String>,
    pub supersedes: Vec<String>,
    pub file: Option<PublishFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportDocument {
    /// Names the document in error messages (usually its file name).
    pub name: String,
    pub xml: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRequest {
    pub documents: Vec<ImportDocument>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedRevision {
    pub update_id: String,
    pub revision_number: i32,
    pub revision_id: i64,
    /// False when the revision was already in the catalog (nothing changed).
    pub inserted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportResponse {
    pub revisions: Vec<ImportedRevision>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateSummary {
    pub update_id: String,
    pub revision_number: i32,
    pub revision_id: i64,
    pub title: String,
    pub update_type: String,
    pub kb_article: Option<String>,
    pub msrc_severity: Option<String>,
    pub msrc_number: Option<String>,
    pub classification: Option<String>,
    pub products: Vec<String>,
    pub creation_date: Option<String>,
    pub is_locally_published: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateFileInfo {
    pub name: String,
    pub size: u64,
    pub sha1: String,
    pub sha256: Option<String>,
    /// absent | downloading | present | failed
    pub state: String,
    /// Where clients fetch it from this server, relative to the client listener.
    pub content_path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateDetail {
    #[serde(flatten)]
    pub summary: UpdateSummary,
    pub description: Option<String>,
    pub publication_state: Option<String>,
    pub is_bundle: bool,
    pub files: Vec<UpdateFileInfo>,
    pub prerequisites: Vec<Vec<String>>,
    pub bundled_updates: Vec<Vec<String>>,
    pub superseded_updates: Vec<String>,
    pub languages: Vec<String>,
    pub command_line: Option<String>,
    pub has_installed_rule: bool,
    pub has_installable_rule: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub error: String,
}

/// Filters of an update listing (query string of `GET /updates`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UpdateQuery {
    pub text: Option<String>,
    pub classification: Option<String>,
    pub product: Option<String>,
    pub kb: Option<String>,
    /// Also list categories and detectoids.
    #[serde(default)]
    pub all_types: bool,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}
