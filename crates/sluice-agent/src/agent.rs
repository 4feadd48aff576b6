//! One simulated Windows Update Agent: the scan, download, install and report cycle of
//! MS-WUSP 3.2 against a real server, keeping its state between runs like a real client.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha1::Digest as _;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::requests::{self, ComputerInfo, CookieText, Event};
use crate::wire::{self, child, children, send, text_at, WireError};

/// What the agent knows of one revision the server sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownRevision {
    pub update_id: String,
    pub revision_number: i32,
    pub is_leaf: bool,
    pub action: String,
    pub deadline: Option<String>,
    pub core: String,
}

/// Everything a real client keeps between scans.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MachineState {
    pub computer_id: String,
    pub cookie: Option<CookieText>,
    pub config_last_change: Option<String>,
    /// MaxExtendedUpdatesPerRequest from the server's GetConfig; absent: 50, the value every
    /// WSUS announces.
    #[serde(default)]
    pub max_extended_updates_per_request: Option<usize>,
    pub registered: bool,
    pub installed_non_leaf: Vec<i32>,
    pub other_cached: Vec<i32>,
    pub revisions: BTreeMap<i32, KnownRevision>,
    /// Update ids installed on this machine (upper-case GUIDs, as events carry them).
    pub installed_updates: BTreeSet<String>,
}

/// Whether a revision is installed / installable on the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Truth {
    Yes,
    No,
    /// The rule could not be evaluated; the text names the expression.
    Unknown(String),
}

/// Evaluates the applicability rules of a revision's Core fragment for one machine.
pub trait Evaluator: Send + Sync {
    fn is_installed(&self, core: &str, state: &MachineState, update_id: &str) -> Truth;
    fn is_installable(&self, core: &str, state: &MachineState, update_id: &str) -> Truth;
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScanReport {
    pub computer_id: String,
    pub rounds: u32,
    pub new_revisions: usize,
    pub out_of_scope: usize,
    /// Updates offered for install or uninstall (with deadline), and detect-only ones.
    pub offered: Vec<OfferedUpdate>,
    /// Update ids evaluated as needed (applicable and not installed).
    pub needed: Vec<String>,
    pub not_applicable: Vec<String>,
    pub unknown: Vec<(String, String)>,
    pub downloaded: Vec<DownloadedFile>,
    pub installed: Vec<String>,
    /// Installed, but the installer's exit code asks for a restart.
    pub pending_reboot: Vec<String>,
    /// Updates whose download or installation failed.
    pub failed: Vec<String>,
    /// Installers run for real (`--execute`) and how they ended.
    pub executed: Vec<ExecutedInstaller>,
    pub uninstalled: Vec<String>,
    pub reported_events: Vec<u32>,
    pub requests: BTreeMap<String, u32>,
    /// Every request in the order it was sent (faulted ones included).
    pub calls: Vec<String>,
    /// Faults recovered from, as `operation: ErrorCode`, in order.
    pub recoveries: Vec<String>,
    /// Cached revisions the server confirmed through RefreshCache.
    pub refreshed: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferedUpdate {
    pub update_id: String,
    pub revision_id: i32,
    pub action: String,
    pub deadline: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutedInstaller {
    pub update_id: String,
    pub exit_code: i64,
    pub succeeded: bool,
    pub reboot: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadedFile {
    pub update_id: String,
    pub file_name: String,
    pub size: u64,
    pub sha1: String,
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("download of {url} failed: {reason}")]
    Download { url: String, reason: String },
    #[error("{0}")]
    Protocol(String),
}

/// Per-operation latency samples, for load tests.
pub type Timings = HashMap<&'static str, Vec<Duration>>;

pub struct Agent {
    pub soap: crate::wire::SoapClient,
    pub http: reqwest::Client,
    pub base: String,
    pub info: ComputerInfo,
    pub target_group: Option<String>,
    /// Run command-line installers for real, in a scratch directory (`--execute`).
    pub execute: bool,
    pub device_attributes: String,
    pub evaluator: std::sync::Arc<dyn Evaluator>,
    pub state: MachineState,
    pub timings: Timings,
    pub bytes: usize,
    /// MS-CV base and the number of ClientWebService calls so far (see [`wire::cv`]).
    cv_base: String,
    cv: u32,
}

/// What a fault obliges the agent to do before retrying, as the native client does
/// (MS-WUSP 3.1.5.4 and the spec's client reactions; ms-wusp.md's fault table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Renewal {
    /// Nothing (unless the cookie is about to expire).
    None,
    /// CookieExpired: GetAuthorizationCookie and GetCookie, the expired cookie as oldCookie.
    Cookie,
    /// ConfigChanged: GetConfig first, then as for an expired cookie.
    Config,
    /// InvalidCookie, ServerChanged: the cookie is dropped; GetConfig, GetAuthorizationCookie,
    /// GetCookie, then RefreshCache to map the cached revisions to this server's ids.
    Full,
}

/// The MaxExtendedUpdatesPerRequest every WSUS announces, used when GetConfig does not say.
pub const DEFAULT_MAX_EXTENDED_UPDATES_PER_REQUEST: usize = 50;

fn now_text() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default()
}

fn core_update_id(core: &str) -> Option<(String, i32)> {
    let start = core.find("UpdateID=\"")? + 10;
    let id = core.get(start..start + 36)?.to_uppercase();
    let rs = core.find("RevisionNumber=\"")? + 16;
    let rev = core[rs..].split('"').next()?.parse().ok()?;
    Some((id, rev))
}

/// A `ConfigurationProperty` value of a GetConfig answer (the operation's response element).
fn config_property(response: &sluice_xml::Element, name: &str) -> Option<String> {
    let result = child(response, "GetConfigResult")?;
    children(child(result, "Properties")?, "ConfigurationProperty")
        .find(|p| text_at(p, &["Name"]).is_some_and(|n| n.trim() == name))
        .and_then(|p| text_at(p, &["Value"]))
}

fn attr(s: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = s.find(&key)? + key.len();
    Some(s[start..start + s[start..].find('"')?].to_string())
}

/// The content download client.
fn download_client(trust: &crate::trust::Trust) -> reqwest::Client {
    trust
        .reqwest_builder()
        .pool_idle_timeout(Duration::from_secs(30))
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap_or_default()
}

impl Agent {
    pub fn new(base: &str, info: ComputerInfo, evaluator: std::sync::Arc<dyn Evaluator>, state: MachineState) -> Agent {
        let trust = crate::trust::Trust::system();
        Agent {
            soap: crate::wire::soap_client_with(&trust),
            http: download_client(&trust),
            base: base.trim_end_matches('/').to_string(),
            info,
            target_group: None,
            execute: false,
            device_attributes: "ActivationChannel=Retail;App=WU_OS;AppVer=1507.2601.30012.0;DeviceFamily=Windows.Desktop;InstallLanguage=en-US;OSArchitecture=AMD64;OSVersion=10.0.26200.8037;".into(),
            evaluator,
            state,
            timings: HashMap::new(),
            bytes: 0,
            cv_base: wire::new_cv_base(),
            cv: 0,
        }
    }

    /// Connects to https:// servers trusting `trust` (`--ca-cert`) rather than the system's
    /// roots alone.
    pub fn with_trust(mut self, trust: &crate::trust::Trust) -> Agent {
        self.soap = crate::wire::soap_client_with(trust);
        self.http = download_client(trust);
        self
    }

    async fn call(&mut self, op: &'static str, c: &requests::SoapCall, report: &mut ScanReport) -> Result<sluice_xml::Element, WireError> {
        // The counter moves only with the calls that carry it, as in the capture (the native
        // agent's GetAuthorizationCookie in between does not count).
        if wire::carries_cv(c) {
            self.cv += 1;
        }
        let cv = wire::cv(&self.cv_base, self.cv);
        *report.requests.entry(op.to_string()).or_default() += 1;
        report.calls.push(op.to_string());
        let (el, took, len) = send(&self.soap, &self.base, c, &cv).await?;
        self.timings.entry(op).or_default().push(took);
        self.bytes += len;
        Ok(el)
    }

    fn cookie(&self) -> Result<&CookieText, AgentError> {
        self.state.cookie.as_ref().ok_or_else(|| AgentError::Protocol("no cookie".into()))
    }

    fn cookie_valid(&self) -> bool {
        let Some(c) = &self.state.cookie else { return false };
        match OffsetDateTime::parse(&c.expiration, &Rfc3339) {
            Ok(exp) => exp > OffsetDateTime::now_utc() + time::Duration::minutes(1),
            Err(_) => false,
        }
    }

    /// GetConfig (when unknown), GetAuthorizationCookie, GetCookie and, the first time,
    /// RegisterComputer: what a client does when its cookie is missing or expired.
    pub async fn handshake(&mut self, report: &mut ScanReport, force_config: bool) -> Result<(), AgentError> {
        if force_config || self.state.config_last_change.is_none() {
            let cfg = self.call("GetConfig", &requests::get_config(), report).await?;
            self.state.config_last_change = text_at(&cfg, &["GetConfigResult", "LastChange"]);
            self.state.max_extended_updates_per_request = config_property(&cfg, "MaxExtendedUpdatesPerRequest")
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|n| *n > 0);
        }
        let dns = self.info.dns_name.clone();
        let id = self.state.computer_id.clone();
        let auth = self.call("GetAuthorizationCookie", &requests::get_authorization_cookie(&id, self.target_group.as_deref(), &dns), report).await?;
        let data = text_at(&auth, &["GetAuthorizationCookieResult", "CookieData"]).ok_or_else(|| AgentError::Protocol("no CookieData".into()))?;
        let last_change = self.state.config_last_change.clone().unwrap_or_default();
        let old = self.state.cookie.clone();
        let cookie = self.call("GetCookie", &requests::get_cookie(&data, old.as_ref(), &last_change, &now_text()), report).await?;
        self.take_cookie(child(&cookie, "GetCookieResult"))?;
        if !self.state.registered {
            let c = self.cookie()?.clone();
            self.call("RegisterComputer", &requests::register_computer(&c, &self.info), report).await?;
            self.state.registered = true;
        }
        Ok(())
    }

    fn take_cookie(&mut self, el: Option<&sluice_xml::Element>) -> Result<(), AgentError> {
        let el = el.ok_or_else(|| AgentError::Protocol("no cookie in the answer".into()))?;
        self.state.cookie = Some(CookieText {
            expiration: text_at(el, &["Expiration"]).unwrap_or_default(),
            encrypted_data: text_at(el, &["EncryptedData"]).unwrap_or_default(),
        });
        Ok(())
    }

    /// The most revision ids one GetExtendedUpdateInfo may carry, as the server announced.
    pub fn max_extended_updates_per_request(&self) -> usize {
        self.state.max_extended_updates_per_request.unwrap_or(DEFAULT_MAX_EXTENDED_UPDATES_PER_REQUEST)
    }

    /// Runs a call, recovering from the faults real clients recover from.
    async fn call_with_cookie(
        &mut self,
        op: &'static str,
        build: &(dyn Fn(&CookieText) -> requests::SoapCall + Sync),
        report: &mut ScanReport,
    ) -> Result<sluice_xml::Element, AgentError> {
        let mut renewal = Renewal::None;
        for attempt in 0..3 {
            match renewal {
                Renewal::None if self.cookie_valid() => {}
                Renewal::None | Renewal::Cookie => self.handshake(report, false).await?,
                Renewal::Config => self.handshake(report, true).await?,
                Renewal::Full => {
                    self.handshake(report, true).await?;
                    self.refresh_cache(report).await?;
                }
            }
            let call = build(self.cookie()?);
            match self.call(op, &call, report).await {
                Ok(el) => return Ok(el),
                Err(e) if attempt < 2 => {
                    renewal = match e.fault_code() {
                        // The expired cookie goes along as oldCookie, so its state carries over.
                        Some("CookieExpired") => Renewal::Cookie,
                        // The cookie still names this server: it goes along as well.
                        Some("ConfigChanged") => Renewal::Config,
                        Some("InvalidCookie") | Some("ServerChanged") => {
                            self.state.cookie = None;
                            Renewal::Full
                        }
                        Some("RegistrationRequired") => {
                            self.state.registered = false;
                            self.state.cookie = None;
                            Renewal::Cookie
                        }
                        _ => return Err(e.into()),
                    };
                    report.recoveries.push(format!("{op}: {}", e.fault_code().unwrap_or_default()));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(AgentError::Protocol(format!("{op} kept failing")))
    }

    /// RefreshCache after a new cookie replaced one the server did not accept (InvalidCookie,
    /// ServerChanged): the server answers with its own revision id and the deployment of each
    /// cached revision it still deploys to this computer. Those are kept under the new ids;
    /// the rest are dropped and come back through SyncUpdates (real WSUS leaves bundle members
    /// out of the answer, and the client syncs them again).
    async fn refresh_cache(&mut self, report: &mut ScanReport) -> Result<(), AgentError> {
        if self.state.revisions.is_empty() {
            return Ok(());
        }
        let ids: Vec<(String, i32)> = self.state.revisions.values().map(|r| (r.update_id.clone(), r.revision_number)).collect();
        let call = requests::refresh_cache(self.cookie()?, &ids);
        let resp = self.call("RefreshCache", &call, report).await?;
        let installed: BTreeSet<(String, i32)> = self
            .state
            .installed_non_leaf
            .iter()
            .filter_map(|id| self.state.revisions.get(id))
            .map(|r| (r.update_id.clone(), r.revision_number))
            .collect();
        let mut by_identity: HashMap<(String, i32), KnownRevision> =
            std::mem::take(&mut self.state.revisions).into_values().map(|r| ((r.update_id.clone(), r.revision_number), r)).collect();
        self.state.installed_non_leaf.clear();
        self.state.other_cached.clear();
        let results = child(&resp, "RefreshCacheResult");
        for res in results.into_iter().flat_map(|r| children(r, "RefreshCacheResult")) {
            let (Some(id), Some(update_id), Some(rev)) = (
                text_at(res, &["RevisionID"]).and_then(|v| v.parse::<i32>().ok()),
                text_at(res, &["GlobalID", "UpdateID"]).map(|u| u.to_uppercase()),
                text_at(res, &["GlobalID", "RevisionNumber"]).and_then(|v| v.parse::<i32>().ok()),
            ) else {
                continue;
            };
            let key = (update_id, rev);
            let Some(mut known) = by_identity.remove(&key) else { continue };
            known.is_leaf = text_at(res, &["IsLeaf"]).as_deref() == Some("true");
            known.action = text_at(res, &["Deployment", "Action"]).unwrap_or_default();
            known.deadline = text_at(res, &["Deployment", "Deadline"]);
            if installed.contains(&key) {
                self.state.installed_non_leaf.push(id);
            } else {
                self.state.other_cached.push(id);
            }
            self.state.revisions.insert(id, known);
        }
        report.refreshed += self.state.revisions.len();
        Ok(())
    }

    /// Re-evaluates the cached non-leaf revisions, as WUA does at the start of every scan: one
    /// installed since the last scan (a prerequisite this machine just installed) now unlocks
    /// what depends on it, one removed no longer does.
    fn reclassify_cached(&mut self) {
        let mut installed = Vec::new();
        let mut other = Vec::new();
        for id in self.state.installed_non_leaf.iter().chain(self.state.other_cached.iter()) {
            let Some(r) = self.state.revisions.get(id) else { continue };
            if !r.is_leaf && self.evaluator.is_installed(&r.core, &self.state, &r.update_id) == Truth::Yes {
                installed.push(*id);
            } else {
                other.push(*id);
            }
        }
        installed.sort_unstable();
        installed.dedup();
        other.sort_unstable();
        other.dedup();
        self.state.installed_non_leaf = installed;
        self.state.other_cached = other;
    }

    fn drop_revision(&mut self, id: i32) {
        self.state.installed_non_leaf.retain(|x| *x != id);
        self.state.other_cached.retain(|x| *x != id);
        self.state.revisions.remove(&id);
    }

    fn record(&mut self, info: &sluice_xml::Element) -> Option<i32> {
        let id: i32 = text_at(info, &["ID"])?.parse().ok()?;
        let core = text_at(info, &["Xml"])?;
        let (update_id, revision_number) = core_update_id(&core)?;
        let rev = KnownRevision {
            update_id,
            revision_number,
            is_leaf: text_at(info, &["IsLeaf"]).as_deref() == Some("true"),
            action: text_at(info, &["Deployment", "Action"]).unwrap_or_default(),
            deadline: text_at(info, &["Deployment", "Deadline"]),
            core,
        };
        self.state.revisions.insert(id, rev);
        Some(id)
    }

    /// The SyncUpdates rounds of a software scan, then the driver pass.
    pub async fn sync(&mut self, report: &mut ScanReport) -> Result<(), AgentError> {
        self.reclassify_cached();
        loop {
            report.rounds += 1;
            if report.rounds > 64 {
                return Err(AgentError::Protocol("the scan does not converge".into()));
            }
            let (inl, other, attrs) = (self.state.installed_non_leaf.clone(), self.state.other_cached.clone(), self.device_attributes.clone());
            let resp = self.call_with_cookie("SyncUpdates", &|c| requests::sync_updates(c, &inl, &other, &attrs), report).await?;
            let result = child(&resp, "SyncUpdatesResult").ok_or_else(|| AgentError::Protocol("no SyncUpdatesResult".into()))?;
            self.take_cookie(child(result, "NewCookie"))?;
            if let Some(oos) = child(result, "OutOfScopeRevisionIDs") {
                for i in children(oos, "int").filter_map(|e| e.text().parse::<i32>().ok()) {
                    self.drop_revision(i);
                    report.out_of_scope += 1;
                }
            }
            if let Some(changed) = child(result, "ChangedUpdates") {
                for info in children(changed, "UpdateInfo") {
                    self.record(info);
                }
            }
            let mut new = 0;
            if let Some(list) = child(result, "NewUpdates") {
                for info in children(list, "UpdateInfo") {
                    let Some(id) = self.record(info) else { continue };
                    new += 1;
                    let rev = self.state.revisions[&id].clone();
                    let installed = self.evaluator.is_installed(&rev.core, &self.state, &rev.update_id) == Truth::Yes;
                    // Only non-leaf revisions found installed unlock further rounds.
                    if !rev.is_leaf && installed {
                        self.state.installed_non_leaf.push(id);
                    } else {
                        self.state.other_cached.push(id);
                    }
                }
            }
            report.new_revisions += new;
            let truncated = text_at(result, &["Truncated"]).as_deref() == Some("true");
            if new == 0 && !truncated {
                break;
            }
        }
        let (inl, attrs) = (self.state.installed_non_leaf.clone(), self.device_attributes.clone());
        // A stable computer hardware id per simulated machine, derived from its computer id.
        let digest = sha1::Sha1::digest(self.state.computer_id.as_bytes());
        let mut raw = [0u8; 16];
        raw.copy_from_slice(&digest[..16]);
        let hwid = uuid::Uuid::from_bytes(raw).to_string();
        let drv = self.call_with_cookie("SyncUpdates", &|c| requests::sync_drivers(c, &inl, &[], &hwid, &attrs), report).await?;
        if let Some(r) = child(&drv, "SyncUpdatesResult") {
            self.take_cookie(child(r, "NewCookie"))?;
        }
        Ok(())
    }

    /// Evaluates the top-level updates and returns (needed, installed) update ids.
    fn evaluate(&self, report: &mut ScanReport) -> (Vec<(i32, KnownRevision)>, Vec<String>) {
        let mut needed = Vec::new();
        let mut installed = Vec::new();
        for (id, r) in &self.state.revisions {
            if !matches!(r.action.as_str(), "Install" | "Uninstall" | "PreDeploymentCheck") {
                continue;
            }
            report.offered.push(OfferedUpdate { update_id: r.update_id.clone(), revision_id: *id, action: r.action.clone(), deadline: r.deadline.clone() });
            match self.evaluator.is_installed(&r.core, &self.state, &r.update_id) {
                Truth::Yes => installed.push(r.update_id.clone()),
                Truth::Unknown(why) => report.unknown.push((r.update_id.clone(), why)),
                Truth::No => match self.evaluator.is_installable(&r.core, &self.state, &r.update_id) {
                    Truth::Yes => needed.push((*id, r.clone())),
                    Truth::No => report.not_applicable.push(r.update_id.clone()),
                    Truth::Unknown(why) => report.unknown.push((r.update_id.clone(), why)),
                },
            }
        }
        report.needed = needed.iter().map(|(_, r)| r.update_id.clone()).collect();
        (needed, installed)
    }

    /// Extended information in batches of the server's MaxExtendedUpdatesPerRequest.
    async fn extended(&mut self, ids: &[i32], report: &mut ScanReport) -> Result<(HashMap<i32, String>, HashMap<String, String>), AgentError> {
        let mut fragments = HashMap::new();
        let mut urls = HashMap::new();
        let per_request = self.max_extended_updates_per_request();
        for batch in ids.chunks(per_request) {
            let attrs = self.device_attributes.clone();
            let resp = self
                .call_with_cookie("GetExtendedUpdateInfo", &|c| requests::get_extended_update_info(c, batch, "en-US", &attrs), report)
                .await?;
            let Some(r) = child(&resp, "GetExtendedUpdateInfoResult") else { continue };
            if let Some(updates) = child(r, "Updates") {
                for u in children(updates, "Update") {
                    let (Some(id), Some(xml)) = (text_at(u, &["ID"]).and_then(|i| i.parse().ok()), text_at(u, &["Xml"])) else { continue };
                    if xml.starts_with("<ExtendedProperties") {
                        fragments.insert(id, xml);
                    }
                }
            }
            if let Some(locs) = child(r, "FileLocations") {
                for l in children(locs, "FileLocation") {
                    if let (Some(d), Some(u)) = (text_at(l, &["FileDigest"]), text_at(l, &["Url"])) {
                        urls.insert(d, u);
                    }
                }
            }
        }
        Ok((fragments, urls))
    }

    /// Downloads one file as Delivery Optimization does (closed 1 MiB ranges over several
    /// connections) and verifies its size, SHA-1 and SHA-256 against the Extended fragment.
    async fn download(&mut self, url: &str, size: u64, sha1_b64: &str, sha256_b64: &str) -> Result<Vec<u8>, AgentError> {
        const PIECE: u64 = 1 << 20;
        let fail = |reason: String| AgentError::Download { url: url.to_string(), reason };
        let mut buf = vec![0u8; size as usize];
        let pieces: Vec<u64> = (0..size).step_by(PIECE as usize).collect();
        let http = self.http.clone();
        let results = futures_util::future::join_all(pieces.chunks(4).map(|group| {
            let http = http.clone();
            let group = group.to_vec();
            async move {
                let mut out = Vec::new();
                for start in group {
                    let end = (start + PIECE).min(size) - 1;
                    let r = http.get(url).header("Range", format!("bytes={start}-{end}")).header("Content-Length", "0").send().await;
                    out.push((start, end, r));
                }
                out
            }
        }))
        .await;
        for group in results {
            for (start, end, r) in group {
                let r = r.map_err(|e| fail(e.to_string()))?;
                if r.status().as_u16() != 206 {
                    return Err(fail(format!("status {} for bytes {start}-{end}", r.status())));
                }
                let body = r.bytes().await.map_err(|e| fail(e.to_string()))?;
                if body.len() as u64 != end - start + 1 {
                    return Err(fail(format!("{} bytes for the range {start}-{end}", body.len())));
                }
                buf[start as usize..=end as usize].copy_from_slice(&body);
                self.bytes += body.len();
            }
        }
        let b64 = base64::engine::general_purpose::STANDARD;
        if b64.encode(sha1::Sha1::digest(&buf)) != sha1_b64 {
            return Err(fail("SHA-1 mismatch".into()));
        }
        if b64.encode(sha2::Sha256::digest(&buf)) != sha256_b64 {
            return Err(fail("SHA-256 mismatch".into()));
        }
        Ok(buf)
    }

    /// The revision ids whose files an update needs: its own, or its bundled children's.
    fn payload_revisions(&self, id: i32) -> Vec<i32> {
        let Some(r) = self.state.revisions.get(&id) else { return Vec::new() };
        let mut out = vec![id];
        let children: Vec<String> = {
            let mut v = Vec::new();
            if let Some(b) = r.core.find("<BundledUpdates>") {
                let end = r.core[b..].find("</BundledUpdates>").map(|e| b + e).unwrap_or(r.core.len());
                let mut rest = &r.core[b..end];
                while let Some(p) = rest.find("UpdateID=\"") {
                    let s = p + 10;
                    v.push(rest[s..s + 36].to_uppercase());
                    rest = &rest[s + 36..];
                }
            }
            v
        };
        for (cid, c) in &self.state.revisions {
            if children.contains(&c.update_id) {
                out.push(*cid);
            }
        }
        out
    }

    /// A whole cycle: sync, evaluate, (download and install approved updates), report.
    pub async fn scan(&mut self, install: bool) -> Result<ScanReport, AgentError> {
        let mut report = ScanReport { computer_id: self.state.computer_id.clone(), ..Default::default() };
        self.sync(&mut report).await?;
        let (needed, installed_now) = self.evaluate(&mut report);
        let mut events: Vec<Event> = Vec::new();
        let now = now_text();
        if install {
            let approved: Vec<(i32, KnownRevision)> = needed.iter().filter(|(_, r)| r.action == "Install").cloned().collect();
            let mut payload: Vec<i32> = approved.iter().flat_map(|(id, _)| self.payload_revisions(*id)).collect();
            payload.sort_unstable();
            payload.dedup();
            let (fragments, urls) = self.extended(&payload, &mut report).await?;
            for (id, r) in &approved {
                let mut ok = true;
                let mut files: Vec<(String, Vec<u8>)> = Vec::new();
                let mut handler: Option<String> = None;
                for pid in self.payload_revisions(*id) {
                    let Some(ext) = fragments.get(&pid) else { continue };
                    if ext.contains("<InstallCommand ") {
                        handler = Some(ext.clone());
                    }
                    let mut rest = ext.as_str();
                    while let Some(f) = rest.find("<File ") {
                        let file = &rest[f..rest[f..].find("</File>").map(|e| f + e).unwrap_or(rest.len())];
                        rest = &rest[f + 6..];
                        let (Some(d), Some(size), Some(name)) = (attr(file, "Digest"), attr(file, "Size").and_then(|s| s.parse().ok()), attr(file, "FileName")) else { continue };
                        let sha256 = file.split("<AdditionalDigest Algorithm=\"SHA256\">").nth(1).and_then(|s| s.split('<').next()).unwrap_or("").to_string();
                        let Some(url) = urls.get(&d).cloned() else {
                            ok = false;
                            continue;
                        };
                        events.push(Event { event_id: 167, update: Some((r.update_id.clone(), r.revision_number)), hresult: 0, replacement_strings: vec![name.clone()], misc: vec![], time: now.clone() });
                        match self.download(&url, size, &d, &sha256).await {
                            Ok(bytes) => {
                                if self.execute {
                                    files.push((name.clone(), bytes));
                                }
                                events.push(Event { event_id: 162, update: Some((r.update_id.clone(), r.revision_number)), hresult: 0, replacement_strings: vec![name.clone()], misc: vec![format!("B={size}")], time: now.clone() });
                                report.downloaded.push(DownloadedFile { update_id: r.update_id.clone(), file_name: name, size, sha1: d, sha256 });
                            }
                            Err(e) => {
                                ok = false;
                                events.push(Event { event_id: 161, update: Some((r.update_id.clone(), r.revision_number)), hresult: 0x80246007u32 as i32, replacement_strings: vec![e.to_string()], misc: vec![], time: now.clone() });
                            }
                        }
                    }
                }
                events.push(Event { event_id: 181, update: Some((r.update_id.clone(), r.revision_number)), hresult: 0, replacement_strings: vec![], misc: vec![], time: now.clone() });
                let mut reboot = false;
                if ok && self.execute {
                    match (&handler, run_installer(handler.as_deref().unwrap_or(""), &files).await) {
                        (Some(_), Ok(outcome)) => {
                            report.executed.push(ExecutedInstaller { update_id: r.update_id.clone(), exit_code: outcome.code, succeeded: outcome.succeeded, reboot: outcome.reboot });
                            ok = outcome.succeeded;
                            reboot = outcome.reboot;
                        }
                        (Some(_), Err(e)) => {
                            report.unknown.push((r.update_id.clone(), format!("installer: {e}")));
                            ok = false;
                        }
                        // Not a command-line update: nothing to run on Linux, recorded as installed.
                        (None, _) => {}
                    }
                }
                if ok && reboot {
                    for pid in self.payload_revisions(*id) {
                        if let Some(p) = self.state.revisions.get(&pid) {
                            self.state.installed_updates.insert(p.update_id.clone());
                        }
                    }
                    // What a real client reports for an install that needs a restart.
                    events.push(Event { event_id: 201, update: Some((r.update_id.clone(), r.revision_number)), hresult: 0x0024_0005, replacement_strings: vec![], misc: vec![], time: now.clone() });
                    report.installed.push(r.update_id.clone());
                    report.pending_reboot.push(r.update_id.clone());
                } else if ok {
                    for pid in self.payload_revisions(*id) {
                        if let Some(p) = self.state.revisions.get(&pid) {
                            self.state.installed_updates.insert(p.update_id.clone());
                        }
                    }
                    events.push(Event { event_id: 183, update: Some((r.update_id.clone(), r.revision_number)), hresult: 0, replacement_strings: vec![], misc: vec![], time: now.clone() });
                    report.installed.push(r.update_id.clone());
                } else {
                    report.failed.push(r.update_id.clone());
                    events.push(Event { event_id: 182, update: Some((r.update_id.clone(), r.revision_number)), hresult: 0x80246007u32 as i32, replacement_strings: vec![], misc: vec![], time: now.clone() });
                }
            }
            // Uninstall approvals of installed updates.
            for r in self.state.revisions.values().filter(|r| r.action == "Uninstall").cloned().collect::<Vec<_>>() {
                if self.state.installed_updates.remove(&r.update_id) {
                    events.push(Event { event_id: 222, update: Some((r.update_id.clone(), r.revision_number)), hresult: 0, replacement_strings: vec![], misc: vec![], time: now.clone() });
                    report.uninstalled.push(r.update_id.clone());
                }
            }
        }
        // Status after this cycle: event 147 (detection finished) and 156 (U needed, V installed).
        let mut still_needed: Vec<String> =
            report.needed.iter().filter(|u| !report.installed.contains(u) && !report.failed.contains(u)).cloned().collect();
        still_needed.extend(report.uninstalled.iter().cloned());
        let mut installed: BTreeSet<String> = installed_now.into_iter().collect();
        installed.extend(report.installed.iter().cloned());
        for u in &report.uninstalled {
            installed.remove(u);
        }
        events.push(Event { event_id: 147, update: None, hresult: 0, replacement_strings: vec![still_needed.len().to_string()], misc: vec![format!("D={}", still_needed.len())], time: now.clone() });
        events.push(Event {
            event_id: 156,
            update: None,
            hresult: 0,
            replacement_strings: vec![],
            misc: vec![
                format!("U={}", still_needed.join(";")),
                format!("V={}", installed.iter().filter(|u| !report.pending_reboot.contains(u)).cloned().collect::<Vec<_>>().join(";")),
                format!("W={}", report.pending_reboot.join(";")),
                format!("g={}", report.failed.join(";")),
            ],
            time: now.clone(),
        });
        report.reported_events = events.iter().map(|e| e.event_id).collect();
        let id = self.state.computer_id.clone();
        let (brand, model) = (self.info.manufacturer.clone(), self.info.model.clone());
        let rep = self
            .call_with_cookie("ReportEventBatch", &|c| requests::report_event_batch(c, &id, &now, &events, &brand, &model), &mut report)
            .await?;
        if text_at(&rep, &["ReportEventBatchResult"]).as_deref() != Some("true") {
            return Err(AgentError::Protocol("the server did not accept the events".into()));
        }
        Ok(report)
    }
}

/// How an installer run ended, read through the update's return-code table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallerOutcome {
    pub code: i64,
    pub succeeded: bool,
    pub reboot: bool,
}

/// Reads `ReturnCode` entries and `DefaultResult` from an Extended fragment's
/// CommandLineInstallation handler data and classifies an exit code with them.
pub fn classify_exit_code(extended: &str, code: i64) -> InstallerOutcome {
    let mut rest = extended;
    while let Some(p) = rest.find("<ReturnCode ") {
        let el = &rest[p..rest[p..].find('>').map(|e| p + e).unwrap_or(rest.len())];
        rest = &rest[p + 12..];
        if attr(el, "Code").and_then(|c| c.parse::<i64>().ok()) == Some(code) {
            return InstallerOutcome {
                code,
                succeeded: attr(el, "Result").as_deref() == Some("Succeeded"),
                reboot: attr(el, "Reboot").as_deref() == Some("true"),
            };
        }
    }
    // An exit code the table does not list takes the DefaultResult (Failed unless stated).
    let default = extended.find("<InstallCommand ").and_then(|p| attr(&extended[p..extended[p..].find('>').map(|e| p + e).unwrap_or(extended.len())], "DefaultResult"));
    InstallerOutcome { code, succeeded: default.as_deref() == Some("Succeeded"), reboot: false }
}

/// Runs a command-line installer as the Windows handler would, but on Linux and confined to a
/// fresh scratch directory holding the update's files: `Program Arguments`, at most five
/// minutes, exit code read through the update's return-code table.
pub async fn run_installer(extended: &str, files: &[(String, Vec<u8>)]) -> Result<InstallerOutcome, String> {
    let p = extended.find("<InstallCommand ").ok_or("no command-line installer data")?;
    let el = &extended[p..extended[p..].find('>').map(|e| p + e).ok_or("malformed handler data")?];
    let program = attr(el, "Program").ok_or("InstallCommand without Program")?;
    let arguments = attr(el, "Arguments").unwrap_or_default();
    if program.contains(['/', '\\']) || program.starts_with('.') {
        return Err(format!("program '{program}' is not a plain file name"));
    }
    let dir = std::env::temp_dir().join(format!("sluice-agent-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let cleanup = |d: &std::path::Path| {
        let _ = std::fs::remove_dir_all(d);
    };
    for (name, bytes) in files {
        if name.contains(['/', '\\']) {
            continue;
        }
        let path = dir.join(name);
        if let Err(e) = std::fs::write(&path, bytes) {
            cleanup(&dir);
            return Err(e.to_string());
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755));
        }
    }
    // Arguments are XML attribute text: unescape the entities the fragment carries.
    let arguments = arguments.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
    let mut cmd = tokio::process::Command::new(dir.join(&program));
    cmd.args(arguments.split_whitespace()).current_dir(&dir).kill_on_drop(true).stdin(std::process::Stdio::null());
    let result = tokio::time::timeout(Duration::from_secs(300), cmd.status()).await;
    cleanup(&dir);
    let status = result.map_err(|_| "installer timed out".to_string())?.map_err(|e| format!("cannot run {program}: {e}"))?;
    let code = status.code().map(i64::from).ok_or("installer killed by a signal")?;
    Ok(classify_exit_code(extended, code))
}
