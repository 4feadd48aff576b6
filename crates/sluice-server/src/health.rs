//! Probes for load balancers and service managers, on both listeners and without
//! authentication (they reveal nothing but up or not): `/healthz` answers while the process
//! serves requests; `/readyz` only when the database answers and the scan snapshot loads, so a
//! node that lost its database leaves the pool. `/metrics` on the admin listener, behind the
//! admin API's bearer token, is [`crate::metrics`].

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

/// `/metrics`, authenticated like the admin API (a Reporter token is enough).
pub fn metrics_route(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/metrics", get(metrics))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), crate::admin::authenticate))
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "not ready: the database does not answer");
        return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n".into());
    }
    if let Err(e) = state.scan.snapshot().await {
        tracing::warn!(error = %e, "not ready: the catalog snapshot does not load");
        return (StatusCode::SERVICE_UNAVAILABLE, "catalog unavailable\n".into());
    }
    (StatusCode::OK, "ready\n".into())
}

async fn metrics(State(state): State<AppState>) -> axum::response::Response {
    match state.metrics.render(&state.store).await {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the metrics");
            (StatusCode::SERVICE_UNAVAILABLE, "metrics unavailable\n").into_response()
        }
    }
}
