//! The server's own periodic work, beside the sync scheduler: the daily cleanup, the mail
//! about the new updates each sync brought, and the periodic status report. One task ticks
//! every minute; whether each job is due is decided by `sluice_decide` from `now`, so tests
//! drive [`run_due`] with the time they choose.

use std::collections::HashMap;
use std::time::Duration;

use sluice_api::CleanupReport;
use sluice_catalog::times::{format_utc, parse_rfc3339_utc};
use sluice_decide::notify::{self, GroupStatus, NewUpdate};
use sluice_store::{Lease, NotifyConfig, Store, StoreError, settings};
use time::OffsetDateTime;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::admin::Caller;
use crate::front_ends::lease;
use crate::{AppState, cleanup, mailer};

const TICK: Duration = Duration::from_secs(60);

/// What one [`run_due`] did.
#[derive(Default)]
pub struct DueWork {
    /// The scheduled cleanup, when it was due.
    pub cleanup: Option<CleanupReport>,
    /// The messages being sent, each in its own task (a slow SMTP server holds nothing else
    /// up); each ends with the send's outcome.
    pub mails: Vec<JoinHandle<Result<(), String>>>,
}

/// Starts the maintenance task; it stops with `stop`.
pub fn spawn(state: AppState, stop: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        // A server started after today's cleanup slot does not run it at once: the schedule
        // counts from now.
        let watching_since = OffsetDateTime::now_utc();
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(TICK) => {}
            }
            let work = run_due(&state, watching_since, OffsetDateTime::now_utc()).await;
            // The senders finish on their own; their outcome is in the notifier's record.
            drop(work);
        }
    })
}

/// Runs whatever is due at `now`. `watching_since` is when the scheduler started; a daily
/// slot before it is not caught up. Failures are logged (and recorded: the cleanup run's
/// error, the notifier's last error), never returned: the next tick tries again.
pub async fn run_due(state: &AppState, watching_since: OffsetDateTime, now: OffsetDateTime) -> DueWork {
    let mut work = DueWork::default();
    // One front end at a time decides and sends; what it did is recorded in the database, so
    // the next holder does not do it again.
    let lease = match Lease::try_take(&state.store, lease::MAINTENANCE, &state.front_end).await {
        Ok(Some(l)) => l,
        Ok(None) => return work,
        Err(e) => {
            tracing::error!(error = %e, "cannot take the maintenance lease");
            return work;
        }
    };
    match cleanup_due(&state.store, watching_since, now).await {
        Ok(true) => match cleanup::run(state, false, cleanup::SCHEDULER, now).await {
            Ok(report) => {
                let caller = Caller { user: cleanup::SCHEDULER.into(), address: None, role: sluice_api::Role::Administrator, token_id: None };
                crate::admin::audit(state, &caller, "cleanup", "server", crate::admin_cleanup::summary(&report)).await;
                work.cleanup = Some(report);
            }
            Err(e) => tracing::error!(error = %e, "scheduled cleanup failed"),
        },
        Ok(false) => {}
        Err(e) => tracing::error!(error = %e, "cannot read the cleanup schedule"),
    }
    match notifications_due(&state.store, now).await {
        Ok(Some((config, mails))) => {
            for (what, mail) in mails {
                let (store, config) = (state.store.clone(), config.clone());
                work.mails.push(tokio::spawn(async move { mailer::send_and_record(&store, &config, &mail, what).await }));
            }
        }
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "cannot prepare the e-mail notifications"),
    }
    lease.release().await;
    work
}

async fn cleanup_due(store: &Store, watching_since: OffsetDateTime, now: OffsetDateTime) -> Result<bool, StoreError> {
    let s = cleanup::settings(store).await?;
    let Some(minute) = sluice_decide::cleanup::parse_time_of_day(&s.schedule) else {
        return Ok(false);
    };
    if !s.enabled {
        return Ok(false);
    }
    let last = store.last_scheduled_cleanup().await?;
    let since = last.map_or(watching_since, |l| l.max(watching_since));
    Ok(sluice_decide::cleanup::daily_due(minute, since, now))
}

type Mails = (NotifyConfig, Vec<(&'static str, notify::Mail)>);

/// The messages due at `now`; the notifier's record moves past them before they are sent,
/// so a message is sent at most once (a failure is recorded, not retried).
async fn notifications_due(store: &Store, now: OffsetDateTime) -> Result<Option<Mails>, StoreError> {
    let Some(config) = store.setting(settings::NOTIFY_SETTINGS).await? else {
        return Ok(None);
    };
    let state = store.setting(settings::NOTIFY_STATE).await?.unwrap_or_default();
    let server = crate::front_ends::host_name();
    let mut mails = Vec::new();

    // Syncs finished since the last one considered, oldest first; a run still going stops
    // the walk so that it is considered once it finishes.
    let syncs = store.list_syncs(100).await?;
    let mut last_sync = state.last_sync_id;
    let mut finished: Vec<_> = syncs.into_iter().filter(|s| Some(s.id) > state.last_sync_id).collect();
    finished.sort_by_key(|s| s.id);
    for s in finished {
        let Some(end) = s.finished_at else { break };
        last_sync = Some(s.id);
        if state.last_sync_id.is_none() || !config.new_updates || s.new_revisions == 0 {
            // The first look only learns where the history stands: syncs from before the
            // notifications were set up are not announced.
            continue;
        }
        let rows = store.updates_first_stored_between(s.started_at, end).await?;
        let updates: Vec<NewUpdate> = rows
            .into_iter()
            .map(|r| NewUpdate {
                update_id: r.update_id.to_string(),
                title: r.title,
                kb: r.kb_article,
                classification: r.classification,
            })
            .collect();
        if let Some(mail) = notify::new_updates_mail(&server, &updates, &format_utc(end)) {
            mails.push(("new updates", mail));
        }
    }

    let enabled_at = config.report_enabled_at.as_deref().and_then(|t| parse_rfc3339_utc(t).ok()).unwrap_or(now);
    let last_report = state.last_status_report_at.as_deref().and_then(|t| parse_rfc3339_utc(t).ok());
    let report_due = notify::status_report_due(config.status_report, last_report, enabled_at, now);
    if report_due {
        mails.push(("status report", notify::status_report_mail(&server, &group_statuses(store).await?, now)));
    }

    if last_sync != state.last_sync_id || report_due {
        mailer::update_state(store, |s| {
            s.last_sync_id = last_sync.or(s.last_sync_id);
            if report_due {
                s.last_status_report_at = Some(format_utc(now));
            }
        })
        .await?;
    }
    Ok(Some((config, mails)))
}

/// The status report's lines: every group with its path, "All Computers" first.
pub async fn group_statuses(store: &Store) -> Result<Vec<GroupStatus>, StoreError> {
    let groups = store.list_groups().await?;
    let by_id: HashMap<_, _> = groups.iter().map(|g| (g.id, g)).collect();
    let path = |id| {
        let mut names = Vec::new();
        let mut at = by_id.get(&id).copied();
        while let Some(g) = at {
            names.push(g.name.as_str());
            // A cycle cannot be stored, but a bound keeps a corrupt row from hanging this.
            if names.len() > 64 {
                break;
            }
            at = g.parent_id.and_then(|p| by_id.get(&p).copied());
        }
        names.reverse();
        names.join("/")
    };
    let counts: HashMap<_, _> = store.group_status_counts().await?.into_iter().map(|c| (c.group_id, c)).collect();
    let mut out: Vec<GroupStatus> = groups
        .iter()
        .map(|g| {
            let c = counts.get(&g.id);
            GroupStatus {
                group: path(g.id),
                computers: c.map_or(0, |c| c.computers),
                needing_updates: c.map_or(0, |c| c.needing),
                failed_installs: c.map_or(0, |c| c.failed),
            }
        })
        .collect();
    out.sort_by(|a, b| a.group.cmp(&b.group));
    Ok(out)
}

/// The name the mails give this server.

/// Sends one message now and waits for it (`POST /notify/test`).
pub async fn send_now(store: &Store, config: &NotifyConfig, mail: notify::Mail) -> Result<(), String> {
    mailer::send_and_record(store, config, &mail, "test message").await
}
