//! Issue #9 item 3: the administration commands speak the admin API through `sluice-api` and
//! an HTTP client; they do not reach into the server, the catalog or the store. Only `serve`
//! runs the server in-process. And `sluice-api` stays a crate of plain types: no async
//! runtime, database or HTTP stack behind it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The one CLI module allowed to name the server: it runs it.
const SERVE_ENTRY: &str = "serve_cmd.rs";

/// Crates the CLI's own modules must not use (they are the server side of the API).
const SERVER_SIDE: [&str; 3] = ["sluice_catalog", "sluice_store", "sluice_server"];

/// What must not end up under `sluice-api`.
const NOT_UNDER_API: [&str; 5] = ["tokio", "sqlx", "axum", "hyper", "reqwest"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The server-side crates `text` names, in code (`sluice_store`) or in prose (`sluice-store`).
fn server_side_mentions(text: &str) -> Vec<&'static str> {
    SERVER_SIDE.into_iter().filter(|c| text.contains(c) || text.contains(&c.replace('_', "-"))).collect()
}

#[test]
fn item_9_3_cli_modules_use_no_catalog_store_or_server_types() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 5, "found the CLI sources in {}", src.display());
    assert!(files.iter().any(|f| f.ends_with(SERVE_ENTRY)), "{SERVE_ENTRY} runs the server");
    let mut offenders = Vec::new();
    for f in &files {
        if f.ends_with(SERVE_ENTRY) {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        for c in server_side_mentions(&text) {
            offenders.push(format!("{} mentions {c}", f.strip_prefix(&src).unwrap().display()));
        }
    }
    assert!(offenders.is_empty(), "CLI modules must use sluice_api and HTTP only:\n  {}", offenders.join("\n  "));
}

#[test]
fn item_9_3_the_scan_sees_a_server_side_path() {
    // The scan above would pass vacuously if it looked for the wrong spelling.
    assert_eq!(server_side_mentions("use sluice_catalog::targeting::TargetingMode;"), ["sluice_catalog"]);
    assert_eq!(server_side_mentions("let c = sluice_server::config::Config::default();"), ["sluice_server"]);
    assert!(server_side_mentions("use sluice_api::sync::SyncStatus;").is_empty());
}

/// The resolved dependency graph of the workspace (`cargo metadata`): package id → the ids it
/// depends on (normal and build dependencies: what linking it brings in), and id → name.
struct Graph {
    deps: BTreeMap<String, Vec<String>>,
    names: BTreeMap<String, String>,
}

fn graph() -> Graph {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // What links on this machine only: resolving every platform's dependencies would need the
    // sources of crates no build here ever downloaded (Android, Windows), and CI is offline here.
    let rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into())).arg("-vV").output().expect("run rustc -vV");
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("rustc names its host");
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline", "--filter-platform", &host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut names = BTreeMap::new();
    for p in meta["packages"].as_array().unwrap() {
        names.insert(p["id"].as_str().unwrap().to_string(), p["name"].as_str().unwrap().to_string());
    }
    let mut deps = BTreeMap::new();
    for node in meta["resolve"]["nodes"].as_array().unwrap() {
        let linked: Vec<String> = node["deps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["dep_kinds"].as_array().unwrap().iter().any(|k| k["kind"].as_str() != Some("dev")))
            .map(|d| d["pkg"].as_str().unwrap().to_string())
            .collect();
        deps.insert(node["id"].as_str().unwrap().to_string(), linked);
    }
    Graph { deps, names }
}

impl Graph {
    /// Names of every package `name` pulls in, itself excluded.
    fn closure(&self, name: &str) -> BTreeSet<String> {
        let root = self.names.iter().find(|(_, n)| n.as_str() == name).map(|(id, _)| id.clone()).expect(name);
        let mut seen = BTreeSet::new();
        let mut todo = vec![root.clone()];
        while let Some(id) = todo.pop() {
            for d in self.deps.get(&id).into_iter().flatten() {
                if seen.insert(d.clone()) {
                    todo.push(d.clone());
                }
            }
        }
        seen.into_iter().filter(|id| *id != root).map(|id| self.names[&id].clone()).collect()
    }
}

#[test]
fn item_9_3_the_api_crate_depends_on_no_runtime_database_or_http_stack() {
    let g = graph();
    let under_api = g.closure("sluice-api");
    assert!(under_api.contains("serde"), "the walk follows sluice-api's dependencies: {under_api:?}");
    let bad: Vec<&str> = NOT_UNDER_API.into_iter().filter(|n| under_api.contains(*n)).collect();
    assert!(bad.is_empty(), "sluice-api pulls in {bad:?} (all: {under_api:?})");
    for internal in ["sluice-catalog", "sluice-store", "sluice-server"] {
        assert!(!under_api.contains(internal), "sluice-api depends on {internal}");
    }
    // The same walk does see them where they are: it is not blind to these names.
    let under_server = g.closure("sluice-server");
    for n in ["tokio", "sqlx", "axum", "hyper", "sluice-api"] {
        assert!(under_server.contains(n), "sluice-server's closure lacks {n}");
    }
}

/// Issue #9: the protocol codecs stay sans-I/O, so they can be fuzzed and reused without a
/// runtime, a database or an HTTP stack.
#[test]
fn item_9_the_protocol_crates_depend_on_no_runtime_database_or_http_stack() {
    let g = graph();
    for krate in ["sluice-soap-core", "sluice-soap", "sluice-wsusss", "sluice-xml", "sluice-xpress"] {
        let under = g.closure(krate);
        let bad: Vec<&str> = NOT_UNDER_API.into_iter().filter(|n| under.contains(*n)).collect();
        assert!(bad.is_empty(), "{krate} pulls in {bad:?} (all: {under:?})");
        for internal in ["sluice-catalog", "sluice-store", "sluice-server", "sluice-decide"] {
            assert!(!under.contains(internal), "{krate} depends on {internal}");
        }
    }
    assert!(g.closure("sluice-soap").contains("sluice-soap-core"), "the walk follows the codec's dependencies");
}

/// Issue #9 item 1: what a WSUS decides (targeting, deployments, SyncUpdates, event reports,
/// the upstream role) is a sans-I/O crate fed plain records: the server loads them. Neither a
/// runtime, a database or an HTTP stack, nor the store or catalog that would bring them, is
/// under it.
#[test]
fn item_9_1_the_decide_crate_depends_on_no_runtime_database_or_http_stack() {
    let g = graph();
    let under = g.closure("sluice-decide");
    assert!(under.contains("uuid"), "the walk follows sluice-decide's dependencies: {under:?}");
    let bad: Vec<&str> = NOT_UNDER_API.into_iter().filter(|n| under.contains(*n)).collect();
    assert!(bad.is_empty(), "sluice-decide pulls in {bad:?} (all: {under:?})");
    for internal in ["sluice-catalog", "sluice-store", "sluice-server", "sluice-sync", "sluice-content"] {
        assert!(!under.contains(internal), "sluice-decide depends on {internal}");
    }
    assert!(g.closure("sluice-server").contains("sluice-decide"), "the server runs on it");
}

/// Issue #11: the console's pages are rendered without I/O, from the admin API's types only,
/// so a page cannot show what the API would not tell its user.
#[test]
fn the_console_crate_renders_without_runtime_database_http_or_server_crates() {
    let g = graph();
    let under = g.closure("sluice-console");
    assert!(under.contains("askama") && under.contains("sluice-api"), "the walk follows sluice-console's dependencies: {under:?}");
    let bad: Vec<&str> = NOT_UNDER_API.into_iter().filter(|n| under.contains(*n)).collect();
    assert!(bad.is_empty(), "sluice-console pulls in {bad:?} (all: {under:?})");
    for internal in ["sluice-catalog", "sluice-store", "sluice-server", "sluice-decide"] {
        assert!(!under.contains(internal), "sluice-console depends on {internal}");
    }
}
