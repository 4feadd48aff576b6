//! Crash safety: `sluice serve` SIGKILLed at 20+ pseudo-random moments while it imports
//! updates, syncs from an upstream (metadata and files), serves files and takes scans and
//! reports from simulated clients; restarted after each kill. After every kill:
//!
//! - the database holds together (`Store::consistency_problems`: SQLite integrity, foreign
//!   keys, the counts tables against the status rows);
//! - every file at its final path in the content store is the file its name says (SHA-1);
//! - after the restart, no sync job of the killed process is still `running`;
//!
//! and during the whole run, every `/Content` answer with a body hashes to its name: nothing
//! unverified is ever served.
//!
//! The moments derive from a seed, printed, and `SLUICE_CRASH_SEED` repeats a run;
//! `SLUICE_CRASH_MOMENTS` changes their number (RELIABILITY.md). Loopback only; every wait
//! is bounded.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha1::Digest as _;
use sluice_agent::agent::Evaluator;
use sluice_agent::fleet::{self, FleetConfig};
use sluice_agent::profile::{Profile, RulesEvaluator};
use sluice_testkit::process::ServerProcess;
use sluice_testkit::server::Setup;

const BIN: &str = env!("CARGO_BIN_EXE_sluice");

async fn cli(server: &ServerProcess, args: Vec<String>) -> Output {
    let (admin, token) = (server.admin_url(), server.token().to_string());
    tokio::task::spawn_blocking(move || {
        Command::new(BIN).args(&args).env("SLUICE_SERVER", admin).env("SLUICE_TOKEN", token).output().expect("run sluice")
    })
    .await
    .unwrap()
}

async fn cli_ok(server: &ServerProcess, args: &[&str]) -> String {
    let o = cli(server, args.iter().map(|s| s.to_string()).collect()).await;
    assert!(o.status.success(), "sluice {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A small seeded generator: the kill moments and burst mixes of one run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Burst {
    Import,
    Sync,
    Download,
    Report,
}

const BURSTS: [Burst; 4] = [Burst::Import, Burst::Sync, Burst::Download, Burst::Report];

/// A generated catalog written as files.
struct Written {
    files: Vec<String>,
    /// The category documents alone (what a publish needs in the catalog first).
    categories: Vec<String>,
    products: Vec<String>,
    classifications: Vec<String>,
}

fn write_catalog(dir: &Path, revisions: usize, seed: u64) -> Written {
    std::fs::create_dir_all(dir).unwrap();
    let catalog = sluice_catgen::Catalog::generate(&sluice_catgen::CatalogConfig::new(revisions, seed)).unwrap();
    let (mut files, mut categories, mut products, mut classifications) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for d in catalog.documents() {
        let path = dir.join(d.file_name());
        if let Some(kind) = d.xml.split("CategoryType=\"").nth(1).and_then(|r| r.split('"').next()) {
            categories.push(path.to_string_lossy().into_owned());
            match kind {
                "Product" | "ProductFamily" => products.push(d.update_id.to_string()),
                "UpdateClassification" => classifications.push(d.update_id.to_string()),
                _ => {}
            }
        }
        std::fs::write(&path, d.xml.as_bytes()).unwrap();
        files.push(path.to_string_lossy().into_owned());
    }
    files.sort();
    products.sort();
    classifications.sort();
    Written { files, categories, products, classifications }
}

/// Bytes of a payload to publish, different for every `n`.
fn payload(n: u64, len: usize) -> Vec<u8> {
    (0..len as u64).map(|i| (i.wrapping_add(n * 7919).wrapping_mul(2_654_435_761) >> 11) as u8).collect()
}

fn content_path(bytes: &[u8], ext: &str) -> String {
    let sha1: [u8; 20] = sha1::Sha1::digest(bytes).into();
    format!("/Content/{}/{}.{ext}", hex::encode_upper([sha1[19]]), hex::encode_upper(sha1))
}

/// Every file at a final path of the content store (`<XX>/<SHA1HEX>.<ext>`, not `.partial/`)
/// whose bytes do not hash to its name.
fn unverified_files(content: &Path) -> (usize, Vec<String>) {
    let (mut checked, mut bad) = (0, Vec::new());
    let Ok(dirs) = std::fs::read_dir(content) else { return (0, bad) };
    for d in dirs.flatten() {
        let name = d.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !d.path().is_dir() {
            continue;
        }
        for f in std::fs::read_dir(d.path()).unwrap().flatten() {
            let file = f.file_name().to_string_lossy().into_owned();
            let stem = file.split('.').next().unwrap_or_default().to_ascii_uppercase();
            let bytes = std::fs::read(f.path()).unwrap();
            checked += 1;
            if hex::encode_upper(sha1::Sha1::digest(&bytes)) != stem {
                bad.push(format!("{name}/{file} ({} bytes)", bytes.len()));
            }
        }
    }
    (checked, bad)
}

/// Asks for the `/Content` URLs in a loop, whoever is up: an answer with a body must be the
/// file its name says. Counts verified answers; keeps every violation.
struct Watcher {
    urls: Mutex<Vec<String>>,
    verified: AtomicU64,
    bad: Mutex<Vec<String>>,
    running: AtomicBool,
}

impl Watcher {
    fn start(client_url: String, tasks: usize) -> (Arc<Watcher>, Vec<tokio::task::JoinHandle<()>>) {
        let w = Arc::new(Watcher {
            urls: Mutex::new(Vec::new()),
            verified: AtomicU64::new(0),
            bad: Mutex::new(Vec::new()),
            running: AtomicBool::new(true),
        });
        let handles = (0..tasks)
            .map(|t| {
                let (w, base) = (w.clone(), client_url.clone());
                tokio::spawn(async move {
                    let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap();
                    let mut i = t;
                    while w.running.load(Ordering::SeqCst) {
                        let url = {
                            let urls = w.urls.lock().unwrap();
                            if urls.is_empty() { None } else { Some(urls[i % urls.len()].clone()) }
                        };
                        i += 1;
                        let Some(path) = url else {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        };
                        w.check(&http, &base, &path).await;
                    }
                })
            })
            .collect();
        (w, handles)
    }

    async fn check(&self, http: &reqwest::Client, base: &str, path: &str) {
        let Ok(r) = http.get(format!("{base}{path}")).send().await else {
            // The server is down (killed): nothing was served.
            tokio::time::sleep(Duration::from_millis(20)).await;
            return;
        };
        let status = r.status().as_u16();
        // A body cut short by a kill is not an answer; a complete one must verify.
        let Ok(body) = r.bytes().await else { return };
        match status {
            200 => {
                let want = path.rsplit('/').next().unwrap().split('.').next().unwrap().to_string();
                if hex::encode_upper(sha1::Sha1::digest(&body)) == want {
                    self.verified.fetch_add(1, Ordering::SeqCst);
                } else {
                    self.bad.lock().unwrap().push(format!("{path}: 200 with {} bytes that are not the file", body.len()));
                }
            }
            404 => {}
            other => self.bad.lock().unwrap().push(format!("{path}: HTTP {other}")),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_never_breaks_the_store_or_serves_unverified_bytes() {
    let began = Instant::now();
    let seed: u64 = std::env::var("SLUICE_CRASH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(20_261_207);
    let moments: usize = std::env::var("SLUICE_CRASH_MOMENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(22);
    eprintln!("crash safety: seed {seed}, {moments} kills (SLUICE_CRASH_SEED / SLUICE_CRASH_MOMENTS to change)");
    let mut rng = Rng(seed | 1);
    let tmp = tempfile::tempdir().unwrap();

    // The upstream: a generated catalog and three published updates with files.
    let root = Setup::new().spawn(BIN).await;
    let Written { files: root_docs, products, classifications, .. } = write_catalog(&tmp.path().join("root"), 600, 3);
    let mut args = vec!["import-xml".to_string()];
    args.extend(root_docs);
    let o = cli(&root, args).await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut urls = Vec::new();
    for n in 0..3u64 {
        let bytes = payload(n, (3 << 20) + n as usize * 4099);
        let file = tmp.path().join(format!("upstream-{n}.exe"));
        std::fs::write(&file, &bytes).unwrap();
        let title = format!("Upstream payload {n}");
        cli_ok(&root, &["publish", "--file", file.to_str().unwrap(), "--title", &title, "--classification", "Security Updates", "--product", &products[0]])
            .await;
        urls.push(content_path(&bytes, "exe"));
    }

    // The server killed over and over: syncs everything (files too) from the upstream.
    let mut server = Setup::new().spawn(BIN).await;
    let upstream = root.client_url();
    cli_ok(
        &server,
        &[
            "sync",
            "configure",
            "--upstream",
            &upstream,
            "--storage",
            "all",
            "--products",
            &products.join(","),
            "--classifications",
            &classifications.join(","),
        ],
    )
    .await;
    // What the import bursts feed it: a second catalog, in chunks.
    let local = write_catalog(&tmp.path().join("local"), 2_400, 5);
    let mut args = vec!["import-xml".to_string()];
    args.extend(local.categories.iter().cloned());
    let o = cli(&server, args).await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut chunks = local.files.chunks(200).cycle();

    let (watcher, watching) = Watcher::start(server.client_url(), 3);
    watcher.urls.lock().unwrap().extend(urls.iter().cloned());
    let profile = Profile::builtin();
    let evaluator: Arc<dyn Evaluator> = Arc::new(RulesEvaluator::new(&profile));
    let db_url = format!("sqlite://{}", server.data_dir().join("sluice.db").display());
    let mut log = Vec::new();
    let mut published = 0u64;

    for moment in 0..moments {
        // Every kind of burst gets its turn as the main one; a second joins half the time.
        let mut kinds = vec![BURSTS[moment % 4]];
        if rng.below(2) == 0 {
            let extra = BURSTS[rng.below(4) as usize];
            if !kinds.contains(&extra) {
                kinds.push(extra);
            }
        }
        let delay = Duration::from_millis(150 + rng.below(1_600));
        let mut bursts = Vec::new();
        for kind in &kinds {
            match kind {
                Burst::Import => {
                    let mut args = vec!["import-xml".to_string()];
                    args.extend(chunks.next().unwrap().iter().cloned());
                    bursts.push(tokio::spawn(cli_task(&server, args)));
                    // A local publish: its file is verified into the content store.
                    published += 1;
                    let bytes = payload(100 + published, (1 << 20) + published as usize * 131);
                    let file = tmp.path().join(format!("local-{published}.exe"));
                    std::fs::write(&file, &bytes).unwrap();
                    watcher.urls.lock().unwrap().push(content_path(&bytes, "exe"));
                    let args = ["publish", "--file", file.to_str().unwrap(), "--title", &format!("Local payload {published}"),
                        "--classification", "Security Updates", "--product", &local.products[0]];
                    bursts.push(tokio::spawn(cli_task(&server, args.iter().map(|s| s.to_string()).collect())));
                }
                Burst::Sync => {
                    bursts.push(tokio::spawn(cli_task(&server, vec!["sync".into(), "start".into()])));
                }
                Burst::Download => {
                    // More askers than the steady watcher, for the length of the burst.
                    let base = server.client_url();
                    let w = watcher.clone();
                    bursts.push(tokio::spawn(async move {
                        let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap();
                        let all: Vec<String> = w.urls.lock().unwrap().clone();
                        for path in all.iter().cycle().take(60) {
                            w.check(&http, &base, path).await;
                        }
                    }));
                }
                Burst::Report => {
                    let (server_url, profile, evaluator) = (server.client_url(), profile.clone(), evaluator.clone());
                    let first = moment * 1000;
                    bursts.push(tokio::spawn(async move {
                        fleet::run(
                            FleetConfig {
                                server: server_url,
                                clients: 12,
                                concurrency: 6,
                                duration: Duration::from_secs(30),
                                install: false,
                                target_group: None,
                                trust: Default::default(),
                            },
                            Arc::new(move |n| (profile.computer_info(&format!("crash{:06}.sluice.test", first + n)), evaluator.clone())),
                        )
                        .await;
                    }));
                }
            }
        }
        tokio::time::sleep(delay).await;
        let status = server.kill();
        assert!(!status.success(), "killed by a signal");
        // The CLI children fail on their own once the server is gone; the fleet is cut off.
        for b in bursts {
            b.abort();
        }

        // While it is down: the database and the content store as the kill left them.
        let store = sluice_store::Store::open(&db_url).await.expect("the store opens after a kill");
        let problems = store.consistency_problems().await.unwrap();
        let running: BTreeSet<uuid::Uuid> =
            store.jobs_in_state(sluice_store::JobState::Running).await.unwrap().into_iter().map(|j| j.id).collect();
        store.close().await;
        assert!(problems.is_empty(), "moment {moment} ({kinds:?} after {delay:?}): {problems:?}");
        let (checked, bad) = unverified_files(&server.data_dir().join("content"));
        assert!(bad.is_empty(), "moment {moment}: unverified files at final paths: {bad:?}");
        log.push(format!("{moment:>2}: {kinds:?} killed after {} ms; {checked} files verified, {} jobs were running", delay.as_millis(), running.len()));

        server.restart().await;
        // The restarted server ends what the killed one left running (it may start new ones).
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let store = sluice_store::Store::open(&db_url).await.unwrap();
            let still: Vec<uuid::Uuid> = store
                .jobs_in_state(sluice_store::JobState::Running)
                .await
                .unwrap()
                .into_iter()
                .map(|j| j.id)
                .filter(|id| running.contains(id))
                .collect();
            store.close().await;
            if still.is_empty() {
                break;
            }
            assert!(Instant::now() < deadline, "moment {moment}: jobs of the killed process still running: {still:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // After the last restart the server finishes its work: everything upstream arrives, and
    // every file is served verified.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let missing = {
            let http = reqwest::Client::builder().no_proxy().build().unwrap();
            let mut missing = 0;
            for path in &urls {
                let ok = match http.get(format!("{}{path}", server.client_url())).send().await {
                    Ok(r) => r.status() == 200,
                    Err(_) => false,
                };
                missing += usize::from(!ok);
            }
            missing
        };
        if missing == 0 {
            break;
        }
        if Instant::now() > deadline {
            // A sync that failed for a reason of its own is started once more, as an operator would.
            panic!("{missing} upstream files never arrived after the last restart:\n{}", server.log());
        }
        let _ = cli(&server, vec!["sync".into(), "start".into()]).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    watcher.running.store(false, Ordering::SeqCst);
    for h in watching {
        h.await.unwrap();
    }
    let store = sluice_store::Store::open(&db_url).await.unwrap();
    assert_eq!(store.consistency_problems().await.unwrap(), Vec::<String>::new());
    // The bursts did reach the server between the kills.
    let computers = store.list_computers(None).await.unwrap().len();
    let revisions = store.count_revisions().await.unwrap();
    store.close().await;
    assert!(computers > 0, "no simulated client ever registered");
    assert!(revisions > 600, "imports and syncs stored {revisions} revisions");
    let bad = watcher.bad.lock().unwrap().clone();
    assert!(bad.is_empty(), "served what it should not have: {bad:?}");
    let verified = watcher.verified.load(Ordering::SeqCst);
    assert!(verified > 0, "no /Content answer was ever checked");
    eprintln!("{}", log.join("\n"));
    eprintln!(
        "crash safety: {moments} kills, {verified} verified /Content answers, {computers} computers, {revisions} revisions, {:?}",
        began.elapsed()
    );
}

fn cli_task(server: &ServerProcess, args: Vec<String>) -> impl std::future::Future<Output = ()> + Send + 'static {
    let (admin, token) = (server.admin_url(), server.token().to_string());
    async move {
        let _ = tokio::task::spawn_blocking(move || {
            Command::new(BIN).args(&args).env("SLUICE_SERVER", admin).env("SLUICE_TOKEN", token).output()
        })
        .await;
    }
}
