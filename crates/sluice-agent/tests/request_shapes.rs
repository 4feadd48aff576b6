//! The agent's requests against the real Windows 11 agent's, element by element and header by
//! header (tests/fixtures/wsus-native: an unmodified Windows 11 25H2 client). Values differ;
//! elements (namespace URI and local name, order, nesting) and the headers (names, order, fixed
//! values) must not.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sluice_agent::requests::*;
use sluice_xml::{Element, Node};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/wsus-native")
}

fn native(exchange: &str) -> PathBuf {
    fixtures().join("wsus-m0-native").join(exchange)
}

/// The element structure: one line per element, indented by depth, naming the element by
/// `{namespace URI}local name` (prefixes do not matter, namespaces do), with runs of same-named
/// siblings (array items) collapsed to one, so array lengths do not matter but order does.
fn shape(el: &Element, depth: usize, out: &mut Vec<String>) {
    out.push(format!("{}{{{}}}{}", "  ".repeat(depth), el.ns, el.local));
    let mut last: Option<(&str, &str)> = None;
    for n in &el.children {
        if let Node::Element(c) = n {
            let name = (c.ns.as_str(), c.local.as_str());
            if last == Some(name) {
                continue;
            }
            last = Some(name);
            shape(c, depth + 1, out);
        }
    }
}

fn shape_of(xml: &str) -> Vec<String> {
    let root = sluice_xml::parse(xml, "request").expect("well-formed");
    let mut v = Vec::new();
    shape(&root, 0, &mut v);
    v
}

fn real_body(exchange: &str) -> String {
    std::fs::read_to_string(native(exchange).join("request.body")).unwrap()
}

fn real_headers(exchange: &str) -> String {
    std::fs::read_to_string(native(exchange).join("request.headers")).unwrap()
}

fn cookie() -> CookieText {
    CookieText { expiration: "2026-11-25T13:00:00.123Z".into(), encrypted_data: "AAAA".into() }
}

fn info() -> ComputerInfo {
    ComputerInfo {
        dns_name: "pc1".into(),
        os_major: 10,
        os_minor: 0,
        os_build: 26200,
        locale: "en-US".into(),
        manufacturer: "Contoso".into(),
        model: "Model 7".into(),
        processor_architecture: "AMD64".into(),
        os_description: "Windows 11 Pro".into(),
    }
}

fn events() -> Vec<Event> {
    vec![
        Event { event_id: 147, update: None, hresult: 0, replacement_strings: vec!["0".into()], misc: vec!["D=0".into()], time: "2026-11-25T12:00:00Z".into() },
        Event { event_id: 156, update: None, hresult: 0, replacement_strings: vec![], misc: vec!["U=".into(), "V=".into()], time: "2026-11-25T12:00:00Z".into() },
    ]
}

/// Every request the agent sends, with the native capture of the same operation.
fn every_captured_operation() -> Vec<(&'static str, SoapCall, &'static str)> {
    vec![
        ("GetConfig", get_config(), "scan/000001"),
        ("GetAuthorizationCookie", get_authorization_cookie("e1da06a3-5601-43c9-bac3-52d5db701494", None, "pc1"), "scan/000002"),
        ("GetCookie", get_cookie("AAAA", None, "2026-10-04T13:17:07.59Z", "2026-10-04T15:03:36Z"), "scan/000003"),
        ("RegisterComputer", register_computer(&cookie(), &info()), "scan/000004"),
        ("SyncUpdates", sync_updates(&cookie(), &[1, 2], &[3, 4], "A=1;"), "flow/000001"),
        ("SyncUpdates (drivers)", sync_drivers(&cookie(), &[1, 2], &[], "458ab48b-acb9-5863-b5a8-d2c32f0d3e6f", "A=1;"), "flow/000014"),
        ("GetExtendedUpdateInfo", get_extended_update_info(&cookie(), &[5, 6], "en-US", "A=1;"), "flow/000015"),
        (
            "ReportEventBatch",
            report_event_batch(&cookie(), "e1da06a3-5601-43c9-bac3-52d5db701494", "2026-11-25T12:00:00Z", &events(), "QEMU", "PC"),
            "flow/000016",
        ),
    ]
}

fn refresh_cache_call() -> SoapCall {
    refresh_cache(&cookie(), &[("0A4C6C73-8887-4D7F-9CBE-D08FA8FA9D1E".into(), 50), ("352f9494-d516-4b40-a21a-cd2416098982".into(), 51)])
}

#[track_caller]
fn assert_same_shape(op: &str, ours: &SoapCall, real_xml: &str, source: &str) {
    assert_eq!(shape_of(&ours.body), shape_of(real_xml), "{op}: element structure differs from {source}");
}

#[test]
fn item_11_bodies_match_the_captures_by_namespace_and_local_name() {
    for (op, call, exchange) in every_captured_operation() {
        assert_same_shape(op, &call, &real_body(exchange), exchange);
        let headers = real_headers(exchange);
        let action = headers.lines().find_map(|l| l.strip_prefix("SOAPAction: ")).unwrap().trim().to_string();
        assert_eq!(format!("\"{}\"", call.action), action, "{op}");
        let path = headers.lines().next().unwrap().split(' ').nth(1).unwrap();
        assert_eq!(call.path.to_ascii_lowercase(), path.to_ascii_lowercase(), "{op}");
    }
    // No native capture of RefreshCache exists (the native client sends it only after
    // InvalidCookie or ServerChanged); the spec's own example has the WSDL's structure.
    let example = std::fs::read_to_string(fixtures().join("spec-examples/ms-wusp/10-RefreshCache-request.xml")).unwrap();
    assert_same_shape("RefreshCache", &refresh_cache_call(), &example, "MS-WUSP example 10");
}

/// A namespace slip keeps local names intact and must still be caught.
#[test]
fn item_11_shape_comparison_sees_namespaces() {
    let mut wrong = get_config();
    wrong.body = wrong.body.replace(CLIENT_NS, SIMPLE_AUTH_NS);
    assert_ne!(shape_of(&wrong.body), shape_of(&real_body("scan/000001")));
    // And the envelope's namespace is part of it too.
    let soap12 = get_config().body.replace("http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope");
    assert_ne!(shape_of(&soap12), shape_of(&real_body("scan/000001")));
}

#[test]
fn a_first_scan_omits_the_cached_id_arrays_like_the_native_agent() {
    // The native agent's very first SyncUpdates carries no id arrays at all (scan/000006).
    let first = sync_updates(&cookie(), &[], &[], "A=1;");
    assert!(!first.body.contains("InstalledNonLeafUpdateIDs") && !first.body.contains("OtherCachedUpdateIDs"));
    assert!(!real_body("scan/000006").contains("OtherCachedUpdateIDs"));
}

/// Request heads as they reach the wire, recorded by a plain TCP server that answers every
/// request with an empty SOAP response on the same keep-alive connection, as IIS would.
fn record_heads(expected: usize) -> (std::net::SocketAddr, std::thread::JoinHandle<Vec<String>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let mut heads = Vec::new();
        while heads.len() < expected {
            let (mut s, _) = listener.accept().unwrap();
            let mut got: Vec<u8> = Vec::new();
            let mut buf = vec![0u8; 65536];
            while heads.len() < expected {
                let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
                    let n = s.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                    continue;
                };
                let head = String::from_utf8_lossy(&got[..end]).to_string();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().parse().unwrap()))
                    .unwrap_or(0);
                while got.len() < end + 4 + len {
                    let n = s.read(&mut buf).unwrap();
                    assert!(n > 0, "connection closed mid-body");
                    got.extend_from_slice(&buf[..n]);
                }
                got.drain(..end + 4 + len);
                let body = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Response xmlns="urn:test"/></s:Body></s:Envelope>"#;
                write!(s, "HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
                heads.push(head);
            }
        }
        heads
    });
    (addr, server)
}

fn header_lines(head: &str) -> Vec<(String, String)> {
    head.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap_or((l, ""));
            (n.trim().to_string(), v.trim().to_string())
        })
        .collect()
}

/// Compares one request head with the native one: the request line, every header name in order
/// (case-insensitively: HTTP names are, and hyper writes `Soapaction` where WinHTTP writes
/// `SOAPAction`), and every value except those that must differ (the correlation vector's
/// random part, Content-Length, Host).
#[track_caller]
fn assert_same_head(op: &str, ours: &str, real: &str, call: &SoapCall, host: &str) {
    let line = |h: &str| -> (String, String, String) {
        let mut p = h.lines().next().unwrap_or("").split(' ');
        (p.next().unwrap_or("").into(), p.next().unwrap_or("").to_ascii_lowercase(), p.next().unwrap_or("").into())
    };
    assert_eq!(line(ours), line(real), "{op}: request line\nours:\n{ours}\nreal:\n{real}");
    let (mine, theirs) = (header_lines(ours), header_lines(real));
    let names = |h: &[(String, String)]| h.iter().map(|(n, _)| n.to_ascii_lowercase()).collect::<Vec<_>>();
    assert_eq!(names(&mine), names(&theirs), "{op}: header names and order\nours:\n{ours}\nreal:\n{real}");
    for ((name, ours_v), (_, real_v)) in mine.iter().zip(&theirs) {
        match name.to_ascii_lowercase().as_str() {
            "content-length" => assert_eq!(ours_v, &call.body.len().to_string(), "{op}"),
            "host" => assert_eq!(ours_v, host, "{op}"),
            "ms-cv" => {
                // `me4WAo5lqUCG/53V.1.0.0.2.1`: 16 base64 characters, then the fixed vector.
                let shape = |v: &str| -> Option<(usize, String)> {
                    let (base, rest) = v.split_once('.')?;
                    let rest = rest.rsplit_once('.')?.0.to_string();
                    base.chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/').then_some((base.len(), rest))
                };
                assert_eq!(shape(ours_v), shape(real_v), "{op}: MS-CV {ours_v} against {real_v}");
                assert!(ours_v.rsplit('.').next().unwrap().parse::<u32>().is_ok(), "{op}: MS-CV {ours_v}");
            }
            "soapaction" => assert_eq!(ours_v, &format!("\"{}\"", call.action), "{op}"),
            _ => assert_eq!(ours_v, real_v, "{op}: {name}"),
        }
    }
}

#[tokio::test]
async fn item_11_headers_of_every_operation_match_the_captures_in_order() {
    let mut calls = every_captured_operation();
    calls.push(("RefreshCache", refresh_cache_call(), "scan/000003"));
    let (addr, server) = record_heads(calls.len());
    let http = sluice_agent::wire::soap_client();
    let base = sluice_agent::wire::new_cv_base();
    for (i, (op, call, _)) in calls.iter().enumerate() {
        let cv = sluice_agent::wire::cv(&base, i as u32 + 1);
        sluice_agent::wire::send(&http, &format!("http://{addr}"), call, &cv).await.unwrap_or_else(|e| panic!("{op}: {e}"));
    }
    let heads = server.join().unwrap();
    for ((op, call, exchange), ours) in calls.iter().zip(&heads) {
        // RefreshCache has no native capture: it goes to the same service with the same
        // headers as every other ClientWebService call (GetCookie's here), its own SOAPAction.
        assert_same_head(op, ours, &real_headers(exchange), call, &addr.to_string());
    }
}
