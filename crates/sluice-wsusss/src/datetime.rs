//! The sync anchors of GetConfigData, GetRevisionIdList and GetDeployments. `xs:dateTime` itself
//! is [`sluice_soap_core`]'s.

use std::fmt;

use sluice_soap_core::parse_date_time_prefix;
use time::PrimitiveDateTime;

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
        let (date, time, rest) = parse_date_time_prefix(b)?;
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
