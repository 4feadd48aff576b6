//! Loads the client-scan catalog index (`sluice_decide::index`) from the store: the store's
//! rows become the plain entries the index is built from. The decide crate knows no store.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sluice_decide::index::{Bytes, CatalogIndex, Entry, FileRef, Kind, escape_fragment};
use sluice_store::{FileState, FragmentKind, RelationshipKind, Store, StoreError, UpdateType};
use uuid::Uuid;

fn kind(t: UpdateType) -> Kind {
    match t {
        UpdateType::Software => Kind::Software,
        UpdateType::Driver => Kind::Driver,
        UpdateType::Detectoid => Kind::Detectoid,
        UpdateType::Category => Kind::Category,
    }
}

/// Reads the whole catalog in a few sequential queries.
pub async fn load(store: &Store) -> Result<CatalogIndex, StoreError> {
    let revisions = store.all_revisions().await?;
    let relationships = store.all_relationships().await?;
    let core = store.all_fragments(FragmentKind::Core, "").await?;
    let extended = store.all_fragments(FragmentKind::Extended, "").await?;
    let localized = store.all_fragments(FragmentKind::Localized, "en").await?;
    let eulas = store.all_fragments(FragmentKind::Eula, "en").await?;
    let files = store.all_revision_files().await?;

    let mut revision_update = HashMap::with_capacity(revisions.len());
    let mut latest: HashMap<Uuid, &sluice_store::Revision> = HashMap::new();
    for r in &revisions {
        let Ok(id) = i32::try_from(r.id) else { continue };
        revision_update.insert(id, r.update_id);
        match latest.get(&r.update_id) {
            Some(cur) if cur.revision_number >= r.revision_number => {}
            _ => {
                latest.insert(r.update_id, r);
            }
        }
    }
    let latest_ids: HashSet<i64> = latest.values().map(|r| r.id).collect();
    let mut rels: HashMap<i64, Vec<sluice_store::Relationship>> = HashMap::new();
    for (rid, rel) in relationships {
        if latest_ids.contains(&rid) {
            rels.entry(rid).or_default().push(rel);
        }
    }
    let to_map = |v: Vec<(i64, Vec<u8>)>| -> HashMap<i64, Bytes> {
        v.into_iter().filter(|(id, _)| latest_ids.contains(id)).map(|(id, b)| (id, escape_fragment(&b))).collect()
    };
    let mut core = to_map(core);
    let mut extended = to_map(extended);
    let mut localized = to_map(localized);
    let eula_ids: HashSet<i64> = eulas.into_iter().map(|(id, _)| id).collect();
    let mut file_map: HashMap<i64, Vec<FileRef>> = HashMap::new();
    for (rid, f) in files {
        if !latest_ids.contains(&rid) {
            continue;
        }
        let mut sha1 = [0u8; 20];
        if decode_hex(&f.sha1, &mut sha1).is_none() {
            continue;
        }
        file_map.entry(rid).or_default().push(FileRef {
            sha1,
            file_name: f.file_name,
            size: f.size.max(0) as u64,
            present: f.state == FileState::Present,
            mu_url: f.mu_url,
        });
    }

    let mut latest: Vec<&sluice_store::Revision> = latest.into_values().collect();
    latest.sort_by_key(|r| r.id);
    let empty: Bytes = Arc::from(Vec::new().into_boxed_slice());
    let mut entries = Vec::with_capacity(latest.len());
    for r in latest {
        let Ok(revision_id) = i32::try_from(r.id) else { continue };
        let mut prereq_groups: Vec<(i32, Vec<Uuid>, bool)> = Vec::new();
        let mut bundled_groups: Vec<(i32, Vec<Uuid>)> = Vec::new();
        for rel in rels.remove(&r.id).unwrap_or_default() {
            match rel.kind {
                RelationshipKind::Prerequisite => match prereq_groups.last_mut() {
                    Some((g, members, _)) if *g == rel.group_no => members.push(rel.target_update_id),
                    _ => prereq_groups.push((rel.group_no, vec![rel.target_update_id], rel.is_category)),
                },
                RelationshipKind::Bundled => match bundled_groups.last_mut() {
                    Some((g, members)) if *g == rel.group_no => members.push(rel.target_update_id),
                    _ => bundled_groups.push((rel.group_no, vec![rel.target_update_id])),
                },
                RelationshipKind::Superseded => {}
            }
        }
        let categories = prereq_groups.iter().filter(|g| g.2).flat_map(|g| g.1.iter().copied()).collect();
        entries.push(Entry {
            revision_id,
            update_id: r.update_id,
            revision_number: r.revision_number,
            kind: kind(r.update_type),
            is_leaf: true,
            is_bundle: r.is_bundle,
            explicitly_deployable: r.explicitly_deployable,
            expired: r.publication_state.eq_ignore_ascii_case("Expired"),
            imported_at: r.imported_at,
            prerequisites: prereq_groups.into_iter().map(|g| g.1).collect(),
            categories,
            bundled: bundled_groups.into_iter().map(|g| g.1).collect(),
            core: core.remove(&r.id).unwrap_or_else(|| empty.clone()),
            extended: extended.remove(&r.id).unwrap_or_else(|| empty.clone()),
            localized_en: localized.remove(&r.id),
            has_eula: eula_ids.contains(&r.id),
            files: file_map.remove(&r.id).unwrap_or_default(),
            category_type: r.category_type.clone(),
        });
    }
    Ok(CatalogIndex::from_entries(entries, revision_update))
}

fn decode_hex(s: &str, out: &mut [u8; 20]) -> Option<()> {
    if s.len() != 40 {
        return None;
    }
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(())
}
