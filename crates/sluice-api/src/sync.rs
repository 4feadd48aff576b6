//! Upstream synchronisation: `/sync/settings`, `/sync/start`, `/sync/status`,
//! `/sync/history`, `/sync/products`.

use serde::{Deserialize, Serialize};

/// Microsoft Update's server-sync root, the default upstream.
pub const MICROSOFT_UPDATE: &str = "https://sws.update.microsoft.com";

/// `GET/PUT /sync/settings`. Omitted fields take their defaults on `PUT`. The answer lists
/// products and classifications by id; a `PUT` may name them by title instead, which the
/// server resolves against the categories it has synchronised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SyncSettings {
    /// Root URL of the upstream (`https://sws.update.microsoft.com`, `http://wsus:8530`).
    pub upstream: String,
    pub mode: SyncMode,
    /// Where clients get update files from.
    pub storage: StorageMode,
    /// Product (and product family) category ids, or titles on `PUT`.
    pub products: Vec<String>,
    /// Classification ids, or titles on `PUT`.
    pub classifications: Vec<String>,
    /// Language codes (`en`, `de`, …); empty = all.
    pub languages: Vec<String>,
    /// Automatic syncs; `None` = manual only.
    pub schedule: Option<Schedule>,
    /// HTTP proxy URL for upstream and content traffic.
    pub proxy: Option<String>,
    /// PEM certificates trusted, besides the system's roots, for an `https` upstream.
    pub upstream_ca: Option<String>,
    /// Seconds to establish a connection.
    pub connect_timeout_secs: u64,
    /// Seconds without progress on one request before it is abandoned.
    pub read_timeout_secs: u64,
    /// Simultaneous file downloads.
    pub download_concurrency: usize,
}

impl Default for SyncSettings {
    /// The settings of a server that never saved any (the server checks that these equal its
    /// own defaults).
    fn default() -> Self {
        SyncSettings {
            upstream: MICROSOFT_UPDATE.to_string(),
            mode: SyncMode::Autonomous,
            storage: StorageMode::Approved,
            products: Vec::new(),
            classifications: Vec::new(),
            languages: vec!["en".to_string()],
            schedule: None,
            proxy: None,
            upstream_ca: None,
            connect_timeout_secs: 30,
            read_timeout_secs: 300,
            download_concurrency: 4,
        }
    }
}

/// `autonomous` (own approvals) or `replica` (approvals from the upstream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    Autonomous,
    Replica,
}

impl SyncMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncMode::Autonomous => "autonomous",
            SyncMode::Replica => "replica",
        }
    }
}

/// Content storage mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StorageMode {
    /// Metadata only; clients download from the files' Microsoft URLs.
    None,
    /// Every file of every synced update is downloaded during the sync.
    All,
    /// Files are downloaded once their update is approved.
    Approved,
}

impl StorageMode {
    /// The name stored and shown (`none`, `all`, `approved`).
    pub fn as_str(self) -> &'static str {
        match self {
            StorageMode::None => "none",
            StorageMode::All => "all",
            StorageMode::Approved => "approved",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s names, in any case.
    pub fn parse(s: &str) -> Option<StorageMode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Some(StorageMode::None),
            "all" => Some(StorageMode::All),
            "approved" => Some(StorageMode::Approved),
            _ => None,
        }
    }
}

/// Daily schedule: the first sync at `first_sync` (UTC, `HH:MM`), then `per_day` syncs spread
/// evenly over the day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// `HH:MM`, UTC.
    pub first_sync: String,
    /// Syncs per day, 1 to 24.
    pub per_day: u32,
}

impl Schedule {
    /// Minutes after midnight of `first_sync`; `None` when it is not a time of day.
    pub fn first_minute(&self) -> Option<u32> {
        let (h, m) = self.first_sync.trim().split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    }
}

/// `GET /sync/status`: settings, the run in progress, the last finished run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SyncStatus {
    pub settings: SyncSettings,
    /// The products and classifications the next sync asks for, by name.
    pub effective: EffectiveSelection,
    pub running: Option<JobView>,
    pub progress: Option<LiveProgress>,
    pub last: Option<SyncView>,
}

/// A job (`POST /sync/start` answers with the sync job queued or running).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobView {
    pub id: String,
    /// queued | running | succeeded | failed | cancelled
    pub state: String,
    pub done: i64,
    pub total: i64,
    pub error: Option<String>,
}

/// Progress of the run in the server's process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LiveProgress {
    pub job_id: Option<String>,
    pub sync_id: i64,
    pub phase: String,
    pub done: i64,
    pub total: i64,
}

/// A sync history entry (`GET /sync/history`, newest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SyncView {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// running | succeeded | failed | cancelled
    pub result: String,
    pub new_revisions: i64,
    pub revised: i64,
    pub expired: i64,
    pub error: Option<String>,
    pub upstream: String,
}

/// Query of `GET /sync/history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, utoipa::IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct SyncHistoryQuery {
    /// Number of runs [default: 20, at most 1000].
    pub limit: Option<i64>,
}

/// Product or classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CategoryKind {
    Product,
    Classification,
}

impl CategoryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CategoryKind::Product => "product",
            CategoryKind::Classification => "classification",
        }
    }
}

/// A category as `GET /sync/products` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KnownCategory {
    pub id: String,
    /// `None` for an id in the settings that no synchronised category revision carries (yet).
    pub name: Option<String>,
    pub kind: CategoryKind,
    /// Whether the next sync asks for it (inherited selections select everything).
    pub selected: bool,
}

/// One list of the effective selection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EffectiveList {
    /// True when the list is the upstream's, not the administrator's.
    pub from_upstream: bool,
    /// The ids asked for with their names; when inherited, the categories of that kind the
    /// upstream sent so far.
    pub items: Vec<NamedCategory>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NamedCategory {
    pub id: String,
    pub name: Option<String>,
}

/// The selection the next sync uses, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EffectiveSelection {
    pub products: EffectiveList,
    pub classifications: EffectiveList,
}
