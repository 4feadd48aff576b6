//! Sluice xpress: the `xpress` HTTP content coding of MS-WUSP 2.1.1, sans-I/O.
//!
//! Windows Update clients send `Accept-Encoding: xpress` on every SOAP request, and a WSUS
//! server SHOULD then answer with `Content-Encoding: xpress` (MS-WUSP 2.1). The coding splits the
//! body into blocks of at most 65,535 bytes; each block is compressed on its own with MS-XCA
//! "Plain LZ77" (see [`lz77`]) and preceded by an 8-byte header:
//!
//! | bytes | field | meaning |
//! | --- | --- | --- |
//! | 0..4 | `original` | signed 32-bit little-endian: the block's uncompressed size |
//! | 4..8 | `compressed` | signed 32-bit little-endian: the size of the payload that follows |
//!
//! Both sizes MUST NOT exceed 65,535 (MS-WUSP 2.1.1). A block whose `compressed` size equals its
//! `original` size is stored raw: MS-WUSP does not say so, but a real Windows Server 2025 WSUS
//! emits such blocks for data that does not shrink and the Windows client accepts them (see
//! `notes/real-client-lessons.md` §10). It is also the only way to honour the 65,535-byte limit
//! for an incompressible full-size block, whose literal-only encoding would be 73,727 bytes.
//!
//! ```
//! let body = b"<s:Envelope><s:Body>...</s:Body></s:Envelope>".repeat(100);
//! let wire = sluice_xpress::compress(&body);
//! assert!(wire.len() < body.len() / 10);
//! assert_eq!(sluice_xpress::decompress(&wire)?, body);
//! # Ok::<(), sluice_xpress::XpressError>(())
//! ```

use thiserror::Error;

pub mod lz77;

pub use lz77::Lz77Error;

/// The HTTP content-coding token, as in `Accept-Encoding: xpress` / `Content-Encoding: xpress`.
pub const CONTENT_CODING: &str = "xpress";

/// The largest block size MS-WUSP 2.1.1 allows, for both the original and the compressed size.
/// It is also the size Windows uses (MS-WUSP note <8>), and what [`compress`] uses.
pub const MAX_BLOCK_SIZE: usize = 65_535;

/// Size of a block header: original size and compressed size, 4 bytes each.
pub const BLOCK_HEADER_LEN: usize = 8;

/// The output limit of [`decompress`]: far above any SOAP response Sluice handles, far below what
/// would hurt the server.
pub const DEFAULT_DECOMPRESSED_LIMIT: usize = 64 << 20;

/// Errors of [`decompress`] and [`decompress_with_limit`]. Offsets are byte offsets into the
/// framed input, pointing at the start of the offending block header.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum XpressError {
    /// Fewer than 8 bytes remain where a block header should start.
    #[error("xpress block header at offset {offset} is truncated ({available} of 8 bytes)")]
    TruncatedHeader {
        /// Offset of the header.
        offset: usize,
        /// Bytes left in the input.
        available: usize,
    },
    /// A size in a block header is zero, negative or above [`MAX_BLOCK_SIZE`].
    #[error(
        "xpress block header at offset {offset} is invalid \
         (original size {original}, compressed size {compressed})"
    )]
    InvalidHeader {
        /// Offset of the header.
        offset: usize,
        /// The `original` field as a signed integer, as MS-WUSP defines it.
        original: i32,
        /// The `compressed` field as a signed integer.
        compressed: i32,
    },
    /// The input ends before the block payload its header announces.
    #[error(
        "xpress block at offset {offset} is truncated \
         (header announces {compressed} payload bytes, {available} remain)"
    )]
    TruncatedBlock {
        /// Offset of the header.
        offset: usize,
        /// Payload size the header announces.
        compressed: usize,
        /// Bytes left after the header.
        available: usize,
    },
    /// The block's Plain LZ77 payload is invalid, or decodes to more than its header says.
    #[error("xpress block at offset {offset} is corrupt: {source}")]
    CorruptBlock {
        /// Offset of the header.
        offset: usize,
        /// What is wrong with the payload.
        #[source]
        source: Lz77Error,
    },
    /// The block's payload decodes to fewer bytes than its header says.
    #[error(
        "xpress block at offset {offset} decodes to {actual} bytes, its header says {expected}"
    )]
    SizeMismatch {
        /// Offset of the header.
        offset: usize,
        /// The header's `original` size.
        expected: usize,
        /// What the payload decoded to.
        actual: usize,
    },
    /// The decoded output would exceed the caller's limit.
    #[error("xpress body decodes to more than the limit of {limit} bytes")]
    OutputLimitExceeded {
        /// The limit the caller gave.
        limit: usize,
    },
}

/// Encodes `input` with the `xpress` content coding, in blocks of [`MAX_BLOCK_SIZE`] bytes.
///
/// Empty input gives empty output (zero blocks); a server should not compress an empty body in
/// the first place. Blocks that Plain LZ77 does not shrink are stored raw (see the crate docs).
pub fn compress(input: &[u8]) -> Vec<u8> {
    compress_with_block_size(input, MAX_BLOCK_SIZE)
}

/// Like [`compress`], with blocks of `block_size` uncompressed bytes (the last one may be
/// shorter). `block_size` is clamped to `1..=MAX_BLOCK_SIZE`.
///
/// Smaller blocks compress slightly worse; this exists for interoperability experiments (a real
/// WSUS was observed using 16,352-byte blocks) and for tests.
pub fn compress_with_block_size(input: &[u8], block_size: usize) -> Vec<u8> {
    let block_size = block_size.clamp(1, MAX_BLOCK_SIZE);
    // SOAP XML usually shrinks 4-6x; one reservation covers it, larger outputs just grow.
    let mut out = Vec::with_capacity(input.len() / 3 + BLOCK_HEADER_LEN);
    let mut finder = lz77::MatchFinder::new();
    for block in input.chunks(block_size) {
        let header_at = out.len();
        out.extend_from_slice(&[0; BLOCK_HEADER_LEN]);
        let payload_at = out.len();
        // The payload must be strictly smaller than the block, or a decoder would take it for a
        // raw block; the encoder gives up as soon as it cannot be.
        let shrank = lz77::encode(&mut finder, block, &mut out, block.len() - 1);
        if !shrank {
            out.truncate(payload_at);
            out.extend_from_slice(block);
        }
        let compressed = out.len() - payload_at;
        // Both fit: blocks are at most MAX_BLOCK_SIZE and a payload is never larger than its block.
        let original = block.len() as u32;
        let compressed = compressed as u32;
        out[header_at..header_at + 4].copy_from_slice(&original.to_le_bytes());
        out[header_at + 4..payload_at].copy_from_slice(&compressed.to_le_bytes());
    }
    out
}

/// Decodes an `xpress`-coded body, producing at most [`DEFAULT_DECOMPRESSED_LIMIT`] bytes.
pub fn decompress(input: &[u8]) -> Result<Vec<u8>, XpressError> {
    decompress_with_limit(input, DEFAULT_DECOMPRESSED_LIMIT)
}

/// Decodes an `xpress`-coded body, producing at most `max_out` bytes.
///
/// The input must be a sequence of whole blocks; empty input decodes to empty output. Every
/// block is checked against its header: a payload that is truncated, decodes to a different
/// size, or references data before the block start is an error. Memory use is bounded by
/// `max_out` (plus one block) regardless of what the headers claim.
pub fn decompress_with_limit(input: &[u8], max_out: usize) -> Result<Vec<u8>, XpressError> {
    // Headers are untrusted, so grow with the data actually decoded instead of trusting a sum.
    let mut out = Vec::with_capacity(input.len().saturating_mul(4).min(max_out));
    let mut offset = 0;
    while offset < input.len() {
        let rest = &input[offset..];
        let header: [u8; BLOCK_HEADER_LEN] = rest
            .get(..BLOCK_HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(XpressError::TruncatedHeader {
                offset,
                available: rest.len(),
            })?;
        let original_field = i32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let compressed_field = i32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let (original, compressed) = match (
            block_size_field(original_field),
            block_size_field(compressed_field),
        ) {
            (Some(o), Some(c)) => (o, c),
            _ => {
                return Err(XpressError::InvalidHeader {
                    offset,
                    original: original_field,
                    compressed: compressed_field,
                });
            }
        };
        let payload =
            rest[BLOCK_HEADER_LEN..]
                .get(..compressed)
                .ok_or(XpressError::TruncatedBlock {
                    offset,
                    compressed,
                    available: rest.len() - BLOCK_HEADER_LEN,
                })?;
        if original > max_out - out.len() {
            return Err(XpressError::OutputLimitExceeded { limit: max_out });
        }

        if compressed == original {
            out.extend_from_slice(payload);
        } else {
            let actual = lz77::decompress_block_into(payload, &mut out, original)
                .map_err(|source| XpressError::CorruptBlock { offset, source })?;
            if actual != original {
                return Err(XpressError::SizeMismatch {
                    offset,
                    expected: original,
                    actual,
                });
            }
        }
        offset += BLOCK_HEADER_LEN + compressed;
    }
    Ok(out)
}

/// A header size field as a length, if it is within `1..=MAX_BLOCK_SIZE`.
fn block_size_field(field: i32) -> Option<usize> {
    usize::try_from(field)
        .ok()
        .filter(|&size| (1..=MAX_BLOCK_SIZE).contains(&size))
}
