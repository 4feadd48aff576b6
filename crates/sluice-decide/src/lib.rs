//! What a WSUS decides: what each client and downstream server is offered, and what a report
//! changes. Sans-I/O: fed plain records (catalog entries, groups, approvals, events), returns
//! plain decisions; the server loads the records and stores the results.
//!
//! Invariant: nothing here touches the store, the catalog service, an async runtime, a
//! database or an HTTP stack (`crates/sluice/tests/architecture.rs` checks the dependency
//! tree); the time of day comes in as a `now` argument, and randomness is used only for
//! cookie nonces. Its vocabulary is shared, not copied: approval actions and reported states
//! are `sluice-api`'s, deployment actions `sluice-soap`'s, the upstream role's answers
//! `sluice-wsusss`'s.
//!
//! - `targeting`: approval inheritance over the computer-group tree, group membership,
//!   removals and effective approvals;
//! - `index`: the in-memory catalog as clients see it (latest revisions, graph facts, escaped
//!   fragments);
//! - `scope`: the deployment of every revision for one set of computer groups;
//! - `sync`: the SyncUpdates algorithm, over `scan_graph` (the dense prerequisite graph);
//! - `events`: what a client's event reports change (events in, status changes out);
//! - `cookie`: the sealed client and authorization cookies;
//! - `upstream`: what this server offers downstream servers (revision lists, anchors, replica
//!   deployments, languages);
//! - `session_cookie`: the downstream servers' authorization and session cookies;
//! - `rollup`: which downstream servers a rollup may speak for;
//! - `approval_rules`: which updates an automatic approval rule approves, and its deadline;
//! - `rollouts`: when a staged rollout moves to its next ring, waits or halts.
//! - `login_throttle`: when failed admin logins stop being accepted.
//! - `cleanup`: what a cleanup run declines, deletes and removes, and when it is due;
//! - `notify`: the e-mail notifications' text, and when the status report is due.

pub mod approval_rules;
pub mod cleanup;
pub mod cookie;
pub mod events;
pub mod index;
pub mod login_throttle;
pub mod notify;
pub mod rollouts;
pub mod rollup;
pub mod scan_graph;
pub mod scope;
pub mod session_cookie;
pub mod sync;
pub mod targeting;
pub mod upstream;

use time::OffsetDateTime;

/// A time as the milliseconds since 1970 that cookies, watermarks and deployment ids carry.
pub fn unix_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The time [`unix_ms`] gave; `None` outside the range `time` represents.
pub fn from_unix_ms(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).ok()
}
