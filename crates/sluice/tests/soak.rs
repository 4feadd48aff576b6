//! Soak: one `sluice serve` process holding a population of simulated Windows machines, each
//! scanning and reporting again after every interval (with its cookie and cache, as WUA's
//! detection cycle does), for a duration: zero errors, every machine served and most more than once, and
//! the server's resident memory flat once every machine has been seen.
//!
//! The suite's run is short (200 machines, 20 s); the long run (2,000 machines, 10 minutes)
//! is the documented command in RELIABILITY.md. `SLUICE_SOAK_CLIENTS`, `SLUICE_SOAK_SECS` and
//! `SLUICE_SOAK_INTERVAL_SECS` change the run here.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use sluice_agent::agent::Evaluator;
use sluice_agent::profile::{Profile, RulesEvaluator};
use sluice_agent::soak::{self, SoakConfig};
use sluice_testkit::server::Setup;

const BIN: &str = env!("CARGO_BIN_EXE_sluice");

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_population_of_machines_held_for_a_while_sees_no_error_and_flat_memory() {
    let clients = env_or("SLUICE_SOAK_CLIENTS", 200) as usize;
    let secs = env_or("SLUICE_SOAK_SECS", 20);
    let interval = env_or("SLUICE_SOAK_INTERVAL_SECS", 4);
    let server = Setup::new().spawn(BIN).await;

    let tmp = tempfile::tempdir().unwrap();
    let catalog = sluice_catgen::Catalog::generate(&sluice_catgen::CatalogConfig::new(1_000, 7)).unwrap();
    let mut args = vec!["import-xml".to_string()];
    for d in catalog.documents() {
        let path = tmp.path().join(d.file_name());
        std::fs::write(&path, d.xml.as_bytes()).unwrap();
        args.push(path.to_string_lossy().into_owned());
    }
    let (admin, token) = (server.admin_url(), server.token().to_string());
    let imported = tokio::task::spawn_blocking(move || {
        Command::new(BIN).args(&args).env("SLUICE_SERVER", admin).env("SLUICE_TOKEN", token).output().unwrap()
    })
    .await
    .unwrap();
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));

    let profile = Profile::builtin();
    let evaluator: Arc<dyn Evaluator> = Arc::new(RulesEvaluator::new(&profile));
    let report = soak::run(
        SoakConfig {
            server: server.client_url(),
            clients,
            duration: Duration::from_secs(secs),
            interval: Duration::from_secs(interval),
            trust: Default::default(),
            watch_pid: server.id(),
            sample_every: Duration::from_secs((secs / 40).max(1)),
        },
        Arc::new(move |n| (profile.computer_info(&format!("soak{n:06}.sluice.test")), evaluator.clone())),
    )
    .await;
    eprintln!("{}", serde_json::to_string(&report).unwrap());
    assert!(report.errors.is_empty(), "errors: {:?} ({:?})", report.errors, report.error_examples);
    assert_eq!(report.clients_served, clients, "every machine completed a scan");
    // Machines come back: on average more than one scan each (the last to join may have
    // time for only one).
    assert!(report.scans_completed >= 2 * clients, "machines did not come back: {report:?}");

    // Flat: from the first sample after every machine has scanned once (the ramp is one
    // interval) to the end, the server's resident memory grows by less than a quarter (and
    // 32 MiB of allocator slack). A leak per scan or per request would be far past that.
    let settled: Vec<u64> = report
        .rss_kib
        .iter()
        .filter(|(t, _)| *t >= (2 * interval) as f64)
        .map(|(_, kib)| *kib)
        .collect();
    assert!(settled.len() >= 3, "too few memory samples: {:?}", report.rss_kib);
    let (first, last) = (settled[0], *settled.last().unwrap());
    assert!(
        last <= first + first / 4 + 32 * 1024,
        "server RSS grew from {} to {} MiB: {:?}",
        first / 1024,
        last / 1024,
        report.rss_kib
    );
}
