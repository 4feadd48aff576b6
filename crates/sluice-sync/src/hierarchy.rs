//! The two halves of a server hierarchy seen from the downstream:
//!
//! * [`mirror_deployments`] (replica mode): GetDeployments, and the upstream's computer groups
//!   (ids, names, hierarchy), approvals, declines and accepted license terms copied into the
//!   local store, replacing what was there; the approvals version is bumped so clients see it.
//! * [`rollup`] (both modes): this server, its computers and their per-update states reported
//!   to the upstream (GetRollupConfiguration, RollupDownstreamServers, RollupComputers,
//!   RollupComputerStatus).

use std::collections::{HashMap, HashSet};

use sluice_catalog::Catalog;
use sluice_store::settings as keys;
use sluice_store::{ALL_COMPUTERS_GROUP, ApprovalAction, InstallState, MirroredDeployments, StoreError, UNASSIGNED_COMPUTERS_GROUP};
use sluice_wsusss::{
    ComputerRollupDetails, ComputerRollupInfo, ComputerStatusRollupInfo, ComputerStatusRollupUpdateStatus,
    DownstreamServerRollupInfo, DownstreamServerRollupServerSummary, ServerSyncDeploymentResult,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::SyncError;
use crate::client::UpstreamClient;

/// The time WSUS writes for "never".
const NEVER: &str = "0001-01-01T00:00:00";

/// What a mirror changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MirrorReport {
    pub groups: usize,
    pub approvals_set: usize,
    pub approvals_removed: usize,
    pub declined: usize,
    pub undeclined: usize,
    pub eulas_accepted: usize,
}

/// GetDeployments with the stored anchor, then the mirror. The anchor and the deployment map
/// are saved only once everything was written, so an interrupted mirror is redone in full.
pub async fn mirror_deployments(catalog: &Catalog, client: &mut UpstreamClient, sync_anchor: String) -> Result<MirrorReport, SyncError> {
    let store = catalog.store();
    let anchor = store.setting(keys::SYNC_ANCHOR_DEPLOYMENTS).await?;
    let stored_map = match store.setting(keys::MIRRORED_DEPLOYMENTS).await {
        Ok(m) => m,
        Err(StoreError::Corrupt(e)) => {
            tracing::warn!(error = %e, "mirrored deployments unreadable: asking the upstream for all of them");
            None
        }
        Err(e) => return Err(e.into()),
    };
    // Without a usable map the deltas cannot be resolved: ask for everything.
    let anchor = if stored_map.is_some() { anchor } else { None };
    let mut map: MirroredDeployments = stored_map.unwrap_or_default();
    let full = anchor.is_none();
    let result = client.deployments(anchor, sync_anchor).await?;
    if full {
        map.clear();
    }
    let report = apply(catalog, &result, &mut map, full).await?;
    catalog.bump_approvals_version().await?;
    store.set(keys::MIRRORED_DEPLOYMENTS, &map).await?;
    match &result.anchor {
        Some(a) if !a.trim().is_empty() => store.set(keys::SYNC_ANCHOR_DEPLOYMENTS, a).await?,
        _ => {
            store.clear(keys::SYNC_ANCHOR_DEPLOYMENTS).await?;
        }
    }
    Ok(report)
}

fn is_builtin(id: Uuid) -> bool {
    id == ALL_COMPUTERS_GROUP || id == UNASSIGNED_COMPUTERS_GROUP
}

async fn apply(
    catalog: &Catalog,
    r: &ServerSyncDeploymentResult,
    map: &mut MirroredDeployments,
    full: bool,
) -> Result<MirrorReport, SyncError> {
    let store = catalog.store();
    let mut report = MirrorReport::default();

    // Groups: the answer carries the whole tree. Local groups it does not name go first (so a
    // name can move to another id), deepest first; then the upstream's, parents first.
    let wanted: HashMap<Uuid, (&str, Option<Uuid>)> = r
        .groups
        .iter()
        .filter(|g| !is_builtin(g.target_group_id) && !g.target_group_id.is_nil())
        .map(|g| (g.target_group_id, (g.name.as_str(), Some(g.parent_group_id).filter(|p| !p.is_nil()))))
        .collect();
    let local = store.list_groups().await?;
    let mut stale: Vec<Uuid> = local.iter().filter(|g| !g.built_in && !wanted.contains_key(&g.id)).map(|g| g.id).collect();
    while !stale.is_empty() {
        let groups = store.list_groups().await?;
        let before = stale.len();
        let mut left = Vec::new();
        for id in stale {
            if groups.iter().any(|g| g.parent_id == Some(id)) {
                left.push(id);
                continue;
            }
            match store.delete_group(id).await {
                Ok(()) | Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if left.len() == before {
            // Children that are not stale themselves (moved upstream): re-parented below.
            break;
        }
        stale = left;
    }
    let mut done: HashSet<Uuid> = store.list_groups().await?.into_iter().filter(|g| g.built_in).map(|g| g.id).collect();
    let mut pending: Vec<Uuid> = wanted.keys().copied().collect();
    pending.sort();
    while !pending.is_empty() {
        let before = pending.len();
        let mut left = Vec::new();
        for id in pending {
            let (name, parent) = wanted[&id];
            let parent = parent.unwrap_or(ALL_COMPUTERS_GROUP);
            if !done.contains(&parent) {
                left.push(id);
                continue;
            }
            store.upsert_group_with_id(id, name, Some(parent)).await?;
            done.insert(id);
            report.groups += 1;
        }
        if left.len() == before {
            return Err(SyncError::Protocol(format!("GetDeployments: {} group(s) have no parent in the tree", left.len())));
        }
        pending = left;
    }
    // Whatever was stale but still had children is gone now that those moved.
    for g in store.list_groups().await? {
        if !g.built_in && !wanted.contains_key(&g.id) {
            match store.delete_group(g.id).await {
                Ok(()) | Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    // Declines: the complete list.
    let hidden: HashSet<Uuid> = r.hidden_updates.iter().copied().collect();
    let declined_now: HashSet<Uuid> = store.list_declined().await?.into_iter().map(|d| d.update_id).collect();
    for id in hidden.difference(&declined_now) {
        if store.decline(*id, "upstream").await? {
            report.declined += 1;
        }
    }
    for id in &hidden {
        for a in store.approvals_for_update(*id).await? {
            if store.remove_approval(*id, a.group_id).await? {
                report.approvals_removed += 1;
            }
        }
    }
    for id in declined_now.difference(&hidden) {
        if store.undecline(*id).await? {
            report.undeclined += 1;
        }
    }

    // Approvals: deleted ones, then new and changed ones. A full answer replaces everything.
    let incoming: HashSet<(Uuid, Uuid)> = r.deployments.iter().map(|d| (d.update_id, d.target_group_id)).collect();
    if full {
        for a in store.all_approvals().await? {
            if !incoming.contains(&(a.update_id, a.group_id)) && store.remove_approval(a.update_id, a.group_id).await? {
                report.approvals_removed += 1;
            }
        }
    } else {
        for dead in &r.dead_deployments {
            if let Some((update, group)) = map.remove(dead)
                && !incoming.contains(&(update, group))
                && store.remove_approval(update, group).await?
            {
                report.approvals_removed += 1;
            }
        }
    }
    for d in &r.deployments {
        let action = match d.action {
            0 => ApprovalAction::Install,
            1 => ApprovalAction::Uninstall,
            2 => ApprovalAction::NotApproved,
            other => {
                tracing::warn!(update = %d.update_id, action = other, "unknown approval action from the upstream: skipped");
                continue;
            }
        };
        if hidden.contains(&d.update_id) {
            continue;
        }
        let deadline = sluice_wsusss::parse_datetime(&d.deadline).filter(|t| t.year() < 9999);
        let by = if d.admin_name.trim().is_empty() { "upstream" } else { d.admin_name.as_str() };
        match store.set_approval(d.update_id, d.target_group_id, action, deadline, by).await {
            Ok(_) => {
                // One approval per (update, group): an older deployment of the pair is replaced.
                map.retain(|_, v| *v != (d.update_id, d.target_group_id));
                map.insert(d.deployment_guid, (d.update_id, d.target_group_id));
                report.approvals_set += 1;
            }
            Err(StoreError::NotFound(_)) => {
                tracing::warn!(update = %d.update_id, group = %d.target_group_id, "approval for a group the upstream did not list: skipped");
            }
            Err(e) => return Err(e.into()),
        }
    }

    // License terms accepted upstream, under the key derived when the update was stored.
    for update in &r.accepted_eulas {
        if let Some(key) = store.latest_revision(*update).await?.and_then(|rev| rev.license?.eula_key)
            && store.accept_eula(key, "upstream").await?
        {
            report.eulas_accepted += 1;
        }
    }
    Ok(report)
}

/// What a rollup sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupReport {
    pub detailed: bool,
    pub computers: usize,
    pub statuses: usize,
}

/// WSUS `SummarizationState` numbering.
fn summarization_state(s: InstallState) -> i32 {
    match s {
        InstallState::Unknown => 1,
        InstallState::NotApplicable => 2,
        InstallState::NotInstalled => 3,
        InstallState::Downloaded => 4,
        InstallState::Installed => 5,
        InstallState::Failed => 6,
        InstallState::InstalledPendingReboot => 7,
    }
}

fn wire(t: Option<OffsetDateTime>) -> String {
    t.map(sluice_wsusss::format_datetime).unwrap_or_else(|| NEVER.to_string())
}

/// Reports this server, its computers and their update states to the upstream.
pub async fn rollup(
    catalog: &Catalog,
    client: &mut UpstreamClient,
    server_id: Uuid,
    name: &str,
    is_replica: bool,
    last_sync: OffsetDateTime,
) -> Result<RollupReport, SyncError> {
    let store = catalog.store();
    let config = client.rollup_configuration().await?;
    let now = OffsetDateTime::now_utc();
    let computers = store.list_computers(None).await?;
    let approvals = store.all_approvals().await?;
    let declined = store.list_declined().await?;
    let groups = store.list_groups().await?;
    let mut statuses = Vec::with_capacity(computers.len());
    for c in &computers {
        statuses.push(store.status_for_computer(&c.info.id).await?);
    }
    let approved: HashSet<Uuid> = approvals.iter().filter(|a| a.action == ApprovalAction::Install).map(|a| a.update_id).collect();
    let needing = statuses
        .iter()
        .filter(|s| s.iter().any(|u| matches!(u.state, InstallState::NotInstalled | InstallState::Downloaded | InstallState::Failed)))
        .count();
    let with_errors = statuses.iter().filter(|s| s.iter().any(|u| u.state == InstallState::Failed)).count();
    let clamp = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let summary = DownstreamServerRollupServerSummary {
        declined_update_count: clamp(declined.len()),
        approved_update_count: clamp(approved.len()),
        custom_computer_target_group_count: clamp(groups.iter().filter(|g| !g.built_in).count()),
        computer_target_count: clamp(computers.len()),
        computer_targets_needing_updates_count: clamp(needing),
        computer_targets_with_update_errors_count: clamp(with_errors),
        computers_up_to_date_count: clamp(computers.len() - needing),
        ..Default::default()
    };
    let me = DownstreamServerRollupInfo {
        server_id,
        full_domain_name: Some(name.to_string()),
        last_sync_time: sluice_wsusss::format_datetime(last_sync),
        parent_server_id: Uuid::nil(),
        version: Some(concat!("Sluice ", env!("CARGO_PKG_VERSION")).to_string()),
        is_replica,
        last_rollup_time: wire(store.setting(keys::ROLLUP_NUMBER).await?.map(|_| now)),
        server_summary: Some(summary),
        client_summaries: None,
    };
    client.rollup_downstream_servers(sluice_wsusss::format_datetime(now), vec![me]).await?;
    let mut report = RollupReport { detailed: config.do_detailed_rollup, ..Default::default() };
    if !config.do_detailed_rollup {
        return Ok(report);
    }

    let batch = |max: i32| usize::try_from(max).ok().filter(|n| *n > 0).unwrap_or(100);
    let infos: Vec<ComputerRollupInfo> = computers
        .iter()
        .map(|c| {
            let i = &c.info;
            ComputerRollupInfo {
                computer_id: Some(i.id.clone()),
                last_sync_time: wire(c.last_sync_time),
                last_sync_result: if c.last_sync_time.is_some() { 1 } else { 0 },
                last_reported_reboot_time: NEVER.into(),
                last_reported_status_time: wire(c.last_reported_status_time),
                last_inventory_time: NEVER.into(),
                parent_server_id: server_id,
                details: Some(ComputerRollupDetails {
                    ip_address: i.ip_address.clone(),
                    full_domain_name: i.dns_name.clone(),
                    os_major_version: i.os_major.unwrap_or(0),
                    os_minor_version: i.os_minor.unwrap_or(0),
                    os_build_number: i.os_build.unwrap_or(0),
                    os_locale: i.locale.clone(),
                    os_description: i.os_description.clone(),
                    computer_make: i.manufacturer.clone(),
                    computer_model: i.model.clone(),
                    bios_version: i.bios_version.clone(),
                    bios_name: i.bios_name.clone(),
                    bios_release_date: i.bios_release_date.clone().unwrap_or_else(|| NEVER.into()),
                    client_version: i.client_version.clone(),
                    ..Default::default()
                }),
            }
        })
        .collect();
    for chunk in infos.chunks(batch(config.rollup_computers_max_batch_size)) {
        client.rollup_computers(sluice_wsusss::format_datetime(now), chunk.to_vec()).await?;
    }
    report.computers = infos.len();

    let number: i32 = store.setting(keys::ROLLUP_NUMBER).await?.unwrap_or(0);
    let number = number.checked_add(1).unwrap_or(1);
    let status_infos: Vec<ComputerStatusRollupInfo> = computers
        .iter()
        .zip(&statuses)
        .map(|(c, s)| ComputerStatusRollupInfo {
            instance_id: Uuid::new_v4(),
            computer_id: c.info.id.clone(),
            effective_last_detection_time: wire(c.last_reported_status_time.or(c.last_sync_time)),
            rollup_number: number,
            is_full_rollup: true,
            update_status: Some(
                s.iter()
                    .map(|u| ComputerStatusRollupUpdateStatus {
                        update_id: u.update_id,
                        summarization_state: summarization_state(u.state),
                        last_change_time: sluice_wsusss::format_datetime(u.last_event_time),
                    })
                    .collect(),
            ),
        })
        .collect();
    for chunk in status_infos.chunks(batch(config.rollup_computer_status_max_batch_size)) {
        client.rollup_computer_status(sluice_wsusss::format_datetime(now), server_id, chunk.to_vec()).await?;
    }
    report.statuses = status_infos.iter().map(|s| s.update_status.as_ref().map_or(0, Vec::len)).sum();
    store.set(keys::ROLLUP_NUMBER, &number).await?;
    Ok(report)
}
