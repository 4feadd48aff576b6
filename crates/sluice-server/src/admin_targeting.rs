//! Admin API routes for computer groups, computers, approvals, declines, the targeting mode and
//! status. Mounted inside the authenticated part of [`crate::admin::router`]; every change is
//! audited with the caller and its address.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use sluice_catalog::api::*;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::admin::{ApiFailure, Caller, audited, bad_request, written_or_append};

/// The routes, relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_groups, create_group))
        .routes(routes!(delete_group))
        .routes(routes!(list_computers))
        .routes(routes!(show_computer))
        .routes(routes!(move_computer))
        .routes(routes!(list_approvals, approve, remove_approval))
        .routes(routes!(bulk_approval))
        // Same parameter name as `/updates/{update_id}` in admin.rs: the router needs one name
        // per segment position.
        .routes(routes!(decline))
        .routes(routes!(undecline))
        .routes(routes!(get_targeting, set_targeting))
        .routes(routes!(status))
}

/// Turns a malformed body into the API's JSON error instead of axum's plain text.
fn body<T>(r: Result<Json<T>, JsonRejection>) -> Result<T, ApiFailure> {
    r.map(|Json(v)| v).map_err(ApiFailure::from)
}

fn query<T>(r: Result<Query<T>, QueryRejection>) -> Result<T, ApiFailure> {
    r.map(|Query(v)| v).map_err(ApiFailure::from)
}

#[utoipa::path(get, path = "/groups", tag = "computer groups", responses((status = 200, description = "Every computer group, built-in ones included", body = Vec<ComputerGroupView>)))]
async fn list_groups(State(state): State<AppState>) -> Result<Json<Vec<ComputerGroupView>>, ApiFailure> {
    Ok(Json(state.catalog.list_groups().await?))
}

#[utoipa::path(post, path = "/groups", tag = "computer groups", request_body = CreateGroupRequest, responses((status = 201, description = "The new group", body = ComputerGroupView)))]
async fn create_group(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Result<Json<CreateGroupRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<ComputerGroupView>), ApiFailure> {
    let req = body(req)?;
    let parent = req.parent.as_deref().map(str::trim).filter(|p| !p.is_empty()).unwrap_or("All Computers");
    let entry = caller.entry("group-create", req.name.trim(), format!("parent '{parent}'"));
    let group = audited(&state, entry, state.catalog.create_group(&req)).await?;
    Ok((StatusCode::CREATED, Json(group)))
}

#[utoipa::path(delete, path = "/groups/{group}", tag = "computer groups", params(("group" = String, Path, description = "Group name or id")), responses((status = 200, description = "What the deletion removed and moved", body = DeletedGroup)))]
async fn delete_group(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(group): Path<String>,
) -> Result<Json<DeletedGroup>, ApiFailure> {
    // The catalog adds the group's id and what the deletion takes with it.
    let entry = caller.entry("group-delete", group.trim(), String::new());
    let deleted = audited(&state, entry, state.catalog.delete_group(&group)).await?;
    Ok(Json(deleted))
}

/// On a page of `GET /computers`: how many computers all pages hold. A header, so the body
/// stays the list every client already reads.
const TOTAL_COUNT: HeaderName = HeaderName::from_static("x-total-count");

#[utoipa::path(get, path = "/computers", tag = "computers", params(ComputerQuery), responses((status = 200, body = Vec<ComputerView>, headers(("x-total-count" = i64, description = "With limit or offset: the computers in all pages")))))]
async fn list_computers(
    State(state): State<AppState>,
    q: Result<Query<ComputerQuery>, QueryRejection>,
) -> Result<Response, ApiFailure> {
    let q = query(q)?;
    let group = q.group.as_deref().map(str::trim).filter(|g| !g.is_empty());
    if q.limit.is_some() || q.offset.is_some() {
        let limit = q.limit.unwrap_or(100);
        let page = state.catalog.computers_page(group, limit, q.offset.unwrap_or(0)).await?;
        let total = state.catalog.computers_total(group).await?;
        return Ok(([(TOTAL_COUNT, HeaderValue::from(total))], Json(page)).into_response());
    }
    Ok(Json(state.catalog.list_computers(group).await?).into_response())
}

#[utoipa::path(get, path = "/computers/{computer_id}", tag = "computers", params(("computer_id" = String, Path, description = "The computer's id or name")), responses((status = 200, body = ComputerDetail)))]
async fn show_computer(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ComputerDetail>, ApiFailure> {
    Ok(Json(state.catalog.computer_detail(&id).await?))
}

#[utoipa::path(post, path = "/computers/{computer_id}/move", tag = "computers", params(("computer_id" = String, Path, description = "The computer's id or name")), request_body = MoveComputerRequest, responses((status = 200, body = ComputerView)))]
async fn move_computer(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    req: Result<Json<MoveComputerRequest>, JsonRejection>,
) -> Result<Json<ComputerView>, ApiFailure> {
    let req = body(req)?;
    let entry = caller.entry("computer-move", id.trim(), format!("groups: {}", req.groups.join(", ")));
    let view = audited(&state, entry, state.catalog.move_computer(&id, &req.groups)).await?;
    Ok(Json(view))
}

#[utoipa::path(get, path = "/approvals", tag = "approvals", params(ApprovalQuery), responses((status = 200, body = Vec<ApprovalView>)))]
async fn list_approvals(
    State(state): State<AppState>,
    q: Result<Query<ApprovalQuery>, QueryRejection>,
) -> Result<Json<Vec<ApprovalView>>, ApiFailure> {
    Ok(Json(state.catalog.list_approvals(&query(q)?).await?))
}

#[utoipa::path(post, path = "/approvals", tag = "approvals", request_body = ApprovalRequest, responses((status = 200, description = "The approval as stored", body = ApprovalView)))]
async fn approve(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Result<Json<ApprovalRequest>, JsonRejection>,
) -> Result<Json<ApprovalView>, ApiFailure> {
    let req = body(req)?;
    let mut detail = format!("group '{}', action {}", req.group.trim(), req.action.as_deref().unwrap_or("install"));
    if let Some(d) = req.deadline.as_deref().filter(|d| !d.trim().is_empty()) {
        detail.push_str(&format!(", deadline {d}"));
    }
    if req.accept_license {
        detail.push_str(&format!(", license accepted by {}", caller.user));
    }
    // The catalog names the update by its id (the request may name it otherwise).
    let entry = caller.entry("approve", req.update.trim(), detail);
    let view = audited(&state, entry, state.catalog.approve(&req, &caller.user)).await?;
    Ok(Json(view))
}

#[utoipa::path(post, path = "/approvals/bulk", tag = "approvals", request_body = sluice_api::BulkApprovalRequest, responses((status = 200, description = "What changed (or, in a dry run, would change); one transaction", body = sluice_api::BulkApprovalResult)))]
async fn bulk_approval(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Result<Json<sluice_api::BulkApprovalRequest>, JsonRejection>,
) -> Result<Json<sluice_api::BulkApprovalResult>, ApiFailure> {
    let req = body(req)?;
    if req.dry_run {
        // Changes nothing, so it is not audited.
        return Ok(Json(state.catalog.bulk_approval(&req, &caller.user).await?));
    }
    let decline = req.action.as_deref().is_some_and(|a| a.trim().eq_ignore_ascii_case("decline"));
    let mut detail = String::new();
    if !req.groups.is_empty() {
        detail.push_str(&format!("groups: {}", req.groups.join(", ")));
    }
    if let Some(a) = req.action.as_deref().filter(|_| !decline) {
        detail.push_str(&format!(", action {a}"));
    }
    if let Some(d) = &req.deadline {
        detail.push_str(&format!(", deadline {d}"));
    }
    if req.accept_license {
        detail.push_str(", license terms accepted");
    }
    // The catalog names the selected updates in the entry, in the change's transaction.
    let entry = caller.entry(if decline { "bulk-decline" } else { "bulk-approve" }, "updates", detail);
    let result = audited(&state, entry, state.catalog.bulk_approval(&req, &caller.user)).await?;
    Ok(Json(result))
}

#[utoipa::path(delete, path = "/approvals", tag = "approvals", params(ApprovalQuery), responses((status = 200, description = "The removed approval", body = ApprovalView)))]
async fn remove_approval(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<ApprovalQuery>, QueryRejection>,
) -> Result<Json<ApprovalView>, ApiFailure> {
    let q = query(q)?;
    let (Some(update), Some(group)) = (q.update.as_deref(), q.group.as_deref()) else {
        return Err(bad_request("removing an approval needs both 'update' and 'group'"));
    };
    let entry = caller.entry("unapprove", update.trim(), format!("group '{}'", group.trim()));
    let removed = audited(&state, entry, state.catalog.remove_approval(update, group)).await?;
    Ok(Json(removed))
}

#[utoipa::path(post, path = "/updates/{update_id}/decline", tag = "approvals", params(("update_id" = String, Path, description = "The update id")), responses((status = 200, body = DeclineView)))]
async fn decline(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(update_id): Path<String>,
) -> Result<Json<DeclineView>, ApiFailure> {
    // Declining a declined update changes nothing: its transaction ends without a commit and
    // the entry stays unwritten.
    let entry = caller.entry("decline", update_id.trim(), String::new());
    let (view, outcome) = sluice_store::audited(entry, state.catalog.decline(&update_id, &caller.user)).await;
    let view = view?;
    if view.changed || !view.removed_approvals.is_empty() {
        written_or_append(&state, outcome).await;
    }
    Ok(Json(view))
}

#[utoipa::path(post, path = "/updates/{update_id}/undecline", tag = "approvals", params(("update_id" = String, Path, description = "The update id")), responses((status = 200, body = DeclineView)))]
async fn undecline(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(update_id): Path<String>,
) -> Result<Json<DeclineView>, ApiFailure> {
    let entry = caller.entry("undecline", update_id.trim(), String::new());
    let (view, outcome) = sluice_store::audited(entry, state.catalog.undecline(&update_id)).await;
    let view = view?;
    if view.changed {
        written_or_append(&state, outcome).await;
    }
    Ok(Json(view))
}

#[utoipa::path(get, path = "/settings/targeting", tag = "computer groups", responses((status = 200, body = TargetingSettings)))]
async fn get_targeting(State(state): State<AppState>) -> Result<Json<TargetingSettings>, ApiFailure> {
    Ok(Json(TargetingSettings {
        mode: state.catalog.targeting_mode().await?,
    }))
}

#[utoipa::path(put, path = "/settings/targeting", tag = "computer groups", request_body = TargetingSettings, responses((status = 200, body = TargetingSettings)))]
async fn set_targeting(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Result<Json<TargetingSettings>, JsonRejection>,
) -> Result<Json<TargetingSettings>, ApiFailure> {
    let req = body(req)?;
    let before = state.catalog.targeting_mode().await?;
    let entry = caller.entry("targeting-set", "settings", format!("mode {} -> {}", before.as_str(), req.mode.as_str()));
    let set = audited(&state, entry, state.catalog.set_targeting_mode(req.mode)).await?;
    Ok(Json(set))
}

#[utoipa::path(get, path = "/status", operation_id = "status_report", tag = "reports", params(StatusQuery), responses((status = 200, body = StatusReport)))]
async fn status(
    State(state): State<AppState>,
    q: Result<Query<StatusQuery>, QueryRejection>,
) -> Result<Json<StatusReport>, ApiFailure> {
    Ok(Json(state.catalog.status(&query(q)?).await?))
}
