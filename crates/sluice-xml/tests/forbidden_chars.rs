//! Characters XML 1.0 forbids are refused wherever they appear, raw or as character references
//! (issue #8, item 15): .NET's parser refuses them, so a real WSUS never stores them, and a raw
//! ESC would otherwise reach an administrator's terminal.

use sluice_xml::{is_xml_char, parse};

#[test]
fn item_15_forbidden_characters_are_refused_raw_and_as_references() {
    let cases = [
        // A raw ESC in text, in an attribute value, in a comment.
        "<a>evil\u{1b}[31m</a>".to_string(),
        "<a b=\"x\u{1b}\"/>".to_string(),
        "<a><!-- \u{1b} --></a>".to_string(),
        // NUL, a C0 control, and the two non-characters U+FFFE and U+FFFF.
        "<a>\u{0}</a>".to_string(),
        "<a>\u{8}</a>".to_string(),
        "<a>\u{FFFE}</a>".to_string(),
        "<a>\u{FFFF}</a>".to_string(),
        // Character references to them, in text and in attribute values, hex and decimal.
        "<a>evil&#x1b;[31m</a>".to_string(),
        "<a>&#27;</a>".to_string(),
        "<a>&#x0;</a>".to_string(),
        "<a>&#xFFFE;</a>".to_string(),
        "<a b=\"&#x1B;\"/>".to_string(),
        "<a b=\"&#1;\"/>".to_string(),
    ];
    for xml in &cases {
        let e = parse(xml, "test document").expect_err(xml);
        assert!(
            e.reason.contains("not allowed in XML 1.0") || e.reason.contains("invalid character reference"),
            "{xml:?}: {e}"
        );
    }
    // The message says which character, for the administrator reading the log.
    let e = parse("<a>evil&#x1b;</a>", "d").unwrap_err();
    assert!(e.reason.contains("U+001B"), "{e}");
    let e = parse("<a>evil\u{1b}</a>", "d").unwrap_err();
    assert!(e.reason.contains("U+001B") && e.reason.contains("at byte 7"), "{e}");
}

#[test]
fn item_15_allowed_whitespace_and_characters_still_parse() {
    let el = parse("<a b=\"&#x9;&#xA;\">\t\r\n&#xD;&#x20AC;€&#x10FFFF;\u{E000}</a>", "d").unwrap();
    assert_eq!(el.attr("b"), Some("\t\n"));
    assert!(el.text().contains("€€"), "{:?}", el.text());
    for c in ['\t', '\n', '\r', ' ', '\u{D7FF}', '\u{E000}', '\u{FFFD}', '\u{10000}', '\u{10FFFF}'] {
        assert!(is_xml_char(c), "{c:?}");
    }
    for c in ['\u{0}', '\u{1b}', '\u{1f}', '\u{FFFE}', '\u{FFFF}'] {
        assert!(!is_xml_char(c), "{c:?}");
    }
}
