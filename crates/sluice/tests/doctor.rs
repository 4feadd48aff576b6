//! `sluice doctor` (issue #13, item 5): it passes a running server's own configuration, names
//! the setting behind each failure, and changes nothing on disk.

use std::process::{Command, Output};

use serde_json::Value;
use sluice_testkit::server::Setup;

const BIN: &str = env!("CARGO_BIN_EXE_sluice");

fn doctor(args: &[String]) -> (Output, Vec<Value>) {
    let out = Command::new(BIN).arg("doctor").arg("--json").args(args).env_remove("SLUICE_CONFIG").output().unwrap();
    let checks: Vec<Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)));
    (out, checks)
}

fn verdict<'a>(checks: &'a [Value], name: &str) -> (&'a str, &'a str) {
    let c = checks.iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no check {name}: {checks:?}"));
    (c["verdict"].as_str().unwrap(), c["detail"].as_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_servers_configuration_passes() {
    let server = Setup::new().spawn(BIN).await;
    let args = vec![
        "--data".into(),
        server.data_dir().display().to_string(),
        "--client-listen".into(),
        format!("127.0.0.1:{}", server.client_port()),
        "--admin-listen".into(),
        format!("127.0.0.1:{}", server.admin_port()),
    ];
    let (out, checks) = tokio::task::spawn_blocking(move || doctor(&args)).await.unwrap();
    assert!(out.status.success(), "{checks:#?}");
    assert!(checks.iter().all(|c| c["verdict"] != "fail"), "{checks:#?}");
    for port in ["client port", "admin port"] {
        let (v, detail) = verdict(&checks, port);
        assert_eq!(v, "ok");
        assert!(detail.contains("served by a running Sluice"), "{detail}");
    }
    let (v, detail) = verdict(&checks, "database");
    assert_eq!(v, "ok");
    assert!(detail.contains("revision(s)"), "{detail}");
    assert_eq!(verdict(&checks, "data directory").0, "ok");
    assert_eq!(verdict(&checks, "clock").0, "ok");
}

#[test]
fn failures_name_their_setting_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    // The data directory's place is taken by a file, and the client port by another program.
    let blocked = dir.path().join("not-a-dir");
    std::fs::write(&blocked, b"x").unwrap();
    let squatter = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = squatter.local_addr().unwrap();
    let args = vec![
        "--data".into(),
        blocked.join("data").display().to_string(),
        "--client-listen".into(),
        taken.to_string(),
        "--admin-listen".into(),
        "127.0.0.1:0".into(),
    ];
    let (out, checks) = doctor(&args);
    assert!(!out.status.success());
    let (v, detail) = verdict(&checks, "data directory");
    assert_eq!(v, "fail");
    assert!(detail.contains("setting: data"), "{detail}");
    let (v, detail) = verdict(&checks, "client port");
    assert_eq!(v, "fail");
    assert!(detail.contains("in use by another program") && detail.contains("client-listen"), "{detail}");
    assert_eq!(verdict(&checks, "admin port").0, "ok");

    // A fresh place: every check passes and nothing is created there.
    let fresh = dir.path().join("fresh");
    let args = vec!["--data".into(), fresh.display().to_string(), "--client-listen".into(), "127.0.0.1:0".into(), "--admin-listen".into(), "127.0.0.1:0".into()];
    let (out, checks) = doctor(&args);
    assert!(out.status.success(), "{checks:#?}");
    assert!(!fresh.exists(), "doctor created {}", fresh.display());
}
