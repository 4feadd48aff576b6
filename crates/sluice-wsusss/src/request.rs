//! Requests: the types; [`encode_request`] (downstream, in `encode.rs`) and [`decode_request`]
//! (upstream, in `decode.rs`).
//!
//! Field names are the WSDL element names in snake case; a field is documented only where the
//! protocol does not make its meaning obvious. Every request that carries a `cookie` has it as
//! `Option`: the upstream, not the codec, answers a missing one with `InvalidCookie`.
//! Date-times are `xs:dateTime` strings kept verbatim; an empty one is written as
//! `0001-01-01T00:00:00`, .NET's unset value (both here and in responses).

mod decode;
mod encode;

use uuid::Uuid;

use crate::Operation;
use crate::types::{AuthorizationCookie, Cookie, UpdateIdentity};

pub use decode::decode_request;
pub use encode::encode_request;

/// DssAuth GetAuthorizationCookie.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetAuthorizationCookieRequest {
    /// The downstream's FQDN (a real WSUS sends its own name).
    pub account_name: String,
    /// The downstream's WSUS `ServerId`, a GUID kept as the string sent (the schema types it
    /// `xs:string`; the spec example writes it upper case). See
    /// [`GetAuthorizationCookieRequest::account_uuid`].
    pub account_guid: String,
    /// Legacy entitlement keys; omitted from the request when empty, as real downstreams do.
    pub program_keys: Vec<Uuid>,
}

impl GetAuthorizationCookieRequest {
    /// `account_guid` as a GUID, if it is one.
    pub fn account_uuid(&self) -> Option<Uuid> {
        Uuid::parse_str(self.account_guid.trim()).ok()
    }
}

/// GetCookie.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetCookieRequest {
    /// Exactly one in practice (the upstream answers any other count with InvalidParameters).
    pub auth_cookies: Vec<AuthorizationCookie>,
    /// The previous cookie, when renewing one.
    pub old_cookie: Option<Cookie>,
    /// `major.minor`; a real WSUS downstream sends `1.20`, Microsoft's own sync client `1.7`.
    pub protocol_version: String,
}

/// GetConfigData.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetConfigDataRequest {
    pub cookie: Option<Cookie>,
    /// The `NewConfigAnchor` of the previous answer; with a current one, WSUS answers without a
    /// language list.
    pub config_anchor: Option<String>,
}

/// GetRevisionIdList.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetRevisionIdListRequest {
    pub cookie: Option<Cookie>,
    /// `None` only when decoding a request that lacked it.
    pub filter: Option<ServerSyncFilter>,
}

/// `ServerSyncFilter`. `DssProtocolVersion`, which a downstream must not send, is neither
/// written nor kept.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerSyncFilter {
    /// The `Anchor` of the previous successful answer of the same kind; absent on a first sync.
    pub anchor: Option<String>,
    /// `true`: the configuration pass (categories, classifications, detectoids); `false`: updates.
    pub get_config: bool,
    /// Legacy language-subset flag; always written (the schema requires it), `false` when a
    /// decoded request lacks it.
    pub get_63_language_only: bool,
    /// Products (and product families, companies). `None` and `Some(empty)` differ: WSUS
    /// returns nothing when one of the two lists is present and the other is not or is empty,
    /// and everything when both are absent.
    pub categories: Option<Vec<IdAndDelta>>,
    pub classifications: Option<Vec<IdAndDelta>>,
    pub languages: Option<Vec<LanguageAndDelta>>,
}

/// A category or classification of the filter. `delta: true` asks only for revisions newer
/// than the anchor; send it exactly when sending an anchor, except for ids newly added to the
/// selection (which need all their revisions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdAndDelta {
    pub id: Uuid,
    pub delta: bool,
}

/// A language of the filter (LCID), with the same `delta` meaning as [`IdAndDelta`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LanguageAndDelta {
    pub id: i32,
    pub delta: bool,
}

/// GetUpdateData, and GetUpdateDecryptionData (same parameters).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetUpdateDataRequest {
    pub cookie: Option<Cookie>,
    /// At most `MaxNumberOfUpdatesPerRequest` (100); a duplicate gets a duplicate answer.
    pub update_ids: Vec<UpdateIdentity>,
}

/// DownloadFiles: asks a lazy upstream to fetch files from its own upstream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DownloadFilesRequest {
    pub cookie: Option<Cookie>,
    /// SHA-1 digests (20 bytes each; the length check is the upstream's), at most 100.
    pub file_digests: Vec<Vec<u8>>,
}

/// GetDeployments (replica downstreams only).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetDeploymentsRequest {
    pub cookie: Option<Cookie>,
    /// The previous deployments `Anchor`; absent on the first replica sync.
    pub deployment_anchor: Option<String>,
    /// The metadata anchor of the current sync (must be non-empty).
    pub sync_anchor: Option<String>,
}

/// GetRelatedRevisionsForUpdates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetRelatedRevisionsForUpdatesRequest {
    pub cookie: Option<Cookie>,
    pub update_ids: Vec<Uuid>,
}

/// GetRollupConfiguration (reporting; the cookie is [`Cookie::reporting`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetRollupConfigurationRequest {
    pub cookie: Option<Cookie>,
}

/// RollupDownstreamServers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RollupDownstreamServersRequest {
    pub cookie: Option<Cookie>,
    /// The downstream's clock, `xs:dateTime` verbatim.
    pub client_time: String,
    pub downstream_servers: Vec<DownstreamServerRollupInfo>,
}

/// One downstream server (the caller itself or one of its own downstreams).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DownstreamServerRollupInfo {
    pub server_id: Uuid,
    pub full_domain_name: Option<String>,
    /// `0001-01-01T00:00:00` when it never synced.
    pub last_sync_time: String,
    pub parent_server_id: Uuid,
    /// WSUS version, e.g. `3.0.6000.354`.
    pub version: Option<String>,
    pub is_replica: bool,
    pub last_rollup_time: String,
    pub server_summary: Option<DownstreamServerRollupServerSummary>,
    pub client_summaries: Option<Vec<DownstreamServerRollupClientSummary>>,
}

/// `DownstreamServerRollupServerSummary`: counts, in WSDL order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DownstreamServerRollupServerSummary {
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

impl DownstreamServerRollupServerSummary {
    const NAMES: [&'static str; 18] = [
        "UpdateCount",
        "DeclinedUpdateCount",
        "ApprovedUpdateCount",
        "NotApprovedUpdateCount",
        "UpdatesWithStaleUpdateApprovalsCount",
        "ExpiredUpdateCount",
        "CriticalOrSecurityUpdatesNotApprovedForInstallCount",
        "WsusInfrastructureUpdatesNotApprovedForInstallCount",
        "UpdatesWithClientErrorsCount",
        "UpdatesWithServerErrorsCount",
        "UpdatesNeedingFilesCount",
        "UpdatesNeededByComputersCount",
        "UpdatesUpToDateCount",
        "CustomComputerTargetGroupCount",
        "ComputerTargetCount",
        "ComputerTargetsNeedingUpdatesCount",
        "ComputerTargetsWithUpdateErrorsCount",
        "ComputersUpToDateCount",
    ];

    fn values(&self) -> [i32; 18] {
        [
            self.update_count,
            self.declined_update_count,
            self.approved_update_count,
            self.not_approved_update_count,
            self.updates_with_stale_update_approvals_count,
            self.expired_update_count,
            self.critical_or_security_updates_not_approved_for_install_count,
            self.wsus_infrastructure_updates_not_approved_for_install_count,
            self.updates_with_client_errors_count,
            self.updates_with_server_errors_count,
            self.updates_needing_files_count,
            self.updates_needed_by_computers_count,
            self.updates_up_to_date_count,
            self.custom_computer_target_group_count,
            self.computer_target_count,
            self.computer_targets_needing_updates_count,
            self.computer_targets_with_update_errors_count,
            self.computers_up_to_date_count,
        ]
    }

    fn from_values(v: [i32; 18]) -> Self {
        let [
            update_count,
            declined_update_count,
            approved_update_count,
            not_approved_update_count,
            updates_with_stale_update_approvals_count,
            expired_update_count,
            critical_or_security_updates_not_approved_for_install_count,
            wsus_infrastructure_updates_not_approved_for_install_count,
            updates_with_client_errors_count,
            updates_with_server_errors_count,
            updates_needing_files_count,
            updates_needed_by_computers_count,
            updates_up_to_date_count,
            custom_computer_target_group_count,
            computer_target_count,
            computer_targets_needing_updates_count,
            computer_targets_with_update_errors_count,
            computers_up_to_date_count,
        ] = v;
        DownstreamServerRollupServerSummary {
            update_count,
            declined_update_count,
            approved_update_count,
            not_approved_update_count,
            updates_with_stale_update_approvals_count,
            expired_update_count,
            critical_or_security_updates_not_approved_for_install_count,
            wsus_infrastructure_updates_not_approved_for_install_count,
            updates_with_client_errors_count,
            updates_with_server_errors_count,
            updates_needing_files_count,
            updates_needed_by_computers_count,
            updates_up_to_date_count,
            custom_computer_target_group_count,
            computer_target_count,
            computer_targets_needing_updates_count,
            computer_targets_with_update_errors_count,
            computers_up_to_date_count,
        }
    }
}

/// Computers of one OS configuration behind a downstream server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DownstreamServerRollupClientSummary {
    pub os_major_version: i32,
    pub os_minor_version: i32,
    pub os_build_number: i32,
    pub os_service_pack_major_number: i32,
    pub os_service_pack_minor_number: i32,
    pub os_locale: Option<String>,
    pub suite_mask: i16,
    pub old_product_type: u8,
    pub new_product_type: i32,
    pub system_metrics: i32,
    pub processor_architecture: Option<String>,
    pub count: i32,
    pub activity_summaries: Option<Vec<DownstreamServerRollupClientActivitySummary>>,
}

/// Install outcomes of one update revision on computers of a client summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DownstreamServerRollupClientActivitySummary {
    pub update_id: Uuid,
    pub revision_number: i32,
    pub install_success_count: i32,
    pub install_failure_count: i32,
}

/// RollupComputers (only when the upstream asked for a detailed rollup).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RollupComputersRequest {
    pub cookie: Option<Cookie>,
    pub client_time: String,
    pub computers: Vec<ComputerRollupInfo>,
}

/// One computer; the schema carries these values as attributes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ComputerRollupInfo {
    pub computer_id: Option<String>,
    pub last_sync_time: String,
    pub last_sync_result: i32,
    pub last_reported_reboot_time: String,
    pub last_reported_status_time: String,
    pub last_inventory_time: String,
    pub parent_server_id: Uuid,
    pub details: Option<ComputerRollupDetails>,
}

/// Details of a computer (attributes, then two arrays).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ComputerRollupDetails {
    pub ip_address: Option<String>,
    pub full_domain_name: Option<String>,
    pub os_major_version: i32,
    pub os_minor_version: i32,
    pub os_build_number: i32,
    pub os_service_pack_major_number: i32,
    pub os_service_pack_minor_number: i32,
    pub os_locale: Option<String>,
    pub os_family: Option<String>,
    pub os_description: Option<String>,
    pub computer_make: Option<String>,
    pub computer_model: Option<String>,
    pub bios_version: Option<String>,
    pub bios_name: Option<String>,
    pub bios_release_date: String,
    pub processor_architecture: Option<String>,
    pub suite_mask: i16,
    pub old_product_type: u8,
    pub new_product_type: i32,
    pub system_metrics: i32,
    pub client_version: Option<String>,
    pub target_group_id_list: Option<Vec<Uuid>>,
    pub requested_target_group_names: Option<Vec<String>>,
}

/// GetOutOfSyncComputers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetOutOfSyncComputersRequest {
    pub cookie: Option<Cookie>,
    pub parent_server_id: Uuid,
    pub last_rollup_numbers: Vec<ComputerLastRollupNumber>,
}

/// The rollup number a downstream last sent for a computer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ComputerLastRollupNumber {
    pub computer_id: String,
    pub rollup_number: i32,
}

/// RollupComputerStatus.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RollupComputerStatusRequest {
    pub cookie: Option<Cookie>,
    pub client_time: String,
    pub parent_server_id: Uuid,
    pub computers: Vec<ComputerStatusRollupInfo>,
}

/// Update status of one computer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ComputerStatusRollupInfo {
    pub instance_id: Uuid,
    pub computer_id: String,
    pub effective_last_detection_time: String,
    pub rollup_number: i32,
    pub is_full_rollup: bool,
    pub update_status: Option<Vec<ComputerStatusRollupUpdateStatus>>,
}

/// Status of one update on one computer (`SummarizationState` as WSUS numbers it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ComputerStatusRollupUpdateStatus {
    pub update_id: Uuid,
    pub summarization_state: i32,
    pub last_change_time: String,
}

/// A request: one variant per [`Operation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// GetAuthConfig has no parameters.
    GetAuthConfig,
    GetAuthorizationCookie(GetAuthorizationCookieRequest),
    GetCookie(GetCookieRequest),
    GetConfigData(GetConfigDataRequest),
    GetRevisionIdList(GetRevisionIdListRequest),
    GetUpdateData(GetUpdateDataRequest),
    GetUpdateDecryptionData(GetUpdateDataRequest),
    DownloadFiles(DownloadFilesRequest),
    GetDeployments(GetDeploymentsRequest),
    GetRelatedRevisionsForUpdates(GetRelatedRevisionsForUpdatesRequest),
    GetRollupConfiguration(GetRollupConfigurationRequest),
    RollupDownstreamServers(RollupDownstreamServersRequest),
    RollupComputers(RollupComputersRequest),
    GetOutOfSyncComputers(GetOutOfSyncComputersRequest),
    RollupComputerStatus(RollupComputerStatusRequest),
}

impl Request {
    /// The operation the request invokes.
    pub fn operation(&self) -> Operation {
        match self {
            Request::GetAuthConfig => Operation::GetAuthConfig,
            Request::GetAuthorizationCookie(_) => Operation::GetAuthorizationCookie,
            Request::GetCookie(_) => Operation::GetCookie,
            Request::GetConfigData(_) => Operation::GetConfigData,
            Request::GetRevisionIdList(_) => Operation::GetRevisionIdList,
            Request::GetUpdateData(_) => Operation::GetUpdateData,
            Request::GetUpdateDecryptionData(_) => Operation::GetUpdateDecryptionData,
            Request::DownloadFiles(_) => Operation::DownloadFiles,
            Request::GetDeployments(_) => Operation::GetDeployments,
            Request::GetRelatedRevisionsForUpdates(_) => Operation::GetRelatedRevisionsForUpdates,
            Request::GetRollupConfiguration(_) => Operation::GetRollupConfiguration,
            Request::RollupDownstreamServers(_) => Operation::RollupDownstreamServers,
            Request::RollupComputers(_) => Operation::RollupComputers,
            Request::GetOutOfSyncComputers(_) => Operation::GetOutOfSyncComputers,
            Request::RollupComputerStatus(_) => Operation::RollupComputerStatus,
        }
    }

    /// The session cookie the request carries (`oldCookie` for GetCookie), if any.
    pub fn cookie(&self) -> Option<&Cookie> {
        match self {
            Request::GetAuthConfig | Request::GetAuthorizationCookie(_) => None,
            Request::GetCookie(r) => r.old_cookie.as_ref(),
            Request::GetConfigData(r) => r.cookie.as_ref(),
            Request::GetRevisionIdList(r) => r.cookie.as_ref(),
            Request::GetUpdateData(r) | Request::GetUpdateDecryptionData(r) => r.cookie.as_ref(),
            Request::DownloadFiles(r) => r.cookie.as_ref(),
            Request::GetDeployments(r) => r.cookie.as_ref(),
            Request::GetRelatedRevisionsForUpdates(r) => r.cookie.as_ref(),
            Request::GetRollupConfiguration(r) => r.cookie.as_ref(),
            Request::RollupDownstreamServers(r) => r.cookie.as_ref(),
            Request::RollupComputers(r) => r.cookie.as_ref(),
            Request::GetOutOfSyncComputers(r) => r.cookie.as_ref(),
            Request::RollupComputerStatus(r) => r.cookie.as_ref(),
        }
    }
}
