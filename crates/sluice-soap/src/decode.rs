//! Request types and [`decode_request`].

use sluice_soap_core::{Path, body_element, is_nil, parse_envelope, text};
use sluice_xml::Element;
use uuid::Uuid;

use crate::error::SoapError;
use crate::id_arrays::{self, Lifted};
use crate::{MAX_REQUEST_BYTES, Operation};

// ---------------------------------------------------------------------------------------------
// Types shared by several requests
// ---------------------------------------------------------------------------------------------

/// A client cookie as the client sends it back (`cookie`, `oldCookie`).
///
/// Both parts are optional on the wire: native Windows 11 sends an `oldCookie` holding only an
/// `Expiration` on its first GetCookie, which the server must treat as no cookie at all.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cookie {
    /// The clear-text expiration, verbatim (see [`crate::parse_datetime`]).
    pub expiration: Option<String>,
    /// The opaque server data, base64-decoded. `Some(empty)` for `<EncryptedData/>`.
    pub encrypted_data: Option<Vec<u8>>,
}

impl Cookie {
    /// Whether the cookie carries server data at all; a cookie without it is a placeholder.
    pub fn has_data(&self) -> bool {
        self.encrypted_data.as_ref().is_some_and(|d| !d.is_empty())
    }
}

/// An authorization cookie (GetCookie `authCookies`, and the SimpleAuth response).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthorizationCookie {
    /// `PlugInId` (real WSUS: `SimpleTargeting`).
    pub plugin_id: Option<String>,
    /// `CookieData`, base64-decoded.
    pub cookie_data: Option<Vec<u8>>,
}

/// An update revision named by its global identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UpdateIdentity {
    pub update_id: Uuid,
    pub revision_number: i32,
}

/// `XmlUpdateFragmentType`: which metadata fragment GetExtendedUpdateInfo asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FragmentType {
    Published,
    Core,
    Extended,
    VerificationRule,
    LocalizedProperties,
    Eula,
    FileUrl,
    FileDecryption,
    /// A value outside the WSDL enumeration (Microsoft Update adds several); kept so the server
    /// can ignore it rather than fault.
    Other(String),
}

impl FragmentType {
    fn parse(s: &str) -> FragmentType {
        match s.trim() {
            "Published" => FragmentType::Published,
            "Core" => FragmentType::Core,
            "Extended" => FragmentType::Extended,
            "VerificationRule" => FragmentType::VerificationRule,
            "LocalizedProperties" => FragmentType::LocalizedProperties,
            "Eula" => FragmentType::Eula,
            "FileUrl" => FragmentType::FileUrl,
            "FileDecryption" => FragmentType::FileDecryption,
            other => FragmentType::Other(other.to_string()),
        }
    }

    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            FragmentType::Published => "Published",
            FragmentType::Core => "Core",
            FragmentType::Extended => "Extended",
            FragmentType::VerificationRule => "VerificationRule",
            FragmentType::LocalizedProperties => "LocalizedProperties",
            FragmentType::Eula => "Eula",
            FragmentType::FileUrl => "FileUrl",
            FragmentType::FileDecryption => "FileDecryption",
            FragmentType::Other(s) => s,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// A decoded request: one variant per operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    GetConfig(GetConfigRequest),
    GetCookie(GetCookieRequest),
    RegisterComputer(RegisterComputerRequest),
    StartCategoryScan(StartCategoryScanRequest),
    SyncUpdates(SyncUpdatesRequest),
    SyncPrinterCatalog(SyncPrinterCatalogRequest),
    RefreshCache(RefreshCacheRequest),
    GetExtendedUpdateInfo(GetExtendedUpdateInfoRequest),
    GetExtendedUpdateInfo2(GetExtendedUpdateInfo2Request),
    GetFileLocations(GetFileLocationsRequest),
    GetAuthorizationCookie(GetAuthorizationCookieRequest),
    ReportEventBatch(ReportEventBatchRequest),
    ReportEventBatch2(ReportEventBatch2Request),
}

impl Request {
    /// The operation the request invokes.
    pub fn operation(&self) -> Operation {
        match self {
            Request::GetConfig(_) => Operation::GetConfig,
            Request::GetCookie(_) => Operation::GetCookie,
            Request::RegisterComputer(_) => Operation::RegisterComputer,
            Request::StartCategoryScan(_) => Operation::StartCategoryScan,
            Request::SyncUpdates(_) => Operation::SyncUpdates,
            Request::SyncPrinterCatalog(_) => Operation::SyncPrinterCatalog,
            Request::RefreshCache(_) => Operation::RefreshCache,
            Request::GetExtendedUpdateInfo(_) => Operation::GetExtendedUpdateInfo,
            Request::GetExtendedUpdateInfo2(_) => Operation::GetExtendedUpdateInfo2,
            Request::GetFileLocations(_) => Operation::GetFileLocations,
            Request::GetAuthorizationCookie(_) => Operation::GetAuthorizationCookie,
            Request::ReportEventBatch(_) => Operation::ReportEventBatch,
            Request::ReportEventBatch2(_) => Operation::ReportEventBatch2,
        }
    }

    /// The client cookie the request carries (`cookie`; `oldCookie` for GetCookie), if any.
    pub fn cookie(&self) -> Option<&Cookie> {
        match self {
            Request::GetConfig(_) | Request::GetAuthorizationCookie(_) | Request::ReportEventBatch2(_) => None,
            Request::GetCookie(r) => r.old_cookie.as_ref(),
            Request::RegisterComputer(r) => r.cookie.as_ref(),
            Request::StartCategoryScan(r) => r.cookie.as_ref(),
            Request::SyncUpdates(r) => r.cookie.as_ref(),
            Request::SyncPrinterCatalog(r) => r.cookie.as_ref(),
            Request::RefreshCache(r) => r.cookie.as_ref(),
            Request::GetExtendedUpdateInfo(r) => r.cookie.as_ref(),
            Request::GetExtendedUpdateInfo2(r) => r.cookie.as_ref(),
            Request::GetFileLocations(r) => r.cookie.as_ref(),
            Request::ReportEventBatch(r) => r.cookie.as_ref(),
        }
    }
}

/// GetConfig.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetConfigRequest {
    /// The client protocol version (`1.8` in the spec, `2.90` from Windows 11 25H2). Never
    /// reject a higher one.
    pub protocol_version: Option<String>,
}

/// GetCookie.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetCookieRequest {
    /// Exactly one in practice; validation is the server's.
    pub auth_cookies: Vec<AuthorizationCookie>,
    pub old_cookie: Option<Cookie>,
    /// The `LastChange` of the configuration the client holds, verbatim.
    pub last_change: Option<String>,
    pub current_time: Option<String>,
    pub protocol_version: Option<String>,
}

/// RegisterComputer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegisterComputerRequest {
    pub cookie: Option<Cookie>,
    pub computer_info: Option<ComputerInfo>,
}

/// `ComputerInfo`: purely informational, so every field is optional. Integer fields are
/// widened to `i32` so that an out-of-range value from a future client cannot block
/// registration; a non-integer is still an error.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ComputerInfo {
    pub dns_name: Option<String>,
    pub os_major_version: Option<i32>,
    pub os_minor_version: Option<i32>,
    pub os_build_number: Option<i32>,
    pub os_service_pack_major_number: Option<i32>,
    pub os_service_pack_minor_number: Option<i32>,
    pub os_locale: Option<String>,
    pub computer_manufacturer: Option<String>,
    pub computer_model: Option<String>,
    pub bios_version: Option<String>,
    pub bios_name: Option<String>,
    pub bios_release_date: Option<String>,
    /// A free string (`AMD64` from native clients).
    pub processor_architecture: Option<String>,
    pub suite_mask: Option<i32>,
    pub old_product_type: Option<i32>,
    pub new_product_type: Option<i32>,
    pub system_metrics: Option<i32>,
    pub client_version_major_number: Option<i32>,
    pub client_version_minor_number: Option<i32>,
    pub client_version_build_number: Option<i32>,
    pub client_version_qfe_number: Option<i32>,
    /// Says `Windows 10 Pro` on Windows 11: derive the OS from the build number instead.
    pub os_description: Option<String>,
    pub oem: Option<String>,
    pub device_type: Option<String>,
    pub firmware_version: Option<String>,
    pub mobile_operator: Option<String>,
}

/// StartCategoryScan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StartCategoryScanRequest {
    /// Not in the WSDL and not sent by native clients (OOBE scans come without one); decoded
    /// if present.
    pub cookie: Option<Cookie>,
    pub requested_categories: Vec<CategoryRelationship>,
}

/// One category of an OR-of-AND-groups category filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CategoryRelationship {
    pub index_of_and_group: i32,
    pub category_id: Uuid,
}

/// SyncUpdates (`cookie` plus the fields of `parameters`, flattened).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncUpdatesRequest {
    pub cookie: Option<Cookie>,
    /// Must be false or absent; kept so the server can reject express queries if it wants.
    pub express_query: bool,
    pub installed_non_leaf_update_ids: Vec<i32>,
    pub other_cached_update_ids: Vec<i32>,
    /// `Some` when the driver pass sends a `SystemSpec` (possibly empty); `None` when it is
    /// absent or `xsi:nil`. A present SystemSpec with `skip_software_sync` false is an
    /// `InvalidParameters` fault by the spec; that check is the server's.
    pub system_spec: Option<Vec<Device>>,
    pub cached_driver_ids: Vec<i32>,
    pub skip_software_sync: bool,
    pub filter_category_ids: Vec<Uuid>,
    pub need_two_group_out_of_scope_updates: bool,
    /// Native extension, not in the WSDL.
    pub also_perform_regular_sync: Option<bool>,
    /// `ComputerSpec/HardwareIDs`, most specific first.
    pub computer_spec_hardware_ids: Vec<Uuid>,
    /// e.g. `AMD64.10.0` on the driver pass.
    pub feature_score_matching_key: Option<String>,
    /// `ProductsParameters/DeviceAttributes` (native extension): `Key=Value;` pairs.
    pub device_attributes: Option<String>,
    /// `ProductsParameters/CallerAttributes` (native extension); its `Id=` names the caller.
    pub caller_attributes: Option<String>,
}

/// A device of the driver-pass `SystemSpec`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Device {
    pub hardware_ids: Vec<String>,
    pub compatible_ids: Vec<String>,
    pub installed_driver: Option<InstalledDriver>,
    /// `extensionDriver` in the WSDL, `extensionDrivers/ExtensionDriver` from native clients.
    pub extension_drivers: Vec<ExtensionDriver>,
    pub driver_recovery_ids: Vec<String>,
    pub device_flags: Option<u32>,
}

/// The driver installed for a device.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstalledDriver {
    pub matching_id: Option<String>,
    pub driver_ver_date: Option<String>,
    pub driver_ver_version: Option<i64>,
    pub class: Option<String>,
    pub manufacturer: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub matching_computer_hwid: Option<Uuid>,
    pub driver_rank: Option<i32>,
    /// Native extension.
    pub skip_provider_filtering: Option<bool>,
    /// Native extension.
    pub is_generic: Option<bool>,
}

/// An extension driver of a device.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtensionDriver {
    pub extension_id: Option<String>,
    pub driver_ver_date: Option<String>,
    pub driver_ver_version: Option<i64>,
    pub class: Option<String>,
    pub driver_rank: Option<i32>,
    pub matching_computer_hwid: Option<Uuid>,
}

/// SyncPrinterCatalog.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncPrinterCatalogRequest {
    pub cookie: Option<Cookie>,
    pub installed_non_leaf_update_ids: Vec<i32>,
    pub printer_update_ids: Vec<i32>,
    pub device_attributes: Option<String>,
}

/// RefreshCache.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RefreshCacheRequest {
    pub cookie: Option<Cookie>,
    pub global_ids: Vec<UpdateIdentity>,
}

/// GetExtendedUpdateInfo.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetExtendedUpdateInfoRequest {
    pub cookie: Option<Cookie>,
    pub revision_ids: Vec<i32>,
    /// Empty when `infoTypes` is absent (the spec requires it; the check is the server's).
    pub info_types: Vec<FragmentType>,
    pub locales: Vec<String>,
    /// Native extension, not in the WSDL.
    pub device_attributes: Option<String>,
    /// Three-letter region such as `USA`.
    pub geo_id: Option<String>,
    pub caller_attributes: Option<String>,
}

/// GetExtendedUpdateInfo2.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetExtendedUpdateInfo2Request {
    pub cookie: Option<Cookie>,
    pub update_ids: Vec<UpdateIdentity>,
    pub info_types: Vec<FragmentType>,
    pub locales: Vec<String>,
    pub device_attributes: Option<String>,
    pub caller_attributes: Option<String>,
}

/// GetFileLocations.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetFileLocationsRequest {
    pub cookie: Option<Cookie>,
    /// Decoded digests; the spec says each is a 20-byte SHA-1 (the length check is the server's).
    pub file_digests: Vec<Vec<u8>>,
}

/// GetAuthorizationCookie (SimpleAuth).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetAuthorizationCookieRequest {
    /// The client's `SusClientId`, a GUID string; kept as sent.
    pub client_id: Option<String>,
    /// Client-side targeting group name(s), possibly `;`-separated.
    pub target_group_name: Option<String>,
    pub dns_name: Option<String>,
}

/// ReportEventBatch (Reporting).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportEventBatchRequest {
    pub cookie: Option<Cookie>,
    pub client_time: Option<String>,
    pub events: Vec<ReportingEvent>,
}

/// ReportEventBatch2 (Reporting; identifies the computer by id instead of a cookie).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportEventBatch2Request {
    pub computer_id: Option<String>,
    pub client_time: Option<String>,
    pub events: Vec<ReportingEvent>,
}

/// One reporting event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportingEvent {
    pub basic: BasicData,
    pub extended: Option<ExtendedData>,
    pub private: Option<PrivateData>,
}

/// `BasicData`. Scalars the WSDL requires default to 0 when missing, as in .NET.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BasicData {
    /// `TargetID/Sid`: the client id from GetAuthorizationCookie.
    pub target_id: Option<String>,
    pub sequence_number: i32,
    pub time_at_target: Option<String>,
    /// Client-generated; use it to de-duplicate redelivered batches.
    pub event_instance_id: Option<Uuid>,
    pub namespace_id: i32,
    pub event_id: i32,
    pub source_id: i32,
    /// `None` when absent; the zero GUID with revision 0 when the event names no update.
    pub update_id: Option<UpdateIdentity>,
    /// Signed; an unsigned rendering of the same 32 bits is accepted too.
    pub win32_hresult: i32,
    pub app_name: Option<String>,
}

/// `ExtendedData`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtendedData {
    /// The `%1…` parameters; `xsi:nil` items become empty strings so positions are kept.
    pub replacement_strings: Vec<String>,
    /// `Tag=value` strings (`U=`, `V=` … carry update ids in event 156).
    pub misc_data: Vec<String>,
    pub computer_brand: Option<String>,
    pub computer_model: Option<String>,
    pub bios_revision: Option<String>,
    /// `Unknown|X86Compatible|IA64Compatible|Amd64Compatible`, verbatim.
    pub processor_architecture: Option<String>,
    pub os_version: Option<OsVersion>,
    pub os_locale_id: Option<i32>,
    pub device_id: Option<String>,
}

/// `DetailedVersion` of `ExtendedData/OSVersion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OsVersion {
    pub major: i32,
    pub minor: i32,
    pub build: i32,
    pub revision: i32,
    pub service_pack_major: i32,
    pub service_pack_minor: i32,
}

/// `PrivateData` (sent empty by real clients).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PrivateData {
    pub computer_dns_name: Option<String>,
    pub user_account_name: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------------

/// Decodes a SOAP 1.1 request body.
///
/// The caller should already have bounded the body (a few MiB is plenty: the largest native
/// request seen is ~67 KB); bodies above [`MAX_REQUEST_BYTES`] are refused here regardless.
/// UTF-8 (with or without BOM) and BOM-marked UTF-16 are accepted.
pub fn decode_request(body: &[u8]) -> Result<Request, SoapError> {
    // SyncUpdates' id arrays are most of its bytes: they are read from the raw text
    // (`id_arrays`) and the rest goes through the tree. Should the tree refuse what is left,
    // the whole request is decoded again the ordinary way, so the error is the one it always was.
    if body.len() <= MAX_REQUEST_BYTES {
        if let Ok(std::borrow::Cow::Borrowed(text)) = sluice_soap_core::body_text(body) {
            if let Some(mut lifted) = id_arrays::lift(text, &LIFTED_ARRAYS) {
                let rest = std::mem::take(&mut lifted.rest);
                if let Ok(r) = decode_tree(rest.as_bytes(), Some(&mut lifted)) {
                    return Ok(r);
                }
            }
        }
    }
    decode_tree(body, None)
}

/// The SyncUpdates parameters read by [`id_arrays`].
const LIFTED_ARRAYS: [&str; 3] = ["InstalledNonLeafUpdateIDs", "OtherCachedUpdateIDs", "CachedDriverIDs"];

pub(crate) fn decode_tree(body: &[u8], lifted: Option<&mut Lifted>) -> Result<Request, SoapError> {
    let root = parse_envelope(body, MAX_REQUEST_BYTES, "SOAP request")?;
    let op_el = body_element(&root)?;
    let op = Operation::from_element(&op_el.ns, &op_el.local)
        .ok_or_else(|| SoapError::UnknownOperation { ns: op_el.ns.clone(), name: op_el.local.clone() })?;
    let r = Reader(sluice_soap_core::Reader { ns: op.service().namespace() });
    let el = op_el;
    Ok(match op {
        Operation::GetConfig => {
            Request::GetConfig(GetConfigRequest { protocol_version: r.string(el, "protocolVersion") })
        }
        Operation::GetCookie => Request::GetCookie(r.get_cookie(el)?),
        Operation::RegisterComputer => Request::RegisterComputer(RegisterComputerRequest {
            cookie: r.cookie(el, "cookie", Path::ROOT)?,
            computer_info: match r.field(el, "computerInfo") {
                Some(ci) => Some(r.computer_info(ci, Path::ROOT.child("computerInfo"))?),
                None => None,
            },
        }),
        Operation::StartCategoryScan => Request::StartCategoryScan(r.start_category_scan(el)?),
        Operation::SyncUpdates => Request::SyncUpdates(r.sync_updates(el, lifted)?),
        Operation::SyncPrinterCatalog => Request::SyncPrinterCatalog(SyncPrinterCatalogRequest {
            cookie: r.cookie(el, "cookie", Path::ROOT)?,
            installed_non_leaf_update_ids: r.int_array(el, "installedNonLeafUpdateIDs", Path::ROOT)?,
            printer_update_ids: r.int_array(el, "printerUpdateIDs", Path::ROOT)?,
            device_attributes: r.string(el, "deviceAttributes"),
        }),
        Operation::RefreshCache => Request::RefreshCache(RefreshCacheRequest {
            cookie: r.cookie(el, "cookie", Path::ROOT)?,
            global_ids: r.identities(el, "globalIDs", Path::ROOT)?,
        }),
        Operation::GetExtendedUpdateInfo => Request::GetExtendedUpdateInfo(GetExtendedUpdateInfoRequest {
            cookie: r.cookie(el, "cookie", Path::ROOT)?,
            revision_ids: r.int_array(el, "revisionIDs", Path::ROOT)?,
            info_types: r.fragment_types(el),
            locales: r.string_array(el, "locales", "string"),
            device_attributes: r.string(el, "deviceAttributes"),
            geo_id: r.string(el, "GeoId"),
            caller_attributes: r.string(el, "callerAttributes"),
        }),
        Operation::GetExtendedUpdateInfo2 => Request::GetExtendedUpdateInfo2(GetExtendedUpdateInfo2Request {
            cookie: r.cookie(el, "cookie", Path::ROOT)?,
            update_ids: r.identities(el, "updateIDs", Path::ROOT)?,
            info_types: r.fragment_types(el),
            locales: r.string_array(el, "locales", "string"),
            device_attributes: r.string(el, "deviceAttributes"),
            caller_attributes: r.string(el, "callerAttributes"),
        }),
        Operation::GetFileLocations => Request::GetFileLocations(GetFileLocationsRequest {
            cookie: r.cookie(el, "cookie", Path::ROOT)?,
            file_digests: r.base64_array(el, "fileDigests", Path::ROOT)?,
        }),
        Operation::GetAuthorizationCookie => Request::GetAuthorizationCookie(GetAuthorizationCookieRequest {
            client_id: r.string(el, "clientId"),
            target_group_name: r.string(el, "targetGroupName"),
            dns_name: r.string(el, "dnsName"),
        }),
        Operation::ReportEventBatch => Request::ReportEventBatch(ReportEventBatchRequest {
            cookie: r.cookie(el, "cookie", Path::ROOT)?,
            client_time: r.trimmed(el, "clientTime"),
            events: r.events(el)?,
        }),
        Operation::ReportEventBatch2 => Request::ReportEventBatch2(ReportEventBatch2Request {
            computer_id: r.string(el, "computerId"),
            client_time: r.trimmed(el, "clientTime"),
            events: r.events(el)?,
        }),
    })
}

fn invalid(path: Path<'_>, reason: impl Into<String>) -> SoapError {
    sluice_soap_core::invalid(path, reason).into()
}

sluice_soap_core::extend! {
    /// The shared reader plus the protocol's compound values.
    struct Reader(sluice_soap_core::Reader);
}

impl Reader {
    fn fragment_types(&self, parent: &Element) -> Vec<FragmentType> {
        self.items(parent, "infoTypes", "XmlUpdateFragmentType").map(|e| FragmentType::parse(&text(e))).collect()
    }

    fn identity(&self, el: &Element, path: Path<'_>) -> Result<UpdateIdentity, SoapError> {
        Ok(UpdateIdentity {
            update_id: self.guid0(el, "UpdateID", path)?,
            revision_number: self.int0(el, "RevisionNumber", path)?,
        })
    }

    fn identities(&self, parent: &Element, local: &str, path: Path<'_>) -> Result<Vec<UpdateIdentity>, SoapError> {
        let path = path.child(local);
        self.items(parent, local, "UpdateIdentity").map(|e| self.identity(e, path.child("UpdateIdentity"))).collect()
    }

    fn cookie(&self, parent: &Element, local: &str, path: Path<'_>) -> Result<Option<Cookie>, SoapError> {
        let Some(c) = self.field(parent, local) else {
            return Ok(None);
        };
        let path = path.child(local);
        Ok(Some(Cookie {
            expiration: self.trimmed(c, "Expiration"),
            encrypted_data: self.base64(c, "EncryptedData", path)?,
        }))
    }

    fn get_cookie(&self, el: &Element) -> Result<GetCookieRequest, SoapError> {
        let path = Path::ROOT.child("authCookies");
        let item_path = path.child("AuthorizationCookie");
        let auth_cookies = self
            .items(el, "authCookies", "AuthorizationCookie")
            .map(|a| {
                Ok(AuthorizationCookie {
                    plugin_id: self.string(a, "PlugInId"),
                    cookie_data: self.base64(a, "CookieData", item_path)?,
                })
            })
            .collect::<Result<_, SoapError>>()?;
        Ok(GetCookieRequest {
            auth_cookies,
            old_cookie: self.cookie(el, "oldCookie", Path::ROOT)?,
            last_change: self.trimmed(el, "lastChange"),
            current_time: self.trimmed(el, "currentTime"),
            protocol_version: self.string(el, "protocolVersion"),
        })
    }

    fn computer_info(&self, ci: &Element, p: Path<'_>) -> Result<ComputerInfo, SoapError> {
        Ok(ComputerInfo {
            dns_name: self.string(ci, "DnsName"),
            os_major_version: self.int(ci, "OSMajorVersion", p)?,
            os_minor_version: self.int(ci, "OSMinorVersion", p)?,
            os_build_number: self.int(ci, "OSBuildNumber", p)?,
            os_service_pack_major_number: self.int(ci, "OSServicePackMajorNumber", p)?,
            os_service_pack_minor_number: self.int(ci, "OSServicePackMinorNumber", p)?,
            os_locale: self.string(ci, "OSLocale"),
            computer_manufacturer: self.string(ci, "ComputerManufacturer"),
            computer_model: self.string(ci, "ComputerModel"),
            bios_version: self.string(ci, "BiosVersion"),
            bios_name: self.string(ci, "BiosName"),
            bios_release_date: self.trimmed(ci, "BiosReleaseDate"),
            processor_architecture: self.string(ci, "ProcessorArchitecture"),
            suite_mask: self.int(ci, "SuiteMask", p)?,
            old_product_type: self.int(ci, "OldProductType", p)?,
            new_product_type: self.int(ci, "NewProductType", p)?,
            system_metrics: self.int(ci, "SystemMetrics", p)?,
            client_version_major_number: self.int(ci, "ClientVersionMajorNumber", p)?,
            client_version_minor_number: self.int(ci, "ClientVersionMinorNumber", p)?,
            client_version_build_number: self.int(ci, "ClientVersionBuildNumber", p)?,
            client_version_qfe_number: self.int(ci, "ClientVersionQfeNumber", p)?,
            os_description: self.string(ci, "OSDescription"),
            oem: self.string(ci, "OEM"),
            device_type: self.string(ci, "DeviceType"),
            firmware_version: self.string(ci, "FirmwareVersion"),
            mobile_operator: self.string(ci, "MobileOperator"),
        })
    }

    fn start_category_scan(&self, el: &Element) -> Result<StartCategoryScanRequest, SoapError> {
        let path = Path::ROOT.child("requestedCategories");
        let item_path = path.child("CategoryRelationship");
        let requested_categories = self
            .items(el, "requestedCategories", "CategoryRelationship")
            .map(|c| {
                Ok(CategoryRelationship {
                    index_of_and_group: self.int(c, "IndexOfAndGroup", item_path)?.unwrap_or_default(),
                    category_id: self.guid(c, "CategoryId", item_path)?.unwrap_or_default(),
                })
            })
            .collect::<Result<_, SoapError>>()?;
        Ok(StartCategoryScanRequest { cookie: self.cookie(el, "cookie", Path::ROOT)?, requested_categories })
    }

    /// An id array of SyncUpdates' parameters: the lifted ids when [`id_arrays`] took the
    /// array out (the tree then holds it empty), else the tree's items.
    fn ids(&self, params: &Element, local: &str, p: Path<'_>, lifted: &mut Option<&mut Lifted>) -> Result<Vec<i32>, SoapError> {
        let from_tree = self.int_array(params, local, p)?;
        match lifted.as_mut().and_then(|l| l.take(local)) {
            Some(ids) if self.field(params, local).is_some() => Ok(ids),
            _ => Ok(from_tree),
        }
    }

    fn sync_updates(&self, el: &Element, mut lifted: Option<&mut Lifted>) -> Result<SyncUpdatesRequest, SoapError> {
        let cookie = self.cookie(el, "cookie", Path::ROOT)?;
        let p = Path::ROOT.child("parameters");
        // Real WSUS cannot serve a SyncUpdates without parameters either.
        let params = self.field(el, "parameters").ok_or_else(|| invalid(p, "missing"))?;
        let system_spec = match self.field(params, "SystemSpec") {
            Some(spec) => {
                let sp = p.child("SystemSpec");
                let dp = sp.child("Device");
                let devices = spec
                    .elements()
                    .filter(|d| self.named(d, "Device") && !is_nil(d))
                    .map(|d| self.device(d, dp))
                    .collect::<Result<Vec<_>, _>>()?;
                Some(devices)
            }
            None => None,
        };
        let products = self.field(params, "ProductsParameters");
        Ok(SyncUpdatesRequest {
            cookie,
            express_query: self.bool(params, "ExpressQuery", p)?.unwrap_or(false),
            installed_non_leaf_update_ids: self.ids(params, "InstalledNonLeafUpdateIDs", p, &mut lifted)?,
            other_cached_update_ids: self.ids(params, "OtherCachedUpdateIDs", p, &mut lifted)?,
            system_spec,
            cached_driver_ids: self.ids(params, "CachedDriverIDs", p, &mut lifted)?,
            skip_software_sync: self.bool(params, "SkipSoftwareSync", p)?.unwrap_or(false),
            filter_category_ids: {
                let fp = p.child("FilterCategoryIds");
                let ip = fp.child("CategoryIdentifier");
                self.items(params, "FilterCategoryIds", "CategoryIdentifier")
                    .filter_map(|c| self.guid(c, "Id", ip).transpose())
                    .collect::<Result<_, _>>()?
            },
            need_two_group_out_of_scope_updates: self
                .bool(params, "NeedTwoGroupOutOfScopeUpdates", p)?
                .unwrap_or(false),
            also_perform_regular_sync: self.bool(params, "AlsoPerformRegularSync", p)?,
            computer_spec_hardware_ids: match self.field(params, "ComputerSpec") {
                Some(spec) => self.guid_array(spec, "HardwareIDs", p.child("ComputerSpec"))?,
                None => Vec::new(),
            },
            feature_score_matching_key: self.string(params, "FeatureScoreMatchingKey"),
            device_attributes: products.and_then(|pp| self.string(pp, "DeviceAttributes")),
            caller_attributes: products.and_then(|pp| self.string(pp, "CallerAttributes")),
        })
    }

    fn device(&self, d: &Element, p: Path<'_>) -> Result<Device, SoapError> {
        let installed_driver = match self.field(d, "installedDriver") {
            Some(i) => {
                let ip = p.child("installedDriver");
                Some(InstalledDriver {
                    matching_id: self.string(i, "MatchingID"),
                    driver_ver_date: self.trimmed(i, "DriverVerDate"),
                    driver_ver_version: self.num(i, "DriverVerVersion", ip, "a long")?,
                    class: self.string(i, "Class"),
                    manufacturer: self.string(i, "Manufacturer"),
                    provider: self.string(i, "Provider"),
                    model: self.string(i, "Model"),
                    matching_computer_hwid: self.guid(i, "MatchingComputerHWID", ip)?,
                    driver_rank: self.int(i, "DriverRank", ip)?,
                    skip_provider_filtering: self.bool(i, "SkipProviderFiltering", ip)?,
                    is_generic: self.bool(i, "IsGeneric", ip)?,
                })
            }
            None => None,
        };
        // The WSDL names the array `extensionDriver` with `extensionDriver` items; native clients
        // send `extensionDrivers` with `ExtensionDriver` items. Take whichever is there.
        let mut extension_drivers = Vec::new();
        for array in d
            .elements()
            .filter(|e| (self.named(e, "extensionDriver") || self.named(e, "extensionDrivers")) && !is_nil(e))
        {
            let ap = p.child(&array.local);
            for x in array
                .elements()
                .filter(|e| (self.named(e, "ExtensionDriver") || self.named(e, "extensionDriver")) && !is_nil(e))
            {
                extension_drivers.push(ExtensionDriver {
                    extension_id: self.string(x, "ExtensionId"),
                    driver_ver_date: self.trimmed(x, "DriverVerDate"),
                    driver_ver_version: self.num(x, "DriverVerVersion", ap, "a long")?,
                    class: self.string(x, "Class"),
                    driver_rank: self.int(x, "DriverRank", ap)?,
                    matching_computer_hwid: self.guid(x, "MatchingComputerHWID", ap)?,
                });
            }
        }
        Ok(Device {
            hardware_ids: self.string_array(d, "HardwareIDs", "string"),
            compatible_ids: self.string_array(d, "CompatibleIDs", "string"),
            installed_driver,
            extension_drivers,
            driver_recovery_ids: self.string_array(d, "DriverRecoveryIDs", "DriverRecoveryID"),
            device_flags: self.num(d, "DeviceFlags", p, "an unsignedByte")?,
        })
    }

    fn events(&self, el: &Element) -> Result<Vec<ReportingEvent>, SoapError> {
        let p = Path::ROOT.child("eventBatch");
        let ep = p.child("ReportingEvent");
        self.items(el, "eventBatch", "ReportingEvent").map(|e| self.event(e, ep)).collect()
    }

    fn event(&self, e: &Element, p: Path<'_>) -> Result<ReportingEvent, SoapError> {
        let basic = match self.field(e, "BasicData") {
            Some(b) => {
                let bp = p.child("BasicData");
                BasicData {
                    target_id: self.field(b, "TargetID").and_then(|t| self.string(t, "Sid")),
                    sequence_number: self.int(b, "SequenceNumber", bp)?.unwrap_or_default(),
                    time_at_target: self.trimmed(b, "TimeAtTarget"),
                    event_instance_id: self.guid(b, "EventInstanceID", bp)?,
                    namespace_id: self.int(b, "NamespaceID", bp)?.unwrap_or_default(),
                    event_id: self.int(b, "EventID", bp)?.unwrap_or_default(),
                    source_id: self.int(b, "SourceID", bp)?.unwrap_or_default(),
                    update_id: match self.field(b, "UpdateID") {
                        Some(u) => Some(self.identity(u, bp.child("UpdateID"))?),
                        None => None,
                    },
                    // A client that renders the HRESULT unsigned means the same 32 bits.
                    win32_hresult: match self.num::<i64>(b, "Win32HResult", bp, "an int")? {
                        None => 0,
                        Some(v) => i32::try_from(v)
                            .or_else(|_| u32::try_from(v).map(|u| u as i32))
                            .map_err(|_| invalid(bp.child("Win32HResult"), format!("{v} is out of range")))?,
                    },
                    app_name: self.string(b, "AppName"),
                }
            }
            None => BasicData::default(),
        };
        let extended = match self.field(e, "ExtendedData") {
            Some(x) => {
                let xp = p.child("ExtendedData");
                Some(ExtendedData {
                    replacement_strings: self.string_array(x, "ReplacementStrings", "string"),
                    misc_data: self.string_array(x, "MiscData", "string"),
                    computer_brand: self.string(x, "ComputerBrand"),
                    computer_model: self.string(x, "ComputerModel"),
                    bios_revision: self.string(x, "BiosRevision"),
                    processor_architecture: self.trimmed(x, "ProcessorArchitecture"),
                    os_version: match self.field(x, "OSVersion") {
                        Some(v) => {
                            let vp = xp.child("OSVersion");
                            Some(OsVersion {
                                major: self.int(v, "Major", vp)?.unwrap_or_default(),
                                minor: self.int(v, "Minor", vp)?.unwrap_or_default(),
                                build: self.int(v, "Build", vp)?.unwrap_or_default(),
                                revision: self.int(v, "Revision", vp)?.unwrap_or_default(),
                                service_pack_major: self.int(v, "ServicePackMajor", vp)?.unwrap_or_default(),
                                service_pack_minor: self.int(v, "ServicePackMinor", vp)?.unwrap_or_default(),
                            })
                        }
                        None => None,
                    },
                    os_locale_id: self.int(x, "OSLocaleID", xp)?,
                    device_id: self.string(x, "DeviceID"),
                })
            }
            None => None,
        };
        let private = self.field(e, "PrivateData").map(|pd| PrivateData {
            computer_dns_name: self.string(pd, "ComputerDnsName"),
            user_account_name: self.string(pd, "UserAccountName"),
        });
        Ok(ReportingEvent { basic, extended, private })
    }
}
