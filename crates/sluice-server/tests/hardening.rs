//! Who can read what the server keeps on disk, and how the admin API answers what it refuses:
//! a real server in a temporary directory, reached over HTTP on loopback.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::json;
use sluice_server::api::{ApiError, ApiErrorCode};
use sluice_server::RunningServer;
use sluice_testkit::server::Setup;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777
}

fn set_mode(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Every file and directory the server made under `data`, with group/other bits it should not have.
fn open_to_others(data: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for name in ["", "sluice.db", "sluice.db-wal", "sluice.db-shm", "admin-token", "admin-password"] {
        let p = data.join(name);
        if p.exists() && mode(&p) & 0o077 != 0 {
            found.push(format!("{} {:04o}", p.display(), mode(&p)));
        }
    }
    found
}

#[tokio::test]
async fn item_17_data_directory_and_database_are_the_service_users_only() {
    let setup = Setup::new();
    // The temporary directory itself is 0700; the server's directories are made below one that
    // anyone may enter, as /var/lib or /srv are.
    set_mode(setup.dir(), 0o755);
    let data = setup.data_dir().to_path_buf();
    let server = setup.start().await;

    assert_eq!(mode(&data), 0o700, "data directory");
    assert_eq!(mode(&data.join("sluice.db")), 0o600, "database (it holds the cookie key)");
    assert_eq!(mode(&data.join("content")), 0o700, "content store");
    assert_eq!(mode(&data.join("admin-token")), 0o600);
    assert_eq!(mode(&data.join("admin-password")), 0o600);
    // SQLite's write-ahead log and its index exist while the server runs.
    assert_eq!(mode(&data.join("sluice.db-wal")), 0o600, "write-ahead log");
    assert_eq!(mode(&data.join("sluice.db-shm")), 0o600, "WAL index");
    assert_eq!(open_to_others(&data), Vec::<String>::new());
    server.shutdown().await.unwrap();

    // A data directory made wider by hand (or by an older version) is narrowed at startup.
    set_mode(&data, 0o755);
    set_mode(&data.join("sluice.db"), 0o644);
    set_mode(&data.join("content"), 0o775);
    set_mode(&data.join("admin-token"), 0o644);
    let server = setup.start().await;
    assert_eq!(open_to_others(&data), Vec::<String>::new());
    assert_eq!(mode(&data.join("content")), 0o700);
    // The token still works: narrowing changed modes only.
    let r = reqwest::Client::new()
        .get(format!("http://{}/api/v1/updates", server.admin_addr))
        .bearer_auth(std::fs::read_to_string(data.join("admin-token")).unwrap().trim())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_17_content_directory_elsewhere_is_the_service_users_only() {
    let setup = Setup::new();
    set_mode(setup.dir(), 0o755);
    let content = setup.dir().join("srv/content");
    let setup = setup.with(|c| c.content_dir = Some(content.clone()));
    let server = setup.start().await;
    assert_eq!(mode(&content), 0o700);
    server.shutdown().await.unwrap();

    set_mode(&content, 0o755);
    let server = setup.start().await;
    assert_eq!(mode(&content), 0o700);
    server.shutdown().await.unwrap();
}

struct Admin {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Admin {
    fn new(server: &RunningServer) -> Admin {
        Admin {
            http: reqwest::Client::new(),
            base: format!("http://{}", server.admin_addr),
            token: server.admin_token.clone(),
        }
    }

    /// Sends the request and requires the API's JSON error, `{"error": {"code", "message"}}`,
    /// with a code that belongs to its status; returns status and message.
    async fn error(&self, rb: reqwest::RequestBuilder) -> (u16, String) {
        let (status, code, message) = self.error_with_code(rb).await;
        let fits = match status {
            400 => matches!(
                code,
                ApiErrorCode::InvalidRequest
                    | ApiErrorCode::Rejected
                    | ApiErrorCode::MalformedJson
                    | ApiErrorCode::MalformedQuery
                    | ApiErrorCode::MalformedPath
                    | ApiErrorCode::MalformedUpload
            ),
            401 => code == ApiErrorCode::Unauthenticated,
            403 => code == ApiErrorCode::Forbidden,
            404 => code == ApiErrorCode::NotFound,
            405 => code == ApiErrorCode::MethodNotAllowed,
            409 => code == ApiErrorCode::Conflict,
            413 => code == ApiErrorCode::PayloadTooLarge,
            415 => code == ApiErrorCode::UnsupportedMediaType,
            422 => matches!(code, ApiErrorCode::InvalidBody | ApiErrorCode::FileMismatch),
            _ => false,
        };
        assert!(fits, "{status} answered with code {code:?}: {message}");
        (status, message)
    }

    async fn error_with_code(&self, rb: reqwest::RequestBuilder) -> (u16, ApiErrorCode, String) {
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let content_type = r.headers().get(CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string());
        let body = r.text().await.unwrap();
        assert_eq!(content_type.as_deref(), Some("application/json"), "{status}: {body}");
        let e: ApiError = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{status} {body}: {e}"));
        assert!(!e.error.message.is_empty(), "{body}");
        (status, e.error.code, e.error.message)
    }
}

#[tokio::test]
async fn item_18_bearer_scheme_is_case_insensitive() {
    let server = sluice_testkit::server::start().await;
    let admin = Admin::new(&server);
    let url = format!("{}/api/v1/updates", admin.base);
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        for gap in [" ", "  ", "\t"] {
            let r = admin.http.get(&url).header(AUTHORIZATION, format!("{scheme}{gap}{}", admin.token)).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 200, "{scheme:?}{gap:?}");
        }
    }
    for refused in [
        format!("Basic {}", admin.token),
        format!("Bearer{}", admin.token),
        format!("Bearerx {}", admin.token),
        "Bearer ".to_string(),
        "bearer wrong-token".to_string(),
    ] {
        let (status, why) = admin.error(admin.http.get(&url).header(AUTHORIZATION, &refused)).await;
        assert_eq!(status, 401, "{refused:?}: {why}");
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_18_every_admin_error_is_json() {
    let server = sluice_testkit::server::start().await;
    let admin = Admin::new(&server);
    let h = &admin.http;
    let url = |path: &str| format!("{}{path}", admin.base);
    let auth = |rb: reqwest::RequestBuilder| rb.bearer_auth(&admin.token);

    // Query-string rejection.
    let (status, code, why) = admin.error_with_code(auth(h.get(url("/api/v1/updates?limit=many")))).await;
    assert_eq!((status, code), (400, ApiErrorCode::MalformedQuery), "{why}");
    assert!(why.contains("query string") && why.contains("limit"), "{why}");
    let (status, _) = admin.error(auth(h.get(url("/api/v1/sync/history?limit=x")))).await;
    assert_eq!(status, 400);

    // Body rejections: not JSON, JSON of the wrong shape, no or another content type.
    let import = url("/api/v1/updates/import");
    let (status, code, why) = admin.error_with_code(auth(h.post(&import)).header(CONTENT_TYPE, "application/json").body("{")).await;
    assert_eq!((status, code), (400, ApiErrorCode::MalformedJson), "{why}");
    assert!(why.contains("malformed request body"), "{why}");
    let (status, code, why) = admin.error_with_code(auth(h.post(&import)).json(&json!({ "docs": [] }))).await;
    assert_eq!((status, code), (422, ApiErrorCode::InvalidBody), "{why}");
    assert!(why.contains("documents"), "{why}");
    let (status, why) = admin.error(auth(h.post(&import)).header(CONTENT_TYPE, "text/plain").body("{}")).await;
    assert_eq!(status, 415, "{why}");
    assert!(why.contains("unsupported content type") && why.contains("application/json"), "{why}");
    let (status, _) = admin.error(auth(h.post(&import)).body("{}")).await;
    assert_eq!(status, 415);
    let (status, _) = admin.error(auth(h.put(url("/api/v1/sync/settings"))).header(CONTENT_TYPE, "text/plain").body("{}")).await;
    assert_eq!(status, 415);
    let (status, _) = admin.error(auth(h.post(url("/api/v1/groups"))).header(CONTENT_TYPE, "application/xml").body("<g/>")).await;
    assert_eq!(status, 415);
    let (status, _) = admin.error(auth(h.post(url("/api/v1/export"))).body("{}")).await;
    assert_eq!(status, 415);
    // A publish that is not multipart.
    let (status, why) = admin.error(auth(h.post(url("/api/v1/updates/publish"))).json(&json!({}))).await;
    assert!(status == 400 || status == 415, "{status} {why}");

    // Unknown routes, inside and outside the API prefix, with and without a token.
    for path in ["/api/v1/nothing-here", "/api/v2/updates", "/api/v1/updates/x/y/z"] {
        let (status, _) = admin.error(h.get(url(path))).await;
        assert_eq!(status, 404, "{path}");
        let (status, _) = admin.error(auth(h.get(url(path)))).await;
        assert_eq!(status, 404, "{path}");
    }
    // `/` is the web console's dashboard: without a console session it sends to the login form
    // (an API token is no console session).
    for rb in [h.get(url("/")), auth(h.get(url("/")))] {
        let r = rb.send().await.unwrap();
        assert_eq!((r.status().as_u16(), r.url().path()), (200, "/login"));
    }
    // A method the route does not have.
    let (status, _) = admin.error(auth(h.delete(url("/api/v1/updates")))).await;
    assert_eq!(status, 405);
    // Path segment that is not UTF-8 once decoded.
    let (status, _) = admin.error(auth(h.get(url("/api/v1/updates/%FF%FE")))).await;
    assert_eq!(status, 400);
    // No token at all.
    let (status, _) = admin.error(h.get(url("/api/v1/updates"))).await;
    assert_eq!(status, 401);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_18_export_to_a_path_that_cannot_be_created_is_a_bad_request() {
    let server = sluice_testkit::server::start().await;
    let admin = Admin::new(&server);
    let file = server.dir().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    for out in [file.join("package"), file.clone()] {
        let (status, why) = admin
            .error(admin.http.post(format!("{}/api/v1/export", admin.base)).bearer_auth(&admin.token).json(&json!({ "out": out })))
            .await;
        assert_eq!(status, 400, "{}: {why}", out.display());
        assert!(why.contains(&out.display().to_string()), "names the path: {why}");
        assert!(why.to_lowercase().contains("not a directory"), "gives the reason: {why}");
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"not a directory");
    // The same request to a path that can be made works.
    let out = server.dir().join("transfer/2026-12");
    let r = admin
        .http
        .post(format!("{}/api/v1/export", admin.base))
        .bearer_auth(&admin.token)
        .json(&json!({ "out": out }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    server.shutdown().await.unwrap();
}
