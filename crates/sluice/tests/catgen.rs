//! `sluice catalog generate` end to end: the real CLI writes a synthetic catalog, the real CLI
//! imports it into a server running in-process, and the server lists what the manifest says.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sluice_catgen::{Catalog, CatalogConfig, DocumentKind};
use sluice_testkit::server::Setup;

const BIN: &str = env!("CARGO_BIN_EXE_sluice");

fn sluice(args: &[String], server: Option<(&str, &str)>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("SLUICE_DATA").env_remove("SLUICE_SERVER").env_remove("SLUICE_TOKEN");
    if let Some((url, token)) = server {
        cmd.env("SLUICE_SERVER", url).env("SLUICE_TOKEN", token);
    }
    cmd.output().expect("run sluice")
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn ok(out: Output, what: &str) -> String {
    assert!(out.status.success(), "sluice {what} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn xml_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    v.sort();
    v
}

struct Server {
    url: String,
    token: String,
}

impl Server {
    /// Runs the CLI on a blocking thread so the in-process server keeps serving meanwhile.
    async fn ok(&self, args: Vec<String>) -> String {
        let (url, token) = (self.url.clone(), self.token.clone());
        tokio::task::spawn_blocking(move || {
            let what = args.first().cloned().unwrap_or_default();
            ok(sluice(&args, Some((&url, &token))), &what)
        })
        .await
        .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_catalog_imports_and_the_server_lists_its_updates() {
    let setup = Setup::new();
    let out_dir = setup.dir().join("catalog");
    let out = out_dir.display().to_string();
    let manifest = ok(
        sluice(
            &strings(&["catalog", "generate", "--revisions", "2000", "--seed", "42", "--out", &out, "--json"]),
            None,
        ),
        "catalog generate",
    );
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(manifest["revisions"], 2000);
    assert_eq!(manifest["seed"], 42);
    assert_eq!(manifest["generator"], "sluice-catgen");
    let on_disk: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(on_disk, manifest);
    let files = xml_files(&out_dir);
    assert_eq!(files.len(), 2000);

    let server = setup.start().await;
    let cli = Server { url: server.admin_url(), token: server.admin_token.clone() };
    let mut args = strings(&["import-xml", "--json"]);
    args.extend(files.iter().map(|p| p.display().to_string()));
    let imported: serde_json::Value = serde_json::from_str(&cli.ok(args).await).unwrap();
    let revs = imported["revisions"].as_array().unwrap();
    assert_eq!(revs.len(), 2000);
    assert!(revs.iter().all(|r| r["inserted"] == true));
    assert_eq!(server.state.store.count_revisions().await.unwrap(), 2000);

    // One row per update (its latest revision), categories left out: what the manifest counts.
    let list: serde_json::Value =
        serde_json::from_str(&cli.ok(strings(&["updates", "list", "--json", "--limit", "10000"])).await).unwrap();
    assert_eq!(list["total"].as_u64().unwrap(), manifest["listed_updates"].as_u64().unwrap());
    let list = list["items"].as_array().unwrap();
    assert_eq!(list.len() as u64, manifest["listed_updates"].as_u64().unwrap());
    let expected = Catalog::generate(&CatalogConfig::new(2000, 42)).unwrap();
    let top_level: std::collections::HashSet<String> = (0..expected.len())
        .map(|i| expected.identity(i))
        .filter(|(_, _, k)| k.is_top_level())
        .map(|(id, _, _)| id.to_string())
        .collect();
    assert_eq!(top_level.len() as u64, manifest["top_level_updates"].as_u64().unwrap());
    let classified: Vec<&serde_json::Value> = list.iter().filter(|u| !u["classification"].is_null()).collect();
    assert_eq!(classified.len(), top_level.len(), "exactly the top-level updates name a classification");
    assert!(classified.iter().all(|u| top_level.contains(u["update_id"].as_str().unwrap())));
    assert!(classified.iter().all(|u| u["products"].as_array().is_some_and(|p| p.len() == 1)));

    // The classification index follows the IsCategory prerequisites.
    let security: serde_json::Value = serde_json::from_str(
        &cli.ok(strings(&["updates", "list", "--classification", "Security Updates", "--json", "--limit", "10000"]))
            .await,
    )
    .unwrap();
    assert_eq!(
        security["items"].as_array().unwrap().len() as u64,
        manifest["top_level_by_classification"]["Security Updates"].as_u64().unwrap()
    );
    assert!(security["items"].as_array().unwrap().iter().all(|u| !u["msrc_severity"].is_null()));

    // A bundle as the server sees it: no files of its own, its leaves bundled.
    let (bundle, rev, _) =
        (0..expected.len()).map(|i| expected.identity(i)).find(|(_, _, k)| *k == DocumentKind::Bundle).unwrap();
    let detail: serde_json::Value =
        serde_json::from_str(&cli.ok(strings(&["updates", "show", &bundle.to_string(), "--json"])).await).unwrap();
    assert_eq!(detail["is_bundle"], true);
    assert!(detail["files"].as_array().unwrap().is_empty());
    assert!(!detail["bundled_updates"].as_array().unwrap().is_empty());
    assert!(detail["revision_number"].as_i64().unwrap() >= rev as i64);
    server.shutdown().await.unwrap();
}

#[test]
fn generate_is_deterministic_and_never_overwrites_a_catalog() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |name: &str, seed: &str| -> PathBuf {
        let dir = tmp.path().join(name);
        let out = ok(
            sluice(
                &strings(&[
                    "catalog",
                    "generate",
                    "--revisions",
                    "300",
                    "--seed",
                    seed,
                    "--out",
                    &dir.display().to_string(),
                ]),
                None,
            ),
            "catalog generate",
        );
        assert!(out.contains("300 documents") && out.contains("import: sluice import-xml"), "{out}");
        dir
    };
    let (a, b, c) = (run("a", "7"), run("b", "7"), run("c", "8"));
    let read = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
            .collect();
        v.sort();
        v
    };
    let (ra, rb, rc) = (read(&a), read(&b), read(&c));
    assert_eq!(ra.len(), 301);
    assert!(ra == rb, "the same seed writes byte-identical files");
    assert_ne!(ra, rc);
    // Another seed shares no update id but the classifications', which are Microsoft's own.
    let ids = |files: &[(String, Vec<u8>)]| -> std::collections::HashSet<String> {
        files.iter().filter_map(|(n, _)| n.rsplit_once("-r").map(|(id, _)| id.to_string())).collect()
    };
    let shared: Vec<String> = ids(&ra).intersection(&ids(&rc)).cloned().collect();
    let classifications: std::collections::HashSet<String> =
        sluice_metadata::publish::WELL_KNOWN_CLASSIFICATIONS.iter().map(|(_, id)| id.to_string()).collect();
    assert_eq!(shared.len(), classifications.len());
    assert!(shared.iter().all(|id| classifications.contains(id)), "{shared:?}");

    let again =
        sluice(&strings(&["catalog", "generate", "--revisions", "300", "--out", &a.display().to_string()]), None);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds"));
    let tiny = sluice(
        &strings(&["catalog", "generate", "--revisions", "10", "--out", &tmp.path().join("t").display().to_string()]),
        None,
    );
    assert!(!tiny.status.success());
    assert!(String::from_utf8_lossy(&tiny.stderr).contains("at least"), "{}", String::from_utf8_lossy(&tiny.stderr));
}
