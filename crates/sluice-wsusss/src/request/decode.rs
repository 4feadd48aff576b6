//! Decoding of requests (the upstream side), tolerant of what real downstreams omit.

use sluice_xml::Element;

use super::*;
use crate::MAX_REQUEST_BYTES;
use crate::error::DecodeError;
use crate::wire::{Path, Reader, body_element, parse_envelope};

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
