//! The sync engine against a fake upstream made of real recorded WSUS answers.

mod common;

use std::time::{Duration, Instant};

use common::*;
use sluice_store::{FileState, SyncResult, settings};
use sluice_sync::{StorageMode, SyncError, SyncSettings, SyncSettingsExt};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

fn settings(upstream: &str, storage: StorageMode) -> SyncSettings {
    SyncSettings {
        upstream: upstream.to_string(),
        storage,
        products: vec![Uuid::parse_str(DEFENDER_PRODUCT).unwrap()],
        classifications: vec![Uuid::parse_str(DEFINITION_UPDATES).unwrap()],
        ..SyncSettings::default()
    }
}

#[tokio::test]
async fn first_sync_from_recorded_wsus_then_delta_with_stored_anchors() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path()).await;
    // A limit of 2 makes the three updates of the updates pass need two GetUpdateData calls.
    let fake = start_fake(vec![], Some(2), false).await;
    settings(&fake.url(), StorageMode::None).save(catalog.store()).await.unwrap();

    let report = sluice_sync::run_sync(&catalog, None, &CancellationToken::new()).await.expect("first sync");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.new_revisions, 4, "one category and three updates");
    assert_eq!(
        fake.ops(),
        [
            "GetAuthConfig",
            "GetAuthorizationCookie",
            "GetCookie",
            "GetConfigData",
            "GetRevisionIdList",
            "GetUpdateData",
            "GetRevisionIdList",
            "GetUpdateData",
            "GetUpdateData"
        ]
    );
    // The configuration pass asks for categories only; the updates pass filters by product
    // AND classification, both without Delta on a first sync.
    let lists = fake.bodies_of("GetRevisionIdList");
    assert!(lists[0].contains("<GetConfig>true</GetConfig>") && !lists[0].contains("<Anchor>"));
    assert!(lists[1].contains(DEFENDER_PRODUCT) && lists[1].contains(DEFINITION_UPDATES));
    assert!(lists[1].contains("<Delta>false</Delta>") && !lists[1].contains("<Anchor>"));
    for body in fake.bodies_of("GetUpdateData") {
        assert!(body.matches("<UpdateIdentity>").count() <= 2, "batch above the upstream's limit");
    }

    let store = catalog.store();
    for id in category_ids().into_iter().chain(update_ids()) {
        assert!(store.revision_by_identity(id.update_id, id.revision_number).await.unwrap().is_some(), "{id:?} stored");
    }
    // The leaf's file: its Microsoft URL comes from fileUrls, not from the update document.
    let file = store.file("87f5bd0469585006aa5d3a77d1c662fd2895ddcd").await.unwrap().expect("file of the leaf");
    assert_eq!(
        file.mu_url.as_deref(),
        Some("http://download.windowsupdate.com/c/msdownload/update/software/defu/2026/10/am_delta_87f5bd0469585006aa5d3a77d1c662fd2895ddcd.exe")
    );
    assert_eq!(file.state, FileState::Absent, "storage mode none downloads nothing");
    assert_eq!(store.setting(settings::STORAGE_MODE).await.unwrap(), Some(StorageMode::None));

    let history = store.list_syncs(10).await.unwrap();
    assert_eq!(history[0].result, SyncResult::Succeeded);
    assert_eq!(history[0].new_revisions, 4);

    // Second run: each pass sends the anchor its previous answer carried (the recorded real
    // anchors), with Delta for the unchanged selection, and stores nothing new.
    let report = sluice_sync::run_sync(&catalog, None, &CancellationToken::new()).await.expect("delta sync");
    assert_eq!((report.new_revisions, report.revised), (0, 0));
    let lists = fake.bodies_of("GetRevisionIdList");
    assert!(lists[2].contains("<Anchor>9438,2026-10-04 16:09:27.227</Anchor>"), "{}", lists[2]);
    assert!(lists[3].contains("<Anchor>9438,2026-10-04 16:17:57.349</Anchor>"), "{}", lists[3]);
    assert!(lists[3].contains("<Delta>true</Delta>") && !lists[3].contains("<Delta>false</Delta>"));
    assert_eq!(fake.bodies_of("GetUpdateData").len(), 3, "nothing fetched by the delta run");
    // The anchors of the delta answers (recorded incremental run) replace the old ones.
    assert_eq!(store.setting(settings::SYNC_ANCHOR_UPDATES).await.unwrap().as_deref(), Some("9438,2026-10-04 16:28:07.367"));
}

#[tokio::test]
async fn interrupted_sync_resumes_without_refetching_committed_batches() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path()).await;
    let fake = start_fake(vec![], Some(1), false).await;
    settings(&fake.url(), StorageMode::None).save(catalog.store()).await.unwrap();
    // A previous run died after committing the bundle's batch: the bundle is in the catalog
    // and no anchor was saved, so the upstream lists everything again.
    let bundle = update_ids()[0];
    let recorded = std::fs::read(fixtures().join("exchanges/000013/response.body")).unwrap();
    let sluice_wsusss::Response::GetUpdateData(d) =
        sluice_wsusss::decode_response(sluice_wsusss::Operation::GetUpdateData, &recorded).unwrap()
    else {
        panic!()
    };
    let xml = d.updates[0].blob.xml().unwrap().into_owned();
    catalog.import_documents(vec![("bundle.xml".into(), xml.into_bytes())]).await.unwrap();

    let report = sluice_sync::run_sync(&catalog, None, &CancellationToken::new()).await.unwrap();
    assert_eq!(report.new_revisions, 3, "the category and the two leaves");
    let asked = fake.bodies_of("GetUpdateData");
    assert_eq!(asked.len(), 3, "one per batch of one");
    assert!(asked.iter().all(|b| !b.contains(&bundle.update_id.to_string())), "the stored bundle is not fetched again");
    for id in category_ids().into_iter().chain(update_ids()) {
        assert!(catalog.store().revision_by_identity(id.update_id, id.revision_number).await.unwrap().is_some());
    }
}

#[tokio::test]
async fn unreachable_upstream_fails_fast_and_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path()).await;
    // A port that was just free: connection refused.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut s = settings(&format!("http://{closed}"), StorageMode::None);
    s.connect_timeout_secs = 2;
    s.read_timeout_secs = 2;
    s.save(catalog.store()).await.unwrap();
    let t = Instant::now();
    let err = sluice_sync::run_sync(&catalog, None, &CancellationToken::new()).await.unwrap_err();
    assert!(matches!(err, SyncError::Network(_)), "{err}");
    assert!(err.to_string().contains("GetAuthConfig"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(10));

    // A server that accepts and never answers: the read timeout ends it.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            held.push(sock);
        }
    });
    let mut s = settings(&format!("http://{addr}"), StorageMode::None);
    s.connect_timeout_secs = 1;
    s.read_timeout_secs = 1;
    s.save(catalog.store()).await.unwrap();
    let t = Instant::now();
    let err = sluice_sync::run_sync(&catalog, None, &CancellationToken::new()).await.unwrap_err();
    assert!(matches!(err, SyncError::Network(_)), "{err}");
    assert!(t.elapsed() < Duration::from_secs(10), "took {:?}", t.elapsed());

    let history = catalog.store().list_syncs(10).await.unwrap();
    assert_eq!(history.len(), 2);
    for h in history {
        assert_eq!(h.result, SyncResult::Failed);
        assert!(h.error.as_deref().is_some_and(|e| e.contains("cannot reach the upstream")), "{:?}", h.error);
    }
}

/// https upstreams (Microsoft Update's default) go through rustls: a local server that speaks
/// plain HTTP on the https port makes the TLS handshake fail, with the cause in the error.
#[tokio::test]
async fn https_upstreams_speak_tls() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut s, _)) = listener.accept().await {
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").await;
        }
    });
    let mut s = SyncSettings::default();
    s.upstream = format!("https://127.0.0.1:{port}");
    s.save(catalog.store()).await.unwrap();
    let err = sluice_sync::run_sync(&catalog, None, &CancellationToken::new()).await.unwrap_err().to_string();
    assert!(!err.contains("no TLS support"), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    let history = catalog.store().list_syncs(10).await.unwrap();
    assert!(history[0].error.as_deref().is_some_and(|e| !e.is_empty()), "{:?}", history[0]);
}

#[tokio::test]
async fn storage_all_downloads_and_verifies_during_sync() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path()).await;
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let extra = extra_update(payload.clone());
    let fake = start_fake(vec![extra.clone()], None, false).await;
    let mut s = settings(&fake.url(), StorageMode::All);
    // The fake doubles as the HTTP proxy, so the recorded Microsoft URL never leaves the
    // machine and the proxy setting is exercised.
    s.proxy = Some(fake.url());
    s.save(catalog.store()).await.unwrap();

    let report = sluice_sync::run_sync(&catalog, None, &CancellationToken::new()).await.unwrap();
    let sha1 = hex::encode(extra.sha1);
    let f = catalog.store().file(&sha1).await.unwrap().unwrap();
    assert_eq!(f.state, FileState::Present);
    assert_eq!(report.downloaded, 1);
    let key = sluice_content::ContentKey::for_file(extra.sha1, &extra.file_name).unwrap();
    assert_eq!(std::fs::read(catalog.content().path_of(&key).expect("a local store")).unwrap(), payload);
    // The recorded Defender file lives only on Microsoft's servers (the fake has no copy):
    // it ends failed and the run says so.
    let defender = catalog.store().file("87f5bd0469585006aa5d3a77d1c662fd2895ddcd").await.unwrap().unwrap();
    assert_eq!(defender.state, FileState::Failed);
    assert!(report.errors.iter().any(|e| e.contains("87f5bd04")), "{:?}", report.errors);
    // Tried at the upstream's /Content/ first, then at its Microsoft URL (through the proxy).
    // (The rollup after the sync goes to the reporting service, which the fake does not have:
    // the attempt is recorded, and the failure is reported without failing the sync.)
    let mut other = fake.log.lock().unwrap().other.clone();
    let reporting = format!("{}/ReportingWebService/ReportingWebService.asmx", fake.url());
    assert!(other.contains(&reporting), "{other:?}");
    other.retain(|u| *u != reporting);
    assert!(report.rollup_error.is_some(), "{report:?}");
    assert_eq!(
        other,
        ["http://download.windowsupdate.com/c/msdownload/update/software/defu/2026/10/am_delta_87f5bd0469585006aa5d3a77d1c662fd2895ddcd.exe"]
    );
}

#[tokio::test]
async fn server_changed_resets_anchors_and_asks_again_from_scratch() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path()).await;
    let fake = start_fake(vec![], None, false).await;
    settings(&fake.url(), StorageMode::None).save(catalog.store()).await.unwrap();
    sluice_sync::run_sync(&catalog, None, &CancellationToken::new()).await.unwrap();
    fake.server_changed.store(true, std::sync::atomic::Ordering::SeqCst);
    let report = sluice_sync::run_sync(&catalog, None, &CancellationToken::new()).await.expect("continues after ServerChanged");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let lists = fake.bodies_of("GetRevisionIdList");
    // Run 1: two passes. Run 2: the anchored configuration pass (fault), the same pass without
    // an anchor, then the updates pass without an anchor (its anchor was reset too).
    assert_eq!(lists.len(), 5);
    assert!(lists[2].contains("<Anchor>"));
    assert!(!lists[3].contains("<Anchor>") && lists[3].contains("<GetConfig>true</GetConfig>"));
    assert!(!lists[4].contains("<Anchor>") && !lists[4].contains("<Delta>true</Delta>"));
}

#[tokio::test]
async fn a_revision_the_upstream_cannot_serve_is_isolated_and_the_anchor_kept_back() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path()).await;
    let phantom = sluice_wsusss::UpdateIdentity::new(Uuid::new_v4(), 1);
    let fake = start_fake_with(vec![], None, false, vec![phantom]).await;
    settings(&fake.url(), StorageMode::None).save(catalog.store()).await.unwrap();
    let report = sluice_sync::run_sync(&catalog, None, &CancellationToken::new()).await.unwrap();
    // The batch of four faults; halves are retried until the unknown id stands alone.
    assert_eq!(report.new_revisions, 4);
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert!(report.errors[0].contains(&phantom.update_id.to_string()) && report.errors[0].contains("InternalServerError"));
    let store = catalog.store();
    assert_eq!(store.list_syncs(1).await.unwrap()[0].result, SyncResult::Failed);
    // The updates anchor is not advanced, so the next run lists the missing revision again.
    assert!(store.setting(settings::SYNC_ANCHOR_UPDATES).await.unwrap().is_none());
    assert!(store.setting(settings::SYNC_ANCHOR_CONFIG).await.unwrap().is_some());
}

#[tokio::test]
async fn a_rejected_cookie_is_renewed_once_and_the_call_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path()).await;
    let fake = start_fake(vec![], None, false).await;
    settings(&fake.url(), StorageMode::None).save(catalog.store()).await.unwrap();
    fake.reject_cookie.store(true, std::sync::atomic::Ordering::SeqCst);
    let report = sluice_sync::run_sync(&catalog, None, &CancellationToken::new()).await.expect("recovers");
    assert_eq!(report.new_revisions, 4);
    let ops = fake.ops();
    assert_eq!(
        &ops[..9],
        [
            "GetAuthConfig",
            "GetAuthorizationCookie",
            "GetCookie",
            "GetConfigData",
            "GetRevisionIdList",
            "GetAuthConfig",
            "GetAuthorizationCookie",
            "GetCookie",
            "GetRevisionIdList"
        ]
    );
}
