//! The in-memory catalog index that serves client scans: every latest revision with its graph
//! facts and its fragments already XML-escaped, so SyncUpdates and GetExtendedUpdateInfo copy
//! bytes instead of touching the database or parsing XML.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sluice_store::{FileState, FragmentKind, RelationshipKind, Store, StoreError, UpdateType};
use time::OffsetDateTime;
use uuid::Uuid;

/// Escaped fragment bytes, shared between the index and responses being written.
pub type Bytes = Arc<[u8]>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Software,
    Driver,
    Detectoid,
    Category,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    pub sha1: [u8; 20],
    pub file_name: String,
    pub size: u64,
    /// Verified and in the content store.
    pub present: bool,
    /// Microsoft Update URL, for the "clients download from Microsoft Update" mode.
    pub mu_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Entry {
    /// The server-local revision id clients see (`UpdateInfo.ID`).
    pub revision_id: i32,
    pub update_id: Uuid,
    pub revision_number: i32,
    pub kind: Kind,
    /// No revision in the catalog names this update as a prerequisite.
    pub is_leaf: bool,
    pub is_bundle: bool,
    pub explicitly_deployable: bool,
    pub expired: bool,
    pub imported_at: OffsetDateTime,
    /// Prerequisites in conjunctive normal form: every clause needs one installed member.
    pub prerequisites: Vec<Vec<Uuid>>,
    pub categories: Vec<Uuid>,
    /// Bundled slots; several members of a slot are alternatives.
    pub bundled: Vec<Vec<Uuid>>,
    pub core: Bytes,
    pub extended: Bytes,
    pub localized_en: Option<Bytes>,
    pub has_eula: bool,
    pub files: Vec<FileRef>,
    /// For categories: Company, ProductFamily, Product, UpdateClassification…
    pub category_type: Option<String>,
}

/// The whole catalog as clients see it. Immutable: a change builds a new index.
#[derive(Debug, Default)]
pub struct CatalogIndex {
    /// The latest revision of every update.
    pub entries: Vec<Entry>,
    by_update: HashMap<Uuid, usize>,
    /// Every revision id ever assigned (older revisions too) → its update.
    revision_update: HashMap<i32, Uuid>,
    /// Bundled child update → indices of the bundles carrying it.
    bundle_parents: HashMap<Uuid, Vec<usize>>,
}

/// Escapes a fragment once, as it must appear inside `<Xml>`.
pub fn escape_fragment(fragment: &[u8]) -> Bytes {
    let s = String::from_utf8_lossy(fragment);
    let mut out = String::with_capacity(s.len() + s.len() / 4);
    sluice_xml::escape_text(&s, &mut out);
    Arc::from(out.into_bytes().into_boxed_slice())
}

fn kind(t: UpdateType) -> Kind {
    match t {
        UpdateType::Software => Kind::Software,
        UpdateType::Driver => Kind::Driver,
        UpdateType::Detectoid => Kind::Detectoid,
        UpdateType::Category => Kind::Category,
    }
}

impl CatalogIndex {
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
        Ok(Self::from_entries(entries, revision_update))
    }

    /// Builds the lookup tables and the leaf flags from the entries.
    pub fn from_entries(mut entries: Vec<Entry>, mut revision_update: HashMap<i32, Uuid>) -> CatalogIndex {
        // IsLeaf as WSUS computes it: nothing in the catalog names the update as a
        // prerequisite (categories included), so categories and detectoids are non-leaf.
        let prerequisite_of: HashSet<Uuid> =
            entries.iter().flat_map(|e| e.prerequisites.iter().flatten().copied()).collect();
        let mut by_update = HashMap::with_capacity(entries.len());
        let mut bundle_parents: HashMap<Uuid, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter_mut().enumerate() {
            e.is_leaf = !prerequisite_of.contains(&e.update_id);
            by_update.insert(e.update_id, i);
            revision_update.insert(e.revision_id, e.update_id);
            for slot in &e.bundled {
                for child in slot {
                    bundle_parents.entry(*child).or_default().push(i);
                }
            }
        }
        CatalogIndex { entries, by_update, revision_update, bundle_parents }
    }

    pub fn entry_of_update(&self, update_id: &Uuid) -> Option<usize> {
        self.by_update.get(update_id).copied()
    }

    /// The update a revision id (current or older) belongs to.
    pub fn update_of_revision(&self, revision_id: i32) -> Option<Uuid> {
        self.revision_update.get(&revision_id).copied()
    }

    /// The entry whose CURRENT revision id is `revision_id`.
    pub fn entry_of_revision(&self, revision_id: i32) -> Option<usize> {
        let u = self.revision_update.get(&revision_id)?;
        let i = *self.by_update.get(u)?;
        (self.entries[i].revision_id == revision_id).then_some(i)
    }

    pub fn bundle_parents(&self, update_id: &Uuid) -> &[usize] {
        self.bundle_parents.get(update_id).map(Vec::as_slice).unwrap_or(&[])
    }
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
