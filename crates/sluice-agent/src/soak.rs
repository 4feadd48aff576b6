//! A fleet held for a duration: every machine scans and reports, waits its interval, and does
//! it again with its state (cookie, cached revisions), as a real client's detection cycle does,
//! until the time is up. Where [`crate::fleet`] measures how fast N scans go through, this
//! measures whether a server stays correct and bounded under a steady population.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::agent::{Agent, AgentError, MachineState};
use crate::fleet::ProfileFn;

#[derive(Debug, Clone)]
pub struct SoakConfig {
    pub server: String,
    /// Machines held at once for the whole run.
    pub clients: usize,
    pub duration: Duration,
    /// Mean pause between two scans of one machine (each pause is 50–150 % of it, so the
    /// machines spread out instead of scanning in lockstep).
    pub interval: Duration,
    pub trust: crate::trust::Trust,
    /// A server process on this machine whose resident memory is sampled during the run.
    pub watch_pid: Option<u32>,
    /// How often to sample it.
    pub sample_every: Duration,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SoakReport {
    pub clients: usize,
    /// Machines that completed at least one scan and report.
    pub clients_served: usize,
    pub scans_completed: usize,
    /// Fewest scans any machine completed.
    pub min_scans_per_client: usize,
    pub requests: usize,
    pub errors: BTreeMap<String, usize>,
    /// The first message of each kind of error.
    pub error_examples: BTreeMap<String, String>,
    pub elapsed_secs: f64,
    /// `(seconds since the start, resident KiB)` of the watched process.
    pub rss_kib: Vec<(f64, u64)>,
}

/// `VmRSS` of a process, in KiB (Linux).
pub fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A cheap per-machine jitter: the same machine gets the same sequence in every run.
fn jitter(machine: usize, round: usize) -> f64 {
    let mut x = (machine as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (round as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    0.5 + (x % 1000) as f64 / 1000.0
}

pub async fn run(cfg: SoakConfig, profile: Arc<ProfileFn>) -> SoakReport {
    let started = Instant::now();
    let deadline = started + cfg.duration;
    let http = cfg.trust.reqwest_builder().timeout(Duration::from_secs(120)).build().unwrap_or_default();
    let soap = crate::wire::soap_client_with(&cfg.trust);
    let requests = Arc::new(AtomicUsize::new(0));
    // Machines join over the first interval, as a population already in step would scan,
    // not all in the same second.
    let ramp = cfg.interval;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..cfg.clients {
        let (info, evaluator) = profile(n);
        let (server, http, soap, requests) = (cfg.server.clone(), http.clone(), soap.clone(), requests.clone());
        let start_after = ramp.mul_f64(n as f64 / cfg.clients.max(1) as f64);
        let interval = cfg.interval;
        tasks.spawn(async move {
            tokio::time::sleep(start_after).await;
            let state = MachineState { computer_id: uuid::Uuid::new_v4().to_string(), ..Default::default() };
            let mut agent = Agent::new(&server, info, evaluator, state);
            agent.http = http;
            agent.soap = soap;
            let (mut scans, mut errors) = (0usize, BTreeMap::<String, (usize, String)>::new());
            let mut round = 0;
            while Instant::now() < deadline {
                match agent.scan(false).await {
                    Ok(_) => scans += 1,
                    Err(e) => {
                        let kind = match &e {
                            AgentError::Wire(w) => w.kind(),
                            AgentError::Download { .. } => "download".to_string(),
                            AgentError::Protocol(_) => "protocol".to_string(),
                        };
                        let entry = errors.entry(kind).or_default();
                        if entry.0 == 0 {
                            entry.1 = e.to_string();
                        }
                        entry.0 += 1;
                    }
                }
                // The timings of each scan are counted and dropped: a long run must not grow here.
                let timings = std::mem::take(&mut agent.timings);
                requests.fetch_add(timings.values().map(Vec::len).sum(), Ordering::Relaxed);
                round += 1;
                let pause = interval.mul_f64(jitter(n, round));
                let now = Instant::now();
                if now + pause >= deadline {
                    break;
                }
                tokio::time::sleep(pause).await;
            }
            (scans, errors)
        });
    }
    let sampler = cfg.watch_pid.map(|pid| {
        let every = cfg.sample_every.max(Duration::from_millis(100));
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while Instant::now() < deadline {
                if let Some(kib) = resident_kib(pid) {
                    samples.push((started.elapsed().as_secs_f64(), kib));
                }
                tokio::time::sleep(every).await;
            }
            samples
        })
    });
    let mut report = SoakReport { clients: cfg.clients, min_scans_per_client: usize::MAX, ..Default::default() };
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((scans, errors)) => {
                report.scans_completed += scans;
                report.clients_served += usize::from(scans > 0);
                report.min_scans_per_client = report.min_scans_per_client.min(scans);
                for (kind, (n, example)) in errors {
                    *report.errors.entry(kind.clone()).or_default() += n;
                    report.error_examples.entry(kind).or_insert(example);
                }
            }
            Err(_) => *report.errors.entry("panic".into()).or_default() += 1,
        }
    }
    if report.min_scans_per_client == usize::MAX {
        report.min_scans_per_client = 0;
    }
    if let Some(s) = sampler {
        report.rss_kib = s.await.unwrap_or_default();
    }
    report.requests = requests.load(Ordering::Relaxed);
    report.elapsed_secs = started.elapsed().as_secs_f64();
    report
}
