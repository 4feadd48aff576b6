//! Content downloads: verification, failure states, resume from a partial.

mod common;

use common::*;
use sluice_content::{ContentKey, ExpectedFile};
use sluice_store::FileState;
use sluice_sync::SyncSettingsExt;
use sluice_sync::download::{Downloader, Fetched};
use tokio_util::sync::CancellationToken;

fn http() -> reqwest::Client {
    sluice_sync::client::http_client(&sluice_sync::SyncSettings::default()).unwrap()
}

async fn setup(corrupt: bool) -> (tempfile::TempDir, sluice_catalog::Catalog, Fake, ExtraUpdate) {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path()).await;
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let extra = extra_update(payload);
    catalog.import_documents(vec![("x.xml".into(), extra.xml.clone().into_bytes())]).await.unwrap();
    let fake = start_fake(vec![extra.clone()], None, corrupt).await;
    (dir, catalog, fake, extra)
}

#[tokio::test]
async fn digest_mismatch_leaves_nothing_visible_and_marks_failed() {
    let (_dir, catalog, fake, extra) = setup(true).await;
    let sha1 = hex::encode(extra.sha1);
    let rec = catalog.store().file(&sha1).await.unwrap().unwrap();
    let d = Downloader::new(http(), catalog.store().clone(), catalog.content().clone(), 2).with_content_base(Some(fake.url()));
    let err = d.download(&rec, &CancellationToken::new()).await.unwrap_err();
    assert!(err.contains("SHA-1 mismatch"), "{err}");
    assert_eq!(catalog.store().file(&sha1).await.unwrap().unwrap().state, FileState::Failed);
    let key = ContentKey::for_file(extra.sha1, &extra.file_name).unwrap();
    assert!(!catalog.content().exists(&key).await.unwrap());
    assert_eq!(catalog.content().partial_len(&extra.sha1).await.unwrap(), 0, "bad bytes are not kept for a resume");
    // Wrong bytes are not retried: the same source would send them again.
    assert_eq!(fake.log.lock().unwrap().content_ranges.len(), 1);
}

#[tokio::test]
async fn resumed_download_continues_from_the_partial() {
    let (_dir, catalog, fake, extra) = setup(false).await;
    let expected = ExpectedFile {
        sha1: extra.sha1,
        sha256: None,
        size: Some(extra.bytes.len() as u64),
        file_name: extra.file_name.clone(),
    };
    // The first 100,000 bytes arrived before the previous attempt broke off.
    {
        let mut p = catalog.content().resume(&expected).await.unwrap();
        p.append(&extra.bytes[..100_000]).await.unwrap();
    }
    let sha1 = hex::encode(extra.sha1);
    let rec = catalog.store().file(&sha1).await.unwrap().unwrap();
    let d = Downloader::new(http(), catalog.store().clone(), catalog.content().clone(), 2).with_content_base(Some(fake.url()));
    assert_eq!(d.download(&rec, &CancellationToken::new()).await.unwrap(), Fetched::Downloaded);
    assert_eq!(fake.log.lock().unwrap().content_ranges, ["bytes=100000-"]);
    let key = ContentKey::for_file(extra.sha1, &extra.file_name).unwrap();
    assert_eq!(std::fs::read(catalog.content().path_of(&key).expect("a local store")).unwrap(), extra.bytes);
    assert_eq!(catalog.store().file(&sha1).await.unwrap().unwrap().state, FileState::Present);
    // Present files are not fetched again.
    assert_eq!(d.download(&rec, &CancellationToken::new()).await.unwrap(), Fetched::AlreadyPresent);
}

#[tokio::test]
async fn approved_mode_downloads_only_approved_updates() {
    let (_dir, catalog, fake, extra) = setup(false).await;
    let mut s = sluice_sync::SyncSettings { upstream: fake.url(), ..Default::default() };
    s.storage = sluice_sync::StorageMode::Approved;
    s.save(catalog.store()).await.unwrap();
    let stop = CancellationToken::new();
    let r = sluice_sync::engine::download_approved(&catalog, &stop).await.unwrap();
    assert_eq!(r.downloaded, 0, "nothing approved yet");
    let all = catalog.store().list_groups().await.unwrap();
    let group = all.iter().find(|g| g.built_in).expect("a built-in group");
    catalog
        .store()
        .set_approval(extra.id.update_id, group.id, sluice_store::ApprovalAction::Install, None, "test")
        .await
        .unwrap();
    let r = sluice_sync::engine::download_approved(&catalog, &stop).await.unwrap();
    assert_eq!(r.downloaded, 1, "{:?}", r.failed);
    let sha1 = hex::encode(extra.sha1);
    assert_eq!(catalog.store().file(&sha1).await.unwrap().unwrap().state, FileState::Present);
}

/// A downstream's DownloadFiles request (lazy sync) makes this server fetch the file even
/// though nothing is approved here, and the request is then cleared.
#[tokio::test]
async fn files_wanted_by_downstreams_are_fetched() {
    let (_dir, catalog, fake, extra) = setup(false).await;
    let s = sluice_sync::SyncSettings { upstream: fake.url(), ..Default::default() };
    s.save(catalog.store()).await.unwrap();
    let sha1 = hex::encode(extra.sha1);
    catalog.store().want_files(&[sha1.clone()], "downstream-1", time::OffsetDateTime::now_utc()).await.unwrap();
    let stop = CancellationToken::new();
    let r = sluice_sync::engine::download_approved(&catalog, &stop).await.unwrap();
    assert_eq!(r.downloaded, 1, "{:?}", r.failed);
    assert_eq!(catalog.store().file(&sha1).await.unwrap().unwrap().state, FileState::Present);
    assert!(catalog.store().wanted_files().await.unwrap().is_empty());
    let again = sluice_sync::engine::download_approved(&catalog, &stop).await.unwrap();
    assert_eq!(again.downloaded, 0);
}
