//! The client listener's access layer: one log line per request (target `sluice::access`,
//! switched off with `access_log = false`) and the request metrics of [`crate::metrics`].
//! SOAP answers carry a [`SoapOutcome`] naming the service, operation and fault; everything else
//! is labelled by path kind and method only, so a scanner probing random paths adds no series.

use std::net::SocketAddr;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;

use crate::metrics::RequestLabels;
use crate::soap_edge::SoapOutcome;
use crate::AppState;

/// `/Content/…`, matched case-insensitively as IIS does.
fn is_content(path: &str) -> bool {
    path.get(..9).is_some_and(|p| p.eq_ignore_ascii_case("/content/"))
}

pub async fn client_access(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    let elapsed = started.elapsed();
    let status = response.status();
    let outcome = response.extensions().get::<SoapOutcome>().cloned();
    let content = is_content(&path);
    let (service, operation) = match &outcome {
        Some(o) => (o.service, o.operation.to_owned()),
        None if content => ("content", method.as_str().to_owned()),
        None => ("other", method.as_str().to_owned()),
    };
    let fault = outcome.as_ref().and_then(|o| o.fault.as_deref());
    state.metrics.observe(
        RequestLabels { service: service.to_owned(), operation: operation.clone(), status: status.as_u16().to_string() },
        fault,
        elapsed,
    );
    if state.access_log {
        tracing::info!(
            target: "sluice::access",
            peer = peer.map(|p| p.to_string()).unwrap_or_default(),
            method = %method,
            path = %path,
            status = status.as_u16(),
            service,
            operation,
            fault = fault.unwrap_or(""),
            ms = elapsed.as_secs_f64() * 1000.0,
        );
    }
    if content && status.is_success() {
        // Counted as the bytes leave, so an aborted download counts what was sent.
        let metrics = state.metrics.clone();
        let (parts, body) = response.into_parts();
        let counted = body.map_frame(move |frame| {
            if let Some(data) = frame.data_ref() {
                metrics.content_sent(data.len() as u64);
            }
            frame
        });
        return Response::from_parts(parts, Body::new(counted));
    }
    response
}
