//! The downstream side against REAL upstream responses (a Windows Server 2025 WSUS, captures in
//! `tests/fixtures/wsusss/`), and the upstream side reproducing them: every real response is
//! decoded with the client decoders, key values are checked, and encoding the decoded values
//! again gives the real bytes exactly.

mod common;

use common::*;
use sluice_wsusss::*;
use uuid::uuid;

fn fault(exchange: &str) -> Fault {
    let body = read(&format!("{exchange}/response.body"));
    match decode_response(operation(exchange), &body) {
        Err(ResponseError::Fault(f)) => *f,
        other => panic!("{exchange}: expected a fault, got {other:?}"),
    }
}

#[test]
fn every_real_response_decodes_and_faults_come_with_http_500() {
    let exchanges = exchanges();
    assert_eq!(exchanges.len(), 19 + 16);
    let mut faults = 0;
    for ex in exchanges {
        let body = read(&format!("{ex}/response.body"));
        match decode_response(operation(&ex), &body) {
            Ok(r) => {
                assert_eq!(status(&ex), 200, "{ex}");
                assert_eq!(r.operation(), operation(&ex));
            }
            Err(ResponseError::Fault(_)) => {
                assert_eq!(status(&ex), FAULT_HTTP_STATUS, "{ex}");
                faults += 1;
            }
            Err(e) => panic!("{ex}: {e}"),
        }
    }
    assert_eq!(faults, 3);
}

#[test]
fn auth_config_and_cookies() {
    let c = decode_get_auth_config_response(&read("exchanges/000001/response.body")).expect("decodes");
    assert_eq!(c.last_change, "2026-10-04T13:16:35.433Z");
    assert_eq!(c.auth_info, vec![AuthPlugInInfo::dss_targeting()]);
    assert_eq!(c.allowed_event_ids, None);

    let a = decode_get_authorization_cookie_response(&read("exchanges/000002/response.body")).expect("decodes");
    assert_eq!(a.plugin_id, "DssTargeting");
    // Redacted upstream to zeros of the real length.
    assert_eq!(a.cookie_data, vec![0; 432]);

    let c = decode_get_cookie_response(&read("exchanges/000003/response.body")).expect("decodes");
    assert_eq!(c.expiration, "2026-10-04T20:33:26.65455Z");
    assert_eq!(c.encrypted_data.len(), 208);
    // WSUS cookies live 240 minutes: issued at 16:33:26 (the response's Date header).
    let expires = parse_datetime(&c.expiration).expect("dateTime");
    let issued = time::macros::datetime!(2026-10-04 16:33:26 UTC);
    assert_eq!((expires - issued).whole_minutes(), 240);
}

#[test]
fn config_data_limits_lazy_sync_and_languages() {
    for ex in ["exchanges/000005", "exchanges-client/000004"] {
        let c = decode_get_config_data_response(&read(&format!("{ex}/response.body"))).expect("decodes");
        assert!(!c.catalog_only_sync && c.lazy_sync && !c.server_hosts_psf_files, "{ex}");
        assert_eq!(c.max_number_of_updates_per_request, 100);
        assert_eq!(c.max_number_of_computer_ids_in_request, 0);
        assert_eq!(c.max_number_of_driver_sets_per_request, 0);
        assert_eq!(c.max_number_of_pnp_hardware_ids_in_request, 0);
        assert_eq!(c.max_updates_per_request_in_get_update_decryption_data, 100);
        assert_eq!(c.protocol_version.as_deref(), Some("1.20"));
        assert!(c.new_config_anchor.as_deref().and_then(SyncAnchor::parse).is_some_and(|a| a.counter == 9438));
        assert_eq!(c.language_update_list.len(), 39);
        let all = &c.language_update_list[0];
        assert_eq!((all.language_id, all.short_language.as_str(), all.enabled), (0, "all", false));
        let enabled: Vec<_> = c.language_update_list.iter().filter(|l| l.enabled).map(|l| l.language_id).collect();
        assert_eq!(enabled, vec![1033]);
        let en = c.language_update_list.iter().find(|l| l.language_id == 1033).expect("en");
        assert_eq!((en.short_language.as_str(), en.long_language.as_str()), ("en", "English"));
    }
    // With a current anchor the answer is short: the same limits, no languages.
    let c = decode_get_config_data_response(&read("exchanges/000004/response.body")).expect("decodes");
    assert!(c.lazy_sync);
    assert_eq!(c.new_config_anchor.as_deref(), Some("9438,2026-10-04 16:33:26.668"));
    assert!(c.language_update_list.is_empty());
}

#[test]
fn revision_id_lists() {
    let list = |ex: &str| decode_get_revision_id_list_response(&read(&format!("{ex}/response.body"))).expect(ex);
    // The configuration pass, trimmed to 30 of 4,275 revisions; ids repeat with two revisions.
    let l = list("exchanges/000006");
    assert_eq!(l.anchor.as_deref(), Some("9438,2026-10-04 16:33:26.671"));
    assert_eq!(l.new_revisions.len(), 30);
    let critical = uuid!("e6cf1350-c01b-414d-a61f-263d14d133b4");
    assert_eq!(l.new_revisions[0], UpdateIdentity::new(critical, 100));
    assert_eq!(l.new_revisions[1], UpdateIdentity::new(critical, 1));
    assert!(l.new_revisions.contains(&UpdateIdentity::new(uuid!("56309036-4c77-4dd9-951a-99ee9c246a94"), 101)));
    // Product only, product × Security Updates, Delta with an anchor, unfiltered with an anchor: nothing.
    for ex in ["exchanges/000007", "exchanges/000008", "exchanges/000011", "exchanges/000012"] {
        let l = list(ex);
        assert!(l.new_revisions.is_empty(), "{ex}");
        assert!(l.anchor.as_deref().and_then(SyncAnchor::parse).is_some(), "{ex}");
    }
    // Product × Definition Updates, without and with an anchor (Delta false): all revisions.
    for ex in ["exchanges/000009", "exchanges/000010", "exchanges-client/000006", "exchanges-client/000625"] {
        let l = list(ex);
        assert_eq!(l.new_revisions.len(), 30, "{ex}");
        assert_eq!(l.new_revisions[0], UpdateIdentity::new(uuid!("8c55755c-2b9d-48cc-be8b-aedbf20911ec"), 201));
    }
    assert_eq!(list("exchanges/000010").anchor.as_deref(), Some("9438,2026-10-04 16:33:26.799"));
}

#[test]
fn update_data_of_the_four_update_kinds() {
    let data = |ex: &str| decode_get_update_data_response(&read(&format!("{ex}/response.body"))).expect(ex);
    let cases = [
        // (exchange, update, revision, compressed, files)
        ("exchanges/000013", "a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe", 200, true, 0), // bundle
        ("exchanges/000014", "266f6222-c89d-43f2-9f8a-69340271e677", 200, true, 1), // leaf with a file
        ("exchanges/000015", "ccb78947-6453-4ecc-9de8-bc0305c98f2d", 200, false, 0), // small hidden bundle
        ("exchanges/000016", "56309036-4c77-4dd9-951a-99ee9c246a94", 101, true, 0), // category
    ];
    for (ex, id, rev, compressed, files) in cases {
        let d = data(ex);
        assert_eq!(d.updates.len(), 1, "{ex}");
        let u = &d.updates[0];
        assert_eq!(u.id, UpdateIdentity::new(uuid::Uuid::parse_str(id).expect("guid"), rev));
        assert_eq!(matches!(u.blob, UpdateBlob::Compressed(_)), compressed, "{ex}");
        assert_eq!(u.file_digests.len(), files, "{ex}");
        assert_eq!(d.file_urls.len(), files, "{ex}");
        // The blob is exactly the stored real document.
        let xml = u.blob.xml().unwrap_or_else(|e| panic!("{ex}: {e}"));
        assert_eq!(xml, read_doc(id, rev), "{ex}");
        let parsed = sluice_metadata::parse_update(&xml, ex).unwrap_or_else(|e| panic!("{ex}: {e}"));
        assert_eq!(parsed.update.identity.update_id, u.id.update_id, "{ex}");
        assert_eq!(parsed.update.identity.revision_number, rev, "{ex}");
        assert_eq!(parsed.update.files.len(), files, "{ex}");
    }
    let d = data("exchanges/000014");
    let digest = base64_decode("h/W9BGlYUAaqXTp30cZi/SiV3c0=");
    assert_eq!(d.updates[0].file_digests, vec![digest.clone()]);
    let url = &d.file_urls[0];
    assert_eq!(url.file_digest, digest);
    assert_eq!(
        url.mu_url,
        "http://download.windowsupdate.com/c/msdownload/update/software/defu/2026/10/am_delta_87f5bd0469585006aa5d3a77d1c662fd2895ddcd.exe"
    );
    assert_eq!(url.uss_url, "", "a real WSUS leaves UssUrl empty");
    assert_eq!(url.decryption_key, None);
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).expect("base64")
}

#[test]
fn the_three_real_faults() {
    let f = fault("exchanges/000017");
    assert_eq!(f.error_code, ErrorCode::InternalServerError, "unknown update id");
    assert_eq!(f.fault_code, FaultCode::Server);
    assert_eq!(f.message, "");
    assert_eq!(f.id, uuid!("b6114a8d-9939-41e0-ad7f-0d9a72260804"));
    assert_eq!(f.method.as_deref(), Some("\"http://www.microsoft.com/SoftwareDistribution/GetUpdateData\""));
    assert_eq!(f.fault_string, "Fault occurred");
    assert_eq!(f.fault_actor.as_deref(), Some("http://127.0.0.1:8530/ServerSyncWebService/ServerSyncWebService.asmx"));

    let f = fault("exchanges/000018");
    assert_eq!(
        (f.error_code, f.fault_code, f.message.as_str()),
        (ErrorCode::InvalidParameters, FaultCode::Client, "filter")
    );
    let f = fault("exchanges/000019");
    assert_eq!((f.error_code, f.fault_code, f.message.as_str()), (ErrorCode::InvalidCookie, FaultCode::Client, ""));
    assert_eq!(f.method, Some(Operation::GetRevisionIdList.quoted_soap_action()));

    let e = decode_response(Operation::GetRevisionIdList, &read("exchanges/000018/response.body")).expect_err("fault");
    assert_eq!(e.to_string(), "upstream fault InvalidParameters: filter");
    assert!(e.fault().is_some());
}

#[test]
fn encoding_the_decoded_values_reproduces_every_real_response_byte_for_byte() {
    let mut checked = 0;
    for ex in exchanges() {
        let real = read(&format!("{ex}/response.body"));
        let ours = match decode_response(operation(&ex), &real) {
            Ok(response) => encode_response(&response),
            Err(ResponseError::Fault(f)) => encode_fault(&f),
            Err(e) => panic!("{ex}: {e}"),
        };
        assert!(ours == real, "{ex}: {}", first_difference(&ours, &real));
        checked += 1;
    }
    assert_eq!(checked, 35);
}

#[test]
fn an_upstream_built_from_scratch_answers_like_the_real_one() {
    // GetAuthConfig with the constructor an upstream uses.
    let ours = encode_response(&Response::GetAuthConfig(ServerAuthConfig {
        last_change: "2026-10-04T13:16:35.433Z".into(),
        auth_info: vec![AuthPlugInInfo::dss_targeting()],
        allowed_event_ids: None,
    }));
    let real = read("exchanges/000001/response.body");
    assert!(ours == real, "{}", first_difference(&ours, &real));

    // The plain-text blob of a small document, chosen by size like WSUS does.
    let xml = read_doc("ccb78947-6453-4ecc-9de8-bc0305c98f2d", 200);
    let ours = encode_response(&Response::GetUpdateData(ServerUpdateData {
        updates: vec![ServerSyncUpdateData {
            id: UpdateIdentity::new(uuid!("ccb78947-6453-4ecc-9de8-bc0305c98f2d"), 200),
            blob: UpdateBlob::like_wsus(&xml).expect("small"),
            file_digests: Vec::new(),
        }],
        file_urls: Vec::new(),
    }));
    let real = read("exchanges/000015/response.body");
    assert!(ours == real, "{}", first_difference(&ours, &real));

    // A fault with the real fault's id and actor.
    let ours = encode_fault(
        &Fault::for_operation(ErrorCode::InvalidParameters, Operation::GetRevisionIdList)
            .with_message("filter")
            .with_id(uuid!("94327110-fc7e-4c3c-878d-186ab273d9fd"))
            .with_actor("http://127.0.0.1:8530/ServerSyncWebService/ServerSyncWebService.asmx"),
    );
    let real = read("exchanges/000018/response.body");
    assert!(ours == real, "{}", first_difference(&ours, &real));
}

#[test]
fn a_compressed_response_of_our_own_has_the_real_shape() {
    // Same update as the real 000014, with our MSZIP cabinet instead of WSUS's LZX one: the
    // envelope is identical apart from the blob, and the blob decodes to the same document.
    let id = "266f6222-c89d-43f2-9f8a-69340271e677";
    let xml = read_doc(id, 200);
    let real_bytes = read("exchanges/000014/response.body");
    let real = decode_get_update_data_response(&real_bytes).expect("decodes");
    let mut ours = real.clone();
    ours.updates[0].blob = UpdateBlob::like_wsus(&xml).expect("encodes");
    let ours_bytes = encode_response(&Response::GetUpdateData(ours));
    let skip_blob = |b: &[u8]| {
        let mut root = parse(b);
        strip(&mut root, "XmlUpdateBlobCompressed");
        root
    };
    same_structure(&skip_blob(&ours_bytes), &skip_blob(&real_bytes), &[]).expect("same structure");
    let back = decode_get_update_data_response(&ours_bytes).expect("decodes");
    assert_eq!(back.updates[0].blob.xml().expect("decompresses"), xml);
    assert_eq!(back.file_urls, real.file_urls);
}

/// Replaces the text of every element called `local` by a placeholder.
fn strip(el: &mut sluice_xml::Element, local: &str) {
    if el.local == local {
        el.children = vec![sluice_xml::Node::Text("…".into())];
        return;
    }
    for c in el.children.iter_mut() {
        if let sluice_xml::Node::Element(e) = c {
            strip(e, local);
        }
    }
}

#[test]
fn spec_example_responses() {
    for file in spec_examples("-response.xml").into_iter().chain(spec_examples("-fault-")) {
        let op = spec_operation(&file);
        let body = read(&file);
        let decoded = decode_response(op, &body);
        if file.ends_with("04-GetAuthorizationCookie-response.xml") {
            // The spec trims the CookieData blob, leaving invalid base64.
            assert!(
                matches!(&decoded, Err(ResponseError::Decode(DecodeError::InvalidParameter { name, .. }))
                    if name == "GetAuthorizationCookieResult.CookieData"),
                "{file}: {decoded:?}"
            );
            continue;
        }
        if file.ends_with("12-GetUpdateData-response.xml") {
            // Trimmed base64 plus literal XML inside an xs:string: not a usable message.
            assert!(decoded.is_err(), "{file}");
            continue;
        }
        let ours = match decoded {
            Ok(r) => encode_response(&r),
            Err(ResponseError::Fault(f)) => encode_fault(&f),
            Err(e) => panic!("{file}: {e}"),
        };
        let (ours_el, real_el) = (parse(&ours), parse(&body));
        match file.rsplit('/').next().unwrap_or_default() {
            // Lacks four required limits; we write them (as 0).
            "08-GetConfigData-response.xml" => same_structure(
                body_element(&ours_el),
                body_element(&real_el),
                &[
                    "MaxNumberOfComputerIdsInRequest",
                    "MaxNumberOfDriverSetsPerRequest",
                    "MaxNumberOfPnpHardwareIdsInRequest",
                    "MaxUpdatesPerRequestInGetUpdateDecryptionData",
                ],
            ),
            // A target group lacks its required ParentGroupId; we write the nil GUID.
            "14-GetDeployments-response.xml" => {
                let d = decode_get_deployments_response(&body).expect("decodes");
                assert_eq!(d.groups[1].parent_group_id, uuid::Uuid::nil());
                assert_eq!(d.groups[1].name, "Unassigned Computers");
                assert_eq!(d.deployments.len(), 2);
                assert_eq!(d.deployments[0].deadline, "9999-12-31T23:59:59.9999999");
                assert_eq!(d.hidden_updates.len(), 2);
                Ok(())
            }
            _ => same_structure(&ours_el, &real_el, &[]),
        }
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}

#[test]
fn spec_rollup_configuration_values() {
    let c = decode_get_rollup_configuration_response(&read(
        "spec-examples/ms-wsusss/16-GetRollupConfiguration-response.xml",
    ))
    .expect("decodes");
    assert!(c.do_detailed_rollup);
    assert_eq!(c.server_id, uuid!("059ab167-8a19-4bab-befc-daaab5b1d82b"));
    assert_eq!(
        (
            c.rollup_downstream_servers_max_batch_size,
            c.rollup_computers_max_batch_size,
            c.get_out_of_sync_computers_max_batch_size,
            c.rollup_computer_status_max_batch_size
        ),
        (5000, 1500, 20000, 500)
    );
    assert_eq!(
        decode_rollup_computers_response(&read("spec-examples/ms-wsusss/20-RollupComputers-response.xml")),
        Ok(vec![])
    );
    assert_eq!(
        decode_get_out_of_sync_computers_response(&read(
            "spec-examples/ms-wsusss/22-GetOutOfSyncComputers-response.xml"
        )),
        Ok(vec![])
    );
    assert_eq!(
        decode_rollup_computer_status_response(&read("spec-examples/ms-wsusss/24-RollupComputerStatus-response.xml")),
        Ok(true)
    );
    assert_eq!(
        decode_rollup_downstream_servers_response(&read(
            "spec-examples/ms-wsusss/18-RollupDownstreamServers-response.xml"
        )),
        Ok(())
    );
    let f = decode_get_deployments_response(&read("spec-examples/ms-wsusss/25-GetDeployments-fault-InvalidCookie.xml"))
        .expect_err("fault");
    assert_eq!(f.fault().map(|f| &f.error_code), Some(&ErrorCode::InvalidCookie));
}

#[test]
fn a_response_to_another_operation_is_refused() {
    let e = decode_response(Operation::GetCookie, &read("exchanges/000001/response.body")).expect_err("wrong op");
    assert!(matches!(e, ResponseError::Decode(DecodeError::UnexpectedResponse { .. })), "{e}");
}
