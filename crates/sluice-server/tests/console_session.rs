//! The web console's sessions and forms over real HTTP on loopback (issue #11): login with
//! the bootstrap administrator's generated password, the session cookie's attributes, the
//! CSRF check of every form, logout and idle expiry ending a session for good, and a
//! Reporter's pages without controls and their changes refused.

use std::collections::HashMap;

use reqwest::redirect::Policy;
use sluice_testkit::server::TestServer;

/// A browser without JavaScript: follows nothing, keeps its cookies.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: HashMap<String, String>,
}

struct Answer {
    status: u16,
    location: String,
    set_cookies: Vec<String>,
    body: String,
}

impl Browser {
    fn new(server: &TestServer) -> Browser {
        let http = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        Browser { http, base: server.admin_url(), cookies: HashMap::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn take(&mut self, resp: reqwest::Response) -> Answer {
        let status = resp.status().as_u16();
        let location = resp.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let set_cookies: Vec<String> = resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
        for c in &set_cookies {
            let (pair, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        Answer { status, location, set_cookies, body: resp.text().await.unwrap() }
    }

    async fn get(&mut self, path: &str) -> Answer {
        let resp = self.http.get(format!("{}{path}", self.base)).header("cookie", self.cookie_header()).send().await.unwrap();
        self.take(resp).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).unwrap())
            .send()
            .await
            .unwrap();
        self.take(resp).await
    }

    async fn login(&mut self, user: &str, password: &str) -> Answer {
        let form = self.get("/login").await;
        let token = hidden(&form.body, "login_token");
        self.post("/login", &[("username", user), ("password", password), ("login_token", &token), ("next", "/")]).await
    }
}

/// The value of a hidden field of a page.
fn hidden(html: &str, name: &str) -> String {
    let at = html.find(&format!("name=\"{name}\" value=\"")).unwrap_or_else(|| panic!("no field {name} in {html}"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

fn admin_password(server: &TestServer) -> String {
    std::fs::read_to_string(server.data_dir().join("admin-password")).unwrap().trim().to_string()
}

/// A published update with a file, by id.
async fn publish(server: &TestServer, title: &str, kb: &str) -> String {
    use sha1::Digest as _;
    let payload: Vec<u8> = title.bytes().cycle().take(4096).collect();
    let req = sluice_catalog::api::PublishRequest {
        file: Some(sluice_catalog::api::PublishFile {
            name: "agent.exe".into(),
            size: payload.len() as u64,
            sha1: hex::encode(sha1::Sha1::digest(&payload)),
            sha256: hex::encode(sha2::Sha256::digest(&payload)),
        }),
        title: title.into(),
        kb: Some(kb.into()),
        product: Some("Contoso Agent".into()),
        classification: Some("Security Updates".into()),
        installed_rule: Some(r#"<bar:RegKeyExists Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Contoso\Agent" />"#.into()),
        ..Default::default()
    };
    let detail = server.state.catalog.publish(req, std::io::Cursor::new(payload)).await.unwrap();
    server.state.scan.invalidate();
    detail.summary.update_id.to_lowercase()
}

async fn declined(server: &TestServer, id: &str) -> bool {
    let v: serde_json::Value = reqwest::Client::new()
        .get(server.api(&format!("/updates/{id}")))
        .bearer_auth(server.token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["declined"].as_bool().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_sets_a_strict_http_only_session_and_pages_need_it() {
    let server = sluice_testkit::server::start().await;
    let mut b = Browser::new(&server);

    let away = b.get("/updates?q=KB1").await;
    assert_eq!((away.status, away.location.as_str()), (303, "/login?next=%2Fupdates%3Fq%3DKB1"));

    let wrong = b.login("admin", "not the password").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("Wrong user name or password."), "{}", wrong.body);
    assert!(!b.cookies.contains_key("sluice_session"));

    let ok = b.login("admin", &admin_password(&server)).await;
    assert_eq!((ok.status, ok.location.as_str()), (303, "/"), "{}", ok.body);
    let session = ok.set_cookies.iter().find(|c| c.starts_with("sluice_session=")).expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(session.contains(attribute), "{session}");
    }
    let home = b.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("<h1>Dashboard</h1>"), "{}", home.body);
    assert!(home.body.contains("admin <span class=\"role\">Administrator</span>"));

    // The admin API beside the console still answers JSON, also for a path it lacks.
    let missing = b.get("/api/v1/no-such-thing").await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("\"not_found\""), "{}", missing.body);
    // A login form without its token is refused.
    let mut other = Browser::new(&server);
    let bare = other.post("/login", &[("username", "admin"), ("password", &admin_password(&server))]).await;
    assert_eq!(bare.status, 403);
    assert!(!other.cookies.contains_key("sluice_session"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_without_its_csrf_token_changes_nothing() {
    let server = sluice_testkit::server::start().await;
    let id = publish(&server, "Contoso Agent 1.1", "5031001").await;
    let mut b = Browser::new(&server);
    b.login("admin", &admin_password(&server)).await;
    let page = b.get(&format!("/updates/{id}")).await;
    assert_eq!(page.status, 200);
    let csrf = hidden(&page.body, "csrf");

    let path = format!("/updates/{id}/decline");
    let missing = b.post(&path, &[("verb", "decline")]).await;
    assert_eq!(missing.status, 403, "{}", missing.body);
    assert!(missing.body.contains("CSRF"), "{}", missing.body);
    let forged = b.post(&path, &[("verb", "decline"), ("csrf", &"0".repeat(64))]).await;
    assert_eq!(forged.status, 403);
    assert!(!declined(&server, &id).await, "a refused form declined the update");

    // Another session's token is no good either.
    let mut other = Browser::new(&server);
    other.login("admin", &admin_password(&server)).await;
    let theirs = hidden(&other.get(&format!("/updates/{id}")).await.body, "csrf");
    assert_ne!(theirs, csrf);
    assert_eq!(b.post(&path, &[("verb", "decline"), ("csrf", &theirs)]).await.status, 403);
    assert!(!declined(&server, &id).await);

    let done = b.post(&path, &[("verb", "decline"), ("csrf", &csrf)]).await;
    assert_eq!((done.status, done.location.as_str()), (303, format!("/updates/{id}?notice=declined").as_str()), "{}", done.body);
    assert!(declined(&server, &id).await);
    let shown = b.get(&done.location).await;
    assert!(shown.body.contains("Update declined."), "{}", shown.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ends_at_logout_and_after_idle_time() {
    let server = sluice_testkit::server::start().await;
    let id = publish(&server, "Contoso Agent 1.2", "5031002").await;
    let mut b = Browser::new(&server);
    b.login("admin", &admin_password(&server)).await;
    let csrf = hidden(&b.get("/").await.body, "csrf");
    let old = b.cookies.clone();

    // Logging out needs the CSRF token too.
    assert_eq!(b.post("/logout", &[]).await.status, 403);
    let out = b.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!((out.status, out.location.as_str()), (303, "/login?notice=logged-out"));
    assert!(!b.cookies.contains_key("sluice_session"), "the cookie is dropped");
    assert!(b.get("/login?notice=logged-out").await.body.contains("You are logged out."));

    // The cookie of the ended session, replayed, is refused: for pages and for changes.
    b.cookies = old;
    let page = b.get("/").await;
    assert_eq!((page.status, page.location.as_str()), (303, "/login?next=%2F"));
    let change = b.post(&format!("/updates/{id}/decline"), &[("verb", "decline"), ("csrf", &csrf)]).await;
    assert_eq!(change.status, 303);
    assert!(change.location.starts_with("/login"), "{}", change.location);
    assert!(!declined(&server, &id).await);

    // A session unused for longer than the idle limit is over.
    let mut c = Browser::new(&server);
    c.login("admin", &admin_password(&server)).await;
    assert_eq!(c.get("/").await.status, 200);
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", server.data_dir().join("sluice.db").display())).await.unwrap();
    let long_ago = time::OffsetDateTime::now_utc() - sluice_store::SESSION_IDLE - time::Duration::minutes(1);
    let stamp = long_ago.format(&time::format_description::well_known::Rfc3339).unwrap();
    sqlx::query("UPDATE api_tokens SET last_used_at = $1, created_at = $1 WHERE kind = 'session' AND revoked = FALSE")
        .bind(&stamp)
        .execute(&db)
        .await
        .unwrap();
    let idle = c.get("/").await;
    assert_eq!(idle.status, 303, "{}", idle.body);
    assert!(idle.location.starts_with("/login"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reporter_sees_no_controls_and_is_refused_changes() {
    let server = sluice_testkit::server::start().await;
    let id = publish(&server, "Contoso Agent 1.3", "5031003").await;
    let r = reqwest::Client::new()
        .post(server.api("/users"))
        .bearer_auth(server.token())
        .json(&serde_json::json!({"name": "riley", "role": "reporter", "password": "reads only"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let mut b = Browser::new(&server);
    assert_eq!(b.login("riley", "reads only").await.status, 303);
    let page = b.get(&format!("/updates/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("riley <span class=\"role\">Reporter</span>"));
    assert!(!page.body.contains("id=\"approve\"") && !page.body.contains("id=\"decline\""), "controls shown to a reporter");
    let list = b.get("/updates").await;
    assert!(!list.body.contains("id=\"bulk\""), "bulk controls shown to a reporter");

    let csrf = hidden(&page.body, "csrf");
    let refused = b.post(&format!("/updates/{id}/approve"), &[("csrf", &csrf), ("group", "All Computers"), ("action", "install")]).await;
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("Reporter, who may only read"), "{}", refused.body);
    let approvals: serde_json::Value = reqwest::Client::new()
        .get(server.api(&format!("/approvals?update={id}")))
        .bearer_auth(server.token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(approvals, serde_json::json!([]));
    // A Reporter may still log out.
    let out = b.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!((out.status, out.location.as_str()), (303, "/login?notice=logged-out"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_approval_shows_its_errors_next_to_the_fields() {
    let server = sluice_testkit::server::start().await;
    let id = publish(&server, "Contoso Agent 1.4", "5031004").await;
    let mut b = Browser::new(&server);
    b.login("admin", &admin_password(&server)).await;
    let csrf = hidden(&b.get(&format!("/updates/{id}")).await.body, "csrf");
    let bad = b.post(&format!("/updates/{id}/approve"), &[("csrf", &csrf), ("group", ""), ("deadline", "next tuesday")]).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("id=\"approve-group-error\">Choose a computer group."), "{}", bad.body);
    assert!(bad.body.contains("id=\"approve-deadline-error\">not a date and time"), "{}", bad.body);
    assert!(bad.body.contains("value=\"next tuesday\""), "what was typed stays");
    // The API's refusal (an unknown group) is shown on the form, and nothing changes.
    let unknown = b.post(&format!("/updates/{id}/approve"), &[("csrf", &csrf), ("group", "No Such Group")]).await;
    assert!(unknown.status >= 400, "{}", unknown.status);
    assert!(unknown.body.contains("Nothing was changed:"), "{}", unknown.body);
    let good = b.post(&format!("/updates/{id}/approve"), &[("csrf", &csrf), ("group", "All Computers"), ("deadline", "2030-01-02T03:04")]).await;
    assert_eq!(good.status, 303, "{}", good.body);
    let shown = b.get(&good.location).await;
    assert!(shown.body.contains("Approval saved.") && shown.body.contains("2030-01-02 03:04 UTC"), "{}", shown.body);
}
