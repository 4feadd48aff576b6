//! Admin identity (users, API tokens) and the audit log.

use time::OffsetDateTime;

use crate::Store;
use crate::codec::{RowExt, hex_digest, now, opt_ts, ts};
use crate::error::{Result, StoreError};
use crate::types::*;

const USER_COLS: &str = "name, password_hash, role, created_at, disabled";
const TOKEN_COLS: &str = "id, user_name, description, created_at, last_used_at, revoked, expires_at, kind";
const AUDIT_COLS: &str = "id, at, actor, action, target, detail, source_address";

/// The role that may change things; the store keeps at least one enabled user with it.
pub const ADMINISTRATOR_ROLE: &str = "administrator";

/// A token's last use is stamped when older than this: one write a minute per token at most,
/// not one per request.
const LAST_USED_GRANULARITY: time::Duration = time::Duration::minutes(1);

/// A console session unused for this long is over (its absolute lifetime is the token's
/// expiry); API tokens have no idle limit.
pub const SESSION_IDLE: time::Duration = time::Duration::minutes(30);

fn decode_user<R: RowExt>(r: &R) -> Result<User> {
    Ok(User {
        name: r.text("name")?,
        password_hash: r.text("password_hash")?,
        role: r.text("role")?,
        created_at: r.time("created_at")?,
        disabled: r.flag("disabled")?,
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
        expires_at: r.opt_time("expires_at")?,
        kind: r.text("kind")?,
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

/// Locks every administrator row (PostgreSQL; SQLite's `BEGIN IMMEDIATE` already serialises
/// writers), so two requests demoting, disabling or deleting different administrators cannot
/// both see the other still enabled and leave none.
const LOCK_ADMINISTRATORS: &str = "UPDATE users SET disabled = disabled WHERE role = $1";
const ENABLED_ADMINISTRATORS: &str = "SELECT COUNT(*) FROM users WHERE role = $1 AND disabled = FALSE";

fn enabled_administrator(u: &User) -> bool {
    u.role == ADMINISTRATOR_ROLE && !u.disabled
}

/// A change may not take away the last enabled administrator (a database holding none, as
/// before the first start, is left as it is).
fn last_administrator(name: &str) -> StoreError {
    StoreError::Conflict(format!(
        "'{name}' is the last enabled administrator; make another user an administrator first"
    ))
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
            disabled: false,
        };
        let at = ts(user.created_at)?;
        in_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO users (name, password_hash, role, created_at, disabled) VALUES ($1, $2, $3, $4, FALSE)",
            )
            .bind(name)
            .bind(password_hash)
            .bind(role)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        });
        Ok(user)
    }

    /// A user by name (exact).
    pub async fn get_user(&self, name: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE name = $1");
        on_read!(self, db => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(name).fetch_optional(db).await?;
            row.as_ref().map(decode_user).transpose()
        })
    }

    /// Every user, ordered by name.
    pub async fn list_users(&self) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users ORDER BY name");
        on_read!(self, db => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(db).await?;
            rows.iter().map(decode_user).collect()
        })
    }

    /// Replaces a user's password hash; `NotFound` for an unknown user.
    pub async fn set_user_password(&self, name: &str, password_hash: &str) -> Result<()> {
        let change = UserChange { password_hash: Some(password_hash.to_owned()), ..UserChange::default() };
        self.update_user(name, &change).await.map(|_| ())
    }

    /// Changes a user's role, disabled flag and/or password in one transaction and returns it
    /// as it is now. `NotFound` for an unknown user; `Conflict` when the change would leave no
    /// enabled [`ADMINISTRATOR_ROLE`] user.
    pub async fn update_user(&self, name: &str, change: &UserChange) -> Result<User> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE name = $1");
        in_tx!(self, tx => {
            sqlx::query(LOCK_ADMINISTRATORS).bind(ADMINISTRATOR_ROLE).execute(&mut *tx).await?;
            let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(name).fetch_optional(&mut *tx).await? else {
                return Err(StoreError::NotFound(format!("user '{name}'")));
            };
            let mut user = decode_user(&row)?;
            let was_administrator = enabled_administrator(&user);
            if let Some(role) = &change.role {
                user.role = role.clone();
            }
            if let Some(disabled) = change.disabled {
                user.disabled = disabled;
            }
            if let Some(hash) = &change.password_hash {
                user.password_hash = hash.clone();
            }
            sqlx::query("UPDATE users SET role = $1, disabled = $2, password_hash = $3 WHERE name = $4")
                .bind(user.role.as_str())
                .bind(user.disabled)
                .bind(user.password_hash.as_str())
                .bind(name)
                .execute(&mut *tx)
                .await?;
            if was_administrator && !enabled_administrator(&user) {
                let left: i64 = sqlx::query_scalar(ENABLED_ADMINISTRATORS).bind(ADMINISTRATOR_ROLE).fetch_one(&mut *tx).await?;
                if left == 0 {
                    return Err(last_administrator(name));
                }
            }
            Ok(user)
        })
    }

    /// Deletes a user with its tokens and returns it. `NotFound` for an unknown user;
    /// `Conflict` for the last enabled [`ADMINISTRATOR_ROLE`] user. Its audit entries stay.
    pub async fn delete_user(&self, name: &str) -> Result<User> {
        let sql = format!("DELETE FROM users WHERE name = $1 RETURNING {USER_COLS}");
        in_tx!(self, tx => {
            sqlx::query(LOCK_ADMINISTRATORS).bind(ADMINISTRATOR_ROLE).execute(&mut *tx).await?;
            let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(name).fetch_optional(&mut *tx).await? else {
                return Err(StoreError::NotFound(format!("user '{name}'")));
            };
            let user = decode_user(&row)?;
            if enabled_administrator(&user) {
                let left: i64 = sqlx::query_scalar(ENABLED_ADMINISTRATORS).bind(ADMINISTRATOR_ROLE).fetch_one(&mut *tx).await?;
                if left == 0 {
                    return Err(last_administrator(name));
                }
            }
            Ok(user)
        })
    }

    /// Stores a new API token by the SHA-256 (hex) of its secret and returns its id.
    /// `NotFound` for an unknown user, `Conflict` for a digest already in use.
    pub async fn create_token(
        &self,
        user_name: &str,
        token_sha256: &str,
        description: &str,
    ) -> Result<i64> {
        let token = NewToken { user_name, token_sha256, description, expires_at: None, kind: TOKEN_KIND_API };
        self.add_token(&token).await.map(|t| t.id)
    }

    /// Stores a token and returns it. `NotFound` for an unknown user, `Conflict` for a digest
    /// already in use. A session token's insert also drops the sessions that have expired.
    pub async fn add_token(&self, t: &NewToken<'_>) -> Result<ApiToken> {
        let digest = hex_digest("token sha256", t.token_sha256, 64)?;
        let created_at = now();
        let (at, expires) = (ts(created_at)?, opt_ts(t.expires_at)?);
        let id = in_tx!(self, tx => {
            let user: Option<String> = sqlx::query_scalar("SELECT name FROM users WHERE name = $1")
                .bind(t.user_name)
                .fetch_optional(&mut *tx)
                .await?;
            if user.is_none() {
                return Err(StoreError::NotFound(format!("user {}", t.user_name)));
            }
            if t.kind == TOKEN_KIND_SESSION {
                sqlx::query("DELETE FROM api_tokens WHERE kind = $1 AND expires_at < $2")
                    .bind(TOKEN_KIND_SESSION)
                    .bind(&at)
                    .execute(&mut *tx)
                    .await?;
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO api_tokens (user_name, token_sha256, description, created_at, revoked, expires_at, kind) \
                 VALUES ($1, $2, $3, $4, FALSE, $5, $6) RETURNING id",
            )
            .bind(t.user_name)
            .bind(&digest)
            .bind(t.description)
            .bind(&at)
            .bind(expires.as_deref())
            .bind(t.kind)
            .fetch_one(&mut *tx)
            .await?;
            id
        });
        Ok(ApiToken {
            id,
            user_name: t.user_name.to_owned(),
            description: t.description.to_owned(),
            created_at,
            last_used_at: None,
            revoked: false,
            expires_at: t.expires_at.map(crate::to_stored_precision),
            kind: t.kind.to_owned(),
        })
    }

    /// Authenticates a token digest: the owner of a live token (not revoked, not expired, of
    /// an enabled user), or `None`. Records the use, at most once a minute per token.
    pub async fn token_user(&self, token_sha256: &str) -> Result<Option<TokenOwner>> {
        // A console session also ends after SESSION_IDLE without use; the use is recorded
        // at most once per LAST_USED_GRANULARITY, which the idle limit is far above.
        const SQL: &str = "SELECT t.id, t.user_name, t.last_used_at, u.role FROM api_tokens t \
             JOIN users u ON u.name = t.user_name \
             WHERE t.token_sha256 = $1 AND t.revoked = FALSE AND (t.expires_at IS NULL OR t.expires_at > $2) \
             AND (t.kind <> $3 OR COALESCE(t.last_used_at, t.created_at) > $4) \
             AND u.disabled = FALSE";
        let Ok(digest) = hex_digest("token sha256", token_sha256, 64) else {
            // A malformed digest cannot match any token; not the caller's error to handle.
            return Ok(None);
        };
        let at = now();
        let at_text = ts(at)?;
        let idle_since = ts(at - SESSION_IDLE)?;
        // Read on the reader pool: authenticating a request does not queue behind the writer.
        let found = on_read!(self, db => {
            let row = sqlx::query(SQL)
                .bind(&digest)
                .bind(&at_text)
                .bind(TOKEN_KIND_SESSION)
                .bind(&idle_since)
                .fetch_optional(db)
                .await?;
            row.as_ref()
                .map(|r| {
                    Ok::<_, StoreError>((
                        TokenOwner { token_id: r.big("id")?, user_name: r.text("user_name")?, role: r.text("role")? },
                        r.opt_time("last_used_at")?,
                    ))
                })
                .transpose()?
        });
        let Some((owner, last_used)) = found else {
            return Ok(None);
        };
        if last_used.is_none_or(|t| at - t >= LAST_USED_GRANULARITY) {
            on_write!(self, db => {
                sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                    .bind(&at_text)
                    .bind(owner.token_id)
                    .execute(db)
                    .await?;
            });
        }
        Ok(Some(owner))
    }

    /// A token by id.
    pub async fn token(&self, id: i64) -> Result<Option<ApiToken>> {
        let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE id = $1");
        on_read!(self, db => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(db).await?;
            row.as_ref().map(decode_token).transpose()
        })
    }

    /// Revokes a token; `NotFound` if it does not exist. Revoking twice is harmless.
    pub async fn revoke_token(&self, id: i64) -> Result<()> {
        let n = in_tx!(self, tx => {
            sqlx::query("UPDATE api_tokens SET revoked = TRUE WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
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
        let at = ts(now())?;
        on_write!(self, db => {
            Ok(sqlx::query_scalar(crate::audit_scope::INSERT_AUDIT)
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
