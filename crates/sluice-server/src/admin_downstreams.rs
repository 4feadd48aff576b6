//! Admin API: the downstream servers that sync from this one (`GET /api/v1/downstreams`),
//! with the computers and update states they rolled up.

use axum::extract::State;
use axum::Json;
pub use sluice_api::{DownstreamComputerView, DownstreamSummary, DownstreamView};
use sluice_catalog::times::format_utc;
use sluice_store::downstreams::{DownstreamComputer, DownstreamServer};

use crate::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use crate::admin::ApiFailure;

fn fail(e: sluice_store::StoreError) -> ApiFailure {
    ApiFailure::from(sluice_catalog::CatalogError::Store(e))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

fn state_name(s: i32) -> String {
    match s {
        1 => "unknown",
        2 => "not_applicable",
        3 => "not_installed",
        4 => "downloaded",
        5 => "installed",
        6 => "failed",
        7 => "installed_pending_reboot",
        _ => return format!("state_{s}"),
    }
    .to_string()
}

async fn computer_view(
    state: &AppState,
    c: DownstreamComputer,
) -> Result<DownstreamComputerView, ApiFailure> {
    let mut update_states = std::collections::BTreeMap::new();
    for s in state
        .store
        .downstream_computer_status(c.server_id, &c.computer_id)
        .await
        .map_err(fail)?
    {
        *update_states
            .entry(state_name(s.summarization_state))
            .or_insert(0) += 1;
    }
    Ok(DownstreamComputerView {
        computer_id: c.computer_id,
        name: c.full_domain_name,
        ip_address: c.ip_address,
        os_description: c.os_description,
        os_version: c.os_version,
        client_version: c.client_version,
        last_sync_time: c.last_sync_time.map(format_utc),
        last_sync_result: c.last_sync_result,
        last_reported_status_time: c.last_reported_status_time.map(format_utc),
        rollup_number: c.rollup_number,
        last_rollup_time: format_utc(c.last_rollup_time),
        update_states,
    })
}

fn server_view(s: DownstreamServer, computers: Vec<DownstreamComputerView>) -> DownstreamView {
    DownstreamView {
        id: s.id.to_string(),
        name: s.account_name,
        address: s.address,
        first_seen: format_utc(s.first_seen),
        last_seen: format_utc(s.last_seen),
        mode: match s.is_replica {
            Some(true) => "replica",
            Some(false) => "autonomous",
            None => "unknown",
        }
        .into(),
        parent_server_id: s.parent_server_id.map(|p| p.to_string()),
        version: s.version,
        last_sync_time: s.last_sync_time.map(format_utc),
        last_rollup_time: s.last_rollup_time.map(format_utc),
        // Written by the rollup handler (server_sync.rs) from the same type.
        summary: s.summary.and_then(|j| serde_json::from_str::<DownstreamSummary>(&j).ok()),
        computers,
    }
}

#[utoipa::path(get, path = "/downstreams", operation_id = "list_downstreams", tag = "downstream servers", responses((status = 200, description = "Downstream servers with the computers they rolled up", body = Vec<DownstreamView>)))]
async fn list(State(state): State<AppState>) -> Result<Json<Vec<DownstreamView>>, ApiFailure> {
    let servers = state.store.list_downstreams().await.map_err(fail)?;
    let mut out = Vec::with_capacity(servers.len());
    for s in servers {
        let mut computers = Vec::new();
        for c in state
            .store
            .list_downstream_computers(Some(s.id))
            .await
            .map_err(fail)?
        {
            computers.push(computer_view(&state, c).await?);
        }
        out.push(server_view(s, computers));
    }
    Ok(Json(out))
}
