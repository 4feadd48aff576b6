//! The update metadata blob of GetUpdateData.
//!
//! A real WSUS sends each update document as one of:
//!
//! - `XmlUpdateBlob`: the document as text (escaped inside the SOAP body), when its UTF-16 form
//!   is at most [`COMPRESSION_THRESHOLD_BYTES`] bytes;
//! - `XmlUpdateBlobCompressed`: base64 of a Microsoft Cabinet with one folder and one member
//!   named `blob`, holding the document as UTF-16LE without BOM or XML declaration. Real WSUS
//!   cabinets use LZX with a 2 MiB window, zero file date, time and attributes, and checksummed
//!   data blocks of 32 KiB.
//!
//! Decoding accepts what the `cab` crate reads (uncompressed, MSZIP, LZX). Encoding writes MSZIP,
//! because no LZX encoder exists in Rust: MSZIP is the base compression of the CAB format and
//! every cabinet reader supports it (libmspack's `cabextract` extracts ours byte for byte, and
//! so does our own decoder), but whether a real WSUS downstream accepts an MSZIP blob has not
//! been observed. An upstream that wants to be safe sends [`UpdateBlob::Plain`], which costs only
//! response size (the protocol allows either form for any document); the 2,000,000-byte limit
//! Windows puts on a GetUpdateData response is the reason to compress at all.

use std::borrow::Cow;
use std::io::{Cursor, Read as _, Write as _};
use std::panic::{AssertUnwindSafe, catch_unwind};

use cab::{Cabinet, CabinetBuilder, CompressionType};
use time::macros::datetime;

/// Name of the one member of an `XmlUpdateBlobCompressed` cabinet.
pub const BLOB_MEMBER: &str = "blob";

/// Size of the UTF-16 form above which real WSUS compresses a document ([MS-WSUSSS] product
/// note; the captures agree: 2,864 and 3,746 bytes were sent as text, 6,492 and more compressed).
pub const COMPRESSION_THRESHOLD_BYTES: usize = 5120;

/// Largest decompressed blob [`decode_update_blob`] accepts: the UTF-16 form of the largest
/// update document Sluice ingests (16 MiB of ASCII-heavy UTF-8 doubles in UTF-16).
pub const MAX_BLOB_BYTES: usize = 32 * 1024 * 1024;

/// Largest LZX window the cabinet format allows (2^21 bytes); larger windows are LZX DELTA, never
/// seen in a cabinet, and would only make a hostile blob allocate more.
const MAX_LZX_WINDOW_BITS: u16 = 21;

/// Most bytes one cabinet data block may expand to ([MS-CAB] 2.4: 32 KiB).
const MAX_BLOCK_BYTES: u16 = 0x8000;

/// Why a blob could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlobError {
    /// The bytes do not start with a cabinet header.
    #[error("not a Microsoft Cabinet")]
    NotCabinet,
    /// A cabinet, but not one folder with one member `blob` (or a header field is out of range).
    #[error("unexpected cabinet layout: {0}")]
    Layout(String),
    /// The cabinet's data could not be decompressed.
    #[error("corrupt cabinet: {0}")]
    Corrupt(String),
    /// The document is larger than the limit.
    #[error("update document of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: u64, limit: usize },
    /// The member is not UTF-16LE text.
    #[error("the blob is not UTF-16LE text: {0}")]
    NotUtf16(String),
    /// The cabinet could not be written.
    #[error("cannot write the cabinet: {0}")]
    Write(String),
}

/// The metadata of one update as GetUpdateData carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateBlob {
    /// `XmlUpdateBlob`: the document itself.
    Plain(String),
    /// `XmlUpdateBlobCompressed`: the cabinet bytes (base64-decoded).
    Compressed(Vec<u8>),
}

impl UpdateBlob {
    /// The document as text (decompressing with [`decode_update_blob`] if needed).
    pub fn xml(&self) -> Result<Cow<'_, str>, BlobError> {
        match self {
            UpdateBlob::Plain(s) => Ok(Cow::Borrowed(s)),
            UpdateBlob::Compressed(cab) => decode_update_blob(cab).map(Cow::Owned),
        }
    }

    /// The form a real WSUS would choose: text up to [`COMPRESSION_THRESHOLD_BYTES`] of UTF-16,
    /// an (MSZIP) cabinet above. See the module notes on MSZIP before using it as an upstream.
    pub fn like_wsus(xml: &str) -> Result<UpdateBlob, BlobError> {
        if utf16_len(xml) <= COMPRESSION_THRESHOLD_BYTES {
            Ok(UpdateBlob::Plain(xml.to_string()))
        } else {
            encode_update_blob_compressed(xml).map(UpdateBlob::Compressed)
        }
    }
}

/// Bytes of the UTF-16 form of `s`, the measure of the compression threshold.
pub fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum::<usize>() * 2
}

/// Decodes an `XmlUpdateBlobCompressed` cabinet into the update document, with the
/// [`MAX_BLOB_BYTES`] limit.
pub fn decode_update_blob(cab: &[u8]) -> Result<String, BlobError> {
    decode_update_blob_with_limit(cab, MAX_BLOB_BYTES)
}

/// [`decode_update_blob`] with a limit (in bytes of UTF-16) on the decompressed member.
///
/// The layout is checked before anything is decompressed: exactly one folder and one member
/// named `blob` starting at offset 0 of its folder, no multi-cabinet spanning, a declared size
/// within the limit, and an LZX window the format allows. A leading UTF-16 BOM is dropped.
pub fn decode_update_blob_with_limit(cab: &[u8], limit: usize) -> Result<String, BlobError> {
    let size = check_layout(cab, limit)?;
    // `cab` and its LZX decoder are bit-level parsers of hostile input; a panic in them must
    // reach the caller as an error, not unwind through a sync worker.
    let bytes = catch_unwind(AssertUnwindSafe(|| read_member(cab, size)))
        .map_err(|_| BlobError::Corrupt("the decompressor failed on this data".into()))??;
    utf16le_to_string(&bytes)
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Validates the fixed header fields ([MS-CAB] 2.1–2.3) and returns the member's size.
fn check_layout(cab: &[u8], limit: usize) -> Result<u32, BlobError> {
    const HEADER: usize = 36;
    const FLAG_PREV: u16 = 0x0001;
    const FLAG_NEXT: u16 = 0x0002;
    const FLAG_RESERVE: u16 = 0x0004;
    if cab.len() < 4 || &cab[..4] != b"MSCF" {
        return Err(BlobError::NotCabinet);
    }
    let layout = |s: &str| BlobError::Layout(s.to_string());
    if cab.len() < HEADER {
        return Err(layout("truncated header"));
    }
    let declared = le32(cab, 8) as usize;
    if declared > cab.len() {
        return Err(BlobError::Layout(format!("the header declares {declared} bytes, the blob has {}", cab.len())));
    }
    let files_at = le32(cab, 16) as usize;
    let (minor, major) = (cab[24], cab[25]);
    if (major, minor) != (1, 3) {
        return Err(BlobError::Layout(format!("cabinet format version {major}.{minor}")));
    }
    let (folders, files, flags) = (le16(cab, 26), le16(cab, 28), le16(cab, 30));
    if folders != 1 || files != 1 {
        return Err(BlobError::Layout(format!("{folders} folders and {files} files, not one of each")));
    }
    if flags & (FLAG_PREV | FLAG_NEXT) != 0 {
        return Err(layout("part of a multi-cabinet set"));
    }
    let mut folder_at = HEADER;
    let mut folder_reserve = 0usize;
    let mut data_reserve = 0usize;
    if flags & FLAG_RESERVE != 0 {
        if cab.len() < HEADER + 4 {
            return Err(layout("truncated reserve sizes"));
        }
        folder_at += 4 + le16(cab, HEADER) as usize;
        folder_reserve = cab[HEADER + 2] as usize;
        data_reserve = cab[HEADER + 3] as usize;
    }
    if cab.len() < folder_at + 8 + folder_reserve {
        return Err(layout("truncated folder entry"));
    }
    let data_at = le32(cab, folder_at) as usize;
    let blocks = le16(cab, folder_at + 4);
    let compression = le16(cab, folder_at + 6);
    match compression & 0x000f {
        0 | 1 => {}
        3 => {
            let window = (compression >> 8) & 0x1f;
            if !(15..=MAX_LZX_WINDOW_BITS).contains(&window) {
                return Err(BlobError::Layout(format!("LZX window of 2^{window} bytes")));
            }
        }
        other => return Err(BlobError::Layout(format!("compression type {other} (only none, MSZIP and LZX)"))),
    }
    // CFFILE: cbFile, uoffFolderStart, iFolder, date, time, attribs, szName.
    if cab.len() < files_at.saturating_add(17) {
        return Err(layout("truncated file entry"));
    }
    let size = le32(cab, files_at);
    let offset = le32(cab, files_at + 4);
    let folder = le16(cab, files_at + 8);
    let name_end = cab[files_at + 16..].iter().position(|&b| b == 0).map(|p| files_at + 16 + p);
    let name = name_end.map(|end| &cab[files_at + 16..end]);
    if name != Some(BLOB_MEMBER.as_bytes()) {
        return Err(BlobError::Layout(format!(
            "the member is {:?}, not \"blob\"",
            name.map(String::from_utf8_lossy).unwrap_or_default()
        )));
    }
    if offset != 0 || folder != 0 {
        return Err(layout("the member does not start its folder"));
    }
    if size as usize > limit {
        return Err(BlobError::TooLarge { size: size.into(), limit });
    }
    // CFDATA: csum, cbData, cbUncomp, reserve, data. Each block holds at most 32 KiB
    // uncompressed, and with one member the blocks must add up to its size exactly. Checking it
    // here keeps out-of-spec block sizes away from the decompressors, which trust them.
    let mut at = data_at;
    let mut total: u64 = 0;
    for i in 0..blocks {
        if cab.len() < at.saturating_add(8 + data_reserve) {
            return Err(BlobError::Layout(format!("data block {i} lies outside the blob")));
        }
        let (packed, unpacked) = (le16(cab, at + 4) as usize, le16(cab, at + 6));
        if unpacked == 0 || unpacked > MAX_BLOCK_BYTES {
            return Err(BlobError::Layout(format!("data block {i} expands to {unpacked} bytes")));
        }
        at = at.saturating_add(8 + data_reserve + packed);
        if at > cab.len() {
            return Err(BlobError::Layout(format!("data block {i} lies outside the blob")));
        }
        total += u64::from(unpacked);
    }
    if total != u64::from(size) {
        return Err(BlobError::Layout(format!("the data blocks expand to {total} bytes, the member has {size}")));
    }
    Ok(size)
}

fn read_member(cab: &[u8], size: u32) -> Result<Vec<u8>, BlobError> {
    let corrupt = |e: std::io::Error| BlobError::Corrupt(e.to_string());
    let mut cabinet = Cabinet::new(Cursor::new(cab)).map_err(corrupt)?;
    let reader = cabinet.read_file(BLOB_MEMBER).map_err(corrupt)?;
    let mut out = Vec::with_capacity(size as usize);
    // The file reader stops at the declared size, which check_layout bounded by the limit.
    reader.take(u64::from(size)).read_to_end(&mut out).map_err(corrupt)?;
    if out.len() != size as usize {
        return Err(BlobError::Corrupt(format!("the data blocks hold {} of {size} bytes", out.len())));
    }
    Ok(out)
}

fn utf16le_to_string(bytes: &[u8]) -> Result<String, BlobError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(BlobError::NotUtf16(format!("odd length {}", bytes.len())));
    }
    let units = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    let mut s = String::with_capacity(bytes.len() / 2);
    for (i, c) in char::decode_utf16(units).enumerate() {
        match c {
            Ok('\u{FEFF}') if i == 0 => {}
            Ok(c) => s.push(c),
            Err(e) => return Err(BlobError::NotUtf16(format!("unpaired surrogate 0x{:04X}", e.unpaired_surrogate()))),
        }
    }
    Ok(s)
}

/// Encodes an update document as an `XmlUpdateBlobCompressed` cabinet: one MSZIP folder, one
/// member `blob` holding the document as UTF-16LE without BOM, file date, time and attributes
/// zero as in real WSUS blobs. Deterministic: the same document gives the same bytes.
pub fn encode_update_blob_compressed(xml: &str) -> Result<Vec<u8>, BlobError> {
    let utf16: Vec<u8> = xml.encode_utf16().flat_map(u16::to_le_bytes).collect();
    // A cabinet member's size is a u32, and nothing larger than our own decode limit is useful.
    if utf16.len() > MAX_BLOB_BYTES {
        return Err(BlobError::TooLarge { size: utf16.len() as u64, limit: MAX_BLOB_BYTES });
    }
    let write = |e: std::io::Error| BlobError::Write(e.to_string());
    let mut builder = CabinetBuilder::new();
    {
        let file = builder.add_folder(CompressionType::MsZip).add_file(BLOB_MEMBER);
        file.set_is_archive(false);
        // Replaced by zeros below; fixed here so the builder does not stamp the current time.
        file.set_datetime(datetime!(1980-01-01 00:00:00));
    }
    let mut writer = builder.build(Cursor::new(Vec::with_capacity(utf16.len() / 3 + 128))).map_err(write)?;
    while let Some(mut member) = writer.next_file().map_err(write)? {
        member.write_all(&utf16).map_err(write)?;
    }
    let mut cab = writer.finish().map_err(write)?.into_inner();
    // The builder clamps dates to 1980-01-01 (0x0021); real WSUS writes an all-zero date and
    // time. The header is outside the data checksums, so patching it is safe.
    let files_at = le32(&cab, 16) as usize;
    if let Some(date_time) = cab.get_mut(files_at + 10..files_at + 14) {
        date_time.fill(0);
    }
    Ok(cab)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_length_counts_surrogate_pairs() {
        assert_eq!(utf16_len(""), 0);
        assert_eq!(utf16_len("ab"), 4);
        assert_eq!(utf16_len("é"), 2);
        assert_eq!(utf16_len("\u{1F600}"), 4);
    }

    #[test]
    fn mszip_round_trip_across_blocks() {
        // Several 32 KiB data blocks, non-ASCII, and a supplementary character.
        let xml = format!("<upd:Update>{}</upd:Update>", "Größe \u{1F600} <x a=\"1\"/>".repeat(9000));
        let cab = encode_update_blob_compressed(&xml).expect("encodes");
        assert_eq!(&cab[..4], b"MSCF");
        assert_eq!(decode_update_blob(&cab).expect("decodes"), xml);
        assert_eq!(encode_update_blob_compressed(&xml).expect("encodes"), cab, "deterministic");
        // Real-WSUS header shape: one folder, one file `blob`, MSZIP, zero date/time/attributes.
        assert_eq!((le16(&cab, 26), le16(&cab, 28)), (1, 1));
        assert_eq!(le16(&cab, 36 + 6), 1);
        assert_eq!(&cab[44 + 10..44 + 16], &[0; 6]);
        assert_eq!(&cab[44 + 16..44 + 21], b"blob\0");
    }

    #[test]
    fn empty_document_round_trips() {
        let cab = encode_update_blob_compressed("").expect("encodes");
        assert_eq!(decode_update_blob(&cab).expect("decodes"), "");
    }

    #[test]
    fn like_wsus_switches_at_the_threshold() {
        let small = "a".repeat(COMPRESSION_THRESHOLD_BYTES / 2);
        assert!(matches!(UpdateBlob::like_wsus(&small), Ok(UpdateBlob::Plain(_))));
        let large = "a".repeat(COMPRESSION_THRESHOLD_BYTES / 2 + 1);
        let blob = UpdateBlob::like_wsus(&large).expect("encodes");
        assert!(matches!(blob, UpdateBlob::Compressed(_)));
        assert_eq!(blob.xml().expect("decodes"), large);
    }

    #[test]
    fn limit_is_checked_before_decompression() {
        let cab = encode_update_blob_compressed(&"x".repeat(1000)).expect("encodes");
        assert_eq!(decode_update_blob_with_limit(&cab, 1999), Err(BlobError::TooLarge { size: 2000, limit: 1999 }));
        assert!(decode_update_blob_with_limit(&cab, 2000).is_ok());
    }

    #[test]
    fn bom_is_dropped_and_bad_utf16_refused() {
        assert_eq!(utf16le_to_string(&[0xFF, 0xFE, b'a', 0]).as_deref(), Ok("a"));
        assert!(matches!(utf16le_to_string(&[b'a', 0, 0]), Err(BlobError::NotUtf16(_))));
        assert!(matches!(utf16le_to_string(&[0x00, 0xD8, b'a', 0]), Err(BlobError::NotUtf16(_))));
    }
}
