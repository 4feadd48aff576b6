//! Compliance reports (`GET /reports/…`), as JSON and as CSV (`Accept: text/csv`; the CLI's
//! `--format csv` prints the same text).

use serde::{Deserialize, Serialize};

/// Query of the report routes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Group name or id: its direct members [default: All Computers].
    pub group: Option<String>,
    /// `/reports/updates/{id}`: needed (default; failed included) | failed | installed |
    /// not_applicable | all
    pub state: Option<String>,
    /// 1..=10000 [default: 1000]
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

/// One update in a group's compliance report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ComplianceRow {
    pub update_id: String,
    pub title: String,
    pub kb_article: Option<String>,
    /// Installed (pending reboot included).
    pub installed: i64,
    /// Needed, as WSUS counts it (failed included).
    pub needed: i64,
    pub failed: i64,
    pub not_applicable: i64,
    /// Computers of the group that have not reported on the update.
    pub not_reported: i64,
}

/// `GET /reports/compliance`: per update, how the computers of a group stand. Lists the
/// updates some computer of the group reported as applicable, most needed first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ComplianceReport {
    pub group_id: String,
    pub group: String,
    /// Computers in the group.
    pub computers: i64,
    /// Updates in the report (all pages).
    pub total: i64,
    pub limit: u32,
    pub offset: u32,
    pub updates: Vec<ComplianceRow>,
}

/// One computer in an update's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UpdateReportRow {
    pub computer_id: String,
    pub dns_name: Option<String>,
    pub state: String,
    pub last_event_time: String,
}

/// `GET /reports/updates/{id}`: which computers of a group need (or failed, …) an update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UpdateReport {
    pub update_id: String,
    pub title: String,
    pub kb_article: Option<String>,
    pub group_id: String,
    pub group: String,
    pub computers: i64,
    pub installed: i64,
    pub needed: i64,
    pub failed: i64,
    pub not_applicable: i64,
    pub not_reported: i64,
    /// The states listed.
    pub state: String,
    /// Computers in that state (all pages).
    pub total: i64,
    pub limit: u32,
    pub offset: u32,
    pub rows: Vec<UpdateReportRow>,
}

/// One update in a computer's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ComputerReportRow {
    pub update_id: String,
    pub title: String,
    pub kb_article: Option<String>,
    pub state: String,
    pub last_event_time: String,
}

/// `GET /reports/computers/{id}`: every update a computer reported on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ComputerReport {
    pub computer_id: String,
    pub dns_name: Option<String>,
    pub groups: Vec<String>,
    pub last_reported_status_time: Option<String>,
    pub installed: i64,
    pub needed: i64,
    pub failed: i64,
    pub not_applicable: i64,
    pub updates: Vec<ComputerReportRow>,
}

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. A leading
/// `=`, `+`, `-` or `@` is prefixed with `'` so spreadsheets do not run it as a formula.
fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn csv<const N: usize>(header: [&str; N], rows: impl Iterator<Item = [String; N]>) -> String {
    let mut out = header.join(",");
    out.push_str("\r\n");
    for r in rows {
        out.push_str(&r.iter().map(|f| field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

impl ComplianceReport {
    /// One line per update.
    pub fn to_csv(&self) -> String {
        csv(
            ["update_id", "title", "kb_article", "installed", "needed", "failed", "not_applicable", "not_reported"],
            self.updates.iter().map(|u| {
                [
                    u.update_id.clone(),
                    u.title.clone(),
                    opt(&u.kb_article),
                    u.installed.to_string(),
                    u.needed.to_string(),
                    u.failed.to_string(),
                    u.not_applicable.to_string(),
                    u.not_reported.to_string(),
                ]
            }),
        )
    }
}

impl UpdateReport {
    /// One line per computer listed.
    pub fn to_csv(&self) -> String {
        csv(
            ["computer_id", "dns_name", "state", "last_event_time"],
            self.rows
                .iter()
                .map(|r| [r.computer_id.clone(), opt(&r.dns_name), r.state.clone(), r.last_event_time.clone()]),
        )
    }
}

impl ComputerReport {
    /// One line per update.
    pub fn to_csv(&self) -> String {
        csv(
            ["update_id", "title", "kb_article", "state", "last_event_time"],
            self.updates.iter().map(|u| {
                [u.update_id.clone(), u.title.clone(), opt(&u.kb_article), u.state.clone(), u.last_event_time.clone()]
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=cmd()"), "'=cmd()");
    }
}

/// How the computers of one group stand (`GET /reports/summary`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GroupStandingView {
    pub group_id: String,
    pub group: String,
    /// Computers in the group, as targeting counts them.
    pub computers: i64,
    /// Computers that need at least one update (failed installs included).
    pub needing: i64,
    /// Computers with at least one failed install.
    pub failed: i64,
    /// Computers that have not reported any update status yet.
    pub not_reported: i64,
    /// Computers that reported and need nothing.
    pub up_to_date: i64,
}

/// `GET /reports/summary`: every computer group's standing, "All Computers" first, then
/// "Unassigned Computers", then the others by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FleetSummary {
    pub groups: Vec<GroupStandingView>,
}
