//! Memory hygiene of the client listener (issue #8, item 14), over real sockets on loopback:
//! stalled bodies are cut off, and the memory held by request bodies is bounded by the
//! process-wide budget. Alone in its test binary so that the process's memory figures are this
//! test's.
//!
//! The `tokio::time::timeout` guards only stop a broken server from hanging the suite; each is
//! far longer than the server-side timeout it waits for, so none is a performance expectation.

mod raw_http;

use raw_http::*;

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const SERVER_SYNC_PATH: &str = "/ServerSyncWebService/ServerSyncWebService.asmx";

/// The body budget of this test process (process-wide: the first server started sets it).
const BUDGET_MIB: usize = 48;

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
    let h = start(limits(1000, 30, 30, 3), BUDGET_MIB).await;
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
