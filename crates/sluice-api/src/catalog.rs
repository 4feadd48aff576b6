//! Catalog, computer group, approval and status requests and views.

use serde::{Deserialize, Serialize};

/// How a command-line installer's exit code is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReturnCodeMeaning {
    Success,
    Reboot,
    Failure,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReturnCodeSpec {
    pub code: i64,
    pub meaning: ReturnCodeMeaning,
}

/// The file of an update being published, as the client measured it. The server recomputes
/// both digests while storing and refuses the upload if they differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublishFile {
    pub name: String,
    pub size: u64,
    /// Lower-case hex.
    pub sha1: String,
    /// Lower-case hex.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
pub struct PublishRequest {
    pub title: String,
    pub description: Option<String>,
    pub kb: Option<String>,
    pub msrc_number: Option<String>,
    pub msrc_severity: Option<String>,
    /// Classification title or id (e.g. "Security Updates").
    pub classification: Option<String>,
    /// Product title or id; a new product category is created for an unknown title.
    pub product: Option<String>,
    /// Arguments passed to the file when it is installed.
    pub command_line: Option<String>,
    pub return_codes: Vec<ReturnCodeSpec>,
    pub installed_rule: Option<String>,
    pub installable_rule: Option<String>,
    pub prerequisites: Vec<String>,
    pub supersedes: Vec<String>,
    pub file: Option<PublishFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportDocument {
    /// Names the document in error messages (usually its file name).
    pub name: String,
    pub xml: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportRequest {
    pub documents: Vec<ImportDocument>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportedRevision {
    pub update_id: String,
    pub revision_number: i32,
    pub revision_id: i64,
    /// False when the revision was already in the catalog (nothing changed).
    pub inserted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportResponse {
    pub revisions: Vec<ImportedRevision>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UpdateSummary {
    pub update_id: String,
    pub revision_number: i32,
    pub revision_id: i64,
    pub title: String,
    pub update_type: String,
    pub kb_article: Option<String>,
    pub msrc_severity: Option<String>,
    pub msrc_number: Option<String>,
    pub classification: Option<String>,
    pub products: Vec<String>,
    pub creation_date: Option<String>,
    pub is_locally_published: bool,
    #[serde(default)]
    pub declined: bool,
    /// Computers needing it (WSUS's sense), as last reported.
    #[serde(default)]
    pub needed: i64,
    /// Computers it failed on.
    #[serde(default)]
    pub failed: i64,
    /// Computers it is installed on (pending reboot included).
    #[serde(default)]
    pub installed: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UpdateFileInfo {
    pub name: String,
    pub size: u64,
    pub sha1: String,
    pub sha256: Option<String>,
    /// absent | downloading | present | failed
    pub state: String,
    /// Where clients fetch it from this server, relative to the client listener.
    pub content_path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UpdateDetail {
    #[serde(flatten)]
    pub summary: UpdateSummary,
    pub description: Option<String>,
    pub publication_state: Option<String>,
    pub is_bundle: bool,
    pub files: Vec<UpdateFileInfo>,
    pub prerequisites: Vec<Vec<String>>,
    pub bundled_updates: Vec<Vec<String>>,
    pub superseded_updates: Vec<String>,
    pub languages: Vec<String>,
    pub command_line: Option<String>,
    pub has_installed_rule: bool,
    pub has_installable_rule: bool,
}

/// Every error the admin API answers: `{"error": {"code": "not_found", "message": "…"}}` with
/// the HTTP status. Programs branch on `code`, which is stable; `message` is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiError {
    pub error: ApiErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiErrorDetail {
    pub code: ApiErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ApiErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { error: ApiErrorDetail { code, message: message.into() } }
    }
}

/// Why a request failed, in words a program can match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiErrorCode {
    /// 401: no bearer token, or one that is unknown, revoked or expired.
    Unauthenticated,
    /// 403: the caller may not do this.
    Forbidden,
    /// 404: no such route, or no such object.
    NotFound,
    /// 405: the route exists, the method does not.
    MethodNotAllowed,
    /// 400: a well-formed request the server will not carry out as asked.
    InvalidRequest,
    /// 400: update metadata that does not parse or breaks the catalog's rules.
    Rejected,
    /// 400: the body is not JSON.
    MalformedJson,
    /// 422: JSON of the wrong shape for the route.
    InvalidBody,
    /// 400: the query string does not fit the route's parameters.
    MalformedQuery,
    /// 400: a path parameter is not what the route takes.
    MalformedPath,
    /// 400: a multipart upload that cannot be read.
    MalformedUpload,
    /// 415: a body without the content type the route takes.
    UnsupportedMediaType,
    /// 413: a body over the route's limit.
    PayloadTooLarge,
    /// 409: the change conflicts with what is stored (a duplicate name, for one).
    Conflict,
    /// 429: too many failed logins for the user or from the address; see `Retry-After`.
    RateLimited,
    /// 422: an uploaded file does not match the size or digests announced for it.
    FileMismatch,
    /// 503: the server cannot take the request now.
    Unavailable,
    /// 502: a server Sluice relies on (the SMTP server) refused or failed.
    DeliveryFailed,
    /// 500: the server failed; the details are in its log.
    Internal,
}

impl ApiErrorCode {
    /// The code for an error known only by its HTTP status (axum's own refusals).
    pub fn for_status(status: u16) -> ApiErrorCode {
        match status {
            401 => ApiErrorCode::Unauthenticated,
            403 => ApiErrorCode::Forbidden,
            404 => ApiErrorCode::NotFound,
            405 => ApiErrorCode::MethodNotAllowed,
            409 => ApiErrorCode::Conflict,
            413 => ApiErrorCode::PayloadTooLarge,
            415 => ApiErrorCode::UnsupportedMediaType,
            422 => ApiErrorCode::InvalidBody,
            429 => ApiErrorCode::RateLimited,
            503 => ApiErrorCode::Unavailable,
            500..=599 => ApiErrorCode::Internal,
            _ => ApiErrorCode::InvalidRequest,
        }
    }
}

/// Filters of an update listing (query string of `GET /updates`), also the selection of a
/// bulk approval or decline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, utoipa::IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct UpdateQuery {
    /// Text in the title, description or KB number.
    pub text: Option<String>,
    /// Classification title or id.
    pub classification: Option<String>,
    /// Product (or product family) title or id.
    pub product: Option<String>,
    pub kb: Option<String>,
    /// Critical | Important | Moderate | Low
    pub msrc_severity: Option<String>,
    /// unapproved | approved | declined | not_declined
    pub approval: Option<String>,
    /// With `approval=approved`: approved for this group (name or id) itself.
    pub group: Option<String>,
    /// Superseded by another update (true) or not (false).
    pub superseded: Option<bool>,
    /// Expired (true) or not (false).
    pub expired: Option<bool>,
    /// Needed by at least this many computers.
    pub needed: Option<i64>,
    /// Failed on at least this many computers.
    pub failed: Option<i64>,
    /// Released on or after this date (YYYY-MM-DD or RFC 3339).
    pub released_from: Option<String>,
    /// Released on or before this date (a date includes the whole day).
    pub released_to: Option<String>,
    /// release | title | kb | needed | failed [default: newest release first]
    pub sort: Option<String>,
    /// Reverse the sort order.
    #[serde(default)]
    pub desc: bool,
    /// Also list categories and detectoids.
    #[serde(default)]
    pub all_types: bool,
    /// 1..=10000 [default: 200]
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

/// `GET /updates`: one page of the matching updates and how many match in all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UpdatePage {
    pub total: i64,
    pub limit: u32,
    pub offset: u32,
    pub items: Vec<UpdateSummary>,
}

// ------------------------------------------------------------------ computer groups, approvals, status

/// A computer group (`GET /groups`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ComputerGroupView {
    pub id: String,
    pub name: String,
    pub parent_id: Option<String>,
    /// The parent's name.
    pub parent: Option<String>,
    /// Names from "All Computers" down to this group, joined by '/'.
    pub path: String,
    pub built_in: bool,
    /// Direct members ("All Computers": every computer).
    pub computers: i64,
    /// Approvals set on this group itself (not inherited ones).
    pub approvals: i64,
    pub created_at: String,
}

/// `POST /groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
pub struct CreateGroupRequest {
    pub name: String,
    /// Parent group name or id [default: All Computers].
    #[serde(default)]
    pub parent: Option<String>,
}

/// Answer of `DELETE /groups/{name-or-id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeletedGroup {
    pub id: String,
    pub name: String,
    /// Members that had no other group and are now in "Unassigned Computers".
    pub moved_to_unassigned: Vec<String>,
    /// How many approvals of the group went with it.
    pub removed_approvals: usize,
}

/// A computer as listed (`GET /computers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ComputerView {
    pub id: String,
    pub dns_name: Option<String>,
    pub ip_address: Option<String>,
    pub os_description: Option<String>,
    /// major.minor.build.revision, as far as reported.
    pub os_version: Option<String>,
    pub client_version: Option<String>,
    /// Group names ("Unassigned Computers" when it has no other; "All Computers" is implied).
    pub groups: Vec<String>,
    pub last_sync_time: Option<String>,
    pub last_reported_status_time: Option<String>,
    pub registered_at: String,
}

/// What applies to one update on a computer after inheritance and conflicts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EffectiveApprovalView {
    pub update_id: String,
    pub title: String,
    pub action: ApprovalAction,
    /// RFC 3339, UTC.
    pub deadline: Option<String>,
    /// The group whose approval applies (possibly an ancestor of the computer's group).
    pub group: String,
    pub last_change: String,
}

/// One reported state of an update on a computer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ComputerUpdateStatus {
    pub update_id: String,
    pub title: String,
    pub revision_number: i32,
    /// unknown | not_applicable | not_installed | downloaded | installed |
    /// installed_pending_reboot | failed
    pub state: String,
    pub last_event_time: String,
}

/// Computers in each reported state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
pub struct StatusCounts {
    pub unknown: i64,
    pub not_applicable: i64,
    pub not_installed: i64,
    pub downloaded: i64,
    pub installed: i64,
    pub installed_pending_reboot: i64,
    pub failed: i64,
    /// not installed + downloaded + installed pending reboot + failed, as WSUS counts "Needed".
    pub needed: i64,
    /// Every report counted.
    pub total: i64,
}

/// An update's state on a computer, as last reported: the names the API uses in
/// [`ComputerUpdateStatus::state`], [`StatusEntry::state`] and [`StatusCounts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportedState {
    Unknown,
    NotApplicable,
    NotInstalled,
    Downloaded,
    Installed,
    InstalledPendingReboot,
    Failed,
}

impl ReportedState {
    pub const ALL: [ReportedState; 7] = [
        ReportedState::Unknown,
        ReportedState::NotApplicable,
        ReportedState::NotInstalled,
        ReportedState::Downloaded,
        ReportedState::Installed,
        ReportedState::InstalledPendingReboot,
        ReportedState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportedState::Unknown => "unknown",
            ReportedState::NotApplicable => "not_applicable",
            ReportedState::NotInstalled => "not_installed",
            ReportedState::Downloaded => "downloaded",
            ReportedState::Installed => "installed",
            ReportedState::InstalledPendingReboot => "installed_pending_reboot",
            ReportedState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<ReportedState> {
        ReportedState::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for ReportedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl StatusCounts {
    /// Counts one reported state, given as anything that displays as its API name (the
    /// store's `InstallState` does); a name that is no state counts as unknown.
    pub fn add(&mut self, state: impl std::fmt::Display) {
        let state = ReportedState::parse(&state.to_string()).unwrap_or(ReportedState::Unknown);
        let slot = match state {
            ReportedState::Unknown => &mut self.unknown,
            ReportedState::NotApplicable => &mut self.not_applicable,
            ReportedState::NotInstalled => &mut self.not_installed,
            ReportedState::Downloaded => &mut self.downloaded,
            ReportedState::Installed => &mut self.installed,
            ReportedState::InstalledPendingReboot => &mut self.installed_pending_reboot,
            ReportedState::Failed => &mut self.failed,
        };
        *slot += 1;
        self.total += 1;
        // As the WSUS console counts "Needed": applicable and not (completely) installed.
        if matches!(
            state,
            ReportedState::NotInstalled
                | ReportedState::Downloaded
                | ReportedState::InstalledPendingReboot
                | ReportedState::Failed
        ) {
            self.needed += 1;
        }
    }
}

/// `GET /computers/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ComputerDetail {
    #[serde(flatten)]
    pub computer: ComputerView,
    pub os_service_pack: Option<String>,
    pub locale: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub bios_name: Option<String>,
    pub bios_version: Option<String>,
    /// Effective approvals, by update id.
    pub approvals: Vec<EffectiveApprovalView>,
    /// Reported states, by update id.
    pub status: Vec<ComputerUpdateStatus>,
    pub counts: StatusCounts,
}

/// `POST /computers/{id}/move`: the computer's new groups (names or ids; none = Unassigned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
pub struct MoveComputerRequest {
    pub groups: Vec<String>,
}

/// Query of `GET /computers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, utoipa::IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct ComputerQuery {
    /// Group name or id: only its direct members.
    pub group: Option<String>,
    /// With `offset`, one page of the list (1..=10000); without both, every computer.
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

/// `POST /approvals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
pub struct ApprovalRequest {
    /// Update id.
    pub update: String,
    /// Group name or id.
    pub group: String,
    /// install (default) | uninstall | not_approved
    #[serde(default)]
    pub action: Option<String>,
    /// RFC 3339 date-time; a past one means "at the next check-in".
    #[serde(default)]
    pub deadline: Option<String>,
    /// Accept the update's license terms (recorded with the caller's name).
    #[serde(default)]
    pub accept_license: bool,
}

/// What an approval tells a computer group to do with an update: one type from the store's
/// column through targeting and the admin API to the wire (`sluice-decide` maps it to the
/// deployments WSUS sends). Serialised, stored and printed as `install`, `uninstall`,
/// `not_approved`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalAction {
    /// Install the update.
    Install,
    /// Uninstall the update.
    Uninstall,
    /// Explicitly not approved (overrides an inherited approval).
    NotApproved,
}

impl ApprovalAction {
    /// Every value, in declaration order.
    pub const ALL: &'static [ApprovalAction] =
        &[ApprovalAction::Install, ApprovalAction::Uninstall, ApprovalAction::NotApproved];

    /// The stored and serialised spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalAction::Install => "install",
            ApprovalAction::Uninstall => "uninstall",
            ApprovalAction::NotApproved => "not_approved",
        }
    }

    /// Parses the stored spelling (exact match; the API's lenient parsing of requests is the
    /// catalog's).
    pub fn parse(s: &str) -> Option<ApprovalAction> {
        ApprovalAction::ALL.iter().copied().find(|a| a.as_str() == s)
    }
}

impl std::fmt::Display for ApprovalAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, so the CLI's column widths apply.
        f.pad(self.as_str())
    }
}

/// Id of WSUS's built-in "All Computers" group, the root every computer belongs to.
pub const ALL_COMPUTERS_GROUP: uuid::Uuid = uuid::Uuid::from_u128(0xa0a08746_4dbe_4a37_9adf_9e7652c0b421);
/// Id of WSUS's built-in "Unassigned Computers" group: computers in no other group.
pub const UNASSIGNED_COMPUTERS_GROUP: uuid::Uuid = uuid::Uuid::from_u128(0xb73ca6ed_5727_47f3_84de_015e03f6a88a);

/// An approval of an update for a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApprovalView {
    pub update_id: String,
    pub title: String,
    pub group_id: String,
    pub group: String,
    pub action: ApprovalAction,
    /// RFC 3339, UTC.
    pub deadline: Option<String>,
    pub approved_by: String,
    pub approved_at: String,
    /// Who accepted the license terms, for an approval that needed them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_accepted_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_accepted_at: Option<String>,
}

/// Query of `GET /approvals` and `DELETE /approvals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, utoipa::IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct ApprovalQuery {
    /// Update id.
    pub update: Option<String>,
    /// Group name or id.
    pub group: Option<String>,
}

/// Answer of `POST /updates/{id}/decline` and `/undecline`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeclineView {
    pub update_id: String,
    pub title: String,
    /// The state now.
    pub declined: bool,
    /// False when the update already was in that state.
    pub changed: bool,
    pub declined_by: Option<String>,
    pub declined_at: Option<String>,
    /// Groups whose approvals the decline removed.
    pub removed_approvals: Vec<String>,
}

/// Where a computer's group memberships come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TargetingMode {
    /// Administrators assign computers to groups (`sluice computers move`).
    #[default]
    Server,
    /// Computers name their groups themselves (the `TargetGroup` policy, sent as
    /// TargetGroupName in GetAuthorizationCookie).
    Client,
}

impl TargetingMode {
    /// The spelling used in settings, the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetingMode::Server => "server",
            TargetingMode::Client => "client",
        }
    }

    pub fn parse(s: &str) -> Option<TargetingMode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "server" => Some(TargetingMode::Server),
            "client" => Some(TargetingMode::Client),
            _ => None,
        }
    }
}

/// `GET/PUT /settings/targeting`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TargetingSettings {
    pub mode: TargetingMode,
}

/// Query of `GET /status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, utoipa::IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// Update id.
    pub update: Option<String>,
    /// Computer id.
    pub computer: Option<String>,
    /// Group name or id: its direct members.
    pub group: Option<String>,
}

/// Reported states of one update across the computers in scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UpdateStatusRow {
    pub update_id: String,
    pub title: String,
    pub counts: StatusCounts,
    /// Computers in scope that have not reported on the update.
    pub no_status: i64,
}

/// Reported states of the updates in scope on one computer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ComputerStatusRow {
    pub computer_id: String,
    pub dns_name: Option<String>,
    pub last_reported_status_time: Option<String>,
    pub counts: StatusCounts,
}

/// One reported state (listed when the scope is one update or one computer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusEntry {
    pub computer_id: String,
    pub update_id: String,
    pub title: String,
    pub revision_number: i32,
    pub state: String,
    pub last_event_time: String,
}

/// `GET /status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusReport {
    pub update: Option<String>,
    pub computer: Option<String>,
    pub group: Option<String>,
    pub computers_in_scope: i64,
    pub updates: Vec<UpdateStatusRow>,
    pub computers: Vec<ComputerStatusRow>,
    pub entries: Vec<StatusEntry>,
}
