//! Decoding of every REAL request in the fixtures: a native Windows 11 25H2 agent
//! (`wsus-m0-native`), the wsus-rs driver (`wsus-m0`), and the [MS-WUSP] section 4 examples
//! (SOAP-encoded arrays, `xsi:nil`, pretty-printed, wrapped base64).

mod common;

use common::*;
use sluice_soap::*;
use uuid::{Uuid, uuid};

fn decode(rel: &str) -> Request {
    decode_request(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn sync(rel: &str) -> SyncUpdatesRequest {
    match decode(rel) {
        Request::SyncUpdates(r) => r,
        other => panic!("{rel}: {:?}", other.operation()),
    }
}

const DEFENDER_FILTER: Uuid = uuid!("dd78b8a1-0b20-45c1-add6-4da72e9364cf");
const CLIENT_ID: &str = "e1da06a3-5601-43c9-bac3-52d5db701494";

#[test]
fn every_captured_request_decodes_to_the_operation_its_soap_action_names() {
    let exchanges = exchanges();
    // scan 000001–000010, flow 000001/3/12–18, wsus-m0 000001–5/70/140/141.
    assert_eq!(exchanges.len(), 10 + 9 + 8, "{exchanges:?}");
    for ex in exchanges {
        let req = decode(&format!("{ex}/request.body"));
        let action = soap_action(&ex);
        assert!(
            req.operation().accepts_soap_action(&action),
            "{ex}: decoded {:?}, SOAPAction {action}",
            req.operation()
        );
    }
}

#[test]
fn native_handshake() {
    let Request::GetConfig(r) = decode("wsus-m0-native/scan/000001/request.body") else { panic!() };
    assert_eq!(r.protocol_version.as_deref(), Some("2.90"));

    let Request::GetAuthorizationCookie(r) = decode("wsus-m0-native/scan/000002/request.body") else { panic!() };
    assert_eq!(r.client_id.as_deref(), Some(CLIENT_ID));
    assert_eq!(r.dns_name.as_deref(), Some("REDACTED3"));
    assert_eq!(r.target_group_name, None);

    let req = decode("wsus-m0-native/scan/000003/request.body");
    let Request::GetCookie(r) = &req else { panic!() };
    assert_eq!(r.auth_cookies.len(), 1);
    assert_eq!(r.auth_cookies[0].plugin_id.as_deref(), Some("SimpleTargeting"));
    // The real 496-byte blob (redacted to zeros of the same length).
    assert_eq!(r.auth_cookies[0].cookie_data.as_ref().map(Vec::len), Some(496));
    // The native oldCookie has only an Expiration: a placeholder, not a cookie.
    let old = r.old_cookie.as_ref().expect("oldCookie present");
    assert_eq!(old.expiration.as_deref(), Some("2026-10-04T15:03:36Z"));
    assert_eq!(old.encrypted_data, None);
    assert!(!old.has_data());
    assert_eq!(req.cookie(), Some(old));
    assert_eq!(r.last_change.as_deref(), Some("2026-10-04T13:17:07.59Z"));
    assert_eq!(r.current_time.as_deref(), Some("2026-10-04T15:03:36Z"));
    assert_eq!(r.protocol_version.as_deref(), Some("2.90"));
    assert!(parse_datetime(r.last_change.as_deref().unwrap_or_default()).is_some());

    let Request::RegisterComputer(r) = decode("wsus-m0-native/scan/000004/request.body") else { panic!() };
    let c = r.cookie.expect("cookie");
    assert_eq!(c.expiration.as_deref(), Some("2026-10-04T16:03:35.9967236Z"));
    assert_eq!(c.encrypted_data.as_ref().map(Vec::len), Some(224));
    assert!(c.has_data());
    let ci = r.computer_info.expect("computerInfo");
    assert_eq!(ci.dns_name.as_deref(), Some("REDACTED3"));
    assert_eq!((ci.os_major_version, ci.os_minor_version, ci.os_build_number), (Some(10), Some(0), Some(26200)));
    assert_eq!(ci.os_locale.as_deref(), Some("en-US"));
    assert_eq!(ci.computer_manufacturer.as_deref(), Some("QEMU"));
    assert_eq!(ci.computer_model.as_deref(), Some("Standard PC (Q35 + ICH9, 2009)"));
    assert_eq!(ci.bios_release_date.as_deref(), Some("2022-02-02T00:00:00Z"));
    assert_eq!(ci.processor_architecture.as_deref(), Some("AMD64"));
    assert_eq!((ci.suite_mask, ci.old_product_type, ci.new_product_type), (Some(256), Some(1), Some(48)));
    assert_eq!(
        (
            ci.client_version_major_number,
            ci.client_version_minor_number,
            ci.client_version_build_number,
            ci.client_version_qfe_number
        ),
        (Some(1507), Some(2601), Some(30012), Some(0))
    );
    assert_eq!(ci.os_description.as_deref(), Some("Windows 10 Pro"));
    assert_eq!(ci.mobile_operator.as_deref(), Some("Not Present"));

    let Request::StartCategoryScan(r) = decode("wsus-m0-native/scan/000005/request.body") else { panic!() };
    assert_eq!(r.cookie, None, "native StartCategoryScan carries no cookie");
    assert_eq!(
        r.requested_categories,
        vec![CategoryRelationship { index_of_and_group: 0, category_id: DEFENDER_FILTER }]
    );
}

#[test]
fn native_category_scan_sync_rounds() {
    // First round: the cached-id arrays are omitted entirely.
    let r = sync("wsus-m0-native/scan/000006/request.body");
    assert!(r.cookie.as_ref().is_some_and(Cookie::has_data));
    assert!(!r.express_query);
    assert!(r.installed_non_leaf_update_ids.is_empty() && r.other_cached_update_ids.is_empty());
    assert!(r.cached_driver_ids.is_empty());
    assert_eq!(r.system_spec, None);
    assert!(!r.skip_software_sync);
    assert_eq!(r.filter_category_ids, vec![DEFENDER_FILTER]);
    assert!(r.need_two_group_out_of_scope_updates);
    assert_eq!(r.also_perform_regular_sync, Some(false));
    assert!(r.computer_spec_hardware_ids.is_empty(), "<ComputerSpec/> is empty");
    assert_eq!(r.feature_score_matching_key, None);
    assert!(r.device_attributes.as_deref().is_some_and(|a| a.contains("UpdateServiceUrl=http://192.0.2.1:8530;")));
    assert!(r.caller_attributes.as_deref().is_some_and(|a| a.contains("Id=OOBE ZDP;")));

    let r = sync("wsus-m0-native/scan/000007/request.body");
    assert_eq!(r.installed_non_leaf_update_ids, vec![108226]);
    let r = sync("wsus-m0-native/scan/000008/request.body");
    assert_eq!(r.installed_non_leaf_update_ids, vec![108226, 108231]);
    assert!(r.other_cached_update_ids.is_empty());
}

#[test]
fn native_driver_passes() {
    let r = sync("wsus-m0-native/scan/000009/request.body");
    assert!(r.skip_software_sync);
    assert_eq!(r.installed_non_leaf_update_ids, vec![108226, 108231]);
    let devices = r.system_spec.as_ref().expect("SystemSpec");
    assert_eq!(devices.len(), 70);
    assert_eq!(r.computer_spec_hardware_ids.len(), 6);
    assert_eq!(r.computer_spec_hardware_ids[0], uuid!("458ab48b-acb9-5863-b5a8-d2c32f0d3e6f"));
    assert_eq!(r.feature_score_matching_key.as_deref(), Some("AMD64.10.0"));
    assert_eq!(r.filter_category_ids, vec![DEFENDER_FILTER]);

    let first = &devices[0];
    assert_eq!(first.hardware_ids, vec!["{6d170653-5280-44c2-ba44-2c04bc9d46da}".to_string()]);
    assert_eq!(first.device_flags, Some(1));
    let d = first.installed_driver.as_ref().expect("installedDriver");
    assert_eq!(d.class.as_deref(), Some("Printer"));
    assert_eq!(d.driver_ver_version, Some(2814751477604196));
    assert_eq!(d.driver_ver_date.as_deref(), Some("2006-06-21T00:00:00Z"));
    assert_eq!(d.model.as_deref(), Some("Universal Print Class Driver"));
    assert_eq!(d.matching_computer_hwid, None, "a:nil=\"true\" with a local xsi prefix");
    assert_eq!(d.driver_rank, Some(-1));

    // Entity references in hardware ids are resolved.
    assert!(devices.iter().any(|d| d.hardware_ids.iter().any(|h| h == r"ACPI\VEN_PNP&DEV_0303")));
    // The native `extensionDrivers/ExtensionDriver` spelling.
    let with_ext: Vec<_> = devices.iter().filter(|d| !d.extension_drivers.is_empty()).collect();
    assert!(!with_ext.is_empty());
    let x = &with_ext[0].extension_drivers[0];
    assert_eq!(x.extension_id.as_deref(), Some("{96BEDF2C-18CB-4A15-B821-5E95ED0FEA61}"));
    assert_eq!(x.driver_rank, Some(16719872));
    assert_eq!(x.driver_ver_version, Some(2814751477600928));
    // Native-only installedDriver flags.
    assert!(
        devices
            .iter()
            .filter_map(|d| d.installed_driver.as_ref())
            .any(|d| d.is_generic == Some(true) && d.skip_provider_filtering == Some(true))
    );
    assert!(devices.iter().any(|d| d.compatible_ids == [r"SWD\GenericRaw", r"SWD\Generic"]));

    let r = sync("wsus-m0-native/flow/000014/request.body");
    assert!(r.skip_software_sync);
    assert_eq!(r.system_spec.as_ref().map(Vec::len), Some(75));
    assert_eq!(r.installed_non_leaf_update_ids.len(), 94);
    assert!(r.other_cached_update_ids.is_empty(), "the driver pass drops OtherCachedUpdateIDs");
}

#[test]
fn native_full_scan_pages() {
    let r = sync("wsus-m0-native/flow/000001/request.body");
    assert_eq!(r.installed_non_leaf_update_ids.len(), 87);
    assert_eq!(&r.installed_non_leaf_update_ids[..2], &[16, 28]);
    assert_eq!(r.other_cached_update_ids.len(), 1029);
    assert_eq!(r.also_perform_regular_sync, Some(true));
    assert!(r.filter_category_ids.is_empty());
    assert!(r.caller_attributes.as_deref().is_some_and(|a| a.contains("Id=<<PROCESS>>: powershell.exe")));
    for (ex, installed, other) in [("000003", 94, 1037), ("000012", 94, 1307), ("000013", 94, 1337)] {
        let r = sync(&format!("wsus-m0-native/flow/{ex}/request.body"));
        assert_eq!(
            (r.installed_non_leaf_update_ids.len(), r.other_cached_update_ids.len()),
            (installed, other),
            "{ex}"
        );
    }
}

#[test]
fn native_get_extended_update_info() {
    let Request::GetExtendedUpdateInfo(r) = decode("wsus-m0-native/flow/000015/request.body") else { panic!() };
    assert_eq!(r.revision_ids.len(), 18);
    assert_eq!(r.revision_ids.first(), Some(&191472));
    assert_eq!(r.revision_ids.last(), Some(&200996));
    assert_eq!(r.info_types, vec![FragmentType::Extended, FragmentType::LocalizedProperties]);
    assert_eq!(r.locales, vec!["en-US".to_string(), "en".to_string()]);
    assert_eq!(r.geo_id.as_deref(), Some("USA"));
    assert!(r.device_attributes.as_deref().is_some_and(|a| a.starts_with("ActivationChannel=Retail;")));
    assert!(r.caller_attributes.is_some());
    assert!(r.cookie.as_ref().is_some_and(Cookie::has_data));

    let Request::GetExtendedUpdateInfo(r) = decode("wsus-m0-native/scan/000010/request.body") else { panic!() };
    assert_eq!(r.revision_ids, vec![72571, 108226, 108231]);
}

#[test]
fn native_report_event_batches() {
    let Request::ReportEventBatch(r) = decode("wsus-m0-native/flow/000016/request.body") else { panic!() };
    assert!(r.cookie.as_ref().is_some_and(Cookie::has_data));
    assert_eq!(r.client_time.as_deref(), Some("2026-10-04T15:20:47.397Z"));
    let ids: Vec<i32> = r.events.iter().map(|e| e.basic.event_id).collect();
    assert_eq!(ids, vec![147, 148, 148, 148]);
    let e = &r.events[0];
    assert_eq!(e.basic.target_id.as_deref(), Some(CLIENT_ID));
    assert_eq!((e.basic.sequence_number, e.basic.namespace_id, e.basic.source_id), (0, 1, 101));
    assert_eq!(e.basic.event_instance_id, Some(uuid!("fab199c1-6123-44f2-b01c-a5a92201b011")));
    assert_eq!(e.basic.update_id, Some(UpdateIdentity { update_id: Uuid::nil(), revision_number: 0 }));
    assert_eq!(e.basic.app_name.as_deref(), Some("OOBE ZDP"));
    let x = e.extended.as_ref().expect("ExtendedData");
    assert_eq!(x.replacement_strings, vec!["0".to_string()]);
    assert_eq!(x.misc_data.first().map(String::as_str), Some("B=3"));
    assert!(x.misc_data.iter().any(|m| m == "PauseFU=1"));
    assert_eq!(x.processor_architecture.as_deref(), Some("Amd64Compatible"));
    assert_eq!(
        x.os_version,
        Some(OsVersion {
            major: 10,
            minor: 0,
            build: 26200,
            revision: 65792,
            service_pack_major: 0,
            service_pack_minor: 0
        })
    );
    assert_eq!(x.os_locale_id, Some(1033));
    assert_eq!(e.private, Some(PrivateData::default()), "<PrivateData/> is present and empty");
    assert_eq!(r.events[1].basic.win32_hresult, -2145123272); // 0x80240438
    assert_eq!(r.events[1].extended.as_ref().map(|x| x.replacement_strings.clone()), Some(vec!["0x80240438".into()]));

    let Request::ReportEventBatch(r) = decode("wsus-m0-native/flow/000017/request.body") else { panic!() };
    let ids: Vec<i32> = r.events.iter().map(|e| e.basic.event_id).collect();
    assert_eq!(ids, vec![148, 148, 147, 156, 147, 156, 161, 161, 181]);
    // Event 156 with an applicable-update list (U=) in MiscData; the first 156 has none.
    let status = &r.events[5];
    assert!(
        status
            .extended
            .as_ref()
            .is_some_and(|x| x.misc_data.iter().any(|m| m.starts_with("U=1594B429-A8C5-4B0D-AC86-79B0A826A847;")))
    );
    assert!(r.events[3].extended.as_ref().is_some_and(|x| !x.misc_data.iter().any(|m| m.starts_with("U="))));
    assert_eq!(r.events[3].basic.app_name, None);
    let defender = &r.events[8];
    assert_eq!(
        defender.basic.update_id,
        Some(UpdateIdentity { update_id: uuid!("a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe"), revision_number: 200 })
    );
    assert_eq!(r.events[6].basic.win32_hresult, -2147467262); // 0x80004002

    let Request::ReportEventBatch(r) = decode("wsus-m0-native/flow/000018/request.body") else { panic!() };
    let ids: Vec<(i32, i32)> = r.events.iter().map(|e| (e.basic.event_id, e.basic.win32_hresult)).collect();
    assert_eq!(ids, vec![(182, -2145099769), (182, -2145099769)]); // 0x80246007
}

#[test]
fn driver_requests_of_the_wsus_rs_client() {
    let Request::GetConfig(r) = decode("wsus-m0/000001/request.body") else { panic!() };
    assert_eq!(r.protocol_version.as_deref(), Some("1.8"));
    let Request::GetCookie(r) = decode("wsus-m0/000003/request.body") else { panic!() };
    assert_eq!(r.old_cookie, None, "the driver omits oldCookie");
    // Empty arrays (`<X/>`) on the first page.
    let r = sync("wsus-m0/000005/request.body");
    assert!(r.installed_non_leaf_update_ids.is_empty() && r.other_cached_update_ids.is_empty());
    assert!(!r.need_two_group_out_of_scope_updates);
    let r = sync("wsus-m0/000070/request.body");
    assert_eq!((r.installed_non_leaf_update_ids.len(), r.other_cached_update_ids.len()), (266, 1684));
    let r = sync("wsus-m0/000140/request.body");
    assert_eq!((r.installed_non_leaf_update_ids.len(), r.other_cached_update_ids.len()), (398, 3652));
    // The request real WSUS refused with InvalidParameters: decoding it is fine, the 400 cap is
    // server policy.
    let r = sync("wsus-m0/000141/request.body");
    assert_eq!((r.installed_non_leaf_update_ids.len(), r.other_cached_update_ids.len()), (401, 3679));
    assert_eq!(r.installed_non_leaf_update_ids[..2], [102836, 81149]);
}

#[test]
fn every_spec_example_request_decodes() {
    let files = spec_examples("-request.xml");
    assert_eq!(files.len(), 13, "{files:?}");
    for f in &files {
        let req = decode(f);
        let name = f.rsplit('/').next().unwrap_or_default();
        assert!(name.contains(&format!("-{}-", req.operation().name())), "{f}: {:?}", req.operation());
    }
}

#[test]
fn spec_examples_soap_encoding_and_nil() {
    // xsi:nil="1" on oldCookie/EncryptedData; base64 wrapped with spaces.
    let Request::GetCookie(r) = decode("spec-examples/ms-wusp/05-GetCookie-request.xml") else { panic!() };
    assert_eq!(r.old_cookie.as_ref().and_then(|c| c.encrypted_data.clone()), None);
    assert_eq!(r.old_cookie.as_ref().and_then(|c| c.expiration.clone()).as_deref(), Some("2006-05-16T18:54:28.85Z"));
    assert_eq!(r.auth_cookies.len(), 1);
    assert!(r.auth_cookies[0].cookie_data.as_ref().is_some_and(|d| d.len() > 400));
    assert_eq!(r.protocol_version.as_deref(), Some("1.8"));

    // All arrays nil, SystemSpec nil must not count as present; Expiration without a zone.
    let r = sync("spec-examples/ms-wusp/12-SyncUpdates-request.xml");
    assert!(r.installed_non_leaf_update_ids.is_empty() && r.other_cached_update_ids.is_empty());
    assert_eq!(r.system_spec, None);
    assert_eq!(r.cookie.as_ref().and_then(|c| c.expiration.clone()).as_deref(), Some("2006-05-23T04:06:32.9843746"));
    assert!(r.cookie.as_ref().is_some_and(Cookie::has_data), "EncryptedData with a trailing newline decodes");

    // soapenc:arrayType arrays.
    let r = sync("spec-examples/ms-wusp/13-SyncUpdates-request.xml");
    assert_eq!(r.installed_non_leaf_update_ids, vec![109]);
    assert_eq!(r.other_cached_update_ids.len(), 29);
    assert_eq!(r.other_cached_update_ids[..3], [101, 102, 103]);

    let Request::RefreshCache(r) = decode("spec-examples/ms-wusp/10-RefreshCache-request.xml") else { panic!() };
    assert_eq!(r.global_ids.len(), 7);
    assert_eq!(
        r.global_ids[0],
        UpdateIdentity { update_id: uuid!("0a4c6c73-8887-4d7f-9cbe-d08fa8fa9d1e"), revision_number: 50 }
    );
    assert!(r.cookie.as_ref().is_some_and(Cookie::has_data), "base64 with an embedded space");

    let Request::GetFileLocations(r) = decode("spec-examples/ms-wusp/11-GetFileLocations-request.xml") else {
        panic!()
    };
    assert_eq!(r.file_digests, vec![vec![0u8; 20]]);

    let Request::RegisterComputer(r) = decode("spec-examples/ms-wusp/09-RegisterComputer-request.xml") else {
        panic!()
    };
    assert!(r.computer_info.as_ref().is_some_and(|c| c.os_major_version.is_some()));

    let Request::GetAuthorizationCookie(r) = decode("spec-examples/ms-wusp/03-GetAuthorizationCookie-request.xml")
    else {
        panic!()
    };
    assert!(r.client_id.is_some() && r.dns_name.is_some());

    let Request::ReportEventBatch(r) = decode("spec-examples/ms-wusp/16-ReportEventBatch-request.xml") else {
        panic!()
    };
    assert_eq!(r.events.iter().map(|e| e.basic.event_id).collect::<Vec<_>>(), vec![148, 148]);
    assert_eq!(r.client_time.as_deref(), Some("2006-05-17T16:16:38.015"));
    let e = &r.events[0];
    assert_eq!(e.basic.event_instance_id, Some(uuid!("E6D82915-627F-418B-A5CC-B9FCD400455B")));
    assert_eq!(e.basic.win32_hresult, -2145107943);
    let x = e.extended.as_ref().expect("ExtendedData");
    assert_eq!(x.replacement_strings, vec!["0x80244019".to_string()]);
    assert_eq!(x.misc_data.len(), 5);
    assert_eq!(x.device_id.as_deref(), Some(""));
    assert_eq!(x.processor_architecture.as_deref(), Some("X86Compatible"));
    let p = e.private.as_ref().expect("PrivateData");
    assert_eq!(p.computer_dns_name.as_deref(), Some(""));

    for (f, ids) in [
        ("spec-examples/ms-wusp/17-ReportEventBatch-request.xml", vec![147, 156]),
        ("spec-examples/ms-wusp/18-ReportEventBatch-request.xml", vec![183, 202, 147, 156]),
    ] {
        let Request::ReportEventBatch(r) = decode(f) else { panic!() };
        assert_eq!(r.events.iter().map(|e| e.basic.event_id).collect::<Vec<_>>(), ids, "{f}");
    }
}
