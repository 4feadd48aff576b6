//! Content downloads into an S3 content store (issue #13 item 3), against moto on loopback:
//! a resumed download is spooled locally and reaches the bucket only once verified; wrong
//! bytes reach neither the bucket nor the spool.

mod common;

use std::sync::Arc;

use common::*;
use sluice_content::{ContentKey, ContentStore, ExpectedFile, S3Access, S3Location, S3Settings, Secret};
use sluice_store::FileState;
use sluice_sync::download::{Downloader, Fetched};
use sluice_testkit::moto::Moto;
use tokio_util::sync::CancellationToken;

const BUCKET: &str = "sluice-downloads";
const PREFIX: &str = "content";

fn http() -> reqwest::Client {
    sluice_sync::client::http_client(&sluice_sync::SyncSettings::default()).unwrap()
}

/// A catalog whose content store is the moto bucket, with the update of `payload` imported
/// and a fake upstream serving it (with its bytes altered when `corrupt`).
async fn setup(moto: &Moto, corrupt: bool) -> (tempfile::TempDir, sluice_catalog::Catalog, Fake, ExtraUpdate) {
    let dir = tempfile::tempdir().unwrap();
    let store = sluice_store::Store::open(&format!("sqlite://{}", dir.path().join("sluice.db").display())).await.unwrap();
    let settings = S3Settings {
        location: S3Location { bucket: BUCKET.into(), prefix: PREFIX.into() },
        access: S3Access {
            endpoint: Some(moto.endpoint()),
            region: Some("us-east-1".into()),
            access_key_id: Some("testing".into()),
            secret_access_key: Some(Secret::new("testing")),
            allow_http: true,
        },
    };
    let content = ContentStore::open_s3(&settings, dir.path().join("spool")).await.expect("the bucket is usable");
    let catalog = sluice_catalog::Catalog::new(store, Arc::new(content));
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let extra = extra_update(payload);
    catalog.import_documents(vec![("x.xml".into(), extra.xml.clone().into_bytes())]).await.unwrap();
    let fake = start_fake(vec![extra.clone()], None, corrupt).await;
    (dir, catalog, fake, extra)
}

fn object_key(extra: &ExtraUpdate) -> String {
    let key = ContentKey::for_file(extra.sha1, &extra.file_name).unwrap();
    format!("{PREFIX}/{}", key.relative_disk_path())
}

#[tokio::test]
async fn a_resumed_download_reaches_the_bucket_only_verified() {
    let Some(moto) = Moto::start().await else { return };
    moto.create_bucket(BUCKET).await;

    // Wrong bytes from the upstream: refused, and neither the bucket nor the spool keeps any.
    let (_dir, catalog, fake, extra) = setup(&moto, true).await;
    let sha1 = hex::encode(extra.sha1);
    let rec = catalog.store().file(&sha1).await.unwrap().unwrap();
    let d = Downloader::new(http(), catalog.store().clone(), catalog.content().clone(), 2).with_content_base(Some(fake.url()));
    let err = d.download(&rec, &CancellationToken::new()).await.unwrap_err();
    assert!(err.contains("SHA-1 mismatch"), "{err}");
    assert_eq!(catalog.store().file(&sha1).await.unwrap().unwrap().state, FileState::Failed);
    assert!(moto.keys(BUCKET, "").await.is_empty(), "nothing reached the bucket");
    assert!(moto.open_uploads(BUCKET).await.is_empty());
    assert_eq!(catalog.content().partial_len(&extra.sha1).await.unwrap(), 0, "bad bytes are not kept for a resume");

    // The first 100,000 bytes arrived before the previous attempt broke off: they wait in the
    // local spool, not in the bucket, and the download continues from there.
    let (dir, catalog, fake, extra) = setup(&moto, false).await;
    let expected =
        ExpectedFile { sha1: extra.sha1, sha256: None, size: Some(extra.bytes.len() as u64), file_name: extra.file_name.clone() };
    {
        let mut p = catalog.content().resume(&expected).await.unwrap();
        p.append(&extra.bytes[..100_000]).await.unwrap();
    }
    assert!(dir.path().join("spool/.partial").join(format!("{}.part", hex::encode_upper(extra.sha1))).exists());
    assert!(moto.keys(BUCKET, "").await.is_empty(), "a partial is never in the bucket");
    let sha1 = hex::encode(extra.sha1);
    let rec = catalog.store().file(&sha1).await.unwrap().unwrap();
    let d = Downloader::new(http(), catalog.store().clone(), catalog.content().clone(), 2).with_content_base(Some(fake.url()));
    assert_eq!(d.download(&rec, &CancellationToken::new()).await.unwrap(), Fetched::Downloaded);
    assert_eq!(fake.log.lock().unwrap().content_ranges, ["bytes=100000-"]);
    assert_eq!(moto.keys(BUCKET, "").await, vec![object_key(&extra)]);
    assert!(moto.object(BUCKET, &object_key(&extra)).await.as_deref() == Some(extra.bytes.as_slice()));
    assert_eq!(catalog.content().partial_len(&extra.sha1).await.unwrap(), 0, "the spool is emptied once uploaded");
    assert_eq!(catalog.store().file(&sha1).await.unwrap().unwrap().state, FileState::Present);
    // Present in the bucket: not fetched again.
    assert_eq!(d.download(&rec, &CancellationToken::new()).await.unwrap(), Fetched::AlreadyPresent);

    // Cleanup's removal takes it out of the bucket.
    let key = ContentKey::for_file(extra.sha1, &extra.file_name).unwrap();
    assert!(catalog.content().remove(&key).await.unwrap());
    assert!(moto.keys(BUCKET, "").await.is_empty());
    assert!(!catalog.content().remove(&key).await.unwrap());
}
