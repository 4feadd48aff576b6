//! `Range` / `If-Range` handling (RFC 9110 §14) as pure functions, and the byte layout of
//! `multipart/byteranges` bodies. No I/O: the HTTP layer asks [`plan`] what to send and
//! streams the file slices the plan names.
//!
//! Decisions, where the RFC leaves a choice:
//! - A `Range` header that is syntactically invalid, uses another unit, or lists more than
//!   [`MAX_RANGES`] specs is **ignored** (full `200`), as the RFC allows. Ignoring is never
//!   worse than the full GET the client could have sent anyway.
//! - An `int-range` whose end is past the file is **clamped** to the last byte.
//! - Specs that can't be satisfied are dropped; only when none is left is the answer `416`.
//! - Ranges that overlap or touch are **coalesced** (sorted and merged); this bounds the
//!   body at one copy of the file plus part headers, whatever the client asks, which is
//!   the defence against `bytes=0-,0-,0-…` amplification. When nothing overlaps, the
//!   client's order is kept, as §14.6 asks.
//! - A single remaining range is sent as a plain `206` even if it covers the whole file:
//!   that is what IIS does for Delivery Optimization's `bytes=0-(size-1)` requests.
//! - For a zero-length file only a non-zero suffix range is satisfiable (§14.1.1), but no
//!   `Content-Range` can describe an empty range, so that case gets the full (empty) `200`.

use std::fmt::Write as _;

use bytes::Bytes;

use crate::validators::{Validators, parse_entity_tag, parse_http_date};

/// Most range specs accepted in one `Range` header. Windows clients send one; a
/// legitimate multi-range client (BITS, browsers' PDF viewers) a handful.
pub const MAX_RANGES: usize = 64;

/// An inclusive byte range that lies within the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteRange {
    /// First byte offset.
    pub start: u64,
    /// Last byte offset, inclusive.
    pub end: u64,
}

impl ByteRange {
    /// Number of bytes in the range (never zero).
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }

    /// Always false: a `ByteRange` holds at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// `Content-Range` value for this range of a file of `total` bytes.
    pub fn content_range(&self, total: u64) -> String {
        format!("bytes {}-{}/{}", self.start, self.end, total)
    }
}

/// One `range-spec` of a `Range` header, not yet checked against a length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeSpec {
    /// `first-last`. Values too large for `u64` saturate.
    FromTo(u64, u64),
    /// `first-`.
    From(u64),
    /// `-suffix`: the last `suffix` bytes.
    Suffix(u64),
}

/// Why a `Range` header is ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RangeHeaderError {
    /// The unit is not `bytes`.
    #[error("range unit is not bytes")]
    UnknownUnit,
    /// Not valid `ranges-specifier` syntax (includes `last < first`).
    #[error("malformed Range header")]
    Malformed,
    /// More than [`MAX_RANGES`] specs.
    #[error("too many ranges")]
    TooMany,
}

/// Parses a `Range` header value: `bytes=` followed by a comma list of range specs.
///
/// The unit is case-insensitive; optional whitespace is accepted around list commas only,
/// as the list syntax allows. Parsing stops at [`MAX_RANGES`] + 1 specs so a huge header
/// can't make us allocate in proportion to it.
pub fn parse_range_header(value: &str) -> Result<Vec<RangeSpec>, RangeHeaderError> {
    let (unit, set) = value
        .trim_matches([' ', '\t'])
        .split_once('=')
        .ok_or(RangeHeaderError::Malformed)?;
    if !unit.eq_ignore_ascii_case("bytes") {
        return Err(if is_token(unit) {
            RangeHeaderError::UnknownUnit
        } else {
            RangeHeaderError::Malformed
        });
    }
    let mut specs = Vec::new();
    for element in set.split(',') {
        let element = element.trim_matches([' ', '\t']);
        if element.is_empty() {
            continue;
        }
        if specs.len() == MAX_RANGES {
            return Err(RangeHeaderError::TooMany);
        }
        specs.push(parse_spec(element).ok_or(RangeHeaderError::Malformed)?);
    }
    if specs.is_empty() {
        return Err(RangeHeaderError::Malformed);
    }
    Ok(specs)
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn parse_spec(s: &str) -> Option<RangeSpec> {
    let (first, last) = s.split_once('-')?;
    match (first.is_empty(), last.is_empty()) {
        (true, true) => None,
        (true, false) => Some(RangeSpec::Suffix(parse_digits(last)?)),
        (false, true) => Some(RangeSpec::From(parse_digits(first)?)),
        (false, false) => {
            let (a, b) = (parse_digits(first)?, parse_digits(last)?);
            (a <= b).then_some(RangeSpec::FromTo(a, b))
        }
    }
}

/// `1*DIGIT`, saturating at `u64::MAX`: an absurdly large position is still valid syntax
/// and simply lands past the end of any file.
fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0u64, |acc, b| {
        acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

/// Result of checking specs against the file length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// At least one range is satisfiable; these are the ranges to send (coalesced).
    Ranges(Vec<ByteRange>),
    /// No spec can be satisfied: `416`.
    Unsatisfiable,
}

/// Clamps, drops and coalesces specs against a file of `len` bytes (see module docs).
pub fn resolve(specs: &[RangeSpec], len: u64) -> Resolved {
    let mut ranges: Vec<ByteRange> = specs
        .iter()
        .filter_map(|spec| resolve_one(*spec, len))
        .collect();
    if ranges.is_empty() {
        return Resolved::Unsatisfiable;
    }
    if any_overlap_or_touch(&ranges) {
        ranges.sort_unstable();
        let mut merged: Vec<ByteRange> = Vec::with_capacity(ranges.len());
        for r in ranges {
            match merged.last_mut() {
                Some(last) if r.start <= last.end.saturating_add(1) => {
                    last.end = last.end.max(r.end);
                }
                _ => merged.push(r),
            }
        }
        ranges = merged;
    }
    Resolved::Ranges(ranges)
}

fn resolve_one(spec: RangeSpec, len: u64) -> Option<ByteRange> {
    if len == 0 {
        return None;
    }
    let last = len - 1;
    match spec {
        RangeSpec::FromTo(a, b) => (a <= last).then(|| ByteRange {
            start: a,
            end: b.min(last),
        }),
        RangeSpec::From(a) => (a <= last).then_some(ByteRange {
            start: a,
            end: last,
        }),
        RangeSpec::Suffix(0) => None,
        RangeSpec::Suffix(n) => Some(ByteRange {
            start: len - n.min(len),
            end: last,
        }),
    }
}

fn any_overlap_or_touch(ranges: &[ByteRange]) -> bool {
    let mut sorted = ranges.to_vec();
    sorted.sort_unstable();
    sorted
        .windows(2)
        .any(|w| w[1].start <= w[0].end.saturating_add(1))
}

/// Whether an `If-Range` value still matches the file (RFC 9110 §13.1.5).
///
/// An entity-tag must match strongly; a weak tag never matches. A date must equal
/// Last-Modified exactly (to the second). Anything unparseable does not match, which
/// makes the server send the full file: the safe way to fail.
pub fn if_range_matches(value: &str, validators: &Validators) -> bool {
    let value = value.trim_matches([' ', '\t']);
    if value.starts_with('"') || value.starts_with("W/") {
        return parse_entity_tag(value).is_some_and(|tag| validators.strong_match(&tag));
    }
    parse_http_date(value).is_some_and(|date| date == validators.last_modified())
}

/// What to send for a GET.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangePlan {
    /// `200` with the whole file.
    Full,
    /// `206` with one range.
    Single(ByteRange),
    /// `206` `multipart/byteranges` with these ranges (two or more), in sending order.
    Multi(Vec<ByteRange>),
    /// `416` with `Content-Range: bytes */len`.
    NotSatisfiable,
}

/// Decides the response for a GET of a file of `len` bytes.
///
/// `range` and `if_range` are the header values (`None` when absent; the caller passes
/// `None` too when a header is repeated or not valid text, which makes it ignored).
pub fn plan(
    range: Option<&str>,
    if_range: Option<&str>,
    validators: &Validators,
    len: u64,
) -> RangePlan {
    let Some(range) = range else {
        return RangePlan::Full;
    };
    let Ok(specs) = parse_range_header(range) else {
        return RangePlan::Full;
    };
    if let Some(condition) = if_range
        && !if_range_matches(condition, validators)
    {
        return RangePlan::Full;
    }
    if len == 0 {
        return if specs
            .iter()
            .any(|s| matches!(s, RangeSpec::Suffix(n) if *n > 0))
        {
            RangePlan::Full
        } else {
            RangePlan::NotSatisfiable
        };
    }
    match resolve(&specs, len) {
        Resolved::Unsatisfiable => RangePlan::NotSatisfiable,
        Resolved::Ranges(mut ranges) if ranges.len() == 1 => match ranges.pop() {
            Some(only) => RangePlan::Single(only),
            None => RangePlan::NotSatisfiable,
        },
        Resolved::Ranges(ranges) => RangePlan::Multi(ranges),
    }
}

/// `Content-Range` value of a `416`.
pub fn unsatisfied_content_range(len: u64) -> String {
    format!("bytes */{len}")
}

/// A piece of a response body: literal bytes or a slice of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodySegment {
    /// Bytes generated by the server (multipart delimiters and part headers).
    Literal(Bytes),
    /// `len` bytes of the file starting at `start`.
    File {
        /// Offset in the file.
        start: u64,
        /// Number of bytes.
        len: u64,
    },
}

/// Byte-exact layout of a `multipart/byteranges` body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultipartBody {
    /// The boundary, without the leading dashes.
    pub boundary: String,
    /// Body pieces in order.
    pub segments: Vec<BodySegment>,
    /// Exact body length, for `Content-Length`.
    pub content_length: u64,
}

impl MultipartBody {
    /// `Content-Type` header value of the response.
    pub fn content_type(&self) -> String {
        format!("multipart/byteranges; boundary={}", self.boundary)
    }
}

/// Lays out a `multipart/byteranges` body (RFC 9110 §14.6, RFC 2046 §5.1.1): each part is
/// a delimiter, `Content-Type` and `Content-Range` headers, a blank line and the bytes;
/// a close delimiter ends the body. `part_type` is the file's media type.
pub fn multipart_body(
    ranges: &[ByteRange],
    total: u64,
    boundary: &str,
    part_type: &str,
) -> MultipartBody {
    let mut segments = Vec::with_capacity(ranges.len() * 2 + 1);
    let mut content_length = 0u64;
    for (i, r) in ranges.iter().enumerate() {
        let mut head = String::new();
        if i > 0 {
            // The CRLF before a delimiter belongs to the delimiter, not to the part data.
            head.push_str("\r\n");
        }
        let _ = write!(
            head,
            "--{boundary}\r\nContent-Type: {part_type}\r\nContent-Range: {}\r\n\r\n",
            r.content_range(total)
        );
        content_length += head.len() as u64 + r.len();
        segments.push(BodySegment::Literal(Bytes::from(head)));
        segments.push(BodySegment::File {
            start: r.start,
            len: r.len(),
        });
    }
    let tail = format!("\r\n--{boundary}--\r\n");
    content_length += tail.len() as u64;
    segments.push(BodySegment::Literal(Bytes::from(tail)));
    MultipartBody {
        boundary: boundary.to_owned(),
        segments,
        content_length,
    }
}

/// A fresh boundary for one response. It only has to be absent from the file bytes;
/// 128 bits from the standard library's per-process random hasher keys make an accidental
/// (or predicted) collision with update content practically impossible.
pub fn new_boundary() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::BuildHasher;
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // Each RandomState gets new keys, so two hashes of the same counter differ.
    let a = RandomState::new().hash_one(n);
    let b = RandomState::new().hash_one(n);
    format!("sluice-{a:016x}{b:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn br(start: u64, end: u64) -> ByteRange {
        ByteRange { start, end }
    }

    fn v() -> Validators {
        Validators::new(&[0x42; 20], UNIX_EPOCH + Duration::from_secs(1_000_000_000))
    }

    #[test]
    fn parses_forms() {
        use RangeSpec::*;
        assert_eq!(
            parse_range_header("bytes=0-1048575"),
            Ok(vec![FromTo(0, 1_048_575)])
        );
        assert_eq!(parse_range_header("Bytes=5-"), Ok(vec![From(5)]));
        assert_eq!(parse_range_header("bytes=-7"), Ok(vec![Suffix(7)]));
        assert_eq!(
            parse_range_header(" bytes=1-2 , ,3-, -4 "),
            Ok(vec![FromTo(1, 2), From(3), Suffix(4)])
        );
        assert_eq!(
            parse_range_header("bytes=0-99999999999999999999999"),
            Ok(vec![FromTo(0, u64::MAX)])
        );
    }

    #[test]
    fn rejects_bad_syntax() {
        use RangeHeaderError::*;
        for bad in [
            "bytes",
            "bytes=",
            "bytes=,",
            "bytes=-",
            "bytes=5-4",
            "bytes=a-b",
            "bytes=1 -2",
            "bytes=+1-2",
            "bytes=1-2-3",
            "bytes = 1-2",
            "=1-2",
            "bytes=0x10-",
        ] {
            assert_eq!(parse_range_header(bad), Err(Malformed), "{bad:?}");
        }
        assert_eq!(parse_range_header("items=0-5"), Err(UnknownUnit));
        let many = format!("bytes={}", vec!["0-0"; MAX_RANGES + 1].join(","));
        assert_eq!(parse_range_header(&many), Err(TooMany));
        let max = format!("bytes={}", vec!["0-0"; MAX_RANGES].join(","));
        assert_eq!(parse_range_header(&max).map(|v| v.len()), Ok(MAX_RANGES));
    }

    #[test]
    fn delivery_optimization_pieces() {
        // The exact requests of the native capture, against the real size.
        let len = 204_745_168;
        assert_eq!(
            plan(Some("bytes=0-1048575"), None, &v(), len),
            RangePlan::Single(br(0, 1_048_575))
        );
        assert_eq!(
            plan(Some("bytes=204472320-204745167"), None, &v(), len),
            RangePlan::Single(br(204_472_320, 204_745_167))
        );
        assert_eq!(
            br(204_472_320, 204_745_167).content_range(len),
            "bytes 204472320-204745167/204745168"
        );
        assert_eq!(
            plan(Some("bytes=0-918943"), None, &v(), 918_944),
            RangePlan::Single(br(0, 918_943))
        );
    }

    #[test]
    fn clamps_and_drops() {
        assert_eq!(
            resolve(&[RangeSpec::FromTo(90, 500)], 100),
            Resolved::Ranges(vec![br(90, 99)])
        );
        assert_eq!(
            resolve(&[RangeSpec::Suffix(500)], 100),
            Resolved::Ranges(vec![br(0, 99)])
        );
        assert_eq!(
            resolve(&[RangeSpec::From(100)], 100),
            Resolved::Unsatisfiable
        );
        assert_eq!(
            resolve(&[RangeSpec::Suffix(0)], 100),
            Resolved::Unsatisfiable
        );
        assert_eq!(
            resolve(&[RangeSpec::From(200), RangeSpec::FromTo(1, 1)], 100),
            Resolved::Ranges(vec![br(1, 1)])
        );
    }

    #[test]
    fn coalesces_overlap_keeps_order_otherwise() {
        use RangeSpec::*;
        assert_eq!(
            resolve(&[FromTo(50, 59), FromTo(0, 9)], 100),
            Resolved::Ranges(vec![br(50, 59), br(0, 9)])
        );
        assert_eq!(
            resolve(&[FromTo(50, 59), FromTo(0, 9), FromTo(10, 12)], 100),
            Resolved::Ranges(vec![br(0, 12), br(50, 59)])
        );
        assert_eq!(
            resolve(&[From(0), From(0), From(0), Suffix(1)], 100),
            Resolved::Ranges(vec![br(0, 99)])
        );
    }

    #[test]
    fn plans() {
        assert_eq!(plan(None, None, &v(), 10), RangePlan::Full);
        assert_eq!(plan(Some("bytes=x"), None, &v(), 10), RangePlan::Full);
        assert_eq!(plan(Some("pages=1-2"), None, &v(), 10), RangePlan::Full);
        assert_eq!(
            plan(Some("bytes=10-"), None, &v(), 10),
            RangePlan::NotSatisfiable
        );
        assert_eq!(
            plan(Some("bytes=0-0,-1"), None, &v(), 10),
            RangePlan::Multi(vec![br(0, 0), br(9, 9)])
        );
        assert_eq!(
            plan(Some("bytes=0-0,1-1"), None, &v(), 10),
            RangePlan::Single(br(0, 1))
        );
        // A single range covering everything is still a 206 (what IIS does).
        assert_eq!(
            plan(Some("bytes=0-"), None, &v(), 10),
            RangePlan::Single(br(0, 9))
        );
    }

    #[test]
    fn zero_length_file() {
        assert_eq!(
            plan(Some("bytes=0-"), None, &v(), 0),
            RangePlan::NotSatisfiable
        );
        assert_eq!(plan(Some("bytes=-5"), None, &v(), 0), RangePlan::Full);
        assert_eq!(
            plan(Some("bytes=-0"), None, &v(), 0),
            RangePlan::NotSatisfiable
        );
    }

    #[test]
    fn if_range() {
        let own = v().etag().to_owned();
        let lm = v().last_modified_http();
        let r = Some("bytes=0-0");
        assert_eq!(plan(r, Some(&own), &v(), 10), RangePlan::Single(br(0, 0)));
        assert_eq!(plan(r, Some(&lm), &v(), 10), RangePlan::Single(br(0, 0)));
        assert_eq!(plan(r, Some("\"stale\""), &v(), 10), RangePlan::Full);
        assert_eq!(
            plan(r, Some(&format!("W/{own}")), &v(), 10),
            RangePlan::Full
        );
        assert_eq!(
            plan(r, Some("Sun, 09 Sep 2001 01:46:41 GMT"), &v(), 10),
            RangePlan::Full
        );
        assert_eq!(plan(r, Some("garbage"), &v(), 10), RangePlan::Full);
        // If-Range false means "ignore Range", so even an unsatisfiable range gives 200.
        assert_eq!(
            plan(Some("bytes=50-"), Some("\"stale\""), &v(), 10),
            RangePlan::Full
        );
        // If-Range without Range means nothing.
        assert_eq!(plan(None, Some(&own), &v(), 10), RangePlan::Full);
    }

    #[test]
    fn multipart_layout_is_exact() {
        let body = multipart_body(&[br(0, 1), br(8, 9)], 10, "B", "application/octet-stream");
        assert_eq!(body.content_type(), "multipart/byteranges; boundary=B");
        let mut rendered = Vec::new();
        let file = b"0123456789";
        for s in &body.segments {
            match s {
                BodySegment::Literal(b) => rendered.extend_from_slice(b),
                BodySegment::File { start, len } => {
                    rendered.extend_from_slice(&file[*start as usize..(*start + *len) as usize])
                }
            }
        }
        let want = "--B\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-1/10\r\n\r\n01\
                    \r\n--B\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 8-9/10\r\n\r\n89\
                    \r\n--B--\r\n";
        assert_eq!(String::from_utf8(rendered).unwrap(), want);
        assert_eq!(body.content_length, want.len() as u64);
    }

    #[test]
    fn boundaries_differ() {
        let (a, b) = (new_boundary(), new_boundary());
        assert_ne!(a, b);
        assert!(a.len() <= 70, "RFC 2046 limits boundaries to 70 characters");
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'));
    }
}
