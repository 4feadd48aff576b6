//! One console for many servers (issue #14): a root server trusts a replica and an
//! autonomous server by tokens they issued; through the root's API and the CLI's `--on`, an
//! administrator lists the autonomous server's computers, approves an update there and reads
//! the replica's status; the autonomous server's audit log names the user "via" the root's
//! account; a Reporter of the root reads but cannot change; a revoked token, an impostor and
//! a stopped server each show as such without holding the rest up.

mod common;

use std::sync::Arc;

use common::Cli;
use serde_json::{json, Value};
use sluice_agent::agent::{Agent, Evaluator, MachineState};
use sluice_agent::profile::{Profile, RulesEvaluator};
use sluice_testkit::server::TestServer;

async fn call(server: &TestServer, token: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, server.api(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A user on `server` and a token of theirs.
async fn account(server: &TestServer, name: &str, role: &str) -> String {
    let (s, v) = call(server, server.token(), reqwest::Method::POST, "/users", Some(json!({"name": name, "role": role, "password": "long enough"}))).await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = call(server, server.token(), reqwest::Method::POST, "/tokens", Some(json!({"user": name, "label": "trusted by root"}))).await;
    assert_eq!(s, 201, "{v}");
    v["token"].as_str().unwrap().to_string()
}

async fn publish(server: &TestServer, title: &str) -> String {
    use sha1::Digest as _;
    let payload: Vec<u8> = title.bytes().cycle().take(2048).collect();
    let req = sluice_catalog::api::PublishRequest {
        title: title.into(),
        product: Some("Contoso Agent".into()),
        installed_rule: Some(r#"<bar:RegKeyExists Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Contoso\Branch" />"#.into()),
        file: Some(sluice_catalog::api::PublishFile {
            name: "branch.exe".into(),
            size: payload.len() as u64,
            sha1: hex::encode(sha1::Sha1::digest(&payload)),
            sha256: hex::encode(sha2::Sha256::digest(&payload)),
        }),
        ..Default::default()
    };
    let d = server.state.catalog.publish(req, std::io::Cursor::new(payload)).await.unwrap();
    server.state.scan.invalidate();
    d.summary.update_id.to_lowercase()
}

async fn a_computer_scans(server: &TestServer, name: &str) {
    let profile = Profile::builtin();
    let ev: Arc<dyn Evaluator> = Arc::new(RulesEvaluator::new(&profile));
    let mut agent = Agent::new(&server.client_url(), profile.computer_info(name), ev, MachineState { computer_id: uuid::Uuid::new_v4().to_string(), ..Default::default() });
    agent.scan(false).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_root_administers_a_replica_and_an_autonomous_server() {
    let root = sluice_testkit::server::start().await;
    let replica = sluice_testkit::server::start().await;
    let autonomous = sluice_testkit::server::start().await;
    let (s, v) = call(&replica, replica.token(), reqwest::Method::PUT, "/sync/settings", Some(json!({"upstream": root.client_url(), "mode": "replica"}))).await;
    assert_eq!(s, 200, "{v}");
    a_computer_scans(&autonomous, "branch-pc1.contoso.test").await;
    let update = publish(&autonomous, "Contoso Branch Tool").await;

    // The root trusts both, with tokens they issued to an account named after it.
    let cli = Cli::for_server(&root);
    let dir = tempfile::tempdir().unwrap();
    for (name, server) in [("autonomous", &autonomous), ("replica", &replica)] {
        let token_file = dir.path().join(name);
        std::fs::write(&token_file, account(server, "root", "administrator").await).unwrap();
        let added = cli.json(&["servers", "add", name, "--url", &server.admin_url(), "--token-file", token_file.to_str().unwrap()]).await;
        let (_, own) = call(server, server.token(), reqwest::Method::GET, "/server", None).await;
        assert_eq!(added["server_id"], own["server_id"], "the identity is pinned");
    }
    let (_, listed) = call(&root, root.token(), reqwest::Method::GET, "/servers", None).await;
    assert!(!listed.to_string().contains("trusted by root") && listed.as_array().unwrap().len() == 2, "tokens are never shown: {listed}");

    // Through the root: the autonomous server's computers (API and CLI), an approval there,
    // the replica's status.
    let (s, computers) = call(&root, root.token(), reqwest::Method::GET, "/servers/autonomous/computers", None).await;
    assert_eq!(s, 200, "{computers}");
    assert_eq!(computers[0]["dns_name"], "branch-pc1.contoso.test");
    let via_cli = cli.json(&["--on", "autonomous", "computers", "list"]).await;
    assert_eq!(via_cli[0]["dns_name"], "branch-pc1.contoso.test", "{via_cli}");
    cli.ok(&["--on", "autonomous", "approve", &update, "--group", "All Computers"]).await;
    let (_, approvals) = call(&autonomous, autonomous.token(), reqwest::Method::GET, &format!("/approvals?update={update}"), None).await;
    assert_eq!(approvals[0]["approved_by"], "admin via root", "{approvals}");
    let (_, audit) = call(&autonomous, autonomous.token(), reqwest::Method::GET, "/audit", None).await;
    let entry = audit.as_array().unwrap().iter().find(|e| e["action"] == "approve").expect("the approval's audit entry");
    assert_eq!(entry["user"], "admin via root", "{entry}");
    let (s, status) = call(&root, root.token(), reqwest::Method::GET, "/servers/replica/sync/status", None).await;
    assert_eq!((s, status["settings"]["mode"].as_str()), (200, Some("replica")), "{status}");
    let on_replica = cli.json(&["--on", "replica", "sync", "status"]).await;
    assert_eq!(on_replica["settings"]["mode"], "replica");

    // A Reporter of the root reads there and changes nothing, there or here.
    let reporter = account(&root, "rhea", "reporter").await;
    let (s, _) = call(&root, &reporter, reqwest::Method::GET, "/servers/autonomous/computers", None).await;
    assert_eq!(s, 200);
    let (s, v) = call(&root, &reporter, reqwest::Method::POST, "/servers/autonomous/approvals", Some(json!({"update": update, "group": "All Computers", "action": "uninstall"}))).await;
    assert_eq!((s, v["error"]["code"].as_str()), (403, Some("forbidden")), "{v}");
    let (s, _) = call(&root, &reporter, reqwest::Method::DELETE, "/servers/autonomous", None).await;
    assert_eq!(s, 403);
    let (_, approvals) = call(&autonomous, autonomous.token(), reqwest::Method::GET, &format!("/approvals?update={update}"), None).await;
    assert_eq!(approvals[0]["action"], "install", "the reporter's change went through");

    // The overview asks each server now.
    let (_, overview) = call(&root, root.token(), reqwest::Method::GET, "/servers/overview", None).await;
    let rows = overview.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows[0]["name"].is_null() && rows.iter().all(|r| r["reachable"] == true && r["error"].is_null()), "{overview}");
    assert_eq!(rows.iter().find(|r| r["name"] == "autonomous").unwrap()["info"]["computers"], 1);

    // The autonomous server revokes the root's token: "access revoked", not a failure here.
    let (_, tokens) = call(&autonomous, autonomous.token(), reqwest::Method::GET, "/tokens?user=root", None).await;
    let id = tokens[0]["id"].as_i64().unwrap();
    let (s, _) = call(&autonomous, autonomous.token(), reqwest::Method::DELETE, &format!("/tokens/{id}"), None).await;
    assert_eq!(s, 200);
    let (s, v) = call(&root, root.token(), reqwest::Method::GET, "/servers/autonomous/computers", None).await;
    assert_eq!(s, 502);
    assert!(v["error"]["message"].as_str().unwrap().contains("access revoked"), "{v}");

    // An impostor: a record pinning another id than the server at that address has.
    let impostor = sluice_store::TrustedServer {
        name: "impostor".into(),
        url: replica.admin_url(),
        token_sealed: root.state.trust_key.seal(replica.token()),
        server_id: uuid::Uuid::new_v4(),
        certificate_sha256: None,
        ca_cert: None,
        added_by: "test".into(),
        added_at: time::OffsetDateTime::now_utc(),
    };
    root.state.store.add_trusted_server(&impostor).await.unwrap();
    let (s, v) = call(&root, root.token(), reqwest::Method::GET, "/servers/impostor/computers", None).await;
    assert_eq!(s, 502);
    assert!(v["error"]["message"].as_str().unwrap().contains("identity mismatch"), "{v}");

    // A stopped server shows as unreachable; the others still answer.
    replica.shutdown().await.unwrap();
    let started = std::time::Instant::now();
    let (s, overview) = call(&root, root.token(), reqwest::Method::GET, "/servers/overview", None).await;
    assert_eq!(s, 200);
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "the overview waited {:?}", started.elapsed());
    let replica_row = overview.as_array().unwrap().iter().find(|r| r["name"] == "replica").unwrap();
    assert_eq!(replica_row["reachable"], false, "{overview}");
    assert!(replica_row["error"].as_str().unwrap().starts_with("unreachable"), "{overview}");
    let autonomous_row = overview.as_array().unwrap().iter().find(|r| r["name"] == "autonomous").unwrap();
    assert!(autonomous_row["error"].as_str().unwrap().contains("access revoked"), "{overview}");
    let (s, _) = call(&root, root.token(), reqwest::Method::GET, "/computers", None).await;
    assert_eq!(s, 200, "the root's own API is unaffected");

    // Each trust change is in the root's audit log.
    let (_, audit) = call(&root, root.token(), reqwest::Method::GET, "/audit", None).await;
    assert_eq!(audit.as_array().unwrap().iter().filter(|e| e["action"] == "server-trust").count(), 2);
    cli.ok(&["servers", "remove", "impostor"]).await;
}
