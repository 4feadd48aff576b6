//! `sluice rules` and `sluice rollouts` end to end: a real server over loopback, the real CLI
//! as a subprocess; updates enter through `sluice import-xml`.


use sluice_testkit::server::Setup;
use uuid::Uuid;

mod common;

use common::Cli;
const SECURITY_UPDATES: &str = "0fa1201d-4330-4fa8-8ae9-b877473b6441";



fn security_update(id: Uuid) -> String {
    format!(
        r#"<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"><upd:UpdateIdentity UpdateID="{id}" RevisionNumber="100" /><upd:Properties UpdateType="Software" ExplicitlyDeployable="true" PublicationState="Published" CreationDate="2026-01-01T00:00:00Z"></upd:Properties><upd:LocalizedPropertiesCollection><upd:LocalizedProperties><upd:Language>en</upd:Language><upd:Title>Security {id}</upd:Title></upd:LocalizedProperties></upd:LocalizedPropertiesCollection><upd:Relationships><upd:Prerequisites><upd:AtLeastOne IsCategory="true"><upd:UpdateIdentity UpdateID="{SECURITY_UPDATES}" /></upd:AtLeastOne></upd:Prerequisites></upd:Relationships></upd:Update>"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_and_rollouts_from_the_command_line() {
    let setup = Setup::new();
    let server = setup.start().await;
    let cli = Cli { server: server.admin_url(), token: server.admin_token.clone() };
    for g in ["Pilot", "Ring 1"] {
        cli.ok(&["groups", "create", g]).await;
    }

    let plan = cli
        .json(&["rollouts", "create", "Monthly", "--ring", "Pilot:2d", "--ring", "Ring 1:3d", "--ring", "All Computers:0d", "--max-failure", "5%"])
        .await;
    assert_eq!(plan["max_failure"], "5%");
    assert_eq!(plan["rings"].as_array().unwrap().len(), 3);
    let err = cli.fails(&["rollouts", "create", "Bad", "--ring", "Pilot:2w", "--max-failure", "5%"]).await;
    assert!(err.contains("not a duration"), "{err}");
    let err = cli.fails(&["rollouts", "create", "Bad", "--ring", "Pilot", "--max-failure", "5%"]).await;
    assert!(err.contains("GROUP:SOAK"), "{err}");
    assert_eq!(cli.json(&["rollouts", "list"]).await.as_array().unwrap().len(), 1);
    assert!(cli.ok(&["rollouts", "list"]).await.contains("Pilot (2d) → Ring 1 (3d) → All Computers (0d)"));

    let rule = cli
        .json(&["rules", "create", "Security staged", "--classification", "Security Updates", "--plan", "Monthly"])
        .await;
    assert_eq!(rule["plan"]["name"], "Monthly");
    let err = cli.fails(&["rules", "create", "Other", "--classification", "Security Updates", "--group", "Nowhere"]).await;
    assert!(err.contains("Nowhere") && err.contains("404"), "{err}");
    assert_eq!(cli.json(&["rules", "list"]).await.as_array().unwrap().len(), 1);

    // A newly imported security update goes on the plan, approved for the pilot.
    let dir = tempfile::tempdir().unwrap();
    let id = Uuid::new_v4();
    std::fs::write(dir.path().join("u.xml"), security_update(id)).unwrap();
    cli.ok(&["import-xml", dir.path().join("u.xml").to_str().unwrap()]).await;
    let status = cli.json(&["rollouts", "status"]).await;
    assert_eq!(status[0]["update_id"], id.to_string(), "{status}");
    assert_eq!((status[0]["ring_group"].as_str(), status[0]["state"].as_str()), (Some("Pilot"), Some("running")));
    let text = cli.ok(&["rollouts", "status"]).await;
    assert!(text.contains("1/3 Pilot") && text.contains("running"), "{text}");

    let rid = status[0]["id"].as_i64().unwrap().to_string();
    let skipped = cli.json(&["rollouts", "skip", &rid]).await;
    assert_eq!(skipped["ring_group"], "Ring 1");
    let aborted = cli.json(&["rollouts", "abort", &rid]).await;
    assert_eq!(aborted["state"], "aborted");
    let err = cli.fails(&["rollouts", "resume", &rid]).await;
    assert!(err.contains("409"), "{err}");

    // Options, run on demand, update and delete.
    let options = cli.json(&["rules", "options", "--decline-expired", "off"]).await;
    assert_eq!((options["approve_new_revisions"].as_bool(), options["decline_expired"].as_bool()), (Some(true), Some(false)));
    let run = cli.json(&["rules", "run", "Security staged"]).await;
    assert_eq!((run["matched"].as_u64(), run["approved"].as_array().map(Vec::len)), (Some(1), Some(1)), "{run}");
    let updated = cli.json(&["rules", "update", "Security staged", "--group", "Pilot", "--disable"]).await;
    assert_eq!((updated["enabled"].as_bool(), updated["plan"].is_null()), (Some(false), true), "{updated}");
    let err = cli.fails(&["rollouts", "delete", "Monthly"]).await;
    assert!(err.contains("409"), "an update is still on it: {err}");
    cli.ok(&["rules", "delete", "Security staged"]).await;
    assert!(cli.json(&["rules", "list"]).await.as_array().unwrap().is_empty());
}
