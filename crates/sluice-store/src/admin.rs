//! Admin identity (users, API tokens) and the audit log.

use time::OffsetDateTime;

use crate::Store;
use crate::codec::{RowExt, hex_digest, now, ts};
use crate::error::{Result, StoreError};
use crate::types::*;

const TOKEN_COLS: &str = "id, user_name, description, created_at, last_used_at, revoked";
const AUDIT_COLS: &str = "id, at, actor, action, target, detail, source_address";

fn decode_user<R: RowExt>(r: &R) -> Result<User> {
    Ok(User {
        name: r.text("name")?,
        password_hash: r.text("password_hash")?,
        role: r.text("role")?,
        created_at: r.time("created_at")?,
    })
}

fn decode_token<R: RowExt>(r: &R) -> Result<ApiToken> {
    Ok(ApiToken {
        id: r.big("id")?,
        user_name: r.text("user_name")?,
        description: r.text("description")?,
        created_at: r.time("created_at")?,
        last_used_at: r.opt_time("last_used_at")?,
        revoked: r.flag("revoked")?,
    })
}

fn decode_audit<R: RowExt>(r: &R) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.big("id")?,
        at: r.time("at")?,
        actor: r.text("actor")?,
        action: r.text("action")?,
        target: r.text("target")?,
        detail: r.text("detail")?,
        source_address: r.opt_text("source_address")?,
    })
}

impl Store {
    /// Creates a user; `Conflict` if the name exists. `password_hash` is a PHC string.
    pub async fn create_user(&self, name: &str, password_hash: &str, role: &str) -> Result<User> {
        if name.is_empty() {
            return Err(StoreError::InvalidInput("user name is empty".to_owned()));
        }
        let user = User {
            name: name.to_owned(),
            password_hash: password_hash.to_owned(),
            role: role.to_owned(),
            created_at: now(),
        };
        let at = ts(user.created_at)?;
        on_write!(self, db => {
            sqlx::query(
                "INSERT INTO users (name, password_hash, role, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(name)
            .bind(password_hash)
            .bind(role)
            .bind(&at)
            .execute(db)
            .await?;
        });
        Ok(user)
    }

    /// A user by name (exact).
    pub async fn get_user(&self, name: &str) -> Result<Option<User>> {
        on_read!(self, db => {
            let row = sqlx::query(
                "SELECT name, password_hash, role, created_at FROM users WHERE name = $1",
            )
            .bind(name)
            .fetch_optional(db)
            .await?;
            row.as_ref().map(decode_user).transpose()
        })
    }

    /// Every user, ordered by name.
    pub async fn list_users(&self) -> Result<Vec<User>> {
        on_read!(self, db => {
            let rows = sqlx::query("SELECT name, password_hash, role, created_at FROM users ORDER BY name")
                .fetch_all(db)
                .await?;
            rows.iter().map(decode_user).collect()
        })
    }

    /// Replaces a user's password hash; `NotFound` for an unknown user.
    pub async fn set_user_password(&self, name: &str, password_hash: &str) -> Result<()> {
        let n = on_write!(self, db => {
            sqlx::query("UPDATE users SET password_hash = $1 WHERE name = $2")
                .bind(password_hash)
                .bind(name)
                .execute(db)
                .await?
                .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("user {name}")));
        }
        Ok(())
    }

    /// Stores a new API token by the SHA-256 (hex) of its secret and returns its id.
    /// `NotFound` for an unknown user, `Conflict` for a digest already in use.
    pub async fn create_token(
        &self,
        user_name: &str,
        token_sha256: &str,
        description: &str,
    ) -> Result<i64> {
        let digest = hex_digest("token sha256", token_sha256, 64)?;
        let at = ts(now())?;
        in_tx!(self, tx => {
            let user: Option<String> = sqlx::query_scalar("SELECT name FROM users WHERE name = $1")
                .bind(user_name)
                .fetch_optional(&mut *tx)
                .await?;
            if user.is_none() {
                return Err(StoreError::NotFound(format!("user {user_name}")));
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO api_tokens (user_name, token_sha256, description, created_at, revoked) \
                 VALUES ($1, $2, $3, $4, FALSE) RETURNING id",
            )
            .bind(user_name)
            .bind(&digest)
            .bind(description)
            .bind(&at)
            .fetch_one(&mut *tx)
            .await?;
            Ok(id)
        })
    }

    /// Authenticates a token digest: the owner of a live (not revoked) token, or `None`.
    /// Records the use.
    pub async fn token_user(&self, token_sha256: &str) -> Result<Option<TokenOwner>> {
        // One statement: stamp the use and read the owner's role in the same round trip.
        const SQL: &str = "UPDATE api_tokens SET last_used_at = $1 \
             WHERE token_sha256 = $2 AND revoked = FALSE \
             RETURNING id, user_name, \
             (SELECT u.role FROM users u WHERE u.name = api_tokens.user_name) AS role";
        let Ok(digest) = hex_digest("token sha256", token_sha256, 64) else {
            // A malformed digest cannot match any token; not the caller's error to handle.
            return Ok(None);
        };
        let at = ts(now())?;
        on_write!(self, db => {
            let row = sqlx::query(SQL).bind(&at).bind(&digest).fetch_optional(db).await?;
            row.as_ref()
                .map(|r| {
                    Ok(TokenOwner {
                        token_id: r.big("id")?,
                        user_name: r.text("user_name")?,
                        role: r.text("role")?,
                    })
                })
                .transpose()
        })
    }

    /// Revokes a token; `NotFound` if it does not exist. Revoking twice is harmless.
    pub async fn revoke_token(&self, id: i64) -> Result<()> {
        let n = on_write!(self, db => {
            sqlx::query("UPDATE api_tokens SET revoked = TRUE WHERE id = $1")
                .bind(id)
                .execute(db)
                .await?
                .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("token {id}")));
        }
        Ok(())
    }

    /// Tokens of one user (or of everyone), ordered by id.
    pub async fn list_tokens(&self, user_name: Option<&str>) -> Result<Vec<ApiToken>> {
        let sql = match user_name {
            Some(_) => {
                format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE user_name = $1 ORDER BY id")
            }
            None => format!("SELECT {TOKEN_COLS} FROM api_tokens ORDER BY id"),
        };
        on_read!(self, db => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            if let Some(u) = user_name {
                q = q.bind(u);
            }
            let rows = q.fetch_all(db).await?;
            rows.iter().map(decode_token).collect()
        })
    }

    /// Appends an audit entry and returns its id.
    pub async fn append_audit(&self, e: &NewAuditEntry) -> Result<i64> {
        const SQL: &str = "INSERT INTO audit_log (at, actor, action, target, detail, source_address) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
        let at = ts(now())?;
        on_write!(self, db => {
            Ok(sqlx::query_scalar(SQL)
                .bind(&at)
                .bind(e.actor.as_str())
                .bind(e.action.as_str())
                .bind(e.target.as_str())
                .bind(e.detail.as_str())
                .bind(e.source_address.as_deref())
                .fetch_one(db)
                .await?)
        })
    }

    /// The newest `limit` audit entries, newest first: those at or after `since` and by `actor`,
    /// where given.
    pub async fn list_audit(
        &self,
        limit: i64,
        since: Option<OffsetDateTime>,
        actor: Option<&str>,
    ) -> Result<Vec<AuditEntry>> {
        let since = since.map(ts).transpose()?;
        let mut conditions = Vec::new();
        let mut n = 0;
        let mut param = || {
            n += 1;
            format!("${n}")
        };
        if since.is_some() {
            conditions.push(format!("at >= {}", param()));
        }
        if actor.is_some() {
            conditions.push(format!("actor = {}", param()));
        }
        let filter = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        // Ordered by id, not time: ids follow append order even if the clock steps back.
        let sql = format!("SELECT {AUDIT_COLS} FROM audit_log {filter} ORDER BY id DESC LIMIT {}", param());
        on_read!(self, db => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            if let Some(s) = &since {
                q = q.bind(s.clone());
            }
            if let Some(a) = actor {
                q = q.bind(a.to_owned());
            }
            let rows = q.bind(limit.max(0)).fetch_all(db).await?;
            rows.iter().map(decode_audit).collect()
        })
    }
}
