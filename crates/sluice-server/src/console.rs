//! The web console on the admin listener: login and logout, the session cookie, the CSRF
//! check of every form, and the frame the pages share. The pages themselves
//! (`console_*.rs`) ask the admin API for their data through `console_api` and hand it to the
//! builders of `sluice-console`.
//!
//! A console session is an API token of kind `session` made by the API's `/login`: the
//! cookie carries its secret (HttpOnly, SameSite=Strict), the store ends it after 12 hours or
//! 30 minutes unused, and logging out revokes it, so a copied cookie dies with the session.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use sluice_api::{LoginRequest, LoginResponse, Role};
use sluice_console::{Layout, LoginPage, Note, Page, Section};

use crate::bootstrap::{random_secret, token_digest};
use crate::console_api::{Api, Fields, Refusal};
use crate::AppState;

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "sluice_session";
/// The trusted server the console works on (the switcher), by name; absent: this server.
pub(crate) const ON_COOKIE: &str = "sluice_on";
/// The login form's own CSRF cookie (there is no session yet to derive a token from).
const LOGIN_COOKIE: &str = "sluice_login";
/// Largest form the console accepts.
const MAX_FORM_BYTES: usize = 1024 * 1024;

/// What every console handler has.
#[derive(Clone)]
pub(crate) struct ConsoleState {
    pub app: AppState,
    /// The admin API, called in process.
    pub api: Router,
    /// Whether cookies are marked Secure (the admin listener serves HTTPS).
    pub secure_cookies: bool,
}

/// The console's routes, beside the API on the admin listener.
pub fn router(api: Router, app: AppState) -> Router {
    let secure_cookies = app.admin_tls;
    let state = ConsoleState { app, api, secure_cookies };
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/switch", get(switch))
        .route("/assets/console.css", get(|| async { asset("text/css; charset=utf-8", sluice_console::STYLE_SHEET) }))
        // Browsers ask for it on every page; there is none, and no login redirect either.
        .route("/favicon.ico", get(|| async { StatusCode::NOT_FOUND }))
        .route("/assets/console.js", get(|| async { asset("text/javascript; charset=utf-8", sluice_console::SCRIPT) }))
        .merge(crate::console_overview::routes())
        .merge(crate::console_updates::routes())
        .merge(crate::console_computers::routes())
        .merge(crate::console_options::routes())
        .merge(crate::console_servers::routes())
        .fallback(not_found)
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// Pages may load only this console's own style sheet and script, may not be framed, and
/// are never cached (they show one user's view of live data).
async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

async fn not_found(session: Option<Session>, State(cs): State<ConsoleState>, req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        return crate::admin::no_such_route();
    }
    let Some(session) = session else {
        return to_login(req.uri().path());
    };
    let mut page = session.page(&cs, "Not found", Section::Dashboard, None);
    page.push(Note("There is no console page at this address.".into()));
    html(StatusCode::NOT_FOUND, page.html())
}

/// An HTML answer.
pub(crate) fn html(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// Post/redirect/get: after a change, the page to show, with a notice code.
pub(crate) fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_string())]).into_response()
}

fn to_login(next: &str) -> Response {
    see_other(&format!("/login{}", crate::console_api::query(&[("next", next)])))
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Only a path of this console: never another site (`//host`, `\\host`, `https:`).
fn local_path(next: &str) -> &str {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && !next.starts_with("/login")
        && !next.starts_with("/logout");
    if ok { next } else { "/" }
}

/// The signed-in user of a request, from a live session cookie. Pages take it as an
/// argument, so none can be reached without one: a request without is sent to the login.
#[derive(Clone)]
pub(crate) struct Session {
    pub secret: String,
    pub user: String,
    pub role: Role,
    pub address: Option<SocketAddr>,
    /// The trusted servers, for the switcher.
    pub servers: Vec<String>,
    /// The one the console works on now, if not this server.
    pub on: Option<String>,
}

impl FromRequestParts<ConsoleState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, cs: &ConsoleState) -> Result<Session, Response> {
        let wanted = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_string();
        let back = if parts.method == Method::GET { wanted.as_str() } else { "/" };
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE).map(str::to_string) else {
            return Err(to_login(back));
        };
        match cs.app.store.token_user(&token_digest(&secret)).await {
            Ok(Some(owner)) => {
                // A name the cookie keeps that is no longer trusted falls back to this server.
                let servers: Vec<String> = cs.app.store.trusted_servers().await.unwrap_or_default().into_iter().map(|t| t.name).collect();
                let on = cookie(&parts.headers, ON_COOKIE).and_then(|n| servers.iter().find(|s| s.eq_ignore_ascii_case(n)).cloned());
                Ok(Session {
                    secret,
                    user: owner.user_name,
                    role: Role::from_stored(&owner.role),
                    address: parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0),
                    servers,
                    on,
                })
            }
            Ok(None) => {
                // Expired, idle too long, logged out or revoked: the cookie goes too.
                let mut r = to_login(back);
                if let Ok(v) = HeaderValue::from_str(&set_cookie(SESSION_COOKIE, "", 0, cs.secure_cookies)) {
                    r.headers_mut().insert(header::SET_COOKIE, v);
                }
                Err(r)
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot check a console session");
                Err(html(StatusCode::SERVICE_UNAVAILABLE, "<!doctype html><title>Unavailable</title><p>The server cannot check your session right now; try again.".into()))
            }
        }
    }
}

impl axum::extract::OptionalFromRequestParts<ConsoleState> for Session {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, cs: &ConsoleState) -> Result<Option<Session>, Self::Rejection> {
        Ok(<Session as FromRequestParts<ConsoleState>>::from_request_parts(parts, cs).await.ok())
    }
}

impl Session {
    /// The admin API of the server the console works on (this one, or the trusted server
    /// chosen in the switcher, through this one).
    pub fn api<'a>(&'a self, cs: &'a ConsoleState) -> Api<'a> {
        let prefix = self.on.as_deref().map(|n| format!("/servers/{}", crate::console_api::enc(n))).unwrap_or_default();
        Api { router: &cs.api, token: &self.secret, address: self.address, prefix }
    }

    /// This server's own admin API, whatever the switcher says (its list of trusted servers).
    pub fn local_api<'a>(&'a self, cs: &'a ConsoleState) -> Api<'a> {
        Api { router: &cs.api, token: &self.secret, address: self.address, prefix: String::new() }
    }

    pub fn csrf(&self) -> String {
        sluice_console::csrf::token_for(&self.secret)
    }

    pub fn can_change(&self) -> bool {
        self.role == Role::Administrator
    }

    pub fn layout(&self, title: &str, section: Section, notice: Option<&str>) -> Layout {
        Layout {
            title: title.to_string(),
            section,
            user: self.user.clone(),
            role: match self.role {
                Role::Administrator => "Administrator".into(),
                Role::Reporter => "Reporter".into(),
            },
            can_change: self.can_change(),
            csrf: self.csrf(),
            notice: notice.and_then(sluice_console::notice::text).map(str::to_string),
            error: None,
            server_version: env!("CARGO_PKG_VERSION").to_string(),
            servers: self.servers.clone(),
            on: self.on.clone(),
        }
    }

    pub fn page(&self, _cs: &ConsoleState, title: &str, section: Section, notice: Option<&str>) -> Page {
        Page::new(self.layout(title, section, notice))
    }
}

/// A submitted console form: the session, the fields, and the proof (the CSRF token) that
/// the form came from a page of this console. Every mutating console route takes one, so
/// none can skip the check; a Reporter is refused here as the API would refuse them.
pub(crate) struct Posted {
    pub session: Session,
    pub fields: Fields,
}

impl FromRequest<ConsoleState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, cs: &ConsoleState) -> Result<Posted, Response> {
        let (mut parts, body) = req.into_parts();
        let session = <Session as FromRequestParts<ConsoleState>>::from_request_parts(&mut parts, cs).await?;
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| refused(&session, cs, StatusCode::PAYLOAD_TOO_LARGE, "The form is too large."))?;
        let fields = Fields::parse(&bytes)
            .ok_or_else(|| refused(&session, cs, StatusCode::BAD_REQUEST, "The form could not be read."))?;
        if !sluice_console::csrf::matches(&session.secret, fields.get("csrf")) {
            return Err(refused(
                &session,
                cs,
                StatusCode::FORBIDDEN,
                "This form did not come from this console session (its CSRF token is missing or stale); nothing was changed. Reload the page and try again.",
            ));
        }
        if !session.can_change() {
            return Err(refused(
                &session,
                cs,
                StatusCode::FORBIDDEN,
                &format!("{} is a Reporter, who may only read: changes are for administrators. Nothing was changed.", session.user),
            ));
        }
        Ok(Posted { session, fields })
    }
}

/// A page that says an action was refused and nothing changed.
pub(crate) fn refused(session: &Session, cs: &ConsoleState, status: StatusCode, why: &str) -> Response {
    let mut page = session.page(cs, "Action refused", Section::Dashboard, None);
    page.layout.error = Some(why.to_string());
    html(status, page.html())
}

/// A page whose data the API would not give: its status and message.
pub(crate) fn failed(session: &Session, cs: &ConsoleState, title: &str, section: Section, r: Refusal) -> Response {
    let mut page = session.page(cs, title, section, None);
    page.layout.error = Some(r.message);
    let status = if r.status.is_success() { StatusCode::INTERNAL_SERVER_ERROR } else { r.status };
    html(status, page.html())
}

#[derive(serde::Deserialize, Default)]
struct LoginQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    notice: String,
}

/// The login page, with the login form's CSRF token: the browser's current one if it has
/// one (a second tab, or the favicon request that lands here, must not invalidate the form
/// already shown), else a fresh one.
fn login_page(cs: &ConsoleState, headers: &HeaderMap, status: StatusCode, mut page: LoginPage) -> Response {
    let token = cookie(headers, LOGIN_COOKIE)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string)
        .unwrap_or_else(random_secret);
    page.login_token = token.clone();
    let mut r = html(status, page.html());
    if let Ok(v) = HeaderValue::from_str(&set_cookie(LOGIN_COOKIE, &token, 3600, cs.secure_cookies)) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn login_form(State(cs): State<ConsoleState>, headers: HeaderMap, session: Option<Session>, Query(q): Query<LoginQuery>) -> Response {
    let next = local_path(&q.next).to_string();
    if session.is_some() {
        return see_other(&next);
    }
    let notice = sluice_console::notice::text(&q.notice).map(str::to_string);
    login_page(&cs, &headers, StatusCode::OK, LoginPage { username: String::new(), next, error: None, notice, login_token: String::new() })
}

async fn login(State(cs): State<ConsoleState>, req: Request) -> Response {
    let connect = req.extensions().get::<ConnectInfo<SocketAddr>>().copied();
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), MAX_FORM_BYTES).await.unwrap_or_default();
    let fields = Fields::parse(&body).unwrap_or_default();
    let username = fields.get("username").to_string();
    let next = local_path(fields.get("next")).to_string();
    let again = |status, error: &str| {
        login_page(&cs, &headers, status, LoginPage { username: username.clone(), next: next.clone(), error: Some(error.into()), notice: None, login_token: String::new() })
    };
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if expected.is_empty() || !sluice_console::csrf::same_secret(expected, fields.get("login_token")) {
        return again(StatusCode::FORBIDDEN, "This login form expired or did not come from this console; please log in again.");
    }
    if username.is_empty() || fields.get("password").is_empty() {
        return again(StatusCode::BAD_REQUEST, "Enter your user name and password.");
    }
    let api = Api { router: &cs.api, token: "", address: connect.map(|c| c.0), prefix: String::new() };
    let request = LoginRequest { user: username.clone(), password: fields.0.iter().find(|(k, _)| k == "password").map(|(_, v)| v.clone()).unwrap_or_default() };
    match api.post::<LoginResponse>("/login", &request).await {
        Ok(answer) => {
            let mut r = see_other(&next);
            let h = r.headers_mut();
            for c in [
                set_cookie(SESSION_COOKIE, &answer.token, crate::admin_people::SESSION_LIFETIME.whole_seconds(), cs.secure_cookies),
                set_cookie(LOGIN_COOKIE, "", 0, cs.secure_cookies),
            ] {
                if let Ok(v) = HeaderValue::from_str(&c) {
                    h.append(header::SET_COOKIE, v);
                }
            }
            r
        }
        Err(r) if r.status == StatusCode::UNAUTHORIZED => again(StatusCode::UNAUTHORIZED, "Wrong user name or password."),
        Err(r) => again(r.status, &r.message),
    }
}

async fn logout(State(cs): State<ConsoleState>, req: Request) -> Response {
    // Logging out needs the CSRF token too (else any site could end a session), but not the
    // administrator role.
    let (mut parts, body) = req.into_parts();
    let session = match <Session as FromRequestParts<ConsoleState>>::from_request_parts(&mut parts, &cs).await {
        Ok(s) => s,
        Err(_) => return see_other("/login"),
    };
    let fields = Fields::parse(&axum::body::to_bytes(body, MAX_FORM_BYTES).await.unwrap_or_default()).unwrap_or_default();
    if !sluice_console::csrf::matches(&session.secret, fields.get("csrf")) {
        return refused(&session, &cs, StatusCode::FORBIDDEN, "This form did not come from this console session (its CSRF token is missing or stale); you are still logged in.");
    }
    if let Err(e) = session.api(&cs).act(Method::POST, "/logout", None).await {
        return refused(&session, &cs, e.status, &format!("Cannot log out: {}", e.message));
    }
    let mut r = see_other("/login?notice=logged-out");
    if let Ok(v) = HeaderValue::from_str(&set_cookie(SESSION_COOKIE, "", 0, cs.secure_cookies)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// The switcher: the console works on another trusted server (or this one again). A
/// preference of this browser, kept in a cookie; every page then asks that server's API
/// through this one, with the user's own role.
async fn switch(session: Session, State(cs): State<ConsoleState>, Query(q): Query<Vec<(String, String)>>) -> Response {
    let wanted = Fields(q).get("server").to_string();
    let chosen = session.servers.iter().find(|s| s.eq_ignore_ascii_case(&wanted)).cloned();
    let cookie_value = match &chosen {
        Some(name) => set_cookie(ON_COOKIE, &crate::console_api::enc(name), crate::admin_people::SESSION_LIFETIME.whole_seconds(), cs.secure_cookies),
        None => set_cookie(ON_COOKIE, "", 0, cs.secure_cookies),
    };
    let mut r = see_other("/");
    if let Ok(v) = HeaderValue::from_str(&cookie_value) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(local_path("/updates?q=KB1"), "/updates?q=KB1");
        for bad in ["//evil.example/", "https://evil.example/", "/\\evil", "evil", "/logout", ""] {
            assert_eq!(local_path(bad), "/", "{bad}");
        }
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; sluice_session=abc; sluice_sessionx=no"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "b"), None);
    }
}
