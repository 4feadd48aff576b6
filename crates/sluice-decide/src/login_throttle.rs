//! When failed console logins stop being accepted: after `max_failures` failures within
//! `window`, for one user name or from one address, the next attempt waits until the oldest of
//! them leaves the window. Fed the failure times and `now`; the server keeps the times.

use time::{Duration, OffsetDateTime};

/// How many failures, within how long, close the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    pub max_failures: usize,
    pub window: Duration,
}

impl Default for Throttle {
    /// Five failures in fifteen minutes.
    fn default() -> Self {
        Throttle { max_failures: 5, window: Duration::minutes(15) }
    }
}

impl Throttle {
    /// The failures still inside the window at `now` (older ones can be forgotten).
    pub fn recent(&self, failures: &[OffsetDateTime], now: OffsetDateTime) -> usize {
        failures.iter().filter(|&&t| now - t < self.window).count()
    }

    /// How long the next attempt must wait, or `None` when it may go ahead. `failures` in any
    /// order.
    pub fn retry_after(&self, failures: &[OffsetDateTime], now: OffsetDateTime) -> Option<Duration> {
        let mut recent: Vec<OffsetDateTime> = failures.iter().copied().filter(|&t| now - t < self.window).collect();
        if self.max_failures == 0 || recent.len() < self.max_failures {
            return None;
        }
        recent.sort();
        // The attempt may go ahead once only max_failures - 1 of them are left in the window.
        let gate = recent[recent.len() - self.max_failures];
        Some((gate + self.window - now).max(Duration::seconds(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn five_failures_in_fifteen_minutes_close_the_door_until_the_oldest_ages_out() {
        let t = Throttle::default();
        let start = datetime!(2026-12-07 10:00 UTC);
        let mut failures = Vec::new();
        for i in 0..4 {
            failures.push(start + Duration::minutes(i));
            assert_eq!(t.retry_after(&failures, start + Duration::minutes(i)), None, "after {} failures", i + 1);
        }
        failures.push(start + Duration::minutes(4));
        let now = start + Duration::minutes(5);
        assert_eq!(t.retry_after(&failures, now), Some(Duration::minutes(10)));
        assert_eq!(t.retry_after(&failures, start + Duration::minutes(14) + Duration::seconds(59)), Some(Duration::seconds(1)));
        assert_eq!(t.retry_after(&failures, start + Duration::minutes(15)), None);
        assert_eq!(t.recent(&failures, start + Duration::minutes(15)), 4);
        // Order does not matter; six failures wait for the second oldest.
        failures.push(start + Duration::minutes(5));
        failures.reverse();
        assert_eq!(t.retry_after(&failures, start + Duration::minutes(15)), Some(Duration::minutes(1)));
    }
}
