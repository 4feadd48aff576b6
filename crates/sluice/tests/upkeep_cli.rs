//! `sluice cleanup` and `sluice notify` end to end: the real CLI as a subprocess against a real
//! server over loopback, mail into the test kit's SMTP sink.

use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use sluice_testkit::server::Setup;
use sluice_testkit::smtp::SmtpSink;

const BIN: &str = env!("CARGO_BIN_EXE_sluice");

/// Runs the CLI on a blocking thread so the in-process server keeps serving meanwhile.
async fn run(server: &str, token: &str, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let (server, token) = (server.to_owned(), token.to_owned());
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .env("SLUICE_SERVER", server)
            .env("SLUICE_TOKEN", token)
            .env_remove("SLUICE_DATA")
            .output()
            .expect("run sluice")
    })
    .await
    .unwrap()
}

fn stdout(out: &Output, args: &[&str]) -> String {
    assert!(out.status.success(), "sluice {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_and_notify_verbs() {
    let server = Setup::new().start().await;
    let (url, token) = (server.admin_url(), server.admin_token.clone());
    let ok = |args: &'static [&'static str]| {
        let (url, token) = (url.clone(), token.clone());
        async move { stdout(&run(&url, &token, args).await, args) }
    };

    let shown = ok(&["cleanup", "configure"]).await;
    assert!(shown.contains("daily run:            at 03:00 UTC"), "{shown}");
    let set: Value = serde_json::from_str(&ok(&["cleanup", "configure", "--superseded-days", "10", "--schedule", "02:15", "--json"]).await).unwrap();
    assert_eq!((set["superseded_days"].as_i64(), set["schedule"].as_str()), (Some(10), Some("02:15")));
    let bad = run(&url, &token, &["cleanup", "configure", "--stale-computer-days", "-5"]).await;
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("stale_computer_days: expected 1 to 3650 days, got -5"), "{bad:?}");
    let off: Value = serde_json::from_str(&ok(&["cleanup", "configure", "--off", "--json"]).await).unwrap();
    assert_eq!((off["enabled"].as_bool(), off["stale_computer_days"].as_i64()), (Some(false), Some(30)));

    let dry = ok(&["cleanup", "--dry-run"]).await;
    assert!(dry.contains("dry run, nothing changed") && dry.contains("would decline superseded: 0"), "{dry}");
    let real: Value = serde_json::from_str(&ok(&["cleanup", "--json"]).await).unwrap();
    assert_eq!(real["run"]["compacted"], true);
    let history: Value = serde_json::from_str(&ok(&["cleanup", "history", "--json"]).await).unwrap();
    assert_eq!(history.as_array().map(Vec::len), Some(2));
    let table = ok(&["cleanup", "history"]).await;
    assert_eq!(table.lines().count(), 3, "{table}");

    let mut sink = SmtpSink::start().await;
    let smtp = sink.host_port();
    let args = ["notify", "configure", "--smtp", &smtp, "--tls", "none", "--from", "wsus@example.org", "--to", "a@example.org", "b@example.org", "--status-report", "weekly"];
    let out = run(&url, &token, &args).await;
    let view = stdout(&out, &args);
    assert!(view.contains("status report: weekly") && view.contains("to:            a@example.org, b@example.org"), "{view}");
    let bad = run(&url, &token, &["notify", "configure", "--smtp", &smtp, "--tls", "ssl", "--from", "w@example.org", "--to", "a@example.org"]).await;
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("ssl"));
    let bad = run(&url, &token, &["notify", "configure", "--smtp", &smtp, "--from", "nobody", "--to", "a@example.org"]).await;
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("not an e-mail address"), "{bad:?}");
    let sent = ok(&["notify", "test"]).await;
    assert_eq!(sent, "test message sent to a@example.org, b@example.org\n");
    let mail = sink.next(Duration::from_secs(30)).await.expect("the test message");
    assert_eq!(mail.to, ["a@example.org", "b@example.org"]);
    let show: Value = serde_json::from_str(&ok(&["notify", "show", "--json"]).await).unwrap();
    assert_eq!((show["from"].as_str(), show["status_report"].as_str(), show["last_error"].as_str()), (Some("wsus@example.org"), Some("weekly"), None));
    assert!(show["last_sent_at"].is_string());
}
