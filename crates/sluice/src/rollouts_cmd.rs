//! `sluice rollouts`: staged-rollout plans (rings of computer groups with a soak time each and
//! a failure threshold), putting updates on them, their status, and resume, skip and abort.

use clap::{Args, Subcommand};
use reqwest::Method;
use sluice_api::{CreatePlanRequest, PlanView, RingSpec, RolloutView, StartRolloutRequest};

use crate::Remote;
use crate::client::AdminClient;
use crate::targeting::segment;
use crate::terminal::output_text as print;

#[derive(Subcommand, Debug)]
pub enum RolloutsCommand {
    /// Create a plan: `--ring "Pilot:2d" --ring "Ring 1:3d" --ring "All Computers:0d" --max-failure 5%`
    Create(CreateArgs),
    /// List the plans
    List(JsonFlag),
    /// Delete a plan (no update may be on it, no rule may name it)
    Delete(PlanArg),
    /// Put updates on a plan: each is approved for the first ring now
    Start(StartArgs),
    /// Where each update on a plan is
    Status(JsonFlag),
    /// Resume a halted rollout (its current ring soaks again from now)
    Resume(IdArg),
    /// Move a rollout on to its next ring now, whatever its current ring reported
    Skip(IdArg),
    /// Stop a rollout where it is (the approvals it gave stay)
    Abort(IdArg),
}

#[derive(Args, Debug)]
pub struct JsonFlag {
    /// Print the admin API's JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct PlanArg {
    /// Plan name or id
    name: String,
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct IdArg {
    /// Rollout id (from `sluice rollouts status`)
    id: i64,
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Plan name
    name: String,
    /// A ring as GROUP:SOAK (soak as 2d, 36h, 90m, 0d), in order (repeatable)
    #[arg(long = "ring", required = true)]
    rings: Vec<String>,
    /// Largest share of a ring's reporting computers that may fail the installation (e.g. 5%)
    #[arg(long)]
    max_failure: String,
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct StartArgs {
    /// Plan name or id
    plan: String,
    /// Update ids
    #[arg(required = true)]
    updates: Vec<String>,
    /// Accept the updates' license terms
    #[arg(long)]
    accept_license: bool,
    #[arg(long)]
    json: bool,
}

/// `GROUP:SOAK`; the group name may itself contain colons, the soak time never does.
fn parse_ring(s: &str) -> anyhow::Result<RingSpec> {
    match s.rsplit_once(':') {
        Some((group, soak)) if !group.trim().is_empty() && !soak.trim().is_empty() => {
            Ok(RingSpec { group: group.trim().to_string(), soak: soak.trim().to_string() })
        }
        _ => anyhow::bail!("'{s}' is not a ring; write GROUP:SOAK, e.g. \"Pilot:2d\""),
    }
}

pub async fn run(remote: &Remote, c: RolloutsCommand) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    match c {
        RolloutsCommand::Create(a) => {
            let rings = a.rings.iter().map(|r| parse_ring(r)).collect::<anyhow::Result<Vec<_>>>()?;
            let req = CreatePlanRequest { name: a.name, rings, max_failure: a.max_failure };
            let v: PlanView = client.send(client.request(Method::POST, "/rollout-plans").json(&req)).await?;
            print(a.json, &v, |v| render_plans(std::slice::from_ref(v)))
        }
        RolloutsCommand::List(a) => {
            let v: Vec<PlanView> = client.send(client.request(Method::GET, "/rollout-plans")).await?;
            print(a.json, &v, |v| render_plans(v))
        }
        RolloutsCommand::Delete(a) => {
            let path = format!("/rollout-plans/{}", segment(&a.name));
            let v: PlanView = client.send(client.request(Method::DELETE, &path)).await?;
            print(a.json, &v, |v| format!("deleted rollout plan '{}'\n", crate::terminal::escape(&v.name)))
        }
        RolloutsCommand::Start(a) => {
            let req = StartRolloutRequest { plan: a.plan, updates: a.updates, accept_license: a.accept_license };
            let v: Vec<RolloutView> = client.send(client.request(Method::POST, "/rollouts").json(&req)).await?;
            print(a.json, &v, |v| render_rollouts(v))
        }
        RolloutsCommand::Status(a) => {
            let v: Vec<RolloutView> = client.send(client.request(Method::GET, "/rollouts")).await?;
            print(a.json, &v, |v| render_rollouts(v))
        }
        RolloutsCommand::Resume(a) => act(&client, a, "resume").await,
        RolloutsCommand::Skip(a) => act(&client, a, "skip").await,
        RolloutsCommand::Abort(a) => act(&client, a, "abort").await,
    }
}

async fn act(client: &AdminClient, a: IdArg, verb: &str) -> anyhow::Result<()> {
    let v: RolloutView = client.send(client.request(Method::POST, &format!("/rollouts/{}/{verb}", a.id))).await?;
    print(a.json, &v, |v| render_rollouts(std::slice::from_ref(v)))
}

fn render_plans(plans: &[PlanView]) -> String {
    let mut out = String::new();
    if plans.is_empty() {
        out.push_str("no rollout plans\n");
        return out;
    }
    for p in plans {
        let rings: Vec<String> = p.rings.iter().map(|r| format!("{} ({})", r.group, r.soak)).collect();
        push_line!(out, "{} (id {}): {}; at most {} failed per ring", p.name, p.id, rings.join(" → "), p.max_failure);
    }
    out
}

fn render_rollouts(list: &[RolloutView]) -> String {
    let mut out = String::new();
    if list.is_empty() {
        out.push_str("no update is on a rollout plan\n");
        return out;
    }
    push_line!(out, "{:>4}  {:<36}  {:<16}  {:<9}  {:<24}  {:>9}  {:>6}  SOAKS UNTIL", "ID", "UPDATE", "PLAN", "STATE", "RING", "INSTALLED", "FAILED");
    for r in list {
        push_line!(
            out,
            "{:>4}  {:<36}  {:<16}  {:<9}  {:<24}  {:>9}  {:>6}  {}",
            r.id,
            r.update_id,
            r.plan,
            r.state,
            format!("{}/{} {}", r.ring, r.rings, r.ring_group),
            r.installed,
            r.failed,
            r.soak_until
        );
        if let Some(reason) = &r.reason {
            push_line!(out, "      {}: {reason}", r.title);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_are_group_and_soak() {
        let r = parse_ring("All Computers:0d").unwrap();
        assert_eq!((r.group.as_str(), r.soak.as_str()), ("All Computers", "0d"));
        let r = parse_ring("Site: Paris:2d").unwrap();
        assert_eq!((r.group.as_str(), r.soak.as_str()), ("Site: Paris", "2d"));
        for bad in ["Pilot", "Pilot:", ":2d", ""] {
            assert!(parse_ring(bad).is_err(), "{bad}");
        }
        assert!(render_plans(&[]).contains("no rollout plans"));
        assert!(render_rollouts(&[]).contains("no update"));
    }
}
