//! Prometheus metrics (`GET /metrics` on the admin listener, bearer token like the admin API).
//!
//! Request series are counted as requests finish ([`Metrics::observe`], called by the access
//! layer in `access.rs`); catalog, computer and sync series are read from the store at scrape
//! time, so they are right on every node sharing a database. One registry per server: tests run
//! several servers in one process. Labels never carry a client id or a path with an id in it:
//! the series stay a fixed, small set however many computers report.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Which listener service a request went to, what it asked and how it ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `client`, `simple_auth`, `reporting`, `server_sync`, `dss_auth`, `content`, `admin`, …
    pub service: String,
    /// The SOAP operation, the admin route template, or the HTTP method for content.
    pub operation: String,
    /// The HTTP status code.
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    service: String,
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FaultLabels {
    /// The WSUS ErrorCode of the fault: InvalidCookie, CookieExpired, ServerChanged, …
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: String,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 16 s: a cached SyncUpdates page to a large import.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// The server's metrics. Cheap to share (`Arc`); every method takes `&self`.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<LatencyLabels, Histogram, fn() -> Histogram>,
    cookie_faults: Family<FaultLabels, Counter>,
    scans_in_progress: Gauge,
    content_bytes: Counter,
    computers: Gauge,
    revisions: Gauge,
    sync_running: Gauge,
    sync_progress_done: Family<PhaseLabels, Gauge>,
    sync_progress_total: Family<PhaseLabels, Gauge>,
    sync_last_result: Family<ResultLabels, Gauge>,
    sync_last_finished: Gauge,
}

/// The faults that say a client's cookie or registration must be renewed; counted by kind.
const COOKIE_FAULTS: [&str; 6] = [
    "InvalidCookie",
    "CookieExpired",
    "ServerChanged",
    "ConfigChanged",
    "InvalidAuthorizationCookie",
    "RegistrationRequired",
];

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("sluice");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("requests", "Requests answered, by service, operation and HTTP status", requests.clone());
        let latency = Family::<LatencyLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register("request_duration_seconds", "Time to answer a request (until the body starts)", latency.clone());
        let cookie_faults = Family::<FaultLabels, Counter>::default();
        registry.register(
            "cookie_faults",
            "SOAP faults telling a client or downstream server to renew its cookie or registration, by WSUS ErrorCode",
            cookie_faults.clone(),
        );
        let scans_in_progress = Gauge::default();
        registry.register("scans_in_progress", "SyncUpdates requests being answered", scans_in_progress.clone());
        let content_bytes = Counter::default();
        registry.register("content_bytes_served", "Bytes of update files sent to clients and downstream servers", content_bytes.clone());
        let computers = Gauge::default();
        registry.register("computers", "Computers registered with this server", computers.clone());
        let revisions = Gauge::default();
        registry.register("catalog_revisions", "Update revisions in the catalog", revisions.clone());
        let sync_running = Gauge::default();
        registry.register("sync_running", "1 while a synchronization from the upstream server runs", sync_running.clone());
        let sync_progress_done = Family::<PhaseLabels, Gauge>::default();
        registry.register("sync_progress_done", "Items done in the running synchronization's phase", sync_progress_done.clone());
        let sync_progress_total = Family::<PhaseLabels, Gauge>::default();
        registry.register("sync_progress_total", "Items in the running synchronization's phase", sync_progress_total.clone());
        let sync_last_result = Family::<ResultLabels, Gauge>::default();
        registry.register(
            "sync_last_result",
            "1 for the result of the last finished synchronization (succeeded, failed, cancelled)",
            sync_last_result.clone(),
        );
        let sync_last_finished = Gauge::default();
        registry.register(
            "sync_last_finished_timestamp_seconds",
            "When the last finished synchronization ended (Unix time)",
            sync_last_finished.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            cookie_faults,
            scans_in_progress,
            content_bytes,
            computers,
            revisions,
            sync_running,
            sync_progress_done,
            sync_progress_total,
            sync_last_result,
            sync_last_finished,
        }
    }

    /// Counts one finished request; `fault` is the WSUS ErrorCode of a SOAP fault answer.
    pub fn observe(&self, labels: RequestLabels, fault: Option<&str>, elapsed: Duration) {
        self.latency
            .get_or_create(&LatencyLabels { service: labels.service.clone(), operation: labels.operation.clone() })
            .observe(elapsed.as_secs_f64());
        self.requests.get_or_create(&labels).inc();
        if let Some(kind) = fault.filter(|f| COOKIE_FAULTS.contains(f)) {
            self.cookie_faults.get_or_create(&FaultLabels { kind: kind.to_owned() }).inc();
        }
    }

    /// Holds the scans-in-progress gauge up until the guard is dropped.
    pub fn scan_started(&self) -> ScanGuard<'_> {
        self.scans_in_progress.inc();
        ScanGuard(&self.scans_in_progress)
    }

    pub fn content_sent(&self, bytes: u64) {
        self.content_bytes.inc_by(bytes);
    }

    /// Reads the store-backed series, then renders everything in the Prometheus text format.
    pub async fn render(&self, store: &sluice_store::Store) -> Result<String, sluice_store::StoreError> {
        self.computers.set(store.count_computers().await?);
        self.revisions.set(store.count_revisions().await?);
        let syncs = store.list_syncs(10).await?;
        let running = syncs.iter().any(|s| s.finished_at.is_none());
        self.sync_running.set(i64::from(running));
        self.sync_progress_done.clear();
        self.sync_progress_total.clear();
        if let Some(p) = sluice_sync::live_progress() {
            let phase = PhaseLabels { phase: p.phase.clone() };
            self.sync_progress_done.get_or_create(&phase).set(p.done);
            self.sync_progress_total.get_or_create(&phase).set(p.total);
        }
        self.sync_last_result.clear();
        if let Some(last) = syncs.iter().find(|s| s.finished_at.is_some()) {
            let result = sluice_sync::SyncView::from(last).result;
            self.sync_last_result.get_or_create(&ResultLabels { result }).set(1);
            if let Some(at) = last.finished_at {
                self.sync_last_finished.set(at.unix_timestamp());
            }
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).map_err(|e| {
            sluice_store::StoreError::InvalidInput(format!("cannot render the metrics: {e}"))
        })?;
        Ok(out)
    }
}

/// See [`Metrics::scan_started`].
pub struct ScanGuard<'a>(&'a Gauge);

impl Drop for ScanGuard<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}
