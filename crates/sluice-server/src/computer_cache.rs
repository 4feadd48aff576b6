//! What SyncUpdates needs to know about a computer from the store (that it is registered, and
//! the groups it is assigned to), kept for the computers seen lately so that the dozen pages
//! of a scan read the store once, or not at all after RegisterComputer.
//!
//! Emptied by every change this process makes through the admin API, cleanup or rollouts (the
//! scan state's `invalidate`) and when the snapshot is rebuilt for a change made elsewhere; a
//! re-registration replaces its computer's entry. An entry also lives at most [`MAX_AGE`], which
//! bounds how long a change made by another server sharing the database (a computer moved or
//! removed there) goes unseen here.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

/// How long an entry is trusted: longer than a scan's pages take, short enough that a change
/// made through another server is seen soon.
pub const MAX_AGE: Duration = Duration::from_secs(30);

/// Computers remembered at most (about 150 bytes each).
pub const MAX_COMPUTERS: usize = 50_000;

struct Known {
    /// Read under server-side targeting; under client-side targeting the store's groups are
    /// not read and `assigned` is empty.
    server_side: bool,
    /// The groups the store assigns it to.
    assigned: Vec<Uuid>,
    at: Instant,
}

/// A registered computer's assignments, as last read from the store.
#[derive(Default)]
pub struct ComputerCache {
    known: Mutex<HashMap<String, Known>>,
    /// Moves on with every clear: a store read that started before a clear must not put what
    /// it read back afterwards.
    generation: AtomicU64,
}

impl ComputerCache {
    /// The generation to hand to [`ComputerCache::remember`] for a read starting now.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Whether the computer was seen registered lately.
    pub fn is_registered(&self, computer_id: &str) -> bool {
        self.known.lock().is_ok_and(|known| known.get(computer_id).is_some_and(|k| k.at.elapsed() < MAX_AGE))
    }

    /// The assigned groups of a computer seen registered lately, read under the same
    /// targeting mode.
    pub fn assigned(&self, computer_id: &str, server_side: bool) -> Option<Vec<Uuid>> {
        let known = self.known.lock().ok()?;
        known.get(computer_id).filter(|k| k.at.elapsed() < MAX_AGE && k.server_side == server_side).map(|k| k.assigned.clone())
    }

    /// Records what the store said about a registered computer, read since `generation`.
    pub fn remember(&self, generation: u64, computer_id: &str, server_side: bool, assigned: Vec<Uuid>) {
        let Ok(mut known) = self.known.lock() else { return };
        // Checked under the lock that `clear` also takes: either the clear came first and this
        // read may be stale, or it comes after and removes this entry too.
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        if known.len() >= MAX_COMPUTERS && !known.contains_key(computer_id) {
            known.retain(|_, k| k.at.elapsed() < MAX_AGE);
            if known.len() >= MAX_COMPUTERS {
                known.clear();
            }
        }
        known.insert(computer_id.to_string(), Known { server_side, assigned, at: Instant::now() });
    }

    /// Forgets one computer (re-registered, removed).
    pub fn forget(&self, computer_id: &str) {
        if let Ok(mut known) = self.known.lock() {
            self.generation.fetch_add(1, Ordering::SeqCst);
            known.remove(computer_id);
        }
    }

    /// Forgets every computer: memberships, groups or the targeting mode may have changed.
    pub fn clear(&self) {
        match self.known.lock() {
            Ok(mut known) => {
                self.generation.fetch_add(1, Ordering::SeqCst);
                known.clear();
            }
            Err(_) => {
                self.generation.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_that_started_before_a_clear_is_not_kept() {
        let cache = ComputerCache::default();
        let g = cache.generation();
        cache.remember(g, "a", true, vec![Uuid::from_u128(1)]);
        assert_eq!(cache.assigned("a", true), Some(vec![Uuid::from_u128(1)]));
        assert_eq!(cache.assigned("a", false), None, "read under the other targeting mode");
        assert!(cache.is_registered("a"));
        let before = cache.generation();
        cache.clear();
        assert_eq!(cache.assigned("a", true), None);
        cache.remember(before, "a", true, vec![Uuid::from_u128(2)]);
        assert_eq!(cache.assigned("a", true), None, "read before the clear");
        assert!(!cache.is_registered("a"));
        let g = cache.generation();
        cache.remember(g, "b", false, vec![]);
        cache.forget("b");
        assert!(!cache.is_registered("b"));
    }
}
