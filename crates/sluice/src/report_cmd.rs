//! `sluice report compliance|update U|computer C`: the compliance reports of
//! `GET /reports/…`, as a table, JSON or the server's CSV.

use clap::{Args, Subcommand, ValueEnum};
use reqwest::Method;
use sluice_api::{ComplianceReport, ComputerReport, ReportQuery, UpdateReport};

use crate::Remote;
use crate::client::AdminClient;

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Table,
    Json,
    Csv,
}

#[derive(Args, Debug)]
pub struct Common {
    /// table, json or csv
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Rows per page (1-10000)
    #[arg(long)]
    limit: Option<u32>,
    /// Rows to skip
    #[arg(long)]
    offset: Option<u32>,
}

#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// Per update: computers of a group that installed, need or failed it, or did not report
    Compliance {
        /// Group name or id [default: All Computers]
        #[arg(long)]
        group: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Which computers need (or failed, …) one update
    Update {
        /// Update id or KB number
        update: String,
        /// Group name or id [default: All Computers]
        #[arg(long)]
        group: Option<String>,
        /// needed (failed included), failed, installed, not_applicable or all
        #[arg(long, default_value = "needed")]
        state: String,
        #[command(flatten)]
        common: Common,
    },
    /// Every update one computer reported on
    Computer {
        /// Computer id
        computer: String,
        #[command(flatten)]
        common: Common,
    },
}

/// Path segments are user input: escape them.
fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

async fn fetch<T: serde::de::DeserializeOwned + serde::Serialize>(
    client: &AdminClient,
    path: &str,
    q: &ReportQuery,
    format: Format,
) -> anyhow::Result<Option<T>> {
    let rb = client.request(Method::GET, path).query(q);
    match format {
        Format::Csv => {
            let text = client.send_text(rb.header(reqwest::header::ACCEPT, "text/csv")).await?;
            print!("{text}");
            Ok(None)
        }
        Format::Json => {
            let v: T = client.send(rb).await?;
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(None)
        }
        Format::Table => Ok(Some(client.send(rb).await?)),
    }
}

pub async fn run(remote: &Remote, c: ReportCommand) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    match c {
        ReportCommand::Compliance { group, common } => {
            let q = ReportQuery { group, state: None, limit: common.limit, offset: common.offset };
            let Some(r) = fetch::<ComplianceReport>(&client, "/reports/compliance", &q, common.format).await? else {
                return Ok(());
            };
            outln!("{}: {} computer(s)", r.group, r.computers);
            outln!(
                "{:<36}  {:<10}  {:>9}  {:>7}  {:>6}  {:>8}  {:>12}  TITLE",
                "UPDATE ID", "KB", "INSTALLED", "NEEDED", "FAILED", "N/A", "NOT REPORTED"
            );
            for u in &r.updates {
                outln!(
                    "{:<36}  {:<10}  {:>9}  {:>7}  {:>6}  {:>8}  {:>12}  {}",
                    u.update_id,
                    u.kb_article.as_deref().unwrap_or("-"),
                    u.installed,
                    u.needed,
                    u.failed,
                    u.not_applicable,
                    u.not_reported,
                    u.title
                );
            }
            outln!("{} of {} update(s) from {}", r.updates.len(), r.total, r.offset);
        }
        ReportCommand::Update { update, group, state, common } => {
            let q = ReportQuery { group, state: Some(state), limit: common.limit, offset: common.offset };
            let path = format!("/reports/updates/{}", segment(&update));
            let Some(r) = fetch::<UpdateReport>(&client, &path, &q, common.format).await? else {
                return Ok(());
            };
            outln!("{} ({})", r.title, r.update_id);
            outln!(
                "{}: {} computer(s); installed {}, needed {}, failed {}, not applicable {}, not reported {}",
                r.group, r.computers, r.installed, r.needed, r.failed, r.not_applicable, r.not_reported
            );
            outln!("{:<38}  {:<32}  {:<24}  LAST EVENT", "COMPUTER ID", "NAME", "STATE");
            for c in &r.rows {
                outln!("{:<38}  {:<32}  {:<24}  {}", c.computer_id, c.dns_name.as_deref().unwrap_or("-"), c.state, c.last_event_time);
            }
            outln!("{} of {} computer(s) {}", r.rows.len(), r.total, r.state);
        }
        ReportCommand::Computer { computer, common } => {
            let q = ReportQuery { group: None, state: None, limit: common.limit, offset: common.offset };
            let path = format!("/reports/computers/{}", segment(&computer));
            let Some(r) = fetch::<ComputerReport>(&client, &path, &q, common.format).await? else {
                return Ok(());
            };
            outln!("{} ({})", r.dns_name.as_deref().unwrap_or("-"), r.computer_id);
            outln!(
                "groups {}; installed {}, needed {}, failed {}, not applicable {}",
                r.groups.join(", "), r.installed, r.needed, r.failed, r.not_applicable
            );
            outln!("{:<36}  {:<10}  {:<24}  TITLE", "UPDATE ID", "KB", "STATE");
            for u in &r.updates {
                outln!("{:<36}  {:<10}  {:<24}  {}", u.update_id, u.kb_article.as_deref().unwrap_or("-"), u.state, u.title);
            }
        }
    }
    Ok(())
}
