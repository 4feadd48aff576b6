//! Computer group, computer, approval, decline, targeting and status commands.

use clap::{Args, Subcommand, ValueEnum};
use reqwest::Method;
use sluice_api::*;

use crate::Remote;
use crate::client::AdminClient;
use crate::terminal::output;

fn or_dash(v: Option<&str>) -> &str {
    v.filter(|s| !s.is_empty()).unwrap_or("-")
}

/// Path segments are user input (group names with spaces, computer ids): escape them.
pub(crate) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ------------------------------------------------------------------ groups

#[derive(Subcommand, Debug)]
pub enum GroupsCommand {
    /// Create a computer group
    Create {
        name: String,
        /// Parent group name or id [default: All Computers]
        #[arg(long)]
        parent: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List computer groups as a tree
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete a computer group (its members without another group become unassigned)
    Delete {
        /// Group name or id
        name: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn groups(remote: &Remote, c: GroupsCommand) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    match c {
        GroupsCommand::Create { name, parent, json } => {
            let req = CreateGroupRequest { name, parent };
            let g: ComputerGroupView = client.send(client.request(Method::POST, "/groups").json(&req)).await?;
            output(json, &g, |g| outln!("created {} ({})", g.path, g.id))
        }
        GroupsCommand::List { json } => {
            let list: Vec<ComputerGroupView> = client.send(client.request(Method::GET, "/groups")).await?;
            output(json, &list, |list| {
                outln!("{:<44}  {:>9}  {:>9}  ID", "GROUP", "COMPUTERS", "APPROVALS");
                for g in list {
                    let depth = g.path.matches('/').count();
                    let label = format!(
                        "{}{}{}",
                        "  ".repeat(depth),
                        g.name,
                        if g.built_in { " (built-in)" } else { "" }
                    );
                    outln!("{label:<44}  {:>9}  {:>9}  {}", g.computers, g.approvals, g.id);
                }
            })
        }
        GroupsCommand::Delete { name, json } => {
            let d: DeletedGroup = client
                .send(client.request(Method::DELETE, &format!("/groups/{}", segment(&name))))
                .await?;
            output(json, &d, |d| {
                outln!("deleted '{}' ({} approval(s) removed)", d.name, d.removed_approvals);
                if !d.moved_to_unassigned.is_empty() {
                    outln!("moved to Unassigned Computers: {}", d.moved_to_unassigned.join(", "));
                }
            })
        }
    }
}

// ------------------------------------------------------------------ computers

#[derive(Subcommand, Debug)]
pub enum ComputersCommand {
    /// List computers
    List {
        /// Only the direct members of this group (name or id)
        #[arg(long)]
        group: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one computer: groups, effective approvals, reported states
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Set a computer's groups (server-side targeting)
    Move {
        id: String,
        /// Group name or id (repeatable); none makes it unassigned
        #[arg(long = "group")]
        groups: Vec<String>,
        #[arg(long)]
        json: bool,
    },
}

fn print_computers(list: &[ComputerView]) {
    outln!(
        "{:<38}  {:<28}  {:<16}  {:<20}  GROUPS",
        "COMPUTER ID", "NAME", "OS VERSION", "LAST SYNC"
    );
    for c in list {
        outln!(
            "{:<38}  {:<28}  {:<16}  {:<20}  {}",
            c.id,
            or_dash(c.dns_name.as_deref()),
            or_dash(c.os_version.as_deref()),
            or_dash(c.last_sync_time.as_deref()),
            c.groups.join(", ")
        );
    }
    outln!("{} computer(s)", list.len());
}

fn print_counts(c: &StatusCounts) -> String {
    format!(
        "installed {}, needed {}, failed {}, not applicable {}, unknown {}",
        c.installed + c.installed_pending_reboot,
        c.needed,
        c.failed,
        c.not_applicable,
        c.unknown
    )
}

pub async fn computers(remote: &Remote, c: ComputersCommand) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    match c {
        ComputersCommand::List { group, json } => {
            let mut rb = client.request(Method::GET, "/computers");
            if let Some(g) = &group {
                rb = rb.query(&[("group", g)]);
            }
            let list: Vec<ComputerView> = client.send(rb).await?;
            output(json, &list, |l| print_computers(l))
        }
        ComputersCommand::Show { id, json } => {
            let d: ComputerDetail = client
                .send(client.request(Method::GET, &format!("/computers/{}", segment(&id))))
                .await?;
            output(json, &d, |d| {
                let c = &d.computer;
                outln!("{}", or_dash(c.dns_name.as_deref()));
                outln!("  Computer ID:     {}", c.id);
                outln!("  Groups:          {}", c.groups.join(", "));
                outln!("  IP address:      {}", or_dash(c.ip_address.as_deref()));
                outln!(
                    "  OS:              {} ({})",
                    or_dash(c.os_description.as_deref()),
                    or_dash(c.os_version.as_deref())
                );
                outln!(
                    "  Hardware:        {} {}",
                    or_dash(d.manufacturer.as_deref()),
                    d.model.as_deref().unwrap_or("")
                );
                outln!("  Agent version:   {}", or_dash(c.client_version.as_deref()));
                outln!("  Registered:      {}", c.registered_at);
                outln!("  Last sync:       {}", or_dash(c.last_sync_time.as_deref()));
                outln!("  Last report:     {}", or_dash(c.last_reported_status_time.as_deref()));
                outln!("  Status:          {}", print_counts(&d.counts));
                if !d.approvals.is_empty() {
                    outln!("  Approved updates:");
                    for a in &d.approvals {
                        let deadline = a
                            .deadline
                            .as_deref()
                            .map(|d| format!(", deadline {d}"))
                            .unwrap_or_default();
                        outln!(
                            "    {}  {} (from '{}'{deadline})  {}",
                            a.update_id, a.action, a.group, a.title
                        );
                    }
                }
                if !d.status.is_empty() {
                    outln!("  Reported states:");
                    for s in &d.status {
                        outln!("    {}  {:<24}  {}", s.update_id, s.state, s.title);
                    }
                }
            })
        }
        ComputersCommand::Move { id, groups, json } => {
            let req = MoveComputerRequest { groups };
            let v: ComputerView = client
                .send(
                    client
                        .request(Method::POST, &format!("/computers/{}/move", segment(&id)))
                        .json(&req),
                )
                .await?;
            output(json, &v, |v| outln!("{} is now in: {}", v.id, v.groups.join(", ")))
        }
    }
}

// ------------------------------------------------------------------ approvals

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionArg {
    Install,
    Uninstall,
    NotApproved,
}

impl ActionArg {
    fn api(self) -> &'static str {
        match self {
            ActionArg::Install => "install",
            ActionArg::Uninstall => "uninstall",
            ActionArg::NotApproved => "not_approved",
        }
    }
}

/// A deadline as typed, checked here so a typo fails before anything is sent, and sent in UTC.
fn parse_deadline(s: &str) -> Result<String, String> {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(s.trim(), &Rfc3339)
        .ok()
        .and_then(|t| t.to_offset(time::UtcOffset::UTC).format(&Rfc3339).ok())
        .ok_or_else(|| format!("'{s}' is not an RFC 3339 date-time such as 2026-05-01T18:00:00Z"))
}

#[derive(Args, Debug)]
pub struct ApproveArgs {
    /// Update ids or KB numbers
    updates: Vec<String>,
    /// KB number of an update to approve (repeatable)
    #[arg(long = "kb")]
    kbs: Vec<String>,
    #[command(flatten)]
    filter: crate::finding_cmd::FilterArgs,
    /// Computer group name or id (repeatable)
    #[arg(long = "group", required = true)]
    groups: Vec<String>,
    #[arg(long, value_enum, default_value = "install")]
    action: ActionArg,
    /// Print what would change, change nothing
    #[arg(long)]
    dry_run: bool,
    /// Installation deadline, RFC 3339 (e.g. 2026-05-01T18:00:00Z); a past one means "now"
    #[arg(long, value_parser = parse_deadline)]
    deadline: Option<String>,
    /// Accept the update's license terms (recorded under your name)
    #[arg(long)]
    accept_license: bool,
    #[arg(long)]
    json: bool,
}

fn print_approvals(list: &[ApprovalView]) {
    outln!(
        "{:<36}  {:<22}  {:<12}  {:<20}  {:<12}  TITLE",
        "UPDATE ID", "GROUP", "ACTION", "DEADLINE", "BY"
    );
    for a in list {
        outln!(
            "{:<36}  {:<22}  {:<12}  {:<20}  {:<12}  {}",
            a.update_id,
            a.group,
            a.action,
            or_dash(a.deadline.as_deref()),
            a.approved_by,
            a.title
        );
    }
    outln!("{} approval(s)", list.len());
}

pub async fn approve(remote: &Remote, a: ApproveArgs) -> anyhow::Result<()> {
    // One update for one group keeps the single approval's route and answer.
    let single = a.updates.len() == 1 && a.kbs.is_empty() && !a.filter.any() && a.groups.len() == 1 && !a.dry_run;
    if !single {
        let selection = crate::bulk_cmd::Selection { updates: &a.updates, kbs: &a.kbs, filter: &a.filter };
        let approval = crate::bulk_cmd::Approval {
            groups: a.groups,
            action: a.action.api(),
            deadline: a.deadline,
            accept_license: a.accept_license,
        };
        return crate::bulk_cmd::run(remote, selection, Some(approval), a.dry_run, a.json).await;
    }
    let client = AdminClient::from_remote(remote)?;
    let req = ApprovalRequest {
        update: a.updates[0].clone(),
        group: a.groups[0].clone(),
        action: Some(a.action.api().to_string()),
        deadline: a.deadline,
        accept_license: a.accept_license,
    };
    let v: ApprovalView = client
        .send(client.request(Method::POST, "/approvals").json(&req))
        .await?;
    output(a.json, &v, |v| {
        let deadline = v
            .deadline
            .as_deref()
            .map(|d| format!(", deadline {d}"))
            .unwrap_or_default();
        outln!("{} {} for '{}'{deadline}: {}", v.update_id, v.action, v.group, v.title);
        if let (Some(by), Some(at)) = (&v.license_accepted_by, &v.license_accepted_at) {
            outln!("license terms accepted by {by} at {at}");
        }
    })
}

#[derive(Subcommand, Debug)]
pub enum ApprovalsCommand {
    /// List approvals
    List {
        /// Only this update's
        #[arg(long)]
        update: Option<String>,
        /// Only this group's own (name or id)
        #[arg(long)]
        group: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Remove a group's approval of an update (the group inherits its parent's again)
    Remove {
        update: String,
        #[arg(long)]
        group: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn approvals(remote: &Remote, c: ApprovalsCommand) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    match c {
        ApprovalsCommand::List { update, group, json } => {
            let q = ApprovalQuery { update, group };
            let list: Vec<ApprovalView> = client.send(client.request(Method::GET, "/approvals").query(&q)).await?;
            output(json, &list, |l| print_approvals(l))
        }
        ApprovalsCommand::Remove { update, group, json } => {
            let q = ApprovalQuery {
                update: Some(update),
                group: Some(group),
            };
            let v: ApprovalView = client
                .send(client.request(Method::DELETE, "/approvals").query(&q))
                .await?;
            output(json, &v, |v| {
                outln!("removed the {} approval of {} for '{}'", v.action, v.update_id, v.group)
            })
        }
    }
}

#[derive(Args, Debug)]
pub struct DeclineArgs {
    /// Update ids or KB numbers
    updates: Vec<String>,
    /// KB number of an update to decline (repeatable)
    #[arg(long = "kb")]
    kbs: Vec<String>,
    #[command(flatten)]
    filter: crate::finding_cmd::FilterArgs,
    /// Print what would change, change nothing
    #[arg(long)]
    dry_run: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct UndeclineArgs {
    /// Update id
    update: String,
    #[arg(long)]
    json: bool,
}

pub async fn decline(remote: &Remote, a: DeclineArgs) -> anyhow::Result<()> {
    if a.updates.len() == 1 && a.kbs.is_empty() && !a.filter.any() && !a.dry_run {
        let single = UndeclineArgs { update: a.updates[0].clone(), json: a.json };
        return decline_one(remote, single, false).await;
    }
    let selection = crate::bulk_cmd::Selection { updates: &a.updates, kbs: &a.kbs, filter: &a.filter };
    crate::bulk_cmd::run(remote, selection, None, a.dry_run, a.json).await
}

pub async fn decline_one(remote: &Remote, a: UndeclineArgs, undo: bool) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    let verb = if undo { "undecline" } else { "decline" };
    let v: DeclineView = client
        .send(client.request(Method::POST, &format!("/updates/{}/{verb}", segment(&a.update))))
        .await?;
    output(a.json, &v, |v| {
        match (v.declined, v.changed) {
            (true, true) => outln!("declined {}: {}", v.update_id, v.title),
            (true, false) => outln!(
                "{} was already declined (by {} at {})",
                v.update_id,
                or_dash(v.declined_by.as_deref()),
                or_dash(v.declined_at.as_deref())
            ),
            (false, true) => outln!("{} is no longer declined (and not approved anywhere)", v.update_id),
            (false, false) => outln!("{} was not declined", v.update_id),
        }
        if !v.removed_approvals.is_empty() {
            outln!("approvals removed for: {}", v.removed_approvals.join(", "));
        }
    })
}

// ------------------------------------------------------------------ targeting mode

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeArg {
    /// Administrators assign computers to groups
    Server,
    /// Computers join the groups their TargetGroup policy names
    Client,
}

#[derive(Subcommand, Debug)]
pub enum TargetingCommand {
    /// Show the targeting mode
    Get {
        #[arg(long)]
        json: bool,
    },
    /// Set the targeting mode
    Set {
        #[arg(value_enum)]
        mode: ModeArg,
        #[arg(long)]
        json: bool,
    },
}

pub async fn targeting(remote: &Remote, c: TargetingCommand) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    let (settings, json): (TargetingSettings, bool) = match c {
        TargetingCommand::Get { json } => (
            client.send(client.request(Method::GET, "/settings/targeting")).await?,
            json,
        ),
        TargetingCommand::Set { mode, json } => {
            let mode = match mode {
                ModeArg::Server => TargetingMode::Server,
                ModeArg::Client => TargetingMode::Client,
            };
            let req = TargetingSettings { mode };
            (
                client
                    .send(client.request(Method::PUT, "/settings/targeting").json(&req))
                    .await?,
                json,
            )
        }
    };
    output(json, &settings, |s| outln!("{}", s.mode.as_str()))
}

// ------------------------------------------------------------------ status

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Only this update
    #[arg(long)]
    update: Option<String>,
    /// Only this computer
    #[arg(long)]
    computer: Option<String>,
    /// Only the direct members of this group (name or id)
    #[arg(long)]
    group: Option<String>,
    #[arg(long)]
    json: bool,
}

pub async fn status(remote: &Remote, a: StatusArgs) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    let q = StatusQuery {
        update: a.update,
        computer: a.computer,
        group: a.group,
    };
    let r: StatusReport = client.send(client.request(Method::GET, "/status").query(&q)).await?;
    output(a.json, &r, |r| {
        outln!("{} computer(s) in scope", r.computers_in_scope);
        outln!();
        outln!(
            "{:<36}  {:>9}  {:>6}  {:>6}  {:>6}  {:>9}  TITLE",
            "UPDATE ID", "INSTALLED", "NEEDED", "FAILED", "N/A", "NO STATUS"
        );
        for u in &r.updates {
            let c = &u.counts;
            outln!(
                "{:<36}  {:>9}  {:>6}  {:>6}  {:>6}  {:>9}  {}",
                u.update_id,
                c.installed + c.installed_pending_reboot,
                c.needed,
                c.failed,
                c.not_applicable,
                u.no_status,
                u.title
            );
        }
        outln!();
        outln!(
            "{:<38}  {:<28}  {:>9}  {:>6}  {:>6}  LAST REPORT",
            "COMPUTER ID", "NAME", "INSTALLED", "NEEDED", "FAILED"
        );
        for c in &r.computers {
            let n = &c.counts;
            outln!(
                "{:<38}  {:<28}  {:>9}  {:>6}  {:>6}  {}",
                c.computer_id,
                or_dash(c.dns_name.as_deref()),
                n.installed + n.installed_pending_reboot,
                n.needed,
                n.failed,
                or_dash(c.last_reported_status_time.as_deref())
            );
        }
        if !r.entries.is_empty() {
            outln!();
            outln!("{:<38}  {:<36}  {:<24}  REPORTED", "COMPUTER ID", "UPDATE ID", "STATE");
            for e in &r.entries {
                outln!(
                    "{:<38}  {:<36}  {:<24}  {}",
                    e.computer_id, e.update_id, e.state, e.last_event_time
                );
            }
        }
    })
}
