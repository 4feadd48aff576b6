//! The reporting rollup operations of the upstream role (MS-WSUSSS): what downstream servers
//! report about themselves, their own downstreams, their computers and per-update status,
//! stored in the downstream tables behind `sluice downstreams list`. Which servers a batch may
//! speak for is `sluice_decide::rollup`'s decision.

use std::collections::HashMap;

use sluice_decide::rollup;
use sluice_store::downstreams::{DownstreamComputer, DownstreamRollup, DownstreamUpdateStatus};
use sluice_wsusss as wss;
use sluice_wsusss::{Cookie, ErrorCode, Fault, Response as WResponse};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::server_sync::{
    Ctx, OUT_OF_SYNC_MAX, ROLLUP_COMPUTERS_MAX, ROLLUP_SERVERS_MAX, ROLLUP_STATUS_MAX, fault, internal, wire_time,
};

impl Ctx<'_> {
    /// The downstream server a reporting call comes from: the one its session cookie names,
    /// which must be registered here (it called GetAuthorizationCookie).
    ///
    /// MS-WSUSSS reserves the rollups' `cookie` and has the downstream send a fixed empty one,
    /// and a WSUS upstream believes the server ids in the body. That lets anyone who reaches
    /// the client port write servers, computers and update states into what the
    /// administrator sees, so Sluice departs from it: the four operations that store
    /// something require the session cookie of the Server Sync conversation (Sluice
    /// downstreams send it there). A WSUS downstream, which sends the fixed cookie, gets
    /// `InvalidCookie`; by the protocol that ends only its reporting step, never its sync.
    /// A valid cookie of a server no longer in the table gets `InvalidCookie` too: the
    /// downstream authorizes again, which registers it.
    // Fault is the error of every handler here, answered once per request: its size is moot.
    #[allow(clippy::result_large_err)]
    pub(crate) async fn reporter(&self, cookie: Option<&Cookie>) -> Result<Uuid, Fault> {
        let s = self.session(cookie)?;
        match self
            .state
            .store
            .get_downstream(s.dss_id)
            .await
            .map_err(internal)?
        {
            Some(_) => Ok(s.dss_id),
            None => Err(Fault::new(ErrorCode::InvalidCookie)),
        }
    }

    /// RollupDownstreamServers from `me` (the cookie's server): its own entry is stored as
    /// `me`, relayed entries only within `me`'s branch (`sluice_decide::rollup`); anything
    /// else refuses the whole batch, so that a downstream cannot rewrite a server outside its
    /// own branch.
    pub(crate) async fn rollup_downstream_servers(
        &self,
        me: Uuid,
        r: wss::RollupDownstreamServersRequest,
    ) -> Result<WResponse, Fault> {
        let refused = || fault(ErrorCode::InvalidParameters, "downstreamServers");
        if r.downstream_servers.len() > ROLLUP_SERVERS_MAX {
            return Err(refused());
        }
        let batch = rollup::split(me, self.keys().server_id(), &r.downstream_servers).map_err(|_| refused())?;
        let own = batch.own;
        let accepted = if batch.relayed.is_empty() {
            Vec::new()
        } else {
            let parents: HashMap<Uuid, Option<Uuid>> = self
                .state
                .store
                .list_downstreams()
                .await
                .map_err(internal)?
                .into_iter()
                .map(|d| (d.id, d.parent_server_id))
                .collect();
            rollup::accept_relayed(me, batch.relayed, &parents).map_err(|_| refused())?
        };
        let rollups: Vec<DownstreamRollup> = own
            .map(|s| (me, None, s))
            .into_iter()
            .chain(
                accepted
                    .into_iter()
                    .map(|s| (s.server_id, Some(s.parent_server_id), s)),
            )
            .map(|(id, parent_server_id, s)| DownstreamRollup {
                id,
                full_domain_name: s.full_domain_name.clone().filter(|n| !n.trim().is_empty()),
                parent_server_id,
                version: s.version.clone(),
                is_replica: s.is_replica,
                last_sync_time: wire_time(&s.last_sync_time),
                summary: Some(summary_json(s)),
            })
            .collect();
        // Everything is checked before the first row is written: a refused entry stores
        // nothing of the batch.
        for rollup in &rollups {
            sluice_store::downstreams::check_rollup(rollup).map_err(|_| refused())?;
        }
        let now = OffsetDateTime::now_utc();
        for rollup in &rollups {
            self.state
                .store
                .record_downstream_rollup(rollup, now)
                .await
                .map_err(internal)?;
        }
        Ok(WResponse::RollupDownstreamServers)
    }

    /// RollupComputers from `me`. Every computer is stored under `me`: the per-computer
    /// ParentServerId is not believed, since the cookie is what proves who is reporting. It
    /// is ignored rather than refused because a WSUS hierarchy puts a relaying downstream's
    /// own downstreams there; their computers are then listed under the server that vouches
    /// for them.
    pub(crate) async fn rollup_computers(
        &self,
        me: Uuid,
        r: wss::RollupComputersRequest,
    ) -> Result<WResponse, Fault> {
        if r.computers.len() > ROLLUP_COMPUTERS_MAX {
            return Err(fault(ErrorCode::InvalidParameters, "computers"));
        }
        let refused = || fault(ErrorCode::InvalidParameters, "computers");
        let now = OffsetDateTime::now_utc();
        let mut computers = Vec::with_capacity(r.computers.len());
        for c in &r.computers {
            let Some(id) = c.computer_id.clone().filter(|i| !i.trim().is_empty()) else {
                return Err(refused());
            };
            let d = c.details.clone().unwrap_or_default();
            let details = serde_json::json!({
                "os_major_version": d.os_major_version,
                "os_minor_version": d.os_minor_version,
                "os_build_number": d.os_build_number,
                "os_service_pack": format!("{}.{}", d.os_service_pack_major_number, d.os_service_pack_minor_number),
                "os_locale": d.os_locale,
                "os_family": d.os_family,
                "computer_make": d.computer_make,
                "computer_model": d.computer_model,
                "bios_name": d.bios_name,
                "bios_version": d.bios_version,
                "bios_release_date": d.bios_release_date,
                "processor_architecture": d.processor_architecture,
                "suite_mask": d.suite_mask,
                "new_product_type": d.new_product_type,
                "target_group_ids": d.target_group_id_list,
                "requested_target_group_names": d.requested_target_group_names,
                "last_reported_reboot_time": c.last_reported_reboot_time,
                "last_inventory_time": c.last_inventory_time,
            });
            let computer = DownstreamComputer {
                server_id: me,
                computer_id: id,
                full_domain_name: d.full_domain_name.clone(),
                ip_address: d.ip_address.clone(),
                os_description: d.os_description.clone(),
                os_version: c.details.as_ref().map(|d| {
                    format!(
                        "{}.{}.{}",
                        d.os_major_version, d.os_minor_version, d.os_build_number
                    )
                }),
                client_version: d.client_version.clone(),
                last_sync_time: wire_time(&c.last_sync_time),
                last_sync_result: c.last_sync_result,
                last_reported_status_time: wire_time(&c.last_reported_status_time),
                rollup_number: None,
                last_rollup_time: now,
                details: details.to_string(),
            };
            // Checked before the first row is written: a refused computer stores nothing.
            sluice_store::downstreams::check_computer(&computer).map_err(|_| refused())?;
            computers.push(computer);
        }
        for computer in &computers {
            self.state
                .store
                .upsert_downstream_computer(computer)
                .await
                .map_err(|e| match e {
                    // `me` was removed since its cookie was checked.
                    sluice_store::StoreError::NotFound(_) => Fault::new(ErrorCode::InvalidCookie),
                    other => internal(other),
                })?;
        }
        Ok(WResponse::RollupComputers(Vec::new()))
    }

    /// GetOutOfSyncComputers about `me`'s computers; `parentServerId` is not believed, as in
    /// [`Ctx::rollup_computers`].
    pub(crate) async fn get_out_of_sync_computers(
        &self,
        me: Uuid,
        r: wss::GetOutOfSyncComputersRequest,
    ) -> Result<WResponse, Fault> {
        if r.last_rollup_numbers.len() > OUT_OF_SYNC_MAX {
            return Err(fault(ErrorCode::InvalidParameters, "lastRollupNumbers"));
        }
        let stored: HashMap<String, Option<i32>> = self
            .state
            .store
            .list_downstream_computers(Some(me))
            .await
            .map_err(internal)?
            .into_iter()
            .map(|c| (c.computer_id, c.rollup_number))
            .collect();
        let out = r
            .last_rollup_numbers
            .iter()
            .filter(|n| stored.get(&n.computer_id).copied().flatten() != Some(n.rollup_number))
            .map(|n| n.computer_id.clone())
            .collect();
        Ok(WResponse::GetOutOfSyncComputers(out))
    }

    /// RollupComputerStatus of `me`'s computers; `parentServerId` is not believed, as in
    /// [`Ctx::rollup_computers`].
    pub(crate) async fn rollup_computer_status(
        &self,
        me: Uuid,
        r: wss::RollupComputerStatusRequest,
    ) -> Result<WResponse, Fault> {
        if r.computers.len() > ROLLUP_STATUS_MAX {
            return Err(fault(ErrorCode::InvalidParameters, "computers"));
        }
        for c in &r.computers {
            // Checked before the first row is written: a refused computer stores nothing.
            sluice_store::downstreams::check_computer_id(&c.computer_id)
                .map_err(|_| fault(ErrorCode::InvalidParameters, "computers"))?;
        }
        let now = OffsetDateTime::now_utc();
        for c in &r.computers {
            let statuses: Vec<DownstreamUpdateStatus> = c
                .update_status
                .iter()
                .flatten()
                .map(|s| DownstreamUpdateStatus {
                    update_id: s.update_id,
                    summarization_state: s.summarization_state,
                    last_change_time: wire_time(&s.last_change_time),
                })
                .collect();
            self.state
                .store
                .set_downstream_computer_status(
                    me,
                    &c.computer_id,
                    c.rollup_number,
                    c.is_full_rollup,
                    &statuses,
                    now,
                )
                .await
                .map_err(|e| match e {
                    // `me` was removed since its cookie was checked.
                    sluice_store::StoreError::NotFound(_) => Fault::new(ErrorCode::InvalidCookie),
                    sluice_store::StoreError::InvalidInput(_) => {
                        fault(ErrorCode::InvalidParameters, "computers")
                    }
                    other => internal(other),
                })?;
        }
        Ok(WResponse::RollupComputerStatus(true))
    }
}

/// What `GET /api/v1/downstreams` shows of a downstream's ReportServerRollup.
fn summary_json(s: &wss::DownstreamServerRollupInfo) -> String {
    let server = s.server_summary.map(|m| sluice_api::DownstreamServerCounts {
        update_count: m.update_count,
        declined_update_count: m.declined_update_count,
        approved_update_count: m.approved_update_count,
        not_approved_update_count: m.not_approved_update_count,
        updates_with_stale_update_approvals_count: m.updates_with_stale_update_approvals_count,
        expired_update_count: m.expired_update_count,
        critical_or_security_updates_not_approved_for_install_count: m.critical_or_security_updates_not_approved_for_install_count,
        wsus_infrastructure_updates_not_approved_for_install_count: m.wsus_infrastructure_updates_not_approved_for_install_count,
        updates_with_client_errors_count: m.updates_with_client_errors_count,
        updates_with_server_errors_count: m.updates_with_server_errors_count,
        updates_needing_files_count: m.updates_needing_files_count,
        updates_needed_by_computers_count: m.updates_needed_by_computers_count,
        updates_up_to_date_count: m.updates_up_to_date_count,
        custom_computer_target_group_count: m.custom_computer_target_group_count,
        computer_target_count: m.computer_target_count,
        computer_targets_needing_updates_count: m.computer_targets_needing_updates_count,
        computer_targets_with_update_errors_count: m.computer_targets_with_update_errors_count,
        computers_up_to_date_count: m.computers_up_to_date_count,
    });
    let clients = s
        .client_summaries
        .iter()
        .flatten()
        .map(|c| sluice_api::DownstreamClientSummary {
            os_version: format!("{}.{}.{}", c.os_major_version, c.os_minor_version, c.os_build_number),
            os_locale: c.os_locale.clone(),
            processor_architecture: c.processor_architecture.clone(),
            count: c.count,
        })
        .collect();
    let summary = sluice_api::DownstreamSummary { server, clients, last_rollup_time_reported: s.last_rollup_time.clone() };
    // Plain structs of numbers and strings: serialising cannot fail.
    serde_json::to_string(&summary).unwrap_or_default()
}
