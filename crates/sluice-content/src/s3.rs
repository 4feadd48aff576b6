//! The content store's S3 backend: update files as objects `<prefix>/<XX>/<HEX>.<ext>` in a
//! bucket of any S3-compatible service (AWS, MinIO, Ceph, moto), through `object_store`.
//!
//! The invariant of the local store holds here too: an object exists at its final key only
//! once its bytes matched the expected size, SHA-1 and SHA-256. A write is a multipart upload
//! to the final key, hashed while the parts go out, and *completed* only after the digests
//! matched; until then S3 shows nothing at that key, and a mismatch, an error or a dropped
//! future aborts the upload. A crash between two parts leaves an incomplete multipart upload,
//! which is invisible and costs only storage until the bucket's lifecycle rule
//! (`AbortIncompleteMultipartUpload`) removes it. Resumable downloads are spooled on local
//! disk (`crate::store::LocalPartial`) and uploaded the same way once complete.

use std::fmt;
use std::io;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::client::{HttpError, HttpErrorKind};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload,
    RetryConfig, WriteMultipart,
};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::ContentError;
use crate::backend::{ContentBody, ContentFile};
use crate::layout::{ContentKey, relative_url_path};
use crate::store::{ExpectedFile, StoredFile};
use crate::verify::{CHUNK, Hasher, Hashes, check};

/// Size of one uploaded part. S3 wants at least 5 MiB for every part but the last; 8 MiB
/// keeps a 4 GB file well under the 10,000-part limit.
const PART_SIZE: usize = 8 * 1024 * 1024;

/// Parts in flight at once per upload.
const PARTS_IN_FLIGHT: usize = 2;

/// A secret that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that hands it on.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Bucket and key prefix of `--content s3://bucket/prefix`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// Key prefix without leading or trailing `/`; empty for the bucket's root.
    pub prefix: String,
}

impl S3Location {
    /// Parses `s3://bucket[/prefix…]`. `None` when `value` is not an `s3://` URL at all (so
    /// the caller can treat it as a directory); `Some(Err)` when it is one but unusable.
    pub fn parse(value: &str) -> Option<Result<Self, String>> {
        let rest = value.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && !bucket.starts_with(['-', '.'])
            && !bucket.ends_with(['-', '.']);
        if !bucket_ok {
            return Some(Err(format!(
                "content: '{value}' does not name a usable S3 bucket (3 to 63 lower-case letters, digits, '-' and '.')"
            )));
        }
        let prefix = prefix.trim_matches('/');
        let segments_ok = prefix.is_empty()
            || prefix.split('/').all(|s| {
                !s.is_empty() && s != "." && s != ".." && !s.bytes().any(|b| b.is_ascii_control())
            });
        if !segments_ok {
            return Some(Err(format!(
                "content: '{value}' has an unusable key prefix (empty, '.' or '..' segments, or control characters)"
            )));
        }
        Some(Ok(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        }))
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// Which bucket, and how to reach it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Settings {
    /// Bucket and prefix.
    pub location: S3Location,
    /// Endpoint, region, credentials.
    pub access: S3Access,
}

/// How to reach a bucket (the `s3-*` settings). Unset values come from the standard `AWS_*`
/// environment variables (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, …).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct S3Access {
    /// `http(s)://host:port` of an S3-compatible service; AWS itself when unset.
    pub endpoint: Option<String>,
    /// Signing region (`us-east-1` when neither this nor `AWS_REGION` is set).
    pub region: Option<String>,
    /// Access key id.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<Secret>,
    /// Allow a plain-HTTP endpoint (a loopback MinIO or moto).
    pub allow_http: bool,
}

impl S3Settings {
    /// The endpoint as the messages name it.
    fn endpoint_label(&self) -> String {
        self.access
            .endpoint
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .or_else(|| std::env::var("AWS_ENDPOINT").ok())
            .unwrap_or_else(|| "AWS S3".to_owned())
    }

    fn builder(&self) -> AmazonS3Builder {
        let mut b = AmazonS3Builder::from_env().with_bucket_name(&self.location.bucket);
        let access = &self.access;
        if let Some(v) = &access.endpoint {
            b = b.with_endpoint(v);
        }
        if let Some(v) = &access.region {
            b = b.with_region(v);
        }
        if let Some(v) = &access.access_key_id {
            b = b.with_access_key_id(v);
        }
        if let Some(v) = &access.secret_access_key {
            b = b.with_secret_access_key(v.expose());
        }
        if access.allow_http {
            b = b.with_allow_http(true);
        }
        b
    }

    /// Whether credentials are configured at all. Without them `object_store` would ask the
    /// instance metadata service, which is not what an administrator who forgot a setting
    /// means and hangs a start on a machine outside a cloud.
    fn has_credentials(&self) -> bool {
        let env = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty());
        (self.access.access_key_id.is_some() || env("AWS_ACCESS_KEY_ID"))
            && (self.access.secret_access_key.is_some() || env("AWS_SECRET_ACCESS_KEY"))
    }
}

/// An S3 bucket (and prefix) holding the content tree.
pub struct S3Store {
    store: Arc<dyn ObjectStore>,
    location: S3Location,
    endpoint: String,
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("location", &self.location.to_string())
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl S3Store {
    /// Connects and checks that the bucket can be listed and written under the prefix, so a
    /// wrong setting stops the start with its name instead of failing the first download.
    pub async fn open(settings: &S3Settings) -> Result<Self, ContentError> {
        let store = Self::connect(settings, RetryConfig::default())?;
        let probe = Self::connect(settings, no_retries())?;
        probe.check(true).await?;
        Ok(store)
    }

    /// Connects without checking anything (for `sluice doctor`, which then calls [`check`]).
    ///
    /// [`check`]: Self::check
    pub fn connect(settings: &S3Settings, retry: RetryConfig) -> Result<Self, ContentError> {
        let endpoint = settings.endpoint_label();
        if !settings.has_credentials() {
            return Err(ContentError::Unavailable(format!(
                "no credentials for {} (settings: s3-access-key-id and s3-secret-access-key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
                settings.location
            )));
        }
        // No limit on a whole request: a GET streams to a client at the client's pace, and a
        // 4 GB file to a slow one takes far longer than object_store's default 30 s. A read
        // that stalls for a minute still fails (and the client resumes with a range).
        let options = ClientOptions::new()
            .with_connect_timeout(Duration::from_secs(10))
            .with_timeout_disabled()
            .with_read_timeout(Duration::from_secs(60))
            .with_allow_http(settings.access.allow_http);
        let store = settings
            .builder()
            .with_client_options(options)
            .with_retry(retry)
            .build()
            .map_err(|e| {
                ContentError::Unavailable(format!(
                    "S3 settings for {} at {endpoint} are unusable (settings: s3-endpoint, s3-region, s3-allow-http): {e}",
                    settings.location
                ))
            })?;
        Ok(Self {
            store: Arc::new(store),
            location: settings.location.clone(),
            endpoint,
        })
    }

    /// `s3://bucket/prefix at <endpoint>`.
    pub fn describe(&self) -> String {
        format!("{} at {}", self.location, self.endpoint)
    }

    /// Lists the prefix (the bucket exists, the credentials are accepted) and, with `write`,
    /// puts and deletes a probe object under `.partial/`. Each failure names its setting.
    pub async fn check(&self, write: bool) -> Result<(), ContentError> {
        let prefix = self.prefix_path();
        self.store
            .list_with_delimiter(Some(&prefix))
            .await
            .map_err(|e| self.unavailable("list", &e))?;
        if write {
            let probe = self.object(&format!(".partial/probe-{}", crate::store::unique_suffix()));
            self.store
                .put(&probe, PutPayload::from_static(b"sluice write probe"))
                .await
                .map_err(|e| self.unavailable("write to", &e))?;
            self.store
                .delete(&probe)
                .await
                .map_err(|e| self.unavailable("delete from", &e))?;
        }
        Ok(())
    }

    fn unavailable(&self, action: &str, e: &object_store::Error) -> ContentError {
        let what = format!("cannot {action} {}", self.describe());
        ContentError::Unavailable(match e {
            // A listing answers 404 only for a missing bucket; object_store reports it as
            // generic, so S3's error code tells it apart.
            _ if matches!(e, object_store::Error::NotFound { .. }) || e.to_string().contains("NoSuchBucket") => {
                format!("{what}: the bucket '{}' does not exist (setting: content)", self.location.bucket)
            }
            object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => format!(
                "{what}: the credentials were refused (settings: s3-access-key-id, s3-secret-access-key, s3-region): {e}"
            ),
            _ if unreachable(e) => {
                format!("{what}: the endpoint cannot be reached (setting: s3-endpoint): {e}")
            }
            _ => format!("{what} (settings: content, s3-endpoint, s3-region): {e}"),
        })
    }

    fn prefix_path(&self) -> ObjectPath {
        ObjectPath::from(self.location.prefix.as_str())
    }

    /// The object below the prefix at `relative` (`XX/HEX.ext`, `.partial/…`).
    fn object(&self, relative: &str) -> ObjectPath {
        if self.location.prefix.is_empty() {
            ObjectPath::from(relative)
        } else {
            ObjectPath::from(format!("{}/{relative}", self.location.prefix))
        }
    }

    /// The final key of a stored file.
    pub fn key_of(&self, key: &ContentKey) -> String {
        self.object(&key.relative_disk_path()).to_string()
    }

    fn remote_err(&self, action: &'static str, path: &ObjectPath, e: object_store::Error) -> ContentError {
        ContentError::Remote {
            action,
            key: format!("s3://{}/{path}", self.location.bucket),
            source: Box::new(e),
        }
    }

    /// Whether a file is stored.
    pub async fn exists(&self, key: &ContentKey) -> Result<bool, ContentError> {
        let path = self.object(&key.relative_disk_path());
        match self.store.head(&path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.remote_err("inspecting", &path, e)),
        }
    }

    /// The stored file's size and time, for serving it with ranged GETs; `None` when absent.
    pub async fn lookup(self: &Arc<Self>, key: &ContentKey) -> Result<Option<ContentFile>, ContentError> {
        let path = self.object(&key.relative_disk_path());
        let meta = match self.store.head(&path).await {
            Ok(meta) => meta,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.remote_err("inspecting", &path, e)),
        };
        Ok(Some(ContentFile {
            body: ContentBody::S3 {
                store: Arc::clone(self),
                path,
            },
            len: meta.size,
            modified: SystemTime::from(meta.last_modified),
            key: key.clone(),
        }))
    }

    /// Bytes `range` of an object as a stream, fetched with one ranged GET and passed on as
    /// they arrive.
    pub(crate) fn read_range(
        self: &Arc<Self>,
        path: &ObjectPath,
        range: Range<u64>,
    ) -> BoxStream<'static, io::Result<Bytes>> {
        let store = Arc::clone(self);
        let path = path.clone();
        futures_util::stream::once(async move {
            let options = GetOptions {
                range: Some(GetRange::Bounded(range)),
                ..GetOptions::default()
            };
            store
                .store
                .get_opts(&path, options)
                .await
                .map(|got| got.into_stream().map_err(io::Error::other))
                .map_err(io::Error::other)
        })
        .try_flatten()
        .boxed()
    }

    /// Removes a stored file; `Ok(false)` when it wasn't there.
    pub async fn remove(&self, key: &ContentKey) -> Result<bool, ContentError> {
        if !self.exists(key).await? {
            return Ok(false);
        }
        let path = self.object(&key.relative_disk_path());
        self.store
            .delete(&path)
            .await
            .map_err(|e| self.remote_err("removing", &path, e))?;
        Ok(true)
    }

    /// Streams `reader` to the final key, verifying it against `expected` on the way (see
    /// the module documentation). When the file is already stored, the bytes are only read
    /// and verified: the object is not rewritten, so its Last-Modified stays what clients
    /// mid-download have seen.
    pub async fn put_verified<R: AsyncRead>(
        &self,
        reader: R,
        expected: &ExpectedFile,
    ) -> Result<StoredFile, ContentError> {
        let key = ContentKey::for_file(expected.sha1, &expected.file_name)?;
        let path = self.object(&key.relative_disk_path());
        let hashes = if self.exists(&key).await? {
            let mut reader = Chunks::new(reader, expected.size);
            while reader.next().await?.is_some() {}
            reader.finish()
        } else {
            self.upload(reader, expected, &path).await?
        };
        Ok(StoredFile {
            url_path: relative_url_path(&expected.sha1, &expected.file_name)?,
            key,
            sha256: hashes.sha256,
            size: hashes.size,
            path: format!("s3://{}/{path}", self.location.bucket).into(),
        })
    }

    async fn upload<R: AsyncRead>(
        &self,
        reader: R,
        expected: &ExpectedFile,
        path: &ObjectPath,
    ) -> Result<Hashes, ContentError> {
        let upload = self
            .store
            .put_multipart(path)
            .await
            .map_err(|e| self.remote_err("starting the upload of", path, e))?;
        let mut guard = AbortOnDrop(Some(WriteMultipart::new_with_chunk_size(upload, PART_SIZE)));
        let mut reader = Chunks::new(reader, expected.size);
        let sent = async {
            while let Some(chunk) = reader.next().await? {
                let writer = guard.0.as_mut().ok_or_else(|| ContentError::Internal("upload already finished".into()))?;
                writer
                    .wait_for_capacity(PARTS_IN_FLIGHT)
                    .await
                    .map_err(|e| self.remote_err("uploading", path, e))?;
                writer.put(chunk);
            }
            Ok(())
        }
        .await;
        let verdict = sent.and_then(|()| {
            let hashes = reader.finish();
            check(expected, &hashes).map(|()| hashes)
        });
        let Some(writer) = guard.0.take() else {
            return Err(ContentError::Internal("upload already finished".into()));
        };
        match verdict {
            Ok(hashes) => {
                writer
                    .finish()
                    .await
                    .map_err(|e| self.remote_err("completing the upload of", path, e))?;
                Ok(hashes)
            }
            Err(e) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(key = %path, error = %abort, "could not abort a failed upload");
                }
                Err(e)
            }
        }
    }
}

/// A source read in chunks and hashed on the way: each chunk is hashed on the blocking pool
/// (a 4 GB file is seconds of CPU the runtime's workers must not spend). Reading stops as soon
/// as the size passes the expected one.
struct Chunks<R> {
    reader: std::pin::Pin<Box<R>>,
    hasher: Option<Hasher>,
    limit: Option<u64>,
    total: u64,
}

impl<R: AsyncRead> Chunks<R> {
    fn new(reader: R, limit: Option<u64>) -> Self {
        Self {
            reader: Box::pin(reader),
            hasher: Some(Hasher::default()),
            limit,
            total: 0,
        }
    }

    /// The next chunk, already hashed; `None` at the end.
    async fn next(&mut self) -> Result<Option<Bytes>, ContentError> {
        let mut buf = BytesMut::with_capacity(CHUNK);
        while buf.len() < CHUNK {
            if self.reader.read_buf(&mut buf).await.map_err(ContentError::Source)? == 0 {
                break;
            }
        }
        if buf.is_empty() {
            return Ok(None);
        }
        self.total += buf.len() as u64;
        if let Some(size) = self.limit
            && self.total > size
        {
            return Err(ContentError::SizeMismatch {
                expected: size,
                actual: self.total,
            });
        }
        let chunk = buf.freeze();
        let for_hash = chunk.clone();
        let mut hasher = self.hasher.take().unwrap_or_default();
        self.hasher = Some(
            tokio::task::spawn_blocking(move || {
                hasher.update(&for_hash);
                hasher
            })
            .await
            .map_err(|e| ContentError::Internal(format!("hashing task failed: {e}")))?,
        );
        Ok(Some(chunk))
    }

    fn finish(&mut self) -> Hashes {
        self.hasher.take().unwrap_or_default().finish()
    }
}

/// Aborts a multipart upload that was neither completed nor aborted, for a put whose future
/// was dropped mid-way. The abort runs on the runtime; if there is none (shutdown), the
/// upload stays incomplete, which S3 keeps invisible.
struct AbortOnDrop(Option<WriteMultipart>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(writer) = self.0.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                if let Err(e) = writer.abort().await {
                    tracing::warn!(error = %e, "could not abort a cancelled upload");
                }
            });
        }
    }
}

/// One attempt per request: a start must fail fast on a wrong endpoint, not retry for
/// minutes. (Transfers keep `object_store`'s retries.)
pub fn no_retries() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: 0,
        retry_timeout: Duration::from_secs(10),
    }
}

/// Whether an `object_store` error means the endpoint never answered.
fn unreachable(e: &object_store::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(http) = err.downcast_ref::<HttpError>() {
            return matches!(http.kind(), HttpErrorKind::Connect | HttpErrorKind::Timeout);
        }
        source = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert!(S3Location::parse("/srv/content").is_none());
        let l = S3Location::parse("s3://updates/wsus/content/").unwrap().unwrap();
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("updates", "wsus/content"));
        assert_eq!(l.to_string(), "s3://updates/wsus/content");
        let root = S3Location::parse("s3://updates").unwrap().unwrap();
        assert_eq!(root.prefix, "");
        for bad in ["s3://", "s3://Upper", "s3://ab", "s3://b-/x", "s3://ok-bucket/a//b", "s3://ok-bucket/../x"] {
            assert!(S3Location::parse(bad).unwrap().is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
