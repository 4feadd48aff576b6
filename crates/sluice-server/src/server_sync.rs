//! Sluice as an UPSTREAM server (MS-WSUSSS): the Server Sync, DSS authorization and reporting
//! rollup services on the client listener, answering downstream servers (Sluice or real WSUS)
//! the way a real WSUS upstream does. What is offered is decided in `sluice-decide`
//! (`upstream`: anchors, revision selection and closure, replica deployments; `session_cookie`:
//! the cookies; `rollup`: which servers a rollup may speak for); this file loads, answers and
//! stores. The rollup operations are in `server_sync_rollup.rs`.
//!
//! Choices, where the protocol leaves room:
//!
//! - **Cookies** are sealed with the server's client-cookie key under their own purposes
//!   (`sluice_decide::session_cookie`). Another server's cookie, a tampered or truncated one →
//!   `InvalidCookie`; an expired one → `CookieExpired`.
//! - **Anchors and filters**: see `sluice_decide::upstream`. An unreadable anchor →
//!   `InvalidParameters` (`filter`), as real WSUS.
//! - **Blobs**: always `XmlUpdateBlob` (the original document as text), never the MSZIP cabinet
//!   of `UpdateBlob::like_wsus`: a real WSUS sends LZX cabinets and nobody has seen one accept
//!   MSZIP. The cost is size (a 100-id batch of large bundles can pass the 2,000,000 bytes
//!   Windows puts on its own answers); responses are xpress-compressed when the downstream asks.
//! - **File URLs**: `MUUrl` is the Microsoft URL when known, `UssUrl` our own
//!   `http://<Host>/Content/XX/<SHA1>.<ext>`.
//! - **DownloadFiles** queues absent files in the store's wanted-files list (`files_wanted`);
//!   the download side works from it. Unknown digests → `FileDigestsMissing`.
//! - **GetConfigData** follows the sync side's storage mode (`storage-mode` setting):
//!   `none` → `CatalogOnlySync`, `approved` (default) → `LazySync`, `all` → neither.
//! - **Reporting rollup**: detailed rollup is asked for, and everything the downstream reports
//!   (servers, computers, per-update status) is stored; `sluice downstreams list` shows it.
//!   The four operations that store something require the session cookie of a downstream
//!   registered here (see `Ctx::reporter`); the downstream's identity comes from it.

use std::collections::HashSet;
use std::net::SocketAddr;

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use sluice_decide::cookie::CookieError;
use sluice_decide::session_cookie::{self, Session};
use sluice_decide::upstream::{self, anchor_at, derived_uuid};
use sluice_store::downstreams::DownstreamContact;
use sluice_store::{ApprovalAction, FileState};
use sluice_soap_core::Style;
use sluice_wsusss as wss;
use sluice_wsusss::{
    Cookie, ErrorCode, Fault, Operation, Request as WRequest, Response as WResponse, Service,
    ToFault,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::body_budget::BodyError;
use crate::soap_edge::SoapEdge;

/// Largest request accepted (a 500-computer status rollup is the largest real one).
pub const MAX_REQUEST_BYTES: usize = 32 * 1024 * 1024;
/// GetUpdateData batch limit, as real WSUS and Microsoft Update.
pub const MAX_UPDATES_PER_REQUEST: usize = 100;
/// DownloadFiles limit.
pub const MAX_FILES_PER_REQUEST: usize = 100;
/// Lifetime of a session cookie, as real WSUS.
pub const COOKIE_LIFETIME: time::Duration = session_cookie::SESSION_LIFETIME;
/// Protocol version announced in GetConfigData (WSUS 10).
pub const PROTOCOL_VERSION: &str = "1.20";

/// Rollup batch limits (Windows values).
pub(crate) const ROLLUP_SERVERS_MAX: usize = 5_000;
pub(crate) const ROLLUP_COMPUTERS_MAX: usize = 1_500;
pub(crate) const OUT_OF_SYNC_MAX: usize = 20_000;
pub(crate) const ROLLUP_STATUS_MAX: usize = 500;

const ROLLUP_OPERATIONS: [Operation; 5] = [
    Operation::GetRollupConfiguration,
    Operation::RollupDownstreamServers,
    Operation::RollupComputers,
    Operation::GetOutOfSyncComputers,
    Operation::RollupComputerStatus,
];

/// Whether this module answers a request: the Server Sync and DSS authorization paths always;
/// the reporting path only for the rollup operations (by `SOAPAction`, as ASMX routes), the
/// rest of it being the MS-WUSP reporting service of the clients.
pub fn route(path: &str, headers: &HeaderMap) -> Option<Service> {
    match Service::from_path(path)? {
        Service::Reporting => {
            let action = headers.get("soapaction").and_then(|v| v.to_str().ok())?;
            ROLLUP_OPERATIONS
                .iter()
                .any(|op| op.accepts_soap_action(action))
                .then_some(Service::Reporting)
        }
        s => Some(s),
    }
}

/// Answers one request on a MS-WSUSSS service.
pub async fn handle(state: AppState, peer: SocketAddr, req: Request, service: Service) -> Response {
    let label = match service {
        Service::ServerSync => "server_sync",
        Service::DssAuth => "dss_auth",
        Service::Reporting => "reporting_rollup",
    };
    let edge = match SoapEdge::open(&req, Style::Asmx, label, &state) {
        Ok(edge) => edge,
        Err(refused) => return *refused,
    };
    let base = edge.base().to_owned();
    // Real WSUS names the faulting service's URL as `faultactor`.
    let actor = format!("{base}{}", service.path());
    let fault_out = |f: Fault| {
        let f = if f.fault_actor.is_none() { f.with_actor(actor.clone()) } else { f };
        edge.respond_fault(f.http_status(), wss::encode_fault(&f), f.error_code.as_str())
    };
    let body = match edge.read_body(req.into_body(), MAX_REQUEST_BYTES).await {
        Ok(b) => b,
        // A busy budget is `ServerBusy`, which a downstream server retries later.
        Err(e) => {
            let code = if e == BodyError::Busy { ErrorCode::ServerBusy } else { ErrorCode::InvalidParameters };
            return fault_out(Fault::new(code).with_message(e.to_string()));
        }
    };
    let request = match wss::decode_request(&body) {
        Ok(r) => r,
        Err(e) => return fault_out(e.to_fault(None)),
    };
    let op = request.operation();
    edge.operation(op.name());
    if op.service() != service {
        return fault_out(
            Fault::for_operation(ErrorCode::InvalidParameters, op)
                .with_message(format!("{} is not an operation of this service", op.name())),
        );
    }
    let ctx = Ctx { state: &state, base, peer };
    match ctx.dispatch(request).await {
        Ok(r) => edge.respond(StatusCode::OK.as_u16(), wss::encode_response(&r)),
        Err(f) => {
            if f.error_code == ErrorCode::InternalServerError {
                tracing::error!(operation = op.name(), message = %f.message, "downstream server request failed");
            }
            let f = if f.method.is_none() { f.with_method(op.quoted_soap_action()) } else { f };
            fault_out(f)
        }
    }
}

pub(crate) fn fault(code: ErrorCode, message: impl Into<String>) -> Fault {
    Fault::new(code).with_message(message)
}

pub(crate) fn internal(e: impl std::fmt::Display) -> Fault {
    // The detail stays in the log; the downstream gets the code only.
    tracing::error!(error = %e, "upstream service failure");
    Fault::new(ErrorCode::InternalServerError)
}

/// Now, at whole milliseconds (cookies and anchors keep milliseconds).
fn now_ms() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.millisecond() as u32 * 1_000_000)
        .unwrap_or(now)
}

/// A wire date-time, `None` for .NET's unset value (year 1) and unreadable ones.
pub(crate) fn wire_time(s: &str) -> Option<OffsetDateTime> {
    wss::parse_datetime(s).filter(|t| t.year() > 1 && t.year() < 9999)
}

fn is_protocol_version(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.trim().split_once('.')?;
    let ok = |p: &str| !p.is_empty() && p.len() <= 9 && p.chars().all(|c| c.is_ascii_digit());
    if !ok(a) || !ok(b) {
        return None;
    }
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// FQDN-legal: letters, digits, `-`, `.` and `_` (NetBIOS-era names).
fn is_account_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
}

pub(crate) struct Ctx<'a> {
    pub(crate) state: &'a AppState,
    /// `scheme://host[:port]` of the file URLs handed out (`origin.rs`).
    base: String,
    peer: SocketAddr,
}

impl Ctx<'_> {
    pub(crate) fn keys(&self) -> &sluice_decide::cookie::CookieKeys {
        &self.state.scan.keys
    }

    /// Opens and checks the session cookie of a Server Sync call.
    // Fault is the error of every handler here, answered once per request: its size is moot.
    #[allow(clippy::result_large_err)]
    pub(crate) fn session(&self, cookie: Option<&Cookie>) -> Result<Session, Fault> {
        let data = cookie
            .map(|c| c.encrypted_data.as_slice())
            .filter(|d| !d.is_empty())
            .ok_or_else(|| Fault::new(ErrorCode::InvalidCookie))?;
        session_cookie::open_session(self.keys(), data, OffsetDateTime::now_utc()).map_err(|e| {
            Fault::new(match e {
                CookieError::Expired => ErrorCode::CookieExpired,
                CookieError::ServerChanged => ErrorCode::ServerChanged,
                CookieError::Invalid => ErrorCode::InvalidCookie,
            })
        })
    }

    async fn dispatch(&self, req: WRequest) -> Result<WResponse, Fault> {
        match req {
            WRequest::GetAuthConfig => Ok(WResponse::GetAuthConfig(wss::ServerAuthConfig {
                last_change: wss::format_datetime(self.state.scan.config_last_change()),
                auth_info: vec![wss::AuthPlugInInfo::dss_targeting()],
                allowed_event_ids: None,
            })),
            WRequest::GetAuthorizationCookie(r) => self.get_authorization_cookie(r).await,
            WRequest::GetCookie(r) => self.get_cookie(r).await,
            WRequest::GetConfigData(r) => self.get_config_data(r).await,
            WRequest::GetRevisionIdList(r) => self.get_revision_id_list(r).await,
            WRequest::GetUpdateData(r) => self.get_update_data(r).await,
            WRequest::GetUpdateDecryptionData(r) => self.get_update_decryption_data(r).await,
            WRequest::DownloadFiles(r) => self.download_files(r).await,
            WRequest::GetDeployments(r) => self.get_deployments(r).await,
            WRequest::GetRelatedRevisionsForUpdates(r) => {
                // Declared by the WSDL, never used by WSUS: an empty, honest answer.
                self.session(r.cookie.as_ref())?;
                Ok(WResponse::GetRelatedRevisionsForUpdates(Vec::new()))
            }
            WRequest::GetRollupConfiguration(_) => Ok(WResponse::GetRollupConfiguration(
                wss::RollupConfiguration {
                    do_detailed_rollup: true,
                    rollup_reset_guid: derived_uuid(&[
                        b"rollup reset",
                        self.keys().server_id().as_bytes(),
                    ]),
                    server_id: self.keys().server_id(),
                    rollup_downstream_servers_max_batch_size: ROLLUP_SERVERS_MAX as i32,
                    rollup_computers_max_batch_size: ROLLUP_COMPUTERS_MAX as i32,
                    get_out_of_sync_computers_max_batch_size: OUT_OF_SYNC_MAX as i32,
                    rollup_computer_status_max_batch_size: ROLLUP_STATUS_MAX as i32,
                },
            )),
            WRequest::RollupDownstreamServers(r) => {
                let me = self.reporter(r.cookie.as_ref()).await?;
                self.rollup_downstream_servers(me, r).await
            }
            WRequest::RollupComputers(r) => {
                let me = self.reporter(r.cookie.as_ref()).await?;
                self.rollup_computers(me, r).await
            }
            WRequest::GetOutOfSyncComputers(r) => {
                let me = self.reporter(r.cookie.as_ref()).await?;
                self.get_out_of_sync_computers(me, r).await
            }
            WRequest::RollupComputerStatus(r) => {
                let me = self.reporter(r.cookie.as_ref()).await?;
                self.rollup_computer_status(me, r).await
            }
        }
    }

    async fn get_authorization_cookie(
        &self,
        r: wss::GetAuthorizationCookieRequest,
    ) -> Result<WResponse, Fault> {
        let name = r.account_name.trim().to_string();
        if !is_account_name(&name) {
            return Err(fault(ErrorCode::InvalidParameters, "accountName"));
        }
        let dss_id = r
            .account_uuid()
            .ok_or_else(|| fault(ErrorCode::InvalidParameters, "accountGuid"))?;
        let now = now_ms();
        self.state
            .store
            .record_downstream_contact(&DownstreamContact {
                id: dss_id,
                account_name: name.clone(),
                address: Some(self.peer.ip().to_string()),
                at: now,
            })
            .await
            .map_err(internal)?;
        Ok(WResponse::GetAuthorizationCookie(
            wss::AuthorizationCookie {
                plugin_id: "DssTargeting".into(),
                cookie_data: session_cookie::seal_auth(self.keys(), dss_id, &name, now),
            },
        ))
    }

    async fn get_cookie(&self, r: wss::GetCookieRequest) -> Result<WResponse, Fault> {
        if r.auth_cookies.len() != 1 {
            return Err(fault(ErrorCode::InvalidParameters, "authCookies"));
        }
        let dss_id = session_cookie::open_auth(self.keys(), &r.auth_cookies[0].cookie_data)
            .ok_or_else(|| Fault::new(ErrorCode::InvalidAuthorizationCookie))?;
        let (major, _) = is_protocol_version(&r.protocol_version)
            .ok_or_else(|| fault(ErrorCode::InvalidParameters, "protocolVersion"))?;
        if major != 1 {
            return Err(fault(
                ErrorCode::IncompatibleProtocolVersion,
                "protocolVersion",
            ));
        }
        let now = now_ms();
        self.state
            .store
            .touch_downstream(dss_id, now, None)
            .await
            .map_err(internal)?;
        let s = Session {
            dss_id,
            protocol_version: r.protocol_version.trim().to_string(),
            expires_at: now + COOKIE_LIFETIME,
        };
        Ok(WResponse::GetCookie(Cookie {
            expiration: wss::format_datetime(s.expires_at),
            encrypted_data: session_cookie::seal_session(self.keys(), &s, now),
        }))
    }

    async fn get_config_data(&self, r: wss::GetConfigDataRequest) -> Result<WResponse, Fault> {
        self.session(r.cookie.as_ref())?;
        // The storage mode of the sync side: `none` keeps no files (the downstream must use
        // the Microsoft URLs: CatalogOnlySync), `approved` (the default) fetches files when
        // needed (LazySync), `all` has everything at sync time.
        let storage = sluice_sync::storage_mode(&self.state.store)
            .await
            .map_err(internal)?;
        let catalog_only_sync = storage == sluice_sync::StorageMode::None;
        let lazy_sync = storage != sluice_sync::StorageMode::All;
        let now = now_ms();
        // The configuration (languages, limits) changes only with the server's configuration:
        // an anchor newer than that gets the short answer, as real WSUS gives.
        let current = upstream::config_is_current(
            r.config_anchor.as_deref(),
            self.state.scan.config_last_change(),
        );
        Ok(WResponse::GetConfigData(wss::ServerSyncConfigData {
            catalog_only_sync,
            lazy_sync,
            server_hosts_psf_files: false,
            max_number_of_computer_ids_in_request: 0,
            max_number_of_driver_sets_per_request: 0,
            max_number_of_pnp_hardware_ids_in_request: 0,
            max_number_of_updates_per_request: MAX_UPDATES_PER_REQUEST as i32,
            new_config_anchor: Some(anchor_at(1, now)),
            protocol_version: Some(PROTOCOL_VERSION.into()),
            language_update_list: if current { Vec::new() } else { upstream::languages() },
            max_updates_per_request_in_get_update_decryption_data: MAX_UPDATES_PER_REQUEST as i32,
        }))
    }

    async fn get_revision_id_list(
        &self,
        r: wss::GetRevisionIdListRequest,
    ) -> Result<WResponse, Fault> {
        self.session(r.cookie.as_ref())?;
        let filter = r
            .filter
            .ok_or_else(|| fault(ErrorCode::InvalidParameters, "filter"))?;
        let snap = self.state.scan.snapshot().await.map_err(internal)?;
        let list = upstream::revision_id_list(&snap.index, &filter, now_ms())
            .map_err(|_| fault(ErrorCode::InvalidParameters, "filter"))?;
        Ok(WResponse::GetRevisionIdList(list))
    }

    fn uss_url(&self, sha1: &[u8; 20], file_name: &str) -> String {
        let path = sluice_content::relative_url_path(sha1, file_name)
            .or_else(|_| sluice_content::relative_url_path(sha1, ""))
            .unwrap_or_default();
        format!("{}/{path}", self.base)
    }

    async fn get_update_data(&self, r: wss::GetUpdateDataRequest) -> Result<WResponse, Fault> {
        self.session(r.cookie.as_ref())?;
        if r.update_ids.len() > MAX_UPDATES_PER_REQUEST {
            return Err(fault(ErrorCode::InvalidParameters, "updateIds"));
        }
        let store = &self.state.store;
        let mut updates = Vec::with_capacity(r.update_ids.len());
        let mut file_urls = Vec::new();
        let mut seen = HashSet::new();
        for id in &r.update_ids {
            // Real WSUS fails the whole call on an unknown revision.
            let rev = store
                .revision_by_identity(id.update_id, id.revision_number)
                .await
                .map_err(internal)?
                .ok_or_else(|| Fault::new(ErrorCode::InternalServerError))?;
            let compressed = store
                .revision_xml(rev.id)
                .await
                .map_err(internal)?
                .ok_or_else(|| Fault::new(ErrorCode::InternalServerError))?;
            let xml = tokio::task::spawn_blocking(move || sluice_catalog::decompress(&compressed))
                .await
                .map_err(internal)?
                .map_err(internal)?;
            let files = store.revision_files(rev.id).await.map_err(internal)?;
            let mut digests = Vec::with_capacity(files.len());
            for f in &files {
                let mut sha1 = [0u8; 20];
                if hex::decode_to_slice(&f.sha1, &mut sha1).is_err() {
                    continue;
                }
                digests.push(sha1.to_vec());
                if seen.insert(sha1) {
                    file_urls.push(wss::ServerSyncUrlData {
                        file_digest: sha1.to_vec(),
                        mu_url: f.mu_url.clone().unwrap_or_default(),
                        uss_url: self.uss_url(&sha1, &f.file_name),
                        decryption_key: None,
                    });
                }
            }
            updates.push(wss::ServerSyncUpdateData {
                id: *id,
                blob: wss::UpdateBlob::Plain(xml),
                file_digests: digests,
            });
        }
        Ok(WResponse::GetUpdateData(wss::ServerUpdateData {
            updates,
            file_urls,
        }))
    }

    /// No file Sluice stores is encrypted: every file of the asked updates, without a key.
    async fn get_update_decryption_data(
        &self,
        r: wss::GetUpdateDataRequest,
    ) -> Result<WResponse, Fault> {
        self.session(r.cookie.as_ref())?;
        if r.update_ids.len() > MAX_UPDATES_PER_REQUEST {
            return Err(fault(ErrorCode::InvalidParameters, "updateIds"));
        }
        let store = &self.state.store;
        let mut out = Vec::new();
        for id in &r.update_ids {
            let rev = store
                .revision_by_identity(id.update_id, id.revision_number)
                .await
                .map_err(internal)?
                .ok_or_else(|| Fault::new(ErrorCode::InternalServerError))?;
            let files = store.revision_files(rev.id).await.map_err(internal)?;
            out.push(wss::ServerSyncUpdateFileDecryption {
                update_id: *id,
                file_decryption_data: files
                    .iter()
                    .filter_map(|f| hex::decode(&f.sha1).ok())
                    .map(|d| wss::ServerSyncFileDecryption {
                        file_digest: d,
                        decryption_key: None,
                    })
                    .collect(),
            });
        }
        Ok(WResponse::GetUpdateDecryptionData(
            wss::ServerDecryptionData {
                update_file_decryption_data: out,
            },
        ))
    }

    async fn download_files(&self, r: wss::DownloadFilesRequest) -> Result<WResponse, Fault> {
        let s = self.session(r.cookie.as_ref())?;
        if r.file_digests.len() > MAX_FILES_PER_REQUEST {
            return Err(fault(ErrorCode::InvalidParameters, "fileDigestList"));
        }
        let store = &self.state.store;
        let mut wanted = Vec::new();
        for d in &r.file_digests {
            if d.len() != 20 {
                return Err(fault(ErrorCode::InvalidParameters, "fileDigestList"));
            }
            let hex = hex::encode(d);
            match store.file(&hex).await.map_err(internal)? {
                None => return Err(Fault::new(ErrorCode::FileDigestsMissing)),
                Some(f) if f.state == FileState::Present => {}
                Some(_) => wanted.push(hex),
            }
        }
        if !wanted.is_empty() {
            store
                .want_files(&wanted, &s.dss_id.to_string(), OffsetDateTime::now_utc())
                .await
                .map_err(internal)?;
        }
        Ok(WResponse::DownloadFiles)
    }

    async fn get_deployments(&self, r: wss::GetDeploymentsRequest) -> Result<WResponse, Fault> {
        let s = self.session(r.cookie.as_ref())?;
        if r.sync_anchor.as_deref().is_none_or(|a| a.trim().is_empty()) {
            return Err(fault(ErrorCode::InvalidParameters, "syncAnchor"));
        }
        let since = upstream::read_anchor(r.deployment_anchor.as_deref())
            .map_err(|_| fault(ErrorCode::InvalidParameters, "deploymentAnchor"))?;
        let now = now_ms();
        let store = &self.state.store;
        // Only a replica calls GetDeployments: that is how it declares itself.
        let known = store
            .touch_downstream(s.dss_id, now, Some(true))
            .await
            .map_err(internal)?;
        let snap = self.state.scan.snapshot().await.map_err(internal)?;
        let groups = store.list_groups().await.map_err(internal)?;
        let approvals = store.all_approvals().await.map_err(internal)?;
        let declined: Vec<Uuid> = store
            .list_declined()
            .await
            .map_err(internal)?
            .into_iter()
            .map(|d| d.update_id)
            .collect();
        let declined_set: HashSet<Uuid> = declined.iter().copied().collect();
        let records: Vec<upstream::ApprovalRecord> = approvals
            .iter()
            .map(|a| upstream::ApprovalRecord {
                update_id: a.update_id,
                group_id: a.group_id,
                action: a.action,
                deadline: a.deadline,
                approved_by: a.approved_by.clone(),
                approved_at: a.approved_at,
            })
            .collect();
        let upstream::ReplicaDeployments { current, changed: deployments } =
            upstream::replica_deployments(&snap.index, &records, &declined_set, since);
        let dead_deployments = if known {
            let previous = store.sent_deployments(s.dss_id).await.map_err(internal)?;
            let now_set: HashSet<Uuid> = current.iter().copied().collect();
            store
                .set_sent_deployments(s.dss_id, &current)
                .await
                .map_err(internal)?;
            previous
                .into_iter()
                .filter(|g| !now_set.contains(g))
                .collect()
        } else {
            Vec::new()
        };
        let install: HashSet<Uuid> = approvals
            .iter()
            .filter(|a| a.action == ApprovalAction::Install)
            .map(|a| a.update_id)
            .collect();
        let accepted_eulas = self.accepted_eulas(&snap, &install).await?;
        Ok(WResponse::GetDeployments(wss::ServerSyncDeploymentResult {
            anchor: Some(anchor_at(current.len().min(u32::MAX as usize) as u32, now)),
            groups: groups
                .iter()
                .map(|g| wss::ServerSyncTargetGroup {
                    target_group_id: g.id,
                    parent_group_id: g.parent_id.unwrap_or_default(),
                    name: g.name.clone(),
                    is_builtin: g.built_in,
                })
                .collect(),
            deployments,
            dead_deployments,
            hidden_updates: declined,
            accepted_eulas,
        }))
    }

    /// Updates whose license terms were accepted here (the replica needs it to install them).
    /// Only updates approved for install are looked at: those are the ones a replica installs.
    async fn accepted_eulas(
        &self,
        snap: &crate::scan_state::Snapshot,
        install: &HashSet<Uuid>,
    ) -> Result<Vec<Uuid>, Fault> {
        let accepted = self.state.store.revisions_with_accepted_license().await.map_err(internal)?;
        Ok(snap
            .index
            .entries
            .iter()
            .filter(|e| e.has_eula && install.contains(&e.update_id) && accepted.contains(&i64::from(e.revision_id)))
            .map(|e| e.update_id)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn protocol_versions() {
        assert_eq!(is_protocol_version("1.20"), Some((1, 20)));
        assert_eq!(is_protocol_version("2.0"), Some((2, 0)));
        for bad in ["", "1", "1.", ".1", "1.2.3", "x.y", "1.-2"] {
            assert_eq!(is_protocol_version(bad), None, "{bad}");
        }
    }

    #[test]
    fn account_names() {
        assert!(is_account_name("dss1.contoso.local"));
        assert!(!is_account_name("a b"));
        assert!(!is_account_name(""));
        assert!(!is_account_name("<x>"));
    }

    #[test]
    fn routes_rollup_operations_only_on_the_reporting_path() {
        let mut h = HeaderMap::new();
        assert_eq!(
            route("/ServerSyncWebService/ServerSyncWebService.asmx", &h),
            Some(Service::ServerSync)
        );
        assert_eq!(
            route("//dssauthwebservice/DSSAUTHWEBSERVICE.asmx", &h),
            Some(Service::DssAuth)
        );
        assert_eq!(
            route("/ReportingWebService/ReportingWebService.asmx", &h),
            None
        );
        h.insert(
            "soapaction",
            HeaderValue::from_static(
                "\"http://www.microsoft.com/SoftwareDistribution/RollupComputers\"",
            ),
        );
        assert_eq!(
            route("/ReportingWebService/ReportingWebService.asmx", &h),
            Some(Service::Reporting)
        );
        h.insert(
            "soapaction",
            HeaderValue::from_static("\"http://www.microsoft.com/SoftwareDistribution/Server/ReportingWebService/ReportEventBatch\""),
        );
        assert_eq!(
            route("/ReportingWebService/ReportingWebService.asmx", &h),
            None
        );
        assert_eq!(route("/ClientWebService/client.asmx", &h), None);
    }
}
