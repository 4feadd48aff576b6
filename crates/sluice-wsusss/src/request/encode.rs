//! Encoding of requests (the downstream side): children in WSDL sequence order, the body sized
//! up front.

use super::*;
use crate::wire::{ENVELOPE_BYTES, Writer};

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
