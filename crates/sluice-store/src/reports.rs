//! Compliance reports and paged computer listings at fleet scale: every count is one SQL
//! aggregate or a read of the counts the status triggers keep (per update in `update_counts`,
//! per group and update in `group_update_counts`), never a load of every computer or status
//! row into memory.

use std::collections::HashMap;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::Store;
use crate::codec::{Bind, RowExt, SqlBuilder, bind_all, uuid_str};
use crate::error::Result;
use crate::types::*;

/// Which computers a report or listing covers: a group's direct members, as targeting counts
/// them ("All Computers": every computer; "Unassigned Computers": those in no other group).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComputerScope {
    /// Every computer.
    All,
    /// Computers in no group but the two built-in ones.
    Unassigned,
    /// The explicit members of one group.
    Group(Uuid),
}

impl ComputerScope {
    /// The scope of a group id.
    pub fn of_group(id: Uuid) -> ComputerScope {
        if id == ALL_COMPUTERS_GROUP {
            ComputerScope::All
        } else if id == UNASSIGNED_COMPUTERS_GROUP {
            ComputerScope::Unassigned
        } else {
            ComputerScope::Group(id)
        }
    }

    /// The group whose row of `group_update_counts` holds the scope's counts (not meaningful
    /// for `All`, whose counts are `update_counts`).
    fn counts_group(self) -> Uuid {
        match self {
            ComputerScope::All => ALL_COMPUTERS_GROUP,
            ComputerScope::Unassigned => UNASSIGNED_COMPUTERS_GROUP,
            ComputerScope::Group(g) => g,
        }
    }

    /// ` AND {column} IN (…)` restricting `column` (a computer id) to the scope.
    pub(crate) fn restrict(self, b: &mut SqlBuilder, column: &str) {
        match self {
            ComputerScope::All => {}
            ComputerScope::Unassigned => {
                let all = b.arg(Bind::Text(uuid_str(&ALL_COMPUTERS_GROUP)));
                let un = b.arg(Bind::Text(uuid_str(&UNASSIGNED_COMPUTERS_GROUP)));
                b.push(&format!(
                    " AND {column} IN (SELECT uc.id FROM computers uc WHERE NOT EXISTS ( \
                     SELECT 1 FROM computer_group_members um WHERE um.computer_id = uc.id \
                     AND um.group_id NOT IN ({all}, {un})))"
                ));
            }
            ComputerScope::Group(g) => {
                let p = b.arg(Bind::Text(uuid_str(&g)));
                b.push(&format!(
                    " AND {column} IN (SELECT gm.computer_id FROM computer_group_members gm \
                     WHERE gm.group_id = {p})"
                ));
            }
        }
    }
}

/// Reported states of one update among the computers in a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateCompliance {
    /// The update.
    pub update_id: Uuid,
    /// Computers in each state.
    pub counts: StatusSummary,
}

/// A page of [`Store::compliance`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompliancePage {
    /// Updates applicable somewhere in the scope, in all pages.
    pub total: i64,
    /// This page, most needed first.
    pub rows: Vec<UpdateCompliance>,
}

/// One computer's state for an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputerState {
    /// The computer.
    pub computer_id: String,
    /// Its DNS name.
    pub dns_name: Option<String>,
    /// The state it last reported.
    pub state: InstallState,
    /// When it reported it.
    pub last_event_time: OffsetDateTime,
}

/// A page of [`Store::update_computers`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateComputersPage {
    /// Computers of the scope in each state.
    pub counts: StatusSummary,
    /// Matching computers, in all pages.
    pub total: i64,
    /// This page, by DNS name.
    pub rows: Vec<ComputerState>,
}

fn decode_counts<R: RowExt>(r: &R) -> Result<StatusSummary> {
    let mut c = StatusSummary::default();
    for s in InstallState::ALL {
        *c.slot(s) = r.big(s.as_str())?;
    }
    Ok(c)
}

/// Computers by DNS name, unnamed ones last, then by id: the order of `computers_listing`,
/// which neither backend could walk for `dns_name NULLS LAST` (SQLite sorts NULLs first).
pub(crate) const COMPUTER_ORDER: &str = "(c.dns_name IS NULL), c.dns_name, c.id";

fn page(b: &mut SqlBuilder, limit: i64, offset: i64) {
    let l = b.arg(Bind::Big(limit.max(0)));
    let o = b.arg(Bind::Big(offset.max(0)));
    b.push(&format!(" LIMIT {l} OFFSET {o}"));
}

impl Store {
    /// How many computers a scope holds.
    pub async fn count_computers(&self, scope: ComputerScope) -> Result<i64> {
        let b = match scope {
            // Every computer less those in some other group (memberships cascade with their
            // computer): two index scans, where testing each computer for memberships took a
            // quarter of a second at 100,000 computers on SQLite.
            ComputerScope::Unassigned => {
                let mut b = SqlBuilder::new(
                    "SELECT (SELECT COUNT(*) FROM computers) - (SELECT COUNT(DISTINCT m.computer_id) \
                     FROM computer_group_members m WHERE m.group_id NOT IN (",
                );
                let all = b.arg(Bind::Text(uuid_str(&ALL_COMPUTERS_GROUP)));
                let un = b.arg(Bind::Text(uuid_str(&UNASSIGNED_COMPUTERS_GROUP)));
                b.push(&format!("{all}, {un}))"));
                b
            }
            _ => {
                let mut b = SqlBuilder::new("SELECT COUNT(*) FROM computers c WHERE TRUE");
                scope.restrict(&mut b, "c.id");
                b
            }
        };
        let sql = sqlx::AssertSqlSafe(b.sql);
        on_read!(self, db => {
            Ok(bind_all!(sqlx::query_scalar(sql), &b.binds).fetch_one(db).await?)
        })
    }

    /// Per update, the reported states among the computers of `scope`, for the updates that
    /// at least one of them reported as applicable (any state but not applicable); most
    /// needed first, then by update id.
    pub async fn compliance(&self, scope: ComputerScope, limit: i64, offset: i64) -> Result<CompliancePage> {
        // Kept per update by the status triggers: fleet-wide in `update_counts`, per group
        // (and for "Unassigned Computers") in `group_update_counts`.
        let base = |head: &str| match scope {
            ComputerScope::All => SqlBuilder::new(&format!(
                "SELECT {head} FROM update_counts s WHERE s.total > s.not_applicable"
            )),
            _ => {
                let mut b = SqlBuilder::new(&format!("SELECT {head} FROM group_update_counts s WHERE s.group_id = "));
                let p = b.arg(Bind::Text(uuid_str(&scope.counts_group())));
                b.push(&format!("{p} AND s.total > s.not_applicable"));
                b
            }
        };
        let mut b = base(
            "s.update_id, s.unknown, s.not_applicable, s.not_installed, s.downloaded, \
             s.installed, s.installed_pending_reboot, s.failed, COUNT(*) OVER () AS total_rows",
        );
        b.push(" ORDER BY s.needed DESC, s.update_id");
        page(&mut b, limit, offset);
        let sql = sqlx::AssertSqlSafe(b.sql);
        let (mut total, rows) = on_read!(self, db => {
            let rows = bind_all!(sqlx::query(sql), &b.binds).fetch_all(db).await?;
            let mut total = 0;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                total = r.big("total_rows")?;
                out.push(UpdateCompliance { update_id: r.uuid("update_id")?, counts: decode_counts(r)? });
            }
            (total, out)
        });
        if rows.is_empty() && offset > 0 {
            // Past the last page there is no row to carry the window count.
            let inner = base("s.update_id");
            let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM ({}) x", inner.sql));
            total = on_read!(self, db => {
                bind_all!(sqlx::query_scalar(sql), &inner.binds).fetch_one(db).await?
            });
        }
        Ok(CompliancePage { total, rows })
    }

    /// The computers of `scope` that last reported one of `states` for an update, by DNS
    /// name, with the counts of every state in the scope.
    pub async fn update_computers(
        &self,
        update_id: Uuid,
        scope: ComputerScope,
        states: &[InstallState],
        limit: i64,
        offset: i64,
    ) -> Result<UpdateComputersPage> {
        let uid = uuid_str(&update_id);
        let counts = {
            let mut b = match scope {
                ComputerScope::All => SqlBuilder::new(
                    "SELECT unknown, not_applicable, not_installed, downloaded, installed, \
                     installed_pending_reboot, failed FROM update_counts WHERE update_id = $1",
                ),
                _ => SqlBuilder::new(
                    "SELECT unknown, not_applicable, not_installed, downloaded, installed, \
                     installed_pending_reboot, failed FROM group_update_counts \
                     WHERE update_id = $1 AND group_id = $2",
                ),
            };
            b.binds.push(Bind::Text(uid.clone()));
            if scope != ComputerScope::All {
                b.binds.push(Bind::Text(uuid_str(&scope.counts_group())));
            }
            let sql = sqlx::AssertSqlSafe(b.sql);
            on_read!(self, db => {
                let row = bind_all!(sqlx::query(sql), &b.binds).fetch_optional(db).await?;
                row.as_ref().map(decode_counts).transpose()?.unwrap_or_default()
            })
        };
        let wanted: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
        let mut b = SqlBuilder::new(
            "SELECT s.computer_id, c.dns_name, s.state, s.last_event_time \
             FROM update_status s JOIN computers c ON c.id = s.computer_id WHERE s.update_id = $1",
        );
        b.binds.push(Bind::Text(uid));
        let list: Vec<String> = wanted.iter().map(|s| b.arg(Bind::Text((*s).to_owned()))).collect();
        b.push(&format!(" AND s.state IN ({})", if list.is_empty() { "NULL".into() } else { list.join(", ") }));
        scope.restrict(&mut b, "s.computer_id");
        b.push(&format!(" ORDER BY {COMPUTER_ORDER}"));
        page(&mut b, limit, offset);
        let sql = sqlx::AssertSqlSafe(b.sql);
        let rows = on_read!(self, db => {
            let rows = bind_all!(sqlx::query(sql), &b.binds).fetch_all(db).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(ComputerState {
                    computer_id: r.text("computer_id")?,
                    dns_name: r.opt_text("dns_name")?,
                    state: r.parsed("state", InstallState::parse)?,
                    last_event_time: r.time("last_event_time")?,
                });
            }
            out
        });
        // Every status row has its computer (foreign key), so the scope's counts are exact.
        let mut states = states.to_vec();
        states.sort();
        states.dedup();
        let total = states.iter().map(|s| counts.get(*s)).sum();
        Ok(UpdateComputersPage { counts, total, rows })
    }

    /// Title and KB number of the latest revision of each of some updates (absent ones are
    /// left out).
    pub async fn update_titles(&self, update_ids: &[Uuid]) -> Result<HashMap<Uuid, (String, Option<String>)>> {
        let mut best: HashMap<Uuid, (i32, String, Option<String>)> = HashMap::new();
        for chunk in update_ids.chunks(500) {
            let mut b = SqlBuilder::new("SELECT update_id, revision_number, title, kb_article FROM revisions WHERE update_id IN (");
            let ps: Vec<String> = chunk.iter().map(|u| b.arg(Bind::Text(uuid_str(u)))).collect();
            b.push(&ps.join(", "));
            b.push(")");
            let sql = sqlx::AssertSqlSafe(b.sql);
            on_read!(self, db => {
                for r in bind_all!(sqlx::query(sql), &b.binds).fetch_all(db).await? {
                    let (id, rev) = (r.uuid("update_id")?, r.int("revision_number")?);
                    if best.get(&id).is_none_or(|(n, _, _)| *n < rev) {
                        best.insert(id, (rev, r.text("title")?, r.opt_text("kb_article")?));
                    }
                }
            });
        }
        Ok(best.into_iter().map(|(id, (_, t, kb))| (id, (t, kb))).collect())
    }

    /// The explicit group memberships of some computers.
    pub async fn memberships_of(&self, computer_ids: &[String]) -> Result<HashMap<String, Vec<Uuid>>> {
        let mut out: HashMap<String, Vec<Uuid>> = HashMap::new();
        for chunk in computer_ids.chunks(500) {
            let mut b = SqlBuilder::new("SELECT computer_id, group_id FROM computer_group_members WHERE computer_id IN (");
            let ps: Vec<String> = chunk.iter().map(|c| b.arg(Bind::Text(c.clone()))).collect();
            b.push(&ps.join(", "));
            b.push(")");
            let sql = sqlx::AssertSqlSafe(b.sql);
            on_read!(self, db => {
                for r in bind_all!(sqlx::query(sql), &b.binds).fetch_all(db).await? {
                    out.entry(r.text("computer_id")?).or_default().push(r.uuid("group_id")?);
                }
            });
        }
        Ok(out)
    }
}
