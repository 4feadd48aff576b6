//! `xs:dateTime` in the forms WSUS writes, and the sync anchors of GetConfigData,
//! GetRevisionIdList and GetDeployments.
//!
//! Message types keep date-times as strings: servers echo some of them, and the forms differ
//! (`Z`, no zone at all in the spec examples, 7 fraction digits or none). These helpers convert at
//! the edges.

use std::fmt;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Formats an instant the way .NET's XmlSerializer writes a UTC `DateTime`:
/// `yyyy-MM-ddTHH:mm:ss[.fffffff]Z` with 100 ns precision and trailing zeros of the fraction
/// dropped, as in the real `Expiration` `2026-10-04T20:33:26.65455Z`.
pub fn format_datetime(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    // .NET ticks are 100 ns; finer digits cannot be represented and are truncated.
    let ticks = t.nanosecond() / 100;
    if ticks != 0 {
        let digits = format!("{ticks:07}");
        s.push('.');
        s.push_str(digits.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Parses an `xs:dateTime`: `yyyy-MM-ddTHH:mm:ss`, an optional fraction of any length (digits
/// beyond nanoseconds are ignored), and `Z`, `±HH:MM` or nothing (then UTC is assumed, as the
/// spec examples' senders mean). Surrounding whitespace is ignored. `None` when invalid.
pub fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    let b = s.trim().as_bytes();
    if b.len() < 19 || b[10] != b'T' {
        return None;
    }
    let (date, time, rest) = date_time(b)?;
    let offset = match rest {
        [] | [b'Z'] => UtcOffset::UTC,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = digits(&[*h1, *h2])? as i8;
            let m = digits(&[*m1, *m2])? as i8;
            let (h, m) = if *sign == b'-' { (-h, -m) } else { (h, m) };
            UtcOffset::from_hms(h, m, 0).ok()?
        }
        _ => return None,
    };
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

/// `yyyy-MM-dd?HH:mm:ss[.f+]` at the start of `b` (any separator between date and time), and what
/// follows it.
fn date_time(b: &[u8]) -> Option<(Date, Time, &[u8])> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = digits(&b[0..4])? as i32;
    let month = Month::try_from(digits(&b[5..7])? as u8).ok()?;
    let day = digits(&b[8..10])? as u8;
    let hour = digits(&b[11..13])? as u8;
    let minute = digits(&b[14..16])? as u8;
    let second = digits(&b[17..19])? as u8;
    let mut rest = &b[19..];
    let mut nanos: u32 = 0;
    if let Some((&b'.', frac)) = rest.split_first() {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let mut scale = 100_000_000;
        for &c in &frac[..n.min(9)] {
            nanos += u32::from(c - b'0') * scale;
            scale /= 10;
        }
        rest = &frac[n..];
    }
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms_nano(hour, minute, second, nanos).ok()?;
    Some((date, time, rest))
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// A WSUS sync anchor: `<counter>,<yyyy-MM-dd HH:mm:ss.fff>` (`9438,2026-10-04 16:33:26.671`).
///
/// A downstream treats anchors as opaque strings and only echoes them; this type is for an
/// upstream that issues and checks them. Real WSUS answers an anchor it cannot read with
/// `InvalidParameters` (`Message` `filter`). Microsoft Update's anchors are the timestamp alone;
/// [`SyncAnchor::parse`] reads those too (counter 0). The timestamp is the upstream's clock, in
/// UTC for Sluice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SyncAnchor {
    /// WSUS increments it when deployments are created or deleted; it stays constant otherwise.
    pub counter: u32,
    pub time: PrimitiveDateTime,
}

impl SyncAnchor {
    /// Reads `counter,timestamp` or a bare timestamp. The fraction may have any number of digits
    /// (WSUS writes three).
    pub fn parse(s: &str) -> Option<SyncAnchor> {
        let s = s.trim();
        let (counter, stamp) = match s.split_once(',') {
            Some((c, t)) if !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()) => (c.parse().ok()?, t),
            Some(_) => return None,
            None => (0, s),
        };
        let b = stamp.as_bytes();
        if b.len() < 19 || b[10] != b' ' {
            return None;
        }
        let (date, time, rest) = date_time(b)?;
        if !rest.is_empty() {
            return None;
        }
        Some(SyncAnchor { counter, time: PrimitiveDateTime::new(date, time) })
    }
}

impl fmt::Display for SyncAnchor {
    /// Millisecond precision, as WSUS writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.time;
        write!(
            f,
            "{},{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}",
            self.counter,
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats_like_dotnet() {
        assert_eq!(format_datetime(datetime!(2026-10-04 20:33:26.65455 UTC)), "2026-10-04T20:33:26.65455Z");
        assert_eq!(format_datetime(datetime!(2026-10-04 20:09:27.0519972 UTC)), "2026-10-04T20:09:27.0519972Z");
        assert_eq!(format_datetime(datetime!(2026-10-04 15:03:36 UTC)), "2026-10-04T15:03:36Z");
        assert_eq!(format_datetime(datetime!(2026-10-04 17:03:36.000000099 +02:00)), "2026-10-04T15:03:36Z");
    }

    #[test]
    fn parses_wire_forms() {
        assert_eq!(parse_datetime("2026-10-04T20:33:26.65455Z"), Some(datetime!(2026-10-04 20:33:26.65455 UTC)));
        assert_eq!(parse_datetime("9999-12-31T23:59:59.9999999"), Some(datetime!(9999-12-31 23:59:59.9999999 UTC)));
        assert_eq!(parse_datetime("0001-01-01T00:00:00"), Some(datetime!(0001-01-01 00:00:00 UTC)));
        assert_eq!(parse_datetime("2026-10-04T17:03:36+02:00"), Some(datetime!(2026-10-04 15:03:36 UTC)));
        for bad in ["", "2026-10-04", "2026-13-04T00:00:00Z", "2026-10-04 00:00:00Z", "2026-10-04T00:00:00.Z", "x"] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn anchors_round_trip() {
        let a = SyncAnchor::parse("9438,2026-10-04 16:33:26.671").expect("real anchor");
        assert_eq!(a.counter, 9438);
        assert_eq!(a.time, datetime!(2026-10-04 16:33:26.671));
        assert_eq!(a.to_string(), "9438,2026-10-04 16:33:26.671");
        assert_eq!(
            SyncAnchor::parse("4742,2006-05-26 18:59:26.192").map(|a| a.to_string()).as_deref(),
            Some("4742,2006-05-26 18:59:26.192")
        );
        let mu = SyncAnchor::parse("2026-10-06 08:15:00.123").expect("MU form");
        assert_eq!(mu.counter, 0);
        for bad in [
            "garbage",
            "",
            ",2026-10-04 16:33:26.671",
            "x,2026-10-04 16:33:26.671",
            "1,2026-10-04T16:33:26.671",
            "1,2026-10-04 16:33:26.671Z",
            "99999999999,2026-10-04 16:33:26.671",
        ] {
            assert_eq!(SyncAnchor::parse(bad), None, "{bad}");
        }
    }
}
