//! Crash recovery of a downstream sync with real processes: a root `sluice serve` holding a
//! generated catalog and a published 64 MiB update, a downstream `sluice serve` syncing from it
//! (storage `all`) through a throttling TCP proxy written here, SIGKILLed twice:
//!
//! (a) in the middle of the metadata sync: the store opens again, the interrupted job is marked
//!     failed, a new sync runs by itself and the final catalog equals the root's;
//! (b) in the middle of the large file download: after the restart the download resumes from
//!     the partial (the proxy sees `Range: bytes=N-` with N > 0) and completes; while the file is
//!     partial the downstream answers its /Content URL with 404, afterwards with the verified
//!     bytes.
//!
//! Loopback only; every wait is bounded (the whole test stays well under two minutes).

use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha1::Digest as _;
use sluice_testkit::process::ServerProcess;
use sluice_testkit::server::Setup;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_sluice");
const BIG_SIZE: usize = 64 << 20;

/// One `sluice serve` process with its own data directory and ports (the test kit's), and the
/// CLI and store views this test takes of it.
struct Server(ServerProcess);

impl std::ops::Deref for Server {
    type Target = ServerProcess;

    fn deref(&self) -> &ServerProcess {
        &self.0
    }
}

impl std::ops::DerefMut for Server {
    fn deref_mut(&mut self) -> &mut ServerProcess {
        &mut self.0
    }
}

impl Server {
    async fn start() -> Server {
        Server(Setup::new().spawn(BIN).await)
    }

    /// SIGKILL of the process this test started, then reaped.
    fn sigkill(&mut self) {
        let status = self.0.kill();
        assert!(!status.success(), "killed by a signal");
    }

    async fn cli(&self, args: &[&str]) -> Output {
        let (admin, token) = (self.admin_url(), self.token().to_string());
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            Command::new(BIN).args(&args).env("SLUICE_SERVER", admin).env("SLUICE_TOKEN", token).output().expect("run sluice")
        })
        .await
        .unwrap()
    }

    async fn json(&self, args: &[&str]) -> Value {
        let o = self.cli(args).await;
        assert!(o.status.success(), "sluice {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).expect("JSON output")
    }

    async fn revisions(&self) -> i64 {
        let store = sluice_store::Store::open(&format!("sqlite://{}", self.data_dir().join("sluice.db").display())).await.expect("store opens");
        let n = store.count_revisions().await.unwrap();
        store.close().await;
        n
    }
}

/// What a complete sync of `root` must leave on a downstream: the latest revision of every
/// update the root lists (older revisions are not listed by the upstream role, as by WSUS).
async fn catalog_of(server: &Server) -> BTreeMap<Uuid, (i32, String)> {
    let store = sluice_store::Store::open(&format!("sqlite://{}", server.data_dir().join("sluice.db").display())).await.expect("store opens");
    let mut latest: BTreeMap<Uuid, (i32, String)> = BTreeMap::new();
    for r in store.all_revisions().await.unwrap() {
        let e = latest.entry(r.update_id).or_insert((r.revision_number, r.publication_state.clone()));
        if r.revision_number > e.0 {
            *e = (r.revision_number, r.publication_state.clone());
        }
    }
    store.close().await;
    latest
}

/// The downstream holds exactly the latest revision (same number, same publication state) of
/// every update of the root, and nothing else.
async fn assert_same_catalog(root: &Server, down: &Server) {
    let (want, got) = (catalog_of(root).await, catalog_of(down).await);
    let missing: Vec<_> = want.iter().filter(|(k, v)| got.get(k) != Some(v)).collect();
    let extra: Vec<_> = got.iter().filter(|(k, _)| !want.contains_key(k)).collect();
    assert!(missing.is_empty() && extra.is_empty(), "catalogs differ: missing {missing:?}, extra {extra:?}");
    assert_eq!(down.revisions().await, want.len() as i64, "one revision per update on the downstream");
}

/// A TCP proxy between the downstream and the root that forwards upstream answers to
/// `GET /Content/…` at `rate` bytes/s (0 = unthrottled), counts those bytes and records the
/// start offset of every ranged content request.
#[derive(Default)]
struct Proxy {
    rate: AtomicU64,
    content_bytes: AtomicU64,
    content_requests: AtomicU64,
    range_starts: Mutex<Vec<u64>>,
}

impl Proxy {
    async fn start(target: u16) -> (Arc<Proxy>, u16) {
        let proxy = Arc::new(Proxy::default());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let p = proxy.clone();
        tokio::spawn(async move {
            while let Ok((down, _)) = listener.accept().await {
                let p = p.clone();
                tokio::spawn(async move {
                    if let Ok(up) = TcpStream::connect(("127.0.0.1", target)).await {
                        p.relay(down, up).await;
                    }
                });
            }
        });
        (proxy, port)
    }

    async fn relay(self: Arc<Self>, down: TcpStream, up: TcpStream) {
        let (mut dr, mut dw) = down.into_split();
        let (mut ur, mut uw) = up.into_split();
        let content = Arc::new(AtomicBool::new(false));
        let (p, c) = (self.clone(), content.clone());
        let requests = tokio::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match dr.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                p.inspect_request(&buf[..n], &c);
                if uw.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
            let _ = uw.shutdown().await;
        });
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match ur.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if content.load(Ordering::SeqCst) {
                let rate = self.rate.load(Ordering::SeqCst);
                if rate > 0 {
                    tokio::time::sleep(Duration::from_secs_f64(n as f64 / rate as f64)).await;
                }
                self.content_bytes.fetch_add(n as u64, Ordering::SeqCst);
            }
            if dw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = dw.shutdown().await;
        requests.abort();
    }

    fn inspect_request(&self, bytes: &[u8], content: &AtomicBool) {
        let text = String::from_utf8_lossy(bytes).to_ascii_lowercase();
        if text.starts_with("get /content/") {
            content.store(true, Ordering::SeqCst);
            self.content_requests.fetch_add(1, Ordering::SeqCst);
            if let Some(i) = text.find("\r\nrange: bytes=") {
                let rest = &text[i + "\r\nrange: bytes=".len()..];
                let start: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
                self.range_starts.lock().unwrap().push(start.parse().unwrap());
            }
        } else if text.starts_with("post ") || text.starts_with("get ") {
            content.store(false, Ordering::SeqCst);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downstream_survives_sigkill_during_metadata_and_content_sync() {
    let began = Instant::now();
    let tmp = tempfile::tempdir().unwrap();

    // The root: a generated catalog and a published update with a 64 MiB file.
    let root = Server::start().await;
    let cat = tmp.path().join("catalog");
    let g = root.cli(&["catalog", "generate", "--revisions", "3000", "--seed", "11", "--out", cat.to_str().unwrap()]).await;
    assert!(g.status.success(), "{}", String::from_utf8_lossy(&g.stderr));
    let mut docs: Vec<String> = std::fs::read_dir(&cat)
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .filter(|p| p.ends_with(".xml"))
        .collect();
    docs.sort();
    let mut args = vec!["import-xml"];
    args.extend(docs.iter().map(String::as_str));
    let imp = root.cli(&args).await;
    assert!(imp.status.success(), "{}", String::from_utf8_lossy(&imp.stderr));
    let (products, classifications) = common::category_ids(&cat);
    assert!(!products.is_empty() && !classifications.is_empty());
    let root_revisions = root.revisions().await;
    assert!(root_revisions >= 3000, "{root_revisions}");
    // Older revisions are not listed upstream: a complete downstream holds one per update.
    let root_updates = catalog_of(&root).await.len() as i64;

    // The downstream, through the proxy (throttled for content only).
    let (proxy, proxy_port) = Proxy::start(root.client_port()).await;
    let mut down = Server::start().await;
    let upstream = format!("http://127.0.0.1:{proxy_port}");
    down.json(&[
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
        "--json",
    ])
    .await;
    let job = down.json(&["sync", "start", "--json"]).await;
    assert!(job.is_object(), "{job}");

    // (a) Kill while update batches are being stored: some committed, the run not finished.
    let at_kill = common::wait_until("update batches in progress", 60, || async {
        let st = down.json(&["sync", "status", "--json"]).await;
        let p = &st["progress"];
        let (done, total) = (p["done"].as_i64().unwrap_or(0), p["total"].as_i64().unwrap_or(0));
        (p["phase"] == "updates" && done > 0 && done < total).then_some(st)
    })
    .await;
    down.sigkill();
    let partial_revisions = down.revisions().await;
    assert!(
        partial_revisions > 0 && partial_revisions < root_updates,
        "killed with part of the catalog stored: {partial_revisions} of {root_updates} ({at_kill})"
    );

    down.restart().await;
    // The restart marks the interrupted run failed and queues a new sync that completes.
    let finished = common::wait_until("the recovery sync to finish", 60, || async {
        let h = down.json(&["sync", "history", "--json"]).await;
        let runs = h.as_array().unwrap().clone();
        (runs.len() >= 2 && runs.iter().all(|r| r["result"] != "running")).then_some(h)
    })
    .await;
    let runs = finished.as_array().unwrap();
    let interrupted: Vec<&Value> = runs.iter().filter(|r| r["error"].as_str().is_some_and(|e| e.contains("interrupted"))).collect();
    assert_eq!(interrupted.len(), 1, "the killed run is recorded as interrupted: {finished:#}");
    assert_eq!(interrupted[0]["result"], "failed");
    let latest = &runs[0];
    assert_ne!(latest["result"], "running");
    // Batches committed before the kill are kept: the new run stores only the rest.
    assert_eq!(latest["new_revisions"].as_i64().unwrap(), root_updates - partial_revisions, "{latest}");
    let st = down.json(&["sync", "status", "--json"]).await;
    assert!(st["running"].is_null(), "nothing left running: {st}");
    assert_same_catalog(&root, &down).await;
    eprintln!("(a) done after {:?}", began.elapsed());

    // (b) A 64 MiB update published on the root; the downstream fetches it at 4 MiB/s.
    let big: Vec<u8> = (0..BIG_SIZE as u64).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let sha1: [u8; 20] = sha1::Sha1::digest(&big).into();
    let sha256: [u8; 32] = sha2::Sha256::digest(&big).into();
    let big_path = tmp.path().join("big.exe");
    std::fs::write(&big_path, &big).unwrap();
    let product = products.iter().find(|p| !p.is_empty()).unwrap().clone();
    let published = root
        .json(&[
            "publish",
            "--file",
            big_path.to_str().unwrap(),
            "--title",
            "Crash recovery payload",
            "--classification",
            "Security Updates",
            "--product",
            &product,
            "--json",
        ])
        .await;
    assert!(published.is_object(), "{published}");
    let content_url_path = format!("/Content/{}/{}.exe", hex::encode_upper([sha1[19]]), hex::encode_upper(sha1));
    let on_root = reqwest::get(format!("{}{content_url_path}", root.client_url())).await.unwrap();
    assert_eq!(on_root.status(), 200, "the root serves the published file");
    drop(on_root);

    let down_url = format!("{}{content_url_path}", down.client_url());
    assert_eq!(reqwest::get(&down_url).await.unwrap().status(), 404);

    // Watches the downstream's /Content URL the whole time: 404 until the file is complete,
    // then exactly the published bytes; never anything else.
    let watching = Arc::new(AtomicBool::new(true));
    let seen = Arc::new(Mutex::new((0u32, 0u32, Vec::<String>::new())));
    let watcher = {
        let (watching, seen, url) = (watching.clone(), seen.clone(), down_url.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            while watching.load(Ordering::SeqCst) {
                if let Ok(r) = http.get(&url).send().await {
                    let status = r.status().as_u16();
                    match status {
                        404 => seen.lock().unwrap().0 += 1,
                        200 => {
                            let body = r.bytes().await.unwrap_or_default();
                            let ok = body.len() == BIG_SIZE
                                && <[u8; 20]>::from(sha1::Sha1::digest(&body)) == sha1
                                && <[u8; 32]>::from(sha2::Sha256::digest(&body)) == sha256;
                            let mut s = seen.lock().unwrap();
                            s.1 += 1;
                            if !ok {
                                s.2.push(format!("200 with {} bytes that do not match the published file", body.len()));
                            }
                        }
                        other => seen.lock().unwrap().2.push(format!("unexpected HTTP {other}")),
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    proxy.rate.store(4 << 20, Ordering::SeqCst);
    down.json(&["sync", "start", "--json"]).await;
    let threshold = 12u64 << 20;
    common::wait_until("12 MiB of the large file through the proxy", 60, || async {
        (proxy.content_bytes.load(Ordering::SeqCst) > threshold).then_some(Value::Null)
    })
    .await;
    let (not_found_before, _, _) = seen.lock().unwrap().clone();
    assert_eq!(reqwest::get(&down_url).await.unwrap().status(), 404, "a partial file is not served");
    down.sigkill();
    let transferred = proxy.content_bytes.load(Ordering::SeqCst);
    assert!(transferred < BIG_SIZE as u64, "killed mid-transfer ({transferred} bytes)");
    assert!(proxy.range_starts.lock().unwrap().iter().all(|s| *s == 0), "no resume yet");

    proxy.rate.store(16 << 20, Ordering::SeqCst);
    down.restart().await;
    common::wait_until("the large file to be served by the downstream", 60, || async {
        let r = reqwest::get(&down_url).await.ok()?;
        (r.status() == 200).then_some(Value::Null)
    })
    .await;
    let body = reqwest::get(&down_url).await.unwrap().bytes().await.unwrap();
    assert_eq!(body.len(), BIG_SIZE);
    assert_eq!(<[u8; 20]>::from(sha1::Sha1::digest(&body)), sha1);
    assert_eq!(<[u8; 32]>::from(sha2::Sha256::digest(&body)), sha256);
    let starts = proxy.range_starts.lock().unwrap().clone();
    assert!(starts.iter().any(|s| *s > 0 && *s <= transferred), "resumed from the partial: range starts {starts:?}");
    // Only the rest crossed the proxy after the restart (plus at most one retry of it).
    let after = proxy.content_bytes.load(Ordering::SeqCst) - transferred;
    assert!(after < BIG_SIZE as u64, "the resumed download did not start over ({after} bytes after the restart)");

    let h = common::wait_until("the recovery sync to finish", 60, || async {
        let h = down.json(&["sync", "history", "--json"]).await;
        h.as_array().unwrap().iter().all(|r| r["result"] != "running").then_some(h)
    })
    .await;
    let interrupted = h.as_array().unwrap().iter().filter(|r| r["error"].as_str().is_some_and(|e| e.contains("interrupted"))).count();
    assert_eq!(interrupted, 2, "both killed runs are recorded as interrupted: {h:#}");
    assert_same_catalog(&root, &down).await;
    watching.store(false, Ordering::SeqCst);
    watcher.await.unwrap();
    let (not_found, served, bad) = seen.lock().unwrap().clone();
    assert!(bad.is_empty(), "{bad:?}");
    assert!(not_found_before > 0 && not_found >= not_found_before, "the watcher saw the partial state as 404");
    let _ = served;
    eprintln!("(b) done after {:?}; range starts {starts:?}, {transferred} bytes before the kill", began.elapsed());
}
