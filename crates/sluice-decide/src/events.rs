//! What a client's event reports change: ReportEventBatch events in, per-update status
//! changes out, as WSUS reads them. Event 156 (the scan summary) is authoritative: its misc
//! data lists the updates the client needs (`U`), has installed (`V`), installed pending a
//! reboot (`W`), downloaded (`h`) and failed (`g`); install and failure events move single
//! updates in between.

use std::collections::{HashMap, HashSet};

pub use sluice_api::ReportedState;
use sluice_soap::ReportingEvent;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::index::{CatalogIndex, Kind};
use crate::targeting::{ApprovalAction, TargetingSnapshot};

/// The scan summary event.
const SUMMARY: i32 = 156;

/// One update's new status on the reporting computer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub update_id: Uuid,
    /// The catalog's current revision of the update.
    pub revision_number: i32,
    pub state: ReportedState,
    /// When the client says it happened, never later than the report's arrival.
    pub at: OffsetDateTime,
    pub event_id: i32,
}

/// Which updates a summary may mark not applicable on a computer: those approved (install or
/// uninstall) for it, and those it has a status row for other than not applicable.
#[derive(Debug, Clone, Default)]
pub struct StatusScope {
    approved: HashSet<Uuid>,
    reported: HashSet<Uuid>,
}

impl StatusScope {
    /// `groups`: the computer's groups under the targeting mode; `reported`: its status rows.
    pub fn new(
        targeting: &TargetingSnapshot,
        groups: &[Uuid],
        reported: impl IntoIterator<Item = (Uuid, ReportedState)>,
    ) -> StatusScope {
        let approved = targeting
            .effective_for_groups(groups)
            .into_iter()
            .filter(|(_, a)| a.action != ApprovalAction::NotApproved)
            .map(|(u, _)| u)
            .collect();
        let reported =
            reported.into_iter().filter(|(_, s)| *s != ReportedState::NotApplicable).map(|(u, _)| u).collect();
        StatusScope { approved, reported }
    }

    fn contains(&self, update: &Uuid) -> bool {
        self.approved.contains(update) || self.reported.contains(update)
    }
}

/// Whether [`status_changes`] needs the computer's [`StatusScope`] (loading it costs the
/// caller a read of the computer's groups and status): only a summary walks the catalog.
pub fn needs_scope(events: &[ReportingEvent]) -> bool {
    events.iter().any(|ev| ev.basic.event_id == SUMMARY)
}

/// The status changes a batch of events makes, one per update, later events winning.
///
/// Updates the catalog does not hold are ignored (a GUID nobody published here would just be
/// a row the reporter chose), and only the batch's last summary (the one that stands) walks
/// the catalog, so the work is bounded by the catalog, not by the request. Without `scope`
/// a summary marks nothing not applicable.
pub fn status_changes(
    index: &CatalogIndex,
    targeting: &TargetingSnapshot,
    events: &[ReportingEvent],
    scope: Option<&StatusScope>,
    now: OffsetDateTime,
) -> Vec<StatusChange> {
    let last_summary = events.iter().rposition(|ev| ev.basic.event_id == SUMMARY);
    let mut changes: HashMap<Uuid, StatusChange> = HashMap::new();
    for (n, ev) in events.iter().enumerate() {
        let b = &ev.basic;
        let at = b.time_at_target.as_deref().and_then(sluice_soap::parse_datetime).unwrap_or(now).min(now);
        let mut set = |update: Uuid, state: ReportedState| {
            let Some(i) = index.entry_of_update(&update) else { return };
            changes.insert(
                update,
                StatusChange {
                    update_id: update,
                    revision_number: index.entries[i].revision_number,
                    state,
                    at,
                    event_id: b.event_id,
                },
            );
        };
        let single = b.update_id.map(|u| u.update_id).filter(|u| !u.is_nil());
        match b.event_id {
            SUMMARY => {
                let misc = ev.extended.as_ref().map(|x| x.misc_data.as_slice()).unwrap_or(&[]);
                let mut named = HashSet::new();
                for (tag, state) in [
                    ("U", ReportedState::NotInstalled),
                    ("V", ReportedState::Installed),
                    ("W", ReportedState::InstalledPendingReboot),
                    ("h", ReportedState::Downloaded),
                    ("g", ReportedState::Failed),
                ] {
                    let listed = misc
                        .iter()
                        .filter_map(|m| m.strip_prefix(tag).and_then(|r| r.strip_prefix('=')))
                        .flat_map(|v| v.split(';'))
                        .filter_map(|u| Uuid::parse_str(u.trim()).ok());
                    for u in listed {
                        if named.insert(u) {
                            set(u, state);
                        }
                    }
                }
                if Some(n) != last_summary {
                    continue;
                }
                // Updates the client did not name do not apply to it. Rows are written for
                // the updates approved for this computer and for those it reported on before;
                // for the rest of the catalog "reported, no row" already means not applicable,
                // and writing thousands of rows per computer per scan is the database bloat
                // WSUS administrators fight.
                let Some(scope) = scope else { continue };
                for e in &index.entries {
                    if e.kind == Kind::Software
                        && e.explicitly_deployable
                        && !named.contains(&e.update_id)
                        && !targeting.is_declined(e.update_id)
                        && !e.expired
                        && scope.contains(&e.update_id)
                    {
                        set(e.update_id, ReportedState::NotApplicable);
                    }
                }
            }
            182 | 161 => single.into_iter().for_each(|u| set(u, ReportedState::Failed)),
            162 => single.into_iter().for_each(|u| set(u, ReportedState::Downloaded)),
            183 | 190 => single.into_iter().for_each(|u| set(u, ReportedState::Installed)),
            184 | 191 | 201 => single.into_iter().for_each(|u| set(u, ReportedState::InstalledPendingReboot)),
            _ => {}
        }
    }
    changes.into_values().collect()
}

#[cfg(test)]
mod tests {

    use sluice_soap::{BasicData, ExtendedData, UpdateIdentity};

    use super::*;
    use crate::index::Entry;
    use crate::targeting::{ALL_COMPUTERS_GROUP, Group, GroupApproval, UNASSIGNED_COMPUTERS_GROUP};

    const A: Uuid = Uuid::from_u128(0xa);
    const B: Uuid = Uuid::from_u128(0xb);
    const C: Uuid = Uuid::from_u128(0xc);
    const D: Uuid = Uuid::from_u128(0xd);

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    fn index() -> CatalogIndex {
        let entry = |rev: i32, id: Uuid| Entry::bare(rev, id, 200 + rev, Kind::Software, now());
        CatalogIndex::from_entries(vec![entry(1, A), entry(2, B), entry(3, C), entry(4, D)], HashMap::new())
    }

    /// C approved for install on All Computers, D declined.
    fn targeting() -> TargetingSnapshot {
        let groups = [
            Group { id: ALL_COMPUTERS_GROUP, name: "All Computers".into(), parent_id: None },
            Group { id: UNASSIGNED_COMPUTERS_GROUP, name: "Unassigned Computers".into(), parent_id: Some(ALL_COMPUTERS_GROUP) },
        ];
        let approvals = [GroupApproval {
            update_id: C,
            group_id: ALL_COMPUTERS_GROUP,
            action: ApprovalAction::Install,
            deadline: None,
            approved_at: now(),
        }];
        TargetingSnapshot::new(&groups, &approvals, [D])
    }

    fn event(id: i32, update: Option<Uuid>, misc: &[&str], at: &str) -> ReportingEvent {
        ReportingEvent {
            basic: BasicData {
                event_id: id,
                time_at_target: Some(at.into()),
                update_id: update.map(|u| UpdateIdentity { update_id: u, revision_number: 1 }),
                ..BasicData::default()
            },
            extended: Some(ExtendedData { misc_data: misc.iter().map(|m| m.to_string()).collect(), ..ExtendedData::default() }),
            private: None,
        }
    }

    fn states(changes: &[StatusChange]) -> Vec<(Uuid, ReportedState)> {
        let mut v: Vec<_> = changes.iter().map(|c| (c.update_id, c.state)).collect();
        v.sort();
        v
    }

    #[test]
    fn a_summary_sets_what_it_names_and_marks_approved_unnamed_updates_not_applicable() {
        let (index, targeting) = (index(), targeting());
        let events = [event(156, None, &[&format!("U={A}"), &format!("V={B};{}", Uuid::from_u128(0xdead))], "2027-01-15T08:00:00Z")];
        assert!(needs_scope(&events));
        let scope = StatusScope::new(&targeting, &[UNASSIGNED_COMPUTERS_GROUP], []);
        let got = status_changes(&index, &targeting, &events, Some(&scope), now());
        // The unknown GUID is ignored; C is approved and unnamed: not applicable; D is
        // declined and nobody reported it before: no row.
        assert_eq!(
            states(&got),
            [(A, ReportedState::NotInstalled), (B, ReportedState::Installed), (C, ReportedState::NotApplicable)]
        );
        assert!(got.iter().all(|c| c.event_id == 156 && c.revision_number > 200));
        // Without a scope, a summary marks nothing not applicable.
        assert_eq!(status_changes(&index, &targeting, &events, None, now()).len(), 2);
    }

    #[test]
    fn later_events_win_and_times_are_never_in_the_future() {
        let (index, targeting) = (index(), targeting());
        let events = [
            event(156, None, &[&format!("U={A}")], "2020-01-01T00:00:00Z"),
            event(183, Some(A), &[], "2099-01-01T00:00:00Z"),
            event(182, Some(B), &[], "2020-01-02T00:00:00Z"),
            event(190, Some(Uuid::nil()), &[], "2020-01-02T00:00:00Z"),
            event(999, Some(C), &[], "2020-01-02T00:00:00Z"),
        ];
        let scope = StatusScope::new(&targeting, &[UNASSIGNED_COMPUTERS_GROUP], [(C, ReportedState::Installed)]);
        let got = status_changes(&index, &targeting, &events, Some(&scope), now());
        assert_eq!(
            states(&got),
            [(A, ReportedState::Installed), (B, ReportedState::Failed), (C, ReportedState::NotApplicable)]
        );
        let a = got.iter().find(|c| c.update_id == A).unwrap();
        assert_eq!((a.at, a.event_id), (now(), 183), "a time after the report's arrival is the arrival");
        assert!(!needs_scope(&events[1..]));
    }

    #[test]
    fn only_the_last_summary_walks_the_catalog_and_not_applicable_needs_a_reason() {
        let (index, targeting) = (index(), targeting());
        // B was reported before as not applicable only: not in scope. A was reported installed.
        let scope = StatusScope::new(
            &targeting,
            &[UNASSIGNED_COMPUTERS_GROUP],
            [(B, ReportedState::NotApplicable), (A, ReportedState::Installed)],
        );
        let events = [
            event(156, None, &[&format!("V={C}")], "2020-01-01T00:00:00Z"),
            event(156, None, &[&format!("V={A}")], "2020-01-02T00:00:00Z"),
        ];
        let got = status_changes(&index, &targeting, &events, Some(&scope), now());
        // C: installed by the first summary, then not applicable by the last (approved, not
        // named there); A named installed; B untouched.
        assert_eq!(states(&got), [(A, ReportedState::Installed), (C, ReportedState::NotApplicable)]);
    }
}
