//! Compliance reports as data: per group (per update: installed, needed, failed, not
//! reported), per update (which computers need or failed it) and per computer. The counting is
//! the store's SQL (`Store::compliance`, `Store::update_computers`); this adds names and
//! checks the request.

use std::collections::HashMap;

use sluice_api::{
    ComplianceReport, ComplianceRow, ComputerReport, ComputerReportRow, FleetSummary, GroupStandingView, ReportQuery, UpdateReport, UpdateReportRow,
};
use sluice_store::{ComputerGroup, ComputerScope, InstallState, StatusSummary};
use uuid::Uuid;

use crate::times::format_utc;
use crate::{Catalog, CatalogError, invalid};

/// Largest page of a report.
pub const MAX_REPORT_PAGE: u32 = 10_000;
const DEFAULT_REPORT_PAGE: u32 = 1_000;

const NEEDED: [InstallState; 4] = [
    InstallState::NotInstalled,
    InstallState::Downloaded,
    InstallState::InstalledPendingReboot,
    InstallState::Failed,
];

fn installed(c: &StatusSummary) -> i64 {
    c.installed + c.installed_pending_reboot
}

fn needed(c: &StatusSummary) -> i64 {
    NEEDED.iter().map(|s| c.get(*s)).sum()
}

fn reported(c: &StatusSummary) -> i64 {
    InstallState::ALL.iter().map(|s| c.get(*s)).sum()
}

fn page(q: &ReportQuery) -> Result<(u32, u32), CatalogError> {
    let limit = q.limit.unwrap_or(DEFAULT_REPORT_PAGE);
    if !(1..=MAX_REPORT_PAGE).contains(&limit) {
        return Err(invalid(format!("limit must be between 1 and {MAX_REPORT_PAGE}")));
    }
    Ok((limit, q.offset.unwrap_or(0)))
}

impl Catalog {
    /// Every computer group's standing, for the dashboard.
    pub async fn fleet_summary(&self) -> Result<FleetSummary, CatalogError> {
        let groups = self.store().fleet_standing().await?;
        Ok(FleetSummary {
            groups: groups
                .into_iter()
                .map(|g| GroupStandingView {
                    group_id: g.group_id.to_string(),
                    group: g.name,
                    computers: g.computers,
                    needing: g.needing,
                    failed: g.failed,
                    not_reported: g.not_reported,
                    up_to_date: (g.computers - g.needing - g.not_reported).max(0),
                })
                .collect(),
        })
    }

    async fn report_group(&self, q: &ReportQuery) -> Result<ComputerGroup, CatalogError> {
        let groups = self.groups().await?;
        let name = q.group.as_deref().map(str::trim).filter(|g| !g.is_empty()).unwrap_or("All Computers");
        Ok(Self::find_group(&groups, name)?.clone())
    }

    /// The updates of a group's computers, most needed first.
    pub async fn compliance_report(&self, q: &ReportQuery) -> Result<ComplianceReport, CatalogError> {
        let (limit, offset) = page(q)?;
        let group = self.report_group(q).await?;
        let scope = ComputerScope::of_group(group.id);
        let computers = self.store.count_computers(scope).await?;
        let found = self.store.compliance(scope, limit as i64, offset as i64).await?;
        let mut titles = self.titles_of(found.rows.iter().map(|r| r.update_id)).await?;
        let updates = found
            .rows
            .iter()
            .map(|r| {
                let (title, kb) = titles.remove(&r.update_id).unwrap_or_default();
                ComplianceRow {
                    update_id: r.update_id.to_string(),
                    title,
                    kb_article: kb,
                    installed: installed(&r.counts),
                    needed: needed(&r.counts),
                    failed: r.counts.failed,
                    not_applicable: r.counts.not_applicable,
                    not_reported: (computers - reported(&r.counts)).max(0),
                }
            })
            .collect();
        Ok(ComplianceReport {
            group_id: group.id.to_string(),
            group: group.name,
            computers,
            total: found.total,
            limit,
            offset,
            updates,
        })
    }

    /// The computers of a group in some state for one update (named by id or KB number).
    pub async fn update_report(&self, update: &str, q: &ReportQuery) -> Result<UpdateReport, CatalogError> {
        let (limit, offset) = page(q)?;
        let id = self.resolve_update(update).await?;
        let rev = self.store.latest_revision(id).await?.ok_or_else(|| CatalogError::NotFound(format!("update {id}")))?;
        let state = q.state.as_deref().map(str::trim).filter(|s| !s.is_empty()).unwrap_or("needed").to_ascii_lowercase();
        let states: Vec<InstallState> = match state.as_str() {
            "needed" => NEEDED.to_vec(),
            "failed" => vec![InstallState::Failed],
            "installed" => vec![InstallState::Installed, InstallState::InstalledPendingReboot],
            "not_applicable" | "not-applicable" => vec![InstallState::NotApplicable],
            "all" => InstallState::ALL.to_vec(),
            other => {
                return Err(invalid(format!(
                    "'{other}' is not a report state; use needed, failed, installed, not_applicable or all"
                )));
            }
        };
        let group = self.report_group(q).await?;
        let scope = ComputerScope::of_group(group.id);
        let computers = self.store.count_computers(scope).await?;
        let found = self.store.update_computers(id, scope, &states, limit as i64, offset as i64).await?;
        let c = &found.counts;
        Ok(UpdateReport {
            update_id: id.to_string(),
            title: rev.title,
            kb_article: rev.kb_article,
            group_id: group.id.to_string(),
            group: group.name,
            computers,
            installed: installed(c),
            needed: needed(c),
            failed: c.failed,
            not_applicable: c.not_applicable,
            not_reported: (computers - reported(c)).max(0),
            state,
            total: found.total,
            limit,
            offset,
            rows: found
                .rows
                .into_iter()
                .map(|r| UpdateReportRow {
                    computer_id: r.computer_id,
                    dns_name: r.dns_name,
                    state: r.state.as_str().to_string(),
                    last_event_time: format_utc(r.last_event_time),
                })
                .collect(),
        })
    }

    /// Every update one computer reported on.
    pub async fn computer_report(&self, computer_id: &str) -> Result<ComputerReport, CatalogError> {
        let id = computer_id.trim();
        let c = self.store.get_computer(id).await?.ok_or_else(|| CatalogError::NotFound(format!("computer '{id}'")))?;
        let groups: Vec<String> = self.store.computer_groups(id).await?.into_iter().map(|g| g.name).collect();
        let rows = self.store.status_for_computer(id).await?;
        let mut titles = self.titles_of(rows.iter().map(|r| r.update_id)).await?;
        let mut counts = StatusSummary::default();
        let mut updates = Vec::with_capacity(rows.len());
        for r in rows {
            *counts.slot(r.state) += 1;
            let (title, kb) = titles.remove(&r.update_id).unwrap_or_default();
            updates.push(ComputerReportRow {
                update_id: r.update_id.to_string(),
                title,
                kb_article: kb,
                state: r.state.as_str().to_string(),
                last_event_time: format_utc(r.last_event_time),
            });
        }
        Ok(ComputerReport {
            computer_id: c.info.id,
            dns_name: c.info.dns_name,
            groups: if groups.is_empty() { vec!["Unassigned Computers".into()] } else { groups },
            last_reported_status_time: c.last_reported_status_time.map(format_utc),
            installed: installed(&counts),
            needed: needed(&counts),
            failed: counts.failed,
            not_applicable: counts.not_applicable,
            updates,
        })
    }

    /// One page of the computers of a group (all of them without one), by DNS name: reads
    /// only the page's rows and memberships.
    pub async fn computers_page(&self, group: Option<&str>, limit: u32, offset: u32) -> Result<Vec<sluice_api::ComputerView>, CatalogError> {
        if !(1..=MAX_REPORT_PAGE).contains(&limit) {
            return Err(invalid(format!("limit must be between 1 and {MAX_REPORT_PAGE}")));
        }
        let groups = self.groups().await?;
        let scope = match group {
            Some(g) => ComputerScope::of_group(Self::find_group(&groups, g)?.id),
            None => ComputerScope::All,
        };
        let computers = self.store.computers_page(scope, limit as i64, offset as i64).await?;
        let ids: Vec<String> = computers.iter().map(|c| c.info.id.clone()).collect();
        let memberships = self.store.memberships_of(&ids).await?;
        let snapshot = crate::targeting::snapshot(&groups, &[], []);
        let names: HashMap<Uuid, String> = groups.iter().map(|g| (g.id, g.name.clone())).collect();
        Ok(computers
            .iter()
            .map(|c| {
                let explicit = memberships.get(&c.info.id).map(Vec::as_slice).unwrap_or(&[]);
                Self::computer_view(c, &snapshot.membership(explicit), &names)
            })
            .collect())
    }

    /// How many computers [`Catalog::computers_page`] pages through for `group`.
    pub async fn computers_total(&self, group: Option<&str>) -> Result<i64, CatalogError> {
        let scope = match group {
            Some(g) => ComputerScope::of_group(Self::find_group(&self.groups().await?, g)?.id),
            None => ComputerScope::All,
        };
        Ok(self.store.count_computers(scope).await?)
    }

    /// Titles and KB numbers of some updates (untitled when the catalog lacks one).
    async fn titles_of(&self, ids: impl Iterator<Item = Uuid>) -> Result<HashMap<Uuid, (String, Option<String>)>, CatalogError> {
        let ids: Vec<Uuid> = ids.collect();
        Ok(self.store.update_titles(&ids).await?)
    }
}
