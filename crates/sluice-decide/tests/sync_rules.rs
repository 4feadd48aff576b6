//! SyncUpdates and deployment rules on small hand-built catalogs.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sluice_decide::index::{CatalogIndex, Entry, FileRef, Kind};
use sluice_decide::scope::{deployments, Action, Approved, FileSource};
use sluice_decide::sync::{sync_updates, SyncQuery, PAGE_SIZE};
use sluice_decide::targeting::ApprovalAction;
use time::OffsetDateTime;
use uuid::Uuid;

fn u(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn entry(rev: i32, id: Uuid, kind: Kind, prereqs: Vec<Vec<Uuid>>) -> Entry {
    let mut e = Entry::bare(rev, id, 1, kind, OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap());
    e.explicitly_deployable = kind == Kind::Software;
    e.prerequisites = prereqs;
    e.core = Arc::from(format!("core{rev}").into_bytes().into_boxed_slice());
    e
}

const COMPANY: u128 = 1;
const FAMILY: u128 = 2;
const PRODUCT: u128 = 3;
const CLASS: u128 = 4;
const DETECTOID: u128 = 5;
const UPDATE: u128 = 6;

/// Company ← product family ← product; classification; a detectoid; an update in the product
/// and classification that also needs the detectoid.
fn chain() -> CatalogIndex {
    let mut upd = entry(16, u(UPDATE), Kind::Software, vec![vec![u(DETECTOID)], vec![u(CLASS)], vec![u(PRODUCT)]]);
    upd.categories = vec![u(CLASS), u(PRODUCT)];
    let mut product = entry(13, u(PRODUCT), Kind::Category, vec![vec![u(FAMILY)]]);
    product.categories = vec![u(FAMILY)];
    let mut family = entry(12, u(FAMILY), Kind::Category, vec![vec![u(COMPANY)]]);
    family.categories = vec![u(COMPANY)];
    CatalogIndex::from_entries(
        vec![
            entry(11, u(COMPANY), Kind::Category, vec![]),
            family,
            product,
            entry(14, u(CLASS), Kind::Category, vec![]),
            entry(15, u(DETECTOID), Kind::Detectoid, vec![]),
            upd,
        ],
        HashMap::new(),
    )
}

fn ids(index: &CatalogIndex, v: &[usize]) -> Vec<i32> {
    v.iter().map(|i| index.entries[*i].revision_id).collect()
}

#[test]
fn prerequisite_graph_is_delivered_one_level_per_round() {
    let index = chain();
    let deps = deployments(&index, &HashMap::new(), &HashSet::new(), FileSource::Local);
    let mut installed: Vec<i32> = Vec::new();
    let mut other: Vec<i32> = Vec::new();
    let mut rounds = Vec::new();
    for _ in 0..10 {
        let out = sync_updates(&index, &deps, &SyncQuery { installed_non_leaf: &installed, other_cached: &other, ..Default::default() });
        if out.new_updates.is_empty() {
            break;
        }
        let got = ids(&index, &out.new_updates);
        // The client finds every non-leaf installed (categories are "installed"), caches leaves.
        for i in &out.new_updates {
            let e = &index.entries[*i];
            if e.is_leaf { other.push(e.revision_id) } else { installed.push(e.revision_id) }
        }
        assert!(out.out_of_scope.is_empty(), "{:?}", out.out_of_scope);
        rounds.push(got);
    }
    assert_eq!(rounds, vec![vec![11, 14, 15], vec![12], vec![13], vec![16]]);
    // Non-leaf flags: everything named as a prerequisite is non-leaf; the update is a leaf.
    let leaf: Vec<bool> = index.entries.iter().map(|e| e.is_leaf).collect();
    assert_eq!(leaf, vec![false, false, false, false, false, true]);
}

#[test]
fn other_cached_ids_never_satisfy_prerequisites_and_unknown_ids_are_out_of_scope() {
    let index = chain();
    let deps = deployments(&index, &HashMap::new(), &HashSet::new(), FileSource::Local);
    // The client cached the company only as "other" (it did not find it installed).
    let out = sync_updates(&index, &deps, &SyncQuery { other_cached: &[11, 999_999], ..Default::default() });
    assert_eq!(ids(&index, &out.new_updates), vec![14, 15], "11 is cached; 12 needs 11 installed");
    assert_eq!(out.out_of_scope, vec![999_999]);
}

#[test]
fn deployments_follow_approvals_files_bundles_and_declines() {
    let mut bundle = entry(20, u(100), Kind::Software, vec![]);
    bundle.bundled = vec![vec![u(101)]];
    bundle.is_bundle = true;
    let mut child = entry(21, u(101), Kind::Software, vec![]);
    child.explicitly_deployable = false;
    child.files = vec![FileRef { sha1: [1; 20], file_name: "a.exe".into(), size: 1, present: false, mu_url: None }];
    let declined_update = entry(22, u(102), Kind::Software, vec![]);
    let plain = entry(23, u(103), Kind::Software, vec![]);
    let mut expired = entry(24, u(104), Kind::Software, vec![]);
    expired.expired = true;
    let mut index = CatalogIndex::from_entries(
        vec![bundle, child, declined_update, plain, expired, entry(25, u(105), Kind::Category, vec![])],
        HashMap::new(),
    );
    let when = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    let approvals = HashMap::from([(u(100), Approved { action: ApprovalAction::Install, deadline: Some(when), changed_at: when })]);
    let declined = HashSet::from([u(102)]);
    let actions = |index: &CatalogIndex, src| -> Vec<Option<Action>> {
        deployments(index, &approvals, &declined, src).iter().map(|d| d.map(|d| d.action)).collect()
    };
    use Action::*;
    // The bundle's file is not downloaded yet: no Install offer.
    assert_eq!(actions(&index, FileSource::Local), vec![Some(PreDeploymentCheck), Some(Bundle), None, Some(PreDeploymentCheck), None, Some(Evaluate)]);
    // Clients fetching from Microsoft Update need nothing here.
    assert_eq!(actions(&index, FileSource::MicrosoftUpdate)[0], Some(Install));
    index.entries[1].files[0].present = true;
    let d = deployments(&index, &approvals, &declined, FileSource::Local);
    assert_eq!(d[0].unwrap().action, Install);
    assert_eq!(d[0].unwrap().deadline, Some(when));
    // A changed deployment gets a new id, an unchanged one keeps it.
    let again = deployments(&index, &approvals, &declined, FileSource::Local);
    assert_eq!(d[0].unwrap().id, again[0].unwrap().id);
    assert_ne!(d[0].unwrap().id, d[3].unwrap().id);
    let uninstall = HashMap::from([(u(100), Approved { action: ApprovalAction::Uninstall, deadline: None, changed_at: when })]);
    let u2 = deployments(&index, &uninstall, &declined, FileSource::Local);
    assert_eq!(u2[0].unwrap().action, Uninstall);
    assert_ne!(u2[0].unwrap().id, d[0].unwrap().id);
}

#[test]
fn declined_cached_revisions_go_out_of_scope_and_changes_are_reported_once() {
    let index = CatalogIndex::from_entries(vec![entry(30, u(200), Kind::Software, vec![]), entry(31, u(201), Kind::Software, vec![])], HashMap::new());
    let none = deployments(&index, &HashMap::new(), &HashSet::new(), FileSource::MicrosoftUpdate);
    let first = sync_updates(&index, &none, &SyncQuery::default());
    assert_eq!(ids(&index, &first.new_updates), vec![30, 31]);
    let wm = first.new_watermark_ms;
    // Approve 30 later: it is cached, so it comes back as a changed update.
    let later = OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap();
    let approvals = HashMap::from([(u(200), Approved { action: ApprovalAction::Install, deadline: None, changed_at: later })]);
    let d = deployments(&index, &approvals, &HashSet::from([u(201)]), FileSource::MicrosoftUpdate);
    let out = sync_updates(&index, &d, &SyncQuery { other_cached: &[30, 31], watermark_ms: wm, ..Default::default() });
    assert!(out.new_updates.is_empty());
    assert_eq!(ids(&index, &out.changed_updates), vec![30]);
    assert_eq!(out.out_of_scope, vec![31], "the declined update leaves the client's cache");
    let again = sync_updates(&index, &d, &SyncQuery { other_cached: &[30], watermark_ms: out.new_watermark_ms, ..Default::default() });
    assert!(again.changed_updates.is_empty(), "the watermark moved past the change");
}

#[test]
fn pages_of_thirty_with_truncation() {
    let entries: Vec<Entry> = (0..75).map(|n| entry(100 + n, u(1000 + n as u128), Kind::Software, vec![])).collect();
    let index = CatalogIndex::from_entries(entries, HashMap::new());
    let d = deployments(&index, &HashMap::new(), &HashSet::new(), FileSource::MicrosoftUpdate);
    let mut cached = Vec::new();
    let mut pages = Vec::new();
    loop {
        let out = sync_updates(&index, &d, &SyncQuery { other_cached: &cached, ..Default::default() });
        pages.push((out.new_updates.len(), out.truncated));
        cached.extend(ids(&index, &out.new_updates));
        if !out.truncated {
            break;
        }
    }
    assert_eq!(pages, vec![(PAGE_SIZE, true), (PAGE_SIZE, true), (15, false)]);
    assert_eq!(cached.len(), 75);
}

#[test]
fn category_filter_limits_the_scan_and_keeps_deployed_ids_in_the_second_group() {
    let index = chain();
    let mut entries = index.entries.clone();
    entries.push(entry(40, u(300), Kind::Software, vec![]));
    let index = CatalogIndex::from_entries(entries, HashMap::new());
    let d = deployments(&index, &HashMap::new(), &HashSet::new(), FileSource::Local);
    let filter = [u(PRODUCT)];
    let out = sync_updates(
        &index,
        &d,
        &SyncQuery { filter_category_ids: &filter, need_two_group_out_of_scope: true, other_cached: &[40, 777], ..Default::default() },
    );
    // Only the roots of the product's dependency chain: the company, the classification and
    // the detectoid the product's update needs; never the unrelated update 40.
    assert_eq!(ids(&index, &out.new_updates), vec![11, 14, 15]);
    assert_eq!(out.deployed_out_of_scope, vec![40]);
    assert_eq!(out.out_of_scope, vec![777]);
    assert!(out.driver_sync_not_needed);
}

#[test]
fn driver_pass_sends_nothing_and_drops_cached_drivers() {
    let index = chain();
    let d = deployments(&index, &HashMap::new(), &HashSet::new(), FileSource::Local);
    let out = sync_updates(&index, &d, &SyncQuery { skip_software_sync: true, cached_driver_ids: &[5, 6], ..Default::default() });
    assert!(out.new_updates.is_empty());
    assert_eq!(out.out_of_scope, vec![5, 6]);
    assert!(out.driver_sync_not_needed);
}
