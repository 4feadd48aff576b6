//! Helpers for the codecs' tests, which compare their output with real captures and with the
//! spec's examples. Behind the `testing` feature: nothing in a server needs them.

use std::path::Path;

use sluice_xml::Element;

/// The exchange directories of captured sets below `root` (`set/000001`, …) that hold a
/// `request.body`, set by set in the order given, each sorted.
pub fn exchange_dirs(root: &Path, sets: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for set in sets {
        let dir = root.join(set);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("dir entry"))
            .filter(|e| e.path().join("request.body").is_file())
            .map(|e| format!("{set}/{}", e.file_name().to_string_lossy()))
            .collect();
        names.sort();
        out.extend(names);
    }
    out
}

/// A header of a captured HTTP head (header names vary in case between captures).
pub fn header_value(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

/// Structural equality of two XML elements: namespaces, local names, attributes other than
/// namespace declarations, and trimmed text; whitespace-only text, comments and prefixes are
/// ignored. Child elements named in `skip_in_a` are dropped from `a` before comparing. QName
/// values such as `faultcode` are compared by their local part, and line-wrapped base64 (as in
/// the spec examples) without its whitespace. Returns the first difference.
pub fn same_structure(a: &Element, b: &Element, skip_in_a: &[&str]) -> Result<(), String> {
    fn attrs(e: &Element) -> Vec<(String, String, String)> {
        let mut v: Vec<_> = e.attrs.iter().map(|a| (a.ns.clone(), a.local.clone(), a.value.clone())).collect();
        v.sort();
        v
    }
    fn text(e: &Element) -> String {
        let t = e.text().trim().to_string();
        if e.local == "faultcode" {
            return t.rsplit(':').next().unwrap_or("").to_string();
        }
        let base64ish = t.chars().all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c) || c.is_ascii_whitespace());
        if base64ish && t.contains('\n') {
            return t.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        }
        t
    }
    if a.ns != b.ns || a.local != b.local {
        return Err(format!("{{{}}}{} vs {{{}}}{}", a.ns, a.local, b.ns, b.local));
    }
    if attrs(a) != attrs(b) {
        return Err(format!("attributes of {}: {:?} vs {:?}", a.local, attrs(a), attrs(b)));
    }
    if text(a) != text(b) {
        return Err(format!("text of {}: {:?} vs {:?}", a.local, text(a), text(b)));
    }
    let ka: Vec<_> = a.elements().filter(|e| !skip_in_a.contains(&e.local.as_str())).collect();
    let kb: Vec<_> = b.elements().collect();
    if ka.len() != kb.len() {
        return Err(format!(
            "children of {}: {:?} vs {:?}",
            a.local,
            ka.iter().map(|e| &e.local).collect::<Vec<_>>(),
            kb.iter().map(|e| &e.local).collect::<Vec<_>>()
        ));
    }
    for (x, y) in ka.iter().zip(kb.iter()) {
        same_structure(x, y, skip_in_a)?;
    }
    Ok(())
}

/// First differing byte, with context, for readable assertion messages.
pub fn first_difference(ours: &[u8], real: &[u8]) -> String {
    let i = ours.iter().zip(real).position(|(a, b)| a != b).unwrap_or(ours.len().min(real.len()));
    let ctx = |b: &[u8]| String::from_utf8_lossy(&b[i.saturating_sub(80)..(i + 80).min(b.len())]).into_owned();
    format!(
        "lengths {} vs {}, first difference at byte {i}:\n ours: …{}…\n real: …{}…",
        ours.len(),
        real.len(),
        ctx(ours),
        ctx(real)
    )
}

/// The spec-example files below `fixtures/spec-examples/<protocol>` whose names contain
/// `contains` (`-request.xml`, `-response.xml`, `-fault-`), as paths relative to `fixtures`,
/// sorted.
pub fn spec_example_files(fixtures: &Path, protocol: &str, contains: &str) -> Vec<String> {
    let dir = fixtures.join("spec-examples").join(protocol);
    let mut v: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(contains))
        .map(|n| format!("spec-examples/{protocol}/{n}"))
        .collect();
    v.sort();
    v
}

/// A fixture's bytes as an element tree (UTF-8; the fixtures are).
pub fn parse_fixture(bytes: &[u8]) -> Element {
    let text = std::str::from_utf8(bytes).expect("utf-8");
    sluice_xml::parse(text, "fixture").expect("fixture parses")
}

/// `inner` as the body of a SOAP 1.1 envelope written with the namespace prefix `prefix`
/// (`s` as WCF writes it, `soap` as ASMX does), for hand-made requests.
pub fn in_envelope(prefix: &str, inner: &str) -> Vec<u8> {
    format!(r#"<{prefix}:Envelope xmlns:{prefix}="http://schemas.xmlsoap.org/soap/envelope/"><{prefix}:Body>{inner}</{prefix}:Body></{prefix}:Envelope>"#)
        .into_bytes()
}

/// Envelopes that attack the XML parser, each carrying the operation `op` (namespace `ns`) with
/// one parameter `param` holding the attack: an internal DTD entity, an entity-expansion bomb,
/// an external DTD, an undeclared entity, and nesting 1,000 and 100,000 deep. Both protocols
/// must refuse every one as malformed, without expanding anything or overflowing the stack.
pub fn hostile_envelopes(prefix: &str, ns: &str, op: &str, param: &str) -> Vec<(&'static str, Vec<u8>)> {
    let body = |prolog: &str, value: &str| {
        let mut v = prolog.as_bytes().to_vec();
        v.extend(in_envelope(prefix, &format!(r#"<{op} xmlns="{ns}"><{param}>{value}</{param}></{op}>"#)));
        v
    };
    let mut out = vec![
        ("internal DTD entity", body(r#"<!DOCTYPE e [<!ENTITY e "boom">]>"#, "&e;")),
        (
            "entity expansion bomb",
            body(r#"<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>"#, "&lol2;"),
        ),
        ("external DTD", body(r#"<!DOCTYPE x SYSTEM "file:///etc/passwd">"#, "1")),
        ("undeclared entity", body("", "&xxe;")),
    ];
    for depth in [1_000, 100_000] {
        out.push(("deep nesting", body("", &format!("{}{}", "<x>".repeat(depth), "</x>".repeat(depth)))));
    }
    out
}

/// Text written with the five predefined entities and character references, and what it reads
/// as: unlike the DTD entities of [`hostile_envelopes`], these must be accepted.
pub const PREDEFINED_ENTITIES: (&str, &str) = ("&lt;1&amp;&#x32;&gt;", "<1&2>");
