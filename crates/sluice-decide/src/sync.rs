//! SyncUpdates evaluation (MS-WUSP 3.1.5.7 as a real WSUS behaves): which revisions a client
//! gets next, which of its cached ones it must drop, and which changed.

use std::collections::HashSet;

use uuid::Uuid;

use crate::index::{CatalogIndex, Kind};
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
    // A set: clients may send long filters, and every entry is checked against it.
    let filter: HashSet<&Uuid> = filter.iter().collect();
    let roots = index.entries.iter().enumerate().filter_map(|(i, e)| {
        (filter.contains(&e.update_id) || e.categories.iter().any(|c| filter.contains(c))).then_some(i)
    });
    index.closure(roots, |_| true)
}

pub fn sync_updates(index: &CatalogIndex, deployments: &[Option<Deployment>], q: &SyncQuery<'_>) -> SyncOutcome {
    let mut out = SyncOutcome { new_watermark_ms: q.watermark_ms, ..Default::default() };
    if q.skip_software_sync {
        // Driver pass. Sluice serves no driver updates: every cached driver id is out of
        // scope and the client may skip driver matching.
        out.out_of_scope = q.cached_driver_ids.to_vec();
        out.driver_sync_not_needed = true;
        return out;
    }
    let installed: HashSet<Uuid> = q.installed_non_leaf.iter().filter_map(|r| index.update_of_revision(*r)).collect();
    let cached: HashSet<i32> = q.installed_non_leaf.iter().chain(q.other_cached.iter()).copied().collect();
    let allowed = (!q.filter_category_ids.is_empty()).then(|| filtered(index, q.filter_category_ids));

    let mut needed_ids: HashSet<i32> = HashSet::new();
    let mut deployed_ids: HashSet<i32> = HashSet::new();
    let mut fresh: Vec<usize> = Vec::new();
    for (i, e) in index.entries.iter().enumerate() {
        let Some(d) = &deployments[i] else { continue };
        if e.kind == Kind::Driver {
            continue;
        }
        deployed_ids.insert(e.revision_id);
        if allowed.as_ref().is_some_and(|a| !a.contains(&i)) {
            continue;
        }
        // OtherCachedUpdateIDs never satisfy a prerequisite: only what the client found
        // installed does.
        if !e.prerequisites.iter().all(|clause| clause.iter().any(|u| installed.contains(u))) {
            continue;
        }
        needed_ids.insert(e.revision_id);
        if cached.contains(&e.revision_id) {
            if d.last_change_ms() > q.watermark_ms {
                out.changed_updates.push(i);
            }
        } else {
            fresh.push(i);
        }
        out.new_watermark_ms = out.new_watermark_ms.max(d.last_change_ms());
    }
    // Non-leaf revisions first: each round unlocks the next level of the prerequisite graph.
    fresh.sort_by_key(|i| (index.entries[*i].is_leaf, index.entries[*i].revision_id));
    out.truncated = fresh.len() > PAGE_SIZE;
    fresh.truncate(PAGE_SIZE);
    out.new_updates = fresh;

    let mut cached_sorted: Vec<i32> = cached.into_iter().collect();
    cached_sorted.sort_unstable();
    for id in cached_sorted {
        if needed_ids.contains(&id) {
            continue;
        }
        // With a category filter, a revision that is still deployed but outside the filter
        // must stay in the client's cache: the second group tells it so.
        if q.need_two_group_out_of_scope && allowed.is_some() && deployed_ids.contains(&id) {
            out.deployed_out_of_scope.push(id);
        } else {
            out.out_of_scope.push(id);
        }
    }
    // Real WSUS tells a category-filtered scan not to bother with drivers, and says nothing
    // either way on a full software pass.
    out.driver_sync_not_needed = allowed.is_some();
    out
}
