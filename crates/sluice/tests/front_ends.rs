//! Several front ends on one PostgreSQL database and one content directory (issue #13): two
//! `sluice serve` processes serve the same fleet.
//!
//! - A simulated client alternates between them across scans without starting over (cookies
//!   and state are valid on both), and sees an approval made through the other front end, and
//!   a move to another computer group, within 2 seconds (LISTEN/NOTIFY).
//! - Only one front end runs the sync; killing it in the middle lets the other take the job
//!   over once its lease runs out, and the catalog ends complete.
//!
//! Needs `SLUICE_TEST_POSTGRES_URL` (skipped without it unless `SLUICE_REQUIRE_POSTGRES=1`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_testkit::process::ServerProcess;
use sluice_testkit::server::Setup;

mod common;
use common::{BIN, Cli};

/// How soon a change made through one front end must reach the clients of the other.
const REACHES_WITHIN: Duration = Duration::from_secs(2);

/// Two front ends on `db` sharing the content directory `content`; `a` starts first.
async fn front_ends(db: &str, content: &Path) -> (ServerProcess, ServerProcess) {
    let setup = |db: String, content: std::path::PathBuf| {
        Setup::new().with(move |c| {
            c.database = Some(db);
            c.content_dir = Some(content);
        })
    };
    let a = setup(db.to_string(), content.to_path_buf()).spawn(BIN).await;
    let b = setup(db.to_string(), content.to_path_buf()).spawn(BIN).await;
    (a, b)
}

fn cli(p: &ServerProcess) -> Cli {
    Cli { server: p.admin_url(), token: p.token().to_string() }
}

/// One scan by the simulated agent keeping its state (cookie, cached revisions) in `state`.
async fn scan(p: &ServerProcess, state: &Path, profile: &Path) -> Value {
    let args: Vec<String> = ["agent", "scan", "--server", &p.client_url(), "--json", "--state"]
        .iter()
        .map(|s| s.to_string())
        .chain([state.display().to_string(), "--profile".into(), profile.display().to_string()])
        .collect();
    let out = tokio::task::spawn_blocking(move || Command::new(BIN).args(&args).output().expect("run the agent")).await.unwrap();
    assert!(out.status.success(), "agent scan: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("the scan report")
}

/// The updates offered for installation (not those only offered for a pre-deployment check,
/// as unapproved updates are).
fn offered(report: &Value) -> BTreeSet<String> {
    report["offered"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["action"] == "Install")
        .map(|o| o["update_id"].as_str().unwrap().to_ascii_lowercase())
        .collect()
}

async fn publish(c: &Cli, dir: &Path, name: &str) -> String {
    let file = dir.join(name);
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 ^ name.len() as u8).collect();
    std::fs::write(&file, payload).unwrap();
    c.ok(&["publish", "--file", file.to_str().unwrap(), "--title", name, "--product", "Contoso Agent"]).await.trim().to_ascii_lowercase()
}

/// Scans through `p` until `update` is offered; panics if that takes longer than
/// [`REACHES_WITHIN`] from `since`.
async fn offered_within(p: &ServerProcess, state: &Path, profile: &Path, update: &str, since: Instant, what: &str) -> Value {
    loop {
        let r = scan(p, state, profile).await;
        if offered(&r).contains(update) {
            return r;
        }
        assert!(since.elapsed() < REACHES_WITHIN, "{what} did not reach the other front end's client within {REACHES_WITHIN:?}: {r:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_alternates_between_two_front_ends() {
    let Some(db) = sluice_testkit::postgres::database("front_ends_alternate").await else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = front_ends(&db.url, &tmp.path().join("content")).await;
    let (ca, cb) = (cli(&a), cli(&b));
    let profile = tmp.path().join("machine.toml");
    std::fs::write(&profile, sluice_agent::profile::BUILTIN_WINDOWS_11).unwrap();
    let state = tmp.path().join("machine.json");

    let first = publish(&ca, tmp.path(), "contoso-first.exe").await;
    let second = publish(&cb, tmp.path(), "contoso-second.exe").await;
    let pilot_only = publish(&ca, tmp.path(), "contoso-pilot.exe").await;
    ca.ok(&["approve", &first, "--group", "All Computers"]).await;
    cb.ok(&["groups", "create", "Pilot"]).await;
    cb.ok(&["approve", &pilot_only, "--group", "Pilot"]).await;

    // The first scan registers the computer and syncs everything (through a)...
    let s1 = scan(&a, &state, &profile).await;
    assert!(offered(&s1).contains(&first), "{s1:#}");
    assert!(s1["new_revisions"].as_u64().unwrap() > 0, "{s1:#}");
    // ... the next one, through b, goes on from there: same cookie, nothing new to sync, no
    // recovery (no InvalidCookie/ServerChanged/re-registration).
    let s2 = scan(&b, &state, &profile).await;
    assert_eq!(s2["computer_id"], s1["computer_id"]);
    assert_eq!(s2["new_revisions"], 0, "b goes on where a stopped: {s2:#}");
    assert!(s2["recoveries"].as_array().unwrap().is_empty(), "{s2:#}");
    assert!(s2["requests"].get("RegisterComputer").is_none(), "{s2:#}");
    assert!(offered(&s2).contains(&first) && !offered(&s2).contains(&second), "{s2:#}");
    // And back to a.
    let s3 = scan(&a, &state, &profile).await;
    assert_eq!(s3["new_revisions"], 0, "{s3:#}");
    assert!(s3["recoveries"].as_array().unwrap().is_empty(), "{s3:#}");

    // An approval made through a reaches b's client.
    ca.ok(&["approve", &second, "--group", "All Computers"]).await;
    offered_within(&b, &state, &profile, &second, Instant::now(), "the approval made through a").await;

    // A move to another group made through a: the approval for Pilot is old, only the
    // membership changes, and b must not keep serving its cached membership.
    let s4 = scan(&b, &state, &profile).await;
    assert!(!offered(&s4).contains(&pilot_only), "not in Pilot yet: {s4:#}");
    let computer = s4["computer_id"].as_str().unwrap().to_string();
    ca.ok(&["computers", "move", &computer, "--group", "Pilot"]).await;
    offered_within(&b, &state, &profile, &pilot_only, Instant::now(), "the move to Pilot made through a").await;

    drop((a, b));
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_other_front_end_takes_a_killed_sync_over() {
    let Some(db) = sluice_testkit::postgres::database("front_ends_sync_takeover").await else { return };
    let tmp = tempfile::tempdir().unwrap();

    // The upstream: a server of its own with a generated catalog.
    let root = Setup::new().spawn(BIN).await;
    let croot = cli(&root);
    let cat = tmp.path().join("catalog");
    croot.ok(&["catalog", "generate", "--revisions", "3000", "--seed", "11", "--out", cat.to_str().unwrap()]).await;
    let mut docs: Vec<String> =
        std::fs::read_dir(&cat).unwrap().map(|e| e.unwrap().path().display().to_string()).filter(|p| p.ends_with(".xml")).collect();
    docs.sort();
    let mut args = vec!["import-xml"];
    args.extend(docs.iter().map(String::as_str));
    croot.ok(&args).await;
    let (products, classifications) = common::category_ids(&cat);

    let (mut a, b) = front_ends(&db.url, &tmp.path().join("content")).await;
    let (ca, cb) = (cli(&a), cli(&b));
    ca.json(&[
        "sync",
        "configure",
        "--upstream",
        &root.client_url(),
        "--storage",
        "none",
        "--products",
        &products.join(","),
        "--classifications",
        &classifications.join(","),
    ])
    .await;
    ca.json(&["sync", "start"]).await;
    // a runs it (its scheduler was woken and took the sync lease); kill it while update
    // batches are being stored.
    let at_kill = common::wait_until("a's sync storing update batches", 120, || async {
        let st = ca.json(&["sync", "status"]).await;
        let p = &st["progress"];
        let (done, total) = (p["done"].as_i64().unwrap_or(0), p["total"].as_i64().unwrap_or(0));
        (p["phase"] == "updates" && done > 0 && done < total).then_some(st)
    })
    .await;
    // b only waits meanwhile: it shows no progress of its own.
    let on_b = cb.json(&["sync", "status"]).await;
    assert!(on_b["progress"].is_null() || on_b["progress"]["phase"].is_null(), "b does not run the sync too: {on_b}");
    a.kill();

    // b takes the job over once a's lease runs out: the killed run is recorded as interrupted
    // and a new one completes.
    let history = common::wait_until("b to finish the sync a was running", 120, || async {
        let h = cb.json(&["sync", "history"]).await;
        let runs = h.as_array().unwrap().clone();
        (runs.len() >= 2 && runs.iter().all(|r| r["result"] != "running")).then_some(h)
    })
    .await;
    let runs = history.as_array().unwrap();
    let interrupted = runs.iter().filter(|r| r["error"].as_str().is_some_and(|e| e.contains("interrupted"))).count();
    assert_eq!(interrupted, 1, "the killed run is recorded as interrupted ({at_kill}): {history:#}");
    assert_eq!(runs[0]["result"], "succeeded", "{history:#}");
    // Everything the upstream lists is here now: the latest revision of every update.
    let root_store = format!("sqlite://{}", root.data_dir().join("sluice.db").display());
    assert_eq!(latest_revisions(&db.url).await, latest_revisions(&root_store).await, "b's catalog is complete");

    drop((a, b, root));
    db.drop_db().await;
}

/// Each update's latest revision number and publication state in the database at `url`.
async fn latest_revisions(url: &str) -> BTreeMap<uuid::Uuid, (i32, String)> {
    let store = sluice_store::Store::open(url).await.expect("the store opens");
    let mut latest: BTreeMap<uuid::Uuid, (i32, String)> = BTreeMap::new();
    for r in store.all_revisions().await.unwrap() {
        let e = latest.entry(r.update_id).or_insert((r.revision_number, r.publication_state.clone()));
        if r.revision_number > e.0 {
            *e = (r.revision_number, r.publication_state.clone());
        }
    }
    store.close().await;
    latest
}

/// A front end whose database cannot be reached does not start half-way: it exits at once
/// with an error naming the setting (and not the password).
#[test]
fn an_unreachable_database_stops_the_start_naming_the_setting() {
    let tmp = tempfile::tempdir().unwrap();
    // Nothing listens on a port just bound and released.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("postgres://sluice:secret-password@127.0.0.1:{port}/sluice");
    let out = Command::new(BIN)
        .args(["serve", "--data", tmp.path().join("data").to_str().unwrap(), "--database", &url])
        .args(["--client-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
        .env_remove("SLUICE_CONFIG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("--database") && err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(!err.contains("secret-password"), "{err}");
}

/// A data directory that cannot be made stops the start too, naming the setting.
#[test]
fn an_unusable_data_directory_stops_the_start_naming_the_setting() {
    let tmp = tempfile::tempdir().unwrap();
    // A directory below a regular file cannot be made, whoever runs the test (root included).
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--data", file.join("data").to_str().unwrap()])
        .args(["--client-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
        .env_remove("SLUICE_CONFIG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("--data") && err.contains("a-file"), "{err}");
}
