//! Many simulated machines at once: the load generator behind `sluice agent fleet`.
//! Bounded in count and in time; meant for servers on this machine (loopback) only.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Semaphore;

use crate::agent::{Agent, Evaluator, MachineState};
use crate::requests::ComputerInfo;

#[derive(Debug, Clone)]
pub struct FleetConfig {
    pub server: String,
    pub clients: usize,
    pub concurrency: usize,
    /// Stop starting new machines after this long; machines already running finish.
    pub duration: Duration,
    pub install: bool,
    /// Target group every machine requests (client-side targeting).
    pub target_group: Option<String>,
    /// Whom the machines believe on https:// servers.
    pub trust: crate::trust::Trust,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub count: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FleetReport {
    pub clients_started: usize,
    pub scans_completed: usize,
    pub elapsed_secs: f64,
    pub scans_per_sec: f64,
    pub requests: usize,
    pub requests_per_sec: f64,
    pub latency: BTreeMap<String, Latency>,
    pub errors: BTreeMap<String, usize>,
    pub bytes_transferred: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// A machine of the fleet: its own id and name; profiles rotate through `profiles`.
pub type ProfileFn = dyn Fn(usize) -> (ComputerInfo, Arc<dyn Evaluator>) + Send + Sync;

pub async fn run(cfg: FleetConfig, profile: Arc<ProfileFn>) -> FleetReport {
    let started = Instant::now();
    let sem = Arc::new(Semaphore::new(cfg.concurrency.max(1)));
    let http = cfg
        .trust
        .reqwest_builder()
        .pool_max_idle_per_host(cfg.concurrency.max(1))
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap_or_default();
    let soap = crate::wire::soap_client_with(&cfg.trust);
    let mut tasks = tokio::task::JoinSet::new();
    let mut report = FleetReport::default();
    for n in 0..cfg.clients {
        if started.elapsed() >= cfg.duration {
            break;
        }
        let permit = match sem.clone().acquire_owned().await {
            Ok(p) => p,
            Err(_) => break,
        };
        report.clients_started += 1;
        let (info, evaluator) = profile(n);
        let server = cfg.server.clone();
        let http = http.clone();
        let soap = soap.clone();
        let install = cfg.install;
        let group = cfg.target_group.clone();
        tasks.spawn(async move {
            let state = MachineState { computer_id: uuid::Uuid::new_v4().to_string(), ..Default::default() };
            let mut agent = Agent::new(&server, info, evaluator, state);
            agent.http = http;
            agent.soap = soap;
            agent.target_group = group;
            let result = agent.scan(install).await;
            drop(permit);
            (result.map(|_| ()).map_err(|e| match e {
                crate::agent::AgentError::Wire(w) => w.kind(),
                crate::agent::AgentError::Download { .. } => "download".to_string(),
                crate::agent::AgentError::Protocol(_) => "protocol".to_string(),
            }), agent.timings, agent.bytes)
        });
    }
    let mut samples: BTreeMap<String, Vec<Duration>> = BTreeMap::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((result, timings, bytes)) => {
                match result {
                    Ok(()) => report.scans_completed += 1,
                    Err(kind) => *report.errors.entry(kind).or_default() += 1,
                }
                report.bytes_transferred += bytes;
                for (op, v) in timings {
                    report.requests += v.len();
                    samples.entry(op.to_string()).or_default().extend(v);
                }
            }
            Err(_) => *report.errors.entry("panic".into()).or_default() += 1,
        }
    }
    report.elapsed_secs = started.elapsed().as_secs_f64();
    report.scans_per_sec = report.scans_completed as f64 / report.elapsed_secs.max(1e-9);
    report.requests_per_sec = report.requests as f64 / report.elapsed_secs.max(1e-9);
    for (op, mut v) in samples {
        v.sort_unstable();
        report.latency.insert(
            op,
            Latency {
                count: v.len(),
                p50_ms: percentile(&v, 0.50),
                p95_ms: percentile(&v, 0.95),
                p99_ms: percentile(&v, 0.99),
                max_ms: v.last().map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0),
            },
        );
    }
    report
}
