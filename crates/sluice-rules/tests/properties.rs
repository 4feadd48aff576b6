//! Property tests: Kleene laws, version order, and fuzz-style random rules (both spellings)
//! that must parse and evaluate without panicking, with the two spellings agreeing.

mod common;

use proptest::prelude::*;
use sluice_rules::*;

// -------------------------------------------------------------------------------------------------
// Three-valued logic

fn arb_truth() -> impl Strategy<Value = Truth> {
    prop_oneof![
        Just(Truth::True),
        Just(Truth::False),
        proptest::collection::btree_set(0u8..4, 1..3).prop_map(|s| {
            Truth::Unknown(s.into_iter().map(|i| Reason::new(format!("E{i}"), "why")).collect())
        }),
    ]
}

proptest! {
    #[test]
    fn double_negation(x in arb_truth()) {
        prop_assert_eq!(!!x.clone(), x);
    }

    #[test]
    fn kleene_laws(a in arb_truth(), b in arb_truth(), c in arb_truth()) {
        // Commutative, associative.
        prop_assert_eq!(a.clone().and(b.clone()), b.clone().and(a.clone()));
        prop_assert_eq!(a.clone().or(b.clone()), b.clone().or(a.clone()));
        prop_assert_eq!(a.clone().and(b.clone()).and(c.clone()), a.clone().and(b.clone().and(c.clone())));
        prop_assert_eq!(a.clone().or(b.clone()).or(c.clone()), a.clone().or(b.clone().or(c.clone())));
        // De Morgan.
        prop_assert_eq!(!(a.clone().and(b.clone())), (!a.clone()).or(!b.clone()));
        prop_assert_eq!(!(a.clone().or(b.clone())), (!a.clone()).and(!b.clone()));
        // Identities and annihilators: false AND unknown = false, true OR unknown = true.
        prop_assert_eq!(Truth::True.and(a.clone()), a.clone());
        prop_assert_eq!(Truth::False.or(a.clone()), a.clone());
        prop_assert_eq!(Truth::False.and(a.clone()), Truth::False);
        prop_assert_eq!(Truth::True.or(a.clone()), Truth::True);
        // Distributive (Kleene algebras are De Morgan lattices).
        prop_assert_eq!(
            a.clone().and(b.clone().or(c.clone())).as_bool(),
            a.clone().and(b.clone()).or(a.clone().and(c.clone())).as_bool()
        );
        // Decided values behave as booleans.
        if let (Some(x), Some(y)) = (a.as_bool(), b.as_bool()) {
            prop_assert_eq!(a.clone().and(b.clone()).as_bool(), Some(x && y));
            prop_assert_eq!(a.clone().or(b.clone()).as_bool(), Some(x || y));
        }
    }

    #[test]
    fn all_and_any_fold(v in proptest::collection::vec(arb_truth(), 0..6)) {
        let folded_and = v.iter().cloned().fold(Truth::True, Truth::and);
        let folded_or = v.iter().cloned().fold(Truth::False, Truth::or);
        // Short-circuiting may drop reasons of later unknowns, never change the value.
        prop_assert_eq!(Truth::all(v.clone()).as_bool(), folded_and.as_bool());
        prop_assert_eq!(Truth::any(v.clone()).as_bool(), folded_or.as_bool());
    }
}

// -------------------------------------------------------------------------------------------------
// Versions

fn arb_parts() -> impl Strategy<Value = Vec<u32>> {
    proptest::collection::vec(prop_oneof![0u32..20, any::<u32>()], 1..=4)
}

proptest! {
    #[test]
    fn version_round_trip_and_numeric_order(a in arb_parts(), b in arb_parts()) {
        let text = |p: &[u32]| p.iter().map(u32::to_string).collect::<Vec<_>>().join(".");
        let pad = |p: &[u32]| { let mut q = p.to_vec(); q.resize(4, 0); q };
        let va = Version::parse(&text(&a)).unwrap();
        let vb = Version::parse(&text(&b)).unwrap();
        prop_assert_eq!(Version::parse(&va.to_string()).unwrap(), va);
        prop_assert_eq!(va.parts().to_vec(), pad(&a));
        // The order is the numeric order of the padded parts (never the text order).
        prop_assert_eq!(va.cmp(&vb), pad(&a).cmp(&pad(&b)));
        prop_assert_eq!(va.cmp(&vb), vb.cmp(&va).reverse());
        // Leading zeros do not matter.
        let zeros = a.iter().map(|n| format!("00{n}")).collect::<Vec<_>>().join(".");
        prop_assert_eq!(Version::parse(&zeros).unwrap(), va);
    }

    #[test]
    fn version_order_is_transitive(a in arb_parts(), b in arb_parts(), c in arb_parts()) {
        let v = |p: &[u32]| Version::parse(&p.iter().map(u32::to_string).collect::<Vec<_>>().join(".")).unwrap();
        let (x, y, z) = (v(&a), v(&b), v(&c));
        if x <= y && y <= z {
            prop_assert!(x <= z);
        }
    }

    #[test]
    fn version_parse_never_panics(s in ".{0,24}") {
        let _ = Version::parse(&s);
        let _ = Timestamp::parse(&s);
    }
}

#[test]
fn version_parse_rejects_junk() {
    for bad in ["", ".", "1.", ".1", "1.2.3.4.5", "1.-2", "a.b", "1 .2", "99999999999", "+1"] {
        assert!(Version::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(Version::parse(" 6.00 ").unwrap(), Version::new(6, 0, 0, 0));
    assert!(Version::parse("1.10").unwrap() > Version::parse("1.9").unwrap());
}

// -------------------------------------------------------------------------------------------------
// Random rules

/// A rule element before serialisation: fragment-form name, attributes, text, children.
#[derive(Debug, Clone)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    text: Option<String>,
    children: Vec<Node>,
}

const LEAF_NAMES: &[&str] = &[
    "True", "False", "b.WindowsVersion", "b.PlatformVersion", "b.Platform", "b.Processor", "b.NumberOfProcessors",
    "b.WindowsLanguage", "b.MuiInstalled", "b.SystemMetric", "b.RegKeyExists", "b.RegValueExists", "b.RegDword",
    "b.RegQword", "b.RegSz", "b.RegExpandSz", "b.RegSzToVersion", "b.WUv4RegKeySubstring", "b.WUv4RegKeyValue",
    "b.FileExists", "b.FileExistsPrependRegSz", "b.FileVersion", "b.FileVersionPrependRegSz", "b.FileSize",
    "b.FileSizePrependRegSz", "b.FileCreated", "b.FileCreatedPrependRegSz", "b.FileModified", "b.FileModifiedPrependRegSz",
    "b.WmiQuery", "b.LicenseDword", "b.ClusteredOS", "b.ClusterResourceOwner", "b.Direct3D", "b.Memory", "b.VideoMemory",
    "b.SensorById", "b.NFC", "b.Camera", "b.InstalledOnce", "b.GenericQuery", "m.MsiProductInstalled",
    "m.MsiPatchInstalledForProduct", "m.MsiPatchInstalled", "m.MsiPatchSuperseded", "m.MsiPatchInstallable",
    "m.MsiApplicationInstalled", "CbsPackageInstalled", "CbsPackageInstallable", "CbsPackageInstalledByIdentity",
    "d.WindowsDriverInstalled", "d.WindowsDriverInstallable", "d.WindowsDriverSuperseded", "ProductReleaseInstalled",
    "ProductReleaseVersion", "DeviceAttribute", "b.Unheard", "Zorg",
];

const ATTR_NAMES: &[&str] = &[
    "Key", "Subkey", "Value", "Data", "Comparison", "Version", "Path", "Csidl", "Type", "RegType32", "MajorVersion",
    "MinorVersion", "BuildNumber", "ProductType", "SuiteMask", "AllSuitesMustBePresent", "Architecture", "Language",
    "Index", "WqlQuery", "Namespace", "ProductCode", "PatchCode", "VersionMin", "VersionMax", "ExcludeVersionMax",
    "PackageIdentity", "Name", "Size", "Created", "Modified", "PlatformID", "Number", "MinSizeInMB", "Id",
];

const ATTR_VALUES: &[&str] = &[
    "HKEY_LOCAL_MACHINE", "HKEY_LOOP_TARGET", "HKLM", "SOFTWARE\\Test", "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall",
    "\\", "", "D", "S", "V", "5", "-1", "0", "4294967296", "99999999999999999999", "EqualTo", "LessThan", "GreaterThanOrEqualTo",
    "Contains", "BeginsWith", "Bogus", "1.2.3.4", "10.0.22621.0", "1.2.3.4.5", "true", "false", "maybe", "Any", "All", "None",
    "ntoskrnl.exe", "37", "38", "REG_SZ", "REG_DWORD", "{0C524D20-041A-0080-8A9E-0C4C490E4E54}", "de", "OSVersion", "Version",
    "2025-01-01T00:00:00Z", "not a date", "Package_for_RollupFix~31bf3856ad364e35~amd64~~22621.4460.1.9", "<&\"'>", "é\u{1F600}",
];

fn arb_value() -> impl Strategy<Value = String> {
    prop_oneof![4 => proptest::sample::select(ATTR_VALUES).prop_map(str::to_string), 1 => "\\PC{0,12}"]
}

fn arb_leaf() -> impl Strategy<Value = Node> {
    (
        proptest::sample::select(LEAF_NAMES),
        proptest::collection::btree_map(proptest::sample::select(ATTR_NAMES), arb_value(), 0..6),
    )
        .prop_map(|(name, attrs)| Node {
            name: name.to_string(),
            attrs: attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            text: None,
            children: Vec::new(),
        })
}

fn arb_rule() -> impl Strategy<Value = Node> {
    arb_leaf().prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(|c| Node { name: "And".into(), attrs: vec![], text: None, children: c }),
            proptest::collection::vec(inner.clone(), 0..4).prop_map(|c| Node { name: "Or".into(), attrs: vec![], text: None, children: c }),
            proptest::collection::vec(inner.clone(), 0..3).prop_map(|c| Node { name: "Not".into(), attrs: vec![], text: None, children: c }),
            (proptest::sample::select(&["Any", "All", "None", "Sometimes"][..]), proptest::collection::vec(inner.clone(), 0..2), any::<bool>())
                .prop_map(|(t, c, deep)| Node {
                    name: "b.RegKeyLoop".into(),
                    attrs: vec![
                        ("Key".into(), if deep { "HKEY_LOOP_TARGET" } else { "HKEY_LOCAL_MACHINE" }.into()),
                        ("Subkey".into(), if deep { "" } else { "SOFTWARE\\Microsoft\\Windows\\CurrentVersion" }.into()),
                        ("TrueIf".into(), t.into()),
                    ],
                    text: None,
                    children: c,
                }),
            (any::<bool>(), proptest::collection::vec(arb_value(), 0..3), proptest::collection::vec(arb_value(), 0..2)).prop_map(
                |(features, items, products)| {
                    let (outer, item) = if features {
                        ("m.MsiFeatureInstalledForProduct", "m.Feature")
                    } else {
                        ("m.MsiComponentInstalledForProduct", "m.Component")
                    };
                    let mut children: Vec<Node> =
                        items.into_iter().map(|t| Node { name: item.into(), attrs: vec![], text: Some(t), children: vec![] }).collect();
                    children.extend(products.into_iter().map(|t| Node { name: "m.Product".into(), attrs: vec![], text: Some(t), children: vec![] }));
                    Node { name: outer.into(), attrs: vec![("AllProductsRequired".into(), "true".into())], text: None, children }
                }
            ),
        ]
    })
}

fn esc(s: &str) -> String {
    let mut out = String::new();
    sluice_xml::escape_attr(s, &mut out);
    out
}

/// Fragment spelling: pseudo-prefixed names, no namespaces.
fn fragment_xml(n: &Node, out: &mut String) {
    out.push('<');
    out.push_str(&n.name);
    for (k, v) in &n.attrs {
        out.push_str(&format!(" {k}=\"{}\"", esc(v)));
    }
    out.push('>');
    if let Some(t) = &n.text {
        sluice_xml::escape_text(t, out);
    }
    for c in &n.children {
        fragment_xml(c, out);
    }
    out.push_str(&format!("</{}>", n.name));
}

const LOGICAL: &[&str] = &["And", "Or", "Not", "True", "False"];

/// Document spelling: real namespaces (declared once on the root), the way MU writes them.
fn document_xml(n: &Node, out: &mut String, root: bool) {
    let name = if let Some(l) = n.name.strip_prefix("b.") {
        format!("bar:{l}")
    } else if let Some(l) = n.name.strip_prefix("m.") {
        format!("msiar:{l}")
    } else if let Some(l) = n.name.strip_prefix("d.") {
        format!("drv:{l}")
    } else if LOGICAL.contains(&n.name.as_str()) {
        format!("lar:{}", n.name)
    } else if n.name.starts_with("ProductRelease") || n.name == "DeviceAttribute" {
        format!("upd:{}", n.name)
    } else {
        format!("cbsar:{}", n.name)
    };
    out.push('<');
    out.push_str(&name);
    if root {
        out.push_str(&format!(
            " xmlns:bar=\"{}\" xmlns:lar=\"{}\" xmlns:msiar=\"{}\" xmlns:drv=\"{}\" xmlns:cbsar=\"{}\" xmlns:upd=\"{}\"",
            ns::BAR,
            ns::LAR,
            ns::MSIAR,
            ns::DRIVER,
            ns::CBSAR,
            ns::UPDATE
        ));
    }
    for (k, v) in &n.attrs {
        out.push_str(&format!(" {k}=\"{}\"", esc(v)));
    }
    out.push('>');
    if let Some(t) = &n.text {
        sluice_xml::escape_text(t, out);
    }
    for c in &n.children {
        document_xml(c, out, false);
    }
    out.push_str(&format!("</{name}>"));
}

/// Unsupported nodes report the namespace they came from, which differs by spelling.
fn without_namespaces(e: &Expr) -> Expr {
    match e {
        Expr::And(v) => Expr::And(v.iter().map(without_namespaces).collect()),
        Expr::Or(v) => Expr::Or(v.iter().map(without_namespaces).collect()),
        Expr::Not(b) => Expr::Not(Box::new(without_namespaces(b))),
        Expr::RegKeyLoop { key, true_if, body } => {
            Expr::RegKeyLoop { key: key.clone(), true_if: *true_if, body: Box::new(without_namespaces(body)) }
        }
        Expr::Unsupported { name, .. } => Expr::Unsupported { namespace: String::new(), name: name.clone() },
        other => other.clone(),
    }
}

proptest! {
    // 512 by default; PROPTEST_CASES raises it for a longer soak.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(512),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_rules_parse_alike_and_evaluate_without_panicking(rule in arb_rule()) {
        let mut frag = String::new();
        fragment_xml(&rule, &mut frag);
        let mut docx = String::new();
        document_xml(&rule, &mut docx, true);
        let f = parse_fragment_rule(&frag).expect("generated fragments are well-formed");
        let d = parse_rule(&docx).expect("generated documents are well-formed");
        prop_assert_eq!(without_namespaces(&f), without_namespaces(&d));

        let lab = common::lab();
        for m in [&lab, &Machine::default()] {
            let ev = Evaluator::new(m);
            let t = ev.eval(&f);
            // Same decision; reasons may differ in the namespace they name.
            prop_assert_eq!(t.as_bool(), ev.eval(&d).as_bool());
            // Structural laws hold on real evaluations too.
            prop_assert_eq!(ev.eval(&Expr::Not(Box::new(Expr::Not(Box::new(f.clone()))))), t.clone());
            prop_assert_eq!(ev.eval(&Expr::And(vec![f.clone(), Expr::False])), Truth::False);
            prop_assert_eq!(ev.eval(&Expr::Or(vec![Expr::True, f.clone()])), Truth::True);
            // Only expressions that exist in the tree are ever named as reasons.
            if let Truth::Unknown(reasons) = &t {
                let mut names = std::collections::BTreeSet::new();
                f.walk(&mut |e| { names.insert(e.name().to_string()); });
                for r in reasons {
                    prop_assert!(names.contains(&r.expression), "{} not in {:?}", r.expression, names);
                }
            }
            let rules = UpdateRules { is_installed: Some(f.clone()), is_installable: Some(d.clone()), ..Default::default() };
            let _ = ev.applicability(&rules);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        let _ = parse_rule(&s);
        let _ = parse_fragment_rule(&s);
        let _ = parse_core_fragment(&s);
        let _ = UpdateRules::from_fragment(&s);
    }

    #[test]
    fn mangled_real_fragments_never_panic(cut in 0usize..4000, insert in "\\PC{0,8}") {
        let core = include_str!("fixtures/wsus-m0-cbs/cbs-rollupfix-core-reduced.xml");
        let mut s = core.to_string();
        let at = cut.min(s.len());
        let at = (0..=at).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
        s.insert_str(at, &insert);
        if let Ok(f) = parse_core_fragment(&s) {
            let m = common::lab();
            let _ = Evaluator::new(&m).applicability(&f.rules);
        }
        let truncated = &core[..at.min(core.len())];
        let _ = parse_core_fragment(truncated);
    }
}

#[test]
fn the_lab_machine_round_trips_through_toml_and_json() {
    let m = common::lab();
    let toml_text = toml::to_string(&m).unwrap();
    let again: Machine = toml::from_str(&toml_text).unwrap();
    assert_eq!(again, m);
    // Typos are refused rather than silently ignored.
    let err = toml::from_str::<Machine>("architecure = \"x64\"").unwrap_err();
    assert!(err.to_string().contains("architecure"), "{err}");
    let err = toml::from_str::<Machine>("[os]\nmajor = 10\nminor = 0\nbuild = 1\nbulid = 2").unwrap_err();
    assert!(err.to_string().contains("bulid"), "{err}");
    assert!(toml::from_str::<Machine>("architecture = \"amd64\"").unwrap().architecture == Some(Architecture::X64));
}
