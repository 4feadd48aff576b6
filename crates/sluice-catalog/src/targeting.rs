//! Which approval each computer ends up with: [`TargetingSnapshot`] is built once from every
//! group, approval and decline, and answers "what is approved for a computer in these groups"
//! without I/O, so the SyncUpdates path can rebuild it when [`Catalog::approvals_version`]
//! changes and cache its answers per group set. The admin services that change what it sees
//! live beside it: `groups` (groups and computers), `approvals` (approvals, declines and
//! licences) and `settings` (targeting mode, replica).
//!
//! WSUS rules implemented here:
//! - every group hangs under "All Computers"; an approval on a group applies to its descendants
//!   unless a nearer group has its own approval for the same update (an explicit Not Approved
//!   stops inheritance);
//! - a computer is implicitly in "All Computers", and in "Unassigned Computers" when it has no
//!   other group;
//! - when a computer's groups disagree, Install beats Uninstall beats Not Approved, and among
//!   the approvals with the winning action the earliest deadline applies;
//! - declined updates have no effective approval at all, and cannot be approved until they are
//!   un-declined.

use std::collections::{HashMap, HashSet};

use sluice_store::{
    ALL_COMPUTERS_GROUP, Approval, ApprovalAction, ApprovalRemoval, ComputerGroup, UNASSIGNED_COMPUTERS_GROUP,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Catalog, CatalogError};

/// Where a computer's group memberships come from: the admin API's type, used as it is.
pub use sluice_api::TargetingMode;

/// What applies to one update on one computer once inheritance and conflicts are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectiveApproval {
    /// Install, Uninstall or (explicitly) Not Approved.
    pub action: ApprovalAction,
    /// The earliest deadline among the approvals carrying the winning action; never set for
    /// Not Approved.
    pub deadline: Option<OffsetDateTime>,
    /// The group whose approval won (possibly an ancestor of the computer's group).
    pub approval_group: Uuid,
    /// The newest `approved_at` among the approvals that were weighed for this computer, so a
    /// change to any of them moves it forward. Removed approvals leave no row to weigh: see
    /// [`TargetingSnapshot::removals_for_groups`].
    pub last_change: OffsetDateTime,
}

#[derive(Debug, Clone, Copy)]
struct GroupApproval {
    action: ApprovalAction,
    deadline: Option<OffsetDateTime>,
    approved_at: OffsetDateTime,
}

/// Every group, approval and decline at one moment, for resolving effective approvals.
#[derive(Debug, Clone, Default)]
pub struct TargetingSnapshot {
    parents: HashMap<Uuid, Option<Uuid>>,
    /// Lower-cased name → id, for client-side targeting.
    by_name: HashMap<String, Uuid>,
    /// Group → update → the group's own approval.
    approvals: HashMap<Uuid, HashMap<Uuid, GroupApproval>>,
    declined: HashSet<Uuid>,
    /// Group → update → when the group's approval of it was last removed.
    removals: HashMap<Uuid, HashMap<Uuid, OffsetDateTime>>,
}

/// Case-insensitive group name key: full Unicode lower case, so both database backends and
/// client-side targeting agree on what "the same name" means.
pub(crate) fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

fn action_rank(a: ApprovalAction) -> u8 {
    match a {
        ApprovalAction::Install => 2,
        ApprovalAction::Uninstall => 1,
        ApprovalAction::NotApproved => 0,
    }
}

/// True when `candidate` should replace `current` for a computer in several groups: the
/// stronger action first, then a deadline over none, then the earlier deadline. The group id
/// breaks remaining ties so the answer never depends on the order groups are visited in.
fn outranks(candidate: &EffectiveApproval, current: &EffectiveApproval) -> bool {
    let (rc, ro) = (action_rank(candidate.action), action_rank(current.action));
    if rc != ro {
        return rc > ro;
    }
    match (candidate.deadline, current.deadline) {
        (Some(c), Some(o)) if c != o => return c < o,
        (Some(_), None) => return true,
        (None, Some(_)) => return false,
        _ => {}
    }
    candidate.approval_group < current.approval_group
}

impl TargetingSnapshot {
    /// Builds the snapshot. Approvals of declined updates and of unknown groups are ignored.
    pub fn new(
        groups: &[ComputerGroup],
        approvals: &[Approval],
        declined: impl IntoIterator<Item = Uuid>,
    ) -> TargetingSnapshot {
        let mut s = TargetingSnapshot {
            declined: declined.into_iter().collect(),
            ..TargetingSnapshot::default()
        };
        for g in groups {
            s.parents.insert(g.id, g.parent_id);
            s.by_name.insert(name_key(&g.name), g.id);
        }
        // The built-in groups exist in every database; keep the tree rooted even if a caller
        // passes a partial group list.
        s.parents.entry(ALL_COMPUTERS_GROUP).or_insert(None);
        s.parents
            .entry(UNASSIGNED_COMPUTERS_GROUP)
            .or_insert(Some(ALL_COMPUTERS_GROUP));
        for a in approvals {
            if s.declined.contains(&a.update_id) || !s.parents.contains_key(&a.group_id) {
                continue;
            }
            s.approvals.entry(a.group_id).or_default().insert(
                a.update_id,
                GroupApproval {
                    action: a.action,
                    deadline: a.deadline,
                    approved_at: a.approved_at,
                },
            );
        }
        s
    }

    /// Adds when approvals were removed, so that
    /// [`removals_for_groups`](Self::removals_for_groups) can answer.
    pub fn with_removals(mut self, removals: &[ApprovalRemoval]) -> TargetingSnapshot {
        for r in removals {
            let at = self.removals.entry(r.group_id).or_default().entry(r.update_id).or_insert(r.removed_at);
            *at = (*at).max(r.removed_at);
        }
        self
    }

    /// Per update, the latest removal of an approval on any group whose approvals reach a
    /// computer in `groups` (its groups and their ancestors). Such a removal may have changed
    /// the computer's deployment of the update (back to not approved, or to an approval it
    /// now inherits), and this time is the only trace of it: WSUS gives the changed deployment
    /// a new change time, which is how an incremental SyncUpdates lists it in ChangedUpdates
    /// (MS-WUSP 3.1.5.7). A removal that a nearer approval masked is included too; the client
    /// then merely gets its unchanged deployment again.
    pub fn removals_for_groups(&self, groups: &[Uuid]) -> HashMap<Uuid, OffsetDateTime> {
        let mut out: HashMap<Uuid, OffsetDateTime> = HashMap::new();
        if self.removals.is_empty() {
            return out;
        }
        let mut seen: HashSet<Uuid> = HashSet::new();
        for g in self.membership(groups) {
            for anc in self.ancestry(g) {
                if !seen.insert(anc) {
                    continue;
                }
                let Some(own) = self.removals.get(&anc) else { continue };
                for (update, at) in own {
                    if self.declined.contains(update) {
                        continue;
                    }
                    let e = out.entry(*update).or_insert(*at);
                    *e = (*e).max(*at);
                }
            }
        }
        out
    }

    /// Whether the update is declined.
    pub fn is_declined(&self, update_id: Uuid) -> bool {
        self.declined.contains(&update_id)
    }

    /// Whether the group exists in the snapshot.
    pub fn has_group(&self, group_id: Uuid) -> bool {
        self.parents.contains_key(&group_id)
    }

    /// A group by name, case-insensitively (client-side targeting names groups).
    pub fn group_by_name(&self, name: &str) -> Option<Uuid> {
        self.by_name.get(&name_key(name)).copied()
    }

    /// The group followed by its ancestors, nearest first, always ending with "All Computers"
    /// (a group stored without a parent still hangs under it). Empty for an unknown group.
    pub fn ancestry(&self, group_id: Uuid) -> Vec<Uuid> {
        let mut chain = Vec::new();
        let mut next = self.parents.contains_key(&group_id).then_some(group_id);
        while let Some(g) = next {
            // The store cannot create cycles (a parent must exist first and is never changed),
            // but a corrupt table must not hang a scan.
            if chain.contains(&g) || chain.len() > self.parents.len() {
                break;
            }
            chain.push(g);
            next = self.parents.get(&g).copied().flatten();
        }
        if !chain.is_empty() && chain.last() != Some(&ALL_COMPUTERS_GROUP) {
            chain.push(ALL_COMPUTERS_GROUP);
        }
        chain
    }

    /// A computer's canonical group set from its explicit memberships: known groups only,
    /// sorted, without "All Computers" (implied by every group), and "Unassigned Computers"
    /// exactly when no other group remains. Equal sets get equal answers, so this is the key
    /// to cache [`effective_for_groups`](Self::effective_for_groups) under.
    pub fn membership(&self, explicit: &[Uuid]) -> Vec<Uuid> {
        let mut set: Vec<Uuid> = explicit
            .iter()
            .copied()
            .filter(|g| *g != ALL_COMPUTERS_GROUP && *g != UNASSIGNED_COMPUTERS_GROUP && self.has_group(*g))
            .collect();
        set.sort();
        set.dedup();
        if set.is_empty() {
            set.push(UNASSIGNED_COMPUTERS_GROUP);
        }
        set
    }

    /// Whether a computer with this canonical membership belongs to `group` directly (every
    /// computer belongs to "All Computers").
    pub fn is_member(&self, membership: &[Uuid], group_id: Uuid) -> bool {
        group_id == ALL_COMPUTERS_GROUP || membership.contains(&group_id)
    }

    /// A computer's canonical group set under the targeting mode: the groups an administrator
    /// assigned (server-side), or the existing groups named in the client's TargetGroupName
    /// (client-side; `;`-separated, case-insensitive, unknown names ignored).
    pub fn groups_of(&self, mode: TargetingMode, assigned: &[Uuid], requested: Option<&str>) -> Vec<Uuid> {
        match mode {
            TargetingMode::Server => self.membership(assigned),
            TargetingMode::Client => {
                let named: Vec<Uuid> = requested
                    .unwrap_or("")
                    .split(';')
                    .filter_map(|n| self.group_by_name(n))
                    .collect();
                self.membership(&named)
            }
        }
    }

    /// The effective approval of one group on its own: per update, the nearest approval on the
    /// group or its ancestors.
    fn effective_for_group(&self, group_id: Uuid, out: &mut HashMap<Uuid, EffectiveApproval>) {
        for g in self.ancestry(group_id) {
            let Some(own) = self.approvals.get(&g) else { continue };
            for (update, a) in own {
                out.entry(*update).or_insert(EffectiveApproval {
                    action: a.action,
                    deadline: if a.action == ApprovalAction::NotApproved {
                        None
                    } else {
                        a.deadline
                    },
                    approval_group: g,
                    last_change: a.approved_at,
                });
            }
        }
    }

    /// The effective approval of every update that has one, for a computer whose explicit
    /// groups are `groups` (normalised with [`membership`](Self::membership) first). Updates
    /// without any approval along the computer's groups are absent (not approved).
    pub fn effective_for_groups(&self, groups: &[Uuid]) -> HashMap<Uuid, EffectiveApproval> {
        let mut result: HashMap<Uuid, EffectiveApproval> = HashMap::new();
        // "All Computers" is never a competitor of its own: it reaches the computer only
        // through the ancestry of its groups, where a nearer Not Approved can block it.
        for g in self.membership(groups) {
            let mut per_group = HashMap::new();
            self.effective_for_group(g, &mut per_group);
            for (update, candidate) in per_group {
                match result.get_mut(&update) {
                    None => {
                        result.insert(update, candidate);
                    }
                    Some(current) => {
                        let newest = current.last_change.max(candidate.last_change);
                        if outranks(&candidate, current) {
                            *current = candidate;
                        }
                        current.last_change = newest;
                    }
                }
            }
        }
        result
    }

    /// The effective approval of one update for a computer in `groups`.
    pub fn effective_for_update(&self, update_id: Uuid, groups: &[Uuid]) -> Option<EffectiveApproval> {
        if self.is_declined(update_id) {
            return None;
        }
        let mut best: Option<EffectiveApproval> = None;
        for g in self.membership(groups) {
            let found = self.ancestry(g).into_iter().find_map(|anc| {
                let a = self.approvals.get(&anc)?.get(&update_id)?;
                Some(EffectiveApproval {
                    action: a.action,
                    deadline: if a.action == ApprovalAction::NotApproved {
                        None
                    } else {
                        a.deadline
                    },
                    approval_group: anc,
                    last_change: a.approved_at,
                })
            });
            if let Some(candidate) = found {
                best = Some(match best {
                    None => candidate,
                    Some(mut current) => {
                        let newest = current.last_change.max(candidate.last_change);
                        if outranks(&candidate, &current) {
                            current = candidate;
                        }
                        current.last_change = newest;
                        current
                    }
                });
            }
        }
        best
    }
}

impl Catalog {
    /// Builds the snapshot of every group, approval and decline.
    pub async fn targeting_snapshot(&self) -> Result<TargetingSnapshot, CatalogError> {
        let groups = self.store.list_groups().await?;
        let approvals = self.store.all_approvals().await?;
        let declined = self.store.list_declined().await?;
        let removals = self.store.approval_removals().await?;
        Ok(TargetingSnapshot::new(
            &groups,
            &approvals,
            declined.into_iter().map(|d| d.update_id),
        )
        .with_removals(&removals))
    }

    /// A value that changes whenever groups, approvals, declines or the targeting mode change
    /// through the catalog: one settings read. Read it before
    /// [`targeting_snapshot`](Self::targeting_snapshot) and rebuild when it differs; 0 before
    /// the first change.
    pub async fn approvals_version(&self) -> Result<i64, CatalogError> {
        Ok(self.store.setting(sluice_store::settings::APPROVALS_VERSION).await?.unwrap_or(0))
    }

    /// Moves [`approvals_version`](Self::approvals_version) on, after a change is committed
    /// (see `Store::bump_version`).
    pub(crate) async fn bump_version(&self) -> Result<(), CatalogError> {
        self.store.bump_version(sluice_store::settings::APPROVALS_VERSION).await?;
        Ok(())
    }

    /// Moves [`approvals_version`](Self::approvals_version) on after groups, approvals or
    /// declines were written straight to the store (a replica's sync mirroring its upstream),
    /// so that clients see the change.
    pub async fn bump_approvals_version(&self) -> Result<(), CatalogError> {
        self.bump_version().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;

    // A tree shaped like a small organisation:
    //   All Computers ── Unassigned Computers
    //                 ├─ Servers ── Web ── Frontend
    //                 │          └─ Db
    //                 ├─ Workstations ── Pilot
    //                 └─ Orphan (stored without a parent)
    const SERVERS: Uuid = Uuid::from_u128(0x10);
    const WEB: Uuid = Uuid::from_u128(0x11);
    const FRONTEND: Uuid = Uuid::from_u128(0x12);
    const DB: Uuid = Uuid::from_u128(0x13);
    const WORKSTATIONS: Uuid = Uuid::from_u128(0x20);
    const PILOT: Uuid = Uuid::from_u128(0x21);
    const ORPHAN: Uuid = Uuid::from_u128(0x30);
    const ALL: Uuid = ALL_COMPUTERS_GROUP;
    const UNASSIGNED: Uuid = UNASSIGNED_COMPUTERS_GROUP;

    const U1: Uuid = Uuid::from_u128(0xa1);
    const U2: Uuid = Uuid::from_u128(0xa2);

    use ApprovalAction::{Install, NotApproved, Uninstall};

    fn tree() -> Vec<ComputerGroup> {
        let g = |id, name: &str, parent: Option<Uuid>| ComputerGroup {
            id,
            name: name.into(),
            parent_id: parent,
            built_in: id == ALL || id == UNASSIGNED,
            created_at: t("2026-01-01T00:00:00Z"),
        };
        vec![
            g(ALL, "All Computers", None),
            g(UNASSIGNED, "Unassigned Computers", Some(ALL)),
            g(SERVERS, "Servers", Some(ALL)),
            g(WEB, "Web", Some(SERVERS)),
            g(FRONTEND, "Frontend", Some(WEB)),
            g(DB, "Db", Some(SERVERS)),
            g(WORKSTATIONS, "Workstations", Some(ALL)),
            g(PILOT, "Pilot", Some(WORKSTATIONS)),
            g(ORPHAN, "Orphan", None),
        ]
    }

    /// (update, group, action, deadline, approved_at)
    type Row = (Uuid, Uuid, ApprovalAction, Option<&'static str>, &'static str);

    fn snapshot(rows: &[Row], declined: &[Uuid]) -> TargetingSnapshot {
        let approvals: Vec<Approval> = rows
            .iter()
            .map(|(u, g, a, d, at)| Approval {
                update_id: *u,
                group_id: *g,
                action: *a,
                deadline: d.map(t),
                approved_by: "admin".into(),
                approved_at: t(at),
            })
            .collect();
        TargetingSnapshot::new(&tree(), &approvals, declined.iter().copied())
    }

    struct Case {
        name: &'static str,
        approvals: Vec<Row>,
        declined: Vec<Uuid>,
        computer: Vec<Uuid>,
        /// Expected effective approval of U1: (action, winning group, deadline).
        expect: Option<(ApprovalAction, Uuid, Option<&'static str>)>,
    }

    #[test]
    fn effective_approval_table() {
        let cases = vec![
            Case {
                name: "no approval anywhere",
                approvals: vec![],
                declined: vec![],
                computer: vec![WEB],
                expect: None,
            },
            Case {
                name: "All Computers reaches a deep group",
                approvals: vec![(U1, ALL, Install, None, T1)],
                declined: vec![],
                computer: vec![FRONTEND],
                expect: Some((Install, ALL, None)),
            },
            Case {
                name: "All Computers reaches a computer without groups (Unassigned)",
                approvals: vec![(U1, ALL, Install, Some(D1), T1)],
                declined: vec![],
                computer: vec![],
                expect: Some((Install, ALL, Some(D1))),
            },
            Case {
                name: "a parent's approval applies to its children",
                approvals: vec![(U1, SERVERS, Install, None, T1)],
                declined: vec![],
                computer: vec![FRONTEND],
                expect: Some((Install, SERVERS, None)),
            },
            Case {
                name: "a sibling branch does not inherit",
                approvals: vec![(U1, SERVERS, Install, None, T1)],
                declined: vec![],
                computer: vec![PILOT],
                expect: None,
            },
            Case {
                name: "the nearest approval overrides an ancestor's",
                approvals: vec![(U1, ALL, Install, None, T1), (U1, WEB, Uninstall, None, T2)],
                declined: vec![],
                computer: vec![FRONTEND],
                expect: Some((Uninstall, WEB, None)),
            },
            Case {
                name: "an explicit Not Approved blocks inheritance",
                approvals: vec![(U1, ALL, Install, None, T1), (U1, WEB, NotApproved, None, T2)],
                declined: vec![],
                computer: vec![FRONTEND],
                expect: Some((NotApproved, WEB, None)),
            },
            Case {
                name: "a block on one branch leaves the other branch approved",
                approvals: vec![(U1, ALL, Install, None, T1), (U1, WEB, NotApproved, None, T2)],
                declined: vec![],
                computer: vec![DB],
                expect: Some((Install, ALL, None)),
            },
            Case {
                name: "implicit All Computers does not compete with a blocking group",
                approvals: vec![(U1, ALL, Install, None, T1), (U1, UNASSIGNED, NotApproved, None, T2)],
                declined: vec![],
                computer: vec![],
                expect: Some((NotApproved, UNASSIGNED, None)),
            },
            Case {
                name: "conflict between groups: install beats uninstall",
                approvals: vec![(U1, WEB, Uninstall, Some(D1), T1), (U1, PILOT, Install, None, T2)],
                declined: vec![],
                computer: vec![WEB, PILOT],
                expect: Some((Install, PILOT, None)),
            },
            Case {
                name: "conflict between groups: uninstall beats not approved",
                approvals: vec![(U1, WEB, NotApproved, None, T1), (U1, PILOT, Uninstall, None, T2)],
                declined: vec![],
                computer: vec![PILOT, WEB],
                expect: Some((Uninstall, PILOT, None)),
            },
            Case {
                name: "an inherited install beats another group's explicit block",
                approvals: vec![(U1, ALL, Install, None, T1), (U1, WEB, NotApproved, None, T2)],
                declined: vec![],
                computer: vec![WEB, DB],
                expect: Some((Install, ALL, None)),
            },
            Case {
                name: "same action: the earliest deadline applies",
                approvals: vec![(U1, WEB, Install, Some(D2), T1), (U1, PILOT, Install, Some(D1), T2)],
                declined: vec![],
                computer: vec![WEB, PILOT],
                expect: Some((Install, PILOT, Some(D1))),
            },
            Case {
                name: "same action: a deadline beats none",
                approvals: vec![(U1, WEB, Install, None, T1), (U1, PILOT, Install, Some(D2), T2)],
                declined: vec![],
                computer: vec![WEB, PILOT],
                expect: Some((Install, PILOT, Some(D2))),
            },
            Case {
                name: "a losing action's deadline does not apply",
                approvals: vec![(U1, WEB, Uninstall, Some(D1), T1), (U1, PILOT, Install, Some(D2), T2)],
                declined: vec![],
                computer: vec![WEB, PILOT],
                expect: Some((Install, PILOT, Some(D2))),
            },
            Case {
                name: "a deadline on Not Approved means nothing",
                approvals: vec![(U1, WEB, NotApproved, Some(D1), T1)],
                declined: vec![],
                computer: vec![WEB],
                expect: Some((NotApproved, WEB, None)),
            },
            Case {
                name: "declined updates have no effective approval",
                approvals: vec![(U1, ALL, Install, None, T1), (U1, WEB, Install, Some(D1), T2)],
                declined: vec![U1],
                computer: vec![WEB],
                expect: None,
            },
            Case {
                name: "explicit membership of All Computers alone means Unassigned",
                approvals: vec![(U1, UNASSIGNED, Install, None, T1)],
                declined: vec![],
                computer: vec![ALL],
                expect: Some((Install, UNASSIGNED, None)),
            },
            Case {
                name: "a computer with groups is not in Unassigned",
                approvals: vec![(U1, UNASSIGNED, Install, None, T1)],
                declined: vec![],
                computer: vec![UNASSIGNED, DB],
                expect: None,
            },
            Case {
                name: "unknown groups are ignored (the computer counts as unassigned)",
                approvals: vec![(U1, UNASSIGNED, Install, None, T1)],
                declined: vec![],
                computer: vec![Uuid::from_u128(0xdead)],
                expect: Some((Install, UNASSIGNED, None)),
            },
            Case {
                name: "a group stored without a parent still inherits from All Computers",
                approvals: vec![(U1, ALL, Uninstall, None, T1)],
                declined: vec![],
                computer: vec![ORPHAN],
                expect: Some((Uninstall, ALL, None)),
            },
        ];
        for c in cases {
            let s = snapshot(&c.approvals, &c.declined);
            let all = s.effective_for_groups(&c.computer);
            let got = all.get(&U1).map(|e| (e.action, e.approval_group, e.deadline));
            let want = c.expect.map(|(a, g, d)| (a, g, d.map(t)));
            assert_eq!(got, want, "{}", c.name);
            // The single-update query agrees, and the group order never matters.
            assert_eq!(
                s.effective_for_update(U1, &c.computer),
                all.get(&U1).copied(),
                "{}: single",
                c.name
            );
            let mut reversed = c.computer.clone();
            reversed.reverse();
            assert_eq!(s.effective_for_groups(&reversed), all, "{}: order", c.name);
        }
    }

    #[test]
    fn updates_resolve_independently_and_last_change_covers_every_weighed_approval() {
        let s = snapshot(
            &[
                (U1, ALL, Install, None, T1),
                (U1, PILOT, Uninstall, None, T3),
                (U2, WEB, NotApproved, None, T2),
                (U2, SERVERS, Install, Some(D1), T1),
            ],
            &[],
        );
        let e = s.effective_for_groups(&[FRONTEND, PILOT]);
        assert_eq!(e.len(), 2);
        // U1: Frontend inherits Install from All; Pilot has its own Uninstall; Install wins,
        // and the newer (losing) Pilot approval still dates the result.
        assert_eq!(e[&U1].action, Install);
        assert_eq!(e[&U1].approval_group, ALL);
        assert_eq!(e[&U1].last_change, t(T3));
        // U2: Web's block shadows Servers for Frontend; Pilot has nothing.
        assert_eq!(e[&U2].action, NotApproved);
        assert_eq!(e[&U2].last_change, t(T2));
        assert_eq!(s.effective_for_groups(&[DB])[&U2].deadline, Some(t(D1)));
    }

    #[test]
    fn membership_is_canonical() {
        let s = snapshot(&[], &[]);
        assert_eq!(s.membership(&[]), vec![UNASSIGNED]);
        assert_eq!(s.membership(&[ALL]), vec![UNASSIGNED]);
        assert_eq!(s.membership(&[PILOT, WEB, PILOT, UNASSIGNED]), vec![WEB, PILOT]);
        assert!(s.is_member(&[WEB], ALL));
        assert!(!s.is_member(&[WEB], SERVERS), "membership is direct");
        assert_eq!(s.ancestry(FRONTEND), vec![FRONTEND, WEB, SERVERS, ALL]);
        assert_eq!(s.ancestry(ORPHAN), vec![ORPHAN, ALL]);
        assert!(s.ancestry(Uuid::from_u128(0xdead)).is_empty());
    }

    #[test]
    fn groups_of_follows_the_targeting_mode() {
        let s = snapshot(&[], &[]);
        assert_eq!(s.groups_of(TargetingMode::Server, &[DB], Some("Pilot")), vec![DB]);
        assert_eq!(s.groups_of(TargetingMode::Server, &[], None), vec![UNASSIGNED]);
        assert_eq!(
            s.groups_of(TargetingMode::Client, &[DB], Some(" pilot ;WEB; nosuch;")),
            vec![WEB, PILOT]
        );
        assert_eq!(
            s.groups_of(TargetingMode::Client, &[DB], Some("nosuch")),
            vec![UNASSIGNED]
        );
        assert_eq!(s.groups_of(TargetingMode::Client, &[DB], None), vec![UNASSIGNED]);
        assert_eq!(s.group_by_name("frontend"), Some(FRONTEND));
    }
}
