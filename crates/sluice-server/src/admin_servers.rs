//! Admin API of trusted servers (issue #14): who this server is (`GET /server`), the other
//! Sluice servers it administers (`/servers`), how each is doing (`/servers/overview`), and
//! every admin route of a trusted server through this one (`/servers/{name}/…`), called with
//! the token that server issued, the caller's own role still applying here (a Reporter's
//! change is refused before it leaves), and the caller's name passed along for the other
//! server's audit log.

use axum::body::Body;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use sluice_api::{AddServerRequest, ServerInfo, ServerOverview, TrustedServerView};
use sluice_catalog::times::format_utc;
use sluice_catalog::CatalogError;
use sluice_store::{ComputerScope, TrustedServer};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::admin::{audited, bad_request, ApiFailure, Caller};
use crate::trust::{self, RemoteError};
use crate::AppState;

/// Largest request body relayed to a trusted server (an import's JSON is the big one).
const MAX_RELAYED_BYTES: usize = 32 * 1024 * 1024;
/// Longest name of a trusted server.
const MAX_NAME_CHARS: usize = 64;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(this_server))
        .routes(routes!(list, add))
        .routes(routes!(overview))
        .routes(routes!(remove))
        .routes(routes!(relay_get, relay_post, relay_put, relay_patch, relay_delete))
}

fn store_failure(e: sluice_store::StoreError) -> ApiFailure {
    ApiFailure::from(CatalogError::Store(e))
}

fn remote_failure(name: &str, e: RemoteError) -> ApiFailure {
    let status = match e {
        RemoteError::Unreachable(_) => StatusCode::GATEWAY_TIMEOUT,
        RemoteError::Revoked | RemoteError::Mismatch(_) | RemoteError::Refused(..) => StatusCode::BAD_GATEWAY,
    };
    ApiFailure::new(status, sluice_api::ApiErrorCode::for_status(status.as_u16()), format!("trusted server '{name}': {e}"))
}

fn view(s: &TrustedServer) -> TrustedServerView {
    TrustedServerView {
        name: s.name.clone(),
        url: s.url.clone(),
        server_id: s.server_id.to_string(),
        certificate_sha256: s.certificate_sha256.clone(),
        added_by: s.added_by.clone(),
        added_at: format_utc(s.added_at),
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// This server as the servers that trust it see it.
pub(crate) async fn info(state: &AppState) -> Result<ServerInfo, ApiFailure> {
    let status = sluice_sync::status(&state.store).await.map_err(crate::admin_sync::failure)?;
    let standing = state.store.fleet_standing().await.map_err(store_failure)?;
    let all = standing.first();
    let downstreams = state.store.list_downstreams().await.map_err(store_failure)?;
    Ok(ServerInfo {
        server_id: state.server_id.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        host_name: host_name(),
        mode: status.settings.mode.as_str().to_string(),
        upstream: status.settings.upstream.clone(),
        last_sync: status.last.map(crate::admin_sync::sync_view),
        computers: match all {
            Some(g) => g.computers,
            None => state.store.count_computers(ComputerScope::All).await.map_err(store_failure)?,
        },
        computers_needing: all.map(|g| g.needing).unwrap_or(0),
        computers_failed: all.map(|g| g.failed).unwrap_or(0),
        downstream_server_ids: downstreams.iter().map(|d| d.id.to_string()).collect(),
    })
}

#[utoipa::path(get, path = "/server", tag = "servers", responses((status = 200, description = "This server's id, version, mode, last sync and computers", body = ServerInfo)))]
async fn this_server(State(state): State<AppState>) -> Result<Json<ServerInfo>, ApiFailure> {
    Ok(Json(info(&state).await?))
}

#[utoipa::path(get, path = "/servers", tag = "servers", responses((status = 200, description = "The trusted servers (tokens are never shown)", body = Vec<TrustedServerView>)))]
async fn list(State(state): State<AppState>) -> Result<Json<Vec<TrustedServerView>>, ApiFailure> {
    Ok(Json(state.store.trusted_servers().await.map_err(store_failure)?.iter().map(view).collect()))
}

#[utoipa::path(post, path = "/servers", tag = "servers", request_body = AddServerRequest, responses((status = 201, description = "Trusted: its identity (server id, and certificate over HTTPS) is pinned", body = TrustedServerView)))]
async fn add(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Result<Json<AddServerRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<TrustedServerView>), ApiFailure> {
    let Json(req) = req?;
    let name = req.name.trim().to_string();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err(bad_request(format!("a server name is 1 to {MAX_NAME_CHARS} letters, digits, '-', '_' or '.'")));
    }
    let url = req.url.trim().trim_end_matches('/').to_string();
    if !(url.starts_with("http://") || url.starts_with("https://")) || reqwest::Url::parse(&url).is_err() {
        return Err(bad_request("url: the other server's admin listener, http(s)://host:port"));
    }
    if req.token.trim().is_empty() {
        return Err(bad_request("token: an API token issued on that server is required"));
    }
    let http = trust::client(req.ca_cert.as_deref()).map_err(bad_request)?;
    let (remote, certificate) = trust::identify(&http, &url, req.token.trim()).await.map_err(|e| remote_failure(&name, e))?;
    let server_id = uuid::Uuid::parse_str(&remote.server_id)
        .map_err(|_| ApiFailure::new(StatusCode::BAD_GATEWAY, sluice_api::ApiErrorCode::for_status(502), "its server id is not a GUID"))?;
    if server_id == state.server_id {
        return Err(bad_request("that is this server itself"));
    }
    let record = TrustedServer {
        name: name.clone(),
        url,
        token_sealed: state.trust_key.seal(req.token.trim()),
        server_id,
        certificate_sha256: certificate,
        ca_cert: req.ca_cert.filter(|c| !c.trim().is_empty()),
        added_by: caller.user.clone(),
        added_at: time::OffsetDateTime::now_utc(),
    };
    let entry = caller.entry("server-trust", &name, format!("{} (server {server_id})", record.url));
    audited(&state, entry, state.store.add_trusted_server(&record)).await.map_err(store_failure)?;
    let stored = state.store.trusted_server(&name).await.map_err(store_failure)?.unwrap_or(record);
    Ok((StatusCode::CREATED, Json(view(&stored))))
}

#[utoipa::path(delete, path = "/servers/{name}", tag = "servers", params(("name" = String, Path, description = "Trusted server name")), responses((status = 200, description = "No longer trusted; its token is forgotten", body = TrustedServerView)))]
async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<TrustedServerView>, ApiFailure> {
    let Path(name) = name?;
    let found = state.store.trusted_server(&name).await.map_err(store_failure)?;
    let Some(found) = found else {
        return Err(store_failure(sluice_store::StoreError::NotFound(format!("trusted server {name}"))));
    };
    let entry = caller.entry("server-untrust", &found.name, found.url.clone());
    audited(&state, entry, state.store.remove_trusted_server(&found.name)).await.map_err(store_failure)?;
    Ok(Json(view(&found)))
}

/// Asks one trusted server who it is, checking its pinned identity.
async fn ask(state: &AppState, s: &TrustedServer) -> Result<ServerInfo, RemoteError> {
    let token = state.trust_key.open(&s.token_sealed).ok_or_else(|| RemoteError::Refused(500, "the stored token cannot be opened with this server's key".into()))?;
    let http = trust::client(s.ca_cert.as_deref()).map_err(|e| RemoteError::Refused(500, e))?;
    let r = http
        .get(format!("{}{}/server", s.url, sluice_api::API_PREFIX))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| RemoteError::Unreachable(trust::describe(&e)))?;
    if !r.status().is_success() {
        return Err(trust::refusal(r).await);
    }
    trust::check_identity(&r, &s.server_id.to_string(), s.certificate_sha256.as_deref())?;
    r.json::<ServerInfo>().await.map_err(|e| RemoteError::Refused(502, e.to_string()))
}

#[utoipa::path(get, path = "/servers/overview", tag = "servers", responses((status = 200, description = "This server, then every trusted server as it answered now (or why it did not), each asked at once with a short timeout", body = Vec<ServerOverview>)))]
async fn overview(State(state): State<AppState>) -> Result<Json<Vec<ServerOverview>>, ApiFailure> {
    let trusted = state.store.trusted_servers().await.map_err(store_failure)?;
    let mut out = vec![ServerOverview { name: None, url: String::new(), reachable: true, error: None, info: Some(info(&state).await?) }];
    // All at once: one slow or unreachable server costs its timeout once, not per server.
    let answers = futures_util::future::join_all(trusted.iter().map(|s| ask(&state, s))).await;
    for (s, answer) in trusted.iter().zip(answers) {
        out.push(match answer {
            Ok(info) => ServerOverview { name: Some(s.name.clone()), url: s.url.clone(), reachable: true, error: None, info: Some(info) },
            Err(e) => ServerOverview {
                name: Some(s.name.clone()),
                url: s.url.clone(),
                reachable: !matches!(e, RemoteError::Unreachable(_)),
                error: Some(e.to_string()),
                info: None,
            },
        });
    }
    Ok(Json(out))
}

/// One route per method, each with its own operation id (the document needs them unique);
/// all relay the same way.
macro_rules! relay_route {
    ($name:ident, $method:ident, $op:literal) => {
        #[utoipa::path(
            $method,
            path = "/servers/{name}/{*path}",
            operation_id = $op,
            tag = "servers",
            params(("name" = String, Path, description = "Trusted server name"), ("*path" = String, Path, description = "The admin API route on that server, relative to /api/v1 (e.g. computers)")),
            responses((status = 200, description = "That server's answer, as it gave it"), (status = 502, description = "It refused the stored token, or another server answered", body = sluice_api::ApiError), (status = 504, description = "It could not be reached in time", body = sluice_api::ApiError))
        )]
        async fn $name(state: State<AppState>, caller: Extension<Caller>, path: Path<(String, String)>, req: Request) -> Result<Response, ApiFailure> {
            relay(state, caller, path, req).await
        }
    };
}
relay_route!(relay_get, get, "trusted_server_get");
relay_route!(relay_post, post, "trusted_server_post");
relay_route!(relay_put, put, "trusted_server_put");
relay_route!(relay_patch, patch, "trusted_server_patch");
relay_route!(relay_delete, delete, "trusted_server_delete");

/// One admin route of a trusted server. The request is relayed as it came (method, path,
/// query, body, `Accept`, `Content-Type`) with the stored token, and the answer comes back as
/// the other server gave it, once its identity checked out.
async fn relay(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((name, path)): Path<(String, String)>,
    req: Request,
) -> Result<Response, ApiFailure> {
    let found = state.store.trusted_server(&name).await.map_err(store_failure)?;
    let Some(s) = found else {
        return Err(store_failure(sluice_store::StoreError::NotFound(format!("trusted server {name}"))));
    };
    let token = state
        .trust_key
        .open(&s.token_sealed)
        .ok_or_else(|| ApiFailure::new(StatusCode::INTERNAL_SERVER_ERROR, sluice_api::ApiErrorCode::Internal, "the stored token cannot be opened with this server's key"))?;
    let http = trust::client(s.ca_cert.as_deref()).map_err(bad_request)?;
    let query = req.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes()).map_err(|_| bad_request("unsupported method"))?;
    let mut out = http
        .request(method, format!("{}{}/{}{query}", s.url, sluice_api::API_PREFIX, path.trim_start_matches('/')))
        .bearer_auth(token)
        .header(trust::ON_BEHALF_OF_HEADER, &caller.user);
    for h in [header::ACCEPT, header::CONTENT_TYPE] {
        if let Some(v) = req.headers().get(&h) {
            out = out.header(h.as_str(), v.as_bytes());
        }
    }
    let body = axum::body::to_bytes(req.into_body(), MAX_RELAYED_BYTES).await.map_err(|_| bad_request("request body too large to relay"))?;
    let answer = out.body(body).send().await.map_err(|e| remote_failure(&s.name, RemoteError::Unreachable(trust::describe(&e))))?;
    trust::check_identity(&answer, &s.server_id.to_string(), s.certificate_sha256.as_deref()).map_err(|e| remote_failure(&s.name, e))?;
    if answer.status() == reqwest::StatusCode::UNAUTHORIZED {
        return Err(remote_failure(&s.name, RemoteError::Revoked));
    }
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let content_type = answer.headers().get(reqwest::header::CONTENT_TYPE).map(|v| v.as_bytes().to_vec());
    let bytes = answer.bytes().await.map_err(|e| remote_failure(&s.name, RemoteError::Unreachable(trust::describe(&e))))?;
    let mut r = (status, Body::from(bytes)).into_response();
    if let Some(ct) = content_type.and_then(|v| HeaderValue::from_bytes(&v).ok()) {
        r.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    Ok(r)
}
