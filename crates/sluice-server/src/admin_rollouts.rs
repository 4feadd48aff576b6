//! Admin API routes for staged rollouts: plans, putting updates on them, their status, and an
//! administrator's resume, skip and abort; and [`evaluate_rollouts`], which the server's
//! background task calls every minute (and tests call with their own clock).

use std::time::Duration;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use sluice_catalog::api::*;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use sluice_store::Lease;

use crate::AppState;
use crate::front_ends::lease;
use crate::admin::{ApiFailure, Caller, audited, request_detail};

/// How often running rollouts are evaluated. Soak times are days; a minute is ample.
const EVALUATION_PERIOD: Duration = Duration::from_secs(60);

/// The routes, relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_plans, create_plan))
        .routes(routes!(delete_plan))
        .routes(routes!(status, start))
        .routes(routes!(resume))
        .routes(routes!(skip))
        .routes(routes!(abort))
}

/// Moves every running rollout on as far as `now` allows (see
/// [`sluice_catalog::Catalog::evaluate_rollouts`]); clients see new approvals on their next scan.
/// Only the front end holding the rollouts lease evaluates; the others move nothing.
pub async fn evaluate_rollouts(state: &AppState, now: OffsetDateTime) -> Result<Vec<RolloutView>, sluice_catalog::CatalogError> {
    let Some(lease) = Lease::try_take(&state.store, lease::ROLLOUTS, &state.front_end).await? else {
        return Ok(Vec::new());
    };
    let moved = state.catalog.evaluate_rollouts(now).await;
    lease.release().await;
    let moved = moved?;
    if !moved.is_empty() {
        state.scan.changed(&state.front_end);
    }
    Ok(moved)
}

/// The background task: evaluates rollouts every [`EVALUATION_PERIOD`] until `stop`.
pub fn spawn_evaluation(state: AppState, stop: CancellationToken) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVALUATION_PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {
                    match evaluate_rollouts(&state, OffsetDateTime::now_utc()).await {
                        Ok(moved) if !moved.is_empty() => tracing::info!(moved = moved.len(), "staged rollouts moved"),
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e, "cannot evaluate the staged rollouts"),
                    }
                }
            }
        }
    });
}

#[utoipa::path(get, path = "/rollout-plans", tag = "staged rollouts", responses((status = 200, description = "Every rollout plan", body = Vec<PlanView>)))]
async fn list_plans(State(state): State<AppState>) -> Result<Json<Vec<PlanView>>, ApiFailure> {
    Ok(Json(state.catalog.list_plans().await?))
}

#[utoipa::path(post, path = "/rollout-plans", tag = "staged rollouts", request_body = CreatePlanRequest, responses((status = 201, description = "The new plan", body = PlanView)))]
async fn create_plan(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Result<Json<CreatePlanRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<PlanView>), ApiFailure> {
    let Json(req) = req?;
    let entry = caller.entry("rollout-plan-create", req.name.trim(), request_detail(&req));
    let plan = audited(&state, entry, state.catalog.create_plan(&req, &caller.user)).await?;
    Ok((StatusCode::CREATED, Json(plan)))
}

#[utoipa::path(delete, path = "/rollout-plans/{plan}", tag = "staged rollouts", params(("plan" = String, Path, description = "Plan name or id")), responses((status = 200, description = "The deleted plan", body = PlanView)))]
async fn delete_plan(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    plan: Result<Path<String>, PathRejection>,
) -> Result<Json<PlanView>, ApiFailure> {
    let Path(plan) = plan?;
    let entry = caller.entry("rollout-plan-delete", plan.trim(), String::new());
    let deleted = audited(&state, entry, state.catalog.delete_plan(&plan)).await?;
    Ok(Json(deleted))
}

#[utoipa::path(get, path = "/rollouts", tag = "staged rollouts", responses((status = 200, description = "Every rollout, newest first, with its current ring's reports", body = Vec<RolloutView>)))]
async fn status(State(state): State<AppState>) -> Result<Json<Vec<RolloutView>>, ApiFailure> {
    Ok(Json(state.catalog.rollouts_status().await?))
}

#[utoipa::path(post, path = "/rollouts", tag = "staged rollouts", request_body = StartRolloutRequest, responses((status = 201, description = "The rollouts started (each update approved for the first ring)", body = Vec<RolloutView>)))]
async fn start(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Result<Json<StartRolloutRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Vec<RolloutView>>), ApiFailure> {
    let Json(req) = req?;
    let detail = format!("update(s) {}, approved for ring 1", req.updates.join(", "));
    let entry = caller.entry("rollout-start", req.plan.trim(), detail);
    let started = audited(&state, entry, state.catalog.start_rollouts(&req, &caller.user, OffsetDateTime::now_utc())).await?;
    Ok((StatusCode::CREATED, Json(started)))
}

#[utoipa::path(post, path = "/rollouts/{id}/resume", tag = "staged rollouts", params(("id" = i64, Path, description = "Rollout id")), responses((status = 200, description = "The resumed rollout", body = RolloutView)))]
async fn resume(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<RolloutView>, ApiFailure> {
    let Path(id) = id?;
    let entry = caller.entry("rollout-resume", &format!("rollout {id}"), "its current ring soaks again");
    let v = audited(&state, entry, state.catalog.resume_rollout(id, OffsetDateTime::now_utc())).await?;
    Ok(Json(v))
}

#[utoipa::path(post, path = "/rollouts/{id}/skip", tag = "staged rollouts", params(("id" = i64, Path, description = "Rollout id")), responses((status = 200, description = "The rollout, moved to its next ring", body = RolloutView)))]
async fn skip(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<RolloutView>, ApiFailure> {
    let Path(id) = id?;
    let entry = caller.entry("rollout-skip", &format!("rollout {id}"), "moved to its next ring");
    let v = audited(&state, entry, state.catalog.skip_ring(id, OffsetDateTime::now_utc())).await?;
    Ok(Json(v))
}

#[utoipa::path(post, path = "/rollouts/{id}/abort", tag = "staged rollouts", params(("id" = i64, Path, description = "Rollout id")), responses((status = 200, description = "The stopped rollout", body = RolloutView)))]
async fn abort(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<RolloutView>, ApiFailure> {
    let Path(id) = id?;
    let entry = caller.entry("rollout-abort", &format!("rollout {id}"), "stopped; approvals given so far stay");
    let v = audited(&state, entry, state.catalog.abort_rollout(id)).await?;
    Ok(Json(v))
}
