//! Automatic approval rules, WSUS's automatic options and staged rollouts
//! (`/approval-rules`, `/settings/auto-approval`, `/rollout-plans`, `/rollouts`).

use serde::{Deserialize, Serialize};

/// A category or group as the API names it back: its id and its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NamedRef {
    pub id: String,
    pub name: String,
}

/// A rule's deadline: `days` after the approval, at `time` (`HH:MM`, UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleDeadline {
    pub days: u32,
    pub time: String,
}

/// `POST /approval-rules`. Classifications, products and groups by name or id; a rule
/// approves for `groups` or puts updates on `plan`, not both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CreateRuleRequest {
    pub name: String,
    /// Absent = enabled.
    pub enabled: Option<bool>,
    pub classifications: Vec<String>,
    pub products: Vec<String>,
    pub groups: Vec<String>,
    pub plan: Option<String>,
    pub deadline: Option<RuleDeadline>,
}

/// `PATCH /approval-rules/{rule}`: what is given is replaced, what is absent kept.
/// `"deadline": null` keeps the deadline; `clear_deadline` removes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct UpdateRuleRequest {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub classifications: Option<Vec<String>>,
    pub products: Option<Vec<String>>,
    /// Setting groups drops the plan.
    pub groups: Option<Vec<String>>,
    /// Setting a plan drops the groups.
    pub plan: Option<String>,
    pub deadline: Option<RuleDeadline>,
    pub clear_deadline: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleView {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    /// Empty = any classification.
    pub classifications: Vec<NamedRef>,
    /// Empty = any product.
    pub products: Vec<NamedRef>,
    pub groups: Vec<NamedRef>,
    pub plan: Option<NamedRef>,
    pub deadline: Option<RuleDeadline>,
    /// The administrator on whose behalf it approves and accepts license terms.
    pub owner: String,
    pub created_at: String,
    pub updated_at: String,
}

/// One approval a rule gave (or rollout it started).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleApproval {
    pub update_id: String,
    pub title: String,
    /// The group approved for, or the plan the update was put on.
    pub target: String,
    pub deadline: Option<String>,
    /// Who accepted the update's license terms, when it has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_accepted_by: Option<String>,
}

/// An update a rule covers but did not approve, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleSkip {
    pub update_id: String,
    pub title: String,
    pub reason: String,
}

/// What one run of a rule did (`POST /approval-rules/{rule}/run`, and each run on sync or
/// import).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleRunView {
    pub rule: String,
    /// Updates the rule covers.
    pub matched: usize,
    pub approved: Vec<RuleApproval>,
    /// Covered updates already approved as the rule would (or already on a plan).
    pub unchanged: usize,
    pub skipped: Vec<RuleSkip>,
}

/// `GET`/`PUT /settings/auto-approval`: WSUS's two automatic options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoApprovalSettings {
    /// A new revision of an approved update keeps the update's approvals (WSUS's default);
    /// when off, it is not offered until approved again.
    pub approve_new_revisions: bool,
    /// Updates that expire are declined after each sync (WSUS's default).
    pub decline_expired: bool,
}

/// One ring of a plan being created: a group and its soak time (`2d`, `36h`, `0d`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RingSpec {
    pub group: String,
    pub soak: String,
}

/// `POST /rollout-plans`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CreatePlanRequest {
    pub name: String,
    pub rings: Vec<RingSpec>,
    /// Largest failure rate a ring may show and still pass: `5%`, `2.5%`.
    pub max_failure: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RingView {
    pub group_id: String,
    pub group: String,
    pub soak: String,
    pub soak_secs: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlanView {
    pub id: i64,
    pub name: String,
    pub rings: Vec<RingView>,
    pub max_failure: String,
    pub max_failure_basis_points: u32,
    pub created_by: String,
    pub created_at: String,
}

/// `POST /rollouts`: put updates on a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StartRolloutRequest {
    pub plan: String,
    pub updates: Vec<String>,
    /// Accept the updates' license terms (as `approve --accept-license` does).
    pub accept_license: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RolloutView {
    pub id: i64,
    pub update_id: String,
    pub title: String,
    pub plan: String,
    /// The current ring, from 1.
    pub ring: usize,
    pub rings: usize,
    pub ring_group: String,
    /// `running`, `halted`, `completed` or `aborted`.
    pub state: String,
    /// Why it waits or halted.
    pub reason: Option<String>,
    pub ring_started_at: String,
    /// When the current ring's soak time ends.
    pub soak_until: String,
    /// What the current ring's computers reported.
    pub installed: u64,
    pub failed: u64,
    pub started_by: String,
    pub started_at: String,
}
