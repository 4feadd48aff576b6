//! Metrics, probes and the access log (issue #13, item 4): a simulated agent scans, downloads
//! and reports over loopback, a client with a forged cookie is refused, and then `/metrics`
//! must show each of those, with the store-backed series matching the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use sluice_agent::agent::{Agent, Evaluator, MachineState};
use sluice_agent::profile::{Profile, RulesEvaluator};
use sluice_agent::requests::{self, CookieText};
use sluice_agent::wire::{self, WireError};
use sluice_testkit::server::{Setup, TestServer};

use uuid::Uuid;

fn agent(base: &str) -> Agent {
    let profile = Profile::builtin();
    let ev: Arc<dyn Evaluator> = Arc::new(RulesEvaluator::new(&profile));
    Agent::new(base, profile.computer_info("pc1.contoso.test"), ev, MachineState { computer_id: Uuid::new_v4().to_string(), ..Default::default() })
}

/// A published update with a file, needed by the simulated machine, approved for everyone.
async fn publish_and_approve(server: &TestServer) {
    use sha1::Digest as _;
    let payload: Vec<u8> = b"contoso".iter().copied().cycle().take(8192).collect();
    let req = sluice_catalog::api::PublishRequest {
        title: "Contoso Agent".into(),
        product: Some("Contoso Agent".into()),
        installed_rule: Some(r#"<bar:RegKeyExists Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Contoso\Agent" />"#.into()),
        file: Some(sluice_catalog::api::PublishFile {
            name: "contoso.exe".into(),
            size: payload.len() as u64,
            sha1: hex::encode(sha1::Sha1::digest(&payload)),
            sha256: hex::encode(sha2::Sha256::digest(&payload)),
        }),
        ..Default::default()
    };
    let detail = server.state.catalog.publish(req, std::io::Cursor::new(payload)).await.unwrap();
    let approval = reqwest::Client::new()
        .post(server.api("/approvals"))
        .bearer_auth(server.token())
        .json(&serde_json::json!({"update": detail.summary.update_id, "group": "All Computers", "action": "install"}))
        .send()
        .await
        .unwrap();
    assert_eq!(approval.status(), 200);
}

/// The samples of the Prometheus text format: series (name and labels as written) → value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

async fn scrape(server: &TestServer) -> HashMap<String, f64> {
    let r = reqwest::Client::new().get(format!("{}/metrics", server.admin_url())).bearer_auth(server.token()).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    samples(&r.text().await.unwrap())
}

fn value(s: &HashMap<String, f64>, series: &str) -> f64 {
    *s.get(series).unwrap_or_else(|| {
        let mut names: Vec<_> = s.keys().collect();
        names.sort();
        panic!("no series {series}; have:\n{names:#?}")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_clients_did() {
    let server = Setup::new().start().await;
    publish_and_approve(&server).await;
    let mut a = agent(&server.client_url());
    let report = a.scan(true).await.unwrap();
    assert_eq!(report.installed.len(), 1, "{report:?}");
    let downloaded: u64 = report.downloaded.iter().map(|d| d.size).sum();
    assert!(downloaded > 0);

    // A forged cookie: the client is told InvalidCookie.
    let soap = wire::soap_client();
    let forged = CookieText { expiration: "2030-01-01T00:00:00Z".into(), encrypted_data: "AAAA".into() };
    let r = wire::send(&soap, &server.client_url(), &requests::sync_updates(&forged, &[], &[], ""), "m.1").await;
    assert!(matches!(r, Err(WireError::Fault { ref code, .. }) if code == "InvalidCookie"), "{r:?}");

    let s = scrape(&server).await;
    for op in ["GetConfig", "GetCookie", "RegisterComputer", "SyncUpdates", "GetExtendedUpdateInfo"] {
        let series = format!(r#"sluice_requests_total{{service="client",operation="{op}",status="200"}}"#);
        assert!(value(&s, &series) >= 1.0, "{series}");
    }
    assert!(value(&s, r#"sluice_requests_total{service="simple_auth",operation="GetAuthorizationCookie",status="200"}"#) >= 1.0);
    let refused: f64 = s
        .iter()
        .filter(|(k, _)| k.starts_with(r#"sluice_requests_total{service="client",operation="SyncUpdates",status="#) && !k.contains("200"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(refused, 1.0, "the forged cookie's SyncUpdates");
    assert_eq!(value(&s, r#"sluice_cookie_faults_total{kind="InvalidCookie"}"#), 1.0);
    assert!(value(&s, r#"sluice_requests_total{service="reporting",operation="ReportEventBatch",status="200"}"#) >= 1.0);
    assert!(value(&s, r#"sluice_request_duration_seconds_count{service="client",operation="SyncUpdates"}"#) >= 2.0);
    // The agent downloads in ranges (206), as BITS does.
    let content: f64 = s
        .iter()
        .filter(|(k, _)| k.starts_with(r#"sluice_requests_total{service="content",operation="GET",status="2"#))
        .map(|(_, v)| v)
        .sum();
    assert!(content >= 1.0, "no content GET counted");
    assert_eq!(value(&s, "sluice_content_bytes_served_total"), downloaded as f64);
    assert_eq!(value(&s, "sluice_scans_in_progress"), 0.0);
    assert_eq!(value(&s, "sluice_computers"), 1.0);
    let revisions = server.state.store.count_revisions().await.unwrap();
    assert!(revisions > 0);
    assert_eq!(value(&s, "sluice_catalog_revisions"), revisions as f64);
    assert_eq!(value(&s, "sluice_sync_running"), 0.0);
}

#[tokio::test]
async fn metrics_need_a_token_and_probes_do_not() {
    let server = Setup::new().start().await;
    let http = reqwest::Client::new();
    let r = http.get(format!("{}/metrics", server.admin_url())).send().await.unwrap();
    assert_eq!(r.status(), 401);
    for base in [server.client_url(), server.admin_url()] {
        let r = http.get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{base}/healthz");
        let r = http.get(format!("{base}/readyz")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{base}/readyz");
    }
    // A node whose database is gone is alive but not ready.
    server.state.store.close().await;
    let r = http.get(format!("{}/readyz", server.client_url())).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let r = http.get(format!("{}/healthz", server.client_url())).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

/// Everything the server logs in this test process, for the access-log test.
fn captured_log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || LogSink(sink.clone()))
            .try_init();
        buf
    })
    .clone()
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_access_log_names_each_request_and_can_be_switched_off() {
    let log = captured_log();
    for enabled in [true, false] {
        let server = Setup::new().with(|c| c.access_log = enabled).start().await;
        // A path no other request of this process uses, to find this request's line.
        let name = format!("{:040x}", Uuid::new_v4().as_u128());
        let r = reqwest::get(format!("{}/Content/00/{name}.exe", server.client_url())).await.unwrap();
        assert_eq!(r.status(), 404);
        let text = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
        let line = text.lines().find(|l| l.contains(&name));
        if enabled {
            let line = line.unwrap_or_else(|| panic!("no access line for {name} in:\n{text}"));
            assert!(line.contains("sluice::access") && line.contains("status=404") && line.contains("content"), "{line}");
            assert!(line.contains("peer=") && line.contains("127.0.0.1"), "{line}");
        } else {
            assert!(line.is_none(), "logged with the access log off: {line:?}");
        }
    }
}
