//! Just enough `xs:dateTime` for `FileCreated`/`FileModified`: rules and machine facts are
//! compared as instants, so only parsing to a UTC timestamp is needed.

/// An instant: seconds since 1970-01-01T00:00:00Z and nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    pub seconds: i64,
    pub nanos: u32,
}

fn digits(s: &str, n: usize) -> Option<i64> {
    if s.len() != n || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's civil algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

impl Timestamp {
    /// Parses `YYYY-MM-DD`, optionally followed by `THH:MM:SS[.fraction]` and `Z` or
    /// `±HH:MM`. A time without zone is taken as UTC: rule authors write UTC, and a machine
    /// model should too.
    pub fn parse(text: &str) -> Option<Timestamp> {
        let t = text.trim();
        let (date, rest) = match t.find(['T', 't', ' ']) {
            Some(i) => (&t[..i], &t[i + 1..]),
            None => (t, ""),
        };
        let mut dp = date.split('-');
        let y = digits(dp.next()?, 4)?;
        let m = digits(dp.next()?, 2)?;
        let d = digits(dp.next()?, 2)?;
        if dp.next().is_some() || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
            return None;
        }
        let (mut secs, mut nanos) = (0i64, 0u32);
        let mut offset = 0i64;
        if !rest.is_empty() {
            let (clock, zone) = match rest.find(['Z', 'z', '+', '-']) {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            };
            let (hms, frac) = match clock.split_once('.') {
                Some((a, b)) => (a, Some(b)),
                None => (clock, None),
            };
            let mut tp = hms.split(':');
            let hh = digits(tp.next()?, 2)?;
            let mm = digits(tp.next()?, 2)?;
            let ss = match tp.next() {
                Some(s) => digits(s, 2)?,
                None => 0,
            };
            if tp.next().is_some() || hh > 24 || mm > 59 || ss > 60 || (hh == 24 && (mm, ss) != (0, 0)) {
                return None;
            }
            secs = hh * 3600 + mm * 60 + ss;
            if let Some(f) = frac {
                if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let mut n: u32 = 0;
                for (i, b) in f.bytes().take(9).enumerate() {
                    n += u32::from(b - b'0') * 10u32.pow(8 - i as u32);
                }
                nanos = n;
            }
            match zone {
                "" | "Z" | "z" => {}
                z => {
                    let sign = if z.starts_with('-') { -1 } else { 1 };
                    let (oh, om) = z[1..].split_once(':')?;
                    let (oh, om) = (digits(oh, 2)?, digits(om, 2)?);
                    if oh > 14 || om > 59 {
                        return None;
                    }
                    offset = sign * (oh * 3600 + om * 60);
                }
            }
        }
        let seconds = days_from_civil(y, m, d) * 86_400 + secs - offset;
        Some(Timestamp { seconds, nanos })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(Timestamp::parse("1970-01-01").unwrap().seconds, 0);
        assert_eq!(Timestamp::parse("1970-01-02T00:00:00Z").unwrap().seconds, 86_400);
        assert_eq!(Timestamp::parse("2026-10-03T15:47:53Z").unwrap().seconds, 1_791_042_473);
        let a = Timestamp::parse("2026-09-02T08:19:36.080Z").unwrap();
        assert_eq!(a.nanos, 80_000_000);
        assert_eq!(
            Timestamp::parse("2026-01-01T02:00:00+02:00"),
            Timestamp::parse("2026-01-01T00:00:00Z")
        );
        assert!(Timestamp::parse("2026-02-30").is_none());
        assert!(Timestamp::parse("2026-1-1").is_none());
        assert!(Timestamp::parse("yesterday").is_none());
        assert!(Timestamp::parse("2024-02-29T25:00:00").is_none());
        assert!(Timestamp::parse("2024-02-29").is_some());
    }
}
