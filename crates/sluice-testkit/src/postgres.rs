//! One PostgreSQL database per test, so tests run in parallel without seeing each other's rows.

use std::io::Write;

use sqlx::Connection;
use uuid::Uuid;

/// A database created for one test; [`TestDatabase::drop_db`] removes it at the end of a
/// passing test (a failing one leaves it for inspection; the CI cluster is thrown away).
pub struct TestDatabase {
    /// Connection URL of the test's own database.
    pub url: String,
    admin_url: String,
    name: String,
}

impl TestDatabase {
    pub async fn drop_db(self) {
        let mut admin = sqlx::PgConnection::connect(&self.admin_url).await.expect("admin connection");
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name)))
            .execute(&mut admin)
            .await
            .expect("drop test database");
    }
}

/// Replaces the database name in a PostgreSQL URL, keeping its query string.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// A fresh database named after `test`, or `None` (the skip is said on stderr) when
/// `SLUICE_TEST_POSTGRES_URL` is not set; with `SLUICE_REQUIRE_POSTGRES=1` that is a failure.
pub async fn database(test: &str) -> Option<TestDatabase> {
    let admin_url = match std::env::var("SLUICE_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => {
            if std::env::var("SLUICE_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("SLUICE_REQUIRE_POSTGRES=1 but SLUICE_TEST_POSTGRES_URL is not set");
            }
            // Straight to the stderr handle: the test harness captures eprintln! of passing
            // tests, and a silent skip is easy to mistake for a pass.
            let _ = writeln!(std::io::stderr(), "skipped: SLUICE_TEST_POSTGRES_URL not set ({test})");
            return None;
        }
    };
    let short: String = test.chars().take(40).collect();
    let name = format!("t_{short}_{}", &Uuid::new_v4().simple().to_string()[..8]);
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.expect("connect to SLUICE_TEST_POSTGRES_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .expect("create test database");
    admin.close().await.expect("close admin connection");
    Some(TestDatabase { url: with_database(&admin_url, &name), admin_url, name })
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_is_replaced_and_the_query_kept() {
        assert_eq!(with_database("postgres://u@h:1/postgres", "t_x"), "postgres://u@h:1/t_x");
        assert_eq!(with_database("postgres://u@h:1/postgres?sslmode=disable", "t"), "postgres://u@h:1/t?sslmode=disable");
        assert_eq!(with_database("postgres://u@h:1", "t"), "postgres://u@h:1/t");
    }
}
