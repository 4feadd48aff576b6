//! Golden tests: our fragments against the ones a real Windows Server 2025 WSUS sent a real
//! Windows 11 client for the same update documents (tests/fixtures/wsus-rs, see PROVENANCE.md).
//!
//! Normalisation: exactly one. The fixture's localized `SupportUrl` had its `LinkId` value
//! replaced by `REDACTED` when the capture was sanitised, so `LinkId=<value>` is rewritten to
//! `LinkId=REDACTED` in our output before comparing. Everything else must match byte for byte.

use std::path::{Path, PathBuf};

use sluice_metadata::{parse_update_bytes, UpdateType};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/wsus-rs")
}

fn normalise(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("LinkId=") {
        out.push_str(&rest[..i + 7]);
        rest = &rest[i + 7..];
        let end = rest.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(rest.len());
        out.push_str("REDACTED");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn docs() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(fixtures().join("docs"))
        .expect("fixtures/docs")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn every_real_document_parses() {
    let docs = docs();
    assert_eq!(docs.len(), 9, "the nine real documents are present");
    for (name, bytes) in docs {
        let p = parse_update_bytes(&bytes, &name).unwrap_or_else(|e| panic!("{e}"));
        let (id, rev) = name.rsplit_once("-r").unwrap();
        assert_eq!(p.update.identity.update_id.to_string(), id.to_lowercase(), "{name}");
        assert_eq!(p.update.identity.revision_number.to_string(), rev, "{name}");
        assert!(!p.update.title().is_empty(), "{name} has an English title");
    }
}

#[test]
fn fragments_equal_the_real_wsus_fragments() {
    let refdir = fixtures().join("wusp-reference");
    let mut compared = 0;
    for (name, bytes) in docs() {
        let p = parse_update_bytes(&bytes, &name).unwrap();
        let lower = name.to_lowercase();
        let core = std::fs::read_to_string(refdir.join(format!("{lower}.core.xml"))).unwrap();
        assert_eq!(p.fragments.core, core, "Core fragment of {name}");
        compared += 1;
        if let Ok(ext) = std::fs::read_to_string(refdir.join(format!("{lower}.extended.xml"))) {
            assert_eq!(p.fragments.extended, ext, "Extended fragment of {name}");
            compared += 1;
        }
        if let Ok(loc) = std::fs::read_to_string(refdir.join(format!("{lower}.localized-en.xml"))) {
            let ours = p
                .fragments
                .localized
                .iter()
                .find(|(l, _)| l == "en")
                .map(|(_, f)| f.as_str())
                .unwrap_or_else(|| panic!("{name} has an en LocalizedProperties fragment"));
            assert_eq!(normalise(ours), loc, "LocalizedProperties(en) fragment of {name}");
            compared += 1;
        }
    }
    // 9 core, 4 extended, 7 localized reference fragments.
    assert_eq!(compared, 20);
}

#[test]
fn model_of_the_kb2267602_bundle() {
    let bytes = std::fs::read(fixtures().join("docs/a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe-r200.xml")).unwrap();
    let u = parse_update_bytes(&bytes, "a2fef9b0").unwrap().update;
    assert_eq!(u.properties.update_type, UpdateType::Software);
    assert_eq!(u.properties.kb_article_ids, vec!["2267602".to_string()]);
    assert!(u.properties.explicitly_deployable);
    assert!(u.is_bundle());
    assert_eq!(u.relationships.bundled_updates.len(), 4);
    assert_eq!(u.relationships.superseded_updates.len(), 10);
    let cats: Vec<String> = u.category_ids().map(|c| c.to_string()).collect();
    assert_eq!(cats, ["e0789628-ce08-4437-be74-2495b842f43b", "8c3fcc84-7410-4a95-8b89-a166a0190486"]);
    assert!(u.localized.len() > 30, "all translations are kept");
    assert!(u.localized_in("en-US").unwrap().title.contains("KB2267602"));
}

#[test]
fn model_of_a_leaf_with_a_file_and_command_line_handler() {
    let bytes = std::fs::read(fixtures().join("docs/ff36f0b5-dded-4780-8664-cd78af8b62c1-r200.xml")).unwrap();
    let u = parse_update_bytes(&bytes, "ff36f0b5").unwrap().update;
    assert_eq!(u.files.len(), 1);
    let f = &u.files[0];
    assert_eq!(f.file_name, "AM_Engine.exe");
    assert_eq!(f.size, 6662560);
    assert!(f.sha256.is_some());
    match u.handler.as_ref().unwrap() {
        sluice_metadata::HandlerData::CommandLine(c) => {
            assert_eq!(c.program, "AM_Engine.exe");
            assert_eq!(c.return_codes.len(), 1);
        }
        other => panic!("unexpected handler {other:?}"),
    }
    // Rules are kept as standalone, well-formed XML that re-parses with its namespaces.
    let rule = u.rules.is_installed.as_ref().unwrap();
    assert!(rule.starts_with("<lar:And"));
    sluice_metadata::dom::parse(rule, "rule").expect("the captured rule is well-formed on its own");
    assert_eq!(u.relationships.prerequisites.len(), 4);
    assert!(!u.properties.explicitly_deployable);
}

#[test]
fn model_of_categories() {
    let bytes = std::fs::read(fixtures().join("docs/dd78b8a1-0b20-45c1-add6-4da72e9364cf-r202.xml")).unwrap();
    let u = parse_update_bytes(&bytes, "dd78b8a1").unwrap().update;
    assert_eq!(u.properties.update_type, UpdateType::Category);
    assert_eq!(u.category_info().unwrap().category_type.as_deref(), Some("Product"));
    assert_eq!(u.title(), "OOBE ZDP");
}
