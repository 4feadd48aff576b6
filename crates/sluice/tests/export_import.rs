//! Disconnected networks end to end: `sluice export` on one real server, `sluice import` on
//! fresh ones, with the real CLI as a subprocess and the real update documents.

use std::path::{Path, PathBuf};

mod common;

use common::Cli;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/wsus-rs/docs")
}


impl Cli {
    /// `updates list --json` without the server-local revision ids, sorted.
    async fn listed(&self) -> Vec<serde_json::Value> {
        let mut list: Vec<serde_json::Value> = self.parsed(&["updates", "list", "--all-types", "--json"]).await["items"].as_array().unwrap().clone();
        for u in &mut list {
            u.as_object_mut().unwrap().remove("revision_id");
        }
        list.sort_by_key(|u| format!("{}-{}", u["update_id"], u["revision_number"]));
        list
    }
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn flip_byte(path: &Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    let i = at.min(b.len() - 1);
    b[i] ^= 0x01;
    std::fs::write(path, b).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_then_import_on_a_disconnected_server() {
    let tmp = tempfile::tempdir().unwrap();
    let a = sluice_testkit::server::start().await;
    let cli_a = Cli::for_server(&a);

    // Source: the 9 real documents, then (later) a published update with a file.
    let docs: Vec<String> = std::fs::read_dir(fixtures()).unwrap().map(|e| e.unwrap().path().display().to_string()).collect();
    let mut args = vec!["import-xml", "--json"];
    args.extend(docs.iter().map(String::as_str));
    cli_a.ok(&args).await;
    let fixture_ids: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy()[..36].to_string())
        .collect();

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let since = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    let payload: Vec<u8> = (0..700_000u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    let file = tmp.path().join("contoso-tool.exe");
    std::fs::write(&file, &payload).unwrap();
    let published = cli_a
        .ok(&["publish", "--file", file.to_str().unwrap(), "--title", "Contoso Tool 1.0", "--product", "Contoso Tool"])
        .await
        .trim()
        .to_string();
    let detail = cli_a.parsed(&["updates", "show", &published, "--json"]).await;
    let content_path = detail["files"][0]["content_path"].as_str().unwrap().to_string();
    let source_list = cli_a.listed().await;
    let total = a.state.store.count_revisions().await.unwrap() as usize;

    // Exports: everything with content, metadata only, and since the published update.
    let full = tmp.path().join("pkg-full");
    let meta = tmp.path().join("pkg-meta");
    let recent = tmp.path().join("pkg-since");
    let r = cli_a.parsed(&["export", "--out", full.to_str().unwrap(), "--content", "--json"]).await;
    assert_eq!(r["revisions"], total);
    assert_eq!(r["content_files"], 1);
    let r = cli_a.parsed(&["export", "--out", meta.to_str().unwrap(), "--json"]).await;
    assert_eq!(r["revisions"], total);
    assert_eq!(r["content_files"], 0);
    let manifest_sha256 = r["manifest_sha256"].as_str().unwrap().to_string();
    cli_a.parsed(&["export", "--out", recent.to_str().unwrap(), "--since", &since, "--json"]).await;

    let m = manifest(&full);
    assert_eq!(m["format"], "sluice-export");
    assert_eq!(m["counts"]["revisions"], total);
    assert_eq!(m["counts"]["content_files"], 1);
    let content_rel = format!("content/{}", content_path.strip_prefix("Content/").unwrap().to_ascii_lowercase());
    let content_file = m["files"].as_array().unwrap().iter().find(|f| f["content"].is_string()).unwrap();
    assert_eq!(content_file["content"].as_str().unwrap().to_ascii_lowercase(), content_rel);
    assert_eq!(std::fs::read(full.join(content_file["content"].as_str().unwrap())).unwrap(), payload);
    assert!(!meta.join("content").exists());
    // Every package file has its checksum.
    let listed: Vec<&str> = m["package_files"].as_array().unwrap().iter().map(|p| p["path"].as_str().unwrap()).collect();
    assert_eq!(listed.len(), total + 1);

    // --since: only what was stored after the date (the published update and the categories
    // publishing created), none of the earlier documents.
    let ms = manifest(&recent);
    let since_ids: Vec<&str> = ms["revisions"].as_array().unwrap().iter().map(|r| r["update_id"].as_str().unwrap()).collect();
    assert!(since_ids.contains(&published.as_str()), "{since_ids:?}");
    assert!(since_ids.len() < total && since_ids.iter().all(|id| !fixture_ids.iter().any(|f| f == id)), "{since_ids:?}");
    assert!(ms["since"].as_str().is_some());

    // The disconnected server.
    let b = sluice_testkit::server::start().await;
    let cli_b = Cli::for_server(&b);

    // Damaged packages are refused with the bad file's name, and nothing is stored.
    let first_doc = m["revisions"][3]["path"].as_str().unwrap().to_string();
    let content_name = content_file["content"].as_str().unwrap().to_string();
    for (what, victim) in [("metadata", first_doc.as_str()), ("content", content_name.as_str()), ("manifest", "manifest.json")] {
        let bad = tmp.path().join(format!("pkg-bad-{what}"));
        copy_dir(&full, &bad);
        flip_byte(&bad.join(victim), 40);
        let out = cli_b.run(&["import", bad.to_str().unwrap()]).await;
        assert!(!out.status.success(), "{what}: a damaged package was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("refused") && err.contains(victim), "{what}: {err}");
        assert_eq!(b.state.store.count_revisions().await.unwrap(), 0, "{what}: something was stored");
    }
    // A manifest that points outside the package is refused even when its digest file agrees.
    let escape = tmp.path().join("pkg-escape");
    copy_dir(&full, &escape);
    let mut em = manifest(&escape);
    em["package_files"][0]["path"] = serde_json::json!("metadata/../../pkg-full/manifest.json");
    em["revisions"][0]["path"] = em["package_files"][0]["path"].clone();
    let bytes = serde_json::to_vec_pretty(&em).unwrap();
    use sha2::Digest as _;
    std::fs::write(escape.join("manifest.sha256"), format!("{}  manifest.json\n", hex::encode(sha2::Sha256::digest(&bytes)))).unwrap();
    std::fs::write(escape.join("manifest.json"), bytes).unwrap();
    let out = cli_b.run(&["import", escape.to_str().unwrap()]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("unusable path"), "{err}");
    assert_eq!(b.state.store.count_revisions().await.unwrap(), 0);

    // Administrators only.
    b.state.store.create_user("viewer", "x", "viewer").await.unwrap();
    let viewer_token = "0123456789abcdef0123456789abcdef";
    b.state.store.create_token("viewer", &sluice_server::bootstrap::token_digest(viewer_token), "test").await.unwrap();
    let viewer = Cli { server: cli_b.server.clone(), token: viewer_token.into() };
    let out = viewer.run(&["import", full.to_str().unwrap()]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("administrators only") && err.contains("403"), "{err}");
    let out = viewer.run(&["export", "--out", tmp.path().join("pkg-viewer").to_str().unwrap()]).await;
    assert!(!out.status.success());
    assert!(!tmp.path().join("pkg-viewer").exists());
    assert_eq!(b.state.store.count_revisions().await.unwrap(), 0);

    // A replaced manifest (consistent with its digest file) is caught by the expected digest.
    let out = cli_b.run(&["import", full.to_str().unwrap(), "--manifest-sha256", &manifest_sha256]).await;
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("expected"));
    assert_eq!(b.state.store.count_revisions().await.unwrap(), 0);

    // Metadata only: the same updates, no content yet.
    let r = cli_b.parsed(&["import", meta.to_str().unwrap(), "--manifest-sha256", &manifest_sha256, "--json"]).await;
    assert_eq!(r["revisions"], total);
    assert_eq!(r["revisions_inserted"], total);
    assert_eq!(r["content_stored"], 0);
    assert_eq!(cli_b.listed().await, source_list);
    let url = format!("http://{}/{}", b.client_addr, content_path);
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 404);

    // With content: nothing new in the catalog, the file now served with the same bytes.
    let r = cli_b.parsed(&["import", full.to_str().unwrap(), "--json"]).await;
    assert_eq!(r["revisions_inserted"], 0);
    assert_eq!(r["revisions_already_present"], total);
    assert_eq!(r["content_stored"], 1);
    let got = reqwest::get(&url).await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().as_ref(), payload.as_slice());
    let shown = cli_b.parsed(&["updates", "show", &published, "--json"]).await;
    assert_eq!(shown["files"][0]["state"], "present");

    // Twice: nothing changes.
    let version = b.state.catalog.catalog_version().await.unwrap();
    let r = cli_b.parsed(&["import", full.to_str().unwrap(), "--json"]).await;
    assert_eq!(r["revisions_inserted"], 0);
    assert_eq!(r["content_stored"], 0);
    assert_eq!(r["content_already_present"], 1);
    assert_eq!(r["mu_urls_set"], 0);
    assert_eq!(b.state.catalog.catalog_version().await.unwrap(), version);
    assert_eq!(b.state.store.count_revisions().await.unwrap() as usize, total);
    assert_eq!(cli_b.listed().await, source_list);
    let human = cli_b.ok(&["import", full.to_str().unwrap()]).await;
    assert!(human.contains("0 new"), "{human}");

    // A --since package on a third server brings only the recent revisions.
    let c = sluice_testkit::server::start().await;
    let cli_c = Cli::for_server(&c);
    let r = cli_c.parsed(&["import", recent.to_str().unwrap(), "--json"]).await;
    assert_eq!(r["revisions"], since_ids.len());
    let listed_c = cli_c.listed().await;
    assert!(listed_c.iter().any(|u| u["update_id"] == published.as_str()));
    assert!(listed_c.iter().all(|u| !fixture_ids.iter().any(|f| u["update_id"] == f.as_str())));

    // The transfers are audited on both sides.
    let audit = b.state.store.list_audit(100, None, None).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "import"));
    assert!(audit.iter().any(|e| e.action == "import-refused"));
    let audit = a.state.store.list_audit(100, None, None).await.unwrap();
    assert!(audit.iter().filter(|e| e.action == "export").count() == 3);

    // An export never overwrites: the directory must be new or empty.
    let out = cli_a.run(&["export", "--out", full.to_str().unwrap()]).await;
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not empty"));

    for s in [a, b, c] {
        s.shutdown().await.unwrap();
    }
}
