//! [`ContentStore`]: the one content store the rest of Sluice uses, over either backend: a
//! local directory ([`LocalStore`]) or an S3 bucket ([`S3Store`]). Both keep the same
//! invariant (a file is at its final place only once verified) and the same read side, so
//! callers never ask which one they have, except to copy a local file directly.

use std::collections::VecDeque;
use std::io::{self, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};
use futures_util::stream::{BoxStream, StreamExt};
use object_store::path::Path as ObjectPath;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt};

use crate::ContentError;
use crate::layout::ContentKey;
use crate::range::BodySegment;
use crate::s3::{S3Settings, S3Store};
use crate::store::{ExpectedFile, LocalPartial, LocalStore, StoredFile};
use crate::validators::Validators;

/// Bytes read from disk per body chunk. Each read is a hop to tokio's blocking pool, so
/// bigger reads mean fewer hops; 256 KiB keeps per-connection memory modest.
const READ_CHUNK: u64 = 256 * 1024;

/// The content store: where verified update files are kept and served from.
#[derive(Debug)]
pub struct ContentStore {
    backend: Backend,
}

#[derive(Debug)]
enum Backend {
    Local(LocalStore),
    /// Resumable downloads are spooled in `spool` (a local store whose final paths stay
    /// unused) and uploaded to `remote` once complete and verified.
    S3 { remote: Arc<S3Store>, spool: LocalStore },
}

impl ContentStore {
    /// Opens (creating if needed) a store in the local directory `root` (normally
    /// `<data>/content`). See [`LocalStore::open`].
    pub async fn open(root: PathBuf) -> Result<Self, ContentError> {
        Ok(Self {
            backend: Backend::Local(LocalStore::open(root).await?),
        })
    }

    /// Opens a store in an S3 bucket, after checking that the bucket can be listed and
    /// written (the error names the setting that is wrong); resumable downloads are kept in
    /// the local directory `spool` until they are complete.
    pub async fn open_s3(settings: &S3Settings, spool: PathBuf) -> Result<Self, ContentError> {
        let remote = Arc::new(S3Store::open(settings).await?);
        let spool = LocalStore::open(spool).await?;
        tracing::info!(store = %remote.describe(), spool = %spool.root().display(), "content store on S3");
        Ok(Self {
            backend: Backend::S3 { remote, spool },
        })
    }

    /// The local directory: the store itself, or for S3 the spool of resumable downloads.
    pub fn root(&self) -> &Path {
        match &self.backend {
            Backend::Local(local) => local.root(),
            Backend::S3 { spool, .. } => spool.root(),
        }
    }

    /// Where the store is, for messages: a directory, or `s3://bucket/prefix at <endpoint>`.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Local(local) => local.root().display().to_string(),
            Backend::S3 { remote, .. } => remote.describe(),
        }
    }

    /// The file's path on local disk, for copying it with plain file I/O; `None` for an S3
    /// store (read it with [`lookup`](Self::lookup)).
    pub fn path_of(&self, key: &ContentKey) -> Option<PathBuf> {
        match &self.backend {
            Backend::Local(local) => Some(local.path_of(key)),
            Backend::S3 { .. } => None,
        }
    }

    /// Whether a file is stored.
    pub async fn exists(&self, key: &ContentKey) -> Result<bool, ContentError> {
        match &self.backend {
            Backend::Local(local) => local.exists(key).await,
            Backend::S3 { remote, .. } => remote.exists(key).await,
        }
    }

    /// Opens a stored file for reading; `Ok(None)` when it isn't there.
    pub async fn lookup(&self, key: &ContentKey) -> Result<Option<ContentFile>, ContentError> {
        match &self.backend {
            Backend::Local(local) => local.lookup(key).await,
            Backend::S3 { remote, .. } => remote.lookup(key).await,
        }
    }

    /// Removes a stored file; `Ok(false)` when it wasn't there.
    pub async fn remove(&self, key: &ContentKey) -> Result<bool, ContentError> {
        match &self.backend {
            Backend::Local(local) => local.remove(key).await,
            Backend::S3 { remote, .. } => remote.remove(key).await,
        }
    }

    /// Streams `reader` into the store, verifying it against `expected`; nothing appears at
    /// the final place unless size and digests match ([`LocalStore::put_verified`],
    /// [`S3Store::put_verified`]).
    pub async fn put_verified<R: AsyncRead>(
        &self,
        reader: R,
        expected: &ExpectedFile,
    ) -> Result<StoredFile, ContentError> {
        match &self.backend {
            Backend::Local(local) => local.put_verified(reader, expected).await,
            Backend::S3 { remote, .. } => remote.put_verified(reader, expected).await,
        }
    }

    /// [`put_verified`](Self::put_verified) from a local file (copied, the source stays).
    pub async fn put_file_verified(
        &self,
        path: &Path,
        expected: &ExpectedFile,
    ) -> Result<StoredFile, ContentError> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| ContentError::io("opening", path, e))?;
        self.put_verified(file, expected).await
    }

    /// Bytes already downloaded into the resumable partial for `sha1` (0 if none).
    pub async fn partial_len(&self, sha1: &[u8; 20]) -> Result<u64, ContentError> {
        self.partials().partial_len(sha1).await
    }

    /// Opens (or creates) the resumable partial for `expected`, for exclusive use by the
    /// caller. Fails with [`ContentError::PartialBusy`] while another [`PartialDownload`]
    /// for the same digest is alive in this process.
    pub async fn resume(&self, expected: &ExpectedFile) -> Result<PartialDownload, ContentError> {
        let local = self.partials().resume(expected).await?;
        let upload_to = match &self.backend {
            Backend::Local(_) => None,
            Backend::S3 { remote, .. } => Some(Arc::clone(remote)),
        };
        Ok(PartialDownload { local, upload_to })
    }

    fn partials(&self) -> &LocalStore {
        match &self.backend {
            Backend::Local(local) => local,
            Backend::S3 { spool, .. } => spool,
        }
    }
}

/// A resumable download, held exclusively: its bytes are on local disk
/// (`.partial/<HEX>.part`) until [`finish`](Self::finish) verifies them and moves them into
/// the store.
///
/// Append bytes in file order with [`append`](Self::append) (for example the body of a
/// `Range: bytes=<len>-` request). Appended bytes are fsynced before `append` returns, so
/// `len()` is what survives a crash.
#[derive(Debug)]
pub struct PartialDownload {
    local: LocalPartial,
    upload_to: Option<Arc<S3Store>>,
}

impl PartialDownload {
    /// Bytes held so far: the offset the next append starts at.
    pub fn len(&self) -> u64 {
        self.local.len()
    }

    /// Whether nothing has been downloaded yet.
    pub fn is_empty(&self) -> bool {
        self.local.is_empty()
    }

    /// Appends everything `reader` yields and returns the new length (see
    /// [`LocalPartial::append`]).
    pub async fn append<R: AsyncRead>(&mut self, reader: R) -> Result<u64, ContentError> {
        self.local.append(reader).await
    }

    /// Verifies the complete partial and publishes it: renamed into place in a local store,
    /// uploaded (and verified again on the way) to S3, then removed from the spool.
    ///
    /// A size or digest mismatch deletes the partial (its bytes are known bad, resuming it
    /// would only repeat the failure) and returns the error; nothing is published.
    pub async fn finish(self) -> Result<StoredFile, ContentError> {
        let Some(remote) = self.upload_to else {
            return self.local.finish().await;
        };
        let verified = self.local.verify().await?;
        let partial = verified.partial;
        let file = tokio::fs::File::open(partial.path())
            .await
            .map_err(|e| ContentError::io("opening", partial.path(), e))?;
        let expected = partial.expected().clone();
        let stored = remote.put_verified(file, &expected).await?;
        partial.discard().await?;
        Ok(stored)
    }

    /// Deletes the partial.
    pub async fn discard(self) -> Result<(), ContentError> {
        self.local.discard().await
    }
}

/// An opened stored file, ready to be served.
#[derive(Debug)]
pub struct ContentFile {
    /// Where the bytes come from.
    pub(crate) body: ContentBody,
    /// Its length in bytes.
    pub len: u64,
    /// Its modification time.
    pub modified: SystemTime,
    /// The key it was found under.
    pub key: ContentKey,
}

#[derive(Debug)]
pub(crate) enum ContentBody {
    /// An open file. Length and time belong to this handle, not to whatever is at the path
    /// now, so a concurrent replacement can't mix two files in one response.
    Local(tokio::fs::File),
    /// An object, read with one ranged GET per slice. Objects are only ever replaced by the
    /// same verified bytes, so slices of one response can't mix two files either.
    S3 { store: Arc<S3Store>, path: ObjectPath },
}

impl ContentFile {
    /// ETag and Last-Modified of this file.
    pub fn validators(&self) -> Validators {
        Validators::new(&self.key.sha1, self.modified)
    }

    /// The body of a response: `segments` in order, literals as they are, file slices read
    /// from the file (streamed, never held whole).
    ///
    /// Ends with an error if the file is shorter than announced, so the HTTP layer aborts
    /// the connection instead of leaving the client waiting for bytes promised by
    /// Content-Length.
    pub fn into_stream(self, segments: Vec<BodySegment>) -> BoxStream<'static, io::Result<Bytes>> {
        match self.body {
            ContentBody::Local(file) => local_stream(file, segments),
            ContentBody::S3 { store, path } => {
                let pieces = segments.into_iter().map(move |segment| match segment {
                    BodySegment::Literal(bytes) => futures_util::stream::once(async move { Ok(bytes) }).boxed(),
                    BodySegment::File { start, len } => {
                        exact_len(store.read_range(&path, start..start + len), len)
                    }
                });
                futures_util::stream::iter(pieces).flatten().boxed()
            }
        }
    }

    /// The whole file as a reader.
    pub fn into_reader(self) -> impl AsyncRead + Send + Unpin + 'static {
        let len = self.len;
        tokio_util::io::StreamReader::new(self.into_stream(vec![BodySegment::File { start: 0, len }]))
    }
}

/// Passes `stream` on and fails it if it yields other than `len` bytes.
fn exact_len(
    stream: BoxStream<'static, io::Result<Bytes>>,
    len: u64,
) -> BoxStream<'static, io::Result<Bytes>> {
    let checked = futures_util::stream::unfold((stream, 0u64, false), move |(mut s, seen, done)| async move {
        if done {
            return None;
        }
        match s.next().await {
            Some(Ok(bytes)) => {
                let seen = seen + bytes.len() as u64;
                if seen > len {
                    return Some((Err(short("content object grew")), (s, seen, true)));
                }
                Some((Ok(bytes), (s, seen, false)))
            }
            Some(Err(e)) => {
                tracing::error!(error = %e, "reading content from S3 failed");
                Some((Err(e), (s, seen, true)))
            }
            None if seen < len => Some((Err(short("content object shrank")), (s, seen, true))),
            None => None,
        }
    });
    checked.boxed()
}

fn short(why: &'static str) -> io::Error {
    tracing::error!(why, "content stream cut short");
    io::Error::new(io::ErrorKind::UnexpectedEof, why)
}

struct LocalState {
    file: tokio::fs::File,
    segments: VecDeque<BodySegment>,
    /// Bytes still to read from the current file slice.
    remaining: u64,
    done: bool,
}

/// Streams the segments in order from one open file.
fn local_stream(file: tokio::fs::File, segments: Vec<BodySegment>) -> BoxStream<'static, io::Result<Bytes>> {
    let state = LocalState {
        file,
        segments: segments.into(),
        remaining: 0,
        done: false,
    };
    futures_util::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        loop {
            if st.remaining > 0 {
                let want = st.remaining.min(READ_CHUNK);
                let mut buf = BytesMut::with_capacity(want as usize);
                let read = (&mut st.file).take(want).read_buf(&mut buf).await;
                return match read {
                    Ok(0) => {
                        st.done = true;
                        Some((Err(short("content file shrank")), st))
                    }
                    Ok(n) => {
                        st.remaining -= n as u64;
                        Some((Ok(buf.freeze()), st))
                    }
                    Err(e) => {
                        st.done = true;
                        tracing::error!(error = %e, "reading content failed");
                        Some((Err(e), st))
                    }
                };
            }
            match st.segments.pop_front()? {
                BodySegment::Literal(bytes) => return Some((Ok(bytes), st)),
                BodySegment::File { start, len } => {
                    if let Err(e) = st.file.seek(SeekFrom::Start(start)).await {
                        st.done = true;
                        tracing::error!(error = %e, "seeking content failed");
                        return Some((Err(e), st));
                    }
                    st.remaining = len;
                }
            }
        }
    })
    .boxed()
}
