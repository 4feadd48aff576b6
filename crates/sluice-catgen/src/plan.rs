//! Planning: the structure of the catalog (which updates exist, how they relate, when they
//! were published, how big their files are), decided before any XML is written.
//!
//! The plan is small (a few hundred bytes per update) so a 100,000-revision catalog plans in
//! milliseconds; documents are rendered from it one at a time.

use uuid::Uuid;

use crate::names::{Arch, OFFICE_COMPONENTS, OS_TARGETS, PRODUCTS, ProductType, VARIANTS, class};
use crate::rng::{Quantiles, Rng};
use crate::{CatalogConfig, CatgenError, DocumentKind};

/// 2026-10-14T17:00:00Z: the catalog's "now". Fixed, so a seed always yields the same dates.
pub(crate) const NOW: i64 = 1_791_997_200;
const DAY: i64 = 86_400;

/// Detectoids in Microsoft Update's whole category set (4,275 revisions of which 3,805
/// detectoids, seen through a Windows Server 2025 WSUS): more would be unrealistic.
pub(crate) const MAX_DETECTOIDS: usize = 3_805;
/// Products in the same set.
const MAX_PRODUCTS: usize = 148;
/// One product per this many revisions: the real category set has 148 products for a
/// catalog of 10^5 revisions (wsusscn2 alone lists 136,478 updates).
const REVISIONS_PER_PRODUCT: usize = 700;

/// Random streams: planning draws from one, each document from its own.
pub(crate) const STREAM_PLAN: u64 = 1;
pub(crate) const STREAM_RENDER: u64 = 2;

/// Chance that a published update later gets one more revision (a metadata fix), and that
/// such an update gets a third. Together with expiry revisions this lands at the real share
/// of superseded revisions: the Windows 11 product stored 5,253 revisions of which 5,077
/// were current (3.4% older revisions).
const P_REVISED: f64 = 0.03;
const P_REVISED_TWICE: f64 = 0.2;
/// Chance that an update superseded and older than 18 months has been expired (published
/// as a new revision with `PublicationState="Expired"`); the WSUS observation saw 267
/// expired revisions among 24,509 Defender revisions.
const P_EXPIRED: f64 = 0.08;
/// Categories and detectoids are republished too (the category list WSUS returned repeated
/// some ids with two revisions).
const P_CONFIG_REVISED: f64 = 0.04;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SeriesKind {
    Cumulative,
    ServicingStack,
    DotNet,
    DynamicUpdate,
    FeatureUpdate,
    Definitions,
    OfficeSecurity,
    OfficeUpdate,
    Runtime,
    ServerCu,
    ServerSecurity,
    AppRelease,
    Hotfix,
}

impl SeriesKind {
    /// Days between releases when the series is long enough to need no compression.
    fn cadence_days(self) -> f64 {
        match self {
            SeriesKind::Cumulative | SeriesKind::DotNet | SeriesKind::DynamicUpdate => 30.44,
            SeriesKind::OfficeSecurity | SeriesKind::OfficeUpdate | SeriesKind::Runtime => 30.44,
            SeriesKind::ServicingStack | SeriesKind::ServerCu | SeriesKind::Hotfix => 61.0,
            SeriesKind::ServerSecurity => 91.0,
            SeriesKind::AppRelease => 45.0,
            SeriesKind::FeatureUpdate => 365.0,
            // Defender definitions are published several times a day.
            SeriesKind::Definitions => 0.33,
        }
    }

    /// Whether a release supersedes every earlier release of its lane within a window
    /// (cumulative packages) or only its predecessor (a chain).
    fn cumulative(self) -> bool {
        matches!(self, SeriesKind::Cumulative | SeriesKind::DotNet | SeriesKind::Runtime | SeriesKind::ServerCu)
    }
}

/// Series kinds of a product type with their share of the product's budget.
fn kinds_of(pt: ProductType) -> &'static [(SeriesKind, f64)] {
    match pt {
        // Servicing stacks come first: cumulative updates name the stack as a prerequisite.
        ProductType::OsClient => &[
            (SeriesKind::ServicingStack, 0.12),
            (SeriesKind::Cumulative, 0.55),
            (SeriesKind::DotNet, 0.18),
            (SeriesKind::DynamicUpdate, 0.08),
            (SeriesKind::FeatureUpdate, 0.07),
        ],
        ProductType::OsServer => {
            &[(SeriesKind::ServicingStack, 0.15), (SeriesKind::Cumulative, 0.6), (SeriesKind::DotNet, 0.25)]
        }
        ProductType::Defender => &[(SeriesKind::Definitions, 1.0)],
        ProductType::Office => &[(SeriesKind::OfficeSecurity, 0.6), (SeriesKind::OfficeUpdate, 0.4)],
        ProductType::Runtime => &[(SeriesKind::Runtime, 1.0)],
        ProductType::ServerApp => &[(SeriesKind::ServerCu, 0.7), (SeriesKind::ServerSecurity, 0.3)],
        ProductType::ThirdParty => &[(SeriesKind::AppRelease, 1.0)],
    }
}

/// How many earlier releases a cumulative release supersedes. Calibrated on the Windows 11
/// product: 16,664 supersedence edges in 633 `SupersededUpdates` sections, 26.3 per section.
const CUMULATIVE_WINDOW: Quantiles = Quantiles(&[(0.0, 10.0), (0.3, 30.0), (0.5, 45.0), (0.8, 70.0), (1.0, 120.0)]);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// An explicitly deployable bundle: no files, children in `BundledUpdates`.
    Bundle,
    /// A bundled leaf (`part` numbers it within its bundle).
    Child { part: u8 },
    /// An explicitly deployable leaf carrying its own files.
    Standalone,
}

#[derive(Debug, Clone)]
pub(crate) struct Sw {
    pub series: u32,
    pub release: u32,
    pub arch: Arch,
    /// Office: the 32-bit edition.
    pub office32: bool,
    pub role: Role,
    pub kb: u32,
    pub classification: u8,
    /// 0 Critical, 1 Important, 2 Moderate, 3 Low (security updates only).
    pub severity: Option<u8>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum DetRule {
    Arch(Arch),
    Os(u8),
    Composite(u8, Arch),
    Product(u16),
    Component(u16, u8),
    Filler { product: u16, n: u32, style: u8 },
}

#[derive(Debug, Clone)]
pub(crate) enum What {
    Company(usize),
    Family(usize),
    Product(u16),
    Classification(u8),
    Detectoid(DetRule),
    Software(Sw),
}

/// An `AtLeastOne` prerequisite group.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub category: bool,
    pub members: Vec<u32>,
}

/// One update (one UpdateID) and all its revisions.
#[derive(Debug, Clone)]
pub(crate) struct Upd {
    pub id: Uuid,
    pub kind: DocumentKind,
    pub first_rev: i32,
    pub revisions: u8,
    /// The last revision is the expiry of the update.
    pub expired_last: bool,
    /// Creation date of the first revision (unix seconds).
    pub created: i64,
    pub what: What,
    /// Bare prerequisites: all must be installed.
    pub bare: Vec<u32>,
    pub groups: Vec<Group>,
    pub supersedes: Vec<u32>,
    /// Bundled slots; a slot of several members is an `AtLeastOne` of alternatives.
    pub bundled: Vec<Vec<u32>>,
    /// Sizes of the files a leaf carries.
    pub files: Vec<u64>,
}

impl Upd {
    pub fn last_rev(&self) -> i32 {
        self.first_rev + self.revisions as i32 - 1
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Product {
    pub update: u32,
    pub def: usize,
    pub name: String,
    pub weight: f64,
    pub detectoid: Option<u32>,
    pub components: Vec<u32>,
    pub fillers: Vec<u32>,
}

#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub kind: SeriesKind,
    pub product: u16,
    pub target: Option<u8>,
    pub component: u8,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct DocRef {
    pub update: u32,
    pub rev: u8,
}

#[derive(Debug)]
pub(crate) struct Plan {
    pub seed: u64,
    pub updates: Vec<Upd>,
    pub docs: Vec<DocRef>,
    pub products: Vec<Product>,
    pub series: Vec<Series>,
}

struct Planner {
    rng: Rng,
    updates: Vec<Upd>,
    products: Vec<Product>,
    series: Vec<Series>,
    classification_updates: Vec<u32>,
    arch_det: [Option<u32>; 3],
    os_det: Vec<Option<u32>>,
    composite_det: Vec<[Option<u32>; 3]>,
    /// Servicing stack bundles by (target, arch): (created, update), oldest first.
    ssu: Vec<(u8, Arch, i64, u32)>,
    next_kb: u32,
}

fn jan1(year: i32) -> i64 {
    // Days from 1970-01-01 to January 1 of `year` (proleptic Gregorian).
    let y = year as i64 - 1;
    let days = 365 * (y - 1969) + (y / 4 - 1969 / 4) - (y / 100 - 1969 / 100) + (y / 400 - 1969 / 400);
    days * DAY
}

impl Planner {
    fn push(&mut self, kind: DocumentKind, what: What, created: i64) -> u32 {
        let id = self.rng.uuid();
        // Microsoft's first revision numbers are 100 or 200 (sometimes 1xx after a re-sign).
        let first_rev = match self.rng.below(20) {
            0..=8 => 100,
            9..=18 => 200,
            _ => 101,
        };
        self.updates.push(Upd {
            id,
            kind,
            first_rev,
            revisions: 1,
            expired_last: false,
            created,
            what,
            bare: Vec::new(),
            groups: Vec::new(),
            supersedes: Vec::new(),
            bundled: Vec::new(),
            files: Vec::new(),
        });
        (self.updates.len() - 1) as u32
    }

    fn date_between(&mut self, from_year: i32, to_year: i32) -> i64 {
        let a = jan1(from_year);
        let b = jan1(to_year + 1).min(NOW);
        a + self.rng.below((b - a) as u64) as i64
    }

    fn kb(&mut self) -> u32 {
        self.next_kb += self.rng.range(1, 37) as u32;
        self.next_kb
    }
}

/// The smallest catalog that has the category hierarchy, the detectoids its updates need and
/// a few updates.
pub(crate) const MIN_SOFTWARE: usize = 40;

pub(crate) fn plan(config: &CatalogConfig) -> Result<Plan, CatgenError> {
    let n = config.revisions;
    let mut p = Planner {
        rng: Rng::derive(config.seed, STREAM_PLAN, 0),
        updates: Vec::with_capacity(n),
        products: Vec::new(),
        series: Vec::new(),
        classification_updates: Vec::new(),
        arch_det: [None; 3],
        os_det: vec![None; OS_TARGETS.len()],
        composite_det: vec![[None; 3]; OS_TARGETS.len()],
        ssu: Vec::new(),
        next_kb: 0,
    };
    p.next_kb = 5_000_000 + p.rng.below(20_000) as u32;

    // ---- categories: company → product family → product, and the classifications
    let n_products = (n / REVISIONS_PER_PRODUCT).clamp(4, MAX_PRODUCTS);
    let defs: Vec<(usize, usize)> = (0..n_products).map(|i| (i % PRODUCTS.len(), i / PRODUCTS.len())).collect();
    let mut company_upd = [None; 3];
    let mut family_upd = [None; crate::names::FAMILIES.len()];
    for &(d, _) in &defs {
        let fam = PRODUCTS[d].family;
        let company = crate::names::FAMILIES[fam].1;
        if company_upd[company].is_none() {
            let created = if company == 0 { p.date_between(2004, 2005) } else { p.date_between(2012, 2016) };
            company_upd[company] = Some(p.push(DocumentKind::Company, What::Company(company), created));
        }
        if family_upd[fam].is_none() {
            let created = p.date_between(2004, 2012);
            let u = p.push(DocumentKind::ProductFamily, What::Family(fam), created);
            p.updates[u as usize].groups.push(Group { category: true, members: vec![company_upd[company].unwrap()] });
            family_upd[fam] = Some(u);
        }
    }
    for (i, &(d, variant)) in defs.iter().enumerate() {
        let def = &PRODUCTS[d];
        let name = match variant {
            0 => def.name.to_string(),
            v if v <= VARIANTS.len() => format!("{} {}", def.name, VARIANTS[v - 1]),
            v => format!("{} {} {}", def.name, VARIANTS[(v - 1) % VARIANTS.len()], (v - 1) / VARIANTS.len() + 1),
        };
        let created = p.date_between(def.since - 1, def.since);
        let u = p.push(DocumentKind::Product, What::Product(i as u16), created);
        p.updates[u as usize].groups.push(Group { category: true, members: vec![family_upd[def.family].unwrap()] });
        // Variants ("… Language Packs") see a fraction of their base product's traffic.
        let weight = if variant == 0 { def.weight } else { def.weight * 0.25 };
        p.products.push(Product {
            update: u,
            def: d,
            name,
            weight,
            detectoid: None,
            components: Vec::new(),
            fillers: Vec::new(),
        });
    }
    for c in 0..sluice_metadata::publish::WELL_KNOWN_CLASSIFICATIONS.len() as u8 {
        let created = p.date_between(2004, 2006);
        let u = p.push(DocumentKind::Classification, What::Classification(c), created);
        // Their ids are Microsoft's own, not random (see names.rs).
        let id = sluice_metadata::publish::WELL_KNOWN_CLASSIFICATIONS[c as usize].1;
        p.updates[u as usize].id = Uuid::parse_str(id).expect("well-known classification ids are valid");
        p.classification_updates.push(u);
    }

    // ---- detectoids: architectures, Windows versions, their combinations, products
    let mut targets_used: Vec<usize> = defs.iter().flat_map(|&(d, _)| PRODUCTS[d].targets.iter().copied()).collect();
    targets_used.sort_unstable();
    targets_used.dedup();
    for a in Arch::ALL {
        let created = p.date_between(2015, 2018);
        p.arch_det[a.index()] = Some(p.push(DocumentKind::Detectoid, What::Detectoid(DetRule::Arch(a)), created));
    }
    for &t in &targets_used {
        let created = jan1(OS_TARGETS[t].since) - 60 * DAY;
        p.os_det[t] = Some(p.push(DocumentKind::Detectoid, What::Detectoid(DetRule::Os(t as u8)), created));
    }
    for &t in &targets_used {
        for &a in OS_TARGETS[t].archs {
            let created = jan1(OS_TARGETS[t].since) - 30 * DAY;
            let u = p.push(DocumentKind::Detectoid, What::Detectoid(DetRule::Composite(t as u8, a)), created);
            // A detectoid chain: "Windows 11 24H2 x64" needs "Windows 11 24H2" and "x64".
            let (os, arch) = (p.os_det[t].unwrap(), p.arch_det[a.index()].unwrap());
            p.updates[u as usize].bare = vec![os, arch];
            p.composite_det[t][a.index()] = Some(u);
        }
    }
    for i in 0..p.products.len() {
        let def = &PRODUCTS[p.products[i].def];
        if matches!(def.ptype, ProductType::OsClient | ProductType::OsServer) {
            continue;
        }
        let created = p.date_between(def.since - 1, def.since);
        let u = p.push(DocumentKind::Detectoid, What::Detectoid(DetRule::Product(i as u16)), created);
        p.products[i].detectoid = Some(u);
        if def.ptype == ProductType::Office {
            for c in 0..OFFICE_COMPONENTS.len() as u8 {
                let cu = p.push(DocumentKind::Detectoid, What::Detectoid(DetRule::Component(i as u16, c)), created);
                p.updates[cu as usize].bare = vec![u];
                p.products[i].components.push(cu);
            }
        }
    }
    let base_detectoids = p.updates.iter().filter(|u| u.kind == DocumentKind::Detectoid).count();
    let wanted = ((n as f64 * config.detectoid_share).round() as usize).min(MAX_DETECTOIDS);
    let fillers = wanted.saturating_sub(base_detectoids);
    for k in 0..fillers {
        let pi = k % p.products.len();
        let def = &PRODUCTS[p.products[pi].def];
        let created = p.date_between(def.since.min(2020), 2026);
        let style = p.rng.below(5) as u8;
        let u = p.push(
            DocumentKind::Detectoid,
            What::Detectoid(DetRule::Filler { product: pi as u16, n: k as u32, style }),
            created,
        );
        // Chains of detectoids: most refine the product's own detectoid (or Windows
        // version), some refine another component detectoid of the same product.
        let roll = p.rng.unit();
        let own = p.products[pi].fillers.clone();
        let anchor = p.products[pi].detectoid.or_else(|| def.targets.first().and_then(|&t| p.os_det[t]));
        let prereq = if roll < 0.25 && !own.is_empty() {
            Some(*p.rng.pick(&own))
        } else if roll < 0.65 {
            anchor
        } else {
            None
        };
        if let Some(pre) = prereq {
            p.updates[u as usize].bare.push(pre);
        }
        p.products[pi].fillers.push(u);
    }
    let config_updates = p.updates.len();
    for u in 0..config_updates {
        if p.rng.chance(P_CONFIG_REVISED) {
            p.updates[u].revisions += 1;
        }
    }
    let config_docs: usize = p.updates.iter().map(|u| u.revisions as usize).sum();
    if n < config_docs + MIN_SOFTWARE {
        return Err(CatgenError::TooFewRevisions { requested: n, minimum: config_docs + MIN_SOFTWARE });
    }

    // ---- software: the budget split over products by weight, then over series kinds
    let budget = n - config_docs;
    let total_weight: f64 = p.products.iter().map(|x| x.weight).sum();
    let mut carry = 0usize;
    let mut given = 0usize;
    for pi in 0..p.products.len() {
        let share = if pi + 1 == p.products.len() {
            budget - given
        } else {
            (budget as f64 * p.products[pi].weight / total_weight) as usize
        };
        given += share;
        let def = &PRODUCTS[p.products[pi].def];
        let kinds = kinds_of(def.ptype);
        let mut kind_given = 0;
        for (ki, &(kind, w)) in kinds.iter().enumerate() {
            let kshare = if ki + 1 == kinds.len() { share - kind_given } else { (share as f64 * w) as usize };
            kind_given += kshare;
            let instances = instances_of(&mut p, pi as u16, kind);
            let per = kshare / instances.len();
            for (ii, s) in instances.iter().enumerate() {
                let allot = if ii + 1 == instances.len() { kshare - per * (instances.len() - 1) } else { per };
                let spent = run_series(&mut p, *s, allot + carry);
                carry = allot + carry - spent;
            }
        }
    }
    // Whatever no series could use (less than one release) becomes hotfixes, one document each.
    if carry > 0 {
        p.series.push(Series { kind: SeriesKind::Hotfix, product: 0, target: None, component: 0 });
        let s = (p.series.len() - 1) as u32;
        let spent = run_series(&mut p, s, carry);
        debug_assert_eq!(spent, carry);
    }

    let mut docs = Vec::with_capacity(n);
    for (i, u) in p.updates.iter().enumerate() {
        for r in 0..u.revisions {
            docs.push(DocRef { update: i as u32, rev: r });
        }
    }
    debug_assert_eq!(docs.len(), n);
    Ok(Plan { seed: config.seed, updates: p.updates, docs, products: p.products, series: p.series })
}

/// The series of one kind a product gets: one per Windows version for operating systems, one
/// per application for Office, one otherwise.
fn instances_of(p: &mut Planner, product: u16, kind: SeriesKind) -> Vec<u32> {
    let def = &PRODUCTS[p.products[product as usize].def];
    let mut out = Vec::new();
    match kind {
        SeriesKind::Cumulative
        | SeriesKind::ServicingStack
        | SeriesKind::DotNet
        | SeriesKind::DynamicUpdate
        | SeriesKind::FeatureUpdate => {
            for &t in def.targets {
                p.series.push(Series { kind, product, target: Some(t as u8), component: 0 });
                out.push((p.series.len() - 1) as u32);
            }
        }
        SeriesKind::OfficeSecurity | SeriesKind::OfficeUpdate => {
            for c in 0..OFFICE_COMPONENTS.len() as u8 {
                p.series.push(Series { kind, product, target: None, component: c });
                out.push((p.series.len() - 1) as u32);
            }
        }
        _ => {
            p.series.push(Series { kind, product, target: None, component: 0 });
            out.push((p.series.len() - 1) as u32);
        }
    }
    out
}

/// The parallel lines of one series: one per architecture (or Office edition); each line
/// supersedes only within itself.
fn lanes_of(p: &mut Planner, s: &Series) -> Vec<(Arch, bool)> {
    let def = &PRODUCTS[p.products[s.product as usize].def];
    match s.kind {
        SeriesKind::Definitions => vec![(Arch::X64, false)],
        SeriesKind::OfficeSecurity | SeriesKind::OfficeUpdate => vec![(Arch::X86, true), (Arch::X64, false)],
        SeriesKind::Runtime if def.name.starts_with(".NET") => {
            vec![(Arch::X64, false), (Arch::X86, false), (Arch::Arm64, false)]
        }
        SeriesKind::AppRelease if p.rng.chance(0.5) => vec![(Arch::X64, false), (Arch::X86, false)],
        _ => match s.target {
            Some(t) => OS_TARGETS[t as usize].archs.iter().map(|&a| (a, false)).collect(),
            None => vec![(Arch::X64, false)],
        },
    }
}

/// Children per lane in one release; 0 means the update is a standalone leaf.
fn children_of(p: &mut Planner, kind: SeriesKind) -> u8 {
    match kind {
        // The Windows 11 product has 561 bundled leaves for 525 bundles (1.07 per bundle).
        SeriesKind::Cumulative => 1 + p.rng.chance(0.07) as u8,
        SeriesKind::ServicingStack | SeriesKind::DotNet | SeriesKind::FeatureUpdate => 1,
        // Defender bundles offer engine and platform per architecture and a set of
        // definition deltas as alternatives (the real one: groups of 7, 7, 7 and 103).
        SeriesKind::Definitions => 6 + p.rng.range(2, 12) as u8,
        _ => 0,
    }
}

fn classification_of(p: &mut Planner, kind: SeriesKind) -> u8 {
    use class::*;
    let table: &[(u8, f64)] = match kind {
        SeriesKind::Cumulative => &[(SECURITY, 0.85), (UPDATES, 0.15)],
        SeriesKind::ServicingStack => &[(SECURITY, 0.4), (CRITICAL, 0.2), (UPDATES, 0.4)],
        SeriesKind::DotNet => &[(SECURITY, 0.8), (UPDATES, 0.2)],
        SeriesKind::DynamicUpdate => &[(CRITICAL, 0.5), (UPDATES, 0.5)],
        SeriesKind::FeatureUpdate => &[(UPGRADES, 1.0)],
        SeriesKind::Definitions => &[(DEFINITION, 1.0)],
        SeriesKind::OfficeSecurity => &[(SECURITY, 1.0)],
        SeriesKind::OfficeUpdate => &[(UPDATES, 0.65), (CRITICAL, 0.2), (FEATURE_PACKS, 0.1), (SERVICE_PACKS, 0.05)],
        SeriesKind::Runtime => &[(SECURITY, 0.7), (UPDATES, 0.3)],
        SeriesKind::ServerCu => &[(UPDATES, 0.6), (SECURITY, 0.25), (ROLLUPS, 0.15)],
        SeriesKind::ServerSecurity => &[(SECURITY, 1.0)],
        SeriesKind::AppRelease => {
            &[(UPDATES, 0.4), (SECURITY, 0.25), (FEATURE_PACKS, 0.1), (TOOLS, 0.1), (APPLICATIONS, 0.15)]
        }
        SeriesKind::Hotfix => &[(UPDATES, 0.6), (CRITICAL, 0.4)],
    };
    let w: Vec<f64> = table.iter().map(|x| x.1).collect();
    table[p.rng.weighted(&w)].0
}

/// File sizes in bytes, as quantile tables anchored on real files where we have them.
fn file_sizes(kind: SeriesKind, part: u8) -> Quantiles {
    const MB: f64 = 1_048_576.0;
    match kind {
        // Real: the arm64 RollupFix cab of KB5026368 is 479,510,336 bytes.
        SeriesKind::Cumulative if part == 0 => Quantiles(&[
            (0.0, 150.0 * MB),
            (0.25, 330.0 * MB),
            (0.5, 457.0 * MB),
            (0.9, 800.0 * MB),
            (1.0, 1_400.0 * MB),
        ]),
        SeriesKind::Cumulative => Quantiles(&[(0.0, 5.0 * MB), (0.5, 30.0 * MB), (1.0, 120.0 * MB)]),
        SeriesKind::ServicingStack => Quantiles(&[(0.0, 8.0 * MB), (0.5, 14.0 * MB), (1.0, 26.0 * MB)]),
        SeriesKind::DotNet => Quantiles(&[(0.0, 40.0 * MB), (0.5, 72.0 * MB), (1.0, 120.0 * MB)]),
        SeriesKind::DynamicUpdate => {
            Quantiles(&[(0.0, 1.0 * MB), (0.5, 25.0 * MB), (0.9, 300.0 * MB), (1.0, 650.0 * MB)])
        }
        // Real OS installer updates: MaxDownloadSize 0.06 / 9.62 / 14.83 GB (min/median/max)
        // over all their files; split over up to four files here.
        SeriesKind::FeatureUpdate => Quantiles(&[(0.0, 15.0 * MB), (0.5, 2_460.0 * MB), (1.0, 3_800.0 * MB)]),
        // Real: AM_Engine.exe 6,662,560 bytes; AM_Delta.exe 11,610,576; platform updates are
        // larger, full definition packages (mpam-fe) larger still.
        SeriesKind::Definitions => match part {
            0..=2 => Quantiles(&[(0.0, 5.5 * MB), (0.5, 6.35 * MB), (1.0, 8.0 * MB)]),
            3..=5 => Quantiles(&[(0.0, 9.0 * MB), (0.5, 14.0 * MB), (1.0, 22.0 * MB)]),
            _ => Quantiles(&[(0.0, 0.5 * MB), (0.5, 11.07 * MB), (0.95, 14.0 * MB), (1.0, 180.0 * MB)]),
        },
        SeriesKind::OfficeSecurity | SeriesKind::OfficeUpdate => {
            Quantiles(&[(0.0, 0.8 * MB), (0.5, 28.0 * MB), (0.9, 90.0 * MB), (1.0, 160.0 * MB)])
        }
        SeriesKind::Runtime => Quantiles(&[(0.0, 25.0 * MB), (0.5, 32.0 * MB), (1.0, 1_200.0 * MB)]),
        SeriesKind::ServerCu | SeriesKind::ServerSecurity => {
            Quantiles(&[(0.0, 120.0 * MB), (0.5, 450.0 * MB), (1.0, 1_900.0 * MB)])
        }
        SeriesKind::AppRelease => Quantiles(&[(0.0, 1.5 * MB), (0.5, 40.0 * MB), (0.9, 150.0 * MB), (1.0, 600.0 * MB)]),
        SeriesKind::Hotfix => Quantiles(&[(0.0, 0.3 * MB), (0.5, 4.0 * MB), (1.0, 60.0 * MB)]),
    }
}

fn severity(p: &mut Planner) -> u8 {
    // MSRC ratings of security updates: Important dominates, then Critical.
    p.rng.weighted(&[0.25, 0.65, 0.07, 0.03]) as u8
}

/// Plans one series within `allot` documents and returns how many it used.
fn run_series(p: &mut Planner, s_idx: u32, allot: usize) -> usize {
    let s = p.series[s_idx as usize].clone();
    let lanes = lanes_of(p, &s);
    // Release shapes first: their number fixes the spacing of the release dates. A slice of
    // the allotment stays free for the later revisions of the releases.
    let for_releases = if s.kind == SeriesKind::Hotfix { allot } else { allot - allot * 4 / 100 };
    let mut shapes: Vec<Vec<u8>> = Vec::new();
    let mut spent = 0;
    loop {
        let shape: Vec<u8> = lanes.iter().map(|_| children_of(p, s.kind)).collect();
        let cost: usize = shape.iter().map(|&c| 1 + c as usize).sum();
        if spent + cost > for_releases {
            // A Hotfix series is the catch-all and must use its whole allotment.
            if s.kind == SeriesKind::Hotfix && spent < allot {
                continue;
            }
            break;
        }
        spent += cost;
        shapes.push(shape);
        if s.kind == SeriesKind::Hotfix && spent == allot {
            break;
        }
    }
    if shapes.is_empty() {
        return 0;
    }
    let product = &p.products[s.product as usize];
    let def = &PRODUCTS[product.def];
    let since = s.target.map(|t| OS_TARGETS[t as usize].since).unwrap_or(def.since);
    let releases = shapes.len() as i64;
    let nominal = (s.kind.cadence_days() * DAY as f64) as i64;
    let start = (NOW - releases * nominal).max(jan1(since)).min(NOW - releases * 3_600);
    let step = (NOW - start) / releases;
    let window = if s.kind.cumulative() { CUMULATIVE_WINDOW.sample_u64(&mut p.rng).max(1) as usize } else { 1 };
    let mut lane_history: Vec<Vec<u32>> = vec![Vec::new(); lanes.len()];
    let mut tops: Vec<u32> = Vec::new();

    for (r, shape) in shapes.iter().enumerate() {
        let created = start + r as i64 * step + p.rng.below((step / 4).max(1) as u64) as i64;
        let classification = classification_of(p, s.kind);
        let kb = if s.kind == SeriesKind::Definitions { 2_267_602 } else { p.kb() };
        let sev = (classification == class::SECURITY).then(|| severity(p));
        for (li, &(arch, office32)) in lanes.iter().enumerate() {
            let sw =
                |role| Sw { series: s_idx, release: r as u32, arch, office32, role, kb, classification, severity: sev };
            let n_children = shape[li];
            let top_kind = if n_children > 0 { DocumentKind::Bundle } else { DocumentKind::Standalone };
            // Children first: a bundle never refers to something not yet in the catalog.
            let mut children = Vec::with_capacity(n_children as usize);
            for part in 0..n_children {
                let child_arch = if s.kind == SeriesKind::Definitions { Arch::ALL[part as usize % 3] } else { arch };
                let mut child_sw = sw(Role::Child { part });
                child_sw.arch = child_arch;
                let c = p.push(DocumentKind::BundledUpdate, What::Software(child_sw), created - 600);
                leaf_prerequisites(p, c, &s, child_arch, false);
                let q = file_sizes(s.kind, part);
                let n_files = if s.kind == SeriesKind::FeatureUpdate { p.rng.range(2, 4) as usize } else { 1 };
                // Beside its image, a feature update carries a small setup program and cabs.
                let small = Quantiles(&[(0.0, 90_000.0), (0.5, 1_200_000.0), (1.0, 40_000_000.0)]);
                let files: Vec<u64> = (0..n_files)
                    .map(|k| if k == 0 { q.sample_u64(&mut p.rng) } else { small.sample_u64(&mut p.rng) }.max(1))
                    .collect();
                p.updates[c as usize].files = files;
                children.push(c);
            }
            let u = p.push(
                top_kind,
                What::Software(sw(if n_children > 0 { Role::Bundle } else { Role::Standalone })),
                created,
            );
            if n_children == 0 {
                leaf_prerequisites(p, u, &s, arch, true);
                let size = file_sizes(s.kind, 0).sample_u64(&mut p.rng).max(1);
                p.updates[u as usize].files = vec![size];
            } else {
                bundle_prerequisites(p, u, &s, arch, created);
                p.updates[u as usize].bundled = if s.kind == SeriesKind::Definitions {
                    // Engine per architecture, platform per architecture, then definitions.
                    vec![children[0..3].to_vec(), children[3..6].to_vec(), children[6..].to_vec()]
                } else {
                    children.iter().map(|&c| vec![c]).collect()
                };
            }
            let class_u = p.classification_updates[classification as usize];
            let product_u = p.products[s.product as usize].update;
            let up = &mut p.updates[u as usize];
            up.groups.push(Group { category: true, members: vec![class_u] });
            up.groups.push(Group { category: true, members: vec![product_u] });

            // Supersedence within the lane.
            let hist = &lane_history[li];
            let sup: Vec<u32> = if hist.is_empty() {
                Vec::new()
            } else if s.kind.cumulative() {
                hist.iter().rev().take(window).copied().collect()
            } else if s.kind == SeriesKind::Definitions {
                let k = p.rng.range(1, 8) as usize;
                hist.iter().rev().take(k).copied().collect()
            } else {
                match p.rng.below(20) {
                    0 => Vec::new(),
                    1 | 2 => hist.iter().rev().take(2).copied().collect(),
                    _ => vec![*hist.last().unwrap()],
                }
            };
            p.updates[u as usize].supersedes = sup;
            lane_history[li].push(u);
            tops.push(u);
            if s.kind == SeriesKind::ServicingStack {
                p.ssu.push((s.target.unwrap_or(0), arch, created, u));
            }
        }
    }

    // Later revisions: metadata fixes, and expiry of long-superseded updates.
    for &u in &tops {
        if spent < allot && p.rng.chance(P_REVISED) {
            p.updates[u as usize].revisions += 1;
            spent += 1;
            if spent < allot && p.rng.chance(P_REVISED_TWICE) {
                p.updates[u as usize].revisions += 1;
                spent += 1;
            }
        }
    }
    let superseded: std::collections::HashSet<u32> =
        tops.iter().flat_map(|&u| p.updates[u as usize].supersedes.clone()).collect();
    for &u in &tops {
        let old = NOW - p.updates[u as usize].created > 548 * DAY;
        if spent < allot && old && superseded.contains(&u) && p.rng.chance(P_EXPIRED) {
            let up = &mut p.updates[u as usize];
            up.revisions += 1;
            up.expired_last = true;
            spent += 1;
        }
    }
    spent
}

/// Prerequisites of a file-carrying leaf: the detectoids that say where it applies, and its
/// product (as a category for a standalone update, as a plain group in a bundled leaf, the
/// way Microsoft writes them).
fn leaf_prerequisites(p: &mut Planner, u: u32, s: &Series, arch: Arch, standalone: bool) {
    let product = &p.products[s.product as usize];
    let def = &PRODUCTS[product.def];
    let mut bare = Vec::new();
    match s.target {
        Some(t) => {
            if let Some(c) = p.composite_det[t as usize][arch.index()] {
                bare.push(c);
            }
        }
        None => {
            if s.kind == SeriesKind::OfficeSecurity || s.kind == SeriesKind::OfficeUpdate {
                bare.push(product.components[s.component as usize]);
            } else if let Some(d) = product.detectoid {
                bare.push(d);
            } else if let Some(o) = def.targets.first().and_then(|&t| p.os_det[t]) {
                bare.push(o);
            }
            if (arch != Arch::X86 || s.kind == SeriesKind::Definitions)
                && let Some(a) = p.arch_det[arch.index()]
            {
                bare.push(a);
            }
        }
    }
    if !product.fillers.is_empty() && p.rng.chance(0.2) {
        let f = *p.rng.pick(&product.fillers);
        bare.push(f);
    }
    let product_u = product.update;
    let up = &mut p.updates[u as usize];
    up.bare = bare;
    if !standalone {
        up.groups.push(Group { category: false, members: vec![product_u] });
    }
}

/// Prerequisites of a bundle: the Windows version (or product) detectoid and, for cumulative
/// updates, the servicing stack update current at the time: a prerequisite chain update →
/// update → detectoid → detectoid.
fn bundle_prerequisites(p: &mut Planner, u: u32, s: &Series, arch: Arch, created: i64) {
    let product = &p.products[s.product as usize];
    let mut bare = Vec::new();
    match s.target {
        Some(t) => {
            if let Some(o) = p.os_det[t as usize] {
                bare.push(o);
            }
            if s.kind == SeriesKind::Cumulative {
                let ssu = p.ssu.iter().rev().find(|(st, sa, sc, _)| *st == t && *sa == arch && *sc <= created);
                if let Some(&(_, _, _, su)) = ssu {
                    bare.push(su);
                }
            }
        }
        None => {
            if let Some(d) = product.detectoid {
                bare.push(d);
            }
        }
    }
    p.updates[u as usize].bare = bare;
}
