//! Automatic approval (WSUS's Options › Automatic Approvals): the rules, running them over new
//! updates after every ingest (sync, XML import, package import, publishing) and over the whole
//! catalog on demand, and WSUS's two options: approving new revisions of approved updates and
//! declining expired updates. Which update a rule approves is `sluice_decide::approval_rules`.

use std::collections::{HashMap, HashSet};

use sluice_decide::approval_rules::{self as decide, Candidate, Criteria, Verdict};
use sluice_metadata::publish::WELL_KNOWN_CLASSIFICATIONS;
use sluice_store::settings::AUTO_APPROVAL_OPTIONS;
use sluice_store::{ApprovalAction, ApprovalRule, AutoApprovalOptions, NewAuditEntry, Revision, RuleSpec, UpdateType};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::api::{
    ApprovalRequest, AutoApprovalSettings, CreateRuleRequest, NamedRef, RuleApproval, RuleDeadline, RuleRunView, RuleSkip,
    RuleView, UpdateRuleRequest,
};
use crate::times::format_utc;
use crate::{Catalog, CatalogError, invalid};

/// Longest rule or plan name (as a group name).
const MAX_NAME: usize = 256;
/// Most classifications, products or groups one rule names.
const MAX_REFS: usize = 256;

/// A rule or plan name: not empty, at most 256 characters, nothing invisible or controlling.
pub(crate) fn check_name(kind: &str, name: &str) -> Result<(), CatalogError> {
    if name.is_empty() {
        return Err(invalid(format!("a {kind} needs a name")));
    }
    if name.chars().count() > MAX_NAME {
        return Err(invalid(format!("a {kind} name has at most {MAX_NAME} characters")));
    }
    if let Some(c) = name.chars().find(|&c| c.is_control() || crate::groups::is_invisible_or_reordering(c)) {
        return Err(invalid(format!(
            "a {kind} name cannot contain control, invisible or text-direction characters (U+{:04X})",
            c as u32
        )));
    }
    Ok(())
}

/// Category names and types, read once per request.
struct Categories {
    names: HashMap<Uuid, String>,
    kinds: HashMap<Uuid, String>,
    parents: HashMap<Uuid, Uuid>,
}

impl Categories {
    fn name(&self, id: Uuid) -> NamedRef {
        NamedRef { id: id.to_string(), name: self.names.get(&id).cloned().unwrap_or_else(|| id.to_string()) }
    }

    fn resolve(&self, wanted: &str, kinds: &[&str], what: &str) -> Result<Uuid, CatalogError> {
        let w = wanted.trim();
        let fits = |id: &Uuid| self.kinds.get(id).is_some_and(|k| kinds.contains(&k.as_str()));
        if let Ok(id) = Uuid::parse_str(w) {
            if fits(&id) {
                return Ok(id);
            }
        }
        let mut found: Vec<Uuid> =
            self.names.iter().filter(|(id, n)| fits(id) && n.eq_ignore_ascii_case(w)).map(|(id, _)| *id).collect();
        found.sort();
        found.first().copied().ok_or_else(|| CatalogError::NotFound(format!("{what} '{w}'")))
    }
}

/// The criteria a stored rule asks for.
fn criteria(spec: &RuleSpec) -> Criteria<'_> {
    Criteria { classifications: &spec.classifications, products: &spec.products }
}

impl Catalog {
    async fn categories(&self) -> Result<Categories, CatalogError> {
        let mut c = Categories { names: HashMap::new(), kinds: HashMap::new(), parents: HashMap::new() };
        // Microsoft's classifications are known by name before the first sync brings them.
        for (name, id) in WELL_KNOWN_CLASSIFICATIONS {
            if let Ok(id) = Uuid::parse_str(id) {
                c.names.insert(id, name.to_string());
                c.kinds.insert(id, "UpdateClassification".into());
            }
        }
        for cat in self.store.list_categories().await? {
            c.names.insert(cat.update_id, cat.title);
            c.kinds.insert(cat.update_id, cat.category_type);
            if let Some(p) = cat.parent_update_id {
                c.parents.insert(cat.update_id, p);
            }
        }
        Ok(c)
    }

    /// WSUS's two automatic options.
    pub async fn auto_approval_settings(&self) -> Result<AutoApprovalSettings, CatalogError> {
        let o = self.store.setting(AUTO_APPROVAL_OPTIONS).await?.unwrap_or_default();
        Ok(AutoApprovalSettings { approve_new_revisions: o.approve_new_revisions, decline_expired: o.decline_expired })
    }

    pub async fn set_auto_approval_settings(&self, s: &AutoApprovalSettings) -> Result<AutoApprovalSettings, CatalogError> {
        let o = AutoApprovalOptions { approve_new_revisions: s.approve_new_revisions, decline_expired: s.decline_expired };
        self.store.set(AUTO_APPROVAL_OPTIONS, &o).await?;
        Ok(*s)
    }

    async fn rule_view(&self, r: &ApprovalRule, cats: &Categories) -> Result<RuleView, CatalogError> {
        let groups = self.groups().await?;
        let group_name = |id: &Uuid| NamedRef {
            id: id.to_string(),
            name: groups.iter().find(|g| g.id == *id).map(|g| g.name.clone()).unwrap_or_else(|| format!("(deleted group {id})")),
        };
        let plan = match r.spec.plan_id {
            Some(pid) => {
                let name = self.store.rollout_plans().await?.into_iter().find(|p| p.id == pid).map(|p| p.name);
                Some(NamedRef { id: pid.to_string(), name: name.unwrap_or_else(|| format!("(plan {pid})")) })
            }
            None => None,
        };
        let deadline = match (r.spec.deadline_days, r.spec.deadline_minute) {
            (Some(d), Some(m)) => Some(RuleDeadline { days: d.max(0) as u32, time: format!("{:02}:{:02}", m / 60, m % 60) }),
            _ => None,
        };
        Ok(RuleView {
            id: r.id,
            name: r.name.clone(),
            enabled: r.enabled,
            classifications: r.spec.classifications.iter().map(|id| cats.name(*id)).collect(),
            products: r.spec.products.iter().map(|id| cats.name(*id)).collect(),
            groups: r.spec.groups.iter().map(group_name).collect(),
            plan,
            deadline,
            owner: r.owner.clone(),
            created_at: format_utc(r.created_at),
            updated_at: format_utc(r.updated_at),
        })
    }

    pub async fn list_rules(&self) -> Result<Vec<RuleView>, CatalogError> {
        let cats = self.categories().await?;
        let mut out = Vec::new();
        for r in self.store.approval_rules().await? {
            out.push(self.rule_view(&r, &cats).await?);
        }
        Ok(out)
    }

    /// A rule by name (case-insensitive) or id.
    async fn find_rule(&self, wanted: &str) -> Result<ApprovalRule, CatalogError> {
        let w = wanted.trim();
        let rules = self.store.approval_rules().await?;
        let id = w.parse::<i64>().ok();
        rules
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(w))
            .or_else(|| rules.iter().find(|r| Some(r.id) == id))
            .cloned()
            .ok_or_else(|| CatalogError::NotFound(format!("approval rule '{w}'")))
    }

    /// Checks and resolves what a rule names; every name must be known.
    async fn rule_spec(
        &self,
        cats: &Categories,
        classifications: &[String],
        products: &[String],
        groups: &[String],
        plan: Option<&str>,
        deadline: Option<&RuleDeadline>,
    ) -> Result<RuleSpec, CatalogError> {
        for (what, list) in [("classifications", classifications), ("products", products), ("groups", groups)] {
            if list.len() > MAX_REFS {
                return Err(invalid(format!("a rule names at most {MAX_REFS} {what}")));
            }
        }
        let mut spec = RuleSpec::default();
        for c in classifications {
            let id = cats.resolve(c, &["UpdateClassification"], "classification")?;
            if !spec.classifications.contains(&id) {
                spec.classifications.push(id);
            }
        }
        for p in products {
            let id = cats.resolve(p, &["Product", "ProductFamily", "Company"], "product")?;
            if !spec.products.contains(&id) {
                spec.products.push(id);
            }
        }
        let all_groups = self.groups().await?;
        for g in groups {
            let id = Self::find_group(&all_groups, g)?.id;
            if !spec.groups.contains(&id) {
                spec.groups.push(id);
            }
        }
        if let Some(p) = plan.map(str::trim).filter(|p| !p.is_empty()) {
            spec.plan_id = Some(self.find_plan(p).await?.id);
        }
        match (spec.groups.is_empty(), spec.plan_id.is_some()) {
            (true, false) => return Err(invalid("a rule approves for at least one computer group, or names a rollout plan")),
            (false, true) => return Err(invalid("a rule approves for computer groups or puts updates on a rollout plan, not both")),
            _ => {}
        }
        if let Some(d) = deadline {
            if spec.plan_id.is_some() {
                return Err(invalid("a rule that puts updates on a rollout plan has no deadline"));
            }
            if d.days > 365 {
                return Err(invalid("a deadline is at most 365 days after the approval"));
            }
            let t = decide::parse_time_of_day(&d.time).map_err(invalid)?;
            spec.deadline_days = Some(d.days as i32);
            spec.deadline_minute = Some(i32::from(t.hour()) * 60 + i32::from(t.minute()));
        }
        Ok(spec)
    }

    pub async fn create_rule(&self, req: &CreateRuleRequest, by: &str) -> Result<RuleView, CatalogError> {
        self.refuse_on_replica().await?;
        let name = req.name.trim();
        check_name("rule", name)?;
        if self.store.approval_rules().await?.iter().any(|r| r.name.eq_ignore_ascii_case(name)) {
            return Err(crate::conflict(format!("an approval rule named '{name}' already exists")));
        }
        let cats = self.categories().await?;
        let spec = self
            .rule_spec(&cats, &req.classifications, &req.products, &req.groups, req.plan.as_deref(), req.deadline.as_ref())
            .await?;
        let rule = self.store.create_approval_rule(name, req.enabled.unwrap_or(true), &spec, by).await?;
        self.rule_view(&rule, &cats).await
    }

    pub async fn update_rule(&self, wanted: &str, req: &UpdateRuleRequest, by: &str) -> Result<RuleView, CatalogError> {
        self.refuse_on_replica().await?;
        let rule = self.find_rule(wanted).await?;
        let name = req.name.as_deref().map(str::trim).unwrap_or(&rule.name).to_string();
        check_name("rule", &name)?;
        if self.store.approval_rules().await?.iter().any(|r| r.id != rule.id && r.name.eq_ignore_ascii_case(&name)) {
            return Err(crate::conflict(format!("an approval rule named '{name}' already exists")));
        }
        let cats = self.categories().await?;
        let ids = |v: &[Uuid]| v.iter().map(Uuid::to_string).collect::<Vec<_>>();
        let classifications = req.classifications.clone().unwrap_or_else(|| ids(&rule.spec.classifications));
        let products = req.products.clone().unwrap_or_else(|| ids(&rule.spec.products));
        let (groups, plan) = match (&req.groups, &req.plan) {
            (Some(_), Some(_)) => {
                return Err(invalid("a rule approves for computer groups or puts updates on a rollout plan, not both"));
            }
            (Some(g), None) => (g.clone(), None),
            (None, Some(p)) => (Vec::new(), Some(p.clone())),
            (None, None) => (ids(&rule.spec.groups), rule.spec.plan_id.map(|p| p.to_string())),
        };
        let deadline = if req.clear_deadline {
            None
        } else {
            req.deadline.clone().or_else(|| match (rule.spec.deadline_days, rule.spec.deadline_minute) {
                (Some(d), Some(m)) => Some(RuleDeadline { days: d.max(0) as u32, time: format!("{:02}:{:02}", m / 60, m % 60) }),
                _ => None,
            })
        };
        let spec = self.rule_spec(&cats, &classifications, &products, &groups, plan.as_deref(), deadline.as_ref()).await?;
        let updated = self.store.update_approval_rule(rule.id, &name, req.enabled.unwrap_or(rule.enabled), &spec, by).await?;
        self.rule_view(&updated, &cats).await
    }

    pub async fn delete_rule(&self, wanted: &str) -> Result<RuleView, CatalogError> {
        self.refuse_on_replica().await?;
        let rule = self.find_rule(wanted).await?;
        let cats = self.categories().await?;
        let view = self.rule_view(&rule, &cats).await?;
        if !self.store.delete_approval_rule(rule.id).await? {
            return Err(CatalogError::NotFound(format!("approval rule '{}'", rule.name)));
        }
        Ok(view)
    }

    /// The latest revision of each of `ids` (all updates when `None`) as a rule sees it.
    async fn candidates(&self, ids: Option<&[Uuid]>) -> Result<Vec<(Candidate, Revision)>, CatalogError> {
        let revisions: Vec<Revision> = match ids {
            Some(ids) => {
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    if let Some(r) = self.store.latest_revision(*id).await? {
                        out.push(r);
                    }
                }
                out
            }
            None => {
                let mut latest: HashMap<Uuid, Revision> = HashMap::new();
                for r in self.store.all_revisions().await? {
                    match latest.get(&r.update_id) {
                        Some(l) if l.revision_number >= r.revision_number => {}
                        _ => {
                            latest.insert(r.update_id, r);
                        }
                    }
                }
                let mut v: Vec<Revision> = latest.into_values().collect();
                v.sort_by_key(|r| r.id);
                v
            }
        };
        let revisions: Vec<Revision> =
            revisions.into_iter().filter(|r| matches!(r.update_type, UpdateType::Software | UpdateType::Driver)).collect();
        let rev_ids: Vec<i64> = revisions.iter().map(|r| r.id).collect();
        let mut categories = self.store.categories_of_revisions(&rev_ids).await?;
        let declined: HashSet<Uuid> = self.store.list_declined().await?.into_iter().map(|d| d.update_id).collect();
        Ok(revisions
            .into_iter()
            .map(|r| {
                let c = Candidate {
                    update_id: r.update_id,
                    classification: r.classification,
                    categories: categories.remove(&r.id).unwrap_or_default(),
                    declined: declined.contains(&r.update_id),
                    expired: r.publication_state.eq_ignore_ascii_case("Expired"),
                    approvable: r.explicitly_deployable,
                };
                (c, r)
            })
            .collect())
    }

    /// Runs one rule over the given candidates, approving (or putting on its plan) what it
    /// covers. Acts for the rule's owner; `now` dates deadlines and rollouts.
    async fn apply_rule(
        &self,
        rule: &ApprovalRule,
        candidates: &[(Candidate, Revision)],
        parents: &HashMap<Uuid, Uuid>,
        now: OffsetDateTime,
    ) -> Result<RuleRunView, CatalogError> {
        let by = format!("rule:{}", rule.name);
        let on_behalf = format!("{} (automatic approval rule '{}')", rule.owner, rule.name);
        let mut run = RuleRunView { rule: rule.name.clone(), matched: 0, approved: Vec::new(), unchanged: 0, skipped: Vec::new() };
        let groups = self.groups().await?;
        let plan = match rule.spec.plan_id {
            Some(pid) => self.store.rollout_plans().await?.into_iter().find(|p| p.id == pid),
            None => None,
        };
        if rule.spec.plan_id.is_some() && plan.is_none() {
            return Err(CatalogError::NotFound(format!("the rollout plan of rule '{}'", rule.name)));
        }
        let deadline = match (rule.spec.deadline_days, rule.spec.deadline_minute) {
            (Some(d), Some(m)) => time::Time::from_hms((m / 60) as u8, (m % 60) as u8, 0)
                .ok()
                .map(|t| decide::deadline(now, d.max(0) as u32, t)),
            _ => None,
        };
        let on_plans: HashSet<Uuid> = match &plan {
            Some(_) => self.store.rollouts().await?.into_iter().filter(|r| r.state.is_active()).map(|r| r.update_id).collect(),
            None => HashSet::new(),
        };
        for (c, rev) in candidates {
            let skip = |reason: String| RuleSkip { update_id: c.update_id.to_string(), title: rev.title.clone(), reason };
            match decide::verdict(criteria(&rule.spec), c, parents) {
                Verdict::NoMatch => continue,
                Verdict::Skip(reason) => {
                    run.matched += 1;
                    run.skipped.push(skip(reason.to_string()));
                    continue;
                }
                Verdict::Approve => run.matched += 1,
            }
            if let Some(plan) = &plan {
                if on_plans.contains(&c.update_id) {
                    run.unchanged += 1;
                    continue;
                }
                match self.start_rollout_on(plan, rev, &by, Some(&on_behalf), now).await {
                    Ok(_) => run.approved.push(RuleApproval {
                        update_id: c.update_id.to_string(),
                        title: rev.title.clone(),
                        target: format!("rollout plan '{}'", plan.name),
                        deadline: None,
                        license_accepted_by: None,
                    }),
                    Err(e) => run.skipped.push(skip(e.to_string())),
                }
                continue;
            }
            let existing = self.store.approvals_for_update(c.update_id).await?;
            for gid in &rule.spec.groups {
                let Some(group) = groups.iter().find(|g| g.id == *gid) else {
                    run.skipped.push(skip(format!("computer group {gid} no longer exists")));
                    continue;
                };
                if existing.iter().any(|a| a.group_id == *gid && a.action == ApprovalAction::Install) {
                    run.unchanged += 1;
                    continue;
                }
                let req = ApprovalRequest {
                    update: c.update_id.to_string(),
                    group: gid.to_string(),
                    action: None,
                    deadline: deadline.map(format_utc),
                    accept_license: true,
                };
                match self.approve_as(&req, &by, Some(&on_behalf)).await {
                    Ok(v) => run.approved.push(RuleApproval {
                        update_id: v.update_id,
                        title: v.title,
                        target: group.name.clone(),
                        deadline: v.deadline,
                        license_accepted_by: v.license_accepted_by,
                    }),
                    Err(e) => run.skipped.push(skip(e.to_string())),
                }
            }
        }
        Ok(run)
    }

    /// Runs a rule now over every update in the catalog (`sluice rules run`), enabled or not.
    pub async fn run_rule(&self, wanted: &str, now: OffsetDateTime) -> Result<RuleRunView, CatalogError> {
        self.refuse_on_replica().await?;
        let rule = self.find_rule(wanted).await?;
        let candidates = self.candidates(None).await?;
        let cats = self.categories().await?;
        self.apply_rule(&rule, &candidates, &cats.parents, now).await
    }

    /// After an ingest stored new revisions: withdraws the approvals of updates that got a new
    /// revision when new revisions are not to be approved automatically, then runs the enabled
    /// rules over the updates seen for the first time. Each rule run that changed something, and
    /// each withdrawal, writes one audit entry. Nothing happens on a replica (its approvals are
    /// its upstream's).
    pub(crate) async fn after_ingest(&self, new_updates: &[Uuid], revised: &[Uuid]) -> Result<(), CatalogError> {
        if self.replica_of().await?.is_some() {
            return Ok(());
        }
        let options = self.store.setting(AUTO_APPROVAL_OPTIONS).await?.unwrap_or_default();
        if !options.approve_new_revisions {
            for id in revised {
                let approvals = self.store.approvals_for_update(*id).await?;
                let mut withdrawn = Vec::new();
                for a in approvals.iter().filter(|a| a.action != ApprovalAction::NotApproved) {
                    if self.store.remove_approval(*id, a.group_id).await? {
                        withdrawn.push(a.group_id.to_string());
                    }
                }
                if !withdrawn.is_empty() {
                    self.audit_automatic(
                        "automatic",
                        "revision-unapprove",
                        &id.to_string(),
                        format!(
                            "a new revision arrived and new revisions are not approved automatically; approvals withdrawn for group(s) {}",
                            withdrawn.join(", ")
                        ),
                    )
                    .await;
                }
            }
        }
        if new_updates.is_empty() {
            return Ok(());
        }
        let rules: Vec<ApprovalRule> = self.store.approval_rules().await?.into_iter().filter(|r| r.enabled).collect();
        if rules.is_empty() {
            return Ok(());
        }
        let candidates = self.candidates(Some(new_updates)).await?;
        let cats = self.categories().await?;
        let now = OffsetDateTime::now_utc();
        for rule in &rules {
            match self.apply_rule(rule, &candidates, &cats.parents, now).await {
                Ok(run) if run.matched > 0 => {
                    let detail = serde_json::to_string(&run).unwrap_or_default();
                    self.audit_automatic(&format!("rule:{}", rule.name), "rule-run", &rule.name, detail).await;
                }
                Ok(_) => {}
                Err(e) => tracing::error!(rule = %rule.name, error = %e, "automatic approval rule failed"),
            }
        }
        Ok(())
    }

    /// Declines every update whose latest revision is expired, when WSUS's option says so (run
    /// after each sync); returns the updates declined. One audit entry for the run.
    pub async fn decline_expired(&self) -> Result<Vec<Uuid>, CatalogError> {
        let options = self.store.setting(AUTO_APPROVAL_OPTIONS).await?.unwrap_or_default();
        if !options.decline_expired || self.replica_of().await?.is_some() {
            return Ok(Vec::new());
        }
        let mut declined = Vec::new();
        for (c, _) in self.candidates(None).await? {
            if c.expired && !c.declined {
                let (changed, _) = self.store.decline_with_approvals(c.update_id, "automatic: expired").await?;
                if changed {
                    declined.push(c.update_id);
                }
            }
        }
        if !declined.is_empty() {
            let ids: Vec<String> = declined.iter().map(Uuid::to_string).collect();
            self.audit_automatic("automatic", "decline-expired", "catalog", format!("declined {}", ids.join(", "))).await;
        }
        Ok(declined)
    }

    /// An audit entry for a change the server made on its own (no caller, no address).
    pub(crate) async fn audit_automatic(&self, actor: &str, action: &str, target: &str, detail: String) {
        let entry = NewAuditEntry { actor: actor.into(), action: action.into(), target: target.into(), detail, source_address: None };
        // The change has happened; a failed audit write is reported, not turned into a failure.
        if let Err(e) = self.store.append_audit(&entry).await {
            tracing::error!(error = %e, action, target, "cannot write the audit log");
        }
    }
}
