//! Memory hygiene of the client listener (issue #8, item 14), over real sockets on loopback:
//! stalled bodies are cut off, and the memory held by request bodies is bounded by the
//! process-wide budget. Alone in its test binary so that the process's memory figures are this
//! test's.
//!
//! The `tokio::time::timeout` guards only stop a broken server from hanging the suite; each is
//! far longer than the server-side timeout it waits for, so none is a performance expectation.

use std::time::Duration;

use sluice_server::config::Config;
use sluice_server::listener::ConnectionLimits;
use sluice_server::RunningServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CLIENT_PATH: &str = "/ClientWebService/client.asmx";
const SERVER_SYNC_PATH: &str = "/ServerSyncWebService/ServerSyncWebService.asmx";
const GET_CONFIG_ACTION: &str = "\"http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/GetConfig\"";
const MIB: usize = 1024 * 1024;

/// The body budget of this test process (process-wide: the first server started sets it).
const BUDGET_MIB: usize = 48;

/// The native client's GetConfig request (from the capture in tests/fixtures).
fn get_config_body() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/wsus-native/wsus-m0-native/scan/000001/request.body");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

struct Harness {
    server: RunningServer,
    _tmp: tempfile::TempDir,
}

async fn start(client: ConnectionLimits) -> Harness {
    let tmp = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: tmp.path().join("data"),
        client_listen: "127.0.0.1:0".parse().unwrap(),
        admin_listen: "127.0.0.1:0".parse().unwrap(),
        client_connections: client,
        body_budget_bytes: BUDGET_MIB * MIB,
        body_budget_wait_ms: 500,
        ..Config::default()
    };
    let server = sluice_server::start(config).await.unwrap();
    Harness { server, _tmp: tmp }
}

fn limits(max_connections: usize, header_read: u64, idle: u64, body_read: u64) -> ConnectionLimits {
    ConnectionLimits {
        max_connections,
        header_read: Duration::from_secs(header_read),
        keep_alive_idle: Duration::from_secs(idle),
        body_read: Duration::from_secs(body_read),
    }
}

/// Sends one GetConfig on a fresh connection and reads until the server closes it or the
/// response is complete; returns the status and the text read.
async fn get_config(addr: std::net::SocketAddr) -> (u16, String) {
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
async fn read_to_close(s: &mut TcpStream) -> String {
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

/// This process's resident memory (`VmRSS`) or its peak since the last reset (`VmHWM`), in
/// bytes.
fn proc_status(field: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap_or_else(|| panic!("no {field}"));
    let kb: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// Opens a Server Sync POST announcing `announced` bytes, sends `sent` of them, then stalls;
/// returns once the server has closed the connection.
async fn stalled_post(addr: std::net::SocketAddr, announced: usize, sent: usize) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {SERVER_SYNC_PATH} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/xml; charset=utf-8\r\nSOAPAction: \"http://www.microsoft.com/SoftwareDistribution/Server/ServerSyncWebService/GetUpdateData\"\r\nContent-Length: {announced}\r\n\r\n"
    );
    if s.write_all(head.as_bytes()).await.is_err() {
        return String::new();
    }
    let chunk = vec![b' '; 64 * 1024];
    let mut done = 0;
    while done < sent {
        let n = chunk.len().min(sent - done);
        // The server stops reading a body it has refused or cut off: the write fails then.
        if s.write_all(&chunk[..n]).await.is_err() {
            break;
        }
        done += n;
    }
    read_to_close(&mut s).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_14_stalled_bodies_are_cut_off() {
    // A body that sent its part holds its share until the 3 s body timeout, six times the 500 ms
    // a reader waits for the budget: the readers that find it exhausted are refused as busy.
    let h = start(limits(1000, 30, 30, 3)).await;
    let addr = h.server.client_addr;
    let guard = Duration::from_secs(120);

    // One body announced at 30 MB, 1 MiB of it sent, then nothing: the server answers and
    // closes instead of waiting for the rest.
    let text = tokio::time::timeout(guard, stalled_post(addr, 30_000_000, MIB)).await.expect("a stalled body is cut off");
    assert!(text.is_empty() || text.starts_with("HTTP/1.1 500"), "{text}");

    // Many at once (30 MB fits the budget, so each is buffered), together over three times the
    // budget. Only the budget's worth is ever held; the rest wait briefly and get ServerBusy.
    let before = proc_status("VmRSS:");
    // Resets VmHWM to the current RSS (Linux 4.0+), so it reports this phase's peak.
    let hwm_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let per_post = 4 * MIB;
    let posts = 40;
    let replies = tokio::time::timeout(guard, async {
        let tasks: Vec<_> = (0..posts).map(|_| tokio::spawn(stalled_post(addr, 30_000_000, per_post))).collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    })
    .await
    .expect("every stalled body is cut off");
    let peak = if hwm_reset { proc_status("VmHWM:") } else { proc_status("VmRSS:") };
    eprintln!("RSS before {} MiB, peak {} MiB, after {} MiB", before / MIB, peak / MIB, proc_status("VmRSS:") / MIB);
    let busy = replies.iter().filter(|r| r.contains("ServerBusy")).count();
    assert!(busy > 0, "with three budgets' worth of bodies some must have been refused as busy");
    for r in &replies {
        assert!(r.is_empty() || r.starts_with("HTTP/1.1 500"), "{r}");
    }
    // Generous slack for the runtime, the connections and the allocator; without the budget the
    // server held all 160 MiB sent.
    let slack = 48 * MIB;
    let grown = peak.saturating_sub(before);
    assert!(grown < BUDGET_MIB * MIB + slack, "memory grew by {} MiB during the stalled bodies", grown / MIB);
    let after = proc_status("VmRSS:");
    assert!(
        after.saturating_sub(before) < BUDGET_MIB * MIB + slack,
        "memory stayed {} MiB higher after the connections closed",
        after.saturating_sub(before) / MIB
    );

    // The budget came back: a normal request is served.
    let (status, text) = tokio::time::timeout(guard, get_config(addr)).await.expect("GetConfig answers");
    assert_eq!(status, 200, "{text}");
    h.server.shutdown().await.unwrap();
}
