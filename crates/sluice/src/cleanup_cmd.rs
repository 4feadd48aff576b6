//! `sluice cleanup`: self-maintenance (WSUS's Server Cleanup Wizard) now or as a dry run, its
//! daily schedule and thresholds, and the history of runs.

use anyhow::Context;
use clap::{Args, Subcommand};
use reqwest::Method;
use sluice_api::{CleanupReport, CleanupRequest, CleanupRunView, CleanupSettings, CleanupSettingsChange};

use crate::Remote;
use crate::client::AdminClient;

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CleanupArgs {
    #[command(subcommand)]
    command: Option<CleanupCommand>,
    /// Report what a cleanup would change and change nothing
    #[arg(long)]
    dry_run: bool,
    /// Print the admin API's JSON
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum CleanupCommand {
    /// Show or change the daily schedule and the thresholds (no options: show)
    Configure(ConfigureArgs),
    /// The recorded runs, newest first
    History {
        /// At most this many runs [default: 50]
        #[arg(long)]
        limit: Option<i64>,
        /// Print the admin API's JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
struct ConfigureArgs {
    /// Decline a superseded update once it has been superseded this many days
    #[arg(long, allow_negative_numbers = true)]
    superseded_days: Option<i64>,
    /// Remove computers that have not contacted the server for this many days
    #[arg(long, allow_negative_numbers = true)]
    stale_computer_days: Option<i64>,
    /// Run daily at HH:MM (UTC); switches the daily run on unless --off is given
    #[arg(long, value_name = "HH:MM")]
    schedule: Option<String>,
    /// No daily run (a run on demand still works)
    #[arg(long)]
    off: bool,
    /// Print the admin API's JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(remote: &Remote, a: CleanupArgs) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    match a.command {
        None => {
            let req = CleanupRequest { dry_run: a.dry_run };
            let report: CleanupReport = client.send(client.request(Method::POST, "/cleanup").json(&req)).await?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report_text(&report));
            }
        }
        Some(CleanupCommand::Configure(c)) => {
            let change = CleanupSettingsChange {
                enabled: if c.off { Some(false) } else { c.schedule.as_ref().map(|_| true) },
                schedule: c.schedule,
                superseded_days: c.superseded_days,
                stale_computer_days: c.stale_computer_days,
            };
            let settings: CleanupSettings = if change == CleanupSettingsChange::default() {
                client.send(client.request(Method::GET, "/cleanup/settings")).await?
            } else {
                client.send(client.request(Method::PUT, "/cleanup/settings").json(&change)).await?
            };
            if c.json {
                println!("{}", serde_json::to_string_pretty(&settings)?);
            } else {
                print!("{}", settings_text(&settings));
            }
        }
        Some(CleanupCommand::History { limit, json }) => {
            let mut rb = client.request(Method::GET, "/cleanup/history");
            if let Some(l) = limit {
                rb = rb.query(&[("limit", l)]);
            }
            let runs: Vec<CleanupRunView> = client.send(rb).await.context("reading the cleanup history")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&runs)?);
            } else {
                print!("{}", history_text(&runs));
            }
        }
    }
    Ok(())
}

fn settings_text(s: &CleanupSettings) -> String {
    let mut out = String::new();
    push_line!(out, "daily run:            {}", if s.enabled { format!("at {} UTC", s.schedule) } else { "off".into() });
    push_line!(out, "superseded for:       {} days", s.superseded_days);
    push_line!(out, "computers silent for: {} days", s.stale_computer_days);
    out
}

fn report_text(r: &CleanupReport) -> String {
    let mut out = String::new();
    let verb = if r.run.dry_run { "would" } else { "did" };
    push_line!(out, "cleanup run {} ({}):", r.run.id, if r.run.dry_run { "dry run, nothing changed" } else { "done" });
    for (what, list) in [("decline superseded", &r.superseded), ("decline expired", &r.expired)] {
        push_line!(out, "  {verb} {what}: {}", list.len());
        for u in list {
            push_line!(out, "    {}  {}", u.update_id, u.title);
        }
    }
    push_line!(out, "  {verb} delete unused files: {} ({} bytes)", r.files.len(), r.files.iter().map(|f| f.size).sum::<i64>());
    for f in &r.files {
        push_line!(out, "    {}  {}", f.sha1, f.file_name);
    }
    push_line!(out, "  {verb} remove silent computers: {}", r.computers.len());
    for c in &r.computers {
        push_line!(out, "    {}  {}  last contact {}", c.id, c.name.as_deref().unwrap_or("-"), c.last_contact);
    }
    push_line!(out, "  database compacted: {}", if r.run.compacted { "yes" } else { "no" });
    if let Some(e) = &r.run.error {
        push_line!(out, "  errors: {e}");
    }
    out
}

fn history_text(runs: &[CleanupRunView]) -> String {
    let mut out = String::new();
    if runs.is_empty() {
        out.push_str("no cleanup runs\n");
        return out;
    }
    push_line!(out, "{:>5}  {:<27}  {:<27}  {:<8}  {:<12}  {:>10}  {:>7}  {:>5}  {:>9}  {:<9}  ERROR", "ID", "STARTED", "FINISHED", "DRY RUN", "BY", "SUPERSEDED", "EXPIRED", "FILES", "COMPUTERS", "COMPACTED");
    for r in runs {
        push_line!(
            out,
            "{:>5}  {:<27}  {:<27}  {:<8}  {:<12}  {:>10}  {:>7}  {:>5}  {:>9}  {:<9}  {}",
            r.id,
            r.started_at,
            r.finished_at.as_deref().unwrap_or("-"),
            if r.dry_run { "yes" } else { "no" },
            r.requested_by,
            r.superseded_declined,
            r.expired_declined,
            r.files_deleted,
            r.computers_removed,
            if r.compacted { "yes" } else { "no" },
            r.error.as_deref().unwrap_or("")
        );
    }
    out
}
