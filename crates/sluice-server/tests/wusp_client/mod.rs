//! A Windows client's side of MS-WUSP for tests over real HTTP: native request bodies from the
//! `wsus-m0-native` capture with only the values that must change substituted, a fault reader
//! that shares nothing with the server's codec, and a server with a seeded catalog.
#![allow(dead_code, unused_imports)]

pub use std::time::Duration;

pub use base64::Engine;
pub use reqwest::header::{HeaderMap, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE};
pub use sluice_metadata::publish::{category_xml, software_update_xml, CategorySpec, PublishSpec};
pub use sluice_metadata::{CommandLineInstall, ReturnCode, ReturnResult, UpdateFile};
pub use sluice_decide::cookie::{ClientCookie, CookieKeys};
pub use sluice_testkit::server::{Setup, TestServer};
pub use time::OffsetDateTime;
pub use tokio::io::{AsyncReadExt, AsyncWriteExt};
pub use tokio::net::TcpStream;
pub use uuid::Uuid;

pub const CLIENT_PATH: &str = "/ClientWebService/client.asmx";
pub const SIMPLE_AUTH_PATH: &str = "/SimpleAuthWebService/SimpleAuth.asmx";
pub const REPORTING_PATH: &str = "/ReportingWebService/ReportingWebService.asmx";
pub const SOAP_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const CLIENT_NS: &str = "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService";
pub const SYNC_ACTION: &str = "\"http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/SyncUpdates\"";
pub const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

// ---------------------------------------------------------------- request bodies

/// A native client's request body from the capture.
pub fn native(exchange: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/wsus-native/wsus-m0-native")
        .join(exchange)
        .join("request.body");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Replaces the content of the first `<tag>…</tag>` (the tag must be there: a fixture that
/// lost it would otherwise silently test something else).
pub fn set(xml: &str, tag: &str, inner: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open).unwrap_or_else(|| panic!("no <{tag}> in the request")) + open.len();
    let end = start + xml[start..].find(&close).unwrap_or_else(|| panic!("no </{tag}>"));
    format!("{}{inner}{}", &xml[..start], &xml[end..])
}

/// Removes the first `<tag>…</tag>` element.
pub fn remove(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open).unwrap_or_else(|| panic!("no <{tag}> in the request"));
    let end = start + xml[start..].find(&close).unwrap_or_else(|| panic!("no </{tag}>")) + close.len();
    format!("{}{}", &xml[..start], &xml[end..])
}

pub fn ints(ids: &[i32]) -> String {
    ids.iter().map(|i| format!("<int>{i}</int>")).collect()
}

pub fn get_config_body() -> String {
    native("scan/000001")
}

pub fn auth_cookie_body(client_id: &str) -> String {
    set(&native("scan/000002"), "clientId", client_id)
}

pub fn get_cookie_body(auth_cookie: &str, last_change: &str) -> String {
    set(&set(&native("scan/000003"), "CookieData", auth_cookie), "lastChange", last_change)
}

pub fn register_body(cookie: &str) -> String {
    set(&native("scan/000004"), "EncryptedData", cookie)
}

/// The native full software pass (no category filter) with our cookie and id lists.
pub fn sync_body(cookie: &str, installed: &[i32], other: &[i32]) -> String {
    let b = set(&native("flow/000001"), "EncryptedData", cookie);
    let b = set(&b, "InstalledNonLeafUpdateIDs", &ints(installed));
    set(&b, "OtherCachedUpdateIDs", &ints(other))
}

/// The native driver pass: `SystemSpec` with 20-odd devices and `SkipSoftwareSync` true.
pub fn driver_pass_body(cookie: &str, installed: &[i32]) -> String {
    let b = set(&native("flow/000014"), "EncryptedData", cookie);
    set(&b, "InstalledNonLeafUpdateIDs", &ints(installed))
}

pub fn extended_info_body(cookie: &str, revision_ids: &[i32]) -> String {
    set(&set(&native("scan/000010"), "EncryptedData", cookie), "revisionIDs", &ints(revision_ids))
}

pub fn report_body(cookie: &str) -> String {
    set(&native("flow/000016"), "EncryptedData", cookie)
}

pub fn envelope(inner: &str) -> String {
    format!(r#"<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body>{inner}</s:Body></s:Envelope>"#)
}

// ---------------------------------------------------------------- reading responses

/// The text of the first element named `local` (any prefix), entities resolved; `<x/>` is "".
pub fn element_text(xml: &str, local: &str) -> Option<String> {
    let mut rest = xml;
    while let Some(lt) = rest.find('<') {
        let tag = &rest[lt + 1..];
        let name_end = tag.find(|c: char| c == '>' || c == '/' || c.is_whitespace()).unwrap_or(tag.len());
        let qname = &tag[..name_end];
        let this_local = qname.rsplit(':').next().unwrap_or(qname);
        if this_local == local && !qname.is_empty() {
            let gt = tag.find('>')?;
            if tag[..gt].ends_with('/') {
                return Some(String::new());
            }
            let body = &tag[gt + 1..];
            let close = format!("</{qname}>");
            let end = body.find(&close)?;
            return Some(unescape(&body[..end]));
        }
        rest = &rest[lt + 1..];
    }
    None
}

/// At most the first 1,500 characters, for assertion messages.
pub fn short(s: &str) -> &str {
    match s.char_indices().nth(1_500) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

pub fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

/// Every occurrence of `<tag>…</tag>` (exact qualified name), in order.
pub fn all_texts(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        rest = &rest[i + open.len()..];
        let end = rest.find(&close).expect("unclosed element");
        out.push(unescape(&rest[..end]));
        rest = &rest[end..];
    }
    out
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    /// The bytes as sent.
    pub wire: Vec<u8>,
    /// The bytes after undoing any xpress content coding.
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 response")
    }

    pub fn content_encoding(&self) -> Option<&str> {
        self.headers.get(CONTENT_ENCODING).map(|v| v.to_str().unwrap())
    }

    #[track_caller]
    pub fn ok(&self) -> String {
        assert_eq!(self.status, 200, "expected success, got {}: {}", self.status, short(&String::from_utf8_lossy(&self.body)));
        self.text()
    }
}

/// A SOAP fault as a client reads it.
#[derive(Debug)]
pub struct SoapFault {
    pub fault_code: String,
    pub error_code: String,
    pub message: String,
    pub method: Option<String>,
    /// The envelope carries an XML declaration and the `soap:` prefix (ASMX style).
    pub asmx_style: bool,
}

#[track_caller]
pub fn fault_of(r: &Reply) -> SoapFault {
    let xml = r.text();
    assert_eq!(r.status, 500, "a fault goes out with HTTP 500: {}", short(&xml));
    let ct = r.headers.get(CONTENT_TYPE).map(|v| v.to_str().unwrap().to_ascii_lowercase()).unwrap_or_default();
    assert!(ct.starts_with("text/xml"), "fault content type {ct:?}");
    assert!(xml.contains(&format!("=\"{SOAP_ENV}\"")), "not a SOAP 1.1 envelope: {}", short(&xml));
    assert!(xml.contains(":Fault>"), "no Fault element: {}", short(&xml));
    let detail = element_text(&xml, "detail").unwrap_or_else(|| panic!("a WSUS fault has a detail: {}", short(&xml)));
    SoapFault {
        fault_code: element_text(&xml, "faultcode").expect("faultcode"),
        error_code: element_text(&detail, "ErrorCode").unwrap_or_else(|| panic!("no ErrorCode in {}", short(&xml))),
        message: element_text(&detail, "Message").unwrap_or_default(),
        method: element_text(&detail, "Method"),
        asmx_style: xml.starts_with("<?xml") && xml.contains("<soap:Envelope"),
    }
}

/// Asserts a fault with this WSUS error code and returns it.
#[track_caller]
pub fn expect_fault(r: &Reply, error_code: &str) -> SoapFault {
    let f = fault_of(r);
    assert_eq!(f.error_code, error_code, "{f:?}");
    // Only a failure of the server itself is `Server`; everything a client can act on is
    // `Client`, which is what makes WUA follow the ErrorCode instead of backing off.
    assert_eq!(f.fault_code.rsplit(':').next(), Some("Client"), "{f:?}");
    f
}

// ---------------------------------------------------------------- the server

pub struct Harness {
    pub server: TestServer,
    pub http: reqwest::Client,
    pub base: String,
}

/// What the seeded catalog holds.
pub struct Seeded {
    pub product: i32,
    pub classification: i32,
    pub leaves: Vec<i32>,
    /// A leaf's file, stored in the content store.
    pub file_url_path: String,
    pub file_bytes: Vec<u8>,
}

impl Harness {
    pub async fn start() -> Harness {
        Harness::on(sluice_testkit::server::start().await)
    }

    pub fn on(server: TestServer) -> Harness {
        // One pooled keep-alive client for everything, as WUA keeps its connection: a request
        // that broke the connection state would show up in the requests after it.
        let http = reqwest::Client::builder().pool_max_idle_per_host(1).build().unwrap();
        Harness { base: server.client_url(), server, http }
    }

    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>, xpress: bool) -> Reply {
        let mut req = self.http.post(format!("{}{path}", self.base)).header(CONTENT_TYPE, "text/xml; charset=utf-8").body(body);
        if xpress {
            req = req.header(ACCEPT_ENCODING, "xpress");
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let wire = resp.bytes().await.unwrap_or_else(|e| panic!("POST {path} body: {e}")).to_vec();
        let body = match headers.get(CONTENT_ENCODING).map(|v| v.to_str().unwrap()) {
            Some("xpress") => sluice_xpress::decompress(&wire).expect("the xpress body decodes"),
            Some(other) => panic!("unexpected content coding {other}"),
            None => wire.clone(),
        };
        Reply { status, headers, wire, body }
    }

    pub async fn post(&self, path: &str, body: String) -> Reply {
        self.post_raw(path, body, false).await
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut req = self.http.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let wire = resp.bytes().await.unwrap().to_vec();
        Reply { status, headers, body: wire.clone(), wire }
    }

    /// GetConfig's `LastChange`, which the client echoes in GetCookie.
    pub async fn config_last_change(&self) -> String {
        let xml = self.post(CLIENT_PATH, get_config_body()).await.ok();
        assert_eq!(element_text(&xml, "Name").as_deref(), Some("MaxExtendedUpdatesPerRequest"), "{xml}");
        element_text(&xml, "LastChange").expect("LastChange")
    }

    pub async fn auth_cookie(&self, client_id: &str) -> String {
        let xml = self.post(SIMPLE_AUTH_PATH, auth_cookie_body(client_id)).await.ok();
        element_text(&xml, "CookieData").expect("CookieData")
    }

    /// The cookie (`EncryptedData`, base64) of a fresh handshake for `client_id`.
    pub async fn handshake(&self, client_id: &str) -> String {
        let last_change = self.config_last_change().await;
        let auth = self.auth_cookie(client_id).await;
        let xml = self.post(CLIENT_PATH, get_cookie_body(&auth, &last_change)).await.ok();
        element_text(&xml, "EncryptedData").expect("EncryptedData")
    }

    /// Handshake plus RegisterComputer.
    pub async fn registered(&self, client_id: &str) -> String {
        let cookie = self.handshake(client_id).await;
        self.post(CLIENT_PATH, register_body(&cookie)).await.ok();
        cookie
    }

    /// The server's own cookie keys, read back from where it keeps them, so a test can seal
    /// cookies the server must tell apart by their content alone.
    pub async fn keys(&self, server_id: Option<Uuid>) -> CookieKeys {
        let store = &self.server.state.store;
        let sluice_store::CookieKey(key) =
            store.setting(sluice_store::settings::COOKIE_KEY).await.unwrap().expect("cookie key setting");
        let own_id =
            store.setting(sluice_store::settings::CLIENT_FACING_SERVER_ID).await.unwrap().expect("server id setting");
        CookieKeys::new(key, server_id.unwrap_or(own_id))
    }

    pub fn config_last_change_ms(&self) -> i64 {
        (self.server.state.scan.config_last_change().unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// A product, a classification and 60 leaves in both, each with a ~3 KB applicability
    /// rule (so a page of 30 spans several xpress blocks) and a file.
    pub async fn seed(&self) -> Seeded {
        let product = Uuid::from_u128(0x5b6a_7c8d_0000_4000_8000_0000_0000_0001);
        let classification = Uuid::from_u128(0x5b6a_7c8d_0000_4000_8000_0000_0000_0002);
        let mut docs = vec![
            (
                "product.xml".to_string(),
                category_xml(&CategorySpec {
                    update_id: product,
                    revision_number: 100,
                    title: "Contoso Agent".into(),
                    category_type: "Product".into(),
                    parent: None,
                    creation_date: "2026-11-25T12:00:00.000Z".into(),
                })
                .into_bytes(),
            ),
            (
                "classification.xml".to_string(),
                category_xml(&CategorySpec {
                    update_id: classification,
                    revision_number: 100,
                    title: "Contoso Security Updates".into(),
                    category_type: "UpdateClassification".into(),
                    parent: None,
                    creation_date: "2026-11-25T12:00:00.000Z".into(),
                })
                .into_bytes(),
            ),
        ];
        let file_bytes: Vec<u8> = b"Contoso Agent payload, highly compressible. ".repeat(2_000);
        let file_sha1: [u8; 20] = {
            use sha1::Digest;
            sha1::Sha1::digest(&file_bytes).into()
        };
        let file_sha256: [u8; 32] = {
            use sha2::Digest;
            sha2::Sha256::digest(&file_bytes).into()
        };
        for i in 0..60u32 {
            let id = Uuid::from_u128(0x5b6a_7c8d_0001_4000_8000_0000_0000_0000 + i as u128);
            let checks: String = (0..40)
                .map(|k| format!(r#"<bar:RegKeyExists Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Contoso\Agent\Component{k}\Build{i}" />"#))
                .collect();
            let (sha1, sha256, size) = if i == 0 {
                (file_sha1, file_sha256, file_bytes.len() as u64)
            } else {
                let mut d = [0u8; 20];
                d[..16].copy_from_slice(id.as_bytes());
                (d, [i as u8; 32], 10_000 + i as u64)
            };
            let spec = PublishSpec {
                update_id: id,
                revision_number: 200,
                language: "en".into(),
                title: format!("Security Update for Contoso Agent (KB{})", 5_100_000 + i),
                description: Some("Install this update to resolve issues in Contoso Agent.".into()),
                kb_article: Some((5_100_000 + i).to_string()),
                msrc_number: None,
                msrc_severity: None,
                classification: Some(classification),
                products: vec![product],
                creation_date: "2026-11-25T12:00:00.000Z".into(),
                file: Some(UpdateFile {
                    file_name: format!("contoso-{i}.exe"),
                    size,
                    modified: Some("2026-11-25T12:00:00Z".into()),
                    sha1,
                    sha256: Some(sha256),
                    patching_type: None,
                }),
                command_line: Some(CommandLineInstall {
                    program: format!("contoso-{i}.exe"),
                    arguments: Some("/quiet".into()),
                    reboot_by_default: None,
                    default_result: None,
                    return_codes: vec![ReturnCode { code: 0, result: ReturnResult::Succeeded, reboot: false, description: None }],
                }),
                installed_rule: Some(format!("<lar:Or>{checks}</lar:Or>")),
                installable_rule: Some(r#"<bar:WindowsVersion Comparison="GreaterThanOrEqualTo" MajorVersion="10" />"#.into()),
                prerequisites: vec![],
                supersedes: vec![],
                reboot_behavior: None,
            };
            docs.push((format!("{id}.xml"), software_update_xml(&spec).into_bytes()));
        }
        let imported = self.server.state.catalog.import_documents(docs).await.unwrap();
        let stored = self
            .server
            .state
            .content
            .put_verified(
                &file_bytes[..],
                &sluice_content::ExpectedFile {
                    sha1: file_sha1,
                    sha256: Some(file_sha256),
                    size: Some(file_bytes.len() as u64),
                    file_name: "contoso-0.exe".into(),
                },
            )
            .await
            .unwrap();
        // Imported behind the admin API's back: tell the scan state, as the admin API does.
        self.server.state.scan.invalidate();
        let ids: Vec<i32> = imported.iter().map(|r| r.revision_id as i32).collect();
        Seeded {
            product: ids[0],
            classification: ids[1],
            leaves: ids[2..].to_vec(),
            file_url_path: format!("/{}", stored.url_path),
            file_bytes,
        }
    }
}

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

pub fn client_cookie(computer_id: &str, config_ms: i64, expires_at: OffsetDateTime) -> ClientCookie {
    ClientCookie {
        computer_id: computer_id.into(),
        requested_groups: vec![],
        protocol_version: "2.90".into(),
        config_last_change_ms: config_ms,
        issued_at: expires_at - time::Duration::hours(1),
        expires_at,
        deployment_watermark_ms: 0,
        groups_digest: 0,
    }
}

// ---------------------------------------------------------------- reporting

pub const REPORTING_NS: &str = "http://www.microsoft.com/SoftwareDistribution";

/// A reporting event as WUA sends it, for `computer_id`, naming `update` (the nil GUID for
/// none), with `misc` as the MiscData strings (e.g. event 156's `<string>U=…</string>`).
pub fn event(computer_id: &str, event_id: u32, update: Uuid, misc: &str) -> String {
    format!(
        r#"<ReportingEvent><BasicData><TargetID><Sid>{computer_id}</Sid></TargetID><SequenceNumber>0</SequenceNumber><TimeAtTarget>2026-11-25T12:00:00Z</TimeAtTarget><EventInstanceID>{}</EventInstanceID><NamespaceID>1</NamespaceID><EventID>{event_id}</EventID><SourceID>101</SourceID><UpdateID><UpdateID>{update}</UpdateID><RevisionNumber>200</RevisionNumber></UpdateID><Win32HResult>0</Win32HResult><AppName>AutomaticUpdates</AppName></BasicData><ExtendedData><ReplacementStrings><string>Contoso</string></ReplacementStrings><MiscData>{misc}</MiscData><ProcessorArchitecture>Amd64Compatible</ProcessorArchitecture></ExtendedData><PrivateData/></ReportingEvent>"#,
        Uuid::new_v4()
    )
}

/// A ReportEventBatch carrying `events` under the client cookie `cookie`.
pub fn report_batch(cookie: &str, events: &str) -> String {
    envelope(&format!(
        r#"<ReportEventBatch xmlns="{REPORTING_NS}"><cookie><Expiration>2026-11-25T13:00:00Z</Expiration><EncryptedData>{cookie}</EncryptedData></cookie><clientTime>2026-11-25T12:00:01Z</clientTime><eventBatch>{events}</eventBatch></ReportEventBatch>"#
    ))
}

/// The cookie-less ReportEventBatch2 naming `computer_id`.
pub fn report_batch2(computer_id: &str, events: &str) -> String {
    envelope(&format!(
        r#"<ReportEventBatch2 xmlns="{REPORTING_NS}"><computerId>{computer_id}</computerId><clientTime>2026-11-25T12:00:01Z</clientTime><eventBatch>{events}</eventBatch></ReportEventBatch2>"#
    ))
}
