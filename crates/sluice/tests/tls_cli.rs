//! `sluice tls generate` (issue #13, item 1): the pair it writes is one `serve` takes and
//! `doctor` passes, the simulated agent scans over HTTPS trusting it with `--ca-cert`, and the
//! admin commands reach an HTTPS admin API with the same flag.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Cli, BIN};
use serde_json::Value;
use sluice_testkit::server::Setup;

fn generate(out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(["tls", "generate", "--name", "wsus.sluice.test", "--out"])
        .arg(out)
        .args(extra)
        .env_remove("SLUICE_CONFIG")
        .output()
        .unwrap()
}

fn doctor_tls(data: &Path, cert: &Path, key: &Path) -> (String, String) {
    let out = Command::new(BIN)
        .args(["doctor", "--json", "--client-listen", "127.0.0.1:0", "--client-tls-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
        .arg("--data")
        .arg(data)
        .arg("--tls-cert")
        .arg(cert)
        .arg("--tls-key")
        .arg(key)
        .env_remove("SLUICE_CONFIG")
        .output()
        .unwrap();
    let checks: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {out:?}"));
    let tls = checks.iter().find(|c| c["name"] == "tls").unwrap_or_else(|| panic!("no tls check: {checks:?}"));
    (tls["verdict"].as_str().unwrap().to_owned(), tls["detail"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_certificate_serves_the_agent_and_the_admin_commands() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tls");
    let made = generate(&out, &[]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let said = String::from_utf8_lossy(&made.stdout);
    assert!(said.contains("certutil -addstore -f Root cert.pem"), "{said}");
    assert!(said.contains("https://wsus.sluice.test:8531"), "{said}");
    let (cert, key): (PathBuf, PathBuf) = (out.join("cert.pem"), out.join("key.pem"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // Not overwritten by accident.
    let again = generate(&out, &[]);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("--force"));

    // doctor: the pair fits; another pair's key does not.
    let (verdict, detail) = doctor_tls(&dir.path().join("data"), &cert, &key);
    assert_eq!(verdict, "ok", "{detail}");
    let other = dir.path().join("other");
    assert!(generate(&other, &[]).status.success());
    let (verdict, detail) = doctor_tls(&dir.path().join("data"), &cert, &other.join("key.pem"));
    assert_eq!(verdict, "fail", "{detail}");
    assert!(detail.contains("does not fit"), "{detail}");

    let server = Setup::new()
        .with(|c| {
            c.tls = Some(sluice_server::tls::TlsFiles { cert: cert.clone(), key: key.clone() });
            c.client_tls_listen = ([127, 0, 0, 1], 0).into();
        })
        .start()
        .await;
    let cli = Cli::for_server(&server);
    assert!(cli.server.starts_with("https://127.0.0.1:"), "{}", cli.server);
    let cert_arg = cert.display().to_string();
    let client = server.client_tls_url();

    // The agent trusts the certificate as a machine would once it is imported.
    let scan = cli.json(&["--ca-cert", &cert_arg, "agent", "scan", "--server", &client]).await;
    assert!(scan["rounds"].as_u64().unwrap() >= 1, "{scan}");
    let refused = cli.run(&["agent", "scan", "--server", &client]).await;
    assert!(!refused.status.success(), "an untrusted certificate was accepted");

    // The admin API speaks HTTPS; the admin commands trust it with the same flag.
    let computers = cli.json(&["--ca-cert", &cert_arg, "computers", "list"]).await;
    assert_eq!(computers.as_array().map(Vec::len), Some(1), "{computers}");
    assert!(!cli.run(&["computers", "list"]).await.status.success());
    server.shutdown().await.unwrap();
}
