//! Every response and fault our encoders produce in the tests, validated against the official
//! [MS-WUSP] WSDLs in `tests/wsdl/` with the project's checker `tools/wsdl_check.py` (zeep in
//! strict mode plus the XML Schema embedded in the WSDL, no tolerated deviations).
//!
//! Needs a Python with zeep and lxml (`SLUICE_PYTHON`, else `python3`); `.ci/run` provides one.
//! Elsewhere the check is skipped with a message when it cannot run, never under CI
//! (`tests/support/wsdl.rs`).

mod common;
#[path = "../../../tests/support/wsdl.rs"]
mod wsdl;

use common::*;
use sluice_soap::*;
use time::macros::date;
use uuid::uuid;

struct Case {
    name: String,
    service: &'static str,
    operation: &'static str,
    /// Expected ErrorCode when the body is a fault.
    fault: Option<&'static str>,
    body: Vec<u8>,
}

fn wsdl_service(op: Operation) -> &'static str {
    match op.service() {
        Service::Client => "wusp-client",
        Service::SimpleAuth => "wusp-simpleauth",
        Service::Reporting => "wusp-reporting",
    }
}

fn case(name: impl Into<String>, op: Operation, body: Vec<u8>) -> Case {
    Case { name: name.into(), service: wsdl_service(op), operation: op.name(), fault: None, body }
}

fn cookie() -> NewCookie {
    NewCookie { expiration: "2026-10-04T16:03:35.9967236Z".into(), encrypted_data: (0..=255).collect() }
}

fn all_cases() -> Vec<Case> {
    let mut cases = Vec::new();

    // Re-encodings of every real response.
    for ex in exchanges() {
        let real = read(&format!("{ex}/response.body"));
        if response_operation(&parse(&real)).is_none() {
            continue;
        }
        let (op, body) = reencode_response(&real);
        cases.push(case(format!("real {ex}"), op, body));
    }
    for file in spec_examples("-response.xml") {
        let (op, body) = reencode_response(&read(&file));
        cases.push(case(format!("spec {file}"), op, body));
    }

    // Every optional element and every shape the real captures lack.
    cases.push(case(
        "GetConfig with AllowedEventIds, no Parameter",
        Operation::GetConfig,
        encode_get_config_response(&ConfigResponse {
            last_change: format_datetime(time::macros::datetime!(2026-10-04 13:17:07.59 UTC)),
            is_registration_required: false,
            auth_plugins: vec![AuthPlugInInfo {
                plugin_id: "SimpleTargeting".into(),
                service_url: "SimpleAuthWebService/SimpleAuth.asmx".into(),
                parameter: None,
            }],
            allowed_event_ids: Some(vec![147, 156, 183]),
            properties: vec![
                ("MaxExtendedUpdatesPerRequest".into(), "50".into()),
                ("Odd <&> value".into(), String::new()),
            ],
        }),
    ));
    let frag_a = escape_fragment(
        r#"<UpdateIdentity UpdateID="a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe" RevisionNumber="200" /><Properties UpdateType="Software" /><Title>A &amp; B</Title>"#,
    );
    let frag_b = escape_fragment("<ExtendedProperties DefaultPropertiesLanguage=\"en\" />\r\n");
    let mut full = Deployment::new(34100, DeploymentAction::Install, date!(2026 - 10 - 04));
    full.deadline = Some("2026-12-31T23:59:59.9999999Z".into());
    full.hardware_ids = vec![r"PCI\VEN_8086&DEV_293A".into()];
    full.flag_bitmask = Some(0);
    let mut legacy = Deployment::new(15000, DeploymentAction::Evaluate, date!(2019 - 08 - 06));
    legacy.auto_select = None;
    legacy.auto_download = None;
    legacy.supersedence_behavior = None;
    let actions = [
        DeploymentAction::Install,
        DeploymentAction::Uninstall,
        DeploymentAction::PreDeploymentCheck,
        DeploymentAction::Evaluate,
        DeploymentAction::Bundle,
        DeploymentAction::OptionalInstall,
        DeploymentAction::Block,
    ];
    let mut new_updates = vec![
        UpdateInfo { id: 200996, deployment: full.clone(), is_leaf: true, xml_escaped: &frag_a },
        UpdateInfo { id: 1, deployment: legacy.clone(), is_leaf: false, xml_escaped: b"" },
    ];
    for (i, a) in actions.into_iter().enumerate() {
        new_updates.push(UpdateInfo {
            id: 300 + i as i32,
            deployment: Deployment::new(8000 + i as i32, a, date!(2026 - 01 - 31)),
            is_leaf: i % 2 == 0,
            xml_escaped: &frag_a,
        });
    }
    cases.push(case(
        "SyncUpdates with every element",
        Operation::SyncUpdates,
        encode_sync_updates_response(&SyncInfo {
            new_updates,
            out_of_scope_revision_ids: vec![5, -1, i32::MAX],
            changed_updates: vec![UpdateInfo { id: 7, deployment: full.clone(), is_leaf: false, xml_escaped: &frag_b }],
            truncated: true,
            new_cookie: Some(cookie()),
            deployed_out_of_scope_revision_ids: Some(vec![8, 9]),
            driver_sync_not_needed: Some(false),
        }),
    ));
    cases.push(case("SyncUpdates minimal", Operation::SyncUpdates, encode_sync_updates_response(&SyncInfo::default())));
    cases.push(case(
        "SyncPrinterCatalog empty",
        Operation::SyncPrinterCatalog,
        encode_sync_printer_catalog_response(&SyncInfo {
            new_cookie: Some(cookie()),
            deployed_out_of_scope_revision_ids: Some(Vec::new()),
            ..SyncInfo::default()
        }),
    ));
    let refresh = vec![
        RefreshCacheResult {
            revision_id: 200996,
            global_id: UpdateIdentity {
                update_id: uuid!("a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe"),
                revision_number: 200,
            },
            is_leaf: true,
            deployment: full.clone(),
        },
        RefreshCacheResult {
            revision_id: 108226,
            global_id: UpdateIdentity {
                update_id: uuid!("56309036-4c77-4dd9-951a-99ee9c246a94"),
                revision_number: 101,
            },
            is_leaf: false,
            deployment: legacy,
        },
    ];
    cases.push(case("RefreshCache", Operation::RefreshCache, encode_refresh_cache_response(&refresh)));
    cases.push(case("RefreshCache empty", Operation::RefreshCache, encode_refresh_cache_response(&[])));
    let locations = vec![
        FileLocation {
            file_digest: [0xA3; 20],
            url: "http://192.0.2.1:8530/Content/49/A379D5526FB3A7A0423DA1CD7FC3182A8D448449.exe".into(),
        },
        FileLocation { file_digest: [0; 20], url: "http://h/Content/00/x.cab?a=1&b=2".into() },
    ];
    cases.push(case(
        "GetExtendedUpdateInfo with every element",
        Operation::GetExtendedUpdateInfo,
        encode_get_extended_update_info_response(&ExtendedUpdateInfo {
            updates: vec![UpdateData { id: 1, xml_escaped: &frag_b }, UpdateData { id: 1, xml_escaped: &frag_a }],
            file_locations: locations.clone(),
            out_of_scope_revision_ids: vec![42],
        }),
    ));
    cases.push(case(
        "GetExtendedUpdateInfo empty",
        Operation::GetExtendedUpdateInfo,
        encode_get_extended_update_info_response(&ExtendedUpdateInfo::default()),
    ));
    cases.push(case(
        "GetExtendedUpdateInfo2",
        Operation::GetExtendedUpdateInfo2,
        encode_get_extended_update_info2_response(&ExtendedUpdateInfo2 {
            updates: vec![UpdateData { id: 3, xml_escaped: &frag_b }],
            file_locations: locations.clone(),
        }),
    ));
    cases.push(case(
        "GetFileLocations",
        Operation::GetFileLocations,
        encode_get_file_locations_response(&GetFileLocationsResults {
            file_locations: locations,
            new_cookie: Some(cookie()),
        }),
    ));
    cases.push(case(
        "GetFileLocations empty",
        Operation::GetFileLocations,
        encode_get_file_locations_response(&GetFileLocationsResults::default()),
    ));
    cases.push(case(
        "StartCategoryScan both lists",
        Operation::StartCategoryScan,
        encode_start_category_scan_response(&StartCategoryScanResponse {
            preferred_category_ids: vec![uuid!("dd78b8a1-0b20-45c1-add6-4da72e9364cf")],
            requested_category_ids_in_error: vec![uuid!("0fa1201d-4330-4fa8-8ae9-b877473b6441")],
        }),
    ));
    cases.push(case(
        "StartCategoryScan empty",
        Operation::StartCategoryScan,
        encode_start_category_scan_response(&StartCategoryScanResponse::default()),
    ));
    cases.push(case(
        "GetAuthorizationCookie",
        Operation::GetAuthorizationCookie,
        encode_get_authorization_cookie_response(&AuthorizationCookie {
            plugin_id: Some("SimpleTargeting".into()),
            cookie_data: Some(vec![1, 2, 3, 4, 5]),
        }),
    ));
    cases.push(case("GetCookie", Operation::GetCookie, encode_get_cookie_response(&cookie())));
    cases.push(case("ReportEventBatch2", Operation::ReportEventBatch2, encode_report_event_batch2_response(true)));
    cases.push(case("ReportEventBatch false", Operation::ReportEventBatch, encode_report_event_batch_response(false)));

    // Faults: every code on every service style.
    let codes = [
        ErrorCode::InvalidCookie,
        ErrorCode::CookieExpired,
        ErrorCode::ConfigChanged,
        ErrorCode::ServerChanged,
        ErrorCode::RegistrationRequired,
        ErrorCode::RegistrationNotRequired,
        ErrorCode::InvalidParameters,
        ErrorCode::InvalidAuthorizationCookie,
        ErrorCode::InternalServerError,
        ErrorCode::ServerBusy,
        ErrorCode::FileLocationChanged,
        ErrorCode::IncompatibleProtocolVersion,
    ];
    for op in [Operation::SyncUpdates, Operation::GetAuthorizationCookie, Operation::ReportEventBatch] {
        for code in codes {
            let mut f = Fault::for_operation(code, op).with_message("parameters.<x>&");
            if op == Operation::ReportEventBatch {
                f = f.with_actor("http://server:8530/ReportingWebService/ReportingWebService.asmx");
            }
            cases.push(Case {
                fault: Some(code.as_str()),
                ..case(format!("fault {code:?} on {op:?}"), op, encode_fault(&f))
            });
        }
    }
    let real_fault = read("wsus-m0/000141/response.body");
    cases.push(Case {
        fault: Some("InvalidParameters"),
        ..case("real wsus-m0/000141 fault", Operation::SyncUpdates, reencode_fault(&real_fault, Service::Client))
    });
    let err = decode_request(b"<nope/>").expect_err("not SOAP");
    cases.push(Case {
        fault: Some("InvalidParameters"),
        ..case("decode error fault", Operation::GetConfig, encode_fault(&err.to_fault(Service::Client)))
    });
    cases
}

#[test]
fn every_encoded_response_validates_against_the_wsdl() {
    let cases = all_cases();
    assert!(cases.len() > 60, "{}", cases.len());
    let messages: Vec<wsdl::Message> = cases
        .into_iter()
        .map(|c| {
            let expect = c.fault.map_or(wsdl::Expect::Valid, |code| wsdl::Expect::Fault(code.into()));
            wsdl::Message::response(c.name, c.service, c.operation, c.body).expect(expect)
        })
        .collect();
    wsdl::assert_all(&messages);
}

/// The check this suite relies on must be able to fail: each message below breaks the WSDL in
/// one way (value space, element order, an unknown element, the wrong body element, a foreign
/// attribute, a DTD, a fault with another ErrorCode), next to the intact message it came from.
#[test]
fn item_12_wsdl_check_refuses_what_the_wsdl_forbids() {
    let good = String::from_utf8(encode_get_cookie_response(&cookie())).expect("UTF-8");
    let expiration = "<Expiration>2026-10-04T16:03:35.9967236Z</Expiration>";
    assert!(good.contains(expiration), "{good}");
    let data_start = good.find("<EncryptedData>").expect("EncryptedData");
    let data_end = good.find("</EncryptedData>").expect("EncryptedData end") + "</EncryptedData>".len();
    let data = &good[data_start..data_end];
    let mutate = |from: &str, to: &str| {
        assert!(good.contains(from), "{from} not in {good}");
        good.replacen(from, to, 1).into_bytes()
    };
    let fault = encode_fault(&Fault::for_operation(ErrorCode::ConfigChanged, Operation::GetCookie));
    let cookie_response = |name: &str, body: Vec<u8>| wsdl::Message::response(name, "wusp-client", "GetCookie", body);
    let broken = vec![
        cookie_response("Expiration not a dateTime", mutate(expiration, "<Expiration>tomorrow</Expiration>")),
        cookie_response("EncryptedData not base64", mutate(data, "<EncryptedData>not base64!</EncryptedData>")),
        cookie_response(
            "EncryptedData before Expiration",
            mutate(&format!("{expiration}{data}"), &format!("{data}{expiration}")),
        ),
        cookie_response("unknown element", mutate(expiration, &format!("{expiration}<Extra>1</Extra>"))),
        cookie_response("Expiration missing", mutate(expiration, "")),
        cookie_response("foreign attribute", mutate("<Expiration>", r#"<Expiration xmlns:e="urn:e" e:x="1">"#)),
        cookie_response("DTD", with_doctype(&good)),
        wsdl::Message::response("GetCookie body as GetConfig", "wusp-client", "GetConfig", good.clone().into_bytes()),
        cookie_response("fault with another ErrorCode", fault.clone()).expect(wsdl::Expect::Fault("InvalidCookie".into())),
        cookie_response("fault where a result is due", fault.clone()),
        cookie_response("intact, but expected to be refused", good.clone().into_bytes())
            .expect(wsdl::Expect::Refused("Expiration".into())),
    ];
    let mut messages = vec![
        cookie_response("intact", good.clone().into_bytes()),
        cookie_response("intact fault", fault).expect(wsdl::Expect::Fault("ConfigChanged".into())),
        cookie_response("Expiration missing, expected to be refused", mutate(expiration, ""))
            .expect(wsdl::Expect::Refused("Expiration".into())),
    ];
    let intact = messages.len();
    messages.extend(broken);
    let Some(report) = wsdl::run(&messages) else { return };
    println!("{}", report.output);
    for (i, (m, verdict)) in messages.iter().zip(&report.verdicts).enumerate() {
        if i < intact {
            assert!(verdict.is_none(), "{} must pass: {verdict:?}\n{}", m.name, report.stderr);
        } else {
            assert!(verdict.is_some(), "{} must be refused\n{}", m.name, report.output);
        }
    }
}

/// The envelope with a document type declaration, after the XML declaration when there is one.
fn with_doctype(envelope: &str) -> Vec<u8> {
    let at = if envelope.starts_with("<?xml") { envelope.find("?>").expect("declaration end") + 2 } else { 0 };
    format!("{}<!DOCTYPE x [<!ENTITY e \"e\">]>{}", &envelope[..at], &envelope[at..]).into_bytes()
}
