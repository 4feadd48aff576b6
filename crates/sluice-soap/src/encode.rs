//! Response types and their encoders.
//!
//! Every encoder writes into one `Vec<u8>` sized up front; values are escaped straight into it.
//! Element order is the WSDL's; optional arrays that are empty are omitted, as real WSUS omits
//! them (a SyncUpdates page without new updates has no `NewUpdates` element at all).

use std::io::Write as _;

use sluice_soap_core::Style;
use time::Date;
use uuid::Uuid;

use crate::Operation;
use crate::decode::{AuthorizationCookie, UpdateIdentity};

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// A cookie the server issues (GetCookie result, `NewCookie`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewCookie {
    /// Written verbatim; real WSUS uses .NET round-trip form (see [`crate::format_datetime`]).
    pub expiration: String,
    /// Opaque server data, base64-encoded on the wire.
    pub encrypted_data: Vec<u8>,
}

/// The GetConfig result (`Config`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigResponse {
    /// Written verbatim; clients echo it back in GetCookie `lastChange`.
    pub last_change: String,
    pub is_registration_required: bool,
    /// Real WSUS sends exactly one: `SimpleTargeting` at `SimpleAuthWebService/SimpleAuth.asmx`.
    pub auth_plugins: Vec<AuthPlugInInfo>,
    /// Omitted when `None` (real WSUS omits it).
    pub allowed_event_ids: Option<Vec<i32>>,
    /// `ConfigurationProperty` name/value pairs, in order.
    pub properties: Vec<(String, String)>,
}

/// An authorization plug-in advertised by GetConfig.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthPlugInInfo {
    pub plugin_id: String,
    /// Relative to the server URL, no leading slash.
    pub service_url: String,
    /// `None` omits the element; `Some("")` writes `<Parameter/>` as real WSUS does.
    pub parameter: Option<String>,
}

/// The StartCategoryScan result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StartCategoryScanResponse {
    pub preferred_category_ids: Vec<Uuid>,
    pub requested_category_ids_in_error: Vec<Uuid>,
}

/// `SyncInfo`: the SyncUpdates and SyncPrinterCatalog result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncInfo<'a> {
    pub new_updates: Vec<UpdateInfo<'a>>,
    pub out_of_scope_revision_ids: Vec<i32>,
    pub changed_updates: Vec<UpdateInfo<'a>>,
    pub truncated: bool,
    pub new_cookie: Option<NewCookie>,
    /// For clients that asked for two out-of-scope groups; `None` and `Some(empty)` both omit it.
    pub deployed_out_of_scope_revision_ids: Option<Vec<i32>>,
    /// Written as the string `true`/`false` when `Some`.
    pub driver_sync_not_needed: Option<bool>,
}

/// One update revision of a SyncInfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateInfo<'a> {
    /// The server-local revision id.
    pub id: i32,
    /// Mandatory in practice: without it Windows fails the whole sync with 0x80070057.
    pub deployment: Deployment,
    pub is_leaf: bool,
    /// The Core fragment, already XML-escaped ([`escape_fragment`]), copied verbatim.
    pub xml_escaped: &'a [u8],
}

/// `Deployment` of an update revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub id: i32,
    pub action: DeploymentAction,
    /// An `xs:dateTime` string when the approval has a deadline.
    pub deadline: Option<String>,
    pub is_assigned: bool,
    /// Written date-only (`2026-10-04`), as clients require.
    pub last_change_time: Date,
    /// Driver deployments only; omitted when empty.
    pub hardware_ids: Vec<String>,
    /// `0` for clients of protocol 1.8 and later; `None` omits it (older clients).
    pub auto_select: Option<i32>,
    pub auto_download: Option<i32>,
    pub supersedence_behavior: Option<i32>,
    /// Not sent by real WSUS; `None` omits it.
    pub flag_bitmask: Option<i32>,
}

impl Deployment {
    /// A deployment the way real WSUS writes it for current clients: assigned, no deadline,
    /// `AutoSelect`, `AutoDownload` and `SupersedenceBehavior` all 0.
    pub fn new(id: i32, action: DeploymentAction, last_change_time: Date) -> Deployment {
        Deployment {
            id,
            action,
            deadline: None,
            is_assigned: true,
            last_change_time,
            hardware_ids: Vec::new(),
            auto_select: Some(0),
            auto_download: Some(0),
            supersedence_behavior: Some(0),
            flag_bitmask: None,
        }
    }
}

/// `DeploymentAction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeploymentAction {
    /// Offer and install (automatically when assigned).
    Install,
    Uninstall,
    /// Do not offer; evaluate and report (WSUS's "detect only" for unapproved updates).
    PreDeploymentCheck,
    /// Do not offer or report: a dependency (category, detectoid, prerequisite).
    Evaluate,
    /// Deployed only as a member of a deployed bundle.
    Bundle,
    /// Offer only, never automatically (Windows 10 1903+).
    OptionalInstall,
    /// In the WSDL, but real WSUS never sends it; prefer PreDeploymentCheck or omission.
    Block,
}

impl DeploymentAction {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            DeploymentAction::Install => "Install",
            DeploymentAction::Uninstall => "Uninstall",
            DeploymentAction::PreDeploymentCheck => "PreDeploymentCheck",
            DeploymentAction::Evaluate => "Evaluate",
            DeploymentAction::Bundle => "Bundle",
            DeploymentAction::OptionalInstall => "OptionalInstall",
            DeploymentAction::Block => "Block",
        }
    }
}

/// One entry of the RefreshCache result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshCacheResult {
    pub revision_id: i32,
    pub global_id: UpdateIdentity,
    pub is_leaf: bool,
    pub deployment: Deployment,
}

/// `ExtendedUpdateInfo`: the GetExtendedUpdateInfo result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtendedUpdateInfo<'a> {
    /// One entry per (revision, fragment); real WSUS lists all Extended fragments first, then
    /// all LocalizedProperties.
    pub updates: Vec<UpdateData<'a>>,
    pub file_locations: Vec<FileLocation>,
    pub out_of_scope_revision_ids: Vec<i32>,
}

/// `ExtendedUpdateInfo2`: the GetExtendedUpdateInfo2 result (without the decryption data,
/// which a WSUS never has).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtendedUpdateInfo2<'a> {
    pub updates: Vec<UpdateData<'a>>,
    pub file_locations: Vec<FileLocation>,
}

/// `UpdateData`: one fragment of one revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdateData<'a> {
    pub id: i32,
    /// The fragment, already XML-escaped ([`escape_fragment`]), copied verbatim.
    pub xml_escaped: &'a [u8],
}

/// Where a file can be downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLocation {
    /// SHA-1 of the file, base64-encoded on the wire.
    pub file_digest: [u8; 20],
    pub url: String,
}

/// `GetFileLocationsResults`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetFileLocationsResults {
    pub file_locations: Vec<FileLocation>,
    pub new_cookie: Option<NewCookie>,
}

// ---------------------------------------------------------------------------------------------
// Fragments
// ---------------------------------------------------------------------------------------------

/// Escapes a metadata fragment once, at ingest, into the exact bytes responses embed as the
/// text of `<Xml>` (the same escaping real WSUS applies: `&`, `<`, `>` and CR).
pub fn escape_fragment(fragment: &str) -> Vec<u8> {
    let mut s = String::with_capacity(fragment.len() + fragment.len() / 4);
    sluice_xml::escape_text(fragment, &mut s);
    s.into_bytes()
}

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

/// The serialisation of the service that carries `op`: the client web service is WCF, the
/// other two are ASMX.
pub(crate) const fn style_of(op: Operation) -> Style {
    match op.service() {
        crate::Service::Client => Style::Client,
        _ => Style::Asmx,
    }
}

/// Fixed cost of an envelope around a result, a bound used for capacity estimates.
const ENVELOPE_BYTES: usize = 400;

sluice_soap_core::extend! {
    /// The shared writer plus the protocol's compound values.
    pub(crate) struct Writer(sluice_soap_core::Writer);
}

impl Writer {
    /// Opens the envelope and the `<OpResponse xmlns=…>` wrapper.
    fn begin(op: Operation, capacity: usize) -> Writer {
        let mut w = Writer(sluice_soap_core::Writer::envelope(style_of(op), capacity));
        w.raw("<");
        w.raw(op.name());
        w.raw(r#"Response xmlns=""#);
        w.raw(op.service().namespace());
        w.raw(r#"">"#);
        w
    }

    fn finish(mut self, op: Operation) -> Vec<u8> {
        self.raw("</");
        self.raw(op.name());
        self.raw("Response>");
        self.0.finish()
    }

    fn date(&mut self, name: &str, d: Date) {
        self.open(name);
        let _ = write!(self.buf, "{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
        self.close(name);
    }

    fn int_array(&mut self, name: &str, ids: &[i32]) {
        if ids.is_empty() {
            self.empty(name);
            return;
        }
        self.open(name);
        for &id in ids {
            self.int("int", id);
        }
        self.close(name);
    }

    fn guid_array(&mut self, name: &str, ids: &[Uuid]) {
        self.open(name);
        for id in ids {
            self.guid("guid", id);
        }
        self.close(name);
    }

    fn cookie(&mut self, name: &str, c: &NewCookie) {
        self.open(name);
        self.text("Expiration", &c.expiration);
        self.base64("EncryptedData", &c.encrypted_data);
        self.close(name);
    }

    fn deployment(&mut self, d: &Deployment) {
        self.open("Deployment");
        self.int("ID", d.id);
        self.text("Action", d.action.as_str());
        if let Some(deadline) = &d.deadline {
            self.text("Deadline", deadline);
        }
        self.bool("IsAssigned", d.is_assigned);
        self.date("LastChangeTime", d.last_change_time);
        if !d.hardware_ids.is_empty() {
            self.open("HardwareIds");
            for h in &d.hardware_ids {
                self.text("string", h);
            }
            self.close("HardwareIds");
        }
        for (name, v) in [
            ("AutoSelect", d.auto_select),
            ("AutoDownload", d.auto_download),
            ("SupersedenceBehavior", d.supersedence_behavior),
            ("FlagBitmask", d.flag_bitmask),
        ] {
            if let Some(v) = v {
                self.int(name, v);
            }
        }
        self.close("Deployment");
    }

    fn update_infos(&mut self, name: &str, updates: &[UpdateInfo<'_>]) {
        self.open(name);
        for u in updates {
            self.open("UpdateInfo");
            self.int("ID", u.id);
            self.deployment(&u.deployment);
            self.bool("IsLeaf", u.is_leaf);
            self.escaped("Xml", u.xml_escaped);
            self.close("UpdateInfo");
        }
        self.close(name);
    }

    fn file_locations(&mut self, locations: &[FileLocation]) {
        self.open("FileLocations");
        for l in locations {
            self.open("FileLocation");
            self.base64("FileDigest", &l.file_digest);
            self.text("Url", &l.url);
            self.close("FileLocation");
        }
        self.close("FileLocations");
    }

    fn update_data(&mut self, updates: &[UpdateData<'_>]) {
        self.open("Updates");
        for u in updates {
            self.open("Update");
            self.int("ID", u.id);
            self.escaped("Xml", u.xml_escaped);
            self.close("Update");
        }
        self.close("Updates");
    }
}

// ---------------------------------------------------------------------------------------------
// Encoders
// ---------------------------------------------------------------------------------------------

fn cookie_bytes(c: &NewCookie) -> usize {
    80 + c.expiration.len() + c.encrypted_data.len() * 4 / 3
}

/// GetConfig response.
pub fn encode_get_config_response(config: &ConfigResponse) -> Vec<u8> {
    let op = Operation::GetConfig;
    let cap = ENVELOPE_BYTES
        + 200
        + config
            .auth_plugins
            .iter()
            .map(|p| 120 + p.plugin_id.len() + p.service_url.len() + p.parameter.as_ref().map_or(0, String::len))
            .sum::<usize>()
        + config.allowed_event_ids.as_ref().map_or(0, |v| 40 + v.len() * 20)
        + config.properties.iter().map(|(n, v)| 80 + n.len() + v.len()).sum::<usize>();
    let mut w = Writer::begin(op, cap);
    w.open("GetConfigResult");
    w.text("LastChange", &config.last_change);
    w.bool("IsRegistrationRequired", config.is_registration_required);
    if !config.auth_plugins.is_empty() {
        w.open("AuthInfo");
        for p in &config.auth_plugins {
            w.open("AuthPlugInInfo");
            w.text("PlugInID", &p.plugin_id);
            w.text("ServiceUrl", &p.service_url);
            if let Some(param) = &p.parameter {
                w.text("Parameter", param);
            }
            w.close("AuthPlugInInfo");
        }
        w.close("AuthInfo");
    }
    if let Some(ids) = &config.allowed_event_ids {
        w.int_array("AllowedEventIds", ids);
    }
    if !config.properties.is_empty() {
        w.open("Properties");
        for (name, value) in &config.properties {
            w.open("ConfigurationProperty");
            w.text("Name", name);
            w.text("Value", value);
            w.close("ConfigurationProperty");
        }
        w.close("Properties");
    }
    w.close("GetConfigResult");
    w.finish(op)
}

/// GetCookie response.
pub fn encode_get_cookie_response(cookie: &NewCookie) -> Vec<u8> {
    let op = Operation::GetCookie;
    let mut w = Writer::begin(op, ENVELOPE_BYTES + cookie_bytes(cookie));
    w.cookie("GetCookieResult", cookie);
    w.finish(op)
}

/// RegisterComputer response: the empty `<RegisterComputerResponse/>`.
pub fn encode_register_computer_response() -> Vec<u8> {
    let op = Operation::RegisterComputer;
    let mut w = sluice_soap_core::Writer::envelope(style_of(op), ENVELOPE_BYTES);
    w.empty_ns("RegisterComputerResponse", op.service().namespace());
    w.finish()
}

/// StartCategoryScan response; empty lists are omitted.
pub fn encode_start_category_scan_response(r: &StartCategoryScanResponse) -> Vec<u8> {
    let op = Operation::StartCategoryScan;
    let cap = ENVELOPE_BYTES + (r.preferred_category_ids.len() + r.requested_category_ids_in_error.len()) * 52;
    let mut w = Writer::begin(op, cap);
    if !r.preferred_category_ids.is_empty() {
        w.guid_array("preferredCategoryIds", &r.preferred_category_ids);
    }
    if !r.requested_category_ids_in_error.is_empty() {
        w.guid_array("requestedCategoryIdsInError", &r.requested_category_ids_in_error);
    }
    w.finish(op)
}

/// Bytes an UpdateInfo takes besides its fragment (tags, ids, a deployment), rounded up.
const UPDATE_INFO_OVERHEAD: usize = 400;

pub(crate) fn sync_info_capacity(info: &SyncInfo<'_>) -> usize {
    let updates = |v: &[UpdateInfo<'_>]| {
        v.iter()
            .map(|u| {
                UPDATE_INFO_OVERHEAD
                    + u.xml_escaped.len()
                    + u.deployment.deadline.as_ref().map_or(0, |d| d.len() + 24)
                    + u.deployment.hardware_ids.iter().map(|h| h.len() + 24).sum::<usize>()
            })
            .sum::<usize>()
    };
    ENVELOPE_BYTES
        + 200
        + updates(&info.new_updates)
        + updates(&info.changed_updates)
        + info.out_of_scope_revision_ids.len() * 20
        + info.deployed_out_of_scope_revision_ids.as_ref().map_or(0, |v| v.len() * 20)
        + info.new_cookie.as_ref().map_or(0, cookie_bytes)
}

fn encode_sync_info(op: Operation, info: &SyncInfo<'_>) -> Vec<u8> {
    let mut w = Writer::begin(op, sync_info_capacity(info));
    let result = match op {
        Operation::SyncPrinterCatalog => "SyncPrinterCatalogResult",
        _ => "SyncUpdatesResult",
    };
    w.open(result);
    if !info.new_updates.is_empty() {
        w.update_infos("NewUpdates", &info.new_updates);
    }
    if !info.out_of_scope_revision_ids.is_empty() {
        w.int_array("OutOfScopeRevisionIDs", &info.out_of_scope_revision_ids);
    }
    if !info.changed_updates.is_empty() {
        w.update_infos("ChangedUpdates", &info.changed_updates);
    }
    w.bool("Truncated", info.truncated);
    if let Some(c) = &info.new_cookie {
        w.cookie("NewCookie", c);
    }
    if let Some(ids) = info.deployed_out_of_scope_revision_ids.as_deref().filter(|v| !v.is_empty()) {
        w.int_array("DeployedOutOfScopeRevisionIds", ids);
    }
    if let Some(b) = info.driver_sync_not_needed {
        w.text("DriverSyncNotNeeded", if b { "true" } else { "false" });
    }
    w.close(result);
    w.finish(op)
}

/// SyncUpdates response.
pub fn encode_sync_updates_response(info: &SyncInfo<'_>) -> Vec<u8> {
    encode_sync_info(Operation::SyncUpdates, info)
}

/// SyncPrinterCatalog response (a SyncInfo like SyncUpdates).
pub fn encode_sync_printer_catalog_response(info: &SyncInfo<'_>) -> Vec<u8> {
    encode_sync_info(Operation::SyncPrinterCatalog, info)
}

/// RefreshCache response. An empty list is written as an empty `RefreshCacheResult`
/// (an empty array, not a missing one).
pub fn encode_refresh_cache_response(results: &[RefreshCacheResult]) -> Vec<u8> {
    let op = Operation::RefreshCache;
    let cap = ENVELOPE_BYTES + results.len() * 520;
    let mut w = Writer::begin(op, cap);
    if results.is_empty() {
        w.empty("RefreshCacheResult");
        return w.finish(op);
    }
    w.open("RefreshCacheResult");
    for r in results {
        w.open("RefreshCacheResult");
        w.int("RevisionID", r.revision_id);
        w.open("GlobalID");
        w.guid("UpdateID", &r.global_id.update_id);
        w.int("RevisionNumber", r.global_id.revision_number);
        w.close("GlobalID");
        w.bool("IsLeaf", r.is_leaf);
        w.deployment(&r.deployment);
        w.close("RefreshCacheResult");
    }
    w.close("RefreshCacheResult");
    w.finish(op)
}

fn file_locations_bytes(l: &[FileLocation]) -> usize {
    l.iter().map(|l| 120 + l.url.len()).sum()
}

fn update_data_bytes(u: &[UpdateData<'_>]) -> usize {
    u.iter().map(|u| 60 + u.xml_escaped.len()).sum()
}

/// GetExtendedUpdateInfo response; empty lists are omitted.
pub fn encode_get_extended_update_info_response(info: &ExtendedUpdateInfo<'_>) -> Vec<u8> {
    let op = Operation::GetExtendedUpdateInfo;
    let cap = ENVELOPE_BYTES
        + 200
        + update_data_bytes(&info.updates)
        + file_locations_bytes(&info.file_locations)
        + info.out_of_scope_revision_ids.len() * 20;
    let mut w = Writer::begin(op, cap);
    w.open("GetExtendedUpdateInfoResult");
    if !info.updates.is_empty() {
        w.update_data(&info.updates);
    }
    if !info.file_locations.is_empty() {
        w.file_locations(&info.file_locations);
    }
    if !info.out_of_scope_revision_ids.is_empty() {
        w.int_array("OutOfScopeRevisionIDs", &info.out_of_scope_revision_ids);
    }
    w.close("GetExtendedUpdateInfoResult");
    w.finish(op)
}

/// GetExtendedUpdateInfo2 response; empty lists are omitted.
pub fn encode_get_extended_update_info2_response(info: &ExtendedUpdateInfo2<'_>) -> Vec<u8> {
    let op = Operation::GetExtendedUpdateInfo2;
    let cap = ENVELOPE_BYTES + 200 + update_data_bytes(&info.updates) + file_locations_bytes(&info.file_locations);
    let mut w = Writer::begin(op, cap);
    w.open("GetExtendedUpdateInfo2Result");
    if !info.updates.is_empty() {
        w.update_data(&info.updates);
    }
    if !info.file_locations.is_empty() {
        w.file_locations(&info.file_locations);
    }
    w.close("GetExtendedUpdateInfo2Result");
    w.finish(op)
}

/// GetFileLocations response.
pub fn encode_get_file_locations_response(r: &GetFileLocationsResults) -> Vec<u8> {
    let op = Operation::GetFileLocations;
    let cap =
        ENVELOPE_BYTES + 100 + file_locations_bytes(&r.file_locations) + r.new_cookie.as_ref().map_or(0, cookie_bytes);
    let mut w = Writer::begin(op, cap);
    w.open("GetFileLocationsResult");
    if !r.file_locations.is_empty() {
        w.file_locations(&r.file_locations);
    }
    if let Some(c) = &r.new_cookie {
        w.cookie("NewCookie", c);
    }
    w.close("GetFileLocationsResult");
    w.finish(op)
}

/// GetAuthorizationCookie (SimpleAuth) response. Note the element is `PlugInId` here where
/// GetConfig has `PlugInID`.
pub fn encode_get_authorization_cookie_response(cookie: &AuthorizationCookie) -> Vec<u8> {
    let op = Operation::GetAuthorizationCookie;
    let cap = ENVELOPE_BYTES
        + 120
        + cookie.plugin_id.as_ref().map_or(0, String::len)
        + cookie.cookie_data.as_ref().map_or(0, |d| d.len() * 4 / 3 + 4);
    let mut w = Writer::begin(op, cap);
    w.open("GetAuthorizationCookieResult");
    if let Some(p) = &cookie.plugin_id {
        w.text("PlugInId", p);
    }
    if let Some(d) = &cookie.cookie_data {
        w.base64("CookieData", d);
    }
    w.close("GetAuthorizationCookieResult");
    w.finish(op)
}

/// ReportEventBatch response (real WSUS always answers `true`).
pub fn encode_report_event_batch_response(received: bool) -> Vec<u8> {
    let op = Operation::ReportEventBatch;
    let mut w = Writer::begin(op, ENVELOPE_BYTES);
    w.bool("ReportEventBatchResult", received);
    w.finish(op)
}

/// ReportEventBatch2 response.
pub fn encode_report_event_batch2_response(received: bool) -> Vec<u8> {
    let op = Operation::ReportEventBatch2;
    let mut w = Writer::begin(op, ENVELOPE_BYTES);
    w.bool("ReportEventBatch2Result", received);
    w.finish(op)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn fragment_escaper_matches_sluice_xml() {
        for s in ["", "plain", "a<b>&c\r\nd", "é<ü>&\u{1F600}\r", "&amp;", "\"quotes' stay\"", "<<>>&&"] {
            let mut expected = String::new();
            sluice_xml::escape_text(s, &mut expected);
            assert_eq!(escape_fragment(s), expected.as_bytes(), "{s:?}");
        }
    }

    #[test]
    fn sync_info_capacity_is_an_upper_bound() {
        let frags: Vec<Vec<u8>> = (0..30).map(|i| escape_fragment(&"<a b=\"c\"/>".repeat(100 + i * 70))).collect();
        let mut d = Deployment::new(i32::MIN, DeploymentAction::PreDeploymentCheck, date!(2026 - 10 - 04));
        d.deadline = Some("2026-12-31T23:59:59.9999999Z".into());
        d.flag_bitmask = Some(i32::MIN);
        let info = SyncInfo {
            new_updates: frags
                .iter()
                .map(|f| UpdateInfo { id: i32::MIN, deployment: d.clone(), is_leaf: false, xml_escaped: f })
                .collect(),
            out_of_scope_revision_ids: vec![i32::MIN; 50],
            changed_updates: Vec::new(),
            truncated: true,
            new_cookie: Some(NewCookie {
                expiration: "2026-10-04T16:03:35.9967236Z".into(),
                encrypted_data: vec![7; 224],
            }),
            deployed_out_of_scope_revision_ids: Some(vec![i32::MIN; 10]),
            driver_sync_not_needed: Some(false),
        };
        let out = encode_sync_updates_response(&info);
        assert!(sync_info_capacity(&info) >= out.len(), "{} < {}", sync_info_capacity(&info), out.len());
    }
}
