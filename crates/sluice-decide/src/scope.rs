//! What every revision is, deployment-wise, to the computers of one set of groups: the
//! `Deployment` WSUS sends with each `UpdateInfo`.
//!
//! As on WSUS, the whole non-declined, non-expired catalog is in scope: approved updates carry
//! their approval (Install/Uninstall); other top-level updates are PreDeploymentCheck, so
//! clients evaluate them and report whether they need them; bundle children are Bundle;
//! categories, detectoids and other prerequisites are Evaluate.

use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;
use uuid::Uuid;

use crate::index::{CatalogIndex, Kind};
use crate::targeting::{ApprovalAction, TargetingSnapshot};

/// The deployment action sent to clients: the SOAP codec's type, used as it is.
pub use sluice_soap::DeploymentAction as Action;

/// An approval as it applies to one computer (after inheritance and conflict resolution).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Approved {
    /// Not Approved: detect-only, as if there were no approval, changed at `changed_at`.
    pub action: ApprovalAction,
    pub deadline: Option<OffsetDateTime>,
    pub changed_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deployment {
    /// Stable for as long as the deployment does not change; a new value when it does.
    pub id: i32,
    pub action: Action,
    pub deadline: Option<OffsetDateTime>,
    pub is_assigned: bool,
    pub last_change: OffsetDateTime,
}

impl Deployment {
    pub fn last_change_ms(&self) -> i64 {
        crate::unix_ms(self.last_change)
    }
}

/// Where clients get files from decides whether an approved update can be offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileSource {
    /// Files are served by this server: offer an approved update only once they are present.
    Local,
    /// Clients download from Microsoft Update: presence here does not matter.
    MicrosoftUpdate,
}

/// A stable positive id for a deployment row, changing with its action and change time.
fn deployment_id(update: &Uuid, action: Action, changed: OffsetDateTime) -> i32 {
    // FNV-1a: small, fast and stable across builds and platforms (the std hasher is not).
    let mut h: u32 = 0x811c_9dc5;
    let mut feed = |b: &[u8]| {
        for x in b {
            h ^= *x as u32;
            h = h.wrapping_mul(0x0100_0193);
        }
    };
    feed(update.as_bytes());
    feed(action.as_str().as_bytes());
    // Milliseconds: two changes of one update within a second (an approval removed, then set
    // to Not Approved) are two deployments, each with its own id, as on WSUS.
    feed(&crate::unix_ms(changed).to_le_bytes());
    (h & 0x7fff_ffff).max(1) as i32
}

/// Whether every file an update needs is present (a bundle needs one alternative of each slot).
fn files_ready(index: &CatalogIndex, i: usize, depth: u8) -> bool {
    let e = &index.entries[i];
    if !e.files.iter().all(|f| f.present) {
        return false;
    }
    if depth > 8 {
        return false;
    }
    e.bundled.iter().all(|slot| {
        slot.iter().any(|child| match index.entry_of_update(child) {
            Some(c) => files_ready(index, c, depth + 1),
            None => false,
        })
    })
}

/// Computes the deployment of every index entry for one computer's effective approvals.
/// `None`: not in scope (declined, expired).
pub fn deployments(
    index: &CatalogIndex,
    approvals: &HashMap<Uuid, Approved>,
    declined: &HashSet<Uuid>,
    source: FileSource,
) -> Vec<Option<Deployment>> {
    deployments_with_changes(index, approvals, &HashMap::new(), declined, source)
}

/// [`deployments`], where `unapproved_since` says, for updates that are not approved for the
/// computer (any more), when that last changed: an approval removed or set to Not Approved.
///
/// On WSUS a removed approval leaves the update in scope, detect-only: its deployment becomes
/// PreDeploymentCheck with a new change time, and an incremental SyncUpdates lists the cached
/// revision in ChangedUpdates with that deployment (MS-WUSP 3.1.5.7: ChangedUpdates are the
/// cached, still needed revisions whose deployment changed since the client's last sync). Only
/// a decline or expiry takes it out of scope (OutOfScopeRevisionIDs). Without this time the
/// not-approved deployment would carry the import time, older than the client's watermark,
/// and the client would keep its cached Install until it rescanned from scratch.
pub fn deployments_with_changes(
    index: &CatalogIndex,
    approvals: &HashMap<Uuid, Approved>,
    unapproved_since: &HashMap<Uuid, OffsetDateTime>,
    declined: &HashSet<Uuid>,
    source: FileSource,
) -> Vec<Option<Deployment>> {
    index
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            if e.expired || declined.contains(&e.update_id) {
                return None;
            }
            let approval = approvals.get(&e.update_id);
            let mut unapproved_at = match unapproved_since.get(&e.update_id) {
                Some(t) => e.imported_at.max(*t),
                None => e.imported_at,
            };
            // Explicitly not approved: detect-only, changed when that approval was set.
            if let Some(a) = approval.filter(|a| a.action == ApprovalAction::NotApproved) {
                unapproved_at = unapproved_at.max(a.changed_at);
            }
            let approval = approval.filter(|a| a.action != ApprovalAction::NotApproved);
            let (action, deadline, changed) = match e.kind {
                Kind::Category | Kind::Detectoid => (Action::Evaluate, None, e.imported_at),
                Kind::Software | Kind::Driver => match approval {
                    Some(a) if a.action == ApprovalAction::Uninstall => (Action::Uninstall, a.deadline, a.changed_at),
                    Some(a) if source == FileSource::MicrosoftUpdate || files_ready(index, i, 0) => {
                        (Action::Install, a.deadline, a.changed_at)
                    }
                    // Approved but its files are not here yet: clients keep evaluating it and
                    // get the Install deployment once the download completes.
                    Some(_) => (Action::PreDeploymentCheck, None, e.imported_at),
                    // Software that is not explicitly deployable only ever installs inside a
                    // bundle, even when that bundle is not in this catalog: real WSUS sends such
                    // a leaf as Bundle (a Defender delta whose KB2267602 parent we lack, native
                    // capture flow/000013), never for the client to evaluate and report alone.
                    None if !e.explicitly_deployable
                        && (!index.bundle_parents(&e.update_id).is_empty() || (e.is_leaf && e.kind == Kind::Software)) =>
                    {
                        (Action::Bundle, None, unapproved_at)
                    }
                    None if e.explicitly_deployable || e.is_leaf => (Action::PreDeploymentCheck, None, unapproved_at),
                    None => (Action::Evaluate, None, unapproved_at),
                },
            };
            Some(Deployment {
                id: deployment_id(&e.update_id, action, changed),
                action,
                deadline,
                is_assigned: true,
                last_change: changed,
            })
        })
        .collect()
}

/// The deployment of every index entry for a computer in `groups`, from the targeting
/// snapshot: its effective approvals, and the removals that changed what it inherits.
pub fn deployments_for_groups(
    index: &CatalogIndex,
    targeting: &TargetingSnapshot,
    declined: &HashSet<Uuid>,
    source: FileSource,
    groups: &[Uuid],
) -> Vec<Option<Deployment>> {
    // A removed approval leaves no row behind; its removal time is what moves the
    // deployment's change time past the watermark of clients that cached the old one.
    let removed = targeting.removals_for_groups(groups);
    let mut approvals: HashMap<Uuid, Approved> = HashMap::new();
    for (update, e) in targeting.effective_for_groups(groups) {
        let changed_at = removed.get(&update).map_or(e.last_change, |r| e.last_change.max(*r));
        approvals.insert(update, Approved { action: e.action, deadline: e.deadline, changed_at });
    }
    let unapproved_since: HashMap<Uuid, OffsetDateTime> =
        removed.into_iter().filter(|(update, _)| !approvals.contains_key(update)).collect();
    deployments_with_changes(index, &approvals, &unapproved_since, declined, source)
}
