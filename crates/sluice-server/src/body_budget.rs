//! One process-wide budget for the SOAP request bodies held in memory.
//!
//! Both SOAP edges (MS-WUSP client services, MS-WSUSSS for downstream servers) buffer a request
//! whole before decoding it. Per-request limits alone do not bound the process: a hundred
//! stalled 31 MB ServerSync POSTs once took it from 74 MB to 3.3 GB. Every buffered byte is
//! therefore counted against one budget, taken as the bytes arrive (so a client must really send
//! data to hold any of it) and given back when the buffered body is dropped. A request that
//! cannot get its share within a short wait is refused (`ServerBusy`): the client retries later,
//! as it does against a busy WSUS.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How much of a body beyond the service's limit is still read (and thrown away) before the
/// refusal goes out. Clients such as WinHTTP send the whole request before reading the answer:
/// closing on them mid-body resets the connection and they never see the fault. Discarded bytes
/// are never held, so they cost no budget.
pub const MAX_DISCARDED_BODY: usize = 64 * 1024 * 1024;

/// Default budget: far above what a busy server holds (a 10,000-machine fleet at 32 concurrent
/// scans buffers about 3 MB of requests), far below what hurts a small machine.
pub const DEFAULT_BUDGET_BYTES: usize = 128 * 1024 * 1024;

/// Default time a request waits for its share of an exhausted budget before `ServerBusy`.
pub const DEFAULT_BUDGET_WAIT: Duration = Duration::from_secs(2);

/// Why a body was not buffered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Longer than the service accepts (announced or actually sent).
    #[error("request too large (at most {limit} bytes)")]
    TooLarge { limit: usize },
    /// The connection failed or the body stalled past the body-read timeout.
    #[error("request interrupted")]
    Interrupted,
    /// Every byte of the budget is held by other requests: retry later.
    #[error("server busy: too many requests in progress")]
    Busy,
}

/// A byte budget shared by every body reader that is given it.
#[derive(Debug, Clone)]
pub struct BodyBudget {
    permits: Arc<Semaphore>,
    total: usize,
    wait: Duration,
}

impl BodyBudget {
    pub fn new(total: usize, wait: Duration) -> Self {
        // tokio's semaphore counts at most `MAX_PERMITS`; a budget that large is no budget.
        let total = total.clamp(1, Semaphore::MAX_PERMITS);
        BodyBudget { permits: Arc::new(Semaphore::new(total)), total, wait }
    }

    /// Bytes of the budget.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Bytes currently not held by any buffered body.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    async fn take(&self, n: usize, deadline: tokio::time::Instant) -> Result<OwnedSemaphorePermit, BodyError> {
        let n = u32::try_from(n).map_err(|_| BodyError::Busy)?;
        match tokio::time::timeout_at(deadline, self.permits.clone().acquire_many_owned(n)).await {
            Ok(Ok(p)) => Ok(p),
            // Closed never happens (the semaphore is never closed); treat it like exhaustion.
            Ok(Err(_)) | Err(_) => Err(BodyError::Busy),
        }
    }
}

static GLOBAL: OnceLock<BodyBudget> = OnceLock::new();

/// Allocations from this size up are always mapped afresh and unmapped when freed.
///
/// glibc raises its mapping threshold each time it frees a mapped block (up to 32 MiB), after
/// which large bodies are carved from its heaps, and freed ones stay resident: measured with 40
/// stalled 30 MB bodies, a 48 MiB budget let the process grow by 118 MiB and keep 95 MiB after
/// the connections closed. With the threshold fixed, growth stayed within the budget plus the
/// connections' own buffers (61–63 MiB) and fell back to 12 MiB once they closed. Requests and
/// responses below this size (nearly all: the largest captured request is 67 KB, a SyncUpdates
/// response 170 KB) are unaffected.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: usize = 512 * 1024;

fn return_large_buffers_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets allocator parameters; it takes no pointers. Called once
        // per process, when the first server starts.
        let ok = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as libc::c_int) };
        if ok != 1 {
            tracing::warn!("could not set the allocator's mapping threshold; freed request bodies may stay resident");
        }
    }
}

/// Sets the process-wide budget. The first call wins: servers started later in the same process
/// (tests start several) share the memory of the first, so they share its budget too. Returns
/// whether this call's values took effect.
pub fn init_global(total: usize, wait: Duration) -> bool {
    let mut set = false;
    let b = GLOBAL.get_or_init(|| {
        set = true;
        return_large_buffers_to_the_system();
        BodyBudget::new(total, wait)
    });
    if !set && (b.total != total.clamp(1, Semaphore::MAX_PERMITS) || b.wait != wait) {
        tracing::warn!(
            total = b.total,
            requested = total,
            "the request body budget is already set in this process; keeping it"
        );
    }
    set
}

/// The process-wide budget (the defaults if no server set one).
pub fn global() -> &'static BodyBudget {
    GLOBAL.get_or_init(|| BodyBudget::new(DEFAULT_BUDGET_BYTES, DEFAULT_BUDGET_WAIT))
}

/// A buffered body and its share of the budget, returned when the last `Bytes` view drops.
struct Held {
    buf: Vec<u8>,
    _share: Option<OwnedSemaphorePermit>,
}

/// Bodies from this size up make the heap give its free pages back once they are dropped.
const LARGE_BODY: usize = 1024 * 1024;

impl Drop for Held {
    fn drop(&mut self) {
        if self.buf.len() >= LARGE_BODY {
            release_free_heap_soon();
        }
    }
}

/// Hands the allocator's free heap pages back to the system shortly after a large request.
///
/// A large body is decoded into many small allocations (a 4 MB SyncUpdates holds 200,000 ids),
/// which glibc carves from its per-thread heaps; freed, they stay resident. Measured in the
/// hostile-input test, the process kept 75–190 MB more after the attacks ended, and 15–20 MB
/// once the free pages were released. Real clients' requests are far below [`LARGE_BODY`], so
/// this runs only after unusual ones, at most once per burst, on a blocking thread.
fn release_free_heap_soon() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::sync::atomic::{AtomicBool, Ordering};
        static PENDING: AtomicBool = AtomicBool::new(false);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        if PENDING.swap(true, Ordering::AcqRel) {
            return;
        }
        runtime.spawn(async {
            // Let the request that held the body finish freeing what it decoded.
            tokio::time::sleep(Duration::from_millis(100)).await;
            // Cleared first: a large body dropped during the trim schedules the next one.
            PENDING.store(false, Ordering::Release);
            // SAFETY: malloc_trim takes no pointers; it only returns free pages of the
            // allocator's own heaps to the system.
            let _ = tokio::task::spawn_blocking(|| unsafe { libc::malloc_trim(0) }).await;
        });
    }
}

impl AsRef<[u8]> for Held {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

/// Buffers `body`, at most `limit` bytes (and never more than the whole budget), counting what it
/// holds against `budget`. A body over the limit is read on (up to [`MAX_DISCARDED_BODY`] more,
/// without keeping it) so the refusal reaches a client that writes everything before reading;
/// one announced longer than that is refused before any of it is read. The budget share stays
/// with the returned bytes and is given back when they (and every clone) are dropped.
pub async fn read_bounded(body: Body, limit: usize, budget: &BodyBudget) -> Result<Bytes, BodyError> {
    use axum::body::HttpBody;
    use futures_util::StreamExt;

    let limit = limit.min(budget.total);
    let hint = body.size_hint();
    if hint.lower() > (limit + MAX_DISCARDED_BODY) as u64 {
        return Err(BodyError::TooLarge { limit });
    }
    let mut over = hint.lower() > limit as u64;
    // The announced length, when there is one, sizes the buffer once: no reallocation copies.
    // Pages are only touched (and only count in memory) as bytes arrive.
    let mut buf = match hint.exact() {
        Some(n) if !over => Vec::with_capacity(n as usize),
        _ => Vec::new(),
    };
    let mut share: Option<OwnedSemaphorePermit> = None;
    // One deadline for all of this request's waits: a reader that got part of the budget and
    // waits for more cannot hold it for longer than that.
    let deadline = tokio::time::Instant::now() + budget.wait;
    let mut total: usize = 0;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| BodyError::Interrupted)?;
        total = total.saturating_add(chunk.len());
        if total > limit + MAX_DISCARDED_BODY {
            return Err(BodyError::TooLarge { limit });
        }
        if total > limit {
            if !over {
                over = true;
                // Give the memory and the budget back now, not when the draining ends.
                buf = Vec::new();
                share = None;
            }
            continue;
        }
        if over || chunk.is_empty() {
            continue;
        }
        let more = budget.take(chunk.len(), deadline).await?;
        match share.as_mut() {
            Some(s) => s.merge(more),
            None => share = Some(more),
        }
        buf.extend_from_slice(&chunk);
    }
    if over {
        return Err(BodyError::TooLarge { limit });
    }
    if buf.is_empty() {
        return Ok(Bytes::new());
    }
    // A chunked body may have grown the buffer past its length; keep only what is used, which is
    // what the budget counts.
    buf.shrink_to_fit();
    Ok(Bytes::from_owner(Held { buf, _share: share }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(parts: &[&'static [u8]]) -> Body {
        let parts: Vec<Result<Bytes, std::io::Error>> = parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        Body::from_stream(futures_util::stream::iter(parts))
    }

    #[tokio::test]
    async fn the_share_is_held_until_the_bytes_are_dropped() {
        let budget = BodyBudget::new(100, Duration::from_millis(50));
        let b = read_bounded(body(&[b"0123456789", b"abcdefghij"]), 50, &budget).await.unwrap();
        assert_eq!(&b[..], b"0123456789abcdefghij");
        assert_eq!(budget.available(), 80);
        let view = b.slice(3..5);
        drop(b);
        assert_eq!(budget.available(), 80, "a remaining view still holds the body");
        drop(view);
        assert_eq!(budget.available(), 100);
    }

    #[tokio::test]
    async fn an_exhausted_budget_answers_busy_and_gives_partial_shares_back() {
        let budget = BodyBudget::new(30, Duration::from_millis(50));
        let first = read_bounded(body(&[b"01234567890123456789"]), 30, &budget).await.unwrap();
        let second = read_bounded(body(&[b"0123456789", b"0123456789"]), 30, &budget).await;
        assert_eq!(second, Err(BodyError::Busy));
        assert_eq!(budget.available(), 10, "the refused reader kept nothing");
        drop(first);
        assert_eq!(budget.available(), 30);
    }

    #[tokio::test]
    async fn over_the_limit_is_refused_and_holds_nothing() {
        let budget = BodyBudget::new(1000, Duration::from_millis(50));
        let r = read_bounded(body(&[b"0123456789", b"0123456789"]), 15, &budget).await;
        assert_eq!(r, Err(BodyError::TooLarge { limit: 15 }));
        assert_eq!(budget.available(), 1000);
        // The limit never exceeds the whole budget (such a body could never be admitted).
        let small = BodyBudget::new(5, Duration::from_millis(50));
        let r = read_bounded(body(&[b"0123456789"]), 100, &small).await;
        assert_eq!(r, Err(BodyError::TooLarge { limit: 5 }));
    }

    #[tokio::test]
    async fn an_absurd_announced_length_is_refused_unread() {
        let budget = BodyBudget::new(1000, Duration::from_millis(50));
        let r = read_bounded(Body::new(Announced(u64::MAX / 4)), 10, &budget).await;
        assert_eq!(r, Err(BodyError::TooLarge { limit: 10 }));
    }

    /// A body that announces a length and never sends anything (polling it would hang).
    struct Announced(u64);
    impl http_body::Body for Announced {
        type Data = Bytes;
        type Error = std::io::Error;
        fn poll_frame(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
            std::task::Poll::Pending
        }
        fn size_hint(&self) -> http_body::SizeHint {
            http_body::SizeHint::with_exact(self.0)
        }
    }
}
