//! Failed console logins, per user name and per address, kept in memory: after too many, the
//! next attempt is answered 429 with `Retry-After` (the decision is
//! `sluice_decide::login_throttle`). A restart forgets them, which costs an attacker a restart
//! of the server per window, not a way in.

use std::collections::HashMap;
use std::sync::Mutex;

use sluice_decide::login_throttle::Throttle;
use time::{Duration, OffsetDateTime};

/// Names and addresses remembered at most; beyond, those with no failure inside the window are
/// dropped first, and if that is not enough, the whole table (an attacker spraying names could
/// otherwise grow it without bound).
const MAX_KEYS: usize = 20_000;

#[derive(Default)]
pub struct LoginLimiter {
    throttle: Throttle,
    failures: Mutex<Failures>,
}

#[derive(Default)]
struct Failures {
    by_user: HashMap<String, Vec<OffsetDateTime>>,
    by_address: HashMap<String, Vec<OffsetDateTime>>,
}

impl LoginLimiter {
    pub fn new(throttle: Throttle) -> LoginLimiter {
        LoginLimiter { throttle, failures: Mutex::default() }
    }

    /// How long an attempt for `user` from `address` must wait, or `None`.
    pub fn retry_after(&self, user: &str, address: Option<&str>, now: OffsetDateTime) -> Option<Duration> {
        let f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let of = |m: &HashMap<String, Vec<OffsetDateTime>>, k: Option<&str>| {
            k.and_then(|k| m.get(k)).and_then(|times| self.throttle.retry_after(times, now))
        };
        let (u, a) = (of(&f.by_user, Some(&user.to_lowercase())), of(&f.by_address, address));
        u.into_iter().chain(a).max()
    }

    pub fn failed(&self, user: &str, address: Option<&str>, now: OffsetDateTime) {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let throttle = self.throttle;
        let note = |m: &mut HashMap<String, Vec<OffsetDateTime>>, k: String| {
            if m.len() >= MAX_KEYS && !m.contains_key(&k) {
                m.retain(|_, times| throttle.recent(times, now) > 0);
                if m.len() >= MAX_KEYS {
                    m.clear();
                }
            }
            let times = m.entry(k).or_default();
            times.retain(|&t| now - t < throttle.window);
            times.push(now);
        };
        note(&mut f.by_user, user.to_lowercase());
        if let Some(a) = address {
            note(&mut f.by_address, a.to_string());
        }
    }

    /// A successful login forgets the user's failures (not the address's: one right password
    /// from an address does not excuse its guesses at other names).
    pub fn succeeded(&self, user: &str) {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        f.by_user.remove(&user.to_lowercase());
    }
}
