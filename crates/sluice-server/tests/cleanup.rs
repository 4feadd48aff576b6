//! Self-maintenance against a real server and store: a cleanup declines exactly the updates
//! WSUS's criteria select, removes only unused content and silent computers, records every
//! run; a dry run changes nothing; the admin API refuses bad settings and audits each change.

use serde_json::{Value, json};
use sha1::Digest as _;
use sluice_catalog::api::{ApprovalRequest, CreateGroupRequest};
use sluice_content::{ContentKey, ExpectedFile};
use sluice_metadata::UpdateFile;
use sluice_metadata::publish::{PublishSpec, software_update_xml};
use sluice_server::AppState;
use sluice_store::{FileState, InstallState, NewComputer, UpdateStatus};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

fn spec(n: u128, title: &str, supersedes: &[Uuid], file: Option<UpdateFile>) -> PublishSpec {
    PublishSpec {
        update_id: Uuid::from_u128(0x5100_0000 + n),
        revision_number: 1,
        language: "en".into(),
        title: title.into(),
        description: None,
        kb_article: Some(format!("50000{n:02}")),
        msrc_number: None,
        msrc_severity: None,
        classification: None,
        products: vec![],
        creation_date: "2026-11-01T00:00:00.000Z".into(),
        file,
        command_line: None,
        installed_rule: None,
        installable_rule: None,
        prerequisites: vec![],
        supersedes: supersedes.to_vec(),
        reboot_behavior: None,
    }
}

/// A file stored in the content store (state present), with its metadata.
async fn stored_file(state: &AppState, name: &str, seed: u8) -> (UpdateFile, ContentKey) {
    let bytes: Vec<u8> = (0..4096u32).map(|i| (i as u8).wrapping_mul(seed)).collect();
    let sha1: [u8; 20] = sha1::Sha1::digest(&bytes).into();
    let sha256: [u8; 32] = sha2::Sha256::digest(&bytes).into();
    let expected = ExpectedFile { sha1, sha256: Some(sha256), size: Some(bytes.len() as u64), file_name: name.into() };
    state.content.put_verified(&bytes[..], &expected).await.unwrap();
    let file = UpdateFile { file_name: name.into(), size: bytes.len() as u64, modified: None, sha1, sha256: Some(sha256), patching_type: None };
    (file, ContentKey::for_file(sha1, name).unwrap())
}

/// Imports the updates as if synchronised from Microsoft Update, but for those in `local`.
async fn import(state: &AppState, specs: &[PublishSpec], expired: &[Uuid], local: &[Uuid]) {
    let docs = specs
        .iter()
        .map(|s| {
            let mut xml = software_update_xml(s);
            if !local.contains(&s.update_id) {
                xml = xml.replace(sluice_metadata::publish::LOCAL_PUBLISHER_ID, "395392a0-19c0-48b7-a927-f7c15066d905");
            }
            if expired.contains(&s.update_id) {
                xml = xml.replace("PublicationState=\"Published\"", "PublicationState=\"Expired\"");
            }
            (format!("{}.xml", s.update_id), xml.into_bytes())
        })
        .collect();
    state.catalog.import_documents(docs).await.unwrap();
}

async fn computer(state: &AppState, id: &str, group: Uuid, last_sync: OffsetDateTime) {
    let c = NewComputer { id: id.into(), dns_name: Some(format!("{id}.example.org")), extra: "{}".into(), ..Default::default() };
    state.store.upsert_computer(&c).await.unwrap();
    state.store.set_computer_groups(id, &[group]).await.unwrap();
    state.store.touch_computer_sync(id, last_sync).await.unwrap();
}

fn ids(list: &Value) -> Vec<String> {
    let mut v: Vec<String> = list.as_array().unwrap().iter().map(|u| u["update_id"].as_str().unwrap().to_owned()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn cleanup_declines_exactly_what_wsus_criteria_select_and_removes_only_unused_content() {
    criteria(sluice_testkit::server::start().await).await;
}

#[tokio::test]
async fn cleanup_declines_exactly_what_wsus_criteria_select_on_postgres() {
    let Some(pg) = sluice_testkit::postgres::database("cleanup_criteria").await else {
        return;
    };
    let url = pg.url.clone();
    let server = sluice_testkit::server::Setup::new().with(move |c| c.database = Some(url)).start().await;
    criteria(server).await;
    pg.drop_db().await;
}

async fn criteria(server: sluice_testkit::server::TestServer) {
    let state = &server.state;
    let group = state.catalog.create_group(&CreateGroupRequest { name: "Pilot".into(), parent: None }).await.unwrap();
    let group_id = Uuid::parse_str(&group.id).unwrap();

    let (approved_file, approved_key) = stored_file(state, "superseding.exe", 3).await;
    let (unused_file, unused_key) = stored_file(state, "unused.exe", 5).await;
    let (declined_file, declined_key) = stored_file(state, "old.exe", 7).await;
    let (published_file, published_key) = stored_file(state, "published.exe", 11).await;
    let u = |n: u128| Uuid::from_u128(0x5100_0000 + n);
    let specs = vec![
        // Superseded, needed by nobody, not approved; its superseder S1 is approved: declined.
        spec(1, "U1 superseded, unneeded", &[], Some(declined_file)),
        // Superseded only by S2, which is not approved: kept; its file goes all the same, as
        // no approved or needed update uses it.
        spec(2, "U2 superseder not approved", &[], Some(unused_file)),
        // Needed by pc1: kept.
        spec(3, "U3 needed", &[], None),
        // Approved for Pilot, where pc1 has not reported it: kept.
        spec(4, "U4 approved, unreported", &[], None),
        // Published here, neither approved nor needed: its file cannot be downloaded again.
        spec(5, "U5 published here", &[], Some(published_file)),
        spec(11, "S1 approved superseder", &[u(1), u(3), u(4)], Some(approved_file)),
        spec(12, "S2 unapproved superseder", &[u(2)], None),
        // Expired: declined.
        spec(20, "E expired", &[], None),
    ];
    import(state, &specs, &[u(20)], &[u(5)]).await;
    for file in specs.iter().filter_map(|s| s.file.as_ref()) {
        state.store.set_file_state(&file.sha1_hex(), FileState::Present).await.unwrap();
    }
    for n in [11, 4] {
        let req = ApprovalRequest { update: u(n).to_string(), group: "Pilot".into(), action: None, deadline: None, accept_license: false };
        state.catalog.approve(&req, "test").await.unwrap();
    }
    let now = OffsetDateTime::now_utc();
    computer(state, "pc1", group_id, now).await;
    computer(state, "silent", group_id, now - Duration::days(45)).await;
    let status = |update, state| UpdateStatus {
        computer_id: "pc1".into(),
        update_id: update,
        revision_number: 1,
        state,
        last_event_time: now,
        last_event_id: None,
    };
    state.store.set_update_status(&status(u(3), InstallState::NotInstalled)).await.unwrap();
    state.store.set_update_status(&status(u(1), InstallState::NotApplicable)).await.unwrap();

    let http = reqwest::Client::new();
    let put = http
        .put(server.api("/cleanup/settings"))
        .bearer_auth(server.token())
        .json(&json!({"superseded_days": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);

    // Two days on, no supersedence is old enough; the expired update and the silent computer
    // are selected. A dry run changes nothing.
    let early = sluice_server::cleanup::run(state, true, "test", now + Duration::days(2)).await.unwrap();
    assert!(early.superseded.is_empty(), "{early:?}");
    assert_eq!(early.expired.iter().map(|x| x.update_id.clone()).collect::<Vec<_>>(), vec![u(20).to_string()]);
    assert!(!state.store.is_declined(u(20)).await.unwrap(), "a dry run declines nothing");

    // Four days on: a dry run over the API reports the full plan and changes nothing.
    let later = now + Duration::days(4);
    let dry = sluice_server::cleanup::run(state, true, "test", later).await.unwrap();
    let dry: Value = serde_json::to_value(&dry).unwrap();
    assert_eq!(ids(&dry["superseded"]), vec![u(1).to_string()]);
    assert_eq!(ids(&dry["expired"]), vec![u(20).to_string()]);
    let mut files: Vec<&str> = dry["files"].as_array().unwrap().iter().map(|f| f["file_name"].as_str().unwrap()).collect();
    files.sort();
    assert_eq!(files, ["old.exe", "unused.exe"]);
    assert_eq!(dry["computers"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect::<Vec<_>>(), ["silent"]);
    assert_eq!(dry["run"]["dry_run"], true);
    assert_eq!(dry["run"]["compacted"], false);
    for key in [&approved_key, &unused_key, &declined_key, &published_key] {
        assert!(state.content.exists(key).await.unwrap(), "a dry run deletes nothing");
    }
    assert!(!state.store.is_declined(u(1)).await.unwrap());
    assert!(state.store.get_computer("silent").await.unwrap().is_some());

    let report = sluice_server::cleanup::run(state, false, "test", later).await.unwrap();
    assert_eq!(report.run.error, None);
    assert_eq!((report.run.superseded_declined, report.run.expired_declined), (1, 1));
    assert_eq!((report.run.files_deleted, report.run.computers_removed), (2, 1));
    assert!(report.run.compacted);
    let mut declined: Vec<Uuid> = state.store.list_declined().await.unwrap().iter().map(|d| d.update_id).collect();
    declined.sort();
    assert_eq!(declined, vec![u(1), u(20)], "exactly the superseded and the expired update");
    assert!(state.content.exists(&approved_key).await.unwrap(), "the approved update's file stays");
    assert!(state.content.exists(&published_key).await.unwrap(), "a locally published update's file stays");
    assert!(!state.content.exists(&unused_key).await.unwrap(), "an unused file goes");
    assert!(!state.content.exists(&declined_key).await.unwrap(), "the declined update's file goes");
    assert_eq!(state.store.file(&report.files[0].sha1).await.unwrap().unwrap().state, FileState::Absent);
    assert!(state.store.get_computer("silent").await.unwrap().is_none());
    assert!(state.store.get_computer("pc1").await.unwrap().is_some());

    // Nothing is left to do: a second run changes nothing.
    let again = sluice_server::cleanup::run(state, false, "test", later).await.unwrap();
    assert_eq!((again.run.superseded_declined, again.run.expired_declined, again.run.files_deleted, again.run.computers_removed), (0, 0, 0, 0));

    let history: Value = http.get(server.api("/cleanup/history")).bearer_auth(server.token()).send().await.unwrap().json().await.unwrap();
    let runs = history.as_array().unwrap();
    assert_eq!(runs.len(), 4);
    assert_eq!(runs.iter().map(|r| r["dry_run"].as_bool().unwrap()).collect::<Vec<_>>(), [false, false, true, true]);
    assert_eq!(runs[1]["superseded_declined"], 1);
    assert_eq!(runs[1]["requested_by"], "test");
    assert!(runs.iter().all(|r| r["finished_at"].is_string()));
    server.shutdown().await.unwrap();
}

async fn audit_count(server: &sluice_testkit::server::TestServer, action: &str) -> usize {
    let entries: Value = reqwest::Client::new()
        .get(server.api("/audit"))
        .bearer_auth(server.token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    entries.as_array().unwrap().iter().filter(|e| e["action"] == action).count()
}

#[tokio::test]
async fn cleanup_api_refuses_bad_settings_runs_on_demand_and_on_schedule() {
    let server = sluice_testkit::server::start().await;
    let http = reqwest::Client::new();
    let defaults: Value = http.get(server.api("/cleanup/settings")).bearer_auth(server.token()).send().await.unwrap().json().await.unwrap();
    assert_eq!(defaults, json!({"enabled": true, "schedule": "03:00", "superseded_days": 30, "stale_computer_days": 30}));
    for bad in [
        json!({"schedule": "24:00"}),
        json!({"schedule": "3pm"}),
        json!({"superseded_days": -1}),
        json!({"stale_computer_days": 0}),
        json!({"superseded_days": 10, "schedule": "12:61"}),
    ] {
        let r = http.put(server.api("/cleanup/settings")).bearer_auth(server.token()).json(&bad).send().await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_request", "{bad}");
    }
    let r = http.put(server.api("/cleanup/settings")).bearer_auth(server.token()).json(&json!({"days": 3})).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let unchanged: Value = http.get(server.api("/cleanup/settings")).bearer_auth(server.token()).send().await.unwrap().json().await.unwrap();
    assert_eq!(unchanged, defaults, "nothing stored");
    assert_eq!(audit_count(&server, "cleanup-settings").await, 0);

    let set: Value = http
        .put(server.api("/cleanup/settings"))
        .bearer_auth(server.token())
        .json(&json!({"schedule": "04:30", "stale_computer_days": 60}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(set, json!({"enabled": true, "schedule": "04:30", "superseded_days": 30, "stale_computer_days": 60}));
    assert_eq!(audit_count(&server, "cleanup-settings").await, 1);

    let dry: Value = http.post(server.api("/cleanup")).bearer_auth(server.token()).json(&json!({"dry_run": true})).send().await.unwrap().json().await.unwrap();
    assert_eq!(dry["run"]["dry_run"], true);
    assert_eq!(dry["run"]["requested_by"], "admin");
    let real: Value = http.post(server.api("/cleanup")).bearer_auth(server.token()).json(&json!({})).send().await.unwrap().json().await.unwrap();
    assert_eq!(real["run"]["compacted"], true);
    assert_eq!((audit_count(&server, "cleanup-dry-run").await, audit_count(&server, "cleanup").await), (1, 1));

    // The schedule, with an injected clock: nothing before 04:30, one run at it, none again
    // the same day.
    let day = OffsetDateTime::now_utc().date().midnight().assume_utc();
    let since = day - Duration::hours(1);
    let state = &server.state;
    assert!(sluice_server::maintenance::run_due(state, since, day + Duration::hours(4)).await.cleanup.is_none());
    let due = sluice_server::maintenance::run_due(state, since, day + Duration::minutes(4 * 60 + 30)).await;
    assert_eq!(due.cleanup.expect("due at 04:30").run.requested_by, "scheduler");
    // The run recorded now (the real clock) counts as today's.
    assert!(sluice_server::maintenance::run_due(state, since, day + Duration::hours(23)).await.cleanup.is_none());
    assert_eq!(audit_count(&server, "cleanup").await, 2);
    let off = http.put(server.api("/cleanup/settings")).bearer_auth(server.token()).json(&json!({"enabled": false})).send().await.unwrap();
    assert_eq!(off.status(), 200);
    assert!(sluice_server::maintenance::run_due(state, since, day + Duration::hours(52)).await.cleanup.is_none());
}
