//! `xs:dateTime` and `xs:date` in the forms WSUS, its clients and its downstream servers use.
//!
//! Message types keep date-times as strings: the senders use several forms (with `Z`, with an
//! offset, with no zone at all as in the spec examples, 7 fraction digits or none) and servers
//! must echo some of them (`lastChange`, anchors) exactly. These helpers convert at the edges.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Formats an instant the way .NET's XmlSerializer writes a UTC `DateTime`:
/// `yyyy-MM-ddTHH:mm:ss[.fffffff]Z` with 100 ns precision and trailing zeros of the fraction
/// dropped (`2026-10-04T13:17:07.59Z`, `2026-10-04T16:03:35.9967236Z`, `2026-10-04T15:03:36Z`),
/// which is what real WSUS sends in `LastChange` and cookie `Expiration`.
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

/// Formats a date as `yyyy-MM-dd` (`Deployment/LastChangeTime` must be date-only).
pub fn format_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Parses an `xs:dateTime`: `yyyy-MM-ddTHH:mm:ss`, an optional fraction of any length (digits
/// beyond nanoseconds are ignored), and `Z`, `±HH:MM` or nothing (then UTC is assumed, which is
/// what the spec examples' senders mean). Surrounding whitespace is ignored. `None` when invalid.
pub fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    let b = s.trim().as_bytes();
    if b.len() < 19 || b[10] != b'T' {
        return None;
    }
    let (date, time, rest) = parse_date_time_prefix(b)?;
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

/// `yyyy-MM-dd?HH:mm:ss[.f+]` at the start of `b`, with any separator between date and time
/// (WSUS sync anchors use a space), and what follows it. `xs:dateTime`'s `24:00:00` is refused:
/// no sender writes it.
pub fn parse_date_time_prefix(b: &[u8]) -> Option<(Date, Time, &[u8])> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn formats_like_dotnet() {
        assert_eq!(format_datetime(datetime!(2026-10-04 13:17:07.59 UTC)), "2026-10-04T13:17:07.59Z");
        assert_eq!(format_datetime(datetime!(2026-10-04 16:03:35.9967236 UTC)), "2026-10-04T16:03:35.9967236Z");
        assert_eq!(format_datetime(datetime!(2026-10-04 20:33:26.65455 UTC)), "2026-10-04T20:33:26.65455Z");
        assert_eq!(format_datetime(datetime!(2026-10-04 20:09:27.0519972 UTC)), "2026-10-04T20:09:27.0519972Z");
        assert_eq!(format_datetime(datetime!(2026-10-04 15:03:36 UTC)), "2026-10-04T15:03:36Z");
        // Sub-tick digits are truncated, and other offsets are converted to UTC.
        assert_eq!(format_datetime(datetime!(2026-10-04 17:03:36.000000099 +02:00)), "2026-10-04T15:03:36Z");
        assert_eq!(format_date(date!(2026 - 10 - 04)), "2026-10-04");
    }

    #[test]
    fn parses_wire_forms() {
        assert_eq!(parse_datetime("2026-10-04T15:03:36Z"), Some(datetime!(2026-10-04 15:03:36 UTC)));
        assert_eq!(parse_datetime(" 2026-10-04T16:03:35.9967236Z\n"), Some(datetime!(2026-10-04 16:03:35.9967236 UTC)));
        assert_eq!(parse_datetime("2006-05-23T04:06:32.9843746"), Some(datetime!(2006-05-23 04:06:32.9843746 UTC)));
        assert_eq!(parse_datetime("9999-12-31T23:59:59.9999999"), Some(datetime!(9999-12-31 23:59:59.9999999 UTC)));
        assert_eq!(parse_datetime("0001-01-01T00:00:00"), Some(datetime!(0001-01-01 00:00:00 UTC)));
        assert_eq!(parse_datetime("2026-10-04T17:03:36+02:00"), Some(datetime!(2026-10-04 15:03:36 UTC)));
        assert_eq!(
            parse_datetime("2026-10-04T17:03:36.123456789123+02:00"),
            Some(datetime!(2026-10-04 15:03:36.123456789 UTC))
        );
        for bad in [
            "",
            "x",
            "2026-10-04",
            "2026-13-04T00:00:00Z",
            "2026-10-04T25:00:00Z",
            "2026-10-04 00:00:00Z",
            "2026-10-04T00:00:00.Z",
            "2026-10-04T00:00:00+2:00",
            "2026-10-04T00:00:00ZZ",
            "２０２６-10-04T00:00:00Z",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn round_trips() {
        let t = datetime!(2026-10-04 16:03:35.9967236 UTC);
        assert_eq!(parse_datetime(&format_datetime(t)), Some(t));
    }
}
