//! Several `sluice serve` processes (front ends) on one PostgreSQL database and one content
//! store: who this front end is for the job leases, and the announcements that carry a change
//! made through one front end's admin API to the scan state of the others at once (the
//! version poll of `scan_state.rs` stays as the fallback).

use std::path::Path;
use std::time::Duration;

use sluice_store::{LeaseHolder, Store};
use tokio_util::sync::CancellationToken;

use crate::scan_state::ScanState;

/// The leases of the background jobs that run on one front end at a time.
pub mod lease {
    /// Queued and scheduled syncs, the downloads of approved and requested files, rollups.
    pub use sluice_sync::SYNC_LEASE as SYNC;
    /// The cleanup (scheduled or asked for).
    pub const CLEANUP: &str = "cleanup";
    /// The staged rollouts' evaluation.
    pub const ROLLOUTS: &str = "rollouts";
    /// The daily cleanup's schedule and the e-mail notifications.
    pub const MAINTENANCE: &str = "maintenance";
}

/// This process as a lease holder: the node is the host and the data directory (stable across
/// restarts, so a restarted front end takes its own leases over at once), the process a fresh
/// id.
pub fn holder(data_dir: &Path) -> LeaseHolder {
    let dir = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    LeaseHolder { node: format!("{}:{}", host_name(), dir.display()), process: uuid::Uuid::new_v4().to_string() }
}

/// The host's name, as mails and leases show it.
pub fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "server".into())
}

/// Tells the other front ends that what clients see changed; they rebuild their snapshot
/// before their next client request. Runs in the background: the admin answer does not wait
/// for it, and a failure only leaves the others to their version poll.
pub fn announce(store: &Store, who: &LeaseHolder) {
    let (store, me) = (store.clone(), who.process.clone());
    tokio::spawn(async move {
        if let Err(e) = store.announce_change(&me).await {
            tracing::warn!(error = %e, "cannot announce a change to the other front ends");
        }
    });
}

/// Listens for the other front ends' announcements until `stop`; nothing to do on SQLite.
pub fn spawn_listener(store: Store, scan: std::sync::Arc<ScanState>, who: LeaseHolder, stop: CancellationToken) {
    tokio::spawn(async move {
        let mut listener = loop {
            match store.listen_changes().await {
                Ok(Some(l)) => break l,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for the other front ends' changes; retrying");
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(5)) => continue,
                    }
                }
            }
        };
        loop {
            let next = tokio::select! {
                _ = stop.cancelled() => return,
                n = listener.next() => n,
            };
            match next {
                Ok(Some(from)) if from == who.process => {}
                Ok(Some(_)) => refresh(&scan).await,
                // Reconnecting: an announcement may have been missed.
                Ok(None) => refresh(&scan).await,
                Err(e) => {
                    tracing::warn!(error = %e, "lost the other front ends' announcements; reconnecting");
                    refresh(&scan).await;
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
    });
}

async fn refresh(scan: &ScanState) {
    tracing::debug!("another front end changed what clients see");
    scan.invalidate();
    if let Err(e) = scan.reload_config().await {
        tracing::warn!(error = %e, "cannot reread the client configuration change time");
    }
}
