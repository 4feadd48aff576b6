//! `sluice agent`: a simulated Windows Update Agent, one machine or a fleet.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use sluice_agent::agent::{Agent, Evaluator, MachineState};
use sluice_agent::fleet::{self, FleetConfig};
use sluice_agent::profile::{Profile, RulesEvaluator};
use sluice_agent::soak::{self, SoakConfig};
use sluice_agent::trust::Trust;

#[derive(Subcommand, Debug)]
pub enum AgentCommand {
    /// Scan (and optionally install) as one Windows machine would
    Scan(ScanArgs),
    /// Many machines scanning and reporting at once (load test; loopback servers only)
    Fleet(FleetArgs),
    /// Hold many machines for a duration, each scanning and reporting again after every
    /// interval (soak test; loopback servers only)
    Soak(SoakArgs),
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// The server's client URL, as the WUServer policy names it (e.g. http://server:8530 or
    /// https://server:8531; --ca-cert names a certificate to trust)
    #[arg(long)]
    server: String,
    /// Machine profile (TOML) [default: built-in Windows 11 x64 en-US]
    #[arg(long)]
    profile: Option<PathBuf>,
    /// Target group to request (client-side targeting)
    #[arg(long)]
    group: Option<String>,
    /// Download and install approved updates, then report
    #[arg(long)]
    install: bool,
    /// With --install: run command-line installers for real, each in a fresh scratch
    /// directory, and read their exit codes through the update's return-code table
    #[arg(long, requires = "install")]
    execute: bool,
    /// State file of this simulated machine: identity, cookie, cache, installed updates
    #[arg(long)]
    state: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct FleetArgs {
    #[arg(long)]
    server: String,
    #[arg(long, default_value_t = 100)]
    clients: usize,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Directory of profiles (*.toml) the machines rotate through [default: built-in]
    #[arg(long)]
    profiles: Option<PathBuf>,
    /// Stop starting machines after this many seconds
    #[arg(long, default_value_t = 600)]
    duration: u64,
    /// Target group every machine requests
    #[arg(long)]
    group: Option<String>,
    #[arg(long)]
    install: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct SoakArgs {
    #[arg(long)]
    server: String,
    #[arg(long, default_value_t = 2000)]
    clients: usize,
    /// How long to hold them
    #[arg(long, default_value_t = 600)]
    seconds: u64,
    /// Mean seconds between two scans of one machine
    #[arg(long, default_value_t = 60)]
    interval: u64,
    /// Sample this process's resident memory (the server's pid) every --sample seconds
    #[arg(long)]
    watch_pid: Option<u32>,
    #[arg(long, default_value_t = 10)]
    sample: u64,
    #[arg(long)]
    json: bool,
}

pub async fn run(remote: &crate::Remote, c: AgentCommand) -> anyhow::Result<()> {
    // `--ca-cert`: the certificate an administrator would import into the machines' store.
    let trust = Trust::from_option(remote.ca_cert.as_deref())?;
    match c {
        AgentCommand::Scan(a) => scan(a, trust).await,
        AgentCommand::Fleet(a) => fleet_cmd(a, trust).await,
        AgentCommand::Soak(a) => soak_cmd(a, trust).await,
    }
}

async fn scan(a: ScanArgs, trust: Trust) -> anyhow::Result<()> {
    let profile = match &a.profile {
        Some(p) => Profile::load(p)?,
        None => Profile::builtin(),
    };
    let mut state: MachineState = match &a.state {
        Some(p) if p.exists() => serde_json::from_slice(&std::fs::read(p).with_context(|| format!("reading {}", p.display()))?)
            .with_context(|| format!("{} is not an agent state file", p.display()))?,
        _ => MachineState::default(),
    };
    if state.computer_id.is_empty() {
        state.computer_id = uuid::Uuid::new_v4().to_string();
    }
    let dns = format!("sim-{}.sluice.test", &state.computer_id[..8]);
    let evaluator: Arc<dyn Evaluator> = Arc::new(RulesEvaluator::new(&profile));
    let mut agent = Agent::new(&a.server, profile.computer_info(&dns), evaluator, state).with_trust(&trust);
    agent.target_group = a.group.clone();
    agent.execute = a.execute;
    let result = agent.scan(a.install).await;
    // The state is kept even after a failure: the cache and cookie are still good.
    if let Some(p) = &a.state {
        let tmp = p.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&agent.state)?)?;
        std::fs::rename(&tmp, p)?;
    }
    let report = result?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        outln!("computer {} ({}): {} scan round(s), {} new revision(s)", report.computer_id, profile.name, report.rounds, report.new_revisions);
        for o in report.offered.iter().filter(|o| o.action != "PreDeploymentCheck") {
            outln!("  offered {} {}{}", o.action, o.update_id, o.deadline.as_deref().map(|d| format!(" (deadline {d})")).unwrap_or_default());
        }
        outln!("  needed: {}", report.needed.len());
        outln!("  not applicable: {}", report.not_applicable.len());
        for (u, why) in &report.unknown {
            outln!("  unknown: {u}: {why}");
        }
        for f in &report.downloaded {
            outln!("  downloaded {} ({} bytes, verified)", f.file_name, f.size);
        }
        for x in &report.executed {
            outln!("  ran the installer of {}: exit code {} ({}{})", x.update_id, x.exit_code, if x.succeeded { "succeeded" } else { "failed" }, if x.reboot { ", restart required" } else { "" });
        }
        for u in &report.installed {
            outln!("  installed {u}{}", if report.pending_reboot.contains(u) { " (restart pending)" } else { "" });
        }
        for u in &report.uninstalled {
            outln!("  uninstalled {u}");
        }
        outln!("  reported events: {:?}", report.reported_events);
    }
    Ok(())
}

async fn fleet_cmd(a: FleetArgs, trust: Trust) -> anyhow::Result<()> {
    let profiles = match &a.profiles {
        Some(dir) => Profile::load_dir(dir)?,
        None => vec![Profile::builtin()],
    };
    anyhow::ensure!(!profiles.is_empty(), "no profiles found");
    let evaluators: Vec<(Profile, Arc<dyn Evaluator>)> =
        profiles.into_iter().map(|p| { let e: Arc<dyn Evaluator> = Arc::new(RulesEvaluator::new(&p)); (p, e) }).collect();
    let evaluators = Arc::new(evaluators);
    let group = a.group.clone();
    let cfg = FleetConfig {
        server: a.server.clone(),
        clients: a.clients,
        concurrency: a.concurrency,
        duration: Duration::from_secs(a.duration),
        install: a.install,
        target_group: group,
        trust,
    };
    let ev = evaluators.clone();
    let report = fleet::run(
        cfg,
        Arc::new(move |n| {
            let (p, e) = &ev[n % ev.len()];
            (p.computer_info(&format!("sim{n:06}.sluice.test")), e.clone())
        }),
    )
    .await;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        outln!(
            "{} machine(s) started, {} scan(s) completed in {:.1}s: {:.1} scans/s, {:.0} requests/s, {} bytes",
            report.clients_started, report.scans_completed, report.elapsed_secs, report.scans_per_sec, report.requests_per_sec, report.bytes_transferred
        );
        for (op, l) in &report.latency {
            outln!("  {op:<24} n={:<7} p50 {:>7.1} ms  p95 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms", l.count, l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms);
        }
        for (kind, n) in &report.errors {
            outln!("  errors {kind}: {n}");
        }
    }
    anyhow::ensure!(report.errors.is_empty(), "{} machine(s) failed", report.errors.values().sum::<usize>());
    Ok(())
}

async fn soak_cmd(a: SoakArgs, trust: Trust) -> anyhow::Result<()> {
    let profile = Profile::builtin();
    let evaluator: Arc<dyn Evaluator> = Arc::new(RulesEvaluator::new(&profile));
    let cfg = SoakConfig {
        server: a.server.clone(),
        clients: a.clients,
        duration: Duration::from_secs(a.seconds),
        interval: Duration::from_secs(a.interval.max(1)),
        trust,
        watch_pid: a.watch_pid,
        sample_every: Duration::from_secs(a.sample.max(1)),
    };
    let report = soak::run(cfg, Arc::new(move |n| (profile.computer_info(&format!("soak{n:06}.sluice.test")), evaluator.clone()))).await;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        outln!(
            "{} machine(s) held for {:.0}s: {} served, {} scan(s) (at least {} each), {} requests",
            report.clients, report.elapsed_secs, report.clients_served, report.scans_completed, report.min_scans_per_client, report.requests
        );
        for (t, kib) in &report.rss_kib {
            outln!("  {t:>6.0}s  server RSS {:>7.1} MiB", *kib as f64 / 1024.0);
        }
        for (kind, n) in &report.errors {
            outln!("  errors {kind}: {n} ({})", report.error_examples.get(kind).map(String::as_str).unwrap_or(""));
        }
    }
    anyhow::ensure!(report.errors.is_empty(), "{} scan(s) failed", report.errors.values().sum::<usize>());
    Ok(())
}
