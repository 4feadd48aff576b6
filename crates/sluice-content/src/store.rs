//! The content store's local-directory backend (`LocalStore`), and the resumable partial
//! downloads both backends keep on local disk.
//!
//! Invariant: a file exists at its final path `<root>/<XX>/<HEX>.<ext>` only if its bytes
//! were verified against the expected size, SHA-1 and (when known) SHA-256, flushed to
//! disk, and moved there by an atomic rename. Everything in flight lives under
//! `<root>/.partial/`, which clients can't reach (content URLs never contain a dot-dir).
//!
//! `.partial/` holds two kinds of files:
//! - `<HEX>.<unique>.tmp`: one [`LocalStore::put_verified`] in progress. Never reused;
//!   removed on failure, on cancellation (drop guard) and at startup.
//! - `<HEX>.part`: a resumable download ([`LocalPartial`]). Kept across restarts so a
//!   ranged download can continue; verified only once complete.

use std::collections::HashSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::ContentError;
use crate::backend::{ContentBody, ContentFile};
use crate::layout::{ContentKey, relative_url_path, sha1_hex};
use crate::verify::{CHUNK, Hasher, Hashes, check, hash_file, pump};

/// Name of the in-flight directory under the store root.
pub const PARTIAL_DIR: &str = ".partial";

/// Chunks buffered between the async reader and the blocking hasher/writer.
const PIPE_DEPTH: usize = 8;

/// What the metadata says a file must be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedFile {
    /// SHA-1 of the bytes (the WSUS `Digest`, also the file's name).
    pub sha1: [u8; 20],
    /// SHA-256 (`AdditionalDigest Algorithm="SHA256"`), checked when known.
    pub sha256: Option<[u8; 32]>,
    /// Size in bytes (`File/@Size`), checked when known.
    pub size: Option<u64>,
    /// Metadata `FileName`; only its extension is used.
    pub file_name: String,
}

impl ExpectedFile {
    fn key(&self) -> Result<ContentKey, ContentError> {
        ContentKey::for_file(self.sha1, &self.file_name)
    }
}

/// A file that is now in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFile {
    /// Its key (digest and lower-case extension).
    pub key: ContentKey,
    /// SHA-256 as computed while storing.
    pub sha256: [u8; 32],
    /// Size in bytes.
    pub size: u64,
    /// Absolute path on disk.
    pub path: PathBuf,
    /// `Content/XX/HEX.ext` with the extension as in the metadata `FileName`.
    pub url_path: String,
}

/// Local-filesystem content store in the WSUS layout.
#[derive(Debug)]
pub struct LocalStore {
    root: PathBuf,
    partial_dir: PathBuf,
    /// Digests with a live [`LocalPartial`] in this process.
    partials: Arc<Mutex<HashSet<[u8; 20]>>>,
}

impl LocalStore {
    /// Opens (creating if needed) a store rooted at `root` (normally `<data>/content`).
    ///
    /// Removes leftovers of interrupted writes from `.partial/`: everything except
    /// resumable `<HEX>.part` files. Call it once per root at startup; a second store on the
    /// same root would delete the first one's in-flight temp files.
    pub async fn open(root: PathBuf) -> Result<Self, ContentError> {
        let partial_dir = root.join(PARTIAL_DIR);
        let dir = partial_dir.clone();
        let removed = blocking(move || {
            std::fs::create_dir_all(&dir).map_err(|e| ContentError::io("creating", &dir, e))?;
            clean_partial_dir(&dir)
        })
        .await?;
        if removed > 0 {
            tracing::info!(root = %root.display(), removed, "removed stale temporary content files");
        }
        Ok(Self {
            root,
            partial_dir,
            partials: Arc::new(Mutex::new(HashSet::new())),
        })
    }

    /// The store root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Final path of a file.
    pub fn path_of(&self, key: &ContentKey) -> PathBuf {
        self.root.join(key.relative_disk_path())
    }

    /// Whether a file is stored.
    pub async fn exists(&self, key: &ContentKey) -> Result<bool, ContentError> {
        let path = self.path_of(key);
        match tokio::fs::metadata(&path).await {
            Ok(m) => Ok(m.is_file()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(ContentError::io("inspecting", &path, e)),
        }
    }

    /// Opens a stored file for reading; `Ok(None)` when it isn't there.
    pub async fn lookup(&self, key: &ContentKey) -> Result<Option<ContentFile>, ContentError> {
        let path = self.path_of(key);
        let file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ContentError::io("opening", &path, e)),
        };
        let meta = file
            .metadata()
            .await
            .map_err(|e| ContentError::io("inspecting", &path, e))?;
        if !meta.is_file() {
            return Ok(None);
        }
        let modified = meta
            .modified()
            .map_err(|e| ContentError::io("reading mtime of", &path, e))?;
        Ok(Some(ContentFile {
            body: ContentBody::Local(file),
            len: meta.len(),
            modified,
            key: key.clone(),
        }))
    }

    /// Removes a stored file; `Ok(false)` when it wasn't there.
    pub async fn remove(&self, key: &ContentKey) -> Result<bool, ContentError> {
        let path = self.path_of(key);
        blocking(move || match std::fs::remove_file(&path) {
            Ok(()) => {
                if let Some(dir) = path.parent() {
                    sync_dir(dir)?;
                }
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(ContentError::io("removing", &path, e)),
        })
        .await
    }

    /// Streams `reader` into the store, verifying it against `expected`.
    ///
    /// The bytes go to a fresh temp file under `.partial/` while a blocking task hashes
    /// them with SHA-1 and SHA-256 in the same pass (hashing 1 GB takes about a second of
    /// CPU, which must not stall the runtime's workers). Reading stops as soon as the size
    /// exceeds the expected one. Only after size and digests match is the file fsynced and
    /// renamed into place, then its directory fsynced.
    ///
    /// On any error, and when the returned future is dropped, the temp file is removed and
    /// nothing appears at the final path. If the file is already stored, the new verified
    /// copy replaces it atomically (same bytes by construction) and takes over the old
    /// modification time, so Last-Modified stays stable for clients mid-download.
    /// Concurrent puts of the same file are safe: each has its own temp file and the last
    /// rename wins.
    pub async fn put_verified<R: AsyncRead>(
        &self,
        reader: R,
        expected: &ExpectedFile,
    ) -> Result<StoredFile, ContentError> {
        let key = expected.key()?;
        let tmp_path = self.partial_dir.join(format!(
            "{}.{}.tmp",
            sha1_hex(&expected.sha1),
            unique_suffix()
        ));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp_path)
            .await
            .map_err(|e| ContentError::io("creating", &tmp_path, e))?;
        // Created here, before any await point that could be the last, so the guard always
        // has a file to clean up and a dropped future can't leak one.
        let guard = RemoveOnDrop::new(tmp_path.clone());
        let file = file.into_std().await;

        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(PIPE_DEPTH);
        // Set only when the source was read to its end; a closed pipe without it means the
        // put failed or was cancelled, and fsyncing bytes about to be deleted is waste.
        let complete = Arc::new(AtomicBool::new(false));
        let writer_complete = Arc::clone(&complete);
        let writer_path = tmp_path.clone();
        let writer = tokio::task::spawn_blocking(move || -> Result<Hashes, ContentError> {
            let mut file = file;
            let mut hasher = Hasher::default();
            while let Some(chunk) = rx.blocking_recv() {
                file.write_all(&chunk)
                    .map_err(|e| ContentError::io("writing", &writer_path, e))?;
                hasher.update(&chunk);
            }
            if writer_complete.load(Ordering::SeqCst) {
                file.sync_all()
                    .map_err(|e| ContentError::io("syncing", &writer_path, e))?;
            }
            Ok(hasher.finish())
        });

        let read_result = pump(reader, &tx, expected.size).await;
        if read_result.is_ok() {
            complete.store(true, Ordering::SeqCst);
        }
        drop(tx);
        let hashes = writer
            .await
            .map_err(|e| ContentError::Internal(format!("hashing task failed: {e}")))?;
        // A failed read may have closed the pipe early; report the read error, not the
        // digest mismatch it would cause.
        read_result?;
        let hashes = hashes?;
        check(expected, &hashes)?;

        let final_path = self.path_of(&key);
        let root = self.root.clone();
        let src = tmp_path.clone();
        let dst = final_path.clone();
        blocking(move || publish(&root, &src, &dst)).await?;
        guard.disarm();
        Ok(StoredFile {
            url_path: relative_url_path(&expected.sha1, &expected.file_name)?,
            key,
            sha256: hashes.sha256,
            size: hashes.size,
            path: final_path,
        })
    }

    /// Bytes already downloaded into the resumable partial for `sha1` (0 if none).
    pub async fn partial_len(&self, sha1: &[u8; 20]) -> Result<u64, ContentError> {
        let path = self.partial_path(sha1);
        match tokio::fs::metadata(&path).await {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(ContentError::io("inspecting", &path, e)),
        }
    }

    /// Opens (or creates) the resumable partial for `expected`, for exclusive use by the
    /// caller. Fails with [`ContentError::PartialBusy`] while another [`LocalPartial`]
    /// for the same digest is alive in this process.
    pub async fn resume(&self, expected: &ExpectedFile) -> Result<LocalPartial, ContentError> {
        expected.key()?;
        let claim = PartialClaim::take(&self.partials, expected.sha1)?;
        let path = self.partial_path(&expected.sha1);
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await
            .map_err(|e| ContentError::io("opening", &path, e))?;
        let len = file
            .metadata()
            .await
            .map_err(|e| ContentError::io("inspecting", &path, e))?
            .len();
        let mut partial = LocalPartial {
            _claim: claim,
            file,
            path,
            len,
            expected: expected.clone(),
            root: self.root.clone(),
            final_path: self.path_of(&expected.key()?),
        };
        if let Some(size) = expected.size
            && len > size
        {
            // Longer than the file can be: whatever it holds is wrong, start over.
            partial.truncate(0).await?;
        }
        Ok(partial)
    }

    fn partial_path(&self, sha1: &[u8; 20]) -> PathBuf {
        self.partial_dir.join(format!("{}.part", sha1_hex(sha1)))
    }
}

/// A resumable download in `.partial/<HEX>.part`, held exclusively.
///
/// Append bytes in file order with [`append`](Self::append) (for example the body of a
/// `Range: bytes=<len>-` request), then [`finish`](Self::finish) verifies the whole file
/// and publishes it. Appended bytes are fsynced before `append` returns, so `len()` is
/// what survives a crash.
#[derive(Debug)]
pub struct LocalPartial {
    _claim: PartialClaim,
    file: tokio::fs::File,
    path: PathBuf,
    len: u64,
    expected: ExpectedFile,
    root: PathBuf,
    final_path: PathBuf,
}

impl LocalPartial {
    /// Bytes held so far: the offset the next append starts at.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing has been downloaded yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends everything `reader` yields and returns the new length.
    ///
    /// If the source fails midway, the bytes received before the failure are kept (that is
    /// the point of resuming) and the source error is returned. If the data would grow past
    /// the expected size, this append is undone and [`ContentError::SizeMismatch`] returned.
    pub async fn append<R: AsyncRead>(&mut self, reader: R) -> Result<u64, ContentError> {
        let start_len = self.len;
        let mut reader = pin!(reader);
        let mut buf = BytesMut::with_capacity(CHUNK);
        let outcome = loop {
            buf.clear();
            buf.reserve(CHUNK);
            let n = match reader.read_buf(&mut buf).await {
                Ok(0) => break Ok(()),
                Ok(n) => n as u64,
                Err(e) => break Err(ContentError::Source(e)),
            };
            if let Some(size) = self.expected.size
                && self.len + n > size
            {
                self.truncate(start_len).await?;
                return Err(ContentError::SizeMismatch {
                    expected: size,
                    actual: self.len.saturating_add(n),
                });
            }
            if let Err(e) = self.file.write_all(&buf).await {
                break Err(ContentError::io("writing", &self.path, e));
            }
            self.len += n;
        };
        let synced = async {
            self.file.flush().await?;
            self.file.sync_data().await
        }
        .await;
        if let Err(e) = synced {
            // We no longer know how much of the file is on disk; re-read its length.
            self.refresh_len().await?;
            return Err(ContentError::io("syncing", &self.path, e));
        }
        outcome.map(|()| self.len)
    }

    /// Verifies the complete partial and moves it into place.
    ///
    /// A size or digest mismatch deletes the partial (its bytes are known bad, resuming it
    /// would only repeat the failure) and returns the error; nothing is published.
    pub async fn finish(self) -> Result<StoredFile, ContentError> {
        let verified = self.verify().await?;
        let partial = verified.partial;
        let (root, src, dst) = (
            partial.root.clone(),
            partial.path.clone(),
            partial.final_path.clone(),
        );
        blocking(move || publish(&root, &src, &dst)).await?;
        Ok(StoredFile {
            url_path: relative_url_path(&partial.expected.sha1, &partial.expected.file_name)?,
            key: verified.key,
            sha256: verified.hashes.sha256,
            size: verified.hashes.size,
            path: partial.final_path,
        })
    }

    /// Checks the complete partial against its expected size and digests, deleting it when
    /// they differ. What the caller then does with the verified bytes is its business:
    /// [`finish`](Self::finish) renames them into place, the S3 backend uploads them.
    pub(crate) async fn verify(self) -> Result<VerifiedPartial, ContentError> {
        let key = self.expected.key()?;
        if let Some(size) = self.expected.size
            && self.len != size
        {
            return Err(ContentError::SizeMismatch {
                expected: size,
                actual: self.len,
            });
        }
        let path = self.path.clone();
        let hashes = blocking(move || hash_file(&path)).await?;
        if let Err(e) = check(&self.expected, &hashes) {
            let path = self.path.clone();
            blocking(move || remove_quietly(&path)).await?;
            return Err(e);
        }
        Ok(VerifiedPartial {
            key,
            hashes,
            partial: self,
        })
    }

    /// Where the partial's bytes are.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// What the partial must turn out to be.
    pub(crate) fn expected(&self) -> &ExpectedFile {
        &self.expected
    }

    /// Deletes the partial.
    pub async fn discard(self) -> Result<(), ContentError> {
        let path = self.path.clone();
        blocking(move || remove_quietly(&path)).await
    }

    async fn truncate(&mut self, len: u64) -> Result<(), ContentError> {
        self.file
            .set_len(len)
            .await
            .map_err(|e| ContentError::io("truncating", &self.path, e))?;
        self.len = len;
        Ok(())
    }

    async fn refresh_len(&mut self) -> Result<(), ContentError> {
        self.len = self
            .file
            .metadata()
            .await
            .map_err(|e| ContentError::io("inspecting", &self.path, e))?
            .len();
        Ok(())
    }
}

/// A complete partial whose bytes matched; still claimed, still on disk.
pub(crate) struct VerifiedPartial {
    pub(crate) key: ContentKey,
    pub(crate) hashes: Hashes,
    pub(crate) partial: LocalPartial,
}

/// In-process exclusive claim on one digest's partial; released on drop.
#[derive(Debug)]
struct PartialClaim {
    set: Arc<Mutex<HashSet<[u8; 20]>>>,
    sha1: [u8; 20],
}

impl PartialClaim {
    fn take(set: &Arc<Mutex<HashSet<[u8; 20]>>>, sha1: [u8; 20]) -> Result<Self, ContentError> {
        let mut held = set.lock().unwrap_or_else(|p| p.into_inner());
        if !held.insert(sha1) {
            return Err(ContentError::PartialBusy);
        }
        Ok(Self {
            set: Arc::clone(set),
            sha1,
        })
    }
}

impl Drop for PartialClaim {
    fn drop(&mut self) {
        let mut held = self.set.lock().unwrap_or_else(|p| p.into_inner());
        held.remove(&self.sha1);
    }
}

/// Moves a verified, synced file from `.partial/` to its final path and makes the rename
/// durable. Blocking.
fn publish(root: &Path, src: &Path, dst: &Path) -> Result<(), ContentError> {
    let dir = dst
        .parent()
        .ok_or_else(|| ContentError::Internal(format!("no parent for {}", dst.display())))?;
    let created = match std::fs::create_dir(dir) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        Err(e) => return Err(ContentError::io("creating", dir, e)),
    };
    if created {
        sync_dir(root)?;
    }
    if let Ok(old) = std::fs::metadata(dst).and_then(|m| m.modified()) {
        // Best effort: the bytes are identical, so keeping the old time keeps the
        // Last-Modified validator stable. Failing here only costs a changed date.
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .open(src)
            .and_then(|f| f.set_modified(old));
    }
    std::fs::rename(src, dst).map_err(|e| ContentError::io("renaming into", dst, e))?;
    sync_dir(dir)?;
    if let Some(from) = src.parent() {
        sync_dir(from)?;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), ContentError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| ContentError::io("syncing directory", dir, e))
}

fn remove_quietly(path: &Path) -> Result<(), ContentError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ContentError::io("removing", path, e)),
    }
}

/// Removes everything in `.partial/` that isn't a resumable `<HEX>.part` file.
fn clean_partial_dir(dir: &Path) -> Result<usize, ContentError> {
    let mut removed = 0;
    let entries = std::fs::read_dir(dir).map_err(|e| ContentError::io("listing", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ContentError::io("listing", dir, e))?;
        let name = entry.file_name();
        let keep = name.to_str().is_some_and(is_resumable_name)
            && entry.file_type().is_ok_and(|t| t.is_file());
        if keep {
            continue;
        }
        let path = entry.path();
        let result = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match result {
            Ok(()) => removed += 1,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "could not remove stale file")
            }
        }
    }
    Ok(removed)
}

fn is_resumable_name(name: &str) -> bool {
    name.strip_suffix(".part").is_some_and(|stem| {
        stem.len() == 40
            && stem
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
    })
}

/// Unique within the process (counter) and across processes and restarts (pid, time).
pub(crate) fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}-{}-{:x}", std::process::id(), n, nanos)
}

/// Deletes a temp file unless disarmed. `Drop` can't be async, so this does one blocking
/// `unlink`: cheap, and only on error or cancellation paths.
struct RemoveOnDrop {
    path: Option<PathBuf>,
}

impl RemoveOnDrop {
    fn new(path: PathBuf) -> Self {
        Self { path: Some(path) }
    }

    fn disarm(mut self) {
        self.path = None;
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = self.path.take()
            && let Err(e) = std::fs::remove_file(&path)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %path.display(), error = %e, "could not remove temp file");
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ContentError> + Send + 'static,
) -> Result<T, ContentError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ContentError::Internal(format!("blocking task failed: {e}")))?
}
