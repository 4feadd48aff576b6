//! Trusted servers (`/servers`): other Sluice servers this one administers, by the API token
//! each issued; every admin route of a trusted server is reachable through this one as
//! `/servers/{name}/…`. And `GET /server`: who this server is, for the servers that trust it.

use serde::{Deserialize, Serialize};

use crate::sync::SyncView;

/// `GET /server`: this server's identity and standing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ServerInfo {
    /// Its WSUS ServerId (what downstream servers and clients know it by).
    pub server_id: String,
    pub version: String,
    /// The machine's host name.
    pub host_name: String,
    /// `autonomous` or `replica`.
    pub mode: String,
    /// The server it synchronizes from.
    pub upstream: String,
    pub last_sync: Option<SyncView>,
    pub computers: i64,
    /// Computers needing at least one update.
    pub computers_needing: i64,
    /// Computers with a failed install.
    pub computers_failed: i64,
    /// Downstream servers that synchronized from it, by their server id.
    pub downstream_server_ids: Vec<String>,
}

/// `POST /servers`: trust another Sluice server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddServerRequest {
    /// What this server calls it (`/servers/{name}/…`, `--on NAME`).
    pub name: String,
    /// Its admin listener, `https://branch.contoso.com:8580`.
    pub url: String,
    /// An API token issued on that server; stored encrypted, never shown again.
    pub token: String,
    /// PEM certificate(s) to trust for its HTTPS, besides the system's roots.
    #[serde(default)]
    pub ca_cert: Option<String>,
}

/// A trusted server as stored (the token is never shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrustedServerView {
    pub name: String,
    pub url: String,
    /// The server id pinned when it was added: an answer from another id is refused.
    pub server_id: String,
    /// SHA-256 of the TLS certificate pinned when it was added (HTTPS only).
    pub certificate_sha256: Option<String>,
    pub added_by: String,
    pub added_at: String,
}

/// One row of `GET /servers/overview`: this server first, then each trusted one, as it
/// answered just now (or why it did not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ServerOverview {
    /// The trusted server's name; `None` for this server.
    pub name: Option<String>,
    pub url: String,
    pub reachable: bool,
    /// Why it could not be asked (`unreachable: …`, `access revoked`, `identity mismatch: …`).
    pub error: Option<String>,
    pub info: Option<ServerInfo>,
}
