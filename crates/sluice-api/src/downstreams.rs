//! `GET /downstreams`: the downstream servers that sync from this one, with the computers and
//! update states they rolled up (MS-WSUSSS rollups).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One downstream server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DownstreamView {
    /// Its WSUS ServerId.
    pub id: String,
    /// FQDN it presented or reported.
    pub name: String,
    /// Address of its last call.
    pub address: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
    /// `replica`, `autonomous`, or `unknown` until it declared itself.
    pub mode: String,
    pub parent_server_id: Option<String>,
    pub version: Option<String>,
    pub last_sync_time: Option<String>,
    pub last_rollup_time: Option<String>,
    /// The summary it rolled up (server counts, client summaries), if any.
    pub summary: Option<DownstreamSummary>,
    pub computers: Vec<DownstreamComputerView>,
}

/// What a downstream server reported about itself in ReportServerRollup (kept as sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DownstreamSummary {
    /// Its update, approval and computer counts; absent when it sent none.
    pub server: Option<DownstreamServerCounts>,
    /// Its computers grouped by operating system, locale and architecture.
    pub clients: Vec<DownstreamClientSummary>,
    /// The LastRollupTime it reported, verbatim.
    pub last_rollup_time_reported: String,
}

/// The counts of a downstream server's own console (WSUS ServerSummary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
pub struct DownstreamServerCounts {
    pub update_count: i32,
    pub declined_update_count: i32,
    pub approved_update_count: i32,
    pub not_approved_update_count: i32,
    pub updates_with_stale_update_approvals_count: i32,
    pub expired_update_count: i32,
    pub critical_or_security_updates_not_approved_for_install_count: i32,
    pub wsus_infrastructure_updates_not_approved_for_install_count: i32,
    pub updates_with_client_errors_count: i32,
    pub updates_with_server_errors_count: i32,
    pub updates_needing_files_count: i32,
    pub updates_needed_by_computers_count: i32,
    pub updates_up_to_date_count: i32,
    pub custom_computer_target_group_count: i32,
    pub computer_target_count: i32,
    pub computer_targets_needing_updates_count: i32,
    pub computer_targets_with_update_errors_count: i32,
    pub computers_up_to_date_count: i32,
}

/// How many of a downstream server's computers share an operating system, locale and
/// architecture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DownstreamClientSummary {
    /// major.minor.build
    pub os_version: String,
    pub os_locale: Option<String>,
    pub processor_architecture: Option<String>,
    pub count: i32,
}

/// A computer behind a downstream server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DownstreamComputerView {
    pub computer_id: String,
    pub name: Option<String>,
    pub ip_address: Option<String>,
    pub os_description: Option<String>,
    pub os_version: Option<String>,
    pub client_version: Option<String>,
    pub last_sync_time: Option<String>,
    pub last_sync_result: i32,
    pub last_reported_status_time: Option<String>,
    pub rollup_number: Option<i32>,
    pub last_rollup_time: String,
    /// Update states it reported (state name → number of updates).
    pub update_states: BTreeMap<String, usize>,
}
