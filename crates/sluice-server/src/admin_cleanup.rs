//! Admin API: self-maintenance. `POST /cleanup` runs a cleanup now (or a dry run),
//! `GET /cleanup/history` lists the recorded runs, `GET|PUT /cleanup/settings` reads and
//! changes the daily schedule and the thresholds.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use sluice_api::{
    ApiErrorCode, CleanupHistoryQuery, CleanupReport, CleanupRequest, CleanupRunView, CleanupSettings, CleanupSettingsChange,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use sluice_store::settings;
use time::OffsetDateTime;

use crate::admin::{audited, bad_request, ApiFailure, Caller};
use crate::{cleanup, AppState};

/// Runs one request lists when it names no limit, and at most.
const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 1_000;
/// The longest threshold accepted: ten years.
const MAX_DAYS: i64 = 3_650;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(run))
        .routes(routes!(history))
        .routes(routes!(show_settings, change_settings))
}

fn internal(e: impl std::fmt::Display) -> ApiFailure {
    tracing::error!(error = %e, "cleanup request failed");
    ApiFailure::new(StatusCode::INTERNAL_SERVER_ERROR, ApiErrorCode::Internal, e.to_string())
}

/// The audit entry's words for a run.
pub(crate) fn summary(r: &CleanupReport) -> String {
    let run = &r.run;
    format!(
        "{}run {}: {} superseded and {} expired update(s) declined, {} file(s) deleted ({} bytes), {} computer(s) removed{}{}",
        if run.dry_run { "dry " } else { "" },
        run.id,
        run.superseded_declined,
        run.expired_declined,
        run.files_deleted,
        run.bytes_freed,
        run.computers_removed,
        if run.compacted { ", database compacted" } else { "" },
        run.error.as_deref().map(|e| format!("; errors: {e}")).unwrap_or_default(),
    )
}

#[utoipa::path(post, path = "/cleanup", operation_id = "run_cleanup", tag = "maintenance", request_body = CleanupRequest, responses((status = 200, description = "The recorded run and what it changed (or would change)", body = CleanupReport)))]
async fn run(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Result<Json<CleanupRequest>, JsonRejection>,
) -> Result<Json<CleanupReport>, ApiFailure> {
    let Json(req) = req?;
    let action = if req.dry_run { "cleanup-dry-run" } else { "cleanup" };
    // The entry goes with the run's first committed change (its record in the history).
    let entry = caller.entry(action, "server", String::new());
    let report = audited(&state, entry, cleanup::run(&state, req.dry_run, &caller.user, OffsetDateTime::now_utc()))
        .await
        .map_err(internal)?;
    Ok(Json(report))
}

#[utoipa::path(get, path = "/cleanup/history", operation_id = "cleanup_history", tag = "maintenance", params(CleanupHistoryQuery), responses((status = 200, description = "Recorded runs, newest first", body = Vec<CleanupRunView>)))]
async fn history(
    State(state): State<AppState>,
    q: Result<Query<CleanupHistoryQuery>, QueryRejection>,
) -> Result<Json<Vec<CleanupRunView>>, ApiFailure> {
    let Query(q) = q?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(bad_request(format!("limit must be 1 to {MAX_LIMIT}")));
    }
    let runs = state.store.list_cleanup_runs(limit).await.map_err(internal)?;
    Ok(Json(runs.iter().map(cleanup::run_view).collect()))
}

#[utoipa::path(get, path = "/cleanup/settings", operation_id = "get_cleanup_settings", tag = "maintenance", responses((status = 200, body = CleanupSettings)))]
async fn show_settings(State(state): State<AppState>) -> Result<Json<CleanupSettings>, ApiFailure> {
    Ok(Json(cleanup::settings(&state.store).await.map_err(internal)?))
}

/// The settings with `change` applied, or what is wrong with it.
fn apply(mut s: CleanupSettings, change: CleanupSettingsChange) -> Result<CleanupSettings, String> {
    if let Some(t) = change.schedule {
        if sluice_decide::cleanup::parse_time_of_day(&t).is_none() {
            return Err(format!("schedule: expected HH:MM (UTC, 00:00 to 23:59), got {t:?}"));
        }
        s.schedule = t.trim().to_owned();
    }
    for (name, value, slot) in [
        ("superseded_days", change.superseded_days, &mut s.superseded_days),
        ("stale_computer_days", change.stale_computer_days, &mut s.stale_computer_days),
    ] {
        if let Some(days) = value {
            if !(1..=MAX_DAYS).contains(&days) {
                return Err(format!("{name}: expected 1 to {MAX_DAYS} days, got {days}"));
            }
            *slot = days;
        }
    }
    if let Some(enabled) = change.enabled {
        s.enabled = enabled;
    }
    Ok(s)
}

#[utoipa::path(put, path = "/cleanup/settings", operation_id = "put_cleanup_settings", tag = "maintenance", request_body = CleanupSettingsChange, responses((status = 200, description = "The settings as stored", body = CleanupSettings)))]
async fn change_settings(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Result<Json<CleanupSettingsChange>, JsonRejection>,
) -> Result<Json<CleanupSettings>, ApiFailure> {
    let Json(change) = req?;
    let current = cleanup::settings(&state.store).await.map_err(internal)?;
    let new = apply(current, change).map_err(bad_request)?;
    let detail = format!(
        "{} at {} UTC, superseded {} days, stale computers {} days",
        if new.enabled { "daily" } else { "off" },
        new.schedule,
        new.superseded_days,
        new.stale_computer_days
    );
    let entry = caller.entry("cleanup-settings", "cleanup", detail);
    audited(&state, entry, state.store.set(settings::CLEANUP_SETTINGS, &new)).await.map_err(internal)?;
    Ok(Json(new))
}
