//! Automatic approval rules, staged-rollout plans and the rollouts on them: what the
//! administrator set up, and where each update is. What a rule approves and when a rollout
//! moves on are decided in `sluice-decide`; this keeps the records.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Store;
use crate::codec::{RowExt, now, ts, uuid_str};
use crate::error::{Result, StoreError};

/// An automatic approval rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRule {
    /// Server-local id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Disabled rules do not run on sync or import (they still run on demand).
    pub enabled: bool,
    /// The rule's criteria and what it does.
    pub spec: RuleSpec,
    /// The administrator who created or last changed it (it acts on their behalf).
    pub owner: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it was last changed.
    pub updated_at: OffsetDateTime,
}

/// What a rule matches and what it does with a match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleSpec {
    /// Classification ids; empty = any.
    pub classifications: Vec<Uuid>,
    /// Product (or product family) ids; empty = any.
    pub products: Vec<Uuid>,
    /// Groups approved for (empty when `plan_id` is set).
    pub groups: Vec<Uuid>,
    /// A rollout plan the matching updates are put on instead.
    pub plan_id: Option<i64>,
    /// Deadline: days after the approval.
    pub deadline_days: Option<i32>,
    /// Deadline: minutes after midnight UTC.
    pub deadline_minute: Option<i32>,
}

/// One ring of a rollout plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRing {
    /// The ring's computer group.
    pub group_id: Uuid,
    /// How long an update stays in the ring before it may move on.
    pub soak_secs: i64,
}

/// A staged-rollout plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutPlan {
    /// Server-local id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Rings in order.
    pub rings: Vec<PlanRing>,
    /// Failure rate allowed per ring, in basis points.
    pub max_failure_bp: i32,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: OffsetDateTime,
}

/// Where a rollout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolloutState {
    /// Moving (or waiting to move) through its rings.
    Running,
    /// Stopped by too many failures; the administrator resumes, skips or aborts.
    Halted,
    /// Approved for its last ring.
    Completed,
    /// Stopped by the administrator.
    Aborted,
}

impl RolloutState {
    /// The stored (and shown) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutState::Running => "running",
            RolloutState::Halted => "halted",
            RolloutState::Completed => "completed",
            RolloutState::Aborted => "aborted",
        }
    }

    /// The state of a stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [RolloutState::Running, RolloutState::Halted, RolloutState::Completed, RolloutState::Aborted]
            .into_iter()
            .find(|st| st.as_str() == s)
    }

    /// Running or halted: the update is still on its plan.
    pub fn is_active(self) -> bool {
        matches!(self, RolloutState::Running | RolloutState::Halted)
    }
}

/// An update on a rollout plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    /// Server-local id.
    pub id: i64,
    /// The plan.
    pub plan_id: i64,
    /// The update.
    pub update_id: Uuid,
    /// Index of the current ring.
    pub ring: i32,
    /// When the update was approved for the current ring (its soak time starts).
    pub ring_started_at: OffsetDateTime,
    /// Where it is.
    pub state: RolloutState,
    /// Why it waits or halted, as last evaluated.
    pub reason: Option<String>,
    /// Who put it on the plan.
    pub started_by: String,
    /// When.
    pub started_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

/// A change of a rollout's position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutMove<'a> {
    /// Index of the ring it is in after the change.
    pub ring: i32,
    /// When that ring's soak time started.
    pub ring_started_at: OffsetDateTime,
    /// Its state after the change.
    pub state: RolloutState,
    /// Why.
    pub reason: Option<&'a str>,
}

const RULE_COLS: &str = "id, name, enabled, classifications, products, group_ids, plan_id, deadline_days, \
     deadline_minute, owner, created_at, updated_at";
const PLAN_COLS: &str = "id, name, rings, max_failure_bp, created_by, created_at";
const ROLLOUT_COLS: &str =
    "id, plan_id, update_id, ring, ring_started_at, state, reason, started_by, started_at, updated_at";

fn ids_json(ids: &[Uuid]) -> Result<String> {
    serde_json::to_string(ids).map_err(|e| StoreError::InvalidInput(e.to_string()))
}

fn json_col<R: RowExt, T: serde::de::DeserializeOwned>(r: &R, col: &str) -> Result<T> {
    let raw = r.text(col)?;
    serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt(format!("column {col}: {e}")))
}

fn decode_rule<R: RowExt>(r: &R) -> Result<ApprovalRule> {
    Ok(ApprovalRule {
        id: r.big("id")?,
        name: r.text("name")?,
        enabled: r.flag("enabled")?,
        spec: RuleSpec {
            classifications: json_col(r, "classifications")?,
            products: json_col(r, "products")?,
            groups: json_col(r, "group_ids")?,
            plan_id: r.opt_big("plan_id")?,
            deadline_days: r.opt_int("deadline_days")?,
            deadline_minute: r.opt_int("deadline_minute")?,
        },
        owner: r.text("owner")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

fn decode_plan<R: RowExt>(r: &R) -> Result<RolloutPlan> {
    Ok(RolloutPlan {
        id: r.big("id")?,
        name: r.text("name")?,
        rings: json_col(r, "rings")?,
        max_failure_bp: r.int("max_failure_bp")?,
        created_by: r.text("created_by")?,
        created_at: r.time("created_at")?,
    })
}

fn decode_rollout<R: RowExt>(r: &R) -> Result<Rollout> {
    Ok(Rollout {
        id: r.big("id")?,
        plan_id: r.big("plan_id")?,
        update_id: r.uuid("update_id")?,
        ring: r.int("ring")?,
        ring_started_at: r.time("ring_started_at")?,
        state: r.parsed("state", RolloutState::parse)?,
        reason: r.opt_text("reason")?,
        started_by: r.text("started_by")?,
        started_at: r.time("started_at")?,
        updated_at: r.time("updated_at")?,
    })
}

/// A unique-name or foreign-key violation, told in the administrator's terms.
fn named_conflict(e: sqlx::Error, what: &str) -> StoreError {
    match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict(what.to_owned()),
        other => other,
    }
}

impl Store {
    /// Stores a new rule; `Conflict` if the name is taken or the plan does not exist.
    pub async fn create_approval_rule(&self, name: &str, enabled: bool, spec: &RuleSpec, owner: &str) -> Result<ApprovalRule> {
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO approval_rules (name, enabled, classifications, products, group_ids, plan_id, \
             deadline_days, deadline_minute, owner, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING {RULE_COLS}"
        ));
        let (c, p, g) = (ids_json(&spec.classifications)?, ids_json(&spec.products)?, ids_json(&spec.groups)?);
        let at = ts(now())?;
        on_write!(self, db => {
            let row = sqlx::query(sql)
                .bind(name)
                .bind(enabled)
                .bind(&c)
                .bind(&p)
                .bind(&g)
                .bind(spec.plan_id)
                .bind(spec.deadline_days)
                .bind(spec.deadline_minute)
                .bind(owner)
                .bind(&at)
                .fetch_one(db)
                .await
                .map_err(|e| named_conflict(e, &format!("an approval rule named '{name}' already exists")))?;
            decode_rule(&row)
        })
    }

    /// Replaces a rule's name, state and spec; `NotFound` for an unknown id.
    pub async fn update_approval_rule(&self, id: i64, name: &str, enabled: bool, spec: &RuleSpec, owner: &str) -> Result<ApprovalRule> {
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE approval_rules SET name = $1, enabled = $2, classifications = $3, products = $4, \
             group_ids = $5, plan_id = $6, deadline_days = $7, deadline_minute = $8, owner = $9, \
             updated_at = $10 WHERE id = $11 RETURNING {RULE_COLS}"
        ));
        let (c, p, g) = (ids_json(&spec.classifications)?, ids_json(&spec.products)?, ids_json(&spec.groups)?);
        let at = ts(now())?;
        on_write!(self, db => {
            let row = sqlx::query(sql)
                .bind(name)
                .bind(enabled)
                .bind(&c)
                .bind(&p)
                .bind(&g)
                .bind(spec.plan_id)
                .bind(spec.deadline_days)
                .bind(spec.deadline_minute)
                .bind(owner)
                .bind(&at)
                .bind(id)
                .fetch_optional(db)
                .await
                .map_err(|e| named_conflict(e, &format!("an approval rule named '{name}' already exists")))?;
            row.as_ref().map(decode_rule).transpose()?.ok_or_else(|| StoreError::NotFound(format!("approval rule {id}")))
        })
    }

    /// Every rule, by name.
    pub async fn approval_rules(&self) -> Result<Vec<ApprovalRule>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {RULE_COLS} FROM approval_rules ORDER BY name, id"));
        on_read!(self, db => {
            let rows = sqlx::query(sql).fetch_all(db).await?;
            rows.iter().map(decode_rule).collect()
        })
    }

    /// Deletes a rule; false if there was none.
    pub async fn delete_approval_rule(&self, id: i64) -> Result<bool> {
        on_write!(self, db => {
            Ok(sqlx::query("DELETE FROM approval_rules WHERE id = $1").bind(id).execute(db).await?.rows_affected() > 0)
        })
    }

    /// Stores a new plan; `Conflict` if the name is taken.
    pub async fn create_rollout_plan(&self, name: &str, rings: &[PlanRing], max_failure_bp: i32, by: &str) -> Result<RolloutPlan> {
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO rollout_plans (name, rings, max_failure_bp, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {PLAN_COLS}"
        ));
        let rings = serde_json::to_string(rings).map_err(|e| StoreError::InvalidInput(e.to_string()))?;
        let at = ts(now())?;
        on_write!(self, db => {
            let row = sqlx::query(sql)
                .bind(name)
                .bind(&rings)
                .bind(max_failure_bp)
                .bind(by)
                .bind(&at)
                .fetch_one(db)
                .await
                .map_err(|e| named_conflict(e, &format!("a rollout plan named '{name}' already exists")))?;
            decode_plan(&row)
        })
    }

    /// Every plan, by name.
    pub async fn rollout_plans(&self) -> Result<Vec<RolloutPlan>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {PLAN_COLS} FROM rollout_plans ORDER BY name, id"));
        on_read!(self, db => {
            let rows = sqlx::query(sql).fetch_all(db).await?;
            rows.iter().map(decode_plan).collect()
        })
    }

    /// Deletes a plan with its finished rollouts; `Conflict` while an update is still on it or
    /// a rule names it, `NotFound` for an unknown id.
    pub async fn delete_rollout_plan(&self, id: i64) -> Result<()> {
        in_tx!(self, tx => {
            let active: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM rollouts WHERE plan_id = $1 AND state IN ('running', 'halted')",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            if active > 0 {
                return Err(StoreError::Conflict(format!(
                    "{active} update(s) are still on this plan; abort their rollouts first"
                )));
            }
            let rules: Vec<String> = sqlx::query_scalar("SELECT name FROM approval_rules WHERE plan_id = $1 ORDER BY name")
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
            if !rules.is_empty() {
                return Err(StoreError::Conflict(format!(
                    "approval rule(s) {} put updates on this plan; change or delete them first",
                    rules.join(", ")
                )));
            }
            let n = sqlx::query("DELETE FROM rollout_plans WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound(format!("rollout plan {id}")));
            }
        });
        Ok(())
    }

    /// Puts an update on a plan in its first ring, approved there since `at`; `Conflict` if the
    /// update is already on a plan (running or halted).
    pub async fn start_rollout(&self, plan_id: i64, update_id: Uuid, by: &str, at: OffsetDateTime) -> Result<Rollout> {
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO rollouts (plan_id, update_id, ring, ring_started_at, state, started_by, started_at, updated_at) \
             VALUES ($1, $2, 0, $3, 'running', $4, $3, $3) RETURNING {ROLLOUT_COLS}"
        ));
        let uid = uuid_str(&update_id);
        let at = ts(at)?;
        Ok(in_tx!(self, tx => {
            let active: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM rollouts WHERE update_id = $1 AND state IN ('running', 'halted')",
            )
            .bind(&uid)
            .fetch_one(&mut *tx)
            .await?;
            if active > 0 {
                return Err(StoreError::Conflict(format!("update {update_id} is already on a rollout plan")));
            }
            let row = sqlx::query(sql)
                .bind(plan_id)
                .bind(&uid)
                .bind(&at)
                .bind(by)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| named_conflict(e, &format!("rollout plan {plan_id} no longer exists")))?;
            decode_rollout(&row)?
        }))
    }

    /// Every rollout, newest first.
    pub async fn rollouts(&self) -> Result<Vec<Rollout>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {ROLLOUT_COLS} FROM rollouts ORDER BY started_at DESC, id DESC"));
        on_read!(self, db => {
            let rows = sqlx::query(sql).fetch_all(db).await?;
            rows.iter().map(decode_rollout).collect()
        })
    }

    /// The rollouts still moving: the background evaluation's work list.
    pub async fn running_rollouts(&self) -> Result<Vec<Rollout>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {ROLLOUT_COLS} FROM rollouts WHERE state = 'running' ORDER BY id"));
        on_read!(self, db => {
            let rows = sqlx::query(sql).fetch_all(db).await?;
            rows.iter().map(decode_rollout).collect()
        })
    }

    /// One rollout.
    pub async fn rollout(&self, id: i64) -> Result<Option<Rollout>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {ROLLOUT_COLS} FROM rollouts WHERE id = $1"));
        on_read!(self, db => {
            let row = sqlx::query(sql).bind(id).fetch_optional(db).await?;
            row.as_ref().map(decode_rollout).transpose()
        })
    }

    /// Moves a rollout, but only from the position it was read in (`from_ring`, `from_state`):
    /// two servers evaluating the same rollout, or an administrator acting meanwhile, cannot
    /// both move it. `None` when it had moved already.
    pub async fn move_rollout(&self, id: i64, from_ring: i32, from_state: RolloutState, to: &RolloutMove<'_>) -> Result<Option<Rollout>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE rollouts SET ring = $1, ring_started_at = $2, state = $3, reason = $4, updated_at = $5 \
             WHERE id = $6 AND ring = $7 AND state = $8 RETURNING {ROLLOUT_COLS}"
        ));
        let started = ts(to.ring_started_at)?;
        let at = ts(now())?;
        on_write!(self, db => {
            let row = sqlx::query(sql)
                .bind(to.ring)
                .bind(&started)
                .bind(to.state.as_str())
                .bind(to.reason)
                .bind(&at)
                .bind(id)
                .bind(from_ring)
                .bind(from_state.as_str())
                .fetch_optional(db)
                .await?;
            row.as_ref().map(decode_rollout).transpose()
        })
    }

    /// Records why a running rollout waits, without moving it (shown by `rollouts status`).
    pub async fn note_rollout(&self, id: i64, reason: &str) -> Result<()> {
        on_write!(self, db => {
            sqlx::query("UPDATE rollouts SET reason = $1 WHERE id = $2 AND state = 'running'")
                .bind(reason)
                .bind(id)
                .execute(db)
                .await?;
        });
        Ok(())
    }
}
