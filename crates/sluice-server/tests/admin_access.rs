//! Who may call what on the admin API, and the audit trail it leaves (issue 10, items 1 and 2):
//! no token → 401 on every protected route; a reporter → 403 on every mutating route, with
//! nothing changed; an administrator → success, with exactly one audit entry per change, naming
//! the action, the user and the address.
//!
//! [`MUTATING_ROUTES`] lists every mutating route once, as method, path template and example
//! body; the placeholders in braces are filled from what earlier rows made.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{json, Value};
use sha1::Digest as _;
use sluice_store::NewComputer;
use sluice_testkit::server::{Setup, TestServer};

/// A request body of the table.
#[derive(Clone, Copy)]
enum Body {
    None,
    Json(&'static str),
    /// `/updates/publish`: the metadata and file parts (built by [`publish_form`]).
    Publish,
}

/// One mutating route: method, path template, example body, and the audit action it records.
struct Route {
    method: &'static str,
    path: &'static str,
    body: Body,
    action: &'static str,
}

const fn route(method: &'static str, path: &'static str, body: Body, action: &'static str) -> Route {
    Route { method, path, body, action }
}

/// Every mutating route, in an order in which each row's example finds what it needs.
const MUTATING_ROUTES: &[Route] = &[
    route("POST", "/updates/import", Body::Json(r#"{"documents":[{"name":"category.xml","xml":"{category_xml}"}]}"#), "import-xml"),
    route("POST", "/updates/publish", Body::Publish, "publish"),
    route("POST", "/groups", Body::Json(r#"{"name":"Pilot"}"#), "group-create"),
    route("POST", "/computers/{computer_id}/move", Body::Json(r#"{"groups":["Pilot"]}"#), "computer-move"),
    route("POST", "/approvals", Body::Json(r#"{"update":"{update_id}","group":"Pilot"}"#), "approve"),
    route("DELETE", "/approvals?update={update_id}&group=Pilot", Body::None, "unapprove"),
    route("POST", "/approvals/bulk", Body::Json(r#"{"updates":["{update_id}"],"groups":["Pilot"]}"#), "bulk-approve"),
    route("POST", "/approval-rules", Body::Json(r#"{"name":"contoso-pilot","products":["Contoso Tools"],"groups":["Pilot"]}"#), "rule-create"),
    route("PATCH", "/approval-rules/{rule}", Body::Json(r#"{"enabled":false}"#), "rule-update"),
    route("POST", "/approval-rules/{rule}/run", Body::None, "rule-run"),
    route("DELETE", "/approval-rules/{rule}", Body::None, "rule-delete"),
    route("PUT", "/settings/auto-approval", Body::Json(r#"{"approve_new_revisions":true,"decline_expired":true}"#), "auto-approval-set"),
    route(
        "POST",
        "/rollout-plans",
        Body::Json(r#"{"name":"monthly","rings":[{"group":"Pilot","soak":"2d"},{"group":"Unassigned Computers","soak":"1d"},{"group":"All Computers","soak":"0d"}],"max_failure":"5%"}"#),
        "rollout-plan-create",
    ),
    route("POST", "/rollouts", Body::Json(r#"{"plan":"monthly","updates":["{update_id}"]}"#), "rollout-start"),
    route("POST", "/rollouts/{rollout_id}/resume", Body::None, "rollout-resume"),
    route("POST", "/rollouts/{rollout_id}/skip", Body::None, "rollout-skip"),
    route("POST", "/rollouts/{rollout_id}/abort", Body::None, "rollout-abort"),
    route("DELETE", "/rollout-plans/{plan}", Body::None, "rollout-plan-delete"),
    route("POST", "/updates/{update_id}/decline", Body::None, "decline"),
    route("POST", "/updates/{update_id}/undecline", Body::None, "undecline"),
    route("PUT", "/settings/targeting", Body::Json(r#"{"mode":"client"}"#), "targeting-set"),
    route("PUT", "/sync/settings", Body::Json(r#"{"upstream":"http://127.0.0.1:9","storage":"none"}"#), "sync-settings"),
    route("POST", "/sync/start", Body::None, "sync-start"),
    route("POST", "/export", Body::Json(r#"{"out":"{export_dir}"}"#), "export"),
    route("POST", "/import", Body::Json(r#"{"dir":"{export_dir}"}"#), "import"),
    route("DELETE", "/groups/{group}", Body::None, "group-delete"),
    route("POST", "/users", Body::Json(r#"{"name":"rita","role":"reporter","password":"correct horse"}"#), "user-create"),
    route("PATCH", "/users/{name}", Body::Json(r#"{"role":"administrator"}"#), "user-update"),
    route("POST", "/tokens", Body::Json(r#"{"user":"rita","label":"ci","expires_in":"90d"}"#), "token-create"),
    route("DELETE", "/tokens/{id}", Body::None, "token-revoke"),
    route("DELETE", "/users/{name}", Body::None, "user-delete"),
    route("POST", "/login", Body::Json(r#"{"user":"admin","password":"{admin_password}"}"#), "login"),
    route("PUT", "/cleanup/settings", Body::Json(r#"{"schedule":"04:00"}"#), "cleanup-settings"),
    route("POST", "/cleanup", Body::Json(r#"{"dry_run":false}"#), "cleanup"),
    route(
        "PUT",
        "/notify/settings",
        Body::Json(r#"{"smtp":"{smtp}","tls":"none","from":"wsus@contoso.test","to":["admins@contoso.test"]}"#),
        "notify-settings",
    ),
    route("POST", "/notify/test", Body::None, "notify-test"),
    route("POST", "/logout", Body::None, "logout"),
];

/// Routes that need no token: `/login` is how one gets a token.
const PUBLIC: &[&str] = &["/login"];

/// The changes that need another server to talk to (trusting one, and every route relayed
/// to it): tests/trusted_servers.rs covers them, audit entries and a Reporter's 403 included.
const NEED_ANOTHER_SERVER: &[&str] = &["POST /servers", "DELETE /servers/{}", "POST /servers/{}/{}", "PUT /servers/{}/{}", "PATCH /servers/{}/{}", "DELETE /servers/{}/{}"];

/// Routes every role may call, on the caller's own token: a Reporter logs out too.
const OWN_TOKEN: &[&str] = &["/logout"];

/// Every read, for the 401 check.
const READ_ROUTES: &[&str] = &[
    "/updates",
    "/updates/{update_id}",
    "/groups",
    "/computers",
    "/computers/{computer_id}",
    "/approvals",
    "/settings/targeting",
    "/status",
    "/sync/settings",
    "/sync/status",
    "/sync/history",
    "/sync/products",
    "/downstreams",
    "/audit",
    "/users",
    "/tokens",
];

struct Api<'a> {
    server: &'a TestServer,
    http: reqwest::Client,
    vars: HashMap<&'static str, String>,
    // Where `POST /notify/test` delivers.
    _smtp: sluice_testkit::smtp::SmtpSink,
}

impl<'a> Api<'a> {
    async fn new(server: &'a TestServer) -> Api<'a> {
        let computer_id = "8f0c4d3b-5e6f-4a1b-9c2d-0e1f2a3b4c5d".to_string();
        server
            .state
            .store
            .upsert_computer(&NewComputer { id: computer_id.clone(), dns_name: Some("pc1.contoso.test".into()), ..NewComputer::default() })
            .await
            .unwrap();
        let password = std::fs::read_to_string(server.data_dir().join("admin-password")).unwrap().trim().to_string();
        let category = sluice_metadata::publish::category_xml(&sluice_metadata::publish::CategorySpec {
            update_id: uuid::Uuid::new_v4(),
            revision_number: 1,
            title: "Contoso Tools".into(),
            category_type: "Product".into(),
            parent: None,
            creation_date: "2026-01-01T00:00:00Z".into(),
        });
        let mut vars = HashMap::new();
        vars.insert("computer_id", computer_id);
        vars.insert("group", "Pilot".into());
        vars.insert("name", "rita".into());
        vars.insert("admin_password", password);
        // JSON string content: the template puts it between quotes.
        vars.insert("category_xml", serde_json::to_string(&category).unwrap().trim_matches('"').to_string());
        vars.insert("export_dir", server.dir().join("package").display().to_string());
        vars.insert("rule", "contoso-pilot".into());
        vars.insert("plan", "monthly".into());
        let smtp = sluice_testkit::smtp::SmtpSink::start().await;
        vars.insert("smtp", smtp.host_port());
        Api { server, http: reqwest::Client::new(), vars, _smtp: smtp }
    }

    fn fill(&self, template: &str) -> String {
        let mut out = template.to_string();
        for (k, v) in &self.vars {
            out = out.replace(&format!("{{{k}}}"), v);
        }
        assert!(
            !out.contains("{update_id}") && !out.contains("{id}") && !out.contains("{rollout_id}"),
            "a row needs what an earlier row makes: {out}"
        );
        out
    }

    async fn call(&self, token: Option<&str>, r: &Route) -> (u16, Value) {
        let method = Method::from_bytes(r.method.as_bytes()).unwrap();
        let mut req = self.http.request(method, self.server.api(&self.fill(r.path)));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req = match r.body {
            Body::None => req,
            Body::Json(template) => req.header("content-type", "application/json").body(self.fill(template)),
            Body::Publish => req.multipart(publish_form()),
        };
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, token: Option<&str>, path: &str) -> (u16, Value) {
        let mut req = self.http.get(self.server.api(&self.fill(path)));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Remembers what a row made, for the rows after it.
    fn learn(&mut self, r: &Route, answer: &Value) {
        match r.action {
            "publish" => {
                self.vars.insert("update_id", answer["update_id"].as_str().unwrap().to_string());
            }
            "token-create" => {
                self.vars.insert("id", answer["id"].as_i64().unwrap().to_string());
            }
            "rollout-start" => {
                self.vars.insert("rollout_id", answer[0]["id"].as_i64().unwrap().to_string());
            }
            _ => {}
        }
    }

    async fn audit_len(&self) -> usize {
        self.server.state.store.list_audit(10_000, None, None).await.unwrap().len()
    }

    /// What a refused change must leave as it was.
    async fn snapshot(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for path in ["/updates", "/groups", "/computers", "/approvals", "/settings/targeting", "/sync/settings", "/users", "/audit"] {
            let (status, v) = self.get(Some(self.server.token()), path).await;
            assert_eq!(status, 200, "{path}: {v}");
            out.push(v);
        }
        let tokens = self.server.state.store.list_tokens(None).await.unwrap();
        out.push(json!(tokens.iter().map(|t| (t.id, t.revoked)).collect::<Vec<_>>()));
        out
    }
}

/// Halts a rollout as a ring over its failure threshold would, so it can be resumed.
async fn halt(server: &TestServer, id: i64) {
    let store = &server.state.store;
    let r = store.rollout(id).await.unwrap().expect("the rollout just started");
    let to = sluice_store::RolloutMove {
        ring: r.ring,
        ring_started_at: r.ring_started_at,
        state: sluice_store::RolloutState::Halted,
        reason: Some("failures over the threshold"),
    };
    store.move_rollout(id, r.ring, r.state, &to).await.unwrap().expect("halted");
}

fn publish_form() -> reqwest::multipart::Form {
    let payload: Vec<u8> = b"contoso tool".iter().copied().cycle().take(2048).collect();
    let metadata = json!({
        "title": "Contoso Tool 1.0",
        "product": "Contoso Tools",
        "return_codes": [],
        "prerequisites": [],
        "supersedes": [],
        "file": {
            "name": "tool.exe",
            "size": payload.len(),
            "sha1": hex::encode(sha1::Sha1::digest(&payload)),
            "sha256": hex::encode(sha2::Sha256::digest(&payload)),
        }
    });
    reqwest::multipart::Form::new()
        .text("metadata", metadata.to_string())
        .part("file", reqwest::multipart::Part::bytes(payload).file_name("tool.exe"))
}

/// A new API token of an existing user.
async fn make_token(server: &TestServer, user: &str) -> String {
    let r = reqwest::Client::new().post(server.api("/tokens")).bearer_auth(server.token()).json(&json!({ "user": user })).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 201);
    r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
}

async fn make_user(server: &TestServer, name: &str, role: &str) -> String {
    let http = reqwest::Client::new();
    let r = http
        .post(server.api("/users"))
        .bearer_auth(server.token())
        .json(&json!({ "name": name, "role": role, "password": "long enough" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let r = http.post(server.api("/tokens")).bearer_auth(server.token()).json(&json!({ "user": name })).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 201);
    r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
}

/// Every mutating route once, as an administrator: each succeeds and adds exactly one audit
/// entry with its action, the administrator's name and the loopback address.
async fn each_change_has_exactly_one_audit_entry(setup: Setup) {
    let server = setup.start().await;
    let mut api = Api::new(&server).await;
    for r in MUTATING_ROUTES {
        if r.action == "rollout-resume" {
            halt(&server, api.vars["rollout_id"].parse().unwrap()).await;
        }
        // Logging out revokes the token it is called with: not the one the other calls use.
        let token = if OWN_TOKEN.contains(&r.path) { make_token(&server, "admin").await } else { server.token().to_string() };
        let before = api.audit_len().await;
        let (status, answer) = api.call(Some(&token), r).await;
        assert!((200..300).contains(&status), "{} {}: {status} {answer}", r.method, r.path);
        api.learn(r, &answer);
        let entries = server.state.store.list_audit(10_000, None, None).await.unwrap();
        assert_eq!(entries.len(), before + 1, "{} {} must add one audit entry: {entries:#?}", r.method, r.path);
        let e = &entries[0];
        assert_eq!((e.action.as_str(), e.actor.as_str()), (r.action, "admin"), "{} {}", r.method, r.path);
        assert_eq!(e.source_address.as_deref(), Some("127.0.0.1"), "{} {}", r.method, r.path);
        if r.action == "publish" {
            assert_eq!(e.target, api.vars["update_id"], "the publish entry names the new update");
        }
    }
    // A request that fails changes nothing and is not recorded as a change.
    let before = api.audit_len().await;
    let (status, _) = api.call(Some(server.token()), &route("POST", "/groups", Body::Json(r#"{"name":"All Computers"}"#), "")).await;
    assert_eq!(status, 409);
    assert_eq!(api.audit_len().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_change_has_exactly_one_audit_entry_sqlite() {
    each_change_has_exactly_one_audit_entry(Setup::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_change_has_exactly_one_audit_entry_postgres() {
    let Some(pg) = sluice_testkit::postgres::database("audit_per_change").await else {
        return;
    };
    let url = pg.url.clone();
    each_change_has_exactly_one_audit_entry(Setup::new().with(|c| c.database = Some(url))).await;
    pg.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_is_401_and_a_reporter_changes_nothing() {
    let server = sluice_testkit::server::start().await;
    let mut api = Api::new(&server).await;
    // An update and a token to name in paths.
    let (status, published) = api.call(Some(server.token()), &MUTATING_ROUTES[1]).await;
    assert_eq!(status, 200, "{published}");
    api.learn(&MUTATING_ROUTES[1], &published);
    api.vars.insert("id", server.state.store.list_tokens(None).await.unwrap()[0].id.to_string());
    api.vars.insert("rollout_id", "1".into());

    for path in READ_ROUTES {
        let (status, v) = api.get(None, path).await;
        assert_eq!((status, v["error"]["code"].as_str()), (401, Some("unauthenticated")), "GET {path}");
    }
    for r in MUTATING_ROUTES.iter().filter(|r| !PUBLIC.contains(&r.path)) {
        let (status, v) = api.call(None, r).await;
        assert_eq!((status, v["error"]["code"].as_str()), (401, Some("unauthenticated")), "{} {}", r.method, r.path);
    }

    let reporter = make_user(&server, "rita", "reporter").await;
    for path in READ_ROUTES {
        let (status, v) = api.get(Some(&reporter), path).await;
        assert_eq!(status, 200, "a reporter reads GET {path}: {v}");
    }
    let before = api.snapshot().await;
    for r in MUTATING_ROUTES.iter().filter(|r| !PUBLIC.contains(&r.path) && !OWN_TOKEN.contains(&r.path)) {
        let (status, v) = api.call(Some(&reporter), r).await;
        assert_eq!((status, v["error"]["code"].as_str()), (403, Some("forbidden")), "{} {}: {v}", r.method, r.path);
    }
    assert_eq!(api.snapshot().await, before, "a reporter's refused requests changed something");

    // A Reporter may end their own session, and only that: the token is dead afterwards.
    let session = make_token(&server, "rita").await;
    let (status, v) = api.call(Some(&session), &route("POST", "/logout", Body::None, "")).await;
    assert_eq!(status, 204, "{v}");
    let (status, _) = api.get(Some(&session), "/updates").await;
    assert_eq!(status, 401, "a logged-out token is refused");
    let (status, _) = api.get(Some(&reporter), "/updates").await;
    assert_eq!(status, 200, "the user's other tokens live on");

    // Promoted, the same user may change things with the same token.
    let (status, v) = api
        .call(Some(server.token()), &route("PATCH", "/users/rita", Body::Json(r#"{"role":"administrator"}"#), ""))
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = api.call(Some(&reporter), &route("POST", "/groups", Body::Json(r#"{"name":"Ring 1"}"#), "")).await;
    assert_eq!(status, 201, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_expired_and_disabled_tokens_are_refused() {
    let server = sluice_testkit::server::start().await;
    let api = Api::new(&server).await;
    let http = reqwest::Client::new();
    let token = make_user(&server, "olga", "administrator").await;
    assert_eq!(api.get(Some(&token), "/users").await.0, 200);

    // Disabled: 401 until enabled again; the token itself is kept.
    let patch = |body: Value| http.patch(server.api("/users/olga")).bearer_auth(server.token()).json(&body).send();
    assert_eq!(patch(json!({ "disabled": true })).await.unwrap().status().as_u16(), 200);
    let (status, v) = api.get(Some(&token), "/users").await;
    assert_eq!((status, v["error"]["code"].as_str()), (401, Some("unauthenticated")));
    assert_eq!(patch(json!({ "disabled": false })).await.unwrap().status().as_u16(), 200);
    assert_eq!(api.get(Some(&token), "/users").await.0, 200);

    // Revoked.
    let (_, tokens) = api.get(Some(server.token()), "/tokens?user=olga").await;
    let id = tokens[0]["id"].as_i64().unwrap();
    assert!(tokens[0]["last_used_at"].is_string(), "use is recorded: {tokens}");
    let r = http.delete(server.api(&format!("/tokens/{id}"))).bearer_auth(server.token()).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["revoked"], true);
    assert_eq!(api.get(Some(&token), "/users").await.0, 401);
    let r = http.delete(server.api("/tokens/999999")).bearer_auth(server.token()).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);

    // Expired: stored with a past expiry (the API takes only lifetimes from now).
    let secret = "e".repeat(40);
    let digest = sluice_server::bootstrap::token_digest(&secret);
    let past = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let expired = sluice_store::NewToken { user_name: "olga", token_sha256: &digest, description: "old", expires_at: Some(past), kind: "api" };
    server.state.store.add_token(&expired).await.unwrap();
    let (status, v) = api.get(Some(&secret), "/users").await;
    assert_eq!((status, v["error"]["code"].as_str()), (401, Some("unauthenticated")));

    // Deleted: its tokens go with it.
    let fresh = http.post(server.api("/tokens")).bearer_auth(server.token()).json(&json!({ "user": "olga", "expires_in": "1h" })).send().await.unwrap();
    let fresh: Value = fresh.json().await.unwrap();
    assert!(fresh["expires_at"].is_string(), "{fresh}");
    let fresh = fresh["token"].as_str().unwrap().to_string();
    assert_eq!(api.get(Some(&fresh), "/users").await.0, 200);
    let r = http.delete(server.api("/users/olga")).bearer_auth(server.token()).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(api.get(Some(&fresh), "/users").await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_checked_and_the_last_administrator_stays() {
    let server = sluice_testkit::server::start().await;
    let http = reqwest::Client::new();
    let send = |method: Method, path: &str, body: Option<Value>| {
        let mut req = http.request(method, server.api(path)).bearer_auth(server.token());
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let user = |name: &str, role: &str| json!({ "name": name, "role": role, "password": "long enough" });
    let code = |v: &Value| v["error"]["code"].as_str().unwrap_or("").to_string();

    let (status, v) = send(Method::POST, "/users", Some(user("rita", "reporter"))).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!((v["role"].as_str(), v["disabled"].as_bool()), (Some("reporter"), Some(false)));
    for (body, want) in [
        (user("rita", "reporter"), 409),
        (user("RITA", "administrator"), 409),
        (user("", "reporter"), 400),
        (user(&"x".repeat(65), "reporter"), 400),
        (user("bad\u{7}name", "reporter"), 400),
        (user("tim", "owner"), 422),
        (json!({ "name": "tim", "role": "reporter", "password": "short" }), 400),
    ] {
        let (status, v) = send(Method::POST, "/users", Some(body.clone())).await;
        assert_eq!(status, want, "{body}: {v}");
        assert!(!code(&v).is_empty(), "{v}");
    }
    let (_, users) = send(Method::GET, "/users", None).await;
    let names: Vec<&str> = users.as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["admin", "rita"]);
    assert!(users[0].get("password_hash").is_none());

    // admin is the only administrator: it cannot be demoted, disabled or deleted.
    for (method, body) in [
        (Method::PATCH, Some(json!({ "role": "reporter" }))),
        (Method::PATCH, Some(json!({ "disabled": true }))),
        (Method::DELETE, None),
    ] {
        let (status, v) = send(method.clone(), "/users/admin", body).await;
        assert_eq!((status, code(&v).as_str()), (409, "conflict"), "{method}: {v}");
    }
    assert_eq!(send(Method::PATCH, "/users/nobody", Some(json!({ "disabled": true }))).await.0, 404);
    assert_eq!(send(Method::DELETE, "/users/nobody", None).await.0, 404);
    assert_eq!(send(Method::PATCH, "/users/rita", Some(json!({}))).await.0, 400);
    assert_eq!(send(Method::POST, "/tokens", Some(json!({ "user": "nobody" }))).await.0, 404);
    assert_eq!(send(Method::POST, "/tokens", Some(json!({ "expires_in": "forever" }))).await.0, 400);
    // With a second administrator, the first may go.
    assert_eq!(send(Method::PATCH, "/users/rita", Some(json!({ "role": "administrator" }))).await.0, 200);
    assert_eq!(send(Method::PATCH, "/users/admin", Some(json!({ "role": "reporter" }))).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_with_the_bootstrap_password_and_rate_limiting() {
    let server = sluice_testkit::server::start().await;
    let http = reqwest::Client::new();
    let password = std::fs::read_to_string(server.data_dir().join("admin-password")).unwrap().trim().to_string();
    let login = |user: &str, password: &str| {
        http.post(server.api("/login")).json(&json!({ "user": user, "password": password })).send()
    };

    let r = login("admin", &password).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let session: Value = r.json().await.unwrap();
    assert_eq!((session["user"].as_str(), session["role"].as_str()), (Some("admin"), Some("administrator")));
    assert!(session["expires_at"].is_string());
    let token = session["token"].as_str().unwrap();
    let r = http.get(server.api("/users")).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "the session token works");
    let tokens = server.state.store.list_tokens(Some("admin")).await.unwrap();
    assert!(tokens.iter().any(|t| t.kind == "session" && t.expires_at.is_some()), "{tokens:?}");

    // Wrong passwords and unknown users: 401, the same answer.
    for (user, pw) in [("admin", "wrong password"), ("nobody", "whatever it is")] {
        let r = login(user, pw).await.unwrap();
        assert_eq!(r.status().as_u16(), 401);
        assert_eq!(r.json::<Value>().await.unwrap()["error"]["message"], "wrong user name or password");
    }

    // Per user: five failures for admin within the window (from two addresses) hold back the
    // next attempt from anywhere, even with the right password.
    let elsewhere = reqwest::Client::builder().local_address(std::net::IpAddr::from([127, 0, 0, 2])).build().unwrap();
    let login_from = |http: &reqwest::Client, user: &str, password: &str| {
        http.post(server.api("/login")).json(&json!({ "user": user, "password": password })).send()
    };
    for _ in 0..4 {
        assert_eq!(login_from(&elsewhere, "admin", "wrong password").await.unwrap().status().as_u16(), 401);
    }
    let r = login_from(&elsewhere, "admin", &password).await.unwrap();
    assert_eq!(r.status().as_u16(), 429);
    let retry: i64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 15 * 60, "{retry}");
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "rate_limited");
    // Per address: 127.0.0.2 has four failures; one more, for another name, and it is held
    // back for every name, while 127.0.0.1 (two failures) still may try.
    assert_eq!(login_from(&elsewhere, "nobody", "whatever it is").await.unwrap().status().as_u16(), 401);
    assert_eq!(login_from(&elsewhere, "carol", "whatever it is").await.unwrap().status().as_u16(), 429);
    assert_eq!(login("carol", "whatever it is").await.unwrap().status().as_u16(), 401);

    // A disabled user cannot log in.
    let server2 = sluice_testkit::server::start().await;
    make_user(&server2, "dora", "reporter").await;
    let r = http.patch(server2.api("/users/dora")).bearer_auth(server2.token()).json(&json!({ "disabled": true })).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = http.post(server2.api("/login")).json(&json!({ "user": "dora", "password": "long enough" })).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = http.patch(server2.api("/users/dora")).bearer_auth(server2.token()).json(&json!({ "disabled": false })).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = http.post(server2.api("/login")).json(&json!({ "user": "dora", "password": "long enough" })).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let session: Value = r.json().await.unwrap();
    assert_eq!(session["role"], "reporter");
    let r = http.post(server2.api("/groups")).bearer_auth(session["token"].as_str().unwrap()).json(&json!({ "name": "X" })).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403, "a reporter's session is read-only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_bootstrap_administrator_stays_deleted() {
    let server = sluice_testkit::server::start().await;
    let olga = make_user(&server, "olga", "administrator").await;
    let r = reqwest::Client::new().delete(server.api("/users/admin")).bearer_auth(&olga).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let server = server.restart().await;
    let names: Vec<String> = server.state.store.list_users().await.unwrap().into_iter().map(|u| u.name).collect();
    assert_eq!(names, ["olga"]);
    assert_eq!(server.token(), "", "no token is written for a deleted account");
    let r = reqwest::Client::new().get(server.api("/users")).bearer_auth(&olga).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

/// A path template with its parameters unnamed: the table names them for what fills them.
fn shape(path: &str) -> String {
    path.split('/').map(|seg| if seg.starts_with('{') { "{}" } else { seg }).collect::<Vec<_>>().join("/")
}

/// The table above lists every operation of the OpenAPI document that is not a read, so a new
/// mutating route cannot escape the checks here.
#[tokio::test]
async fn the_table_lists_every_mutating_operation_of_the_document() {
    let server = sluice_testkit::server::start().await;
    let doc: Value = reqwest::get(format!("{}/api/openapi.json", server.admin_url())).await.unwrap().json().await.unwrap();
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["put", "post", "delete", "patch"] {
            if item.get(method).is_some() {
                let change = format!("{} {}", method.to_uppercase(), shape(path.trim_start_matches("/api/v1")));
                if !NEED_ANOTHER_SERVER.contains(&change.as_str()) {
                    documented.push(change);
                }
            }
        }
    }
    documented.sort();
    let mut listed: Vec<String> = MUTATING_ROUTES
        .iter()
        .map(|r| format!("{} {}", r.method, shape(r.path.split('?').next().unwrap())))
        .collect();
    listed.sort();
    assert_eq!(listed, documented, "MUTATING_ROUTES and the document's changes differ");
}
