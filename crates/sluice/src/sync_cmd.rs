//! `sluice sync …`: upstream synchronisation settings, manual runs, status and history.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde::Serialize;
use sluice_api::sync::{
    EffectiveList, EffectiveSelection, JobView, KnownCategory, Schedule, StorageMode, SyncMode, SyncSettings, SyncStatus, SyncView,
};

use crate::client::AdminClient;
use crate::Remote;

#[derive(Subcommand, Debug)]
pub enum SyncCommand {
    /// Change the sync settings (only the options given change)
    Configure(ConfigureArgs),
    /// Start a sync now (or return the one queued or running)
    Start(StartArgs),
    /// Settings, the run in progress and the last result
    Status(OutputArgs),
    /// Past runs with their counts and errors
    History(HistoryArgs),
    /// Products and classifications known to this server (id, name, kind, selected)
    Products(OutputArgs),
}

#[derive(Args, Debug)]
pub struct ConfigureArgs {
    /// Upstream root URL: https://sws.update.microsoft.com or a WSUS/Sluice (http://wsus:8530)
    #[arg(long)]
    upstream: Option<String>,
    /// Take approvals from the upstream
    #[arg(long, conflicts_with = "autonomous")]
    replica: bool,
    /// Keep approvals local (the default)
    #[arg(long)]
    autonomous: bool,
    /// Where clients get files: none (Microsoft's URLs), all (download everything), approved
    #[arg(long, value_parser = ["none", "all", "approved"])]
    storage: Option<String>,
    /// Product ids or names (see `sluice sync products`), comma-separated (replaces the
    /// list; "" clears it). Needed from Microsoft Update; a downstream of a WSUS/Sluice
    /// upstream takes the upstream's products when the list is empty
    #[arg(long, value_delimiter = ',')]
    products: Option<Vec<String>>,
    /// Classification ids or names ("Security Updates"), comma-separated (replaces the list;
    /// "" clears it). Inherited from a WSUS/Sluice upstream when empty, as for products
    #[arg(long, value_delimiter = ',')]
    classifications: Option<Vec<String>>,
    /// Language codes (en,de,…), comma-separated; empty for all
    #[arg(long, value_delimiter = ',')]
    languages: Option<Vec<String>>,
    /// First daily sync, UTC, HH:MM
    #[arg(long, requires = "per_day")]
    schedule: Option<String>,
    /// Syncs per day (1-24)
    #[arg(long, requires = "schedule")]
    per_day: Option<u32>,
    /// Sync manually only (removes the schedule)
    #[arg(long, conflicts_with = "schedule")]
    manual: bool,
    /// HTTP proxy URL for upstream and content traffic ("" removes it)
    #[arg(long)]
    proxy: Option<String>,
    /// PEM file of the CA (or self-signed certificate) to trust for an https upstream, on top
    /// of the system's roots; read here and stored in the settings ("" removes it)
    #[arg(long, value_name = "FILE")]
    upstream_ca: Option<String>,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Args, Debug)]
pub struct StartArgs {
    /// Wait until the run ends (progress on a terminal); fails if the run fails
    #[arg(long)]
    wait: bool,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Args, Debug)]
pub struct OutputArgs {
    /// Print JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// Number of runs
    #[arg(long, default_value_t = 20)]
    limit: u32,
    #[command(flatten)]
    out: OutputArgs,
}

pub async fn run(remote: &Remote, c: SyncCommand) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    match c {
        SyncCommand::Configure(a) => configure(&client, a).await,
        SyncCommand::Start(a) => start(&client, a).await,
        SyncCommand::Status(o) => {
            let s: SyncStatus = client.send(client.request(reqwest::Method::GET, "/sync/status")).await?;
            if o.json {
                return print_json(&s);
            }
            print_status(&s);
            Ok(())
        }
        SyncCommand::History(a) => {
            let path = format!("/sync/history?limit={}", a.limit);
            let h: Vec<SyncView> = client.send(client.request(reqwest::Method::GET, &path)).await?;
            if a.out.json {
                return print_json(&h);
            }
            outln!("{:<6} {:<25} {:<10} {:>6} {:>8} {:>8}  error", "id", "started", "result", "new", "revised", "expired");
            for r in &h {
                outln!(
                    "{:<6} {:<25} {:<10} {:>6} {:>8} {:>8}  {}",
                    r.id,
                    r.started_at,
                    r.result,
                    r.new_revisions,
                    r.revised,
                    r.expired,
                    or_empty(&r.error)
                );
            }
            Ok(())
        }
        SyncCommand::Products(o) => {
            let list: Vec<KnownCategory> = client.send(client.request(reqwest::Method::GET, "/sync/products")).await?;
            if o.json {
                return print_json(&list);
            }
            outln!("{:<36}  {:<14} {:<8}  name", "id", "kind", "selected");
            for c in &list {
                let selected = if c.selected { "yes" } else { "no" };
                let name = c.name.as_deref().unwrap_or("(not synchronised yet)");
                outln!("{:<36}  {:<14} {:<8}  {name}", c.id, c.kind.as_str(), selected);
            }
            Ok(())
        }
    }
}

fn or_empty(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or_default()
}

/// Prints the server's answer as JSON. Keys come out in name order, as they did when these
/// answers were untyped, so scripts diffing the output see no change.
fn print_json<T: Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(&serde_json::to_value(v)?)?);
    Ok(())
}

async fn configure(client: &AdminClient, a: ConfigureArgs) -> anyhow::Result<()> {
    let mut cur: SyncSettings = client.send(client.request(reqwest::Method::GET, "/sync/settings")).await?;
    if let Some(u) = a.upstream {
        cur.upstream = u;
    }
    if a.replica {
        cur.mode = SyncMode::Replica;
    }
    if a.autonomous {
        cur.mode = SyncMode::Autonomous;
    }
    if let Some(st) = a.storage {
        // clap allows only these three.
        cur.storage = match st.as_str() {
            "none" => StorageMode::None,
            "all" => StorageMode::All,
            _ => StorageMode::Approved,
        };
    }
    // Names are resolved by the server, against the categories it has synchronised.
    let trimmed = |v: Vec<String>| v.into_iter().map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect::<Vec<_>>();
    if let Some(p) = a.products {
        cur.products = trimmed(p);
    }
    if let Some(c) = a.classifications {
        cur.classifications = trimmed(c);
    }
    if let Some(l) = a.languages {
        cur.languages = trimmed(l);
    }
    if let (Some(time), Some(n)) = (a.schedule, a.per_day) {
        cur.schedule = Some(Schedule { first_sync: time, per_day: n });
    }
    if a.manual {
        cur.schedule = None;
    }
    if let Some(p) = a.proxy {
        cur.proxy = if p.is_empty() { None } else { Some(p) };
    }
    if let Some(path) = a.upstream_ca {
        cur.upstream_ca = if path.is_empty() {
            None
        } else {
            Some(std::fs::read_to_string(&path).with_context(|| format!("--upstream-ca {path}: cannot read the CA file"))?)
        };
    }
    let saved: SyncSettings = client.send(client.request(reqwest::Method::PUT, "/sync/settings").json(&cur)).await?;
    if a.out.json {
        return print_json(&saved);
    }
    // The selection by name, as the next sync will use it.
    let st: SyncStatus = client.send(client.request(reqwest::Method::GET, "/sync/status")).await?;
    print_settings(&saved, &st.effective);
    Ok(())
}

fn print_settings(v: &SyncSettings, effective: &EffectiveSelection) {
    outln!("upstream:        {}", v.upstream);
    outln!("mode:            {}", v.mode.as_str());
    outln!("storage:         {}", v.storage.as_str());
    outln!("products:        {}", effective_list(&effective.products, "products"));
    outln!("classifications: {}", effective_list(&effective.classifications, "classifications"));
    outln!("languages:       {}", v.languages.join(", "));
    match &v.schedule {
        Some(sch) => outln!("schedule:        first at {} UTC, {} per day", sch.first_sync, sch.per_day),
        None => outln!("schedule:        manual"),
    }
    if let Some(p) = &v.proxy {
        outln!("proxy:           {p}");
    }
    if let Some(pem) = &v.upstream_ca {
        let n = pem.matches("-----BEGIN CERTIFICATE-----").count();
        outln!("upstream CA:     {n} certificate(s) trusted besides the system's");
    }
}

/// One list of the status' effective selection: names (ids when a category is not known by
/// name), and where the list comes from.
fn effective_list(l: &EffectiveList, what: &str) -> String {
    let names: Vec<&str> = l.items.iter().map(|i| i.name.as_deref().unwrap_or(&i.id)).collect();
    match (l.from_upstream, names.is_empty()) {
        (true, true) => "all the upstream offers (from upstream; none synchronised yet)".to_string(),
        (true, false) => format!("{} (from upstream)", names.join(", ")),
        (false, true) => format!("none selected: no updates are synchronised until {what} are chosen"),
        (false, false) => names.join(", "),
    }
}

fn print_status(st: &SyncStatus) {
    print_settings(&st.settings, &st.effective);
    match &st.running {
        Some(j) => {
            let phase = st.progress.as_ref().map(|p| p.phase.as_str()).unwrap_or("");
            outln!("running:         job {} ({}) {phase} {}/{}", j.id, j.state, j.done, j.total);
        }
        None => outln!("running:         no"),
    }
    match &st.last {
        Some(l) => {
            outln!(
                "last sync:       {} {} at {}: {} new, {} revised, {} expired",
                l.id,
                l.result,
                or_empty(&l.finished_at),
                l.new_revisions,
                l.revised,
                l.expired
            );
            if let Some(e) = &l.error {
                outln!("last error:      {e}");
            }
        }
        None => outln!("last sync:       never"),
    }
}

async fn start(client: &AdminClient, a: StartArgs) -> anyhow::Result<()> {
    let job: JobView = client.send(client.request(reqwest::Method::POST, "/sync/start")).await?;
    if !a.wait {
        if a.out.json {
            return print_json(&job);
        }
        outln!("sync job {} {}", job.id, job.state);
        return Ok(());
    }
    let tty = std::io::stderr().is_terminal() && !a.out.json;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let st: SyncStatus = client.send(client.request(reqwest::Method::GET, "/sync/status")).await?;
        let still = st.running.as_ref().is_some_and(|r| r.id == job.id);
        if tty && still {
            // The job's own counts until the server reports a phase.
            let (phase, done, total) = match (&st.progress, &st.running) {
                (Some(p), _) => (p.phase.as_str(), p.done, p.total),
                (None, Some(r)) => ("", r.done, r.total),
                (None, None) => ("", 0, 0),
            };
            // The carriage return is ours; the phase name is the server's and is escaped.
            let line = format!("\r{}", crate::terminal::escape(&format!("{phase:<14} {done}/{total}")));
            let mut err = std::io::stderr();
            let _ = write!(err, "{line:<60}");
            let _ = err.flush();
        }
        if still {
            continue;
        }
        if tty {
            errln!();
        }
        // The job left the queue: the newest history entry is its run.
        let h: Vec<SyncView> = client.send(client.request(reqwest::Method::GET, "/sync/history?limit=1")).await?;
        let last = h.into_iter().next();
        if a.out.json {
            print_json(&last)?;
        }
        let Some(last) = last else {
            bail!("sync job {} ended without a recorded run", job.id);
        };
        if !a.out.json {
            outln!("sync {}: {} new, {} revised, {} expired", last.result, last.new_revisions, last.revised, last.expired);
        }
        if last.result != "succeeded" {
            bail!("the sync failed: {}", or_empty(&last.error));
        }
        return Ok(());
    }
}
