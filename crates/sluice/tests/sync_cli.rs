//! `sluice sync …` end to end: a real server over loopback, the real CLI as a subprocess.

use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_sluice");

async fn sluice(admin: &str, token: &str, args: &[&str]) -> Output {
    let (admin, token) = (admin.to_string(), token.to_string());
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    // Blocking thread: the in-process server must keep serving while the CLI waits.
    tokio::task::spawn_blocking(move || {
        Command::new(BIN).args(&args).env("SLUICE_SERVER", admin).env("SLUICE_TOKEN", token).output().expect("run sluice")
    })
    .await
    .unwrap()
}

fn json(o: &Output) -> Value {
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("JSON output")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configure_start_wait_status_history() {
    let server = sluice_testkit::server::start().await;
    let admin = server.admin_url();
    let token = server.admin_token.clone();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let upstream = format!("http://{closed}");

    let saved = json(
        &sluice(
            &admin,
            &token,
            &[
                "sync",
                "configure",
                "--upstream",
                &upstream,
                "--storage",
                "none",
                "--products",
                "8c3fcc84-7410-4a95-8b89-a166a0190486",
                "--classifications",
                "Definition Updates,Security Updates",
                "--languages",
                "en,de",
                "--schedule",
                "04:30",
                "--per-day",
                "3",
                "--json",
            ],
        )
        .await,
    );
    assert_eq!(saved["upstream"], upstream.as_str());
    assert_eq!(saved["storage"], "none");
    assert_eq!(saved["classifications"], serde_json::json!(["e0789628-ce08-4437-be74-2495b842f43b", "0fa1201d-4330-4fa8-8ae9-b877473b6441"]));
    assert_eq!(saved["schedule"], serde_json::json!({ "first_sync": "04:30", "per_day": 3 }));
    // Options not given keep their values.
    let again = json(&sluice(&admin, &token, &["sync", "configure", "--replica", "--json"]).await);
    assert_eq!((again["mode"].as_str(), again["storage"].as_str()), (Some("replica"), Some("none")));
    let bad = sluice(&admin, &token, &["sync", "configure", "--classifications", "Nonsense"]).await;
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown classification"));

    // The upstream refuses connections: --wait reports the failure and exits non-zero.
    let run = sluice(&admin, &token, &["sync", "start", "--wait"]).await;
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("cannot reach the upstream"), "{err}");

    let history = json(&sluice(&admin, &token, &["sync", "history", "--json"]).await);
    assert_eq!(history.as_array().unwrap().len(), 1);
    assert_eq!(history[0]["result"], "failed");
    let status = sluice(&admin, &token, &["sync", "status"]).await;
    assert!(status.status.success());
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("last sync:") && text.contains("failed") && text.contains("first at 04:30 UTC, 3 per day"), "{text}");
    server.shutdown().await.unwrap();
}

/// Publishes a small update on `server` under `product` with the real CLI; returns its id.
async fn publish(server: &sluice_server::RunningServer, dir: &std::path::Path, title: &str, product: &str) -> String {
    let file = dir.join(format!("{}.exe", title.replace(' ', "-")));
    std::fs::write(&file, title.repeat(1000)).unwrap();
    let out = sluice(
        &format!("http://{}", server.admin_addr),
        &server.admin_token,
        &["publish", "--file", file.to_str().unwrap(), "--title", title, "--product", product],
    )
    .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Issue #8, item 8: a downstream configured with only `--upstream` and the mode syncs what
/// its upstream offers; status, `sync products` and the name options show and take products
/// and classifications by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_8_selection_inherited_from_the_upstream_and_chosen_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let root = sluice_testkit::server::start().await;
    let dss = sluice_testkit::server::start().await;
    let update = publish(&root, tmp.path(), "Contoso Tool Fix", "Contoso Tools").await;
    let (admin, token) = (dss.admin_url(), dss.admin_token.clone());
    let upstream = root.client_url();

    // Microsoft Update, nothing chosen: the status says so.
    let st = stdout(&sluice(&admin, &token, &["sync", "status"]).await);
    assert!(st.contains("products:        none selected"), "{st}");

    let saved = json(&sluice(&admin, &token, &["sync", "configure", "--upstream", &upstream, "--replica", "--json"]).await);
    assert_eq!((saved["products"].clone(), saved["mode"].as_str()), (serde_json::json!([]), Some("replica")));
    let st = stdout(&sluice(&admin, &token, &["sync", "status"]).await);
    assert!(st.contains("products:        all the upstream offers (from upstream"), "{st}");

    let run = json(&sluice(&admin, &token, &["sync", "start", "--wait", "--json"]).await);
    assert_eq!(run["result"], "succeeded", "{run}");
    assert_eq!(run["new_revisions"], 3, "product, classification and the update: {run}");
    let id = uuid::Uuid::parse_str(&update).unwrap();
    assert!(dss.state.store.latest_revision(id).await.unwrap().is_some());

    let st = stdout(&sluice(&admin, &token, &["sync", "status"]).await);
    assert!(st.contains("products:        Contoso Tools (from upstream)"), "{st}");
    assert!(st.contains("classifications: Updates (from upstream)"), "{st}");

    let known = json(&sluice(&admin, &token, &["sync", "products", "--json"]).await);
    let find = |v: &Value, name: &str| v.as_array().unwrap().iter().find(|c| c["name"] == name).cloned().unwrap_or_else(|| panic!("{name} in {v}"));
    let product = find(&known, "Contoso Tools");
    assert_eq!((product["kind"].as_str(), product["selected"].as_bool()), (Some("product"), Some(true)), "{known}");
    let class = find(&known, "Updates");
    assert_eq!((class["kind"].as_str(), class["selected"].as_bool()), (Some("classification"), Some(true)), "{known}");
    let table = stdout(&sluice(&admin, &token, &["sync", "products"]).await);
    assert!(table.lines().any(|l| l.contains("Contoso Tools") && l.contains("product") && l.contains("yes")), "{table}");

    // Names, in any letter case, become ids; the other list stays inherited.
    let saved = json(&sluice(&admin, &token, &["sync", "configure", "--products", "contoso TOOLS", "--json"]).await);
    assert_eq!(saved["products"], serde_json::json!([product["id"].clone()]));
    assert_eq!(saved["classifications"], serde_json::json!([]));
    let st = stdout(&sluice(&admin, &token, &["sync", "status"]).await);
    assert!(st.contains("products:        Contoso Tools\n") && st.contains("classifications: Updates (from upstream)"), "{st}");
    let saved = json(&sluice(&admin, &token, &["sync", "configure", "--classifications", "updates", "--json"]).await);
    assert_eq!(saved["classifications"], serde_json::json!([class["id"].clone()]));

    // An unknown name: a clear error, nothing stored.
    let bad = sluice(&admin, &token, &["sync", "configure", "--products", "Contoso Tools,No Such Product", "--storage", "none"]).await;
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("unknown product \"No Such Product\""), "{err}");
    let now = json(&sluice(&admin, &token, &["sync", "configure", "--json"]).await);
    assert_eq!((now["products"].clone(), now["storage"].as_str()), (saved["products"].clone(), Some("approved")));

    // With the chosen lists the next sync lists nothing new.
    let run = json(&sluice(&admin, &token, &["sync", "start", "--wait", "--json"]).await);
    assert_eq!((run["result"].as_str(), run["new_revisions"].as_i64()), (Some("succeeded"), Some(0)), "{run}");
    dss.shutdown().await.unwrap();
    root.shutdown().await.unwrap();
}

/// A CA and a server certificate for 127.0.0.1 issued by it, made here.
fn test_pki() -> (String, tokio_rustls::rustls::pki_types::CertificateDer<'static>, tokio_rustls::rustls::pki_types::PrivateKeyDer<'static>) {
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name.push(rcgen::DnType::CommonName, "Sluice test upstream CA");
    ca.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign, rcgen::KeyUsagePurpose::DigitalSignature];
    let ca = rcgen::CertifiedIssuer::self_signed(ca, rcgen::KeyPair::generate().unwrap()).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    leaf.distinguished_name.push(rcgen::DnType::CommonName, "upstream.test");
    let leaf = leaf.signed_by(&key, &ca).unwrap();
    let key = tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    (ca.pem(), leaf.der().clone(), key)
}

/// HTTPS on 127.0.0.1 with `cert`, each connection's plain text passed to `backend`: TLS in
/// front of a real upstream, as a reverse proxy terminates it for a WSUS.
async fn tls_front(cert: tokio_rustls::rustls::pki_types::CertificateDer<'static>, key: tokio_rustls::rustls::pki_types::PrivateKeyDer<'static>, backend: std::net::SocketAddr) -> std::net::SocketAddr {
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends its handshake here.
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    addr
}

/// Issue #8, item 10: a full metadata sync from an https upstream whose certificate is
/// trusted only through `--upstream-ca`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_10_metadata_sync_over_https_with_a_configured_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let root = sluice_testkit::server::start().await;
    let dss = sluice_testkit::server::start().await;
    let update = publish(&root, tmp.path(), "Tls Carried Fix", "Contoso Secure").await;
    let (ca_pem, cert, key) = test_pki();
    let front = tls_front(cert, key, root.client_addr).await;
    let (admin, token) = (dss.admin_url(), dss.admin_token.clone());
    let upstream = format!("https://{front}");

    // Not trusted yet: the handshake fails and says why.
    json(&sluice(&admin, &token, &["sync", "configure", "--upstream", &upstream, "--storage", "none", "--json"]).await);
    let run = sluice(&admin, &token, &["sync", "start", "--wait"]).await;
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("cannot reach the upstream") && err.to_lowercase().contains("certificate"), "{err}");

    // A missing file and a file without a certificate are refused, naming the setting.
    let missing = sluice(&admin, &token, &["sync", "configure", "--upstream-ca", tmp.path().join("absent.pem").to_str().unwrap()]).await;
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--upstream-ca"), "{}", String::from_utf8_lossy(&missing.stderr));
    let junk = tmp.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let refused = sluice(&admin, &token, &["sync", "configure", "--upstream-ca", junk.to_str().unwrap()]).await;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("upstream_ca (--upstream-ca)"), "{}", String::from_utf8_lossy(&refused.stderr));
    let broken = tmp.path().join("broken.pem");
    std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").unwrap();
    let refused = sluice(&admin, &token, &["sync", "configure", "--upstream-ca", broken.to_str().unwrap()]).await;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("upstream_ca (--upstream-ca)"), "{}", String::from_utf8_lossy(&refused.stderr));
    assert_eq!(json(&sluice(&admin, &token, &["sync", "configure", "--json"]).await)["upstream_ca"], Value::Null);

    let ca = tmp.path().join("ca.pem");
    std::fs::write(&ca, &ca_pem).unwrap();
    let saved = json(&sluice(&admin, &token, &["sync", "configure", "--upstream-ca", ca.to_str().unwrap(), "--json"]).await);
    assert_eq!(saved["upstream_ca"], ca_pem.as_str());
    let run = json(&sluice(&admin, &token, &["sync", "start", "--wait", "--json"]).await);
    assert_eq!(run["result"], "succeeded", "{run}");
    assert_eq!(run["new_revisions"], 3, "{run}");
    let id = uuid::Uuid::parse_str(&update).unwrap();
    let rev = dss.state.store.latest_revision(id).await.unwrap().expect("the update crossed TLS");
    assert_eq!(rev.title, "Tls Carried Fix");
    let st = stdout(&sluice(&admin, &token, &["sync", "status"]).await);
    assert!(st.contains("upstream CA:     1 certificate(s)"), "{st}");
    dss.shutdown().await.unwrap();
    root.shutdown().await.unwrap();
}
