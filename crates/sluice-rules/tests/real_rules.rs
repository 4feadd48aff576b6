//! Every applicability rule in the real captures parses without unsupported or malformed
//! expressions; document and fragment spellings of the same rules parse to the same trees;
//! and the real Defender engine rules give the expected answers on hand-made machines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use sluice_rules::*;
use sluice_xml::{Element, Node};
use uuid::Uuid;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files_named(dir: &Path, pred: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            files_named(&p, pred, out);
        } else if pred(&p) {
            out.push(p);
        }
    }
}

fn docs() -> Vec<(String, sluice_metadata::Update)> {
    let mut paths = Vec::new();
    files_named(&repo().join("tests/fixtures/wsus-rs/docs"), &|p| p.extension().is_some_and(|e| e == "xml"), &mut paths);
    assert!(paths.len() >= 9, "expected the nine real update documents");
    paths
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let parsed = sluice_metadata::parse_update_bytes(&std::fs::read(&p).unwrap(), &name).unwrap();
            (name, parsed.update)
        })
        .collect()
}

fn leaf_names(rules: &UpdateRules, into: &mut BTreeSet<String>) {
    for e in [&rules.is_installed, &rules.is_installable, &rules.is_superseded].into_iter().flatten() {
        e.walk(&mut |x| {
            into.insert(x.name().to_string());
        });
    }
}

fn assert_clean(what: &str, rules: &UpdateRules) {
    for (slot, e) in [("IsInstalled", &rules.is_installed), ("IsInstallable", &rules.is_installable), ("IsSuperseded", &rules.is_superseded)] {
        if let Some(e) = e {
            let p = e.problems();
            assert!(p.is_empty(), "{what} {slot}: {p:?}");
        }
    }
}

#[test]
fn every_rule_in_the_real_documents_parses() {
    let mut names = BTreeSet::new();
    let mut rules_seen = 0;
    for (name, u) in docs() {
        let rules = UpdateRules::from_metadata(&u.rules);
        assert_clean(&name, &rules);
        rules_seen += [&rules.is_installed, &rules.is_installable, &rules.is_superseded].iter().filter(|r| r.is_some()).count();
        leaf_names(&rules, &mut names);
    }
    assert!(rules_seen >= 9, "{rules_seen}");
    for want in ["FileVersionPrependRegSz", "RegDword", "RegValueExists", "LicenseDword", "WindowsVersion", "And", "Or", "Not", "True"] {
        assert!(names.contains(want), "{want} not seen in {names:?}");
    }
}

fn element_children(el: &Element) -> impl Iterator<Item = &Element> {
    el.children.iter().filter_map(|n| match n {
        Node::Element(e) => Some(e),
        Node::Text(_) => None,
    })
}

/// The Core fragments of every `UpdateInfo` in a SOAP body.
fn core_fragments(el: &Element, out: &mut Vec<String>) {
    if el.local == "UpdateInfo"
        && let Some(x) = element_children(el).find(|c| c.local == "Xml")
    {
        out.push(x.text());
    }
    for c in element_children(el) {
        core_fragments(c, out);
    }
}

fn fragments_under(dir: &Path) -> Vec<(String, String)> {
    let mut bodies = Vec::new();
    files_named(dir, &|p| p.file_name().is_some_and(|n| n == "response.body"), &mut bodies);
    let mut out = Vec::new();
    for b in bodies {
        let text = std::fs::read_to_string(&b).unwrap();
        let Ok(root) = sluice_xml::parse(&text, &b.to_string_lossy()) else { continue };
        let mut frags = Vec::new();
        core_fragments(&root, &mut frags);
        out.extend(frags.into_iter().map(|f| (b.display().to_string(), f)));
    }
    out
}

fn check_fragments(frags: &[(String, String)]) -> (usize, BTreeSet<String>) {
    let mut names = BTreeSet::new();
    let mut with_rules = 0;
    for (file, xml) in frags {
        let core = parse_core_fragment(xml).unwrap_or_else(|e| panic!("{file}: {e}\n{xml}"));
        assert_clean(&format!("{file} {}", core.update_id), &core.rules);
        if core.rules.is_installed.is_some() || core.rules.is_installable.is_some() {
            with_rules += 1;
        }
        leaf_names(&core.rules, &mut names);
    }
    (with_rules, names)
}

#[test]
fn every_rule_in_the_captured_core_fragments_parses() {
    let frags = fragments_under(&repo().join("tests/fixtures/wsus-native"));
    assert!(frags.len() >= 180, "only {} fragments found", frags.len());
    let (with_rules, names) = check_fragments(&frags);
    assert!(with_rules >= 170, "{with_rules}");
    // Every operator the captures use (as listed by a plain-text scan of the fixtures).
    for want in [
        "And", "Or", "Not", "True", "FileExists", "FileExistsPrependRegSz", "FileVersion", "FileVersionPrependRegSz",
        "LicenseDword", "MuiInstalled", "Processor", "RegDword", "RegExpandSz", "RegKeyExists", "RegSz", "RegSzToVersion",
        "RegValueExists", "WindowsLanguage", "WindowsVersion", "WmiQuery", "MsiProductInstalled",
    ] {
        assert!(names.contains(want), "{want} not seen in {names:?}");
    }
}

/// The project's read-only reference copy of the same captures (and more: the Windows 11
/// catalog pages, the wsusss exchanges). Present on development machines; skipped elsewhere.
#[test]
fn every_rule_in_the_shared_reference_captures_parses() {
    let shared = repo().join("../shared/fixtures/wsus-rs");
    if !shared.is_dir() {
        eprintln!("skipped: {} not present", shared.display());
        return;
    }
    let frags = fragments_under(&shared);
    let (with_rules, names) = check_fragments(&frags);
    assert!(with_rules >= 170, "{with_rules}");
    let mut cores = Vec::new();
    files_named(&shared, &|p| p.file_name().is_some_and(|n| n.to_string_lossy().contains("core") && n.to_string_lossy().ends_with(".xml")), &mut cores);
    let core_frags: Vec<(String, String)> = cores.iter().map(|p| (p.display().to_string(), std::fs::read_to_string(p).unwrap())).collect();
    assert!(core_frags.len() >= 3);
    let (_, core_names) = check_fragments(&core_frags);
    for want in ["CbsPackageInstalled", "CbsPackageInstallable", "ProductReleaseInstalled", "DeviceAttribute", "RegKeyExists"] {
        assert!(names.contains(want) || core_names.contains(want), "{want} not seen");
    }
}

#[test]
fn windows_servicing_fragments_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wsus-m0-cbs");
    let read = |n: &str| std::fs::read_to_string(dir.join(n)).unwrap();

    let rollup = parse_core_fragment(&read("cbs-rollupfix-core-reduced.xml")).unwrap();
    assert_clean("rollupfix", &rollup.rules);
    let id = rollup.rules.metadata.cbs_package.as_ref().expect("assemblyIdentity");
    assert_eq!(id.to_string(), "Package_for_RollupFix~31bf3856ad364e35~arm64~~22000.1936.1.9");
    assert!(matches!(rollup.rules.is_installable, Some(Expr::Leaf(Leaf::CbsPackageInstallable))));

    let dotnet = parse_core_fragment(&read("cbs-dotnet-core-reduced.xml")).unwrap();
    assert_clean("dotnet", &dotnet.rules);
    assert_eq!(dotnet.rules.metadata.cbs_package.as_ref().unwrap().name, "Package_for_DotNetRollup_481");
    assert_eq!(dotnet.update_id, "f1ff1e3d-dd47-4fcb-9405-8f7275ce1ea6".parse::<Uuid>().unwrap());
    assert_eq!(dotnet.prerequisites.len(), 4);

    let os = parse_core_fragment(&read("osinstaller-core.xml")).unwrap();
    assert_clean("osinstaller", &os.rules);
    let mut names = BTreeSet::new();
    leaf_names(&os.rules, &mut names);
    assert!(names.contains("ProductReleaseInstalled") && names.contains("DeviceAttribute"), "{names:?}");

    // The RollupFix on an arm64 Windows 11 21H2 machine that has it installed, with the
    // LCUReoffer flag unset: installed. With the flag set it is reoffered.
    let machine = |reoffer: bool| -> Machine {
        let mut m: Machine = toml::from_str(
            r#"
            architecture = "arm64"
            [[cbs_packages]]
            identity = "Package_for_RollupFix~31bf3856ad364e35~arm64~~22000.1936.1.9"
            state = "Installed"
            applicable = true
            [registry.'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing']
            "#,
        )
        .unwrap();
        if reoffer {
            m.registry.as_mut().unwrap().values_mut().next().unwrap().insert("LCUReoffer".into(), RegValue::Dword(1));
        }
        m
    };
    assert_eq!(applicability(&rollup.rules, &machine(false)), Applicability::Installed);
    assert_eq!(applicability(&rollup.rules, &machine(true)), Applicability::Needed);

    // The OS installer update on a Windows 11 22H2 Pro (SKU 48) arm64 machine.
    let mut m: Machine = toml::from_str(
        r#"
        architecture = "arm64"
        [os]
        major = 10
        minor = 0
        build = 22621
        revision = 4000
        sku = 48
        [[product_releases]]
        name = "Client.OS.RS2.ARM64"
        version = "10.0.22621.4000"
        [device_attributes]
        "#,
    )
    .unwrap();
    let ev = Evaluator::new(&m);
    assert_eq!(ev.is_installed(&os.rules), Truth::False);
    // SKU 48 is in neither allow-list (4, 188, 27, 72, 121, 122, 175, 136): not installable.
    assert_eq!(ev.applicability(&os.rules), Applicability::NotApplicable);
    m.os.as_mut().unwrap().sku = Some(4);
    m.device_attributes.as_mut().unwrap().insert("sku".into(), "4".into());
    assert_eq!(Evaluator::new(&m).applicability(&os.rules), Applicability::Needed);
    m.product_releases.as_mut().unwrap()[0].version = "10.0.22621.5909".into();
    assert_eq!(Evaluator::new(&m).applicability(&os.rules), Applicability::Installed);
}

#[test]
fn document_and_fragment_spellings_parse_to_the_same_rules() {
    let refs = repo().join("tests/fixtures/wsus-rs/wusp-reference");
    let mut compared = 0;
    for (name, u) in docs() {
        let core_path = refs.join(name.replace(".xml", ".core.xml"));
        let Ok(core) = std::fs::read_to_string(&core_path) else { continue };
        let from_doc = UpdateRules::from_metadata(&u.rules);
        let from_frag = parse_core_fragment(&core).unwrap().rules;
        assert_eq!(from_doc, from_frag, "{name}");
        compared += 1;
    }
    assert!(compared >= 5, "{compared}");
}

// -------------------------------------------------------------------------------------------------
// The real Defender engine update (ff36f0b5 "AM Engine 1.1.26080.3 for Defender amd64fre Broad").

const ENGINE: &str = "ff36f0b5-dded-4780-8664-cd78af8b62c1";

fn engine() -> sluice_metadata::Update {
    docs().into_iter().find(|(n, _)| n.starts_with("ff36f0b5")).unwrap().1
}

const SIGS: &str = r"C:\ProgramData\Microsoft\Windows Defender\Definition Updates\{5C7F1D4A-0000-4000-8000-00000000A1B2}";
const PLATFORM: &str = r"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.25070.5-0";

/// A Windows 11 machine running Defender with the given engine and signature versions, and
/// extra registry values under `SOFTWARE\Microsoft\Windows Defender\<subkey>`.
fn defender(engine: &str, signatures: &str, extra: &[(&str, &str, RegValue)]) -> Machine {
    let mut m: Machine = toml::from_str(&format!(
        r#"
        architecture = "x64"
        [os]
        major = 10
        minor = 0
        build = 26100
        [license_dwords]
        [[files]]
        path = '{SIGS}\mpengine.dll'
        version = "{engine}"
        [[files]]
        path = '{SIGS}\mpasdlta.vdm'
        version = "{signatures}"
        [[files]]
        path = '{SIGS}\mpavdlta.vdm'
        version = "{signatures}"
        [[files]]
        path = '{PLATFORM}\MpClient.dll'
        version = "4.18.25070.5"
        [registry.'HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows Defender']
        InstallLocation = {{ type = "REG_SZ", data = '{PLATFORM}\' }}
        [registry.'HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows Defender\Signature Updates']
        SignatureLocation = {{ type = "REG_SZ", data = '{SIGS}' }}
        "#
    ))
    .unwrap();
    let reg = m.registry.as_mut().unwrap();
    for (sub, value, data) in extra {
        reg.entry(format!(r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows Defender\{sub}"))
            .or_default()
            .insert(value.to_string(), data.clone());
    }
    m
}

#[test]
fn defender_engine_rules_on_hand_made_machines() {
    let rules = UpdateRules::from_metadata(&engine().rules);
    let check = |m: &Machine, installed: Truth, installable: Truth, a: Applicability, why: &str| {
        let ev = Evaluator::new(m);
        assert_eq!(ev.is_installed(&rules), installed, "IsInstalled: {why}");
        assert_eq!(ev.is_installable(&rules), installable, "IsInstallable: {why}");
        assert_eq!(ev.is_superseded(&rules), Truth::False, "no IsSuperseded rule: {why}");
        assert_eq!(ev.applicability(&rules), a, "{why}");
    };
    check(
        &defender("1.1.26060.5", "1.400.0.0", &[]),
        Truth::False,
        Truth::True,
        Applicability::Needed,
        "older engine, older signatures, no ring: the engine update is needed",
    );
    check(
        &defender("1.1.26080.3", "1.400.0.0", &[]),
        Truth::True,
        Truth::True,
        Applicability::Installed,
        "this engine is installed",
    );
    check(
        &defender("1.1.26090.1", "1.400.0.0", &[]),
        Truth::True,
        Truth::True,
        Applicability::Installed,
        "a newer engine counts as installed",
    );
    check(
        &defender("1.1.26070.7", "1.400.0.0", &[]),
        Truth::False,
        Truth::False,
        Applicability::NotApplicable,
        "1.1.26070.7 is a delta base: the delta update applies, not this one",
    );
    check(
        &defender("1.1.26070.7", "1.400.0.0", &[("Miscellaneous Configuration", "DeltaUpdateFailure", RegValue::Dword(1))]),
        Truth::False,
        Truth::True,
        Applicability::Needed,
        "a failed delta makes the full engine installable again",
    );
    check(
        &defender("1.1.26080.3", "1.400.0.0", &[("Miscellaneous Configuration", "DeltaUpdateFailure", RegValue::Dword(1))]),
        Truth::False,
        Truth::True,
        Applicability::Needed,
        "after a delta failure the same engine is reinstalled",
    );
    check(
        &defender("1.1.26060.5", "1.459.8.0", &[]),
        Truth::False,
        Truth::False,
        Applicability::NotApplicable,
        "signatures at 1.459.8.0 or later carry the engine",
    );
    check(
        &defender("1.1.26060.5", "1.400.0.0", &[("MpEngine", "MpEngineRing", RegValue::Dword(2))]),
        Truth::False,
        Truth::False,
        Applicability::NotApplicable,
        "gradual release: ring 2 is not offered this engine",
    );
    check(
        &defender("1.1.26060.5", "1.400.0.0", &[("MpEngine", "MpEngineRing", RegValue::Dword(5))]),
        Truth::False,
        Truth::True,
        Applicability::Needed,
        "gradual release: ring 5 is",
    );
    check(
        &defender(
            "1.1.26060.5",
            "1.400.0.0",
            &[("MpEngine", "MpEngineRing", RegValue::Dword(2)), ("MpEngine", "DisableGradualRelease", RegValue::Dword(1))],
        ),
        Truth::False,
        Truth::True,
        Applicability::Needed,
        "gradual release disabled by policy",
    );
    // A blocked version is reported installed, so that WUA stops offering it.
    check(
        &defender(
            "1.1.26060.5",
            "1.400.0.0",
            &[("Diagnostics\\BlockedVersions\\Engine", "1.1.26080.3", RegValue::Binary(vec![1]))],
        ),
        Truth::True,
        Truth::False,
        Applicability::Installed,
        "this engine version is blocked on the machine",
    );

    // No Defender at all: the rules alone say "needed"; the prerequisites are what keep WUA
    // from offering it (see below).
    let mut bare = defender("1.1.26060.5", "1.400.0.0", &[]);
    bare.registry = Some(Registry::new());
    check(&bare, Truth::False, Truth::True, Applicability::Needed, "no Defender registry at all");

    // A model without registry or files: unknown, naming the expressions.
    let a = applicability(&rules, &Machine::default());
    let reasons = a.reasons().expect("unknown without a registry");
    let exprs: BTreeSet<&str> = reasons.iter().map(|r| r.expression.as_str()).collect();
    assert!(exprs.contains("FileVersionPrependRegSz"), "{exprs:?}");
    assert!(reasons.iter().all(|r| r.detail.contains("registry")), "{reasons:?}");
}

fn entry(id: &str, kind: UpdateKind, installed: Option<bool>) -> UpdateEntry {
    UpdateEntry {
        id: id.parse().unwrap(),
        kind,
        rules: UpdateRules { is_installed: installed.map(|b| if b { Expr::True } else { Expr::False }), ..Default::default() },
        prerequisites: Vec::new(),
        bundled: Vec::new(),
    }
}

#[test]
fn defender_engine_prerequisites_and_bundle() {
    let all = docs();
    let engine = UpdateEntry::from_update(&all.iter().find(|(n, _)| n.starts_with("ff36f0b5")).unwrap().1);
    let bundle = UpdateEntry::from_update(&all.iter().find(|(n, _)| n.starts_with("1f9bd9bb")).unwrap().1);
    assert!(bundle.bundled.contains(&ENGINE.parse().unwrap()));
    assert_eq!(engine.prerequisites.len(), 4);

    // The engine's prerequisites: three detectoids and the Defender product (a plain
    // AtLeastOne, not IsCategory).
    let detectoids = ["be4048db-157c-4532-9582-7f05099590c9", "59653007-e2e9-4f71-8525-2ff588527978", "0aac58ee-82a0-4452-a7fa-19f68398f1fa"];
    let defender_product = "8c3fcc84-7410-4a95-8b89-a166a0190486";
    // The bundle names its classification (Definition Updates) in a plain AtLeastOne too.
    let definition_updates = "e0789628-ce08-4437-be74-2495b842f43b";
    let machine = defender("1.1.26060.5", "1.400.0.0", &[]);
    let ev = Evaluator::new(&machine);

    let mut catalog: Vec<UpdateEntry> = detectoids.iter().map(|d| entry(d, UpdateKind::Detectoid, Some(true))).collect();
    catalog.push(entry(defender_product, UpdateKind::Category, None));
    catalog.push(entry(definition_updates, UpdateKind::Category, None));
    catalog.push(engine.clone());
    catalog.push(bundle.clone());
    let result = ev.evaluate_catalog(&catalog);
    assert_eq!(result[&engine.id], Applicability::Needed);
    // One child needed makes the bundle needed, whatever its 23 unevaluated siblings are.
    assert_eq!(result[&bundle.id], Applicability::Needed);

    // A detectoid says "no Defender here": the engine is not applicable, the bundle (whose
    // other children nobody evaluated) is unknown.
    catalog[0] = entry(detectoids[0], UpdateKind::Detectoid, Some(false));
    let result = ev.evaluate_catalog(&catalog);
    assert_eq!(result[&engine.id], Applicability::NotApplicable);
    let reasons = result[&bundle.id].reasons().expect("unknown bundle");
    assert!(reasons.iter().all(|r| r.expression == "BundledUpdates"), "{reasons:?}");

    // A prerequisite nobody evaluated: unknown, unless the machine history lists it.
    let mut partial = catalog.clone();
    partial.remove(0);
    let result = ev.evaluate_catalog(&partial);
    assert!(matches!(result[&engine.id], Applicability::Unknown(_)));
    let mut m2 = machine.clone();
    m2.installed_updates.push(detectoids[0].parse().unwrap());
    assert_eq!(Evaluator::new(&m2).evaluate_catalog(&partial)[&engine.id], Applicability::Needed);

    // Installed engine: the bundle is installed only once every applicable child is known.
    let installed = defender("1.1.26080.3", "1.400.0.0", &[]);
    let ev = Evaluator::new(&installed);
    let mut catalog: Vec<UpdateEntry> = detectoids.iter().map(|d| entry(d, UpdateKind::Detectoid, Some(true))).collect();
    catalog.push(entry(defender_product, UpdateKind::Category, None));
    catalog.push(entry(definition_updates, UpdateKind::Category, None));
    catalog.push(engine.clone());
    let mut small_bundle = bundle.clone();
    small_bundle.bundled = vec![engine.id];
    catalog.push(small_bundle.clone());
    let result = ev.evaluate_catalog(&catalog);
    assert_eq!(result[&engine.id], Applicability::Installed);
    assert_eq!(result[&small_bundle.id], Applicability::Installed);
}

#[test]
fn bundle_semantics() {
    let ids: Vec<Uuid> = (1..=4).map(Uuid::from_u128).collect();
    let state = |v: &[Applicability]| -> BTreeMap<Uuid, Applicability> { ids.iter().copied().zip(v.iter().cloned()).collect() };
    use Applicability::*;
    let u = || Unknown([Reason::new("X", "y")].into());
    assert_eq!(bundle_from_children(&ids, &state(&[Installed, NotApplicable, NotApplicable, Installed])), Installed);
    assert_eq!(bundle_from_children(&ids, &state(&[Installed, Needed, NotApplicable, u()])), Needed);
    assert_eq!(bundle_from_children(&ids, &state(&[NotApplicable, NotApplicable, NotApplicable, NotApplicable])), NotApplicable);
    assert!(matches!(bundle_from_children(&ids, &state(&[Installed, u(), NotApplicable, Installed])), Unknown(_)));
    assert!(matches!(bundle_from_children(&ids, &state(&[Installed, Installed, Installed])), Unknown(_)));

    // The bundle's own IsInstallable gates it.
    let m = Machine::default();
    let ev = Evaluator::new(&m);
    let gated = UpdateRules { is_installable: Some(Expr::False), ..Default::default() };
    assert_eq!(ev.bundle_applicability(&gated, &ids, &state(&[Needed])), NotApplicable);
    let unknown_gate = UpdateRules { is_installable: Some(Expr::Unsupported { namespace: String::new(), name: "Q".into() }), ..Default::default() };
    assert!(matches!(ev.bundle_applicability(&unknown_gate, &ids, &state(&[Needed])), Unknown(_)));
    assert_eq!(ev.bundle_applicability(&unknown_gate, &ids, &state(&[NotApplicable, NotApplicable, NotApplicable, NotApplicable])), NotApplicable);

    // Prerequisite gate.
    assert_eq!(with_prerequisites(Needed, Truth::False), NotApplicable);
    assert_eq!(with_prerequisites(NotApplicable, Truth::unknown("P", "q")), NotApplicable);
    assert!(matches!(with_prerequisites(Installed, Truth::unknown("P", "q")), Unknown(_)));

    // Category clauses always hold; cycles are reported, not looped on.
    let a = Uuid::from_u128(10);
    let b = Uuid::from_u128(11);
    let mut ea = entry(&a.to_string(), UpdateKind::Software, None);
    let mut eb = entry(&b.to_string(), UpdateKind::Software, None);
    ea.prerequisites = vec![Prerequisite { members: vec![b], is_category: false }, Prerequisite { members: vec![Uuid::from_u128(99)], is_category: true }];
    eb.prerequisites = vec![Prerequisite { members: vec![a], is_category: false }];
    let r = ev.evaluate_catalog(&[ea, eb]);
    assert!(r.values().all(|x| x.reasons().is_some_and(|rs| rs.iter().any(|r| r.detail.contains("cycle")))), "{r:?}");
}
