//! Admin API routes for compliance reports: per group, per update and per computer, as JSON,
//! or as CSV when the request's `Accept` header asks for `text/csv`.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use sluice_api::{ComplianceReport, ComputerReport, FleetSummary, ReportQuery, UpdateReport};

use crate::AppState;
use crate::admin::ApiFailure;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes, relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(summary)).routes(routes!(compliance)).routes(routes!(update)).routes(routes!(computer))
}

/// Whether the client prefers CSV: `text/csv` named in `Accept` (with any parameters).
fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|m| m.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("text/csv")))
}

fn answer<T: Serialize>(headers: &HeaderMap, report: T, csv: impl FnOnce(&T) -> String) -> Response {
    if wants_csv(headers) {
        let mut r = csv(&report).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
        r
    } else {
        Json(report).into_response()
    }
}

#[utoipa::path(get, path = "/reports/summary", tag = "reports", responses((status = 200, description = "Every computer group's standing: computers needing updates, with failed installs, not reported", body = FleetSummary)))]
async fn summary(State(state): State<AppState>) -> Result<Json<FleetSummary>, ApiFailure> {
    Ok(Json(state.catalog.fleet_summary().await?))
}

#[utoipa::path(get, path = "/reports/compliance", tag = "reports", params(ReportQuery), responses((status = 200, description = "Per update, how the computers of a group stand, most needed first", content((ComplianceReport = "application/json"), (String = "text/csv")))))]
async fn compliance(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiFailure> {
    let Query(q) = q?;
    let report = state.catalog.compliance_report(&q).await?;
    Ok(answer(&headers, report, ComplianceReport::to_csv))
}

#[utoipa::path(get, path = "/reports/updates/{update}", operation_id = "update_report", tag = "reports", params(("update" = String, Path, description = "Update id or KB number"), ReportQuery), responses((status = 200, description = "The computers of a group in a state for one update", content((UpdateReport = "application/json"), (String = "text/csv")))))]
async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    update: Result<Path<String>, PathRejection>,
    q: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiFailure> {
    let Path(update) = update?;
    let Query(q) = q?;
    let report = state.catalog.update_report(&update, &q).await?;
    Ok(answer(&headers, report, UpdateReport::to_csv))
}

#[utoipa::path(get, path = "/reports/computers/{computer_id}", operation_id = "computer_report", tag = "reports", params(("computer_id" = String, Path, description = "The computer's id")), responses((status = 200, description = "Every update one computer reported on", content((ComputerReport = "application/json"), (String = "text/csv")))))]
async fn computer(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiFailure> {
    let Path(id) = id?;
    let report = state.catalog.computer_report(&id).await?;
    Ok(answer(&headers, report, ComputerReport::to_csv))
}
