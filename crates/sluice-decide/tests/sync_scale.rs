//! The SyncUpdates page algorithm against the one it replaced, and its work against catalog
//! size.
//!
//! `reference` is the earlier evaluation, which walked every index entry on every page: the
//! obvious reading of the rules. Random catalogs and requests must get identical outcomes from
//! both. Then the work of one page (index entries looked at) is counted as a catalog grows from
//! 5,000 to 50,000 revisions around a client whose scope stays the same.

use std::collections::HashSet;
use std::sync::Arc;

use sluice_decide::index::{CatalogIndex, Entry, Kind};
use sluice_decide::scope::{Action, Deployment};
use sluice_decide::sync::{sync_updates, sync_updates_counted, SyncOutcome, SyncQuery, PAGE_SIZE};
use time::OffsetDateTime;
use uuid::Uuid;

/// The evaluation before the dense graph: every entry, every page.
fn reference(index: &CatalogIndex, deployments: &[Option<Deployment>], q: &SyncQuery<'_>) -> SyncOutcome {
    let mut out = SyncOutcome { new_watermark_ms: q.watermark_ms, ..Default::default() };
    if q.skip_software_sync {
        out.out_of_scope = q.cached_driver_ids.to_vec();
        out.driver_sync_not_needed = true;
        return out;
    }
    let installed: HashSet<Uuid> = q.installed_non_leaf.iter().filter_map(|r| index.update_of_revision(*r)).collect();
    let cached: HashSet<i32> = q.installed_non_leaf.iter().chain(q.other_cached.iter()).copied().collect();
    let allowed = (!q.filter_category_ids.is_empty()).then(|| {
        let filter: HashSet<&Uuid> = q.filter_category_ids.iter().collect();
        let roots = index.entries.iter().enumerate().filter_map(|(i, e)| {
            (filter.contains(&e.update_id) || e.categories.iter().any(|c| filter.contains(c))).then_some(i)
        });
        index.closure(roots, |_| true)
    });
    let mut needed_ids = HashSet::new();
    let mut deployed_ids = HashSet::new();
    let mut fresh = Vec::new();
    for (i, e) in index.entries.iter().enumerate() {
        let Some(d) = &deployments[i] else { continue };
        if e.kind == Kind::Driver {
            continue;
        }
        deployed_ids.insert(e.revision_id);
        if allowed.as_ref().is_some_and(|a| !a.contains(&i)) {
            continue;
        }
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
        if q.need_two_group_out_of_scope && allowed.is_some() && deployed_ids.contains(&id) {
            out.deployed_out_of_scope.push(id);
        } else {
            out.out_of_scope.push(id);
        }
    }
    out.driver_sync_not_needed = allowed.is_some();
    out
}

/// A small deterministic generator (xorshift64*), so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn at(s: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000 + s).unwrap()
}

fn deployment(action: Action, changed: i64) -> Deployment {
    Deployment { id: 1, action, deadline: None, is_assigned: true, last_change: at(changed) }
}

/// A random catalog of `n` updates: some revised (older revision ids known), prerequisite
/// clauses over earlier updates and a few updates absent from the index, categories, bundles,
/// drivers, declined or expired entries (no deployment).
fn random_case(rng: &mut Rng, n: usize) -> (CatalogIndex, Vec<Option<Deployment>>, Vec<Uuid>) {
    let update = |k: usize| Uuid::from_u128(0x1000 + k as u128);
    let absent = |k: usize| Uuid::from_u128(0x9000_0000 + k as u128);
    let mut revision_update = std::collections::HashMap::new();
    let mut entries = Vec::new();
    let mut categories = Vec::new();
    // Unique revision ids (store ids are), not in update order, so delivery order differs
    // from entry order.
    let mut revisions: Vec<i32> = (0..n).map(|k| (k as i32 + 1) * 10 + rng.below(5) as i32).collect();
    for k in (1..n).rev() {
        revisions.swap(k, rng.below(k + 1));
    }
    for k in 0..n {
        let kind = match rng.below(10) {
            0 | 1 => Kind::Category,
            2 | 3 => Kind::Detectoid,
            4 => Kind::Driver,
            _ => Kind::Software,
        };
        let rev = revisions[k];
        if rng.chance(20) {
            revision_update.insert(rev - 3, update(k));
        }
        let mut e = Entry::bare(rev, update(k), 1, kind, at(rng.below(100) as i64));
        e.explicitly_deployable = rng.chance(70);
        e.core = Arc::from(vec![b'x'].into_boxed_slice());
        if k > 0 {
            for _ in 0..rng.below(4) {
                let clause: Vec<Uuid> = (0..1 + rng.below(3))
                    .map(|_| if rng.chance(5) { absent(rng.below(3)) } else { update(rng.below(k)) })
                    .collect();
                e.prerequisites.push(clause);
            }
        }
        if kind == Kind::Category {
            categories.push(update(k));
        } else if !categories.is_empty() && rng.chance(60) {
            e.categories.push(categories[rng.below(categories.len())]);
        }
        if k > 2 && rng.chance(10) {
            e.bundled.push(vec![update(rng.below(k))]);
        }
        entries.push(e);
    }
    for k in 0..3 {
        revision_update.insert(900_000 + k as i32, absent(k));
    }
    let index = CatalogIndex::from_entries(entries, revision_update);
    let deployments = (0..n)
        .map(|_| (!rng.chance(10)).then(|| deployment(Action::PreDeploymentCheck, rng.below(200) as i64)))
        .collect();
    (index, deployments, categories)
}

/// Random page requests against random catalogs get exactly the reference's outcome, and a
/// client looping on the pages as WUA does gets the same sequence.
#[test]
fn pages_match_the_reference_evaluation() {
    // What the random requests exercised, so the comparison is known not to be vacuous.
    let (mut changed, mut deployed_out, mut truncated, mut out_of_scope) = (0, 0, 0, 0);
    for seed in 1..=60u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let n = 20 + rng.below(400);
        let (index, deployments, categories) = random_case(&mut rng, n);
        let some_ids = |rng: &mut Rng, count: usize| -> Vec<i32> {
            (0..count)
                .map(|_| match rng.below(10) {
                    0 => 900_000 + rng.below(4) as i32,
                    1 => index.entries[rng.below(n)].revision_id - 3,
                    _ => index.entries[rng.below(n)].revision_id,
                })
                .collect()
        };
        for round in 0..8 {
            let (installed_count, cached_count) = (rng.below(40), rng.below(n));
            let installed = some_ids(&mut rng, installed_count);
            let cached = some_ids(&mut rng, cached_count);
            let filter: Vec<Uuid> = if round % 3 == 2 && !categories.is_empty() {
                (0..1 + rng.below(3)).map(|_| categories[rng.below(categories.len())]).collect()
            } else {
                Vec::new()
            };
            let q = SyncQuery {
                installed_non_leaf: &installed,
                other_cached: &cached,
                filter_category_ids: &filter,
                need_two_group_out_of_scope: rng.chance(50),
                watermark_ms: sluice_decide::unix_ms(at(rng.below(200) as i64)),
                ..Default::default()
            };
            let out = sync_updates(&index, &deployments, &q);
            assert_eq!(out, reference(&index, &deployments, &q), "seed {seed} round {round}");
            changed += out.changed_updates.len();
            deployed_out += out.deployed_out_of_scope.len();
            truncated += out.truncated as usize;
            out_of_scope += out.out_of_scope.len();
        }
        // A whole scan: installed non-leaf grows with what was offered, everything offered is cached.
        let (mut installed, mut cached, mut watermark) = (Vec::new(), Vec::new(), 0);
        for page in 0..200 {
            let q = SyncQuery { installed_non_leaf: &installed, other_cached: &cached, watermark_ms: watermark, ..Default::default() };
            let out = sync_updates(&index, &deployments, &q);
            assert_eq!(out, reference(&index, &deployments, &q), "seed {seed} page {page}");
            watermark = out.new_watermark_ms;
            for i in &out.new_updates {
                let e = &index.entries[*i];
                if !e.is_leaf && rng.chance(80) {
                    installed.push(e.revision_id);
                } else {
                    cached.push(e.revision_id);
                }
            }
            if out.new_updates.is_empty() {
                break;
            }
        }
    }
    assert!(changed > 100 && deployed_out > 100 && truncated > 100 && out_of_scope > 100, "{changed} {deployed_out} {truncated} {out_of_scope}");
}

/// A catalog of `total` revisions in which one client's scope is fixed: a Windows detectoid
/// and 600 updates needing it; everything else is other products' updates behind detectoids
/// the client does not have (one detectoid per 100 updates, itself behind a root category).
fn catalog_around_one_client(total: usize) -> (CatalogIndex, Vec<Option<Deployment>>) {
    let id = |k: usize| Uuid::from_u128(0x5000_0000 + k as u128);
    let mut entries = Vec::new();
    let mut add = |k: usize, kind: Kind, prerequisites: Vec<Vec<Uuid>>| {
        let mut e = Entry::bare(k as i32 + 1, id(k), 1, kind, at(k as i64));
        e.prerequisites = prerequisites;
        entries.push(e);
    };
    const COMPANY: usize = 0;
    const OTHER_PRODUCTS: usize = 1;
    const CLIENT_OS: usize = 2;
    add(COMPANY, Kind::Category, vec![]);
    add(OTHER_PRODUCTS, Kind::Category, vec![vec![id(COMPANY)]]);
    add(CLIENT_OS, Kind::Detectoid, vec![]);
    let mut k = 3;
    for _ in 0..600 {
        add(k, Kind::Software, vec![vec![id(CLIENT_OS)], vec![id(COMPANY)]]);
        k += 1;
    }
    let mut detectoid = 0;
    while k < total {
        if (k - 603) % 100 == 0 {
            detectoid = k;
            add(k, Kind::Detectoid, vec![vec![id(OTHER_PRODUCTS)]]);
        } else {
            add(k, Kind::Software, vec![vec![id(detectoid)], vec![id(COMPANY)]]);
        }
        k += 1;
    }
    let index = CatalogIndex::from_entries(entries, Default::default());
    let deployments = (0..total).map(|k| Some(deployment(Action::PreDeploymentCheck, k as i64))).collect();
    (index, deployments)
}

/// The most index entries any page of a whole first scan looked at, and the revisions sent.
fn most_touched_per_page(total: usize) -> (usize, Vec<i32>) {
    let (index, deployments) = catalog_around_one_client(total);
    let (mut installed, mut cached, mut watermark, mut most, mut sent) = (Vec::new(), Vec::new(), 0, 0, Vec::new());
    for _ in 0..100 {
        let q = SyncQuery { installed_non_leaf: &installed, other_cached: &cached, watermark_ms: watermark, ..Default::default() };
        let (out, work) = sync_updates_counted(&index, &deployments, &q);
        most = most.max(work.entries_touched);
        watermark = out.new_watermark_ms;
        for i in &out.new_updates {
            let e = &index.entries[*i];
            sent.push(e.revision_id);
            // The client has the company category and its OS, not the other products.
            if e.update_id == Uuid::from_u128(0x5000_0000) || e.update_id == Uuid::from_u128(0x5000_0002) {
                installed.push(e.revision_id);
            } else {
                cached.push(e.revision_id);
            }
        }
        if out.new_updates.is_empty() {
            break;
        }
    }
    (most, sent)
}

#[test]
fn work_per_page_does_not_grow_with_the_catalog() {
    let (small, sent_small) = most_touched_per_page(5_000);
    let (large, sent_large) = most_touched_per_page(50_000);
    // Same client, same scope: same revisions in the same order.
    assert_eq!(sent_small, sent_large);
    assert_eq!(sent_small.len(), 603, "the company, other products, the OS detectoid, 600 updates, and nothing behind the other detectoids");
    // Per page at most: the two roots, the company's one watcher (other products: every update
    // watches its rarer detectoid clause) and the 600 updates of the client's OS; nothing of
    // the 49,000 other revisions.
    assert_eq!(small, large, "entries touched per page at 5,000 and 50,000 revisions");
    assert!(large <= 2 + 1 + 600, "{large} entries touched on one page");
}
