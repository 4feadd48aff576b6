//! The in-memory catalog index that serves client scans: every latest revision with its graph
//! facts and its fragments already XML-escaped, so SyncUpdates and GetExtendedUpdateInfo copy
//! bytes instead of touching the database or parsing XML. The server loads it from the store
//! (`sluice-server/src/index_load.rs`) and hands over plain entries.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::scan_graph::ScanGraph;

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

impl Entry {
    /// An explicitly deployable leaf with no relationships, fragments or files: the start of an
    /// entry for callers (tests, generated catalogs) that set only what they care about.
    pub fn bare(revision_id: i32, update_id: Uuid, revision_number: i32, kind: Kind, imported_at: OffsetDateTime) -> Entry {
        let empty: Bytes = Arc::from(Vec::new().into_boxed_slice());
        Entry {
            revision_id,
            update_id,
            revision_number,
            kind,
            is_leaf: true,
            is_bundle: false,
            explicitly_deployable: true,
            expired: false,
            imported_at,
            prerequisites: Vec::new(),
            categories: Vec::new(),
            bundled: Vec::new(),
            core: empty.clone(),
            extended: empty,
            localized_en: None,
            has_eula: false,
            files: Vec::new(),
            category_type: None,
        }
    }
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
    /// The prerequisite graph in dense form, for SyncUpdates.
    graph: ScanGraph,
    /// Revision id → the entry whose current revision it is (`u32::MAX`: none), when the ids
    /// are dense enough for a table (store ids are); a client names thousands per page.
    current_by_revision: Option<Vec<u32>>,
}

/// The table behind [`CatalogIndex::entry_of_revision`], if the ids allow one of reasonable
/// size (at most a few times the entries); it answers what the two maps answer.
fn dense_revisions(entries: &[Entry], by_update: &HashMap<Uuid, usize>) -> Option<Vec<u32>> {
    let max = entries.iter().map(|e| e.revision_id).max().unwrap_or(0);
    if entries.iter().any(|e| e.revision_id < 0) || max as usize > 4 * entries.len() + 65_536 {
        return None;
    }
    let mut table = vec![u32::MAX; max as usize + 1];
    // The revision map names the update of the last entry with the id; its entry is the last
    // one of that update, which counts only if it has that id.
    for (i, e) in entries.iter().enumerate() {
        table[e.revision_id as usize] = i as u32;
    }
    for e in entries {
        let slot = &mut table[e.revision_id as usize];
        if *slot != u32::MAX {
            let last = &entries[*slot as usize];
            *slot = match by_update.get(&last.update_id) {
                Some(j) if entries[*j].revision_id == e.revision_id => *j as u32,
                _ => u32::MAX,
            };
        }
    }
    Some(table)
}

/// Escapes a fragment once, as it must appear inside `<Xml>`.
pub fn escape_fragment(fragment: &[u8]) -> Bytes {
    let s = String::from_utf8_lossy(fragment);
    let mut out = String::with_capacity(s.len() + s.len() / 4);
    sluice_xml::escape_text(&s, &mut out);
    Arc::from(out.into_bytes().into_boxed_slice())
}

impl CatalogIndex {
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
        let graph = ScanGraph::build(&entries, &by_update, revision_update.values());
        let current_by_revision = dense_revisions(&entries, &by_update);
        CatalogIndex { entries, by_update, revision_update, bundle_parents, graph, current_by_revision }
    }

    pub fn graph(&self) -> &ScanGraph {
        &self.graph
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
        if let Some(table) = &self.current_by_revision {
            let i = *table.get(usize::try_from(revision_id).ok()?)?;
            return (i != u32::MAX).then_some(i as usize);
        }
        let u = self.revision_update.get(&revision_id)?;
        let i = *self.by_update.get(u)?;
        (self.entries[i].revision_id == revision_id).then_some(i)
    }

    pub fn bundle_parents(&self, update_id: &Uuid) -> &[usize] {
        self.bundle_parents.get(update_id).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The entries `roots` need, the roots included: bundled children (all slots, all
    /// alternatives) always, and prerequisites present in the index for which `follow` holds,
    /// recursively. SyncUpdates' category filter follows every prerequisite; the upstream role
    /// follows software and driver ones only (categories and detectoids travel in their own
    /// pass).
    pub fn closure(&self, roots: impl IntoIterator<Item = usize>, follow: impl Fn(&Entry) -> bool) -> HashSet<usize> {
        let mut seen: HashSet<usize> = HashSet::new();
        let mut stack: Vec<usize> = roots.into_iter().collect();
        while let Some(i) = stack.pop() {
            if !seen.insert(i) {
                continue;
            }
            let e = &self.entries[i];
            let bundled = e.bundled.iter().flatten().filter_map(|c| self.entry_of_update(c));
            let prerequisites =
                e.prerequisites.iter().flatten().filter_map(|p| self.entry_of_update(p)).filter(|j| follow(&self.entries[*j]));
            stack.extend(bundled.chain(prerequisites).filter(|j| !seen.contains(j)));
        }
        seen
    }
}
