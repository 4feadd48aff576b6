//! The holes found when the server was attacked from the client port (issue "Trust and
//! fidelity"): each test sends what an attacker or a misbehaving client sends, over real HTTP,
//! and checks the answer and that nothing was stored.

mod wusp_client;

use sluice_decide::cookie::{AuthCookie, AUTH_COOKIE_LIFETIME};
use wusp_client::*;

/// The GUID of the seeded leaf `i` (see `Harness::seed`).
fn leaf_update(i: u32) -> Uuid {
    Uuid::from_u128(0x5b6a_7c8d_0001_4000_8000_0000_0000_0000 + i as u128)
}


/// A GetCookie body whose oldCookie carries `cookie`, as a client renewing it sends it (the
/// native capture's first GetCookie has an oldCookie with only an Expiration).
fn with_old_cookie(get_cookie: &str, cookie: &str) -> String {
    let at = get_cookie.find("</oldCookie>").expect("oldCookie in the native GetCookie");
    format!("{}<EncryptedData>{cookie}</EncryptedData>{}", &get_cookie[..at], &get_cookie[at..])
}

async fn statuses(h: &Harness, computer_id: &str) -> Vec<sluice_store::UpdateStatus> {
    h.server.state.store.status_for_computer(computer_id).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_2_report_event_batch2_changes_nothing() {
    let h = Harness::start().await;
    h.seed().await;
    let computer = "7b0e5a52-1111-4000-8000-000000000002";
    h.registered(computer).await;
    let events = format!(
        "{}{}",
        event(computer, 183, leaf_update(1), ""),
        event(computer, 156, Uuid::nil(), &format!("<string>U={}</string><string>V={}</string>", leaf_update(2), leaf_update(3)))
    );
    let xml = h.post(REPORTING_PATH, report_batch2(computer, &events)).await.ok();
    assert_eq!(element_text(&xml, "ReportEventBatch2Result").as_deref(), Some("true"), "acknowledged as WSUS does: {xml}");
    assert!(statuses(&h, computer).await.is_empty(), "a cookie-less report names a computer it cannot prove to be");
    let c = h.server.state.store.get_computer(computer).await.unwrap().unwrap();
    assert!(c.last_reported_status_time.is_none(), "not even the report time moves: {c:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_3_event_batches_are_bounded_and_unknown_updates_ignored() {
    let h = Harness::start().await;
    h.seed().await;
    let computer = "7b0e5a52-1111-4000-8000-000000000003";
    let cookie = h.registered(computer).await;

    // GUIDs this server never published are not stored, whatever list names them.
    let strangers: Vec<String> = (0..2_000).map(|_| Uuid::new_v4().to_string()).collect();
    let misc = format!(
        "<string>U={};{}</string><string>V={}</string><string>W={}</string>",
        strangers[..1_000].join(";"),
        leaf_update(4),
        strangers[1_000..].join(";"),
        leaf_update(5)
    );
    let events = format!("{}{}", event(computer, 183, Uuid::new_v4(), ""), event(computer, 156, Uuid::nil(), &misc));
    let xml = h.post(REPORTING_PATH, report_batch(&cookie, &events)).await.ok();
    assert_eq!(element_text(&xml, "ReportEventBatchResult").as_deref(), Some("true"), "{xml}");
    let mut rows: Vec<(Uuid, String)> = statuses(&h, computer).await.into_iter().map(|r| (r.update_id, format!("{:?}", r.state))).collect();
    rows.sort();
    assert_eq!(
        rows,
        vec![(leaf_update(4), "NotInstalled".to_string()), (leaf_update(5), "InstalledPendingReboot".to_string())],
        "only the catalog's updates get rows"
    );

    // A batch past the bound is refused whole: nothing of it is applied.
    let one = event(computer, 183, leaf_update(6), "");
    let flood = one.repeat(sluice_server::client_services::MAX_EVENTS_PER_BATCH + 1);
    let f = expect_fault(&h.post(REPORTING_PATH, report_batch(&cookie, &flood)).await, "InvalidParameters");
    assert_eq!(f.message, "eventBatch");
    assert!(statuses(&h, computer).await.iter().all(|r| r.update_id != leaf_update(6)), "nothing of a refused batch is stored");

    // Many summaries in one batch: the last one stands, and each update gets one row.
    let summaries: String = (0..200)
        .map(|n| event(computer, 156, Uuid::nil(), &format!("<string>V={}</string>", leaf_update(7 + (n % 3)))))
        .collect();
    h.post(REPORTING_PATH, report_batch(&cookie, &summaries)).await.ok();
    let rows = statuses(&h, computer).await;
    let installed: Vec<Uuid> = rows.iter().filter(|r| format!("{:?}", r.state) == "Installed").map(|r| r.update_id).collect();
    assert!(installed.contains(&leaf_update(7 + (199 % 3))), "the last summary's V list is applied: {rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_4_expired_authorization_cookies_are_refused() {
    let h = Harness::start().await;
    let last_change = h.config_last_change().await;
    let keys = h.keys(None).await;
    let auth = |issued_at| {
        B64.encode(keys.seal_auth(&AuthCookie {
            computer_id: "7b0e5a52-1111-4000-8000-000000000004".into(),
            dns_name: "pc4.contoso.test".into(),
            requested_groups: vec![],
            issued_at,
        }))
    };
    let fresh = h.post(CLIENT_PATH, get_cookie_body(&auth(now() - time::Duration::minutes(5)), &last_change)).await;
    assert!(element_text(&fresh.ok(), "EncryptedData").is_some());
    let stale = auth(now() - AUTH_COOKIE_LIFETIME - time::Duration::seconds(1));
    let f = expect_fault(&h.post(CLIENT_PATH, get_cookie_body(&stale, &last_change)).await, "InvalidAuthorizationCookie");
    assert_eq!(f.message, "authCookies");
    let ancient = auth(now() - time::Duration::days(365));
    expect_fault(&h.post(CLIENT_PATH, get_cookie_body(&ancient, &last_change)).await, "InvalidAuthorizationCookie");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_7_two_operations_in_one_body_are_a_client_fault() {
    let h = Harness::start().await;
    let one = get_config_body();
    // The native GetConfig body with its operation element doubled.
    let start = one.find("<GetConfig").expect("GetConfig element");
    let end = one.find("</GetConfig>").expect("GetConfig end") + "</GetConfig>".len();
    let doubled = format!("{}{}{}", &one[..end], &one[start..end], &one[end..]);
    let f = fault_of(&h.post(CLIENT_PATH, doubled).await);
    assert_eq!(f.fault_code.rsplit(':').next(), Some("Client"), "{f:?}");
    assert_eq!(f.error_code, "InvalidParameters", "{f:?}");
    // Two different operations in one Body, the second one a write, are refused the same way.
    let computer = "7b0e5a52-1111-4000-8000-000000000007";
    let cookie = h.registered(computer).await;
    let reg = register_body(&cookie);
    let reg_op_start = reg.find("<RegisterComputer").unwrap();
    let reg_op_end = reg.find("</RegisterComputer>").unwrap() + "</RegisterComputer>".len();
    let mixed = format!("{}{}{}", &one[..end], &reg[reg_op_start..reg_op_end], &one[end..]);
    expect_fault(&h.post(CLIENT_PATH, mixed).await, "InvalidParameters");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_7_xpress_with_q_zero_is_not_compressed() {
    let h = Harness::start().await;
    let send = |accept: &'static str| {
        h.http
            .post(format!("{}{CLIENT_PATH}", h.base))
            .header(CONTENT_TYPE, "text/xml; charset=utf-8")
            .header(ACCEPT_ENCODING, accept)
            .body(get_config_body())
            .send()
    };
    for (accept, compressed) in [
        ("xpress;q=0", false),
        ("xpress; q=0.0", false),
        ("gzip, xpress;q=0", false),
        ("*", false),
        ("xpress", true),
        ("xpress;q=0.5", true),
        ("gzip;q=1, XPRESS;Q=1", true),
    ] {
        let r = send(accept).await.unwrap();
        assert_eq!(r.status(), 200);
        let coding = r.headers().get(CONTENT_ENCODING).map(|v| v.to_str().unwrap().to_string());
        assert_eq!(coding.is_some(), compressed, "Accept-Encoding: {accept} gave {coding:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_13_repeated_info_types_are_bounded() {
    let h = Harness::start().await;
    let seeded = h.seed().await;
    let computer = "7b0e5a52-1111-4000-8000-000000000013";
    let cookie = h.registered(computer).await;
    let ids: Vec<i32> = seeded.leaves.iter().copied().take(50).collect();
    let base = extended_info_body(&cookie, &ids);
    let once = h.post(CLIENT_PATH, base.clone()).await.ok();

    // The attack: the same XmlUpdateFragmentType a thousand times (and the same ids again).
    let types_start = base.find("<infoTypes>").expect("infoTypes") + "<infoTypes>".len();
    let types_end = base.find("</infoTypes>").unwrap();
    let types = &base[types_start..types_end];
    let repeated = format!("{}{}{}", &base[..types_start], types.repeat(1_000), &base[types_end..]);
    let repeated = set(&repeated, "revisionIDs", &ints(&ids.repeat(20)));
    assert!(repeated.len() < 4 * 1024 * 1024);
    let r = h.post(CLIENT_PATH, repeated).await;
    let xml = r.ok();
    assert_eq!(xml.len(), once.len(), "repeats add nothing to the answer");
    assert!(xml.len() < 2 * 1024 * 1024, "{} bytes", xml.len());

    // Bound before any work: more distinct ids than GetConfig advertises is refused.
    let many: Vec<i32> = (1..=51).collect();
    let f = expect_fault(&h.post(CLIENT_PATH, extended_info_body(&cookie, &many)).await, "InvalidParameters");
    assert_eq!(f.message, "revisionIDs");
    // The server still answers.
    h.config_last_change().await;
}

/// Two servers, and one of them re-created: MS-WUSP 3.1.5.4's InvalidCookie for what does not
/// authenticate, ServerChanged for what this server's previous instance issued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_16_server_changed_across_servers_and_database_recreation() {
    let computer = "7b0e5a52-1111-4000-8000-000000000016";
    let a = Harness::start().await;
    let b = Harness::start().await;
    let cookie_a = a.registered(computer).await;
    a.post(CLIENT_PATH, sync_body(&cookie_a, &[], &[])).await.ok();

    // Moved to server B: its cookie from A does not authenticate there.
    expect_fault(&b.post(CLIENT_PATH, sync_body(&cookie_a, &[], &[])).await, "InvalidCookie");
    // Renewing at B with A's cookie as oldCookie is refused, not silently ignored.
    let last_change = b.config_last_change().await;
    let auth_b = b.auth_cookie(computer).await;
    let renew = with_old_cookie(&get_cookie_body(&auth_b, &last_change), &cookie_a);
    let f = expect_fault(&b.post(CLIENT_PATH, renew).await, "InvalidCookie");
    assert_eq!(f.message, "oldCookie");
    // The recovery sequence (no oldCookie) works.
    b.handshake(computer).await;

    // Server A's database is re-created under the same data directory.
    let setup = a.server.shutdown().await.unwrap();
    for f in ["sluice.db", "sluice.db-wal", "sluice.db-shm"] {
        let _ = std::fs::remove_file(setup.data_dir().join(f));
    }
    let server = setup.start().await;
    let a2 = Harness { base: server.client_url(), server, http: reqwest::Client::new() };
    let f = expect_fault(&a2.post(CLIENT_PATH, sync_body(&cookie_a, &[], &[])).await, "ServerChanged");
    assert_eq!(f.fault_code.rsplit(':').next(), Some("Client"));
    let last_change = a2.config_last_change().await;
    let auth = a2.auth_cookie(computer).await;
    let renew = with_old_cookie(&get_cookie_body(&auth, &last_change), &cookie_a);
    let f = expect_fault(&a2.post(CLIENT_PATH, renew).await, "ServerChanged");
    assert_eq!(f.message, "oldCookie");
    // A forged cookie is still just invalid there.
    let forged = B64.encode((0..B64.decode(&cookie_a).unwrap().len()).map(|_| rand::random::<u8>()).collect::<Vec<u8>>());
    expect_fault(&a2.post(CLIENT_PATH, sync_body(&forged, &[], &[])).await, "InvalidCookie");
    // And the client that recovers is served.
    let cookie = a2.registered(computer).await;
    a2.post(CLIENT_PATH, sync_body(&cookie, &[], &[])).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_15_client_supplied_strings_are_bounded_to_wsus_columns() {
    let h = Harness::start().await;
    let computer = "7b0e5a52-1111-4000-8000-000000000015";
    let cookie = h.handshake(computer).await;
    // A 4 MB OSDescription was stored; now any field past its WSUS column is refused, by name.
    let long = set(&register_body(&cookie), "OSDescription", &"A".repeat(257));
    let f = expect_fault(&h.post(CLIENT_PATH, long).await, "InvalidParameters");
    assert_eq!(f.message, "computerInfo.OSDescription");
    let long = set(&register_body(&cookie), "ComputerModel", &"M".repeat(65));
    assert_eq!(expect_fault(&h.post(CLIENT_PATH, long).await, "InvalidParameters").message, "computerInfo.ComputerModel");
    assert!(h.server.state.store.get_computer(computer).await.unwrap().is_none(), "nothing registered");
    // Within the bounds it registers.
    h.post(CLIENT_PATH, set(&register_body(&cookie), "OSDescription", &"A".repeat(256))).await.ok();
    assert!(h.server.state.store.get_computer(computer).await.unwrap().is_some());

    // SimpleAuth: a 1 MB group name made a 1.3 MB cookie; names and their count are bounded.
    let with_groups = |groups: &str| {
        auth_cookie_body(computer).replacen("<dnsName>", &format!("<targetGroupName>{groups}</targetGroupName><dnsName>"), 1)
    };
    let f = expect_fault(&h.post(SIMPLE_AUTH_PATH, with_groups(&"G".repeat(257))).await, "InvalidParameters");
    assert_eq!(f.message, "targetGroupName");
    let many: Vec<String> = (0..33).map(|i| format!("Ring {i}")).collect();
    expect_fault(&h.post(SIMPLE_AUTH_PATH, with_groups(&many.join(";"))).await, "InvalidParameters");
    let bomb = expect_fault(&h.post(SIMPLE_AUTH_PATH, with_groups(&"G".repeat(1024 * 1024))).await, "InvalidParameters");
    assert!(!bomb.message.is_empty());
    let ok = h.post(SIMPLE_AUTH_PATH, with_groups(&many[..32].join(";"))).await.ok();
    let cookie_data = element_text(&ok, "CookieData").unwrap();
    assert!(cookie_data.len() < 4 * 1024, "{} bytes of cookie", cookie_data.len());
    let f = expect_fault(&h.post(SIMPLE_AUTH_PATH, set(&auth_cookie_body(computer), "clientId", &"c".repeat(257))).await, "InvalidParameters");
    assert_eq!(f.message, "clientId");
}
