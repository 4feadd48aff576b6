//! `sluice users` and `sluice tokens` end to end: a real server over loopback, the real CLI as
//! a subprocess.


use sluice_testkit::server::Setup;

mod common;

use common::Cli;



#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_tokens_from_the_command_line() {
    let server = Setup::new().start().await;
    let admin = Cli { server: server.admin_url(), token: server.admin_token.clone() };

    // Password from standard input, and from a file.
    let rita = admin.json_input(&["users", "create", "rita", "--role", "reporter"], "rita's password\n").await;
    assert_eq!((rita["name"].as_str(), rita["role"].as_str()), (Some("rita"), Some("reporter")));
    let file = server.dir().join("olga-password");
    std::fs::write(&file, "olga's password\n").unwrap();
    let file = file.display().to_string();
    admin.ok_input(&["users", "create", "olga", "--role", "administrator", "--password-file", &file], "").await;
    let why = admin.fails_input(&["users", "create", "rita", "--role", "reporter"], "another password\n").await;
    assert!(why.contains("exists") && why.contains("409"), "{why}");
    let why = admin.fails_input(&["users", "create", "tim", "--role", "reporter"], "").await;
    assert!(why.contains("no password"), "{why}");

    let users = admin.json_input(&["users", "list"], "").await;
    let names: Vec<&str> = users.as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["admin", "olga", "rita"]);
    let table = admin.ok_input(&["users", "list"], "").await;
    assert!(table.contains("rita") && table.contains("reporter") && table.contains("enabled"), "{table}");

    // A token for rita, printed once; it reads and may not change anything.
    let out = admin.run_input(&["tokens", "create", "--user", "rita", "--label", "dashboard", "--expires", "90d"], "").await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let secret = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(secret.len(), 64, "{secret}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not shown again"));
    let reporter = Cli { server: server.admin_url(), token: secret.clone() };
    reporter.json_input(&["users", "list"], "").await;
    let why = reporter.fails_input(&["users", "disable", "olga"], "").await;
    assert!(why.contains("403"), "{why}");

    let tokens = admin.json_input(&["tokens", "list", "--user", "rita"], "").await;
    assert_eq!(tokens.as_array().unwrap().len(), 1);
    let token = &tokens[0];
    assert_eq!((token["label"].as_str(), token["kind"].as_str(), token["revoked"].as_bool()), (Some("dashboard"), Some("api"), Some(false)));
    assert!(token["expires_at"].is_string() && token["last_used_at"].is_string(), "{token}");
    assert!(token.get("token").is_none(), "a listing never shows the secret");
    let id = token["id"].as_i64().unwrap().to_string();
    let listed = admin.ok_input(&["tokens", "list"], "").await;
    assert!(listed.contains("dashboard") && !listed.contains(&secret), "{listed}");

    // Disabled, enabled, revoked.
    let v = admin.json_input(&["users", "disable", "rita"], "").await;
    assert_eq!(v["disabled"], true);
    assert!(reporter.fails_input(&["users", "list"], "").await.contains("401"));
    admin.json_input(&["users", "enable", "rita"], "").await;
    reporter.json_input(&["users", "list"], "").await;
    let v = admin.json_input(&["tokens", "revoke", &id], "").await;
    assert_eq!(v["revoked"], true);
    assert!(reporter.fails_input(&["users", "list"], "").await.contains("401"));

    // A token for the caller itself, as JSON with its secret.
    let made = admin.json_input(&["tokens", "create", "--label", "ci"], "").await;
    assert_eq!(made["user"], "admin");
    assert!(made["expires_at"].is_null());
    let ci = Cli { server: server.admin_url(), token: made["token"].as_str().unwrap().to_string() };
    ci.json_input(&["users", "list"], "").await;
    assert!(admin.fails_input(&["tokens", "create", "--expires", "soon"], "").await.contains("not a lifetime"));

    // Roles and the last administrator.
    admin.json_input(&["users", "set-role", "rita", "--role", "administrator"], "").await;
    admin.ok_input(&["users", "delete", "olga"], "").await;
    admin.json_input(&["users", "set-password", "rita", "--password-file", &file], "").await;
    admin.ok_input(&["users", "delete", "rita"], "").await;
    let why = admin.fails_input(&["users", "delete", "admin"], "").await;
    assert!(why.contains("last enabled administrator"), "{why}");
    let users = admin.json_input(&["users", "list"], "").await;
    assert_eq!(users.as_array().unwrap().len(), 1);

    // Every change above is in the audit log, once.
    let audit = admin.json_input(&["audit", "--user", "admin"], "").await;
    let actions: Vec<&str> = audit.as_array().unwrap().iter().rev().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "user-create", "user-create", "token-create", "user-update", "user-update", "token-revoke", "token-create",
            "user-update", "user-delete", "user-update", "user-delete"
        ]
    );
}
