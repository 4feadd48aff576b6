//! Self-maintenance (`/cleanup`: WSUS's Server Cleanup Wizard, scheduled) and e-mail
//! notifications (`/notify`).

use serde::{Deserialize, Serialize};

// ------------------------------------------------------------------ cleanup

/// What the scheduled cleanup does and when (`GET /cleanup/settings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CleanupSettings {
    /// Whether the daily run happens (a run on demand always can).
    pub enabled: bool,
    /// `HH:MM`, UTC: when the daily run starts.
    pub schedule: String,
    /// A superseded update is declined only once it has been superseded this many days.
    pub superseded_days: i64,
    /// Computers that have not contacted the server for this many days are removed.
    pub stale_computer_days: i64,
}

impl Default for CleanupSettings {
    /// WSUS's thresholds (30 days for both), at a quiet hour.
    fn default() -> Self {
        CleanupSettings { enabled: true, schedule: "03:00".into(), superseded_days: 30, stale_computer_days: 30 }
    }
}

/// `PUT /cleanup/settings`: the fields given replace the stored ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CleanupSettingsChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_computer_days: Option<i64>,
}

/// `POST /cleanup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CleanupRequest {
    /// Report what would change and change nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// Query of `GET /cleanup/history`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, utoipa::IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CleanupHistoryQuery {
    /// At most this many runs [default: 50, at most 1,000].
    pub limit: Option<i64>,
}

/// One recorded cleanup run (`GET /cleanup/history`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CleanupRunView {
    pub id: i64,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// `None` while it runs (or when the server stopped during it).
    pub finished_at: Option<String>,
    pub dry_run: bool,
    /// The user who asked for it, or `scheduler`.
    pub requested_by: String,
    pub superseded_declined: i64,
    pub expired_declined: i64,
    pub files_deleted: i64,
    pub bytes_freed: i64,
    pub computers_removed: i64,
    /// Whether the database was compacted.
    pub compacted: bool,
    /// What failed, when a step did.
    pub error: Option<String>,
}

/// An update a cleanup declined (or would decline).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CleanupUpdate {
    pub update_id: String,
    pub title: String,
}

/// A content file a cleanup deleted (or would delete).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CleanupFile {
    pub sha1: String,
    pub file_name: String,
    pub size: i64,
}

/// A computer a cleanup removed (or would remove).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CleanupComputer {
    pub id: String,
    pub name: Option<String>,
    /// Its last contact (RFC 3339), or its registration when it never synced.
    pub last_contact: String,
}

/// Answer of `POST /cleanup`: the recorded run and what it changed, one list per step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CleanupReport {
    pub run: CleanupRunView,
    pub superseded: Vec<CleanupUpdate>,
    pub expired: Vec<CleanupUpdate>,
    pub files: Vec<CleanupFile>,
    pub computers: Vec<CleanupComputer>,
}

// ------------------------------------------------------------------ notifications

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP (a relay on the local network).
    None,
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl SmtpTls {
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpTls::None => "none",
            SmtpTls::Starttls => "starttls",
            SmtpTls::Tls => "tls",
        }
    }

    pub fn parse(s: &str) -> Option<SmtpTls> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Some(SmtpTls::None),
            "starttls" => Some(SmtpTls::Starttls),
            "tls" => Some(SmtpTls::Tls),
            _ => None,
        }
    }
}

/// How often the status report goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportFrequency {
    Daily,
    Weekly,
    #[default]
    Off,
}

impl ReportFrequency {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportFrequency::Daily => "daily",
            ReportFrequency::Weekly => "weekly",
            ReportFrequency::Off => "off",
        }
    }

    pub fn parse(s: &str) -> Option<ReportFrequency> {
        match s.trim().to_ascii_lowercase().as_str() {
            "daily" => Some(ReportFrequency::Daily),
            "weekly" => Some(ReportFrequency::Weekly),
            "off" => Some(ReportFrequency::Off),
            _ => None,
        }
    }
}

/// `PUT /notify/settings`: replaces the e-mail settings whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifySettingsChange {
    /// `HOST:PORT` of the SMTP server.
    pub smtp: String,
    #[serde(default)]
    pub tls: SmtpTls,
    /// SMTP user for authentication; none = no authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The user's password. Omitted with the same user as before: the stored one is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    pub from: String,
    pub to: Vec<String>,
    /// Mail the new updates each sync brought.
    #[serde(default = "yes")]
    pub new_updates: bool,
    #[serde(default)]
    pub status_report: ReportFrequency,
}

fn yes() -> bool {
    true
}

/// `GET /notify/settings`: the settings (never the password) and how sending went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NotifyView {
    /// False until `PUT /notify/settings`; nothing is sent then.
    pub configured: bool,
    pub smtp: Option<String>,
    pub tls: SmtpTls,
    pub user: Option<String>,
    /// Whether a password is stored (it is never shown).
    pub password_set: bool,
    pub from: Option<String>,
    pub to: Vec<String>,
    pub new_updates: bool,
    pub status_report: ReportFrequency,
    /// RFC 3339 times of the last message sent, the last status report, the last failure.
    pub last_sent_at: Option<String>,
    pub last_status_report_at: Option<String>,
    pub last_error_at: Option<String>,
    /// Why the last message could not be sent (cleared by the next one that is).
    pub last_error: Option<String>,
}

/// Answer of `POST /notify/test`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NotifyTestResult {
    pub sent: bool,
    pub to: Vec<String>,
}
