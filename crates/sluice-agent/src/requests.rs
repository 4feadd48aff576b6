//! Request bodies and headers exactly as the Windows Update Agent of Windows 11 25H2 writes
//! them (element names, order, omissions), from the real captures in
//! `tests/fixtures/wsus-native/`. Values differ; shapes do not.

use sluice_xml::escape_text;

pub const CLIENT_NS: &str = "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService";
pub const SIMPLE_AUTH_NS: &str = "http://www.microsoft.com/SoftwareDistribution/Server/SimpleAuthWebService";
pub const REPORTING_NS: &str = "http://www.microsoft.com/SoftwareDistribution";

pub const CLIENT_PATH: &str = "/ClientWebService/client.asmx";
pub const SIMPLE_AUTH_PATH: &str = "/SimpleAuthWebService/SimpleAuth.asmx";
pub const REPORTING_PATH: &str = "/ReportingWebService/ReportingWebService.asmx";

/// The version the native agent announces; also written into its User-Agent.
pub const PROTOCOL_VERSION: &str = "2.90";
pub const USER_AGENT: &str = "Windows-Update-Agent/1507.2601.30012.0 Client-Protocol/2.90";

/// A request ready to send.
#[derive(Debug, Clone)]
pub struct SoapCall {
    pub path: &'static str,
    pub action: String,
    pub body: String,
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_text(s, &mut out);
    out
}

fn envelope(inner: &str) -> String {
    format!(r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>{inner}</s:Body></s:Envelope>"#)
}

fn call(path: &'static str, ns: &str, op: &str, inner: String) -> SoapCall {
    SoapCall { path, action: format!("{ns}/{op}"), body: envelope(&inner) }
}

/// The client cookie as the agent holds it: the clear-text expiry and the opaque data (base64).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CookieText {
    pub expiration: String,
    pub encrypted_data: String,
}

fn cookie_xml(c: &CookieText) -> String {
    format!("<cookie><Expiration>{}</Expiration><EncryptedData>{}</EncryptedData></cookie>", esc(&c.expiration), esc(&c.encrypted_data))
}

fn int_array(name: &str, ids: &[i32]) -> String {
    // The native agent omits an empty array instead of writing `<X/>`.
    if ids.is_empty() {
        return String::new();
    }
    let mut s = String::with_capacity(ids.len() * 16 + 64);
    s.push('<');
    s.push_str(name);
    s.push('>');
    for i in ids {
        s.push_str("<int>");
        s.push_str(&i.to_string());
        s.push_str("</int>");
    }
    s.push_str("</");
    s.push_str(name);
    s.push('>');
    s
}

pub fn get_config() -> SoapCall {
    call(CLIENT_PATH, CLIENT_NS, "GetConfig", format!(r#"<GetConfig xmlns="{CLIENT_NS}"><protocolVersion>{PROTOCOL_VERSION}</protocolVersion></GetConfig>"#))
}

pub fn get_authorization_cookie(client_id: &str, target_group: Option<&str>, dns_name: &str) -> SoapCall {
    let group = target_group.map(|g| format!("<targetGroupName>{}</targetGroupName>", esc(g))).unwrap_or_default();
    call(
        SIMPLE_AUTH_PATH,
        SIMPLE_AUTH_NS,
        "GetAuthorizationCookie",
        format!(
            r#"<GetAuthorizationCookie xmlns="{SIMPLE_AUTH_NS}"><clientId>{}</clientId>{group}<dnsName>{}</dnsName></GetAuthorizationCookie>"#,
            esc(client_id),
            esc(dns_name)
        ),
    )
}

/// `old`: the cookie being renewed, so the server can carry its state over; without one the
/// native agent sends an oldCookie holding only the current time as Expiration.
pub fn get_cookie(auth_cookie_data: &str, old: Option<&CookieText>, last_change: &str, now: &str) -> SoapCall {
    let old = match old {
        Some(c) => format!("<oldCookie><Expiration>{}</Expiration><EncryptedData>{}</EncryptedData></oldCookie>", esc(&c.expiration), esc(&c.encrypted_data)),
        None => format!("<oldCookie><Expiration>{now}</Expiration></oldCookie>"),
    };
    call(
        CLIENT_PATH,
        CLIENT_NS,
        "GetCookie",
        format!(
            r#"<GetCookie xmlns="{CLIENT_NS}"><authCookies><AuthorizationCookie><PlugInId>SimpleTargeting</PlugInId><CookieData>{}</CookieData></AuthorizationCookie></authCookies>{old}<lastChange>{}</lastChange><currentTime>{now}</currentTime><protocolVersion>{PROTOCOL_VERSION}</protocolVersion></GetCookie>"#,
            esc(auth_cookie_data),
            esc(last_change)
        ),
    )
}

/// What RegisterComputer reports about the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputerInfo {
    pub dns_name: String,
    pub os_major: u32,
    pub os_minor: u32,
    pub os_build: u32,
    pub locale: String,
    pub manufacturer: String,
    pub model: String,
    pub processor_architecture: String,
    pub os_description: String,
}

pub fn register_computer(cookie: &CookieText, c: &ComputerInfo) -> SoapCall {
    let e = |s: &str| esc(s);
    call(
        CLIENT_PATH,
        CLIENT_NS,
        "RegisterComputer",
        format!(
            "<RegisterComputer xmlns=\"{CLIENT_NS}\">{}<computerInfo><DnsName>{}</DnsName><OSMajorVersion>{}</OSMajorVersion><OSMinorVersion>{}</OSMinorVersion><OSBuildNumber>{}</OSBuildNumber><OSServicePackMajorNumber>0</OSServicePackMajorNumber><OSServicePackMinorNumber>0</OSServicePackMinorNumber><OSLocale>{}</OSLocale><ComputerManufacturer>{}</ComputerManufacturer><ComputerModel>{}</ComputerModel><BiosVersion>unknown</BiosVersion><BiosName>unknown</BiosName><BiosReleaseDate>2022-02-02T00:00:00Z</BiosReleaseDate><ProcessorArchitecture>{}</ProcessorArchitecture><SuiteMask>256</SuiteMask><OldProductType>1</OldProductType><NewProductType>48</NewProductType><SystemMetrics>0</SystemMetrics><ClientVersionMajorNumber>1507</ClientVersionMajorNumber><ClientVersionMinorNumber>2601</ClientVersionMinorNumber><ClientVersionBuildNumber>30012</ClientVersionBuildNumber><ClientVersionQfeNumber>0</ClientVersionQfeNumber><OSDescription>{}</OSDescription><OEM>{}</OEM><DeviceType>{}</DeviceType><FirmwareVersion>unknown</FirmwareVersion><MobileOperator>Not Present</MobileOperator></computerInfo></RegisterComputer>",
            cookie_xml(cookie),
            e(&c.dns_name), c.os_major, c.os_minor, c.os_build, e(&c.locale), e(&c.manufacturer), e(&c.model),
            e(&c.processor_architecture), e(&c.os_description), e(&c.manufacturer), e(&c.model)
        ),
    )
}

/// Device attributes and caller attributes the agent sends in ProductsParameters.
fn products_parameters(device_attributes: &str, caller: &str) -> String {
    format!(
        "<ProductsParameters><SyncCurrentVersionOnly>false</SyncCurrentVersionOnly><DeviceAttributes>{}</DeviceAttributes><CallerAttributes>{}</CallerAttributes><Products/></ProductsParameters>",
        esc(device_attributes),
        esc(caller)
    )
}

/// The software pass of SyncUpdates.
pub fn sync_updates(cookie: &CookieText, installed_non_leaf: &[i32], other_cached: &[i32], device_attributes: &str) -> SoapCall {
    call(
        CLIENT_PATH,
        CLIENT_NS,
        "SyncUpdates",
        format!(
            "<SyncUpdates xmlns=\"{CLIENT_NS}\">{}<parameters><ExpressQuery>false</ExpressQuery>{}{}<SkipSoftwareSync>false</SkipSoftwareSync><NeedTwoGroupOutOfScopeUpdates>true</NeedTwoGroupOutOfScopeUpdates><AlsoPerformRegularSync>true</AlsoPerformRegularSync><ComputerSpec/>{}</parameters></SyncUpdates>",
            cookie_xml(cookie),
            int_array("InstalledNonLeafUpdateIDs", installed_non_leaf),
            int_array("OtherCachedUpdateIDs", other_cached),
            products_parameters(device_attributes, "Interactive=0;SheddingAware=1;Id=sluice-agent;")
        ),
    )
}

/// The driver pass of SyncUpdates: one device (the machine's printer class driver, as in the
/// capture) and the computer hardware id.
pub fn sync_drivers(cookie: &CookieText, installed_non_leaf: &[i32], cached_drivers: &[i32], computer_hwid: &str, device_attributes: &str) -> SoapCall {
    call(
        CLIENT_PATH,
        CLIENT_NS,
        "SyncUpdates",
        format!(
            "<SyncUpdates xmlns=\"{CLIENT_NS}\">{}<parameters><ExpressQuery>false</ExpressQuery>{}<SystemSpec><Device><HardwareIDs><string>{{6d170653-5280-44c2-ba44-2c04bc9d46da}}</string></HardwareIDs><installedDriver><MatchingID>{{6d170653-5280-44c2-ba44-2c04bc9d46da}}</MatchingID><DriverVerDate>2006-06-21T00:00:00Z</DriverVerDate><DriverVerVersion>2814751477604196</DriverVerVersion><Class>Printer</Class><Manufacturer>Microsoft</Manufacturer><Provider>Microsoft</Provider><Model>Universal Print Class Driver</Model><MatchingComputerHWID a:nil=\"true\" xmlns:a=\"http://www.w3.org/2001/XMLSchema-instance\"/><DriverRank>-1</DriverRank></installedDriver><DeviceFlags>1</DeviceFlags></Device></SystemSpec>{}<SkipSoftwareSync>true</SkipSoftwareSync><NeedTwoGroupOutOfScopeUpdates>true</NeedTwoGroupOutOfScopeUpdates><AlsoPerformRegularSync>false</AlsoPerformRegularSync><ComputerSpec><HardwareIDs><guid>{}</guid></HardwareIDs></ComputerSpec><FeatureScoreMatchingKey>AMD64.10.0</FeatureScoreMatchingKey>{}</parameters></SyncUpdates>",
            cookie_xml(cookie),
            int_array("InstalledNonLeafUpdateIDs", installed_non_leaf),
            int_array("CachedDriverIDs", cached_drivers),
            esc(computer_hwid),
            products_parameters(device_attributes, "Interactive=0;SheddingAware=1;Id=sluice-agent;")
        ),
    )
}

pub fn get_extended_update_info(cookie: &CookieText, revision_ids: &[i32], locale: &str, device_attributes: &str) -> SoapCall {
    call(
        CLIENT_PATH,
        CLIENT_NS,
        "GetExtendedUpdateInfo",
        format!(
            "<GetExtendedUpdateInfo xmlns=\"{CLIENT_NS}\">{}{}<infoTypes><XmlUpdateFragmentType>Extended</XmlUpdateFragmentType><XmlUpdateFragmentType>LocalizedProperties</XmlUpdateFragmentType></infoTypes><locales><string>{}</string><string>en</string></locales><deviceAttributes>{}</deviceAttributes><GeoId>USA</GeoId><callerAttributes>Interactive=0;SheddingAware=1;Id=sluice-agent;</callerAttributes></GetExtendedUpdateInfo>",
            cookie_xml(cookie),
            int_array("revisionIDs", revision_ids),
            esc(locale),
            esc(device_attributes)
        ),
    )
}

/// RefreshCache (MS-WUSP 3.1.5.8): the identities of the cached revisions, sent after the
/// handshake that follows InvalidCookie or ServerChanged so the server maps them to its own
/// revision ids. The native agent never sent it in the captures; the element structure is the
/// WSDL's, as in the spec's own example (spec-examples/ms-wusp/10-RefreshCache-request.xml).
pub fn refresh_cache(cookie: &CookieText, global_ids: &[(String, i32)]) -> SoapCall {
    let mut ids = String::with_capacity(global_ids.len() * 120 + 32);
    if !global_ids.is_empty() {
        ids.push_str("<globalIDs>");
        for (update_id, revision_number) in global_ids {
            ids.push_str(&format!(
                "<UpdateIdentity><UpdateID>{}</UpdateID><RevisionNumber>{revision_number}</RevisionNumber></UpdateIdentity>",
                esc(&update_id.to_ascii_lowercase())
            ));
        }
        ids.push_str("</globalIDs>");
    }
    call(CLIENT_PATH, CLIENT_NS, "RefreshCache", format!("<RefreshCache xmlns=\"{CLIENT_NS}\">{}{ids}</RefreshCache>", cookie_xml(cookie)))
}

/// One reporting event, as `ReportingEvent` with BasicData, ExtendedData and PrivateData.
#[derive(Debug, Clone)]
pub struct Event {
    pub event_id: u32,
    pub update: Option<(String, i32)>,
    pub hresult: i32,
    pub replacement_strings: Vec<String>,
    pub misc: Vec<String>,
    pub time: String,
}

pub fn report_event_batch(cookie: &CookieText, computer_id: &str, client_time: &str, events: &[Event], brand: &str, model: &str) -> SoapCall {
    let mut batch = String::with_capacity(events.len() * 1500);
    for e in events {
        let (uid, rev) = e.update.clone().unwrap_or_else(|| ("00000000-0000-0000-0000-000000000000".into(), 0));
        batch.push_str(&format!(
            "<ReportingEvent><BasicData><TargetID><Sid>{}</Sid></TargetID><SequenceNumber>0</SequenceNumber><TimeAtTarget>{}</TimeAtTarget><EventInstanceID>{}</EventInstanceID><NamespaceID>1</NamespaceID><EventID>{}</EventID><SourceID>101</SourceID><UpdateID><UpdateID>{}</UpdateID><RevisionNumber>{}</RevisionNumber></UpdateID><Win32HResult>{}</Win32HResult><AppName>sluice-agent</AppName></BasicData><ExtendedData><ReplacementStrings>",
            esc(computer_id), esc(&e.time), uuid::Uuid::new_v4(), e.event_id, uid, rev, e.hresult
        ));
        for r in &e.replacement_strings {
            batch.push_str(&format!("<string>{}</string>", esc(r)));
        }
        batch.push_str("</ReplacementStrings><MiscData>");
        for m in &e.misc {
            batch.push_str(&format!("<string>{}</string>", esc(m)));
        }
        batch.push_str(&format!(
            "</MiscData><ComputerBrand>{}</ComputerBrand><ComputerModel>{}</ComputerModel><BiosRevision>unknown</BiosRevision><ProcessorArchitecture>Amd64Compatible</ProcessorArchitecture><OSVersion><Major>10</Major><Minor>0</Minor><Build>26200</Build><Revision>65792</Revision><ServicePackMajor>0</ServicePackMajor><ServicePackMinor>0</ServicePackMinor></OSVersion><OSLocaleID>1033</OSLocaleID></ExtendedData><PrivateData/></ReportingEvent>",
            esc(brand), esc(model)
        ));
    }
    call(
        REPORTING_PATH,
        REPORTING_NS,
        "ReportEventBatch",
        format!(
            "<ReportEventBatch xmlns=\"{REPORTING_NS}\"><cookie><Expiration>{}</Expiration><EncryptedData>{}</EncryptedData></cookie><clientTime>{}</clientTime><eventBatch>{batch}</eventBatch></ReportEventBatch>",
            esc(&cookie.expiration),
            esc(&cookie.encrypted_data),
            esc(client_time)
        ),
    )
}
