//! The reporting rollups an attacker can send without a downstream's session cookie, shared by
//! the server's hostile-input suites. (A throw-away PostgreSQL database per test:
//! `sluice_testkit::postgres`.)

#![allow(dead_code)]

use sluice_wsusss::{
    ComputerLastRollupNumber, ComputerRollupInfo, ComputerStatusRollupInfo,
    ComputerStatusRollupUpdateStatus, Cookie, DownstreamServerRollupInfo,
    GetOutOfSyncComputersRequest, Request, RollupComputerStatusRequest, RollupComputersRequest,
    RollupDownstreamServersRequest, Service,
};
use uuid::Uuid;

/// Where the rollup operations are served.
pub fn reporting_path() -> &'static str {
    Service::Reporting.path()
}

/// The four rollup operations that store something, each claiming to come from `server_id`
/// (a server named in the body, with a computer `computer_id`), carrying `cookie`:
/// `Some(Cookie::reporting())` is what the protocol fixes and a WSUS downstream sends,
/// `None` omits the element, anything else is a forged or borrowed cookie. Send each with
/// [`rollup_body`] and the operation's `SOAPAction` to [`reporting_path`]; a Sluice upstream
/// answers every one without a valid session cookie with an `InvalidCookie` (or
/// `CookieExpired`) fault and stores nothing.
pub fn rollup_requests(cookie: Option<Cookie>, server_id: Uuid, computer_id: &str) -> Vec<Request> {
    let when = "2026-11-25T21:00:00Z".to_string();
    vec![
        Request::RollupDownstreamServers(RollupDownstreamServersRequest {
            cookie: cookie.clone(),
            client_time: when.clone(),
            downstream_servers: vec![DownstreamServerRollupInfo {
                server_id,
                full_domain_name: Some("intruder.example.invalid".into()),
                last_sync_time: when.clone(),
                parent_server_id: Uuid::nil(),
                version: Some("10.0.26100.1".into()),
                is_replica: false,
                last_rollup_time: when.clone(),
                server_summary: None,
                client_summaries: None,
            }],
        }),
        Request::RollupComputers(RollupComputersRequest {
            cookie: cookie.clone(),
            client_time: when.clone(),
            computers: vec![ComputerRollupInfo {
                computer_id: Some(computer_id.into()),
                last_sync_time: when.clone(),
                last_reported_reboot_time: "0001-01-01T00:00:00".into(),
                last_reported_status_time: when.clone(),
                last_inventory_time: "0001-01-01T00:00:00".into(),
                parent_server_id: server_id,
                ..Default::default()
            }],
        }),
        Request::GetOutOfSyncComputers(GetOutOfSyncComputersRequest {
            cookie: cookie.clone(),
            parent_server_id: server_id,
            last_rollup_numbers: vec![ComputerLastRollupNumber {
                computer_id: computer_id.into(),
                rollup_number: 1,
            }],
        }),
        Request::RollupComputerStatus(RollupComputerStatusRequest {
            cookie,
            client_time: when.clone(),
            parent_server_id: server_id,
            computers: vec![ComputerStatusRollupInfo {
                instance_id: Uuid::new_v4(),
                computer_id: computer_id.into(),
                effective_last_detection_time: when.clone(),
                rollup_number: 1,
                is_full_rollup: true,
                update_status: Some(vec![ComputerStatusRollupUpdateStatus {
                    update_id: Uuid::new_v4(),
                    summarization_state: 5,
                    last_change_time: when,
                }]),
            }],
        }),
    ]
}

/// The SOAP body of a request, as the wire carries it.
pub fn rollup_body(req: &Request) -> Vec<u8> {
    sluice_wsusss::encode_request(req)
}
