//! The background scheduler: queued runs, recovery of runs interrupted by a restart.

mod common;

use std::time::Duration;

use common::*;
use sluice_store::{JobState, SyncResult};
use sluice_sync::{StorageMode, SyncSettings, SyncSettingsExt};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[tokio::test]
async fn a_sync_running_at_startup_is_failed_and_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path()).await;
    let fake = start_fake(vec![], None, false).await;
    SyncSettings {
        upstream: fake.url(),
        storage: StorageMode::None,
        products: vec![Uuid::parse_str(DEFENDER_PRODUCT).unwrap()],
        classifications: vec![Uuid::parse_str(DEFINITION_UPDATES).unwrap()],
        ..SyncSettings::default()
    }
    .save(catalog.store())
    .await
    .unwrap();
    let store = catalog.store();
    // What a process killed mid-sync leaves behind.
    let dead = store.create_job("sync", "{}", 0).await.unwrap();
    store.start_job(dead.id).await.unwrap();
    let dead_run = store.start_sync(&fake.url()).await.unwrap();

    let stop = CancellationToken::new();
    let who = sluice_store::LeaseHolder { node: "test-node".into(), process: "test-process".into() };
    let task = sluice_sync::Scheduler::spawn(catalog.clone(), who, stop.clone());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let done = store.jobs_in_state(JobState::Succeeded).await.unwrap();
        if done.iter().any(|j| j.kind == "sync") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the restarted sync did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), task).await.expect("the scheduler stops").unwrap();

    let dead = store.get_job(dead.id).await.unwrap().unwrap();
    assert_eq!(dead.state, JobState::Failed);
    assert!(dead.error.unwrap().contains("restart"));
    let dead_run = store.get_sync(dead_run).await.unwrap().unwrap();
    assert_eq!(dead_run.result, SyncResult::Failed);
    let latest = &store.list_syncs(1).await.unwrap()[0];
    assert_eq!((latest.result, latest.new_revisions), (SyncResult::Succeeded, 4));
    assert_eq!(fake.ops().first().map(String::as_str), Some("GetAuthConfig"));
}

#[tokio::test]
async fn a_second_request_joins_the_queued_sync() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path()).await;
    let a = sluice_sync::request_sync(catalog.store()).await.unwrap();
    let b = sluice_sync::request_sync(catalog.store()).await.unwrap();
    assert_eq!(a.id, b.id);
    let status = sluice_sync::status(catalog.store()).await.unwrap();
    assert_eq!(status.running.map(|j| j.id), Some(a.id.to_string()));
    assert!(status.last.is_none());
}
