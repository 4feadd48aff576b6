//! A Sluice downstream syncing from a Sluice upstream: the sync engine (sluice-sync) against
//! the upstream role (server_sync.rs), both real, over loopback HTTP.

use std::sync::Arc;

use sluice_sync::SyncSettingsExt;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const DEFENDER_PRODUCT: &str = "8c3fcc84-7410-4a95-8b89-a166a0190486";
const DEFINITION_UPDATES: &str = "e0789628-ce08-4437-be74-2495b842f43b";

/// The update documents of the recorded real GetUpdateData answers (exchanges 000013–000016).
fn recorded_documents() -> Vec<(String, Vec<u8>, Uuid, i32)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/wsusss/exchanges");
    let mut out = Vec::new();
    for n in ["000013", "000014", "000015", "000016"] {
        let body = std::fs::read(dir.join(n).join("response.body")).unwrap();
        let sluice_wsusss::Response::GetUpdateData(d) =
            sluice_wsusss::decode_response(sluice_wsusss::Operation::GetUpdateData, &body).unwrap()
        else {
            panic!("not GetUpdateData")
        };
        for u in d.updates {
            let xml = u.blob.xml().unwrap().into_owned();
            out.push((format!("{n}.xml"), xml.into_bytes(), u.id.update_id, u.id.revision_number));
        }
    }
    out
}

#[tokio::test]
async fn downstream_sluice_syncs_from_upstream_sluice() {
    let upstream = sluice_testkit::server::start().await;
    let docs = recorded_documents();
    upstream
        .state
        .catalog
        .import_documents(docs.iter().map(|(n, b, _, _)| (n.clone(), b.clone())).collect())
        .await
        .unwrap();
    upstream.state.scan.invalidate();

    let store = sluice_store::Store::open(&format!("sqlite://{}", upstream.dir().join("dss.db").display())).await.unwrap();
    let content = Arc::new(sluice_content::ContentStore::open(upstream.dir().join("dss-content")).await.unwrap());
    let dss = sluice_catalog::Catalog::new(store, content);
    sluice_sync::SyncSettings {
        upstream: upstream.client_url(),
        storage: sluice_sync::StorageMode::None,
        products: vec![Uuid::parse_str(DEFENDER_PRODUCT).unwrap()],
        classifications: vec![Uuid::parse_str(DEFINITION_UPDATES).unwrap()],
        ..Default::default()
    }
    .save(dss.store())
    .await
    .unwrap();

    let report = sluice_sync::run_sync(&dss, None, &CancellationToken::new()).await.expect("sync from a Sluice upstream");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.new_revisions, docs.len() as i64);
    for (_, _, id, rev) in &docs {
        assert!(dss.store().revision_by_identity(*id, *rev).await.unwrap().is_some(), "{id} r{rev} synchronised");
    }
    // Nothing changed upstream: the delta run stores nothing.
    let again = sluice_sync::run_sync(&dss, None, &CancellationToken::new()).await.expect("delta sync");
    assert_eq!((again.new_revisions, again.revised), (0, 0));

    // Storage mode all: a new update with a file the upstream stores is fetched from the
    // upstream's /Content/ and verified.
    use sha1::Digest as _;
    let bytes: Vec<u8> = (0..70_000u32).map(|i| (i % 253) as u8).collect();
    let sha1: [u8; 20] = sha1::Sha1::digest(&bytes).into();
    let sha256: [u8; 32] = sha2::Sha256::digest(&bytes).into();
    let update_id = Uuid::new_v4();
    let spec = sluice_metadata::publish::PublishSpec {
        update_id,
        revision_number: 1,
        language: "en".into(),
        title: "Synthetic definition update".into(),
        description: None,
        kb_article: None,
        msrc_number: None,
        msrc_severity: None,
        classification: Some(Uuid::parse_str(DEFINITION_UPDATES).unwrap()),
        products: vec![Uuid::parse_str(DEFENDER_PRODUCT).unwrap()],
        creation_date: "2026-11-25T12:00:00.000Z".into(),
        file: Some(sluice_metadata::UpdateFile {
            file_name: "defs.exe".into(),
            size: bytes.len() as u64,
            modified: None,
            sha1,
            sha256: Some(sha256),
            patching_type: None,
        }),
        command_line: None,
        installed_rule: None,
        installable_rule: None,
        prerequisites: vec![],
        supersedes: vec![],
        reboot_behavior: None,
    };
    let expected = sluice_content::ExpectedFile { sha1, sha256: Some(sha256), size: Some(bytes.len() as u64), file_name: "defs.exe".into() };
    upstream.state.content.put_verified(&bytes[..], &expected).await.unwrap();
    let xml = sluice_metadata::publish::software_update_xml(&spec);
    upstream.state.catalog.import_documents(vec![("defs.xml".into(), xml.into_bytes())]).await.unwrap();
    upstream.state.scan.invalidate();
    let mut settings = sluice_sync::SyncSettings::load(dss.store()).await.unwrap();
    settings.storage = sluice_sync::StorageMode::All;
    settings.save(dss.store()).await.unwrap();
    let third = sluice_sync::run_sync(&dss, None, &CancellationToken::new()).await.unwrap();
    assert_eq!(third.new_revisions, 1);
    assert_eq!(third.downloaded, 1, "{:?}", third.errors);
    let f = dss.store().file(&hex::encode(sha1)).await.unwrap().unwrap();
    assert_eq!(f.state, sluice_store::FileState::Present);
    let key = sluice_content::ContentKey::for_file(sha1, "defs.exe").unwrap();
    assert_eq!(std::fs::read(dss.content().path_of(&key).expect("a local store")).unwrap(), bytes);
    upstream.shutdown().await.unwrap();
}
