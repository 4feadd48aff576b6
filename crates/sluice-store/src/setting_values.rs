//! The types of the values kept in the settings table (see [`crate::settings`]) that are more
//! than a number, a string, a GUID or a time: the sync settings document and its parts, the
//! cookie key, the mirrored deployments, the last rollup's outcome.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Microsoft Update's server-sync root, the default upstream.
pub const MICROSOFT_UPDATE: &str = "https://sws.update.microsoft.com";

/// How this server synchronises from its upstream (`sluice sync configure`), kept as one JSON
/// document. `sluice-sync` validates it before it is saved and runs the syncs; the catalog
/// reads `mode` to refuse local approvals on a replica.
///
/// The product and classification selection follows WSUS: it is the administrator's choice
/// only on a server that syncs from Microsoft Update, where an empty list syncs nothing but
/// categories (Microsoft Update answers a filter with an empty list with no updates). A
/// downstream server of a WSUS or Sluice upstream takes what its upstream offers: an empty list
/// there means every product (or classification) the upstream has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncSettings {
    /// Root URL of the upstream (`https://sws.update.microsoft.com`, `http://wsus:8530`).
    pub upstream: String,
    /// `autonomous` (own approvals) or `replica` (approvals from the upstream).
    pub mode: SyncMode,
    /// Where clients get update files from.
    pub storage: StorageMode,
    /// Product (and product family) category ids.
    pub products: Vec<Uuid>,
    /// Classification ids.
    pub classifications: Vec<Uuid>,
    /// Language codes (`en`, `de`, …); empty = all.
    pub languages: Vec<String>,
    /// Automatic syncs; `None` = manual only.
    pub schedule: Option<Schedule>,
    /// HTTP proxy URL for upstream and content traffic.
    pub proxy: Option<String>,
    /// PEM certificates trusted, besides the system's roots, for an `https` upstream: the CA of
    /// an organisation's own WSUS certificates, or a self-signed upstream's certificate.
    pub upstream_ca: Option<String>,
    /// Seconds to establish a connection.
    pub connect_timeout_secs: u64,
    /// Seconds without progress on one request before it is abandoned.
    pub read_timeout_secs: u64,
    /// Simultaneous file downloads.
    pub download_concurrency: usize,
}

impl Default for SyncSettings {
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

/// The sync mode, storage mode and schedule are the admin API's types, stored as they are shown.
pub use sluice_api::sync::{Schedule, StorageMode, SyncMode};

/// The key that seals client and downstream-server cookies (XChaCha20-Poly1305), stored as hex.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CookieKey(pub [u8; 32]);

impl std::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A key in a log line would let its reader forge cookies.
        f.write_str("CookieKey(…)")
    }
}

/// The approvals a replica mirrored from its upstream's GetDeployments, by deployment GUID:
/// `(update id, group id)`, so that a later `DeadDeployments` entry can be resolved to the
/// approval it names.
pub type MirroredDeployments = BTreeMap<Uuid, (Uuid, Uuid)>;

/// The outcome of the last rollup to the upstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollupStatus {
    /// When it ran (`xs:dateTime` as the wire has it).
    pub at: String,
    /// Whether the upstream took it.
    pub ok: bool,
    /// Computers reported (when it succeeded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computers: Option<usize>,
    /// Update states reported (when it succeeded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statuses: Option<usize>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// WSUS's Options › Automatic Approvals › Advanced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutoApprovalOptions {
    /// A new revision of an approved update keeps the update's approvals; when off, the
    /// update's approvals are withdrawn when a new revision arrives, so the new revision is
    /// not offered until an administrator approves it again.
    pub approve_new_revisions: bool,
    /// Updates whose latest revision is expired are declined after each sync.
    pub decline_expired: bool,
}

impl Default for AutoApprovalOptions {
    fn default() -> Self {
        AutoApprovalOptions { approve_new_revisions: true, decline_expired: true }
    }
}

/// The cleanup settings are the admin API's type, stored as shown.
pub use sluice_api::CleanupSettings;

/// The e-mail settings (`sluice notify configure`), with the SMTP password, which the admin
/// API never shows.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyConfig {
    /// `HOST:PORT`.
    pub smtp: String,
    /// How the connection is secured.
    pub tls: sluice_api::SmtpTls,
    /// SMTP user; none = no authentication.
    pub user: Option<String>,
    /// The user's password.
    pub password: Option<String>,
    /// Sender address.
    pub from: String,
    /// Recipient addresses.
    pub to: Vec<String>,
    /// Mail the new updates of each sync.
    pub new_updates: bool,
    /// How often the status report goes out.
    pub status_report: sluice_api::ReportFrequency,
    /// When the status report was last switched on (RFC 3339): its first one is due a period
    /// later.
    pub report_enabled_at: Option<String>,
}

impl std::fmt::Debug for NotifyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password must not reach a log line.
        f.debug_struct("NotifyConfig")
            .field("smtp", &self.smtp)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

/// What the notifier has done: the last sync whose new updates were mailed, and the outcome of
/// the last messages (RFC 3339 times).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotifyState {
    /// The newest sync run whose new updates were considered (mailed, or had none).
    pub last_sync_id: Option<i64>,
    /// The last message sent.
    pub last_sent_at: Option<String>,
    /// The last status report sent.
    pub last_status_report_at: Option<String>,
    /// The last failure.
    pub last_error_at: Option<String>,
    /// Why it failed.
    pub last_error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_json_round_trip_and_defaults() {
        let s: SyncSettings = serde_json::from_str(r#"{"storage":"none","products":[]}"#).unwrap();
        assert_eq!(s.storage, StorageMode::None);
        assert_eq!(s.upstream, MICROSOFT_UPDATE);
        assert!(serde_json::from_str::<SyncSettings>(r#"{"storag":"none"}"#).is_err());
        let back: SyncSettings = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
