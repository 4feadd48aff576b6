//! Admin API of disconnected-network transfer: export a package to, and import one from, a
//! directory on the SERVER's filesystem (like `wsusutil export|import` on the WSUS machine).
//! Administrators only; both are audited.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use sluice_catalog::api::ApiErrorCode;
use sluice_catalog::transfer::{ExportReport, ExportRequest, ImportReport, ImportRequest};

use crate::admin::{audit, ApiFailure, Caller};
use crate::bootstrap::ADMIN_USER;
use crate::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The role `bootstrap` gives the administrator account.
const ADMIN_ROLE: &str = "administrator";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export)).routes(routes!(import))
}

fn failure(e: impl Into<ApiFailure>) -> Response {
    e.into().into_response()
}

async fn require_admin(state: &AppState, caller: &Caller) -> Result<(), Response> {
    let user = state.store.get_user(&caller.user).await.map_err(|e| failure(sluice_catalog::CatalogError::Store(e)))?;
    match user {
        Some(u) if u.role == ADMIN_ROLE || u.name == ADMIN_USER => Ok(()),
        _ => Err(ApiFailure::new(StatusCode::FORBIDDEN, ApiErrorCode::Forbidden, "export and import are for administrators only")
            .into_response()),
    }
}

#[utoipa::path(post, path = "/export", operation_id = "export_package", tag = "transfer", request_body = ExportRequest, responses((status = 200, body = ExportReport)))]
async fn export(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Result<Json<ExportRequest>, JsonRejection>,
) -> Result<Json<ExportReport>, Response> {
    let Json(req) = req.map_err(failure)?;
    require_admin(&state, &caller).await?;
    let report = state.catalog.export_package(&req).await.map_err(failure)?;
    let detail = format!(
        "{} revision(s), {} file record(s), {} content file(s), since {}, manifest sha256 {}",
        report.revisions,
        report.files,
        report.content_files,
        req.since.as_deref().unwrap_or("-"),
        report.manifest_sha256
    );
    audit(&state, &caller, "export", &report.out, detail).await;
    Ok(Json(report))
}

#[utoipa::path(post, path = "/import", operation_id = "import_package", tag = "transfer", request_body = ImportRequest, responses((status = 200, body = ImportReport)))]
async fn import(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Result<Json<ImportRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<ImportReport>), Response> {
    let Json(req) = req.map_err(failure)?;
    require_admin(&state, &caller).await?;
    match state.catalog.import_package(&req).await {
        Ok(report) => {
            let detail = format!(
                "{} revision(s), {} new, {} content file(s) stored, from server {}",
                report.revisions,
                report.revisions_inserted,
                report.content_stored,
                report.source_server_id.as_deref().unwrap_or("?")
            );
            audit(&state, &caller, "import", req.dir.trim(), detail).await;
            Ok((StatusCode::OK, Json(report)))
        }
        Err(e) => {
            // Refusals are audited too: a tampered package is worth a trace.
            audit(&state, &caller, "import-refused", req.dir.trim(), e.to_string()).await;
            Err(failure(e))
        }
    }
}
