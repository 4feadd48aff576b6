//! Every request and response our encoders produce in the tests, validated against the official
//! [MS-WSUSSS] WSDLs in `tests/wsdl/` with the project's checker `tools/wsdl_check.py` (zeep in
//! strict mode plus the XML Schema embedded in the WSDL, no tolerated deviations). The real
//! downstream requests are checked too, to pin which of them are schema-correct: all but the
//! GetRevisionIdList ones, which omit the required `Get63LanguageOnly` (our encoder writes it).
//!
//! Needs a Python with zeep and lxml (`SLUICE_PYTHON`, else `python3`); `.ci/run` provides one.
//! Elsewhere the check is skipped with a message when it cannot run, never under CI
//! (`tests/support/wsdl.rs`).

mod common;
#[path = "../../../tests/support/wsdl.rs"]
mod wsdl;

use common::*;
use sluice_wsusss::*;
use uuid::uuid;

#[derive(Clone, Copy, PartialEq)]
enum Direction {
    Request,
    Response,
}

struct Case {
    name: String,
    direction: Direction,
    op: Operation,
    /// Expected ErrorCode when the body is a fault.
    fault: Option<String>,
    /// Expected to be refused by the schema check (a text the error must contain).
    refused_with: Option<&'static str>,
    body: Vec<u8>,
}

fn wsdl_service(op: Operation) -> &'static str {
    match op.service() {
        Service::ServerSync => "wsusss-serversync",
        Service::DssAuth => "wsusss-dssauth",
        Service::Reporting => "wsusss-reporting",
    }
}

fn request(name: impl Into<String>, req: &Request) -> Case {
    Case {
        name: name.into(),
        direction: Direction::Request,
        op: req.operation(),
        fault: None,
        refused_with: None,
        body: encode_request(req),
    }
}

fn response(name: impl Into<String>, resp: &Response) -> Case {
    Case {
        name: name.into(),
        direction: Direction::Response,
        op: resp.operation(),
        fault: None,
        refused_with: None,
        body: encode_response(resp),
    }
}

fn fault_case(name: impl Into<String>, op: Operation, f: &Fault) -> Case {
    Case {
        name: name.into(),
        direction: Direction::Response,
        op,
        fault: Some(f.error_code.as_str().to_string()),
        refused_with: None,
        body: encode_fault(f),
    }
}

fn cookie() -> Cookie {
    Cookie { expiration: "2026-10-04T20:33:26.65455Z".into(), encrypted_data: (0..=255).collect() }
}

const A: uuid::Uuid = uuid!("a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe");
const B: uuid::Uuid = uuid!("b73ca6ed-5727-47f3-84de-015e03f6a88a");

fn synthetic_requests() -> Vec<Request> {
    let c = Some(cookie());
    let ids = vec![UpdateIdentity::new(A, 200), UpdateIdentity::new(B, 1)];
    vec![
        Request::GetAuthConfig,
        Request::GetAuthorizationCookie(GetAuthorizationCookieRequest {
            account_name: "sluice.example.invalid".into(),
            account_guid: "6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12".into(),
            program_keys: vec![A, B],
        }),
        Request::GetAuthorizationCookie(GetAuthorizationCookieRequest::default()),
        Request::GetCookie(GetCookieRequest {
            auth_cookies: vec![AuthorizationCookie { plugin_id: "DssTargeting".into(), cookie_data: vec![9; 432] }],
            old_cookie: Some(cookie()),
            protocol_version: "1.20".into(),
        }),
        Request::GetCookie(GetCookieRequest::default()),
        Request::GetConfigData(GetConfigDataRequest {
            cookie: c.clone(),
            config_anchor: Some("9438,2026-10-04 16:33:26.668".into()),
        }),
        Request::GetConfigData(GetConfigDataRequest::default()),
        Request::GetRevisionIdList(GetRevisionIdListRequest {
            cookie: c.clone(),
            filter: Some(ServerSyncFilter {
                anchor: Some("9438,2026-10-04 16:33:26.671".into()),
                get_config: false,
                get_63_language_only: true,
                categories: Some(vec![IdAndDelta { id: A, delta: true }, IdAndDelta { id: B, delta: false }]),
                classifications: Some(vec![]),
                languages: Some(vec![
                    LanguageAndDelta { id: 1033, delta: true },
                    LanguageAndDelta { id: 0, delta: false },
                ]),
            }),
        }),
        Request::GetRevisionIdList(GetRevisionIdListRequest {
            cookie: c.clone(),
            filter: Some(ServerSyncFilter::default()),
        }),
        Request::GetUpdateData(GetUpdateDataRequest { cookie: c.clone(), update_ids: ids.clone() }),
        Request::GetUpdateData(GetUpdateDataRequest { cookie: c.clone(), update_ids: vec![] }),
        Request::GetUpdateDecryptionData(GetUpdateDataRequest { cookie: c.clone(), update_ids: ids }),
        Request::DownloadFiles(DownloadFilesRequest {
            cookie: c.clone(),
            file_digests: vec![vec![0x87; 20], vec![0; 20]],
        }),
        Request::GetDeployments(GetDeploymentsRequest {
            cookie: c.clone(),
            deployment_anchor: Some("4742,2006-05-26 18:59:26.192".into()),
            sync_anchor: Some("4742,2006-05-26 18:59:26.192".into()),
        }),
        Request::GetRelatedRevisionsForUpdates(GetRelatedRevisionsForUpdatesRequest {
            cookie: c,
            update_ids: vec![A, B],
        }),
        Request::GetRollupConfiguration(GetRollupConfigurationRequest { cookie: Some(Cookie::reporting()) }),
        Request::RollupDownstreamServers(RollupDownstreamServersRequest {
            cookie: Some(Cookie::reporting()),
            client_time: "2026-10-04T16:33:26.65455Z".into(),
            downstream_servers: vec![
                DownstreamServerRollupInfo {
                    server_id: A,
                    full_domain_name: Some("dss <&> one".into()),
                    last_sync_time: "0001-01-01T00:00:00".into(),
                    parent_server_id: uuid::Uuid::nil(),
                    version: Some("10.0.26100.1".into()),
                    is_replica: true,
                    last_rollup_time: "2026-10-04T16:33:26Z".into(),
                    server_summary: Some(DownstreamServerRollupServerSummary { update_count: 7, ..Default::default() }),
                    client_summaries: Some(vec![DownstreamServerRollupClientSummary {
                        os_major_version: 10,
                        os_build_number: 26200,
                        os_locale: Some("en-US".into()),
                        suite_mask: -1,
                        old_product_type: 255,
                        processor_architecture: Some("AMD64".into()),
                        count: 3,
                        activity_summaries: Some(vec![DownstreamServerRollupClientActivitySummary {
                            update_id: B,
                            revision_number: 101,
                            install_success_count: 2,
                            install_failure_count: 1,
                        }]),
                        ..Default::default()
                    }]),
                },
                DownstreamServerRollupInfo::default(),
            ],
        }),
        Request::RollupComputers(RollupComputersRequest {
            cookie: Some(Cookie::reporting()),
            client_time: "2026-10-04T16:33:26Z".into(),
            computers: vec![
                ComputerRollupInfo {
                    computer_id: Some("d07a4d51-7cb2-46d1-ad86-91195cb4325a".into()),
                    last_sync_time: "2026-10-04T16:00:00Z".into(),
                    last_sync_result: -2147024894,
                    last_reported_reboot_time: "0001-01-01T00:00:00".into(),
                    last_reported_status_time: "2026-10-04T16:00:00Z".into(),
                    last_inventory_time: "0001-01-01T00:00:00".into(),
                    parent_server_id: A,
                    details: Some(ComputerRollupDetails {
                        ip_address: Some("192.0.2.7".into()),
                        full_domain_name: Some("pc \"one\" & co".into()),
                        os_major_version: 10,
                        bios_release_date: "2022-02-02T00:00:00Z".into(),
                        suite_mask: 256,
                        old_product_type: 1,
                        client_version: Some("1507.2601.30012.0".into()),
                        target_group_id_list: Some(vec![B]),
                        requested_target_group_names: Some(vec!["Servers".into(), String::new()]),
                        ..Default::default()
                    }),
                },
                ComputerRollupInfo {
                    last_sync_time: "2026-10-04T16:00:00Z".into(),
                    last_reported_reboot_time: "2026-10-04T16:00:00Z".into(),
                    last_reported_status_time: "2026-10-04T16:00:00Z".into(),
                    last_inventory_time: "2026-10-04T16:00:00Z".into(),
                    details: Some(ComputerRollupDetails {
                        bios_release_date: "2022-02-02T00:00:00Z".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            ],
        }),
        Request::GetOutOfSyncComputers(GetOutOfSyncComputersRequest {
            cookie: Some(Cookie::reporting()),
            parent_server_id: A,
            last_rollup_numbers: vec![ComputerLastRollupNumber { computer_id: "c1".into(), rollup_number: 2 }],
        }),
        Request::RollupComputerStatus(RollupComputerStatusRequest {
            cookie: Some(Cookie::reporting()),
            client_time: "2026-10-04T16:33:26Z".into(),
            parent_server_id: A,
            computers: vec![ComputerStatusRollupInfo {
                instance_id: B,
                computer_id: "c1".into(),
                effective_last_detection_time: "2026-10-04T16:00:00Z".into(),
                rollup_number: 3,
                is_full_rollup: true,
                update_status: Some(vec![ComputerStatusRollupUpdateStatus {
                    update_id: A,
                    summarization_state: 4,
                    last_change_time: "2026-10-04T16:00:00Z".into(),
                }]),
            }],
        }),
    ]
}

fn synthetic_responses() -> Vec<Response> {
    let doc = read_doc("a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe", 200);
    let small = read_doc("ccb78947-6453-4ecc-9de8-bc0305c98f2d", 200);
    vec![
        Response::GetAuthConfig(ServerAuthConfig {
            last_change: format_datetime(time::macros::datetime!(2026-10-04 13:16:35.433 UTC)),
            auth_info: vec![AuthPlugInInfo::dss_targeting(), AuthPlugInInfo::default()],
            allowed_event_ids: Some(vec![147, 156]),
        }),
        Response::GetAuthConfig(ServerAuthConfig { last_change: "2026-10-04T13:16:35Z".into(), ..Default::default() }),
        Response::GetAuthorizationCookie(AuthorizationCookie {
            plugin_id: "DssTargeting".into(),
            cookie_data: vec![1; 432],
        }),
        Response::GetCookie(cookie()),
        Response::GetConfigData(ServerSyncConfigData {
            catalog_only_sync: true,
            lazy_sync: true,
            server_hosts_psf_files: true,
            max_number_of_computer_ids_in_request: 200,
            max_number_of_driver_sets_per_request: 100,
            max_number_of_pnp_hardware_ids_in_request: 450,
            max_number_of_updates_per_request: 100,
            new_config_anchor: Some("2026-10-06 08:15:00.123".into()),
            protocol_version: Some("1.21".into()),
            language_update_list: vec![ServerSyncLanguageData {
                language_id: 0,
                short_language: "all".into(),
                long_language: "all".into(),
                enabled: true,
            }],
            max_updates_per_request_in_get_update_decryption_data: 500,
        }),
        Response::GetConfigData(ServerSyncConfigData::default()),
        Response::GetRevisionIdList(RevisionIdList {
            anchor: Some(SyncAnchor::parse("1,2026-10-04 16:33:26.671").expect("anchor").to_string()),
            new_revisions: vec![UpdateIdentity::new(A, 200), UpdateIdentity::new(B, i32::MAX)],
        }),
        Response::GetRevisionIdList(RevisionIdList::default()),
        Response::GetUpdateData(ServerUpdateData {
            updates: vec![
                ServerSyncUpdateData {
                    id: UpdateIdentity::new(A, 200),
                    blob: UpdateBlob::like_wsus(&doc).expect("compresses"),
                    file_digests: vec![vec![0x87; 20], vec![1; 20]],
                },
                ServerSyncUpdateData {
                    id: UpdateIdentity::new(B, 1),
                    blob: UpdateBlob::like_wsus(&small).expect("plain"),
                    file_digests: vec![],
                },
                ServerSyncUpdateData {
                    id: UpdateIdentity::new(B, 2),
                    blob: UpdateBlob::Plain(String::new()),
                    file_digests: vec![],
                },
            ],
            file_urls: vec![
                ServerSyncUrlData {
                    file_digest: vec![0x87; 20],
                    mu_url: "http://download.windowsupdate.com/c/msdownload/a.exe".into(),
                    uss_url: "http://uss:8530/Content/87/8787878787878787878787878787878787878787.exe".into(),
                    decryption_key: Some(vec![7; 32]),
                },
                ServerSyncUrlData { file_digest: vec![1; 20], ..Default::default() },
            ],
        }),
        Response::GetUpdateData(ServerUpdateData::default()),
        Response::GetUpdateDecryptionData(ServerDecryptionData {
            update_file_decryption_data: vec![
                ServerSyncUpdateFileDecryption {
                    update_id: UpdateIdentity::new(A, 200),
                    file_decryption_data: vec![
                        ServerSyncFileDecryption { file_digest: vec![2; 20], decryption_key: Some(vec![3; 16]) },
                        ServerSyncFileDecryption { file_digest: vec![4; 20], decryption_key: None },
                    ],
                },
                ServerSyncUpdateFileDecryption::default(),
            ],
        }),
        Response::GetUpdateDecryptionData(ServerDecryptionData::default()),
        Response::DownloadFiles,
        Response::GetDeployments(ServerSyncDeploymentResult {
            anchor: Some("4742,2006-05-26 18:59:26.192".into()),
            groups: vec![
                ServerSyncTargetGroup {
                    target_group_id: uuid!("a0a08746-4dbe-4a37-9adf-9e7652c0b421"),
                    parent_group_id: uuid::Uuid::nil(),
                    name: "All Computers".into(),
                    is_builtin: true,
                },
                ServerSyncTargetGroup {
                    target_group_id: B,
                    parent_group_id: uuid!("a0a08746-4dbe-4a37-9adf-9e7652c0b421"),
                    name: "Unassigned Computers".into(),
                    is_builtin: true,
                },
            ],
            deployments: vec![ServerSyncDeployment {
                update_id: A,
                revision_number: 200,
                action: 0,
                admin_name: "WUS Server".into(),
                deadline: "9999-12-31T23:59:59.9999999".into(),
                is_assigned: true,
                go_live_time: "2026-10-04T16:33:26.887".into(),
                deployment_guid: uuid!("c2f2ca62-5413-419a-bdee-275a23087758"),
                target_group_id: B,
                download_priority: 1,
            }],
            dead_deployments: vec![A],
            hidden_updates: vec![B],
            accepted_eulas: vec![A],
        }),
        Response::GetDeployments(ServerSyncDeploymentResult::default()),
        Response::GetRelatedRevisionsForUpdates(vec![UpdateIdentity::new(A, 200)]),
        Response::GetRelatedRevisionsForUpdates(vec![]),
        Response::GetRollupConfiguration(RollupConfiguration {
            do_detailed_rollup: false,
            rollup_reset_guid: A,
            server_id: B,
            rollup_downstream_servers_max_batch_size: 5000,
            rollup_computers_max_batch_size: 1500,
            get_out_of_sync_computers_max_batch_size: 20000,
            rollup_computer_status_max_batch_size: 500,
        }),
        Response::RollupDownstreamServers,
        Response::RollupComputers(vec![
            ChangedComputer { computer_id: Some("c1".into()), change: "Deleted".into() },
            ChangedComputer { computer_id: None, change: "NewParent".into() },
        ]),
        Response::RollupComputers(vec![]),
        Response::GetOutOfSyncComputers(vec!["c1".into(), "c <2>".into()]),
        Response::RollupComputerStatus(false),
    ]
}

fn all_cases() -> Vec<Case> {
    let mut cases = Vec::new();

    for ex in exchanges() {
        // The real request as sent, and our encoding of its decoded values.
        let real = read(&format!("{ex}/request.body"));
        let decoded = decode_request(&real).unwrap_or_else(|e| panic!("{ex}: {e}"));
        let op = decoded.operation();
        let lacks_get63 =
            op == Operation::GetRevisionIdList && !String::from_utf8_lossy(&real).contains("Get63LanguageOnly");
        cases.push(Case {
            name: format!("real request {ex} as sent"),
            direction: Direction::Request,
            op,
            fault: None,
            refused_with: lacks_get63.then_some("Get63LanguageOnly"),
            body: real,
        });
        cases.push(request(format!("real request {ex} re-encoded"), &decoded));

        // Our encoding of the decoded real response (byte-identical to it, see real_responses.rs).
        let body = read(&format!("{ex}/response.body"));
        match decode_response(op, &body) {
            Ok(r) => cases.push(response(format!("real response {ex}"), &r)),
            Err(ResponseError::Fault(f)) => cases.push(fault_case(format!("real fault {ex}"), op, &f)),
            Err(e) => panic!("{ex}: {e}"),
        }
    }
    for file in spec_examples("-request.xml") {
        let decoded = decode_request(&read(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        cases.push(request(format!("spec {file}"), &decoded));
    }
    for file in spec_examples("-response.xml").into_iter().chain(spec_examples("-fault-")) {
        let op = spec_operation(&file);
        match decode_response(op, &read(&file)) {
            Ok(r) => cases.push(response(format!("spec {file}"), &r)),
            Err(ResponseError::Fault(f)) => cases.push(fault_case(format!("spec {file}"), op, &f)),
            // The two examples whose values the spec trimmed (see real_responses.rs).
            Err(_) => assert!(is_defective(&file), "{file}"),
        }
    }
    for (i, r) in synthetic_requests().iter().enumerate() {
        cases.push(request(format!("synthetic request {i} {:?}", r.operation()), r));
    }
    for (i, r) in synthetic_responses().iter().enumerate() {
        cases.push(response(format!("synthetic response {i} {:?}", r.operation()), r));
    }
    let codes = [
        ErrorCode::InvalidCookie,
        ErrorCode::CookieExpired,
        ErrorCode::InvalidAuthorizationCookie,
        ErrorCode::ServerChanged,
        ErrorCode::FileDigestsMissing,
        ErrorCode::IncompatibleProtocolVersion,
        ErrorCode::InvalidParameters,
        ErrorCode::TooManyIds,
        ErrorCode::InternalServerError,
        ErrorCode::ServerBusy,
    ];
    for op in [Operation::GetUpdateData, Operation::GetAuthorizationCookie, Operation::RollupComputerStatus] {
        for code in &codes {
            let f = Fault::for_operation(code.clone(), op)
                .with_message("updateIds <&>")
                .with_actor(format!("http://uss.example.invalid:8530{}", op.service().path()));
            cases.push(fault_case(format!("fault {code:?} on {op:?}"), op, &f));
        }
    }
    let err = decode_request(b"<nope/>").expect_err("not SOAP");
    cases.push(fault_case("decode error fault", Operation::GetConfigData, &err.to_fault(None)));
    cases
}

#[test]
fn every_encoded_message_validates_against_the_wsdl() {
    let cases = all_cases();
    assert!(cases.len() > 180, "{}", cases.len());
    for op in Operation::ALL {
        for dir in [Direction::Request, Direction::Response] {
            assert!(
                cases.iter().any(|c| c.op == op && c.direction == dir && c.fault.is_none() && c.refused_with.is_none()),
                "no {} case for {op:?}",
                if dir == Direction::Request { "request" } else { "response" }
            );
        }
    }
    let refused = cases.iter().filter(|c| c.refused_with.is_some()).count();
    assert!(refused >= 10, "the real GetRevisionIdList requests lacking Get63LanguageOnly: {refused}");

    let messages: Vec<wsdl::Message> = cases
        .into_iter()
        .map(|c| wsdl::Message {
            name: c.name,
            direction: match c.direction {
                Direction::Request => wsdl::Direction::Request,
                Direction::Response => wsdl::Direction::Response,
            },
            service: wsdl_service(c.op),
            operation: c.op.name().to_string(),
            expect: match (c.fault, c.refused_with) {
                (_, Some(text)) => wsdl::Expect::Refused(text.into()),
                (Some(code), None) => wsdl::Expect::Fault(code),
                (None, None) => wsdl::Expect::Valid,
            },
            body: c.body,
        })
        .collect();
    wsdl::assert_all(&messages);
}
