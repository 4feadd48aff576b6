//! The MS-WUSP services on the client listener: ClientWebService, SimpleAuthWebService and
//! ReportingWebService, answered as a real WSUS answers them.
//!
//! Request bytes are decoded by `sluice-soap`, evaluated against the scan snapshot
//! (`sluice-decide`), and encoded back; responses are xpress-compressed when the client asks.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sluice_catalog::targeting::TargetingMode;
use sluice_decide::events;
use sluice_decide::unix_ms;
use sluice_decide::cookie::{AuthCookie, ClientCookie, CookieError, COOKIE_LIFETIME};
use sluice_decide::index::Entry;
use sluice_decide::scope::Deployment;
use sluice_decide::sync::{sync_updates, SyncQuery, MAX_INSTALLED_NON_LEAF};
use sluice_soap as soap;
use sluice_soap::{ErrorCode, Fault, Request as SoapRequest, Service};
use sluice_store::{NewComputer, UpdateStatus};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::body_budget::BodyError;
use crate::client_limits;
use crate::scan_state::{ScanState, Snapshot};
use crate::soap_edge::SoapEdge;
use crate::AppState;

/// Largest ClientWebService request accepted. Real requests stay under 100 KB (the largest
/// captured, a SyncUpdates of a driver pass with 70 devices, is 67 KB); the big ones are
/// SyncUpdates with long cached-update id lists, about 20 bytes an id, so 4 MiB leaves room for
/// some 200,000 ids.
pub const MAX_SOAP_REQUEST: usize = 4 * 1024 * 1024;

/// Largest SimpleAuth request: GetAuthorizationCookie is about 1 KB (client id, DNS name, the
/// TargetGroup policy's names); 256 KiB also lets over-long names reach the check that names
/// them in its fault.
pub const MAX_SIMPLE_AUTH_REQUEST: usize = 256 * 1024;

/// Largest ReportingWebService request: ReportEventBatch carries many events with free-text
/// fields (the spec's example batches are 5–10 KB for a handful of events), and a client that
/// was offline for long sends a backlog.
pub const MAX_REPORTING_REQUEST: usize = 8 * 1024 * 1024;

/// How much past those limits is still read and thrown away so the fault reaches WinHTTP.
pub const MAX_DISCARDED_BODY: usize = crate::body_budget::MAX_DISCARDED_BODY;

/// GetExtendedUpdateInfo accepts at most this many revision ids (advertised in GetConfig).
pub const MAX_EXTENDED_UPDATES_PER_REQUEST: usize = 50;

/// Locales of one GetExtendedUpdateInfo(2) request that are looked up, in the client's order
/// (native clients send two, `en-US` and `en`); the rest are ignored. English always is.
pub const MAX_LOCALES_PER_REQUEST: usize = 16;

/// Largest GetExtendedUpdateInfo(2) answer built. 50 revisions with every fragment type in
/// two languages stay under 8 MiB on Microsoft's catalog; past this the request asked for
/// something no client needs, and is refused before the bytes are assembled.
pub const MAX_EXTENDED_ANSWER_BYTES: usize = 32 * 1024 * 1024;

/// File digests one GetFileLocations may name: a client asks for the files of the updates it
/// is about to download (a handful); each digest costs an answer entry.
pub const MAX_FILE_DIGESTS_PER_REQUEST: usize = 1_000;

/// Update identities one RefreshCache may name: the client sends its whole metadata cache
/// (a few thousand on a Windows 11 machine), each costing one answer entry.
pub const MAX_REFRESH_CACHE_IDS: usize = 50_000;

/// Revision ids a SyncUpdates may list as cached (OtherCachedUpdateIDs, CachedDriverIDs): a
/// Windows 11 client sends about 3,300; a catalog of Microsoft Update's size stays far below.
pub const MAX_CACHED_IDS: usize = 200_000;

/// Category ids a SyncUpdates may filter on: native clients send one product per category scan.
pub const MAX_FILTER_CATEGORY_IDS: usize = 1_000;

/// Events one ReportEventBatch may carry. WUA flushes its event store in small batches (the
/// real captures hold two or three events per batch after a scan), so a batch beyond this is
/// not a client's; it is refused whole rather than truncated, so nothing of it is half applied.
pub const MAX_EVENTS_PER_BATCH: usize = 1_000;

/// Keeps the first occurrence of each element: repeated entries in a request array name the
/// same thing and must not multiply the work or the answer.
fn dedup_in_order<T: Eq + std::hash::Hash + Clone>(items: Vec<T>) -> Vec<T> {
    let mut seen = HashSet::with_capacity(items.len());
    items.into_iter().filter(|x| seen.insert(x.clone())).collect()
}

/// Request array bound check: the fault names the parameter, as WSUS's InvalidParameters does.
fn bounded<T>(items: Vec<T>, max: usize, service: Service, name: &str) -> Result<Vec<T>, Fault> {
    if items.len() > max {
        return Err(fault(ErrorCode::InvalidParameters, service, name));
    }
    Ok(items)
}

/// The fragment types of a GetExtendedUpdateInfo(2) request that the server answers, each once:
/// a type named twice would send every fragment twice (and a thousand repeats a thousand
/// times), and types outside the WSDL enumeration are ignored as WSUS ignores them.
fn known_fragment_types(types: Vec<soap::FragmentType>) -> Vec<soap::FragmentType> {
    dedup_in_order(types.into_iter().filter(|t| !matches!(t, soap::FragmentType::Other(_))).collect())
}

/// Counts the bytes of an answer as it is assembled and refuses it once it would pass
/// [`MAX_EXTENDED_ANSWER_BYTES`], before more memory is committed.
struct AnswerBudget {
    used: usize,
    service: Service,
    parameter: &'static str,
}

impl AnswerBudget {
    fn new(service: Service, parameter: &'static str) -> Self {
        AnswerBudget { used: 0, service, parameter }
    }

    fn spend(&mut self, bytes: usize) -> Result<(), Fault> {
        self.used = self.used.saturating_add(bytes);
        if self.used > MAX_EXTENDED_ANSWER_BYTES {
            return Err(fault(ErrorCode::InvalidParameters, self.service, self.parameter));
        }
        Ok(())
    }
}

/// Which service a request path names (case-insensitively, as IIS does).
pub fn service_for_path(path: &str) -> Option<Service> {
    match path.to_ascii_lowercase().as_str() {
        "/clientwebservice/client.asmx" => Some(Service::Client),
        "/simpleauthwebservice/simpleauth.asmx" => Some(Service::SimpleAuth),
        "/reportingwebservice/reportingwebservice.asmx" | "/reportingwebservice/webservice.asmx" => {
            Some(Service::Reporting)
        }
        _ => None,
    }
}

/// The service's name in logs and metrics.
fn service_label(service: Service) -> &'static str {
    match service {
        Service::Client => "client",
        Service::SimpleAuth => "simple_auth",
        Service::Reporting => "reporting",
    }
}

/// The largest request body each service accepts.
fn body_limit(service: Service) -> usize {
    match service {
        Service::Client => MAX_SOAP_REQUEST,
        Service::SimpleAuth => MAX_SIMPLE_AUTH_REQUEST,
        Service::Reporting => MAX_REPORTING_REQUEST,
    }
}

/// The serialisation (and so the HTTP headers) of each service: WCF for the client web
/// service, ASMX for the other two.
fn style(service: Service) -> sluice_soap_core::Style {
    match service {
        Service::Client => sluice_soap_core::Style::Client,
        Service::SimpleAuth | Service::Reporting => sluice_soap_core::Style::Asmx,
    }
}

/// Entry point for every request on the client listener that is not content.
pub async fn handle(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request) -> Response {
    // Downstream servers (MS-WSUSSS): Server Sync, DSS authorization and the rollup operations.
    if let Some(s) = crate::server_sync::route(req.uri().path(), req.headers()) {
        return crate::server_sync::handle(state, peer, req, s).await;
    }
    let Some(service) = service_for_path(req.uri().path()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let edge = match SoapEdge::open(&req, style(service), service_label(service), &state) {
        Ok(edge) => edge,
        Err(refused) => return *refused,
    };
    let fault_out =
        |fault: &Fault| edge.respond_fault(fault.http_status(), soap::encode_fault(fault), fault.error_code.as_str());
    let body = match edge.read_body(req.into_body(), body_limit(service)).await {
        Ok(b) => b,
        // A busy budget is `ServerBusy`, which the client retries later, as against a busy WSUS.
        Err(e) => {
            let code = if e == BodyError::Busy { ErrorCode::ServerBusy } else { ErrorCode::InvalidParameters };
            return fault_out(&Fault::new(code, service).with_message(e.to_string()));
        }
    };
    let request = match soap::decode_request(&body) {
        Ok(r) => r,
        Err(e) => return fault_out(&e.to_fault(service)),
    };
    let op = request.operation();
    edge.operation(op.name());
    if op.service() != service {
        return fault_out(
            &Fault::new(ErrorCode::InvalidParameters, service).with_message(format!("{op:?} is not an operation of this service")),
        );
    }
    let ctx = Ctx { state: &state, base: edge.base().to_owned(), peer };
    match ctx.dispatch(request).await {
        Ok(bytes) => edge.respond(StatusCode::OK.as_u16(), bytes),
        Err(fault) => {
            let fault = if fault.method.is_none() { fault.with_method(op.quoted_soap_action()) } else { fault };
            if fault.error_code == ErrorCode::InternalServerError {
                tracing::error!(operation = ?op, message = %fault.message, "client request failed");
            }
            fault_out(&fault)
        }
    }
}

struct Ctx<'a> {
    state: &'a AppState,
    /// `scheme://host[:port]` of the content URLs handed out (`origin.rs`).
    base: String,
    peer: SocketAddr,
}

fn internal(e: impl std::fmt::Display) -> Fault {
    Fault::new(ErrorCode::InternalServerError, Service::Client).with_message(e.to_string())
}

fn fault(code: ErrorCode, service: Service, message: impl Into<String>) -> Fault {
    Fault::new(code, service).with_message(message)
}

fn cookie_fault(e: CookieError, service: Service) -> Fault {
    let code = match e {
        CookieError::Invalid => ErrorCode::InvalidCookie,
        CookieError::Expired => ErrorCode::CookieExpired,
        CookieError::ServerChanged => ErrorCode::ServerChanged,
    };
    Fault::new(code, service)
}

/// Clients below protocol 1.8 must not get the AutoSelect/AutoDownload/SupersedenceBehavior
/// trio (MS-WUSP 2.2.2.2.4).
fn supports_auto_fields(protocol: &str) -> bool {
    let mut it = protocol.split('.').map(|p| p.trim().parse::<u32>().unwrap_or(0));
    let (major, minor) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    (major, minor) >= (1, 8)
}

fn soap_deployment(d: &Deployment, protocol: &str) -> soap::Deployment {
    let mut out = soap::Deployment::new(d.id, d.action, d.last_change.date());
    out.is_assigned = d.is_assigned;
    out.deadline = d.deadline.map(soap::format_datetime);
    if !supports_auto_fields(protocol) {
        out.auto_select = None;
        out.auto_download = None;
        out.supersedence_behavior = None;
    }
    out
}

fn update_info<'e>(e: &'e Entry, d: &Deployment, protocol: &str) -> soap::UpdateInfo<'e> {
    soap::UpdateInfo { id: e.revision_id, deployment: soap_deployment(d, protocol), is_leaf: e.is_leaf, xml_escaped: &e.core }
}

impl Ctx<'_> {
    fn scan(&self) -> &ScanState {
        &self.state.scan
    }

    async fn snapshot(&self) -> Result<Arc<Snapshot>, Fault> {
        self.scan().snapshot().await.map_err(internal)
    }

    /// Opens and checks a client cookie as SyncUpdates and friends require.
    fn open_cookie(&self, cookie: Option<&soap::Cookie>, service: Service) -> Result<ClientCookie, Fault> {
        let data = cookie
            .and_then(|c| c.encrypted_data.as_deref())
            .filter(|d| !d.is_empty())
            .ok_or_else(|| fault(ErrorCode::InvalidCookie, service, "cookie"))?;
        let c = self.scan().keys.open_client(data, OffsetDateTime::now_utc()).map_err(|e| cookie_fault(e, service))?;
        if c.config_last_change_ms != unix_ms(self.scan().config_last_change()) {
            return Err(Fault::new(ErrorCode::ConfigChanged, service));
        }
        Ok(c)
    }

    fn new_cookie(&self, c: &ClientCookie) -> soap::NewCookie {
        soap::NewCookie { expiration: soap::format_datetime(c.expires_at), encrypted_data: self.scan().keys.seal_client(c) }
    }

    /// The computer's groups under the targeting mode in force. `registered_since`: the
    /// caller read from the store that the computer is registered, since that cache
    /// generation, so what is read here may be kept for its next pages.
    async fn groups_of(&self, snap: &Snapshot, c: &ClientCookie, registered_since: Option<u64>) -> Result<Vec<Uuid>, Fault> {
        let server_side = snap.mode == TargetingMode::Server;
        let cache = &self.scan().computers;
        let assigned = match cache.assigned(&c.computer_id, server_side) {
            Some(assigned) => assigned,
            None => {
                let assigned: Vec<Uuid> = if server_side {
                    self.state.store.computer_groups(&c.computer_id).await.map_err(internal)?.into_iter().map(|g| g.id).collect()
                } else {
                    Vec::new()
                };
                if let Some(generation) = registered_since {
                    cache.remember(generation, &c.computer_id, server_side, assigned.clone());
                }
                assigned
            }
        };
        let requested = c.requested_groups.join(";");
        Ok(snap.targeting.groups_of(snap.mode, &assigned, Some(&requested)))
    }

    /// Refuses a computer that is not registered. `Some(generation)` when the store was read
    /// (the cache generation before the read), `None` when the computer was seen lately.
    async fn require_registered(&self, c: &ClientCookie, service: Service) -> Result<Option<u64>, Fault> {
        let cache = &self.scan().computers;
        if cache.is_registered(&c.computer_id) {
            return Ok(None);
        }
        let generation = cache.generation();
        match self.state.store.get_computer(&c.computer_id).await.map_err(internal)? {
            Some(_) => Ok(Some(generation)),
            None => Err(Fault::new(ErrorCode::RegistrationRequired, service)),
        }
    }

    async fn dispatch(&self, req: SoapRequest) -> Result<Vec<u8>, Fault> {
        match req {
            SoapRequest::GetConfig(_) => Ok(self.get_config()),
            SoapRequest::GetAuthorizationCookie(r) => self.get_authorization_cookie(r),
            SoapRequest::GetCookie(r) => self.get_cookie(r),
            SoapRequest::RegisterComputer(r) => self.register_computer(r).await,
            SoapRequest::StartCategoryScan(r) => self.start_category_scan(r).await,
            SoapRequest::SyncUpdates(r) => self.sync_updates(r).await,
            SoapRequest::SyncPrinterCatalog(r) => {
                let c = self.open_cookie(r.cookie.as_ref(), Service::Client)?;
                let info = soap::SyncInfo { new_cookie: Some(self.new_cookie(&c)), ..Default::default() };
                Ok(soap::encode_sync_printer_catalog_response(&info))
            }
            SoapRequest::RefreshCache(r) => self.refresh_cache(r).await,
            SoapRequest::GetExtendedUpdateInfo(r) => self.get_extended_update_info(r).await,
            SoapRequest::GetExtendedUpdateInfo2(r) => self.get_extended_update_info2(r).await,
            SoapRequest::GetFileLocations(r) => self.get_file_locations(r).await,
            SoapRequest::ReportEventBatch(r) => {
                let c = self.open_cookie(r.cookie.as_ref(), Service::Reporting)?;
                self.report_events(&c.computer_id, &c.requested_groups, &r.events).await?;
                Ok(soap::encode_report_event_batch_response(true))
            }
            SoapRequest::ReportEventBatch2(_) => {
                // ReportEventBatch2 carries no cookie, only a computerId: it is in the Reporting
                // WSDL ([MS-WUSP] 6.3) but has no processing rules in 3.1.5, while
                // ReportEventBatch requires "a valid cookie, issued by this server" (3.1.5.11).
                // Computer ids are not secrets (they travel in rollups and logs), so nothing
                // here proves who is reporting: the batch is acknowledged, so a client that
                // sends it does not retry forever, and changes nothing.
                Ok(soap::encode_report_event_batch2_response(true))
            }
        }
    }

    fn get_config(&self) -> Vec<u8> {
        let config = soap::ConfigResponse {
            last_change: soap::format_datetime(self.scan().config_last_change()),
            is_registration_required: true,
            auth_plugins: vec![soap::AuthPlugInInfo {
                plugin_id: "SimpleTargeting".into(),
                service_url: "SimpleAuthWebService/SimpleAuth.asmx".into(),
                parameter: Some(String::new()),
            }],
            allowed_event_ids: None,
            properties: vec![
                ("MaxExtendedUpdatesPerRequest".into(), MAX_EXTENDED_UPDATES_PER_REQUEST.to_string()),
                ("ProtocolVersion".into(), "3.2".into()),
                ("IsInventoryRequired".into(), "0".into()),
                ("ClientReportingLevel".into(), "2".into()),
            ],
        };
        soap::encode_get_config_response(&config)
    }

    fn get_authorization_cookie(&self, r: soap::GetAuthorizationCookieRequest) -> Result<Vec<u8>, Fault> {
        let s = Service::SimpleAuth;
        let client_id = r.client_id.filter(|c| !c.trim().is_empty()).ok_or_else(|| fault(ErrorCode::InvalidParameters, s, "clientId"))?;
        let dns_name = r.dns_name.filter(|d| !d.trim().is_empty()).ok_or_else(|| fault(ErrorCode::InvalidParameters, s, "dnsName"))?;
        // Everything here is sealed into the cookie and comes back on every call: bounded to
        // what WSUS stores for it, refused (not truncated) past that.
        client_limits::check_client_id(&client_id).map_err(|e| fault(ErrorCode::InvalidParameters, s, e.field))?;
        client_limits::check_dns_name(&dns_name).map_err(|e| fault(ErrorCode::InvalidParameters, s, e.field))?;
        let requested_groups = client_limits::target_group_names(r.target_group_name.as_deref().unwrap_or_default())
            .map_err(|_| fault(ErrorCode::InvalidParameters, s, "targetGroupName"))?;
        let data = self.scan().keys.seal_auth(&AuthCookie {
            computer_id: client_id.trim().to_string(),
            dns_name,
            requested_groups,
            issued_at: OffsetDateTime::now_utc(),
        });
        Ok(soap::encode_get_authorization_cookie_response(&soap::AuthorizationCookie {
            plugin_id: Some("SimpleTargeting".into()),
            cookie_data: Some(data),
        }))
    }

    fn get_cookie(&self, r: soap::GetCookieRequest) -> Result<Vec<u8>, Fault> {
        let s = Service::Client;
        // Expired, foreign or forged alike: the client answers InvalidAuthorizationCookie by
        // asking SimpleAuth for a new one ([MS-WUSP] 3.1.5.4).
        let issued = OffsetDateTime::now_utc();
        let auth = r
            .auth_cookies
            .iter()
            .find_map(|a| a.cookie_data.as_deref().and_then(|d| self.scan().keys.open_auth(d, issued).ok()))
            .ok_or_else(|| fault(ErrorCode::InvalidAuthorizationCookie, s, "authCookies"))?;
        let protocol = r.protocol_version.unwrap_or_default();
        if !is_protocol_version(&protocol) {
            return Err(fault(ErrorCode::InvalidParameters, s, "protocolVersion"));
        }
        let config_ms = match r.last_change.as_deref().and_then(soap::parse_datetime) {
            Some(t) => unix_ms(t),
            None => unix_ms(self.scan().config_last_change()),
        };
        // Whole milliseconds, as the sealed cookie keeps them: every NewCookie then repeats this
        // answer's Expiration exactly, as real WSUS does.
        let now = OffsetDateTime::now_utc();
        let now = now.replace_nanosecond(now.millisecond() as u32 * 1_000_000).unwrap_or(now);
        // State carries over from an earlier cookie of the same computer, expired or not (the
        // native client sends an oldCookie holding only an Expiration the first time: no
        // state). An oldCookie this server did not issue is refused, not ignored ([MS-WUSP]
        // 3.1.5.4): the client then runs RefreshCache, because the revision ids it cached
        // name other updates here.
        let old = match r.old_cookie.as_ref().and_then(|c| c.encrypted_data.as_deref()).filter(|d| !d.is_empty()) {
            Some(d) => Some(self.scan().keys.open_client_any_age(d).map_err(|e| cookie_fault(e, s).with_message("oldCookie"))?),
            None => None,
        };
        let (watermark, groups_digest) = old
            .filter(|old| old.computer_id == auth.computer_id)
            .map(|old| (old.deployment_watermark_ms, old.groups_digest))
            .unwrap_or((0, 0));
        let cookie = ClientCookie {
            computer_id: auth.computer_id,
            requested_groups: auth.requested_groups,
            protocol_version: protocol,
            config_last_change_ms: config_ms,
            issued_at: now,
            expires_at: now + COOKIE_LIFETIME,
            deployment_watermark_ms: watermark,
            groups_digest,
        };
        Ok(soap::encode_get_cookie_response(&self.new_cookie(&cookie)))
    }

    async fn register_computer(&self, r: soap::RegisterComputerRequest) -> Result<Vec<u8>, Fault> {
        let c = self.open_cookie(r.cookie.as_ref(), Service::Client)?;
        let info = r.computer_info.unwrap_or_default();
        client_limits::check_computer_info(&info)
            .map_err(|e| fault(ErrorCode::InvalidParameters, Service::Client, format!("computerInfo.{}", e.field)))?;
        let client_version = match (info.client_version_major_number, info.client_version_minor_number, info.client_version_build_number, info.client_version_qfe_number) {
            (Some(a), Some(b), Some(c2), Some(d)) => Some(format!("{a}.{b}.{c2}.{d}")),
            _ => None,
        };
        let extra = serde_json::json!({
            "processor_architecture": info.processor_architecture,
            "suite_mask": info.suite_mask,
            "old_product_type": info.old_product_type,
            "new_product_type": info.new_product_type,
            "oem": info.oem,
            "device_type": info.device_type,
            "firmware_version": info.firmware_version,
            "requested_target_groups": c.requested_groups,
        });
        let computer = NewComputer {
            id: c.computer_id.clone(),
            dns_name: info.dns_name.clone(),
            ip_address: Some(self.peer.ip().to_string()),
            os_description: info.os_description.clone(),
            os_major: info.os_major_version,
            os_minor: info.os_minor_version,
            os_build: info.os_build_number,
            os_revision: None,
            os_service_pack: info.os_service_pack_major_number.map(|m| format!("{m}.{}", info.os_service_pack_minor_number.unwrap_or(0))),
            locale: info.os_locale.clone(),
            manufacturer: info.computer_manufacturer.clone(),
            model: info.computer_model.clone(),
            bios_name: info.bios_name.clone(),
            bios_version: info.bios_version.clone(),
            bios_release_date: info.bios_release_date.clone(),
            client_version,
            extra: extra.to_string(),
        };
        let store = &self.state.store;
        // A re-registration may change the computer's groups: its next pages read them anew,
        // unless this registration records them below.
        let cache = &self.scan().computers;
        cache.forget(&c.computer_id);
        let generation = cache.generation();
        store.upsert_computer(&computer).await.map_err(internal)?;
        let snap = self.snapshot().await?;
        // Record where the computer belongs now, so administrators see it in its groups: the
        // named groups under client-side targeting, "Unassigned Computers" until an
        // administrator moves it under server-side targeting.
        let current = store.computer_groups(&c.computer_id).await.map_err(internal)?;
        let groups = match snap.mode {
            TargetingMode::Client => Some(snap.targeting.groups_of(snap.mode, &[], Some(&c.requested_groups.join(";")))),
            TargetingMode::Server if current.is_empty() => Some(vec![sluice_store::UNASSIGNED_COMPUTERS_GROUP]),
            TargetingMode::Server => None,
        };
        if let Some(groups) = &groups {
            store.set_computer_groups(&c.computer_id, groups).await.map_err(internal)?;
        }
        // Its first scan follows at once: what SyncUpdates would read is known now.
        if snap.mode == TargetingMode::Server {
            let assigned = groups.unwrap_or_else(|| current.iter().map(|g| g.id).collect());
            cache.remember(generation, &c.computer_id, true, assigned);
        } else {
            cache.remember(generation, &c.computer_id, false, Vec::new());
        }
        Ok(soap::encode_register_computer_response())
    }

    async fn start_category_scan(&self, r: soap::StartCategoryScanRequest) -> Result<Vec<u8>, Fault> {
        // Native clients call this without a cookie during OOBE scans.
        if r.requested_categories.len() >= 200 {
            return Err(fault(ErrorCode::InvalidParameters, Service::Client, "requestedCategories"));
        }
        let snap = self.snapshot().await?;
        let mut groups: std::collections::BTreeMap<i32, Vec<Uuid>> = Default::default();
        for c in &r.requested_categories {
            groups.entry(c.index_of_and_group).or_default().push(c.category_id);
        }
        let mut out = soap::StartCategoryScanResponse::default();
        for members in groups.values() {
            let types: Vec<Option<&str>> = members
                .iter()
                .map(|m| snap.index.entry_of_update(m).and_then(|i| snap.index.entries[i].category_type.as_deref().or(Some(""))))
                .collect();
            if types.iter().any(|t| t.is_none()) {
                out.requested_category_ids_in_error.extend(members.iter().zip(&types).filter(|(_, t)| t.is_none()).map(|(m, _)| *m));
                continue;
            }
            let products: Vec<Uuid> = members.iter().zip(&types).filter(|(_, t)| **t != Some("UpdateClassification")).map(|(m, _)| *m).collect();
            let classifications = members.len() - products.len();
            if products.len() == 1 && classifications <= 1 {
                if !out.preferred_category_ids.contains(&products[0]) {
                    out.preferred_category_ids.push(products[0]);
                }
            } else {
                // Any other shape cannot be narrowed to products: no preference at all.
                out.preferred_category_ids.clear();
                break;
            }
        }
        Ok(soap::encode_start_category_scan_response(&out))
    }

    async fn sync_updates(&self, r: soap::SyncUpdatesRequest) -> Result<Vec<u8>, Fault> {
        let _scanning = self.state.metrics.scan_started();
        let s = Service::Client;
        let mut c = self.open_cookie(r.cookie.as_ref(), s)?;
        let registered_since = self.require_registered(&c, s).await?;
        if r.installed_non_leaf_update_ids.len() > MAX_INSTALLED_NON_LEAF {
            return Err(fault(ErrorCode::InvalidParameters, s, "parameters.InstalledNonLeafUpdateIDs"));
        }
        if r.other_cached_update_ids.len() > MAX_CACHED_IDS {
            return Err(fault(ErrorCode::InvalidParameters, s, "parameters.OtherCachedUpdateIDs"));
        }
        if r.cached_driver_ids.len() > MAX_CACHED_IDS {
            return Err(fault(ErrorCode::InvalidParameters, s, "parameters.CachedDriverIDs"));
        }
        if r.filter_category_ids.len() > MAX_FILTER_CATEGORY_IDS {
            return Err(fault(ErrorCode::InvalidParameters, s, "parameters.FilterCategoryIds"));
        }
        if r.system_spec.is_some() && !r.skip_software_sync {
            return Err(fault(ErrorCode::InvalidParameters, s, "parameters.SystemSpec"));
        }
        let snap = self.snapshot().await?;
        let groups = self.groups_of(&snap, &c, registered_since).await?;
        let deployments = snap.deployments_for(&groups);
        // Moved to other groups since the last page: what the client cached was decided for
        // the old ones, so every deployment it holds goes out again, however old.
        let groups_digest = sluice_decide::cookie::groups_digest(&groups);
        let watermark_ms = if c.groups_digest == groups_digest { c.deployment_watermark_ms } else { 0 };
        let outcome = sync_updates(
            &snap.index,
            &deployments,
            &SyncQuery {
                installed_non_leaf: &r.installed_non_leaf_update_ids,
                other_cached: &r.other_cached_update_ids,
                skip_software_sync: r.skip_software_sync,
                cached_driver_ids: &r.cached_driver_ids,
                filter_category_ids: &r.filter_category_ids,
                need_two_group_out_of_scope: r.need_two_group_out_of_scope_updates,
                watermark_ms,
            },
        );
        // A scan is a dozen SyncUpdates pages; record the sync time once, when the pass ends
        // (the last software page, or the driver pass), not with a database write per page.
        if outcome.new_updates.is_empty() && !outcome.truncated {
            match self.state.store.touch_computer_sync(&c.computer_id, OffsetDateTime::now_utc()).await {
                Ok(()) => {}
                // Removed since its registration was last read (by another server sharing the
                // database): the client registers again, as on a page that read the store.
                Err(e) if e.is_not_found() => {
                    self.scan().computers.forget(&c.computer_id);
                    return Err(Fault::new(ErrorCode::RegistrationRequired, s));
                }
                Err(e) => return Err(internal(e)),
            }
        }
        c.deployment_watermark_ms = outcome.new_watermark_ms;
        c.groups_digest = groups_digest;
        let protocol = c.protocol_version.clone();
        let info_of = |i: &usize| -> Option<soap::UpdateInfo<'_>> {
            let d = deployments[*i].as_ref()?;
            Some(update_info(&snap.index.entries[*i], d, &protocol))
        };
        let info = soap::SyncInfo {
            new_updates: outcome.new_updates.iter().filter_map(info_of).collect(),
            out_of_scope_revision_ids: outcome.out_of_scope,
            changed_updates: outcome.changed_updates.iter().filter_map(info_of).collect(),
            truncated: outcome.truncated,
            new_cookie: Some(self.new_cookie(&c)),
            deployed_out_of_scope_revision_ids: r.need_two_group_out_of_scope_updates.then_some(outcome.deployed_out_of_scope),
            driver_sync_not_needed: Some(outcome.driver_sync_not_needed),
        };
        Ok(soap::encode_sync_updates_response(&info))
    }

    async fn refresh_cache(&self, r: soap::RefreshCacheRequest) -> Result<Vec<u8>, Fault> {
        let s = Service::Client;
        let c = self.open_cookie(r.cookie.as_ref(), s)?;
        let global_ids = dedup_in_order(bounded(r.global_ids, MAX_REFRESH_CACHE_IDS, s, "globalIDs")?);
        let snap = self.snapshot().await?;
        let deployments = snap.deployments_for(&self.groups_of(&snap, &c, None).await?);
        let mut results = Vec::new();
        for g in &global_ids {
            let Some(i) = snap.index.entry_of_update(&g.update_id) else { continue };
            let e = &snap.index.entries[i];
            let Some(d) = &deployments[i] else { continue };
            // Real WSUS leaves bundle children out; the client then re-syncs them.
            if e.revision_number != g.revision_number || d.action == soap::DeploymentAction::Bundle {
                continue;
            }
            results.push(soap::RefreshCacheResult {
                revision_id: e.revision_id,
                global_id: soap::UpdateIdentity { update_id: e.update_id, revision_number: e.revision_number },
                is_leaf: e.is_leaf,
                deployment: soap_deployment(d, &c.protocol_version),
            });
        }
        Ok(soap::encode_refresh_cache_response(&results))
    }

    fn content_url(&self, snap: &Snapshot, file: &sluice_decide::index::FileRef) -> String {
        if snap.source == sluice_decide::scope::FileSource::MicrosoftUpdate {
            if let Some(u) = &file.mu_url {
                return u.clone();
            }
        }
        let path = sluice_content::relative_url_path(&file.sha1, &file.file_name)
            .unwrap_or_else(|_| sluice_content::relative_url_path(&file.sha1, "").unwrap_or_default());
        format!("{}/{path}", self.base)
    }

    async fn get_extended_update_info(&self, r: soap::GetExtendedUpdateInfoRequest) -> Result<Vec<u8>, Fault> {
        let s = Service::Client;
        let c = self.open_cookie(r.cookie.as_ref(), s)?;
        let revision_ids = bounded(dedup_in_order(r.revision_ids), MAX_EXTENDED_UPDATES_PER_REQUEST, s, "revisionIDs")?;
        let info_types = known_fragment_types(r.info_types);
        if info_types.is_empty() {
            return Err(fault(ErrorCode::InvalidParameters, s, "infoTypes"));
        }
        let snap = self.snapshot().await?;
        let deployments = snap.deployments_for(&self.groups_of(&snap, &c, None).await?);
        let mut in_scope = Vec::new();
        let mut out_of_scope = Vec::new();
        for id in &revision_ids {
            match snap.index.entry_of_revision(*id) {
                Some(i) if deployments[i].is_some() => in_scope.push(i),
                _ => out_of_scope.push(*id),
            }
        }
        let fetched = self.fetch_stored_fragments(&snap, &in_scope, &info_types, &r.locales).await?;
        let mut answer = AnswerBudget::new(s, "revisionIDs");
        let mut updates: Vec<soap::UpdateData<'_>> = Vec::new();
        let mut file_locations = Vec::new();
        let mut seen_files = HashSet::new();
        // Real WSUS groups the answer by fragment type, in the order the client asked.
        for t in &info_types {
            for &i in &in_scope {
                let e = &snap.index.entries[i];
                let bytes: &[u8] = match t {
                    soap::FragmentType::Core => &e.core,
                    soap::FragmentType::Extended => {
                        for f in &e.files {
                            if seen_files.insert(f.sha1) {
                                let url = self.content_url(&snap, f);
                                answer.spend(url.len())?;
                                file_locations.push(soap::FileLocation { file_digest: f.sha1, url });
                            }
                        }
                        &e.extended
                    }
                    _ => continue,
                };
                answer.spend(bytes.len())?;
                updates.push(soap::UpdateData { id: e.revision_id, xml_escaped: bytes });
            }
            for (i, kind, bytes) in &fetched {
                if kind == t {
                    answer.spend(bytes.len())?;
                    updates.push(soap::UpdateData { id: snap.index.entries[*i].revision_id, xml_escaped: bytes });
                }
            }
        }
        let info = soap::ExtendedUpdateInfo { updates, file_locations, out_of_scope_revision_ids: out_of_scope };
        Ok(soap::encode_get_extended_update_info_response(&info))
    }

    /// LocalizedProperties and Eula fragments: English from the index, other languages from
    /// the store (the index keeps only English to stay small).
    async fn fetch_stored_fragments(
        &self,
        snap: &Snapshot,
        entries: &[usize],
        types: &[soap::FragmentType],
        locales: &[String],
    ) -> Result<Vec<(usize, soap::FragmentType, sluice_decide::index::Bytes)>, Fault> {
        let mut langs: Vec<String> = Vec::new();
        // Every language costs a store query per revision: a hostile list of thousands would
        // keep the server busy for minutes, so only the client's first few count.
        let requested = locales
            .iter()
            .map(|l| l.trim().to_ascii_lowercase())
            .filter(|l| !l.is_empty() && l.len() <= 16)
            .take(MAX_LOCALES_PER_REQUEST);
        for l in requested.chain(std::iter::once("en".to_string())) {
            if l.is_empty() || l.len() > 16 {
                continue;
            }
            let base = l.split('-').next().unwrap_or("").to_string();
            for cand in [l, base] {
                if !cand.is_empty() && !langs.contains(&cand) {
                    langs.push(cand);
                }
            }
        }
        let mut out = Vec::new();
        for t in types {
            let kind = match t {
                soap::FragmentType::LocalizedProperties => sluice_store::FragmentKind::Localized,
                soap::FragmentType::Eula => sluice_store::FragmentKind::Eula,
                _ => continue,
            };
            for &i in entries {
                let e = &snap.index.entries[i];
                let mut found_langs = HashSet::new();
                for lang in &langs {
                    let bytes = if lang == "en" && kind == sluice_store::FragmentKind::Localized {
                        e.localized_en.clone()
                    } else if kind == sluice_store::FragmentKind::Eula && !e.has_eula {
                        None
                    } else {
                        self.state
                            .store
                            .fragment(e.revision_id as i64, kind, lang)
                            .await
                            .map_err(internal)?
                            .map(|f| sluice_decide::index::escape_fragment(&f))
                    };
                    if let Some(b) = bytes {
                        if found_langs.insert(lang.clone()) {
                            out.push((i, t.clone(), b));
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    async fn get_extended_update_info2(&self, r: soap::GetExtendedUpdateInfo2Request) -> Result<Vec<u8>, Fault> {
        let s = Service::Client;
        let c = self.open_cookie(r.cookie.as_ref(), s)?;
        let update_ids = bounded(dedup_in_order(r.update_ids), MAX_EXTENDED_UPDATES_PER_REQUEST, s, "updateIDs")?;
        let info_types = known_fragment_types(r.info_types);
        let snap = self.snapshot().await?;
        let deployments = snap.deployments_for(&self.groups_of(&snap, &c, None).await?);
        let mut entries: Vec<usize> = update_ids
            .iter()
            .filter_map(|g| snap.index.entry_of_update(&g.update_id))
            .filter(|i| deployments[*i].is_some())
            .collect();
        // Two revisions of one update name the same index entry.
        entries = dedup_in_order(entries);
        let fetched = self.fetch_stored_fragments(&snap, &entries, &info_types, &r.locales).await?;
        let mut answer = AnswerBudget::new(s, "updateIDs");
        let mut updates = Vec::new();
        let mut file_locations = Vec::new();
        for t in &info_types {
            for &i in &entries {
                let e = &snap.index.entries[i];
                let bytes: &[u8] = match t {
                    soap::FragmentType::Core => &e.core,
                    soap::FragmentType::Extended => &e.extended,
                    soap::FragmentType::FileUrl => {
                        for f in &e.files {
                            let url = self.content_url(&snap, f);
                            answer.spend(url.len())?;
                            file_locations.push(soap::FileLocation { file_digest: f.sha1, url });
                        }
                        continue;
                    }
                    _ => continue,
                };
                answer.spend(bytes.len())?;
                updates.push(soap::UpdateData { id: e.revision_id, xml_escaped: bytes });
            }
            for (i, kind, bytes) in &fetched {
                if kind == t {
                    answer.spend(bytes.len())?;
                    updates.push(soap::UpdateData { id: snap.index.entries[*i].revision_id, xml_escaped: bytes });
                }
            }
        }
        Ok(soap::encode_get_extended_update_info2_response(&soap::ExtendedUpdateInfo2 { updates, file_locations }))
    }

    async fn get_file_locations(&self, r: soap::GetFileLocationsRequest) -> Result<Vec<u8>, Fault> {
        let s = Service::Client;
        let c = self.open_cookie(r.cookie.as_ref(), s)?;
        let digests = bounded(r.file_digests, MAX_FILE_DIGESTS_PER_REQUEST, s, "fileDigests")?;
        let mut wanted = HashSet::new();
        for d in &digests {
            let d: [u8; 20] = d.as_slice().try_into().map_err(|_| fault(ErrorCode::InvalidParameters, s, "fileDigests"))?;
            wanted.insert(d);
        }
        let snap = self.snapshot().await?;
        let mut file_locations = Vec::new();
        for e in &snap.index.entries {
            for f in &e.files {
                if wanted.remove(&f.sha1) {
                    file_locations.push(soap::FileLocation { file_digest: f.sha1, url: self.content_url(&snap, f) });
                }
            }
        }
        Ok(soap::encode_get_file_locations_response(&soap::GetFileLocationsResults {
            file_locations,
            new_cookie: Some(self.new_cookie(&c)),
        }))
    }

    /// Stores what a batch of reporting events changes (`sluice_decide::events`): the
    /// computer's scope is read only when a summary needs it, one row is written per update.
    /// A batch of more than [`MAX_EVENTS_PER_BATCH`] events is refused whole.
    async fn report_events(&self, computer_id: &str, requested_groups: &[String], events: &[soap::ReportingEvent]) -> Result<(), Fault> {
        let store = &self.state.store;
        let now = OffsetDateTime::now_utc();
        if events.len() > MAX_EVENTS_PER_BATCH {
            return Err(fault(ErrorCode::InvalidParameters, Service::Reporting, "eventBatch"));
        }
        if store.get_computer(computer_id).await.map_err(internal)?.is_none() {
            return Err(Fault::new(ErrorCode::RegistrationRequired, Service::Reporting));
        }
        let snap = self.snapshot().await?;
        let scope = if events::needs_scope(events) {
            let assigned: Vec<Uuid> = match snap.mode {
                TargetingMode::Server => store.computer_groups(computer_id).await.map_err(internal)?.into_iter().map(|g| g.id).collect(),
                TargetingMode::Client => Vec::new(),
            };
            let groups = snap.targeting.groups_of(snap.mode, &assigned, Some(&requested_groups.join(";")));
            let reported = store.status_for_computer(computer_id).await.map_err(internal)?;
            Some(events::StatusScope::new(&snap.targeting, &groups, reported.into_iter().map(|r| (r.update_id, r.state))))
        } else {
            None
        };
        let changes: Vec<UpdateStatus> = events::status_changes(&snap.index, &snap.targeting, events, scope.as_ref(), now)
            .into_iter()
            .map(|c| UpdateStatus {
                computer_id: computer_id.to_string(),
                update_id: c.update_id,
                revision_number: c.revision_number,
                state: c.state,
                last_event_time: c.at,
                last_event_id: Some(c.event_id.to_string()),
            })
            .collect();
        store.set_update_statuses(&changes).await.map_err(internal)?;
        store.touch_computer_report(computer_id, now).await.map_err(internal)?;
        Ok(())
    }
}

/// A two-part numeric version such as `1.8` or `2.90`.
fn is_protocol_version(v: &str) -> bool {
    let parts: Vec<&str> = v.trim().split('.').collect();
    (2..=4).contains(&parts.len()) && parts.iter().all(|p| !p.is_empty() && p.len() <= 9 && p.chars().all(|c| c.is_ascii_digit()))
}
