//! Coordination of several front ends on one database: job leases (one node at a time runs a
//! background job) and change announcements (an approval made on one node reaches the
//! clients of the others at once).
//!
//! A lease is a row per job name with its holder and an expiry in unix milliseconds. Taking it
//! is one upsert that succeeds only when the row is free, expired, or already ours (same
//! node: a restarted process of the same data directory takes its own lease over without
//! waiting for the dead one's to expire). [`Lease`] renews it in the background and cancels
//! its [`Lease::lost`] token when it can no longer be sure it holds it, so the job stops
//! before another node starts it.
//!
//! Announcements use PostgreSQL's LISTEN/NOTIFY. On SQLite (one machine, usually one process)
//! there is nothing to announce: other processes notice changes by the version poll.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::codec::RowExt;
use crate::error::Result;
use crate::{Inner, Store};

/// How long a lease lasts without renewal: how long a crashed node's job waits before another
/// node takes it over.
pub const LEASE_TTL: Duration = Duration::from_secs(15);

/// How often a holder renews: three chances before the lease runs out.
const RENEW_EVERY: Duration = Duration::from_secs(5);

/// The PostgreSQL channel of [`Store::announce_change`].
const CHANGES_CHANNEL: &str = "sluice_changes";

/// Who holds a lease: the node (a front end's data directory on its host) and the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    /// Stable across restarts of the same front end.
    pub node: String,
    /// Unique to this process.
    pub process: String,
}

/// A lease as stored, for status views.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRecord {
    /// The job it guards.
    pub name: String,
    /// The front end holding it.
    pub node: String,
    /// The holding process.
    pub holder: String,
    /// When it runs out unless renewed (unix milliseconds).
    pub expires_ms: i64,
}

fn unix_ms_now() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

impl Store {
    /// Takes or renews the lease `name` for `who` until `now + ttl`. `false` when another
    /// process holds it and it has not expired.
    pub async fn try_lease(&self, name: &str, who: &LeaseHolder, ttl: Duration) -> Result<bool> {
        const SQL: &str = "INSERT INTO job_leases (name, node, holder, expires_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET node = excluded.node, holder = excluded.holder, \
             expires_ms = excluded.expires_ms \
             WHERE job_leases.holder = excluded.holder OR job_leases.node = excluded.node \
             OR job_leases.expires_ms < $5";
        let now = unix_ms_now();
        let until = now.saturating_add(ttl.as_millis() as i64);
        let taken = on_write!(self, db => {
            sqlx::query(SQL).bind(name).bind(&who.node).bind(&who.process).bind(until).bind(now)
                .execute(db).await?.rows_affected()
        });
        Ok(taken == 1)
    }

    /// Gives the lease up if `who` still holds it.
    pub async fn release_lease(&self, name: &str, who: &LeaseHolder) -> Result<()> {
        const SQL: &str = "DELETE FROM job_leases WHERE name = $1 AND holder = $2";
        on_write!(self, db => { sqlx::query(SQL).bind(name).bind(&who.process).execute(db).await?; });
        Ok(())
    }

    /// Every lease currently recorded (expired ones included), by name.
    pub async fn leases(&self) -> Result<Vec<LeaseRecord>> {
        const SQL: &str = "SELECT name, node, holder, expires_ms FROM job_leases ORDER BY name";
        on_read!(self, db => {
            let rows = sqlx::query(SQL).fetch_all(db).await?;
            rows.iter()
                .map(|r| Ok(LeaseRecord { name: r.text("name")?, node: r.text("node")?, holder: r.text("holder")?, expires_ms: r.big("expires_ms")? }))
                .collect()
        })
    }

    /// Tells the other front ends on this database that something their clients see changed
    /// (`what` travels as the payload). Nothing to do on SQLite.
    pub async fn announce_change(&self, what: &str) -> Result<()> {
        if let Inner::Postgres { pool } = &self.inner {
            sqlx::query("SELECT pg_notify($1, $2)").bind(CHANGES_CHANNEL).bind(what).execute(pool).await?;
        }
        Ok(())
    }

    /// Subscribes to [`Store::announce_change`]; `None` on SQLite.
    pub async fn listen_changes(&self) -> Result<Option<ChangeListener>> {
        match &self.inner {
            Inner::Postgres { pool } => {
                let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
                listener.listen(CHANGES_CHANNEL).await?;
                Ok(Some(ChangeListener(listener)))
            }
            Inner::Sqlite { .. } => Ok(None),
        }
    }
}

/// The announcements of every front end on the database (this one's included).
pub struct ChangeListener(sqlx::postgres::PgListener);

impl ChangeListener {
    /// The next announcement's payload; `None` when the connection was lost (it reconnects on
    /// the next call), so announcements may have been missed meanwhile.
    pub async fn next(&mut self) -> Result<Option<String>> {
        Ok(self.0.try_recv().await?.map(|n| n.payload().to_owned()))
    }
}

/// A lease held by this process and renewed in the background until released or dropped.
pub struct Lease {
    store: Store,
    name: String,
    who: LeaseHolder,
    lost: CancellationToken,
    renewer: Option<JoinHandle<()>>,
}

impl Lease {
    /// Takes the lease `name` unless another front end holds it.
    pub async fn try_take(store: &Store, name: &str, who: &LeaseHolder) -> Result<Option<Lease>> {
        if !store.try_lease(name, who, LEASE_TTL).await? {
            return Ok(None);
        }
        let lost = CancellationToken::new();
        let renewer = tokio::spawn(renew(store.clone(), name.to_owned(), who.clone(), lost.clone()));
        Ok(Some(Lease { store: store.clone(), name: name.to_owned(), who: who.clone(), lost, renewer: Some(renewer) }))
    }

    /// Cancelled once this process can no longer be sure it holds the lease (another node
    /// took it, or renewal failed until it ran out): whatever runs under it must stop.
    pub fn lost(&self) -> CancellationToken {
        self.lost.clone()
    }

    /// Stops renewing and frees the lease for the other front ends at once.
    pub async fn release(mut self) {
        if let Some(r) = self.renewer.take() {
            r.abort();
        }
        if let Err(e) = self.store.release_lease(&self.name, &self.who).await {
            // It runs out by itself.
            tracing::warn!(lease = %self.name, error = %e, "cannot release the lease");
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(r) = self.renewer.take() {
            r.abort();
            // Dropped without release (an early return or a panic): free it in the background
            // if a runtime is still there; otherwise it runs out by itself.
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let (store, name, who) = (self.store.clone(), self.name.clone(), self.who.clone());
                rt.spawn(async move {
                    let _ = store.release_lease(&name, &who).await;
                });
            }
        }
    }
}

async fn renew(store: Store, name: String, who: LeaseHolder, lost: CancellationToken) {
    // Held surely until then: the last successful renewal's expiry, less a margin for clocks.
    let mut sure_until = tokio::time::Instant::now() + LEASE_TTL - RENEW_EVERY;
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        match store.try_lease(&name, &who, LEASE_TTL).await {
            Ok(true) => sure_until = tokio::time::Instant::now() + LEASE_TTL - RENEW_EVERY,
            Ok(false) => {
                tracing::warn!(lease = %name, "another front end took the lease over");
                lost.cancel();
                return;
            }
            Err(e) => {
                tracing::warn!(lease = %name, error = %e, "cannot renew the lease");
                if tokio::time::Instant::now() >= sure_until {
                    lost.cancel();
                    return;
                }
            }
        }
    }
}
