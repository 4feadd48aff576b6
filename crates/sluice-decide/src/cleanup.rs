//! What a cleanup run (WSUS's Server Cleanup Wizard) declines, deletes and removes, decided
//! from plain records and `now`; the server loads the records, carries the plan out and
//! records the run.
//!
//! A superseded update is declined only when every one of WSUS's conditions holds:
//! - no computer needs it: none here and none a downstream server rolled up reports it
//!   NotInstalled, Downloaded, InstalledPendingReboot or Failed;
//! - it is not approved where it may still be needed: for each group it is approved (Install)
//!   for, every computer of that group and its subgroups has reported it Installed or
//!   NotApplicable (a computer that has not reported yet may need it);
//! - an update superseding it (by the superseding update's latest revision) is approved for
//!   Install for some group and is not declined;
//! - that supersedence has been known for at least the configured days (from when the first
//!   revision of the superseding update that names it was stored).
//!
//! Content: a file stays when an update that is approved (Install), or that some computer
//! needs, references it (itself or through the updates it bundles), when a downstream server
//! asked for it, when it belongs to a locally published update (it cannot be downloaded
//! again), or when the server keeps every update's files (storage mode "all"). Updates this
//! plan declines count as declined for that decision.

use std::collections::{BTreeSet, HashMap, HashSet};

use sluice_api::{ALL_COMPUTERS_GROUP, ApprovalAction};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// An update as the cleanup sees it (its latest revision).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateRecord {
    pub update_id: Uuid,
    pub declined: bool,
    /// Its latest revision's PublicationState is `Expired`.
    pub expired: bool,
    pub locally_published: bool,
}

/// `superseding` (some revision of it) names `superseded` in its SupersededUpdates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supersedence {
    pub superseding: Uuid,
    pub superseded: Uuid,
    /// When the first revision of `superseding` that names it was stored.
    pub known_since: OffsetDateTime,
    /// The superseding update's latest revision still names it (a later revision can drop
    /// a supersedence).
    pub in_latest: bool,
}

/// An approval of an update for a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApprovalRecord {
    pub update_id: Uuid,
    pub group_id: Uuid,
    pub action: ApprovalAction,
}

/// A reported state, reduced to what the cleanup distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    /// NotInstalled, Downloaded, InstalledPendingReboot or Failed.
    Needed,
    /// Installed or NotApplicable.
    Settled,
    /// Unknown.
    Unknown,
}

/// A computer's reported state of an update, here or on a downstream server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRecord {
    /// Empty for a downstream server's computer: those only count as needing an update.
    pub computer_id: String,
    pub update_id: Uuid,
    pub state: Reported,
    /// Rolled up by a downstream server.
    pub downstream: bool,
}

/// A computer group and its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupRecord {
    pub id: Uuid,
    pub parent: Option<Uuid>,
}

/// A computer registered here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputerRecord {
    pub id: String,
    /// The groups it is a direct member of.
    pub groups: Vec<Uuid>,
    /// Its last sync, or its registration when it never synced.
    pub last_contact: OffsetDateTime,
}

/// A file of the content store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    pub sha1: String,
    /// In the content store now.
    pub present: bool,
}

/// Everything a cleanup decides from.
#[derive(Debug, Clone, Default)]
pub struct CleanupInput {
    pub updates: Vec<UpdateRecord>,
    pub supersedences: Vec<Supersedence>,
    pub approvals: Vec<ApprovalRecord>,
    /// Status rows of the updates that can be declined (others need not be given), and any
    /// row that says an update is needed.
    pub statuses: Vec<StatusRecord>,
    pub groups: Vec<GroupRecord>,
    pub computers: Vec<ComputerRecord>,
    pub files: Vec<FileRecord>,
    /// `(update, sha1)`: the files of every revision of each update.
    pub update_files: Vec<(Uuid, String)>,
    /// `(bundle, bundled update)`.
    pub bundles: Vec<(Uuid, Uuid)>,
    /// Files downstream servers asked for.
    pub wanted_files: Vec<String>,
}

/// The thresholds and switches of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupPolicy {
    pub superseded_days: i64,
    pub stale_computer_days: i64,
    /// A replica takes its declines from its upstream: it declines nothing itself.
    pub replica: bool,
    /// Storage mode "all": every update's files are kept.
    pub keep_all_content: bool,
}

/// What a run changes. Each list is sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanupPlan {
    pub decline_superseded: Vec<Uuid>,
    pub decline_expired: Vec<Uuid>,
    pub delete_files: Vec<String>,
    pub remove_computers: Vec<String>,
}

/// Decides a cleanup run.
pub fn plan(input: &CleanupInput, policy: &CleanupPolicy, now: OffsetDateTime) -> CleanupPlan {
    let updates: HashMap<Uuid, &UpdateRecord> = input.updates.iter().map(|u| (u.update_id, u)).collect();
    let needed: HashSet<Uuid> =
        input.statuses.iter().filter(|s| s.state == Reported::Needed).map(|s| s.update_id).collect();
    let mut approved_groups: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for a in input.approvals.iter().filter(|a| a.action == ApprovalAction::Install) {
        approved_groups.entry(a.update_id).or_default().push(a.group_id);
    }

    let mut decline_expired = BTreeSet::new();
    let mut decline_superseded = BTreeSet::new();
    if !policy.replica {
        decline_expired.extend(input.updates.iter().filter(|u| u.expired && !u.declined).map(|u| u.update_id));
        let members = GroupMembers::new(&input.groups, &input.computers);
        let mut settled: HashMap<Uuid, HashSet<&str>> = HashMap::new();
        for s in input.statuses.iter().filter(|s| !s.downstream && s.state == Reported::Settled) {
            settled.entry(s.update_id).or_default().insert(s.computer_id.as_str());
        }
        let old_enough = now - Duration::days(policy.superseded_days.max(0));
        let superseder_counts = |s: &Supersedence| {
            s.in_latest
                && s.known_since <= old_enough
                && updates.get(&s.superseding).is_some_and(|u| !u.declined)
                && approved_groups.contains_key(&s.superseding)
        };
        for s in input.supersedences.iter().filter(|s| superseder_counts(s)) {
            let id = s.superseded;
            let Some(u) = updates.get(&id) else { continue };
            if u.declined || decline_expired.contains(&id) || needed.contains(&id) {
                continue;
            }
            let maybe_needed_where_approved = approved_groups.get(&id).is_some_and(|groups| {
                let done = settled.get(&id);
                groups.iter().any(|g| {
                    members.of(*g).any(|c| !done.is_some_and(|d| d.contains(c)))
                })
            });
            if !maybe_needed_where_approved {
                decline_superseded.insert(id);
            }
        }
    }

    // Content, against the catalog as the declines above leave it.
    let declined_now = |id: &Uuid| {
        decline_superseded.contains(id)
            || decline_expired.contains(id)
            || updates.get(id).is_some_and(|u| u.declined)
    };
    let mut keep_updates: Vec<Uuid> = input
        .updates
        .iter()
        .filter(|u| {
            needed.contains(&u.update_id)
                || (!declined_now(&u.update_id)
                    && (approved_groups.contains_key(&u.update_id) || u.locally_published || policy.keep_all_content))
        })
        .map(|u| u.update_id)
        .collect();
    let mut bundled: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (bundle, child) in &input.bundles {
        bundled.entry(*bundle).or_default().push(*child);
    }
    let mut kept: HashSet<Uuid> = keep_updates.iter().copied().collect();
    while let Some(u) = keep_updates.pop() {
        for child in bundled.get(&u).into_iter().flatten() {
            if kept.insert(*child) {
                keep_updates.push(*child);
            }
        }
    }
    let mut used: HashSet<&str> = input.wanted_files.iter().map(String::as_str).collect();
    used.extend(input.update_files.iter().filter(|(u, _)| kept.contains(u)).map(|(_, f)| f.as_str()));
    let delete_files: BTreeSet<String> =
        input.files.iter().filter(|f| f.present && !used.contains(f.sha1.as_str())).map(|f| f.sha1.clone()).collect();

    let silent_since = now - Duration::days(policy.stale_computer_days.max(0));
    let remove_computers: BTreeSet<String> =
        input.computers.iter().filter(|c| c.last_contact < silent_since).map(|c| c.id.clone()).collect();

    CleanupPlan {
        decline_superseded: decline_superseded.into_iter().collect(),
        decline_expired: decline_expired.into_iter().collect(),
        delete_files: delete_files.into_iter().collect(),
        remove_computers: remove_computers.into_iter().collect(),
    }
}

/// The computers an approval for a group reaches: its direct members and those of its
/// subgroups; "All Computers" reaches every computer.
struct GroupMembers<'a> {
    children: HashMap<Uuid, Vec<Uuid>>,
    direct: HashMap<Uuid, Vec<&'a str>>,
    all: Vec<&'a str>,
}

impl<'a> GroupMembers<'a> {
    fn new(groups: &[GroupRecord], computers: &'a [ComputerRecord]) -> Self {
        let mut children: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for g in groups {
            if let Some(p) = g.parent {
                children.entry(p).or_default().push(g.id);
            }
        }
        let mut direct: HashMap<Uuid, Vec<&str>> = HashMap::new();
        for c in computers {
            for g in &c.groups {
                direct.entry(*g).or_default().push(c.id.as_str());
            }
        }
        GroupMembers { children, direct, all: computers.iter().map(|c| c.id.as_str()).collect() }
    }

    fn of(&self, group: Uuid) -> Box<dyn Iterator<Item = &'a str> + '_> {
        if group == ALL_COMPUTERS_GROUP {
            return Box::new(self.all.iter().copied());
        }
        let mut seen = HashSet::from([group]);
        let mut stack = vec![group];
        let mut out = Vec::new();
        while let Some(g) = stack.pop() {
            out.extend(self.direct.get(&g).into_iter().flatten().copied());
            for c in self.children.get(&g).into_iter().flatten() {
                if seen.insert(*c) {
                    stack.push(*c);
                }
            }
        }
        Box::new(out.into_iter())
    }
}

/// `HH:MM` as minutes after midnight; `None` when it is not a time of day.
pub fn parse_time_of_day(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// Whether the daily run at `minute` (after midnight UTC) is due: its most recent slot at or
/// before `now` is after `since` (the last run's start, or when the scheduler started
/// watching, so that a server started after the slot does not catch up at once).
pub fn daily_due(minute: u32, since: OffsetDateTime, now: OffsetDateTime) -> bool {
    let midnight = now.replace_time(time::Time::MIDNIGHT);
    let mut slot = midnight + Duration::minutes(i64::from(minute));
    if slot > now {
        slot -= Duration::days(1);
    }
    slot > since
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);
    const PILOT: Uuid = Uuid::from_u128(0x1111);

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn update(n: u128) -> UpdateRecord {
        UpdateRecord { update_id: id(n), declined: false, expired: false, locally_published: false }
    }

    fn policy() -> CleanupPolicy {
        CleanupPolicy { superseded_days: 30, stale_computer_days: 30, replica: false, keep_all_content: false }
    }

    fn install(update: u128, group: Uuid) -> ApprovalRecord {
        ApprovalRecord { update_id: id(update), group_id: group, action: ApprovalAction::Install }
    }

    fn status(computer: &str, update: u128, state: Reported) -> StatusRecord {
        StatusRecord { computer_id: computer.into(), update_id: id(update), state, downstream: false }
    }

    fn computer(name: &str, group: Uuid, days_ago: i64) -> ComputerRecord {
        ComputerRecord { id: name.into(), groups: vec![group], last_contact: NOW - Duration::days(days_ago) }
    }

    /// Update 1 superseded by update 2 (approved for Pilot) 40 days ago; pc1 in Pilot.
    fn base() -> CleanupInput {
        CleanupInput {
            updates: vec![update(1), update(2)],
            supersedences: vec![Supersedence {
                superseding: id(2),
                superseded: id(1),
                known_since: NOW - Duration::days(40),
                in_latest: true,
            }],
            approvals: vec![install(2, PILOT)],
            statuses: vec![status("pc1", 1, Reported::Settled)],
            groups: vec![GroupRecord { id: ALL_COMPUTERS_GROUP, parent: None }, GroupRecord { id: PILOT, parent: Some(ALL_COMPUTERS_GROUP) }],
            computers: vec![computer("pc1", PILOT, 1)],
            ..Default::default()
        }
    }

    fn declined(input: &CleanupInput) -> Vec<Uuid> {
        plan(input, &policy(), NOW).decline_superseded
    }

    #[test]
    fn superseded_unneeded_with_an_approved_superseder_is_declined() {
        assert_eq!(declined(&base()), vec![id(1)]);
    }

    #[test]
    fn each_violated_criterion_keeps_the_update() {
        let mut needed_here = base();
        needed_here.statuses = vec![status("pc1", 1, Reported::Needed)];
        let mut failed_downstream = base();
        failed_downstream.statuses.push(StatusRecord {
            computer_id: String::new(),
            update_id: id(1),
            state: Reported::Needed,
            downstream: true,
        });
        let mut approved_unreported = base();
        approved_unreported.approvals.push(install(1, PILOT));
        approved_unreported.computers.push(computer("pc2", PILOT, 1));
        let mut superseder_unapproved = base();
        superseder_unapproved.approvals.clear();
        let mut superseder_only_not_approved = base();
        superseder_only_not_approved.approvals[0].action = ApprovalAction::NotApproved;
        let mut superseder_declined = base();
        superseder_declined.updates[1].declined = true;
        let mut too_recent = base();
        too_recent.supersedences[0].known_since = NOW - Duration::days(29);
        let mut dropped = base();
        dropped.supersedences[0].in_latest = false;
        for (what, input) in [
            ("needed by a computer here", needed_here),
            ("needed by a downstream server's computer", failed_downstream),
            ("approved for a group with a computer that has not reported it", approved_unreported),
            ("superseding update not approved", superseder_unapproved),
            ("superseding update only 'not approved'", superseder_only_not_approved),
            ("superseding update declined", superseder_declined),
            ("superseded for 29 days of 30", too_recent),
            ("the superseder's latest revision no longer supersedes it", dropped),
        ] {
            assert_eq!(declined(&input), Vec::<Uuid>::new(), "{what}");
        }
    }

    #[test]
    fn approved_where_every_computer_reported_it_settled_is_declined() {
        let mut input = base();
        input.approvals.push(install(1, ALL_COMPUTERS_GROUP));
        assert_eq!(declined(&input), vec![id(1)]);
        // An approval for a parent reaches the computers of its subgroups.
        input.computers.push(computer("pc2", PILOT, 1));
        assert_eq!(declined(&input), Vec::<Uuid>::new());
    }

    #[test]
    fn expired_updates_are_declined_once_and_never_on_a_replica() {
        let mut input = base();
        input.updates.push(UpdateRecord { expired: true, ..update(3) });
        input.updates.push(UpdateRecord { expired: true, declined: true, ..update(4) });
        let p = plan(&input, &policy(), NOW);
        assert_eq!(p.decline_expired, vec![id(3)]);
        let replica = plan(&input, &CleanupPolicy { replica: true, ..policy() }, NOW);
        assert!(replica.decline_expired.is_empty() && replica.decline_superseded.is_empty());
    }

    #[test]
    fn only_unused_content_is_deleted() {
        let mut input = base();
        input.updates.extend([update(5), update(6), update(7), UpdateRecord { locally_published: true, ..update(8) }]);
        input.approvals.push(install(5, PILOT));
        input.statuses.push(status("pc1", 6, Reported::Needed));
        input.bundles.push((id(5), id(7)));
        let files = ["approved", "needed", "bundled", "published", "superseded", "unused", "wanted", "absent"];
        input.files = files.iter().map(|f| FileRecord { sha1: f.to_string(), present: *f != "absent" }).collect();
        for (u, f) in [(5, "approved"), (6, "needed"), (7, "bundled"), (8, "published"), (1, "superseded"), (2, "approved"), (1, "absent")] {
            input.update_files.push((id(u), f.to_string()));
        }
        input.wanted_files.push("wanted".into());
        let p = plan(&input, &policy(), NOW);
        // Update 1 is declined by this plan, so its file goes with the unused one.
        assert_eq!(p.decline_superseded, vec![id(1)]);
        assert_eq!(p.delete_files, vec!["superseded".to_string(), "unused".to_string()]);
        let all = plan(&input, &CleanupPolicy { keep_all_content: true, ..policy() }, NOW);
        assert_eq!(all.delete_files, vec!["superseded".to_string(), "unused".to_string()]);
    }

    #[test]
    fn computers_silent_past_the_threshold_are_removed() {
        let mut input = base();
        input.computers.push(computer("old", PILOT, 31));
        input.computers.push(computer("edge", PILOT, 30));
        assert_eq!(plan(&input, &policy(), NOW).remove_computers, vec!["old".to_string()]);
    }

    #[test]
    fn time_of_day_and_daily_slot() {
        assert_eq!(parse_time_of_day("03:00"), Some(180));
        assert_eq!(parse_time_of_day("23:59"), Some(1439));
        for bad in ["24:00", "3:0", "12:60", "ab:cd", "", "-1:00", "12:00:00"] {
            assert_eq!(parse_time_of_day(bad), None, "{bad}");
        }
        let slot = 180;
        // Started after today's slot: nothing until tomorrow's.
        assert!(!daily_due(slot, datetime!(2026-06-01 10:00 UTC), datetime!(2026-06-01 11:00 UTC)));
        assert!(daily_due(slot, datetime!(2026-06-01 10:00 UTC), datetime!(2026-06-02 03:00 UTC)));
        // Ran at today's slot: not again today.
        assert!(!daily_due(slot, datetime!(2026-06-02 03:00 UTC), datetime!(2026-06-02 23:00 UTC)));
        // Last ran two days ago (the server was down): once, now.
        assert!(daily_due(slot, datetime!(2026-05-30 03:00 UTC), datetime!(2026-06-01 09:00 UTC)));
    }
}
