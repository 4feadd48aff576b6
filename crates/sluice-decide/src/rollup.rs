//! Which servers a RollupDownstreamServers may speak for. MS-WSUSSS has the upstream believe
//! the server ids in the body; Sluice takes the reporting downstream's identity (`me`) from
//! its session cookie instead, and lets a batch touch only `me` and the servers below it.

use std::collections::{HashMap, HashSet};

use sluice_wsusss::DownstreamServerRollupInfo;
use uuid::Uuid;

/// The batch is refused whole (as WSUS refuses a batch naming a parent it does not know).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the rollup names servers outside the reporting server's branch")]
pub struct Refused;

/// The batch split by who it speaks for.
#[derive(Debug, Clone, Default)]
pub struct Split<'a> {
    /// The entry a downstream writes for itself (ParentServerId nil, "my parent is you"; or
    /// this server's id; or `me`), stored as `me` whatever its ServerId says: the body
    /// cannot speak for another server.
    pub own: Option<&'a DownstreamServerRollupInfo>,
    /// Entries about `me`'s own downstreams, relayed up the hierarchy: see [`accept_relayed`].
    pub relayed: Vec<&'a DownstreamServerRollupInfo>,
}

/// Splits a batch from `me` to this server (`this`); a nil server id or two entries for
/// itself refuse it.
pub fn split<'a>(me: Uuid, this: Uuid, entries: &'a [DownstreamServerRollupInfo]) -> Result<Split<'a>, Refused> {
    let mut out = Split::default();
    for s in entries {
        if s.server_id.is_nil() {
            return Err(Refused);
        }
        let direct = s.parent_server_id.is_nil() || s.parent_server_id == this;
        if direct || s.server_id == me {
            if out.own.replace(s).is_some() {
                return Err(Refused);
            }
        } else {
            out.relayed.push(s);
        }
    }
    Ok(out)
}

/// The relayed entries, in an order a parent comes before its children, when every one is
/// within `me`'s branch: its parent is `me` or a server already below `me`, and it names
/// neither `me` nor a known server outside the branch. `parents`: every known downstream and
/// its parent.
pub fn accept_relayed<'a>(
    me: Uuid,
    relayed: Vec<&'a DownstreamServerRollupInfo>,
    parents: &HashMap<Uuid, Option<Uuid>>,
) -> Result<Vec<&'a DownstreamServerRollupInfo>, Refused> {
    let below_me = |id: Uuid| {
        let mut seen = HashSet::new();
        let mut cur = id;
        while seen.insert(cur) {
            match parents.get(&cur).copied().flatten() {
                Some(p) if p == me => return true,
                Some(p) => cur = p,
                None => return false,
            }
        }
        false
    };
    let mut branch: HashSet<Uuid> = parents.keys().copied().filter(|id| below_me(*id)).collect();
    branch.insert(me);
    let mut accepted = Vec::new();
    // Entries may come children first: take what fits until nothing more does.
    let mut pending = relayed;
    while !pending.is_empty() {
        let before = pending.len();
        let (fit, rest): (Vec<_>, Vec<_>) = pending.into_iter().partition(|s| {
            branch.contains(&s.parent_server_id)
                && s.server_id != me
                && (!parents.contains_key(&s.server_id) || branch.contains(&s.server_id))
        });
        for s in &fit {
            branch.insert(s.server_id);
        }
        accepted.extend(fit);
        pending = rest;
        if !pending.is_empty() && pending.len() == before {
            return Err(Refused);
        }
    }
    Ok(accepted)
}

#[cfg(test)]
mod tests {
    use super::*;

    const THIS: Uuid = Uuid::from_u128(1);
    const ME: Uuid = Uuid::from_u128(2);
    const MINE: Uuid = Uuid::from_u128(3);
    const OTHER: Uuid = Uuid::from_u128(4);

    fn info(server: Uuid, parent: Uuid) -> DownstreamServerRollupInfo {
        DownstreamServerRollupInfo { server_id: server, parent_server_id: parent, ..Default::default() }
    }

    #[test]
    fn a_downstream_speaks_for_itself_and_its_own_branch_only() {
        let parents = HashMap::from([(ME, None), (MINE, Some(ME)), (OTHER, None)]);
        let new = Uuid::from_u128(5);
        let grandchild = Uuid::from_u128(6);
        // Children first: the grandchild's parent is accepted in the same batch.
        let batch = [info(Uuid::from_u128(99), Uuid::nil()), info(grandchild, new), info(new, MINE)];
        let s = split(ME, THIS, &batch).unwrap();
        assert_eq!(s.own.map(|o| o.server_id), Some(Uuid::from_u128(99)));
        let ok = accept_relayed(ME, s.relayed, &parents).unwrap();
        assert_eq!(ok.iter().map(|s| s.server_id).collect::<Vec<_>>(), [new, grandchild]);
        // A server outside the branch, or `me` relayed under a child, refuses the batch.
        for bad in [info(OTHER, MINE), info(new, OTHER)] {
            let batch = [bad];
            let s = split(ME, THIS, &batch).unwrap();
            assert_eq!(accept_relayed(ME, s.relayed, &parents).map(|v| v.len()), Err(Refused), "{:?}", batch[0]);
        }
        assert!(split(ME, THIS, &[info(Uuid::nil(), THIS)]).is_err(), "nil server id");
        assert!(split(ME, THIS, &[info(ME, THIS), info(MINE, Uuid::nil())]).is_err(), "two entries for itself");
    }
}
