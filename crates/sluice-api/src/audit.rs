//! The audit log (`GET /audit`): who changed what, when, and from where.

use serde::{Deserialize, Serialize};

/// One change made through the admin API, as the audit log recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntryView {
    /// Increasing in the order the entries were written.
    pub id: i64,
    /// RFC 3339, UTC.
    pub at: String,
    /// The user whose token made the change.
    pub user: String,
    /// What was done (`approve`, `decline`, `group-create`, `sync-settings`, …).
    pub action: String,
    /// What it was done to (an update id, a group name, …).
    pub target: String,
    pub detail: String,
    /// The caller's IP address, when known.
    pub address: Option<String>,
}

/// Query of `GET /audit`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, utoipa::IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries at or after this time (RFC 3339, or a date `YYYY-MM-DD` meaning its midnight UTC).
    pub since: Option<String>,
    /// Only this user's changes.
    pub user: Option<String>,
    /// At most this many entries [default: 100, at most 10,000].
    pub limit: Option<i64>,
}
