//! Admin API: e-mail notifications. `GET|PUT /notify/settings` (the SMTP password is never
//! shown), `POST /notify/test` sends a message now and answers how it went.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use sluice_api::{ApiErrorCode, NotifySettingsChange, NotifyTestResult, NotifyView, ReportFrequency, SmtpTls};
use sluice_decide::notify::Mail;
use sluice_store::{NotifyConfig, settings};
use time::OffsetDateTime;

use crate::admin::{audit, audited, bad_request, ApiFailure, Caller};
use crate::{mailer, maintenance, AppState};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show, configure)).routes(routes!(test))
}

fn internal(e: impl std::fmt::Display) -> ApiFailure {
    tracing::error!(error = %e, "notify request failed");
    ApiFailure::new(StatusCode::INTERNAL_SERVER_ERROR, ApiErrorCode::Internal, e.to_string())
}

async fn view(state: &AppState) -> Result<NotifyView, ApiFailure> {
    let config = state.store.setting(settings::NOTIFY_SETTINGS).await.map_err(internal)?;
    let s = state.store.setting(settings::NOTIFY_STATE).await.map_err(internal)?.unwrap_or_default();
    let c = config.as_ref();
    Ok(NotifyView {
        configured: c.is_some(),
        smtp: c.map(|c| c.smtp.clone()),
        tls: c.map_or(SmtpTls::default(), |c| c.tls),
        user: c.and_then(|c| c.user.clone()),
        password_set: c.is_some_and(|c| c.password.is_some()),
        from: c.map(|c| c.from.clone()),
        to: c.map(|c| c.to.clone()).unwrap_or_default(),
        new_updates: c.is_some_and(|c| c.new_updates),
        status_report: c.map_or(ReportFrequency::Off, |c| c.status_report),
        last_sent_at: s.last_sent_at,
        last_status_report_at: s.last_status_report_at,
        last_error_at: s.last_error_at,
        last_error: s.last_error,
    })
}

#[utoipa::path(get, path = "/notify/settings", operation_id = "get_notify_settings", tag = "notifications", responses((status = 200, description = "The e-mail settings (never the password) and the last outcomes", body = NotifyView)))]
async fn show(State(state): State<AppState>) -> Result<Json<NotifyView>, ApiFailure> {
    Ok(Json(view(&state).await?))
}

#[utoipa::path(put, path = "/notify/settings", operation_id = "put_notify_settings", tag = "notifications", request_body = NotifySettingsChange, responses((status = 200, description = "The settings as stored", body = NotifyView)))]
async fn configure(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Result<Json<NotifySettingsChange>, JsonRejection>,
) -> Result<Json<NotifyView>, ApiFailure> {
    let Json(change) = req?;
    let previous = state.store.setting(settings::NOTIFY_SETTINGS).await.map_err(internal)?;
    let config = mailer::validate(change, previous.as_ref(), OffsetDateTime::now_utc()).map_err(bad_request)?;
    // Syncs finished before the notifications were set up are not announced: the notifier
    // starts from the newest run there is now.
    let newest_sync = state.store.list_syncs(1).await.map_err(internal)?.first().map(|s| s.id);
    // Never the password.
    let detail = format!(
        "smtp {} ({}), from {}, to {}, new updates {}, status report {}",
        config.smtp,
        config.tls.as_str(),
        config.from,
        config.to.join(", "),
        if config.new_updates { "on" } else { "off" },
        config.status_report.as_str()
    );
    let entry = caller.entry("notify-settings", "notify", detail);
    let store = state.store.clone();
    audited(&state, entry, async {
        store.set(settings::NOTIFY_SETTINGS, &config).await?;
        mailer::update_state(&store, |s| {
            if s.last_sync_id.is_none() {
                s.last_sync_id = Some(newest_sync.unwrap_or(0));
            }
        })
        .await
    })
    .await
    .map_err(internal)?;
    Ok(Json(view(&state).await?))
}

#[utoipa::path(post, path = "/notify/test", operation_id = "test_notify", tag = "notifications", responses((status = 200, description = "The test message was accepted by the SMTP server", body = NotifyTestResult)))]
async fn test(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Result<Json<NotifyTestResult>, ApiFailure> {
    let Some(config) = state.store.setting(settings::NOTIFY_SETTINGS).await.map_err(internal)? else {
        return Err(ApiFailure::new(
            StatusCode::CONFLICT,
            ApiErrorCode::Conflict,
            "e-mail is not configured ('sluice notify configure')",
        ));
    };
    let mail = Mail {
        subject: "[Sluice] Test message".into(),
        body: format!("This test message was requested by {} through Sluice's admin API.\n", caller.user),
    };
    let sent = send_test(&state, &config, mail).await;
    audit(&state, &caller, "notify-test", "notify", match &sent {
        Ok(()) => format!("sent to {}", config.to.join(", ")),
        Err(e) => format!("failed: {e}"),
    })
    .await;
    sent.map_err(|e| ApiFailure::new(StatusCode::BAD_GATEWAY, ApiErrorCode::DeliveryFailed, e))?;
    Ok(Json(NotifyTestResult { sent: true, to: config.to }))
}

async fn send_test(state: &AppState, config: &NotifyConfig, mail: Mail) -> Result<(), String> {
    maintenance::send_now(&state.store, config, mail).await
}
