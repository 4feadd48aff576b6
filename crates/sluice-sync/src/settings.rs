//! Sync settings: one JSON document in the settings table, plus the small derived keys other
//! crates read without depending on this one.

use serde::{Deserialize, Serialize};
use sluice_store::Store;
use uuid::Uuid;

use crate::SyncError;

/// Settings key of the JSON document.
pub const SETTINGS_KEY: &str = "sync-settings";
/// Plain-text copy of [`SyncSettings::storage`] (`none`, `all`, `approved`) so the client
/// services can decide between local content URLs and `mu_url` with one settings read.
pub const STORAGE_MODE_KEY: &str = "storage-mode";
/// Anchor of the last successful configuration pass (categories, classifications, detectoids).
pub const CONFIG_ANCHOR_KEY: &str = "sync-anchor-config";
/// Anchor of the last successful updates pass.
pub const UPDATES_ANCHOR_KEY: &str = "sync-anchor-updates";
/// The product and classification selection the updates anchor was obtained with: ids added
/// since then must be asked for without `Delta`, or their older revisions would never arrive.
pub const UPDATES_FILTER_KEY: &str = "sync-anchor-updates-filter";
/// GUID this server presents as `accountGuid`, created on first use.
pub const SERVER_ID_KEY: &str = "sync-server-id";

/// Microsoft Update's server-sync root.
pub const MICROSOFT_UPDATE: &str = "https://sws.update.microsoft.com";

/// The product and classification selection follows WSUS: it is the administrator's choice
/// only on a server that syncs from Microsoft Update, where an empty list syncs nothing but
/// categories (Microsoft Update answers a filter with an empty list with no updates). A
/// downstream server of a WSUS or Sluice upstream takes what its upstream offers: an empty list
/// there means every product (or classification) the upstream has; see [`crate::selection`].
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

/// Autonomous or replica downstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    Autonomous,
    Replica,
}

/// Content storage mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    pub fn as_str(self) -> &'static str {
        match self {
            StorageMode::None => "none",
            StorageMode::All => "all",
            StorageMode::Approved => "approved",
        }
    }

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    pub first_sync: String,
    pub per_day: u32,
}

impl Schedule {
    /// Minutes after midnight of `first_sync`.
    pub fn first_minute(&self) -> Option<u32> {
        let (h, m) = self.first_sync.trim().split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    }

    /// Seconds from `now` (UTC) to the next scheduled start.
    pub fn seconds_until_next(&self, now: time::OffsetDateTime) -> Option<u64> {
        let first = self.first_minute()? as u64 * 60;
        let per_day = self.per_day.clamp(1, 24 * 60) as u64;
        let step = 86_400 / per_day;
        let now_s = now.time().hour() as u64 * 3600 + now.time().minute() as u64 * 60 + now.time().second() as u64;
        (0..=per_day)
            .map(|i| (first + i * step) % 86_400)
            .map(|t| if t > now_s { t - now_s } else { t + 86_400 - now_s })
            .min()
    }
}

impl SyncSettings {
    /// Checks values a sync would otherwise trip over much later.
    pub fn validate(&self) -> Result<(), SyncError> {
        let url = reqwest::Url::parse(&self.upstream)
            .map_err(|e| SyncError::Settings(format!("upstream {:?} is not a URL: {e}", self.upstream)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SyncError::Settings(format!("upstream must be http or https, not {}", url.scheme())));
        }
        if let Some(p) = &self.proxy {
            reqwest::Proxy::all(p).map_err(|e| SyncError::Settings(format!("proxy {p:?}: {e}")))?;
        }
        if let Some(pem) = &self.upstream_ca {
            upstream_ca_certificates(pem)?;
        }
        if let Some(s) = &self.schedule {
            if s.first_minute().is_none() {
                return Err(SyncError::Settings(format!("schedule time {:?} is not HH:MM", s.first_sync)));
            }
            if s.per_day == 0 || s.per_day > 24 {
                return Err(SyncError::Settings("syncs per day must be 1 to 24".into()));
            }
        }
        if self.connect_timeout_secs == 0 || self.read_timeout_secs == 0 {
            return Err(SyncError::Settings("timeouts must be at least one second".into()));
        }
        if self.download_concurrency == 0 || self.download_concurrency > 64 {
            return Err(SyncError::Settings("download concurrency must be 1 to 64".into()));
        }
        Ok(())
    }

    /// True when the upstream is Microsoft Update, whose products and classifications the
    /// administrator must choose; any other upstream is a WSUS or Sluice server whose own
    /// selection a downstream inherits.
    pub fn is_microsoft_update(&self) -> bool {
        is_microsoft_update(&self.upstream)
    }

    /// The stored settings, or the defaults before any were saved.
    pub async fn load(store: &Store) -> Result<SyncSettings, SyncError> {
        match store.get_setting(SETTINGS_KEY).await? {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| SyncError::Settings(format!("stored sync settings are unreadable: {e}"))),
            None => Ok(SyncSettings::default()),
        }
    }

    /// Validates and stores the settings and the derived `storage-mode` key.
    pub async fn save(&self, store: &Store) -> Result<(), SyncError> {
        self.validate()?;
        let json = serde_json::to_string(self).map_err(|e| SyncError::Internal(e.to_string()))?;
        store.set_setting(SETTINGS_KEY, &json).await?;
        store.set_setting(STORAGE_MODE_KEY, self.storage.as_str()).await?;
        Ok(())
    }
}

/// Whether `url` is Microsoft Update's server-sync host.
pub fn is_microsoft_update(url: &str) -> bool {
    reqwest::Url::parse(url).ok().and_then(|u| u.host_str().map(|h| h.ends_with(".update.microsoft.com"))).unwrap_or(false)
}

/// The certificates of the `upstream_ca` setting, each checked to be a certificate a trust
/// store accepts: a file that is not one fails here, when it is configured, rather than as a
/// handshake failure at the next sync.
pub fn upstream_ca_certificates(pem: &str) -> Result<Vec<reqwest::Certificate>, SyncError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let bad = |why: String| SyncError::Settings(format!("upstream_ca (--upstream-ca): {why}"));
    let mut roots = rustls::RootCertStore::empty();
    let mut certs = Vec::new();
    for der in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let der = der.map_err(|e| bad(format!("unreadable PEM: {e}")))?;
        roots.add(der.clone()).map_err(|e| bad(format!("not a usable CA certificate: {e}")))?;
        certs.push(reqwest::Certificate::from_der(&der).map_err(|e| bad(e.to_string()))?);
    }
    if certs.is_empty() {
        return Err(bad("no PEM certificate (-----BEGIN CERTIFICATE-----) found".into()));
    }
    Ok(certs)
}

/// The storage mode the client services should honour: with `none`, hand out each file's
/// `mu_url` instead of a local `/Content/…` URL. Reads one setting; absent means `approved`.
pub async fn storage_mode(store: &Store) -> Result<StorageMode, SyncError> {
    Ok(store
        .get_setting(STORAGE_MODE_KEY)
        .await?
        .and_then(|s| StorageMode::parse(&s))
        .unwrap_or(StorageMode::Approved))
}

/// This server's downstream identity (stable across runs).
pub async fn server_id(store: &Store) -> Result<Uuid, SyncError> {
    if let Some(id) = store.get_setting(SERVER_ID_KEY).await?.and_then(|s| Uuid::parse_str(&s).ok()) {
        return Ok(id);
    }
    let id = Uuid::new_v4();
    store.set_setting(SERVER_ID_KEY, &id.to_string()).await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn schedule_next() {
        let s = Schedule { first_sync: "03:00".into(), per_day: 4 };
        // 03:00, 09:00, 15:00, 21:00
        assert_eq!(s.seconds_until_next(datetime!(2026-01-01 02:00 UTC)), Some(3600));
        assert_eq!(s.seconds_until_next(datetime!(2026-01-01 09:00 UTC)), Some(6 * 3600));
        assert_eq!(s.seconds_until_next(datetime!(2026-01-01 22:00 UTC)), Some(5 * 3600));
        assert_eq!(Schedule { first_sync: "25:00".into(), per_day: 1 }.first_minute(), None);
    }

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
