//! Admin API of disconnected-network transfer: export a package to, and import one from, a
//! directory on the SERVER's filesystem (like `wsusutil export|import` on the WSUS machine).
//! Administrators only; both are audited.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use sluice_catalog::transfer::{ExportReport, ExportRequest, ImportReport, ImportRequest};
use sluice_store::AuditOutcome;

use crate::admin::{audit, audited, ApiFailure, Caller};
use crate::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

// Administrators only: `authenticate` refuses every other role on a POST.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export)).routes(routes!(import))
}

fn failure(e: impl Into<ApiFailure>) -> Response {
    e.into().into_response()
}

#[utoipa::path(post, path = "/export", operation_id = "export_package", tag = "transfer", request_body = ExportRequest, responses((status = 200, body = ExportReport)))]
async fn export(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Result<Json<ExportRequest>, JsonRejection>,
) -> Result<Json<ExportReport>, Response> {
    let Json(req) = req.map_err(failure)?;
    let detail = format!("since {}, content {}", req.since.as_deref().unwrap_or("-"), req.content);
    // An export writes files and no row, so the entry is appended when it has succeeded.
    let entry = caller.entry("export", req.out.trim(), detail);
    let report = audited(&state, entry, state.catalog.export_package(&req)).await.map_err(failure)?;
    Ok(Json(report))
}

#[utoipa::path(post, path = "/import", operation_id = "import_package", tag = "transfer", request_body = ImportRequest, responses((status = 200, body = ImportReport)))]
async fn import(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Result<Json<ImportRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<ImportReport>), Response> {
    let Json(req) = req.map_err(failure)?;
    let detail = format!("manifest sha256 {}", req.manifest_sha256.as_deref().unwrap_or("not pinned"));
    let entry = caller.entry("import", req.dir.trim(), detail);
    // The package's revisions are stored batch by batch, each visible when it commits: the
    // first batch's transaction makes the import visible and carries the entry.
    let (result, outcome) = sluice_store::audited(entry, state.catalog.import_package(&req)).await;
    match result {
        Ok(report) => {
            if let AuditOutcome::Pending(entry) = outcome {
                // An empty package stores nothing; the import is still recorded.
                crate::admin::append(&state, &entry).await;
            }
            Ok((StatusCode::OK, Json(report)))
        }
        Err(e) => {
            // Refusals are audited too: a tampered package is worth a trace. After an entry
            // already went in with the batches stored before the failure, this one says why
            // the rest did not follow.
            let detail = match outcome {
                AuditOutcome::Written => format!("stopped after storing part of the package: {e}"),
                AuditOutcome::Pending(_) => e.to_string(),
            };
            audit(&state, &caller, "import-refused", req.dir.trim(), detail).await;
            Err(failure(e))
        }
    }
}
