//! Bulk approval and decline (`POST /approvals/bulk`) and the category lists
//! (`GET /products`, `GET /classifications`).

use serde::{Deserialize, Serialize};

use crate::catalog::UpdateQuery;

/// `POST /approvals/bulk`: approve or decline the named updates, or the updates a filter
/// selects, for one or several groups, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
pub struct BulkApprovalRequest {
    /// Update ids or KB numbers (`KB5012345`).
    #[serde(default)]
    pub updates: Vec<String>,
    /// The updates `GET /updates` would list with these filters (all pages). Declined
    /// updates are left out of an approval's selection.
    #[serde(default)]
    pub filter: Option<UpdateQuery>,
    /// Group names or ids (approvals; a decline takes none).
    #[serde(default)]
    pub groups: Vec<String>,
    /// install (default) | uninstall | not_approved | decline
    #[serde(default)]
    pub action: Option<String>,
    /// RFC 3339 date-time (install and uninstall approvals).
    #[serde(default)]
    pub deadline: Option<String>,
    /// Accept the license terms of the updates that carry some.
    #[serde(default)]
    pub accept_license: bool,
    /// Answer what would change and change nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// One change of a bulk call: an update's approval for a group, or its decline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BulkChange {
    pub update_id: String,
    pub title: String,
    /// The group (approvals only).
    pub group: Option<String>,
    /// The group's own approval action before (`none` when it had none), or for a decline
    /// `declined` / `not_declined`.
    pub before: String,
    /// After the call.
    pub after: String,
    /// False when it already was so.
    pub changed: bool,
    /// Groups whose approvals a decline removed (or would remove).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed_approvals: Vec<String>,
}

/// Answer of `POST /approvals/bulk`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BulkApprovalResult {
    /// install | uninstall | not_approved | decline
    pub action: String,
    pub dry_run: bool,
    /// Updates selected.
    pub updates: usize,
    /// Changes made (or, in a dry run, that would be made).
    pub changed: usize,
    pub changes: Vec<BulkChange>,
}

/// A product or classification (`GET /products`, `GET /classifications`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CategoryView {
    pub id: String,
    /// `None` for an id the sync selection names that no stored category carries (yet).
    pub name: Option<String>,
    /// Whether the sync selection asks for it (an inherited selection selects everything).
    pub selected: bool,
}
