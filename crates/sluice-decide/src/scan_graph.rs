//! The catalog's prerequisite graph in dense form, built once with the index, so that a
//! SyncUpdates page looks only at what the client's installed updates can unlock instead of
//! at every revision of the catalog.
//!
//! An entry is needed by a client only if every one of its prerequisite clauses has an
//! installed member; entries without prerequisites are needed by every client. So each entry
//! with prerequisites "watches" one of its clauses (the most selective one) and is a
//! candidate only when the client installed a member of it: the candidates of a page are the
//! roots plus the watchers of the installed updates, a set that follows the client's own
//! scope, not the catalog's size.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use crate::index::Entry;

/// A fixed-size set of small integers (entry indexes or update slots).
#[derive(Debug, Clone)]
pub struct Bitset(Vec<u64>);

impl Bitset {
    pub fn new(len: usize) -> Bitset {
        Bitset(vec![0; len.div_ceil(64)])
    }

    /// Adds `i`; true if it was not there yet.
    pub fn insert(&mut self, i: usize) -> bool {
        let (w, b) = (i / 64, 1u64 << (i % 64));
        match self.0.get_mut(w) {
            Some(word) if *word & b == 0 => {
                *word |= b;
                true
            }
            _ => false,
        }
    }

    pub fn contains(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1u64 << (i % 64)) != 0)
    }
}

/// Dense prerequisite clauses, watch lists and delivery order of the index entries.
///
/// Every update that can satisfy a prerequisite has a slot: an index entry's slot is its
/// entry index; an update named in a clause but absent from the index (or known only by an
/// older revision) gets a slot after the entries, so a client that reports it installed
/// satisfies the clause exactly as before.
#[derive(Debug, Default)]
pub struct ScanGraph {
    entries: usize,
    extra_slots: HashMap<Uuid, u32>,
    /// Entry `i`'s clauses are `clauses[entry_clauses[i]..entry_clauses[i + 1]]`.
    entry_clauses: Vec<u32>,
    /// Each clause as a range of `members`.
    clauses: Vec<(u32, u32)>,
    members: Vec<u32>,
    /// Entries without prerequisites, in entry order.
    roots: Vec<u32>,
    /// The entries watching slot `s` are `watchers[watch_start[s]..watch_start[s + 1]]`.
    watch_start: Vec<u32>,
    watchers: Vec<u32>,
    /// Each entry's position in delivery order: non-leaf first, then by revision id.
    rank: Vec<u32>,
    /// Category → the entries classified in it, for category-filtered scans.
    in_category: HashMap<Uuid, Vec<u32>>,
}

impl ScanGraph {
    /// `by_update`: the entry of each update in the index; `known_updates`: every update a
    /// revision id names (so an installed older revision finds its slot).
    pub fn build<'a>(
        entries: &[Entry],
        by_update: &HashMap<Uuid, usize>,
        known_updates: impl Iterator<Item = &'a Uuid>,
    ) -> ScanGraph {
        let n = entries.len();
        let mut extra_slots: HashMap<Uuid, u32> = HashMap::new();
        let slot = |u: &Uuid, extra: &mut HashMap<Uuid, u32>| -> u32 {
            if let Some(i) = by_update.get(u) {
                return *i as u32;
            }
            let next = (n + extra.len()) as u32;
            *extra.entry(*u).or_insert(next)
        };
        let mut entry_clauses = Vec::with_capacity(n + 1);
        let mut clauses = Vec::new();
        let mut members = Vec::new();
        let mut roots = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            entry_clauses.push(clauses.len() as u32);
            if e.prerequisites.is_empty() {
                roots.push(i as u32);
            }
            for clause in &e.prerequisites {
                let start = members.len() as u32;
                for m in clause {
                    members.push(slot(m, &mut extra_slots));
                }
                clauses.push((start, members.len() as u32));
            }
        }
        entry_clauses.push(clauses.len() as u32);
        for u in known_updates {
            slot(u, &mut extra_slots);
        }
        let slots = n + extra_slots.len();

        // How many clauses name each slot: an entry watches the clause whose members are named
        // least, so installing a widely required update (a product category) wakes few entries.
        let mut named = vec![0u32; slots];
        for m in &members {
            named[*m as usize] += 1;
        }
        let mut watched: Vec<(u32, u32)> = Vec::new();
        for i in 0..n {
            let own = &clauses[entry_clauses[i] as usize..entry_clauses[i + 1] as usize];
            let best = own
                .iter()
                .min_by_key(|(a, b)| members[*a as usize..*b as usize].iter().map(|m| named[*m as usize] as u64).sum::<u64>());
            // An empty clause can never be satisfied: such an entry is never needed.
            if let Some((a, b)) = best {
                watched.extend(members[*a as usize..*b as usize].iter().map(|m| (*m, i as u32)));
            }
        }
        watched.sort_unstable();
        watched.dedup();
        let mut watch_start = vec![0u32; slots + 1];
        for (s, _) in &watched {
            watch_start[*s as usize + 1] += 1;
        }
        for s in 0..slots {
            watch_start[s + 1] += watch_start[s];
        }
        let watchers = watched.into_iter().map(|(_, i)| i).collect();

        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_by_key(|i| (entries[*i as usize].is_leaf, entries[*i as usize].revision_id));
        let mut rank = vec![0u32; n];
        for (r, i) in order.into_iter().enumerate() {
            rank[i as usize] = r as u32;
        }

        let mut in_category: HashMap<Uuid, Vec<u32>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            for c in &e.categories {
                in_category.entry(*c).or_default().push(i as u32);
            }
        }
        ScanGraph { entries: n, extra_slots, entry_clauses, clauses, members, roots, watch_start, watchers, rank, in_category }
    }

    /// How many slots an installed-updates [`Bitset`] needs.
    pub fn slots(&self) -> usize {
        self.entries + self.extra_slots.len()
    }

    /// The slot of an update, given its entry index if it has one.
    pub fn slot(&self, entry: Option<usize>, update: &Uuid) -> Option<usize> {
        entry.or_else(|| self.extra_slots.get(update).map(|s| *s as usize))
    }

    /// Every prerequisite clause of entry `i` has a member in `installed`.
    pub fn satisfied(&self, i: usize, installed: &Bitset) -> bool {
        let own = &self.clauses[self.entry_clauses[i] as usize..self.entry_clauses[i + 1] as usize];
        own.iter().all(|(a, b)| self.members[*a as usize..*b as usize].iter().any(|m| installed.contains(*m as usize)))
    }

    /// Entries without prerequisites.
    pub fn roots(&self) -> impl Iterator<Item = usize> + '_ {
        self.roots.iter().map(|i| *i as usize)
    }

    /// Entries that may become needed once the update in `slot` is installed.
    pub fn watchers(&self, slot: usize) -> impl Iterator<Item = usize> + '_ {
        let (a, b) = match (self.watch_start.get(slot), self.watch_start.get(slot + 1)) {
            (Some(a), Some(b)) => (*a as usize, *b as usize),
            _ => (0, 0),
        };
        self.watchers[a..b].iter().map(|i| *i as usize)
    }

    /// Entry `i`'s position in delivery order.
    pub fn rank(&self, i: usize) -> u32 {
        self.rank[i]
    }

    /// Entries whose update is in `filter` or that are classified in one of its categories.
    pub fn in_categories(&self, filter: &[Uuid], by_update: impl Fn(&Uuid) -> Option<usize>) -> HashSet<usize> {
        let mut out = HashSet::new();
        for f in filter {
            out.extend(by_update(f));
            if let Some(v) = self.in_category.get(f) {
                out.extend(v.iter().map(|i| *i as usize));
            }
        }
        out
    }
}
