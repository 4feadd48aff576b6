//! A cleanup run (WSUS's Server Cleanup Wizard): loads the records, asks
//! `sluice_decide::cleanup` what to change, carries it out unless it is a dry run, compacts
//! the database and records the run with its counts.

use std::collections::HashMap;

use sluice_api::sync::{StorageMode, SyncMode};
use sluice_api::{CleanupComputer, CleanupFile, CleanupReport, CleanupRunView, CleanupUpdate};
use sluice_catalog::times::format_utc;
use sluice_content::ContentKey;
use sluice_decide::cleanup::{self as decide, CleanupInput, CleanupPolicy, Reported};
use sluice_store::{CleanupRun, FileState, Lease, Store, StoreError, settings};
use time::OffsetDateTime;

use crate::AppState;
use crate::front_ends::lease;

/// The name runs started by the maintenance task are recorded under.
pub const SCHEDULER: &str = "scheduler";

/// One run at a time per process: two runs would decide from the same records and race each
/// other's deletions.
static RUNNING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The cleanup settings, or WSUS's defaults when none were saved.
pub async fn settings(store: &Store) -> Result<sluice_api::CleanupSettings, StoreError> {
    Ok(store.setting(settings::CLEANUP_SETTINGS).await?.unwrap_or_default())
}

/// Runs a cleanup at `now` for `by` (a user, or [`SCHEDULER`]). A step that fails is recorded
/// in the run's error and the others still run; only failing to read the records or to record
/// the run is an `Err`.
pub async fn run(state: &AppState, dry_run: bool, by: &str, now: OffsetDateTime) -> Result<CleanupReport, StoreError> {
    let _one = RUNNING.lock().await;
    let store = &state.store;
    // And one at a time across the front ends sharing the database; a dry run deletes nothing.
    let lease = match dry_run {
        true => None,
        false => match Lease::try_take(store, lease::CLEANUP, &state.front_end).await? {
            Some(l) => Some(l),
            None => return Err(StoreError::Conflict("a cleanup is already running on another front end".into())),
        },
    };
    let policy_settings = settings(store).await?;
    let id = store.start_cleanup_run(dry_run, by, now).await?;
    let mut record = CleanupRun { id, dry_run, requested_by: by.to_owned(), ..Default::default() };
    let loaded = load(store).await;
    let (input, titles, files, computers, policy) = match loaded {
        Ok(l) => l,
        Err(e) => {
            record.error = Some(format!("cannot read the catalog: {e}"));
            store.finish_cleanup_run(&record).await?;
            return Err(e);
        }
    };
    let policy = CleanupPolicy {
        superseded_days: policy_settings.superseded_days,
        stale_computer_days: policy_settings.stale_computer_days,
        ..policy
    };
    let plan = decide::plan(&input, &policy, now);
    let mut errors = Vec::new();

    let update_view = |id: &uuid::Uuid| CleanupUpdate {
        update_id: id.to_string(),
        title: titles.get(id).cloned().unwrap_or_default(),
    };
    let superseded: Vec<CleanupUpdate> = plan.decline_superseded.iter().map(update_view).collect();
    let expired: Vec<CleanupUpdate> = plan.decline_expired.iter().map(update_view).collect();
    let file_views: Vec<CleanupFile> = plan
        .delete_files
        .iter()
        .filter_map(|sha1| {
            let (file_name, size) = files.get(sha1)?;
            Some(CleanupFile { sha1: sha1.clone(), file_name: file_name.clone(), size: *size })
        })
        .collect();
    let computer_views: Vec<CleanupComputer> = plan
        .remove_computers
        .iter()
        .filter_map(|id| computers.get(id))
        .cloned()
        .collect();

    if dry_run {
        record.superseded_declined = superseded.len() as i64;
        record.expired_declined = expired.len() as i64;
        record.files_deleted = file_views.len() as i64;
        record.bytes_freed = file_views.iter().map(|f| f.size).sum();
        record.computers_removed = computer_views.len() as i64;
    } else {
        for (list, count) in [(&plan.decline_superseded, &mut record.superseded_declined), (&plan.decline_expired, &mut record.expired_declined)] {
            for update in list {
                match store.decline_with_approvals(*update, by).await {
                    Ok((true, _)) => *count += 1,
                    Ok((false, _)) => {}
                    Err(e) => errors.push(format!("declining {update}: {e}")),
                }
            }
        }
        if record.superseded_declined + record.expired_declined > 0 {
            state.scan.changed(&state.front_end);
        }
        for f in &file_views {
            match delete_file(state, f).await {
                Ok(true) => {
                    record.files_deleted += 1;
                    record.bytes_freed += f.size;
                }
                Ok(false) => {}
                Err(e) => errors.push(format!("deleting {} ({}): {e}", f.file_name, f.sha1)),
            }
        }
        for c in &computer_views {
            let deleted = store.delete_computer(&c.id).await;
            // Its next SyncUpdates must find it unregistered, not remembered.
            state.scan.computers.forget(&c.id);
            match deleted {
                Ok(()) => record.computers_removed += 1,
                Err(e) if e.is_not_found() => {}
                Err(e) => errors.push(format!("removing computer {}: {e}", c.id)),
            }
        }
        match store.compact().await {
            Ok(()) => record.compacted = true,
            Err(e) => errors.push(format!("compacting the database: {e}")),
        }
    }
    if !errors.is_empty() {
        tracing::warn!(run = id, errors = ?errors, "cleanup steps failed");
        record.error = Some(errors.join("; "));
    }
    let finished = store.finish_cleanup_run(&record).await?;
    if let Some(l) = lease {
        l.release().await;
    }
    Ok(CleanupReport { run: run_view(&finished), superseded, expired, files: file_views, computers: computer_views })
}

/// Takes a file out of the content store: first marked absent, so no client is sent to a
/// path that is about to disappear; `false` when it was not on disk.
async fn delete_file(state: &AppState, f: &CleanupFile) -> Result<bool, String> {
    let mut sha1 = [0u8; 20];
    hex::decode_to_slice(&f.sha1, &mut sha1).map_err(|e| format!("stored digest: {e}"))?;
    let key = ContentKey::for_file(sha1, &f.file_name).map_err(|e| e.to_string())?;
    state.store.set_file_state(&f.sha1, FileState::Absent).await.map_err(|e| e.to_string())?;
    state.content.remove(&key).await.map_err(|e| e.to_string())
}

type Loaded = (
    CleanupInput,
    HashMap<uuid::Uuid, String>,
    HashMap<String, (String, i64)>,
    HashMap<String, CleanupComputer>,
    CleanupPolicy,
);

async fn load(store: &Store) -> Result<Loaded, StoreError> {
    let updates = store.cleanup_updates().await?;
    let supersedences = store.supersedences().await?;
    let approvals = store.all_approvals().await?;
    let (needed_here, needed_downstream) = store.needed_updates().await?;
    let settled = store.settled_reports_of_superseded().await?;
    let groups = store.list_groups().await?;
    let contacts = store.computer_contacts().await?;
    let present = store.present_files().await?;
    let (update_files, bundles) = store.update_files_and_bundles().await?;
    let wanted = store.wanted_files().await?;
    let sync = store.setting(settings::SYNC_SETTINGS).await?.unwrap_or_default();
    let storage = store.setting(settings::STORAGE_MODE).await?.unwrap_or(StorageMode::Approved);

    let mut statuses = Vec::new();
    for (ids, downstream) in [(needed_here, false), (needed_downstream, true)] {
        statuses.extend(ids.into_iter().map(|update_id| decide::StatusRecord {
            computer_id: String::new(),
            update_id,
            state: Reported::Needed,
            downstream,
        }));
    }
    statuses.extend(settled.into_iter().map(|(computer_id, update_id)| decide::StatusRecord {
        computer_id,
        update_id,
        state: Reported::Settled,
        downstream: false,
    }));
    let input = CleanupInput {
        updates: updates
            .iter()
            .map(|u| decide::UpdateRecord {
                update_id: u.update_id,
                declined: u.declined,
                expired: u.expired,
                locally_published: u.locally_published,
            })
            .collect(),
        supersedences: supersedences
            .into_iter()
            .map(|s| decide::Supersedence {
                superseding: s.superseding,
                superseded: s.superseded,
                known_since: s.known_since,
                in_latest: s.in_latest,
            })
            .collect(),
        approvals: approvals
            .iter()
            .map(|a| decide::ApprovalRecord { update_id: a.update_id, group_id: a.group_id, action: a.action })
            .collect(),
        statuses,
        groups: groups.iter().map(|g| decide::GroupRecord { id: g.id, parent: g.parent_id }).collect(),
        computers: contacts
            .iter()
            .map(|c| decide::ComputerRecord { id: c.id.clone(), groups: c.groups.clone(), last_contact: c.last_contact })
            .collect(),
        files: present.iter().map(|f| decide::FileRecord { sha1: f.sha1.clone(), present: true }).collect(),
        update_files,
        bundles,
        wanted_files: wanted.into_iter().map(|w| w.sha1).collect(),
    };
    let titles = updates.into_iter().map(|u| (u.update_id, u.title)).collect();
    let files = present.into_iter().map(|f| (f.sha1, (f.file_name, f.size))).collect();
    let computers = contacts
        .into_iter()
        .map(|c| {
            let view = CleanupComputer { id: c.id.clone(), name: c.dns_name, last_contact: format_utc(c.last_contact) };
            (c.id, view)
        })
        .collect();
    let policy = CleanupPolicy {
        superseded_days: 0,
        stale_computer_days: 0,
        replica: sync.mode == SyncMode::Replica,
        keep_all_content: storage == StorageMode::All,
    };
    Ok((input, titles, files, computers, policy))
}

pub fn run_view(r: &CleanupRun) -> CleanupRunView {
    CleanupRunView {
        id: r.id,
        started_at: r.started_at.map(format_utc).unwrap_or_default(),
        finished_at: r.finished_at.map(format_utc),
        dry_run: r.dry_run,
        requested_by: r.requested_by.clone(),
        superseded_declined: r.superseded_declined,
        expired_declined: r.expired_declined,
        files_deleted: r.files_deleted,
        bytes_freed: r.bytes_freed,
        computers_removed: r.computers_removed,
        compacted: r.compacted,
        error: r.error.clone(),
    }
}
