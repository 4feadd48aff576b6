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
use crate::admin::{ApiFailure, Caller, audit};

/// The routes, relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_rules, create_rule))
        .routes(routes!(show_rule, update_rule, delete_rule))
        .routes(routes!(run_rule))
        .routes(routes!(get_options, set_options))
}

fn rule_detail(v: &RuleView) -> String {
    let names = |l: &[NamedRef]| if l.is_empty() { "any".to_string() } else { l.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(", ") };
    let target = match &v.plan {
        Some(p) => format!("rollout plan '{}'", p.name),
        None => format!("groups {}", names(&v.groups)),
    };
    let mut d = format!(
        "{}; classifications {}; products {}; {target}",
        if v.enabled { "enabled" } else { "disabled" },
        names(&v.classifications),
        names(&v.products)
    );
    if let Some(dl) = &v.deadline {
        d.push_str(&format!("; deadline {} day(s) at {}", dl.days, dl.time));
    }
    d
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
    let view = state.catalog.create_rule(&req, &caller.user).await?;
    audit(&state, &caller, "rule-create", &view.name, rule_detail(&view)).await;
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
    let view = state.catalog.update_rule(&rule, &req, &caller.user).await?;
    audit(&state, &caller, "rule-update", &view.name, rule_detail(&view)).await;
    Ok(Json(view))
}

#[utoipa::path(delete, path = "/approval-rules/{rule}", tag = "automatic approval", params(("rule" = String, Path, description = "Rule name or id")), responses((status = 200, description = "The deleted rule", body = RuleView)))]
async fn delete_rule(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    rule: Result<Path<String>, PathRejection>,
) -> Result<Json<RuleView>, ApiFailure> {
    let Path(rule) = rule?;
    let view = state.catalog.delete_rule(&rule).await?;
    audit(&state, &caller, "rule-delete", &view.name, rule_detail(&view)).await;
    Ok(Json(view))
}

#[utoipa::path(post, path = "/approval-rules/{rule}/run", tag = "automatic approval", params(("rule" = String, Path, description = "Rule name or id")), responses((status = 200, description = "What the rule approved over the whole catalog", body = RuleRunView)))]
async fn run_rule(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    rule: Result<Path<String>, PathRejection>,
) -> Result<Json<RuleRunView>, ApiFailure> {
    let Path(rule) = rule?;
    let run = state.catalog.run_rule(&rule, time::OffsetDateTime::now_utc()).await?;
    let detail = format!(
        "{} matched, {} approval(s) given, {} unchanged, {} skipped",
        run.matched,
        run.approved.len(),
        run.unchanged,
        run.skipped.len()
    );
    audit(&state, &caller, "rule-run", &run.rule, detail).await;
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
    let set = state.catalog.set_auto_approval_settings(&req).await?;
    audit(
        &state,
        &caller,
        "auto-approval-set",
        "settings",
        format!("approve new revisions {}, decline expired {}", set.approve_new_revisions, set.decline_expired),
    )
    .await;
    Ok(Json(set))
}
