//! Synchronisation history and background jobs.

use uuid::Uuid;

use crate::Store;
use crate::codec::{RowExt, now, ts, uuid_str};
use crate::error::{Result, StoreError};
use crate::types::*;

const SYNC_COLS: &str =
    "id, started_at, finished_at, result, new_revisions, revised, expired, error, upstream";
const JOB_COLS: &str =
    "id, kind, state, progress_done, progress_total, payload, error, created_at, updated_at";

fn decode_sync<R: RowExt>(r: &R) -> Result<SyncRecord> {
    Ok(SyncRecord {
        id: r.big("id")?,
        started_at: r.time("started_at")?,
        finished_at: r.opt_time("finished_at")?,
        result: r.parsed("result", SyncResult::parse)?,
        new_revisions: r.big("new_revisions")?,
        revised: r.big("revised")?,
        expired: r.big("expired")?,
        error: r.opt_text("error")?,
        upstream: r.text("upstream")?,
    })
}

fn decode_job<R: RowExt>(r: &R) -> Result<Job> {
    Ok(Job {
        id: r.uuid("id")?,
        kind: r.text("kind")?,
        state: r.parsed("state", JobState::parse)?,
        progress_done: r.big("progress_done")?,
        progress_total: r.big("progress_total")?,
        payload: r.text("payload")?,
        error: r.opt_text("error")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

impl Store {
    /// Records the start of a synchronisation run and returns its id.
    pub async fn start_sync(&self, upstream: &str) -> Result<i64> {
        const SQL: &str = "INSERT INTO sync_history (started_at, result, upstream) \
             VALUES ($1, 'running', $2) RETURNING id";
        let at = ts(now())?;
        on_write!(self, db => {
            Ok(sqlx::query_scalar(SQL).bind(&at).bind(upstream).fetch_one(db).await?)
        })
    }

    /// Records how a run ended. `InvalidInput` for a `Running` result, `NotFound` for an
    /// unknown run, `Conflict` if it already finished.
    pub async fn finish_sync(&self, id: i64, finish: &SyncFinish) -> Result<SyncRecord> {
        if finish.result == SyncResult::Running {
            return Err(StoreError::InvalidInput(
                "a sync cannot finish as running".to_owned(),
            ));
        }
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE sync_history SET finished_at = $1, result = $2, new_revisions = $3, \
             revised = $4, expired = $5, error = $6 WHERE id = $7 AND result = 'running' \
             RETURNING {SYNC_COLS}"
        ));
        let at = ts(now())?;
        let row = on_write!(self, db => {
            let row = sqlx::query(sql)
                .bind(&at)
                .bind(finish.result.as_str())
                .bind(finish.new_revisions)
                .bind(finish.revised)
                .bind(finish.expired)
                .bind(finish.error.as_deref())
                .bind(id)
                .fetch_optional(db)
                .await?;
            row.as_ref().map(decode_sync).transpose()?
        });
        match row {
            Some(r) => Ok(r),
            None => match self.get_sync(id).await? {
                Some(_) => Err(StoreError::Conflict(format!("sync {id} already finished"))),
                None => Err(StoreError::NotFound(format!("sync {id}"))),
            },
        }
    }

    /// One synchronisation run.
    pub async fn get_sync(&self, id: i64) -> Result<Option<SyncRecord>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {SYNC_COLS} FROM sync_history WHERE id = $1"
        ));
        on_read!(self, db => {
            let row = sqlx::query(sql).bind(id).fetch_optional(db).await?;
            row.as_ref().map(decode_sync).transpose()
        })
    }

    /// The most recent runs, newest first.
    pub async fn list_syncs(&self, limit: i64) -> Result<Vec<SyncRecord>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {SYNC_COLS} FROM sync_history ORDER BY id DESC LIMIT $1"
        ));
        on_read!(self, db => {
            let rows = sqlx::query(sql).bind(limit.max(0)).fetch_all(db).await?;
            rows.iter().map(decode_sync).collect()
        })
    }

    /// Creates a queued job. `payload` is a JSON document (`"{}"` when empty).
    pub async fn create_job(&self, kind: &str, payload: &str, progress_total: i64) -> Result<Job> {
        const SQL: &str = "INSERT INTO jobs (id, kind, state, progress_done, progress_total, \
             payload, error, created_at, updated_at) VALUES ($1, $2, 'queued', 0, $3, $4, NULL, $5, $5)";
        let at = now();
        let job = Job {
            id: Uuid::new_v4(),
            kind: kind.to_owned(),
            state: JobState::Queued,
            progress_done: 0,
            progress_total,
            payload: if payload.is_empty() { "{}" } else { payload }.to_owned(),
            error: None,
            created_at: at,
            updated_at: at,
        };
        let (id, at) = (uuid_str(&job.id), ts(at)?);
        // A transaction, not a single statement: queuing a sync is an audited change.
        in_tx!(self, tx => {
            sqlx::query(SQL)
                .bind(&id)
                .bind(kind)
                .bind(progress_total)
                .bind(job.payload.as_str())
                .bind(&at)
                .execute(&mut *tx)
                .await?;
        });
        Ok(job)
    }

    /// Marks a queued job running.
    pub async fn start_job(&self, id: Uuid) -> Result<Job> {
        self.job_transition(
            id,
            "UPDATE jobs SET state = 'running', updated_at = $1 WHERE id = $2 AND state = 'queued'",
            &[],
        )
        .await
    }

    /// Updates a live job's progress (a queued job becomes running). `Conflict` once the job
    /// has finished.
    pub async fn update_job_progress(&self, id: Uuid, done: i64, total: i64) -> Result<Job> {
        self.job_transition(
            id,
            "UPDATE jobs SET state = 'running', updated_at = $1, progress_done = $2, \
             progress_total = $3 WHERE id = $4 AND state IN ('queued', 'running')",
            &[done, total],
        )
        .await
    }

    /// Ends a job in a terminal state. `Conflict` if it already ended.
    pub async fn finish_job(&self, id: Uuid, state: JobState, error: Option<&str>) -> Result<Job> {
        if !state.is_terminal() {
            return Err(StoreError::InvalidInput(format!(
                "{state} is not a terminal job state"
            )));
        }
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE jobs SET state = $1, error = $2, updated_at = $3 WHERE id = $4 \
             AND state IN ('queued', 'running') RETURNING {JOB_COLS}"
        ));
        let uid = uuid_str(&id);
        let at = ts(now())?;
        let job = on_write!(self, db => {
            let row = sqlx::query(sql)
                .bind(state.as_str())
                .bind(error)
                .bind(&at)
                .bind(&uid)
                .fetch_optional(db)
                .await?;
            row.as_ref().map(decode_job).transpose()?
        });
        self.job_or_why(id, job).await
    }

    /// Runs `update` (placeholders: `$1` the time, then `extra`, then the job id last) and
    /// returns the changed job.
    async fn job_transition(&self, id: Uuid, update: &str, extra: &[i64]) -> Result<Job> {
        let sql = sqlx::AssertSqlSafe(format!("{update} RETURNING {JOB_COLS}"));
        let uid = uuid_str(&id);
        let at = ts(now())?;
        let job = on_write!(self, db => {
            let mut q = sqlx::query(sql).bind(&at);
            for v in extra {
                q = q.bind(*v);
            }
            let row = q.bind(&uid).fetch_optional(db).await?;
            row.as_ref().map(decode_job).transpose()?
        });
        self.job_or_why(id, job).await
    }

    /// Turns "no row updated" into NotFound or Conflict.
    async fn job_or_why(&self, id: Uuid, updated: Option<Job>) -> Result<Job> {
        match updated {
            Some(j) => Ok(j),
            None => match self.get_job(id).await? {
                Some(j) => Err(StoreError::Conflict(format!("job {id} is {}", j.state))),
                None => Err(StoreError::NotFound(format!("job {id}"))),
            },
        }
    }

    /// A job by id.
    pub async fn get_job(&self, id: Uuid) -> Result<Option<Job>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {JOB_COLS} FROM jobs WHERE id = $1"));
        let uid = uuid_str(&id);
        on_read!(self, db => {
            let row = sqlx::query(sql).bind(&uid).fetch_optional(db).await?;
            row.as_ref().map(decode_job).transpose()
        })
    }

    /// The most recent jobs, newest first.
    pub async fn list_jobs(&self, limit: i64) -> Result<Vec<Job>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLS} FROM jobs ORDER BY created_at DESC, id LIMIT $1"
        ));
        on_read!(self, db => {
            let rows = sqlx::query(sql).bind(limit.max(0)).fetch_all(db).await?;
            rows.iter().map(decode_job).collect()
        })
    }

    /// Every job in `state`, oldest first (the order a worker should pick them up).
    pub async fn jobs_in_state(&self, state: JobState) -> Result<Vec<Job>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLS} FROM jobs WHERE state = $1 ORDER BY created_at, id"
        ));
        on_read!(self, db => {
            let rows = sqlx::query(sql).bind(state.as_str()).fetch_all(db).await?;
            rows.iter().map(decode_job).collect()
        })
    }
}
