//! Admin API routes for automatic approval rules and WSUS's automatic options. Mounted inside
//! the authenticated part of [`crate::admin::router`]; every change writes one audit entry.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use sluice_catalog::api::*;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::admin::{ApiFailure, Caller, audited, request_detail};

/// The routes, relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_rules, create_rule))
        .routes(routes!(show_rule, update_rule, delete_rule))
        .routes(routes!(run_rule))
        .routes(routes!(get_options, set_options))
}

#[utoipa::path(get, path = "/approval-rules", tag = "automatic approval", responses((status = 200, description = "Every automatic approval rule", body = Vec<RuleView>)))]
async fn list_rules(State(state): State<AppState>) -> Result<Json<Vec<RuleView>>, ApiFailure> {
    Ok(Json(state.catalog.list_rules().await?))
}

#[utoipa::path(get, path = "/approval-rules/{rule}", tag = "automatic approval", params(("rule" = String, Path, description = "Rule name or id")), responses((status = 200, description = "The rule", body = RuleView)))]
async fn show_rule(State(state): State<AppState>, rule: Result<Path<String>, PathRejection>) -> Result<Json<RuleView>, ApiFailure> {
    let Path(rule) = rule?;
    let wanted = rule.trim();
    let id = wanted.parse::<i64>().ok();
    let rules = state.catalog.list_rules().await?;
    let found = rules
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(wanted))
        .or_else(|| rules.iter().find(|r| Some(r.id) == id))
        .cloned();
    found.map(Json).ok_or_else(|| ApiFailure::new(StatusCode::NOT_FOUND, ApiErrorCode::NotFound, format!("approval rule '{wanted}' not found")))
}

#[utoipa::path(post, path = "/approval-rules", tag = "automatic approval", request_body = CreateRuleRequest, responses((status = 201, description = "The new rule", body = RuleView)))]
async fn create_rule(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Result<Json<CreateRuleRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<RuleView>), ApiFailure> {
    let Json(req) = req?;
    let entry = caller.entry("rule-create", req.name.trim(), request_detail(&req));
    let view = audited(&state, entry, state.catalog.create_rule(&req, &caller.user)).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(patch, path = "/approval-rules/{rule}", tag = "automatic approval", params(("rule" = String, Path, description = "Rule name or id")), request_body = UpdateRuleRequest, responses((status = 200, description = "The changed rule", body = RuleView)))]
async fn update_rule(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    rule: Result<Path<String>, PathRejection>,
    req: Result<Json<UpdateRuleRequest>, JsonRejection>,
) -> Result<Json<RuleView>, ApiFailure> {
    let Path(rule) = rule?;
    let Json(req) = req?;
    let entry = caller.entry("rule-update", rule.trim(), request_detail(&req));
    let view = audited(&state, entry, state.catalog.update_rule(&rule, &req, &caller.user)).await?;
    Ok(Json(view))
}

#[utoipa::path(delete, path = "/approval-rules/{rule}", tag = "automatic approval", params(("rule" = String, Path, description = "Rule name or id")), responses((status = 200, description = "The deleted rule", body = RuleView)))]
async fn delete_rule(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    rule: Result<Path<String>, PathRejection>,
) -> Result<Json<RuleView>, ApiFailure> {
    let Path(rule) = rule?;
    let entry = caller.entry("rule-delete", rule.trim(), String::new());
    let view = audited(&state, entry, state.catalog.delete_rule(&rule)).await?;
    Ok(Json(view))
}

#[utoipa::path(post, path = "/approval-rules/{rule}/run", tag = "automatic approval", params(("rule" = String, Path, description = "Rule name or id")), responses((status = 200, description = "What the rule approved over the whole catalog", body = RuleRunView)))]
async fn run_rule(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    rule: Result<Path<String>, PathRejection>,
) -> Result<Json<RuleRunView>, ApiFailure> {
    let Path(rule) = rule?;
    // The entry goes with the run's first approval; a run that approves nothing adds it alone.
    let entry = caller.entry("rule-run", rule.trim(), "over the whole catalog");
    let run = audited(&state, entry, state.catalog.run_rule(&rule, time::OffsetDateTime::now_utc())).await?;
    Ok(Json(run))
}

#[utoipa::path(get, path = "/settings/auto-approval", tag = "automatic approval", responses((status = 200, description = "WSUS's automatic options", body = AutoApprovalSettings)))]
async fn get_options(State(state): State<AppState>) -> Result<Json<AutoApprovalSettings>, ApiFailure> {
    Ok(Json(state.catalog.auto_approval_settings().await?))
}

#[utoipa::path(put, path = "/settings/auto-approval", tag = "automatic approval", request_body = AutoApprovalSettings, responses((status = 200, description = "The options as set", body = AutoApprovalSettings)))]
async fn set_options(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Result<Json<AutoApprovalSettings>, JsonRejection>,
) -> Result<Json<AutoApprovalSettings>, ApiFailure> {
    let Json(req) = req?;
    let detail = format!("approve new revisions {}, decline expired {}", req.approve_new_revisions, req.decline_expired);
    let entry = caller.entry("auto-approval-set", "settings", detail);
    let set = audited(&state, entry, state.catalog.set_auto_approval_settings(&req)).await?;
    Ok(Json(set))
}
