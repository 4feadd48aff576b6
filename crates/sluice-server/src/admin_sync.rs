//! Admin API of upstream synchronisation: settings, manual start, status, history, and the
//! products and classifications known.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use sluice_catalog::CatalogError;
use serde_json::Value;
use sluice_sync::selection::{CategoryKind, KnownCategory};
use sluice_sync::{SyncError, SyncSettings, SyncStatus, SyncView};

use crate::admin::{ApiFailure, Caller, audit, bad_request};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sync/settings", get(get_settings).put(put_settings))
        .route("/sync/start", post(start))
        .route("/sync/status", get(status))
        .route("/sync/history", get(history))
        .route("/sync/products", get(products))
}

fn failure(e: SyncError) -> ApiFailure {
    match e {
        SyncError::Settings(m) => bad_request(m),
        SyncError::Store(s) => CatalogError::Store(s).into(),
        SyncError::Catalog(c) => c.into(),
        other => CatalogError::Internal(other.to_string()).into(),
    }
}

async fn get_settings(State(state): State<AppState>) -> Result<Json<SyncSettings>, ApiFailure> {
    SyncSettings::load(&state.store).await.map(Json).map_err(failure)
}

/// The settings document; `products` and `classifications` may name categories by title
/// (as `sluice sync configure` passes them), resolved here against the categories this
/// server knows. Nothing is stored unless every name resolves.
async fn put_settings(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Result<Json<Value>, JsonRejection>,
) -> Result<Json<SyncSettings>, ApiFailure> {
    let Json(mut doc) = req?;
    for (key, kind) in [("products", CategoryKind::Product), ("classifications", CategoryKind::Classification)] {
        let Some(list) = doc.get(key).and_then(Value::as_array) else { continue };
        let given: Vec<String> = list
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(|| bad_request(format!("{key}: ids or names (strings) expected"))))
            .collect::<Result<_, _>>()?;
        let ids = sluice_sync::selection::resolve(&state.store, kind, &given).await.map_err(failure)?;
        doc[key] = Value::from(ids.iter().map(ToString::to_string).collect::<Vec<_>>());
    }
    let settings: SyncSettings = serde_json::from_value(doc).map_err(|e| bad_request(format!("sync settings: {e}")))?;
    settings.save(&state.store).await.map_err(failure)?;
    let detail = serde_json::to_string(&settings).unwrap_or_default();
    audit(&state, &caller, "sync-settings", &settings.upstream, detail).await;
    Ok(Json(settings))
}

async fn start(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<(StatusCode, Json<sluice_sync::JobView>), ApiFailure> {
    let job = sluice_sync::request_sync(&state.store).await.map_err(failure)?;
    audit(&state, &caller, "sync-start", &job.id.to_string(), String::new()).await;
    Ok((StatusCode::ACCEPTED, Json(sluice_sync::JobView::from(&job))))
}

async fn status(State(state): State<AppState>) -> Result<Json<SyncStatus>, ApiFailure> {
    sluice_sync::status(&state.store).await.map(Json).map_err(failure)
}

#[derive(Deserialize)]
struct HistoryQuery {
    limit: Option<i64>,
}

async fn history(
    State(state): State<AppState>,
    q: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Json<Vec<SyncView>>, ApiFailure> {
    let Query(q) = q?;
    let limit = q.limit.unwrap_or(20).clamp(1, 1000);
    sluice_sync::history(&state.store, limit).await.map(Json).map_err(failure)
}

async fn products(State(state): State<AppState>) -> Result<Json<Vec<KnownCategory>>, ApiFailure> {
    let settings = SyncSettings::load(&state.store).await.map_err(failure)?;
    sluice_sync::selection::known_categories(&state.store, &settings).await.map(Json).map_err(failure)
}
