//! The agent's requests against the real Windows 11 agent's, element by element and header by
//! header (tests/fixtures/wsus-native: an unmodified Windows 11 25H2 client). Values differ;
//! element names, their order and nesting, and the header set must not.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sluice_agent::requests::*;
use sluice_xml::{Element, Node};

fn native(exchange: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/wsus-native/wsus-m0-native").join(exchange)
}

/// The element structure: one line per element, indented by depth, with runs of same-named
/// siblings (array items) collapsed to one, so array lengths do not matter but order does.
fn shape(el: &Element, depth: usize, out: &mut Vec<String>) {
    out.push(format!("{}{}", "  ".repeat(depth), el.local));
    let mut last: Option<&str> = None;
    for n in &el.children {
        if let Node::Element(c) = n {
            if last == Some(c.local.as_str()) {
                continue;
            }
            last = Some(c.local.as_str());
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

fn assert_same_shape(ours: &SoapCall, exchange: &str) {
    let real = shape_of(&real_body(exchange));
    let mine = shape_of(&ours.body);
    assert_eq!(mine, real, "element structure differs from the real client's {exchange}");
    let headers = std::fs::read_to_string(native(exchange).join("request.headers")).unwrap();
    let action = headers.lines().find_map(|l| l.strip_prefix("SOAPAction: ")).unwrap().trim().to_string();
    assert_eq!(format!("\"{}\"", ours.action), action, "{exchange}");
    let path = headers.lines().next().unwrap().split(' ').nth(1).unwrap();
    assert_eq!(ours.path.to_ascii_lowercase(), path.to_ascii_lowercase(), "{exchange}");
}

#[test]
fn bodies_have_the_native_element_structure() {
    assert_same_shape(&get_config(), "scan/000001");
    assert_same_shape(&get_authorization_cookie("e1da06a3-5601-43c9-bac3-52d5db701494", None, "pc1"), "scan/000002");
    assert_same_shape(&get_cookie("AAAA", None, "2026-10-04T13:17:07.59Z", "2026-10-04T15:03:36Z"), "scan/000003");
    assert_same_shape(&register_computer(&cookie(), &info()), "scan/000004");
    assert_same_shape(&sync_updates(&cookie(), &[1, 2], &[3, 4], "A=1;"), "flow/000001");
    assert_same_shape(&sync_drivers(&cookie(), &[1, 2], &[], "458ab48b-acb9-5863-b5a8-d2c32f0d3e6f", "A=1;"), "flow/000014");
    assert_same_shape(&get_extended_update_info(&cookie(), &[5, 6], "en-US", "A=1;"), "flow/000015");
    let events = vec![
        Event { event_id: 147, update: None, hresult: 0, replacement_strings: vec!["0".into()], misc: vec!["D=0".into()], time: "2026-11-25T12:00:00Z".into() },
        Event { event_id: 156, update: None, hresult: 0, replacement_strings: vec![], misc: vec!["U=".into(), "V=".into()], time: "2026-11-25T12:00:00Z".into() },
    ];
    assert_same_shape(&report_event_batch(&cookie(), "e1da06a3-5601-43c9-bac3-52d5db701494", "2026-11-25T12:00:00Z", &events, "QEMU", "PC"), "flow/000016");
}

#[test]
fn a_first_scan_omits_the_cached_id_arrays_like_the_native_agent() {
    // The native agent's very first SyncUpdates carries no id arrays at all (scan/000006).
    let first = sync_updates(&cookie(), &[], &[], "A=1;");
    assert!(!first.body.contains("InstalledNonLeafUpdateIDs") && !first.body.contains("OtherCachedUpdateIDs"));
    assert!(!real_body("scan/000006").contains("OtherCachedUpdateIDs"));
}

/// The header set on the wire, captured by a one-shot TCP server.
#[tokio::test]
async fn headers_match_the_native_agent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 65536];
        let mut got = Vec::new();
        loop {
            let n = s.read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
            if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&got[..end]).to_string();
                let len: usize = head.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().parse().unwrap())).unwrap_or(0);
                if got.len() >= end + 4 + len {
                    let body = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetConfigResponse xmlns="http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService"/></s:Body></s:Envelope>"#;
                    let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}", body.len());
                    return head;
                }
            }
        }
    });
    let http = sluice_agent::wire::soap_client();
    sluice_agent::wire::send(&http, &format!("http://{addr}"), &get_config(), "abc.1").await.unwrap();
    let ours = server.join().unwrap();
    let names = |h: &str| -> Vec<String> {
        let mut v: Vec<String> = h.lines().skip(1).filter(|l| !l.trim().is_empty()).filter_map(|l| l.split(':').next()).map(|n| n.trim().to_ascii_lowercase()).collect();
        v.sort();
        v
    };
    let real = std::fs::read_to_string(native("scan/000001").join("request.headers")).unwrap();
    assert_eq!(names(&ours), names(&real), "ours:\n{ours}\nreal:\n{real}");
    assert!(ours.starts_with("POST /ClientWebService/client.asmx HTTP/1.1"));
}
