//! Trusted servers: other Sluice servers this one administers through their admin API. The
//! token is stored sealed (the server crate seals it with a key outside the database); the
//! store only keeps the bytes.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::Store;
use crate::codec::{RowExt, now, ts, uuid_str};
use crate::error::{Result, StoreError};

/// A trusted server as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedServer {
    /// What this server calls it.
    pub name: String,
    /// Its admin listener's base URL.
    pub url: String,
    /// The API token it issued, sealed (base64 text).
    pub token_sealed: String,
    /// Its server id, pinned when added.
    pub server_id: Uuid,
    /// SHA-256 (hex) of its TLS certificate, pinned when added over HTTPS.
    pub certificate_sha256: Option<String>,
    /// PEM certificates to trust for it.
    pub ca_cert: Option<String>,
    /// Who added it.
    pub added_by: String,
    /// When.
    pub added_at: OffsetDateTime,
}

const COLS: &str = "name, url, token_sealed, server_id, certificate_sha256, ca_cert, added_by, added_at";

fn decode<R: RowExt>(r: &R) -> Result<TrustedServer> {
    Ok(TrustedServer {
        name: r.text("name")?,
        url: r.text("url")?,
        token_sealed: r.text("token_sealed")?,
        server_id: r.uuid("server_id")?,
        certificate_sha256: r.opt_text("certificate_sha256")?,
        ca_cert: r.opt_text("ca_cert")?,
        added_by: r.text("added_by")?,
        added_at: r.time("added_at")?,
    })
}

impl Store {
    /// Records a trusted server; `Conflict` when the name is taken (in any case).
    pub async fn add_trusted_server(&self, s: &TrustedServer) -> Result<()> {
        let at = ts(now())?;
        in_tx!(self, tx => {
            sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO trusted_servers ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")))
                .bind(&s.name)
                .bind(&s.url)
                .bind(&s.token_sealed)
                .bind(uuid_str(&s.server_id))
                .bind(s.certificate_sha256.as_deref())
                .bind(s.ca_cert.as_deref())
                .bind(&s.added_by)
                .bind(&at)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Every trusted server, by name.
    pub async fn trusted_servers(&self) -> Result<Vec<TrustedServer>> {
        let sql = format!("SELECT {COLS} FROM trusted_servers ORDER BY lower(name)");
        on_read!(self, db => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(db).await?;
            rows.iter().map(decode).collect()
        })
    }

    /// One trusted server by name (any case).
    pub async fn trusted_server(&self, name: &str) -> Result<Option<TrustedServer>> {
        let sql = format!("SELECT {COLS} FROM trusted_servers WHERE lower(name) = lower($1)");
        on_read!(self, db => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(name).fetch_optional(db).await?;
            row.as_ref().map(decode).transpose()
        })
    }

    /// Forgets a trusted server; `NotFound` if there is none by that name.
    pub async fn remove_trusted_server(&self, name: &str) -> Result<()> {
        let n = in_tx!(self, tx => {
            sqlx::query("DELETE FROM trusted_servers WHERE lower(name) = lower($1)")
                .bind(name)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("trusted server {name}")));
        }
        Ok(())
    }
}
