//! The upstream side against REAL downstream requests (a plain SOAP probe and the wsus-rs
//! importer, both accepted by a real WSUS upstream) and the [MS-WSUSSS] examples, and the
//! downstream side reproducing them: every request is decoded with the server decoders, and our
//! encoder, given the decoded values, writes the same elements in the same order.
//!
//! The one deliberate difference: the real GetRevisionIdList requests omit `Get63LanguageOnly`,
//! which the WSDL requires (minOccurs 1) and the spec's own example sends. Real WSUS tolerates the
//! omission, Microsoft Update's order-sensitive WCF service may not, so we always write it.

mod common;

use common::*;
use sluice_wsusss::*;
use uuid::uuid;

const DEFENDER_PRODUCT: uuid::Uuid = uuid!("8c3fcc84-7410-4a95-8b89-a166a0190486");
const DEFINITION_UPDATES: uuid::Uuid = uuid!("e0789628-ce08-4437-be74-2495b842f43b");
const SECURITY_UPDATES: uuid::Uuid = uuid!("0fa1201d-4330-4fa8-8ae9-b877473b6441");

fn decode(rel: &str) -> Request {
    decode_request(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn filter(rel: &str) -> (Option<Cookie>, ServerSyncFilter) {
    match decode(rel) {
        Request::GetRevisionIdList(r) => (r.cookie, r.filter.expect("filter")),
        other => panic!("{rel}: {:?}", other.operation()),
    }
}

#[test]
fn every_real_request_decodes_to_the_operation_its_soap_action_names() {
    let exchanges = exchanges();
    assert_eq!(exchanges.len(), 35);
    for ex in exchanges {
        // `operation` is the one operation that accepts the exchange's SOAPAction.
        assert_eq!(decode(&format!("{ex}/request.body")).operation(), operation(&ex), "{ex}");
    }
}

#[test]
fn handshake() {
    assert_eq!(decode("exchanges/000001/request.body"), Request::GetAuthConfig);

    let Request::GetAuthorizationCookie(r) = decode("exchanges/000002/request.body") else { panic!() };
    assert_eq!(r.account_name, "probe.lab.invalid");
    assert_eq!(r.account_uuid(), Some(uuid!("6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12")));
    assert!(r.program_keys.is_empty());

    let req = decode("exchanges/000003/request.body");
    let Request::GetCookie(r) = &req else { panic!() };
    assert_eq!(
        r.auth_cookies,
        vec![AuthorizationCookie { plugin_id: "DssTargeting".into(), cookie_data: vec![0; 432] }]
    );
    assert_eq!(r.old_cookie, None);
    assert_eq!(r.protocol_version, "1.20");
    assert_eq!(req.cookie(), None);

    let req = decode("exchanges/000004/request.body");
    let Request::GetConfigData(r) = &req else { panic!() };
    assert_eq!(r.config_anchor.as_deref(), Some("9438,2026-10-04 16:09:27.167"));
    let c = req.cookie().expect("cookie");
    assert_eq!(c.expiration, "2026-10-04T20:33:26.65455Z");
    assert_eq!(c.encrypted_data, vec![0; 208]);
    let Request::GetConfigData(r) = decode("exchanges/000005/request.body") else { panic!() };
    assert_eq!(r.config_anchor, None);

    // The spec's upper-case account GUID string is kept as sent.
    let Request::GetAuthorizationCookie(r) = decode("spec-examples/ms-wsusss/03-GetAuthorizationCookie-request.xml")
    else {
        panic!()
    };
    assert_eq!(r.account_guid, "ADB2FE48-0B2E-451e-8FC8-44B29845B0C6");
    assert_eq!(r.account_uuid(), Some(uuid!("adb2fe48-0b2e-451e-8fc8-44b29845b0c6")));
}

#[test]
fn revision_list_filters() {
    let (cookie, f) = filter("exchanges/000006/request.body");
    assert!(cookie.is_some());
    assert!(f.get_config && !f.get_63_language_only && f.anchor.is_none());
    assert_eq!((f.categories, f.classifications, f.languages), (None, None, None));

    let (_, f) = filter("exchanges/000007/request.body");
    assert!(!f.get_config);
    assert_eq!(f.categories, Some(vec![IdAndDelta { id: DEFENDER_PRODUCT, delta: false }]));
    assert_eq!(f.classifications, None, "absent, which WSUS answers with nothing");

    let (_, f) = filter("exchanges/000008/request.body");
    assert_eq!(f.classifications, Some(vec![IdAndDelta { id: SECURITY_UPDATES, delta: false }]));

    let (_, f) = filter("exchanges/000010/request.body");
    assert_eq!(f.anchor.as_deref(), Some("9438,2026-10-04 16:09:27.371"));
    assert_eq!(f.classifications, Some(vec![IdAndDelta { id: DEFINITION_UPDATES, delta: false }]));
    let (_, f) = filter("exchanges/000011/request.body");
    assert_eq!(f.categories, Some(vec![IdAndDelta { id: DEFENDER_PRODUCT, delta: true }]));
    assert_eq!(f.classifications, Some(vec![IdAndDelta { id: DEFINITION_UPDATES, delta: true }]));

    // A bad anchor is the upstream's business (real WSUS: InvalidParameters "filter"), not a decode error.
    let (_, f) = filter("exchanges/000018/request.body");
    assert_eq!(f.anchor.as_deref(), Some("garbage"));
    assert_eq!(f.anchor.as_deref().and_then(SyncAnchor::parse), None);
    // No cookie: the upstream answers InvalidCookie.
    let (cookie, _) = filter("exchanges/000019/request.body");
    assert_eq!(cookie, None);

    // The spec example sends Get63LanguageOnly.
    let (_, f) = filter("spec-examples/ms-wsusss/09-GetRevisionIdList-request.xml");
    assert!(f.get_config && !f.get_63_language_only);
}

#[test]
fn update_data_requests() {
    let Request::GetUpdateData(r) = decode("exchanges/000013/request.body") else { panic!() };
    assert_eq!(r.update_ids, vec![UpdateIdentity::new(uuid!("a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe"), 200)]);
    let Request::GetUpdateData(r) = decode("exchanges/000017/request.body") else { panic!() };
    assert_eq!(r.update_ids, vec![UpdateIdentity::new(uuid!("00000000-0000-0000-0000-000000000001"), 1)]);
    let Request::GetUpdateData(r) = decode("spec-examples/ms-wsusss/11-GetUpdateData-request.xml") else { panic!() };
    assert!(r.update_ids.len() > 1);
}

#[test]
fn reporting_and_deployment_requests_of_the_spec() {
    let Request::GetDeployments(r) = decode("spec-examples/ms-wsusss/13-GetDeployments-request.xml") else { panic!() };
    assert_eq!(r.sync_anchor.as_deref(), Some("4742,2006-05-26 18:59:26.192"));
    assert_eq!(r.deployment_anchor, None);

    let Request::GetRollupConfiguration(r) = decode("spec-examples/ms-wsusss/15-GetRollupConfiguration-request.xml")
    else {
        panic!()
    };
    assert_eq!(r.cookie, Some(Cookie::reporting()));

    let Request::RollupDownstreamServers(r) = decode("spec-examples/ms-wsusss/17-RollupDownstreamServers-request.xml")
    else {
        panic!()
    };
    assert_eq!(r.client_time, "2007-03-06T03:28:02.5507362Z");
    let s = &r.downstream_servers[0];
    assert_eq!(s.server_id, uuid!("050cee4a-aaff-470c-8fc3-7a94cb3a4293"));
    assert_eq!(s.last_sync_time, "0001-01-01T00:00:00");
    assert!(s.is_replica);
    let sum = s.server_summary.expect("summary");
    assert_eq!((sum.update_count, sum.declined_update_count, sum.updates_up_to_date_count), (1002, 29, 972));
    let clients = s.client_summaries.as_ref().expect("clients");
    assert_eq!((clients[0].suite_mask, clients[0].old_product_type, clients[0].count), (272, 3, 1));
    let activity = clients[0].activity_summaries.as_ref().expect("activity");
    assert_eq!(activity[0].revision_number, 101);

    let Request::RollupComputers(r) = decode("spec-examples/ms-wsusss/19-RollupComputers-request.xml") else {
        panic!()
    };
    let c = &r.computers[0];
    assert_eq!(c.computer_id.as_deref(), Some("d07a4d51-7cb2-46d1-ad86-91195cb4325a"));
    assert_eq!(c.last_sync_result, 1);
    assert_eq!(c.last_reported_reboot_time, "0001-01-01T00:00:00");
    let d = c.details.as_ref().expect("details");
    assert_eq!(d.computer_model.as_deref(), Some("HP Compaq dc7600 Convertible Minitower"));
    assert_eq!(d.os_family, None);
    assert_eq!((d.suite_mask, d.old_product_type), (272, 3));
    assert_eq!(d.requested_target_group_names, Some(vec!["Windows Server 2003".to_string(), "Servers".to_string()]));

    let Request::GetOutOfSyncComputers(r) = decode("spec-examples/ms-wsusss/21-GetOutOfSyncComputers-request.xml")
    else {
        panic!()
    };
    assert_eq!(r.last_rollup_numbers[0].rollup_number, 2);

    let Request::RollupComputerStatus(r) = decode("spec-examples/ms-wsusss/23-RollupComputerStatus-request.xml") else {
        panic!()
    };
    let c = &r.computers[0];
    assert!(c.is_full_rollup);
    assert_eq!(c.update_status.as_ref().map(Vec::len), Some(2));
}

/// Our encoding of the decoded request, compared element by element with the real one.
fn assert_reencodes_like(rel: &str) {
    let real = read(rel);
    let decoded = decode_request(&real).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let ours = encode_request(&decoded);
    assert_eq!(decode_request(&ours).as_ref(), Ok(&decoded), "{rel}: our request decodes to the same value");
    let (ours_root, real_root) = (parse(&ours), parse(&real));
    let real_has_get63 = real_root
        .elements()
        .flat_map(|b| b.elements())
        .flat_map(|op| op.elements())
        .flat_map(|p| p.elements())
        .any(|e| e.local == "Get63LanguageOnly");
    let skip: &[&str] = if decoded.operation() == Operation::GetRevisionIdList && !real_has_get63 {
        &["Get63LanguageOnly"]
    } else {
        &[]
    };
    same_structure(&ours_root, &real_root, skip).unwrap_or_else(|e| panic!("{rel}: {e}"));
}

#[test]
fn our_requests_have_the_elements_of_the_real_ones_in_their_order() {
    for ex in exchanges() {
        assert_reencodes_like(&format!("{ex}/request.body"));
    }
}

#[test]
fn our_requests_have_the_elements_of_the_spec_examples_in_their_order() {
    let files = spec_examples("-request.xml");
    assert_eq!(files.len(), 12);
    for file in files {
        assert_reencodes_like(&file);
    }
}

#[test]
fn get_63_language_only_comes_right_after_get_config() {
    let req = Request::GetRevisionIdList(GetRevisionIdListRequest {
        cookie: Some(Cookie { expiration: "2026-10-04T20:33:26.65455Z".into(), encrypted_data: vec![0; 208] }),
        filter: Some(ServerSyncFilter {
            anchor: Some("9438,2026-10-04 16:09:27.371".into()),
            get_config: false,
            get_63_language_only: false,
            categories: Some(vec![IdAndDelta { id: DEFENDER_PRODUCT, delta: true }]),
            classifications: Some(vec![IdAndDelta { id: DEFINITION_UPDATES, delta: true }]),
            languages: Some(vec![LanguageAndDelta { id: 1033, delta: true }]),
        }),
    });
    let body = String::from_utf8(encode_request(&req)).expect("utf-8");
    let filter = &body[body.find("<filter>").expect("filter")..];
    let order: Vec<&str> =
        ["<Anchor>", "<GetConfig>", "<Get63LanguageOnly>", "<Categories>", "<Classifications>", "<Languages>"]
            .into_iter()
            .filter(|t| filter.contains(t))
            .collect();
    assert_eq!(order.len(), 6);
    let positions: Vec<usize> = order.iter().map(|t| filter.find(t).expect("present")).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{filter}");
    assert!(body.starts_with(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\""
    ));
}

#[test]
fn get_auth_config_request_is_the_empty_element() {
    let body = String::from_utf8(encode_request(&Request::GetAuthConfig)).expect("utf-8");
    assert!(
        body.contains(
            "<soap:Body><GetAuthConfig xmlns=\"http://www.microsoft.com/SoftwareDistribution\" /></soap:Body>"
        )
    );
}
