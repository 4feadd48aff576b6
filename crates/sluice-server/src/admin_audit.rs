//! Admin API: the audit log (`GET /api/v1/audit`), newest first, by time and by user.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use sluice_api::{AuditEntryView, AuditQuery};
use sluice_catalog::times::{format_utc, parse_rfc3339_utc};
use sluice_catalog::CatalogError;
use time::{Date, OffsetDateTime};

use crate::admin::{bad_request, ApiFailure};
use crate::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Entries one request answers when it names no limit, and at most.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 10_000;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// An RFC 3339 time, or a date meaning its midnight UTC (`--since 2026-12-01`).
fn since(s: &str) -> Result<OffsetDateTime, ApiFailure> {
    let date_only = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = Date::parse(s.trim(), &date_only) {
        return Ok(d.midnight().assume_utc());
    }
    parse_rfc3339_utc(s).map_err(ApiFailure::from)
}

#[utoipa::path(get, path = "/audit", operation_id = "list_audit", tag = "audit", params(AuditQuery), responses((status = 200, description = "Audit entries, newest first", body = Vec<AuditEntryView>)))]
async fn list(
    State(state): State<AppState>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Vec<AuditEntryView>>, ApiFailure> {
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(bad_request(format!("limit must be 1 to {MAX_LIMIT}")));
    }
    let since = q.since.as_deref().map(since).transpose()?;
    let user = q.user.as_deref().map(str::trim).filter(|u| !u.is_empty());
    let entries = state.store.list_audit(limit, since, user).await.map_err(CatalogError::Store)?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| AuditEntryView {
                id: e.id,
                at: format_utc(e.at),
                user: e.actor,
                action: e.action,
                target: e.target,
                detail: e.detail,
                address: e.source_address,
            })
            .collect(),
    ))
}
