//! Sync settings: validating, loading and saving the store's settings document.

use sluice_store::{Store, StoreError, settings};
use uuid::Uuid;

use crate::SyncError;

/// The settings document and its parts are the store's types (`sluice_store::settings`
/// declares every setting); validating, loading and saving them is this crate's job.
pub use sluice_store::{MICROSOFT_UPDATE, Schedule, StorageMode, SyncMode, SyncSettings};

/// What this crate adds to the stored [`SyncSettings`]: validation, and loading and saving
/// through the settings registry.
pub trait SyncSettingsExt: Sized {
    /// Checks values a sync would otherwise trip over much later.
    fn validate(&self) -> Result<(), SyncError>;
    /// True when the upstream is Microsoft Update, whose products and classifications the
    /// administrator must choose; any other upstream is a WSUS or Sluice server whose own
    /// selection a downstream inherits.
    fn is_microsoft_update(&self) -> bool;
    /// The stored settings, or the defaults before any were saved.
    fn load(store: &Store) -> impl Future<Output = Result<Self, SyncError>> + Send;
    /// Validates and stores the settings (with the derived `storage-mode`, in one transaction).
    fn save(&self, store: &Store) -> impl Future<Output = Result<(), SyncError>> + Send;
}

impl SyncSettingsExt for SyncSettings {
    fn validate(&self) -> Result<(), SyncError> {
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

    fn is_microsoft_update(&self) -> bool {
        is_microsoft_update(&self.upstream)
    }

    async fn load(store: &Store) -> Result<SyncSettings, SyncError> {
        match store.setting(settings::SYNC_SETTINGS).await {
            Ok(s) => Ok(s.unwrap_or_default()),
            Err(StoreError::Corrupt(e)) => Err(SyncError::Settings(format!("stored sync settings are unreadable: {e}"))),
            Err(e) => Err(e.into()),
        }
    }

    async fn save(&self, store: &Store) -> Result<(), SyncError> {
        self.validate()?;
        store.save_sync_settings(self).await?;
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
    Ok(store.setting(settings::STORAGE_MODE).await?.unwrap_or(StorageMode::Approved))
}

/// This server's identity as a downstream server, its `accountGuid` (stable across runs).
pub async fn server_id(store: &Store) -> Result<Uuid, SyncError> {
    Ok(store.setting_or_create(settings::DOWNSTREAM_ACCOUNT_ID, Uuid::new_v4).await?)
}
