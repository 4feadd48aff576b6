//! Admin API of people and roles: users (`/users`), their API tokens (`/tokens`) and console
//! login (`/login`, the one route besides `/health` that needs no token). Roles are enforced
//! for every route by `admin::authenticate`; each change here is audited in its transaction.

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use sluice_api::{
    parse_lifetime, ApiError, ApiErrorCode, CreateTokenRequest, CreateUserRequest, CreatedToken, LoginRequest,
    LoginResponse, Role, TokenQuery, TokenView, UpdateUserRequest, UserView,
};
use sluice_catalog::times::format_utc;
use sluice_catalog::CatalogError;
use sluice_store::{ApiToken, NewToken, User, UserChange, TOKEN_KIND_API, TOKEN_KIND_SESSION};
use time::OffsetDateTime;

use crate::admin::{audited, bad_request, ApiFailure, Caller};
use crate::bootstrap::{hash_password, random_secret, token_digest};
use crate::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// How long a console session lasts.
pub(crate) const SESSION_LIFETIME: time::Duration = time::Duration::hours(12);
/// Longest user name, in characters.
const MAX_NAME_CHARS: usize = 64;
/// Shortest and longest password, in characters.
const MIN_PASSWORD_CHARS: usize = 8;
const MAX_PASSWORD_CHARS: usize = 1024;
/// Longest token label, in characters.
const MAX_LABEL_CHARS: usize = 200;

/// The routes that need a token, relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(update_user, delete_user))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

/// The routes that do not: logging in is how a console gets its token.
pub fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login)).routes(routes!(logout))
}

fn store_failure(e: sluice_store::StoreError) -> ApiFailure {
    ApiFailure::from(CatalogError::Store(e))
}

fn user_view(u: &User) -> UserView {
    UserView { name: u.name.clone(), role: Role::from_stored(&u.role), disabled: u.disabled, created_at: format_utc(u.created_at) }
}

fn token_view(t: &ApiToken) -> TokenView {
    TokenView {
        id: t.id,
        user: t.user_name.clone(),
        label: t.description.clone(),
        kind: t.kind.clone(),
        created_at: format_utc(t.created_at),
        last_used_at: t.last_used_at.map(format_utc),
        expires_at: t.expires_at.map(format_utc),
        revoked: t.revoked,
    }
}

/// A user name as stored: trimmed, 1 to 64 characters, no control characters.
fn check_name(name: &str) -> Result<&str, ApiFailure> {
    let name = name.trim();
    if name.is_empty() {
        return Err(bad_request("a user name is required"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(bad_request(format!("a user name has at most {MAX_NAME_CHARS} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(bad_request("a user name cannot contain control characters"));
    }
    Ok(name)
}

fn check_password(password: &str) -> Result<(), ApiFailure> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        return Err(bad_request(format!("a password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")));
    }
    Ok(())
}

async fn hash(password: String) -> Result<String, ApiFailure> {
    let hashed = tokio::task::spawn_blocking(move || hash_password(&password)).await;
    match hashed {
        Ok(Ok(h)) => Ok(h),
        Ok(Err(e)) => Err(internal(format!("cannot hash the password: {e}"))),
        Err(e) => Err(internal(format!("cannot hash the password: {e}"))),
    }
}

fn internal(msg: String) -> ApiFailure {
    tracing::error!("{msg}");
    ApiFailure::new(StatusCode::INTERNAL_SERVER_ERROR, ApiErrorCode::Internal, msg)
}

#[utoipa::path(get, path = "/users", tag = "people", responses((status = 200, description = "Every user, by name", body = Vec<UserView>)))]
async fn list_users(State(state): State<AppState>) -> Result<Json<Vec<UserView>>, ApiFailure> {
    let users = state.store.list_users().await.map_err(store_failure)?;
    Ok(Json(users.iter().map(user_view).collect()))
}

#[utoipa::path(post, path = "/users", tag = "people", request_body = CreateUserRequest, responses((status = 201, description = "The new user", body = UserView)))]
async fn create_user(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Result<Json<CreateUserRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<UserView>), ApiFailure> {
    let Json(req) = req?;
    let name = check_name(&req.name)?.to_string();
    check_password(&req.password)?;
    // Names differing only in case would be told apart by nobody reading the audit log.
    let users = state.store.list_users().await.map_err(store_failure)?;
    if let Some(taken) = users.iter().find(|u| u.name.to_lowercase() == name.to_lowercase()) {
        return Err(ApiFailure::new(StatusCode::CONFLICT, ApiErrorCode::Conflict, format!("a user named '{}' exists", taken.name)));
    }
    let password_hash = hash(req.password).await?;
    let entry = caller.entry("user-create", &name, format!("role {}", req.role.as_str()));
    let user = audited(&state, entry, state.store.create_user(&name, &password_hash, req.role.as_str()))
        .await
        .map_err(store_failure)?;
    Ok((StatusCode::CREATED, Json(user_view(&user))))
}

#[utoipa::path(patch, path = "/users/{name}", tag = "people", params(("name" = String, Path, description = "User name")), request_body = UpdateUserRequest, responses((status = 200, description = "The user as changed", body = UserView)))]
async fn update_user(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
    req: Result<Json<UpdateUserRequest>, JsonRejection>,
) -> Result<Json<UserView>, ApiFailure> {
    let Path(name) = name?;
    let Json(req) = req?;
    let before = state
        .store
        .get_user(&name)
        .await
        .map_err(store_failure)?
        .ok_or_else(|| ApiFailure::new(StatusCode::NOT_FOUND, ApiErrorCode::NotFound, format!("no user '{name}'")))?;
    let mut what = Vec::new();
    if let Some(role) = req.role {
        what.push(format!("role {} -> {}", Role::from_stored(&before.role).as_str(), role.as_str()));
    }
    if let Some(disabled) = req.disabled {
        what.push(format!("disabled {} -> {disabled}", before.disabled));
    }
    let password_hash = match req.password {
        Some(p) => {
            check_password(&p)?;
            what.push("password changed".to_string());
            Some(hash(p).await?)
        }
        None => None,
    };
    if what.is_empty() {
        return Err(bad_request("nothing to change: give role, disabled and/or password"));
    }
    let change = UserChange { role: req.role.map(|r| r.as_str().to_string()), disabled: req.disabled, password_hash };
    let entry = caller.entry("user-update", &before.name, what.join(", "));
    let user = audited(&state, entry, state.store.update_user(&before.name, &change)).await.map_err(store_failure)?;
    Ok(Json(user_view(&user)))
}

#[utoipa::path(delete, path = "/users/{name}", tag = "people", params(("name" = String, Path, description = "User name")), responses((status = 200, description = "The deleted user (its tokens went with it)", body = UserView)))]
async fn delete_user(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<UserView>, ApiFailure> {
    let Path(name) = name?;
    let entry = caller.entry("user-delete", &name, String::new());
    let user = audited(&state, entry, state.store.delete_user(&name)).await.map_err(store_failure)?;
    Ok(Json(user_view(&user)))
}

#[utoipa::path(get, path = "/tokens", tag = "people", params(TokenQuery), responses((status = 200, description = "Tokens (never their secrets), by id", body = Vec<TokenView>)))]
async fn list_tokens(
    State(state): State<AppState>,
    q: Result<Query<TokenQuery>, QueryRejection>,
) -> Result<Json<Vec<TokenView>>, ApiFailure> {
    let Query(q) = q?;
    let user = q.user.as_deref().map(str::trim).filter(|u| !u.is_empty());
    let tokens = state.store.list_tokens(user).await.map_err(store_failure)?;
    Ok(Json(tokens.iter().map(token_view).collect()))
}

#[utoipa::path(post, path = "/tokens", tag = "people", request_body = CreateTokenRequest, responses((status = 201, description = "The token, with its secret shown this once", body = CreatedToken)))]
async fn create_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Result<Json<CreateTokenRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiFailure> {
    let Json(req) = req?;
    let user = match req.user.as_deref() {
        Some(u) => check_name(u)?.to_string(),
        None => caller.user.clone(),
    };
    let label = req.label.as_deref().unwrap_or("").trim().to_string();
    if label.chars().count() > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
        return Err(bad_request(format!("a label has at most {MAX_LABEL_CHARS} characters and no control characters")));
    }
    let expires_at = match req.expires_in.as_deref() {
        Some(l) => {
            let secs = parse_lifetime(l).map_err(bad_request)?;
            Some(OffsetDateTime::now_utc() + time::Duration::seconds(secs as i64))
        }
        None => None,
    };
    let secret = random_secret();
    let digest = token_digest(&secret);
    let new = NewToken { user_name: &user, token_sha256: &digest, description: &label, expires_at, kind: TOKEN_KIND_API };
    let detail = format!("label '{label}', expires {}", expires_at.map(format_utc).unwrap_or_else(|| "never".into()));
    let entry = caller.entry("token-create", &user, detail);
    let token = audited(&state, entry, state.store.add_token(&new)).await.map_err(store_failure)?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token: secret, info: token_view(&token) })))
}

#[utoipa::path(delete, path = "/tokens/{id}", tag = "people", params(("id" = i64, Path, description = "Token id")), responses((status = 200, description = "The revoked token", body = TokenView)))]
async fn revoke_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<TokenView>, ApiFailure> {
    let Path(id) = id?;
    let token = state
        .store
        .token(id)
        .await
        .map_err(store_failure)?
        .ok_or_else(|| ApiFailure::new(StatusCode::NOT_FOUND, ApiErrorCode::NotFound, format!("no token {id}")))?;
    let entry = caller.entry("token-revoke", &id.to_string(), format!("user '{}', label '{}'", token.user_name, token.description));
    audited(&state, entry, state.store.revoke_token(id)).await.map_err(store_failure)?;
    Ok(Json(TokenView { revoked: true, ..token_view(&token) }))
}

fn refused_login() -> Response {
    ApiFailure::new(StatusCode::UNAUTHORIZED, ApiErrorCode::Unauthenticated, "wrong user name or password").into_response()
}

/// A hash to verify against when the user does not exist, so that answer takes as long as a
/// wrong password and does not tell which names exist.
fn decoy_hash() -> Option<&'static str> {
    static DECOY: OnceLock<Option<String>> = OnceLock::new();
    DECOY.get_or_init(|| hash_password(&random_secret()).ok()).as_deref()
}

fn verify(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc).is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

#[utoipa::path(post, path = "/login", tag = "people", security(()), request_body = LoginRequest, responses((status = 200, description = "A session token of the user, valid for 12 hours", body = LoginResponse)))]
async fn login(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    req: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Json<LoginResponse>, Response> {
    let Json(req) = req.map_err(|e| ApiFailure::from(e).into_response())?;
    let address = extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
    let name = check_name(&req.user).map_err(IntoResponse::into_response)?.to_string();
    let now = OffsetDateTime::now_utc();
    if let Some(wait) = state.logins.retry_after(&name, address.as_deref(), now) {
        let secs = wait.whole_seconds().max(1) + i64::from(wait.subsec_nanoseconds() > 0);
        let body = ApiError::new(ApiErrorCode::RateLimited, format!("too many failed logins; try again in {secs} s"));
        return Err((StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, secs.to_string())], Json(body)).into_response());
    }
    let user = state.store.get_user(&name).await.map_err(|e| store_failure(e).into_response())?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let password = req.password;
    let matched = tokio::task::spawn_blocking(move || match stored {
        Some(h) => verify(&password, &h),
        None => {
            if let Some(decoy) = decoy_hash() {
                verify(&password, decoy);
            }
            false
        }
    })
    .await
    .unwrap_or(false);
    let user = match user {
        Some(u) if matched && !u.disabled => u,
        _ => {
            state.logins.failed(&name, address.as_deref(), now);
            tracing::warn!(user = %name, address = address.as_deref().unwrap_or("-"), "failed admin login");
            return Err(refused_login());
        }
    };
    state.logins.succeeded(&name);
    let secret = random_secret();
    let digest = token_digest(&secret);
    let expires_at = now + SESSION_LIFETIME;
    let new = NewToken { user_name: &user.name, token_sha256: &digest, description: "console session", expires_at: Some(expires_at), kind: TOKEN_KIND_SESSION };
    let caller = Caller { user: user.name.clone(), address, role: Role::from_stored(&user.role), token_id: None };
    let entry = caller.entry("login", &user.name, format!("session until {}", format_utc(expires_at)));
    let token = audited(&state, entry, state.store.add_token(&new)).await.map_err(|e| store_failure(e).into_response())?;
    Ok(Json(LoginResponse {
        token: secret,
        user: user.name,
        role: caller.role,
        expires_at: token.expires_at.map(format_utc).unwrap_or_default(),
    }))
}

/// Ends the caller's own session: checks the token itself rather than behind
/// `authenticate`, because every role may log out, a Reporter included, while `authenticate`
/// lets a Reporter make no POST.
#[utoipa::path(post, path = "/logout", tag = "people", responses((status = 204, description = "The token this request came with is revoked (a console session ends)")))]
async fn logout(State(state): State<AppState>, req: axum::extract::Request) -> Result<StatusCode, ApiFailure> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::admin::bearer_token)
        .map(str::to_string);
    let owner = match token {
        Some(t) => state.store.token_user(&token_digest(&t)).await.map_err(store_failure)?,
        None => None,
    };
    let Some(owner) = owner else {
        return Err(ApiFailure::new(StatusCode::UNAUTHORIZED, sluice_api::ApiErrorCode::Unauthenticated, "invalid or revoked token"));
    };
    let caller = Caller {
        user: owner.user_name.clone(),
        address: crate::admin::caller_address(&req),
        role: Role::from_stored(&owner.role),
        token_id: Some(owner.token_id),
    };
    let entry = caller.entry("logout", &caller.user, format!("token {}", owner.token_id));
    audited(&state, entry, state.store.revoke_token(owner.token_id)).await.map_err(store_failure)?;
    Ok(StatusCode::NO_CONTENT)
}
