//! Server-side changes that clients must learn of without rescanning from scratch, and the
//! simulated agent's recovery from the cookie faults a server raises (issue #8, items 5, 6 and
//! 11), all over real HTTP on loopback against a running server: SOAP on the client port, the
//! JSON admin API with its bearer token for the changes.

use std::sync::Arc;

use base64::Engine;
use sluice_agent::agent::{Agent, Evaluator, MachineState, ScanReport};
use sluice_agent::profile::{Profile, RulesEvaluator};
use sluice_agent::requests::{self, CookieText};
use sluice_agent::wire::{self, child, children, text_at, WireError};
use sluice_decide::cookie::{ClientCookie, CookieKeys};
use sluice_testkit::server::TestServer;
use time::OffsetDateTime;
use uuid::Uuid;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const ATTRS: &str = "ActivationChannel=Retail;App=WU_OS;DeviceFamily=Windows.Desktop;";

struct Server {
    running: TestServer,
    base: String,
    admin: String,
    http: reqwest::Client,
    soap: wire::SoapClient,
}

impl Server {
    async fn start() -> Server {
        Server::around(sluice_testkit::server::start().await, reqwest::Client::new(), wire::soap_client())
    }

    fn around(running: TestServer, http: reqwest::Client, soap: wire::SoapClient) -> Server {
        Server { base: running.client_url(), admin: running.api(""), running, http, soap }
    }

    /// Stops the server and starts it again on the same data directory.
    async fn restart(self) -> Server {
        let Server { running, http, soap, .. } = self;
        Server::around(running.restart().await, http, soap)
    }

    /// One admin API call; returns the status and the JSON answer.
    async fn admin(&self, method: reqwest::Method, path: impl std::fmt::Display, body: Option<serde_json::Value>) -> (u16, serde_json::Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.admin)).bearer_auth(&self.running.admin_token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
    }

    async fn soap(&self, call: &requests::SoapCall) -> Result<sluice_xml::Element, WireError> {
        wire::send(&self.soap, &self.base, call, "cv.1").await.map(|(el, _, _)| el)
    }

    /// A published update with a file in the content store and an IsInstalled rule this
    /// machine does not meet, so the agent finds it needed.
    async fn publish(&self, title: &str) -> String {
        use sha1::Digest as _;
        let payload: Vec<u8> = title.bytes().cycle().take(4096).collect();
        let req = sluice_catalog::api::PublishRequest {
            title: title.into(),
            product: Some("Contoso Agent".into()),
            installed_rule: Some(format!(r#"<bar:RegKeyExists Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Contoso\{title}" />"#)),
            file: Some(sluice_catalog::api::PublishFile {
                name: format!("{title}.exe"),
                size: payload.len() as u64,
                sha1: hex::encode(sha1::Sha1::digest(&payload)),
                sha256: hex::encode(sha2::Sha256::digest(&payload)),
            }),
            ..Default::default()
        };
        let detail = self.running.state.catalog.publish(req, std::io::Cursor::new(payload)).await.unwrap();
        // Published behind the admin API's back: tell the scan state, as the admin API does.
        self.running.state.scan.invalidate();
        detail.summary.update_id.to_lowercase()
    }

    async fn approve(&self, update: &str, action: &str) {
        let body = serde_json::json!({ "update": update, "group": "All Computers", "action": action });
        let (status, v) = self.admin(reqwest::Method::POST, "/approvals", Some(body)).await;
        assert_eq!(status, 200, "{v}");
    }

    async fn set_targeting(&self, mode: &str) -> (u16, serde_json::Value) {
        self.admin(reqwest::Method::PUT, "/settings/targeting", Some(serde_json::json!({ "mode": mode }))).await
    }

    /// The server's own cookie keys, read from where it keeps them, so that a test can seal
    /// the cookies a client may hold in situations hard to reach otherwise.
    async fn keys(&self, server_id: Option<Uuid>) -> CookieKeys {
        let store = &self.running.state.store;
        let sluice_store::CookieKey(key) = store.setting(sluice_store::settings::COOKIE_KEY).await.unwrap().unwrap();
        let own = store.setting(sluice_store::settings::CLIENT_FACING_SERVER_ID).await.unwrap().unwrap();
        CookieKeys::new(key, server_id.unwrap_or(own))
    }
}

fn fault_code(r: Result<sluice_xml::Element, WireError>) -> String {
    match r {
        Err(WireError::Fault { code, .. }) => code,
        Err(e) => panic!("expected a WSUS fault, got {e}"),
        Ok(el) => panic!("expected a WSUS fault, got an answer: {el:?}"),
    }
}

fn last_change(config: &sluice_xml::Element) -> String {
    text_at(config, &["GetConfigResult", "LastChange"]).expect("LastChange")
}

fn cookie_of(el: Option<&sluice_xml::Element>) -> CookieText {
    let el = el.expect("a cookie in the answer");
    CookieText { expiration: text_at(el, &["Expiration"]).unwrap(), encrypted_data: text_at(el, &["EncryptedData"]).unwrap() }
}

/// GetAuthorizationCookie and GetCookie, echoing `last_change` and renewing `old`.
async fn get_cookie(s: &Server, client_id: &str, old: Option<&CookieText>, last_change: &str) -> CookieText {
    let auth = s.soap(&requests::get_authorization_cookie(client_id, None, "pc1.contoso.test")).await.unwrap();
    let data = text_at(&auth, &["GetAuthorizationCookieResult", "CookieData"]).unwrap();
    let now = OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap();
    let c = s.soap(&requests::get_cookie(&data, old, last_change, &now)).await.unwrap();
    cookie_of(child(&c, "GetCookieResult"))
}

fn agent(base: &str) -> Agent {
    let profile = Profile::builtin();
    let ev: Arc<dyn Evaluator> = Arc::new(RulesEvaluator::new(&profile));
    Agent::new(base, profile.computer_info("pc1.contoso.test"), ev, MachineState { computer_id: Uuid::new_v4().to_string(), ..Default::default() })
}

// ------------------------------------------------------------------ item 5

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_5_targeting_mode_change_raises_config_changed() {
    let s = Server::start().await;
    s.publish("contoso-agent").await;
    let client_id = Uuid::new_v4().to_string();
    let cfg = s.soap(&requests::get_config()).await.unwrap();
    let first = last_change(&cfg);
    let cookie = get_cookie(&s, &client_id, None, &first).await;
    s.soap(&requests::register_computer(&cookie, &Profile::builtin().computer_info("pc1.contoso.test"))).await.unwrap();
    let sync = |c: &CookieText| requests::sync_updates(c, &[], &[], ATTRS);
    s.soap(&sync(&cookie)).await.unwrap();

    // Bad input changes nothing: an unknown mode is refused with a JSON error, and neither the
    // configuration nor the client's cookie moves. Setting the mode in force is no change.
    let (status, v) = s.set_targeting("sideways").await;
    assert!((400..500).contains(&status), "{status} {v}");
    assert!(v["error"]["message"].is_string(), "{v}");
    let (status, v) = s.set_targeting("server").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(last_change(&s.soap(&requests::get_config()).await.unwrap()), first);
    s.soap(&sync(&cookie)).await.unwrap();

    let store = &s.running.state.store;
    let synced_before = store.get_computer(&client_id).await.unwrap().unwrap().last_sync_time;
    let (status, v) = s.set_targeting("client").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["mode"], "client");

    // The very next SyncUpdates with the cookie of the old configuration: ConfigChanged
    // (MS-WUSP 3.1.5.7), an answer that records nothing for the computer.
    assert_eq!(fault_code(s.soap(&sync(&cookie)).await), "ConfigChanged");
    assert_eq!(store.get_computer(&client_id).await.unwrap().unwrap().last_sync_time, synced_before);
    // Renewing without a new GetConfig echoes the old LastChange: still the old configuration.
    let stale = get_cookie(&s, &client_id, Some(&cookie), &first).await;
    assert_eq!(fault_code(s.soap(&sync(&stale)).await), "ConfigChanged");

    // GetConfig announces the new configuration; a cookie for it works again.
    let second = last_change(&s.soap(&requests::get_config()).await.unwrap());
    let (a, b) = (sluice_soap::parse_datetime(&first).unwrap(), sluice_soap::parse_datetime(&second).unwrap());
    assert!(b > a, "LastChange moved on: {first} then {second}");
    let renewed = get_cookie(&s, &client_id, Some(&cookie), &second).await;
    s.soap(&sync(&renewed)).await.unwrap();

    // Kept in the store's settings: a restart announces the same configuration, and cookies
    // issued for it stay good.
    let s = s.restart().await;
    assert_eq!(last_change(&s.soap(&requests::get_config()).await.unwrap()), second);
    s.soap(&sync(&renewed)).await.unwrap();
    s.running.shutdown().await.unwrap();
}

// ------------------------------------------------------------------ item 6

/// One incremental SyncUpdates with the agent's cookie and cache, as its next scan sends it.
async fn incremental(s: &Server, a: &Agent) -> sluice_xml::Element {
    let c = a.state.cookie.clone().expect("the agent holds a cookie");
    let resp = s.soap(&requests::sync_updates(&c, &a.state.installed_non_leaf, &a.state.other_cached, ATTRS)).await.unwrap();
    child(&resp, "SyncUpdatesResult").expect("SyncUpdatesResult").clone()
}

/// (revision id, deployment id, action) of every UpdateInfo in a list of the answer.
fn infos(result: &sluice_xml::Element, list: &str) -> Vec<(i32, String, String)> {
    child(result, list)
        .map(|l| {
            children(l, "UpdateInfo")
                .map(|u| {
                    (
                        text_at(u, &["ID"]).unwrap().parse().unwrap(),
                        text_at(u, &["Deployment", "ID"]).unwrap(),
                        text_at(u, &["Deployment", "Action"]).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn ints(result: &sluice_xml::Element, list: &str) -> Vec<i32> {
    child(result, list).map(|l| children(l, "int").map(|i| i.text().parse().unwrap()).collect()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_6_removed_approval_reaches_clients_incrementally() {
    let s = Server::start().await;
    let update = s.publish("contoso-agent").await;
    // Never approved: removing an approval of it is bad input.
    let other = s.publish("contoso-tools").await;
    s.approve(&update, "install").await;
    let mut a = agent(&s.base);
    let mut report = ScanReport::default();
    a.sync(&mut report).await.unwrap();
    let (revision, cached) = a.state.revisions.iter().find(|(_, r)| r.update_id.eq_ignore_ascii_case(&update)).map(|(i, r)| (*i, r.clone())).unwrap();
    assert_eq!(cached.action, "Install");
    assert!(a.state.other_cached.contains(&revision) || a.state.installed_non_leaf.contains(&revision));

    // Nothing changed: the incremental sync has nothing for it.
    let r = incremental(&s, &a).await;
    assert!(infos(&r, "ChangedUpdates").is_empty() && infos(&r, "NewUpdates").is_empty(), "{r:?}");

    // Bad input writes nothing: removing an approval that is not there, or naming an unknown
    // group or a malformed update id, is refused and records no removal.
    let delete = |q: String| s.admin(reqwest::Method::DELETE, format!("/approvals?{q}"), None);
    let (status, v) = delete(format!("update={update}&group=Pilot")).await;
    assert_eq!(status, 404, "{v}");
    let (status, v) = delete(format!("update={other}&group=All%20Computers")).await;
    assert_eq!(status, 404, "{v}");
    let (status, v) = delete("update=not-a-guid&group=All%20Computers".into()).await;
    assert!((400..500).contains(&status), "{status} {v}");
    assert!(s.running.state.store.approval_removals().await.unwrap().is_empty());
    let r = incremental(&s, &a).await;
    assert!(infos(&r, "ChangedUpdates").is_empty(), "{r:?}");

    // The approval is removed. WSUS keeps a not-approved, non-declined update in scope as
    // detect-only (PreDeploymentCheck), with a new deployment whose change time is past the
    // client's watermark, so the cached revision comes back in ChangedUpdates (MS-WUSP
    // 3.1.5.7); it is not out of scope (only a decline or expiry does that).
    let (status, v) = delete(format!("update={update}&group=All%20Computers")).await;
    assert_eq!(status, 200, "{v}");
    let r = incremental(&s, &a).await;
    let changed = infos(&r, "ChangedUpdates");
    let entry = changed.iter().find(|(id, _, _)| *id == revision).unwrap_or_else(|| panic!("not in ChangedUpdates: {r:?}"));
    assert_eq!(entry.2, "PreDeploymentCheck");
    assert!(!ints(&r, "OutOfScopeRevisionIDs").contains(&revision));
    assert!(infos(&r, "NewUpdates").is_empty());
    let removals = s.running.state.store.approval_removals().await.unwrap();
    assert_eq!(removals.len(), 1);
    assert_eq!(removals[0].update_id.to_string(), update);

    // The agent takes the new deployment into its cache; then it is quiet again.
    a.sync(&mut ScanReport::default()).await.unwrap();
    assert_eq!(a.state.revisions[&revision].action, "PreDeploymentCheck");
    assert!(infos(&incremental(&s, &a).await, "ChangedUpdates").is_empty());

    // Any change of the group's approval action is a new deployment too: approved again, then
    // explicitly not approved.
    s.approve(&update, "install").await;
    let r = incremental(&s, &a).await;
    let installed = infos(&r, "ChangedUpdates").into_iter().find(|(id, _, _)| *id == revision).expect("approved again");
    assert_eq!(installed.2, "Install");
    a.sync(&mut ScanReport::default()).await.unwrap();
    s.approve(&update, "not-approved").await;
    let r = incremental(&s, &a).await;
    let not_approved = infos(&r, "ChangedUpdates").into_iter().find(|(id, _, _)| *id == revision).expect("not approved");
    assert_eq!(not_approved.2, "PreDeploymentCheck");
    assert_ne!(not_approved.1, entry.1, "a new deployment, not the one of the first removal");
    a.sync(&mut ScanReport::default()).await.unwrap();

    // A decline takes it out of scope.
    let (status, v) = s.admin(reqwest::Method::POST, format!("/updates/{update}/decline"), None).await;
    assert_eq!(status, 200, "{v}");
    let r = incremental(&s, &a).await;
    assert!(ints(&r, "OutOfScopeRevisionIDs").contains(&revision), "{r:?}");
    assert!(!infos(&r, "ChangedUpdates").iter().any(|(id, _, _)| *id == revision));
    s.running.shutdown().await.unwrap();
}

/// A computer moved into a group gets the group's approvals on its next page, even those older
/// than the newest deployment change it has already been sent (the cookie's watermark says
/// nothing about deployments decided for other groups).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_computer_gets_its_new_groups_older_approvals() {
    let s = Server::start().await;
    let for_pilot = s.publish("contoso-pilot-only").await;
    let for_everyone = s.publish("contoso-everyone").await;
    let (status, pilot) = s.admin(reqwest::Method::POST, "/groups", Some(serde_json::json!({ "name": "Pilot" }))).await;
    assert_eq!(status, 201, "{pilot}");
    let approve = |update: &str, group: &str| serde_json::json!({ "update": update, "group": group, "action": "install" });
    let (status, v) = s.admin(reqwest::Method::POST, "/approvals", Some(approve(&for_pilot, "Pilot"))).await;
    assert_eq!(status, 200, "{v}");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    // Newer than the Pilot approval: the client's watermark moves past it.
    let (status, v) = s.admin(reqwest::Method::POST, "/approvals", Some(approve(&for_everyone, "All Computers"))).await;
    assert_eq!(status, 200, "{v}");
    let mut a = agent(&s.base);
    a.sync(&mut ScanReport::default()).await.unwrap();
    let revision = a.state.revisions.iter().find(|(_, r)| r.update_id.eq_ignore_ascii_case(&for_pilot)).map(|(i, _)| *i).unwrap();
    assert_eq!(a.state.revisions[&revision].action, "PreDeploymentCheck");

    let (status, v) =
        s.admin(reqwest::Method::POST, format!("/computers/{}/move", a.state.computer_id), Some(serde_json::json!({ "groups": ["Pilot"] }))).await;
    assert_eq!(status, 200, "{v}");
    let r = incremental(&s, &a).await;
    let changed = infos(&r, "ChangedUpdates");
    assert!(changed.iter().any(|(id, _, action)| *id == revision && action == "Install"), "{r:?}");
    s.running.shutdown().await.unwrap();
}

// ------------------------------------------------------------------ issue 12, item 3

/// A SyncUpdates page takes the computer's registration and groups from the scan state, not
/// the store, and every change made through the admin API still reaches the very next page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_pages_read_no_computer_from_the_store_yet_see_every_change() {
    let s = Server::start().await;
    let update = s.publish("contoso-agent").await;
    let (status, pilot) = s.admin(reqwest::Method::POST, "/groups", Some(serde_json::json!({ "name": "Pilot" }))).await;
    assert_eq!(status, 201, "{pilot}");
    let body = serde_json::json!({ "update": update, "group": "Pilot", "action": "install" });
    let (status, v) = s.admin(reqwest::Method::POST, "/approvals", Some(body)).await;
    assert_eq!(status, 200, "{v}");
    let mut a = agent(&s.base);
    a.sync(&mut ScanReport::default()).await.unwrap();
    let revision = a.state.revisions.iter().find(|(_, r)| r.update_id.eq_ignore_ascii_case(&update)).map(|(i, _)| *i).unwrap();
    assert_eq!(a.state.revisions[&revision].action, "PreDeploymentCheck", "unassigned: not approved for it");

    // Moved into Pilot behind the scan state's back: the page does not read the store, so it
    // still answers for the groups it knew.
    let store = &s.running.state.store;
    let pilot_id: Uuid = pilot["id"].as_str().unwrap().parse().unwrap();
    store.set_computer_groups(&a.state.computer_id, &[pilot_id]).await.unwrap();
    let r = incremental(&s, &a).await;
    assert!(infos(&r, "ChangedUpdates").is_empty(), "{r:?}");

    // Moved through the admin API: the next page has the new deployment.
    let (status, v) =
        s.admin(reqwest::Method::POST, format!("/computers/{}/move", a.state.computer_id), Some(serde_json::json!({ "groups": ["Pilot"] }))).await;
    assert_eq!(status, 200, "{v}");
    let r = incremental(&s, &a).await;
    let changed = infos(&r, "ChangedUpdates");
    assert!(changed.iter().any(|(id, _, action)| *id == revision && action == "Install"), "{r:?}");
    a.sync(&mut ScanReport::default()).await.unwrap();

    // The computer's group deleted through the admin API: back to Unassigned Computers on the
    // next page, which offers the revision (left out of the cache it sends) detect-only again.
    let (status, v) = s.admin(reqwest::Method::DELETE, "/groups/Pilot", None).await;
    assert_eq!(status, 200, "{v}");
    let c = a.state.cookie.clone().unwrap();
    let others: Vec<i32> = a.state.other_cached.iter().copied().filter(|id| *id != revision).collect();
    let resp = s.soap(&requests::sync_updates(&c, &a.state.installed_non_leaf, &others, ATTRS)).await.unwrap();
    let r = child(&resp, "SyncUpdatesResult").unwrap();
    assert!(infos(r, "NewUpdates").iter().any(|(id, _, action)| *id == revision && action == "PreDeploymentCheck"), "{r:?}");

    // Removed from the store behind the scan state's back (another server sharing the
    // database): the page that ends the pass finds out and asks the client to register.
    store.delete_computer(&a.state.computer_id).await.unwrap();
    let c = a.state.cookie.clone().unwrap();
    let page = requests::sync_updates(&c, &a.state.installed_non_leaf, &a.state.other_cached, ATTRS);
    assert_eq!(fault_code(s.soap(&page).await), "RegistrationRequired");
    assert_eq!(fault_code(s.soap(&page).await), "RegistrationRequired", "and stays so");
    s.running.shutdown().await.unwrap();
}

// ------------------------------------------------------------------ item 11

/// A cookie the server itself sealed, for the agent's computer and the current configuration,
/// that expires (server-side) at `expires_at`. Its clear-text Expiration still looks valid to
/// the agent, as when the client's clock is behind the server's.
async fn sealed_cookie(s: &Server, a: &Agent, server_id: Option<Uuid>, expires_at: OffsetDateTime) -> CookieText {
    let keys = s.keys(server_id).await;
    let config_ms = (s.running.state.scan.config_last_change().unix_timestamp_nanos() / 1_000_000) as i64;
    let c = ClientCookie {
        computer_id: a.state.computer_id.clone(),
        requested_groups: vec![],
        protocol_version: requests::PROTOCOL_VERSION.into(),
        config_last_change_ms: config_ms,
        issued_at: expires_at - time::Duration::hours(1),
        expires_at,
        deployment_watermark_ms: 0,
        groups_digest: 0,
    };
    let later = OffsetDateTime::now_utc() + time::Duration::minutes(45);
    CookieText { expiration: later.format(&time::format_description::well_known::Rfc3339).unwrap(), encrypted_data: B64.encode(keys.seal_client(&c)) }
}

/// The first calls of a scan: the SyncUpdates that faulted, the recovery, and the retry.
fn recovery_calls(report: &ScanReport) -> Vec<&str> {
    report.calls.iter().map(String::as_str).take(6).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_11_agent_recovers_from_each_cookie_fault_and_completes_the_scan() {
    let s = Server::start().await;
    let update = s.publish("contoso-agent").await;
    s.approve(&update, "install").await;
    let mut a = agent(&s.base);
    let first = a.scan(false).await.unwrap();
    assert!(first.recoveries.is_empty(), "{:?}", first.recoveries);
    let cached = a.state.revisions.len();
    assert!(a.state.revisions.values().any(|r| r.update_id.eq_ignore_ascii_case(&update) && r.action == "Install"));

    // CookieExpired: GetAuthorizationCookie and GetCookie (the expired cookie as oldCookie),
    // no GetConfig, no RefreshCache.
    a.state.cookie = Some(sealed_cookie(&s, &a, None, OffsetDateTime::now_utc() - time::Duration::minutes(5)).await);
    let r = a.scan(false).await.unwrap();
    assert_eq!(r.recoveries, ["SyncUpdates: CookieExpired"]);
    assert_eq!(recovery_calls(&r)[..4], ["SyncUpdates", "GetAuthorizationCookie", "GetCookie", "SyncUpdates"], "{:?}", r.calls);
    assert_eq!(r.new_revisions, 0, "the cache carried over: {:?}", r.calls);

    // InvalidCookie: the cookie is dropped; GetConfig, GetAuthorizationCookie, GetCookie and
    // RefreshCache, which keeps every cached revision (none is a bundle member here).
    a.state.cookie = Some(CookieText { expiration: a.state.cookie.clone().unwrap().expiration, encrypted_data: B64.encode([7u8; 96]) });
    let r = a.scan(false).await.unwrap();
    assert_eq!(r.recoveries, ["SyncUpdates: InvalidCookie"]);
    assert_eq!(recovery_calls(&r), ["SyncUpdates", "GetConfig", "GetAuthorizationCookie", "GetCookie", "RefreshCache", "SyncUpdates"]);
    assert_eq!(r.refreshed, cached);
    assert_eq!(r.new_revisions, 0, "RefreshCache kept the cache: {:?}", r.calls);

    // ServerChanged (a cookie of another server instance): the same sequence; the cache is
    // mapped, not thrown away.
    a.state.cookie = Some(sealed_cookie(&s, &a, Some(Uuid::new_v4()), OffsetDateTime::now_utc() + time::Duration::minutes(30)).await);
    let r = a.scan(false).await.unwrap();
    assert_eq!(r.recoveries, ["SyncUpdates: ServerChanged"]);
    assert_eq!(recovery_calls(&r), ["SyncUpdates", "GetConfig", "GetAuthorizationCookie", "GetCookie", "RefreshCache", "SyncUpdates"]);
    assert_eq!(r.refreshed, cached);
    assert_eq!(r.new_revisions, 0);

    // ConfigChanged (the administrator changed the targeting mode): GetConfig,
    // GetAuthorizationCookie, GetCookie; no RefreshCache.
    let (status, v) = s.set_targeting("client").await;
    assert_eq!(status, 200, "{v}");
    let r = a.scan(false).await.unwrap();
    assert_eq!(r.recoveries, ["SyncUpdates: ConfigChanged"]);
    assert_eq!(recovery_calls(&r)[..5], ["SyncUpdates", "GetConfig", "GetAuthorizationCookie", "GetCookie", "SyncUpdates"], "{:?}", r.calls);
    assert!(a.state.revisions.values().any(|r| r.update_id.eq_ignore_ascii_case(&update) && r.action == "Install"));
    s.running.shutdown().await.unwrap();
}

/// A pass-through HTTP proxy in front of the server's client port that announces `max` as
/// GetConfig's MaxExtendedUpdatesPerRequest (every WSUS says 50, Sluice too) and records how
/// many revision ids each GetExtendedUpdateInfo carried.
async fn rewriting_proxy(target: String, max: &'static str) -> (String, Arc<std::sync::Mutex<Vec<usize>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        while let Ok((mut conn, _)) = listener.accept().await {
            let (http, target, record) = (http.clone(), target.clone(), record.clone());
            tokio::spawn(async move {
                let mut got: Vec<u8> = Vec::new();
                let mut buf = vec![0u8; 65536];
                loop {
                    let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&got[..end]).to_string();
                    let header = |name: &str| {
                        head.lines().find_map(|l| l.split_once(':').filter(|(n, _)| n.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_string()))
                    };
                    let len: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
                    while got.len() < end + 4 + len {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                    let body: Vec<u8> = got.drain(..end + 4 + len).skip(end + 4).collect();
                    let path = head.split(' ').nth(1).unwrap_or("/").to_string();
                    let action = header("soapaction").unwrap_or_default();
                    if action.ends_with("/GetExtendedUpdateInfo\"") {
                        let text = String::from_utf8_lossy(&body);
                        let ids = text.split("<revisionIDs>").nth(1).and_then(|r| r.split("</revisionIDs>").next()).unwrap_or("");
                        record.lock().unwrap().push(ids.matches("<int>").count());
                    }
                    // Without Accept-Encoding, so the answer can be read and rewritten.
                    let resp = http
                        .post(format!("{target}{path}"))
                        .header("Content-Type", "text/xml; charset=utf-8")
                        .header("SOAPAction", action.clone())
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    let status = resp.status().as_u16();
                    let mut answer = resp.text().await.unwrap();
                    if action.ends_with("/GetConfig\"") {
                        let advertised = "<Name>MaxExtendedUpdatesPerRequest</Name><Value>50</Value>";
                        assert!(answer.contains(advertised), "{answer}");
                        answer = answer.replace(advertised, &format!("<Name>MaxExtendedUpdatesPerRequest</Name><Value>{max}</Value>"));
                    }
                    let out = format!(
                        "HTTP/1.1 {status} Whatever\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: {}\r\n\r\n{answer}",
                        answer.len()
                    );
                    if conn.write_all(out.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_11_agent_batches_extended_info_by_the_servers_max_extended_updates_per_request() {
    let s = Server::start().await;
    let mut updates = Vec::new();
    for title in ["contoso-one", "contoso-two", "contoso-three"] {
        let u = s.publish(title).await;
        s.approve(&u, "install").await;
        updates.push(u);
    }
    let (base, batches) = rewriting_proxy(s.base.clone(), "2").await;
    let mut a = agent(&base);
    assert_eq!(a.max_extended_updates_per_request(), 50, "the WSUS value until GetConfig says otherwise");
    let r = a.scan(true).await.unwrap();
    assert_eq!(a.max_extended_updates_per_request(), 2);
    for u in &updates {
        assert!(r.installed.iter().any(|i| i.eq_ignore_ascii_case(u)), "{u} not installed: {r:?}");
    }
    let batches = batches.lock().unwrap().clone();
    assert_eq!(batches.iter().sum::<usize>(), 3, "{batches:?}");
    assert!(batches.iter().all(|n| (1..=2).contains(n)), "{batches:?}");

    // A value that is no positive count is not taken: the agent keeps to 50.
    for junk in ["0", "many"] {
        let (base, batches) = rewriting_proxy(s.base.clone(), junk).await;
        let mut a = agent(&base);
        let r = a.scan(true).await.unwrap();
        assert_eq!(a.max_extended_updates_per_request(), 50, "{junk}");
        assert_eq!(r.installed.len(), 3, "{r:?}");
        assert_eq!(*batches.lock().unwrap(), [3], "{junk}");
    }
    s.running.shutdown().await.unwrap();
}
