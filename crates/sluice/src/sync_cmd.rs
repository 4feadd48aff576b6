//! `sluice sync …`: upstream synchronisation settings, manual runs, status and history.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

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
    /// Product category ids, comma-separated (replaces the list)
    #[arg(long, value_delimiter = ',')]
    products: Option<Vec<String>>,
    /// Classification ids or names ("Security Updates"), comma-separated (replaces the list)
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
            let s: Value = client.send(client.request(reqwest::Method::GET, "/sync/status")).await?;
            if o.json {
                return print_json(&s);
            }
            print_status(&s);
            Ok(())
        }
        SyncCommand::History(a) => {
            let path = format!("/sync/history?limit={}", a.limit);
            let h: Value = client.send(client.request(reqwest::Method::GET, &path)).await?;
            if a.out.json {
                return print_json(&h);
            }
            outln!("{:<6} {:<25} {:<10} {:>6} {:>8} {:>8}  error", "id", "started", "result", "new", "revised", "expired");
            for r in h.as_array().into_iter().flatten() {
                outln!(
                    "{:<6} {:<25} {:<10} {:>6} {:>8} {:>8}  {}",
                    r["id"],
                    s(&r["started_at"]),
                    s(&r["result"]),
                    r["new_revisions"],
                    r["revised"],
                    r["expired"],
                    s(&r["error"])
                );
            }
            Ok(())
        }
    }
}

fn s(v: &Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_default()
}

fn print_json(v: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn classification_id(name_or_id: &str) -> anyhow::Result<String> {
    let t = name_or_id.trim();
    if uuid::Uuid::parse_str(t).is_ok() {
        return Ok(t.to_ascii_lowercase());
    }
    sluice_metadata::publish::WELL_KNOWN_CLASSIFICATIONS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(t))
        .map(|(_, id)| id.to_string())
        .with_context(|| format!("unknown classification {t:?}: give its id or one of the well-known names"))
}

async fn configure(client: &AdminClient, a: ConfigureArgs) -> anyhow::Result<()> {
    let mut cur: Value = client.send(client.request(reqwest::Method::GET, "/sync/settings")).await?;
    if let Some(u) = a.upstream {
        cur["upstream"] = json!(u);
    }
    if a.replica {
        cur["mode"] = json!("replica");
    }
    if a.autonomous {
        cur["mode"] = json!("autonomous");
    }
    if let Some(st) = a.storage {
        cur["storage"] = json!(st);
    }
    if let Some(p) = a.products {
        let ids = p
            .iter()
            .filter(|x| !x.trim().is_empty())
            .map(|x| uuid::Uuid::parse_str(x.trim()).map(|u| u.to_string()).with_context(|| format!("product {x:?} is not a category id")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        cur["products"] = json!(ids);
    }
    if let Some(c) = a.classifications {
        let ids = c.iter().filter(|x| !x.trim().is_empty()).map(|x| classification_id(x)).collect::<anyhow::Result<Vec<_>>>()?;
        cur["classifications"] = json!(ids);
    }
    if let Some(l) = a.languages {
        let l: Vec<String> = l.into_iter().map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect();
        cur["languages"] = json!(l);
    }
    if let (Some(time), Some(n)) = (a.schedule, a.per_day) {
        cur["schedule"] = json!({ "first_sync": time, "per_day": n });
    }
    if a.manual {
        cur["schedule"] = Value::Null;
    }
    if let Some(p) = a.proxy {
        cur["proxy"] = if p.is_empty() { Value::Null } else { json!(p) };
    }
    let saved: Value = client.send(client.request(reqwest::Method::PUT, "/sync/settings").json(&cur)).await?;
    if a.out.json {
        return print_json(&saved);
    }
    print_settings(&saved);
    Ok(())
}

fn print_settings(v: &Value) {
    outln!("upstream:        {}", s(&v["upstream"]));
    outln!("mode:            {}", s(&v["mode"]));
    outln!("storage:         {}", s(&v["storage"]));
    let list = |k: &str| v[k].as_array().map(|a| a.iter().map(s).collect::<Vec<_>>().join(", ")).unwrap_or_default();
    outln!("products:        {}", list("products"));
    outln!("classifications: {}", list("classifications"));
    outln!("languages:       {}", list("languages"));
    match v["schedule"].as_object() {
        Some(sch) => outln!("schedule:        first at {} UTC, {} per day", s(&sch["first_sync"]), sch["per_day"]),
        None => outln!("schedule:        manual"),
    }
    if let Some(p) = v["proxy"].as_str() {
        outln!("proxy:           {p}");
    }
}

fn print_status(st: &Value) {
    print_settings(&st["settings"]);
    match st["running"].as_object() {
        Some(j) => {
            let phase = st["progress"]["phase"].as_str().unwrap_or("");
            outln!("running:         job {} ({}) {phase} {}/{}", s(&j["id"]), s(&j["state"]), j["done"], j["total"]);
        }
        None => outln!("running:         no"),
    }
    match st["last"].as_object() {
        Some(l) => {
            outln!(
                "last sync:       {} {} at {}: {} new, {} revised, {} expired",
                l["id"],
                s(&l["result"]),
                s(&l["finished_at"]),
                l["new_revisions"],
                l["revised"],
                l["expired"]
            );
            if let Some(e) = l["error"].as_str() {
                outln!("last error:      {e}");
            }
        }
        None => outln!("last sync:       never"),
    }
}

async fn start(client: &AdminClient, a: StartArgs) -> anyhow::Result<()> {
    let job: Value = client.send(client.request(reqwest::Method::POST, "/sync/start")).await?;
    let job_id = s(&job["id"]);
    if !a.wait {
        if a.out.json {
            return print_json(&job);
        }
        outln!("sync job {job_id} {}", s(&job["state"]));
        return Ok(());
    }
    let tty = std::io::stderr().is_terminal() && !a.out.json;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let st: Value = client.send(client.request(reqwest::Method::GET, "/sync/status")).await?;
        let still = st["running"]["id"].as_str() == Some(job_id.as_str());
        if tty && still {
            let p = &st["progress"];
            // The carriage return is ours; the phase name is the server's and is escaped.
            let line = format!("\r{}", crate::terminal::escape(&format!("{:<14} {}/{}", s(&p["phase"]), p["done"], p["total"])));
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
        let h: Value = client.send(client.request(reqwest::Method::GET, "/sync/history?limit=1")).await?;
        let last = h.get(0).cloned().unwrap_or(Value::Null);
        if a.out.json {
            print_json(&last)?;
        } else {
            outln!(
                "sync {}: {} new, {} revised, {} expired",
                s(&last["result"]),
                last["new_revisions"],
                last["revised"],
                last["expired"]
            );
        }
        if last["result"] != "succeeded" {
            bail!("the sync failed: {}", s(&last["error"]));
        }
        return Ok(());
    }
}
