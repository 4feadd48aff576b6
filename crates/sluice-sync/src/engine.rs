//! One synchronisation run: authorization, the configuration pass, the updates pass, metadata
//! in batches through the catalog's ingest, then downloads per the storage mode.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use serde::Serialize;
use sluice_catalog::Catalog;
use sluice_store::{ApprovalAction, FileRecord, FileState, JobState, RelationshipKind, RollupStatus, Store, StoreError, SyncFinish, SyncResult};
use sluice_wsusss::{ErrorCode, IdAndDelta, LanguageAndDelta, ServerSyncFilter, ServerSyncLanguageData, UpdateIdentity};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::client::{UpstreamClient, http_client};
use crate::download::{DownloadReport, Downloader};
use crate::selection::UpdatesFilter;
use crate::settings::{self, StorageMode, SyncSettings, SyncSettingsExt, is_microsoft_update};
use sluice_store::settings as keys;
use crate::SyncError;

/// Job kind of a sync in the jobs table.
pub const SYNC_JOB: &str = "sync";
/// The `SYNC_ANCHOR_UPDATES_FILTER` value of an anchor obtained without a product or classification
/// filter.
const UNFILTERED: &str = "*";
/// Job kind of a download run (approved mode).
pub const DOWNLOAD_JOB: &str = "download";

/// What a run did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SyncReport {
    pub sync_id: i64,
    pub new_revisions: i64,
    pub revised: i64,
    pub expired: i64,
    pub downloaded: usize,
    pub download_failures: usize,
    /// Approvals set from the upstream's deployments (replica mode).
    pub approvals_mirrored: usize,
    /// Computers reported to the upstream.
    pub rolled_up_computers: usize,
    /// Why the rollup to the upstream failed (it does not fail the sync).
    pub rollup_error: Option<String>,
    /// Problems that did not stop the run (a document refused, a file not downloaded).
    pub errors: Vec<String>,
}

/// Progress of the run in this process, for the status view.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LiveProgress {
    pub job_id: Option<Uuid>,
    pub sync_id: i64,
    pub phase: String,
    pub done: i64,
    pub total: i64,
}

static LIVE: Mutex<Option<LiveProgress>> = Mutex::new(None);

/// The running sync's progress, if one runs in this process.
pub fn live_progress() -> Option<LiveProgress> {
    LIVE.lock().map(|g| g.clone()).unwrap_or(None)
}

/// Updates the in-process progress counts only (called from synchronous code).
fn set_live_counts(done: i64, total: i64) {
    if let Ok(mut g) = LIVE.lock()
        && let Some(p) = g.as_mut()
    {
        p.done = done;
        p.total = total;
    }
}

struct Progress<'a> {
    store: &'a Store,
    job: Option<Uuid>,
    sync_id: i64,
}

impl Progress<'_> {
    async fn set(&self, phase: &str, done: i64, total: i64) {
        if let Ok(mut g) = LIVE.lock() {
            *g = Some(LiveProgress { job_id: self.job, sync_id: self.sync_id, phase: phase.to_string(), done, total });
        }
        if let Some(job) = self.job
            && let Err(e) = self.store.update_job_progress(job, done, total).await
        {
            tracing::warn!(error = %e, "cannot record sync progress");
        }
    }
}

/// Runs one sync with the stored settings, recording it in the sync history (and finishing
/// `job` when given). Errors are recorded before being returned.
pub async fn run_sync(catalog: &Catalog, job: Option<Uuid>, stop: &CancellationToken) -> Result<SyncReport, SyncError> {
    let store = catalog.store();
    let settings = match SyncSettings::load(store).await {
        Ok(s) => s,
        Err(e) => {
            let id = store.start_sync("(unreadable settings)").await?;
            finish(store, id, job, &SyncReport::default(), Some(e.to_string()), false).await;
            return Err(e);
        }
    };
    let sync_id = store.start_sync(&settings.upstream).await?;
    let mut report = SyncReport { sync_id, ..Default::default() };
    let progress = Progress { store, job, sync_id };
    let outcome = run_inner(catalog, &settings, &progress, &mut report, stop).await;
    if outcome.is_ok() {
        // WSUS's "decline expired updates automatically": after each sync that completed.
        match catalog.decline_expired().await {
            Ok(declined) if !declined.is_empty() => tracing::info!(declined = declined.len(), "expired updates declined"),
            Ok(_) => {}
            Err(e) => report.errors.push(format!("declining expired updates: {e}")),
        }
    }
    if let Ok(mut g) = LIVE.lock() {
        *g = None;
    }
    let error = match &outcome {
        Ok(()) if report.errors.is_empty() => None,
        Ok(()) => Some(report.errors.join("; ")),
        Err(e) => Some(e.to_string()),
    };
    let cancelled = matches!(outcome, Err(SyncError::Cancelled));
    finish(store, sync_id, job, &report, error.clone(), cancelled).await;
    match outcome {
        Ok(()) => Ok(report),
        Err(e) => Err(e),
    }
}

async fn finish(store: &Store, sync_id: i64, job: Option<Uuid>, r: &SyncReport, error: Option<String>, cancelled: bool) {
    let result = match (&error, cancelled) {
        (_, true) => SyncResult::Cancelled,
        (None, false) => SyncResult::Succeeded,
        (Some(_), false) => SyncResult::Failed,
    };
    let fin = SyncFinish { result, new_revisions: r.new_revisions, revised: r.revised, expired: r.expired, error: error.clone() };
    if let Err(e) = store.finish_sync(sync_id, &fin).await {
        tracing::error!(error = %e, "cannot record the end of the sync");
    }
    if let Some(job) = job {
        let state = match result {
            SyncResult::Succeeded => JobState::Succeeded,
            SyncResult::Cancelled => JobState::Cancelled,
            _ => JobState::Failed,
        };
        if let Err(e) = store.finish_job(job, state, error.as_deref()).await {
            tracing::error!(error = %e, "cannot finish the sync job");
        }
    }
}

async fn run_inner(
    catalog: &Catalog,
    settings: &SyncSettings,
    progress: &Progress<'_>,
    report: &mut SyncReport,
    stop: &CancellationToken,
) -> Result<(), SyncError> {
    let store = catalog.store();
    settings.validate()?;
    let http = http_client(settings)?;
    let server_id = settings::server_id(store).await?;
    let mut client = UpstreamClient::new(http.clone(), &settings.upstream, account_name(), server_id.to_string());

    progress.set("authorizing", 0, 0).await;
    client.authenticate().await?;
    let config = client.config_data().await?;
    let limit = match config.max_number_of_updates_per_request {
        n if n <= 0 => 100,
        n => n.min(100) as usize,
    };

    // Pass 1: categories, classifications, detectoids.
    let config_anchor = store.setting(keys::SYNC_ANCHOR_CONFIG).await?;
    let filter = ServerSyncFilter { anchor: config_anchor, get_config: true, ..Default::default() };
    let list = pass(&mut client, store, filter).await?;
    let errors_before = report.errors.len();
    fetch(catalog, &mut client, &list.new_revisions, limit, progress, "categories", report, stop).await?;
    if report.errors.len() == errors_before
        && let Some(a) = &list.anchor
    {
        store.set(keys::SYNC_ANCHOR_CONFIG, a).await?;
    }

    // Pass 2: updates of the selected products AND classifications, or, for a downstream
    // that inherits its upstream's selection, every update the upstream has.
    let (categories, classifications) = match crate::selection::updates_filter(store, settings).await? {
        UpdatesFilter::Unfiltered => (None, None),
        UpdatesFilter::Only { products, classifications } => (Some(products), Some(classifications)),
    };
    if categories.as_ref().is_some_and(Vec::is_empty) || classifications.as_ref().is_some_and(Vec::is_empty) {
        tracing::info!("no products or no classifications selected: only categories were synchronised");
    } else {
        let anchor = store.setting(keys::SYNC_ANCHOR_UPDATES).await?;
        let previous = store.setting(keys::SYNC_ANCHOR_UPDATES_FILTER).await?.unwrap_or_default();
        let previous_unfiltered = previous == UNFILTERED;
        let previous: HashSet<Uuid> = previous.split(',').filter_map(|x| Uuid::parse_str(x).ok()).collect();
        // Unfiltered, the upstream lists only what changed since the anchor: an anchor got
        // under a narrower filter would leave out the older updates of everything else.
        let anchor = if categories.is_none() && !previous_unfiltered { None } else { anchor };
        let delta_for = |id: &Uuid| anchor.is_some() && (previous_unfiltered || previous.contains(id));
        let with_delta = |ids: &Option<Vec<Uuid>>| ids.as_ref().map(|v| v.iter().map(|id| IdAndDelta { id: *id, delta: delta_for(id) }).collect());
        let filter = ServerSyncFilter {
            anchor: anchor.clone(),
            get_config: false,
            get_63_language_only: false,
            categories: with_delta(&categories),
            classifications: with_delta(&classifications),
            languages: languages(&settings.languages, &config.language_update_list, anchor.is_some()),
        };
        let list = pass(&mut client, store, filter).await?;
        let errors_before = report.errors.len();
        fetch(catalog, &mut client, &list.new_revisions, limit, progress, "updates", report, stop).await?;
        if report.errors.len() == errors_before
            && let Some(a) = &list.anchor
        {
            let selected = match (&categories, &classifications) {
                (Some(p), Some(c)) => p.iter().chain(c).map(Uuid::to_string).collect::<Vec<_>>().join(","),
                _ => UNFILTERED.to_string(),
            };
            store.set(keys::SYNC_ANCHOR_UPDATES, a).await?;
            store.set(keys::SYNC_ANCHOR_UPDATES_FILTER, &selected).await?;
        }
    }

    if settings.mode == settings::SyncMode::Replica {
        // A replica takes groups, approvals, declines and accepted licenses from the upstream.
        progress.set("deployments", 0, 0).await;
        let mut sync_anchor = None;
        for k in [keys::SYNC_ANCHOR_UPDATES, keys::SYNC_ANCHOR_CONFIG] {
            if sync_anchor.is_none() {
                sync_anchor = store.setting(k).await?.filter(|a| !a.trim().is_empty());
            }
        }
        let sync_anchor = sync_anchor.unwrap_or_else(|| sluice_wsusss::format_datetime(time::OffsetDateTime::now_utc()));
        let m = crate::hierarchy::mirror_deployments(catalog, &mut client, sync_anchor).await?;
        tracing::info!(groups = m.groups, set = m.approvals_set, removed = m.approvals_removed, declined = m.declined, "deployments mirrored from the upstream");
        report.approvals_mirrored = m.approvals_set;
    }

    // Content.
    let content_base = (!config.catalog_only_sync && !is_microsoft_update(&settings.upstream)).then(|| settings.upstream.clone());
    let downloader = Downloader::new(http, store.clone(), catalog.content().clone(), settings.download_concurrency)
        .with_content_base(content_base);
    let files = match settings.storage {
        StorageMode::None => Vec::new(),
        StorageMode::All => wanted_files(store, None, true).await?,
        StorageMode::Approved => approved_files(store, true).await?,
    };
    if !files.is_empty() {
        progress.set("downloading", 0, files.len() as i64).await;
        let d = downloader
            .download_all_with_progress(files, stop, |done, total| set_live_counts(done as i64, total as i64))
            .await;
        absorb(report, d);
    }
    if stop.is_cancelled() {
        return Err(SyncError::Cancelled);
    }

    // Report this server, its computers and their states to the upstream (Microsoft Update
    // has no reporting service). The synchronisation itself succeeded whatever happens here
    // (an upstream may not take rollups): the outcome is in the report, the log and the
    // `sync-rollup-status` setting.
    if !is_microsoft_update(&settings.upstream) {
        progress.set("rollup", 0, 0).await;
        match rollup_with(catalog, settings, &mut client, server_id, Some(time::OffsetDateTime::now_utc())).await? {
            Ok(r) => report.rolled_up_computers = r.computers,
            Err(e) => report.rollup_error = Some(e),
        }
    }
    Ok(())
}

/// One rollup with `client`; the outcome is logged and kept in the `sync-rollup-status`
/// setting. The outer error is the store's; the inner one the rollup's.
async fn rollup_with(
    catalog: &Catalog,
    settings: &SyncSettings,
    client: &mut UpstreamClient,
    server_id: Uuid,
    last_sync: Option<time::OffsetDateTime>,
) -> Result<Result<crate::hierarchy::RollupReport, String>, SyncError> {
    let store = catalog.store();
    let replica = settings.mode == settings::SyncMode::Replica;
    let now = time::OffsetDateTime::now_utc();
    let last_sync = match last_sync {
        Some(t) => t,
        None => store
            .list_syncs(20)
            .await?
            .iter()
            .find(|s| s.result == SyncResult::Succeeded)
            .and_then(|s| s.finished_at)
            .unwrap_or(now),
    };
    let name = client.account_name().to_string();
    let outcome = crate::hierarchy::rollup(catalog, client, server_id, &name, replica, last_sync).await;
    let at = sluice_wsusss::format_datetime(now);
    let status = match &outcome {
        Ok(r) => RollupStatus { at, ok: true, computers: Some(r.computers), statuses: Some(r.statuses), error: None },
        Err(e) => {
            tracing::warn!(error = %e, "rollup to the upstream failed");
            RollupStatus { at, ok: false, computers: None, statuses: None, error: Some(e.to_string()) }
        }
    };
    store.set(keys::ROLLUP_STATUS, &status).await?;
    Ok(outcome.map_err(|e| e.to_string()))
}

/// A rollup outside a sync (the scheduler's timer): this server, its computers and their
/// states reported to the configured upstream. `Ok(None)` when there is nothing to report to
/// (no sync settings saved, or Microsoft Update, which has no reporting service).
pub async fn rollup_now(catalog: &Catalog) -> Result<Option<crate::hierarchy::RollupReport>, SyncError> {
    let store = catalog.store();
    if store.setting(keys::SYNC_SETTINGS).await?.is_none() {
        return Ok(None);
    }
    let settings = SyncSettings::load(store).await?;
    if settings.upstream.trim().is_empty() || is_microsoft_update(&settings.upstream) {
        return Ok(None);
    }
    settings.validate()?;
    let http = http_client(&settings)?;
    let server_id = settings::server_id(store).await?;
    let mut client = UpstreamClient::new(http, &settings.upstream, account_name(), server_id.to_string());
    match rollup_with(catalog, &settings, &mut client, server_id, None).await? {
        Ok(r) => Ok(Some(r)),
        Err(e) => Err(SyncError::Network(format!("rollup to the upstream: {e}"))),
    }
}

/// The `accountName` this server presents: its host name when it looks like one.
fn account_name() -> String {
    std::env::var("HOSTNAME").ok().filter(|h| is_fqdn_like(h)).unwrap_or_else(|| "sluice".to_string())
}

fn absorb(report: &mut SyncReport, d: DownloadReport) {
    report.downloaded += d.downloaded;
    report.download_failures += d.failed.len();
    report.errors.extend(d.failed.into_iter().map(|(sha1, e)| format!("file {sha1}: {e}")));
}

fn is_fqdn_like(s: &str) -> bool {
    !s.is_empty() && s.len() <= 255 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// LCIDs of the configured language codes, as the upstream lists them.
fn languages(codes: &[String], known: &[ServerSyncLanguageData], delta: bool) -> Option<Vec<LanguageAndDelta>> {
    if codes.is_empty() || known.is_empty() {
        return None;
    }
    let ids: Vec<LanguageAndDelta> = codes
        .iter()
        .filter_map(|c| known.iter().find(|l| l.short_language.eq_ignore_ascii_case(c)))
        .map(|l| LanguageAndDelta { id: l.language_id, delta })
        .collect();
    (!ids.is_empty()).then_some(ids)
}

/// GetRevisionIdList. `ServerChanged` means the upstream is not the one that issued our
/// anchors (reinstalled, or another server behind the same name): every anchor is dropped and
/// the pass is asked again from scratch, as the protocol prescribes.
async fn pass(client: &mut UpstreamClient, store: &Store, filter: ServerSyncFilter) -> Result<sluice_wsusss::RevisionIdList, SyncError> {
    match client.revision_ids(filter.clone()).await {
        Err(SyncError::Fault { code: ErrorCode::ServerChanged, .. }) => {
            tracing::warn!("the upstream changed: anchors reset, full pass");
            for k in [keys::SYNC_ANCHOR_CONFIG, keys::SYNC_ANCHOR_UPDATES, keys::SYNC_ANCHOR_UPDATES_FILTER] {
                store.clear(k).await?;
            }
            let undelta = |l: Option<Vec<IdAndDelta>>| l.map(|v| v.into_iter().map(|c| IdAndDelta { delta: false, ..c }).collect());
            let fresh = ServerSyncFilter {
                anchor: None,
                categories: undelta(filter.categories),
                classifications: undelta(filter.classifications),
                languages: filter.languages.map(|v| v.into_iter().map(|l| LanguageAndDelta { delta: false, ..l }).collect()),
                ..filter
            };
            client.revision_ids(fresh).await
        }
        other => other,
    }
}

/// Fetches and stores the revisions of `ids` not yet in the catalog, batch by batch. Each
/// batch is committed on its own, so an interrupted run keeps what it stored and the next run
/// skips it.
#[allow(clippy::too_many_arguments)]
async fn fetch(
    catalog: &Catalog,
    client: &mut UpstreamClient,
    ids: &[UpdateIdentity],
    limit: usize,
    progress: &Progress<'_>,
    phase: &str,
    report: &mut SyncReport,
    stop: &CancellationToken,
) -> Result<(), SyncError> {
    let store = catalog.store();
    // Real WSUS may list an update twice (two revisions): only the highest matters.
    let mut latest: BTreeMap<Uuid, i32> = BTreeMap::new();
    for id in ids {
        let e = latest.entry(id.update_id).or_insert(id.revision_number);
        *e = (*e).max(id.revision_number);
    }
    let mut todo = Vec::new();
    for (update_id, rev) in latest {
        if store.revision_by_identity(update_id, rev).await?.is_none() {
            todo.push(UpdateIdentity::new(update_id, rev));
        }
    }
    let total = todo.len() as i64;
    let mut done = 0i64;
    progress.set(phase, 0, total).await;
    // Batches that the upstream refuses as a whole are split until the culprit is alone.
    let mut queue: Vec<Vec<UpdateIdentity>> = todo.chunks(limit).rev().map(<[_]>::to_vec).collect();
    while let Some(batch) = queue.pop() {
        if stop.is_cancelled() {
            return Err(SyncError::Cancelled);
        }
        let data = match client.update_data(&batch).await {
            Ok(d) => d,
            Err(SyncError::Fault { code: ErrorCode::InternalServerError, .. }) if batch.len() > 1 => {
                let (a, b) = batch.split_at(batch.len() / 2);
                queue.push(b.to_vec());
                queue.push(a.to_vec());
                continue;
            }
            Err(e @ SyncError::Fault { code: ErrorCode::InternalServerError, .. }) => {
                report.errors.push(format!("{} r{}: {e}", batch[0].update_id, batch[0].revision_number));
                done += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        store_batch(catalog, data, report).await?;
        done += batch.len() as i64;
        progress.set(phase, done, total).await;
    }
    Ok(())
}

async fn store_batch(catalog: &Catalog, data: sluice_wsusss::ServerUpdateData, report: &mut SyncReport) -> Result<(), SyncError> {
    let store = catalog.store();
    let updates = data.updates;
    let (parsed, errors) = tokio::task::spawn_blocking(move || {
        let mut parsed = Vec::new();
        let mut errors = Vec::new();
        for u in &updates {
            let name = format!("{}-r{}", u.id.update_id, u.id.revision_number);
            match u.blob.xml() {
                Ok(xml) => match sluice_metadata::parse_update(&xml, &name) {
                    Ok(p) => parsed.push(p),
                    Err(e) => errors.push(format!("{name}: {e}")),
                },
                Err(e) => errors.push(format!("{name}: {e}")),
            }
        }
        (parsed, errors)
    })
    .await
    .map_err(|e| SyncError::Internal(e.to_string()))?;
    report.errors.extend(errors);
    let mut had_earlier = HashSet::new();
    let mut expired = HashSet::new();
    for p in &parsed {
        let id = p.update.identity.update_id;
        if store.latest_revision(id).await?.is_some() {
            had_earlier.insert(id);
        }
        if p.update.properties.publication_state.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("Expired")) {
            expired.insert(id);
        }
    }
    if !parsed.is_empty() {
        for r in catalog.store_parsed(parsed).await? {
            if !r.inserted {
                continue;
            }
            let id = Uuid::parse_str(&r.update_id).unwrap_or_default();
            if had_earlier.contains(&id) {
                report.revised += 1;
            } else {
                report.new_revisions += 1;
            }
            if expired.contains(&id) {
                report.expired += 1;
            }
        }
    }
    for u in &data.file_urls {
        if u.mu_url.is_empty() || u.file_digest.len() != 20 {
            continue;
        }
        match store.set_file_mu_url(&hex::encode(&u.file_digest), &u.mu_url).await {
            Ok(()) | Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Files not yet present (absent, left downloading by a crash, and failed ones when
/// `retry_failed`), optionally restricted to a set of SHA-1s.
async fn wanted_files(store: &Store, only: Option<&HashSet<String>>, retry_failed: bool) -> Result<Vec<FileRecord>, SyncError> {
    let mut out = Vec::new();
    let states: &[FileState] =
        if retry_failed { &[FileState::Absent, FileState::Failed, FileState::Downloading] } else { &[FileState::Absent, FileState::Downloading] };
    for &state in states {
        out.extend(store.files_in_state(state).await?.into_iter().filter(|f| only.is_none_or(|s| s.contains(&f.sha1))));
    }
    Ok(out)
}

/// Files of updates approved for install in any group, including the files of the updates
/// they bundle (a bundle's payload lives in its children).
pub async fn approved_files(store: &Store, retry_failed: bool) -> Result<Vec<FileRecord>, SyncError> {
    let approved: HashSet<Uuid> =
        store.all_approvals().await?.into_iter().filter(|a| a.action == ApprovalAction::Install).map(|a| a.update_id).collect();
    if approved.is_empty() {
        return Ok(Vec::new());
    }
    let revisions = store.all_revisions().await?;
    let mut by_update: HashMap<Uuid, Vec<i64>> = HashMap::new();
    let mut update_of: HashMap<i64, Uuid> = HashMap::new();
    for r in &revisions {
        by_update.entry(r.update_id).or_default().push(r.id);
        update_of.insert(r.id, r.update_id);
    }
    let mut wanted_updates = approved.clone();
    for (rev, rel) in store.all_relationships().await? {
        if rel.kind == RelationshipKind::Bundled && update_of.get(&rev).is_some_and(|u| approved.contains(u)) {
            wanted_updates.insert(rel.target_update_id);
        }
    }
    let wanted_revs: HashSet<i64> = wanted_updates.iter().filter_map(|u| by_update.get(u)).flatten().copied().collect();
    let sha1s: HashSet<String> =
        store.all_revision_files().await?.into_iter().filter(|(rev, _)| wanted_revs.contains(rev)).map(|(_, f)| f.sha1).collect();
    wanted_files(store, Some(&sha1s), retry_failed).await
}

/// Downloads the files of newly approved updates (storage mode `approved`), as a recorded
/// job. Files that failed before are left to the next sync, so a broken source is not hit
/// every minute.
pub async fn download_approved(catalog: &Catalog, stop: &CancellationToken) -> Result<DownloadReport, SyncError> {
    let store = catalog.store();
    // An unconfigured server (no sync settings saved) never reaches out for content.
    if store.setting(keys::SYNC_SETTINGS).await?.is_none() {
        return Ok(DownloadReport::default());
    }
    let settings = SyncSettings::load(store).await?;
    // Files downstream servers asked for (DownloadFiles), whatever the storage mode but none:
    // they are why a lazily syncing upstream keeps content at all.
    let mut wanted = Vec::new();
    if settings.storage != StorageMode::None {
        for w in store.wanted_files().await? {
            match store.file(&w.sha1).await? {
                Some(f) if f.state != FileState::Present => wanted.push(f),
                // Already here, or unknown to the catalog: nothing to fetch.
                _ => {
                    store.unwant_file(&w.sha1).await?;
                }
            }
        }
    }
    let mut files = if settings.storage == StorageMode::Approved { approved_files(store, false).await? } else { Vec::new() };
    for f in wanted.iter() {
        if !files.iter().any(|x| x.sha1 == f.sha1) {
            files.push(f.clone());
        }
    }
    if files.is_empty() {
        return Ok(DownloadReport::default());
    }
    let job = store.create_job(DOWNLOAD_JOB, "{}", files.len() as i64).await?;
    store.start_job(job.id).await?;
    let http = http_client(&settings)?;
    let base = (!is_microsoft_update(&settings.upstream)).then(|| settings.upstream.clone());
    let d = Downloader::new(http, store.clone(), catalog.content().clone(), settings.download_concurrency).with_content_base(base);
    let report = d.download_all(files, stop).await;
    for f in &wanted {
        if store.file(&f.sha1).await?.is_some_and(|x| x.state == FileState::Present) {
            store.unwant_file(&f.sha1).await?;
        }
    }
    let _ = store.update_job_progress(job.id, report.downloaded as i64, job.progress_total).await;
    let (state, err) = if report.failed.is_empty() {
        (JobState::Succeeded, None)
    } else {
        (JobState::Failed, Some(report.failed.iter().map(|(s, e)| format!("{s}: {e}")).collect::<Vec<_>>().join("; ")))
    };
    let _ = store.finish_job(job.id, state, err.as_deref()).await;
    Ok(report)
}
