//! ETag and Last-Modified of stored files, and the header comparisons built on them
//! (RFC 9110 §8.8, §13.1).
//!
//! The ETag is the quoted upper-case SHA-1 of the bytes. A content-addressed file can't
//! change without changing its name, so the tag is strong, identical on every Sluice node
//! and survives re-downloads and restarts, which is what Delivery Optimization needs when
//! it spreads the pieces of one file over several connections (and possibly servers).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::layout::sha1_hex;

/// Latest instant an HTTP-date can express (9999-12-31T23:59:59Z).
const MAX_HTTP_DATE_SECS: u64 = 253_402_300_799;

/// The validators of one stored file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validators {
    etag: String,
    last_modified: SystemTime,
}

impl Validators {
    /// Validators of the file with this digest and modification time. The time is
    /// truncated to whole seconds (HTTP-date precision) and clamped into the range an
    /// HTTP-date can express, so a file with a pre-1970 mtime can't break formatting.
    pub fn new(sha1: &[u8; 20], modified: SystemTime) -> Self {
        let secs = modified
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            .min(MAX_HTTP_DATE_SECS);
        Self {
            etag: format!("\"{}\"", sha1_hex(sha1)),
            last_modified: UNIX_EPOCH + Duration::from_secs(secs),
        }
    }

    /// The ETag header value, quotes included.
    pub fn etag(&self) -> &str {
        &self.etag
    }

    /// Last-Modified as a time, whole seconds.
    pub fn last_modified(&self) -> SystemTime {
        self.last_modified
    }

    /// Last-Modified header value (IMF-fixdate).
    pub fn last_modified_http(&self) -> String {
        httpdate::fmt_http_date(self.last_modified)
    }

    /// Strong comparison against one entity-tag (weak tags never match).
    pub fn strong_match(&self, tag: &EntityTag<'_>) -> bool {
        !tag.weak && self.opaque() == tag.opaque
    }

    /// Weak comparison against one entity-tag.
    pub fn weak_match(&self, tag: &EntityTag<'_>) -> bool {
        self.opaque() == tag.opaque
    }

    fn opaque(&self) -> &str {
        // The stored tag is always `"…"`; slicing off the quotes can't fail.
        self.etag.get(1..self.etag.len() - 1).unwrap_or("")
    }
}

/// One entity-tag from a request header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntityTag<'a> {
    /// `W/` prefix present.
    pub weak: bool,
    /// The characters between the quotes.
    pub opaque: &'a str,
}

/// Parses one entity-tag, the whole of `s` after trimming.
pub fn parse_entity_tag(s: &str) -> Option<EntityTag<'_>> {
    let s = s.trim_matches([' ', '\t']);
    let (weak, rest) = match s.strip_prefix("W/") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let opaque = rest.strip_prefix('"')?.strip_suffix('"')?;
    if !opaque.bytes().all(is_etagc) {
        return None;
    }
    Some(EntityTag { weak, opaque })
}

// etagc = %x21 / %x23-7E / obs-text
fn is_etagc(b: u8) -> bool {
    b == 0x21 || (0x23..=0x7E).contains(&b) || b >= 0x80
}

/// Value of an `If-Match`/`If-None-Match` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EtagList<'a> {
    /// `*`: any current representation.
    Any,
    /// The listed tags.
    Tags(Vec<EntityTag<'a>>),
}

/// Parses `"*"` or a comma-separated list of entity-tags.
///
/// Commas are legal inside an entity-tag, so the list is tokenised by quotes rather than
/// split on commas. Empty list elements are skipped (RFC 9110 §5.6.1). `None` on any
/// syntax error, which callers treat as "header absent"—the safe reading for conditionals
/// that would otherwise deny service.
pub fn parse_etag_list(s: &str) -> Option<EtagList<'_>> {
    let trimmed = s.trim_matches([' ', '\t']);
    if trimmed == "*" {
        return Some(EtagList::Any);
    }
    let mut tags = Vec::new();
    let mut rest = trimmed;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            break;
        }
        let after_w = rest.strip_prefix("W/").unwrap_or(rest);
        let inner = after_w.strip_prefix('"')?;
        let close = inner.find('"')?;
        let tag_len = (rest.len() - after_w.len()) + 1 + close + 1;
        let (tag, tail) = rest.split_at(tag_len);
        tags.push(parse_entity_tag(tag)?);
        let tail = tail.trim_start_matches([' ', '\t']);
        if !(tail.is_empty() || tail.starts_with(',')) {
            return None;
        }
        rest = tail;
    }
    if tags.is_empty() {
        return None;
    }
    Some(EtagList::Tags(tags))
}

/// Parses an HTTP-date in any of its three RFC 9110 forms.
pub fn parse_http_date(s: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(s.trim_matches([' ', '\t'])).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_is_quoted_sha1() {
        let v = Validators::new(&[0xAB; 20], UNIX_EPOCH);
        assert_eq!(v.etag(), format!("\"{}\"", "AB".repeat(20)));
    }

    #[test]
    fn last_modified_truncates_and_clamps() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_999);
        let v = Validators::new(&[0; 20], t);
        assert_eq!(
            v.last_modified(),
            UNIX_EPOCH + Duration::from_secs(1_700_000_000)
        );
        assert_eq!(v.last_modified_http(), "Tue, 14 Nov 2023 22:13:20 GMT");
        let before_epoch = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(
            Validators::new(&[0; 20], before_epoch).last_modified_http(),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
        let far = UNIX_EPOCH + Duration::from_secs(MAX_HTTP_DATE_SECS * 2);
        assert_eq!(
            Validators::new(&[0; 20], far).last_modified_http(),
            "Fri, 31 Dec 9999 23:59:59 GMT"
        );
    }

    #[test]
    fn strong_and_weak_compare() {
        let v = Validators::new(&[0x01; 20], UNIX_EPOCH);
        let own = v.etag().to_owned();
        let strong = parse_entity_tag(&own).unwrap();
        assert!(v.strong_match(&strong));
        let weak_s = format!("W/{own}");
        let weak = parse_entity_tag(&weak_s).unwrap();
        assert!(!v.strong_match(&weak));
        assert!(v.weak_match(&weak));
        assert!(!v.strong_match(&parse_entity_tag("\"other\"").unwrap()));
    }

    #[test]
    fn entity_tag_syntax() {
        assert!(parse_entity_tag("abc").is_none());
        assert!(parse_entity_tag("\"a\"b\"").is_none());
        assert!(parse_entity_tag("w/\"a\"").is_none());
        assert_eq!(parse_entity_tag(" \"\" ").unwrap().opaque, "");
    }

    #[test]
    fn etag_lists() {
        assert_eq!(parse_etag_list(" * "), Some(EtagList::Any));
        let EtagList::Tags(t) = parse_etag_list("\"a,b\", W/\"c\" ,,\"d\"").unwrap() else {
            panic!("expected tags");
        };
        let got: Vec<_> = t.iter().map(|t| (t.weak, t.opaque)).collect();
        assert_eq!(got, vec![(false, "a,b"), (true, "c"), (false, "d")]);
        assert!(parse_etag_list("\"a\" \"b\"").is_none());
        assert!(parse_etag_list("\"a").is_none());
        assert!(parse_etag_list("").is_none());
        assert!(parse_etag_list("*, \"a\"").is_none());
    }

    #[test]
    fn dates_in_all_forms() {
        let want = UNIX_EPOCH + Duration::from_secs(784_111_777);
        for s in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(parse_http_date(s), Some(want), "{s}");
        }
        assert_eq!(parse_http_date("yesterday"), None);
    }
}
