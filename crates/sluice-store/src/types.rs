//! The store's plain records. They know nothing of XML or HTTP.

use time::OffsetDateTime;
use uuid::Uuid;

/// Declares a closed set of values stored as TEXT, with its stored spelling.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses the stored spelling (exact match).
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// The kind of update a revision describes.
    #[derive(Default)]
    UpdateType {
        /// An ordinary software update.
        #[default]
        Software => "Software",
        /// A driver update.
        Driver => "Driver",
        /// A detectoid (applicability rule only, never installed).
        Detectoid => "Detectoid",
        /// A category (company, product family, product, classification…).
        Category => "Category",
    }
);

text_enum!(
    /// Which XML fragment of a revision a blob holds.
    FragmentKind {
        /// The core fragment (applicability rules, sent in SyncUpdates).
        Core => "core",
        /// The extended fragment (files, handler data).
        Extended => "extended",
        /// A localized-properties fragment (one per language).
        Localized => "localized",
        /// A EULA text (one per language).
        Eula => "eula",
    }
);

text_enum!(
    /// How a revision relates to another update.
    RelationshipKind {
        /// The target must be installed/applicable first.
        Prerequisite => "prerequisite",
        /// The target is bundled inside this revision.
        Bundled => "bundled",
        /// This revision supersedes the target.
        Superseded => "superseded",
    }
);

text_enum!(
    /// Download state of a content file.
    FileState {
        /// Not downloaded yet.
        Absent => "absent",
        /// A download is in progress.
        Downloading => "downloading",
        /// Stored and verified.
        Present => "present",
        /// The last download attempt failed.
        Failed => "failed",
    }
);

/// What an approval tells a computer group to do with an update: the admin API's type, stored
/// as its text spelling (`as_str` / `parse`).
pub use sluice_api::ApprovalAction;

/// An update's state on one computer, as last reported: the admin API's type, stored as its
/// text spelling (`as_str` / `parse`).
pub use sluice_api::ReportedState as InstallState;

text_enum!(
    /// Outcome of a synchronisation run.
    SyncResult {
        /// Still running (or the process died before finishing it).
        Running => "running",
        /// Completed.
        Succeeded => "succeeded",
        /// Stopped with an error.
        Failed => "failed",
        /// Stopped on request.
        Cancelled => "cancelled",
    }
);

text_enum!(
    /// Lifecycle state of a background job.
    JobState {
        /// Created, not started.
        Queued => "queued",
        /// In progress.
        Running => "running",
        /// Completed.
        Succeeded => "succeeded",
        /// Stopped with an error.
        Failed => "failed",
        /// Stopped on request.
        Cancelled => "cancelled",
    }
);

impl JobState {
    /// True for the states a job never leaves.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed | JobState::Cancelled
        )
    }
}

// ------------------------------------------------------------------ catalog

/// One XML fragment of a revision (input and output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// Which fragment.
    pub kind: FragmentKind,
    /// Language code for localized/EULA fragments, `""` otherwise.
    pub language: String,
    /// The fragment bytes, stored and returned unchanged.
    pub body: Vec<u8>,
}

/// Input form of a fragment.
pub type NewFragment = Fragment;

/// A content file referenced by a revision (input form).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewFile {
    /// SHA-1 as 40 hex digits (any case; stored lowercase).
    pub sha1: String,
    /// SHA-256 as 64 hex digits, when the metadata has one.
    pub sha256: Option<String>,
    /// File name as published.
    pub file_name: String,
    /// Size in bytes.
    pub size: i64,
    /// Last-modified time from the metadata.
    pub modified: Option<OffsetDateTime>,
    /// Patching type (e.g. `SelfContained`, `Express`).
    pub patching_type: Option<String>,
    /// Microsoft Update download URL.
    pub mu_url: Option<String>,
}

/// A content file as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    /// SHA-1, lowercase hex.
    pub sha1: String,
    /// SHA-256, lowercase hex.
    pub sha256: Option<String>,
    /// File name as published.
    pub file_name: String,
    /// Size in bytes.
    pub size: i64,
    /// Last-modified time from the metadata.
    pub modified: Option<OffsetDateTime>,
    /// Patching type.
    pub patching_type: Option<String>,
    /// Microsoft Update download URL.
    pub mu_url: Option<String>,
    /// Download state.
    pub state: FileState,
    /// When the row last changed.
    pub updated_at: OffsetDateTime,
}

/// A relationship from a revision to another update (input and output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relationship {
    /// Prerequisite, bundled or superseded.
    pub kind: RelationshipKind,
    /// AtLeastOne group index: targets sharing a group number are alternatives; each plain
    /// prerequisite gets its own group.
    pub group_no: i32,
    /// The related update.
    pub target_update_id: Uuid,
    /// The related revision, when the metadata pins one.
    pub target_revision_number: Option<i32>,
    /// True when the target is a category (product/classification prerequisite).
    pub is_category: bool,
}

/// Input form of a relationship.
pub type NewRelationship = Relationship;

/// Category data carried by a category revision (input form).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewCategory {
    /// Company, ProductFamily, Product, UpdateClassification…
    pub category_type: String,
    /// Display title.
    pub title: String,
    /// Parent category, if any.
    pub parent_update_id: Option<Uuid>,
}

/// A category as maintained from category revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// The category's update id.
    pub update_id: Uuid,
    /// The revision the row was last taken from.
    pub revision_number: i32,
    /// Company, ProductFamily, Product, UpdateClassification…
    pub category_type: String,
    /// Display title.
    pub title: String,
    /// Parent category, if any.
    pub parent_update_id: Option<Uuid>,
}

/// Everything needed to store one revision.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewRevision {
    /// The update's GUID.
    pub update_id: Uuid,
    /// The revision number within the update.
    pub revision_number: i32,
    /// Software, Driver, Detectoid or Category.
    pub update_type: UpdateType,
    /// Title (default language).
    pub title: String,
    /// Description (default language).
    pub description: Option<String>,
    /// KB article number, without the `KB` prefix.
    pub kb_article: Option<String>,
    /// MSRC severity.
    pub msrc_severity: Option<String>,
    /// MSRC bulletin number.
    pub msrc_number: Option<String>,
    /// Update id of the classification category.
    pub classification: Option<Uuid>,
    /// For category revisions: the category type.
    pub category_type: Option<String>,
    /// Publication state (e.g. `Published`, `Expired`).
    pub publication_state: String,
    /// Creation date from the metadata.
    pub creation_date: Option<OffsetDateTime>,
    /// Published by this server rather than synchronised.
    pub is_locally_published: bool,
    /// Leaf (installable) rather than a bundle-only container.
    pub is_leaf: bool,
    /// Bundle of other updates.
    pub is_bundle: bool,
    /// Can be approved on its own.
    pub explicitly_deployable: bool,
    /// The original update XML, deflate-compressed by the caller.
    pub xml_compressed: Vec<u8>,
    /// XML fragments.
    pub fragments: Vec<NewFragment>,
    /// Content files.
    pub files: Vec<NewFile>,
    /// Prerequisites, bundled updates, superseded updates (order is kept).
    pub relationships: Vec<NewRelationship>,
    /// Products and classifications this revision belongs to.
    pub categories: Vec<Uuid>,
    /// For category revisions: the category row to maintain.
    pub category: Option<NewCategory>,
    /// License terms and installation behaviour, derived from the document by the caller;
    /// `None` leaves them to be derived later (see [`crate::Store::revisions_without_license_facts`]).
    pub license: Option<LicenseFacts>,
}

/// What approving an update needs to know about its license terms and installation
/// behaviour, derived once from its document when it is stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LicenseFacts {
    /// The document's `EulaID` as written (trimmed).
    pub eula_id: Option<String>,
    /// The key acceptance of the license terms is recorded under: the `EulaID` when it is a
    /// GUID, else one derived from the EULA files. `None` with no license terms, or when the
    /// `EulaID` is no GUID and no EULA file comes with it (acceptance cannot be recorded).
    pub eula_key: Option<Uuid>,
    /// Each EULA file as `name (language)`, for telling an administrator what to review.
    pub eula_files: Vec<String>,
    /// The installation may ask for user input, so it cannot be given a deadline.
    pub needs_user_input: bool,
}

/// Result of inserting one revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsertOutcome {
    /// The server-local revision id.
    pub revision_id: i64,
    /// False when the revision already existed (nothing was changed).
    pub inserted: bool,
}

/// A stored revision (without its XML blob, see `Store::revision_xml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// The server-local revision id.
    pub id: i64,
    /// The update's GUID.
    pub update_id: Uuid,
    /// The revision number within the update.
    pub revision_number: i32,
    /// Software, Driver, Detectoid or Category.
    pub update_type: UpdateType,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// KB article number.
    pub kb_article: Option<String>,
    /// MSRC severity.
    pub msrc_severity: Option<String>,
    /// MSRC bulletin number.
    pub msrc_number: Option<String>,
    /// Update id of the classification category.
    pub classification: Option<Uuid>,
    /// For category revisions: the category type.
    pub category_type: Option<String>,
    /// Publication state.
    pub publication_state: String,
    /// Creation date from the metadata.
    pub creation_date: Option<OffsetDateTime>,
    /// Published by this server.
    pub is_locally_published: bool,
    /// Leaf revision.
    pub is_leaf: bool,
    /// Bundle.
    pub is_bundle: bool,
    /// Can be approved on its own.
    pub explicitly_deployable: bool,
    /// When this server stored it.
    pub imported_at: OffsetDateTime,
    /// License terms and installation behaviour; `None` until derived (revisions stored by an
    /// older version, before the server's startup derives them).
    pub license: Option<LicenseFacts>,
}

/// Identity of a stored revision, for building in-memory indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RevisionKey {
    /// The server-local revision id.
    pub id: i64,
    /// The update's GUID.
    pub update_id: Uuid,
    /// The revision number.
    pub revision_number: i32,
}

/// Filter for [`crate::Store::list_updates`]; `Default` lists everything but categories.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateFilter {
    /// Case-insensitive (ASCII) substring of title, description or KB number.
    pub text: Option<String>,
    /// Classification: category update id or title (case-insensitive).
    pub classification: Option<String>,
    /// Product: category update id or title; descendants of the category match too.
    pub product: Option<String>,
    /// KB number, with or without the `KB` prefix.
    pub kb: Option<String>,
    /// Only this update type.
    pub update_type: Option<UpdateType>,
    /// Include category revisions (excluded by default).
    pub include_categories: bool,
    /// MSRC severity (Critical, Important, Moderate, Low), case-insensitive.
    pub msrc_severity: Option<String>,
    /// Approval state.
    pub approval: Option<ApprovalState>,
    /// Only updates that another update supersedes (true) or that none does (false).
    pub superseded: Option<bool>,
    /// Only expired updates (true) or only unexpired ones (false).
    pub expired: Option<bool>,
    /// Needed (WSUS's sense) by at least this many computers.
    pub needed_min: Option<i64>,
    /// Failed on at least this many computers.
    pub failed_min: Option<i64>,
    /// Released (creation date) at or after this time.
    pub released_from: Option<OffsetDateTime>,
    /// Released before this time.
    pub released_before: Option<OffsetDateTime>,
    /// Order; `None`: newest release first, then title.
    pub sort: Option<UpdateSort>,
    /// Reverse the order of `sort`.
    pub descending: bool,
    /// At most this many rows (`None`: no limit).
    pub limit: Option<i64>,
    /// Skip this many rows.
    pub offset: i64,
}

/// An update's approval state, as [`UpdateFilter::approval`] selects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalState {
    /// Neither declined nor approved (install or uninstall) for any group.
    Unapproved,
    /// Approved (install or uninstall) for at least one group.
    Approved,
    /// Approved (install or uninstall) for this group itself.
    ApprovedFor(Uuid),
    /// Declined.
    Declined,
    /// Not declined.
    NotDeclined,
}

/// Orders of the update listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateSort {
    /// Release (creation) date, undated last.
    Release,
    /// Title.
    Title,
    /// KB number (numerically), updates without one last.
    Kb,
    /// Computers needing it.
    Needed,
    /// Computers it failed on.
    Failed,
}

/// One row of an update listing: the latest revision of an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateSummary {
    /// The server-local id of the latest revision.
    pub revision_id: i64,
    /// The update's GUID.
    pub update_id: Uuid,
    /// The latest revision number.
    pub revision_number: i32,
    /// Update type.
    pub update_type: UpdateType,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// KB article number.
    pub kb_article: Option<String>,
    /// MSRC severity.
    pub msrc_severity: Option<String>,
    /// Classification category id.
    pub classification: Option<Uuid>,
    /// Publication state.
    pub publication_state: String,
    /// Creation date.
    pub creation_date: Option<OffsetDateTime>,
    /// The update is declined.
    pub is_declined: bool,
    /// Computers needing it (WSUS's sense), as last reported.
    pub needed: i64,
    /// Computers it failed on.
    pub failed: i64,
    /// Computers it is installed on (pending reboot included).
    pub installed: i64,
}

// ------------------------------------------------------------------ computers and groups

/// Ids of the built-in "All Computers" and "Unassigned Computers" groups (WSUS's own).
pub use sluice_api::{ALL_COMPUTERS_GROUP, UNASSIGNED_COMPUTERS_GROUP};

/// A computer target group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputerGroup {
    /// Group id.
    pub id: Uuid,
    /// Name, unique case-insensitively.
    pub name: String,
    /// Parent group.
    pub parent_id: Option<Uuid>,
    /// Built-in groups cannot be deleted.
    pub built_in: bool,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// A client computer's self-description (input of `upsert_computer`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewComputer {
    /// The client's computer id.
    pub id: String,
    /// Fully qualified DNS name.
    pub dns_name: Option<String>,
    /// Last seen IP address.
    pub ip_address: Option<String>,
    /// OS description.
    pub os_description: Option<String>,
    /// OS major version.
    pub os_major: Option<i32>,
    /// OS minor version.
    pub os_minor: Option<i32>,
    /// OS build number.
    pub os_build: Option<i32>,
    /// OS revision (UBR).
    pub os_revision: Option<i32>,
    /// Service pack, as reported.
    pub os_service_pack: Option<String>,
    /// OS locale.
    pub locale: Option<String>,
    /// Hardware manufacturer.
    pub manufacturer: Option<String>,
    /// Hardware model.
    pub model: Option<String>,
    /// BIOS name.
    pub bios_name: Option<String>,
    /// BIOS version.
    pub bios_version: Option<String>,
    /// BIOS release date, as reported.
    pub bios_release_date: Option<String>,
    /// Windows Update Agent version.
    pub client_version: Option<String>,
    /// Anything else, as a JSON document (`"{}"` when empty).
    pub extra: String,
}

/// A stored computer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Computer {
    /// Everything the client described.
    pub info: NewComputer,
    /// Last SyncUpdates time.
    pub last_sync_time: Option<OffsetDateTime>,
    /// Last status report time.
    pub last_reported_status_time: Option<OffsetDateTime>,
    /// First registration time.
    pub registered_at: OffsetDateTime,
}

// ------------------------------------------------------------------ approvals

/// An approval of an update for a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// The approved update.
    pub update_id: Uuid,
    /// The target group.
    pub group_id: Uuid,
    /// Install, uninstall or not approved.
    pub action: ApprovalAction,
    /// Installation deadline.
    pub deadline: Option<OffsetDateTime>,
    /// Who approved.
    pub approved_by: String,
    /// When.
    pub approved_at: OffsetDateTime,
}

/// The latest removal of one group's approval of one update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRemoval {
    /// The update that was approved.
    pub update_id: Uuid,
    /// The group the approval was for.
    pub group_id: Uuid,
    /// When the approval was removed.
    pub removed_at: OffsetDateTime,
}

/// A declined update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declined {
    /// The declined update.
    pub update_id: Uuid,
    /// Who declined it.
    pub declined_by: String,
    /// When.
    pub declined_at: OffsetDateTime,
}

/// An administrator's approval, as [`crate::Store::approve`] writes it.
#[derive(Debug, Clone, Copy)]
pub struct ApprovalWrite<'a> {
    /// The update approved.
    pub update_id: Uuid,
    /// The group it is approved for.
    pub group_id: Uuid,
    /// Install, uninstall or not approved.
    pub action: ApprovalAction,
    /// When the installation (or removal) becomes mandatory.
    pub deadline: Option<OffsetDateTime>,
    /// Who approves.
    pub approved_by: &'a str,
    /// The license terms that must have been accepted first, if any.
    pub license: Option<LicenseGate<'a>>,
}

/// License terms an approval needs accepted.
#[derive(Debug, Clone, Copy)]
pub struct LicenseGate<'a> {
    /// The key the acceptance is recorded under ([`LicenseFacts::eula_key`]).
    pub eula_key: Uuid,
    /// Accept them now, as this user, unless already accepted; `None` only checks.
    pub accept_as: Option<&'a str>,
}

/// What [`crate::Store::approve`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApproveOutcome {
    /// The approval was set, with the acceptance its license terms have (who accepted
    /// them first, when).
    Approved {
        /// The approval as stored.
        approval: Approval,
        /// The acceptance of the license terms, when the approval needed one.
        license: Option<EulaAcceptance>,
    },
    /// Nothing was written: the update is declined.
    Declined,
    /// Nothing was written: the license terms were not accepted and the caller did not
    /// accept them.
    LicenseNotAccepted,
}

/// What [`crate::Store::approve_many`] did: all the approvals, or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkApproveOutcome {
    /// Every approval was set, in the order given, each with its license acceptance.
    Approved(Vec<(Approval, Option<EulaAcceptance>)>),
    /// Nothing was written: this update is declined.
    Declined(Uuid),
    /// Nothing was written: this update's license terms were not accepted.
    LicenseNotAccepted(Uuid),
}

/// An accepted EULA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EulaAcceptance {
    /// The EULA id.
    pub eula_id: Uuid,
    /// Who accepted it.
    pub accepted_by: String,
    /// When.
    pub accepted_at: OffsetDateTime,
}

// ------------------------------------------------------------------ status

/// The last reported state of one update on one computer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateStatus {
    /// The computer.
    pub computer_id: String,
    /// The update.
    pub update_id: Uuid,
    /// The revision the report was about.
    pub revision_number: i32,
    /// The state.
    pub state: InstallState,
    /// Time of the event that set the state.
    pub last_event_time: OffsetDateTime,
    /// Id of that event, if the client gave one.
    pub last_event_id: Option<String>,
}

/// Number of computers in each state for one update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatusSummary {
    /// Unknown.
    pub unknown: i64,
    /// Not applicable.
    pub not_applicable: i64,
    /// Applicable, not installed.
    pub not_installed: i64,
    /// Downloaded.
    pub downloaded: i64,
    /// Installed.
    pub installed: i64,
    /// Installed, reboot pending.
    pub installed_pending_reboot: i64,
    /// Failed.
    pub failed: i64,
}

impl StatusSummary {
    /// The count for one state.
    pub fn get(&self, state: InstallState) -> i64 {
        match state {
            InstallState::Unknown => self.unknown,
            InstallState::NotApplicable => self.not_applicable,
            InstallState::NotInstalled => self.not_installed,
            InstallState::Downloaded => self.downloaded,
            InstallState::Installed => self.installed,
            InstallState::InstalledPendingReboot => self.installed_pending_reboot,
            InstallState::Failed => self.failed,
        }
    }

    /// The counter of one state, to count into.
    pub fn slot(&mut self, state: InstallState) -> &mut i64 {
        match state {
            InstallState::Unknown => &mut self.unknown,
            InstallState::NotApplicable => &mut self.not_applicable,
            InstallState::NotInstalled => &mut self.not_installed,
            InstallState::Downloaded => &mut self.downloaded,
            InstallState::Installed => &mut self.installed,
            InstallState::InstalledPendingReboot => &mut self.installed_pending_reboot,
            InstallState::Failed => &mut self.failed,
        }
    }

    /// All computers that reported on the update.
    pub fn total(&self) -> i64 {
        InstallState::ALL.iter().map(|s| self.get(*s)).sum()
    }
}

// ------------------------------------------------------------------ sync and jobs

/// One synchronisation run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRecord {
    /// Run id.
    pub id: i64,
    /// Start time.
    pub started_at: OffsetDateTime,
    /// End time, once finished.
    pub finished_at: Option<OffsetDateTime>,
    /// Outcome.
    pub result: SyncResult,
    /// Revisions new to this server.
    pub new_revisions: i64,
    /// Updates that got a new revision.
    pub revised: i64,
    /// Updates that expired.
    pub expired: i64,
    /// Error text for failed runs.
    pub error: Option<String>,
    /// The upstream server synchronised from.
    pub upstream: String,
}

/// How a synchronisation run ended (input of `finish_sync`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncFinish {
    /// Succeeded, failed or cancelled.
    pub result: SyncResult,
    /// Revisions new to this server.
    pub new_revisions: i64,
    /// Updates that got a new revision.
    pub revised: i64,
    /// Updates that expired.
    pub expired: i64,
    /// Error text.
    pub error: Option<String>,
}

/// A background job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Job id.
    pub id: Uuid,
    /// What the job does (e.g. `sync`, `download`).
    pub kind: String,
    /// Lifecycle state.
    pub state: JobState,
    /// Units done.
    pub progress_done: i64,
    /// Units in total (0 when unknown).
    pub progress_total: i64,
    /// Job parameters as JSON.
    pub payload: String,
    /// Error text for failed jobs.
    pub error: Option<String>,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

// ------------------------------------------------------------------ admin identity and audit

/// A console/API user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Login name.
    pub name: String,
    /// PHC password hash, produced by the caller.
    pub password_hash: String,
    /// Role name.
    pub role: String,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// A disabled user cannot log in and its tokens do not authenticate.
    pub disabled: bool,
}

/// An API token (its secret is never stored, only its SHA-256).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Token id.
    pub id: i64,
    /// Owner.
    pub user_name: String,
    /// Free text.
    pub description: String,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last successful use (recorded at most once a minute).
    pub last_used_at: Option<OffsetDateTime>,
    /// Revoked tokens never authenticate.
    pub revoked: bool,
    /// After this time the token no longer authenticates; `None`: never expires.
    pub expires_at: Option<OffsetDateTime>,
    /// [`TOKEN_KIND_API`] or [`TOKEN_KIND_SESSION`].
    pub kind: String,
}

/// A token made on request (CLI, bootstrap).
pub const TOKEN_KIND_API: &str = "api";
/// A token made by a console login.
pub const TOKEN_KIND_SESSION: &str = "session";

/// A token to store: the SHA-256 (hex) of its secret, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken<'a> {
    /// Owner.
    pub user_name: &'a str,
    /// SHA-256 of the secret, hex.
    pub token_sha256: &'a str,
    /// Free text (the label).
    pub description: &'a str,
    /// Expiry, if any.
    pub expires_at: Option<OffsetDateTime>,
    /// [`TOKEN_KIND_API`] or [`TOKEN_KIND_SESSION`].
    pub kind: &'a str,
}

/// What to change about a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChange {
    /// New role.
    pub role: Option<String>,
    /// Disable (true) or enable (false).
    pub disabled: Option<bool>,
    /// New PHC password hash.
    pub password_hash: Option<String>,
}

/// Who a valid token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    /// Token id.
    pub token_id: i64,
    /// Owner's name.
    pub user_name: String,
    /// Owner's role.
    pub role: String,
}

/// An audit entry to append.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewAuditEntry {
    /// Who acted.
    pub actor: String,
    /// What was done (e.g. `approve`).
    pub action: String,
    /// What it was done to.
    pub target: String,
    /// Details (free text or JSON).
    pub detail: String,
    /// Client address, when known.
    pub source_address: Option<String>,
}

/// A stored audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Entry id (increasing in append order).
    pub id: i64,
    /// Time of the append.
    pub at: OffsetDateTime,
    /// Who acted.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// What it was done to.
    pub target: String,
    /// Details.
    pub detail: String,
    /// Client address.
    pub source_address: Option<String>,
}
