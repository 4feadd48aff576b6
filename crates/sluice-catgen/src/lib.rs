//! Synthetic Microsoft update catalogs for load, scale and end-to-end tests.
//!
//! [`Catalog::generate`] plans a catalog of exactly `revisions` update documents
//! (`<upd:Update>`, the schema Microsoft Update and WSUS exchange and `sluice-metadata`
//! parses) from a seed; the same seed always gives byte-identical documents. The catalog has
//! the structure of the real one:
//!
//! - **categories**: companies → product families → products (each category's parent as an
//!   `AtLeastOne IsCategory="true"` prerequisite), and the classifications with Microsoft's
//!   real ids ([`sluice_metadata::publish::WELL_KNOWN_CLASSIFICATIONS`]);
//! - **detectoids**: processor architectures (`Processor`), Windows versions
//!   (`WindowsVersion`), their combinations (prerequisite chains of detectoids), installed
//!   products and components (`RegKeyExists`, `FileVersion`, `RegDword`);
//! - **software updates** in release series (monthly cumulative updates per Windows version
//!   and architecture, servicing stacks, .NET, dynamic and feature updates, Defender
//!   definitions several times a day, Office, runtimes, server applications, third-party
//!   applications). Top-level updates name their classification and product in
//!   `IsCategory` groups and their detectoids as bare prerequisites; cumulative updates also
//!   require the servicing stack update current at their release (update → update →
//!   detectoid → detectoid chains);
//! - **bundles**: an explicitly deployable bundle with no files and 1–N bundled leaves
//!   (`ExplicitlyDeployable="false"`) that carry the files and command-line handler data;
//!   Defender bundles offer alternatives in `AtLeastOne` slots;
//! - **supersedence** within each series: cumulative packages supersede every earlier
//!   release within a window, others their predecessor;
//! - **revisions**: first revisions 100, 101 or 200; some updates get later revisions
//!   (metadata fixes) and long-superseded ones an expiry revision
//!   (`PublicationState="Expired"`);
//! - **localized properties** in English and, for some updates, a few or all of Microsoft
//!   Update's 36 languages; KB numbers; MSRC severities and CVE ids on security updates;
//! - **applicability rules** (`IsInstalled`, `IsInstallable`) built from `WindowsVersion`,
//!   `Processor`, `RegDword`, `RegKeyExists` and `FileVersion` on registry keys and files that
//!   an agent profile can set to make each update installed, applicable or neither (see
//!   "Rule vocabulary" below).
//!
//! Every reference (prerequisite, bundled update, superseded update, category) points at an
//! update of the same catalog.
//!
//! # Matched statistics
//!
//! | what | real figure (source) | here |
//! | --- | --- | --- |
//! | detectoids | 3,805 in MU's category set | 7% of the revisions, at most 3,805 |
//! | products / families / companies | 148 / 5 / 3 | one product per 700 revisions (4–148) / up to 7 / up to 3 |
//! | classifications | Microsoft's ids | the 11 ids of `WELL_KNOWN_CLASSIFICATIONS` |
//! | bundled leaves per bundle | 561 per 525 bundles for Windows 11 (1.07) | 1.07 for cumulative updates, 1 for other Windows bundles, 8–18 for Defender |
//! | supersedence edges per superseding update | 16,664 / 633 = 26.3 (Windows 11) | cumulative series supersede all earlier releases within a window of 10–120 (median 45): 24.5 per Windows bundle; chains 1–2 |
//! | older revisions | 176 of 5,253 (3.4%, Windows 11) | 3.1–3.2% (3% of updates revised, 8% of those superseded for 18 months expired, 4% of categories and detectoids) |
//! | cumulative update file | 479,510,336 bytes (KB5026368 arm64 cab) | median 457 MiB, 150 MiB–1.4 GiB |
//! | Defender engine / delta | 6,662,560 / 11,610,576 bytes | medians 6.35 MiB / 11.07 MiB |
//! | OS installer download | 0.06 / 9.62 / 14.83 GB min/median/max | feature updates: image median 2.4 GiB plus setup files |
//! | Defender rules | 5–15 KB documents with long `Or` lists | delta rules list 1–60 base versions (median 3) |
//!
//! Measured outcomes (document and core fragment sizes per kind, generation speed) are in the
//! crate's README; the `distribution_matches_the_real_catalog` test prints them. With 70%
//! detectoids, the mix of a Windows 11 product sync, the median core fragment is 472 bytes
//! (real: 563).
//!
//! # Rule vocabulary
//!
//! Windows updates test `WindowsVersion` (10.0.build) and the update build revision
//! `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\UBR`; servicing stacks and .NET test
//! file versions under CSIDL 36 (Windows); Office, applications and server products test
//! `RegKeyExists` on their product key and `FileVersion` of their executable under CSIDL 38 or
//! 42 (Program Files); Defender tests files under CSIDL 35 and `…\Windows Defender` values;
//! hotfixes test `…\CurrentVersion\Hotfix\KB<n>\Installed`. Detectoids test `Processor`
//! architecture codes 0, 9 and 12.

#![warn(missing_docs)]

mod names;
mod plan;
mod render;
mod rng;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use uuid::Uuid;

/// Name of the generator, written into the manifest.
pub const GENERATOR: &str = "sluice-catgen";
/// Version of the crate that generated a catalog.
pub const GENERATOR_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Changes whenever the documents generated for a given seed and size change, so a manifest
/// says whether two catalogs with the same seed are comparable.
pub const FORMAT_VERSION: u32 = 1;
/// `PublisherID` of every generated document: tells synthetic revisions apart in a database
/// that also holds real ones (it is neither Microsoft's nor Sluice's local publisher id).
pub const SYNTHETIC_PUBLISHER_ID: &str = "7c0ffee5-5e1d-4c47-9a6e-0d15ea5edca7";
/// Largest catalog [`Catalog::generate`] accepts.
pub const MAX_REVISIONS: usize = 2_000_000;
/// Default share of detectoid documents (see the statistics table).
pub const DEFAULT_DETECTOID_SHARE: f64 = 0.07;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogConfig {
    /// Number of documents (revisions) in the catalog, exactly.
    pub revisions: usize,
    /// Everything random derives from it.
    pub seed: u64,
    /// Share of the revisions that are detectoids (capped at 3,805, MU's real count).
    pub detectoid_share: f64,
}

impl CatalogConfig {
    /// A catalog of `revisions` documents from `seed`, with the default detectoid share.
    pub fn new(revisions: usize, seed: u64) -> Self {
        CatalogConfig { revisions, seed, detectoid_share: DEFAULT_DETECTOID_SHARE }
    }
}

/// Why a catalog could not be generated or written.
#[derive(Debug, thiserror::Error)]
pub enum CatgenError {
    /// Below the size that holds the category hierarchy, the detectoids and a few updates.
    #[error(
        "{requested} revisions are too few for a catalog with its categories, detectoids and some updates; ask for at least {minimum}"
    )]
    TooFewRevisions {
        /// What was asked for.
        requested: usize,
        /// The smallest catalog for this seed and detectoid share.
        minimum: usize,
    },
    /// Above [`MAX_REVISIONS`].
    #[error("{requested} revisions is more than the {maximum} a generated catalog may have")]
    TooManyRevisions {
        /// What was asked for.
        requested: usize,
        /// [`MAX_REVISIONS`].
        maximum: usize,
    },
    /// [`CatalogConfig::detectoid_share`] outside 0..=1.
    #[error("the detectoid share must be between 0 and 1, not {0}")]
    InvalidDetectoidShare(f64),
    /// [`Catalog::write_to_dir`] refuses to mix two catalogs in one directory.
    #[error("{0} already holds update documents or a manifest; generate into a new or empty directory")]
    DirectoryNotEmpty(PathBuf),
    /// Reading or writing the output directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
}

/// The role of a document in the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocumentKind {
    /// A category of type `Company`.
    Company,
    /// A category of type `ProductFamily`.
    ProductFamily,
    /// A category of type `Product`.
    Product,
    /// A category of type `UpdateClassification` (Microsoft's ids).
    Classification,
    /// `UpdateType="Detectoid"`: an applicability test other updates name as prerequisite.
    Detectoid,
    /// An explicitly deployable bundle: no files, bundled leaves carry them.
    Bundle,
    /// A leaf inside a bundle (`ExplicitlyDeployable="false"`).
    BundledUpdate,
    /// An explicitly deployable leaf with its own files.
    Standalone,
}

impl DocumentKind {
    /// Every kind, in manifest order.
    pub const ALL: [DocumentKind; 8] = [
        DocumentKind::Company,
        DocumentKind::ProductFamily,
        DocumentKind::Product,
        DocumentKind::Classification,
        DocumentKind::Detectoid,
        DocumentKind::Bundle,
        DocumentKind::BundledUpdate,
        DocumentKind::Standalone,
    ];

    /// The kind's name in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Company => "company",
            DocumentKind::ProductFamily => "product_family",
            DocumentKind::Product => "product",
            DocumentKind::Classification => "classification",
            DocumentKind::Detectoid => "detectoid",
            DocumentKind::Bundle => "bundle",
            DocumentKind::BundledUpdate => "bundled_update",
            DocumentKind::Standalone => "standalone",
        }
    }

    /// Category documents (`UpdateType="Category"`), which update listings leave out.
    pub fn is_category(self) -> bool {
        matches!(
            self,
            DocumentKind::Company | DocumentKind::ProductFamily | DocumentKind::Product | DocumentKind::Classification
        )
    }

    /// Updates an administrator approves: bundles and standalone leaves.
    pub fn is_top_level(self) -> bool {
        matches!(self, DocumentKind::Bundle | DocumentKind::Standalone)
    }
}

/// One generated revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// `UpdateIdentity/@UpdateID`.
    pub update_id: Uuid,
    /// `UpdateIdentity/@RevisionNumber`.
    pub revision_number: i32,
    /// Its role in the catalog.
    pub kind: DocumentKind,
    /// The `<upd:Update>` document (UTF-8, no XML declaration, as Microsoft serves them).
    pub xml: String,
}

impl Document {
    /// `<updateid>-r<revision>.xml`, the name [`Catalog::write_to_dir`] gives it.
    pub fn file_name(&self) -> String {
        file_name(self.update_id, self.revision_number)
    }
}

fn file_name(id: Uuid, rev: i32) -> String {
    format!("{id}-r{rev}.xml")
}

/// Counts per [`DocumentKind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KindCounts([usize; 8]);

impl KindCounts {
    /// The count for `kind`.
    pub fn get(&self, kind: DocumentKind) -> usize {
        self.0[kind as usize]
    }
    /// The sum over all kinds.
    pub fn total(&self) -> usize {
        self.0.iter().sum()
    }
    fn add(&mut self, kind: DocumentKind, n: usize) {
        self.0[kind as usize] += n;
    }
}

/// What a catalog contains, computed from its plan (no rendering needed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The seed it was generated from.
    pub seed: u64,
    /// Documents, one per revision.
    pub revisions: usize,
    /// Revisions per kind.
    pub documents: KindCounts,
    /// Distinct update ids per kind.
    pub updates: KindCounts,
    /// Distinct update ids that are not categories: what an update listing of every
    /// non-category update shows (one row per update, its latest revision).
    pub listed_updates: usize,
    /// Distinct bundles and standalone updates.
    pub top_level_updates: usize,
    /// Top-level updates per classification title.
    pub top_level_by_classification: Vec<(&'static str, usize)>,
    /// Revisions beyond each update's first.
    pub later_revisions: usize,
    /// Revisions with `PublicationState="Expired"`.
    pub expired_revisions: usize,
    /// Documents with a `SupersededUpdates` section.
    pub superseding_documents: usize,
    /// The superseded-update references in them.
    pub supersedence_edges: usize,
    /// `Prerequisites` references to other updates (categories included), over all documents.
    pub prerequisite_references: usize,
    /// `BundledUpdates` references, over all documents.
    pub bundled_references: usize,
    /// Distinct files (each leaf update's, counted once).
    pub files: usize,
    /// Their total size in bytes.
    pub file_bytes: u64,
}

/// What [`Catalog::write_to_dir`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteReport {
    /// Files written, one per revision.
    pub documents: usize,
    /// Total size of the documents.
    pub bytes: u64,
    /// Where `manifest.json` was written.
    pub manifest: PathBuf,
}

/// A planned synthetic catalog; documents are rendered on demand.
#[derive(Debug)]
pub struct Catalog {
    plan: plan::Plan,
    summary: Summary,
}

impl Catalog {
    /// Plans a catalog of exactly `config.revisions` documents.
    pub fn generate(config: &CatalogConfig) -> Result<Catalog, CatgenError> {
        if config.revisions > MAX_REVISIONS {
            return Err(CatgenError::TooManyRevisions { requested: config.revisions, maximum: MAX_REVISIONS });
        }
        if !(0.0..=1.0).contains(&config.detectoid_share) {
            return Err(CatgenError::InvalidDetectoidShare(config.detectoid_share));
        }
        let plan = plan::plan(config)?;
        let summary = summarize(&plan);
        Ok(Catalog { plan, summary })
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.plan.docs.len()
    }

    /// Never true for a generated catalog; here for the `len` convention.
    pub fn is_empty(&self) -> bool {
        self.plan.docs.is_empty()
    }

    /// Counts and relationships, from the plan.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Identity and kind of document `index` without rendering it.
    pub fn identity(&self, index: usize) -> (Uuid, i32, DocumentKind) {
        let d = self.plan.docs[index];
        let u = &self.plan.updates[d.update as usize];
        (u.id, u.first_rev + d.rev as i32, u.kind)
    }

    /// Renders document `index` into `buf` (cleared first) and returns its identity; lets a
    /// caller reuse one buffer for a whole catalog. Panics if `index >= len()`.
    pub fn render_into(&self, index: usize, buf: &mut String) -> (Uuid, i32, DocumentKind) {
        render::render(&self.plan, self.plan.docs[index], buf);
        self.identity(index)
    }

    /// Document `index`. Documents come in dependency order: categories, detectoids, then
    /// updates, each bundle after its bundled leaves. Panics if `index >= len()`.
    pub fn document(&self, index: usize) -> Document {
        let mut xml = String::with_capacity(2048);
        let (update_id, revision_number, kind) = self.render_into(index, &mut xml);
        Document { update_id, revision_number, kind, xml }
    }

    /// Every document in [`Catalog::document`] order.
    pub fn documents(&self) -> impl ExactSizeIterator<Item = Document> + '_ {
        (0..self.len()).map(|i| self.document(i))
    }

    /// The manifest as JSON; `document_bytes` is included when known.
    pub fn manifest_json(&self, document_bytes: Option<u64>) -> String {
        manifest_json(&self.summary, document_bytes)
    }

    /// Writes one file per revision, `<updateid>-r<rev>.xml`, and `manifest.json` into `dir`
    /// (created if missing). Refuses a directory that already holds `.xml` files or a
    /// manifest, so an import of `dir/*.xml` never mixes two catalogs.
    pub fn write_to_dir(&self, dir: &Path) -> Result<WriteReport, CatgenError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| CatgenError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let name = entry.map_err(io(dir))?.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".xml") || name == "manifest.json" {
                return Err(CatgenError::DirectoryNotEmpty(dir.to_path_buf()));
            }
        }
        // Rendering is CPU-bound and every document independent: split the catalog over the
        // cores. The output does not depend on the split.
        let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8);
        let results: Vec<Result<u64, CatgenError>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..workers)
                .map(|k| {
                    s.spawn(move || -> Result<u64, CatgenError> {
                        let mut buf = String::with_capacity(64 * 1024);
                        let mut bytes = 0u64;
                        let mut i = k;
                        while i < self.len() {
                            let (id, rev, _) = self.render_into(i, &mut buf);
                            let path = dir.join(file_name(id, rev));
                            std::fs::write(&path, buf.as_bytes()).map_err(io(&path))?;
                            bytes += buf.len() as u64;
                            i += workers;
                        }
                        Ok(bytes)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("a document writer panicked")).collect()
        });
        let mut bytes = 0;
        for r in results {
            bytes += r?;
        }
        let manifest = dir.join("manifest.json");
        std::fs::write(&manifest, self.manifest_json(Some(bytes))).map_err(io(&manifest))?;
        Ok(WriteReport { documents: self.len(), bytes, manifest })
    }
}

fn summarize(p: &plan::Plan) -> Summary {
    let mut documents = KindCounts::default();
    let mut updates = KindCounts::default();
    let classes = &sluice_metadata::publish::WELL_KNOWN_CLASSIFICATIONS;
    let mut by_class = vec![0usize; classes.len()];
    let mut s = Summary {
        seed: p.seed,
        revisions: p.docs.len(),
        documents,
        updates,
        listed_updates: 0,
        top_level_updates: 0,
        top_level_by_classification: Vec::new(),
        later_revisions: 0,
        expired_revisions: 0,
        superseding_documents: 0,
        supersedence_edges: 0,
        prerequisite_references: 0,
        bundled_references: 0,
        files: 0,
        file_bytes: 0,
    };
    for u in &p.updates {
        let revs = u.revisions as usize;
        documents.add(u.kind, revs);
        updates.add(u.kind, 1);
        if !u.kind.is_category() {
            s.listed_updates += 1;
        }
        if u.kind.is_top_level() {
            s.top_level_updates += 1;
            if let plan::What::Software(sw) = &u.what {
                by_class[sw.classification as usize] += 1;
            }
        }
        s.later_revisions += revs - 1;
        s.expired_revisions += u.expired_last as usize;
        if !u.supersedes.is_empty() {
            s.superseding_documents += revs;
            s.supersedence_edges += revs * u.supersedes.len();
        }
        let prereqs = u.bare.len() + u.groups.iter().map(|g| g.members.len()).sum::<usize>();
        s.prerequisite_references += revs * prereqs;
        s.bundled_references += revs * u.bundled.iter().map(Vec::len).sum::<usize>();
        s.files += u.files.len();
        s.file_bytes += u.files.iter().sum::<u64>();
    }
    s.documents = documents;
    s.updates = updates;
    s.top_level_by_classification =
        classes.iter().zip(by_class).filter(|(_, n)| *n > 0).map(|((name, _), n)| (*name, n)).collect();
    s
}

fn json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn kinds_json(k: &KindCounts, out: &mut String) {
    out.push('{');
    for (i, kind) in DocumentKind::ALL.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        json_str(kind.as_str(), out);
        let _ = write!(out, ": {}", k.get(*kind));
    }
    out.push('}');
}

/// Deterministic JSON (fixed key order, no timestamps), so the same seed gives the same file.
fn manifest_json(s: &Summary, document_bytes: Option<u64>) -> String {
    let mut o = String::with_capacity(1024);
    o.push_str("{\n  \"generator\": ");
    json_str(GENERATOR, &mut o);
    o.push_str(",\n  \"generator_version\": ");
    json_str(GENERATOR_VERSION, &mut o);
    let _ = write!(
        o,
        ",\n  \"format_version\": {FORMAT_VERSION},\n  \"seed\": {},\n  \"revisions\": {}",
        s.seed, s.revisions
    );
    o.push_str(",\n  \"documents\": ");
    kinds_json(&s.documents, &mut o);
    o.push_str(",\n  \"updates\": ");
    kinds_json(&s.updates, &mut o);
    let _ =
        write!(o, ",\n  \"listed_updates\": {},\n  \"top_level_updates\": {}", s.listed_updates, s.top_level_updates);
    o.push_str(",\n  \"top_level_by_classification\": {");
    for (i, (name, n)) in s.top_level_by_classification.iter().enumerate() {
        if i > 0 {
            o.push_str(", ");
        }
        json_str(name, &mut o);
        let _ = write!(o, ": {n}");
    }
    let _ = write!(
        o,
        "}},\n  \"later_revisions\": {},\n  \"expired_revisions\": {},\n  \"superseding_documents\": {},\n  \"supersedence_edges\": {},\n  \"prerequisite_references\": {},\n  \"bundled_references\": {},\n  \"files\": {},\n  \"file_bytes\": {}",
        s.later_revisions,
        s.expired_revisions,
        s.superseding_documents,
        s.supersedence_edges,
        s.prerequisite_references,
        s.bundled_references,
        s.files,
        s.file_bytes
    );
    if let Some(b) = document_bytes {
        let _ = write!(o, ",\n  \"document_bytes\": {b}");
    }
    o.push_str("\n}\n");
    o
}

#[cfg(test)]
mod tests;
