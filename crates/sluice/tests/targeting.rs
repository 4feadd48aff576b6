//! Computer groups, computers, approvals, declines, license terms, targeting mode and status,
//! end to end: a real server over loopback, the real CLI as a subprocess. Computers enter
//! through the store, as the client services will register them.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sluice_catalog::times::parse_rfc3339_utc;
use sluice_store::{InstallState, NewComputer, UpdateStatus};
use sluice_testkit::server::Setup;

mod common;

use common::Cli;
/// KB2267602, a Defender definition bundle among the real fixtures.
const KB2267602: &str = "a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe";
/// A category (a product) among the fixtures.
const CATEGORY: &str = "56309036-4c77-4dd9-951a-99ee9c246a94";
/// A hidden child of the Defender bundle: delivered only through it.
const BUNDLE_CHILD: &str = "ccb78947-6453-4ecc-9de8-bc0305c98f2d";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/wsus-rs/docs")
}



async fn add_computer(server: &sluice_server::RunningServer, id: &str, dns: &str) {
    let c = NewComputer {
        id: id.into(),
        dns_name: Some(dns.into()),
        os_description: Some("Windows 11 Enterprise".into()),
        os_major: Some(10),
        os_minor: Some(0),
        os_build: Some(26100),
        ..NewComputer::default()
    };
    server.state.store.upsert_computer(&c).await.unwrap();
}

fn names(v: &Value, field: &str) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x[field].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_computers_and_targeting_mode() {
    let setup = Setup::new();
    let server = setup.start().await;
    let cli = Cli {
        server: server.admin_url(),
        token: server.admin_token.clone(),
    };

    let groups = cli.json(&["groups", "list"]).await;
    assert_eq!(names(&groups, "name"), vec!["All Computers", "Unassigned Computers"]);
    assert!(groups.as_array().unwrap().iter().all(|g| g["built_in"] == true));

    let servers = cli.json(&["groups", "create", "Servers"]).await;
    assert_eq!(servers["parent"], "All Computers");
    let web = cli.json(&["groups", "create", "Web Farm", "--parent", "servers"]).await;
    assert_eq!(web["path"], "All Computers/Servers/Web Farm");
    assert_eq!(web["parent_id"], servers["id"]);
    let err = cli.fails(&["groups", "create", "WEB FARM"]).await;
    assert!(err.contains("already exists") && err.contains("409"), "{err}");
    let err = cli
        .fails(&["groups", "create", "Child", "--parent", "Unassigned Computers"])
        .await;
    assert!(err.contains("cannot have child groups"), "{err}");
    let err = cli.fails(&["groups", "delete", "All Computers"]).await;
    assert!(err.contains("built-in"), "{err}");
    let err = cli.fails(&["groups", "delete", "Unassigned Computers"]).await;
    assert!(err.contains("built-in"), "{err}");
    let err = cli.fails(&["groups", "delete", "Servers"]).await;
    assert!(err.contains("child groups") && err.contains("Web Farm"), "{err}");
    let human = cli.ok(&["groups", "list"]).await;
    assert!(
        human.contains("    Web Farm"),
        "nested groups are indented under their parent:\n{human}"
    );

    add_computer(&server, "3f0a5bb1-0000-4000-8000-000000000001", "web01.contoso.local").await;
    add_computer(&server, "3f0a5bb1-0000-4000-8000-000000000002", "web02.contoso.local").await;
    let (pc1, pc2) = (
        "3f0a5bb1-0000-4000-8000-000000000001",
        "3f0a5bb1-0000-4000-8000-000000000002",
    );

    let all = cli.json(&["computers", "list"]).await;
    assert_eq!(names(&all, "id"), vec![pc1, pc2]);
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|c| c["groups"] == serde_json::json!(["Unassigned Computers"]))
    );
    assert_eq!(all[0]["os_version"], "10.0.26100");

    let moved = cli.json(&["computers", "move", pc1, "--group", "web farm"]).await;
    assert_eq!(moved["groups"], serde_json::json!(["Web Farm"]));
    let moved = cli
        .json(&["computers", "move", pc2, "--group", "Web Farm", "--group", "Servers"])
        .await;
    assert_eq!(moved["groups"].as_array().unwrap().len(), 2);
    assert_eq!(
        names(&cli.json(&["computers", "list", "--group", "Web Farm"]).await, "id"),
        vec![pc1, pc2]
    );
    assert_eq!(
        names(&cli.json(&["computers", "list", "--group", "Servers"]).await, "id"),
        vec![pc2]
    );
    assert!(
        cli.json(&["computers", "list", "--group", "Unassigned Computers"])
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    let err = cli.fails(&["computers", "move", pc1, "--group", "All Computers"]).await;
    assert!(err.contains("All Computers"), "{err}");
    let err = cli
        .fails(&["computers", "move", "no-such-computer", "--group", "Servers"])
        .await;
    assert!(err.contains("not found") && err.contains("404"), "{err}");

    let shown = cli.json(&["computers", "show", pc1]).await;
    assert_eq!(shown["dns_name"], "web01.contoso.local");
    assert_eq!(shown["groups"], serde_json::json!(["Web Farm"]));
    let human = cli.ok(&["computers", "show", pc1]).await;
    assert!(
        human.contains("web01.contoso.local") && human.contains("Web Farm"),
        "{human}"
    );

    // Deleting a group: a member with no other group becomes unassigned, the other stays.
    let deleted = cli.json(&["groups", "delete", "Web Farm"]).await;
    assert_eq!(deleted["moved_to_unassigned"], serde_json::json!([pc1]));
    assert_eq!(
        names(
            &cli.json(&["computers", "list", "--group", "Unassigned Computers"])
                .await,
            "id"
        ),
        vec![pc1]
    );
    assert_eq!(server.state.store.computer_groups(pc2).await.unwrap().len(), 1);

    // Targeting mode: server by default; in client mode, computers pick their groups.
    assert_eq!(cli.json(&["targeting", "get"]).await["mode"], "server");
    assert_eq!(cli.ok(&["targeting", "set", "client"]).await.trim(), "client");
    assert_eq!(cli.json(&["targeting", "get"]).await["mode"], "client");
    let err = cli.fails(&["computers", "move", pc1, "--group", "Servers"]).await;
    assert!(err.contains("client"), "{err}");
    cli.ok(&["targeting", "set", "server"]).await;
    cli.ok(&["computers", "move", pc1, "--group", "Servers"]).await;

    let audit = server.state.store.list_audit(100, None, None).await.unwrap();
    for (action, target) in [
        ("group-create", "Servers"),
        ("group-create", "Web Farm"),
        ("group-delete", "Web Farm"),
        ("computer-move", pc1),
        ("targeting-set", "settings"),
    ] {
        assert!(
            audit.iter().any(|a| a.action == action
                && a.target == target
                && a.actor == "admin"
                && a.source_address.as_deref() == Some("127.0.0.1")),
            "no audit entry {action} {target}: {audit:#?}"
        );
    }

    server.shutdown().await.unwrap();
}

/// A locally written update that carries license terms (an EULA file, no EulaID).
fn eula_update(id: &str, title: &str) -> String {
    format!(
        r#"<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"><upd:UpdateIdentity UpdateID="{id}" RevisionNumber="100" /><upd:Properties UpdateType="Software" ExplicitlyDeployable="true" DefaultPropertiesLanguage="en" PublicationState="Published" CreationDate="2026-01-15T09:00:00Z"><upd:KBArticleID>5099999</upd:KBArticleID></upd:Properties><upd:LocalizedPropertiesCollection><upd:LocalizedProperties><upd:Language>en</upd:Language><upd:Title>{title}</upd:Title></upd:LocalizedProperties><upd:EulaFile Language="en"><upd:File FileName="contoso-eula-en.txt" Digest="QEFCQ0RFRkdISUpLTE1OT1BRUlM=" Size="4096" /></upd:EulaFile></upd:LocalizedPropertiesCollection></upd:Update>"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_declines_license_terms_and_status() {
    let setup = Setup::new();
    let server = setup.start().await;
    let cli = Cli {
        server: server.admin_url(),
        token: server.admin_token.clone(),
    };
    let admin = format!("http://{}/api/v1", server.admin_addr);
    let http = reqwest::Client::new();

    // Nothing of this is reachable without a token.
    for (method, path) in [
        (reqwest::Method::GET, "/groups"),
        (reqwest::Method::POST, "/approvals"),
        (reqwest::Method::POST, &format!("/updates/{KB2267602}/decline") as &str),
        (reqwest::Method::GET, "/status"),
        (reqwest::Method::PUT, "/settings/targeting"),
    ] {
        let r = http
            .request(method.clone(), format!("{admin}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{method} {path}");
        let r = http
            .request(method.clone(), format!("{admin}{path}"))
            .bearer_auth("forged")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{method} {path} with a forged token");
    }

    let docs: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    let mut args = vec!["import-xml"];
    args.extend(docs.iter().map(String::as_str));
    cli.ok(&args).await;
    cli.ok(&["groups", "create", "Pilot"]).await;
    cli.ok(&["groups", "create", "Ring 1", "--parent", "Pilot"]).await;
    add_computer(&server, "pc-pilot", "pilot01.contoso.local").await;
    add_computer(&server, "pc-other", "desk07.contoso.local").await;
    cli.ok(&["computers", "move", "pc-pilot", "--group", "Ring 1"]).await;

    // Approve the real Defender update for Pilot with a deadline given in +02:00.
    let a = cli
        .json(&[
            "approve",
            KB2267602,
            "--group",
            "Pilot",
            "--deadline",
            "2026-05-01T20:00:00+02:00",
        ])
        .await;
    assert_eq!(a["action"], "install");
    assert_eq!(a["group"], "Pilot");
    assert_eq!(a["deadline"], "2026-05-01T18:00:00Z", "deadlines are echoed in UTC");
    assert_eq!(a["approved_by"], "admin");
    assert!(a["title"].as_str().unwrap().contains("KB2267602"));
    let listed = cli.json(&["approvals", "list", "--update", KB2267602]).await;
    assert_eq!(names(&listed, "group"), vec!["Pilot"]);
    let human = cli.ok(&["approvals", "list", "--group", "pilot"]).await;
    assert!(
        human.contains(KB2267602) && human.contains("2026-05-01T18:00:00Z"),
        "{human}"
    );

    // Ring 1 inherits Pilot's approval; a computer outside gets nothing.
    let shown = cli.json(&["computers", "show", "pc-pilot"]).await;
    let eff = &shown["approvals"][0];
    assert_eq!(
        (eff["update_id"].as_str(), eff["action"].as_str(), eff["group"].as_str()),
        (Some(KB2267602), Some("install"), Some("Pilot"))
    );
    assert_eq!(eff["deadline"], "2026-05-01T18:00:00Z");
    assert!(
        cli.json(&["computers", "show", "pc-other"]).await["approvals"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Ring 1's own Not Approved stops the inheritance.
    cli.ok(&["approve", KB2267602, "--group", "Ring 1", "--action", "not-approved"])
        .await;
    assert_eq!(
        cli.json(&["computers", "show", "pc-pilot"]).await["approvals"][0]["action"],
        "not_approved"
    );
    cli.ok(&["approvals", "remove", KB2267602, "--group", "Ring 1"]).await;
    assert_eq!(
        cli.json(&["computers", "show", "pc-pilot"]).await["approvals"][0]["action"],
        "install"
    );

    // What cannot be approved, and why.
    let err = cli.fails(&["approve", CATEGORY, "--group", "Pilot"]).await;
    assert!(err.contains("category"), "{err}");
    let err = cli.fails(&["approve", BUNDLE_CHILD, "--group", "Pilot"]).await;
    assert!(err.contains("bundle"), "{err}");
    let err = cli
        .fails(&["approve", "00000000-0000-0000-0000-00000000abcd", "--group", "Pilot"])
        .await;
    assert!(err.contains("not found"), "{err}");
    let err = cli.fails(&["approve", KB2267602, "--group", "No Such Group"]).await;
    assert!(err.contains("No Such Group"), "{err}");

    // Declining removes every approval and blocks approving until un-declined.
    cli.ok(&[
        "approve",
        KB2267602,
        "--group",
        "All Computers",
        "--action",
        "uninstall",
    ])
    .await;
    let d = cli.json(&["decline", KB2267602]).await;
    assert_eq!(d["declined"], true);
    let mut removed: Vec<String> = d["removed_approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    removed.sort();
    assert_eq!(removed, vec!["All Computers", "Pilot"]);
    assert!(
        cli.json(&["approvals", "list", "--update", KB2267602])
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        server
            .state
            .store
            .is_declined(KB2267602.parse().unwrap())
            .await
            .unwrap()
    );
    let err = cli.fails(&["approve", KB2267602, "--group", "Pilot"]).await;
    assert!(
        err.contains("declined") && err.contains("undecline") && err.contains("409"),
        "{err}"
    );
    assert!(cli.ok(&["decline", KB2267602]).await.contains("already declined"));
    let u = cli.json(&["undecline", KB2267602]).await;
    assert_eq!(
        (u["declined"].as_bool(), u["changed"].as_bool()),
        (Some(false), Some(true))
    );
    cli.ok(&["approve", KB2267602, "--group", "Pilot"]).await;

    // License terms: refused without acceptance, approved with it, and remembered.
    let eula1 = setup.dir().join("contoso-suite.xml");
    let eula2 = setup.dir().join("contoso-suite-sp1.xml");
    std::fs::write(
        &eula1,
        eula_update("5b3c2a10-0000-4000-8000-00000000e01a", "Contoso Suite 7"),
    )
    .unwrap();
    std::fs::write(
        &eula2,
        eula_update("5b3c2a10-0000-4000-8000-00000000e01b", "Contoso Suite 7 SP1"),
    )
    .unwrap();
    cli.ok(&["import-xml", eula1.to_str().unwrap(), eula2.to_str().unwrap()])
        .await;
    let err = cli
        .fails(&["approve", "5b3c2a10-0000-4000-8000-00000000e01a", "--group", "Pilot"])
        .await;
    assert!(
        err.contains("license terms") && err.contains("contoso-eula-en.txt") && err.contains("--accept-license"),
        "{err}"
    );
    assert!(
        cli.json(&["approvals", "list", "--update", "5b3c2a10-0000-4000-8000-00000000e01a"])
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    let a = cli
        .json(&[
            "approve",
            "5b3c2a10-0000-4000-8000-00000000e01a",
            "--group",
            "Pilot",
            "--accept-license",
        ])
        .await;
    assert_eq!(a["license_accepted_by"], "admin");
    // The acceptance is keyed by the EULA file's digest (no EulaID in the document).
    let digest: Vec<u8> = (0x40u8..0x50).collect();
    let key = uuid::Builder::from_custom_bytes(digest.try_into().unwrap()).into_uuid();
    let acceptance = server
        .state
        .store
        .eula_acceptance(key)
        .await
        .unwrap()
        .expect("acceptance recorded");
    assert_eq!(acceptance.accepted_by, "admin");
    // Another update with the same license text needs no second acceptance.
    let a = cli
        .json(&["approve", "5b3c2a10-0000-4000-8000-00000000e01b", "--group", "Pilot"])
        .await;
    assert_eq!(a["license_accepted_by"], "admin");

    // The API answers refusals with JSON errors and meaningful statuses.
    let r = http
        .post(format!("{admin}/approvals"))
        .bearer_auth(&server.admin_token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.json::<Value>().await.unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("malformed")
    );
    let r = http
        .post(format!("{admin}/approvals"))
        .bearer_auth(&server.admin_token)
        .json(&serde_json::json!({"update": KB2267602, "group": "Pilot", "deadline": "tomorrow"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = http
        .delete(format!("{admin}/approvals"))
        .query(&[("update", KB2267602)])
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "removing an approval needs the group");

    // Status, as reported by clients.
    let at = parse_rfc3339_utc("2026-04-02T08:30:00Z").unwrap();
    for (computer, state) in [
        ("pc-pilot", InstallState::Installed),
        ("pc-other", InstallState::Failed),
    ] {
        let s = UpdateStatus {
            computer_id: computer.into(),
            update_id: KB2267602.parse().unwrap(),
            revision_number: 200,
            state,
            last_event_time: at,
            last_event_id: None,
        };
        server.state.store.set_update_status(&s).await.unwrap();
    }
    let by_update = cli.json(&["status", "--update", KB2267602]).await;
    let counts = &by_update["updates"][0]["counts"];
    assert_eq!(
        (
            counts["installed"].as_i64(),
            counts["failed"].as_i64(),
            counts["needed"].as_i64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(by_update["entries"].as_array().unwrap().len(), 2);
    let pilot = cli.json(&["status", "--update", KB2267602, "--group", "Ring 1"]).await;
    assert_eq!(pilot["computers_in_scope"], 1);
    assert_eq!(pilot["updates"][0]["counts"]["total"], 1);
    let one = cli.json(&["status", "--computer", "pc-other"]).await;
    assert_eq!(one["computers"][0]["counts"]["failed"], 1);
    assert_eq!(one["entries"][0]["last_event_time"], "2026-04-02T08:30:00Z");
    let human = cli.ok(&["status"]).await;
    assert!(
        human.contains("2 computer(s) in scope") && human.contains(KB2267602),
        "{human}"
    );
    let err = cli.fails(&["status", "--computer", "nobody"]).await;
    assert!(err.contains("not found"), "{err}");

    let audit = server.state.store.list_audit(200, None, None).await.unwrap();
    for (action, target) in [
        ("approve", KB2267602),
        ("unapprove", KB2267602),
        ("decline", KB2267602),
        ("undecline", KB2267602),
        ("approve", "5b3c2a10-0000-4000-8000-00000000e01a"),
    ] {
        assert!(
            audit
                .iter()
                .any(|a| a.action == action && a.target == target && a.actor == "admin"),
            "no audit entry {action} {target}"
        );
    }
    let accepted = audit
        .iter()
        .find(|a| a.action == "approve" && a.target == "5b3c2a10-0000-4000-8000-00000000e01a")
        .unwrap();
    assert!(accepted.detail.contains("license accepted"), "{}", accepted.detail);
    assert_eq!(
        audit.iter().filter(|a| a.action == "decline").count(),
        1,
        "a repeated decline changes nothing"
    );

    server.shutdown().await.unwrap();
}

/// Issue #8, item 15: names a client chose reach the administrator's terminal escaped. A computer
/// registered before the XML layer refused control characters (or through a path that does not
/// parse XML) still has its raw DNS name in the store; `computers list` and `computers show` print
/// it with the ESC and the bidi override made visible, while `--json` keeps the exact value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_15_cli_escapes_control_characters_in_computer_names() {
    let setup = Setup::new();
    let server = setup.start().await;
    let cli = Cli {
        server: server.admin_url(),
        token: server.admin_token.clone(),
    };
    add_computer(&server, "pc-esc", "evil\x1b[31m").await;
    add_computer(&server, "pc-bidi", "invoice\u{202e}gpj.exe").await;

    let list = cli.ok(&["computers", "list"]).await;
    assert!(list.contains("evil\\x1b[31m"), "{list:?}");
    assert!(list.contains("invoice\\u{202e}gpj.exe"), "{list:?}");
    assert!(!list.contains('\x1b') && !list.contains('\u{202e}'), "raw control characters printed: {list:?}");

    let show = cli.ok(&["computers", "show", "pc-esc"]).await;
    assert!(show.starts_with("evil\\x1b[31m\n"), "{show:?}");
    assert!(!show.contains('\x1b'), "{show:?}");

    // Machine-readable output is exact (JSON escapes the ESC itself).
    let json = cli.json(&["computers", "list"]).await;
    let mut dns = names(&json, "dns_name");
    dns.sort();
    assert_eq!(dns, vec!["evil\x1b[31m".to_string(), "invoice\u{202e}gpj.exe".to_string()]);
    server.shutdown().await.unwrap();
}
