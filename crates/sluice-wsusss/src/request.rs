//! Requests: the types, [`encode_request`] (downstream) and [`decode_request`] (upstream).
//!
//! Field names are the WSDL element names in snake case; a field is documented only where the
//! protocol does not make its meaning obvious. Every request that carries a `cookie` has it as
//! `Option`: the upstream, not the codec, answers a missing one with `InvalidCookie`.
//! Date-times are `xs:dateTime` strings kept verbatim; an empty one is written as
//! `0001-01-01T00:00:00`, .NET's unset value (both here and in responses).

use sluice_xml::Element;
use uuid::Uuid;

use crate::error::DecodeError;
use crate::types::{AuthorizationCookie, Cookie, UpdateIdentity};
use crate::wire::{ENVELOPE_BYTES, Path, Reader, Writer, body_element, parse_envelope};
use crate::{MAX_REQUEST_BYTES, Operation};

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Encoding (downstream side)
// ---------------------------------------------------------------------------------------------

fn cookie_bytes(c: Option<&Cookie>) -> usize {
    c.map_or(0, |c| 100 + c.expiration.len() + c.encrypted_data.len() * 4 / 3)
}

/// Encodes a request. POST it to the operation's [`crate::Service::path`] with
/// [`crate::CONTENT_TYPE`] and `SOAPAction: `[`Operation::quoted_soap_action`].
///
/// Children are written in WSDL sequence order; required scalars are always written; optional
/// ones only when `Some`; arrays the schema requires to be present are written even when empty
/// (`<updateIds />`).
pub fn encode_request(request: &Request) -> Vec<u8> {
    let op = request.operation();
    let ns = op.service().namespace();
    let cap = ENVELOPE_BYTES + 200 + cookie_bytes(request.cookie()) + variable_size(request);
    let mut w = Writer::envelope(cap);
    if let Request::GetAuthConfig = request {
        w.empty_ns(op.name(), ns);
        return w.finish();
    }
    w.open_ns(op.name(), ns);
    let cookie = |w: &mut Writer, c: &Option<Cookie>| {
        if let Some(c) = c {
            w.cookie("cookie", c);
        }
    };
    match request {
        Request::GetAuthConfig => {}
        Request::GetAuthorizationCookie(r) => {
            w.text("accountName", &r.account_name);
            w.text("accountGuid", &r.account_guid);
            if !r.program_keys.is_empty() {
                w.guid_array("programKeys", &r.program_keys);
            }
        }
        Request::GetCookie(r) => {
            w.array("authCookies", &r.auth_cookies, |w, c| w.auth_cookie("AuthorizationCookie", c));
            if let Some(c) = &r.old_cookie {
                w.cookie("oldCookie", c);
            }
            w.text("protocolVersion", &r.protocol_version);
        }
        Request::GetConfigData(r) => {
            cookie(&mut w, &r.cookie);
            w.opt_text("configAnchor", r.config_anchor.as_deref());
        }
        Request::GetRevisionIdList(r) => {
            cookie(&mut w, &r.cookie);
            if let Some(f) = &r.filter {
                w.open("filter");
                w.opt_text("Anchor", f.anchor.as_deref());
                w.bool("GetConfig", f.get_config);
                w.bool("Get63LanguageOnly", f.get_63_language_only);
                let id_and_delta = |w: &mut Writer, x: &IdAndDelta| {
                    w.open("IdAndDelta");
                    w.guid("Id", &x.id);
                    w.bool("Delta", x.delta);
                    w.close("IdAndDelta");
                };
                w.opt_array("Categories", f.categories.as_deref(), id_and_delta);
                w.opt_array("Classifications", f.classifications.as_deref(), id_and_delta);
                w.opt_array("Languages", f.languages.as_deref(), |w, x| {
                    w.open("LanguageAndDelta");
                    w.int("Id", x.id);
                    w.bool("Delta", x.delta);
                    w.close("LanguageAndDelta");
                });
                w.close("filter");
            }
        }
        Request::GetUpdateData(r) | Request::GetUpdateDecryptionData(r) => {
            cookie(&mut w, &r.cookie);
            w.identities("updateIds", &r.update_ids);
        }
        Request::DownloadFiles(r) => {
            cookie(&mut w, &r.cookie);
            w.base64_array("fileDigestList", &r.file_digests);
        }
        Request::GetDeployments(r) => {
            cookie(&mut w, &r.cookie);
            w.opt_text("deploymentAnchor", r.deployment_anchor.as_deref());
            w.opt_text("syncAnchor", r.sync_anchor.as_deref());
        }
        Request::GetRelatedRevisionsForUpdates(r) => {
            cookie(&mut w, &r.cookie);
            w.guid_array("updateIDs", &r.update_ids);
        }
        Request::GetRollupConfiguration(r) => cookie(&mut w, &r.cookie),
        Request::RollupDownstreamServers(r) => {
            cookie(&mut w, &r.cookie);
            w.datetime("clientTime", &r.client_time);
            w.array("downstreamServers", &r.downstream_servers, write_downstream_server);
        }
        Request::RollupComputers(r) => {
            cookie(&mut w, &r.cookie);
            w.datetime("clientTime", &r.client_time);
            w.array("computers", &r.computers, write_computer);
        }
        Request::GetOutOfSyncComputers(r) => {
            cookie(&mut w, &r.cookie);
            w.guid("parentServerId", &r.parent_server_id);
            w.array("lastRollupNumbers", &r.last_rollup_numbers, |w, n| {
                w.open("ComputerLastRollupNumber");
                w.text("ComputerId", &n.computer_id);
                w.int("RollupNumber", n.rollup_number);
                w.close("ComputerLastRollupNumber");
            });
        }
        Request::RollupComputerStatus(r) => {
            cookie(&mut w, &r.cookie);
            w.datetime("clientTime", &r.client_time);
            w.guid("parentServerId", &r.parent_server_id);
            w.array("computers", &r.computers, |w, c| {
                w.open("ComputerStatusRollupInfo");
                w.guid("InstanceId", &c.instance_id);
                w.text("ComputerId", &c.computer_id);
                w.datetime("EffectiveLastDetectionTime", &c.effective_last_detection_time);
                w.int("RollupNumber", c.rollup_number);
                w.bool("IsFullRollup", c.is_full_rollup);
                w.opt_array("UpdateStatus", c.update_status.as_deref(), |w, s| {
                    w.open("ComputerStatusRollupUpdateStatus");
                    w.guid("UpdateId", &s.update_id);
                    w.int("SummarizationState", s.summarization_state);
                    w.datetime("LastChangeTime", &s.last_change_time);
                    w.close("ComputerStatusRollupUpdateStatus");
                });
                w.close("ComputerStatusRollupInfo");
            });
        }
    }
    w.close(op.name());
    w.finish()
}

/// A rough upper bound of the variable part of a request, so the buffer rarely grows.
fn variable_size(request: &Request) -> usize {
    match request {
        Request::GetCookie(r) => r.auth_cookies.iter().map(|c| 120 + c.cookie_data.len() * 4 / 3).sum(),
        Request::GetRevisionIdList(r) => r.filter.as_ref().map_or(0, |f| {
            f.categories.as_ref().map_or(0, Vec::len) * 110 + f.classifications.as_ref().map_or(0, Vec::len) * 110
        }),
        Request::GetUpdateData(r) | Request::GetUpdateDecryptionData(r) => r.update_ids.len() * 130,
        Request::DownloadFiles(r) => r.file_digests.iter().map(|d| 40 + d.len() * 4 / 3).sum(),
        Request::RollupDownstreamServers(r) => r.downstream_servers.len() * 2500,
        Request::RollupComputers(r) => r.computers.len() * 1200,
        Request::GetOutOfSyncComputers(r) => r.last_rollup_numbers.len() * 140,
        Request::RollupComputerStatus(r) => {
            r.computers.iter().map(|c| 300 + c.update_status.as_ref().map_or(0, |s| s.len() * 220)).sum()
        }
        _ => 0,
    }
}

fn write_downstream_server(w: &mut Writer, s: &DownstreamServerRollupInfo) {
    w.open("DownstreamServerRollupInfo");
    w.guid("ServerId", &s.server_id);
    w.opt_text("FullDomainName", s.full_domain_name.as_deref());
    w.datetime("LastSyncTime", &s.last_sync_time);
    w.guid("ParentServerId", &s.parent_server_id);
    w.opt_text("Version", s.version.as_deref());
    w.bool("IsReplica", s.is_replica);
    w.datetime("LastRollupTime", &s.last_rollup_time);
    if let Some(summary) = &s.server_summary {
        w.open("ServerSummary");
        for (name, value) in DownstreamServerRollupServerSummary::NAMES.iter().zip(summary.values()) {
            w.int(name, value);
        }
        w.close("ServerSummary");
    }
    w.opt_array("ClientSummaries", s.client_summaries.as_deref(), |w, c| {
        w.open("DownstreamServerRollupClientSummary");
        w.int("OSMajorVersion", c.os_major_version);
        w.int("OSMinorVersion", c.os_minor_version);
        w.int("OSBuildNumber", c.os_build_number);
        w.int("OSServicePackMajorNumber", c.os_service_pack_major_number);
        w.int("OSServicePackMinorNumber", c.os_service_pack_minor_number);
        w.opt_text("OSLocale", c.os_locale.as_deref());
        w.int("SuiteMask", c.suite_mask);
        w.int("OldProductType", c.old_product_type);
        w.int("NewProductType", c.new_product_type);
        w.int("SystemMetrics", c.system_metrics);
        w.opt_text("ProcessorArchitecture", c.processor_architecture.as_deref());
        w.int("Count", c.count);
        w.opt_array("ActivitySummaries", c.activity_summaries.as_deref(), |w, a| {
            w.open("DownstreamServerRollupClientActivitySummary");
            w.guid("UpdateId", &a.update_id);
            w.int("RevisionNumber", a.revision_number);
            w.int("InstallSuccessCount", a.install_success_count);
            w.int("InstallFailureCount", a.install_failure_count);
            w.close("DownstreamServerRollupClientActivitySummary");
        });
        w.close("DownstreamServerRollupClientSummary");
    });
    w.close("DownstreamServerRollupInfo");
}

fn write_computer(w: &mut Writer, c: &ComputerRollupInfo) {
    // Attributes in declaration order, as XmlSerializer writes them.
    w.raw("<ComputerRollupInfo");
    w.opt_attr("ComputerId", c.computer_id.as_deref());
    w.attr_datetime("LastSyncTime", &c.last_sync_time);
    w.attr_display("LastSyncResult", c.last_sync_result);
    w.attr_datetime("LastReportedRebootTime", &c.last_reported_reboot_time);
    w.attr_datetime("LastReportedStatusTime", &c.last_reported_status_time);
    w.attr_datetime("LastInventoryTime", &c.last_inventory_time);
    w.attr_display("ParentServerId", c.parent_server_id.hyphenated());
    let Some(d) = &c.details else {
        w.raw(" />");
        return;
    };
    w.raw("><Details");
    w.opt_attr("IPAddress", d.ip_address.as_deref());
    w.opt_attr("FullDomainName", d.full_domain_name.as_deref());
    w.attr_display("OSMajorVersion", d.os_major_version);
    w.attr_display("OSMinorVersion", d.os_minor_version);
    w.attr_display("OSBuildNumber", d.os_build_number);
    w.attr_display("OSServicePackMajorNumber", d.os_service_pack_major_number);
    w.attr_display("OSServicePackMinorNumber", d.os_service_pack_minor_number);
    w.opt_attr("OSLocale", d.os_locale.as_deref());
    w.opt_attr("OSFamily", d.os_family.as_deref());
    w.opt_attr("OSDescription", d.os_description.as_deref());
    w.opt_attr("ComputerMake", d.computer_make.as_deref());
    w.opt_attr("ComputerModel", d.computer_model.as_deref());
    w.opt_attr("BiosVersion", d.bios_version.as_deref());
    w.opt_attr("BiosName", d.bios_name.as_deref());
    w.attr_datetime("BiosReleaseDate", &d.bios_release_date);
    w.opt_attr("ProcessorArchitecture", d.processor_architecture.as_deref());
    w.attr_display("SuiteMask", d.suite_mask);
    w.attr_display("OldProductType", d.old_product_type);
    w.attr_display("NewProductType", d.new_product_type);
    w.attr_display("SystemMetrics", d.system_metrics);
    w.opt_attr("ClientVersion", d.client_version.as_deref());
    if d.target_group_id_list.is_none() && d.requested_target_group_names.is_none() {
        w.raw(" />");
    } else {
        w.raw(">");
        if let Some(ids) = &d.target_group_id_list {
            w.guid_array("TargetGroupIdList", ids);
        }
        w.opt_array("RequestedTargetGroupNames", d.requested_target_group_names.as_deref(), |w, s| w.text("string", s));
        w.close("Details");
    }
    w.close("ComputerRollupInfo");
}

// ---------------------------------------------------------------------------------------------
// Decoding (upstream side)
// ---------------------------------------------------------------------------------------------

/// Decodes a request body.
///
/// The caller should already have bounded the body (a few MiB is plenty); bodies above
/// [`MAX_REQUEST_BYTES`] are refused here regardless. UTF-8 (with or without BOM) and
/// BOM-marked UTF-16 are accepted. The body element decides the operation; compare it with the
/// `SOAPAction` header using [`Operation::accepts_soap_action`] if you want to.
pub fn decode_request(body: &[u8]) -> Result<Request, DecodeError> {
    let root = parse_envelope(body, MAX_REQUEST_BYTES, "SOAP request")?;
    let el = body_element(&root)?;
    let op = Operation::from_element(&el.ns, &el.local)
        .ok_or_else(|| DecodeError::UnknownOperation { ns: el.ns.clone(), name: el.local.clone() })?;
    let r = Reader::new(op.service().namespace());
    let p = Path::ROOT;
    Ok(match op {
        Operation::GetAuthConfig => Request::GetAuthConfig,
        Operation::GetAuthorizationCookie => Request::GetAuthorizationCookie(GetAuthorizationCookieRequest {
            account_name: r.string_or_empty(el, "accountName"),
            account_guid: r.string_or_empty(el, "accountGuid"),
            program_keys: r.guid_array(el, "programKeys", p)?,
        }),
        Operation::GetCookie => {
            let item_path = p.child("authCookies");
            let item_path = item_path.child("AuthorizationCookie");
            Request::GetCookie(GetCookieRequest {
                auth_cookies: r
                    .items(el, "authCookies", "AuthorizationCookie")
                    .map(|c| r.auth_cookie(c, item_path))
                    .collect::<Result<_, _>>()?,
                old_cookie: r.cookie(el, "oldCookie", p)?,
                protocol_version: r.string_or_empty(el, "protocolVersion"),
            })
        }
        Operation::GetConfigData => Request::GetConfigData(GetConfigDataRequest {
            cookie: r.cookie(el, "cookie", p)?,
            config_anchor: r.string(el, "configAnchor"),
        }),
        Operation::GetRevisionIdList => Request::GetRevisionIdList(GetRevisionIdListRequest {
            cookie: r.cookie(el, "cookie", p)?,
            filter: match r.field(el, "filter") {
                Some(f) => Some(filter(&r, f, p.child("filter"))?),
                None => None,
            },
        }),
        Operation::GetUpdateData | Operation::GetUpdateDecryptionData => {
            let req = GetUpdateDataRequest {
                cookie: r.cookie(el, "cookie", p)?,
                update_ids: r.identities(el, "updateIds", p)?,
            };
            if op == Operation::GetUpdateData {
                Request::GetUpdateData(req)
            } else {
                Request::GetUpdateDecryptionData(req)
            }
        }
        Operation::DownloadFiles => Request::DownloadFiles(DownloadFilesRequest {
            cookie: r.cookie(el, "cookie", p)?,
            file_digests: r.base64_array(el, "fileDigestList", p)?,
        }),
        Operation::GetDeployments => Request::GetDeployments(GetDeploymentsRequest {
            cookie: r.cookie(el, "cookie", p)?,
            deployment_anchor: r.string(el, "deploymentAnchor"),
            sync_anchor: r.string(el, "syncAnchor"),
        }),
        Operation::GetRelatedRevisionsForUpdates => {
            Request::GetRelatedRevisionsForUpdates(GetRelatedRevisionsForUpdatesRequest {
                cookie: r.cookie(el, "cookie", p)?,
                update_ids: r.guid_array(el, "updateIDs", p)?,
            })
        }
        Operation::GetRollupConfiguration => {
            Request::GetRollupConfiguration(GetRollupConfigurationRequest { cookie: r.cookie(el, "cookie", p)? })
        }
        Operation::RollupDownstreamServers => {
            let ap = p.child("downstreamServers");
            let ip = ap.child("DownstreamServerRollupInfo");
            Request::RollupDownstreamServers(RollupDownstreamServersRequest {
                cookie: r.cookie(el, "cookie", p)?,
                client_time: r.trimmed(el, "clientTime").unwrap_or_default(),
                downstream_servers: r
                    .items(el, "downstreamServers", "DownstreamServerRollupInfo")
                    .map(|s| downstream_server(&r, s, ip))
                    .collect::<Result<_, _>>()?,
            })
        }
        Operation::RollupComputers => {
            let ap = p.child("computers");
            let ip = ap.child("ComputerRollupInfo");
            Request::RollupComputers(RollupComputersRequest {
                cookie: r.cookie(el, "cookie", p)?,
                client_time: r.trimmed(el, "clientTime").unwrap_or_default(),
                computers: r
                    .items(el, "computers", "ComputerRollupInfo")
                    .map(|c| computer(&r, c, ip))
                    .collect::<Result<_, _>>()?,
            })
        }
        Operation::GetOutOfSyncComputers => {
            let ap = p.child("lastRollupNumbers");
            let ip = ap.child("ComputerLastRollupNumber");
            Request::GetOutOfSyncComputers(GetOutOfSyncComputersRequest {
                cookie: r.cookie(el, "cookie", p)?,
                parent_server_id: r.guid0(el, "parentServerId", p)?,
                last_rollup_numbers: r
                    .items(el, "lastRollupNumbers", "ComputerLastRollupNumber")
                    .map(|n| {
                        Ok(ComputerLastRollupNumber {
                            computer_id: r.string_or_empty(n, "ComputerId"),
                            rollup_number: r.int0(n, "RollupNumber", ip)?,
                        })
                    })
                    .collect::<Result<_, DecodeError>>()?,
            })
        }
        Operation::RollupComputerStatus => {
            let ap = p.child("computers");
            let ip = ap.child("ComputerStatusRollupInfo");
            let sp = ip.child("UpdateStatus");
            Request::RollupComputerStatus(RollupComputerStatusRequest {
                cookie: r.cookie(el, "cookie", p)?,
                client_time: r.trimmed(el, "clientTime").unwrap_or_default(),
                parent_server_id: r.guid0(el, "parentServerId", p)?,
                computers: r
                    .items(el, "computers", "ComputerStatusRollupInfo")
                    .map(|c| {
                        Ok(ComputerStatusRollupInfo {
                            instance_id: r.guid0(c, "InstanceId", ip)?,
                            computer_id: r.string_or_empty(c, "ComputerId"),
                            effective_last_detection_time: r
                                .trimmed(c, "EffectiveLastDetectionTime")
                                .unwrap_or_default(),
                            rollup_number: r.int0(c, "RollupNumber", ip)?,
                            is_full_rollup: r.bool0(c, "IsFullRollup", ip)?,
                            update_status: match r.field(c, "UpdateStatus") {
                                Some(a) => Some(
                                    r.children(a, "ComputerStatusRollupUpdateStatus")
                                        .map(|s| {
                                            Ok(ComputerStatusRollupUpdateStatus {
                                                update_id: r.guid0(s, "UpdateId", sp)?,
                                                summarization_state: r.int0(s, "SummarizationState", sp)?,
                                                last_change_time: r.trimmed(s, "LastChangeTime").unwrap_or_default(),
                                            })
                                        })
                                        .collect::<Result<_, DecodeError>>()?,
                                ),
                                None => None,
                            },
                        })
                    })
                    .collect::<Result<_, DecodeError>>()?,
            })
        }
    })
}

fn filter(r: &Reader, f: &Element, p: Path<'_>) -> Result<ServerSyncFilter, DecodeError> {
    let id_and_delta = |local: &str| -> Result<Option<Vec<IdAndDelta>>, DecodeError> {
        let Some(a) = r.field(f, local) else {
            return Ok(None);
        };
        let ap = p.child(local);
        let ip = ap.child("IdAndDelta");
        r.children(a, "IdAndDelta")
            .map(|x| Ok(IdAndDelta { id: r.guid0(x, "Id", ip)?, delta: r.bool0(x, "Delta", ip)? }))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    };
    Ok(ServerSyncFilter {
        anchor: r.string(f, "Anchor"),
        get_config: r.bool0(f, "GetConfig", p)?,
        get_63_language_only: r.bool0(f, "Get63LanguageOnly", p)?,
        categories: id_and_delta("Categories")?,
        classifications: id_and_delta("Classifications")?,
        languages: match r.field(f, "Languages") {
            Some(a) => {
                let ap = p.child("Languages");
                let ip = ap.child("LanguageAndDelta");
                Some(
                    r.children(a, "LanguageAndDelta")
                        .map(|x| Ok(LanguageAndDelta { id: r.int0(x, "Id", ip)?, delta: r.bool0(x, "Delta", ip)? }))
                        .collect::<Result<Vec<_>, DecodeError>>()?,
                )
            }
            None => None,
        },
    })
}

fn downstream_server(r: &Reader, s: &Element, p: Path<'_>) -> Result<DownstreamServerRollupInfo, DecodeError> {
    let server_summary = match r.field(s, "ServerSummary") {
        Some(sum) => {
            let sp = p.child("ServerSummary");
            let mut values = [0i32; 18];
            for (v, name) in values.iter_mut().zip(DownstreamServerRollupServerSummary::NAMES) {
                *v = r.int0(sum, name, sp)?;
            }
            Some(DownstreamServerRollupServerSummary::from_values(values))
        }
        None => None,
    };
    let client_summaries = match r.field(s, "ClientSummaries") {
        Some(a) => {
            let cp = p.child("ClientSummaries");
            let cp = cp.child("DownstreamServerRollupClientSummary");
            Some(
                r.children(a, "DownstreamServerRollupClientSummary")
                    .map(|c| client_summary(r, c, cp))
                    .collect::<Result<_, _>>()?,
            )
        }
        None => None,
    };
    Ok(DownstreamServerRollupInfo {
        server_id: r.guid0(s, "ServerId", p)?,
        full_domain_name: r.string(s, "FullDomainName"),
        last_sync_time: r.trimmed(s, "LastSyncTime").unwrap_or_default(),
        parent_server_id: r.guid0(s, "ParentServerId", p)?,
        version: r.string(s, "Version"),
        is_replica: r.bool0(s, "IsReplica", p)?,
        last_rollup_time: r.trimmed(s, "LastRollupTime").unwrap_or_default(),
        server_summary,
        client_summaries,
    })
}

fn client_summary(r: &Reader, c: &Element, p: Path<'_>) -> Result<DownstreamServerRollupClientSummary, DecodeError> {
    let activity_summaries = match r.field(c, "ActivitySummaries") {
        Some(a) => {
            let ap = p.child("ActivitySummaries");
            let ap = ap.child("DownstreamServerRollupClientActivitySummary");
            Some(
                r.children(a, "DownstreamServerRollupClientActivitySummary")
                    .map(|x| {
                        Ok(DownstreamServerRollupClientActivitySummary {
                            update_id: r.guid0(x, "UpdateId", ap)?,
                            revision_number: r.int0(x, "RevisionNumber", ap)?,
                            install_success_count: r.int0(x, "InstallSuccessCount", ap)?,
                            install_failure_count: r.int0(x, "InstallFailureCount", ap)?,
                        })
                    })
                    .collect::<Result<_, DecodeError>>()?,
            )
        }
        None => None,
    };
    Ok(DownstreamServerRollupClientSummary {
        os_major_version: r.int0(c, "OSMajorVersion", p)?,
        os_minor_version: r.int0(c, "OSMinorVersion", p)?,
        os_build_number: r.int0(c, "OSBuildNumber", p)?,
        os_service_pack_major_number: r.int0(c, "OSServicePackMajorNumber", p)?,
        os_service_pack_minor_number: r.int0(c, "OSServicePackMinorNumber", p)?,
        os_locale: r.string(c, "OSLocale"),
        suite_mask: r.num(c, "SuiteMask", p, "a short")?.unwrap_or_default(),
        old_product_type: r.num(c, "OldProductType", p, "an unsignedByte")?.unwrap_or_default(),
        new_product_type: r.int0(c, "NewProductType", p)?,
        system_metrics: r.int0(c, "SystemMetrics", p)?,
        processor_architecture: r.string(c, "ProcessorArchitecture"),
        count: r.int0(c, "Count", p)?,
        activity_summaries,
    })
}

fn computer(r: &Reader, c: &Element, p: Path<'_>) -> Result<ComputerRollupInfo, DecodeError> {
    let attr = |el: &Element, name: &str| r.attr(el, name).map(str::to_string);
    let attr_time = |el: &Element, name: &str| r.attr(el, name).map(|v| v.trim().to_string()).unwrap_or_default();
    let details = match r.field(c, "Details") {
        Some(d) => {
            let dp = p.child("Details");
            Some(ComputerRollupDetails {
                ip_address: attr(d, "IPAddress"),
                full_domain_name: attr(d, "FullDomainName"),
                os_major_version: r.attr_num(d, "OSMajorVersion", dp, "an int")?.unwrap_or_default(),
                os_minor_version: r.attr_num(d, "OSMinorVersion", dp, "an int")?.unwrap_or_default(),
                os_build_number: r.attr_num(d, "OSBuildNumber", dp, "an int")?.unwrap_or_default(),
                os_service_pack_major_number: r
                    .attr_num(d, "OSServicePackMajorNumber", dp, "an int")?
                    .unwrap_or_default(),
                os_service_pack_minor_number: r
                    .attr_num(d, "OSServicePackMinorNumber", dp, "an int")?
                    .unwrap_or_default(),
                os_locale: attr(d, "OSLocale"),
                os_family: attr(d, "OSFamily"),
                os_description: attr(d, "OSDescription"),
                computer_make: attr(d, "ComputerMake"),
                computer_model: attr(d, "ComputerModel"),
                bios_version: attr(d, "BiosVersion"),
                bios_name: attr(d, "BiosName"),
                bios_release_date: attr_time(d, "BiosReleaseDate"),
                processor_architecture: attr(d, "ProcessorArchitecture"),
                suite_mask: r.attr_num(d, "SuiteMask", dp, "a short")?.unwrap_or_default(),
                old_product_type: r.attr_num(d, "OldProductType", dp, "an unsignedByte")?.unwrap_or_default(),
                new_product_type: r.attr_num(d, "NewProductType", dp, "an int")?.unwrap_or_default(),
                system_metrics: r.attr_num(d, "SystemMetrics", dp, "an int")?.unwrap_or_default(),
                client_version: attr(d, "ClientVersion"),
                target_group_id_list: match r.field(d, "TargetGroupIdList") {
                    Some(_) => Some(r.guid_array(d, "TargetGroupIdList", dp)?),
                    None => None,
                },
                requested_target_group_names: r.field(d, "RequestedTargetGroupNames").map(|a| r.string_items(a, "string")),
            })
        }
        None => None,
    };
    Ok(ComputerRollupInfo {
        computer_id: attr(c, "ComputerId"),
        last_sync_time: attr_time(c, "LastSyncTime"),
        last_sync_result: r.attr_num(c, "LastSyncResult", p, "an int")?.unwrap_or_default(),
        last_reported_reboot_time: attr_time(c, "LastReportedRebootTime"),
        last_reported_status_time: attr_time(c, "LastReportedStatusTime"),
        last_inventory_time: attr_time(c, "LastInventoryTime"),
        parent_server_id: r.attr_guid(c, "ParentServerId", p)?.unwrap_or_default(),
        details,
    })
}
