//! Admin API of upstream synchronisation: settings, manual start, status, history, and the
//! products and classifications known. The answers are `sluice_api::sync` views, converted
//! from `sluice-sync`'s own types here.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::Value;
use sluice_api::sync as api;
use sluice_catalog::CatalogError;
use sluice_sync::selection::{CategoryKind, EffectiveList, KnownCategory};
use sluice_sync::{JobView, LiveProgress, SyncError, SyncSettings, SyncSettingsExt, SyncStatus, SyncView};

use crate::admin::{ApiFailure, Caller, audited, bad_request};
use crate::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(start))
        .routes(routes!(status))
        .routes(routes!(history))
        .routes(routes!(products))
        .routes(routes!(product_list))
        .routes(routes!(classification_list))
}

pub(crate) fn failure(e: SyncError) -> ApiFailure {
    match e {
        SyncError::Settings(m) => bad_request(m),
        SyncError::Store(s) => CatalogError::Store(s).into(),
        SyncError::Catalog(c) => c.into(),
        other => CatalogError::Internal(other.to_string()).into(),
    }
}

fn settings_view(s: &SyncSettings) -> api::SyncSettings {
    let ids = |v: &[uuid::Uuid]| v.iter().map(ToString::to_string).collect();
    api::SyncSettings {
        upstream: s.upstream.clone(),
        mode: s.mode,
        storage: s.storage,
        products: ids(&s.products),
        classifications: ids(&s.classifications),
        languages: s.languages.clone(),
        schedule: s.schedule.clone(),
        proxy: s.proxy.clone(),
        upstream_ca: s.upstream_ca.clone(),
        connect_timeout_secs: s.connect_timeout_secs,
        read_timeout_secs: s.read_timeout_secs,
        download_concurrency: s.download_concurrency,
    }
}

/// The settings a `PUT` asks for, once its product and classification names are resolved.
async fn settings_from(state: &AppState, v: api::SyncSettings) -> Result<SyncSettings, ApiFailure> {
    let products = sluice_sync::selection::resolve(&state.store, CategoryKind::Product, &v.products).await.map_err(failure)?;
    let classifications =
        sluice_sync::selection::resolve(&state.store, CategoryKind::Classification, &v.classifications).await.map_err(failure)?;
    Ok(SyncSettings {
        upstream: v.upstream,
        mode: v.mode,
        storage: v.storage,
        products,
        classifications,
        languages: v.languages,
        schedule: v.schedule,
        proxy: v.proxy,
        upstream_ca: v.upstream_ca,
        connect_timeout_secs: v.connect_timeout_secs,
        read_timeout_secs: v.read_timeout_secs,
        download_concurrency: v.download_concurrency,
    })
}

fn job_view(j: JobView) -> api::JobView {
    api::JobView { id: j.id, state: j.state, done: j.done, total: j.total, error: j.error }
}

pub(crate) fn sync_view(s: SyncView) -> api::SyncView {
    api::SyncView {
        id: s.id,
        started_at: s.started_at,
        finished_at: s.finished_at,
        result: s.result,
        new_revisions: s.new_revisions,
        revised: s.revised,
        expired: s.expired,
        error: s.error,
        upstream: s.upstream,
    }
}

fn progress_view(p: LiveProgress) -> api::LiveProgress {
    api::LiveProgress { job_id: p.job_id.map(|j| j.to_string()), sync_id: p.sync_id, phase: p.phase, done: p.done, total: p.total }
}

fn kind_view(k: CategoryKind) -> api::CategoryKind {
    match k {
        CategoryKind::Product => api::CategoryKind::Product,
        CategoryKind::Classification => api::CategoryKind::Classification,
    }
}

fn effective_list(l: EffectiveList) -> api::EffectiveList {
    api::EffectiveList {
        from_upstream: l.from_upstream,
        items: l.items.into_iter().map(|i| api::NamedCategory { id: i.id.to_string(), name: i.name }).collect(),
    }
}

fn status_view(s: SyncStatus) -> api::SyncStatus {
    api::SyncStatus {
        settings: settings_view(&s.settings),
        effective: api::EffectiveSelection {
            products: effective_list(s.effective.products),
            classifications: effective_list(s.effective.classifications),
        },
        running: s.running.map(job_view),
        progress: s.progress.map(progress_view),
        last: s.last.map(sync_view),
    }
}

fn category_view(c: KnownCategory) -> api::KnownCategory {
    api::KnownCategory { id: c.id.to_string(), name: c.name, kind: kind_view(c.kind), selected: c.selected }
}

#[utoipa::path(get, path = "/sync/settings", operation_id = "get_sync_settings", tag = "synchronization", responses((status = 200, body = api::SyncSettings)))]
async fn get_settings(State(state): State<AppState>) -> Result<Json<api::SyncSettings>, ApiFailure> {
    let settings = SyncSettings::load(&state.store).await.map_err(failure)?;
    Ok(Json(settings_view(&settings)))
}

/// The settings document; `products` and `classifications` may name categories by title
/// (as `sluice sync configure` passes them), resolved here against the categories this
/// server knows. Nothing is stored unless every name resolves.
#[utoipa::path(put, path = "/sync/settings", operation_id = "put_sync_settings", tag = "synchronization", request_body = api::SyncSettings, responses((status = 200, description = "The settings as stored", body = api::SyncSettings)))]
async fn put_settings(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Result<Json<Value>, JsonRejection>,
) -> Result<Json<api::SyncSettings>, ApiFailure> {
    // Parsed in two steps so a wrong field is reported as a sync settings problem, not as
    // axum's generic body rejection.
    let Json(doc) = req?;
    let wanted: api::SyncSettings = serde_json::from_value(doc).map_err(|e| bad_request(format!("sync settings: {e}")))?;
    let settings = settings_from(&state, wanted).await?;
    let before = SyncSettings::load(&state.store).await.map_err(failure)?;
    let detail = format!(
        "before {}, after {}",
        serde_json::to_string(&before).unwrap_or_default(),
        serde_json::to_string(&settings).unwrap_or_default()
    );
    let entry = caller.entry("sync-settings", &settings.upstream, detail);
    audited(&state, entry, settings.save(&state.store)).await.map_err(failure)?;
    Ok(Json(settings_view(&settings)))
}

#[utoipa::path(post, path = "/sync/start", operation_id = "start_sync", tag = "synchronization", responses((status = 202, description = "The queued (or already running) sync", body = api::JobView)))]
async fn start(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<(StatusCode, Json<api::JobView>), ApiFailure> {
    // Queuing the job is the change; a sync already queued or running is answered instead, and
    // the request is recorded on its own.
    let entry = caller.entry("sync-start", "sync", String::new());
    let job = audited(&state, entry, sluice_sync::request_sync(&state.store)).await.map_err(failure)?;
    Ok((StatusCode::ACCEPTED, Json(job_view(JobView::from(&job)))))
}

#[utoipa::path(get, path = "/sync/status", operation_id = "sync_status", tag = "synchronization", responses((status = 200, body = api::SyncStatus)))]
async fn status(State(state): State<AppState>) -> Result<Json<api::SyncStatus>, ApiFailure> {
    sluice_sync::status(&state.store).await.map(|s| Json(status_view(s))).map_err(failure)
}

#[utoipa::path(get, path = "/sync/history", operation_id = "sync_history", tag = "synchronization", params(api::SyncHistoryQuery), responses((status = 200, body = Vec<api::SyncView>)))]
async fn history(
    State(state): State<AppState>,
    q: Result<Query<api::SyncHistoryQuery>, QueryRejection>,
) -> Result<Json<Vec<api::SyncView>>, ApiFailure> {
    let Query(q) = q?;
    let limit = q.limit.unwrap_or(20).clamp(1, 1000);
    let runs = sluice_sync::history(&state.store, limit).await.map_err(failure)?;
    Ok(Json(runs.into_iter().map(sync_view).collect()))
}

#[utoipa::path(get, path = "/sync/products", operation_id = "list_sync_categories", tag = "synchronization", responses((status = 200, description = "Products and classifications known, with their selection", body = Vec<api::KnownCategory>)))]
async fn products(State(state): State<AppState>) -> Result<Json<Vec<api::KnownCategory>>, ApiFailure> {
    let settings = SyncSettings::load(&state.store).await.map_err(failure)?;
    let known = sluice_sync::selection::known_categories(&state.store, &settings).await.map_err(failure)?;
    Ok(Json(known.into_iter().map(category_view).collect()))
}

/// The known categories of one kind by name, with the sync selection's choice: the list of
/// `GET /sync/products`, narrowed.
async fn categories_of(state: &AppState, kind: CategoryKind) -> Result<Vec<sluice_api::CategoryView>, ApiFailure> {
    let settings = SyncSettings::load(&state.store).await.map_err(failure)?;
    let known = sluice_sync::selection::known_categories(&state.store, &settings).await.map_err(failure)?;
    let mut out: Vec<sluice_api::CategoryView> = known
        .into_iter()
        .filter(|c| c.kind == kind)
        .map(|c| {
            let v = category_view(c);
            sluice_api::CategoryView { id: v.id, name: v.name, selected: v.selected }
        })
        .collect();
    // By name; ids the selection names that no sync brought yet last.
    out.sort_by_cached_key(|c| (c.name.is_none(), c.name.as_deref().map(str::to_lowercase), c.id.clone()));
    Ok(out)
}

#[utoipa::path(get, path = "/products", tag = "updates", responses((status = 200, description = "Products (companies and families included) by name, with ids and the sync selection", body = Vec<sluice_api::CategoryView>)))]
async fn product_list(State(state): State<AppState>) -> Result<Json<Vec<sluice_api::CategoryView>>, ApiFailure> {
    Ok(Json(categories_of(&state, CategoryKind::Product).await?))
}

#[utoipa::path(get, path = "/classifications", tag = "updates", responses((status = 200, description = "Classifications by name, with ids and the sync selection", body = Vec<sluice_api::CategoryView>)))]
async fn classification_list(State(state): State<AppState>) -> Result<Json<Vec<sluice_api::CategoryView>>, ApiFailure> {
    Ok(Json(categories_of(&state, CategoryKind::Classification).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sync::{Schedule, StorageMode, SyncMode};

    /// The API crate spells out the defaults a `PUT` without a field gets; they must be the
    /// sync engine's, and the views must carry exactly what the engine's types serialise to.
    #[test]
    fn views_serialise_as_the_sync_engine_types_do() {
        assert_eq!(settings_view(&SyncSettings::default()), api::SyncSettings::default());
        let mut s = SyncSettings::default();
        s.products = vec![uuid::Uuid::new_v4()];
        s.classifications = vec![uuid::Uuid::new_v4(), uuid::Uuid::new_v4()];
        s.schedule = Some(Schedule { first_sync: "03:30".into(), per_day: 4 });
        s.proxy = Some("http://proxy:3128".into());
        s.mode = SyncMode::Replica;
        s.storage = StorageMode::All;
        assert_eq!(serde_json::to_value(settings_view(&s)).unwrap(), serde_json::to_value(&s).unwrap());
        let back: SyncSettings = serde_json::from_value(serde_json::to_value(settings_view(&s)).unwrap()).unwrap();
        assert_eq!(back, s);

        let view = SyncView {
            id: 7,
            started_at: "2026-01-01T00:00:00Z".into(),
            finished_at: None,
            result: "failed".into(),
            new_revisions: 1,
            revised: 2,
            expired: 3,
            error: Some("cannot reach the upstream".into()),
            upstream: "http://wsus:8530".into(),
        };
        assert_eq!(serde_json::to_value(sync_view(view.clone())).unwrap(), serde_json::to_value(&view).unwrap());
        let progress = LiveProgress { job_id: Some(uuid::Uuid::new_v4()), sync_id: 3, phase: "updates".into(), done: 5, total: 9 };
        assert_eq!(serde_json::to_value(progress_view(progress.clone())).unwrap(), serde_json::to_value(&progress).unwrap());
        let known = KnownCategory { id: uuid::Uuid::new_v4(), name: None, kind: CategoryKind::Classification, selected: true };
        assert_eq!(serde_json::to_value(category_view(known.clone())).unwrap(), serde_json::to_value(&known).unwrap());
    }
}
