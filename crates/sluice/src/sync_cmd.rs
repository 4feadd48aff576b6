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
        SyncCommand::Products(o) => {
            let list: Value = client.send(client.request(reqwest::Method::GET, "/sync/products")).await?;
            if o.json {
                return print_json(&list);
            }
            outln!("{:<36}  {:<14} {:<8}  name", "id", "kind", "selected");
            for c in list.as_array().into_iter().flatten() {
                let selected = if c["selected"] == true { "yes" } else { "no" };
                let name = c["name"].as_str().unwrap_or("(not synchronised yet)");
                outln!("{:<36}  {:<14} {:<8}  {name}", s(&c["id"]), s(&c["kind"]), selected);
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
    // Names are resolved by the server, against the categories it has synchronised.
    let trimmed = |v: Vec<String>| v.into_iter().map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect::<Vec<_>>();
    if let Some(p) = a.products {
        cur["products"] = json!(trimmed(p));
    }
    if let Some(c) = a.classifications {
        cur["classifications"] = json!(trimmed(c));
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
    if let Some(path) = a.upstream_ca {
        cur["upstream_ca"] = if path.is_empty() {
            Value::Null
        } else {
            let pem = std::fs::read_to_string(&path).with_context(|| format!("--upstream-ca {path}: cannot read the CA file"))?;
            json!(pem)
        };
    }
    let saved: Value = client.send(client.request(reqwest::Method::PUT, "/sync/settings").json(&cur)).await?;
    if a.out.json {
        return print_json(&saved);
    }
    // The selection by name, as the next sync will use it.
    let st: Value = client.send(client.request(reqwest::Method::GET, "/sync/status")).await?;
    print_settings(&saved, &st["effective"]);
    Ok(())
}

fn print_settings(v: &Value, effective: &Value) {
    outln!("upstream:        {}", s(&v["upstream"]));
    outln!("mode:            {}", s(&v["mode"]));
    outln!("storage:         {}", s(&v["storage"]));
    let list = |k: &str| v[k].as_array().map(|a| a.iter().map(s).collect::<Vec<_>>().join(", ")).unwrap_or_default();
    outln!("products:        {}", effective_list(&effective["products"], "products"));
    outln!("classifications: {}", effective_list(&effective["classifications"], "classifications"));
    outln!("languages:       {}", list("languages"));
    match v["schedule"].as_object() {
        Some(sch) => outln!("schedule:        first at {} UTC, {} per day", s(&sch["first_sync"]), sch["per_day"]),
        None => outln!("schedule:        manual"),
    }
    if let Some(p) = v["proxy"].as_str() {
        outln!("proxy:           {p}");
    }
    if let Some(pem) = v["upstream_ca"].as_str() {
        let n = pem.matches("-----BEGIN CERTIFICATE-----").count();
        outln!("upstream CA:     {n} certificate(s) trusted besides the system's");
    }
}

/// One list of the status' effective selection: names (ids when a category is not known by
/// name), and where the list comes from.
fn effective_list(l: &Value, what: &str) -> String {
    let names: Vec<String> = l["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| i["name"].as_str().map(str::to_string).unwrap_or_else(|| s(&i["id"])))
        .collect();
    match (l["from_upstream"] == true, names.is_empty()) {
        (true, true) => "all the upstream offers (from upstream; none synchronised yet)".to_string(),
        (true, false) => format!("{} (from upstream)", names.join(", ")),
        (false, true) => format!("none selected: no updates are synchronised until {what} are chosen"),
        (false, false) => names.join(", "),
    }
}

fn print_status(st: &Value) {
    print_settings(&st["settings"], &st["effective"]);
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
