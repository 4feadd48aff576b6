//! The SOAP client of the upstream: one POST per operation, encoded and decoded by
//! `sluice-wsusss`, with the session (authorization and cookie) kept here.

use std::time::Duration;

use sluice_wsusss::{
    AuthorizationCookie, ComputerRollupInfo, ComputerStatusRollupInfo, Cookie, DownstreamServerRollupInfo, ErrorCode,
    GetAuthorizationCookieRequest, GetConfigDataRequest, GetCookieRequest, GetDeploymentsRequest,
    GetRevisionIdListRequest, GetRollupConfigurationRequest, GetUpdateDataRequest, Operation, Request, Response,
    ResponseError, RevisionIdList, RollupComputerStatusRequest, RollupComputersRequest, RollupConfiguration,
    RollupDownstreamServersRequest, ServerSyncConfigData, ServerSyncDeploymentResult, ServerSyncFilter,
    ServerUpdateData, Service, UpdateIdentity,
};

use crate::settings::SyncSettings;
use crate::SyncError;

/// Protocol version a Windows Server 2016+ WSUS downstream sends.
const PROTOCOL_VERSION: &str = "1.20";
/// Largest SOAP response read into memory.
const MAX_BODY: usize = sluice_wsusss::MAX_RESPONSE_BYTES;

/// Builds the HTTP client shared by SOAP calls and downloads: timeouts and proxy from the
/// settings, so that an unreachable upstream fails within the configured time instead of
/// hanging a sync forever.
pub fn http_client(settings: &SyncSettings) -> Result<reqwest::Client, SyncError> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(settings.connect_timeout_secs))
        .read_timeout(Duration::from_secs(settings.read_timeout_secs))
        .user_agent(concat!("Sluice/", env!("CARGO_PKG_VERSION")));
    b = match &settings.proxy {
        Some(p) => b.proxy(reqwest::Proxy::all(p).map_err(|e| SyncError::Settings(format!("proxy: {e}")))?),
        None => b.no_proxy(),
    };
    if let Some(pem) = &settings.upstream_ca {
        b = b.tls_certs_merge(crate::settings::upstream_ca_certificates(pem)?);
    }
    b.build().map_err(|e| SyncError::Internal(format!("cannot build the HTTP client: {e}")))
}

/// A session with one upstream.
pub struct UpstreamClient {
    http: reqwest::Client,
    root: String,
    account_name: String,
    account_guid: String,
    cookie: Option<Cookie>,
    renew_at: Option<std::time::Instant>,
}

impl UpstreamClient {
    pub fn new(http: reqwest::Client, upstream: &str, account_name: String, account_guid: String) -> UpstreamClient {
        UpstreamClient { http, root: upstream.trim_end_matches('/').to_string(), account_name, account_guid, cookie: None, renew_at: None }
    }

    /// The name presented as `accountName`.
    pub fn account_name(&self) -> &str {
        &self.account_name
    }

    /// `root` + a relative or absolute path, without doubled slashes (real WSUS answers the
    /// doubled form too, but other upstreams need not).
    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            return path.to_string();
        }
        format!("{}/{}", self.root, path.trim_start_matches('/'))
    }

    async fn post(&self, url: &str, op: Operation, request: &Request) -> Result<Response, SyncError> {
        let body = sluice_wsusss::encode_request(request);
        let resp = self
            .http
            .post(url)
            .header("Content-Type", sluice_wsusss::CONTENT_TYPE)
            .header("SOAPAction", op.quoted_soap_action())
            .body(body)
            .send()
            .await
            .map_err(|e| SyncError::Network(format!("{} to {url}: {}", op_name(op), error_chain(&e))))?;
        let status = resp.status();
        let bytes = read_limited(resp, MAX_BODY)
            .await
            .map_err(|e| SyncError::Network(format!("{} to {url}: reading the answer: {e}", op_name(op))))?;
        match sluice_wsusss::decode_response(op, &bytes) {
            Ok(r) => Ok(r),
            Err(ResponseError::Fault(f)) => Err(SyncError::Fault { op: op_name(op), code: f.error_code.clone(), message: f.message.clone() }),
            Err(ResponseError::Decode(e)) => Err(SyncError::Protocol(format!(
                "{} to {url}: HTTP {status}, undecodable answer: {e}",
                op_name(op)
            ))),
        }
    }

    /// GetAuthConfig → GetAuthorizationCookie → GetCookie.
    pub async fn authenticate(&mut self) -> Result<(), SyncError> {
        let sync_url = self.url(Service::ServerSync.path());
        let Response::GetAuthConfig(config) = self.post(&sync_url, Operation::GetAuthConfig, &Request::GetAuthConfig).await? else {
            return Err(SyncError::Protocol("GetAuthConfig: unexpected answer".into()));
        };
        let plugin = config
            .auth_info
            .iter()
            .find(|p| p.plugin_id.eq_ignore_ascii_case("DssTargeting"))
            .or(config.auth_info.first())
            .ok_or_else(|| SyncError::Protocol("GetAuthConfig: the upstream offers no authorization plug-in".into()))?;
        let auth_url = if plugin.service_url.trim().is_empty() { self.url(Service::DssAuth.path()) } else { self.url(&plugin.service_url) };
        let req = Request::GetAuthorizationCookie(GetAuthorizationCookieRequest {
            account_name: self.account_name.clone(),
            account_guid: self.account_guid.clone(),
            program_keys: Vec::new(),
        });
        let Response::GetAuthorizationCookie(auth) = self.post(&auth_url, Operation::GetAuthorizationCookie, &req).await? else {
            return Err(SyncError::Protocol("GetAuthorizationCookie: unexpected answer".into()));
        };
        self.get_cookie(auth).await
    }

    async fn get_cookie(&mut self, auth: AuthorizationCookie) -> Result<(), SyncError> {
        let req = Request::GetCookie(GetCookieRequest {
            auth_cookies: vec![auth],
            old_cookie: self.cookie.take(),
            protocol_version: PROTOCOL_VERSION.to_string(),
        });
        let url = self.url(Service::ServerSync.path());
        let Response::GetCookie(cookie) = self.post(&url, Operation::GetCookie, &req).await? else {
            return Err(SyncError::Protocol("GetCookie: unexpected answer".into()));
        };
        // Renewed a minute early: a long first sync outlives a cookie (an hour at Microsoft
        // Update, four at WSUS). The lifetime is measured on our clock from now; an expiry
        // already past here means the clocks disagree, and then only the upstream's
        // CookieExpired fault (handled in `with_cookie`) can tell.
        self.renew_at = sluice_wsusss::parse_datetime(&cookie.expiration)
            .map(|t| t - time::OffsetDateTime::now_utc() - time::Duration::seconds(60))
            .filter(|d| d.is_positive())
            .and_then(|d| std::time::Duration::try_from(d).ok())
            .map(|d| std::time::Instant::now() + d);
        self.cookie = Some(cookie);
        Ok(())
    }

    /// Runs `call` with the session cookie; a cookie the upstream no longer accepts (expired
    /// during a long sync, or the upstream restarted) is renewed once.
    async fn with_cookie(&mut self, op: Operation, make: impl Fn(Option<Cookie>) -> Request) -> Result<Response, SyncError> {
        let url = self.url(Service::ServerSync.path());
        self.with_cookie_at(&url, op, make).await
    }

    async fn with_cookie_at(&mut self, url: &str, op: Operation, make: impl Fn(Option<Cookie>) -> Request) -> Result<Response, SyncError> {
        let stale = self.cookie.is_none() || self.renew_at.is_some_and(|at| at <= std::time::Instant::now());
        if stale {
            self.cookie = None;
            self.authenticate().await?;
        }
        match self.post(url, op, &make(self.cookie.clone())).await {
            Err(SyncError::Fault { code: ErrorCode::InvalidCookie | ErrorCode::CookieExpired | ErrorCode::InvalidAuthorizationCookie, .. }) => {
                self.cookie = None;
                self.authenticate().await?;
                self.post(url, op, &make(self.cookie.clone())).await
            }
            other => other,
        }
    }

    pub async fn config_data(&mut self) -> Result<ServerSyncConfigData, SyncError> {
        match self.with_cookie(Operation::GetConfigData, |cookie| Request::GetConfigData(GetConfigDataRequest { cookie, config_anchor: None })).await? {
            Response::GetConfigData(c) => Ok(c),
            _ => Err(SyncError::Protocol("GetConfigData: unexpected answer".into())),
        }
    }

    pub async fn revision_ids(&mut self, filter: ServerSyncFilter) -> Result<RevisionIdList, SyncError> {
        let r = self
            .with_cookie(Operation::GetRevisionIdList, |cookie| {
                Request::GetRevisionIdList(GetRevisionIdListRequest { cookie, filter: Some(filter.clone()) })
            })
            .await?;
        match r {
            Response::GetRevisionIdList(l) => Ok(l),
            _ => Err(SyncError::Protocol("GetRevisionIdList: unexpected answer".into())),
        }
    }

    pub async fn update_data(&mut self, ids: &[UpdateIdentity]) -> Result<ServerUpdateData, SyncError> {
        let r = self
            .with_cookie(Operation::GetUpdateData, |cookie| {
                Request::GetUpdateData(GetUpdateDataRequest { cookie, update_ids: ids.to_vec() })
            })
            .await?;
        match r {
            Response::GetUpdateData(d) => Ok(d),
            _ => Err(SyncError::Protocol("GetUpdateData: unexpected answer".into())),
        }
    }
}

impl UpstreamClient {
    /// GetDeployments (replicas): the upstream's groups, approvals (new since
    /// `deployment_anchor`, all without one), deleted approvals, declines and accepted EULAs.
    pub async fn deployments(&mut self, deployment_anchor: Option<String>, sync_anchor: String) -> Result<ServerSyncDeploymentResult, SyncError> {
        let r = self
            .with_cookie(Operation::GetDeployments, |cookie| {
                Request::GetDeployments(GetDeploymentsRequest {
                    cookie,
                    deployment_anchor: deployment_anchor.clone(),
                    sync_anchor: Some(sync_anchor.clone()),
                })
            })
            .await?;
        match r {
            Response::GetDeployments(d) => Ok(d),
            _ => Err(SyncError::Protocol("GetDeployments: unexpected answer".into())),
        }
    }

    /// A reporting call that stores something upstream, on the reporting service, with the
    /// session cookie. MS-WSUSSS reserves the `cookie` of these calls and fixes it (far
    /// expiry, no data), and a WSUS upstream validates only their arrays, so what it holds
    /// does not matter there; a Sluice upstream needs the session cookie to know which
    /// downstream is reporting, and refuses the fixed one.
    async fn report(&mut self, op: Operation, make: impl Fn(Option<Cookie>) -> Request) -> Result<Response, SyncError> {
        let url = self.url(Service::Reporting.path());
        self.with_cookie_at(&url, op, make).await
    }

    /// GetRollupConfiguration stores nothing: it carries the fixed cookie of the protocol.
    pub async fn rollup_configuration(&self) -> Result<RollupConfiguration, SyncError> {
        let req = Request::GetRollupConfiguration(GetRollupConfigurationRequest { cookie: Some(Cookie::reporting()) });
        let url = self.url(Service::Reporting.path());
        match self.post(&url, Operation::GetRollupConfiguration, &req).await? {
            Response::GetRollupConfiguration(c) => Ok(c),
            _ => Err(SyncError::Protocol("GetRollupConfiguration: unexpected answer".into())),
        }
    }

    pub async fn rollup_downstream_servers(&mut self, client_time: String, servers: Vec<DownstreamServerRollupInfo>) -> Result<(), SyncError> {
        let make = |cookie| {
            Request::RollupDownstreamServers(RollupDownstreamServersRequest {
                cookie,
                client_time: client_time.clone(),
                downstream_servers: servers.clone(),
            })
        };
        match self.report(Operation::RollupDownstreamServers, make).await? {
            Response::RollupDownstreamServers => Ok(()),
            _ => Err(SyncError::Protocol("RollupDownstreamServers: unexpected answer".into())),
        }
    }

    pub async fn rollup_computers(&mut self, client_time: String, computers: Vec<ComputerRollupInfo>) -> Result<(), SyncError> {
        let make = |cookie| {
            Request::RollupComputers(RollupComputersRequest { cookie, client_time: client_time.clone(), computers: computers.clone() })
        };
        match self.report(Operation::RollupComputers, make).await? {
            Response::RollupComputers(_) => Ok(()),
            _ => Err(SyncError::Protocol("RollupComputers: unexpected answer".into())),
        }
    }

    pub async fn rollup_computer_status(
        &mut self,
        client_time: String,
        parent_server_id: uuid::Uuid,
        computers: Vec<ComputerStatusRollupInfo>,
    ) -> Result<bool, SyncError> {
        let make = |cookie| {
            Request::RollupComputerStatus(RollupComputerStatusRequest {
                cookie,
                client_time: client_time.clone(),
                parent_server_id,
                computers: computers.clone(),
            })
        };
        match self.report(Operation::RollupComputerStatus, make).await? {
            Response::RollupComputerStatus(ok) => Ok(ok),
            _ => Err(SyncError::Protocol("RollupComputerStatus: unexpected answer".into())),
        }
    }
}

fn op_name(op: Operation) -> &'static str {
    match op {
        Operation::GetAuthConfig => "GetAuthConfig",
        Operation::GetAuthorizationCookie => "GetAuthorizationCookie",
        Operation::GetCookie => "GetCookie",
        Operation::GetConfigData => "GetConfigData",
        Operation::GetRevisionIdList => "GetRevisionIdList",
        Operation::GetUpdateData => "GetUpdateData",
        Operation::GetDeployments => "GetDeployments",
        Operation::GetRollupConfiguration => "GetRollupConfiguration",
        Operation::RollupDownstreamServers => "RollupDownstreamServers",
        Operation::RollupComputers => "RollupComputers",
        Operation::RollupComputerStatus => "RollupComputerStatus",
        _ => "request",
    }
}

/// reqwest's Display stops at the outermost error ("error sending request"); the cause an
/// administrator needs (connection refused, timed out, DNS) is further down the chain.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

async fn read_limited(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| error_chain(&e))? {
        if out.len() + chunk.len() > limit {
            return Err(format!("the answer exceeds {limit} bytes"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
