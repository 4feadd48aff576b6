//! The two-backend harness shared by the store's contract suites: every test body runs
//! against SQLite (a fresh temp file each) and against PostgreSQL when
//! `SLUICE_TEST_POSTGRES_URL` points at a server (each test gets its own database). With
//! `SLUICE_REQUIRE_POSTGRES=1` a missing URL fails the PostgreSQL variants instead of skipping.

#![allow(dead_code)]

use sluice_store::*;

pub async fn sqlite_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/sub/dir/sluice.db", dir.path().display());
    let store = Store::open(&url).await.expect("open sqlite");
    assert_eq!(store.backend(), Backend::Sqlite);
    (store, dir)
}

/// A per-test PostgreSQL database with the store opened on it, dropped at the end of a passing
/// test.
pub struct PgDb {
    pub store: Store,
    pub url: String,
    db: sluice_testkit::postgres::TestDatabase,
}

impl PgDb {
    pub async fn drop_db(self) {
        self.store.close().await;
        self.db.drop_db().await;
    }
}

pub async fn pg_store(test: &str) -> Option<PgDb> {
    let db = sluice_testkit::postgres::database(test).await?;
    let store = Store::open(&db.url).await.expect("open postgres");
    assert_eq!(store.backend(), Backend::Postgres);
    Some(PgDb { store, url: db.url.clone(), db })
}

/// What a test body gets: the store, and a way to open the same database again.
pub struct Env {
    pub store: Store,
    pub url: String,
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (store, dir) = super::sqlite_store().await;
                    let url = format!("sqlite://{}/sub/dir/sluice.db", dir.path().display());
                    super::$name(super::Env { store, url }).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = super::pg_store(stringify!($name)).await else {
                        return;
                    };
                    let env = super::Env { store: db.store.clone(), url: db.url.clone() };
                    super::$name(env).await;
                    db.drop_db().await;
                }
            )*
        }
    };
}

