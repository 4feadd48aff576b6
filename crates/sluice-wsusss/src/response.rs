//! Responses: the types, [`encode_response`] (upstream) and [`decode_response`] with its typed
//! helpers (downstream).
//!
//! Encoders write what a real WSUS upstream writes for the same values, byte for byte: arrays it
//! always writes appear even when empty (`<NewRevisions />`, `<fileUrls />`,
//! `<LanguageUpdateList />`); those it omits when there is nothing are `Option` here or
//! documented as omitted when empty (`FileDigestList`).

use base64::Engine as _;
use sluice_xml::Element;
use uuid::Uuid;

use crate::blob::UpdateBlob;
use crate::error::{DecodeError, ResponseError};
use crate::fault::decode_fault;
use crate::types::{AuthorizationCookie, Cookie, UpdateIdentity};
use crate::wire::{ENVELOPE_BYTES, Path, Reader, Writer, body_element, invalid, parse_envelope, text};
use crate::{MAX_RESPONSE_BYTES, Operation, ns};

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// GetAuthConfig result (`ServerAuthConfig`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerAuthConfig {
    /// `xs:dateTime`, verbatim.
    pub last_change: String,
    /// Real WSUS: exactly one, [`AuthPlugInInfo::dss_targeting`].
    pub auth_info: Vec<AuthPlugInInfo>,
    /// Omitted when `None` (real WSUS omits it).
    pub allowed_event_ids: Option<Vec<i32>>,
}

/// An authorization plug-in: where the downstream gets its authorization cookie.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthPlugInInfo {
    pub plugin_id: String,
    /// Relative to the upstream's root URL (the downstream joins them with `/`).
    pub service_url: String,
    /// `None` omits the element; `Some("")` writes `<Parameter />` as real WSUS does.
    pub parameter: Option<String>,
}

impl AuthPlugInInfo {
    /// The one plug-in a WSUS upstream advertises.
    pub fn dss_targeting() -> AuthPlugInInfo {
        AuthPlugInInfo {
            plugin_id: "DssTargeting".to_string(),
            service_url: "DssAuthWebService/DssAuthWebService.asmx".to_string(),
            parameter: Some(String::new()),
        }
    }
}

/// GetConfigData result (`ServerSyncConfigData`), fields in wire order (which differs from the
/// order the spec prose lists them in; the WSDL's is the one on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerSyncConfigData {
    /// The upstream serves metadata only; content comes from `MUUrl` (Microsoft Update: true).
    pub catalog_only_sync: bool,
    /// The upstream fetches content only when needed (WSUS "download files only when approved").
    pub lazy_sync: bool,
    /// The upstream hosts express (PSF) files.
    pub server_hosts_psf_files: bool,
    pub max_number_of_computer_ids_in_request: i32,
    pub max_number_of_driver_sets_per_request: i32,
    pub max_number_of_pnp_hardware_ids_in_request: i32,
    /// The GetUpdateData batch limit (100 on WSUS and Microsoft Update).
    pub max_number_of_updates_per_request: i32,
    pub new_config_anchor: Option<String>,
    /// `1.20` from WSUS 10, `1.21` from Microsoft Update.
    pub protocol_version: Option<String>,
    /// Empty (and still written) when the request's anchor was current.
    pub language_update_list: Vec<ServerSyncLanguageData>,
    pub max_updates_per_request_in_get_update_decryption_data: i32,
}

/// A language the upstream knows; `language_id` 0 / `all` stands for every language.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerSyncLanguageData {
    /// LCID (1033 = `en`).
    pub language_id: i32,
    pub short_language: String,
    pub long_language: String,
    pub enabled: bool,
}

/// GetRevisionIdList result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RevisionIdList {
    /// The anchor to send next time, once everything listed has been fetched and stored.
    pub anchor: Option<String>,
    /// New or changed revisions. Real WSUS may list an id more than once (revisions 1 and 100 of
    /// a classification); keep the highest.
    pub new_revisions: Vec<UpdateIdentity>,
}

/// GetUpdateData result (`ServerUpdateData`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerUpdateData {
    pub updates: Vec<ServerSyncUpdateData>,
    /// One entry per file referenced by the batch, deduplicated by digest.
    pub file_urls: Vec<ServerSyncUrlData>,
}

/// One update of a GetUpdateData result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSyncUpdateData {
    pub id: UpdateIdentity,
    /// `XmlUpdateBlob` or `XmlUpdateBlobCompressed`.
    pub blob: UpdateBlob,
    /// SHA-1 digests of the update's files; `FileDigestList` is omitted when empty, as real
    /// WSUS omits it for updates without files.
    pub file_digests: Vec<Vec<u8>>,
}

/// Where a file can be downloaded (`ServerSyncUrlData`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerSyncUrlData {
    /// SHA-1 of the file.
    pub file_digest: Vec<u8>,
    /// The Microsoft download URL (empty is written `<MUUrl />`).
    pub mu_url: String,
    /// The upstream's own URL for the file; a real WSUS leaves it empty (`<UssUrl />`), and the
    /// downstream derives `/Content/<XX>/<SHA1>.<ext>` itself.
    pub uss_url: String,
    /// Omitted when `None`; only for encrypted files.
    pub decryption_key: Option<Vec<u8>>,
}

/// GetUpdateDecryptionData result (`ServerDecryptionData`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerDecryptionData {
    pub update_file_decryption_data: Vec<ServerSyncUpdateFileDecryption>,
}

/// Decryption keys of the files of one update.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerSyncUpdateFileDecryption {
    pub update_id: UpdateIdentity,
    pub file_decryption_data: Vec<ServerSyncFileDecryption>,
}

/// The key of one file; `None` when the file is not encrypted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerSyncFileDecryption {
    pub file_digest: Vec<u8>,
    pub decryption_key: Option<Vec<u8>>,
}

/// GetDeployments result (`ServerSyncDeploymentResult`). Every array is written, empty or not.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerSyncDeploymentResult {
    pub anchor: Option<String>,
    /// The complete computer-group tree.
    pub groups: Vec<ServerSyncTargetGroup>,
    /// Approvals new or changed since the deployment anchor.
    pub deployments: Vec<ServerSyncDeployment>,
    /// `DeploymentGuid`s deleted since the anchor.
    pub dead_deployments: Vec<Uuid>,
    /// Updates declined upstream.
    pub hidden_updates: Vec<Uuid>,
    /// Updates whose EULA was accepted upstream.
    pub accepted_eulas: Vec<Uuid>,
}

/// A computer group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerSyncTargetGroup {
    pub target_group_id: Uuid,
    /// Nil for the root (All Computers).
    pub parent_group_id: Uuid,
    pub name: String,
    pub is_builtin: bool,
}

/// An approval.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerSyncDeployment {
    pub update_id: Uuid,
    pub revision_number: i32,
    /// WSUS `UpdateApprovalAction` numbering (0 Install in the spec example; the rest of the
    /// mapping has not been observed on the wire).
    pub action: i32,
    pub admin_name: String,
    /// `9999-12-31T23:59:59.9999999` for no deadline.
    pub deadline: String,
    pub is_assigned: bool,
    pub go_live_time: String,
    pub deployment_guid: Uuid,
    pub target_group_id: Uuid,
    pub download_priority: u8,
}

/// GetRollupConfiguration result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RollupConfiguration {
    /// `false` asks only for RollupDownstreamServers.
    pub do_detailed_rollup: bool,
    pub rollup_reset_guid: Uuid,
    pub server_id: Uuid,
    /// Windows: 5,000.
    pub rollup_downstream_servers_max_batch_size: i32,
    /// Windows: 1,500.
    pub rollup_computers_max_batch_size: i32,
    /// Windows: 20,000.
    pub get_out_of_sync_computers_max_batch_size: i32,
    /// Windows: 500.
    pub rollup_computer_status_max_batch_size: i32,
}

/// A computer the upstream wants the downstream to know about (RollupComputers result).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangedComputer {
    pub computer_id: Option<String>,
    /// `Deleted` or `NewParent`; other values are kept as sent.
    pub change: String,
}

/// A response: one variant per [`Operation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    GetAuthConfig(ServerAuthConfig),
    GetAuthorizationCookie(AuthorizationCookie),
    GetCookie(Cookie),
    GetConfigData(ServerSyncConfigData),
    GetRevisionIdList(RevisionIdList),
    GetUpdateData(ServerUpdateData),
    GetUpdateDecryptionData(ServerDecryptionData),
    /// The empty `<DownloadFilesResponse />`.
    DownloadFiles,
    GetDeployments(ServerSyncDeploymentResult),
    GetRelatedRevisionsForUpdates(Vec<UpdateIdentity>),
    GetRollupConfiguration(RollupConfiguration),
    /// The empty `<RollupDownstreamServersResponse />`.
    RollupDownstreamServers,
    RollupComputers(Vec<ChangedComputer>),
    GetOutOfSyncComputers(Vec<String>),
    RollupComputerStatus(bool),
}

impl Response {
    /// The operation this is the response of.
    pub fn operation(&self) -> Operation {
        match self {
            Response::GetAuthConfig(_) => Operation::GetAuthConfig,
            Response::GetAuthorizationCookie(_) => Operation::GetAuthorizationCookie,
            Response::GetCookie(_) => Operation::GetCookie,
            Response::GetConfigData(_) => Operation::GetConfigData,
            Response::GetRevisionIdList(_) => Operation::GetRevisionIdList,
            Response::GetUpdateData(_) => Operation::GetUpdateData,
            Response::GetUpdateDecryptionData(_) => Operation::GetUpdateDecryptionData,
            Response::DownloadFiles => Operation::DownloadFiles,
            Response::GetDeployments(_) => Operation::GetDeployments,
            Response::GetRelatedRevisionsForUpdates(_) => Operation::GetRelatedRevisionsForUpdates,
            Response::GetRollupConfiguration(_) => Operation::GetRollupConfiguration,
            Response::RollupDownstreamServers => Operation::RollupDownstreamServers,
            Response::RollupComputers(_) => Operation::RollupComputers,
            Response::GetOutOfSyncComputers(_) => Operation::GetOutOfSyncComputers,
            Response::RollupComputerStatus(_) => Operation::RollupComputerStatus,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding (upstream side)
// ---------------------------------------------------------------------------------------------

/// Encodes a response. Send it with HTTP 200 and [`crate::CONTENT_TYPE`].
pub fn encode_response(response: &Response) -> Vec<u8> {
    let op = response.operation();
    let ns = op.service().namespace();
    let name = op.response_name();
    let result = format!("{}Result", op.name());
    let mut w = Writer::envelope(ENVELOPE_BYTES + variable_size(response));
    match response {
        Response::DownloadFiles | Response::RollupDownstreamServers => {
            w.empty_ns(&name, ns);
            return w.finish();
        }
        _ => w.open_ns(&name, ns),
    }
    match response {
        Response::DownloadFiles | Response::RollupDownstreamServers => {}
        Response::GetAuthConfig(c) => {
            w.open(&result);
            w.datetime("LastChange", &c.last_change);
            w.array("AuthInfo", &c.auth_info, |w, p| {
                w.open("AuthPlugInInfo");
                w.text("PlugInID", &p.plugin_id);
                w.text("ServiceUrl", &p.service_url);
                w.opt_text("Parameter", p.parameter.as_deref());
                w.close("AuthPlugInInfo");
            });
            w.opt_array("AllowedEventIds", c.allowed_event_ids.as_deref(), |w, id| w.int("int", id));
            w.close(&result);
        }
        Response::GetAuthorizationCookie(c) => w.auth_cookie(&result, c),
        Response::GetCookie(c) => w.cookie(&result, c),
        Response::GetConfigData(c) => {
            w.open(&result);
            w.bool("CatalogOnlySync", c.catalog_only_sync);
            w.bool("LazySync", c.lazy_sync);
            w.bool("ServerHostsPsfFiles", c.server_hosts_psf_files);
            w.int("MaxNumberOfComputerIdsInRequest", c.max_number_of_computer_ids_in_request);
            w.int("MaxNumberOfDriverSetsPerRequest", c.max_number_of_driver_sets_per_request);
            w.int("MaxNumberOfPnpHardwareIdsInRequest", c.max_number_of_pnp_hardware_ids_in_request);
            w.int("MaxNumberOfUpdatesPerRequest", c.max_number_of_updates_per_request);
            w.opt_text("NewConfigAnchor", c.new_config_anchor.as_deref());
            w.opt_text("ProtocolVersion", c.protocol_version.as_deref());
            w.array("LanguageUpdateList", &c.language_update_list, |w, l| {
                w.open("ServerSyncLanguageData");
                w.int("LanguageID", l.language_id);
                w.text("ShortLanguage", &l.short_language);
                w.text("LongLanguage", &l.long_language);
                w.bool("Enabled", l.enabled);
                w.close("ServerSyncLanguageData");
            });
            w.int(
                "MaxUpdatesPerRequestInGetUpdateDecryptionData",
                c.max_updates_per_request_in_get_update_decryption_data,
            );
            w.close(&result);
        }
        Response::GetRevisionIdList(l) => {
            w.open(&result);
            w.opt_text("Anchor", l.anchor.as_deref());
            w.identities("NewRevisions", &l.new_revisions);
            w.close(&result);
        }
        Response::GetUpdateData(d) => {
            w.open(&result);
            w.array("updates", &d.updates, |w, u| {
                w.open("ServerSyncUpdateData");
                w.identity("Id", &u.id);
                if let UpdateBlob::Plain(xml) = &u.blob {
                    w.text("XmlUpdateBlob", xml);
                }
                if !u.file_digests.is_empty() {
                    w.base64_array("FileDigestList", &u.file_digests);
                }
                if let UpdateBlob::Compressed(cab) = &u.blob {
                    w.base64("XmlUpdateBlobCompressed", cab);
                }
                w.close("ServerSyncUpdateData");
            });
            w.array("fileUrls", &d.file_urls, |w, f| {
                w.open("ServerSyncUrlData");
                w.base64("FileDigest", &f.file_digest);
                w.text("MUUrl", &f.mu_url);
                w.text("UssUrl", &f.uss_url);
                if let Some(k) = &f.decryption_key {
                    w.base64("DecryptionKey", k);
                }
                w.close("ServerSyncUrlData");
            });
            w.close(&result);
        }
        Response::GetUpdateDecryptionData(d) => {
            w.open(&result);
            w.array("UpdateFileDecryptionData", &d.update_file_decryption_data, |w, u| {
                w.open("ServerSyncUpdateFileDecryption");
                w.identity("UpdateId", &u.update_id);
                w.array("FileDecryptionData", &u.file_decryption_data, |w, f| {
                    w.open("ServerSyncFileDecryption");
                    w.base64("FileDigest", &f.file_digest);
                    if let Some(k) = &f.decryption_key {
                        w.base64("DecryptionKey", k);
                    }
                    w.close("ServerSyncFileDecryption");
                });
                w.close("ServerSyncUpdateFileDecryption");
            });
            w.close(&result);
        }
        Response::GetDeployments(d) => {
            w.open(&result);
            w.opt_text("Anchor", d.anchor.as_deref());
            w.array("Groups", &d.groups, |w, g| {
                w.open("ServerSyncTargetGroup");
                w.guid("TargetGroupID", &g.target_group_id);
                w.guid("ParentGroupId", &g.parent_group_id);
                w.text("Name", &g.name);
                w.bool("IsBuiltin", g.is_builtin);
                w.close("ServerSyncTargetGroup");
            });
            w.array("Deployments", &d.deployments, |w, x| {
                w.open("ServerSyncDeployment");
                w.guid("UpdateId", &x.update_id);
                w.int("RevisionNumber", x.revision_number);
                w.int("Action", x.action);
                w.text("AdminName", &x.admin_name);
                w.datetime("Deadline", &x.deadline);
                w.bool("IsAssigned", x.is_assigned);
                w.datetime("GoLiveTime", &x.go_live_time);
                w.guid("DeploymentGuid", &x.deployment_guid);
                w.guid("TargetGroupId", &x.target_group_id);
                w.int("DownloadPriority", x.download_priority);
                w.close("ServerSyncDeployment");
            });
            w.guid_array("DeadDeployments", &d.dead_deployments);
            w.guid_array("HiddenUpdates", &d.hidden_updates);
            w.guid_array("AcceptedEulas", &d.accepted_eulas);
            w.close(&result);
        }
        Response::GetRelatedRevisionsForUpdates(ids) => w.identities(&result, ids),
        Response::GetRollupConfiguration(c) => {
            w.open(&result);
            w.bool("DoDetailedRollup", c.do_detailed_rollup);
            w.guid("RollupResetGuid", &c.rollup_reset_guid);
            w.guid("ServerId", &c.server_id);
            w.int("RollupDownstreamServersMaxBatchSize", c.rollup_downstream_servers_max_batch_size);
            w.int("RollupComputersMaxBatchSize", c.rollup_computers_max_batch_size);
            w.int("GetOutOfSyncComputersMaxBatchSize", c.get_out_of_sync_computers_max_batch_size);
            w.int("RollupComputerStatusMaxBatchSize", c.rollup_computer_status_max_batch_size);
            w.close(&result);
        }
        Response::RollupComputers(changed) => w.array(&result, changed, |w, c| {
            w.raw("<ChangedComputer");
            w.opt_attr("ComputerId", c.computer_id.as_deref());
            w.attr("Change", &c.change);
            w.raw(" />");
        }),
        Response::GetOutOfSyncComputers(ids) => w.array(&result, ids, |w, s| w.text("string", s)),
        Response::RollupComputerStatus(ok) => w.bool(&result, *ok),
    }
    w.close(&name);
    w.finish()
}

/// A rough upper bound of the variable part of a response, so the buffer rarely grows.
fn variable_size(response: &Response) -> usize {
    match response {
        Response::GetAuthConfig(c) => {
            300 + c.auth_info.len() * 200 + c.allowed_event_ids.as_ref().map_or(0, |v| v.len() * 20)
        }
        Response::GetAuthorizationCookie(c) => 120 + c.plugin_id.len() + c.cookie_data.len() * 4 / 3,
        Response::GetCookie(c) => 120 + c.expiration.len() + c.encrypted_data.len() * 4 / 3,
        Response::GetConfigData(c) => 900 + c.language_update_list.len() * 200,
        Response::GetRevisionIdList(l) => 200 + l.new_revisions.len() * 130,
        Response::GetUpdateData(d) => {
            200 + d
                .updates
                .iter()
                .map(|u| {
                    250 + u.file_digests.len() * 70
                        + match &u.blob {
                            // Escaping grows markup-dense XML by about a third.
                            UpdateBlob::Plain(x) => x.len() + x.len() / 2,
                            UpdateBlob::Compressed(c) => c.len() * 4 / 3 + 4,
                        }
                })
                .sum::<usize>()
                + d.file_urls.iter().map(|f| 200 + f.mu_url.len() + f.uss_url.len()).sum::<usize>()
        }
        Response::GetUpdateDecryptionData(d) => {
            200 + d.update_file_decryption_data.iter().map(|u| 250 + u.file_decryption_data.len() * 200).sum::<usize>()
        }
        Response::GetDeployments(d) => {
            400 + d.groups.len() * 300
                + d.deployments.len() * 700
                + (d.dead_deployments.len() + d.hidden_updates.len() + d.accepted_eulas.len()) * 50
        }
        Response::GetRelatedRevisionsForUpdates(ids) => ids.len() * 130,
        Response::RollupComputers(c) => c.len() * 120,
        Response::GetOutOfSyncComputers(s) => s.iter().map(|s| 20 + s.len()).sum(),
        _ => 400,
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding (downstream side)
// ---------------------------------------------------------------------------------------------

/// Decodes the response to a call of `op`: the typed result, or [`ResponseError::Fault`] when
/// the upstream answered with a SOAP fault (HTTP 500).
///
/// An empty body (Microsoft Update answers some malformed requests with an empty HTTP 500) is
/// a [`DecodeError::Malformed`].
pub fn decode_response(op: Operation, body: &[u8]) -> Result<Response, ResponseError> {
    let root = parse_envelope(body, MAX_RESPONSE_BYTES, "SOAP response")?;
    let el = body_element(&root)?;
    if el.is(ns::SOAP_ENV, "Fault") {
        return Err(ResponseError::Fault(Box::new(decode_fault(el))));
    }
    let expected = op.response_name();
    let namespace = op.service().namespace();
    if el.local != expected || el.ns != namespace {
        return Err(DecodeError::UnexpectedResponse {
            expected: format!("{{{namespace}}}{expected}"),
            ns: el.ns.clone(),
            name: el.local.clone(),
        }
        .into());
    }
    let r = Reader::new(namespace);
    let result_name = format!("{}Result", op.name());
    let rp = Path::ROOT.child(&result_name);
    let result = r.field(el, &result_name);
    Ok(match op {
        Operation::DownloadFiles => Response::DownloadFiles,
        Operation::RollupDownstreamServers => Response::RollupDownstreamServers,
        Operation::GetAuthConfig => Response::GetAuthConfig(auth_config(&r, required(result, rp)?, rp)?),
        Operation::GetAuthorizationCookie => {
            Response::GetAuthorizationCookie(r.auth_cookie(required(result, rp)?, rp)?)
        }
        Operation::GetCookie => Response::GetCookie(r.cookie_content(required(result, rp)?, rp)?),
        Operation::GetConfigData => Response::GetConfigData(config_data(&r, required(result, rp)?, rp)?),
        Operation::GetRevisionIdList => {
            let l = required(result, rp)?;
            Response::GetRevisionIdList(RevisionIdList {
                anchor: r.string(l, "Anchor"),
                new_revisions: r.identities(l, "NewRevisions", rp)?,
            })
        }
        Operation::GetUpdateData => Response::GetUpdateData(update_data(&r, required(result, rp)?, rp)?),
        Operation::GetUpdateDecryptionData => {
            Response::GetUpdateDecryptionData(decryption_data(&r, required(result, rp)?, rp)?)
        }
        Operation::GetDeployments => Response::GetDeployments(deployments(&r, required(result, rp)?, rp)?),
        Operation::GetRelatedRevisionsForUpdates => Response::GetRelatedRevisionsForUpdates(match result {
            Some(_) => r.identities(el, &result_name, Path::ROOT)?,
            None => Vec::new(),
        }),
        Operation::GetRollupConfiguration => {
            let c = required(result, rp)?;
            Response::GetRollupConfiguration(RollupConfiguration {
                do_detailed_rollup: r.bool0(c, "DoDetailedRollup", rp)?,
                rollup_reset_guid: r.guid0(c, "RollupResetGuid", rp)?,
                server_id: r.guid0(c, "ServerId", rp)?,
                rollup_downstream_servers_max_batch_size: r.int0(c, "RollupDownstreamServersMaxBatchSize", rp)?,
                rollup_computers_max_batch_size: r.int0(c, "RollupComputersMaxBatchSize", rp)?,
                get_out_of_sync_computers_max_batch_size: r.int0(c, "GetOutOfSyncComputersMaxBatchSize", rp)?,
                rollup_computer_status_max_batch_size: r.int0(c, "RollupComputerStatusMaxBatchSize", rp)?,
            })
        }
        Operation::RollupComputers => Response::RollupComputers(
            result
                .map(|a| {
                    r.children(a, "ChangedComputer")
                        .map(|c| ChangedComputer {
                            computer_id: c.attr("ComputerId").map(str::to_string),
                            change: c.attr("Change").map(|v| v.trim().to_string()).unwrap_or_default(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        ),
        Operation::GetOutOfSyncComputers => {
            Response::GetOutOfSyncComputers(result.map(|a| r.string_items(a, "string")).unwrap_or_default())
        }
        Operation::RollupComputerStatus => Response::RollupComputerStatus(r.bool0(el, &result_name, Path::ROOT)?),
    })
}

/// A result element the response cannot do without (XmlSerializer would give a null result,
/// which no caller can use).
fn required<'e>(el: Option<&'e Element>, path: Path<'_>) -> Result<&'e Element, DecodeError> {
    el.ok_or_else(|| invalid(path, "missing"))
}

fn auth_config(r: &Reader, c: &Element, p: Path<'_>) -> Result<ServerAuthConfig, DecodeError> {
    Ok(ServerAuthConfig {
        last_change: r.trimmed(c, "LastChange").unwrap_or_default(),
        auth_info: r
            .items(c, "AuthInfo", "AuthPlugInInfo")
            .map(|a| AuthPlugInInfo {
                plugin_id: r.string_or_empty(a, "PlugInID"),
                service_url: r.string_or_empty(a, "ServiceUrl"),
                parameter: r.string(a, "Parameter"),
            })
            .collect(),
        allowed_event_ids: match r.field(c, "AllowedEventIds") {
            Some(_) => Some(r.int_array(c, "AllowedEventIds", p)?),
            None => None,
        },
    })
}

fn config_data(r: &Reader, c: &Element, p: Path<'_>) -> Result<ServerSyncConfigData, DecodeError> {
    let lp = p.child("LanguageUpdateList");
    let lp = lp.child("ServerSyncLanguageData");
    Ok(ServerSyncConfigData {
        catalog_only_sync: r.bool0(c, "CatalogOnlySync", p)?,
        lazy_sync: r.bool0(c, "LazySync", p)?,
        server_hosts_psf_files: r.bool0(c, "ServerHostsPsfFiles", p)?,
        max_number_of_computer_ids_in_request: r.int0(c, "MaxNumberOfComputerIdsInRequest", p)?,
        max_number_of_driver_sets_per_request: r.int0(c, "MaxNumberOfDriverSetsPerRequest", p)?,
        max_number_of_pnp_hardware_ids_in_request: r.int0(c, "MaxNumberOfPnpHardwareIdsInRequest", p)?,
        max_number_of_updates_per_request: r.int0(c, "MaxNumberOfUpdatesPerRequest", p)?,
        new_config_anchor: r.string(c, "NewConfigAnchor"),
        protocol_version: r.trimmed(c, "ProtocolVersion"),
        language_update_list: r
            .items(c, "LanguageUpdateList", "ServerSyncLanguageData")
            .map(|l| {
                Ok(ServerSyncLanguageData {
                    language_id: r.int0(l, "LanguageID", lp)?,
                    short_language: r.string_or_empty(l, "ShortLanguage"),
                    long_language: r.string_or_empty(l, "LongLanguage"),
                    enabled: r.bool0(l, "Enabled", lp)?,
                })
            })
            .collect::<Result<_, DecodeError>>()?,
        max_updates_per_request_in_get_update_decryption_data: r.int0(
            c,
            "MaxUpdatesPerRequestInGetUpdateDecryptionData",
            p,
        )?,
    })
}

fn update_data(r: &Reader, d: &Element, p: Path<'_>) -> Result<ServerUpdateData, DecodeError> {
    let up = p.child("updates");
    let up = up.child("ServerSyncUpdateData");
    let fp = p.child("fileUrls");
    let fp = fp.child("ServerSyncUrlData");
    let updates = r
        .items(d, "updates", "ServerSyncUpdateData")
        .map(|u| {
            let id = match r.field(u, "Id") {
                Some(id) => r.identity(id, up.child("Id"))?,
                None => return Err(invalid(up.child("Id"), "missing")),
            };
            // Compressed wins if a server sent both; neither is unusable.
            let blob = match r.field(u, "XmlUpdateBlobCompressed") {
                Some(c) => UpdateBlob::Compressed(base64_text(c, up.child("XmlUpdateBlobCompressed"))?),
                None => match r.field(u, "XmlUpdateBlob") {
                    Some(x) => UpdateBlob::Plain(text(x).into_owned()),
                    None => {
                        return Err(invalid(
                            up.child("XmlUpdateBlob"),
                            "neither XmlUpdateBlob nor XmlUpdateBlobCompressed",
                        ));
                    }
                },
            };
            Ok(ServerSyncUpdateData { id, blob, file_digests: r.base64_array(u, "FileDigestList", up)? })
        })
        .collect::<Result<_, DecodeError>>()?;
    let file_urls = r
        .items(d, "fileUrls", "ServerSyncUrlData")
        .map(|f| {
            Ok(ServerSyncUrlData {
                file_digest: r.base64(f, "FileDigest", fp)?.unwrap_or_default(),
                mu_url: r.trimmed(f, "MUUrl").unwrap_or_default(),
                uss_url: r.trimmed(f, "UssUrl").unwrap_or_default(),
                decryption_key: r.base64(f, "DecryptionKey", fp)?,
            })
        })
        .collect::<Result<_, DecodeError>>()?;
    Ok(ServerUpdateData { updates, file_urls })
}

/// The base64 content of a large element, decoded without first copying the text when it has
/// no whitespace (a compressed blob is up to a few hundred KB).
fn base64_text(el: &Element, path: Path<'_>) -> Result<Vec<u8>, DecodeError> {
    let t = text(el);
    let decoded = if t.bytes().any(|b| b.is_ascii_whitespace()) {
        let compact: String = t.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        base64::engine::general_purpose::STANDARD.decode(compact.as_bytes())
    } else {
        base64::engine::general_purpose::STANDARD.decode(t.as_bytes())
    };
    decoded.map_err(|e| invalid(path, format!("invalid base64: {e}")))
}

fn decryption_data(r: &Reader, d: &Element, p: Path<'_>) -> Result<ServerDecryptionData, DecodeError> {
    let up = p.child("UpdateFileDecryptionData");
    let up = up.child("ServerSyncUpdateFileDecryption");
    let fp = up.child("FileDecryptionData");
    let fp = fp.child("ServerSyncFileDecryption");
    let update_file_decryption_data = r
        .items(d, "UpdateFileDecryptionData", "ServerSyncUpdateFileDecryption")
        .map(|u| {
            Ok(ServerSyncUpdateFileDecryption {
                update_id: match r.field(u, "UpdateId") {
                    Some(id) => r.identity(id, up.child("UpdateId"))?,
                    None => return Err(invalid(up.child("UpdateId"), "missing")),
                },
                file_decryption_data: r
                    .items(u, "FileDecryptionData", "ServerSyncFileDecryption")
                    .map(|f| {
                        Ok(ServerSyncFileDecryption {
                            file_digest: r.base64(f, "FileDigest", fp)?.unwrap_or_default(),
                            decryption_key: r.base64(f, "DecryptionKey", fp)?,
                        })
                    })
                    .collect::<Result<_, DecodeError>>()?,
            })
        })
        .collect::<Result<_, DecodeError>>()?;
    Ok(ServerDecryptionData { update_file_decryption_data })
}

fn deployments(r: &Reader, d: &Element, p: Path<'_>) -> Result<ServerSyncDeploymentResult, DecodeError> {
    let gp = p.child("Groups");
    let gp = gp.child("ServerSyncTargetGroup");
    let dp = p.child("Deployments");
    let dp = dp.child("ServerSyncDeployment");
    Ok(ServerSyncDeploymentResult {
        anchor: r.string(d, "Anchor"),
        groups: r
            .items(d, "Groups", "ServerSyncTargetGroup")
            .map(|g| {
                Ok(ServerSyncTargetGroup {
                    target_group_id: r.guid0(g, "TargetGroupID", gp)?,
                    parent_group_id: r.guid0(g, "ParentGroupId", gp)?,
                    name: r.string_or_empty(g, "Name"),
                    is_builtin: r.bool0(g, "IsBuiltin", gp)?,
                })
            })
            .collect::<Result<_, DecodeError>>()?,
        deployments: r
            .items(d, "Deployments", "ServerSyncDeployment")
            .map(|x| {
                Ok(ServerSyncDeployment {
                    update_id: r.guid0(x, "UpdateId", dp)?,
                    revision_number: r.int0(x, "RevisionNumber", dp)?,
                    action: r.int0(x, "Action", dp)?,
                    admin_name: r.string_or_empty(x, "AdminName"),
                    deadline: r.trimmed(x, "Deadline").unwrap_or_default(),
                    is_assigned: r.bool0(x, "IsAssigned", dp)?,
                    go_live_time: r.trimmed(x, "GoLiveTime").unwrap_or_default(),
                    deployment_guid: r.guid0(x, "DeploymentGuid", dp)?,
                    target_group_id: r.guid0(x, "TargetGroupId", dp)?,
                    download_priority: r.num(x, "DownloadPriority", dp, "an unsignedByte")?.unwrap_or_default(),
                })
            })
            .collect::<Result<_, DecodeError>>()?,
        dead_deployments: r.guid_array(d, "DeadDeployments", p)?,
        hidden_updates: r.guid_array(d, "HiddenUpdates", p)?,
        accepted_eulas: r.guid_array(d, "AcceptedEulas", p)?,
    })
}

// ---------------------------------------------------------------------------------------------
// Typed helpers
// ---------------------------------------------------------------------------------------------

macro_rules! typed_decoder {
    ($(#[$doc:meta])* $fn:ident, $op:ident, $ty:ty) => {
        $(#[$doc])*
        pub fn $fn(body: &[u8]) -> Result<$ty, ResponseError> {
            match decode_response(Operation::$op, body)? {
                Response::$op(v) => Ok(v),
                // decode_response returns the variant of the operation it was given.
                other => Err(DecodeError::UnexpectedResponse {
                    expected: Operation::$op.response_name(),
                    ns: String::new(),
                    name: other.operation().response_name(),
                }
                .into()),
            }
        }
    };
}

typed_decoder!(
    /// [`decode_response`] for GetAuthConfig.
    decode_get_auth_config_response, GetAuthConfig, ServerAuthConfig
);
typed_decoder!(
    /// [`decode_response`] for DssAuth GetAuthorizationCookie.
    decode_get_authorization_cookie_response, GetAuthorizationCookie, AuthorizationCookie
);
typed_decoder!(
    /// [`decode_response`] for GetCookie.
    decode_get_cookie_response, GetCookie, Cookie
);
typed_decoder!(
    /// [`decode_response`] for GetConfigData.
    decode_get_config_data_response, GetConfigData, ServerSyncConfigData
);
typed_decoder!(
    /// [`decode_response`] for GetRevisionIdList.
    decode_get_revision_id_list_response, GetRevisionIdList, RevisionIdList
);
typed_decoder!(
    /// [`decode_response`] for GetUpdateData. Blobs stay as received; see [`UpdateBlob::xml`].
    decode_get_update_data_response, GetUpdateData, ServerUpdateData
);
typed_decoder!(
    /// [`decode_response`] for GetUpdateDecryptionData.
    decode_get_update_decryption_data_response, GetUpdateDecryptionData, ServerDecryptionData
);
typed_decoder!(
    /// [`decode_response`] for GetDeployments.
    decode_get_deployments_response, GetDeployments, ServerSyncDeploymentResult
);
typed_decoder!(
    /// [`decode_response`] for GetRelatedRevisionsForUpdates.
    decode_get_related_revisions_for_updates_response, GetRelatedRevisionsForUpdates, Vec<UpdateIdentity>
);
typed_decoder!(
    /// [`decode_response`] for GetRollupConfiguration.
    decode_get_rollup_configuration_response, GetRollupConfiguration, RollupConfiguration
);
typed_decoder!(
    /// [`decode_response`] for RollupComputers.
    decode_rollup_computers_response, RollupComputers, Vec<ChangedComputer>
);
typed_decoder!(
    /// [`decode_response`] for GetOutOfSyncComputers.
    decode_get_out_of_sync_computers_response, GetOutOfSyncComputers, Vec<String>
);
typed_decoder!(
    /// [`decode_response`] for RollupComputerStatus.
    decode_rollup_computer_status_response, RollupComputerStatus, bool
);

/// [`decode_response`] for DownloadFiles: `Ok(())` or the fault.
pub fn decode_download_files_response(body: &[u8]) -> Result<(), ResponseError> {
    decode_response(Operation::DownloadFiles, body).map(|_| ())
}

/// [`decode_response`] for RollupDownstreamServers: `Ok(())` or the fault.
pub fn decode_rollup_downstream_servers_response(body: &[u8]) -> Result<(), ResponseError> {
    decode_response(Operation::RollupDownstreamServers, body).map(|_| ())
}
