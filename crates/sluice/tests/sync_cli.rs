//! `sluice sync …` end to end: a real server over loopback, the real CLI as a subprocess.

use std::process::{Command, Output};

use serde_json::Value;
use sluice_server::config::Config;

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
    let tmp = tempfile::tempdir().unwrap();
    let server = sluice_server::start(Config {
        data_dir: tmp.path().join("data"),
        client_listen: "127.0.0.1:0".parse().unwrap(),
        admin_listen: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    })
    .await
    .unwrap();
    let admin = format!("http://{}", server.admin_addr);
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
