//! Staged rollouts: an update approved ring by ring (each ring a computer group), moving to
//! the next ring once the current one has soaked long enough and few enough of its computers
//! failed to install it.
//!
//! The failure rate of a ring is Failed / (Installed + Failed) over the computers of the ring
//! that reported a final state for the update; computers that did not report, or reported it
//! not needed, not applicable or only downloaded, do not count either way. A rate exactly at
//! the threshold passes (the administrator wrote "at most 5 %").
//!
//! A ring in which no computer has reported an installation or a failure once its soak time is
//! over gives no evidence that the update is safe: the rollout waits (visibly) rather than
//! promoting blind, because a pilot ring that nobody is in must not wave an update through to
//! every computer. The administrator can `skip` the ring when that is what they want.

use time::{Duration, OffsetDateTime};

/// What the computers of one ring reported for the update.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingStats {
    /// Installed, or installed and waiting for a restart.
    pub installed: u64,
    pub failed: u64,
}

/// The largest threshold: 100 %, in basis points.
pub const MAX_BASIS_POINTS: u32 = 10_000;

/// What to do with a rollout in a ring that is not its last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing yet; `until` is when the soak time ends (when that is what it waits for).
    Wait { until: Option<OffsetDateTime>, reason: String },
    /// Approve the update for the next ring.
    Promote,
    /// Stop: too many computers of the ring failed.
    Halt { reason: String },
}

/// Whether the ring's failure rate is over the threshold (in basis points: 500 = 5 %).
/// Exact integer arithmetic, so "at the threshold" is never lost to rounding.
pub fn over_threshold(stats: RingStats, max_failure_bp: u32) -> bool {
    let reported = u128::from(stats.installed) + u128::from(stats.failed);
    u128::from(stats.failed) * u128::from(MAX_BASIS_POINTS) > u128::from(max_failure_bp) * reported
}

/// The failure rate as people read it (`12.5%`).
pub fn rate_text(stats: RingStats) -> String {
    let reported = stats.installed + stats.failed;
    if reported == 0 {
        return "no reports".into();
    }
    format!("{:.1}%", stats.failed as f64 * 100.0 / reported as f64)
}

/// The next step of a rollout whose current ring `ring` has been approved since
/// `ring_started_at` and must soak for `soak`.
pub fn step(now: OffsetDateTime, ring: &str, ring_started_at: OffsetDateTime, soak: Duration, stats: RingStats, max_failure_bp: u32) -> Step {
    let reported = stats.installed + stats.failed;
    let soaked_at = ring_started_at + soak;
    if now < soaked_at {
        return Step::Wait { until: Some(soaked_at), reason: format!("soaking in '{ring}'") };
    }
    // Judged once the soak time is over, not at the first report: early reports are few, and
    // one failure among the first two would otherwise stop a rollout the ring would have passed.
    if reported > 0 && over_threshold(stats, max_failure_bp) {
        return Step::Halt {
            reason: format!(
                "{} of {reported} computer(s) in '{ring}' failed to install the update ({}), over the {} allowed",
                stats.failed,
                rate_text(stats),
                percent_text(max_failure_bp)
            ),
        };
    }
    if reported == 0 {
        return Step::Wait {
            until: None,
            reason: format!("soak time over; no computer in '{ring}' has reported installing the update yet"),
        };
    }
    Step::Promote
}

/// A threshold in basis points as people write it (`5%`, `2.5%`).
pub fn percent_text(bp: u32) -> String {
    let whole = bp / 100;
    match bp % 100 {
        0 => format!("{whole}%"),
        f if f % 10 == 0 => format!("{whole}.{}%", f / 10),
        f => format!("{whole}.{f:02}%"),
    }
}

/// A failure threshold as written by an administrator: `5%`, `5`, `2.5%`, `0.25%`, from 0 to
/// 100 %, at most two decimals; in basis points.
pub fn parse_percent(s: &str) -> Result<u32, String> {
    let bad = || format!("'{s}' is not a failure threshold; use a percentage from 0% to 100%, e.g. 5% or 2.5%");
    let t = s.trim();
    let t = t.strip_suffix('%').unwrap_or(t).trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty() || whole.len() > 3 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()) || (t.contains('.') && frac.is_empty()) {
        return Err(bad());
    }
    let whole: u32 = whole.parse().map_err(|_| bad())?;
    let frac: u32 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().map_err(|_| bad())? };
    let bp = whole * 100 + frac;
    if bp > MAX_BASIS_POINTS {
        return Err(format!("'{s}' is over 100%"));
    }
    Ok(bp)
}

/// The longest soak time accepted: a year.
const MAX_SOAK_SECS: i64 = 366 * 86_400;

/// A soak time: a number and a unit, `2d`, `36h`, `90m`, `0d` (or several, `1d12h`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("'{s}' is not a duration; use a number with d, h or m (e.g. 2d, 36h, 1d12h)");
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            if digits.len() > 6 {
                return Err(bad());
            }
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            _ => return Err(bad()),
        };
        let n: i64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        total = total.saturating_add(n.saturating_mul(unit));
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    if total > MAX_SOAK_SECS {
        return Err(format!("'{s}' is longer than a year"));
    }
    Ok(Duration::seconds(total))
}

/// A soak time as [`parse_duration`] reads it back (`2d`, `1d12h`, `0d`).
pub fn duration_text(d: Duration) -> String {
    let mut s = d.whole_seconds().max(0);
    if s == 0 {
        return "0d".into();
    }
    let mut out = String::new();
    for (unit, len) in [('d', 86_400), ('h', 3_600), ('m', 60)] {
        if s >= len {
            out.push_str(&format!("{}{unit}", s / len));
            s %= len;
        }
    }
    if out.is_empty() {
        out.push_str("0d");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const START: OffsetDateTime = datetime!(2026-05-01 12:00 UTC);

    fn stats(installed: u64, failed: u64) -> RingStats {
        RingStats { installed, failed }
    }

    #[test]
    fn waits_for_the_soak_time_then_promotes() {
        let soak = Duration::days(2);
        let before = START + soak - Duration::seconds(1);
        assert_eq!(
            step(before, "Pilot", START, soak, stats(10, 0), 500),
            Step::Wait { until: Some(START + soak), reason: "soaking in 'Pilot'".into() }
        );
        assert_eq!(step(START + soak, "Pilot", START, soak, stats(10, 0), 500), Step::Promote);
        assert_eq!(step(START + Duration::days(9), "Pilot", START, soak, stats(1, 0), 0), Step::Promote);
    }

    #[test]
    fn exactly_at_the_threshold_promotes_and_just_over_halts() {
        let soak = Duration::ZERO;
        // 1 of 20 = 5 %.
        assert_eq!(step(START, "Pilot", START, soak, stats(19, 1), 500), Step::Promote);
        // 2 of 21 = 9.5 %.
        assert!(matches!(step(START, "Pilot", START, soak, stats(19, 2), 500), Step::Halt { .. }));
        // 1 of 3 at 33.33 %: 33.33 % < 1/3.
        assert!(over_threshold(stats(2, 1), 3333));
        assert!(!over_threshold(stats(2, 1), 3334));
        // 0 % allows no failure; 100 % allows all.
        assert!(over_threshold(stats(99, 1), 0));
        assert!(!over_threshold(stats(0, 5), MAX_BASIS_POINTS));
    }

    #[test]
    fn failures_halt_once_the_soak_time_is_over() {
        let soak = Duration::days(3);
        assert!(matches!(step(START, "Ring 1", START, soak, stats(1, 3), 500), Step::Wait { .. }));
        let s = step(START + soak, "Ring 1", START, soak, stats(1, 3), 500);
        let Step::Halt { reason } = s else { panic!("{s:?}") };
        assert!(reason.contains("3 of 4") && reason.contains("75.0%") && reason.contains("'Ring 1'") && reason.contains("5%"), "{reason}");
    }

    #[test]
    fn no_reports_after_the_soak_time_waits_instead_of_promoting() {
        let s = step(START + Duration::days(5), "Pilot", START, Duration::days(2), stats(0, 0), 500);
        let Step::Wait { until: None, reason } = s else { panic!("{s:?}") };
        assert!(reason.contains("no computer in 'Pilot'"), "{reason}");
    }

    #[test]
    fn thresholds_parse_from_zero_to_a_hundred_percent() {
        for (s, bp) in [("5%", 500), ("5", 500), ("2.5%", 250), ("0.25 %", 25), ("0%", 0), ("100%", 10_000), (" 12.50% ", 1250)] {
            assert_eq!(parse_percent(s), Ok(bp), "{s}");
        }
        for bad in ["", "%", "-1%", "100.01%", "101%", "5.%", ".5%", "1.234%", "five", "5%%", "1e2", "1000%"] {
            assert!(parse_percent(bad).is_err(), "{bad}");
        }
        assert_eq!(percent_text(500), "5%");
        assert_eq!(percent_text(250), "2.5%");
        assert_eq!(percent_text(25), "0.25%");
    }

    #[test]
    fn durations_parse_with_days_hours_and_minutes() {
        assert_eq!(parse_duration("2d"), Ok(Duration::days(2)));
        assert_eq!(parse_duration("0d"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1d12h"), Ok(Duration::hours(36)));
        assert_eq!(parse_duration("90m"), Ok(Duration::minutes(90)));
        assert_eq!(parse_duration(" 3D "), Ok(Duration::days(3)));
        for bad in ["", "d", "2", "2w", "-1d", "2 d", "1.5d", "400d", "9999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(duration_text(Duration::hours(36)), "1d12h");
        assert_eq!(duration_text(Duration::ZERO), "0d");
        assert_eq!(duration_text(Duration::minutes(90)), "1h30m");
    }
}
