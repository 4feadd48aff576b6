//! Whether the database holds together: what a crash (SIGKILL, power loss) must never break.
//! The engine's own checks on SQLite (page structure, foreign keys; PostgreSQL enforces its
//! keys at every statement), and the three counts tables the status triggers keep against a
//! fresh count of their source rows: a trigger that fired without its statement committing, or
//! the reverse, would show here. Used by the crash-safety test after every kill.

use crate::codec::RowExt;
use crate::error::Result;
use crate::{Backend, Store};

/// `CASE` sums rather than `SUM(x = y)`: PostgreSQL does not sum booleans.
fn is(state: &str) -> String {
    format!("SUM(CASE WHEN s.state = '{state}' THEN 1 ELSE 0 END)")
}

fn needed() -> String {
    "SUM(CASE WHEN s.state IN ('not_installed', 'downloaded', 'installed_pending_reboot', 'failed') THEN 1 ELSE 0 END)"
        .to_string()
}

fn per_state() -> String {
    let states = ["unknown", "not_applicable", "not_installed", "downloaded", "installed", "installed_pending_reboot", "failed"];
    let mut cols: Vec<String> = states.iter().map(|s| is(s)).collect();
    cols.push(needed());
    cols.push("COUNT(*)".into());
    cols.join(", ")
}

const STATE_COLUMNS: &str =
    "unknown, not_applicable, not_installed, downloaded, installed, installed_pending_reboot, failed, needed, total";

const COMPUTER_COLUMNS: &str = "needed, failed, installed, not_applicable, total";

/// The groups a computer's status rows count in (the `computer_count_groups` view of
/// migration 0010, spelled out so this check does not trust the view either).
const COUNT_GROUPS: &str = "SELECT m.computer_id, m.group_id FROM computer_group_members m \
     WHERE m.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a') \
     UNION ALL SELECT c.id, 'b73ca6ed-5727-47f3-84de-015e03f6a88a' FROM computers c \
     WHERE NOT EXISTS (SELECT 1 FROM computer_group_members m WHERE m.computer_id = c.id \
     AND m.group_id NOT IN ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'b73ca6ed-5727-47f3-84de-015e03f6a88a'))";

impl Store {
    /// Everything found wrong with the database, in words; empty when it is consistent.
    pub async fn consistency_problems(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        if self.backend() == Backend::Sqlite {
            let rows: Vec<String> = on_read!(self, db => {
                let rows = sqlx::query("PRAGMA integrity_check").fetch_all(db).await?;
                let mut out = Vec::new();
                for r in &rows {
                    out.push(r.text("integrity_check")?);
                }
                out
            });
            if rows != ["ok"] {
                problems.push(format!("integrity_check: {}", rows.join("; ")));
            }
            let dangling: Vec<String> = on_read!(self, db => {
                let rows = sqlx::query("SELECT \"table\" AS t, \"parent\" AS p FROM pragma_foreign_key_check")
                    .fetch_all(db)
                    .await?;
                let mut out = Vec::new();
                for r in &rows {
                    out.push(format!("{} → {}", r.text("t")?, r.text("p")?));
                }
                out
            });
            if !dangling.is_empty() {
                problems.push(format!("{} rows name a missing parent: {}", dangling.len(), dangling.join(", ")));
            }
        }
        let states = per_state();
        // A kept row of zeros is what the triggers leave when the last status row goes.
        let nonzero = |cols: &str| cols.split(", ").map(|c| format!("{c} <> 0")).collect::<Vec<_>>().join(" OR ");
        let checks = [
            (
                "update_counts",
                format!("SELECT s.update_id, {states} FROM update_status s GROUP BY s.update_id"),
                format!("SELECT update_id, {STATE_COLUMNS} FROM update_counts WHERE {}", nonzero(STATE_COLUMNS)),
            ),
            (
                "computer_counts",
                format!(
                    "SELECT s.computer_id, {n}, {f}, {i}, {na}, COUNT(*) FROM update_status s \
                     JOIN computers c ON c.id = s.computer_id GROUP BY s.computer_id",
                    n = needed(),
                    f = is("failed"),
                    i = is("installed"),
                    na = is("not_applicable")
                ),
                format!(
                    "SELECT computer_id, {c} FROM computer_counts WHERE {}",
                    nonzero(COMPUTER_COLUMNS),
                    c = COMPUTER_COLUMNS
                ),
            ),
            (
                "group_update_counts",
                format!(
                    "SELECT g.group_id, s.update_id, {states} FROM update_status s \
                     JOIN ({COUNT_GROUPS}) g ON g.computer_id = s.computer_id GROUP BY g.group_id, s.update_id"
                ),
                format!("SELECT group_id, update_id, {STATE_COLUMNS} FROM group_update_counts WHERE {}", nonzero(STATE_COLUMNS)),
            ),
        ];
        for (table, source, kept) in checks {
            let differ = |a: &str, b: &str| format!("SELECT COUNT(*) AS n FROM ({a} EXCEPT {b}) d");
            let (missing, extra) = on_read!(self, db => {
                let missing = sqlx::query(sqlx::AssertSqlSafe(differ(&source, &kept))).fetch_one(db).await?.big("n")?;
                let extra = sqlx::query(sqlx::AssertSqlSafe(differ(&kept, &source))).fetch_one(db).await?.big("n")?;
                (missing, extra)
            });
            if missing + extra > 0 {
                problems.push(format!(
                    "{table}: {missing} counted rows differ from a fresh count and {extra} are kept for nothing"
                ));
            }
        }
        let (kept, counted) = (self.fleet_standing().await?, self.recount_fleet_standing().await?);
        if kept != counted {
            let differ = kept.iter().filter(|k| !counted.contains(k)).map(|k| k.name.as_str()).collect::<Vec<_>>();
            problems.push(format!("group_computer_counts: the groups {differ:?} differ from a fresh count"));
        }
        Ok(problems)
    }
}
