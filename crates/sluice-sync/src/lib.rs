//! Upstream synchronisation: Sluice as a downstream server (MS-WSUSSS client side).
//!
//! * [`engine::run_sync`]: one run — GetAuthConfig, GetAuthorizationCookie, GetCookie,
//!   GetConfigData, GetRevisionIdList for categories (`GetConfig=true`) then for updates
//!   (products AND classifications; a downstream of a WSUS or Sluice upstream without a
//!   selection of its own asks for everything, see [`selection`]), each pass with its own anchor saved only after the pass
//!   stored everything it listed; GetUpdateData in batches of the upstream's limit, each batch
//!   stored through `Catalog::store_parsed` in its own transaction; file URLs recorded; then
//!   downloads per the storage mode. Between the two, a replica mirrors the upstream's
//!   GetDeployments (groups, approvals, declines, accepted licenses); at the end every
//!   downstream rolls itself, its computers and their update states up to the upstream
//!   ([`hierarchy`]).
//! * [`download::Downloader`]: resumable, verified, bounded-concurrency content downloads.
//! * [`Scheduler`]: the background task of the server: recovers runs interrupted by a
//!   restart, runs queued sync jobs ([`request_sync`]), the daily schedule, and (storage mode
//!   `approved`) downloads of newly approved updates.
//! * [`settings`]: validating, loading and saving the sync settings (the store's type).

pub mod client;
pub mod download;
pub mod engine;
pub mod hierarchy;
pub mod selection;
pub mod settings;

use std::time::Duration;

use serde::Serialize;
use sluice_catalog::Catalog;
use sluice_store::{FileState, Job, JobState, Lease, LeaseHolder, Store, SyncFinish, SyncRecord, SyncResult};
use sluice_wsusss::ErrorCode;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use engine::{LiveProgress, SyncReport, live_progress, rollup_now, run_sync};
pub use settings::{Schedule, StorageMode, SyncMode, SyncSettings, SyncSettingsExt, storage_mode};

/// Why a sync (or a settings change) failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("invalid sync settings: {0}")]
    Settings(String),
    #[error("cannot reach the upstream: {0}")]
    Network(String),
    #[error("upstream fault in {op}: {} {message}", code.as_str())]
    Fault { op: &'static str, code: ErrorCode, message: String },
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("the sync was cancelled")]
    Cancelled,
    #[error(transparent)]
    Store(#[from] sluice_store::StoreError),
    #[error(transparent)]
    Catalog(#[from] sluice_catalog::CatalogError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Wakes the scheduler of this process when a sync is requested.
static WAKE: Notify = Notify::const_new();

/// How often the scheduler looks for work queued by another process and for new approvals.
const POLL: Duration = Duration::from_secs(60);

/// How often the scheduler rolls this server's computers and states up to the upstream
/// between syncs.
const ROLLUP_EVERY: Duration = Duration::from_secs(3600);

/// Queues a sync unless one is already queued or running; returns that job.
pub async fn request_sync(store: &Store) -> Result<Job, SyncError> {
    for state in [JobState::Running, JobState::Queued] {
        if let Some(j) = store.jobs_in_state(state).await?.into_iter().find(|j| j.kind == engine::SYNC_JOB) {
            return Ok(j);
        }
    }
    let job = store.create_job(engine::SYNC_JOB, "{}", 0).await?;
    // Every scheduler of the process (tests run several servers in one) wakes and looks for
    // its queued job; the stored permit covers a scheduler that is busy right now.
    WAKE.notify_waiters();
    WAKE.notify_one();
    Ok(job)
}

/// The status view: settings, the run in progress, the last finished run.
#[derive(Debug, Clone, Serialize)]
pub struct SyncStatus {
    pub settings: SyncSettings,
    /// The products and classifications the next sync asks for, by name.
    pub effective: selection::EffectiveSelection,
    pub running: Option<JobView>,
    pub progress: Option<LiveProgress>,
    pub last: Option<SyncView>,
}

/// A job as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    pub id: String,
    pub state: String,
    pub done: i64,
    pub total: i64,
    pub error: Option<String>,
}

impl From<&Job> for JobView {
    fn from(j: &Job) -> Self {
        JobView { id: j.id.to_string(), state: j.state.as_str().to_string(), done: j.progress_done, total: j.progress_total, error: j.error.clone() }
    }
}

/// A sync history entry as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SyncView {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub result: String,
    pub new_revisions: i64,
    pub revised: i64,
    pub expired: i64,
    pub error: Option<String>,
    pub upstream: String,
}

impl From<&SyncRecord> for SyncView {
    fn from(r: &SyncRecord) -> Self {
        let fmt = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        SyncView {
            id: r.id,
            started_at: fmt(r.started_at),
            finished_at: r.finished_at.map(fmt),
            result: r.result.as_str().to_string(),
            new_revisions: r.new_revisions,
            revised: r.revised,
            expired: r.expired,
            error: r.error.clone(),
            upstream: r.upstream.clone(),
        }
    }
}

/// Current status.
pub async fn status(store: &Store) -> Result<SyncStatus, SyncError> {
    let settings = SyncSettings::load(store).await?;
    let mut running = None;
    for state in [JobState::Running, JobState::Queued] {
        if let Some(j) = store.jobs_in_state(state).await?.into_iter().find(|j| j.kind == engine::SYNC_JOB) {
            running = Some(JobView::from(&j));
            break;
        }
    }
    let last = store.list_syncs(10).await?.iter().find(|s| s.result != SyncResult::Running).map(SyncView::from);
    let effective = selection::effective(store, &settings).await?;
    Ok(SyncStatus { settings, effective, running, progress: live_progress(), last })
}

/// The most recent runs, newest first.
pub async fn history(store: &Store, limit: i64) -> Result<Vec<SyncView>, SyncError> {
    Ok(store.list_syncs(limit).await?.iter().map(SyncView::from).collect())
}

/// The lease under which one front end at a time runs the scheduler's work (queued and
/// scheduled syncs, downloads of approved and requested files, rollups).
pub const SYNC_LEASE: &str = "sync";

/// How often a front end that found the sync lease taken looks again while a sync is queued
/// or running: a crashed holder's lease runs out after [`sluice_store::LEASE_TTL`].
const LEASE_RETRY: Duration = Duration::from_secs(3);

/// The server's background sync task.
pub struct Scheduler;

impl Scheduler {
    /// Spawns the scheduler; it stops when `stop` is cancelled (a run in progress is
    /// cancelled too and recorded as failed; its committed batches stay). Its work runs only
    /// while this front end holds [`SYNC_LEASE`] as `who`; on taking the lease it first
    /// recovers what a holder that died left behind.
    pub fn spawn(catalog: Catalog, who: LeaseHolder, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut next_scheduled = next_schedule(catalog.store()).await;
            // Scanning approvals for files costs a pass over the whole catalog: only when the
            // approvals changed (a sync run retries failed files itself).
            let mut seen_approvals = None;
            // Computers report between syncs: their states also go up on a timer (each sync
            // rolls up too).
            let mut next_rollup = tokio::time::Instant::now() + ROLLUP_EVERY;
            loop {
                if stop.is_cancelled() {
                    return;
                }
                let held_elsewhere = match Lease::try_take(catalog.store(), SYNC_LEASE, &who).await {
                    Ok(Some(lease)) => {
                        let run_stop = stop.child_token();
                        // Losing the lease stops the work before another front end starts it.
                        let (lost, cancel) = (lease.lost(), run_stop.clone());
                        let watcher = tokio::spawn(async move {
                            lost.cancelled().await;
                            cancel.cancel();
                        });
                        work(&catalog, &run_stop, &mut seen_approvals, &mut next_rollup).await;
                        watcher.abort();
                        lease.release().await;
                        false
                    }
                    Ok(None) => true,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot take the sync lease");
                        true
                    }
                };
                let mut wait = next_scheduled.map_or(POLL, |at| at.saturating_duration_since(tokio::time::Instant::now()).min(POLL));
                if held_elsewhere && sync_pending(catalog.store()).await {
                    wait = wait.min(LEASE_RETRY);
                }
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = WAKE.notified() => {}
                    _ = tokio::time::sleep(wait) => {}
                }
                if next_scheduled.is_some_and(|at| at <= tokio::time::Instant::now()) {
                    if let Err(e) = request_sync(catalog.store()).await {
                        tracing::error!(error = %e, "cannot queue the scheduled sync");
                    }
                    next_scheduled = None;
                }
                if next_scheduled.is_none() {
                    // Also picks up a schedule changed through the admin API.
                    next_scheduled = next_schedule(catalog.store()).await;
                }
            }
        })
    }
}

/// One round of the scheduler's work, under the sync lease.
async fn work(catalog: &Catalog, stop: &CancellationToken, seen_approvals: &mut Option<i64>, next_rollup: &mut tokio::time::Instant) {
    // Whoever held the lease before is gone (or this is the first round): a job it left
    // running died with it.
    if let Err(e) = recover(catalog.store()).await {
        tracing::error!(error = %e, "cannot recover interrupted syncs");
    }
    if let Err(e) = run_queued(catalog, stop).await {
        tracing::error!(error = %e, "sync scheduler");
    }
    if stop.is_cancelled() {
        return;
    }
    let approvals = catalog.approvals_version().await.ok();
    // Downstream servers ask for files with DownloadFiles (lazy sync): fetch them too.
    let wanted = catalog.store().wanted_files().await.map(|w| !w.is_empty()).unwrap_or(false);
    if wanted || approvals.is_none() || approvals != *seen_approvals {
        match engine::download_approved(catalog, stop).await {
            Ok(_) => *seen_approvals = approvals,
            Err(e) => tracing::warn!(error = %e, "downloading approved files"),
        }
    }
    if tokio::time::Instant::now() >= *next_rollup {
        *next_rollup = tokio::time::Instant::now() + ROLLUP_EVERY;
        match engine::rollup_now(catalog).await {
            Ok(Some(r)) => tracing::info!(computers = r.computers, "rolled up to the upstream"),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "rollup to the upstream"),
        }
    }
}

/// A sync is queued, or marked running (perhaps by a front end that died).
async fn sync_pending(store: &Store) -> bool {
    for state in [JobState::Queued, JobState::Running] {
        match store.jobs_in_state(state).await {
            Ok(jobs) if jobs.iter().any(|j| j.kind == engine::SYNC_JOB) => return true,
            Ok(_) => {}
            Err(_) => return true,
        }
    }
    false
}

/// Seconds from `now` (UTC) to the schedule's next start; `None` for a schedule without a valid
/// first time.
fn seconds_until_next(s: &Schedule, now: time::OffsetDateTime) -> Option<u64> {
    let first = s.first_minute()? as u64 * 60;
    let per_day = s.per_day.clamp(1, 24 * 60) as u64;
    let step = 86_400 / per_day;
    let now_s = now.time().hour() as u64 * 3600 + now.time().minute() as u64 * 60 + now.time().second() as u64;
    (0..=per_day)
        .map(|i| (first + i * step) % 86_400)
        .map(|t| if t > now_s { t - now_s } else { t + 86_400 - now_s })
        .min()
}

async fn next_schedule(store: &Store) -> Option<tokio::time::Instant> {
    let s = SyncSettings::load(store).await.ok()?.schedule?;
    let secs = seconds_until_next(&s, time::OffsetDateTime::now_utc())?;
    Some(tokio::time::Instant::now() + Duration::from_secs(secs))
}

async fn run_queued(catalog: &Catalog, stop: &CancellationToken) -> Result<(), SyncError> {
    let store = catalog.store();
    while let Some(job) = store.jobs_in_state(JobState::Queued).await?.into_iter().find(|j| j.kind == engine::SYNC_JOB) {
        if stop.is_cancelled() {
            return Ok(());
        }
        store.start_job(job.id).await?;
        match run_sync(catalog, Some(job.id), stop).await {
            Ok(r) => tracing::info!(new = r.new_revisions, revised = r.revised, "sync finished"),
            Err(e) => tracing::warn!(error = %e, "sync failed"),
        }
    }
    Ok(())
}

/// After a restart: a sync job still marked running died with the old process. It is marked
/// failed and a new one queued, which resumes where it stopped (revisions stored by committed
/// batches are skipped, partial downloads continue). Files left `downloading` go back to
/// `absent`.
pub async fn recover(store: &Store) -> Result<usize, SyncError> {
    let mut resumed = 0;
    for job in store.jobs_in_state(JobState::Running).await? {
        if job.kind != engine::SYNC_JOB && job.kind != engine::DOWNLOAD_JOB {
            continue;
        }
        store.finish_job(job.id, JobState::Failed, Some("interrupted by a server restart; restarted")).await?;
        if job.kind == engine::SYNC_JOB {
            store.create_job(engine::SYNC_JOB, "{}", 0).await?;
            resumed += 1;
        }
    }
    for s in store.list_syncs(50).await? {
        if s.result == SyncResult::Running {
            let fin = SyncFinish {
                result: SyncResult::Failed,
                new_revisions: s.new_revisions,
                revised: s.revised,
                expired: s.expired,
                error: Some("interrupted by a server restart".into()),
            };
            let _ = store.finish_sync(s.id, &fin).await;
        }
    }
    for f in store.files_in_state(FileState::Downloading).await? {
        store.set_file_state(&f.sha1, FileState::Absent).await?;
    }
    Ok(resumed)
}

#[cfg(test)]
mod schedule_tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn next_start_of_a_daily_schedule() {
        let s = Schedule { first_sync: "03:00".into(), per_day: 4 };
        // 03:00, 09:00, 15:00, 21:00
        assert_eq!(seconds_until_next(&s, datetime!(2026-01-01 02:00 UTC)), Some(3600));
        assert_eq!(seconds_until_next(&s, datetime!(2026-01-01 09:00 UTC)), Some(6 * 3600));
        assert_eq!(seconds_until_next(&s, datetime!(2026-01-01 22:00 UTC)), Some(5 * 3600));
        assert_eq!(seconds_until_next(&Schedule { first_sync: "25:00".into(), per_day: 1 }, datetime!(2026-01-01 22:00 UTC)), None);
    }
}
