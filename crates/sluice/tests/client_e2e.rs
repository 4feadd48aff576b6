//! End to end over loopback, the way a Windows client meets the server: an administrator
//! publishes, approves for a computer group and declines with the real CLI; a protocol-level
//! client with client-side targeting registers, scans round by round, fetches extended
//! information, downloads the file by 1 MiB ranges and verifies it, and reports the install;
//! `sluice status` then shows the update installed on that computer.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Command;

use base64::Engine;
use sha1::Digest as _;
use sluice_xml::Element;

const BIN: &str = env!("CARGO_BIN_EXE_sluice");
const CWS: &str = "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService";
const SAUTH: &str = "http://www.microsoft.com/SoftwareDistribution/Server/SimpleAuthWebService";
const REPORTING: &str = "http://www.microsoft.com/SoftwareDistribution";

fn cli(admin: &str, token: &str, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env("SLUICE_SERVER", admin)
        .env("SLUICE_TOKEN", token)
        .output()
        .expect("run sluice");
    assert!(out.status.success(), "sluice {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A minimal Windows Update client: real request shapes (see tests/fixtures/wsus-native),
/// xpress accepted, responses parsed by namespace.
struct Client {
    http: reqwest::Client,
    base: String,
    cookie: Option<(String, String)>,
}

fn text_of(el: &Element, ns: &str, name: &str) -> Option<String> {
    el.child(ns, name).map(|e| e.text())
}

fn descend<'a>(el: &'a Element, path: &[&str], ns: &str) -> &'a Element {
    let mut cur = el;
    for p in path {
        cur = cur.child(ns, p).unwrap_or_else(|| panic!("no {p} in {}", cur.local));
    }
    cur
}

impl Client {
    async fn call(&self, path: &str, action: &str, body: &str) -> Element {
        let envelope = format!(r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>{body}</s:Body></s:Envelope>"#);
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", format!("\"{action}\""))
            .header("Accept-Encoding", "xpress")
            .header("User-Agent", "Windows-Update-Agent/1507.2601.30012.0 Client-Protocol/2.90")
            .body(envelope)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let xpress = resp.headers().get("content-encoding").is_some_and(|v| v == "xpress");
        let bytes = resp.bytes().await.unwrap();
        let bytes = if xpress { sluice_xpress::decompress(&bytes).expect("valid xpress") } else { bytes.to_vec() };
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(status, 200, "{action}: {text}");
        let env = sluice_xml::parse(&text, "response").unwrap();
        let body = env.child("http://schemas.xmlsoap.org/soap/envelope/", "Body").unwrap();
        body.elements().next().unwrap().clone()
    }

    fn cookie_xml(&self) -> String {
        let (exp, data) = self.cookie.as_ref().expect("have a cookie");
        format!("<cookie><Expiration>{exp}</Expiration><EncryptedData>{data}</EncryptedData></cookie>")
    }

    fn take_cookie(&mut self, el: &Element) {
        self.cookie = Some((text_of(el, CWS, "Expiration").unwrap(), text_of(el, CWS, "EncryptedData").unwrap()));
    }
}

#[derive(Debug, Clone)]
struct Offered {
    id: i32,
    action: String,
    is_leaf: bool,
    update_id: String,
    core: String,
}

fn parse_update_infos(list: Option<&Element>) -> Vec<Offered> {
    let Some(list) = list else { return Vec::new() };
    list.children_named(CWS, "UpdateInfo")
        .map(|u| {
            let core = text_of(u, CWS, "Xml").unwrap();
            let start = core.find("UpdateID=\"").unwrap() + 10;
            Offered {
                id: text_of(u, CWS, "ID").unwrap().parse().unwrap(),
                action: text_of(u.child(CWS, "Deployment").unwrap(), CWS, "Action").unwrap(),
                is_leaf: text_of(u, CWS, "IsLeaf").unwrap() == "true",
                update_id: core[start..start + 36].to_lowercase(),
                core,
            }
        })
        .collect()
}

fn ints(name: &str, ids: &[i32]) -> String {
    if ids.is_empty() {
        return String::new();
    }
    let mut s = format!("<{name}>");
    for i in ids {
        s.push_str(&format!("<int>{i}</int>"));
    }
    s.push_str(&format!("</{name}>"));
    s
}

fn publish(admin: &str, token: &str, dir: &Path, name: &str, title: &str, size: usize, seed: u32) -> (String, Vec<u8>) {
    let payload: Vec<u8> = (0..size as u32).map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed) >> 24) as u8).collect();
    let file = dir.join(name);
    std::fs::write(&file, &payload).unwrap();
    let id = cli(
        admin,
        token,
        &[
            "publish", "--file", file.to_str().unwrap(), "--title", title, "--classification", "Updates", "--product", "Contoso Agent",
            "--command-line", "/quiet", "--installed-rule",
            r#"<bar:RegKeyExists Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Contoso\Agent" />"#,
        ],
    );
    (id.trim().to_string(), payload)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_approve_scan_download_install_report() {
    let server = sluice_testkit::server::start().await;
    let admin = server.admin_url();
    let token = server.admin_token.clone();
    let (a, t, d) = (admin.clone(), token.clone(), server.dir().to_path_buf());
    let (approved, payload, unapproved, declined) = tokio::task::spawn_blocking(move || {
        cli(&a, &t, &["targeting", "set", "client"]);
        cli(&a, &t, &["groups", "create", "Ring 1"]);
        let (approved, payload) = publish(&a, &t, &d, "contoso-agent.exe", "Contoso Agent 5.1", 2_621_440 + 12_345, 1);
        let (unapproved, _) = publish(&a, &t, &d, "contoso-tools.exe", "Contoso Tools 2.0", 70_000, 2);
        let (declined, _) = publish(&a, &t, &d, "contoso-old.exe", "Contoso Agent 4.9", 50_000, 3);
        cli(&a, &t, &["approve", &approved, "--group", "Ring 1", "--deadline", "2030-01-01T00:00:00Z"]);
        cli(&a, &t, &["decline", &declined]);
        (approved, payload, unapproved, declined)
    })
    .await
    .unwrap();

    let mut c = Client { http: reqwest::Client::new(), base: server.client_url(), cookie: None };
    let computer_id = "6f1c2a3b-0000-4000-8000-00000000e2e1";

    // Handshake: GetConfig, GetAuthorizationCookie with a target group, GetCookie, RegisterComputer.
    let cfg = c.call("/ClientWebService/client.asmx", &format!("{CWS}/GetConfig"), &format!(r#"<GetConfig xmlns="{CWS}"><protocolVersion>2.90</protocolVersion></GetConfig>"#)).await;
    let last_change = text_of(cfg.child(CWS, "GetConfigResult").unwrap(), CWS, "LastChange").unwrap();
    let auth = c
        .call(
            "/simpleauthwebservice/simpleauth.asmx",
            &format!("{SAUTH}/GetAuthorizationCookie"),
            &format!(r#"<GetAuthorizationCookie xmlns="{SAUTH}"><clientId>{computer_id}</clientId><targetGroupName>Ring 1</targetGroupName><dnsName>pc-e2e.contoso.test</dnsName></GetAuthorizationCookie>"#),
        )
        .await;
    let auth_data = text_of(descend(&auth, &["GetAuthorizationCookieResult"], SAUTH), SAUTH, "CookieData").unwrap();
    let now = "2026-11-25T12:00:00.000Z";
    let cookie = c
        .call(
            "/ClientWebService/client.asmx",
            &format!("{CWS}/GetCookie"),
            &format!(r#"<GetCookie xmlns="{CWS}"><authCookies><AuthorizationCookie><PlugInId>SimpleTargeting</PlugInId><CookieData>{auth_data}</CookieData></AuthorizationCookie></authCookies><oldCookie><Expiration>{now}</Expiration></oldCookie><lastChange>{last_change}</lastChange><currentTime>{now}</currentTime><protocolVersion>2.90</protocolVersion></GetCookie>"#),
        )
        .await;
    c.take_cookie(cookie.child(CWS, "GetCookieResult").unwrap());
    c.call(
        "/ClientWebService/client.asmx",
        &format!("{CWS}/RegisterComputer"),
        &format!(r#"<RegisterComputer xmlns="{CWS}">{}<computerInfo><DnsName>pc-e2e.contoso.test</DnsName><OSMajorVersion>10</OSMajorVersion><OSMinorVersion>0</OSMinorVersion><OSBuildNumber>26200</OSBuildNumber><OSServicePackMajorNumber>0</OSServicePackMajorNumber><OSServicePackMinorNumber>0</OSServicePackMinorNumber><OSLocale>en-US</OSLocale><ComputerManufacturer>QEMU</ComputerManufacturer><ComputerModel>Standard PC</ComputerModel><BiosVersion>1.0</BiosVersion><BiosName>EDK II</BiosName><BiosReleaseDate>2022-02-02T00:00:00</BiosReleaseDate><ProcessorArchitecture>AMD64</ProcessorArchitecture><SuiteMask>256</SuiteMask><OldProductType>1</OldProductType><NewProductType>48</NewProductType><SystemMetrics>0</SystemMetrics><ClientVersionMajorNumber>1507</ClientVersionMajorNumber><ClientVersionMinorNumber>2601</ClientVersionMinorNumber><ClientVersionBuildNumber>30012</ClientVersionBuildNumber><ClientVersionQfeNumber>0</ClientVersionQfeNumber><OSDescription>Windows 11 Pro</OSDescription></computerInfo></RegisterComputer>"#, c.cookie_xml()),
    )
    .await;

    // Scan rounds, as WUA runs them: everything non-leaf it evaluates installed (categories
    // are installed by definition; our published updates' IsInstalled rule is false here).
    let mut installed: Vec<i32> = Vec::new();
    let mut other: Vec<i32> = Vec::new();
    let mut offered: HashMap<String, Offered> = HashMap::new();
    let mut rounds = 0;
    loop {
        rounds += 1;
        assert!(rounds < 20, "the scan converges");
        let body = format!(
            r#"<SyncUpdates xmlns="{CWS}">{}<parameters><ExpressQuery>false</ExpressQuery>{}{}<SkipSoftwareSync>false</SkipSoftwareSync><NeedTwoGroupOutOfScopeUpdates>true</NeedTwoGroupOutOfScopeUpdates><AlsoPerformRegularSync>false</AlsoPerformRegularSync><ComputerSpec/></parameters></SyncUpdates>"#,
            c.cookie_xml(),
            ints("InstalledNonLeafUpdateIDs", &installed),
            ints("OtherCachedUpdateIDs", &other)
        );
        let resp = c.call("/ClientWebService/client.asmx", &format!("{CWS}/SyncUpdates"), &body).await;
        let result = resp.child(CWS, "SyncUpdatesResult").unwrap();
        c.take_cookie(result.child(CWS, "NewCookie").unwrap());
        let new = parse_update_infos(result.child(CWS, "NewUpdates"));
        let truncated = text_of(result, CWS, "Truncated").unwrap() == "true";
        for u in &new {
            let category = u.core.contains("UpdateType=\"Category\"");
            if !u.is_leaf && category {
                installed.push(u.id);
            } else {
                other.push(u.id);
            }
            offered.insert(u.update_id.clone(), u.clone());
        }
        if new.is_empty() && !truncated {
            break;
        }
    }
    assert!(rounds >= 3, "categories arrive level by level, then the updates: {rounds} rounds");
    let got = offered.get(&approved).expect("the approved update is offered");
    assert_eq!(got.action, "Install");
    assert!(got.is_leaf);
    assert_eq!(offered.get(&unapproved).expect("the unapproved update is visible").action, "PreDeploymentCheck");
    assert!(!offered.contains_key(&declined), "a declined update is not sent at all");
    for (id, o) in &offered {
        if o.core.contains("UpdateType=\"Category\"") {
            assert_eq!(o.action, "Evaluate", "category {id}");
        }
    }

    // The driver pass: nothing, and no driver matching needed.
    let drv = c
        .call(
            "/ClientWebService/client.asmx",
            &format!("{CWS}/SyncUpdates"),
            &format!(r#"<SyncUpdates xmlns="{CWS}">{}<parameters><ExpressQuery>false</ExpressQuery>{}<SkipSoftwareSync>true</SkipSoftwareSync><SystemSpec><Device><HardwareIDs><string>PCI\VEN_1234</string></HardwareIDs></Device></SystemSpec><NeedTwoGroupOutOfScopeUpdates>true</NeedTwoGroupOutOfScopeUpdates></parameters></SyncUpdates>"#, c.cookie_xml(), ints("InstalledNonLeafUpdateIDs", &installed)),
        )
        .await;
    let drv = drv.child(CWS, "SyncUpdatesResult").unwrap();
    assert!(drv.child(CWS, "NewUpdates").is_none());
    assert_eq!(text_of(drv, CWS, "DriverSyncNotNeeded").as_deref(), Some("true"));

    // Extended information and the file's location.
    let rid = got.id;
    let ext = c
        .call(
            "/ClientWebService/client.asmx",
            &format!("{CWS}/GetExtendedUpdateInfo"),
            &format!(r#"<GetExtendedUpdateInfo xmlns="{CWS}">{}<revisionIDs><int>{rid}</int></revisionIDs><infoTypes><XmlUpdateFragmentType>Extended</XmlUpdateFragmentType><XmlUpdateFragmentType>LocalizedProperties</XmlUpdateFragmentType></infoTypes><locales><string>en-US</string><string>en</string></locales></GetExtendedUpdateInfo>"#, c.cookie_xml()),
        )
        .await;
    let info = ext.child(CWS, "GetExtendedUpdateInfoResult").unwrap();
    let fragments: Vec<String> = descend(info, &["Updates"], CWS).children_named(CWS, "Update").map(|u| text_of(u, CWS, "Xml").unwrap()).collect();
    assert_eq!(fragments.len(), 2, "{fragments:?}");
    let extended = &fragments[0];
    assert!(extended.starts_with("<ExtendedProperties"), "{extended}");
    assert!(fragments[1].contains("<Title>Contoso Agent 5.1</Title>"));
    let attr = |s: &str, name: &str| -> String {
        let start = s.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        s[start..start + s[start..].find('"').unwrap()].to_string()
    };
    let sha1_b64 = attr(extended, "Digest");
    let size: usize = attr(extended, "Size").parse().unwrap();
    let sha256_b64 = {
        let start = extended.find("<AdditionalDigest Algorithm=\"SHA256\">").unwrap() + 37;
        extended[start..start + extended[start..].find('<').unwrap()].to_string()
    };
    let loc = descend(info, &["FileLocations", "FileLocation"], CWS);
    assert_eq!(text_of(loc, CWS, "FileDigest").unwrap(), sha1_b64);
    let url = text_of(loc, CWS, "Url").unwrap();
    assert!(url.starts_with(&format!("http://{}/Content/", server.client_addr)), "{url}");

    // Download as Delivery Optimization does: closed 1 MiB ranges, out of order.
    let mut starts: Vec<usize> = (0..size).step_by(1 << 20).collect();
    starts.reverse();
    let mut file = vec![0u8; size];
    for start in starts {
        let end = (start + (1 << 20)).min(size) - 1;
        let r = reqwest::Client::new().get(&url).header("Range", format!("bytes={start}-{end}")).send().await.unwrap();
        assert_eq!(r.status(), 206);
        assert_eq!(r.headers()["content-range"].to_str().unwrap(), format!("bytes {start}-{end}/{size}"));
        assert!(r.headers().get("content-encoding").is_none(), "content is never compressed");
        file[start..=end].copy_from_slice(&r.bytes().await.unwrap());
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    assert_eq!(b64.encode(sha1::Sha1::digest(&file)), sha1_b64);
    assert_eq!(b64.encode(sha2::Sha256::digest(&file)), sha256_b64);
    assert_eq!(file, payload);

    // Report the download and the install, then the client status (event 156).
    let event = |id: u32, update: &str, misc: &str| {
        format!(r#"<ReportingEvent><BasicData><TargetID><Sid>{computer_id}</Sid></TargetID><SequenceNumber>0</SequenceNumber><TimeAtTarget>2026-11-25T12:00:00Z</TimeAtTarget><EventInstanceID>{}</EventInstanceID><NamespaceID>1</NamespaceID><EventID>{id}</EventID><SourceID>101</SourceID><UpdateID><UpdateID>{update}</UpdateID><RevisionNumber>1</RevisionNumber></UpdateID><Win32HResult>0</Win32HResult><AppName>AutomaticUpdates</AppName></BasicData><ExtendedData><ReplacementStrings><string>Contoso</string></ReplacementStrings><MiscData>{misc}</MiscData><ProcessorArchitecture>Amd64Compatible</ProcessorArchitecture></ExtendedData><PrivateData/></ReportingEvent>"#, uuid::Uuid::new_v4())
    };
    let (exp, data) = c.cookie.clone().unwrap();
    let nil = "00000000-0000-0000-0000-000000000000";
    let batch = format!(
        r#"<ReportEventBatch xmlns="{REPORTING}"><cookie><Expiration>{exp}</Expiration><EncryptedData>{data}</EncryptedData></cookie><clientTime>2026-11-25T12:00:01Z</clientTime><eventBatch>{}{}{}{}</eventBatch></ReportEventBatch>"#,
        event(162, &approved, "<string>B=2633785</string>"),
        event(183, &approved, ""),
        event(147, nil, "<string>D=1</string>"),
        event(156, nil, &format!("<string>U={}</string><string>V={}</string>", unapproved.to_uppercase(), approved.to_uppercase())),
    );
    let rep = c.call("/ReportingWebService/ReportingWebService.asmx", &format!("{REPORTING}/ReportEventBatch"), &batch).await;
    assert_eq!(text_of(&rep, REPORTING, "ReportEventBatchResult").as_deref(), Some("true"));

    let (a, t, ap, un) = (admin.clone(), token.clone(), approved.clone(), unapproved.clone());
    let (status, unstatus, computers) = tokio::task::spawn_blocking(move || {
        (
            cli(&a, &t, &["status", "--update", &ap, "--json"]),
            cli(&a, &t, &["status", "--update", &un, "--json"]),
            cli(&a, &t, &["computers", "list", "--group", "Ring 1", "--json"]),
        )
    })
    .await
    .unwrap();
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let text = status.to_string();
    assert!(text.contains(computer_id), "{text}");
    assert_eq!(status["updates"][0]["counts"]["installed"], 1, "{text}");
    let unstatus: serde_json::Value = serde_json::from_str(&unstatus).unwrap();
    assert_eq!(unstatus["updates"][0]["counts"]["not_installed"], 1, "{unstatus}");
    assert!(computers.contains("pc-e2e.contoso.test"), "client-side targeting put it in Ring 1: {computers}");

    // A second scan with everything cached brings nothing new and drops nothing.
    let body = format!(
        r#"<SyncUpdates xmlns="{CWS}">{}<parameters><ExpressQuery>false</ExpressQuery>{}{}<SkipSoftwareSync>false</SkipSoftwareSync><NeedTwoGroupOutOfScopeUpdates>true</NeedTwoGroupOutOfScopeUpdates></parameters></SyncUpdates>"#,
        c.cookie_xml(),
        ints("InstalledNonLeafUpdateIDs", &installed),
        ints("OtherCachedUpdateIDs", &other)
    );
    let resp = c.call("/ClientWebService/client.asmx", &format!("{CWS}/SyncUpdates"), &body).await;
    let result = resp.child(CWS, "SyncUpdatesResult").unwrap();
    assert!(result.child(CWS, "NewUpdates").is_none());
    assert!(result.child(CWS, "OutOfScopeRevisionIDs").is_none());
    let unique: HashSet<i32> = installed.iter().chain(other.iter()).copied().collect();
    assert_eq!(unique.len(), installed.len() + other.len(), "no revision was sent twice");
    let computer = server.state.store.get_computer(computer_id).await.unwrap().unwrap();
    assert!(computer.last_sync_time.is_some(), "the finished scan recorded the sync time");
    server.shutdown().await.unwrap();
}
