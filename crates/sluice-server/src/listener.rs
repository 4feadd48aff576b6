//! The accept loop of each listener: a connection limit and the timeouts that keep idle or
//! stalled peers from holding sockets and memory.
//!
//! Without them, 1,100 idle sockets at a 1,024-descriptor limit made GetConfig time out, and the
//! admin API with it. Each listener has its own limit, so clients filling theirs leave the admin
//! listener reachable; a connection over the limit is refused at once (a 503 if the socket takes
//! it, then closed) instead of waiting in the kernel's backlog.
//!
//! An HTTPS listener runs the TLS handshake in the connection's own task, within the header-read
//! timeout, so a peer that never finishes its handshake holds a slot no longer than one that
//! never sends its headers.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_rustls::TlsAcceptor;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::origin::Arrival;

/// What one listener enforces on its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections served at once; more are refused.
    pub max_connections: usize,
    /// From the moment a connection waits for a request until its head (request line and
    /// headers) is complete; a peer dribbling headers is cut off.
    pub header_read: Duration,
    /// No byte moved either way for this long: the connection is closed (after the exchange in
    /// progress, if any). Covers kept-alive connections between requests.
    pub keep_alive_idle: Duration,
    /// Longest wait for the next piece of a request body; a stalled body is aborted.
    pub body_read: Duration,
}

/// Read buffer of a connection, which also bounds a request head. hyper's default (about
/// 400 KB) is held per connection while a body is read, so a thousand connections sending
/// bodies pinned 400 MB outside the body budget; real request heads are under 2 KB.
const READ_BUFFER: usize = 64 * 1024;

/// Descriptors kept for everything but client connections: the admin listener's connections
/// are added to these; the database, content files being served or written, sockets being
/// refused and the process's own come out of them.
pub const RESERVED_DESCRIPTORS: usize = 128;

/// The process's soft limit on open descriptors, when the system says (`/proc/self/limits`).
pub fn descriptor_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The client connection limit that fits the descriptor limit: past it, accept fails for every
/// listener at once (the admin API included), which is what 1,100 idle sockets at a 1,024 limit
/// did. Never below 1.
pub fn fit_client_limit(client: usize, admin: usize, descriptors: Option<usize>) -> usize {
    match descriptors {
        Some(d) => client.min(d.saturating_sub(admin + RESERVED_DESCRIPTORS)).max(1),
        None => client,
    }
}

/// The connection slots of `limits`, for [`serve`].
pub fn slots(limits: &ConnectionLimits) -> Arc<Semaphore> {
    Arc::new(Semaphore::new(limits.max_connections.max(1)))
}

/// What a refused connection is told before it is closed, so WinHTTP retries later instead of
/// reporting a broken connection.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n";

/// Serves `app` on `listener` until `stop` is cancelled; then stops accepting, lets connections
/// finish their current exchange and waits for them. If this future is dropped (the server's
/// grace period ran out), every connection is dropped with it. With `tls`, every connection is
/// HTTPS. `slots` ([`slots`]) holds one permit per connection served at once; listeners that
/// share it share the limit.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: ConnectionLimits,
    slots: Arc<Semaphore>,
    stop: CancellationToken,
    what: &'static str,
    tls: Option<TlsAcceptor>,
) -> std::io::Result<()> {
    let arrival = Arrival { tls: tls.is_some(), local: listener.local_addr()? };
    let tracker = TaskTracker::new();
    let kill = CancellationToken::new();
    let _kill_on_drop = kill.clone().drop_guard();
    let mut refused_since_log: u64 = 0;
    let mut last_refusal_log = Instant::now();
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            r = listener.accept() => r,
        };
        let (stream, peer) = match accepted {
            Ok(c) => c,
            Err(e) => {
                // Out of descriptors (EMFILE/ENFILE) or a connection reset before accept: wait a
                // moment rather than spin, then go on; the limits make this rare.
                tracing::warn!(listener = what, error = %e, "accept failed");
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(50)) => continue,
                }
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // A TLS client could not read a plain answer: it just sees the connection close.
            if tls.is_none() {
                let _ = stream.try_write(REFUSAL);
            }
            drop(stream);
            refused_since_log += 1;
            if last_refusal_log.elapsed() >= Duration::from_secs(10) {
                tracing::warn!(
                    listener = what,
                    limit = limits.max_connections,
                    refused = refused_since_log,
                    "connection limit reached; refusing new connections"
                );
                refused_since_log = 0;
                last_refusal_log = Instant::now();
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let stop = stop.clone();
        let kill = kill.clone();
        let tls = tls.clone();
        tracker.spawn(async move {
            connection(stream, Peer { addr: peer, arrival }, app, limits, stop, kill, tls).await;
            drop(slot);
        });
    }
    drop(listener);
    tracker.close();
    tracker.wait().await;
    Ok(())
}

/// Who is connected, and on which listener.
#[derive(Clone, Copy)]
struct Peer {
    addr: SocketAddr,
    arrival: Arrival,
}

async fn connection(
    stream: TcpStream,
    peer: Peer,
    app: axum::Router,
    limits: ConnectionLimits,
    stop: CancellationToken,
    kill: CancellationToken,
    tls: Option<TlsAcceptor>,
) {
    let activity = Arc::new(Activity::new());
    let tracked = Tracked { inner: stream, activity: activity.clone() };
    let Some(acceptor) = tls else {
        return exchange(TokioIo::new(tracked), peer, app, limits, stop, kill, activity).await;
    };
    let handshake = tokio::select! {
        r = tokio::time::timeout(limits.header_read, acceptor.accept(tracked)) => r,
        _ = kill.cancelled() => return,
        _ = stop.cancelled() => return,
    };
    match handshake {
        Ok(Ok(stream)) => exchange(TokioIo::new(stream), peer, app, limits, stop, kill, activity).await,
        Ok(Err(e)) => tracing::debug!(peer = %peer.addr, error = %e, "TLS handshake failed"),
        Err(_) => tracing::debug!(peer = %peer.addr, "TLS handshake timed out"),
    }
}

/// Serves the HTTP exchanges of one connection, plain or TLS.
async fn exchange<I>(
    io: I,
    peer: Peer,
    app: axum::Router,
    limits: ConnectionLimits,
    stop: CancellationToken,
    kill: CancellationToken,
    activity: Arc<Activity>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let body_read = limits.body_read;
    let Peer { addr: peer, arrival } = peer;
    let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
        let mut req = req.map(|b| Body::new(StallGuard::new(b, body_read)));
        req.extensions_mut().insert(ConnectInfo(peer));
        req.extensions_mut().insert(arrival);
        let app = app.clone();
        async move { Ok::<_, Infallible>(app.oneshot(req).await.unwrap_or_else(|never| match never {})) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .keep_alive(true)
        .max_buf_size(READ_BUFFER);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%peer, error = %e, "connection ended");
                }
                return;
            }
            _ = kill.cancelled() => return,
            _ = stop.cancelled(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = activity.idle_for(limits.keep_alive_idle), if !closing => {
                // Closes now if between requests; otherwise after the response in progress,
                // so a long-running request is never cut.
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// When bytes last moved on a connection.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Activity { start: Instant::now(), last_ms: AtomicU64::new(0) }
    }

    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Resolves once nothing has moved for `idle`.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let last = self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let due = last + idle;
            if Instant::now() >= due {
                return;
            }
            tokio::time::sleep_until(due).await;
        }
    }
}

/// The socket, recording each read or write that moves bytes.
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        r
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A request body that fails when the next piece takes longer than the body-read timeout, so a
/// stalled upload gives its connection, and whatever it holds, back. Unlike a plain timeout
/// wrapper it keeps the announced length visible to the readers, which size their buffers and
/// refuse absurd lengths by it.
struct StallGuard {
    body: Incoming,
    timeout: Duration,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// The body-read timeout elapsed.
#[derive(Debug, thiserror::Error)]
#[error("no request body data for {0:?}")]
pub struct BodyStalled(Duration);

impl StallGuard {
    fn new(body: Incoming, timeout: Duration) -> Self {
        StallGuard { body, timeout, deadline: None }
    }
}

impl http_body::Body for StallGuard {
    type Data = bytes::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let timeout = this.timeout;
        // Armed when a piece is awaited, disarmed when it comes: only waiting counts.
        let deadline = this.deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyStalled(timeout)))));
        }
        let frame = std::task::ready!(Pin::new(&mut this.body).poll_frame(cx));
        this.deadline = None;
        Poll::Ready(frame.map(|r| r.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_14_the_client_limit_leaves_descriptors_for_the_admin_listener_and_the_rest() {
        // The common 1,024 soft limit: 1,000 client connections would leave the admin
        // listener, the database and the content store 24 descriptors.
        assert_eq!(fit_client_limit(1000, 64, Some(1024)), 1024 - 64 - RESERVED_DESCRIPTORS);
        assert_eq!(fit_client_limit(1000, 64, Some(65536)), 1000);
        assert_eq!(fit_client_limit(1000, 64, None), 1000);
        assert_eq!(fit_client_limit(1000, 64, Some(100)), 1);
        // This machine's limit is read (Linux always has /proc/self/limits).
        if cfg!(target_os = "linux") {
            assert!(descriptor_limit().is_some_and(|d| d > 0));
        }
    }
}
