//! SyncUpdates evaluation (MS-WUSP 3.1.5.7 as a real WSUS behaves): which revisions a client
//! gets next, which of its cached ones it must drop, and which changed.

use std::collections::HashSet;

use uuid::Uuid;

use crate::index::{CatalogIndex, Kind};
use crate::scan_graph::Bitset;
use crate::scope::Deployment;

/// Real WSUS sends at most this many updates per response; the client loops on `Truncated`.
pub const PAGE_SIZE: usize = 30;

/// Real WSUS refuses more installed non-leaf ids than this with InvalidParameters.
pub const MAX_INSTALLED_NON_LEAF: usize = 400;

#[derive(Debug, Clone, Default)]
pub struct SyncQuery<'a> {
    pub installed_non_leaf: &'a [i32],
    pub other_cached: &'a [i32],
    pub skip_software_sync: bool,
    pub cached_driver_ids: &'a [i32],
    pub filter_category_ids: &'a [Uuid],
    pub need_two_group_out_of_scope: bool,
    /// Highest deployment change (unix ms) the client has already been sent.
    pub watermark_ms: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncOutcome {
    /// Entry indices to send as NewUpdates, non-leaf first.
    pub new_updates: Vec<usize>,
    pub out_of_scope: Vec<i32>,
    /// Entry indices whose deployment changed since the watermark.
    pub changed_updates: Vec<usize>,
    pub truncated: bool,
    pub deployed_out_of_scope: Vec<i32>,
    pub driver_sync_not_needed: bool,
    pub new_watermark_ms: i64,
}

/// Entries a category-filtered scan may see: updates in the filter categories, the categories
/// themselves, and everything those depend on.
fn filtered(index: &CatalogIndex, filter: &[Uuid]) -> HashSet<usize> {
    let roots = index.graph().in_categories(filter, |u| index.entry_of_update(u));
    index.closure(roots, |_| true)
}

/// What one page cost: index entries looked at, so a test can show that it follows the
/// client's scope and not the catalog's size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncWork {
    pub entries_touched: usize,
}

pub fn sync_updates(index: &CatalogIndex, deployments: &[Option<Deployment>], q: &SyncQuery<'_>) -> SyncOutcome {
    sync_updates_counted(index, deployments, q).0
}

/// [`sync_updates`], also saying how much of the index the page looked at.
///
/// Only candidates are evaluated: entries without prerequisites and the entries watching an
/// installed update (`scan_graph`); every other entry has a clause without an installed
/// member, so it cannot be needed. The client's cached ids are a bitset over the entries.
pub fn sync_updates_counted(index: &CatalogIndex, deployments: &[Option<Deployment>], q: &SyncQuery<'_>) -> (SyncOutcome, SyncWork) {
    let mut out = SyncOutcome { new_watermark_ms: q.watermark_ms, ..Default::default() };
    let mut work = SyncWork::default();
    if q.skip_software_sync {
        // Driver pass. Sluice serves no driver updates: every cached driver id is out of
        // scope and the client may skip driver matching.
        out.out_of_scope = q.cached_driver_ids.to_vec();
        out.driver_sync_not_needed = true;
        return (out, work);
    }
    let graph = index.graph();
    let n = index.entries.len();
    let mut installed = Bitset::new(graph.slots());
    let mut installed_slots: Vec<usize> = Vec::new();
    for r in q.installed_non_leaf {
        let Some(u) = index.update_of_revision(*r) else { continue };
        if let Some(s) = graph.slot(index.entry_of_update(&u), &u) {
            if installed.insert(s) {
                installed_slots.push(s);
            }
        }
    }
    let mut cached_ids: Vec<i32> = q.installed_non_leaf.iter().chain(q.other_cached.iter()).copied().collect();
    cached_ids.sort_unstable();
    cached_ids.dedup();
    let cached_ids: Vec<(i32, Option<usize>)> = cached_ids.into_iter().map(|id| (id, index.entry_of_revision(id))).collect();
    let mut cached = Bitset::new(n);
    for i in cached_ids.iter().filter_map(|(_, i)| *i) {
        cached.insert(i);
    }
    let allowed = (!q.filter_category_ids.is_empty()).then(|| filtered(index, q.filter_category_ids));
    let deployed = |i: usize| deployments.get(i).and_then(Option::as_ref).filter(|_| index.entries[i].kind != Kind::Driver);

    let mut seen = Bitset::new(n);
    let mut needed = Bitset::new(n);
    let mut fresh: Vec<usize> = Vec::new();
    let candidates = graph.roots().chain(installed_slots.iter().flat_map(|s| graph.watchers(*s)));
    for i in candidates {
        if !seen.insert(i) {
            continue;
        }
        work.entries_touched += 1;
        let Some(d) = deployed(i) else { continue };
        if allowed.as_ref().is_some_and(|a| !a.contains(&i)) {
            continue;
        }
        // OtherCachedUpdateIDs never satisfy a prerequisite: only what the client found
        // installed does.
        if !graph.satisfied(i, &installed) {
            continue;
        }
        needed.insert(i);
        if cached.contains(i) {
            if d.last_change_ms() > q.watermark_ms {
                out.changed_updates.push(i);
            }
        } else {
            fresh.push(i);
        }
        out.new_watermark_ms = out.new_watermark_ms.max(d.last_change_ms());
    }
    out.changed_updates.sort_unstable();
    // Non-leaf revisions first: each round unlocks the next level of the prerequisite graph.
    out.truncated = fresh.len() > PAGE_SIZE;
    if out.truncated {
        fresh.select_nth_unstable_by_key(PAGE_SIZE, |i| graph.rank(*i));
        fresh.truncate(PAGE_SIZE);
    }
    fresh.sort_unstable_by_key(|i| graph.rank(*i));
    out.new_updates = fresh;

    for (id, entry) in cached_ids {
        if entry.is_some_and(|i| needed.contains(i)) {
            continue;
        }
        // With a category filter, a revision that is still deployed but outside the filter
        // must stay in the client's cache: the second group tells it so.
        if q.need_two_group_out_of_scope && allowed.is_some() && entry.is_some_and(|i| deployed(i).is_some()) {
            out.deployed_out_of_scope.push(id);
        } else {
            out.out_of_scope.push(id);
        }
    }
    // Real WSUS tells a category-filtered scan not to bother with drivers, and says nothing
    // either way on a full software pass.
    out.driver_sync_not_needed = allowed.is_some();
    (out, work)
}
