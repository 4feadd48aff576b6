//! E-mail notifications end to end: a downstream Sluice syncs new updates from an upstream
//! Sluice and mails them, and the periodic status report goes out, both received by a local
//! SMTP sink; bad settings are refused with nothing stored, the password is never shown, and
//! a failure is visible in the settings view.

use std::time::Duration as StdDuration;

use serde_json::{Value, json};
use sluice_metadata::publish::{CategorySpec, PublishSpec, category_xml, software_update_xml};
use sluice_store::{InstallState, NewComputer, UpdateStatus};
use sluice_sync::SyncSettingsExt;
use sluice_testkit::server::TestServer;
use sluice_testkit::smtp::SmtpSink;
use time::{Duration, OffsetDateTime};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const WAIT: StdDuration = StdDuration::from_secs(30);
const CLASSIFICATION: Uuid = Uuid::from_u128(0x0fa1_201d_4330_4fa8_8ae9_b877473b6441);
const PRODUCT: Uuid = Uuid::from_u128(0x7000_0000_0000_0000_0000_0000_0000_0001);

fn update(n: u128, title: &str, kb: &str) -> PublishSpec {
    PublishSpec {
        update_id: Uuid::from_u128(0x6100_0000 + n),
        revision_number: 1,
        language: "en".into(),
        title: title.into(),
        description: None,
        kb_article: Some(kb.into()),
        msrc_number: None,
        msrc_severity: None,
        classification: Some(CLASSIFICATION),
        products: vec![PRODUCT],
        creation_date: "2026-11-01T00:00:00.000Z".into(),
        file: None,
        command_line: None,
        installed_rule: None,
        installable_rule: None,
        prerequisites: vec![],
        supersedes: vec![],
        reboot_behavior: None,
    }
}

fn category(id: Uuid, title: &str, kind: &str) -> String {
    category_xml(&CategorySpec {
        update_id: id,
        revision_number: 1,
        title: title.into(),
        category_type: kind.into(),
        parent: None,
        creation_date: "2026-01-01T00:00:00.000Z".into(),
    })
}

async fn call(server: &TestServer, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, server.api(path)).bearer_auth(server.token());
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn audit_count(server: &TestServer, action: &str) -> usize {
    let (_, entries) = call(server, reqwest::Method::GET, "/audit", None).await;
    entries.as_array().unwrap().iter().filter(|e| e["action"] == action).count()
}

async fn sent(work: sluice_server::maintenance::DueWork) -> usize {
    let n = work.mails.len();
    for m in work.mails {
        m.await.unwrap().expect("message sent");
    }
    n
}

#[tokio::test]
async fn new_updates_and_status_report_reach_a_local_smtp_server() {
    notifications(sluice_testkit::server::start().await).await;
}

#[tokio::test]
async fn new_updates_and_status_report_reach_a_local_smtp_server_on_postgres() {
    let Some(pg) = sluice_testkit::postgres::database("notify_mail").await else {
        return;
    };
    let url = pg.url.clone();
    let server = sluice_testkit::server::Setup::new().with(move |c| c.database = Some(url)).start().await;
    notifications(server).await;
    pg.drop_db().await;
}

async fn notifications(server: TestServer) {
    let mut sink = SmtpSink::start().await;
    let upstream = sluice_testkit::server::start().await;
    use reqwest::Method;

    // Bad settings: refused with a code, nothing stored.
    let good = json!({"smtp": sink.host_port(), "tls": "none", "from": "sluice@example.org", "to": ["admins@example.org", "Ops <ops@example.org>"], "new_updates": true, "status_report": "daily"});
    for (bad, status, code) in [
        (json!({"smtp": "mail.example.org"}), 400, "invalid_request"),
        (json!({"smtp": "mail.example.org:99999"}), 400, "invalid_request"),
        (json!({"tls": "ssl"}), 422, "invalid_body"),
        (json!({"from": "not an address"}), 400, "invalid_request"),
        (json!({"to": ["ok@example.org", "a@@b"]}), 400, "invalid_request"),
        (json!({"to": []}), 400, "invalid_request"),
        (json!({"status_report": "hourly"}), 422, "invalid_body"),
        (json!({"user": "mailer"}), 400, "invalid_request"),
    ] {
        let mut body = good.clone();
        body.as_object_mut().unwrap().extend(bad.as_object().unwrap().clone());
        let (s, err) = call(&server, Method::PUT, "/notify/settings", Some(body)).await;
        assert_eq!((s, err["error"]["code"].as_str()), (status, Some(code)), "{bad}: {err}");
    }
    let (_, view) = call(&server, Method::GET, "/notify/settings", None).await;
    assert_eq!(view["configured"], false, "nothing stored");
    assert_eq!(audit_count(&server, "notify-settings").await, 0);

    // The password is kept but never shown.
    let mut with_auth = good.clone();
    with_auth["user"] = json!("mailer");
    with_auth["password"] = json!("s3cret-Pa55");
    let (s, view) = call(&server, Method::PUT, "/notify/settings", Some(with_auth)).await;
    assert_eq!(s, 200, "{view}");
    assert_eq!((view["password_set"].as_bool(), view["user"].as_str()), (Some(true), Some("mailer")));
    let (_, shown) = call(&server, Method::GET, "/notify/settings", None).await;
    assert!(!shown.to_string().contains("s3cret"), "{shown}");
    let (s, view) = call(&server, Method::PUT, "/notify/settings", Some(good.clone())).await;
    assert_eq!((s, view["password_set"].as_bool()), (200, Some(false)));
    assert_eq!(audit_count(&server, "notify-settings").await, 2);

    // A test message on demand.
    let (s, r) = call(&server, Method::POST, "/notify/test", None).await;
    assert_eq!(s, 200, "{r}");
    let test = sink.next(WAIT).await.expect("the test message");
    assert_eq!(test.from, "sluice@example.org");
    assert_eq!(test.to, ["admins@example.org", "ops@example.org"]);
    assert_eq!(test.header("Subject").as_deref(), Some("[Sluice] Test message"));

    // The upstream gets two new updates; the downstream syncs them.
    let mut docs = vec![
        ("class.xml".to_owned(), category(CLASSIFICATION, "Security Updates", "UpdateClassification").into_bytes()),
        ("product.xml".to_owned(), category(PRODUCT, "Sluice Test Product", "Product").into_bytes()),
    ];
    for (n, title, kb) in [(1, "2026-12 Cumulative Update for Sluice Test Product", "5012345"), (2, "Security Update for Sluice Test Product", "5012346")] {
        docs.push((format!("{n}.xml"), software_update_xml(&update(n, title, kb)).into_bytes()));
    }
    upstream.state.catalog.import_documents(docs).await.unwrap();
    upstream.state.scan.invalidate();
    sluice_sync::SyncSettings { upstream: upstream.client_url(), storage: sluice_sync::StorageMode::None, ..Default::default() }
        .save(&server.state.store)
        .await
        .unwrap();
    let report = sluice_sync::run_sync(&server.state.catalog, None, &CancellationToken::new()).await.expect("sync");
    assert!(report.new_revisions >= 2, "{report:?}");

    let since = OffsetDateTime::now_utc();
    let now = OffsetDateTime::now_utc();
    let work = sluice_server::maintenance::run_due(&server.state, since, now).await;
    assert_eq!(sent(work).await, 1, "one message: the new updates (the status report is not due yet)");
    let mail = sink.next(WAIT).await.expect("the new-updates mail");
    let subject = mail.header("Subject").unwrap();
    assert!(subject.ends_with("2 new updates synchronised"), "{subject}");
    let body = mail.text();
    for expected in [
        "KB5012345 2026-12 Cumulative Update for Sluice Test Product [Security Updates]",
        "KB5012346 Security Update for Sluice Test Product [Security Updates]",
    ] {
        assert!(body.contains(expected), "{expected:?} missing from\n{body}");
    }
    // Announced once.
    let again = sluice_server::maintenance::run_due(&server.state, since, now).await;
    assert_eq!(sent(again).await, 0);

    // The status report, a day after it was switched on (injected clock).
    let store = &server.state.store;
    for (id, state) in [("pc-ok", InstallState::Installed), ("pc-needs", InstallState::NotInstalled), ("pc-failed", InstallState::Failed)] {
        store.upsert_computer(&NewComputer { id: id.into(), extra: "{}".into(), ..Default::default() }).await.unwrap();
        store
            .set_update_status(&UpdateStatus {
                computer_id: id.into(),
                update_id: Uuid::from_u128(0x6100_0001),
                revision_number: 1,
                state,
                last_event_time: now,
                last_event_id: None,
            })
            .await
            .unwrap();
    }
    let day_later = now + Duration::days(1) + Duration::minutes(1);
    let work = sluice_server::maintenance::run_due(&server.state, since, day_later).await;
    assert_eq!(sent(work).await, 1);
    let report = sink.next(WAIT).await.expect("the status report");
    assert!(report.header("Subject").unwrap().contains("Status report"), "{report:?}");
    let text = report.text();
    let lines: Vec<Vec<String>> = text
        .lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect();
    assert!(lines.contains(&["All", "Computers", "3", "2", "1"].map(String::from).to_vec()), "{text}");
    let after = sluice_server::maintenance::run_due(&server.state, since, day_later + Duration::hours(1)).await;
    assert_eq!(sent(after).await, 0, "not again within the day");
    let (_, view) = call(&server, Method::GET, "/notify/settings", None).await;
    assert!(view["last_status_report_at"].is_string() && view["last_sent_at"].is_string(), "{view}");
    assert!(view["last_error"].is_null(), "{view}");

    // A failure is visible, and the request says what happened.
    drop(sink);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut broken = good.clone();
    broken["smtp"] = json!(closed.to_string());
    assert_eq!(call(&server, Method::PUT, "/notify/settings", Some(broken)).await.0, 200);
    let (s, err) = call(&server, Method::POST, "/notify/test", None).await;
    assert_eq!((s, err["error"]["code"].as_str()), (502, Some("delivery_failed")), "{err}");
    let (_, view) = call(&server, Method::GET, "/notify/settings", None).await;
    assert!(view["last_error"].as_str().is_some_and(|e| e.contains(&closed.to_string())), "{view}");
    assert_eq!(audit_count(&server, "notify-test").await, 2);
    server.shutdown().await.unwrap();
}
