//! The `sluice` binary end to end: a real server over loopback, the real CLI as a subprocess.

use std::path::{Path, PathBuf};
use std::process::Command;

use sluice_testkit::process::ServerProcess;
use sluice_testkit::server::Setup;

mod common;

use common::{Cli, BIN};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/wsus-rs/docs")
}



#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_list_show_download_and_import() {
    let setup = Setup::new();
    let server = setup.start().await;
    let cli = Cli { server: server.admin_url(), token: server.admin_token.clone() };

    // Publish a real file with every kind of metadata.
    let payload: Vec<u8> = (0..2_500_000u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    let file = setup.dir().join("contoso-agent.exe");
    std::fs::write(&file, &payload).unwrap();
    let rule = setup.dir().join("installed.xml");
    std::fs::write(&rule, r#"<bar:RegKeyExists Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Contoso\Agent" />"#).unwrap();
    let id = cli
        .ok(&[
            "publish", "--file", file.to_str().unwrap(), "--title", "Contoso Agent 2.0", "--description", "Agent & tools",
            "--kb", "5012345", "--msrc-number", "MS26-042", "--msrc-severity", "important",
            "--classification", "Security Updates", "--product", "Contoso Agent", "--command-line", "/quiet /norestart",
            "--return-code", "0:success", "--return-code", "3010:reboot", "--return-code", "1603:failure",
            "--installed-rule", rule.to_str().unwrap(),
            "--installable-rule", r#"<bar:WindowsVersion Comparison="GreaterThanOrEqualTo" MajorVersion="10" />"#,
        ])
        .await;
    let id = id.trim().to_string();
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().to_string(), id);

    let list: serde_json::Value = serde_json::from_str(&cli.ok(&["updates", "list", "--json"]).await).unwrap();
    let listed = list["items"].as_array().unwrap().iter().find(|u| u["update_id"] == id.as_str()).expect("published update is listed");
    assert_eq!(listed["title"], "Contoso Agent 2.0");
    assert_eq!(listed["kb_article"], "5012345");
    assert_eq!(listed["msrc_severity"], "Important");
    assert_eq!(listed["msrc_number"], "MS26-042");
    assert_eq!(listed["classification"], "Security Updates");
    assert_eq!(listed["products"], serde_json::json!(["Contoso Agent"]));
    assert_eq!(listed["is_locally_published"], true);

    // Filters.
    let by_class: serde_json::Value =
        serde_json::from_str(&cli.ok(&["updates", "list", "--classification", "Security Updates", "--json"]).await).unwrap();
    assert_eq!(by_class["items"].as_array().unwrap().len(), 1);
    assert_eq!(by_class["total"], 1);
    let by_kb: serde_json::Value = serde_json::from_str(&cli.ok(&["updates", "list", "--kb", "KB5012345", "--json"]).await).unwrap();
    assert_eq!(by_kb["items"].as_array().unwrap().len(), 1);
    let none: serde_json::Value = serde_json::from_str(&cli.ok(&["updates", "list", "--text", "no such thing", "--json"]).await).unwrap();
    assert!(none["items"].as_array().unwrap().is_empty());
    assert_eq!(none["total"], 0);

    let detail: serde_json::Value = serde_json::from_str(&cli.ok(&["updates", "show", &id, "--json"]).await).unwrap();
    assert_eq!(detail["command_line"], "contoso-agent.exe /quiet /norestart");
    assert_eq!(detail["has_installed_rule"], true);
    assert_eq!(detail["files"][0]["state"], "present");
    assert_eq!(detail["files"][0]["size"], payload.len());
    let human = cli.ok(&["updates", "show", &id]).await;
    assert!(human.contains("Contoso Agent 2.0") && human.contains("MS26-042"), "{human}");

    // The published file is served to clients from the content URL the catalog gives.
    let path = detail["files"][0]["content_path"].as_str().unwrap().to_string();
    let body = reqwest::get(format!("http://{}/{}", server.client_addr, path)).await.unwrap();
    assert_eq!(body.status(), 200);
    assert_eq!(body.bytes().await.unwrap().as_ref(), payload.as_slice());

    // Import the real documents: all new, then all already present.
    let docs: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    let mut args = vec!["import-xml", "--json"];
    args.extend(docs.iter().map(String::as_str));
    let first: serde_json::Value = serde_json::from_str(&cli.ok(&args).await).unwrap();
    let revs = first["revisions"].as_array().unwrap();
    assert_eq!(revs.len(), 9);
    assert!(revs.iter().all(|r| r["inserted"] == true));
    let again: serde_json::Value = serde_json::from_str(&cli.ok(&args).await).unwrap();
    assert!(again["revisions"].as_array().unwrap().iter().all(|r| r["inserted"] == false));
    let kb: serde_json::Value = serde_json::from_str(&cli.ok(&["updates", "list", "--kb", "2267602", "--json"]).await).unwrap();
    assert_eq!(kb["items"][0]["update_id"], "a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe");
    assert_eq!(kb["items"][0]["classification"], "Definition Updates");

    // An update is named by its KB number where one update carries it; a KB several updates
    // carry, or none, is refused with the reason.
    for name in ["KB5012345", "kb5012345", " 5012345"] {
        let d: serde_json::Value = serde_json::from_str(&cli.ok(&["updates", "show", name, "--json"]).await).unwrap();
        assert_eq!(d["update_id"], id.as_str(), "{name}");
    }
    let d: serde_json::Value = serde_json::from_str(&cli.ok(&["updates", "show", "KB2267602", "--json"]).await).unwrap();
    assert_eq!(d["update_id"], "a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe");
    let second_file = setup.dir().join("contoso-agent-2.1.exe");
    std::fs::write(&second_file, b"a later build").unwrap();
    let second = cli
        .ok(&["publish", "--file", second_file.to_str().unwrap(), "--title", "Contoso Agent 2.1", "--kb", "5012345"])
        .await;
    let out = cli.run(&["updates", "show", "KB5012345"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("KB5012345 names several updates"), "{err}");
    assert!(err.contains(&id) && err.contains(second.trim()), "both are named: {err}");
    for (name, why) in [("KB999999999", "no update with KB999999999"), ("KBx1", "neither an update id nor a KB number")] {
        let out = cli.run(&["updates", "show", name]).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(why), "{name}: {err}");
    }

    // A bad document among good ones: nothing is stored, and the message names it.
    let count_before = server.state.store.count_revisions().await.unwrap();
    let bad = setup.dir().join("broken.xml");
    std::fs::write(&bad, "<upd:Update xmlns:upd=\"http://schemas.microsoft.com/msus/2002/12/Update\"><upd:UpdateIdentity").unwrap();
    let good = setup.dir().join("good.xml");
    std::fs::copy(fixtures().join("ccb78947-6453-4ecc-9de8-bc0305c98f2d-r200.xml"), &good).unwrap();
    let out = cli.run(&["import-xml", good.to_str().unwrap(), bad.to_str().unwrap()]).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.xml") && err.contains("nothing imported"), "{err}");
    assert_eq!(server.state.store.count_revisions().await.unwrap(), count_before);

    // The server refuses a bad batch on its own too (a client that skips local checks).
    let resp = reqwest::Client::new()
        .post(format!("http://{}/api/v1/updates/import", server.admin_addr))
        .bearer_auth(&server.admin_token)
        .json(&serde_json::json!({"documents": [{"name": "evil.xml", "xml": "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("evil.xml"));
    assert_eq!(server.state.store.count_revisions().await.unwrap(), count_before);

    // Every change was audited.
    let audit = server.state.store.list_audit(100, None, None).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "publish" && a.target == id && a.actor == "admin"));
    assert!(audit.iter().any(|a| a.action == "import-xml"));

    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_refuses_a_file_that_does_not_match_and_stores_nothing() {
    let setup = Setup::new();
    let server = setup.start().await;
    let meta = serde_json::json!({
        "title": "Liar", "return_codes": [], "prerequisites": [], "supersedes": [],
        "file": {"name": "liar.exe", "size": 5, "sha1": "00".repeat(20), "sha256": "00".repeat(32)}
    });
    let form = reqwest::multipart::Form::new()
        .text("metadata", meta.to_string())
        .part("file", reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name("liar.exe"));
    let resp = reqwest::Client::new()
        .post(format!("http://{}/api/v1/updates/publish", server.admin_addr))
        .bearer_auth(&server.admin_token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422, "{:?}", resp.text().await);
    assert_eq!(server.state.store.count_revisions().await.unwrap(), 0);
    let shard = server.state.content.root().join("00");
    assert!(!shard.exists() || std::fs::read_dir(&shard).unwrap().next().is_none(), "no file became visible");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_requires_a_valid_token_and_the_token_survives_restarts() {
    let server = sluice_testkit::server::start().await;
    let url = server.api("/updates");
    let c = reqwest::Client::new();
    assert_eq!(c.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(c.get(&url).bearer_auth("forged").send().await.unwrap().status(), 401);
    assert_eq!(c.get(&url).bearer_auth(&server.admin_token).send().await.unwrap().status(), 200);
    assert_eq!(c.get(server.api("/health")).send().await.unwrap().status(), 200);
    let token_file = server.data_dir().join("admin-token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(server.data_dir().join("admin-password")).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let token = server.admin_token.clone();
    let setup = server.shutdown().await.unwrap();
    let again = setup.start().await;
    assert_eq!(again.admin_token, token, "a valid token on disk is kept");
    again.shutdown().await.unwrap();
    // A token file that no longer matches (e.g. restored from elsewhere) is replaced.
    std::fs::write(&token_file, "stale\n").unwrap();
    let third = setup.start().await;
    assert_ne!(third.admin_token, "stale");
    assert_eq!(std::fs::read_to_string(&token_file).unwrap().trim(), third.admin_token);
    third.shutdown().await.unwrap();
}

/// `sluice downstreams list` against a real server: the JSON is the admin API's view and the
/// table names the server. (Was a unit test inside the command's module, which then had to link
/// the server; the CLI's modules now speak the API only.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downstreams_list_shows_what_the_server_recorded() {
    let setup = Setup::new();
    let server = setup.start().await;
    let cli = Cli { server: server.admin_url(), token: server.admin_token.clone() };
    assert!(cli.ok(&["downstreams", "list"]).await.contains("no downstream server"));

    let id = uuid::Uuid::new_v4();
    server
        .state
        .store
        .record_downstream_contact(&sluice_store::downstreams::DownstreamContact {
            id,
            account_name: "dss9.example.invalid".into(),
            address: Some("10.0.0.9".into()),
            at: time::OffsetDateTime::now_utc(),
        })
        .await
        .unwrap();
    let list: serde_json::Value = serde_json::from_str(&cli.ok(&["downstreams", "list", "--json"]).await).unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["id"], id.to_string().as_str());
    assert_eq!(list[0]["name"], "dss9.example.invalid");
    assert_eq!(list[0]["mode"], "unknown");
    assert_eq!(list[0]["summary"], serde_json::Value::Null);
    let table = cli.ok(&["downstreams", "list"]).await;
    assert!(table.contains("dss9.example.invalid") && table.contains(&id.to_string()), "{table}");
    server.shutdown().await.unwrap();
}

/// `sluice serve` as an administrator runs it: defaults, both listeners, graceful SIGTERM.
#[test]
fn serve_answers_on_both_listeners_and_stops_on_sigterm() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // No --data: the binary's embedded default, below the working directory.
    let mut server = rt.block_on(ServerProcess::start_with_default_data(&Setup::new(), BIN));
    let up = rt.block_on(async { reqwest::get(server.api("/health")).await.unwrap().status() });
    assert!(up.is_success(), "admin API answers");
    let client = rt.block_on(async { reqwest::get(format!("{}/", server.client_url())).await.unwrap().status() });
    assert_eq!(client, 200, "client listener answers");
    // Embedded defaults: data in ./sluice-data, with the SQLite database and the token file.
    let data = server.dir().join("sluice-data");
    assert_eq!(server.data_dir(), data);
    assert!(data.join("sluice.db").exists() && data.join("admin-token").exists() && data.join("content").is_dir());
    // The CLI on the same machine finds the token by itself.
    let out = Command::new(BIN)
        .current_dir(server.dir())
        .args(["updates", "list", "--server", &server.admin_url()])
        .env_remove("SLUICE_TOKEN")
        .env_remove("SLUICE_DATA")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let status = server.terminate();
    assert!(status.success(), "graceful shutdown exits 0: {status:?}\n{}", server.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_lists_changes_by_time_and_user_as_table_json_and_csv() {
    let server = Setup::new().start().await;
    let cli = Cli { server: server.admin_url(), token: server.admin_token.clone() };
    cli.ok(&["groups", "create", "Pilot"]).await;
    // A name a spreadsheet would run as a formula.
    cli.ok(&["groups", "create", "=HYPERLINK(\"x\"),1"]).await;
    // Another administrator's change, as the admin layer records it.
    server
        .state
        .store
        .append_audit(&sluice_store::NewAuditEntry {
            actor: "bob".into(),
            action: "decline".into(),
            target: "11111111-2222-3333-4444-555555555555".into(),
            detail: String::new(),
            source_address: Some("192.0.2.7".into()),
        })
        .await
        .unwrap();

    let all: Vec<sluice_api::AuditEntryView> = serde_json::from_str(&cli.ok(&["audit", "--json"]).await).unwrap();
    let actions: Vec<(&str, &str, &str)> = all.iter().map(|e| (e.user.as_str(), e.action.as_str(), e.target.as_str())).collect();
    assert_eq!(
        actions,
        vec![
            ("bob", "decline", "11111111-2222-3333-4444-555555555555"),
            ("admin", "group-create", "=HYPERLINK(\"x\"),1"),
            ("admin", "group-create", "Pilot"),
        ]
    );
    assert_eq!(all[1].address.as_deref(), Some("127.0.0.1"));
    assert!(all[0].id > all[1].id && all[1].id > all[2].id);

    let bob: Vec<sluice_api::AuditEntryView> = serde_json::from_str(&cli.ok(&["audit", "--user", "bob", "--json"]).await).unwrap();
    assert_eq!(bob.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), vec!["decline"]);
    let one: Vec<sluice_api::AuditEntryView> = serde_json::from_str(&cli.ok(&["audit", "--limit", "1", "--json"]).await).unwrap();
    assert_eq!(one.len(), 1);
    // A date is its midnight UTC; a later time leaves nothing.
    let today = &all[0].at[..10];
    assert_eq!(serde_json::from_str::<Vec<serde_json::Value>>(&cli.ok(&["audit", "--since", today, "--json"]).await).unwrap().len(), 3);
    assert_eq!(cli.ok(&["audit", "--since", "2999-01-01T00:00:00Z"]).await, "no audit entries\n");

    let table = cli.ok(&["audit"]).await;
    assert!(table.starts_with("AT"), "{table}");
    assert!(table.contains("group-create") && table.contains("Pilot") && table.contains("192.0.2.7"), "{table}");

    let csv = cli.ok(&["audit", "--csv"]).await;
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(lines[0], "id,at,user,address,action,target,detail");
    assert!(lines[2].contains(",admin,127.0.0.1,group-create,\"'=HYPERLINK(\"\"x\"\"),1\","), "{csv}");

    // Bad filters are refused with the reason.
    for (args, why) in [
        (&["audit", "--since", "last tuesday"][..], "RFC 3339"),
        (&["audit", "--limit", "0"][..], "limit must be 1 to 10000"),
    ] {
        let out = cli.run(args).await;
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{args:?}: {err}");
    }
    server.shutdown().await.unwrap();
}
