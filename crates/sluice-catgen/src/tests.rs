use std::collections::{HashMap, HashSet};

use sluice_metadata::{HandlerData, ParsedUpdate, UpdateType, parse_update};

use super::*;

fn parsed(c: &Catalog) -> Vec<(Document, ParsedUpdate)> {
    c.documents()
        .map(|d| {
            let p = parse_update(&d.xml, &d.file_name()).unwrap_or_else(|e| panic!("{e}\n{}", d.xml));
            (d, p)
        })
        .collect()
}

fn digest(c: &Catalog) -> Vec<u8> {
    // Not cryptographic: equal catalogs give equal bytes, so comparing the concatenation is
    // the strict test; this keeps memory small by folding per document.
    let mut out = Vec::with_capacity(c.len() * 8);
    for d in c.documents() {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in d.xml.bytes().chain(d.file_name().bytes()) {
            h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
        out.extend_from_slice(&h.to_le_bytes());
    }
    out
}

#[test]
fn same_seed_same_bytes_other_seed_other_catalog() {
    let a = Catalog::generate(&CatalogConfig::new(1_500, 7)).unwrap();
    let b = Catalog::generate(&CatalogConfig::new(1_500, 7)).unwrap();
    let c = Catalog::generate(&CatalogConfig::new(1_500, 8)).unwrap();
    assert_eq!(digest(&a), digest(&b));
    assert_eq!(a.manifest_json(Some(1)), b.manifest_json(Some(1)));
    assert_eq!(a.document(1_234).xml, b.document(1_234).xml);
    let (da, dc) = (digest(&a), digest(&c));
    let same = da.chunks(8).zip(dc.chunks(8)).filter(|(x, y)| x == y).count();
    assert_eq!(same, 0, "no document of another seed is identical");
    assert_ne!(a.identity(0).0, c.identity(0).0);
}

/// A change here means every catalog changed for its seed: bump `FORMAT_VERSION`, then
/// update the pinned value.
#[test]
fn output_for_a_seed_is_pinned() {
    let c = Catalog::generate(&CatalogConfig::new(200, 1)).unwrap();
    let d = digest(&c);
    let mut h: u64 = 0;
    for chunk in d.chunks(8) {
        h = h.rotate_left(5) ^ u64::from_le_bytes(chunk.try_into().unwrap());
    }
    assert_eq!((FORMAT_VERSION, h), (1, PINNED_CATALOG));
}

const PINNED_CATALOG: u64 = 0x4856_76e8_89ff_5d81;

#[test]
fn exactly_the_requested_number_of_documents_for_many_sizes() {
    for (n, seed) in [(150, 1), (151, 2), (999, 3), (2_000, 4), (7_777, 5), (30_001, 6)] {
        let c = Catalog::generate(&CatalogConfig::new(n, seed)).unwrap();
        assert_eq!(c.len(), n);
        assert_eq!(c.summary().revisions, n);
        assert_eq!(c.summary().documents.total(), n);
        let names: HashSet<String> = (0..n)
            .map(|i| {
                let (id, r, _) = c.identity(i);
                format!("{id}-{r}")
            })
            .collect();
        assert_eq!(names.len(), n, "every revision is distinct");
    }
    assert!(matches!(
        Catalog::generate(&CatalogConfig::new(20, 1)),
        Err(CatgenError::TooFewRevisions { requested: 20, .. })
    ));
    assert!(matches!(
        Catalog::generate(&CatalogConfig::new(MAX_REVISIONS + 1, 1)),
        Err(CatgenError::TooManyRevisions { .. })
    ));
}

#[test]
fn every_document_parses_and_matches_its_plan() {
    let c = Catalog::generate(&CatalogConfig::new(4_000, 11)).unwrap();
    for (d, p) in parsed(&c) {
        let u = &p.update;
        assert_eq!(u.identity.update_id, d.update_id);
        assert_eq!(u.identity.revision_number, d.revision_number);
        assert!((100..=203).contains(&d.revision_number), "{}", d.revision_number);
        let expected = match d.kind {
            k if k.is_category() => UpdateType::Category,
            DocumentKind::Detectoid => UpdateType::Detectoid,
            _ => UpdateType::Software,
        };
        assert_eq!(u.properties.update_type, expected);
        assert!(!u.title().is_empty());
        assert!(u.localized.iter().any(|l| l.language == "en"));
        assert_eq!(u.properties.publisher_id.as_deref(), Some(SYNTHETIC_PUBLISHER_ID));
        // Fragments build: the core names the revision, and each language has its fragment.
        assert!(p.fragments.core.starts_with("<UpdateIdentity UpdateID="), "{}", p.fragments.core);
        assert_eq!(p.fragments.localized.len(), u.localized.len());
        assert!(!p.fragments.extended.is_empty());
        match d.kind {
            DocumentKind::BundledUpdate | DocumentKind::Standalone => {
                assert!(!u.files.is_empty() && u.rules.is_installed.is_some() && u.rules.is_installable.is_some());
                assert!(matches!(u.handler, Some(HandlerData::CommandLine(_))));
                assert_eq!(u.properties.max_download_size, Some(u.files.iter().map(|f| f.size).sum()));
            }
            DocumentKind::Bundle => {
                assert!(u.files.is_empty() && u.handler.is_none() && u.is_bundle());
            }
            DocumentKind::Detectoid => assert!(u.rules.is_installed.is_some()),
            _ => assert!(u.category_info().and_then(|i| i.category_type.as_deref()).is_some()),
        }
        if u.properties.msrc_severity.is_some() {
            assert_eq!(u.category_ids().next().map(|x| x.to_string()).as_deref(), Some(WELL_KNOWN_SECURITY));
        }
    }
}

/// Rule versions are four dotted 16-bit parts (BaseTypes); a rule engine refuses others.
#[test]
fn rule_versions_are_four_part_16_bit() {
    let c = Catalog::generate(&CatalogConfig::new(6_000, 17)).unwrap();
    let mut seen = 0;
    for d in c.documents() {
        for (i, _) in d.xml.match_indices(" Version=\"") {
            let v = &d.xml[i + 10..];
            let v = &v[..v.find('"').unwrap()];
            let parts: Vec<&str> = v.split('.').collect();
            assert_eq!(parts.len(), 4, "{v} in {}", d.file_name());
            assert!(parts.iter().all(|p| p.parse::<u16>().is_ok()), "{v} in {}", d.file_name());
            seen += 1;
        }
    }
    assert!(seen > 1_000);
}

const WELL_KNOWN_SECURITY: &str = "0fa1201d-4330-4fa8-8ae9-b877473b6441";

#[test]
fn references_point_only_inside_the_catalog() {
    let c = Catalog::generate(&CatalogConfig::new(5_000, 21)).unwrap();
    let docs = parsed(&c);
    let mut revisions: HashMap<Uuid, Vec<i32>> = HashMap::new();
    let mut latest: HashMap<Uuid, &ParsedUpdate> = HashMap::new();
    for (d, p) in &docs {
        revisions.entry(d.update_id).or_default().push(d.revision_number);
        let e = latest.entry(d.update_id).or_insert(p);
        if e.update.identity.revision_number < d.revision_number {
            *e = p;
        }
    }
    let kind_of = |id: &Uuid| latest[id].update.properties.update_type;
    let mut edges = 0;
    for (d, p) in &docs {
        let r = &p.update.relationships;
        for g in &r.prerequisites {
            for m in &g.members {
                assert!(revisions.contains_key(m), "{}: prerequisite {m} is not in the catalog", d.file_name());
                if g.is_category {
                    assert_eq!(kind_of(m), UpdateType::Category);
                }
            }
        }
        for s in &r.superseded_updates {
            assert!(revisions.contains_key(s), "{}: superseded {s} is not in the catalog", d.file_name());
            assert_eq!(kind_of(s), UpdateType::Software);
            assert_ne!(*s, d.update_id);
            edges += 1;
        }
        for slot in &r.bundled_updates {
            for b in slot {
                let revs = revisions.get(&b.update_id).unwrap_or_else(|| panic!("bundled {} missing", b.update_id));
                assert!(revs.contains(&b.revision_number.expect("bundled references name a revision")));
            }
        }
    }
    assert!(edges > 0);
    assert_eq!(edges, c.summary().supersedence_edges);
}

#[test]
fn bundles_carry_leaves_that_are_not_explicitly_deployable() {
    let c = Catalog::generate(&CatalogConfig::new(3_000, 5)).unwrap();
    let docs = parsed(&c);
    let by_id: HashMap<(Uuid, i32), &ParsedUpdate> =
        docs.iter().map(|(d, p)| ((d.update_id, d.revision_number), p)).collect();
    let mut bundles = 0;
    let mut alternatives = 0;
    let mut children_seen = HashSet::new();
    for (d, p) in &docs {
        let u = &p.update;
        match d.kind {
            DocumentKind::Bundle => {
                bundles += 1;
                assert!(u.properties.explicitly_deployable);
                assert!(u.properties.max_download_size.is_some());
                // Products and classifications as categories on the bundle.
                let cats: Vec<_> = u.category_ids().collect();
                assert_eq!(cats.len(), 2, "{}", d.file_name());
                for slot in &u.relationships.bundled_updates {
                    alternatives += (slot.len() > 1) as usize;
                    for b in slot {
                        let child = by_id[&(b.update_id, b.revision_number.unwrap())];
                        assert!(!child.update.properties.explicitly_deployable);
                        assert!(!child.update.files.is_empty());
                        assert!(matches!(child.update.handler, Some(HandlerData::CommandLine(_))));
                        // A leaf inside a bundle names its product in a plain group only.
                        assert_eq!(child.update.category_ids().count(), 0);
                        children_seen.insert(b.update_id);
                    }
                }
            }
            DocumentKind::Standalone => {
                assert!(u.properties.explicitly_deployable);
                assert_eq!(u.category_ids().count(), 2);
            }
            DocumentKind::BundledUpdate => assert!(!u.properties.explicitly_deployable),
            _ => {}
        }
    }
    assert!(bundles > 50 && alternatives > 0, "{bundles} bundles, {alternatives} AtLeastOne slots");
    assert_eq!(children_seen.len(), c.summary().updates.get(DocumentKind::BundledUpdate), "every leaf is in a bundle");
}

#[test]
fn the_mix_of_kinds_is_as_intended() {
    let c = Catalog::generate(&CatalogConfig::new(20_000, 3)).unwrap();
    let s = c.summary();
    println!("{}", c.manifest_json(None));
    let share = |k| s.documents.get(k) as f64 / s.revisions as f64;
    assert!((0.065..0.075).contains(&share(DocumentKind::Detectoid)), "{}", share(DocumentKind::Detectoid));
    assert_eq!(s.documents.get(DocumentKind::Classification), 11);
    assert_eq!(s.updates.get(DocumentKind::Product), 28);
    assert!(s.updates.get(DocumentKind::Company) >= 2);
    assert!(share(DocumentKind::BundledUpdate) > 0.25, "{}", share(DocumentKind::BundledUpdate));
    assert!(share(DocumentKind::Bundle) > 0.15, "{}", share(DocumentKind::Bundle));
    assert!(share(DocumentKind::Standalone) > 0.2, "{}", share(DocumentKind::Standalone));
    // Older revisions: the real Windows 11 product had 3.4%.
    let later = s.later_revisions as f64 / s.revisions as f64;
    assert!((0.015..0.06).contains(&later), "{later}");
    assert!(s.expired_revisions > 0);
    // Cumulative series give the long supersedence lists of the real catalog (26.3 edges per
    // section for Windows 11); chains pull the mean down over a whole catalog.
    let per_section = s.supersedence_edges as f64 / s.superseding_documents as f64;
    assert!((4.0..30.0).contains(&per_section), "{per_section}");
    let classes: Vec<&str> = s.top_level_by_classification.iter().map(|x| x.0).collect();
    for want in ["Security Updates", "Critical Updates", "Definition Updates", "Updates", "Upgrades"] {
        assert!(classes.contains(&want), "{classes:?}");
    }
    assert_eq!(
        s.listed_updates,
        s.updates.total()
            - 11
            - s.updates.get(DocumentKind::Product)
            - s.updates.get(DocumentKind::ProductFamily)
            - s.updates.get(DocumentKind::Company)
    );
}

fn percentile(v: &mut [usize], p: f64) -> usize {
    v.sort_unstable();
    v[((v.len() - 1) as f64 * p) as usize]
}

/// Prints the measured distributions (run with --nocapture to see them) and keeps them in the
/// ranges the crate documentation claims.
#[test]
fn distribution_matches_the_real_catalog() {
    let c = Catalog::generate(&CatalogConfig::new(10_000, 2026)).unwrap();
    let mut core = Vec::new();
    let mut doc = Vec::new();
    let mut by_kind: HashMap<DocumentKind, Vec<usize>> = HashMap::new();
    let mut core_by_kind: HashMap<DocumentKind, Vec<usize>> = HashMap::new();
    let mut sections: HashMap<DocumentKind, (usize, usize)> = HashMap::new();
    for (d, p) in parsed(&c) {
        core.push(p.fragments.core.len());
        doc.push(d.xml.len());
        by_kind.entry(d.kind).or_default().push(d.xml.len());
        core_by_kind.entry(d.kind).or_default().push(p.fragments.core.len());
        let sup = p.update.relationships.superseded_updates.len();
        if sup > 0 {
            let e = sections.entry(d.kind).or_default();
            e.0 += 1;
            e.1 += sup;
        }
    }
    let (core_p50, core_p99) = (percentile(&mut core, 0.5), percentile(&mut core, 0.99));
    let (doc_p50, doc_p99, doc_max) =
        (percentile(&mut doc, 0.5), percentile(&mut doc, 0.99), percentile(&mut doc, 1.0));
    println!("core fragment p50 {core_p50} p99 {core_p99}; document p50 {doc_p50} p99 {doc_p99} max {doc_max}");
    for k in DocumentKind::ALL {
        if let Some(v) = by_kind.get_mut(&k) {
            let cv = core_by_kind.get_mut(&k).unwrap();
            let (sec, edges) = sections.get(&k).copied().unwrap_or_default();
            println!(
                "{:>15}: {:>6} docs, p50 {:>6} B, max {:>7} B; core p50 {:>5} B; {sec} superseding, {:.1} edges each",
                k.as_str(),
                v.len(),
                percentile(v, 0.5),
                percentile(v, 1.0),
                percentile(cv, 0.5),
                edges as f64 / sec.max(1) as f64
            );
        }
    }
    let s = c.summary();
    println!(
        "edges/section {:.1}, later revisions {:.2}%, files {}, mean file {:.1} MB",
        s.supersedence_edges as f64 / s.superseding_documents as f64,
        100.0 * s.later_revisions as f64 / s.revisions as f64,
        s.files,
        s.file_bytes as f64 / s.files as f64 / 1e6
    );
    assert!((400..1_200).contains(&core_p50), "{core_p50}");
    // The real Windows 11 product (5,253 revisions, 70% of them detectoids): median core
    // fragment 563 bytes. The same mix here lands close to it.
    let mut w11 = CatalogConfig::new(5_253, 11);
    w11.detectoid_share = 0.7;
    let w11 = Catalog::generate(&w11).unwrap();
    let mut core: Vec<usize> = parsed(&w11).iter().map(|(_, p)| p.fragments.core.len()).collect();
    let w11_p50 = percentile(&mut core, 0.5);
    println!("Windows 11-like mix (70% detectoids): core fragment p50 {w11_p50}");
    assert!((350..800).contains(&w11_p50), "{w11_p50}");
    assert!(doc_max < sluice_metadata::MAX_DOCUMENT_BYTES);
}

#[test]
fn writes_a_directory_of_documents_and_a_manifest() {
    let c = Catalog::generate(&CatalogConfig::new(300, 9)).unwrap();
    let dir = std::env::temp_dir().join(format!("sluice-catgen-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let report = c.write_to_dir(&dir).unwrap();
    assert_eq!(report.documents, 300);
    let mut names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names.len(), 301);
    assert!(names.contains(&"manifest.json".to_string()));
    let first = c.document(0);
    assert_eq!(std::fs::read_to_string(dir.join(first.file_name())).unwrap(), first.xml);
    let total: u64 =
        names.iter().filter(|n| n.ends_with(".xml")).map(|n| std::fs::metadata(dir.join(n)).unwrap().len()).sum();
    assert_eq!(total, report.bytes);
    let manifest = std::fs::read_to_string(&report.manifest).unwrap();
    assert!(manifest.contains("\"seed\": 9") && manifest.contains("\"revisions\": 300"), "{manifest}");
    assert!(manifest.contains(&format!("\"document_bytes\": {}", report.bytes)));
    // A second catalog never lands on top of the first.
    assert!(matches!(c.write_to_dir(&dir), Err(CatgenError::DirectoryNotEmpty(_))));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `cargo test -p sluice-catgen --release -- --ignored --nocapture generation_speed`;
/// `CATGEN_BENCH_DIR` chooses where the files go (file creation, not rendering, bounds the
/// write rate on most disks).
#[test]
#[ignore]
fn generation_speed() {
    for n in [10_000, 100_000] {
        let t = std::time::Instant::now();
        let c = Catalog::generate(&CatalogConfig::new(n, 1)).unwrap();
        let planned = t.elapsed();
        let mut buf = String::new();
        let mut bytes = 0usize;
        for i in 0..c.len() {
            c.render_into(i, &mut buf);
            bytes += buf.len();
        }
        let total = t.elapsed();
        println!(
            "{n} revisions: plan {:?}, plan+render {:?} = {:.0} docs/s single-threaded, {:.1} MB",
            planned,
            total,
            n as f64 / total.as_secs_f64(),
            bytes as f64 / 1e6
        );
        let base =
            std::env::var_os("CATGEN_BENCH_DIR").map(std::path::PathBuf::from).unwrap_or_else(std::env::temp_dir);
        let dir = base.join(format!("sluice-catgen-speed-{n}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let t = std::time::Instant::now();
        c.write_to_dir(&dir).unwrap();
        let w = t.elapsed();
        println!("{n} revisions: write_to_dir {:?} = {:.0} docs/s", w, n as f64 / w.as_secs_f64());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
