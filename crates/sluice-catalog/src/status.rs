//! Reported update states, counted per update and per computer for the admin views.

use std::collections::{BTreeMap, HashMap, HashSet};

use sluice_store::{Computer, UpdateStatus};
use uuid::Uuid;

use crate::api::{ComputerStatusRow, StatusCounts, StatusQuery, StatusReport, UpdateStatusRow};
use crate::approvals::parse_update_id;
use crate::times::format_utc;
use crate::{Catalog, CatalogError};

impl Catalog {
    /// Reported update states, counted per update and per computer, narrowed to one update,
    /// one computer and/or the direct members of one group.
    pub async fn status(&self, q: &StatusQuery) -> Result<StatusReport, CatalogError> {
        let nonempty = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let (update_q, computer_q, group_q) = (nonempty(&q.update), nonempty(&q.computer), nonempty(&q.group));
        let mut titles = TitleCache::default();
        let update = match &update_q {
            Some(u) => {
                let id = parse_update_id(u)?;
                if self.store.latest_revision(id).await?.is_none() {
                    return Err(CatalogError::NotFound(format!("update {id}")));
                }
                Some(id)
            }
            None => None,
        };
        let groups = self.groups().await?;
        let group = group_q.as_deref().map(|g| Self::find_group(&groups, g)).transpose()?;
        let snapshot = crate::targeting::snapshot(&groups, &[], []);
        let memberships = self.memberships(&groups).await?;
        let computers: Vec<Computer> = match &computer_q {
            Some(c) => vec![
                self.store
                    .get_computer(c)
                    .await?
                    .ok_or_else(|| CatalogError::NotFound(format!("computer '{c}'")))?,
            ],
            None => self.store.list_computers(None).await?,
        };
        let computers: Vec<Computer> = computers
            .into_iter()
            .filter(|c| {
                group.is_none_or(|g| {
                    let explicit = memberships.get(&c.info.id).map(Vec::as_slice).unwrap_or(&[]);
                    snapshot.is_member(&snapshot.membership(explicit), g.id)
                })
            })
            .collect();
        let in_scope: HashSet<&str> = computers.iter().map(|c| c.info.id.as_str()).collect();

        let rows: Vec<UpdateStatus> = match (update, computers.len()) {
            (Some(u), n) if n != 1 => {
                let mut r = self.store.status_for_update(u).await?;
                r.retain(|s| in_scope.contains(s.computer_id.as_str()));
                r
            }
            _ => {
                let mut r = Vec::new();
                for c in &computers {
                    let mut rows = self.store.status_for_computer(&c.info.id).await?;
                    rows.retain(|s| update.is_none_or(|u| s.update_id == u));
                    r.extend(rows);
                }
                r
            }
        };

        let mut per_update: BTreeMap<Uuid, StatusCounts> = BTreeMap::new();
        let mut per_computer: HashMap<&str, StatusCounts> = HashMap::new();
        if let Some(u) = update {
            per_update.entry(u).or_default();
        }
        for r in &rows {
            per_update.entry(r.update_id).or_default().add(r.state);
            per_computer.entry(r.computer_id.as_str()).or_default().add(r.state);
        }
        let mut updates = Vec::with_capacity(per_update.len());
        for (u, counts) in per_update {
            updates.push(UpdateStatusRow {
                update_id: u.to_string(),
                title: titles.get(self, u).await?,
                no_status: computers.len() as i64 - counts.total,
                counts,
            });
        }
        let computer_rows = computers
            .iter()
            .map(|c| ComputerStatusRow {
                computer_id: c.info.id.clone(),
                dns_name: c.info.dns_name.clone(),
                last_reported_status_time: c.last_reported_status_time.map(format_utc),
                counts: per_computer.get(c.info.id.as_str()).copied().unwrap_or_default(),
            })
            .collect();
        let mut entries = Vec::new();
        // Single rows only when the scope is one update or one computer, so the answer stays
        // bounded by the number of computers or updates.
        if update.is_some() || computer_q.is_some() {
            for r in &rows {
                entries.push(crate::api::StatusEntry {
                    computer_id: r.computer_id.clone(),
                    update_id: r.update_id.to_string(),
                    title: titles.get(self, r.update_id).await?,
                    revision_number: r.revision_number,
                    state: r.state.as_str().to_string(),
                    last_event_time: format_utc(r.last_event_time),
                });
            }
        }
        Ok(StatusReport {
            update: update.map(|u| u.to_string()),
            computer: computer_q,
            group: group.map(|g| g.name.clone()),
            computers_in_scope: computers.len() as i64,
            updates,
            computers: computer_rows,
            entries,
        })
    }
}

/// Update titles looked up once per request.
#[derive(Default)]
pub(crate) struct TitleCache(HashMap<Uuid, String>);

impl TitleCache {
    pub(crate) async fn get(&mut self, catalog: &Catalog, id: Uuid) -> Result<String, CatalogError> {
        if let Some(t) = self.0.get(&id) {
            return Ok(t.clone());
        }
        // Status can name updates this catalog does not hold (yet): show them untitled.
        let title = catalog
            .store
            .latest_revision(id)
            .await?
            .map(|r| r.title)
            .unwrap_or_default();
        self.0.insert(id, title.clone());
        Ok(title)
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use sluice_store::InstallState;
    use crate::api::CreateGroupRequest;
    use crate::test_support::*;

    #[tokio::test]
    async fn status_counts_per_update_and_computer() {
        let u = Uuid::from_u128(0x300);
        let other = Uuid::from_u128(0x301);
        let (c, _dir) = catalog(&[Doc::software(u), Doc::software(other)]).await;
        c.create_group(&CreateGroupRequest {
            name: "Pilot".into(),
            parent: None,
        })
        .await
        .unwrap();
        register(&c, &["pc-1", "pc-2", "pc-3"]).await;
        c.move_computer("pc-1", &["Pilot".into()]).await.unwrap();
        c.move_computer("pc-2", &["Pilot".into()]).await.unwrap();
        let report = |computer: &str, update: Uuid, state| UpdateStatus {
            computer_id: computer.into(),
            update_id: update,
            revision_number: 100,
            state,
            last_event_time: t(T1),
            last_event_id: None,
        };
        for s in [
            report("pc-1", u, InstallState::Installed),
            report("pc-2", u, InstallState::Failed),
            report("pc-3", u, InstallState::NotInstalled),
            report("pc-1", other, InstallState::NotApplicable),
        ] {
            c.store().set_update_status(&s).await.unwrap();
        }
        let by_update = c
            .status(&StatusQuery {
                update: Some(u.to_string()),
                ..StatusQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(by_update.updates.len(), 1);
        let counts = by_update.updates[0].counts;
        assert_eq!(
            (
                counts.installed,
                counts.failed,
                counts.not_installed,
                counts.needed,
                counts.total
            ),
            (1, 1, 1, 2, 3)
        );
        assert_eq!(by_update.entries.len(), 3);

        let pilot = c
            .status(&StatusQuery {
                update: Some(u.to_string()),
                group: Some("Pilot".into()),
                ..StatusQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(pilot.computers_in_scope, 2);
        assert_eq!(pilot.updates[0].counts.total, 2);

        let pc1 = c
            .status(&StatusQuery {
                computer: Some("pc-1".into()),
                ..StatusQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(pc1.computers[0].counts.total, 2);
        assert_eq!(pc1.updates.len(), 2);

        let everything = c.status(&StatusQuery::default()).await.unwrap();
        let other_row = everything
            .updates
            .iter()
            .find(|r| r.update_id == other.to_string())
            .unwrap();
        assert_eq!((other_row.counts.not_applicable, other_row.no_status), (1, 2));

        let e = c
            .status(&StatusQuery {
                computer: Some("nobody".into()),
                ..StatusQuery::default()
            })
            .await
            .unwrap_err();
        assert!(matches!(e, CatalogError::NotFound(_)), "{e}");
        let detail = c.computer_detail("pc-1").await.unwrap();
        assert_eq!(detail.counts.total, 2);
        assert_eq!(detail.computer.groups, vec!["Pilot"]);
    }
}
