//! Staged rollouts: plans of rings (computer groups with a soak time each, and a failure
//! threshold), updates put on a plan by an administrator or an automatic approval rule,
//! approved ring by ring, and the evaluation that moves them on. When a rollout moves is
//! `sluice_decide::rollouts`; the server calls [`Catalog::evaluate_rollouts`] periodically.
//!
//! A rollout only ever adds approvals: ring 2 is approved in addition to ring 1. Aborting one
//! stops it where it is and keeps the approvals it gave (remove them with `sluice unapprove`
//! if the update must be withdrawn).

use std::collections::{HashMap, HashSet};

use sluice_decide::rollouts::{self as decide, RingStats, Step};
use sluice_store::{ComputerGroup, InstallState, PlanRing, Revision, Rollout, RolloutMove, RolloutPlan, RolloutState};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::api::{ApprovalRequest, CreatePlanRequest, PlanView, RingView, RolloutView, StartRolloutRequest};
use crate::auto_approval::check_name;
use crate::times::format_utc;
use crate::{Catalog, CatalogError, conflict, invalid};

/// Most rings in one plan.
const MAX_RINGS: usize = 32;
/// Most updates put on a plan in one request.
const MAX_UPDATES_PER_START: usize = 1_000;

fn group_name(groups: &[ComputerGroup], id: Uuid) -> String {
    groups.iter().find(|g| g.id == id).map(|g| g.name.clone()).unwrap_or_else(|| format!("(deleted group {id})"))
}

fn plan_view(p: &RolloutPlan, groups: &[ComputerGroup]) -> PlanView {
    let bp = p.max_failure_bp.clamp(0, decide::MAX_BASIS_POINTS as i32) as u32;
    PlanView {
        id: p.id,
        name: p.name.clone(),
        rings: p
            .rings
            .iter()
            .map(|r| RingView {
                group_id: r.group_id.to_string(),
                group: group_name(groups, r.group_id),
                soak: decide::duration_text(Duration::seconds(r.soak_secs)),
                soak_secs: r.soak_secs,
            })
            .collect(),
        max_failure: decide::percent_text(bp),
        max_failure_basis_points: bp,
        created_by: p.created_by.clone(),
        created_at: format_utc(p.created_at),
    }
}

impl Catalog {
    /// A plan by name (case-insensitive) or id.
    pub(crate) async fn find_plan(&self, wanted: &str) -> Result<RolloutPlan, CatalogError> {
        let w = wanted.trim();
        let plans = self.store.rollout_plans().await?;
        let id = w.parse::<i64>().ok();
        plans
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(w))
            .or_else(|| plans.iter().find(|p| Some(p.id) == id))
            .cloned()
            .ok_or_else(|| CatalogError::NotFound(format!("rollout plan '{w}'")))
    }

    pub async fn list_plans(&self) -> Result<Vec<PlanView>, CatalogError> {
        let groups = self.groups().await?;
        Ok(self.store.rollout_plans().await?.iter().map(|p| plan_view(p, &groups)).collect())
    }

    pub async fn create_plan(&self, req: &CreatePlanRequest, by: &str) -> Result<PlanView, CatalogError> {
        self.refuse_on_replica().await?;
        let name = req.name.trim();
        check_name("rollout plan", name)?;
        if self.store.rollout_plans().await?.iter().any(|p| p.name.eq_ignore_ascii_case(name)) {
            return Err(conflict(format!("a rollout plan named '{name}' already exists")));
        }
        if req.rings.is_empty() {
            return Err(invalid("a rollout plan needs at least one ring"));
        }
        if req.rings.len() > MAX_RINGS {
            return Err(invalid(format!("a rollout plan has at most {MAX_RINGS} rings")));
        }
        let bp = decide::parse_percent(&req.max_failure).map_err(invalid)?;
        let groups = self.groups().await?;
        let mut rings: Vec<PlanRing> = Vec::with_capacity(req.rings.len());
        for r in &req.rings {
            let group = Self::find_group(&groups, &r.group)?;
            if rings.iter().any(|x| x.group_id == group.id) {
                return Err(invalid(format!("the computer group '{}' is a ring of this plan twice", group.name)));
            }
            let soak = decide::parse_duration(&r.soak).map_err(invalid)?;
            rings.push(PlanRing { group_id: group.id, soak_secs: soak.whole_seconds() });
        }
        let plan = self.store.create_rollout_plan(name, &rings, bp as i32, by).await?;
        Ok(plan_view(&plan, &groups))
    }

    pub async fn delete_plan(&self, wanted: &str) -> Result<PlanView, CatalogError> {
        self.refuse_on_replica().await?;
        let plan = self.find_plan(wanted).await?;
        self.store.delete_rollout_plan(plan.id).await?;
        Ok(plan_view(&plan, &self.groups().await?))
    }

    /// Puts updates on a plan: each is approved for the plan's first ring now. All updates are
    /// checked before any is started.
    pub async fn start_rollouts(&self, req: &StartRolloutRequest, by: &str, now: OffsetDateTime) -> Result<Vec<RolloutView>, CatalogError> {
        self.refuse_on_replica().await?;
        if req.updates.is_empty() {
            return Err(invalid("name at least one update to put on the plan"));
        }
        if req.updates.len() > MAX_UPDATES_PER_START {
            return Err(invalid(format!("at most {MAX_UPDATES_PER_START} updates per request")));
        }
        let plan = self.find_plan(&req.plan).await?;
        let active: HashSet<Uuid> =
            self.store.rollouts().await?.into_iter().filter(|r| r.state.is_active()).map(|r| r.update_id).collect();
        let mut revisions: Vec<Revision> = Vec::new();
        for u in &req.updates {
            let rev = self.approvable_revision(u).await?;
            if active.contains(&rev.update_id) {
                return Err(conflict(format!("update {} is already on a rollout plan", rev.update_id)));
            }
            if self.store.is_declined(rev.update_id).await? {
                return Err(conflict(format!("update {} is declined; un-decline it first", rev.update_id)));
            }
            if !revisions.iter().any(|r| r.update_id == rev.update_id) {
                revisions.push(rev);
            }
        }
        let on_behalf = req.accept_license.then_some(by);
        let mut started = Vec::new();
        for rev in &revisions {
            started.push(self.start_rollout_on(&plan, rev, by, on_behalf, now).await?);
        }
        let mut out = Vec::new();
        for r in &started {
            out.push(self.rollout_view(r).await?);
        }
        Ok(out)
    }

    /// Approves the update for the plan's first ring and records the rollout. `on_behalf`
    /// accepts license terms for that administrator (rules, or `accept_license`).
    pub(crate) async fn start_rollout_on(
        &self,
        plan: &RolloutPlan,
        rev: &Revision,
        by: &str,
        on_behalf: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Rollout, CatalogError> {
        let first = plan.rings.first().ok_or_else(|| invalid(format!("rollout plan '{}' has no rings", plan.name)))?;
        self.approve_ring(plan, rev.update_id, first.group_id, on_behalf).await?;
        let rollout = self.store.start_rollout(plan.id, rev.update_id, by, now).await?;
        if plan.rings.len() == 1 {
            let done = RolloutMove { ring: 0, ring_started_at: now, state: RolloutState::Completed, reason: None };
            return Ok(self.store.move_rollout(rollout.id, 0, RolloutState::Running, &done).await?.unwrap_or(rollout));
        }
        Ok(rollout)
    }

    async fn approve_ring(&self, plan: &RolloutPlan, update: Uuid, group: Uuid, on_behalf: Option<&str>) -> Result<(), CatalogError> {
        let req = ApprovalRequest {
            update: update.to_string(),
            group: group.to_string(),
            action: None,
            deadline: None,
            accept_license: on_behalf.is_some(),
        };
        self.approve_as(&req, &format!("rollout:{}", plan.name), on_behalf).await?;
        Ok(())
    }

    /// What the computers of `group` (members of it or of a group under it) reported for the
    /// update.
    async fn ring_stats(&self, update: Uuid, group: Uuid) -> Result<RingStats, CatalogError> {
        let members: HashSet<String> = match self.list_computers(Some(&group.to_string())).await {
            Ok(list) => list.into_iter().map(|c| c.id).collect(),
            Err(CatalogError::NotFound(_)) => HashSet::new(),
            Err(e) => return Err(e),
        };
        let mut stats = RingStats::default();
        for s in self.store.status_for_update(update).await? {
            if !members.contains(&s.computer_id) {
                continue;
            }
            match s.state {
                InstallState::Installed | InstallState::InstalledPendingReboot => stats.installed += 1,
                InstallState::Failed => stats.failed += 1,
                _ => {}
            }
        }
        Ok(stats)
    }

    async fn rollout_view(&self, r: &Rollout) -> Result<RolloutView, CatalogError> {
        let plans = self.store.rollout_plans().await?;
        let groups = self.groups().await?;
        self.rollout_view_with(r, &plans, &groups).await
    }

    async fn rollout_view_with(&self, r: &Rollout, plans: &[RolloutPlan], groups: &[ComputerGroup]) -> Result<RolloutView, CatalogError> {
        let plan = plans.iter().find(|p| p.id == r.plan_id);
        let ring = plan.and_then(|p| p.rings.get(r.ring.max(0) as usize)).copied();
        let stats = match ring {
            Some(ring) => self.ring_stats(r.update_id, ring.group_id).await?,
            None => RingStats::default(),
        };
        let title = self.store.latest_revision(r.update_id).await?.map(|rev| rev.title).unwrap_or_default();
        Ok(RolloutView {
            id: r.id,
            update_id: r.update_id.to_string(),
            title,
            plan: plan.map(|p| p.name.clone()).unwrap_or_default(),
            ring: r.ring.max(0) as usize + 1,
            rings: plan.map(|p| p.rings.len()).unwrap_or(0),
            ring_group: ring.map(|x| group_name(groups, x.group_id)).unwrap_or_default(),
            state: r.state.as_str().to_string(),
            reason: r.reason.clone(),
            ring_started_at: format_utc(r.ring_started_at),
            soak_until: format_utc(r.ring_started_at + Duration::seconds(ring.map(|x| x.soak_secs).unwrap_or(0))),
            installed: stats.installed,
            failed: stats.failed,
            started_by: r.started_by.clone(),
            started_at: format_utc(r.started_at),
        })
    }

    /// Every rollout, newest first, with its current ring's reports.
    pub async fn rollouts_status(&self) -> Result<Vec<RolloutView>, CatalogError> {
        let plans = self.store.rollout_plans().await?;
        let groups = self.groups().await?;
        let mut out = Vec::new();
        for r in self.store.rollouts().await? {
            out.push(self.rollout_view_with(&r, &plans, &groups).await?);
        }
        Ok(out)
    }

    async fn rollout_and_plan(&self, id: i64) -> Result<(Rollout, RolloutPlan), CatalogError> {
        let r = self.store.rollout(id).await?.ok_or_else(|| CatalogError::NotFound(format!("rollout {id}")))?;
        let plan = self
            .store
            .rollout_plans()
            .await?
            .into_iter()
            .find(|p| p.id == r.plan_id)
            .ok_or_else(|| CatalogError::NotFound(format!("the plan of rollout {id}")))?;
        Ok((r, plan))
    }

    async fn moved(&self, r: &Rollout, to: RolloutMove<'_>) -> Result<RolloutView, CatalogError> {
        match self.store.move_rollout(r.id, r.ring, r.state, &to).await? {
            Some(m) => self.rollout_view(&m).await,
            None => Err(conflict(format!("rollout {} changed meanwhile; look at it again", r.id))),
        }
    }

    /// Resumes a halted rollout: its current ring soaks again from now, then is judged again.
    pub async fn resume_rollout(&self, id: i64, now: OffsetDateTime) -> Result<RolloutView, CatalogError> {
        self.refuse_on_replica().await?;
        let (r, _) = self.rollout_and_plan(id).await?;
        if r.state != RolloutState::Halted {
            return Err(conflict(format!("rollout {id} is {}; only a halted rollout is resumed", r.state.as_str())));
        }
        self.moved(&r, RolloutMove { ring: r.ring, ring_started_at: now, state: RolloutState::Running, reason: Some("resumed") }).await
    }

    /// Moves a running or halted rollout on to its next ring now, whatever the current ring
    /// reported.
    pub async fn skip_ring(&self, id: i64, now: OffsetDateTime) -> Result<RolloutView, CatalogError> {
        self.refuse_on_replica().await?;
        let (r, plan) = self.rollout_and_plan(id).await?;
        if !r.state.is_active() {
            return Err(conflict(format!("rollout {id} is {}", r.state.as_str())));
        }
        self.promote(&r, &plan, now, "ring skipped by an administrator").await
    }

    /// Stops a rollout where it is; the approvals it gave stay.
    pub async fn abort_rollout(&self, id: i64) -> Result<RolloutView, CatalogError> {
        let (r, _) = self.rollout_and_plan(id).await?;
        if !r.state.is_active() {
            return Err(conflict(format!("rollout {id} is {}", r.state.as_str())));
        }
        self.moved(&r, RolloutMove { ring: r.ring, ring_started_at: r.ring_started_at, state: RolloutState::Aborted, reason: Some("aborted by an administrator") })
            .await
    }

    /// Approves the next ring and moves the rollout there (completed once that is the last).
    async fn promote(&self, r: &Rollout, plan: &RolloutPlan, now: OffsetDateTime, why: &str) -> Result<RolloutView, CatalogError> {
        let next = r.ring + 1;
        let Some(ring) = plan.rings.get(next as usize) else {
            return self.moved(r, RolloutMove { ring: r.ring, ring_started_at: r.ring_started_at, state: RolloutState::Completed, reason: Some(why) }).await;
        };
        self.approve_ring(plan, r.update_id, ring.group_id, None).await?;
        let state = if next as usize + 1 == plan.rings.len() { RolloutState::Completed } else { RolloutState::Running };
        self.moved(r, RolloutMove { ring: next, ring_started_at: now, state, reason: Some(why) }).await
    }

    /// Evaluates every running rollout at `now`: promotes those whose ring soaked long enough
    /// with few enough failures, halts those with too many, and notes why the others wait.
    /// Returns the rollouts that moved (each also written to the audit log).
    pub async fn evaluate_rollouts(&self, now: OffsetDateTime) -> Result<Vec<RolloutView>, CatalogError> {
        if self.replica_of().await?.is_some() {
            return Ok(Vec::new());
        }
        let plans: HashMap<i64, RolloutPlan> = self.store.rollout_plans().await?.into_iter().map(|p| (p.id, p)).collect();
        let groups = self.groups().await?;
        let mut moved = Vec::new();
        for r in self.store.running_rollouts().await? {
            let Some(plan) = plans.get(&r.plan_id) else { continue };
            let Some(ring) = plan.rings.get(r.ring.max(0) as usize) else { continue };
            let ring_name = group_name(&groups, ring.group_id);
            let stats = self.ring_stats(r.update_id, ring.group_id).await?;
            let bp = plan.max_failure_bp.clamp(0, decide::MAX_BASIS_POINTS as i32) as u32;
            let actor = format!("rollout:{}", plan.name);
            match decide::step(now, &ring_name, r.ring_started_at, Duration::seconds(ring.soak_secs), stats, bp) {
                Step::Wait { reason, .. } => {
                    if r.reason.as_deref() != Some(reason.as_str()) {
                        self.store.note_rollout(r.id, &reason).await?;
                    }
                }
                Step::Promote => {
                    let why = format!("'{ring_name}' passed: {} installed, {} failed", stats.installed, stats.failed);
                    match self.promote(&r, plan, now, &why).await {
                        Ok(v) => {
                            self.audit_automatic(&actor, "rollout-promote", &v.update_id, format!("{why}; now in ring {} '{}'", v.ring, v.ring_group))
                                .await;
                            moved.push(v);
                        }
                        Err(e) => {
                            // An approval that cannot be given (the update was declined, the
                            // group deleted) halts the rollout where the administrator sees it.
                            let reason = format!("cannot approve the next ring: {e}");
                            let v = self
                                .moved(&r, RolloutMove { ring: r.ring, ring_started_at: r.ring_started_at, state: RolloutState::Halted, reason: Some(&reason) })
                                .await?;
                            self.audit_automatic(&actor, "rollout-halt", &v.update_id, reason).await;
                            moved.push(v);
                        }
                    }
                }
                Step::Halt { reason } => {
                    let v = self
                        .moved(&r, RolloutMove { ring: r.ring, ring_started_at: r.ring_started_at, state: RolloutState::Halted, reason: Some(&reason) })
                        .await?;
                    self.audit_automatic(&actor, "rollout-halt", &v.update_id, reason).await;
                    moved.push(v);
                }
            }
        }
        Ok(moved)
    }
}
