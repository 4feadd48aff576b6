//! Per-computer update status, as reported by clients.

use uuid::Uuid;

use crate::Store;
use crate::codec::{RowExt, ts, uuid_str};
use crate::error::{Result, StoreError};
use crate::types::*;

const STATUS_COLS: &str =
    "computer_id, update_id, revision_number, state, last_event_time, last_event_id";

fn decode_status<R: RowExt>(r: &R) -> Result<UpdateStatus> {
    Ok(UpdateStatus {
        computer_id: r.text("computer_id")?,
        update_id: r.uuid("update_id")?,
        revision_number: r.int("revision_number")?,
        state: r.parsed("state", InstallState::parse)?,
        last_event_time: r.time("last_event_time")?,
        last_event_id: r.opt_text("last_event_id")?,
    })
}

impl Store {
    /// Records a computer's state for an update. Reports can arrive out of order, so a report
    /// older than the stored one is ignored; returns whether the row changed. `NotFound` if
    /// the computer is unknown.
    pub async fn set_update_status(&self, s: &UpdateStatus) -> Result<bool> {
        const SQL: &str = "INSERT INTO update_status (computer_id, update_id, revision_number, \
             state, last_event_time, last_event_id) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (computer_id, update_id) DO UPDATE SET \
             revision_number = excluded.revision_number, state = excluded.state, \
             last_event_time = excluded.last_event_time, last_event_id = excluded.last_event_id \
             WHERE update_status.last_event_time <= excluded.last_event_time";
        let uid = uuid_str(&s.update_id);
        let at = ts(s.last_event_time)?;
        let n = on_write!(self, db => {
            sqlx::query(SQL)
                .bind(s.computer_id.as_str())
                .bind(&uid)
                .bind(s.revision_number)
                .bind(s.state.as_str())
                .bind(&at)
                .bind(s.last_event_id.as_deref())
                .execute(db)
                .await
                .map_err(|e| match StoreError::from(e) {
                    // The only foreign key here is the computer.
                    StoreError::Conflict(_) => {
                        StoreError::NotFound(format!("computer {}", s.computer_id))
                    }
                    other => other,
                })?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// Records several states in one transaction (a client's status report names dozens of
    /// updates; one transaction instead of one per row keeps the single SQLite writer free).
    /// Same per-row rule as [`Store::set_update_status`]; returns how many rows changed.
    pub async fn set_update_statuses(&self, rows: &[UpdateStatus]) -> Result<usize> {
        const SQL: &str = "INSERT INTO update_status (computer_id, update_id, revision_number, \
             state, last_event_time, last_event_id) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (computer_id, update_id) DO UPDATE SET \
             revision_number = excluded.revision_number, state = excluded.state, \
             last_event_time = excluded.last_event_time, last_event_id = excluded.last_event_id \
             WHERE update_status.last_event_time <= excluded.last_event_time";
        if rows.is_empty() {
            return Ok(0);
        }
        let mut changed = 0usize;
        in_tx!(self, tx => {
            for s in rows {
                let uid = uuid_str(&s.update_id);
                let at = ts(s.last_event_time)?;
                changed += sqlx::query(SQL)
                    .bind(s.computer_id.as_str())
                    .bind(&uid)
                    .bind(s.revision_number)
                    .bind(s.state.as_str())
                    .bind(&at)
                    .bind(s.last_event_id.as_deref())
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match StoreError::from(e) {
                        StoreError::Conflict(_) => StoreError::NotFound(format!("computer {}", s.computer_id)),
                        other => other,
                    })?
                    .rows_affected() as usize;
            }
        });
        Ok(changed)
    }

    /// Every status row of a computer, ordered by update id.
    pub async fn status_for_computer(&self, computer_id: &str) -> Result<Vec<UpdateStatus>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {STATUS_COLS} FROM update_status WHERE computer_id = $1 ORDER BY update_id"
        ));
        on_read!(self, db => {
            let rows = sqlx::query(sql).bind(computer_id).fetch_all(db).await?;
            rows.iter().map(decode_status).collect()
        })
    }

    /// Every status row of an update, ordered by computer id.
    pub async fn status_for_update(&self, update_id: Uuid) -> Result<Vec<UpdateStatus>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {STATUS_COLS} FROM update_status WHERE update_id = $1 ORDER BY computer_id"
        ));
        let uid = uuid_str(&update_id);
        on_read!(self, db => {
            let rows = sqlx::query(sql).bind(&uid).fetch_all(db).await?;
            rows.iter().map(decode_status).collect()
        })
    }

    /// Number of computers in each state for an update.
    pub async fn status_summary(&self, update_id: Uuid) -> Result<StatusSummary> {
        const SQL: &str =
            "SELECT state, COUNT(*) AS n FROM update_status WHERE update_id = $1 GROUP BY state";
        let uid = uuid_str(&update_id);
        on_read!(self, db => {
            let rows = sqlx::query(SQL).bind(&uid).fetch_all(db).await?;
            let mut summary = StatusSummary::default();
            for r in &rows {
                *summary.slot(r.parsed("state", InstallState::parse)?) = r.big("n")?;
            }
            Ok(summary)
        })
    }
}
