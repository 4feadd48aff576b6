//! Connection hygiene of both listeners (issue #8, item 14), over real sockets on loopback: idle
//! or dribbling sockets cannot starve clients or the administrator. (Stalled bodies and the body
//! budget: `stalled_bodies.rs`.)
//!
//! The `tokio::time::timeout` guards only stop a broken server from hanging the suite; each is
//! far longer than the server-side timeout it waits for, so none is a performance expectation.

mod raw_http;

use raw_http::*;

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The body budget of this test process (process-wide: the first server started sets it).
const BUDGET_MIB: usize = 24;

async fn admin_health(addr: std::net::SocketAddr) -> u16 {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET /api/v1/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let text = read_to_close(&mut s).await;
    text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_14_idle_connections_do_not_starve_clients_or_admin() {
    // Timeouts far longer than the test: only the connection limit can free anything here.
    let h = start(limits(8, 300, 300, 300), BUDGET_MIB).await;
    let addr = h.server.client_addr;
    let guard = Duration::from_secs(60);

    // More idle sockets than the client listener serves, each never sending a byte.
    let mut idle = Vec::new();
    for _ in 0..40 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    // The server has accepted them all: the ones past the limit were answered 503 and closed.
    let mut refused = 0;
    for s in idle.iter_mut().skip(8) {
        let text = tokio::time::timeout(guard, read_to_close(s)).await.expect("an idle socket over the limit is closed");
        assert!(text.is_empty() || text.starts_with("HTTP/1.1 503"), "{text}");
        refused += 1;
    }
    assert_eq!(refused, 32);

    // A fresh client is refused at once, not left waiting behind the idle sockets.
    let (status, text) = tokio::time::timeout(guard, get_config(addr)).await.expect("a fresh GetConfig is answered or refused");
    assert!(status == 503 || text.is_empty(), "client listener full, yet: {text}");

    // The admin listener has its own limit and answers.
    let health = tokio::time::timeout(guard, admin_health(h.server.admin_addr)).await.expect("admin health answers");
    assert_eq!(health, 200);

    // Once the idle sockets go, their slots come back and GetConfig is served.
    drop(idle);
    let served = tokio::time::timeout(guard, async {
        loop {
            let (status, text) = get_config(addr).await;
            if status == 200 {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("GetConfig is served once the idle sockets are gone");
    assert!(served.contains("<LastChange>"), "{served}");
    h.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_14_idle_keep_alive_connections_are_closed() {
    let h = start(limits(100, 2, 1, 30), BUDGET_MIB).await;
    let addr = h.server.client_addr;
    let guard = Duration::from_secs(60);

    // A connection that never sends anything is closed by the server.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let text = tokio::time::timeout(guard, read_to_close(&mut silent)).await.expect("a silent connection is closed");
    assert!(text.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");

    // A kept-alive connection is served, then closed once it stays idle.
    let body = get_config_body();
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {CLIENT_PATH} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/xml; charset=utf-8\r\nSOAPAction: {GET_CONFIG_ACTION}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body.as_bytes()).await.unwrap();
    let text = tokio::time::timeout(guard, read_to_close(&mut s)).await.expect("the idle kept-alive connection is closed");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("<LastChange>"), "{text}");

    // A head dribbled a byte at a time (so the connection is never idle) is cut off too.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let dribble = tokio::time::timeout(guard, async {
        for b in format!("POST {CLIENT_PATH} HTTP/1.1\r\nHost: {addr}\r\nX-Filler: {}", "a".repeat(10_000)).bytes() {
            if slow.write_all(&[b]).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        false
    })
    .await
    .expect("the dribbled head is cut off");
    assert!(dribble, "the server kept reading a head dribbled for 2,000 s");
    h.server.shutdown().await.unwrap();
}
