//! The e-mail notifications' subjects and bodies, composed from plain records, and when the
//! periodic status report is due. The server loads the records and sends the mail.

use sluice_api::ReportFrequency;
use time::{Duration, OffsetDateTime};

/// A message to send: subject and plain-text body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub subject: String,
    pub body: String,
}

/// An update a sync brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUpdate {
    pub update_id: String,
    pub title: String,
    /// The number only (`5012345`), when the update has one.
    pub kb: Option<String>,
    /// The classification's title, when known.
    pub classification: Option<String>,
}

/// One computer group's line of the status report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupStatus {
    /// Its path from "All Computers".
    pub group: String,
    pub computers: i64,
    /// Computers that report at least one update NotInstalled, Downloaded or
    /// InstalledPendingReboot (or Failed).
    pub needing_updates: i64,
    /// Computers that report at least one update Failed.
    pub failed_installs: i64,
}

/// How many updates the new-updates mail lists by name; the rest are counted.
const LISTED: usize = 500;

/// The mail announcing the updates one sync brought; `None` when there are none.
pub fn new_updates_mail(server: &str, updates: &[NewUpdate], finished_at: &str) -> Option<Mail> {
    if updates.is_empty() {
        return None;
    }
    let n = updates.len();
    let subject = format!("[Sluice {}] {n} new update{} synchronised", one_line(server), if n == 1 { "" } else { "s" });
    let mut body = format!("The synchronisation that finished at {finished_at} brought {n} new update{}:\n\n", if n == 1 { "" } else { "s" });
    let mut sorted: Vec<&NewUpdate> = updates.iter().collect();
    sorted.sort_by(|a, b| {
        (a.classification.as_deref(), a.title.as_str()).cmp(&(b.classification.as_deref(), b.title.as_str()))
    });
    for u in sorted.iter().take(LISTED) {
        let kb = u.kb.as_deref().map(|k| format!("KB{} ", one_line(k))).unwrap_or_default();
        let class = u.classification.as_deref().map(one_line).unwrap_or_else(|| "Unclassified".into());
        body.push_str(&format!("- {kb}{} [{class}]\n  {}\n", one_line(&u.title), u.update_id));
    }
    if n > LISTED {
        body.push_str(&format!("… and {} more (sluice updates list)\n", n - LISTED));
    }
    Some(Mail { subject, body })
}

/// The periodic status report: one line per computer group.
pub fn status_report_mail(server: &str, groups: &[GroupStatus], now: OffsetDateTime) -> Mail {
    let date = format!("{:04}-{:02}-{:02}", now.year(), u8::from(now.month()), now.day());
    let subject = format!("[Sluice {}] Status report {date}", one_line(server));
    let width = groups.iter().map(|g| g.group.chars().count()).max().unwrap_or(5).max(5);
    let mut body = format!("Computer groups on {date} (UTC):\n\n");
    body.push_str(&format!("{:<width$}  {:>9}  {:>15}  {:>15}\n", "Group", "Computers", "Needing updates", "Failed installs"));
    for g in groups {
        body.push_str(&format!(
            "{:<width$}  {:>9}  {:>15}  {:>15}\n",
            one_line(&g.group),
            g.computers,
            g.needing_updates,
            g.failed_installs
        ));
    }
    Mail { subject, body }
}

/// Whether the status report is due: a period after the last one, or after the report was
/// switched on when none was sent since.
pub fn status_report_due(
    frequency: ReportFrequency,
    last_sent: Option<OffsetDateTime>,
    enabled_at: OffsetDateTime,
    now: OffsetDateTime,
) -> bool {
    let period = match frequency {
        ReportFrequency::Off => return false,
        ReportFrequency::Daily => Duration::days(1),
        ReportFrequency::Weekly => Duration::weeks(1),
    };
    let base = match last_sent {
        Some(t) if t > enabled_at => t,
        _ => enabled_at,
    };
    now >= base + period
}

/// Text from the catalog or a setting on one line: a header or list line must not be split
/// (or a header injected) by a line break in a title.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn new_updates_mail_lists_titles_kbs_and_classifications() {
        assert_eq!(new_updates_mail("wsus1", &[], "x"), None);
        let updates = vec![
            NewUpdate { update_id: "u2".into(), title: "Defender update".into(), kb: Some("2267602".into()), classification: Some("Definition Updates".into()) },
            NewUpdate { update_id: "u1".into(), title: "Cumulative\r\nBcc: x".into(), kb: None, classification: None },
        ];
        let mail = new_updates_mail("wsus1", &updates, "2026-06-01T12:00:00Z").unwrap();
        assert_eq!(mail.subject, "[Sluice wsus1] 2 new updates synchronised");
        assert!(mail.body.contains("- KB2267602 Defender update [Definition Updates]\n  u2\n"), "{}", mail.body);
        assert!(mail.body.contains("- Cumulative  Bcc: x [Unclassified]"), "{}", mail.body);
    }

    #[test]
    fn status_report_has_a_line_per_group() {
        let groups = vec![
            GroupStatus { group: "All Computers".into(), computers: 3, needing_updates: 2, failed_installs: 1 },
            GroupStatus { group: "All Computers/Pilot".into(), computers: 1, needing_updates: 0, failed_installs: 0 },
        ];
        let mail = status_report_mail("wsus1", &groups, datetime!(2026-06-01 07:00 UTC));
        assert_eq!(mail.subject, "[Sluice wsus1] Status report 2026-06-01");
        let lines: Vec<&str> = mail.body.lines().collect();
        assert!(lines[2].starts_with("Group"));
        assert_eq!(lines[3].split_whitespace().collect::<Vec<_>>(), ["All", "Computers", "3", "2", "1"]);
        assert_eq!(lines[4].split_whitespace().collect::<Vec<_>>(), ["All", "Computers/Pilot", "1", "0", "0"]);
    }

    #[test]
    fn status_report_due_after_a_period() {
        let on = datetime!(2026-06-01 07:00 UTC);
        assert!(!status_report_due(ReportFrequency::Off, None, on, on + Duration::days(30)));
        assert!(!status_report_due(ReportFrequency::Daily, None, on, on + Duration::hours(23)));
        assert!(status_report_due(ReportFrequency::Daily, None, on, on + Duration::days(1)));
        let sent = on + Duration::days(1);
        assert!(!status_report_due(ReportFrequency::Daily, Some(sent), on, sent + Duration::hours(23)));
        assert!(!status_report_due(ReportFrequency::Weekly, Some(sent), on, sent + Duration::days(6)));
        assert!(status_report_due(ReportFrequency::Weekly, Some(sent), on, sent + Duration::days(7)));
        // Switched on again after an old report: counted from the switch.
        let later = on + Duration::days(30);
        assert!(!status_report_due(ReportFrequency::Daily, Some(sent), later, later + Duration::hours(1)));
    }
}
