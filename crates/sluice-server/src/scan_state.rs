//! The state behind the client services: the catalog index, targeting and the cookie keys,
//! rebuilt when the catalog or approvals change and shared by every request meanwhile.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex, RwLock};

use sluice_decide::unix_ms;
use sluice_decide::cookie::CookieKeys;
use sluice_decide::index::CatalogIndex;
use sluice_decide::scope::{self, Deployment, FileSource};
use sluice_catalog::targeting::{TargetingMode, TargetingSnapshot};
use sluice_catalog::{Catalog, CatalogError};
use sluice_store::settings::{CLIENT_FACING_SERVER_ID, COOKIE_KEY, STORAGE_MODE};
use sluice_store::{CookieKey, StorageMode};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::computer_cache::ComputerCache;

/// One consistent view of what clients may see.
pub struct Snapshot {
    /// The catalog and approvals versions it was built from.
    versions: (i64, i64),
    /// The invalidation count it reflects: a snapshot is current while no invalidation came
    /// after the build started.
    built_for: u64,
    pub mode: TargetingMode,
    pub index: CatalogIndex,
    pub targeting: TargetingSnapshot,
    declined: HashSet<Uuid>,
    /// Deployments per set of computer groups (sorted), computed on first use.
    deployments: Mutex<HashMap<Vec<Uuid>, Arc<Vec<Option<Deployment>>>>>,
    /// Where clients fetch files: from here, or from Microsoft Update (storage mode `none`).
    pub source: FileSource,
}

impl Snapshot {
    /// The deployment of every index entry for a computer in `groups`.
    pub fn deployments_for(&self, groups: &[Uuid]) -> Arc<Vec<Option<Deployment>>> {
        let mut key: Vec<Uuid> = groups.to_vec();
        key.sort_unstable();
        key.dedup();
        if let Ok(cache) = self.deployments.lock() {
            if let Some(d) = cache.get(&key) {
                return d.clone();
            }
        }
        let d = Arc::new(scope::deployments_for_groups(&self.index, &self.targeting, &self.declined, self.source, &key));
        if let Ok(mut cache) = self.deployments.lock() {
            // Bounded: group sets are few in practice; a pathological number just recomputes.
            if cache.len() < 4096 {
                cache.insert(key, d.clone());
            }
        }
        d
    }
}

/// How often, at most, a request checks the database for catalog or approval changes made
/// by another process (the admin API of this process invalidates at once).
const VERSION_POLL: std::time::Duration = std::time::Duration::from_secs(1);

pub struct ScanState {
    catalog: Catalog,
    pub keys: CookieKeys,
    /// The configuration LastChange (GetConfig) in unix milliseconds, as cookies keep it.
    /// Reloaded from the store with every change made through the admin API (before its
    /// answer goes out) and with every snapshot rebuild (changes made by another process).
    config_last_change_ms: AtomicI64,
    current: RwLock<Arc<Snapshot>>,
    /// Invalidations so far; a snapshot built for fewer is stale.
    wanted: std::sync::atomic::AtomicU64,
    /// When the version settings were last read.
    checked: Mutex<std::time::Instant>,
    rebuild: tokio::sync::Mutex<()>,
    /// Registration and group assignments of the computers seen lately.
    pub computers: ComputerCache,
}

impl ScanState {
    /// Loads (or on first start creates) the cookie key, the server id and the configuration
    /// change time, and builds the first snapshot.
    pub async fn open(catalog: Catalog, data_dir: &std::path::Path) -> Result<ScanState, CatalogError> {
        let store = catalog.store().clone();
        let CookieKey(key) = store.setting_or_create(COOKIE_KEY, || CookieKey(rand::random())).await?;
        let server_id = store.setting_or_create(CLIENT_FACING_SERVER_ID, Uuid::new_v4).await?;
        let config_last_change = catalog.client_config_last_change().await?;
        let mut keys = CookieKeys::new(key, server_id);
        match crate::instance_record::swap(data_dir, server_id, &key) {
            Ok(Some(previous)) => keys = keys.with_previous_instance(previous),
            Ok(None) => {}
            // Only costs clients of a previous instance ServerChanged (they get InvalidCookie,
            // which leads to the same recovery): not worth refusing to start.
            Err(e) => tracing::warn!("cannot record the server instance in {}: {e}", data_dir.display()),
        }
        let snapshot = build(&catalog, 0).await?;
        Ok(ScanState {
            catalog,
            keys,
            config_last_change_ms: AtomicI64::new(unix_ms(config_last_change)),
            current: RwLock::new(Arc::new(snapshot)),
            wanted: std::sync::atomic::AtomicU64::new(0),
            checked: Mutex::new(std::time::Instant::now()),
            rebuild: tokio::sync::Mutex::new(()),
            computers: ComputerCache::default(),
        })
    }

    /// Marks the snapshot stale: this process changed the catalog, approvals or declines.
    /// The next request waits for the rebuild rather than seeing the old state.
    pub fn invalidate(&self) {
        self.wanted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // A change of memberships, groups or targeting mode reaches the next page too.
        self.computers.clear();
    }

    /// [`ScanState::invalidate`], and the other front ends on the database are told to do
    /// the same (`front_ends.rs`).
    pub fn changed(&self, me: &sluice_store::LeaseHolder) {
        self.invalidate();
        crate::front_ends::announce(self.catalog.store(), me);
    }

    /// The configuration LastChange that GetConfig announces and client cookies must carry.
    pub fn config_last_change(&self) -> OffsetDateTime {
        let ms = self.config_last_change_ms.load(std::sync::atomic::Ordering::SeqCst);
        sluice_decide::from_unix_ms(ms).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// Rereads the configuration LastChange from the store. The admin API calls it after every
    /// change, before answering, so the very next client request is checked against the new
    /// configuration (ConfigChanged), not one that arrives after a snapshot rebuild.
    pub async fn reload_config(&self) -> Result<(), CatalogError> {
        let t = self.catalog.client_config_last_change().await?;
        self.config_last_change_ms.store(unix_ms(t), std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// The current snapshot, rebuilt first if the catalog or approvals changed since.
    pub async fn snapshot(&self) -> Result<Arc<Snapshot>, CatalogError> {
        use std::sync::atomic::Ordering;
        let cur = self.current_snapshot();
        // Another process sharing the database may have changed something: look at the
        // version settings at most once per poll interval.
        let poll = match self.checked.lock() {
            Ok(mut t) if t.elapsed() >= VERSION_POLL => {
                *t = std::time::Instant::now();
                true
            }
            Ok(_) => false,
            Err(_) => true,
        };
        if poll && versions(&self.catalog).await? != cur.versions {
            self.invalidate();
        }
        if cur.built_for >= self.wanted.load(Ordering::SeqCst) {
            return Ok(cur);
        }
        // One rebuild at a time; whoever waited gets the fresh one.
        let _guard = self.rebuild.lock().await;
        let latest = self.current_snapshot();
        let wanted = self.wanted.load(Ordering::SeqCst);
        if latest.built_for >= wanted {
            return Ok(latest);
        }
        self.computers.clear();
        let fresh = Arc::new(build(&self.catalog, wanted).await?);
        // Changes made by another process sharing the database reach this one here.
        self.reload_config().await?;
        if let Ok(mut w) = self.current.write() {
            *w = fresh.clone();
        }
        Ok(fresh)
    }

    fn current_snapshot(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

async fn versions(catalog: &Catalog) -> Result<(i64, i64), CatalogError> {
    Ok((catalog.catalog_version().await?, catalog.approvals_version().await?))
}

async fn build(catalog: &Catalog, built_for: u64) -> Result<Snapshot, CatalogError> {
    // Versions first: a change landing during the build is then seen as newer next time.
    let versions = versions(catalog).await?;
    let index = crate::index_load::load(catalog.store()).await?;
    let targeting = catalog.targeting_snapshot().await?;
    let mode = catalog.targeting_mode().await?;
    let declined: HashSet<Uuid> =
        catalog.store().list_declined().await?.into_iter().map(|d| d.update_id).collect();
    // Storage mode `none` (set by `sluice sync configure --storage none`): files are not kept
    // here, clients download them from Microsoft Update.
    let source = match catalog.store().setting(STORAGE_MODE).await? {
        Some(StorageMode::None) => FileSource::MicrosoftUpdate,
        _ => FileSource::Local,
    };
    Ok(Snapshot {
        versions,
        built_for,
        mode,
        index,
        targeting,
        declined,
        deployments: Mutex::new(HashMap::new()),
        source,
    })
}
