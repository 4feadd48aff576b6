//! Shared test helpers: fixture access, and a small test-only decoder of real RESPONSES that
//! turns a captured WSUS answer into our typed response values so that our encoder can be
//! compared with the real bytes.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use base64::Engine as _;
use sluice_soap::*;
use sluice_xml::Element;
use time::Date;
use uuid::Uuid;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/wsus-native")
}

pub fn read(rel: &str) -> Vec<u8> {
    let p = fixtures().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Exchange directories (relative to the fixture root) holding a `request.body`.
pub fn exchanges() -> Vec<String> {
    sluice_soap_core::testing::exchange_dirs(&fixtures(), &["wsus-m0-native/scan", "wsus-m0-native/flow", "wsus-m0"])
}

/// The `SOAPAction` header of a captured request.
pub fn soap_action(exchange: &str) -> String {
    let headers = String::from_utf8(read(&format!("{exchange}/request.headers"))).expect("headers are text");
    sluice_soap_core::testing::header_value(&headers, "soapaction").unwrap_or_else(|| panic!("{exchange}: no SOAPAction"))
}

/// Spec-example files of [MS-WUSP] matching a suffix (`-request.xml`, `-response.xml`, `-fault-`).
pub fn spec_examples(contains: &str) -> Vec<String> {
    sluice_soap_core::testing::spec_example_files(&fixtures(), "ms-wusp", contains)
}

// ---------------------------------------------------------------------------------------------
// Test-only response decoder
// ---------------------------------------------------------------------------------------------

pub use sluice_soap_core::testing::parse_fixture as parse;

fn kids<'a>(el: &'a Element, local: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
    el.elements().filter(move |e| e.local == local)
}

fn kid<'a>(el: &'a Element, local: &str) -> Option<&'a Element> {
    el.elements().find(|e| e.local == local)
}

fn must<'a>(el: &'a Element, local: &str) -> &'a Element {
    kid(el, local).unwrap_or_else(|| panic!("<{}> has no <{local}>", el.local))
}

fn txt(el: &Element, local: &str) -> String {
    must(el, local).text()
}

fn int(el: &Element, local: &str) -> i32 {
    txt(el, local).trim().parse().expect("int")
}

fn boolean(el: &Element, local: &str) -> bool {
    match txt(el, local).trim() {
        "true" => true,
        "false" => false,
        other => panic!("bad bool {other}"),
    }
}

fn b64(s: &str) -> Vec<u8> {
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(compact).expect("base64")
}

fn ints(el: Option<&Element>) -> Vec<i32> {
    el.map(|a| kids(a, "int").map(|i| i.text().trim().parse().expect("int")).collect()).unwrap_or_default()
}

fn guids(el: Option<&Element>) -> Vec<Uuid> {
    el.map(|a| kids(a, "guid").map(|g| Uuid::parse_str(g.text().trim()).expect("guid")).collect()).unwrap_or_default()
}

fn new_cookie(el: &Element) -> NewCookie {
    NewCookie { expiration: txt(el, "Expiration"), encrypted_data: b64(&txt(el, "EncryptedData")) }
}

fn action(s: &str) -> DeploymentAction {
    match s {
        "Install" => DeploymentAction::Install,
        "Uninstall" => DeploymentAction::Uninstall,
        "PreDeploymentCheck" => DeploymentAction::PreDeploymentCheck,
        "Evaluate" => DeploymentAction::Evaluate,
        "Bundle" => DeploymentAction::Bundle,
        "OptionalInstall" => DeploymentAction::OptionalInstall,
        "Block" => DeploymentAction::Block,
        other => panic!("unknown action {other}"),
    }
}

fn deployment(el: &Element) -> Deployment {
    let date = txt(el, "LastChangeTime");
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let opt_int = |n: &str| kid(el, n).map(|e| e.text().trim().parse::<i32>().expect("int"));
    Deployment {
        id: int(el, "ID"),
        action: action(txt(el, "Action").trim()),
        deadline: kid(el, "Deadline").map(|e| e.text()),
        is_assigned: boolean(el, "IsAssigned"),
        last_change_time: Date::parse(&date, &fmt).expect("date-only LastChangeTime"),
        hardware_ids: kid(el, "HardwareIds").map(|h| kids(h, "string").map(|s| s.text()).collect()).unwrap_or_default(),
        auto_select: opt_int("AutoSelect"),
        auto_download: opt_int("AutoDownload"),
        supersedence_behavior: opt_int("SupersedenceBehavior"),
        flag_bitmask: opt_int("FlagBitmask"),
    }
}

fn file_locations(el: Option<&Element>) -> Vec<FileLocation> {
    el.map(|a| {
        kids(a, "FileLocation")
            .map(|l| FileLocation {
                file_digest: b64(&txt(l, "FileDigest")).try_into().expect("20-byte digest"),
                url: txt(l, "Url"),
            })
            .collect()
    })
    .unwrap_or_default()
}

/// Owns the escaped fragments of a response while typed values borrow them.
pub struct Fragments(Vec<Vec<u8>>);

impl Fragments {
    /// Re-escapes every `<Xml>` text of the response with [`escape_fragment`] (so the byte
    /// comparison also proves our escaping equals the real server's), in document order.
    fn collect(root: &Element) -> Fragments {
        let mut v = Vec::new();
        fn walk(e: &Element, v: &mut Vec<Vec<u8>>) {
            if e.local == "Xml" {
                v.push(escape_fragment(&e.text()));
                return;
            }
            for c in e.elements() {
                walk(c, v);
            }
        }
        walk(root, &mut v);
        Fragments(v)
    }
}

/// The operation whose response (or fault) `body` is, judged from the body element.
pub fn response_operation(root: &Element) -> Option<Operation> {
    let body = root.elements().find(|e| e.local == "Body")?;
    let el = body.elements().next()?;
    let name = el.local.strip_suffix("Response")?;
    Operation::ALL.into_iter().find(|o| o.name() == name)
}

/// Rebuilds a real response (not a fault) from the values in it and encodes it with our encoder.
pub fn reencode_response(bytes: &[u8]) -> (Operation, Vec<u8>) {
    let root = parse(bytes);
    let op = response_operation(&root).expect("a response element");
    let body = root.elements().find(|e| e.local == "Body").expect("Body");
    let resp = body.elements().next().expect("response element");
    let frags = Fragments::collect(resp);
    let mut next_frag = frags.0.iter();
    let result_name = format!("{}Result", op.name());
    let result = kid(resp, &result_name);
    let out = match op {
        Operation::GetConfig => {
            let r = result.expect("GetConfigResult");
            let config = ConfigResponse {
                last_change: txt(r, "LastChange"),
                is_registration_required: boolean(r, "IsRegistrationRequired"),
                auth_plugins: kid(r, "AuthInfo")
                    .map(|a| {
                        kids(a, "AuthPlugInInfo")
                            .map(|p| AuthPlugInInfo {
                                plugin_id: txt(p, "PlugInID"),
                                service_url: txt(p, "ServiceUrl"),
                                parameter: kid(p, "Parameter").map(|e| e.text()),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                allowed_event_ids: kid(r, "AllowedEventIds").map(|a| ints(Some(a))),
                properties: kid(r, "Properties")
                    .map(|p| kids(p, "ConfigurationProperty").map(|c| (txt(c, "Name"), txt(c, "Value"))).collect())
                    .unwrap_or_default(),
            };
            encode_get_config_response(&config)
        }
        Operation::GetCookie => encode_get_cookie_response(&new_cookie(result.expect("GetCookieResult"))),
        Operation::RegisterComputer => encode_register_computer_response(),
        Operation::StartCategoryScan => encode_start_category_scan_response(&StartCategoryScanResponse {
            preferred_category_ids: guids(kid(resp, "preferredCategoryIds")),
            requested_category_ids_in_error: guids(kid(resp, "requestedCategoryIdsInError")),
        }),
        Operation::SyncUpdates | Operation::SyncPrinterCatalog => {
            let r = result.expect("SyncInfo");
            let mut infos = |name: &str| -> Vec<UpdateInfo<'_>> {
                kid(r, name)
                    .map(|a| {
                        kids(a, "UpdateInfo")
                            .map(|u| UpdateInfo {
                                id: int(u, "ID"),
                                deployment: deployment(must(u, "Deployment")),
                                is_leaf: boolean(u, "IsLeaf"),
                                xml_escaped: next_frag.next().expect("fragment"),
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let new_updates = infos("NewUpdates");
            let changed_updates = infos("ChangedUpdates");
            let info = SyncInfo {
                new_updates,
                out_of_scope_revision_ids: ints(kid(r, "OutOfScopeRevisionIDs")),
                changed_updates,
                truncated: boolean(r, "Truncated"),
                new_cookie: kid(r, "NewCookie").map(new_cookie),
                deployed_out_of_scope_revision_ids: kid(r, "DeployedOutOfScopeRevisionIds").map(|a| ints(Some(a))),
                driver_sync_not_needed: kid(r, "DriverSyncNotNeeded").map(|e| e.text() == "true"),
            };
            if op == Operation::SyncUpdates {
                encode_sync_updates_response(&info)
            } else {
                encode_sync_printer_catalog_response(&info)
            }
        }
        Operation::GetExtendedUpdateInfo => {
            let r = result.expect("ExtendedUpdateInfo");
            let info = ExtendedUpdateInfo {
                updates: kid(r, "Updates")
                    .map(|a| {
                        kids(a, "Update")
                            .map(|u| UpdateData { id: int(u, "ID"), xml_escaped: next_frag.next().expect("fragment") })
                            .collect()
                    })
                    .unwrap_or_default(),
                file_locations: file_locations(kid(r, "FileLocations")),
                out_of_scope_revision_ids: ints(kid(r, "OutOfScopeRevisionIDs")),
            };
            encode_get_extended_update_info_response(&info)
        }
        Operation::GetFileLocations => {
            let r = result.expect("GetFileLocationsResults");
            encode_get_file_locations_response(&GetFileLocationsResults {
                file_locations: file_locations(kid(r, "FileLocations")),
                new_cookie: kid(r, "NewCookie").map(new_cookie),
            })
        }
        Operation::GetAuthorizationCookie => {
            let r = result.expect("AuthorizationCookie");
            encode_get_authorization_cookie_response(&AuthorizationCookie {
                plugin_id: kid(r, "PlugInId").map(|e| e.text()),
                cookie_data: kid(r, "CookieData").map(|e| b64(&e.text())),
            })
        }
        Operation::ReportEventBatch => encode_report_event_batch_response(boolean(resp, "ReportEventBatchResult")),
        Operation::ReportEventBatch2 => encode_report_event_batch2_response(boolean(resp, "ReportEventBatch2Result")),
        other => panic!("no rebuilder for {other:?}"),
    };
    assert!(next_frag.next().is_none(), "every fragment was used");
    (op, out)
}

/// Rebuilds a real fault from its values. The service comes from the envelope style (the
/// client service writes `s:`, the ASMX services `soap:`).
pub fn reencode_fault(bytes: &[u8], service: Service) -> Vec<u8> {
    let root = parse(bytes);
    let body = root.elements().find(|e| e.local == "Body").expect("Body");
    let f = must(body, "Fault");
    let detail = must(f, "detail");
    let code = match txt(detail, "ErrorCode").as_str() {
        "InvalidParameters" => ErrorCode::InvalidParameters,
        "ConfigChanged" => ErrorCode::ConfigChanged,
        "InvalidCookie" => ErrorCode::InvalidCookie,
        other => panic!("unexpected code {other}"),
    };
    let mut fault = Fault::new(code, service)
        .with_message(txt(detail, "Message"))
        .with_id(Uuid::parse_str(&txt(detail, "ID")).expect("guid"))
        .with_fault_string(txt(f, "faultstring"));
    if let Some(m) = kid(detail, "Method") {
        fault = fault.with_method(m.text());
    }
    if let Some(a) = kid(f, "faultactor") {
        fault = fault.with_actor(a.text());
    }
    assert!(txt(f, "faultcode").ends_with(&format!(":{}", fault.fault_code().as_str())));
    encode_fault(&fault)
}

// Not every test file that includes this module compares bytes.
#[allow(unused_imports)]
pub use sluice_soap_core::testing::first_difference;

/// Structural equality of two XML documents (see [`sluice_soap_core::testing::same_structure`]).
pub fn same_structure(a: &Element, b: &Element) -> Result<(), String> {
    sluice_soap_core::testing::same_structure(a, b, &[])
}
