//! Bulk approval and decline: many updates (by id, KB number or the filters of the update
//! listing) for one or several groups, checked like single approvals, written in one store
//! transaction; a dry run answers the same changes and writes nothing.
//!
//! Approving a declined update named explicitly refuses the whole call (nothing is written):
//! the administrator asked for something that cannot be done and should see it. A filter
//! never selects declined updates for an approval, so "approve every needed security update"
//! simply skips them.

use std::collections::{HashMap, HashSet};

use sluice_api::{BulkApprovalRequest, BulkApprovalResult, BulkChange};
use sluice_store::{ApprovalAction, ApprovalState, ApprovalWrite, BulkApproveOutcome, LicenseGate, Revision};
use uuid::Uuid;

use crate::approvals::{declined, license_not_accepted, parse_action};
use crate::times::parse_rfc3339_utc;
use crate::{Catalog, CatalogError, invalid};

/// Most updates one bulk call changes.
pub const MAX_BULK_UPDATES: usize = 10_000;

impl Catalog {
    /// Carries out (or with `dry_run`, describes) a bulk approval or decline.
    pub async fn bulk_approval(&self, req: &BulkApprovalRequest, by: &str) -> Result<BulkApprovalResult, CatalogError> {
        self.refuse_on_replica().await?;
        let action = req.action.as_deref().map(str::trim).filter(|a| !a.is_empty()).unwrap_or("install");
        let decline = action.eq_ignore_ascii_case("decline");
        let approval = if decline { None } else { Some(parse_action(action)?) };
        let updates = self.bulk_selection(req, decline).await?;
        let mut revisions = Vec::with_capacity(updates.len());
        for u in &updates {
            revisions.push(self.approvable_revision(&u.to_string()).await?);
        }
        match approval {
            None => {
                if !req.groups.is_empty() || req.deadline.is_some() {
                    return Err(invalid("a decline applies to every group; give no groups and no deadline"));
                }
                self.bulk_decline(&revisions, req.dry_run, by).await
            }
            Some(a) => self.bulk_approve(req, a, &revisions, by).await,
        }
    }

    async fn bulk_selection(&self, req: &BulkApprovalRequest, decline: bool) -> Result<Vec<Uuid>, CatalogError> {
        let mut ids = Vec::new();
        match (&req.filter, req.updates.is_empty()) {
            (Some(_), false) => return Err(invalid("give either 'updates' or 'filter', not both")),
            (None, true) => return Err(invalid("no updates: give 'updates' (ids or KB numbers) or a 'filter'")),
            (None, false) => {
                if req.updates.len() > MAX_BULK_UPDATES {
                    return Err(invalid(format!("at most {MAX_BULK_UPDATES} updates per call")));
                }
                for u in &req.updates {
                    ids.push(self.resolve_update(u).await?);
                }
            }
            (Some(q), true) => {
                let mut f = self.update_filter(q).await?;
                if !decline && f.approval.is_none() {
                    f.approval = Some(ApprovalState::NotDeclined);
                }
                f.include_categories = false;
                f.limit = Some(MAX_BULK_UPDATES as i64 + 1);
                let rows = self.store.list_updates(&f).await?;
                if rows.len() > MAX_BULK_UPDATES {
                    return Err(invalid(format!(
                        "the filter selects more than {MAX_BULK_UPDATES} updates; narrow it"
                    )));
                }
                // Detectoids are not approved or declined; the listing shows them, the
                // selection does not.
                ids.extend(rows.iter().filter(|r| r.update_type != sluice_store::UpdateType::Detectoid).map(|r| r.update_id));
            }
        }
        let mut seen = HashSet::new();
        ids.retain(|id| seen.insert(*id));
        Ok(ids)
    }

    async fn bulk_decline(&self, revisions: &[Revision], dry_run: bool, by: &str) -> Result<BulkApprovalResult, CatalogError> {
        let names: HashMap<Uuid, String> = self.groups().await?.into_iter().map(|g| (g.id, g.name)).collect();
        let name = |g: &Uuid| names.get(g).cloned().unwrap_or_else(|| g.to_string());
        let ids: Vec<Uuid> = revisions.iter().map(|r| r.update_id).collect();
        let mut changes = Vec::with_capacity(ids.len());
        if dry_run {
            for rev in revisions {
                let was = self.store.is_declined(rev.update_id).await?;
                let groups: Vec<String> =
                    self.store.approvals_for_update(rev.update_id).await?.iter().map(|a| name(&a.group_id)).collect();
                changes.push(decline_change(rev, was, groups));
            }
        } else {
            name_in_audit(&ids);
            let done = self.store.decline_many(&ids, by).await?;
            for (rev, (newly, removed)) in revisions.iter().zip(done) {
                changes.push(decline_change(rev, !newly, removed.iter().map(name).collect()));
            }
        }
        Ok(result("decline", dry_run, revisions.len(), changes))
    }

    async fn bulk_approve(
        &self,
        req: &BulkApprovalRequest,
        action: ApprovalAction,
        revisions: &[Revision],
        by: &str,
    ) -> Result<BulkApprovalResult, CatalogError> {
        let deadline = req.deadline.as_deref().filter(|d| !d.trim().is_empty()).map(parse_rfc3339_utc).transpose()?;
        if deadline.is_some() && action == ApprovalAction::NotApproved {
            return Err(invalid("a deadline applies only to install and uninstall approvals"));
        }
        if req.groups.is_empty() {
            return Err(invalid("no groups: give one or more 'groups' (names or ids)"));
        }
        let all_groups = self.groups().await?;
        let mut groups = Vec::new();
        for g in &req.groups {
            let g = Self::find_group(&all_groups, g)?;
            if !groups.iter().any(|x: &&sluice_store::ComputerGroup| x.id == g.id) {
                groups.push(g);
            }
        }
        let mut writes = Vec::new();
        let mut changes = Vec::new();
        let mut licenses = HashMap::new();
        for rev in revisions {
            let update = rev.update_id;
            if self.store.is_declined(update).await? {
                return Err(declined(update));
            }
            let (eula_key, license) = self.approval_checks(rev, action, deadline).await?;
            if let Some(key) = eula_key {
                // A dry run must refuse what the real call would refuse.
                if req.dry_run && !req.accept_license && !self.store.is_eula_accepted(key).await? {
                    return Err(license_not_accepted(update, &license));
                }
            }
            licenses.insert(update, license);
            let own: HashMap<Uuid, ApprovalAction> =
                self.store.approvals_for_update(update).await?.into_iter().map(|a| (a.group_id, a.action)).collect();
            for g in &groups {
                let before = own.get(&g.id).copied();
                changes.push(BulkChange {
                    update_id: update.to_string(),
                    title: rev.title.clone(),
                    group: Some(g.name.clone()),
                    before: before.map_or_else(|| "none".to_string(), |a| a.as_str().to_string()),
                    after: action.as_str().to_string(),
                    changed: before != Some(action) || deadline.is_some(),
                    removed_approvals: Vec::new(),
                });
                writes.push(ApprovalWrite {
                    update_id: update,
                    group_id: g.id,
                    action,
                    deadline,
                    approved_by: by,
                    license: eula_key.map(|eula_key| LicenseGate { eula_key, accept_as: req.accept_license.then_some(by) }),
                });
            }
        }
        if !req.dry_run {
            let mut ids: Vec<Uuid> = writes.iter().map(|w| w.update_id).collect();
            ids.dedup();
            name_in_audit(&ids);
            match self.store.approve_many(&writes).await? {
                BulkApproveOutcome::Approved(_) => {}
                BulkApproveOutcome::Declined(u) => return Err(declined(u)),
                BulkApproveOutcome::LicenseNotAccepted(u) => {
                    let facts = licenses.remove(&u).unwrap_or_default();
                    return Err(license_not_accepted(u, &facts));
                }
            }
        }
        Ok(result(action.as_str(), req.dry_run, revisions.len(), changes))
    }
}

fn decline_change(rev: &Revision, was_declined: bool, removed: Vec<String>) -> BulkChange {
    BulkChange {
        update_id: rev.update_id.to_string(),
        title: rev.title.clone(),
        group: None,
        before: if was_declined { "declined" } else { "not_declined" }.to_string(),
        after: "declined".to_string(),
        changed: !was_declined || !removed.is_empty(),
        removed_approvals: removed,
    }
}

fn result(action: &str, dry_run: bool, updates: usize, changes: Vec<BulkChange>) -> BulkApprovalResult {
    BulkApprovalResult {
        action: action.to_string(),
        dry_run,
        updates,
        changed: changes.iter().filter(|c| c.changed).count(),
        changes,
    }
}

/// The caller's pending audit entry (see `sluice_store::audited`) names the updates the call
/// selected, which only the selection knows.
fn name_in_audit(ids: &[Uuid]) {
    sluice_store::amend_pending(|e| {
        e.target = format!("{} update(s)", ids.len());
        let list: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        e.detail.push_str(&format!(": {}", list.join(", ")));
    });
}
