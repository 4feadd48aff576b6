//! `sluice approve` and `sluice decline` for several updates (ids, KB numbers or the filters
//! of `updates list`) and groups at once, through `POST /approvals/bulk`, one transaction per
//! call; `--dry-run` prints what would change.

use reqwest::Method;
use sluice_api::{BulkApprovalRequest, BulkApprovalResult};

use crate::Remote;
use crate::client::AdminClient;
use crate::finding_cmd::FilterArgs;

/// What a bulk call selects: updates by id or KB number, or a filter.
pub struct Selection<'a> {
    pub updates: &'a [String],
    pub kbs: &'a [String],
    pub filter: &'a FilterArgs,
}

impl Selection<'_> {
    fn into_request(self) -> anyhow::Result<BulkApprovalRequest> {
        let mut updates: Vec<String> = self.updates.to_vec();
        updates.extend(self.kbs.iter().map(|k| {
            let k = k.trim();
            if k.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("kb")) { k.to_string() } else { format!("KB{k}") }
        }));
        let filter = self.filter.any().then(|| self.filter.query());
        if filter.is_some() && !updates.is_empty() {
            anyhow::bail!("give updates (ids, --kb) or filters, not both");
        }
        if filter.is_none() && updates.is_empty() {
            anyhow::bail!("no updates: give update ids, --kb N or filters such as --classification");
        }
        Ok(BulkApprovalRequest { updates, filter, ..BulkApprovalRequest::default() })
    }
}

pub struct Approval {
    pub groups: Vec<String>,
    pub action: &'static str,
    pub deadline: Option<String>,
    pub accept_license: bool,
}

/// Sends one bulk call and prints its answer. `approval` is `None` for a decline.
pub async fn run(
    remote: &Remote,
    selection: Selection<'_>,
    approval: Option<Approval>,
    dry_run: bool,
    json: bool,
) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    let mut req = selection.into_request()?;
    req.dry_run = dry_run;
    match approval {
        Some(a) => {
            req.groups = a.groups;
            req.action = Some(a.action.to_string());
            req.deadline = a.deadline;
            req.accept_license = a.accept_license;
        }
        None => req.action = Some("decline".into()),
    }
    let r: BulkApprovalResult = client.send(client.request(Method::POST, "/approvals/bulk").json(&req)).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    let would = if r.dry_run { "would change" } else { "changed" };
    for c in r.changes.iter().filter(|c| c.changed) {
        let group = c.group.as_deref().map(|g| format!(" for '{g}'")).unwrap_or_default();
        let removed = if c.removed_approvals.is_empty() {
            String::new()
        } else {
            format!(" (approvals removed for: {})", c.removed_approvals.join(", "))
        };
        outln!("{} {}{group}: {} -> {}{removed}  {}", if r.dry_run { "would set" } else { "set" }, c.update_id, c.before, c.after, c.title);
    }
    outln!(
        "{} update(s) selected, {} {would}{}",
        r.updates,
        r.changed,
        if r.dry_run { " (dry run: nothing changed)" } else { "" }
    );
    Ok(())
}
