//! A fleet of simulated Windows machines against one server holding a generated catalog of
//! 5,000 revisions: every machine completes its scan and report with zero errors.
//!
//! The default run uses a modest fleet to stay within the test suite's time budget; the
//! 10,000-machine run is a documented command in BENCHMARKS.md. `SLUICE_FLEET_CLIENTS`
//! overrides the size here.

use std::sync::Arc;
use std::time::Duration;

use sluice_agent::agent::Evaluator;
use sluice_agent::fleet::{self, FleetConfig};
use sluice_agent::profile::{Profile, RulesEvaluator};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_against_a_generated_5000_revision_catalog() {
    let server = sluice_testkit::server::start().await;
    let catalog = sluice_catgen::Catalog::generate(&sluice_catgen::CatalogConfig::new(5_000, 7)).unwrap();
    let docs: Vec<(String, Vec<u8>)> = catalog.documents().map(|d| (d.file_name(), d.xml.into_bytes())).collect();
    let mut imported = 0;
    for batch in docs.chunks(1_000) {
        imported += server.state.catalog.import_documents(batch.to_vec()).await.unwrap().len();
    }
    assert_eq!(imported, 5_000);
    server.state.scan.invalidate();

    let clients: usize = std::env::var("SLUICE_FLEET_CLIENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(24);
    let profile = Profile::builtin();
    let evaluator: Arc<dyn Evaluator> = Arc::new(RulesEvaluator::new(&profile));
    let report = fleet::run(
        FleetConfig {
            server: server.client_url(),
            clients,
            concurrency: 8,
            duration: Duration::from_secs(600),
            install: false,
            target_group: None,
            trust: Default::default(),
        },
        Arc::new(move |n| (profile.computer_info(&format!("fleet{n:05}.sluice.test")), evaluator.clone())),
    )
    .await;
    assert!(report.errors.is_empty(), "errors: {:?}", report.errors);
    assert_eq!(report.clients_started, clients);
    assert_eq!(report.scans_completed, clients);
    let sync = &report.latency["SyncUpdates"];
    // Every machine walked the catalog in pages: far more than one SyncUpdates each.
    assert!(sync.count > clients * 3, "{sync:?}");
    assert_eq!(report.latency["ReportEventBatch"].count, clients);
    // Every machine is registered and reported.
    let computers = server.state.store.list_computers(None).await.unwrap();
    assert_eq!(computers.len(), clients);
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    server.shutdown().await.unwrap();
}
