//! Admin API of upstream synchronisation, through a running server and its scheduler.

use std::time::Duration;

use serde_json::{json, Value};

struct Admin {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Admin {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut rb = self.http.request(method, format!("{}/api/v1{path}", self.base)).bearer_auth(&self.token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn settings_start_status_history() {
    let server = sluice_testkit::server::start().await;
    let admin = Admin { http: reqwest::Client::new(), base: server.admin_url(), token: server.admin_token.clone() };
    use reqwest::Method as M;

    let unauth = admin.http.get(format!("{}/api/v1/sync/status", admin.base)).send().await.unwrap();
    assert_eq!(unauth.status().as_u16(), 401);

    let (st, defaults) = admin.call(M::GET, "/sync/settings", None).await;
    assert_eq!(st, 200);
    assert_eq!(defaults["upstream"], "https://sws.update.microsoft.com");
    assert_eq!(defaults["storage"], "approved");

    let (st, err) = admin.call(M::PUT, "/sync/settings", Some(json!({ "upstream": "ftp://x" }))).await;
    assert_eq!(st, 400, "{err}");
    let (st, _) = admin.call(M::PUT, "/sync/settings", Some(json!({ "schedule": { "first_sync": "27:00", "per_day": 1 } }))).await;
    assert_eq!(st, 400);

    // An upstream that refuses connections: the run must end, failed, with the reason.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let settings = json!({
        "upstream": format!("http://{closed}"),
        "storage": "none",
        "products": ["8c3fcc84-7410-4a95-8b89-a166a0190486"],
        "classifications": ["e0789628-ce08-4437-be74-2495b842f43b"],
        "schedule": { "first_sync": "03:00", "per_day": 2 },
        "connect_timeout_secs": 2,
        "read_timeout_secs": 2
    });
    let (st, saved) = admin.call(M::PUT, "/sync/settings", Some(settings)).await;
    assert_eq!(st, 200, "{saved}");
    assert_eq!(saved["schedule"]["per_day"], 2);
    assert_eq!(server.state.store.setting(sluice_store::settings::STORAGE_MODE).await.unwrap(), Some(sluice_store::StorageMode::None));

    let (st, job) = admin.call(M::POST, "/sync/start", None).await;
    assert_eq!(st, 202, "{job}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let history = loop {
        let (_, h) = admin.call(M::GET, "/sync/history", None).await;
        if h.as_array().is_some_and(|a| a.first().is_some_and(|r| r["result"] != "running")) {
            break h;
        }
        assert!(tokio::time::Instant::now() < deadline, "the sync did not end");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(history[0]["result"], "failed");
    assert!(history[0]["error"].as_str().unwrap().contains("cannot reach the upstream"), "{history}");
    let (_, status) = admin.call(M::GET, "/sync/status", None).await;
    assert_eq!(status["last"]["result"], "failed");
    assert!(status["running"].is_null(), "{status}");
    server.shutdown().await.unwrap();
}
