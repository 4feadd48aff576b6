//! sluice-store: Sluice's persistence, one repository over SQLite (default) and PostgreSQL.
//!
//! Every query is written once in the SQL subset both backends accept (`$n` placeholders
//! numbered in order of first appearance, `ON CONFLICT … DO …`, `RETURNING`) and expanded for
//! each pool type by the `on_read!`/`on_write!`/`in_tx!` macros below. Values are stored in
//! portable forms: UUIDs as lowercase TEXT, timestamps as fixed-width RFC 3339 UTC TEXT with
//! microsecond precision (see [`to_stored_precision`]), booleans as BOOLEAN.
//!
//! SQLite runs in WAL mode with a single-connection writer pool (every write transaction
//! starts with `BEGIN IMMEDIATE`) and a separate pool of query-only readers, so concurrent
//! writers queue inside the process instead of failing with `SQLITE_BUSY`; `busy_timeout`
//! covers other processes. Batch ingest (`insert_revisions`) uses generated multi-row
//! statements, see `ingest.rs`.
//!
//! Migrations live in `migrations/sqlite` and `migrations/postgres` (same schema, two
//! dialects) and are embedded; applied migrations must never be edited (sqlx checks their
//! checksums), add a new numbered file instead, to both folders.
//!
//! Tests: `cargo test -p sluice-store` runs the contract suite on SQLite and skips the
//! PostgreSQL variants unless `SLUICE_TEST_POSTGRES_URL` is set (`SLUICE_REQUIRE_POSTGRES=1`
//! turns the skip into a failure). A throw-away server: `.ci/pg.sh start DIR PORT` prints
//! the URL, `.ci/pg.sh stop DIR` stops it.

#![warn(missing_docs)]

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// Runs `$body` with `$db` bound to the pool that serves reads.
macro_rules! on_read {
    ($store:expr, $db:ident => $body:expr) => {
        match &$store.inner {
            $crate::Inner::Sqlite { reader: $db, .. } => $body,
            $crate::Inner::Postgres { pool: $db } => $body,
        }
    };
}

/// Runs a single-statement write `$body` with `$db` bound to the pool that serves writes.
macro_rules! on_write {
    ($store:expr, $db:ident => $body:expr) => {
        match &$store.inner {
            $crate::Inner::Sqlite { writer: $db, .. } => $body,
            $crate::Inner::Postgres { pool: $db } => $body,
        }
    };
}

/// Runs `$body` inside a write transaction bound to `$tx` and commits it if `$body` finishes;
/// an early return (`?`) drops the transaction, which rolls it back. An audit entry pending
/// for the running change (see `audit_scope`) is inserted just before the commit.
macro_rules! in_tx {
    ($store:expr, $tx:ident => $body:expr) => {
        match &$store.inner {
            $crate::Inner::Sqlite { writer, .. } => {
                // IMMEDIATE takes the write lock up front: a deferred transaction that reads
                // first and writes later can fail with SQLITE_BUSY against another process.
                #[allow(unused_mut)]
                let mut $tx = writer.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                commit_with_audit!($tx);
                out
            }
            $crate::Inner::Postgres { pool } => {
                #[allow(unused_mut)]
                let mut $tx = pool.begin().await?;
                let out = $body;
                commit_with_audit!($tx);
                out
            }
        }
    };
}

/// The end of an `in_tx!` body: the pending audit entry, if any, then `COMMIT`. On failure the
/// entry goes back to pending (the change did not happen) and the error is returned.
macro_rules! commit_with_audit {
    ($tx:ident) => {
        let pending = $crate::audit_scope::take_pending();
        if let Some(entry) = &pending {
            if let Err(e) = $crate::audit_scope::insert_pending_audit!($tx, entry) {
                $crate::audit_scope::restore_pending(entry.clone());
                return Err(e.into());
            }
        }
        if let Err(e) = $tx.commit().await {
            if let Some(entry) = pending {
                $crate::audit_scope::restore_pending(entry);
            }
            return Err($crate::StoreError::from(e).into());
        }
    };
}

mod audit_scope;
mod codec;
mod error;
mod private;
mod types;

mod admin;
mod approvals;
mod automation;
mod catalog;
mod computers;
mod consistency;
mod ingest;
mod jobs;
mod leases;
mod licenses;
mod setting_values;
pub mod settings;
mod reports;
mod status;
mod summary;
mod trusted;
mod upkeep;
pub mod downstreams;
// Upstream sync (sluice-sync): file URLs.
mod sync_files;

pub use automation::*;
pub use admin::{ADMINISTRATOR_ROLE, SESSION_IDLE};
pub use audit_scope::{AuditOutcome, amend_pending, audited, unaudited};
pub use codec::to_stored_precision;
pub use reports::{CompliancePage, ComputerScope, ComputerState, UpdateCompliance, UpdateComputersPage};
pub use error::{Result, StoreError};
pub use leases::{ChangeListener, LEASE_TTL, Lease, LeaseHolder, LeaseRecord};
pub use summary::{FleetStanding, GroupStanding};
pub use trusted::TrustedServer;
pub use setting_values::*;
pub use settings::{Setting, SettingValue};
pub use types::*;
pub use upkeep::*;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (single file, the default).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

#[derive(Debug, Clone)]
enum Inner {
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
    },
    Postgres {
        pool: PgPool,
    },
}

/// The repository. Cheap to clone (pools are shared).
#[derive(Debug, Clone)]
pub struct Store {
    inner: Inner,
}

/// How long a SQLite connection waits for a lock held by another process.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Readers for a file database; the machine class has two cores.
const SQLITE_READERS: u32 = 4;
/// Connections to PostgreSQL.
const POSTGRES_CONNECTIONS: u32 = 10;

impl Store {
    /// Opens (creating if needed) the database at `url` and applies pending migrations.
    ///
    /// Accepted URLs: `sqlite://PATH`, `sqlite:PATH`, `sqlite::memory:`, `postgres://…`,
    /// `postgresql://…`.
    pub async fn open(url: &str) -> Result<Store> {
        if url.starts_with("sqlite:") {
            Self::open_sqlite(url).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::open_postgres(url).await
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }

    async fn open_sqlite(url: &str) -> Result<Store> {
        let base = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::UnsupportedUrl(format!("{}: {e}", redact_url(url))))?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Normal);

        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if in_memory {
            // An in-memory database lives only as long as a connection to it: keep exactly
            // one connection open forever and use it for reads and writes alike.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(base)
                .await?;
            SQLITE_MIGRATIONS.run(&pool).await?;
            return Ok(Store {
                inner: Inner::Sqlite {
                    writer: pool.clone(),
                    reader: pool,
                },
            });
        }

        // Left to SQLite, the files would be created 0644 (less the umask).
        let path = base.get_filename().to_owned();
        {
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                private::create_parent(&path)?;
                private::prepare_database_file(&path)?;
                private::narrow_companions(&path)
            })
            .await
            .map_err(std::io::Error::other)??;
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            // A large import holds the only writer for a while; queue behind it rather than
            // failing fast.
            .acquire_timeout(Duration::from_secs(300))
            .connect_with(base.clone().journal_mode(SqliteJournalMode::Wal))
            .await?;
        private::narrow_companions(&path)?;
        SQLITE_MIGRATIONS.run(&writer).await?;
        // Readers open after the writer switched the file to WAL (a persistent setting), and
        // are query-only so a misrouted write fails loudly instead of racing the writer.
        let reader = SqlitePoolOptions::new()
            .max_connections(SQLITE_READERS)
            .connect_with(base.pragma("query_only", "ON"))
            .await?;
        Ok(Store {
            inner: Inner::Sqlite { writer, reader },
        })
    }

    async fn open_postgres(url: &str) -> Result<Store> {
        // One connection first: an unreachable server or a refused login fails at once with
        // its own error, not after the pool's acquire timeout.
        use sqlx::Connection as _;
        sqlx::postgres::PgConnection::connect(url).await?.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(POSTGRES_CONNECTIONS)
            .connect(url)
            .await?;
        POSTGRES_MIGRATIONS.run(&pool).await?;
        Ok(Store {
            inner: Inner::Postgres { pool },
        })
    }

    /// Whether the database answers a query (readiness probes).
    pub async fn ping(&self) -> Result<()> {
        on_read!(self, db => {
            let _: i32 = sqlx::query_scalar("SELECT 1").fetch_one(db).await?;
        });
        Ok(())
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::Sqlite { .. } => Backend::Sqlite,
            Inner::Postgres { .. } => Backend::Postgres,
        }
    }

    /// Closes every connection; later calls fail. Waits for checked-out connections.
    pub async fn close(&self) {
        match &self.inner {
            Inner::Sqlite { writer, reader } => {
                reader.close().await;
                writer.close().await;
            }
            Inner::Postgres { pool } => pool.close().await,
        }
    }
}

/// Drops the password from a URL before it goes into an error message.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{Inner, Store, redact_url};

    #[tokio::test]
    async fn sqlite_readers_are_query_only() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/db.sqlite", dir.path().display());
        let store = Store::open(&url).await.unwrap();
        let Inner::Sqlite { reader, writer } = &store.inner else {
            panic!("expected sqlite");
        };
        // A write routed to the read pool by mistake fails instead of racing the writer.
        let err = sqlx::query("INSERT INTO settings (key, value) VALUES ('k', 'v')")
            .execute(reader)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("readonly"), "{err}");
        sqlx::query("INSERT INTO settings (key, value) VALUES ('k', 'v')")
            .execute(writer)
            .await
            .unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(reader)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(writer)
            .await
            .unwrap();
        assert_eq!(fk, 1);
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("mysql://x"), "mysql://x");
    }
}
