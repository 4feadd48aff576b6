//! The admin API (JSON over HTTP, bearer-token authenticated, every change audited).

use std::future::Future;
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use futures_util::TryStreamExt;
use sluice_catalog::api::*;
use sluice_catalog::CatalogError;
use sluice_api::Role;
use sluice_store::{AuditOutcome, NewAuditEntry};

use crate::bootstrap::token_digest;
use crate::AppState;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

/// Largest JSON import batch accepted (the CLI sends 500 documents per request).
const MAX_IMPORT_BYTES: usize = 256 * 1024 * 1024;
/// Largest metadata part of a publish request.
const MAX_PUBLISH_METADATA: usize = 4 * 1024 * 1024;

/// Who is calling: established by [`authenticate`] for every protected route.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user: String,
    pub address: Option<String>,
    pub role: Role,
    /// The token the request came with (none for the server's own jobs and a login).
    pub token_id: Option<i64>,
}

impl Caller {
    /// The audit entry of a change this caller makes.
    pub(crate) fn entry(&self, action: &str, target: &str, detail: impl Into<String>) -> NewAuditEntry {
        NewAuditEntry {
            actor: self.user.clone(),
            action: action.into(),
            target: target.into(),
            detail: detail.into(),
            source_address: self.address.clone(),
        }
    }
}

/// An admin API error: its HTTP status, its stable code and a message for people.
pub struct ApiFailure {
    status: StatusCode,
    code: ApiErrorCode,
    message: String,
}

impl ApiFailure {
    pub(crate) fn new(status: StatusCode, code: ApiErrorCode, message: impl Into<String>) -> ApiFailure {
        ApiFailure { status, code, message: message.into() }
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        (self.status, Json(ApiError::new(self.code, self.message))).into_response()
    }
}

impl From<CatalogError> for ApiFailure {
    fn from(e: CatalogError) -> Self {
        let (status, code) = match &e {
            CatalogError::Rejected(_) => (StatusCode::BAD_REQUEST, ApiErrorCode::Rejected),
            CatalogError::InvalidRequest(_) => (StatusCode::BAD_REQUEST, ApiErrorCode::InvalidRequest),
            CatalogError::NotFound(_) => (StatusCode::NOT_FOUND, ApiErrorCode::NotFound),
            CatalogError::FileMismatch(_) => (StatusCode::UNPROCESSABLE_ENTITY, ApiErrorCode::FileMismatch),
            CatalogError::Store(s) if s.is_conflict() => (StatusCode::CONFLICT, ApiErrorCode::Conflict),
            CatalogError::Store(s) if s.is_not_found() => (StatusCode::NOT_FOUND, ApiErrorCode::NotFound),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, ApiErrorCode::Internal),
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %e, "admin request failed");
        }
        ApiFailure::new(status, code, e.to_string())
    }
}

pub(crate) fn bad_request(msg: impl Into<String>) -> ApiFailure {
    ApiFailure::new(StatusCode::BAD_REQUEST, ApiErrorCode::InvalidRequest, msg)
}

// Extractor rejections keep axum's status (400, 415 for a missing or wrong Content-Type, 413,
// 422 for a well-formed body of the wrong shape) and its explanation, in the API's JSON form.
impl From<JsonRejection> for ApiFailure {
    fn from(e: JsonRejection) -> Self {
        let (code, what) = match e {
            JsonRejection::MissingJsonContentType(_) => (ApiErrorCode::UnsupportedMediaType, "unsupported content type"),
            JsonRejection::JsonSyntaxError(_) => (ApiErrorCode::MalformedJson, "malformed request body"),
            JsonRejection::JsonDataError(_) => (ApiErrorCode::InvalidBody, "malformed request body"),
            _ => (ApiErrorCode::for_status(e.status().as_u16()), "malformed request body"),
        };
        ApiFailure::new(e.status(), code, format!("{what}: {}", e.body_text()))
    }
}

impl From<QueryRejection> for ApiFailure {
    fn from(e: QueryRejection) -> Self {
        ApiFailure::new(e.status(), ApiErrorCode::MalformedQuery, format!("malformed query: {}", e.body_text()))
    }
}

impl From<PathRejection> for ApiFailure {
    fn from(e: PathRejection) -> Self {
        ApiFailure::new(e.status(), ApiErrorCode::MalformedPath, format!("malformed path: {}", e.body_text()))
    }
}

impl From<MultipartRejection> for ApiFailure {
    fn from(e: MultipartRejection) -> Self {
        let code = match e.status().as_u16() {
            400 => ApiErrorCode::MalformedUpload,
            other => ApiErrorCode::for_status(other),
        };
        ApiFailure::new(e.status(), code, format!("malformed upload: {}", e.body_text()))
    }
}

/// The largest error text passed through [`json_errors`]; axum's own are a line or two.
const MAX_ERROR_TEXT: usize = 16 * 1024;

/// Every error leaves the admin API as JSON. Handlers answer with [`ApiFailure`] already; this
/// catches what axum answers before or instead of a handler: an unsupported method (405), a body
/// over the route's limit (413), and any extractor a handler takes without mapping its rejection.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_ERROR_TEXT).await {
        Ok(bytes) if !bytes.trim_ascii().is_empty() => String::from_utf8_lossy(bytes.trim_ascii()).into_owned(),
        _ => status.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    let body = serde_json::to_vec(&ApiError::new(ApiErrorCode::for_status(status.as_u16()), text)).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, Body::from(body))
}

/// Every admin API route with its OpenAPI description, relative to [`API_PREFIX`]. Routes are
/// added only through `routes!`, so none can be served without being documented.
fn documented(state: &AppState) -> OpenApiRouter<AppState> {
    let protected = OpenApiRouter::new()
        .routes(routes!(list_updates))
        .routes(routes!(import).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)))
        // Update files can be gigabytes: the body is streamed to disk, never buffered.
        .routes(routes!(publish).layer(DefaultBodyLimit::disable()))
        .routes(routes!(show_update))
        .merge(crate::admin_targeting::routes())
        .merge(crate::admin_sync::routes())
        .merge(crate::admin_downstreams::routes())
        .merge(crate::admin_transfer::routes())
        .merge(crate::admin_audit::routes())
        .merge(crate::admin_reports::routes())
        .merge(crate::admin_rules::routes())
        .merge(crate::admin_rollouts::routes())
        .merge(crate::admin_people::routes())
        .merge(crate::admin_cleanup::routes())
        .merge(crate::admin_notify::routes())
        .merge(crate::admin_servers::routes())
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), authenticate));
    OpenApiRouter::new().routes(routes!(health)).merge(crate::admin_people::public_routes()).merge(protected)
}

/// The admin listener: the API, its OpenAPI document, probes and metrics, and the web
/// console, which calls the same API on its user's behalf.
pub fn router(state: AppState) -> Router {
    let api = api_router(&state);
    api.clone().merge(crate::console::router(api, state))
}

/// The admin API alone (what the console calls in process).
fn api_router(state: &AppState) -> Router {
    let (api, paths) = OpenApiRouter::new().nest(API_PREFIX, documented(state)).split_for_parts();
    Router::new()
        .merge(api)
        .merge(crate::openapi::route(crate::openapi::finish(paths)))
        .merge(crate::health::routes())
        .merge(crate::health::metrics_route(state))
        .layer(axum::middleware::map_response(json_errors))
        .layer(axum::middleware::map_response_with_state(state.clone(), identify))
        .with_state(state.clone())
}

/// Every admin answer names the server that gave it, so a server that trusts this one can
/// tell it is still talking to the server it pinned (`trust.rs`).
async fn identify(State(state): State<AppState>, mut r: Response) -> Response {
    if let Ok(v) = HeaderValue::from_str(&state.server_id.to_string()) {
        r.headers_mut().insert(crate::trust::SERVER_ID_HEADER, v);
    }
    r
}

/// The name the audit log records for a request: the token's user, or — for a call a
/// trusting server relays — the user it acts for "via" the token's user (the account the
/// trusting server holds here). Only the label is taken from the header; rights are always
/// the token's.
fn acting_user(req: &Request, owner: &str) -> String {
    let asserted = req
        .headers()
        .get(crate::trust::ON_BEHALF_OF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|u| !u.is_empty() && u.chars().count() <= 200 && !u.chars().any(char::is_control));
    match asserted {
        Some(u) => format!("{u} via {owner}"),
        None => owner.to_string(),
    }
}

/// What a path under `/api/` that names no route answers (the console's fallback sends
/// those here, so API clients always get JSON).
pub(crate) fn no_such_route() -> Response {
    ApiFailure::new(StatusCode::NOT_FOUND, ApiErrorCode::NotFound, "no such admin API route").into_response()
}

/// The token of an `Authorization: Bearer <token>` header. The scheme name is case-insensitive
/// (RFC 9110, 11.1), so `bearer` and `BEARER` are the same scheme.
pub(crate) fn bearer_token(value: &str) -> Option<&str> {
    let value = value.trim_start();
    let (scheme, rest) = value.split_once([' ', '\t'])?;
    let token = rest.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

pub(crate) async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    let Some(token) = token else {
        return ApiFailure::new(
            StatusCode::UNAUTHORIZED,
            ApiErrorCode::Unauthenticated,
            "authentication required: send 'Authorization: Bearer <token>'",
        )
            .into_response();
    };
    match state.store.token_user(&token_digest(token)).await {
        Ok(Some(owner)) => {
            let role = Role::from_stored(&owner.role);
            let changes = !matches!(*req.method(), axum::http::Method::GET | axum::http::Method::HEAD);
            // Checked here, before any handler, so a route added later is covered too.
            if changes && role != Role::Administrator {
                return ApiFailure::new(
                    StatusCode::FORBIDDEN,
                    ApiErrorCode::Forbidden,
                    format!("'{}' is a {}, who may only read: changes are for administrators only", owner.user_name, role.as_str()),
                )
                .into_response();
            }
            let address = caller_address(&req);
            let user = acting_user(&req, &owner.user_name);
            req.extensions_mut().insert(Caller { user, address, role, token_id: Some(owner.token_id) });
            let response = next.run(req).await;
            // Clients must see a new update, approval or decline on their next scan, not
            // after the scan state's periodic version check.
            if changes && response.status().is_success() {
                state.scan.changed(&state.front_end);
                // A change clients see in GetConfig (the targeting mode) moved the configuration
                // LastChange: the next client request must already be checked against it.
                if let Err(e) = state.scan.reload_config().await {
                    tracing::error!(error = %e, "cannot reread the client configuration change time");
                }
            }
            response
        }
        Ok(None) => ApiFailure::new(StatusCode::UNAUTHORIZED, ApiErrorCode::Unauthenticated, "invalid or revoked token").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "token check failed");
            ApiFailure::new(StatusCode::INTERNAL_SERVER_ERROR, ApiErrorCode::Internal, "cannot check the token").into_response()
        }
    }
}

/// The address a request came from, as the audit log records it.
pub(crate) fn caller_address(req: &Request) -> Option<String> {
    req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string())
}

/// Runs the change `work` with its audit entry pending, so the change's transaction writes the
/// entry with it (see `sluice_store::audited`). When the work succeeded without any transaction
/// taking the entry (an export only writes files; declining a declined update changes no row),
/// the entry is appended on its own: one entry per successful change either way.
pub(crate) async fn audited<T, E>(state: &AppState, entry: NewAuditEntry, work: impl Future<Output = Result<T, E>>) -> Result<T, E> {
    let (out, outcome) = sluice_store::audited(entry, work).await;
    if let (Ok(_), AuditOutcome::Pending(entry)) = (&out, outcome) {
        append(state, &entry).await;
    }
    out
}

/// For a handler that called `sluice_store::audited` itself: appends the entry when no
/// transaction of the change took it.
pub(crate) async fn written_or_append(state: &AppState, outcome: AuditOutcome) {
    if let AuditOutcome::Pending(entry) = outcome {
        append(state, &entry).await;
    }
}

/// An audit entry's detail for a change described by its request: the request as compact
/// JSON, so the log says what was asked in the API's own terms. Never for a request that
/// carries a secret.
pub(crate) fn request_detail(req: &impl serde::Serialize) -> String {
    serde_json::to_string(req).unwrap_or_default()
}

/// Appends an entry after the change, in a write of its own. Prefer [`audited`], which puts
/// the entry in the change's transaction.
pub(crate) async fn audit(state: &AppState, caller: &Caller, action: &str, target: &str, detail: String) {
    append(state, &caller.entry(action, target, detail)).await;
}

pub(crate) async fn append(state: &AppState, entry: &NewAuditEntry) {
    // The change itself has happened; a failed audit write is reported, not turned into a
    // failed request that the administrator would retry.
    if let Err(e) = state.store.append_audit(entry).await {
        tracing::error!(error = %e, action = entry.action, target = entry.target, "cannot write the audit log");
    }
}

#[utoipa::path(get, path = "/health", tag = "server", security(()), responses((status = 200, body = sluice_api::Health)))]
async fn health() -> Json<sluice_api::Health> {
    Json(sluice_api::Health { status: "ok".into(), version: env!("CARGO_PKG_VERSION").into() })
}

#[utoipa::path(get, path = "/updates", tag = "updates", params(UpdateQuery), responses((status = 200, description = "One page of the matching updates, with the total", body = UpdatePage)))]
async fn list_updates(
    State(state): State<AppState>,
    q: Result<Query<UpdateQuery>, QueryRejection>,
) -> Result<Json<UpdatePage>, ApiFailure> {
    let Query(q) = q?;
    Ok(Json(state.catalog.list_updates(&q).await?))
}

#[utoipa::path(get, path = "/updates/{update_id}", tag = "updates", params(("update_id" = String, Path, description = "Update id, or a KB number (KB5012345 or 5012345) one update carries")), responses((status = 200, body = UpdateDetail)))]
async fn show_update(
    State(state): State<AppState>,
    update_id: Result<Path<String>, PathRejection>,
) -> Result<Json<UpdateDetail>, ApiFailure> {
    let Path(update_id) = update_id?;
    Ok(Json(state.catalog.update_detail(&update_id).await?))
}

#[utoipa::path(post, path = "/updates/import", operation_id = "import_update_xml", tag = "updates", request_body = ImportRequest, responses((status = 200, body = ImportResponse)))]
async fn import(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Result<Json<ImportRequest>, JsonRejection>,
) -> Result<Json<ImportResponse>, ApiFailure> {
    let Json(req) = req?;
    if req.documents.is_empty() {
        return Err(bad_request("no documents"));
    }
    let names: Vec<String> = req.documents.iter().map(|d| d.name.clone()).collect();
    let entry = caller.entry("import-xml", "catalog", format!("{} document(s): {}", names.len(), abbreviated(&names)));
    let docs = req.documents.into_iter().map(|d| (d.name, d.xml.into_bytes())).collect();
    // The revisions are stored in one transaction, which carries the entry; moving the catalog
    // version afterwards only tells clients sooner.
    let revisions = audited(&state, entry, state.catalog.import_documents(docs)).await?;
    Ok(Json(ImportResponse { revisions }))
}

/// The parts of a publish request, in this order (the file is streamed, so the metadata must
/// come first).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Describes the multipart body; the handler reads the parts as a stream.
struct PublishUpload {
    metadata: PublishRequest,
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: Vec<u8>,
}

#[utoipa::path(post, path = "/updates/publish", tag = "updates", request_body(content = PublishUpload, content_type = "multipart/form-data"), responses((status = 200, body = UpdateDetail)))]
async fn publish(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<UpdateDetail>, ApiFailure> {
    let mut multipart = multipart?;
    let mut metadata: Option<PublishRequest> = None;
    while let Some(field) = multipart.next_field().await.map_err(|e| bad_request(format!("malformed upload: {e}")))? {
        match field.name() {
            Some("metadata") => {
                let mut buf = Vec::new();
                let mut field = field;
                while let Some(chunk) = field.chunk().await.map_err(|e| bad_request(format!("malformed upload: {e}")))? {
                    if buf.len() + chunk.len() > MAX_PUBLISH_METADATA {
                        return Err(bad_request("the metadata part is too large"));
                    }
                    buf.extend_from_slice(&chunk);
                }
                metadata = Some(serde_json::from_slice(&buf).map_err(|e| bad_request(format!("metadata: {e}")))?);
            }
            Some("file") => {
                let req = metadata.take().ok_or_else(|| bad_request("the metadata part must come before the file"))?;
                let entry = caller.entry("publish", "update", format!("published '{}'", req.title));
                let stream = field.map_err(std::io::Error::other);
                let reader = tokio_util::io::StreamReader::new(stream);
                // The file is stored first (no database row); the transaction that stores the
                // update's revisions makes it visible and carries the entry, which the catalog
                // names after the new update's id.
                let detail = audited(&state, entry, state.catalog.publish(req, reader)).await?;
                return Ok(Json(detail));
            }
            _ => {}
        }
    }
    Err(bad_request("a publish request needs a 'metadata' part and a 'file' part"))
}

/// The first few of many names, for an audit entry's detail.
pub(crate) fn abbreviated(names: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut out = names.iter().take(SHOWN).map(String::as_str).collect::<Vec<_>>().join(", ");
    if names.len() > SHOWN {
        out.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    out
}
