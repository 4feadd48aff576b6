//! `sluice users` and `sluice tokens` end to end: a real server over loopback, the real CLI as
//! a subprocess.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use sluice_testkit::server::Setup;

const BIN: &str = env!("CARGO_BIN_EXE_sluice");

struct Cli {
    server: String,
    token: String,
}

impl Cli {
    /// Runs the CLI on a blocking thread so the in-process server keeps serving meanwhile,
    /// with `stdin` as its standard input.
    async fn run(&self, args: &[&str], stdin: &str) -> Output {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (server, token, stdin) = (self.server.clone(), self.token.clone(), stdin.to_string());
        tokio::task::spawn_blocking(move || {
            let mut child = Command::new(BIN)
                .args(&args)
                .env("SLUICE_SERVER", server)
                .env("SLUICE_TOKEN", token)
                .env_remove("SLUICE_DATA")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run sluice");
            child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
            child.wait_with_output().expect("wait for sluice")
        })
        .await
        .unwrap()
    }

    async fn ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin).await;
        assert!(out.status.success(), "sluice {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    async fn json(&self, args: &[&str], stdin: &str) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        let out = self.ok(&args, stdin).await;
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("sluice {args:?} printed no JSON ({e}): {out}"))
    }

    async fn fails(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin).await;
        assert!(!out.status.success(), "sluice {args:?} should have failed: {}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_tokens_from_the_command_line() {
    let server = Setup::new().start().await;
    let admin = Cli { server: server.admin_url(), token: server.admin_token.clone() };

    // Password from standard input, and from a file.
    let rita = admin.json(&["users", "create", "rita", "--role", "reporter"], "rita's password\n").await;
    assert_eq!((rita["name"].as_str(), rita["role"].as_str()), (Some("rita"), Some("reporter")));
    let file = server.dir().join("olga-password");
    std::fs::write(&file, "olga's password\n").unwrap();
    let file = file.display().to_string();
    admin.ok(&["users", "create", "olga", "--role", "administrator", "--password-file", &file], "").await;
    let why = admin.fails(&["users", "create", "rita", "--role", "reporter"], "another password\n").await;
    assert!(why.contains("exists") && why.contains("409"), "{why}");
    let why = admin.fails(&["users", "create", "tim", "--role", "reporter"], "").await;
    assert!(why.contains("no password"), "{why}");

    let users = admin.json(&["users", "list"], "").await;
    let names: Vec<&str> = users.as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["admin", "olga", "rita"]);
    let table = admin.ok(&["users", "list"], "").await;
    assert!(table.contains("rita") && table.contains("reporter") && table.contains("enabled"), "{table}");

    // A token for rita, printed once; it reads and may not change anything.
    let out = admin.run(&["tokens", "create", "--user", "rita", "--label", "dashboard", "--expires", "90d"], "").await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let secret = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(secret.len(), 64, "{secret}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not shown again"));
    let reporter = Cli { server: server.admin_url(), token: secret.clone() };
    reporter.json(&["users", "list"], "").await;
    let why = reporter.fails(&["users", "disable", "olga"], "").await;
    assert!(why.contains("403"), "{why}");

    let tokens = admin.json(&["tokens", "list", "--user", "rita"], "").await;
    assert_eq!(tokens.as_array().unwrap().len(), 1);
    let token = &tokens[0];
    assert_eq!((token["label"].as_str(), token["kind"].as_str(), token["revoked"].as_bool()), (Some("dashboard"), Some("api"), Some(false)));
    assert!(token["expires_at"].is_string() && token["last_used_at"].is_string(), "{token}");
    assert!(token.get("token").is_none(), "a listing never shows the secret");
    let id = token["id"].as_i64().unwrap().to_string();
    let listed = admin.ok(&["tokens", "list"], "").await;
    assert!(listed.contains("dashboard") && !listed.contains(&secret), "{listed}");

    // Disabled, enabled, revoked.
    let v = admin.json(&["users", "disable", "rita"], "").await;
    assert_eq!(v["disabled"], true);
    assert!(reporter.fails(&["users", "list"], "").await.contains("401"));
    admin.json(&["users", "enable", "rita"], "").await;
    reporter.json(&["users", "list"], "").await;
    let v = admin.json(&["tokens", "revoke", &id], "").await;
    assert_eq!(v["revoked"], true);
    assert!(reporter.fails(&["users", "list"], "").await.contains("401"));

    // A token for the caller itself, as JSON with its secret.
    let made = admin.json(&["tokens", "create", "--label", "ci"], "").await;
    assert_eq!(made["user"], "admin");
    assert!(made["expires_at"].is_null());
    let ci = Cli { server: server.admin_url(), token: made["token"].as_str().unwrap().to_string() };
    ci.json(&["users", "list"], "").await;
    assert!(admin.fails(&["tokens", "create", "--expires", "soon"], "").await.contains("not a lifetime"));

    // Roles and the last administrator.
    admin.json(&["users", "set-role", "rita", "--role", "administrator"], "").await;
    admin.ok(&["users", "delete", "olga"], "").await;
    admin.json(&["users", "set-password", "rita", "--password-file", &file], "").await;
    admin.ok(&["users", "delete", "rita"], "").await;
    let why = admin.fails(&["users", "delete", "admin"], "").await;
    assert!(why.contains("last enabled administrator"), "{why}");
    let users = admin.json(&["users", "list"], "").await;
    assert_eq!(users.as_array().unwrap().len(), 1);

    // Every change above is in the audit log, once.
    let audit = admin.json(&["audit", "--user", "admin"], "").await;
    let actions: Vec<&str> = audit.as_array().unwrap().iter().rev().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "user-create", "user-create", "token-create", "user-update", "user-update", "token-revoke", "token-create",
            "user-update", "user-delete", "user-update", "user-delete"
        ]
    );
}
