//! Hostile, broken and unusual input on both sides: every case must be a precise error or a
//! correct value, never a panic, and large inputs must stay fast.

mod common;

use std::time::Instant;

use common::*;
use proptest::prelude::*;
use sluice_wsusss::*;

const SD: &str = "http://www.microsoft.com/SoftwareDistribution";
const COOKIE: &str =
    "<cookie><Expiration>2026-10-04T20:33:26.65455Z</Expiration><EncryptedData>AAAA</EncryptedData></cookie>";

fn envelope(inner: &str) -> Vec<u8> {
    sluice_soap_core::testing::in_envelope("soap", inner)
}

/// The parameter path the upstream decoder refuses `body` for.
fn invalid_parameter(body: &[u8]) -> String {
    let decoded = decode_request(body);
    let Err(DecodeError::InvalidParameter { name, .. }) = decoded else { panic!("expected InvalidParameter, got {decoded:?}") };
    name
}

#[test]
fn doctype_entities_and_deep_nesting_are_refused_on_both_sides() {
    for (attack, body) in sluice_soap_core::testing::hostile_envelopes("soap", SD, "GetConfigData", "configAnchor") {
        assert!(matches!(decode_request(&body), Err(DecodeError::Malformed(_))), "request: {attack}");
    }
    // Answers from an upstream are parsed by the same rules.
    for (attack, body) in sluice_soap_core::testing::hostile_envelopes("soap", SD, "GetRevisionIdListResponse", "GetRevisionIdListResult") {
        let decoded = decode_response(Operation::GetRevisionIdList, &body);
        assert!(matches!(decoded, Err(ResponseError::Decode(DecodeError::Malformed(_)))), "response: {attack}");
    }
    let (text, value) = sluice_soap_core::testing::PREDEFINED_ENTITIES;
    let ok = envelope(&format!(r#"<GetConfigData xmlns="{SD}"><configAnchor>{text}</configAnchor></GetConfigData>"#));
    let Ok(Request::GetConfigData(r)) = decode_request(&ok) else { panic!() };
    assert_eq!(r.config_anchor.as_deref(), Some(value));
}

#[test]
fn every_truncation_of_real_messages_is_an_error() {
    for ex in exchanges() {
        for (file, is_request) in [("request.body", true), ("response.body", false)] {
            let body = read(&format!("{ex}/{file}"));
            let end = body.windows(b"Envelope>".len()).rposition(|w| w == b"Envelope>").expect("end tag");
            // Large bodies at a stride, small ones at every byte.
            let step = if body.len() > 5000 { 61 } else { 1 };
            for len in (0..end).step_by(step) {
                let cut = &body[..len];
                let failed = if is_request {
                    decode_request(cut).is_err()
                } else {
                    decode_response(operation(&ex), cut).is_err()
                };
                assert!(failed, "{ex}/{file} cut at {len} decoded");
            }
        }
    }
}

#[test]
fn not_soap_and_wrong_namespaces() {
    let wrong_env = format!(
        r#"<s:Envelope xmlns:s="http://example.com/not-soap"><s:Body><GetAuthConfig xmlns="{SD}"/></s:Body></s:Envelope>"#
    );
    assert!(matches!(decode_request(wrong_env.as_bytes()), Err(DecodeError::NotSoap(_))));
    let soap12 = br#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>"#;
    assert!(matches!(decode_request(soap12), Err(DecodeError::NotSoap(m)) if m.contains("1.2")));
    assert!(decode_request(b"<soap:Envelope><soap:Body/></soap:Envelope>").is_err(), "undeclared prefix");
    assert!(matches!(decode_request(&envelope("")), Err(DecodeError::NotSoap(_))));
    for junk in [&b""[..], b"   ", b"{}", b"<", b"<?xml version=\"1.0\"?>", b"\xff\xfe\x00"] {
        assert!(decode_request(junk).is_err());
        assert!(decode_response(Operation::GetCookie, junk).is_err(), "Microsoft Update's empty HTTP 500");
    }

    // An operation in the namespace of another service, or of the client protocol.
    for (ns, name) in [
        ("http://www.microsoft.com/SoftwareDistribution/Server/DssAuthWebService", "GetCookie"),
        (SD, "GetAuthorizationCookie"),
        ("http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService", "GetCookie"),
        ("", "GetCookie"),
        (SD, "ReportEventBatch"),
        (SD, "GetDriverIdList"),
    ] {
        let body = envelope(&format!(r#"<{name} xmlns="{ns}"/>"#));
        assert!(
            matches!(decode_request(&body), Err(DecodeError::UnknownOperation { name: n, .. }) if n == name),
            "{{{ns}}}{name}"
        );
    }

    // A response element in the wrong namespace.
    let body = envelope(r#"<GetCookieResponse xmlns="http://example.com/"><GetCookieResult/></GetCookieResponse>"#);
    assert!(matches!(
        decode_response(Operation::GetCookie, &body),
        Err(ResponseError::Decode(DecodeError::UnexpectedResponse { .. }))
    ));
    // Children in a foreign namespace are not ours: the result counts as missing.
    let body = envelope(&format!(
        r#"<GetCookieResponse xmlns="{SD}"><x:GetCookieResult xmlns:x="http://example.com/"><x:Expiration>2026-10-04T20:33:26Z</x:Expiration></x:GetCookieResult></GetCookieResponse>"#
    ));
    assert!(matches!(
        decode_response(Operation::GetCookie, &body),
        Err(ResponseError::Decode(DecodeError::InvalidParameter { name, .. })) if name == "GetCookieResult"
    ));
    // Unqualified children are accepted.
    let body = envelope(&format!(
        r#"<GetCookieResponse xmlns="{SD}"><GetCookieResult xmlns=""><Expiration>2026-10-04T20:33:26Z</Expiration><EncryptedData>AQID</EncryptedData></GetCookieResult></GetCookieResponse>"#
    ));
    assert_eq!(
        decode_get_cookie_response(&body),
        Ok(Cookie { expiration: "2026-10-04T20:33:26Z".into(), encrypted_data: vec![1, 2, 3] })
    );
}

#[test]
fn invalid_values_name_their_parameter_and_fault_like_wsus() {
    let bad_cookie = envelope(&format!(
        r#"<GetConfigData xmlns="{SD}"><cookie><Expiration>x</Expiration><EncryptedData>!!!</EncryptedData></cookie></GetConfigData>"#
    ));
    assert_eq!(invalid_parameter(&bad_cookie), "cookie.EncryptedData");
    let bad_guid = envelope(&format!(
        r#"<GetRevisionIdList xmlns="{SD}">{COOKIE}<filter><GetConfig>false</GetConfig><Categories><IdAndDelta><Id>not-a-guid</Id><Delta>true</Delta></IdAndDelta></Categories></filter></GetRevisionIdList>"#
    ));
    assert_eq!(invalid_parameter(&bad_guid), "filter.Categories.IdAndDelta.Id");
    let bad_bool = envelope(&format!(
        r#"<GetRevisionIdList xmlns="{SD}"><filter><GetConfig>yes</GetConfig></filter></GetRevisionIdList>"#
    ));
    assert_eq!(invalid_parameter(&bad_bool), "filter.GetConfig");
    let bad_int = envelope(&format!(
        r#"<GetUpdateData xmlns="{SD}"><updateIds><UpdateIdentity><UpdateID>a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe</UpdateID><RevisionNumber>2e2</RevisionNumber></UpdateIdentity></updateIds></GetUpdateData>"#
    ));
    assert_eq!(invalid_parameter(&bad_int), "updateIds.UpdateIdentity.RevisionNumber");
    let overflow = envelope(&format!(
        r#"<GetOutOfSyncComputers xmlns="{SD}"><parentServerId>050cee4a-aaff-470c-8fc3-7a94cb3a4293</parentServerId><lastRollupNumbers><ComputerLastRollupNumber><ComputerId>c</ComputerId><RollupNumber>99999999999</RollupNumber></ComputerLastRollupNumber></lastRollupNumbers></GetOutOfSyncComputers>"#
    ));
    assert_eq!(invalid_parameter(&overflow), "lastRollupNumbers.ComputerLastRollupNumber.RollupNumber");
    let bad_attr = envelope(&format!(
        r#"<RollupComputers xmlns="{SD}"><computers><ComputerRollupInfo LastSyncResult="one" ParentServerId="050cee4a-aaff-470c-8fc3-7a94cb3a4293"/></computers></RollupComputers>"#
    ));
    assert_eq!(invalid_parameter(&bad_attr), "computers.ComputerRollupInfo.LastSyncResult");

    // The fault names the top-level parameter, as real WSUS does (`filter`, `updateIds`).
    let err = decode_request(&bad_guid).expect_err("bad");
    let fault = err.to_fault(Some(Operation::GetRevisionIdList));
    assert_eq!(fault.error_code, ErrorCode::InvalidParameters);
    assert_eq!(fault.message, "filter");
    assert_eq!(fault.method, Some(Operation::GetRevisionIdList.quoted_soap_action()));
    let err = decode_request(&bad_int).expect_err("bad");
    assert_eq!(err.to_fault(None).message, "updateIds");

    // Bad base64 and missing parts of responses.
    let bad_blob = envelope(&format!(
        r#"<GetUpdateDataResponse xmlns="{SD}"><GetUpdateDataResult><updates><ServerSyncUpdateData><Id><UpdateID>a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe</UpdateID><RevisionNumber>200</RevisionNumber></Id><XmlUpdateBlobCompressed>TVNDRg*</XmlUpdateBlobCompressed></ServerSyncUpdateData></updates></GetUpdateDataResult></GetUpdateDataResponse>"#
    ));
    assert!(matches!(
        decode_get_update_data_response(&bad_blob),
        Err(ResponseError::Decode(DecodeError::InvalidParameter { name, .. }))
            if name == "GetUpdateDataResult.updates.ServerSyncUpdateData.XmlUpdateBlobCompressed"
    ));
    let no_blob = envelope(&format!(
        r#"<GetUpdateDataResponse xmlns="{SD}"><GetUpdateDataResult><updates><ServerSyncUpdateData><Id><UpdateID>a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe</UpdateID><RevisionNumber>200</RevisionNumber></Id></ServerSyncUpdateData></updates></GetUpdateDataResult></GetUpdateDataResponse>"#
    ));
    assert!(decode_get_update_data_response(&no_blob).is_err());
    // A valid base64 blob that is no cabinet decodes as a response but not as a document.
    let not_cab = envelope(&format!(
        r#"<GetUpdateDataResponse xmlns="{SD}"><GetUpdateDataResult><updates><ServerSyncUpdateData><Id><UpdateID>a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe</UpdateID><RevisionNumber>200</RevisionNumber></Id><XmlUpdateBlobCompressed>AAAA</XmlUpdateBlobCompressed></ServerSyncUpdateData></updates></GetUpdateDataResult></GetUpdateDataResponse>"#
    ));
    let d = decode_get_update_data_response(&not_cab).expect("decodes");
    assert_eq!(d.updates[0].blob.xml(), Err(BlobError::NotCabinet));
}

#[test]
fn tolerated_shapes() {
    // SOAP-encoded arrays, xsi:nil items, wrapped base64, BOM-marked UTF-16, unknown elements.
    let body = format!(
        r#"<?xml version="1.0" encoding="utf-16"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/"><soap:Header><x/></soap:Header><soap:Body><GetUpdateData xmlns="{SD}"><cookie><Expiration> 2026-10-04T20:33:26Z </Expiration><EncryptedData>AQ
  ID</EncryptedData><Future>1</Future></cookie><updateIds soapenc:arrayType="UpdateIdentity[2]"><UpdateIdentity xsi:nil="true"/><UpdateIdentity><UpdateID>a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe</UpdateID><RevisionNumber> 200 </RevisionNumber></UpdateIdentity></updateIds></GetUpdateData></soap:Body></soap:Envelope>"#
    );
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(body.encode_utf16().flat_map(u16::to_le_bytes));
    let Ok(Request::GetUpdateData(r)) = decode_request(&utf16) else { panic!("{:?}", decode_request(&utf16)) };
    assert_eq!(r.cookie, Some(Cookie { expiration: "2026-10-04T20:33:26Z".into(), encrypted_data: vec![1, 2, 3] }));
    assert_eq!(r.update_ids.len(), 1);
    assert_eq!(r.update_ids[0].revision_number, 200);

    // A nil or empty filter list stays distinguishable from an absent one.
    let body = envelope(&format!(
        r#"<GetRevisionIdList xmlns="{SD}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><filter><GetConfig>false</GetConfig><Categories/><Classifications xsi:nil="true"/></filter></GetRevisionIdList>"#
    ));
    let Ok(Request::GetRevisionIdList(r)) = decode_request(&body) else { panic!() };
    let f = r.filter.expect("filter");
    assert_eq!(f.categories, Some(vec![]));
    assert_eq!(f.classifications, None);
}

#[test]
fn huge_revision_lists_decode_fast() {
    // 25,000 revisions: the size of one Defender product's list (3 MB).
    let item = "<UpdateIdentity><UpdateID>8c55755c-2b9d-48cc-be8b-aedbf20911ec</UpdateID><RevisionNumber>201</RevisionNumber></UpdateIdentity>";
    let body = envelope(&format!(
        r#"<GetRevisionIdListResponse xmlns="{SD}"><GetRevisionIdListResult><Anchor>9438,2026-10-04 16:33:26.750</Anchor><NewRevisions>{}</NewRevisions></GetRevisionIdListResult></GetRevisionIdListResponse>"#,
        item.repeat(25_000)
    ));
    let start = Instant::now();
    let l = decode_get_revision_id_list_response(&body).expect("decodes");
    let took = start.elapsed();
    assert_eq!(l.new_revisions.len(), 25_000);
    assert!(took.as_secs() < 10, "{took:?}");
    let start = Instant::now();
    let ours = encode_response(&Response::GetRevisionIdList(l.clone()));
    assert!(start.elapsed().as_secs() < 5);
    assert_eq!(decode_get_revision_id_list_response(&ours), Ok(l));
}

#[test]
fn oversized_bodies_are_refused_before_parsing() {
    let big = vec![b' '; MAX_REQUEST_BYTES + 1];
    assert!(matches!(decode_request(&big), Err(DecodeError::TooLarge { .. })));
}

fn real_bodies() -> Vec<(Operation, Vec<u8>, Vec<u8>)> {
    exchanges()
        .into_iter()
        .filter(|ex| read(&format!("{ex}/response.body")).len() <= 20_000)
        .map(|ex| (operation(&ex), read(&format!("{ex}/request.body")), read(&format!("{ex}/response.body"))))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = decode_request(&bytes);
        for op in Operation::ALL {
            let _ = decode_response(op, &bytes);
        }
        let _ = decode_update_blob(&bytes);
    }

    #[test]
    fn random_markup_never_panics(parts in proptest::collection::vec(prop_oneof![
        Just("<GetUpdateData xmlns=\"http://www.microsoft.com/SoftwareDistribution\">".to_string()),
        Just("<updateIds>".to_string()), Just("</updateIds>".to_string()),
        Just("<UpdateIdentity>".to_string()), Just("</UpdateIdentity>".to_string()),
        Just("<RevisionNumber>".to_string()), Just("</RevisionNumber>".to_string()),
        Just("<filter><GetConfig>".to_string()), Just("</GetConfig></filter>".to_string()),
        Just("<XmlUpdateBlobCompressed>".to_string()), Just("</XmlUpdateBlobCompressed>".to_string()),
        Just("<soap:Fault><detail><ErrorCode>".to_string()), Just("</ErrorCode></detail></soap:Fault>".to_string()),
        "[a-zA-Z0-9=+/ -]{0,12}",
        Just("&amp;".to_string()), Just("<![CDATA[x]]>".to_string()),
    ], 0..40)) {
        let body = envelope(&parts.concat());
        let _ = decode_request(&body);
        for op in Operation::ALL {
            let _ = decode_response(op, &body);
        }
    }

    #[test]
    fn mutated_real_bodies_never_panic(
        pick in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>()), 1..8),
    ) {
        let bodies = real_bodies();
        let (op, request, response) = &bodies[pick.index(bodies.len())];
        for original in [request, response] {
            let mut b = original.clone();
            for (at, kind, byte) in &edits {
                if b.is_empty() {
                    break;
                }
                let i = at.index(b.len());
                match kind {
                    0 => b[i] = *byte,
                    1 => { b.remove(i); }
                    2 => b.insert(i, *byte),
                    _ => b.truncate(i),
                }
            }
            let _ = decode_request(&b);
            if let Ok(Response::GetUpdateData(d)) = decode_response(*op, &b) {
                for u in &d.updates {
                    let _ = u.blob.xml();
                }
            }
        }
    }

    #[test]
    fn mutated_real_cabinets_never_panic(
        pick in 0usize..3,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let ex = ["exchanges/000013", "exchanges/000014", "exchanges/000016"][pick];
        let d = decode_get_update_data_response(&read(&format!("{ex}/response.body"))).expect("decodes");
        let UpdateBlob::Compressed(cab) = &d.updates[0].blob else { panic!() };
        let mut b = cab.clone();
        // Zero the data checksums so corruption reaches the LZX decoder instead of the checksum.
        let blocks = u16::from_le_bytes([b[40], b[41]]);
        let mut at = u32::from_le_bytes([b[36], b[37], b[38], b[39]]) as usize;
        for _ in 0..blocks {
            b[at..at + 4].fill(0);
            at += 8 + u16::from_le_bytes([b[at + 4], b[at + 5]]) as usize;
        }
        for (i, byte) in &edits {
            let i = i.index(b.len());
            b[i] = *byte;
        }
        let _ = decode_update_blob(&b);
    }
}
