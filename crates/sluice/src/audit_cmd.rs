//! `sluice audit`: who changed what through the admin API, when and from where; newest first.

use clap::Args;
use reqwest::Method;
use sluice_api::{AuditEntryView, AuditQuery};

use crate::Remote;
use crate::client::AdminClient;

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Entries at or after this time: RFC 3339 (2026-12-01T08:00:00Z) or a date (2026-12-01,
    /// midnight UTC)
    #[arg(long)]
    since: Option<String>,
    /// Only this user's changes
    #[arg(long)]
    user: Option<String>,
    /// At most this many entries [default: 100, at most 10000]
    #[arg(long)]
    limit: Option<i64>,
    /// Print the admin API's JSON
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print CSV (RFC 4180, header line first)
    #[arg(long)]
    csv: bool,
}

pub async fn run(remote: &Remote, a: AuditArgs) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    let q = AuditQuery { since: a.since, user: a.user, limit: a.limit };
    let entries: Vec<AuditEntryView> = client.send(client.request(Method::GET, "/audit").query(&q)).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else if a.csv {
        print!("{}", csv(&entries));
    } else {
        print!("{}", table(&entries));
    }
    Ok(())
}

fn table(entries: &[AuditEntryView]) -> String {
    let mut out = String::new();
    if entries.is_empty() {
        out.push_str("no audit entries\n");
        return out;
    }
    push_line!(out, "{:<20}  {:<16}  {:<15}  {:<16}  {:<36}  DETAIL", "AT", "USER", "ADDRESS", "ACTION", "TARGET");
    for e in entries {
        push_line!(
            out,
            "{:<20}  {:<16}  {:<15}  {:<16}  {:<36}  {}",
            e.at,
            e.user,
            e.address.as_deref().unwrap_or("-"),
            e.action,
            e.target,
            e.detail
        );
    }
    out
}

fn csv(entries: &[AuditEntryView]) -> String {
    let mut out = String::from("id,at,user,address,action,target,detail\r\n");
    for e in entries {
        let fields = [
            e.id.to_string(),
            e.at.clone(),
            e.user.clone(),
            e.address.clone().unwrap_or_default(),
            e.action.clone(),
            e.target.clone(),
            e.detail.clone(),
        ];
        let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

/// One CSV field: quoted when it holds a separator, quote or line break (quotes doubled), and
/// with a leading `'` when a spreadsheet would take it for a formula: a group name or detail
/// text is chosen by whoever made the change, and must not run in the reader's spreadsheet.
fn csv_field(f: &str) -> String {
    let f = if f.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{f}") } else { f.to_string() };
    if f.contains([',', '"', '\n', '\r']) { format!("\"{}\"", f.replace('"', "\"\"")) } else { f }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(csv_field("-1,5"), "\"'-1,5\"");
    }
}
