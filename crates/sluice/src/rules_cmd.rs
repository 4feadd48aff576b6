//! `sluice rules`: automatic approval rules (WSUS's Options › Automatic Approvals) and WSUS's
//! two automatic options.

use clap::{Args, Subcommand};
use reqwest::Method;
use sluice_api::{AutoApprovalSettings, CreateRuleRequest, NamedRef, RuleDeadline, RuleRunView, RuleView, UpdateRuleRequest};

use crate::Remote;
use crate::client::AdminClient;
use crate::targeting::segment;
use crate::terminal::output_text as print;

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// Create a rule: updates of these classifications and products are approved for these
    /// groups (or put on a rollout plan) when they arrive
    Create(CreateArgs),
    /// List the rules
    List(JsonFlag),
    /// Change a rule (what is given is replaced)
    Update(UpdateArgs),
    /// Delete a rule
    Delete(NameArg),
    /// Run a rule now over every update in the catalog
    Run(NameArg),
    /// Show or set WSUS's automatic options
    Options(OptionsArgs),
}

#[derive(Args, Debug)]
pub struct JsonFlag {
    /// Print the admin API's JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct NameArg {
    /// Rule name or id
    name: String,
    /// Print the admin API's JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Rule name
    name: String,
    /// Classification name or id (repeatable; none = any)
    #[arg(long = "classification")]
    classifications: Vec<String>,
    /// Product or product family name or id (repeatable; none = any)
    #[arg(long = "product")]
    products: Vec<String>,
    /// Computer group approved for (repeatable)
    #[arg(long = "group")]
    groups: Vec<String>,
    /// Put matching updates on this rollout plan instead of approving groups
    #[arg(long)]
    plan: Option<String>,
    /// Deadline: this many days after the approval
    #[arg(long, requires = "deadline_time")]
    deadline_days: Option<u32>,
    /// Deadline: at this time of day (HH:MM, UTC)
    #[arg(long, requires = "deadline_days")]
    deadline_time: Option<String>,
    /// Create the rule disabled
    #[arg(long)]
    disabled: bool,
    /// Print the admin API's JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// Rule name or id
    name: String,
    /// New name
    #[arg(long)]
    rename: Option<String>,
    #[arg(long, conflicts_with = "disable")]
    enable: bool,
    #[arg(long)]
    disable: bool,
    /// Classifications (replaces the list; repeatable)
    #[arg(long = "classification")]
    classifications: Vec<String>,
    /// Match any classification
    #[arg(long, conflicts_with = "classifications")]
    any_classification: bool,
    /// Products (replaces the list; repeatable)
    #[arg(long = "product")]
    products: Vec<String>,
    /// Match any product
    #[arg(long, conflicts_with = "products")]
    any_product: bool,
    /// Groups (replaces the groups, drops a plan; repeatable)
    #[arg(long = "group", conflicts_with = "plan")]
    groups: Vec<String>,
    /// Rollout plan (replaces the groups)
    #[arg(long)]
    plan: Option<String>,
    #[arg(long, requires = "deadline_time")]
    deadline_days: Option<u32>,
    #[arg(long, requires = "deadline_days")]
    deadline_time: Option<String>,
    /// Remove the deadline
    #[arg(long, conflicts_with = "deadline_days")]
    no_deadline: bool,
    /// Print the admin API's JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct OptionsArgs {
    /// Approve new revisions of approved updates automatically (on|off)
    #[arg(long, value_parser = on_off)]
    approve_new_revisions: Option<bool>,
    /// Decline expired updates after each sync (on|off)
    #[arg(long, value_parser = on_off)]
    decline_expired: Option<bool>,
    /// Print the admin API's JSON
    #[arg(long)]
    json: bool,
}

fn on_off(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => Err(format!("'{s}': use on or off")),
    }
}

fn deadline(days: Option<u32>, time: Option<String>) -> Option<RuleDeadline> {
    match (days, time) {
        (Some(days), Some(time)) => Some(RuleDeadline { days, time }),
        _ => None,
    }
}

pub async fn run(remote: &Remote, c: RulesCommand) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    match c {
        RulesCommand::Create(a) => {
            let req = CreateRuleRequest {
                name: a.name,
                enabled: Some(!a.disabled),
                classifications: a.classifications,
                products: a.products,
                groups: a.groups,
                plan: a.plan,
                deadline: deadline(a.deadline_days, a.deadline_time),
            };
            let v: RuleView = client.send(client.request(Method::POST, "/approval-rules").json(&req)).await?;
            print(a.json, &v, |v| render_rules(std::slice::from_ref(v)))
        }
        RulesCommand::List(a) => {
            let v: Vec<RuleView> = client.send(client.request(Method::GET, "/approval-rules")).await?;
            print(a.json, &v, |v| render_rules(v))
        }
        RulesCommand::Update(a) => {
            let list = |v: Vec<String>, any: bool| if any { Some(Vec::new()) } else { (!v.is_empty()).then_some(v) };
            let req = UpdateRuleRequest {
                name: a.rename,
                enabled: if a.enable { Some(true) } else if a.disable { Some(false) } else { None },
                classifications: list(a.classifications, a.any_classification),
                products: list(a.products, a.any_product),
                groups: (!a.groups.is_empty()).then_some(a.groups),
                plan: a.plan,
                deadline: deadline(a.deadline_days, a.deadline_time),
                clear_deadline: a.no_deadline,
            };
            let path = format!("/approval-rules/{}", segment(&a.name));
            let v: RuleView = client.send(client.request(Method::PATCH, &path).json(&req)).await?;
            print(a.json, &v, |v| render_rules(std::slice::from_ref(v)))
        }
        RulesCommand::Delete(a) => {
            let path = format!("/approval-rules/{}", segment(&a.name));
            let v: RuleView = client.send(client.request(Method::DELETE, &path)).await?;
            print(a.json, &v, |v| format!("deleted rule '{}'\n", crate::terminal::escape(&v.name)))
        }
        RulesCommand::Run(a) => {
            let path = format!("/approval-rules/{}/run", segment(&a.name));
            let v: RuleRunView = client.send(client.request(Method::POST, &path)).await?;
            print(a.json, &v, render_run)
        }
        RulesCommand::Options(a) => {
            let mut current: AutoApprovalSettings = client.send(client.request(Method::GET, "/settings/auto-approval")).await?;
            if a.approve_new_revisions.is_some() || a.decline_expired.is_some() {
                current.approve_new_revisions = a.approve_new_revisions.unwrap_or(current.approve_new_revisions);
                current.decline_expired = a.decline_expired.unwrap_or(current.decline_expired);
                current = client.send(client.request(Method::PUT, "/settings/auto-approval").json(&current)).await?;
            }
            let on = |b: bool| if b { "on" } else { "off" };
            print(a.json, &current, |o| {
                format!(
                    "approve new revisions of approved updates: {}\ndecline expired updates after each sync: {}\n",
                    on(o.approve_new_revisions),
                    on(o.decline_expired)
                )
            })
        }
    }
}

fn names(list: &[NamedRef]) -> String {
    if list.is_empty() { "any".into() } else { list.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(", ") }
}

fn render_rules(rules: &[RuleView]) -> String {
    let mut out = String::new();
    if rules.is_empty() {
        out.push_str("no automatic approval rules\n");
        return out;
    }
    for r in rules {
        let target = match &r.plan {
            Some(p) => format!("rollout plan '{}'", p.name),
            None => format!("groups {}", names(&r.groups)),
        };
        push_line!(out, "{} (id {}, {})", r.name, r.id, if r.enabled { "enabled" } else { "disabled" });
        push_line!(out, "    classifications: {}", names(&r.classifications));
        push_line!(out, "    products:        {}", names(&r.products));
        push_line!(out, "    approves for:    {target}");
        if let Some(d) = &r.deadline {
            push_line!(out, "    deadline:        {} day(s) after approval, at {} UTC", d.days, d.time);
        }
        push_line!(out, "    on behalf of:    {}", r.owner);
    }
    out
}

fn render_run(run: &RuleRunView) -> String {
    let mut out = String::new();
    push_line!(
        out,
        "rule '{}': {} update(s) matched, {} approval(s) given, {} already approved, {} skipped",
        run.rule,
        run.matched,
        run.approved.len(),
        run.unchanged,
        run.skipped.len()
    );
    for a in &run.approved {
        push_line!(out, "  approved  {}  {}  for {}{}", a.update_id, a.title, a.target, a.deadline.as_deref().map(|d| format!(", deadline {d}")).unwrap_or_default());
    }
    for s in &run.skipped {
        push_line!(out, "  skipped   {}  {}  ({})", s.update_id, s.title, s.reason);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_and_runs_render_readably() {
        let rule: RuleView = serde_json::from_value(serde_json::json!({
            "id": 1, "name": "Security", "enabled": true,
            "classifications": [{"id": "0fa1201d-4330-4fa8-8ae9-b877473b6441", "name": "Security Updates"}],
            "products": [], "groups": [{"id": "g", "name": "Pilot"}], "plan": null,
            "deadline": {"days": 3, "time": "04:30"}, "owner": "admin",
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
        }))
        .unwrap();
        let text = render_rules(&[rule]);
        assert!(text.contains("Security Updates") && text.contains("products:        any") && text.contains("groups Pilot"), "{text}");
        assert!(text.contains("3 day(s) after approval, at 04:30"), "{text}");
        assert!(render_rules(&[]).contains("no automatic approval rules"));
        assert_eq!(on_off("ON"), Ok(true));
        assert!(on_off("maybe").is_err());
    }
}
