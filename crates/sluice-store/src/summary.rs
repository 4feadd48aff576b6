//! The dashboard's fleet summary: per computer group, how many computers need updates, have
//! failed installs or have not reported, read from the per-group counts the triggers of
//! migration 0014 keep (`group_computer_counts`) — one row per group. [`Store::recount_fleet_standing`]
//! counts the same from the per-computer counts (`computer_counts`, migration 0011), for
//! checking the triggers.

use uuid::Uuid;

use crate::Store;
use crate::codec::{RowExt, uuid_str};
use crate::error::Result;
use crate::types::*;

/// How the computers of one group stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupStanding {
    /// The group ("All Computers" and "Unassigned Computers" included).
    pub group_id: Uuid,
    /// Its name.
    pub name: String,
    /// Computers in it, as targeting counts them.
    pub computers: i64,
    /// Computers that last reported at least one update as needed (failed included).
    pub needing: i64,
    /// Computers with at least one failed install.
    pub failed: i64,
    /// Computers that have reported no update status yet.
    pub not_reported: i64,
}

/// What [`Store::fleet_standing`] answers: every group, "All Computers" first.
pub type FleetStanding = Vec<GroupStanding>;

const COUNTS: &str = "COUNT(*) AS computers, \
     COALESCE(SUM(CASE WHEN cc.needed > 0 THEN 1 ELSE 0 END), 0) AS needing, \
     COALESCE(SUM(CASE WHEN cc.failed > 0 THEN 1 ELSE 0 END), 0) AS failed, \
     COALESCE(SUM(CASE WHEN cc.total IS NULL OR cc.total = 0 THEN 1 ELSE 0 END), 0) AS not_reported";

impl Store {
    /// Each computer group's standing: its computers, those needing updates, those with
    /// failed installs and those that never reported. Groups in name order after the two
    /// built-in ones.
    pub async fn fleet_standing(&self) -> Result<FleetStanding> {
        const SQL: &str = "SELECT g.id, g.name, COALESCE(c.computers, 0) AS computers, COALESCE(c.needing, 0) AS needing, \
             COALESCE(c.failed, 0) AS failed, COALESCE(c.computers - c.reported, 0) AS not_reported \
             FROM computer_groups g LEFT JOIN group_computer_counts c ON c.group_id = g.id \
             ORDER BY CASE g.id WHEN $1 THEN 0 WHEN $2 THEN 1 ELSE 2 END, g.name";
        let (all, unassigned) = (uuid_str(&ALL_COMPUTERS_GROUP), uuid_str(&UNASSIGNED_COMPUTERS_GROUP));
        on_read!(self, db => {
            let rows = sqlx::query(SQL).bind(&all).bind(&unassigned).fetch_all(db).await?;
            rows.iter()
                .map(|r| Ok(GroupStanding {
                    group_id: r.uuid("id")?,
                    name: r.text("name")?,
                    computers: r.big("computers")?,
                    needing: r.big("needing")?,
                    failed: r.big("failed")?,
                    not_reported: r.big("not_reported")?,
                }))
                .collect()
        })
    }

    /// [`Store::fleet_standing`] counted afresh from every computer (one pass over the fleet):
    /// what the kept counts must always equal.
    pub async fn recount_fleet_standing(&self) -> Result<FleetStanding> {
        let all = uuid_str(&ALL_COMPUTERS_GROUP);
        let unassigned = uuid_str(&UNASSIGNED_COMPUTERS_GROUP);
        let every = format!("SELECT {COUNTS} FROM computers c LEFT JOIN computer_counts cc ON cc.computer_id = c.id");
        let lonely = format!(
            "SELECT {COUNTS} FROM computers c LEFT JOIN computer_counts cc ON cc.computer_id = c.id \
             WHERE NOT EXISTS (SELECT 1 FROM computer_group_members m WHERE m.computer_id = c.id \
             AND m.group_id NOT IN ($1, $2))"
        );
        let groups = format!(
            "SELECT g.id, g.name, COALESCE(x.computers, 0) AS computers, COALESCE(x.needing, 0) AS needing, \
             COALESCE(x.failed, 0) AS failed, COALESCE(x.not_reported, 0) AS not_reported \
             FROM computer_groups g LEFT JOIN (SELECT m.group_id, {COUNTS} FROM computer_group_members m \
             LEFT JOIN computer_counts cc ON cc.computer_id = m.computer_id GROUP BY m.group_id) x \
             ON x.group_id = g.id WHERE g.id NOT IN ($1, $2) ORDER BY g.name"
        );
        let standing = |id: Uuid, name: String, r: &dyn Fn(&str) -> Result<i64>| -> Result<GroupStanding> {
            Ok(GroupStanding {
                group_id: id,
                name,
                computers: r("computers")?,
                needing: r("needing")?,
                failed: r("failed")?,
                not_reported: r("not_reported")?,
            })
        };
        let out = on_read!(self, db => {
            let mut out = Vec::new();
            let row = sqlx::query(sqlx::AssertSqlSafe(every)).fetch_one(db).await?;
            out.push(standing(ALL_COMPUTERS_GROUP, "All Computers".into(), &|c| row.big(c))?);
            let row = sqlx::query(sqlx::AssertSqlSafe(lonely)).bind(&all).bind(&unassigned).fetch_one(db).await?;
            out.push(standing(UNASSIGNED_COMPUTERS_GROUP, "Unassigned Computers".into(), &|c| row.big(c))?);
            let rows = sqlx::query(sqlx::AssertSqlSafe(groups)).bind(&all).bind(&unassigned).fetch_all(db).await?;
            for r in &rows {
                out.push(standing(r.uuid("id")?, r.text("name")?, &|c| r.big(c))?);
            }
            out
        });
        Ok(out)
    }
}
