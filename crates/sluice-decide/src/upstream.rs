//! What this server, as an UPSTREAM (MS-WSUSSS), offers its downstream servers: the revisions
//! of a GetRevisionIdList (anchors, filters, the prerequisite and bundle closure, import
//! order), the replica deployments of GetDeployments, and the languages of GetConfigData.
//! Fed the catalog index and plain approval records; the server loads, stores and encodes.
//!
//! - **Anchors** are WSUS-shaped (`counter,yyyy-MM-dd HH:mm:ss.fff`). For GetRevisionIdList
//!   the counter is the highest revision id of the catalog at the time of the answer: revision
//!   ids are the store's never-reused, increasing ids, committed in increasing order even with
//!   concurrent importers, so "added after the anchor" is "id above the counter". A counter
//!   above the catalog's highest id (another server's anchor) gets a full list. The
//!   deployment anchor's time says which approvals changed since.
//! - **Filters**: the configuration pass lists categories and detectoids; the update pass
//!   lists software and driver updates carrying at least one listed product AND one listed
//!   classification anywhere in their prerequisites (both lists absent: everything; one absent
//!   or empty: nothing), plus the bundle and prerequisite closure of what matched, bundled
//!   children before their bundles. With an anchor, an id whose `Delta` is false brings all
//!   its revisions again; otherwise only revisions added after the anchor are listed.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};
use sluice_wsusss as wss;
use sluice_wsusss::{SyncAnchor, UpdateIdentity};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
use uuid::Uuid;

use crate::index::{CatalogIndex, Kind};
use crate::targeting::ApprovalAction;

/// No deadline, as WSUS writes it.
const NO_DEADLINE: &str = "9999-12-31T23:59:59.9999999";

/// An anchor the downstream sent that cannot be read (`InvalidParameters`, as real WSUS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the anchor cannot be read")]
pub struct BadAnchor;

/// `t` as the UTC wall-clock time anchors carry.
pub fn primitive(t: OffsetDateTime) -> PrimitiveDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    PrimitiveDateTime::new(t.date(), t.time())
}

/// The anchor text for `counter` at `t`.
pub fn anchor_at(counter: u32, t: OffsetDateTime) -> String {
    SyncAnchor { counter, time: primitive(t) }.to_string()
}

/// An anchor as a request carries it: absent or blank is none (a first sync).
pub fn read_anchor(text: Option<&str>) -> Result<Option<SyncAnchor>, BadAnchor> {
    match text.map(str::trim).filter(|a| !a.is_empty()) {
        Some(a) => SyncAnchor::parse(a).map(Some).ok_or(BadAnchor),
        None => Ok(None),
    }
}

/// Whether a GetConfigData anchor is newer than the configuration's last change: the
/// configuration (languages, limits) then gets the short answer, as real WSUS gives.
pub fn config_is_current(anchor: Option<&str>, config_last_change: OffsetDateTime) -> bool {
    anchor.and_then(SyncAnchor::parse).is_some_and(|a| a.time >= primitive(config_last_change))
}

/// The GetRevisionIdList answer to `filter` at `now`.
pub fn revision_id_list(
    index: &CatalogIndex,
    filter: &wss::ServerSyncFilter,
    now: OffsetDateTime,
) -> Result<wss::RevisionIdList, BadAnchor> {
    let since: i64 = read_anchor(filter.anchor.as_deref())?.map_or(-1, |a| i64::from(a.counter));
    let top = index.entries.iter().map(|e| e.revision_id).max().unwrap_or(0).max(0) as u32;
    // Counters issued here never exceed the catalog's highest revision id (ids are never
    // reused): a higher one comes from another server or a former database, and gets the
    // answer of a first sync rather than silently missing revisions.
    let since = if since > i64::from(top) { -1 } else { since };
    let of_kind = |f: fn(Kind) -> bool| -> Vec<usize> {
        index.entries.iter().enumerate().filter(|(_, e)| f(e.kind)).map(|(i, _)| i).collect()
    };
    let updates = |k: Kind| matches!(k, Kind::Software | Kind::Driver);
    let (full, forced): (HashSet<usize>, HashSet<usize>) = if filter.get_config {
        (of_kind(|k| matches!(k, Kind::Category | Kind::Detectoid)).into_iter().collect(), HashSet::new())
    } else {
        let (matched, forced) = match (&filter.categories, &filter.classifications) {
            (None, None) => (of_kind(updates), Vec::new()),
            (Some(p), Some(c)) if !p.is_empty() && !c.is_empty() => matching(index, p, c),
            _ => (Vec::new(), Vec::new()),
        };
        let follow = |e: &crate::index::Entry| updates(e.kind);
        (index.closure(matched, follow), index.closure(forced, follow))
    };
    let selected: HashSet<usize> = full
        .into_iter()
        .filter(|i| i64::from(index.entries[*i].revision_id) > since || forced.contains(i))
        .collect();
    let new_revisions = ordered(index, &selected)
        .into_iter()
        .map(|i| UpdateIdentity::new(index.entries[i].update_id, index.entries[i].revision_number))
        .collect();
    Ok(wss::RevisionIdList { anchor: Some(anchor_at(top, now)), new_revisions })
}

/// Software and driver updates with a listed product and a listed classification among their
/// prerequisites and categories; the second list holds those matched through an id whose
/// `Delta` is false (all their revisions are listed again).
fn matching(index: &CatalogIndex, products: &[wss::IdAndDelta], classes: &[wss::IdAndDelta]) -> (Vec<usize>, Vec<usize>) {
    let products: HashMap<Uuid, bool> = products.iter().map(|x| (x.id, x.delta)).collect();
    let classes: HashMap<Uuid, bool> = classes.iter().map(|x| (x.id, x.delta)).collect();
    let mut matched = Vec::new();
    let mut forced = Vec::new();
    for (i, e) in index.entries.iter().enumerate() {
        if !matches!(e.kind, Kind::Software | Kind::Driver) {
            continue;
        }
        let ids: HashSet<Uuid> = e.prerequisites.iter().flatten().chain(e.categories.iter()).copied().collect();
        let hit_p: Vec<bool> = ids.iter().filter_map(|id| products.get(id).copied()).collect();
        let hit_c: Vec<bool> = ids.iter().filter_map(|id| classes.get(id).copied()).collect();
        if hit_p.is_empty() || hit_c.is_empty() {
            continue;
        }
        matched.push(i);
        if hit_p.iter().chain(hit_c.iter()).any(|delta| !delta) {
            forced.push(i);
        }
    }
    (matched, forced)
}

/// The selected entries in the order a downstream can import them: bundled children before the
/// bundles that carry them, otherwise by revision id.
pub fn ordered(index: &CatalogIndex, selected: &HashSet<usize>) -> Vec<usize> {
    let mut roots: Vec<usize> = selected.iter().copied().collect();
    roots.sort_by_key(|i| index.entries[*i].revision_id);
    let mut done: HashSet<usize> = HashSet::new();
    let mut out = Vec::with_capacity(roots.len());
    for root in roots {
        // Iterative post-order over bundled children within the selection.
        let mut stack: Vec<(usize, bool)> = vec![(root, false)];
        while let Some((i, expanded)) = stack.pop() {
            if done.contains(&i) {
                continue;
            }
            if expanded {
                done.insert(i);
                out.push(i);
                continue;
            }
            stack.push((i, true));
            let mut children: Vec<usize> = index.entries[i]
                .bundled
                .iter()
                .flatten()
                .filter_map(|c| index.entry_of_update(c))
                .filter(|j| selected.contains(j) && !done.contains(j) && *j != i)
                .collect();
            children.sort_by_key(|j| std::cmp::Reverse(index.entries[*j].revision_id));
            children.dedup();
            stack.extend(children.into_iter().map(|j| (j, false)));
        }
    }
    out
}

/// One group's approval of one update, as a replica mirrors it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRecord {
    pub update_id: Uuid,
    pub group_id: Uuid,
    pub action: ApprovalAction,
    pub deadline: Option<OffsetDateTime>,
    pub approved_by: String,
    pub approved_at: OffsetDateTime,
}

/// What GetDeployments tells a replica about approvals.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplicaDeployments {
    /// Every deployment that exists now (to find the ones deleted since the last answer).
    pub current: Vec<Uuid>,
    /// Those new or changed since the deployment anchor.
    pub changed: Vec<wss::ServerSyncDeployment>,
}

/// WSUS `UpdateApprovalAction` numbering (0 install, 1 uninstall); an explicit "not
/// approved" goes out as 2, the detect-only deployment WSUS keeps for it.
pub fn wsus_approval_action(a: ApprovalAction) -> i32 {
    match a {
        ApprovalAction::Install => 0,
        ApprovalAction::Uninstall => 1,
        ApprovalAction::NotApproved => 2,
    }
}

/// The deployments of every approval of a catalog update that is not declined; `since`
/// (the deployment anchor) leaves out those approved at or before its time. A deployment's
/// GUID is stable while its approval and the update's revision stay the same.
pub fn replica_deployments(
    index: &CatalogIndex,
    approvals: &[ApprovalRecord],
    declined: &HashSet<Uuid>,
    since: Option<SyncAnchor>,
) -> ReplicaDeployments {
    let mut out = ReplicaDeployments::default();
    for a in approvals {
        if declined.contains(&a.update_id) {
            continue;
        }
        let Some(i) = index.entry_of_update(&a.update_id) else { continue };
        let e = &index.entries[i];
        let guid = derived_uuid(&[
            b"deployment",
            a.update_id.as_bytes(),
            a.group_id.as_bytes(),
            &crate::unix_ms(a.approved_at).to_le_bytes(),
            &e.revision_number.to_le_bytes(),
        ]);
        out.current.push(guid);
        if since.is_some_and(|anchor| primitive(a.approved_at) <= anchor.time) {
            continue;
        }
        out.changed.push(wss::ServerSyncDeployment {
            update_id: a.update_id,
            revision_number: e.revision_number,
            action: wsus_approval_action(a.action),
            admin_name: a.approved_by.clone(),
            deadline: a.deadline.map(wss::format_datetime).unwrap_or_else(|| NO_DEADLINE.into()),
            is_assigned: a.action != ApprovalAction::NotApproved,
            go_live_time: wss::format_datetime(a.approved_at),
            deployment_guid: guid,
            target_group_id: a.group_id,
            download_priority: 1,
        });
    }
    out
}

/// A stable GUID from the SHA-256 of its parts.
pub fn derived_uuid(parts: &[&[u8]]) -> Uuid {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u32).to_le_bytes());
        h.update(p);
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    uuid::Builder::from_custom_bytes(b).into_uuid()
}
/// The languages announced in GetConfigData: Microsoft Update's list, with "all" enabled, as
/// Microsoft Update announces it. Sluice keeps every document whole, with all its languages.
pub fn languages() -> Vec<wss::ServerSyncLanguageData> {
    const LIST: &[(i32, &str, &str)] = &[
        (0, "all", "all"),
        (1025, "ar", "Arabic"),
        (1026, "bg", "Bulgarian"),
        (1028, "zh-tw", "Chinese (Traditional)"),
        (1029, "cs", "Czech"),
        (1030, "da", "Danish"),
        (1031, "de", "German"),
        (1032, "el", "Greek"),
        (1033, "en", "English"),
        (1034, "es", "Spanish"),
        (1035, "fi", "Finnish"),
        (1036, "fr", "French"),
        (1037, "he", "Hebrew"),
        (1038, "hu", "Hungarian"),
        (1040, "it", "Italian"),
        (1041, "ja", "Japanese"),
        (1042, "ko", "Korean"),
        (1043, "nl", "Dutch"),
        (1044, "no", "Norwegian"),
        (1045, "pl", "Polish"),
        (1046, "pt-br", "Portuguese (Brazil)"),
        (1048, "ro", "Romanian"),
        (1049, "ru", "Russian"),
        (1050, "hr", "Croatian"),
        (1051, "sk", "Slovak"),
        (1053, "sv", "Swedish"),
        (1054, "th", "Thai"),
        (1055, "tr", "Turkish"),
        (1058, "uk", "Ukrainian"),
        (1060, "sl", "Slovenian"),
        (1061, "et", "Estonian"),
        (1062, "lv", "Latvian"),
        (1063, "lt", "Lithuanian"),
        (1081, "hi", "Hindi"),
        (2052, "zh-cn", "Chinese (Simplified)"),
        (2070, "pt", "Portuguese (Portugal)"),
        (2074, "sr", "Serbian (Latin)"),
        (3076, "zh-hk", "Chinese (Hong Kong S.A.R.)"),
        (66577, "ja-nec", "Japanese (NEC)"),
    ];
    LIST.iter()
        .map(|(id, short, long)| wss::ServerSyncLanguageData {
            language_id: *id,
            short_language: (*short).into(),
            long_language: (*long).into(),
            enabled: *id == 0,
        })
        .collect()
}


#[cfg(test)]
mod tests {

    use super::*;
    use crate::index::Entry;

    fn u(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn t(unix: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix).unwrap()
    }

    fn entry(rev: i32, id: u128, kind: Kind) -> Entry {
        Entry::bare(rev, u(id), 100, kind, t(1_700_000_000))
    }

    const PRODUCT: u128 = 1;
    const CLASS: u128 = 2;
    const DETECTOID: u128 = 3;
    const BUNDLE: u128 = 10;
    const CHILD: u128 = 11;
    const PREREQ: u128 = 12;
    const OTHER: u128 = 13;

    /// A bundle in PRODUCT/CLASS carrying CHILD, needing the software update PREREQ and the
    /// detectoid; OTHER is software in no product. The bundle's revision id is below its
    /// child's, so import order is not id order.
    fn index() -> CatalogIndex {
        let mut bundle = entry(20, BUNDLE, Kind::Software);
        bundle.prerequisites = vec![vec![u(PRODUCT)], vec![u(CLASS)], vec![u(DETECTOID)], vec![u(PREREQ)]];
        bundle.categories = vec![u(PRODUCT), u(CLASS)];
        bundle.bundled = vec![vec![u(CHILD)]];
        CatalogIndex::from_entries(
            vec![
                entry(1, PRODUCT, Kind::Category),
                entry(2, CLASS, Kind::Category),
                entry(3, DETECTOID, Kind::Detectoid),
                bundle,
                entry(21, CHILD, Kind::Software),
                entry(22, PREREQ, Kind::Software),
                entry(23, OTHER, Kind::Software),
            ],
            HashMap::new(),
        )
    }

    fn ids(list: &wss::RevisionIdList) -> Vec<Uuid> {
        list.new_revisions.iter().map(|r| r.update_id).collect()
    }

    fn filter(anchor: Option<&str>, delta: bool) -> wss::ServerSyncFilter {
        wss::ServerSyncFilter {
            anchor: anchor.map(str::to_string),
            categories: Some(vec![wss::IdAndDelta { id: u(PRODUCT), delta }]),
            classifications: Some(vec![wss::IdAndDelta { id: u(CLASS), delta: true }]),
            ..wss::ServerSyncFilter::default()
        }
    }

    #[test]
    fn the_update_pass_lists_matches_and_their_closure_children_first() {
        let index = index();
        let now = t(1_800_000_000);
        let list = revision_id_list(&index, &filter(None, true), now).unwrap();
        // The detectoid is a prerequisite but travels in the configuration pass; OTHER
        // matches no product.
        assert_eq!(ids(&list), [u(CHILD), u(BUNDLE), u(PREREQ)]);
        assert_eq!(list.anchor.as_deref(), Some(anchor_at(23, now).as_str()));
        let config = wss::ServerSyncFilter { get_config: true, ..wss::ServerSyncFilter::default() };
        assert_eq!(ids(&revision_id_list(&index, &config, now).unwrap()), [u(PRODUCT), u(CLASS), u(DETECTOID)]);
        // No lists at all: every update; one list empty: nothing.
        assert_eq!(ids(&revision_id_list(&index, &wss::ServerSyncFilter::default(), now).unwrap()).len(), 4);
        let one_empty = wss::ServerSyncFilter { classifications: Some(Vec::new()), ..filter(None, true) };
        assert!(ids(&revision_id_list(&index, &one_empty, now).unwrap()).is_empty());
    }

    #[test]
    fn anchors_list_what_was_added_since_unless_a_delta_is_refused() {
        let index = index();
        let now = t(1_800_000_000);
        let since_child = anchor_at(21, t(1_799_000_000));
        assert_eq!(ids(&revision_id_list(&index, &filter(Some(&since_child), true), now).unwrap()), [u(PREREQ)]);
        // Delta false on the product: everything it brings, again.
        assert_eq!(ids(&revision_id_list(&index, &filter(Some(&since_child), false), now).unwrap()).len(), 3);
        // Another server's counter, above ours: a full answer, not a silent gap.
        let foreign = anchor_at(5_000, now);
        assert_eq!(ids(&revision_id_list(&index, &filter(Some(&foreign), true), now).unwrap()).len(), 3);
        assert_eq!(revision_id_list(&index, &filter(Some("yesterday"), true), now), Err(BadAnchor));
        assert_eq!(read_anchor(Some("  ")), Ok(None));
    }

    #[test]
    fn replica_deployments_skip_declined_unknown_and_unchanged_approvals() {
        let index = index();
        let approval = |update: u128, action, at: i64| ApprovalRecord {
            update_id: u(update),
            group_id: u(99),
            action,
            deadline: None,
            approved_by: "admin".into(),
            approved_at: t(at),
        };
        let approvals = [
            approval(BUNDLE, ApprovalAction::Install, 1_700_000_100),
            approval(CHILD, ApprovalAction::NotApproved, 1_700_000_300),
            approval(OTHER, ApprovalAction::Uninstall, 1_700_000_300),
            approval(0xdead, ApprovalAction::Install, 1_700_000_300),
        ];
        let declined = HashSet::from([u(OTHER)]);
        let all = replica_deployments(&index, &approvals, &declined, None);
        assert_eq!(all.current.len(), 2);
        assert_eq!(all.changed.iter().map(|d| (d.update_id, d.action, d.is_assigned)).collect::<Vec<_>>(), [
            (u(BUNDLE), 0, true),
            (u(CHILD), 2, false)
        ]);
        assert_eq!(all.changed[0].deadline, NO_DEADLINE);
        let since = SyncAnchor { counter: 2, time: primitive(t(1_700_000_200)) };
        let delta = replica_deployments(&index, &approvals, &declined, Some(since));
        assert_eq!(delta.current, all.current, "the GUIDs are stable");
        assert_eq!(delta.changed.iter().map(|d| d.update_id).collect::<Vec<_>>(), [u(CHILD)]);
    }
}
