//! Admin API routes for staged rollouts: plans, putting updates on them, their status, and an
//! administrator's resume, skip and abort; and [`evaluate_rollouts`], which the server's
//! background task calls every minute (and tests call with their own clock).

use std::time::Duration;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use sluice_catalog::api::*;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::AppState;
use crate::admin::{ApiFailure, Caller, audit};

/// How often running rollouts are evaluated. Soak times are days; a minute is ample.
const EVALUATION_PERIOD: Duration = Duration::from_secs(60);

/// The routes, relative to `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rollout-plans", get(list_plans).post(create_plan))
        .route("/rollout-plans/{plan}", delete(delete_plan))
        .route("/rollouts", get(status).post(start))
        .route("/rollouts/{id}/resume", post(resume))
        .route("/rollouts/{id}/skip", post(skip))
        .route("/rollouts/{id}/abort", post(abort))
}

/// Moves every running rollout on as far as `now` allows (see
/// [`sluice_catalog::Catalog::evaluate_rollouts`]); clients see new approvals on their next scan.
pub async fn evaluate_rollouts(state: &AppState, now: OffsetDateTime) -> Result<Vec<RolloutView>, sluice_catalog::CatalogError> {
    let moved = state.catalog.evaluate_rollouts(now).await?;
    if !moved.is_empty() {
        state.scan.invalidate();
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

fn plan_detail(p: &PlanView) -> String {
    let rings: Vec<String> = p.rings.iter().map(|r| format!("{}:{}", r.group, r.soak)).collect();
    format!("id {}, rings {}, max failure {}", p.id, rings.join(" → "), p.max_failure)
}

async fn list_plans(State(state): State<AppState>) -> Result<Json<Vec<PlanView>>, ApiFailure> {
    Ok(Json(state.catalog.list_plans().await?))
}

async fn create_plan(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Result<Json<CreatePlanRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<PlanView>), ApiFailure> {
    let Json(req) = req?;
    let plan = state.catalog.create_plan(&req, &caller.user).await?;
    audit(&state, &caller, "rollout-plan-create", &plan.name, plan_detail(&plan)).await;
    Ok((StatusCode::CREATED, Json(plan)))
}

async fn delete_plan(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    plan: Result<Path<String>, PathRejection>,
) -> Result<Json<PlanView>, ApiFailure> {
    let Path(plan) = plan?;
    let deleted = state.catalog.delete_plan(&plan).await?;
    audit(&state, &caller, "rollout-plan-delete", &deleted.name, plan_detail(&deleted)).await;
    Ok(Json(deleted))
}

async fn status(State(state): State<AppState>) -> Result<Json<Vec<RolloutView>>, ApiFailure> {
    Ok(Json(state.catalog.rollouts_status().await?))
}

async fn start(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Result<Json<StartRolloutRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Vec<RolloutView>>), ApiFailure> {
    let Json(req) = req?;
    let started = state.catalog.start_rollouts(&req, &caller.user, OffsetDateTime::now_utc()).await?;
    let ids: Vec<&str> = started.iter().map(|r| r.update_id.as_str()).collect();
    let plan = started.first().map(|r| r.plan.clone()).unwrap_or_default();
    audit(&state, &caller, "rollout-start", &plan, format!("update(s) {}, approved for ring 1", ids.join(", "))).await;
    Ok((StatusCode::CREATED, Json(started)))
}

async fn resume(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<RolloutView>, ApiFailure> {
    let Path(id) = id?;
    let v = state.catalog.resume_rollout(id, OffsetDateTime::now_utc()).await?;
    audit(&state, &caller, "rollout-resume", &v.update_id, format!("rollout {id} on '{}', ring {} soaks again", v.plan, v.ring)).await;
    Ok(Json(v))
}

async fn skip(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<RolloutView>, ApiFailure> {
    let Path(id) = id?;
    let v = state.catalog.skip_ring(id, OffsetDateTime::now_utc()).await?;
    audit(&state, &caller, "rollout-skip", &v.update_id, format!("rollout {id} on '{}' moved to ring {} '{}'", v.plan, v.ring, v.ring_group)).await;
    Ok(Json(v))
}

async fn abort(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<RolloutView>, ApiFailure> {
    let Path(id) = id?;
    let v = state.catalog.abort_rollout(id).await?;
    audit(&state, &caller, "rollout-abort", &v.update_id, format!("rollout {id} on '{}' stopped in ring {}", v.plan, v.ring)).await;
    Ok(Json(v))
}
