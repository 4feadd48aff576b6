//! Hostile, broken and unusual input: every case must yield a precise error or a correct value,
//! never a panic, and big inputs must stay fast.

mod common;

use std::time::Instant;

use common::*;
use proptest::prelude::*;
use sluice_soap::*;

const CLIENT: &str = "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService";

fn envelope(inner: &str) -> Vec<u8> {
    sluice_soap_core::testing::in_envelope("s", inner)
}

fn sync_body(params: &str) -> Vec<u8> {
    envelope(&format!(r#"<SyncUpdates xmlns="{CLIENT}"><parameters>{params}</parameters></SyncUpdates>"#))
}

fn invalid_parameter(body: &[u8]) -> String {
    match decode_request(body) {
        Err(SoapError::InvalidParameter { name, .. }) => name,
        other => panic!("expected InvalidParameter, got {other:?}"),
    }
}

#[test]
fn doctype_entities_and_deep_nesting_are_refused() {
    for (attack, body) in sluice_soap_core::testing::hostile_envelopes("s", CLIENT, "GetConfig", "protocolVersion") {
        assert!(matches!(decode_request(&body), Err(SoapError::Malformed(_))), "{attack}");
    }
    let (text, value) = sluice_soap_core::testing::PREDEFINED_ENTITIES;
    let ok = envelope(&format!(r#"<GetConfig xmlns="{CLIENT}"><protocolVersion>{text}</protocolVersion></GetConfig>"#));
    let Ok(Request::GetConfig(r)) = decode_request(&ok) else { panic!() };
    assert_eq!(r.protocol_version.as_deref(), Some(value));
}

#[test]
fn every_truncation_of_real_requests_is_an_error() {
    for rel in [
        "wsus-m0-native/scan/000003/request.body",
        "wsus-m0-native/scan/000004/request.body",
        "wsus-m0-native/flow/000016/request.body",
        "spec-examples/ms-wusp/13-SyncUpdates-request.xml",
    ] {
        let body = read(rel);
        assert!(decode_request(&body).is_ok(), "{rel}");
        // A cut inside the closing tags or trailing whitespace can still leave a complete
        // document; any other cut must fail, and none may panic.
        let root_end = body.windows(b"Envelope>".len()).rposition(|w| w == b"Envelope>").expect("end tag");
        for len in 0..root_end {
            assert!(decode_request(&body[..len]).is_err(), "{rel} cut at {len} decoded");
        }
    }
    // The large ones at a stride.
    for rel in ["wsus-m0-native/scan/000009/request.body", "wsus-m0/000141/request.body"] {
        let body = read(rel);
        for len in (0..body.len() - 30).step_by(97) {
            assert!(decode_request(&body[..len]).is_err(), "{rel} cut at {len} decoded");
        }
    }
}

#[test]
fn not_soap() {
    let wrong_ns = br#"<s:Envelope xmlns:s="http://example.com/not-soap"><s:Body><GetConfig xmlns="http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService"/></s:Body></s:Envelope>"#;
    assert!(matches!(decode_request(wrong_ns), Err(SoapError::NotSoap(_))));
    let soap12 = br#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>"#;
    assert!(matches!(decode_request(soap12), Err(SoapError::NotSoap(m)) if m.contains("1.2")));
    // Prefix without namespace: a prefix alone means nothing.
    let no_ns = b"<soap:Envelope><soap:Body/></soap:Envelope>";
    assert!(decode_request(no_ns).is_err());
    assert!(matches!(decode_request(b"<Envelope><Body/></Envelope>"), Err(SoapError::NotSoap(_))));
    let no_body = br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header/></s:Envelope>"#;
    assert!(matches!(decode_request(no_body), Err(SoapError::NotSoap(_))));
    assert!(matches!(decode_request(&envelope("")), Err(SoapError::NotSoap(_))));
    assert!(matches!(decode_request(&envelope("   ")), Err(SoapError::NotSoap(_))));
    for junk in [&b""[..], b"   ", b"{\"json\": true}", b"GET / HTTP/1.1", b"<", b"<?xml version=\"1.0\"?>"] {
        assert!(decode_request(junk).is_err());
    }
    assert!(matches!(decode_request(b"<a>\xff\xfe</a>"), Err(SoapError::Malformed(_))));
}

#[test]
fn unknown_operations() {
    for (ns, name) in [
        (CLIENT, "GetConfig2"),
        (CLIENT, "GetTimestamps"),
        (CLIENT, "GetAuthorizationCookie"),
        ("http://www.microsoft.com/SoftwareDistribution", "GetConfig"),
        ("", "GetConfig"),
        ("urn:evil", "SyncUpdates"),
    ] {
        let body = envelope(&format!(r#"<{name} xmlns="{ns}"/>"#));
        assert_eq!(
            decode_request(&body),
            Err(SoapError::UnknownOperation { ns: ns.into(), name: name.into() }),
            "{ns} {name}"
        );
    }
}

#[test]
fn invalid_values_name_their_parameter() {
    let cookie = |data: &str| {
        envelope(&format!(
            r#"<SyncUpdates xmlns="{CLIENT}"><cookie><Expiration>2026-10-04T16:03:35Z</Expiration><EncryptedData>{data}</EncryptedData></cookie><parameters/></SyncUpdates>"#
        ))
    };
    assert_eq!(invalid_parameter(&cookie("not*base64!")), "cookie.EncryptedData");
    assert_eq!(invalid_parameter(&cookie("QUJD=")), "cookie.EncryptedData");
    assert!(decode_request(&cookie(" QUJD\n REVG ")).is_ok(), "whitespace inside base64 is allowed");

    assert_eq!(
        invalid_parameter(&sync_body("<OtherCachedUpdateIDs><int>1</int><int>two</int></OtherCachedUpdateIDs>")),
        "parameters.OtherCachedUpdateIDs"
    );
    assert_eq!(
        invalid_parameter(&sync_body("<InstalledNonLeafUpdateIDs><int>99999999999</int></InstalledNonLeafUpdateIDs>")),
        "parameters.InstalledNonLeafUpdateIDs"
    );
    assert_eq!(
        invalid_parameter(&sync_body("<InstalledNonLeafUpdateIDs><int/></InstalledNonLeafUpdateIDs>")),
        "parameters.InstalledNonLeafUpdateIDs"
    );
    assert_eq!(
        invalid_parameter(&sync_body("<SkipSoftwareSync>yes</SkipSoftwareSync>")),
        "parameters.SkipSoftwareSync"
    );
    assert_eq!(
        invalid_parameter(&sync_body(
            "<FilterCategoryIds><CategoryIdentifier><Id>not-a-guid</Id></CategoryIdentifier></FilterCategoryIds>"
        )),
        "parameters.FilterCategoryIds.CategoryIdentifier.Id"
    );
    assert_eq!(
        invalid_parameter(&sync_body("<ComputerSpec><HardwareIDs><guid>zz</guid></HardwareIDs></ComputerSpec>")),
        "parameters.ComputerSpec.HardwareIDs"
    );
    assert_eq!(
        invalid_parameter(&envelope(&format!(
            r#"<GetExtendedUpdateInfo xmlns="{CLIENT}"><revisionIDs><int>1.5</int></revisionIDs></GetExtendedUpdateInfo>"#
        ))),
        "revisionIDs"
    );
    assert_eq!(
        invalid_parameter(&envelope(&format!(
            r#"<GetFileLocations xmlns="{CLIENT}"><fileDigests><base64Binary>%%%</base64Binary></fileDigests></GetFileLocations>"#
        ))),
        "fileDigests"
    );
    let report = |basic: &str| {
        envelope(&format!(
            r#"<ReportEventBatch xmlns="http://www.microsoft.com/SoftwareDistribution"><clientTime>2026-10-04T15:20:47Z</clientTime><eventBatch><ReportingEvent><BasicData>{basic}</BasicData></ReportingEvent></eventBatch></ReportEventBatch>"#
        ))
    };
    assert_eq!(invalid_parameter(&report("<EventID>x</EventID>")), "eventBatch.ReportingEvent.BasicData.EventID");
    assert_eq!(
        invalid_parameter(&report("<Win32HResult>99999999999</Win32HResult>")),
        "eventBatch.ReportingEvent.BasicData.Win32HResult"
    );
    // The unsigned rendering of an HRESULT means the same 32 bits.
    let Ok(Request::ReportEventBatch(r)) = decode_request(&report("<Win32HResult>2149844024</Win32HResult>")) else {
        panic!()
    };
    assert_eq!(r.events[0].basic.win32_hresult, 0x8024_0438_u32 as i32);
    // A SyncUpdates without parameters cannot be served.
    assert_eq!(invalid_parameter(&envelope(&format!(r#"<SyncUpdates xmlns="{CLIENT}"/>"#))), "parameters");
}

#[test]
fn tolerated_shapes() {
    // Unknown elements everywhere, a Header, unusual prefixes, unqualified children, nil and
    // empty arrays, whitespace around scalars.
    let body = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
  <env:Header><Foo xmlns="urn:x" env:mustUnderstand="0">ignored</Foo></env:Header>
  <env:Body>
    <c:SyncUpdates xmlns:c="{CLIENT}">
      <c:Unknown><c:cookie>not the cookie</c:cookie></c:Unknown>
      <c:cookie><c:Expiration> 2026-10-04T16:03:35Z </c:Expiration><c:EncryptedData i:nil="true"/></c:cookie>
      <c:parameters>
        <c:ExpressQuery> false </c:ExpressQuery>
        <c:InstalledNonLeafUpdateIDs><c:int> 5 </c:int><c:int i:nil="1"/><c:Comment>x</c:Comment><int>6</int></c:InstalledNonLeafUpdateIDs>
        <c:OtherCachedUpdateIDs/>
        <c:SystemSpec/>
        <c:CachedDriverIDs i:nil="true"/>
        <c:SkipSoftwareSync>1</c:SkipSoftwareSync>
        <c:FilterCategoryIds><c:CategoryIdentifier><c:Id>{{DD78B8A1-0B20-45C1-ADD6-4DA72E9364CF}}</c:Id></c:CategoryIdentifier></c:FilterCategoryIds>
        <c:NewFutureElement><deep><deeper/></deep></c:NewFutureElement>
        <c:ComputerSpec><c:HardwareIDs/></c:ComputerSpec>
      </c:parameters>
    </c:SyncUpdates>
  </env:Body>
</env:Envelope>"#
    );
    let Ok(Request::SyncUpdates(r)) = decode_request(body.as_bytes()) else {
        panic!("{:?}", decode_request(body.as_bytes()))
    };
    let c = r.cookie.expect("cookie");
    assert_eq!(c.expiration.as_deref(), Some("2026-10-04T16:03:35Z"));
    assert_eq!(c.encrypted_data, None);
    assert_eq!(r.installed_non_leaf_update_ids, vec![5, 6]);
    assert!(r.other_cached_update_ids.is_empty() && r.cached_driver_ids.is_empty());
    assert_eq!(r.system_spec, Some(Vec::new()), "an empty SystemSpec is still present");
    assert!(r.skip_software_sync);
    assert_eq!(r.filter_category_ids, vec![uuid::uuid!("dd78b8a1-0b20-45c1-add6-4da72e9364cf")]);
    assert!(r.computer_spec_hardware_ids.is_empty());

    // UTF-8 BOM and UTF-16 (both orders) with a BOM.
    let plain = read("wsus-m0-native/scan/000004/request.body");
    let expected = decode_request(&plain).expect("plain");
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(&plain);
    assert_eq!(decode_request(&bom), Ok(expected.clone()));
    let text = String::from_utf8(plain).expect("utf-8");
    for le in [true, false] {
        let mut utf16 = if le { vec![0xFF, 0xFE] } else { vec![0xFE, 0xFF] };
        for u in text.encode_utf16() {
            utf16.extend_from_slice(&if le { u.to_le_bytes() } else { u.to_be_bytes() });
        }
        assert_eq!(decode_request(&utf16), Ok(expected.clone()));
        utf16.pop();
        assert!(matches!(decode_request(&utf16), Err(SoapError::Malformed(_))));
    }
}

#[test]
fn huge_arrays_decode_fast() {
    let n = 100_000;
    let mut params = String::from("<ExpressQuery>false</ExpressQuery><OtherCachedUpdateIDs>");
    for i in 0..n {
        params.push_str(&format!("<int>{}</int>", 100_000 + i));
    }
    params.push_str("</OtherCachedUpdateIDs><SkipSoftwareSync>false</SkipSoftwareSync>");
    let body = sync_body(&params);
    let start = Instant::now();
    let Ok(Request::SyncUpdates(r)) = decode_request(&body) else { panic!() };
    let took = start.elapsed();
    assert_eq!(r.other_cached_update_ids.len(), n);
    assert_eq!(r.other_cached_update_ids[n - 1], 100_000 + n as i32 - 1);
    println!("decoded {n} ids ({} bytes) in {took:?}", body.len());
}

#[test]
fn oversized_bodies_are_refused_before_parsing() {
    let body = vec![b' '; MAX_REQUEST_BYTES + 1];
    assert_eq!(
        decode_request(&body),
        Err(SoapError::TooLarge { len: MAX_REQUEST_BYTES + 1, limit: MAX_REQUEST_BYTES })
    );
    let e = SoapError::TooLarge { len: 1, limit: 0 }.to_fault(Service::Client);
    assert_eq!(e.error_code, ErrorCode::InvalidParameters);
}

fn real_bodies() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = exchanges()
        .iter()
        .filter(|e| {
            !e.ends_with("000009") && !e.ends_with("000014") && !e.ends_with("000140") && !e.ends_with("000141")
        })
        .map(|e| read(&format!("{e}/request.body")))
        .collect();
    v.extend(spec_examples("-request.xml").iter().map(|f| read(f)));
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = decode_request(&bytes);
    }

    #[test]
    fn random_markup_never_panics(parts in proptest::collection::vec(prop_oneof![
        Just("<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">".to_string()),
        Just("<s:Body>".to_string()), Just("</s:Body>".to_string()), Just("</s:Envelope>".to_string()),
        Just(format!("<SyncUpdates xmlns=\"{CLIENT}\">")), Just("<parameters>".to_string()),
        Just("<int>".to_string()), Just("</int>".to_string()), Just("<cookie>".to_string()),
        Just("<EncryptedData>".to_string()), Just("</EncryptedData>".to_string()),
        Just("<x xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\" i:nil=\"true\"/>".to_string()),
        "[a-zA-Z0-9 =&;<>/\"'-]{0,12}",
    ], 0..40)) {
        let _ = decode_request(parts.concat().as_bytes());
    }

    #[test]
    fn mutated_real_bodies_never_panic(
        which in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>()), 1..8),
    ) {
        let bodies = real_bodies();
        let mut body = bodies[which.index(bodies.len())].clone();
        for (at, kind, byte) in edits {
            if body.is_empty() { break; }
            let i = at.index(body.len());
            match kind {
                0 => body[i] = byte,
                1 => { body.remove(i); }
                2 => body.insert(i, b"<>&\"'/=:"[usize::from(byte) % 8]),
                _ => body.truncate(i),
            }
        }
        let _ = decode_request(&body);
    }
}

/// Issue #8, item 15: a request carrying a character XML 1.0 forbids (raw or as a reference) is
/// refused with the fault a real WSUS answers malformed XML with, `InvalidParameters`.
#[test]
fn item_15_forbidden_xml_characters_are_an_invalid_parameters_fault() {
    let auth = "http://www.microsoft.com/SoftwareDistribution/Server/SimpleAuthWebService";
    let bodies = [
        envelope(&format!(
            r#"<GetAuthorizationCookie xmlns="{auth}"><clientId>8c1e4e1a-0000-4000-8000-000000000001</clientId><targetGroupName></targetGroupName><dnsName>evil&#x1b;[31m</dnsName></GetAuthorizationCookie>"#
        )),
        envelope(&format!(
            "<GetAuthorizationCookie xmlns=\"{auth}\"><clientId>8c1e4e1a-0000-4000-8000-000000000001</clientId><dnsName>evil\u{1b}[31m</dnsName></GetAuthorizationCookie>"
        )),
        envelope(&format!("<GetConfig xmlns=\"{CLIENT}\"><protocolVersion>1.20&#0;</protocolVersion></GetConfig>")),
    ];
    for body in &bodies {
        let e = decode_request(body).expect_err(&String::from_utf8_lossy(body));
        let fault = e.to_fault(Service::SimpleAuth);
        assert_eq!(fault.error_code, ErrorCode::InvalidParameters, "{e:?}");
    }
}
