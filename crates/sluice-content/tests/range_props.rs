//! Property tests of the Range parser, resolver and multipart layout.

use proptest::prelude::*;
use sluice_content::Validators;
use sluice_content::range::{
    BodySegment, ByteRange, MAX_RANGES, RangePlan, RangeSpec, Resolved, multipart_body,
    parse_range_header, plan, resolve,
};

fn spec() -> impl Strategy<Value = RangeSpec> {
    // Small numbers so ranges overlap and hit file ends often; a few huge ones.
    let pos = prop_oneof![8 => 0u64..2000, 1 => any::<u64>()];
    prop_oneof![
        (pos.clone(), 0u64..2000).prop_map(|(a, d)| RangeSpec::FromTo(a, a.saturating_add(d))),
        pos.clone().prop_map(RangeSpec::From),
        pos.prop_map(RangeSpec::Suffix),
    ]
}

fn render(spec: &RangeSpec) -> String {
    match spec {
        RangeSpec::FromTo(a, b) => format!("{a}-{b}"),
        RangeSpec::From(a) => format!("{a}-"),
        RangeSpec::Suffix(n) => format!("-{n}"),
    }
}

/// Independent model: the set of byte offsets a spec asks for, clamped to `len`.
fn model(spec: &RangeSpec, len: u64) -> Option<(u64, u64)> {
    if len == 0 {
        return None;
    }
    match *spec {
        RangeSpec::FromTo(a, b) if a < len => Some((a, b.min(len - 1))),
        RangeSpec::From(a) if a < len => Some((a, len - 1)),
        RangeSpec::Suffix(n) if n > 0 => Some((len.saturating_sub(n), len - 1)),
        _ => None,
    }
}

fn covered(ranges: &[(u64, u64)], len: u64) -> Vec<bool> {
    let mut v = vec![false; len as usize];
    for &(a, b) in ranges {
        for i in a..=b {
            v[i as usize] = true;
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parser_never_panics(s in ".{0,200}") {
        let _ = parse_range_header(&s);
    }

    #[test]
    fn parser_never_panics_on_near_misses(s in "[bB][yY][tT][eE][sS]=[-0-9, \t]{0,60}") {
        if let Ok(specs) = parse_range_header(&s) {
            prop_assert!(!specs.is_empty() && specs.len() <= MAX_RANGES);
        }
    }

    #[test]
    fn rendered_specs_parse_back(
        specs in prop::collection::vec(spec(), 1..=MAX_RANGES),
        sep in prop::sample::select(vec![",", ", ", " ,\t", ",,"]),
        unit in prop::sample::select(vec!["bytes", "BYTES", "Bytes"]),
    ) {
        let header = format!("{unit}={}", specs.iter().map(render).collect::<Vec<_>>().join(sep));
        prop_assert_eq!(parse_range_header(&header), Ok(specs));
    }

    #[test]
    fn more_than_max_is_refused(n in (MAX_RANGES + 1)..(MAX_RANGES * 3)) {
        let header = format!("bytes={}", vec!["1-2"; n].join(","));
        prop_assert!(parse_range_header(&header).is_err());
    }

    #[test]
    fn resolve_matches_model(specs in prop::collection::vec(spec(), 1..12), len in 0u64..3000) {
        let wanted: Vec<(u64, u64)> = specs.iter().filter_map(|s| model(s, len)).collect();
        match resolve(&specs, len) {
            Resolved::Unsatisfiable => prop_assert!(wanted.is_empty()),
            Resolved::Ranges(got) => {
                prop_assert!(!got.is_empty());
                for r in &got {
                    prop_assert!(r.start <= r.end && r.end < len);
                }
                // Same bytes as asked for, no more, no less.
                let got_pairs: Vec<(u64, u64)> = got.iter().map(|r| (r.start, r.end)).collect();
                prop_assert_eq!(covered(&got_pairs, len), covered(&wanted, len));
                // Never sends a byte twice and never two touching parts.
                let mut sorted = got.clone();
                sorted.sort();
                for w in sorted.windows(2) {
                    prop_assert!(w[1].start > w[0].end + 1);
                }
                let total: u64 = got.iter().map(ByteRange::len).sum();
                prop_assert!(total <= len);
                // Without coalescing, the request order is kept.
                if got.len() == wanted.len() {
                    prop_assert_eq!(got_pairs, wanted);
                }
            }
        }
    }

    #[test]
    fn plan_agrees_with_resolve(specs in prop::collection::vec(spec(), 1..8), len in 1u64..3000) {
        let header = format!("bytes={}", specs.iter().map(render).collect::<Vec<_>>().join(","));
        let v = Validators::new(&[1; 20], std::time::UNIX_EPOCH);
        let p = plan(Some(&header), None, &v, len);
        match resolve(&specs, len) {
            Resolved::Unsatisfiable => prop_assert_eq!(p, RangePlan::NotSatisfiable),
            Resolved::Ranges(r) if r.len() == 1 => prop_assert_eq!(p, RangePlan::Single(r[0])),
            Resolved::Ranges(r) => prop_assert_eq!(p, RangePlan::Multi(r)),
        }
    }

    #[test]
    fn multipart_length_is_exact(specs in prop::collection::vec(spec(), 2..10), len in 1u64..100_000) {
        if let Resolved::Ranges(ranges) = resolve(&specs, len) {
            let body = multipart_body(&ranges, len, "xyz", "application/octet-stream");
            let sum: u64 = body.segments.iter().map(|s| match s {
                BodySegment::Literal(b) => b.len() as u64,
                BodySegment::File { len, .. } => *len,
            }).sum();
            prop_assert_eq!(sum, body.content_length);
            let files: Vec<ByteRange> = body.segments.iter().filter_map(|s| match s {
                BodySegment::File { start, len } => Some(ByteRange { start: *start, end: start + len - 1 }),
                BodySegment::Literal(_) => None,
            }).collect();
            prop_assert_eq!(files, ranges);
        }
    }
}
