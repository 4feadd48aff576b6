//! `sluice serve --log-format json`: one JSON object per line, fields kept as fields, so a log
//! pipeline can index them (issue #13, item 4).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn json_logs_are_one_object_per_line_with_fields() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["serve", "--log-format", "json", "--client-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
        .arg("--data")
        .arg(dir.path().join("data"))
        .env_remove("SLUICE_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut serving = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v["timestamp"].is_string() && v["level"].is_string() && v["target"].is_string(), "{line}");
        if v["message"] == "sluice is serving" {
            serving = Some(v);
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let v = serving.expect("the server never said it was serving");
    // The addresses are fields of their own, not text inside the message.
    assert!(v["client_addr"].as_str().is_some_and(|a| a.starts_with("127.0.0.1:")), "{v}");
    assert!(v["admin_addr"].as_str().is_some_and(|a| a.starts_with("127.0.0.1:")), "{v}");
}
