//! Behaviour of the on-disk store: verification, atomicity, cleanup, resumable partials.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha1::{Digest, Sha1};
use sha2::Sha256;
use sluice_content::{ContentError, ContentKey, ContentStore, ExpectedFile, parse_content_path};
use tokio::io::{AsyncRead, ReadBuf};

/// Deterministic pseudo-random bytes (splitmix64), so tests don't need fixture files.
fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    let mut x = seed;
    while out.len() < len {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn expected_for(bytes: &[u8], name: &str) -> ExpectedFile {
    ExpectedFile {
        sha1: Sha1::digest(bytes).into(),
        sha256: Some(Sha256::digest(bytes).into()),
        size: Some(bytes.len() as u64),
        file_name: name.to_owned(),
    }
}

async fn store() -> (tempfile::TempDir, ContentStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path().join("content"))
        .await
        .unwrap();
    (dir, store)
}

fn partial_entries(store: &ContentStore) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(store.root().join(".partial"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every regular file under the root outside `.partial/`.
fn published_files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for shard in std::fs::read_dir(root).unwrap() {
        let shard = shard.unwrap();
        if shard.file_name() == ".partial" || !shard.file_type().unwrap().is_dir() {
            continue;
        }
        for f in std::fs::read_dir(shard.path()).unwrap() {
            out.push(
                f.unwrap()
                    .path()
                    .strip_prefix(root)
                    .unwrap()
                    .display()
                    .to_string(),
            );
        }
    }
    out
}

/// Serves `data` in small reads, then fails with an I/O error if `fail` is set.
struct Source {
    data: Vec<u8>,
    pos: usize,
    fail_at_end: bool,
}

impl AsyncRead for Source {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.pos == self.data.len() {
            if self.fail_at_end {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "peer went away",
                )));
            }
            return Poll::Ready(Ok(()));
        }
        let n = buf.remaining().min(self.data.len() - self.pos).min(10_007);
        let start = self.pos;
        buf.put_slice(&self.data[start..start + n]);
        self.pos += n;
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn put_then_lookup_round_trips() {
    let (_dir, store) = store().await;
    let bytes = data(3 * 1024 * 1024 + 17, 1);
    let exp = expected_for(&bytes, "Windows10.0-KB5000000-x64.MSU");
    let stored = store.put_verified(&bytes[..], &exp).await.unwrap();

    let hex = sluice_content::sha1_hex(&exp.sha1);
    let shard = &hex[38..];
    assert_eq!(stored.url_path, format!("Content/{shard}/{hex}.MSU"));
    assert_eq!(
        stored.path,
        store.root().join(shard).join(format!("{hex}.msu"))
    );
    assert_eq!(stored.size, bytes.len() as u64);
    assert_eq!(Some(stored.sha256), exp.sha256);
    assert_eq!(std::fs::read(&stored.path).unwrap(), bytes);
    assert!(partial_entries(&store).is_empty());

    // Found again through the case-insensitive URL parser, as the HTTP layer does it.
    let key = parse_content_path(&format!(
        "{}/{}.msu",
        shard.to_lowercase(),
        hex.to_lowercase()
    ))
    .unwrap();
    assert!(store.exists(&key).await.unwrap());
    let file = store.lookup(&key).await.unwrap().unwrap();
    assert_eq!(file.len, bytes.len() as u64);
    assert_eq!(file.validators().etag(), format!("\"{hex}\""));

    // Same digest, other extension: a different file, not found.
    let other = ContentKey::new(exp.sha1, "cab").unwrap();
    assert!(store.lookup(&other).await.unwrap().is_none());
}

#[tokio::test]
async fn put_file_verified_copies_from_path() {
    let (dir, store) = store().await;
    let bytes = data(100_000, 2);
    let src = dir.path().join("download.bin");
    std::fs::write(&src, &bytes).unwrap();
    let exp = expected_for(&bytes, "a.cab");
    let stored = store.put_file_verified(&src, &exp).await.unwrap();
    assert_eq!(std::fs::read(stored.path).unwrap(), bytes);
    assert!(src.exists(), "the source stays");
}

async fn assert_rejected(exp: ExpectedFile, bytes: &[u8], want: fn(&ContentError) -> bool) {
    let (_dir, store) = store().await;
    let err = store.put_verified(bytes, &exp).await.unwrap_err();
    assert!(want(&err), "unexpected error {err:?}");
    assert!(err.is_verification_failure());
    assert!(
        published_files(store.root()).is_empty(),
        "nothing may be published"
    );
    assert!(partial_entries(&store).is_empty(), "temp file must be gone");
    let key = ContentKey::for_file(exp.sha1, &exp.file_name).unwrap();
    assert!(!store.exists(&key).await.unwrap());
}

#[tokio::test]
async fn sha256_mismatch_publishes_nothing() {
    let bytes = data(500_000, 3);
    let mut exp = expected_for(&bytes, "x.exe");
    exp.sha256 = Some(Sha256::digest(b"something else").into());
    assert_rejected(exp, &bytes, |e| {
        matches!(e, ContentError::Sha256Mismatch { .. })
    })
    .await;
}

#[tokio::test]
async fn sha1_mismatch_publishes_nothing() {
    let bytes = data(500_000, 4);
    let mut exp = expected_for(&bytes, "x.exe");
    exp.sha1 = Sha1::digest(b"something else").into();
    assert_rejected(exp, &bytes, |e| {
        matches!(e, ContentError::Sha1Mismatch { .. })
    })
    .await;
}

#[tokio::test]
async fn short_data_publishes_nothing() {
    let bytes = data(500_000, 5);
    let mut exp = expected_for(&bytes, "x.exe");
    exp.size = Some(500_001);
    assert_rejected(exp, &bytes, |e| {
        matches!(
            e,
            ContentError::SizeMismatch {
                expected: 500_001,
                actual: 500_000
            }
        )
    })
    .await;
}

#[tokio::test]
async fn oversized_stream_is_cut_off_early() {
    // 32 MiB offered for a 1 MB file: the store must stop reading well before the end.
    let bytes = data(32 * 1024 * 1024, 6);
    let mut exp = expected_for(&bytes[..1_000_000], "x.exe");
    exp.size = Some(1_000_000);
    let (_dir, store) = store().await;
    let err = store.put_verified(&bytes[..], &exp).await.unwrap_err();
    match err {
        ContentError::SizeMismatch { expected, actual } => {
            assert_eq!(expected, 1_000_000);
            assert!(
                actual > 1_000_000 && actual < 2_000_000,
                "read {actual} bytes"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(published_files(store.root()).is_empty());
    assert!(partial_entries(&store).is_empty());
}

#[tokio::test]
async fn size_unknown_and_sha256_unknown_still_checks_sha1() {
    let (_dir, store) = store().await;
    let bytes = data(70_000, 7);
    let mut exp = expected_for(&bytes, "x.exe");
    exp.size = None;
    exp.sha256 = None;
    store.put_verified(&bytes[..], &exp).await.unwrap();
    let mut bad = exp.clone();
    bad.sha1[0] ^= 1;
    assert!(matches!(
        store.put_verified(&bytes[..], &bad).await,
        Err(ContentError::Sha1Mismatch { .. })
    ));
    assert_eq!(published_files(store.root()).len(), 1);
}

#[tokio::test]
async fn source_error_publishes_nothing() {
    let (_dir, store) = store().await;
    let bytes = data(400_000, 8);
    let exp = expected_for(&bytes, "x.exe");
    let src = Source {
        data: bytes,
        pos: 0,
        fail_at_end: true,
    };
    let err = store.put_verified(src, &exp).await.unwrap_err();
    assert!(matches!(err, ContentError::Source(_)), "{err:?}");
    assert!(published_files(store.root()).is_empty());
    assert!(partial_entries(&store).is_empty());
}

#[tokio::test]
async fn invalid_file_name_is_refused_before_writing() {
    let (_dir, store) = store().await;
    let bytes = data(10, 9);
    let exp = expected_for(&bytes, "x.e x");
    assert!(matches!(
        store.put_verified(&bytes[..], &exp).await,
        Err(ContentError::InvalidFileName(_))
    ));
    assert!(partial_entries(&store).is_empty());
}

/// Yields some bytes, then reports how far it got and never completes.
struct Stalling {
    sent: bool,
    tx: Option<tokio::sync::oneshot::Sender<()>>,
}

impl AsyncRead for Stalling {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.sent {
            self.sent = true;
            buf.put_slice(&[7u8; 1000]);
            return Poll::Ready(Ok(()));
        }
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(());
        }
        Poll::Pending
    }
}

#[tokio::test]
async fn cancelled_put_leaves_no_temp_file() {
    let (_dir, store) = store().await;
    let store = Arc::new(store);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let exp = expected_for(&[7u8; 5000], "x.exe");
    let task = tokio::spawn({
        let store = Arc::clone(&store);
        async move {
            store
                .put_verified(
                    Stalling {
                        sent: false,
                        tx: Some(tx),
                    },
                    &exp,
                )
                .await
        }
    });
    rx.await.unwrap();
    assert_eq!(partial_entries(&store).len(), 1, "the put is in flight");
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(partial_entries(&store).is_empty());
    assert!(published_files(store.root()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_puts_of_one_file_are_safe() {
    let (_dir, store) = store().await;
    let store = Arc::new(store);
    let bytes = Arc::new(data(2 * 1024 * 1024 + 3, 10));
    let good = expected_for(&bytes, "f.cab");
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (store, bytes, good) = (Arc::clone(&store), Arc::clone(&bytes), good.clone());
        tasks.push(tokio::spawn(async move {
            // Every other writer delivers corrupted bytes under the same digest.
            let mut payload = bytes.to_vec();
            if i % 2 == 1 {
                payload[i * 1000] ^= 0xFF;
            }
            (i, store.put_verified(&payload[..], &good).await)
        }));
    }
    for t in tasks {
        let (i, result) = t.await.unwrap();
        if i % 2 == 0 {
            result.unwrap();
        } else {
            assert!(
                matches!(result, Err(ContentError::Sha1Mismatch { .. })),
                "writer {i}"
            );
        }
    }
    let key = ContentKey::for_file(good.sha1, "f.cab").unwrap();
    assert_eq!(std::fs::read(store.path_of(&key).expect("a local store")).unwrap(), *bytes);
    assert_eq!(published_files(store.root()).len(), 1);
    assert!(partial_entries(&store).is_empty());
}

#[tokio::test]
async fn replacing_keeps_last_modified() {
    let (_dir, store) = store().await;
    let bytes = data(1000, 11);
    let exp = expected_for(&bytes, "x.exe");
    let stored = store.put_verified(&bytes[..], &exp).await.unwrap();
    let old = UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&stored.path)
        .unwrap()
        .set_modified(old)
        .unwrap();
    store.put_verified(&bytes[..], &exp).await.unwrap();
    let file = store.lookup(&stored.key).await.unwrap().unwrap();
    assert_eq!(file.modified, old);
    assert!(file.modified < SystemTime::now() - Duration::from_secs(3600));
}

#[tokio::test]
async fn remove_works_once() {
    let (_dir, store) = store().await;
    let bytes = data(1000, 12);
    let stored = store
        .put_verified(&bytes[..], &expected_for(&bytes, "x.exe"))
        .await
        .unwrap();
    assert!(store.remove(&stored.key).await.unwrap());
    assert!(!store.remove(&stored.key).await.unwrap());
    assert!(!store.exists(&stored.key).await.unwrap());
    assert!(store.lookup(&stored.key).await.unwrap().is_none());
}

#[tokio::test]
async fn open_cleans_stale_temps_but_keeps_resumable_partials() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("content");
    let partial = root.join(".partial");
    std::fs::create_dir_all(partial.join("somedir")).unwrap();
    let part = format!("{}.part", "A".repeat(40));
    for name in [
        "0123456789ABCDEF0123456789ABCDEF01234567.99-1-abc.tmp",
        "junk",
        "abcdef0123456789abcdef0123456789abcdef01.part", // lower case: not ours
        part.as_str(),
    ] {
        std::fs::write(partial.join(name), b"x").unwrap();
    }
    let store = ContentStore::open(root).await.unwrap();
    assert_eq!(partial_entries(&store), vec![part]);
}

#[tokio::test]
async fn resumable_partial_survives_and_verifies() {
    let (dir, store) = store().await;
    let bytes = data(1_500_000, 13);
    let exp = expected_for(&bytes, "big.psf");

    let mut p = store.resume(&exp).await.unwrap();
    assert_eq!(p.len(), 0);
    assert!(matches!(
        store.resume(&exp).await,
        Err(ContentError::PartialBusy)
    ));
    // The connection drops after 600 000 bytes: those stay.
    let src = Source {
        data: bytes[..600_000].to_vec(),
        pos: 0,
        fail_at_end: true,
    };
    assert!(matches!(p.append(src).await, Err(ContentError::Source(_))));
    assert_eq!(p.len(), 600_000);
    drop(p);

    // A restart in between: the partial is kept, nothing is published.
    let store = ContentStore::open(dir.path().join("content"))
        .await
        .unwrap();
    assert_eq!(store.partial_len(&exp.sha1).await.unwrap(), 600_000);
    assert!(published_files(store.root()).is_empty());

    let mut p = store.resume(&exp).await.unwrap();
    assert_eq!(p.len(), 600_000);
    // More than the file can hold: refused, and the partial is unchanged.
    let too_much = [&bytes[600_000..], &b"extra"[..]].concat();
    assert!(matches!(
        p.append(&too_much[..]).await,
        Err(ContentError::SizeMismatch { .. })
    ));
    assert_eq!(p.len(), 600_000);
    assert_eq!(
        p.append(&bytes[600_000..]).await.unwrap(),
        bytes.len() as u64
    );
    let stored = p.finish().await.unwrap();
    assert_eq!(std::fs::read(&stored.path).unwrap(), bytes);
    assert_eq!(store.partial_len(&exp.sha1).await.unwrap(), 0);
    assert!(partial_entries(&store).is_empty());
}

#[tokio::test]
async fn corrupt_partial_is_dropped_not_published() {
    let (_dir, store) = store().await;
    let bytes = data(300_000, 14);
    let exp = expected_for(&bytes, "x.exe");
    let mut p = store.resume(&exp).await.unwrap();
    let mut corrupt = bytes.clone();
    corrupt[123] ^= 1;
    p.append(&corrupt[..]).await.unwrap();
    assert!(matches!(
        p.finish().await,
        Err(ContentError::Sha1Mismatch { .. })
    ));
    assert!(published_files(store.root()).is_empty());
    assert!(partial_entries(&store).is_empty());

    // An incomplete partial can't be finished; it stays for later.
    let mut p = store.resume(&exp).await.unwrap();
    p.append(&bytes[..1000]).await.unwrap();
    assert!(matches!(
        p.finish().await,
        Err(ContentError::SizeMismatch { .. })
    ));
    assert_eq!(store.partial_len(&exp.sha1).await.unwrap(), 1000);
    store.resume(&exp).await.unwrap().discard().await.unwrap();
    assert!(partial_entries(&store).is_empty());
}

/// The sync engine and the HTTP layer spawn these futures on the multi-threaded runtime.
#[allow(dead_code)]
fn futures_are_send(store: &ContentStore, e: &ExpectedFile, p: &mut sluice_content::PartialDownload) {
    fn assert_send<T: Send>(_: T) {}
    assert_send(store.put_verified(&b""[..], e));
    assert_send(store.resume(e));
    assert_send(p.append(&b""[..]));
    assert_send(store.lookup(&ContentKey::new([0; 20], "exe").unwrap()));
}
