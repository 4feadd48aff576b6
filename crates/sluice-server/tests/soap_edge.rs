//! The one SOAP edge of the client listener over real HTTP on loopback: every service, MS-WUSP
//! and MS-WSUSSS, answers with the headers a real WSUS sends for it (the captures under
//! `tests/fixtures` say which), and a `Host` that cannot go into a URL is not put into one.

// The shared client re-exports what the other test files need.
#[allow(unused_imports)]
mod wusp_client;

use sluice_wsusss as wss;
use wusp_client::*;

const SERVER_SYNC_PATH: &str = "/ServerSyncWebService/ServerSyncWebService.asmx";

fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply.headers.get(name).map(|v| v.to_str().expect("ASCII header"))
}

/// The `Cache-Control` and `Vary` of an answer.
fn caching(reply: &Reply) -> (u16, Option<&str>, Option<&str>) {
    (reply.status, header(reply, "cache-control"), header(reply, "vary"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_2_every_soap_service_answers_with_the_headers_of_real_wsus() {
    let h = Harness::start().await;
    let not_soap = "<x/>".to_string();

    // The WCF client web service: `private` on answers and faults; `Vary` only where the client
    // offered xpress (capture wsus-m0: requests without Accept-Encoding got none).
    let plain = h.post(CLIENT_PATH, get_config_body()).await;
    assert_eq!(caching(&plain), (200, Some("private"), None));
    let packed = h.post_raw(CLIENT_PATH, get_config_body(), true).await;
    assert_eq!(caching(&packed), (200, Some("private"), Some("Accept-Encoding")));
    assert_eq!(caching(&h.post(CLIENT_PATH, not_soap.clone()).await), (500, Some("private"), None));

    // ASMX services, MS-WUSP and MS-WSUSSS alike: `private, max-age=0` on answers, `private` on
    // faults (captures wsus-m0-native SimpleAuth and wsusss exchanges 000017).
    let auth = h.post(SIMPLE_AUTH_PATH, auth_cookie_body("7a7a7a7a-0000-4000-8000-00000000a002")).await;
    assert_eq!(caching(&auth), (200, Some("private, max-age=0"), None));
    assert_eq!(caching(&h.post(SIMPLE_AUTH_PATH, not_soap.clone()).await), (500, Some("private"), None));
    let auth_config = String::from_utf8(wss::encode_request(&wss::Request::GetAuthConfig)).expect("UTF-8");
    let sync = h.post(SERVER_SYNC_PATH, auth_config).await;
    assert_eq!(caching(&sync), (200, Some("private, max-age=0"), None));
    let sync_fault = h.post_raw(SERVER_SYNC_PATH, not_soap.clone(), true).await;
    assert_eq!(caching(&sync_fault), (500, Some("private"), Some("Accept-Encoding")));
    for reply in [&plain, &auth, &sync, &sync_fault] {
        assert_eq!(header(reply, "content-type"), Some("text/xml; charset=utf-8"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_2_a_host_that_cannot_go_into_a_url_is_not_used() {
    let h = Harness::start().await;
    let fault_actor = |host: String| {
        let h = &h;
        async move {
            let resp = h
                .http
                .post(format!("{}{SERVER_SYNC_PATH}", h.base))
                .header("Host", host)
                .header("Content-Type", "text/xml; charset=utf-8")
                .body("<x/>")
                .send()
                .await
                .expect("POST");
            assert_eq!(resp.status().as_u16(), 500);
            let xml = resp.text().await.expect("body");
            element_text(&xml, "faultactor").expect("faultactor")
        }
    };
    assert_eq!(fault_actor("wsus.example:8530".into()).await, format!("http://wsus.example:8530{SERVER_SYNC_PATH}"));
    let ours = format!("http://{}{SERVER_SYNC_PATH}", h.server.client_addr);
    assert_eq!(fault_actor(format!("{}:8530", "a".repeat(300))).await, ours);
    assert_eq!(fault_actor("evil.example@x".into()).await, ours);
}
