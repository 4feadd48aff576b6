//! Admin API routes for computer groups, computers, approvals, declines, the targeting mode and
//! status. Mounted inside the authenticated part of [`crate::admin::router`]; every change is
//! audited with the caller and its address.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use sluice_catalog::api::*;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::admin::{ApiFailure, Caller, audit, bad_request};

/// The routes, relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_groups, create_group))
        .routes(routes!(delete_group))
        .routes(routes!(list_computers))
        .routes(routes!(show_computer))
        .routes(routes!(move_computer))
        .routes(routes!(list_approvals, approve, remove_approval))
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
    let group = state.catalog.create_group(&req).await?;
    audit(
        &state,
        &caller,
        "group-create",
        &group.name,
        format!("id {}, parent {}", group.id, group.parent.as_deref().unwrap_or("-")),
    )
    .await;
    Ok((StatusCode::CREATED, Json(group)))
}

#[utoipa::path(delete, path = "/groups/{group}", tag = "computer groups", params(("group" = String, Path, description = "Group name or id")), responses((status = 200, description = "What the deletion removed and moved", body = DeletedGroup)))]
async fn delete_group(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(group): Path<String>,
) -> Result<Json<DeletedGroup>, ApiFailure> {
    let deleted = state.catalog.delete_group(&group).await?;
    audit(
        &state,
        &caller,
        "group-delete",
        &deleted.name,
        format!(
            "id {}, {} approval(s) removed, {} computer(s) moved to Unassigned Computers",
            deleted.id,
            deleted.removed_approvals,
            deleted.moved_to_unassigned.len()
        ),
    )
    .await;
    Ok(Json(deleted))
}

#[utoipa::path(get, path = "/computers", tag = "computers", params(ComputerQuery), responses((status = 200, body = Vec<ComputerView>)))]
async fn list_computers(
    State(state): State<AppState>,
    q: Result<Query<ComputerQuery>, QueryRejection>,
) -> Result<Json<Vec<ComputerView>>, ApiFailure> {
    let q = query(q)?;
    let group = q.group.as_deref().map(str::trim).filter(|g| !g.is_empty());
    Ok(Json(state.catalog.list_computers(group).await?))
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
    let view = state.catalog.move_computer(&id, &req.groups).await?;
    audit(
        &state,
        &caller,
        "computer-move",
        &view.id,
        format!("groups: {}", view.groups.join(", ")),
    )
    .await;
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
    let view = state.catalog.approve(&req, &caller.user).await?;
    let mut detail = format!("group '{}', action {}", view.group, view.action);
    if let Some(d) = &view.deadline {
        detail.push_str(&format!(", deadline {d}"));
    }
    if req.accept_license {
        detail.push_str(&format!(
            ", license accepted by {}",
            view.license_accepted_by.as_deref().unwrap_or("-")
        ));
    }
    audit(&state, &caller, "approve", &view.update_id, detail).await;
    Ok(Json(view))
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
    let removed = state.catalog.remove_approval(update, group).await?;
    audit(
        &state,
        &caller,
        "unapprove",
        &removed.update_id,
        format!("group '{}', was {}", removed.group, removed.action),
    )
    .await;
    Ok(Json(removed))
}

#[utoipa::path(post, path = "/updates/{update_id}/decline", tag = "approvals", params(("update_id" = String, Path, description = "The update id")), responses((status = 200, body = DeclineView)))]
async fn decline(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(update_id): Path<String>,
) -> Result<Json<DeclineView>, ApiFailure> {
    let view = state.catalog.decline(&update_id, &caller.user).await?;
    if view.changed || !view.removed_approvals.is_empty() {
        let detail = if view.removed_approvals.is_empty() {
            "no approvals removed".to_string()
        } else {
            format!("approvals removed for: {}", view.removed_approvals.join(", "))
        };
        audit(&state, &caller, "decline", &view.update_id, detail).await;
    }
    Ok(Json(view))
}

#[utoipa::path(post, path = "/updates/{update_id}/undecline", tag = "approvals", params(("update_id" = String, Path, description = "The update id")), responses((status = 200, body = DeclineView)))]
async fn undecline(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(update_id): Path<String>,
) -> Result<Json<DeclineView>, ApiFailure> {
    let view = state.catalog.undecline(&update_id).await?;
    if view.changed {
        audit(&state, &caller, "undecline", &view.update_id, String::new()).await;
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
    let set = state.catalog.set_targeting_mode(req.mode).await?;
    audit(
        &state,
        &caller,
        "targeting-set",
        "settings",
        format!("mode {}", set.mode.as_str()),
    )
    .await;
    Ok(Json(set))
}

#[utoipa::path(get, path = "/status", operation_id = "status_report", tag = "reports", params(StatusQuery), responses((status = 200, body = StatusReport)))]
async fn status(
    State(state): State<AppState>,
    q: Result<Query<StatusQuery>, QueryRejection>,
) -> Result<Json<StatusReport>, ApiFailure> {
    Ok(Json(state.catalog.status(&query(q)?).await?))
}
