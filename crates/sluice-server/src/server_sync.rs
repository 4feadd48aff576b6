//! Sluice as an UPSTREAM server (MS-WSUSSS): the Server Sync, DSS authorization and reporting
//! rollup services on the client listener, answering downstream servers (Sluice or real WSUS)
//! the way a real WSUS upstream does.
//!
//! Choices, where the protocol leaves room:
//!
//! - **Cookies.** The authorization cookie and the session cookie are sealed with the server's
//!   client-cookie key (`CookieKeys::seal_for`, own purposes) over small versioned records
//!   naming this server, the downstream's id and the issue time (and for the session cookie
//!   its expiry, 240 minutes as real WSUS, and the protocol version). Another server's cookie,
//!   a tampered or truncated one → `InvalidCookie`; an expired one → `CookieExpired`.
//! - **Anchors** are WSUS-shaped (`counter,yyyy-MM-dd HH:mm:ss.fff`). For GetRevisionIdList the
//!   counter is the highest revision id of the catalog at the time of the answer: revision ids
//!   are the store's never-reused, increasing ids, committed in increasing order even with
//!   concurrent importers (the store serialises ingest transactions on PostgreSQL), so "added
//!   after the anchor" is "id above the counter". An unreadable anchor → `InvalidParameters`
//!   (`filter`), as real WSUS; a counter above the catalog's highest id (another server's
//!   anchor) gets a full list. The deployment anchor's time says which approvals changed
//!   since.
//! - **Filters**: the configuration pass lists categories and detectoids; the update pass lists
//!   software and driver updates carrying at least one listed product AND one listed
//!   classification anywhere in their prerequisites (both lists absent: everything; one absent
//!   or empty: nothing), plus the bundle and prerequisite closure of what matched, bundled
//!   children before their bundles. With an anchor, an id whose `Delta` is false brings all its
//!   revisions again; otherwise only revisions added after the anchor are listed.
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
//!   registered here (see [`Ctx::reporter`]); the downstream's identity comes from it.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use sha2::{Digest, Sha256};
use sluice_scan::cookie::CookieError;
use sluice_scan::index::Kind;
use sluice_store::downstreams::{
    DownstreamComputer, DownstreamContact, DownstreamRollup, DownstreamUpdateStatus,
};
use sluice_store::{ApprovalAction, FileState};
use sluice_soap_core::Style;
use sluice_wsusss as wss;
use sluice_wsusss::{
    Cookie, ErrorCode, Fault, Operation, Request as WRequest, Response as WResponse, Service,
    SyncAnchor, ToFault, UpdateIdentity,
};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
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
pub const COOKIE_LIFETIME: time::Duration = time::Duration::minutes(240);
/// Protocol version announced in GetConfigData (WSUS 10).
pub const PROTOCOL_VERSION: &str = "1.20";

/// Rollup batch limits (Windows values).
const ROLLUP_SERVERS_MAX: usize = 5_000;
const ROLLUP_COMPUTERS_MAX: usize = 1_500;
const OUT_OF_SYNC_MAX: usize = 20_000;
const ROLLUP_STATUS_MAX: usize = 500;

const PURPOSE_AUTH: &str = "wsusss dss authorization cookie";
const PURPOSE_SESSION: &str = "wsusss session cookie";
const RECORD_VERSION: u8 = 1;

/// No deadline, as WSUS writes it.
const NO_DEADLINE: &str = "9999-12-31T23:59:59.9999999";

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
    let edge = match SoapEdge::open(&req, Style::Asmx) {
        Ok(edge) => edge,
        Err(refused) => return *refused,
    };
    let host = edge.host().map(str::to_string);
    // Real WSUS names the faulting service's URL as `faultactor`.
    let actor = format!(
        "http://{}{}",
        host.clone().unwrap_or_else(|| state.client_addr.to_string()),
        service.path()
    );
    let fault_out = |f: Fault| {
        let f = if f.fault_actor.is_none() { f.with_actor(actor.clone()) } else { f };
        edge.respond(f.http_status(), wss::encode_fault(&f))
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
    if op.service() != service {
        return fault_out(
            Fault::for_operation(ErrorCode::InvalidParameters, op)
                .with_message(format!("{} is not an operation of this service", op.name())),
        );
    }
    let ctx = Ctx { state: &state, host, peer };
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

fn fault(code: ErrorCode, message: impl Into<String>) -> Fault {
    Fault::new(code).with_message(message)
}

fn internal(e: impl std::fmt::Display) -> Fault {
    // The detail stays in the log; the downstream gets the code only.
    tracing::error!(error = %e, "upstream service failure");
    Fault::new(ErrorCode::InternalServerError)
}

fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn from_ms(v: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(v as i128 * 1_000_000).ok()
}

/// Now, at whole milliseconds (cookies and anchors keep milliseconds).
fn now_ms() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.millisecond() as u32 * 1_000_000)
        .unwrap_or(now)
}

fn primitive(t: OffsetDateTime) -> PrimitiveDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    PrimitiveDateTime::new(t.date(), t.time())
}

fn anchor_at(counter: u32, t: OffsetDateTime) -> String {
    SyncAnchor {
        counter,
        time: primitive(t),
    }
    .to_string()
}

/// A wire date-time, `None` for .NET's unset value (year 1) and unreadable ones.
fn wire_time(s: &str) -> Option<OffsetDateTime> {
    wss::parse_datetime(s).filter(|t| t.year() > 1 && t.year() < 9999)
}

// ------------------------------------------------------------------ cookies

/// What the session cookie proves about the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub dss_id: Uuid,
    pub protocol_version: String,
    pub expires_at: OffsetDateTime,
}

struct RecordReader<'a>(&'a [u8]);

impl<'a> RecordReader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn uuid(&mut self) -> Option<Uuid> {
        Uuid::from_slice(self.take(16)?).ok()
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn string(&mut self) -> Option<String> {
        let n = u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

fn push_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
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

struct Ctx<'a> {
    state: &'a AppState,
    host: Option<String>,
    peer: SocketAddr,
}

impl Ctx<'_> {
    fn keys(&self) -> &sluice_scan::cookie::CookieKeys {
        &self.state.scan.keys
    }

    fn seal_auth(&self, dss_id: Uuid, name: &str, at: OffsetDateTime) -> Vec<u8> {
        let mut r = vec![RECORD_VERSION];
        r.extend_from_slice(self.keys().server_id().as_bytes());
        r.extend_from_slice(dss_id.as_bytes());
        r.extend_from_slice(&ms(at).to_le_bytes());
        push_string(&mut r, name);
        self.keys().seal_for(PURPOSE_AUTH, &r)
    }

    fn open_auth(&self, sealed: &[u8]) -> Option<Uuid> {
        let plain = self.keys().open_for(PURPOSE_AUTH, sealed).ok()?;
        let mut r = RecordReader(&plain);
        if r.take(1)? != [RECORD_VERSION] || r.uuid()? != self.keys().server_id() {
            return None;
        }
        let dss = r.uuid()?;
        r.i64()?;
        r.string()?;
        Some(dss)
    }

    fn seal_session(&self, s: &Session, issued: OffsetDateTime) -> Cookie {
        let mut r = vec![RECORD_VERSION];
        r.extend_from_slice(self.keys().server_id().as_bytes());
        r.extend_from_slice(s.dss_id.as_bytes());
        r.extend_from_slice(&ms(issued).to_le_bytes());
        r.extend_from_slice(&ms(s.expires_at).to_le_bytes());
        push_string(&mut r, &s.protocol_version);
        Cookie {
            expiration: wss::format_datetime(s.expires_at),
            encrypted_data: self.keys().seal_for(PURPOSE_SESSION, &r),
        }
    }

    /// Opens and checks the session cookie of a Server Sync call.
    // Fault is the error of every handler here, answered once per request: its size is moot.
    #[allow(clippy::result_large_err)]
    fn session(&self, cookie: Option<&Cookie>) -> Result<Session, Fault> {
        let data = cookie
            .map(|c| c.encrypted_data.as_slice())
            .filter(|d| !d.is_empty())
            .ok_or_else(|| Fault::new(ErrorCode::InvalidCookie))?;
        let plain = self
            .keys()
            .open_for(PURPOSE_SESSION, data)
            .map_err(|e| match e {
                CookieError::Expired => Fault::new(ErrorCode::CookieExpired),
                _ => Fault::new(ErrorCode::InvalidCookie),
            })?;
        let bad = || Fault::new(ErrorCode::InvalidCookie);
        let mut r = RecordReader(&plain);
        if r.take(1).ok_or_else(bad)? != [RECORD_VERSION] {
            return Err(bad());
        }
        if r.uuid().ok_or_else(bad)? != self.keys().server_id() {
            return Err(Fault::new(ErrorCode::ServerChanged));
        }
        let dss_id = r.uuid().ok_or_else(bad)?;
        let _issued = r.i64().ok_or_else(bad)?;
        let expires_at = r.i64().and_then(from_ms).ok_or_else(bad)?;
        let protocol_version = r.string().ok_or_else(bad)?;
        if expires_at <= OffsetDateTime::now_utc() {
            return Err(Fault::new(ErrorCode::CookieExpired));
        }
        Ok(Session {
            dss_id,
            protocol_version,
            expires_at,
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
                cookie_data: self.seal_auth(dss_id, &name, now),
            },
        ))
    }

    async fn get_cookie(&self, r: wss::GetCookieRequest) -> Result<WResponse, Fault> {
        if r.auth_cookies.len() != 1 {
            return Err(fault(ErrorCode::InvalidParameters, "authCookies"));
        }
        let dss_id = self
            .open_auth(&r.auth_cookies[0].cookie_data)
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
        Ok(WResponse::GetCookie(self.seal_session(&s, now)))
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
        let current = r
            .config_anchor
            .as_deref()
            .and_then(SyncAnchor::parse)
            .is_some_and(|a| a.time >= primitive(self.state.scan.config_last_change()));
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
            language_update_list: if current { Vec::new() } else { languages() },
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
        let since: i64 = match filter
            .anchor
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            Some(a) => {
                SyncAnchor::parse(a)
                    .ok_or_else(|| fault(ErrorCode::InvalidParameters, "filter"))?
                    .counter as i64
            }
            None => -1,
        };
        let snap = self.state.scan.snapshot().await.map_err(internal)?;
        let index = &snap.index;
        let now = now_ms();
        let top = index
            .entries
            .iter()
            .map(|e| e.revision_id)
            .max()
            .unwrap_or(0)
            .max(0) as u32;
        // Counters issued here never exceed the catalog's highest revision id (ids are never
        // reused): a higher one comes from another server or a former database, and gets the
        // answer of a first sync rather than silently missing revisions.
        let since = if since > i64::from(top) { -1 } else { since };
        let anchor = Some(anchor_at(top, now));
        let (matched, forced): (Vec<usize>, Vec<usize>) = if filter.get_config {
            let all: Vec<usize> = index
                .entries
                .iter()
                .enumerate()
                .filter(|(_, e)| matches!(e.kind, Kind::Category | Kind::Detectoid))
                .map(|(i, _)| i)
                .collect();
            (all, Vec::new())
        } else {
            match (&filter.categories, &filter.classifications) {
                (None, None) => (
                    index
                        .entries
                        .iter()
                        .enumerate()
                        .filter(|(_, e)| matches!(e.kind, Kind::Software | Kind::Driver))
                        .map(|(i, _)| i)
                        .collect(),
                    Vec::new(),
                ),
                (Some(p), Some(c)) if !p.is_empty() && !c.is_empty() => {
                    let products: HashMap<Uuid, bool> = p.iter().map(|x| (x.id, x.delta)).collect();
                    let classes: HashMap<Uuid, bool> = c.iter().map(|x| (x.id, x.delta)).collect();
                    let mut matched = Vec::new();
                    let mut forced = Vec::new();
                    for (i, e) in index.entries.iter().enumerate() {
                        if !matches!(e.kind, Kind::Software | Kind::Driver) {
                            continue;
                        }
                        let ids: HashSet<Uuid> = e
                            .prerequisites
                            .iter()
                            .flatten()
                            .chain(e.categories.iter())
                            .copied()
                            .collect();
                        let hit_p: Vec<bool> = ids
                            .iter()
                            .filter_map(|id| products.get(id).copied())
                            .collect();
                        let hit_c: Vec<bool> = ids
                            .iter()
                            .filter_map(|id| classes.get(id).copied())
                            .collect();
                        if hit_p.is_empty() || hit_c.is_empty() {
                            continue;
                        }
                        matched.push(i);
                        if hit_p.iter().chain(hit_c.iter()).any(|delta| !delta) {
                            forced.push(i);
                        }
                    }
                    (matched, forced)
                }
                _ => (Vec::new(), Vec::new()),
            }
        };
        let (full, forced) = if filter.get_config {
            (matched, HashSet::new())
        } else {
            (
                closure(index, &matched),
                closure(index, &forced).into_iter().collect(),
            )
        };
        let selected: HashSet<usize> = full
            .into_iter()
            .filter(|i| i64::from(index.entries[*i].revision_id) > since || forced.contains(i))
            .collect();
        let new_revisions = ordered(index, &selected)
            .into_iter()
            .map(|i| {
                UpdateIdentity::new(index.entries[i].update_id, index.entries[i].revision_number)
            })
            .collect();
        Ok(WResponse::GetRevisionIdList(wss::RevisionIdList {
            anchor,
            new_revisions,
        }))
    }

    fn uss_url(&self, sha1: &[u8; 20], file_name: &str) -> String {
        let path = sluice_content::relative_url_path(sha1, file_name)
            .or_else(|_| sluice_content::relative_url_path(sha1, ""))
            .unwrap_or_default();
        let host = self
            .host
            .clone()
            .unwrap_or_else(|| self.state.client_addr.to_string());
        format!("http://{host}/{path}")
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
        let since = match r
            .deployment_anchor
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            Some(a) => Some(
                SyncAnchor::parse(a)
                    .ok_or_else(|| fault(ErrorCode::InvalidParameters, "deploymentAnchor"))?,
            ),
            None => None,
        };
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
        let mut current = Vec::new();
        let mut deployments = Vec::new();
        for a in &approvals {
            if declined_set.contains(&a.update_id) {
                continue;
            }
            let Some(i) = snap.index.entry_of_update(&a.update_id) else {
                continue;
            };
            let e = &snap.index.entries[i];
            let guid = derived_uuid(&[
                b"deployment",
                a.update_id.as_bytes(),
                a.group_id.as_bytes(),
                &ms(a.approved_at).to_le_bytes(),
                &e.revision_number.to_le_bytes(),
            ]);
            current.push(guid);
            if since.is_some_and(|anchor| primitive(a.approved_at) <= anchor.time) {
                continue;
            }
            deployments.push(wss::ServerSyncDeployment {
                update_id: a.update_id,
                revision_number: e.revision_number,
                // WSUS UpdateApprovalAction numbering (0 install, 1 uninstall); an explicit
                // "not approved" goes out as 2, the detect-only deployment WSUS keeps for it.
                action: match a.action {
                    ApprovalAction::Install => 0,
                    ApprovalAction::Uninstall => 1,
                    ApprovalAction::NotApproved => 2,
                },
                admin_name: a.approved_by.clone(),
                deadline: a
                    .deadline
                    .map(wss::format_datetime)
                    .unwrap_or_else(|| NO_DEADLINE.into()),
                is_assigned: a.action != ApprovalAction::NotApproved,
                go_live_time: wss::format_datetime(a.approved_at),
                deployment_guid: guid,
                target_group_id: a.group_id,
                download_priority: 1,
            });
        }
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

    /// The downstream server a reporting call comes from: the one its session cookie names,
    /// which must be registered here (it called GetAuthorizationCookie).
    ///
    /// MS-WSUSSS reserves the rollups' `cookie` and has the downstream send a fixed empty one,
    /// and a WSUS upstream believes the server ids in the body. That lets anyone who reaches
    /// the client port write servers, computers and update states into what the
    /// administrator sees, so Sluice departs from it: the four operations that store
    /// something require the session cookie of the Server Sync conversation (Sluice
    /// downstreams send it there). A WSUS downstream, which sends the fixed cookie, gets
    /// `InvalidCookie`; by the protocol that ends only its reporting step, never its sync.
    /// A valid cookie of a server no longer in the table gets `InvalidCookie` too: the
    /// downstream authorizes again, which registers it.
    // Fault is the error of every handler here, answered once per request: its size is moot.
    #[allow(clippy::result_large_err)]
    async fn reporter(&self, cookie: Option<&Cookie>) -> Result<Uuid, Fault> {
        let s = self.session(cookie)?;
        match self
            .state
            .store
            .get_downstream(s.dss_id)
            .await
            .map_err(internal)?
        {
            Some(_) => Ok(s.dss_id),
            None => Err(Fault::new(ErrorCode::InvalidCookie)),
        }
    }

    /// RollupDownstreamServers from `me` (the cookie's server). The entry a WSUS downstream
    /// writes for itself (ParentServerId nil, "my parent is you"; or this server's id) is
    /// stored as `me` whatever its ServerId says: the body cannot speak for another
    /// server. Any other entry is one of `me`'s own downstreams relayed up the hierarchy; it
    /// is taken only when its parent is `me` or a server already below `me`, and it may not
    /// name `me` or a server that is not below `me`. Anything else is refused, the whole
    /// batch with it (as WSUS refuses a batch naming a parent it does not know), so that a
    /// downstream cannot rewrite a server outside its own branch.
    async fn rollup_downstream_servers(
        &self,
        me: Uuid,
        r: wss::RollupDownstreamServersRequest,
    ) -> Result<WResponse, Fault> {
        let refused = || fault(ErrorCode::InvalidParameters, "downstreamServers");
        if r.downstream_servers.len() > ROLLUP_SERVERS_MAX {
            return Err(refused());
        }
        let this = self.keys().server_id();
        let mut own: Option<&wss::DownstreamServerRollupInfo> = None;
        let mut relayed: Vec<&wss::DownstreamServerRollupInfo> = Vec::new();
        for s in &r.downstream_servers {
            if s.server_id.is_nil() {
                return Err(refused());
            }
            let direct = s.parent_server_id.is_nil() || s.parent_server_id == this;
            if direct || s.server_id == me {
                if own.replace(s).is_some() {
                    return Err(refused());
                }
            } else {
                relayed.push(s);
            }
        }
        let mut accepted: Vec<&wss::DownstreamServerRollupInfo> = Vec::new();
        if !relayed.is_empty() {
            let parents: HashMap<Uuid, Option<Uuid>> = self
                .state
                .store
                .list_downstreams()
                .await
                .map_err(internal)?
                .into_iter()
                .map(|d| (d.id, d.parent_server_id))
                .collect();
            let below_me = |id: Uuid| {
                let mut seen = HashSet::new();
                let mut cur = id;
                while seen.insert(cur) {
                    match parents.get(&cur).copied().flatten() {
                        Some(p) if p == me => return true,
                        Some(p) => cur = p,
                        None => return false,
                    }
                }
                false
            };
            let mut branch: HashSet<Uuid> =
                parents.keys().copied().filter(|id| below_me(*id)).collect();
            branch.insert(me);
            // Entries may come children first: take what fits until nothing more does.
            let mut pending = relayed;
            loop {
                let before = pending.len();
                let (fit, rest): (Vec<_>, Vec<_>) = pending.into_iter().partition(|s| {
                    branch.contains(&s.parent_server_id)
                        && s.server_id != me
                        && (!parents.contains_key(&s.server_id) || branch.contains(&s.server_id))
                });
                for s in &fit {
                    branch.insert(s.server_id);
                }
                accepted.extend(fit);
                pending = rest;
                if pending.is_empty() {
                    break;
                }
                if pending.len() == before {
                    return Err(refused());
                }
            }
        }
        let rollups: Vec<DownstreamRollup> = own
            .map(|s| (me, None, s))
            .into_iter()
            .chain(
                accepted
                    .into_iter()
                    .map(|s| (s.server_id, Some(s.parent_server_id), s)),
            )
            .map(|(id, parent_server_id, s)| DownstreamRollup {
                id,
                full_domain_name: s.full_domain_name.clone().filter(|n| !n.trim().is_empty()),
                parent_server_id,
                version: s.version.clone(),
                is_replica: s.is_replica,
                last_sync_time: wire_time(&s.last_sync_time),
                summary: Some(summary_json(s)),
            })
            .collect();
        // Everything is checked before the first row is written: a refused entry stores
        // nothing of the batch.
        for rollup in &rollups {
            sluice_store::downstreams::check_rollup(rollup).map_err(|_| refused())?;
        }
        let now = OffsetDateTime::now_utc();
        for rollup in &rollups {
            self.state
                .store
                .record_downstream_rollup(rollup, now)
                .await
                .map_err(internal)?;
        }
        Ok(WResponse::RollupDownstreamServers)
    }

    /// RollupComputers from `me`. Every computer is stored under `me`: the per-computer
    /// ParentServerId is not believed, since the cookie is what proves who is reporting. It
    /// is ignored rather than refused because a WSUS hierarchy puts a relaying downstream's
    /// own downstreams there; their computers are then listed under the server that vouches
    /// for them.
    async fn rollup_computers(
        &self,
        me: Uuid,
        r: wss::RollupComputersRequest,
    ) -> Result<WResponse, Fault> {
        if r.computers.len() > ROLLUP_COMPUTERS_MAX {
            return Err(fault(ErrorCode::InvalidParameters, "computers"));
        }
        let refused = || fault(ErrorCode::InvalidParameters, "computers");
        let now = OffsetDateTime::now_utc();
        let mut computers = Vec::with_capacity(r.computers.len());
        for c in &r.computers {
            let Some(id) = c.computer_id.clone().filter(|i| !i.trim().is_empty()) else {
                return Err(refused());
            };
            let d = c.details.clone().unwrap_or_default();
            let details = serde_json::json!({
                "os_major_version": d.os_major_version,
                "os_minor_version": d.os_minor_version,
                "os_build_number": d.os_build_number,
                "os_service_pack": format!("{}.{}", d.os_service_pack_major_number, d.os_service_pack_minor_number),
                "os_locale": d.os_locale,
                "os_family": d.os_family,
                "computer_make": d.computer_make,
                "computer_model": d.computer_model,
                "bios_name": d.bios_name,
                "bios_version": d.bios_version,
                "bios_release_date": d.bios_release_date,
                "processor_architecture": d.processor_architecture,
                "suite_mask": d.suite_mask,
                "new_product_type": d.new_product_type,
                "target_group_ids": d.target_group_id_list,
                "requested_target_group_names": d.requested_target_group_names,
                "last_reported_reboot_time": c.last_reported_reboot_time,
                "last_inventory_time": c.last_inventory_time,
            });
            let computer = DownstreamComputer {
                server_id: me,
                computer_id: id,
                full_domain_name: d.full_domain_name.clone(),
                ip_address: d.ip_address.clone(),
                os_description: d.os_description.clone(),
                os_version: c.details.as_ref().map(|d| {
                    format!(
                        "{}.{}.{}",
                        d.os_major_version, d.os_minor_version, d.os_build_number
                    )
                }),
                client_version: d.client_version.clone(),
                last_sync_time: wire_time(&c.last_sync_time),
                last_sync_result: c.last_sync_result,
                last_reported_status_time: wire_time(&c.last_reported_status_time),
                rollup_number: None,
                last_rollup_time: now,
                details: details.to_string(),
            };
            // Checked before the first row is written: a refused computer stores nothing.
            sluice_store::downstreams::check_computer(&computer).map_err(|_| refused())?;
            computers.push(computer);
        }
        for computer in &computers {
            self.state
                .store
                .upsert_downstream_computer(computer)
                .await
                .map_err(|e| match e {
                    // `me` was removed since its cookie was checked.
                    sluice_store::StoreError::NotFound(_) => Fault::new(ErrorCode::InvalidCookie),
                    other => internal(other),
                })?;
        }
        Ok(WResponse::RollupComputers(Vec::new()))
    }

    /// GetOutOfSyncComputers about `me`'s computers; `parentServerId` is not believed, as in
    /// [`Ctx::rollup_computers`].
    async fn get_out_of_sync_computers(
        &self,
        me: Uuid,
        r: wss::GetOutOfSyncComputersRequest,
    ) -> Result<WResponse, Fault> {
        if r.last_rollup_numbers.len() > OUT_OF_SYNC_MAX {
            return Err(fault(ErrorCode::InvalidParameters, "lastRollupNumbers"));
        }
        let stored: HashMap<String, Option<i32>> = self
            .state
            .store
            .list_downstream_computers(Some(me))
            .await
            .map_err(internal)?
            .into_iter()
            .map(|c| (c.computer_id, c.rollup_number))
            .collect();
        let out = r
            .last_rollup_numbers
            .iter()
            .filter(|n| stored.get(&n.computer_id).copied().flatten() != Some(n.rollup_number))
            .map(|n| n.computer_id.clone())
            .collect();
        Ok(WResponse::GetOutOfSyncComputers(out))
    }

    /// RollupComputerStatus of `me`'s computers; `parentServerId` is not believed, as in
    /// [`Ctx::rollup_computers`].
    async fn rollup_computer_status(
        &self,
        me: Uuid,
        r: wss::RollupComputerStatusRequest,
    ) -> Result<WResponse, Fault> {
        if r.computers.len() > ROLLUP_STATUS_MAX {
            return Err(fault(ErrorCode::InvalidParameters, "computers"));
        }
        for c in &r.computers {
            // Checked before the first row is written: a refused computer stores nothing.
            sluice_store::downstreams::check_computer_id(&c.computer_id)
                .map_err(|_| fault(ErrorCode::InvalidParameters, "computers"))?;
        }
        let now = OffsetDateTime::now_utc();
        for c in &r.computers {
            let statuses: Vec<DownstreamUpdateStatus> = c
                .update_status
                .iter()
                .flatten()
                .map(|s| DownstreamUpdateStatus {
                    update_id: s.update_id,
                    summarization_state: s.summarization_state,
                    last_change_time: wire_time(&s.last_change_time),
                })
                .collect();
            self.state
                .store
                .set_downstream_computer_status(
                    me,
                    &c.computer_id,
                    c.rollup_number,
                    c.is_full_rollup,
                    &statuses,
                    now,
                )
                .await
                .map_err(|e| match e {
                    // `me` was removed since its cookie was checked.
                    sluice_store::StoreError::NotFound(_) => Fault::new(ErrorCode::InvalidCookie),
                    sluice_store::StoreError::InvalidInput(_) => {
                        fault(ErrorCode::InvalidParameters, "computers")
                    }
                    other => internal(other),
                })?;
        }
        Ok(WResponse::RollupComputerStatus(true))
    }
}

/// A stable GUID from the SHA-256 of its parts.
fn derived_uuid(parts: &[&[u8]]) -> Uuid {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u32).to_le_bytes());
        h.update(p);
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    uuid::Builder::from_custom_bytes(b).into_uuid()
}

/// The matched entries plus everything they need: bundled children (all slots, all
/// alternatives, recursively) and software or driver prerequisites present in the catalog.
fn closure(index: &sluice_scan::index::CatalogIndex, roots: &[usize]) -> Vec<usize> {
    let mut seen: HashSet<usize> = HashSet::new();
    let mut stack: Vec<usize> = roots.to_vec();
    let mut out = Vec::new();
    while let Some(i) = stack.pop() {
        if !seen.insert(i) {
            continue;
        }
        out.push(i);
        let e = &index.entries[i];
        for child in e.bundled.iter().flatten() {
            if let Some(j) = index.entry_of_update(child) {
                stack.push(j);
            }
        }
        for p in e.prerequisites.iter().flatten() {
            if let Some(j) = index.entry_of_update(p)
                && matches!(index.entries[j].kind, Kind::Software | Kind::Driver)
            {
                stack.push(j);
            }
        }
    }
    out
}

/// The selected entries in the order a downstream can import them: bundled children before the
/// bundles that carry them, otherwise by revision id.
fn ordered(index: &sluice_scan::index::CatalogIndex, selected: &HashSet<usize>) -> Vec<usize> {
    let mut roots: Vec<usize> = selected.iter().copied().collect();
    roots.sort_by_key(|i| index.entries[*i].revision_id);
    let mut done: HashSet<usize> = HashSet::new();
    let mut out = Vec::with_capacity(roots.len());
    for root in roots {
        // Iterative post-order over bundled children within the selection.
        let mut stack: Vec<(usize, bool)> = vec![(root, false)];
        while let Some((i, expanded)) = stack.pop() {
            if done.contains(&i) {
                continue;
            }
            if expanded {
                done.insert(i);
                out.push(i);
                continue;
            }
            stack.push((i, true));
            let mut children: Vec<usize> = index.entries[i]
                .bundled
                .iter()
                .flatten()
                .filter_map(|c| index.entry_of_update(c))
                .filter(|j| selected.contains(j) && !done.contains(j) && *j != i)
                .collect();
            children.sort_by_key(|j| std::cmp::Reverse(index.entries[*j].revision_id));
            children.dedup();
            stack.extend(children.into_iter().map(|j| (j, false)));
        }
    }
    out
}

/// What `GET /api/v1/downstreams` shows of a downstream's ReportServerRollup.
fn summary_json(s: &wss::DownstreamServerRollupInfo) -> String {
    let server = s.server_summary.map(|m| sluice_api::DownstreamServerCounts {
        update_count: m.update_count,
        declined_update_count: m.declined_update_count,
        approved_update_count: m.approved_update_count,
        not_approved_update_count: m.not_approved_update_count,
        updates_with_stale_update_approvals_count: m.updates_with_stale_update_approvals_count,
        expired_update_count: m.expired_update_count,
        critical_or_security_updates_not_approved_for_install_count: m.critical_or_security_updates_not_approved_for_install_count,
        wsus_infrastructure_updates_not_approved_for_install_count: m.wsus_infrastructure_updates_not_approved_for_install_count,
        updates_with_client_errors_count: m.updates_with_client_errors_count,
        updates_with_server_errors_count: m.updates_with_server_errors_count,
        updates_needing_files_count: m.updates_needing_files_count,
        updates_needed_by_computers_count: m.updates_needed_by_computers_count,
        updates_up_to_date_count: m.updates_up_to_date_count,
        custom_computer_target_group_count: m.custom_computer_target_group_count,
        computer_target_count: m.computer_target_count,
        computer_targets_needing_updates_count: m.computer_targets_needing_updates_count,
        computer_targets_with_update_errors_count: m.computer_targets_with_update_errors_count,
        computers_up_to_date_count: m.computers_up_to_date_count,
    });
    let clients = s
        .client_summaries
        .iter()
        .flatten()
        .map(|c| sluice_api::DownstreamClientSummary {
            os_version: format!("{}.{}.{}", c.os_major_version, c.os_minor_version, c.os_build_number),
            os_locale: c.os_locale.clone(),
            processor_architecture: c.processor_architecture.clone(),
            count: c.count,
        })
        .collect();
    let summary = sluice_api::DownstreamSummary { server, clients, last_rollup_time_reported: s.last_rollup_time.clone() };
    // Plain structs of numbers and strings: serialising cannot fail.
    serde_json::to_string(&summary).unwrap_or_default()
}

/// The languages announced in GetConfigData: Microsoft Update's list, with "all" enabled, as
/// Microsoft Update announces it. Sluice keeps every document whole, with all its languages.
fn languages() -> Vec<wss::ServerSyncLanguageData> {
    const LIST: &[(i32, &str, &str)] = &[
        (0, "all", "all"),
        (1025, "ar", "Arabic"),
        (1026, "bg", "Bulgarian"),
        (1028, "zh-tw", "Chinese (Traditional)"),
        (1029, "cs", "Czech"),
        (1030, "da", "Danish"),
        (1031, "de", "German"),
        (1032, "el", "Greek"),
        (1033, "en", "English"),
        (1034, "es", "Spanish"),
        (1035, "fi", "Finnish"),
        (1036, "fr", "French"),
        (1037, "he", "Hebrew"),
        (1038, "hu", "Hungarian"),
        (1040, "it", "Italian"),
        (1041, "ja", "Japanese"),
        (1042, "ko", "Korean"),
        (1043, "nl", "Dutch"),
        (1044, "no", "Norwegian"),
        (1045, "pl", "Polish"),
        (1046, "pt-br", "Portuguese (Brazil)"),
        (1048, "ro", "Romanian"),
        (1049, "ru", "Russian"),
        (1050, "hr", "Croatian"),
        (1051, "sk", "Slovak"),
        (1053, "sv", "Swedish"),
        (1054, "th", "Thai"),
        (1055, "tr", "Turkish"),
        (1058, "uk", "Ukrainian"),
        (1060, "sl", "Slovenian"),
        (1061, "et", "Estonian"),
        (1062, "lv", "Latvian"),
        (1063, "lt", "Lithuanian"),
        (1081, "hi", "Hindi"),
        (2052, "zh-cn", "Chinese (Simplified)"),
        (2070, "pt", "Portuguese (Portugal)"),
        (2074, "sr", "Serbian (Latin)"),
        (3076, "zh-hk", "Chinese (Hong Kong S.A.R.)"),
        (66577, "ja-nec", "Japanese (NEC)"),
    ];
    LIST.iter()
        .map(|(id, short, long)| wss::ServerSyncLanguageData {
            language_id: *id,
            short_language: (*short).into(),
            long_language: (*long).into(),
            enabled: *id == 0,
        })
        .collect()
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
