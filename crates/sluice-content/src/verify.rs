//! Verification of content bytes: SHA-1, SHA-256 and size computed in one pass and compared
//! with what the metadata promises. Shared by both backends, so the local directory and S3
//! accept exactly the same bytes.

use std::io::{self, Read};
use std::path::Path;
use std::pin::pin;

use bytes::{Bytes, BytesMut};
use sha1::{Digest, Sha1};
use sha2::Sha256;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::ContentError;
use crate::store::ExpectedFile;

/// Read size from sources and from disk when hashing. Large enough that per-chunk
/// overhead (channel hop, syscalls) is noise next to hashing.
pub(crate) const CHUNK: usize = 256 * 1024;

/// Reads `reader` to the end into the pipe, refusing more than `limit` bytes.
pub(crate) async fn pump<R: AsyncRead>(
    reader: R,
    tx: &tokio::sync::mpsc::Sender<Bytes>,
    limit: Option<u64>,
) -> Result<(), ContentError> {
    let mut reader = pin!(reader);
    let mut total = 0u64;
    loop {
        // Fill a whole chunk before handing it over: network reads are often a few KiB,
        // and sending each one would cost a channel hop and a half-empty allocation.
        let mut buf = BytesMut::with_capacity(CHUNK);
        let mut eof = false;
        while buf.len() < CHUNK {
            let n = reader
                .read_buf(&mut buf)
                .await
                .map_err(ContentError::Source)?;
            if n == 0 {
                eof = true;
                break;
            }
            total += n as u64;
            if let Some(size) = limit
                && total > size
            {
                return Err(ContentError::SizeMismatch {
                    expected: size,
                    actual: total,
                });
            }
        }
        if !buf.is_empty() && tx.send(buf.freeze()).await.is_err() {
            // The writer stopped (write error); its own error is reported by the caller.
            return Ok(());
        }
        if eof {
            return Ok(());
        }
    }
}

#[derive(Default)]
pub(crate) struct Hasher {
    sha1: Sha1,
    sha256: Sha256,
    size: u64,
}

pub(crate) struct Hashes {
    pub(crate) sha1: [u8; 20],
    pub(crate) sha256: [u8; 32],
    pub(crate) size: u64,
}

impl Hasher {
    pub(crate) fn update(&mut self, data: &[u8]) {
        self.sha1.update(data);
        self.sha256.update(data);
        self.size += data.len() as u64;
    }

    pub(crate) fn finish(self) -> Hashes {
        Hashes {
            sha1: self.sha1.finalize().into(),
            sha256: self.sha256.finalize().into(),
            size: self.size,
        }
    }
}

pub(crate) fn check(expected: &ExpectedFile, got: &Hashes) -> Result<(), ContentError> {
    if let Some(size) = expected.size
        && size != got.size
    {
        return Err(ContentError::SizeMismatch {
            expected: size,
            actual: got.size,
        });
    }
    if expected.sha1 != got.sha1 {
        return Err(ContentError::Sha1Mismatch {
            expected: hex::encode(expected.sha1),
            actual: hex::encode(got.sha1),
        });
    }
    if let Some(want) = expected.sha256
        && want != got.sha256
    {
        return Err(ContentError::Sha256Mismatch {
            expected: hex::encode(want),
            actual: hex::encode(got.sha256),
        });
    }
    Ok(())
}

pub(crate) fn hash_file(path: &Path) -> Result<Hashes, ContentError> {
    let mut file = std::fs::File::open(path).map_err(|e| ContentError::io("opening", path, e))?;
    let mut hasher = Hasher::default();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ContentError::io("reading", path, e)),
        };
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finish())
}

