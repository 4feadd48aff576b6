//! Every setting the server keeps, declared once here with the type of its value; the typed
//! getters and setters of [`Store`]. The settings table holds text: each type says how its
//! values are written and read back ([`SettingValue`]); a value that does not read back is
//! reported as [`StoreError::Corrupt`] naming its key, never silently replaced.
//!
//! A new setting is one line in `registry!` below, with a value type that implements
//! [`SettingValue`]. The key strings are what existing databases hold: never change one
//! without a migration.
//!
//! Two server ids exist, for two roles a WSUS server plays under one id: which one is changed
//! decides who notices, so a server that had both keeps both.
//! - [`CLIENT_FACING_SERVER_ID`] is sealed into every cookie this server issues, to clients and
//!   to its downstream servers, and names the source of export packages. A new value makes
//!   every client go through `ServerChanged` recovery.
//! - [`DOWNSTREAM_ACCOUNT_ID`] is the `accountGuid` this server presents to its own upstream
//!   when it is a downstream server: the upstream lists it, and files its rollups, under this
//!   id. A new value makes the upstream list a second server and orphan the first.

use std::marker::PhantomData;

use sluice_api::TargetingMode;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::Store;
use crate::error::{Result, StoreError};
use crate::setting_values::*;

/// A setting: its key in the settings table and, as a type, what its value is.
pub struct Setting<T> {
    key: &'static str,
    value: PhantomData<fn() -> T>,
}

impl<T> Setting<T> {
    const fn new(key: &'static str) -> Self {
        Setting { key, value: PhantomData }
    }

    /// The key in the settings table.
    pub const fn key(&self) -> &'static str {
        self.key
    }
}

impl<T> Clone for Setting<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Setting<T> {}

impl<T> std::fmt::Debug for Setting<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Setting({})", self.key)
    }
}

// ---------------------------------------------------------------- the registry

/// Declares the settings and [`ALL_KEYS`].
macro_rules! registry {
    ($($(#[$doc:meta])* $name:ident: $t:ty = $key:literal;)*) => {
        $($(#[$doc])* pub const $name: Setting<$t> = Setting::new($key);)*
        /// Every key of the registry (the test that no two settings share one reads it).
        pub const ALL_KEYS: &[&str] = &[$($key),*];
    };
}

registry! {
    /// Moves on whenever groups, approvals, declines or the targeting mode change, so every
    /// process serving clients from this database knows to rebuild its targeting snapshot.
    /// Time-based and strictly increasing (see [`Store::bump_version`]); absent = 0.
    APPROVALS_VERSION: i64 = "approvals-version";
    /// Moves on whenever revisions are added (the scan index is rebuilt); absent = 0.
    CATALOG_VERSION: i64 = "catalog-version";
    /// Whether computers' groups are chosen on the server or by the clients' TargetGroup policy.
    TARGETING_MODE: TargetingMode = "targeting-mode";
    /// The configuration LastChange clients get from GetConfig and echo in GetCookie (UTC, whole
    /// milliseconds, RFC 3339); moves on with the targeting mode.
    CLIENT_CONFIG_LAST_CHANGE: OffsetDateTime = "client-config-last-change";
    /// The key sealing client and downstream-server cookies, created at first start.
    COOKIE_KEY: CookieKey = "client-cookie-key";
    /// The id this server seals into the cookies it issues and names as the source of export
    /// packages, created at first start (why it is not [`DOWNSTREAM_ACCOUNT_ID`]: module docs).
    CLIENT_FACING_SERVER_ID: Uuid = "server-id";
    /// The `accountGuid` this server presents to its upstream, created at its first sync (why it
    /// is not [`CLIENT_FACING_SERVER_ID`]: module docs).
    DOWNSTREAM_ACCOUNT_ID: Uuid = "sync-server-id";
    /// How this server synchronises from its upstream; absent until first saved.
    SYNC_SETTINGS: SyncSettings = "sync-settings";
    /// A copy of [`SyncSettings::storage`], written with it in one transaction
    /// ([`Store::save_sync_settings`]), so that building the clients' view costs one small read,
    /// not a JSON document; absent = `approved`.
    STORAGE_MODE: StorageMode = "storage-mode";
    /// Anchor of the last complete configuration pass (categories, classifications, detectoids).
    SYNC_ANCHOR_CONFIG: String = "sync-anchor-config";
    /// Anchor of the last complete updates pass.
    SYNC_ANCHOR_UPDATES: String = "sync-anchor-updates";
    /// The product and classification ids (comma-separated, or `*` for none asked) the updates
    /// anchor was obtained with: ids added since must be asked for without `Delta`.
    SYNC_ANCHOR_UPDATES_FILTER: String = "sync-anchor-updates-filter";
    /// Anchor of the last GetDeployments a replica mirrored completely.
    SYNC_ANCHOR_DEPLOYMENTS: String = "sync-anchor-deployments";
    /// The approvals a replica mirrored, by deployment GUID.
    MIRRORED_DEPLOYMENTS: MirroredDeployments = "sync-deployments";
    /// Counter of the rollups sent to the upstream (each computer status' `RollupNumber`).
    ROLLUP_NUMBER: i32 = "sync-rollup-number";
    /// The outcome of the last rollup to the upstream.
    ROLLUP_STATUS: RollupStatus = "sync-rollup-status";
    /// WSUS's two automatic options (approve new revisions of approved updates, decline expired
    /// updates); absent = WSUS's defaults, both on.
    AUTO_APPROVAL_OPTIONS: AutoApprovalOptions = "auto-approval-options";
    /// When and how the scheduled cleanup runs; absent = the defaults.
    CLEANUP_SETTINGS: CleanupSettings = "cleanup-settings";
    /// The SMTP server and what to mail; absent = no mail.
    NOTIFY_SETTINGS: NotifyConfig = "notify-settings";
    /// What the notifier has sent and its last failure.
    NOTIFY_STATE: NotifyState = "notify-state";
}

// ---------------------------------------------------------------- encodings

/// How a setting's value is written to the settings table and read back.
pub trait SettingValue: Sized {
    /// The stored text.
    fn encode(&self) -> Result<String>;
    /// The value of stored text; `None` when it is not one.
    fn decode(raw: &str) -> Option<Self>;
}

impl SettingValue for i64 {
    fn encode(&self) -> Result<String> {
        Ok(self.to_string())
    }
    fn decode(raw: &str) -> Option<Self> {
        raw.trim().parse().ok()
    }
}

impl SettingValue for i32 {
    fn encode(&self) -> Result<String> {
        Ok(self.to_string())
    }
    fn decode(raw: &str) -> Option<Self> {
        raw.trim().parse().ok()
    }
}

impl SettingValue for String {
    fn encode(&self) -> Result<String> {
        Ok(self.clone())
    }
    fn decode(raw: &str) -> Option<Self> {
        Some(raw.to_owned())
    }
}

impl SettingValue for Uuid {
    fn encode(&self) -> Result<String> {
        Ok(self.to_string())
    }
    fn decode(raw: &str) -> Option<Self> {
        Uuid::parse_str(raw.trim()).ok()
    }
}

impl SettingValue for OffsetDateTime {
    fn encode(&self) -> Result<String> {
        self.format(&Rfc3339).map_err(|e| StoreError::InvalidInput(format!("time {self}: {e}")))
    }
    fn decode(raw: &str) -> Option<Self> {
        OffsetDateTime::parse(raw.trim(), &Rfc3339).ok()
    }
}

impl SettingValue for TargetingMode {
    fn encode(&self) -> Result<String> {
        Ok(self.as_str().to_owned())
    }
    fn decode(raw: &str) -> Option<Self> {
        TargetingMode::parse(raw)
    }
}

impl SettingValue for StorageMode {
    fn encode(&self) -> Result<String> {
        Ok(self.as_str().to_owned())
    }
    fn decode(raw: &str) -> Option<Self> {
        StorageMode::parse(raw)
    }
}

impl SettingValue for CookieKey {
    fn encode(&self) -> Result<String> {
        Ok(self.0.iter().map(|b| format!("{b:02x}")).collect())
    }
    fn decode(raw: &str) -> Option<Self> {
        let raw = raw.trim().as_bytes();
        if raw.len() != 64 {
            return None;
        }
        let mut key = [0u8; 32];
        for (byte, pair) in key.iter_mut().zip(raw.chunks(2)) {
            *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
        }
        Some(CookieKey(key))
    }
}

/// JSON documents.
macro_rules! json_setting {
    ($t:ty) => {
        impl SettingValue for $t {
            fn encode(&self) -> Result<String> {
                serde_json::to_string(self).map_err(|e| StoreError::InvalidInput(e.to_string()))
            }
            fn decode(raw: &str) -> Option<Self> {
                serde_json::from_str(raw).ok()
            }
        }
    };
}
json_setting!(SyncSettings);
json_setting!(MirroredDeployments);
json_setting!(RollupStatus);
json_setting!(AutoApprovalOptions);
json_setting!(CleanupSettings);
json_setting!(NotifyConfig);
json_setting!(NotifyState);

// ---------------------------------------------------------------- typed access

pub(crate) const UPSERT: &str = "INSERT INTO settings (key, value) VALUES ($1, $2) \
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";

fn decoded<T: SettingValue>(s: Setting<T>, raw: Option<String>) -> Result<Option<T>> {
    raw.map(|raw| {
        // Not the value itself: it may be a key.
        T::decode(&raw).ok_or_else(|| StoreError::Corrupt(format!("setting {} holds an unreadable value", s.key)))
    })
    .transpose()
}

/// [`Store::bump_version`] inside the transaction `$tx` of an `in_tx!` body; evaluates to the
/// new value.
macro_rules! bump_in_tx {
    ($store:expr, $tx:ident, $setting:expr) => {{
        let s: $crate::settings::Setting<i64> = $setting;
        let current: Option<String> = sqlx::query_scalar($crate::settings::version_select($store.backend()))
            .bind(s.key())
            .fetch_optional(&mut *$tx)
            .await?;
        let next = $crate::settings::next_version(s, current)?;
        sqlx::query($crate::settings::UPSERT).bind(s.key()).bind(next.to_string()).execute(&mut *$tx).await?;
        next
    }};
}
pub(crate) use bump_in_tx;

pub(crate) fn version_select(backend: crate::Backend) -> &'static str {
    match backend {
        // Concurrent bumps queue on the row lock (SQLite's single writer already queues them).
        crate::Backend::Postgres => "SELECT value FROM settings WHERE key = $1 FOR UPDATE",
        crate::Backend::Sqlite => "SELECT value FROM settings WHERE key = $1",
    }
}

pub(crate) fn next_version(s: Setting<i64>, current: Option<String>) -> Result<i64> {
    let current = decoded(s, current)?.unwrap_or(0);
    let now = i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos()).unwrap_or(i64::MAX);
    Ok(now.max(current.saturating_add(1)))
}

impl Store {
    /// A setting's value; `None` when it was never set.
    pub async fn setting<T: SettingValue>(&self, s: Setting<T>) -> Result<Option<T>> {
        let raw = on_read!(self, db => {
            sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE key = $1")
                .bind(s.key)
                .fetch_optional(db)
                .await?
        });
        decoded(s, raw)
    }

    /// Sets a setting, replacing any previous value.
    pub async fn set<T: SettingValue>(&self, s: Setting<T>, value: &T) -> Result<()> {
        let text = value.encode()?;
        on_write!(self, db => {
            sqlx::query(UPSERT).bind(s.key).bind(&text).execute(db).await?;
        });
        Ok(())
    }

    /// Removes a setting; returns false if it was not set.
    pub async fn clear<T>(&self, s: Setting<T>) -> Result<bool> {
        on_write!(self, db => {
            Ok(sqlx::query("DELETE FROM settings WHERE key = $1")
                .bind(s.key)
                .execute(db)
                .await?
                .rows_affected() > 0)
        })
    }

    /// A setting's value, or, when it was never set, `create()`'s stored in its place. When
    /// two processes create one at the same time, both get the value stored first.
    pub async fn setting_or_create<T: SettingValue>(&self, s: Setting<T>, create: impl FnOnce() -> T) -> Result<T> {
        if let Some(v) = self.setting(s).await? {
            return Ok(v);
        }
        let text = create().encode()?;
        // Filling in a missing value is not the change a pending audit entry describes (the
        // targeting change reads its LastChange this way first), so it does not take the entry.
        let raw = crate::audit_scope::unaudited(async { Ok::<_, StoreError>(in_tx!(self, tx => {
            sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                .bind(s.key)
                .bind(&text)
                .execute(&mut *tx)
                .await?;
            sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE key = $1")
                .bind(s.key)
                .fetch_optional(&mut *tx)
                .await?
        })) })
        .await?;
        decoded(s, raw)?.ok_or_else(|| StoreError::NotFound(format!("setting {}", s.key)))
    }

    /// Moves a version setting ([`APPROVALS_VERSION`], [`CATALOG_VERSION`]) on and returns
    /// its new value: the current time in nanoseconds, or one more than the stored value if
    /// that is not less. Two servers sharing a database thus cannot write the same value for
    /// different changes in practice, and a reader comparing for equality notices every change.
    pub async fn bump_version(&self, s: Setting<i64>) -> Result<i64> {
        Ok(in_tx!(self, tx => bump_in_tx!(self, tx, s)))
    }

    /// Saves the sync settings and, in the same transaction, their [`STORAGE_MODE`] copy.
    /// The caller validates them first (`sluice-sync`).
    pub async fn save_sync_settings(&self, settings: &SyncSettings) -> Result<()> {
        let (doc, mode) = (settings.encode()?, settings.storage.encode()?);
        in_tx!(self, tx => {
            sqlx::query(UPSERT).bind(SYNC_SETTINGS.key).bind(&doc).execute(&mut *tx).await?;
            sqlx::query(UPSERT).bind(STORAGE_MODE.key).bind(&mode).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Sets the targeting mode, the client configuration's LastChange that moves with it, and
    /// moves [`APPROVALS_VERSION`] on: one transaction, so no client sees the new mode under
    /// the old LastChange.
    pub async fn change_targeting_mode(&self, mode: TargetingMode, last_change: OffsetDateTime) -> Result<()> {
        let (mode, last_change) = (mode.encode()?, last_change.encode()?);
        in_tx!(self, tx => {
            sqlx::query(UPSERT).bind(TARGETING_MODE.key).bind(&mode).execute(&mut *tx).await?;
            sqlx::query(UPSERT)
                .bind(CLIENT_CONFIG_LAST_CHANGE.key)
                .bind(&last_change)
                .execute(&mut *tx)
                .await?;
            bump_in_tx!(self, tx, APPROVALS_VERSION);
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_declared_once() {
        let mut keys = ALL_KEYS.to_vec();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), ALL_KEYS.len(), "two settings share a key");
    }

    #[test]
    fn values_read_back() {
        let key = CookieKey([0xab; 32]);
        assert_eq!(CookieKey::decode(&key.encode().unwrap()), Some(key));
        assert_eq!(CookieKey::decode("abcd"), None);
        let t = time::macros::datetime!(2026-05-01 18:00:00.123 UTC);
        assert_eq!(OffsetDateTime::decode(&t.encode().unwrap()), Some(t));
        assert_eq!(StorageMode::decode("None"), Some(StorageMode::None));
        assert_eq!(TargetingMode::decode(" client"), Some(TargetingMode::Client));
        let status = RollupStatus { at: "x".into(), ok: true, computers: Some(2), statuses: Some(3), error: None };
        assert!(status.encode().unwrap().contains("\"ok\":true"));
        assert_eq!(RollupStatus::decode(&status.encode().unwrap()), Some(status));
    }
}
