//! The content router over real HTTP on loopback.
//!
//! The large-file test stores a 100 MiB + 272 848 byte file (the last piece has the same
//! length as the last piece of the real 204 745 168 byte file in the native capture)
//! through `put_verified` and downloads it the ways Windows, proxies and our own sync
//! client do. The bytes are a pure function of their offset, so every slice can be
//! checked without keeping the file in memory.

use std::sync::Arc;

use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use sha1::{Digest, Sha1};
use sha2::Sha256;
use sluice_content::{ContentStore, ExpectedFile, StoredFile};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

const MIB: u64 = 1024 * 1024;
const BIG_LEN: u64 = 100 * MIB + 272_848;

// ---------------------------------------------------------------- deterministic data

/// Eight bytes of block `i`: splitmix64 of the index, so any offset can be regenerated.
fn block(seed: u64, i: u64) -> [u8; 8] {
    let mut z = (seed ^ i).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)).to_le_bytes()
}

/// Bytes `[start, start + len)` of the generated file.
fn slice(seed: u64, start: u64, len: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len as usize + 16);
    let first = start / 8;
    let last = (start + len).div_ceil(8);
    for i in first..last {
        out.extend_from_slice(&block(seed, i));
    }
    let skip = (start - first * 8) as usize;
    out.drain(..skip);
    out.truncate(len as usize);
    out
}

/// The generated file as an `AsyncRead`, so `put_verified` streams it.
struct Generated {
    seed: u64,
    pos: u64,
    len: u64,
}

impl AsyncRead for Generated {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let n = (self.len - self.pos)
            .min(buf.remaining() as u64)
            .min(256 * 1024);
        if n > 0 {
            buf.put_slice(&slice(self.seed, self.pos, n));
            self.pos += n;
        }
        std::task::Poll::Ready(Ok(()))
    }
}

struct Digests {
    sha1: [u8; 20],
    sha256: [u8; 32],
}

/// Digests of the generated file, computed here and not by the code under test.
fn digests(seed: u64, len: u64) -> Digests {
    let (mut s1, mut s256) = (Sha1::new(), Sha256::new());
    let mut pos = 0;
    while pos < len {
        let n = (len - pos).min(4 * MIB);
        let chunk = slice(seed, pos, n);
        s1.update(&chunk);
        s256.update(&chunk);
        pos += n;
    }
    Digests {
        sha1: s1.finalize().into(),
        sha256: s256.finalize().into(),
    }
}

// ---------------------------------------------------------------- server fixture

struct Fixture {
    _dir: tempfile::TempDir,
    base: String,
    addr: std::net::SocketAddr,
    client: reqwest::Client,
    _served: sluice_testkit::http::Served,
}

async fn start(store: Arc<ContentStore>, dir: tempfile::TempDir) -> Fixture {
    let served = sluice_testkit::http::serve(sluice_server::content_http::router(store)).await;
    Fixture {
        _dir: dir,
        base: served.url(),
        addr: served.addr,
        client: reqwest::Client::builder().no_proxy().build().unwrap(),
        _served: served,
    }
}

async fn store_generated(
    store: &ContentStore,
    seed: u64,
    len: u64,
    name: &str,
) -> (StoredFile, Digests) {
    let d = tokio::task::spawn_blocking(move || digests(seed, len))
        .await
        .unwrap();
    let expected = ExpectedFile {
        sha1: d.sha1,
        sha256: Some(d.sha256),
        size: Some(len),
        file_name: name.to_owned(),
    };
    let stored = store
        .put_verified(Generated { seed, pos: 0, len }, &expected)
        .await
        .unwrap();
    (stored, d)
}

async fn new_store() -> (tempfile::TempDir, Arc<ContentStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path().join("content"))
        .await
        .unwrap();
    (dir, Arc::new(store))
}

fn h<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("missing header {name}"))
        .to_str()
        .unwrap()
}

/// Headers every 200/206 carries; ETag and Last-Modified are the file's.
fn assert_common(headers: &HeaderMap, etag: &str, last_modified: &str) {
    assert_eq!(h(headers, "accept-ranges"), "bytes");
    assert_eq!(h(headers, "etag"), etag);
    assert_eq!(h(headers, "last-modified"), last_modified);
    assert!(
        headers.get("content-encoding").is_none(),
        "content must never be compressed"
    );
    assert!(
        headers.get("transfer-encoding").is_none(),
        "Content-Length, not chunked"
    );
}

// ---------------------------------------------------------------- the 100 MB file

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_file_over_loopback() {
    const SEED: u64 = 0x5EED_0001;
    let (dir, store) = new_store().await;
    let (stored, want) = store_generated(&store, SEED, BIG_LEN, "windows-kb890830-x64.exe").await;
    let fx = start(store, dir).await;
    let url = format!("{}/{}", fx.base, stored.url_path);

    // HEAD: the full length, the validators, no body.
    let resp = fx.client.head(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let headers = resp.headers().clone();
    assert_eq!(h(&headers, "content-length"), BIG_LEN.to_string());
    assert_eq!(h(&headers, "content-type"), "application/octet-stream");
    let etag = h(&headers, "etag").to_owned();
    let last_modified = h(&headers, "last-modified").to_owned();
    assert_eq!(etag, format!("\"{}\"", hex::encode_upper(want.sha1)));
    assert_common(&headers, &etag, &last_modified);
    assert!(resp.bytes().await.unwrap().is_empty());

    // HEAD ignores Range (RFC 9110 §14.2) and still describes the whole file.
    let resp = fx
        .client
        .head(&url)
        .header("range", "bytes=0-9")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(h(resp.headers(), "content-length"), BIG_LEN.to_string());

    whole_get(&fx, &url, &want, &etag, &last_modified).await;
    delivery_optimization_pieces(&fx, &url, SEED, &etag, &last_modified).await;
    open_and_suffix_ranges(&fx, &url, SEED).await;
    multi_range(&fx, &url, SEED, &etag).await;
    if_range(&fx, &url, SEED, &etag, &last_modified).await;

    // Unsatisfiable: starts at the length.
    let resp = fx
        .client
        .get(&url)
        .header("range", format!("bytes={BIG_LEN}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        h(resp.headers(), "content-range"),
        format!("bytes */{BIG_LEN}")
    );
    assert!(resp.bytes().await.unwrap().is_empty());
}

/// Plain GET: 200, and the streamed body hashes to the expected digests.
async fn whole_get(fx: &Fixture, url: &str, want: &Digests, etag: &str, last_modified: &str) {
    let resp = fx.client.get(url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(h(resp.headers(), "content-length"), BIG_LEN.to_string());
    assert_eq!(
        h(resp.headers(), "content-type"),
        "application/octet-stream"
    );
    assert!(resp.headers().get("content-range").is_none());
    assert_common(resp.headers(), etag, last_modified);
    let (mut s1, mut s256, mut n) = (Sha1::new(), Sha256::new(), 0u64);
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        s1.update(&chunk);
        s256.update(&chunk);
        n += chunk.len() as u64;
    }
    assert_eq!(n, BIG_LEN);
    assert_eq!(<[u8; 20]>::from(s1.finalize()), want.sha1);
    assert_eq!(<[u8; 32]>::from(s256.finalize()), want.sha256);
}

/// Every 1 MiB piece, in shuffled order, five at a time over separate connections, like
/// Delivery Optimization; the last piece is the short one ending at size - 1.
async fn delivery_optimization_pieces(
    fx: &Fixture,
    url: &str,
    seed: u64,
    etag: &str,
    last_modified: &str,
) {
    let pieces = BIG_LEN.div_ceil(MIB);
    assert_eq!(pieces, 101);
    // A fixed permutation (37 is coprime to 101), so the order is shuffled but repeatable.
    let order: Vec<u64> = (0..pieces).map(|i| (i * 37 + 11) % pieces).collect();
    let results = futures_util::stream::iter(order)
        .map(|piece| {
            let client = fx.client.clone();
            let url = url.to_owned();
            async move {
                let start = piece * MIB;
                let end = (start + MIB).min(BIG_LEN) - 1;
                let resp = client
                    .get(&url)
                    .header("range", format!("bytes={start}-{end}"))
                    .header("user-agent", "Microsoft-Delivery-Optimization/10.1")
                    .send()
                    .await
                    .unwrap();
                let status = resp.status();
                let headers = resp.headers().clone();
                let body = resp.bytes().await.unwrap();
                (start, end, status, headers, body)
            }
        })
        .buffer_unordered(5)
        .collect::<Vec<_>>()
        .await;
    assert_eq!(results.len() as u64, pieces);
    for (start, end, status, headers, body) in results {
        assert_eq!(status, StatusCode::PARTIAL_CONTENT, "piece at {start}");
        assert_eq!(
            h(&headers, "content-range"),
            format!("bytes {start}-{end}/{BIG_LEN}")
        );
        assert_eq!(h(&headers, "content-length"), (end - start + 1).to_string());
        assert_eq!(h(&headers, "content-type"), "application/octet-stream");
        assert_common(&headers, etag, last_modified);
        assert!(
            body.as_ref() == slice(seed, start, end - start + 1),
            "bytes of piece at {start}"
        );
        if end == BIG_LEN - 1 {
            assert_eq!(body.len(), 272_848, "the short last piece");
        }
    }
}

/// `N-` (our own sync client's resume) and `-N`.
async fn open_and_suffix_ranges(fx: &Fixture, url: &str, seed: u64) {
    let from = BIG_LEN - 5000;
    let resp = fx
        .client
        .get(url)
        .header("range", format!("bytes={from}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        h(resp.headers(), "content-range"),
        format!("bytes {from}-{}/{BIG_LEN}", BIG_LEN - 1)
    );
    assert!(resp.bytes().await.unwrap().as_ref() == slice(seed, from, 5000));

    let resp = fx
        .client
        .get(url)
        .header("range", "bytes=-1234")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        h(resp.headers(), "content-range"),
        format!("bytes {}-{}/{BIG_LEN}", BIG_LEN - 1234, BIG_LEN - 1)
    );
    assert!(resp.bytes().await.unwrap().as_ref() == slice(seed, BIG_LEN - 1234, 1234));

    // An over-long end is clamped to the last byte.
    let start = BIG_LEN - 10;
    let resp = fx
        .client
        .get(url)
        .header("range", format!("bytes={start}-{}", BIG_LEN + 1_000_000))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        h(resp.headers(), "content-range"),
        format!("bytes {start}-{}/{BIG_LEN}", BIG_LEN - 1)
    );
    assert_eq!(resp.bytes().await.unwrap().len(), 10);
}

/// One part of a multipart/byteranges body.
struct Part {
    content_type: String,
    start: u64,
    end: u64,
    total: u64,
    data: Vec<u8>,
}

/// Strict multipart/byteranges parser: delimiters, headers and lengths must be exact.
fn parse_multipart(body: &[u8], boundary: &str) -> Vec<Part> {
    let delimiter = format!("--{boundary}");
    let mut rest = body
        .strip_prefix(delimiter.as_bytes())
        .expect("body starts with a delimiter");
    let mut parts = Vec::new();
    loop {
        if let Some(after) = rest.strip_prefix(b"--\r\n") {
            assert!(after.is_empty(), "nothing after the close delimiter");
            return parts;
        }
        rest = rest.strip_prefix(b"\r\n").expect("CRLF after delimiter");
        let head_end = rest
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("end of part headers");
        let head = std::str::from_utf8(&rest[..head_end]).unwrap();
        rest = &rest[head_end + 4..];
        let mut content_type = None;
        let mut content_range = None;
        for line in head.split("\r\n") {
            let (name, value) = line.split_once(": ").expect("header line");
            match name.to_ascii_lowercase().as_str() {
                "content-type" => content_type = Some(value.to_owned()),
                "content-range" => content_range = Some(value.to_owned()),
                other => panic!("unexpected part header {other}"),
            }
        }
        let cr = content_range.expect("part has Content-Range");
        let (span, total) = cr.strip_prefix("bytes ").unwrap().split_once('/').unwrap();
        let (a, b) = span.split_once('-').unwrap();
        let (start, end, total): (u64, u64, u64) = (
            a.parse().unwrap(),
            b.parse().unwrap(),
            total.parse().unwrap(),
        );
        let n = (end - start + 1) as usize;
        parts.push(Part {
            content_type: content_type.expect("part has Content-Type"),
            start,
            end,
            total,
            data: rest[..n].to_vec(),
        });
        rest = rest[n..]
            .strip_prefix(b"\r\n")
            .expect("CRLF before next delimiter");
        rest = rest
            .strip_prefix(delimiter.as_bytes())
            .expect("delimiter after part data");
    }
}

async fn multi_range(fx: &Fixture, url: &str, seed: u64, etag: &str) {
    // Deliberately not ascending: nothing overlaps, so the request order must be kept.
    let asked = [
        (0, 99),
        (50 * MIB, 51 * MIB - 1),
        (BIG_LEN - 1000, BIG_LEN - 1),
        (MIB, MIB),
    ];
    let header = "bytes=0-99, 52428800-53477375,-1000,1048576-1048576";
    let resp = fx
        .client
        .get(url)
        .header("range", header)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    let headers = resp.headers().clone();
    assert_eq!(h(&headers, "etag"), etag);
    assert!(
        headers.get("content-range").is_none(),
        "multipart has ranges per part only"
    );
    let ct = h(&headers, "content-type").to_owned();
    let boundary = ct
        .strip_prefix("multipart/byteranges; boundary=")
        .unwrap_or_else(|| panic!("content-type {ct}"));
    let declared: usize = h(&headers, "content-length").parse().unwrap();
    let body = resp.bytes().await.unwrap();
    assert_eq!(body.len(), declared);
    let parts = parse_multipart(&body, boundary);
    assert_eq!(parts.len(), asked.len());
    for (part, (start, end)) in parts.iter().zip(asked) {
        assert_eq!((part.start, part.end, part.total), (start, end, BIG_LEN));
        assert_eq!(part.content_type, "application/octet-stream");
        assert!(
            part.data == slice(seed, start, end - start + 1),
            "bytes of part at {start}"
        );
    }

    // Overlapping ranges are merged: one plain 206 for their union.
    let resp = fx
        .client
        .get(url)
        .header("range", "bytes=100-199,150-299,0-0,1-99")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        h(resp.headers(), "content-range"),
        format!("bytes 0-299/{BIG_LEN}")
    );
    assert!(resp.bytes().await.unwrap().as_ref() == slice(seed, 0, 300));
}

async fn if_range(fx: &Fixture, url: &str, seed: u64, etag: &str, last_modified: &str) {
    let piece = |validator: String| {
        fx.client
            .get(url)
            .header("range", format!("bytes={}-{}", 7 * MIB, 8 * MIB - 1))
            .header("if-range", validator)
            .send()
    };
    // Still the same file: the range is served.
    for validator in [etag.to_owned(), last_modified.to_owned()] {
        let resp = piece(validator.clone()).await.unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::PARTIAL_CONTENT,
            "If-Range {validator}"
        );
        assert!(resp.bytes().await.unwrap().as_ref() == slice(seed, 7 * MIB, MIB));
    }
    // Stale validators: the whole file instead, starting at byte 0.
    for validator in [
        "\"0000000000000000000000000000000000000000\"".to_owned(),
        format!("W/{etag}"),
        "Thu, 01 Jan 1970 00:00:00 GMT".to_owned(),
    ] {
        let resp = piece(validator.clone()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "If-Range {validator}");
        assert_eq!(h(resp.headers(), "content-length"), BIG_LEN.to_string());
        assert!(resp.headers().get("content-range").is_none());
        let mut body = resp.bytes_stream();
        let first = body.next().await.unwrap().unwrap();
        assert!(!first.is_empty());
        assert!(
            first.as_ref() == slice(seed, 0, first.len() as u64),
            "full body starts at 0"
        );
        // Dropping the rest of the body closes that connection; that's fine.
    }
}

// ---------------------------------------------------------------- small files

async fn small_fixture(len: u64, name: &str) -> (Fixture, StoredFile, u64) {
    let seed = 0xABCD ^ len;
    let (dir, store) = new_store().await;
    let (stored, _) = store_generated(&store, seed, len, name).await;
    (start(store, dir).await, stored, seed)
}

#[tokio::test]
async fn path_is_case_insensitive() {
    let (fx, stored, seed) = small_fixture(10_000, "Update.EXE").await;
    assert!(
        stored.url_path.ends_with(".EXE"),
        "URL keeps the metadata's extension case"
    );
    let rest = stored.url_path.strip_prefix("Content/").unwrap();
    let variants = [
        format!("Content/{rest}"),
        format!("content/{}", rest.to_lowercase()),
        format!("CONTENT/{}", rest.to_uppercase()),
        format!("cOnTeNt/{}", rest.to_lowercase().replace(".exe", ".Exe")),
    ];
    for path in variants {
        let resp = fx
            .client
            .get(format!("{}/{path}", fx.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert!(
            resp.bytes().await.unwrap().as_ref() == slice(seed, 0, 10_000),
            "{path}"
        );
    }
}

#[tokio::test]
async fn unknown_and_malformed_paths_are_404() {
    let (fx, stored, _) = small_fixture(1000, "a.exe").await;
    let rest = stored.url_path.strip_prefix("Content/").unwrap();
    let (shard, file) = rest.split_once('/').unwrap();
    let wrong_shard = if shard == "00" { "01" } else { "00" };
    let other_digest = format!("{}{}", "0".repeat(38), shard);
    for path in [
        format!("/Content/{shard}/{other_digest}.exe"), // not stored
        format!("/Content/{wrong_shard}/{file}"),       // right file, wrong folder
        format!("/Content/{shard}/{}", file.replace(".exe", ".cab")), // other extension
        format!("/Content/{shard}/{}", file.replace(".exe", "")), // no extension
        format!("/Content/{shard}"),
        format!("/Content/{shard}/{file}/x"),
        "/Content/xx/yy.exe".to_owned(),
        format!("/Content/{shard}/{}", &file[1..]),
        format!("/Content/{shard}/.partial"),
    ] {
        let resp = fx
            .client
            .get(format!("{}{path}", fx.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn other_methods_are_405() {
    let (fx, stored, _) = small_fixture(1000, "a.exe").await;
    let url = format!("{}/{}", fx.base, stored.url_path);
    for method in [
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let resp = fx
            .client
            .request(method.clone(), &url)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
        let allow = h(resp.headers(), "allow").to_owned();
        assert!(
            allow.contains("GET") && allow.contains("HEAD"),
            "Allow: {allow}"
        );
    }
}

/// Reads one HTTP/1.1 response with a Content-Length body from a raw connection.
async fn read_response(conn: &mut TcpStream) -> (String, Vec<(String, String)>, Vec<u8>) {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let mut chunk = [0u8; 4096];
        let n = conn.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed before the response head");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().to_owned();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map(|(_, v)| v.parse().unwrap())
        .expect("Content-Length");
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let mut chunk = vec![0u8; 64 * 1024];
        let n = conn.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed mid-body");
        body.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(body.len(), len, "no bytes beyond Content-Length");
    (status, headers, body)
}

/// Replays the native client's request bytes (shared/fixtures/wsus-rs, content-headers,
/// real Delivery Optimization requests: `Content-Length: 0` on a GET, keep-alive) twice
/// on one connection and checks the answer has the header set the real IIS sent.
#[tokio::test]
async fn delivery_optimization_request_replay() {
    let len = 2 * MIB + 4321;
    let (fx, stored, seed) = small_fixture(len, "windows-kb890830-x64-v5.137.exe").await;
    let mut conn = TcpStream::connect(fx.addr).await.unwrap();
    for (start, end) in [(MIB, 2 * MIB - 1), (2 * MIB, len - 1)] {
        let request = format!(
            "GET /{} HTTP/1.1\r\nConnection: Keep-Alive\r\nAccept: */*\r\nRange: bytes={start}-{end}\r\n\
             User-Agent: Microsoft-Delivery-Optimization/10.1\r\nMS-CV: e8u3dmxOhkGW0Ilt.2.0.0.8.1.1.3.1.1.130\r\n\
             Content-Length: 0\r\nHost: {}\r\n\r\n",
            stored.url_path, fx.addr
        );
        conn.write_all(request.as_bytes()).await.unwrap();
        let (status, headers, body) = read_response(&mut conn).await;
        assert_eq!(status, "HTTP/1.1 206 Partial Content");
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .unwrap_or_else(|| panic!("missing {name}"))
        };
        // The headers the real IIS answered with (minus Server/X-Powered-By).
        assert_eq!(get("content-type"), "application/octet-stream");
        assert_eq!(get("accept-ranges"), "bytes");
        assert_eq!(get("content-range"), format!("bytes {start}-{end}/{len}"));
        assert_eq!(get("content-length"), (end - start + 1).to_string());
        assert!(get("etag").starts_with('"'));
        assert!(get("last-modified").ends_with(" GMT"));
        assert!(get("date").ends_with(" GMT"));
        assert!(headers.iter().all(|(n, _)| n != "connection" || !get("connection").eq_ignore_ascii_case("close")));
        assert!(body == slice(seed, start, end - start + 1));
    }
}

#[tokio::test]
async fn conditional_requests() {
    let (fx, stored, _) = small_fixture(5000, "a.cab").await;
    let url = format!("{}/{}", fx.base, stored.url_path);
    let head = fx.client.head(&url).send().await.unwrap();
    let etag = h(head.headers(), "etag").to_owned();
    let lm = h(head.headers(), "last-modified").to_owned();

    let resp = fx
        .client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(h(resp.headers(), "etag"), etag);
    assert!(resp.bytes().await.unwrap().is_empty());

    let resp = fx
        .client
        .get(&url)
        .header("if-modified-since", &lm)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);

    let resp = fx
        .client
        .get(&url)
        .header("if-none-match", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.bytes().await.unwrap().len(), 5000);

    let resp = fx
        .client
        .get(&url)
        .header("if-match", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PRECONDITION_FAILED);

    let resp = fx
        .client
        .get(&url)
        .header("if-match", &etag)
        .header("range", "bytes=0-9")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
}

#[tokio::test]
async fn ignored_range_headers_give_full_200() {
    let (fx, stored, seed) = small_fixture(3000, "a.exe").await;
    let url = format!("{}/{}", fx.base, stored.url_path);
    let too_many = format!("bytes={}", vec!["0-0"; 65].join(","));
    for range in ["bytes=5-1", "items=0-1", "bytes=abc", too_many.as_str()] {
        let resp = fx
            .client
            .get(&url)
            .header("range", range)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{range}");
        assert!(
            resp.bytes().await.unwrap().as_ref() == slice(seed, 0, 3000),
            "{range}"
        );
    }
    // Two Range headers are not a valid request for ranges: ignored too.
    let resp = fx
        .client
        .get(&url)
        .header("range", "bytes=0-1")
        .header("range", "bytes=2-3")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn empty_file() {
    let (fx, stored, _) = small_fixture(0, "empty.txt").await;
    let url = format!("{}/{}", fx.base, stored.url_path);
    let resp = fx.client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(h(resp.headers(), "content-length"), "0");
    assert!(resp.bytes().await.unwrap().is_empty());
    let resp = fx
        .client
        .get(&url)
        .header("range", "bytes=0-")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(h(resp.headers(), "content-range"), "bytes */0");
}
