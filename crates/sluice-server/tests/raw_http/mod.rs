//! Raw-socket helpers for the listener tests: a server with given connection limits and body
//! budget, and GetConfig sent and read byte by byte, so what the server does with a
//! connection (refuse, close, answer) is seen as a client sees it.
#![allow(dead_code)]

use std::time::Duration;

use sluice_server::listener::ConnectionLimits;
use sluice_testkit::server::{Setup, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const CLIENT_PATH: &str = "/ClientWebService/client.asmx";
pub const GET_CONFIG_ACTION: &str = "\"http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/GetConfig\"";
pub const MIB: usize = 1024 * 1024;

/// The native client's GetConfig request (from the capture in tests/fixtures).
pub fn get_config_body() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/wsus-native/wsus-m0-native/scan/000001/request.body");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub struct Harness {
    pub server: TestServer,
}

pub async fn start(client: ConnectionLimits, budget_mib: usize) -> Harness {
    let server = Setup::new()
        .with(|config| {
            config.client_connections = client;
            config.body_budget_bytes = budget_mib * MIB;
            config.body_budget_wait_ms = 500;
        })
        .start()
        .await;
    Harness { server }
}

pub fn limits(max_connections: usize, header_read: u64, idle: u64, body_read: u64) -> ConnectionLimits {
    ConnectionLimits {
        max_connections,
        header_read: Duration::from_secs(header_read),
        keep_alive_idle: Duration::from_secs(idle),
        body_read: Duration::from_secs(body_read),
    }
}

/// Sends one GetConfig on a fresh connection and reads until the server closes it or the
/// response is complete; returns the status and the text read.
pub async fn get_config(addr: std::net::SocketAddr) -> (u16, String) {
    let body = get_config_body();
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {CLIENT_PATH} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/xml; charset=utf-8\r\nSOAPAction: {GET_CONFIG_ACTION}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    // A refused connection may be closed before the request is written; that is fine.
    let _ = s.write_all(head.as_bytes()).await;
    let _ = s.write_all(body.as_bytes()).await;
    let text = read_to_close(&mut s).await;
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, text)
}

/// Everything the peer sends until it closes (a reset counts as closed).
pub async fn read_to_close(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
