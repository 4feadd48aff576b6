//! HTTPS (issue #13, item 1): the client services on their own TLS listener and the admin API
//! over TLS, the simulated agent trusting the server's certificate, the URLs handed out naming
//! the public URL or a trusted proxy's forwarded scheme and host, and a plain-HTTP admin API
//! kept to loopback. Real TLS over loopback throughout.

use std::sync::Arc;

use sluice_agent::agent::{Agent, Evaluator, MachineState};
use sluice_agent::profile::{Profile, RulesEvaluator};
use sluice_agent::requests;
use sluice_agent::trust::Trust;
use sluice_server::ServerError;
use sluice_testkit::server::{Setup, TestServer};

fn agent(base: &str, trust: &Trust) -> Agent {
    let profile = Profile::builtin();
    let ev: Arc<dyn Evaluator> = Arc::new(RulesEvaluator::new(&profile));
    let state = MachineState { computer_id: uuid::Uuid::new_v4().to_string(), ..Default::default() };
    Agent::new(base, profile.computer_info("tls.sluice.test"), ev, state).with_trust(trust)
}

fn trust_of(server: &TestServer) -> Trust {
    Trust::with_ca_file(server.setup().tls_cert().expect("a TLS setup")).unwrap()
}

/// A published update with a file in the content store, approved for every computer; its id.
async fn approved_update(server: &TestServer) -> String {
    let st = &server.state;
    let payload = vec![5u8; 4096];
    use sha1::Digest as _;
    let req = sluice_catalog::api::PublishRequest {
        title: "Contoso TLS Agent".into(),
        file: Some(sluice_catalog::api::PublishFile {
            name: "contoso-tls.exe".into(),
            size: 4096,
            sha1: hex::encode(sha1::Sha1::digest(&payload)),
            sha256: hex::encode(sha2::Sha256::digest(&payload)),
        }),
        ..Default::default()
    };
    let detail = st.catalog.publish(req, std::io::Cursor::new(payload)).await.unwrap();
    let update = detail.summary.update_id.to_uppercase();
    let all = sluice_store::ALL_COMPUTERS_GROUP;
    st.store
        .set_approval(uuid::Uuid::parse_str(&update).unwrap(), all, sluice_store::ApprovalAction::Install, None, "test")
        .await
        .unwrap();
    st.scan.invalidate();
    update
}

/// GetExtendedUpdateInfo of `update` for an agent that has scanned: the answer's first
/// FileLocation URL. Sent with reqwest so a test can add headers (a proxy's X-Forwarded-*).
async fn file_location(http: &reqwest::Client, base: &str, a: &Agent, update: &str, extra: &[(&str, &str)]) -> String {
    let cookie = a.state.cookie.clone().unwrap();
    let id = a.state.revisions.iter().find(|(_, r)| r.update_id == update).map(|(i, _)| *i).unwrap();
    let call = requests::get_extended_update_info(&cookie, &[id], "en-US", "A=1;");
    let mut req = http
        .post(format!("{base}{}", call.path))
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("SOAPAction", format!("\"{}\"", call.action))
        .body(call.body.clone());
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let env = sluice_xml::parse(&text, "answer").unwrap();
    let url = ["Body", "GetExtendedUpdateInfoResponse", "GetExtendedUpdateInfoResult", "FileLocations", "FileLocation", "Url"];
    sluice_agent::wire::text_at(&env, &url).unwrap_or_else(|| panic!("no FileLocation in {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_scans_downloads_and_reports_over_tls() {
    // HTTPS only: the plain-HTTP client listener is off.
    let server = Setup::new().with_tls().with(|c| c.client_http = false).start().await;
    assert_eq!(Some(server.client_addr), server.client_tls_addr);
    let update = approved_update(&server).await;
    let base = server.client_tls_url();
    let trust = trust_of(&server);

    let mut a = agent(&base, &trust);
    let r = a.scan(true).await.unwrap();
    assert!(r.offered.iter().any(|o| o.update_id == update && o.action == "Install"), "{:?}", r.offered);
    assert!(r.downloaded.iter().any(|d| d.file_name == "contoso-tls.exe"), "{:?}", r.downloaded);
    assert!(r.installed.iter().any(|u| u.eq_ignore_ascii_case(&update)), "{r:?}");
    assert!(!r.reported_events.is_empty(), "{r:?}");
    // The next scan reports the installed state, which the admin API (over HTTPS) shows.
    a.scan(false).await.unwrap();
    let https = server.https_client();
    let report: serde_json::Value = https
        .get(server.api(&format!("/reports/updates/{update}?state=all")))
        .bearer_auth(server.token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["installed"], 1, "{report}");

    // The file was handed out on the HTTPS listener, as the client reached it.
    let url = file_location(&https, &base, &a, &update, &[]).await;
    assert!(url.starts_with(&format!("{base}/Content/")), "{url}");

    // The SOAP edge answers as over plain HTTP (WCF's Cache-Control).
    let call = requests::get_config();
    let resp = https
        .post(format!("{base}{}", call.path))
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("SOAPAction", format!("\"{}\"", call.action))
        .body(call.body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "private");

    // A machine that does not trust the certificate gets nowhere.
    let mut stranger = agent(&base, &Trust::system());
    assert!(stranger.scan(false).await.is_err());
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_locations_name_the_configured_public_url() {
    let public = "https://wsus.contoso.com:8531";
    let server = Setup::new().with_tls().with(|c| c.urls.public_url = Some(public.into())).start().await;
    let update = approved_update(&server).await;
    let trust = trust_of(&server);
    let mut a = agent(&server.client_tls_url(), &trust);
    a.scan(false).await.unwrap();
    // Whichever listener the request came in on, and whatever Host it named.
    let https = server.https_client();
    let url = file_location(&https, &server.client_tls_url(), &a, &update, &[]).await;
    assert!(url.starts_with(&format!("{public}/Content/")), "{url}");
    let plain = reqwest::Client::new();
    let url = file_location(&plain, &format!("http://{}", server.client_addr), &a, &update, &[("Host", "other:8530")]).await;
    assert!(url.starts_with(&format!("{public}/Content/")), "{url}");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_headers_count_only_from_trusted_proxies() {
    let forwarded = [("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "wsus.contoso.com:8531")];
    for (proxies, honoured) in [(vec!["127.0.0.0/8"], true), (vec!["10.0.0.0/8", "192.0.2.7"], false)] {
        let server = Setup::new()
            .with(|c| c.urls.trusted_proxies = proxies.iter().map(|p| p.parse().unwrap()).collect())
            .start()
            .await;
        let update = approved_update(&server).await;
        let base = server.client_url();
        let mut a = agent(&base, &Trust::system());
        a.scan(false).await.unwrap();
        let url = file_location(&reqwest::Client::new(), &base, &a, &update, &forwarded).await;
        let expected = if honoured { "https://wsus.contoso.com:8531/Content/".to_owned() } else { format!("{base}/Content/") };
        assert!(url.starts_with(&expected), "{proxies:?}: {url}");
        server.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_admin_api_is_kept_to_loopback() {
    let everywhere = |c: &mut sluice_server::config::Config| c.admin_listen = ([0, 0, 0, 0], 0).into();
    let refused = Setup::new().with(everywhere).try_start().await.err().expect("a plain admin bind on 0.0.0.0 is refused");
    assert!(matches!(refused, ServerError::InsecureAdmin(_)), "{refused}");
    assert!(refused.to_string().contains("--insecure-admin"), "{refused}");

    // Allowed when asked for.
    let insecure = Setup::new().with(everywhere).with(|c| c.insecure_admin = true).start().await;
    let health = format!("http://127.0.0.1:{}/healthz", insecure.admin_addr.port());
    assert_eq!(reqwest::get(&health).await.unwrap().status(), 200);
    insecure.shutdown().await.unwrap();

    // And with TLS, which the admin API then speaks only; the console's cookies are Secure.
    let tls = Setup::new().with_tls().with(everywhere).start().await;
    let port = tls.admin_addr.port();
    let https = tls.https_client();
    assert_eq!(https.get(format!("https://127.0.0.1:{port}/healthz")).send().await.unwrap().status(), 200);
    assert!(reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await.is_err());
    let login = https.get(format!("https://127.0.0.1:{port}/login")).send().await.unwrap();
    let cookies: Vec<_> = login.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    assert!(!cookies.is_empty() && cookies.iter().all(|c| c.ends_with("; Secure")), "{cookies:?}");
    tls.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_certificate_or_key_stops_the_start() {
    let setup = Setup::new().with_tls();
    let cert = setup.tls_cert().unwrap().to_path_buf();
    // The key of another pair: the server names both files.
    let other = Setup::new().with_tls();
    let other_key = other.config().tls.as_ref().unwrap().key.clone();
    let mismatched = setup.clone().with(|c| c.tls.as_mut().unwrap().key = other_key);
    let e = mismatched.try_start().await.err().expect("a key of another certificate is refused");
    assert!(matches!(e, ServerError::Tls(_)) && e.to_string().contains("does not fit"), "{e}");
    std::fs::write(&cert, "not a certificate").unwrap();
    let e = setup.try_start().await.err().expect("an unreadable certificate is refused");
    assert!(e.to_string().contains("no certificate"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_never_finishes_its_handshake_is_cut_off() {
    use tokio::io::AsyncReadExt;
    let server = Setup::new()
        .with_tls()
        .with(|c| c.client_connections.header_read = std::time::Duration::from_secs(1))
        .start()
        .await;
    let mut silent = tokio::net::TcpStream::connect(server.client_tls_addr.unwrap()).await.unwrap();
    // The header-read timeout covers the handshake: the server closes the socket. The outer
    // timeout only keeps a regression from hanging the suite.
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(std::time::Duration::from_secs(60), silent.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "the connection stayed open: {read:?}");
    server.shutdown().await.unwrap();
}
