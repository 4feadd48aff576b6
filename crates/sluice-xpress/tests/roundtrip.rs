//! Round trips, block boundaries, real SOAP bodies and hostile input.

use std::path::{Path, PathBuf};

use sluice_xpress::lz77::{self, Lz77Error};
use sluice_xpress::{
    BLOCK_HEADER_LEN, MAX_BLOCK_SIZE, XpressError, compress, compress_with_block_size, decompress,
    decompress_with_limit,
};

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Splits a framed body into `(original, compressed)` header pairs, checking the layout.
fn headers(framed: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < framed.len() {
        let original = i32::from_le_bytes(framed[at..at + 4].try_into().unwrap());
        let compressed = i32::from_le_bytes(framed[at + 4..at + 8].try_into().unwrap());
        let (original, compressed) = (original as usize, compressed as usize);
        assert!((1..=MAX_BLOCK_SIZE).contains(&original));
        assert!(
            (1..=original).contains(&compressed),
            "payload never larger than block"
        );
        out.push((original, compressed));
        at += BLOCK_HEADER_LEN + compressed;
    }
    assert_eq!(at, framed.len());
    out
}

fn round_trip(input: &[u8]) -> Vec<u8> {
    let framed = compress(input);
    assert_eq!(decompress(&framed).unwrap(), input);
    let block = lz77::compress_block(input);
    assert!(block.len() <= lz77::max_compressed_len(input.len()));
    assert_eq!(lz77::decompress_block(&block, input.len()).unwrap(), input);
    framed
}

#[test]
fn empty_input_is_zero_blocks() {
    assert!(round_trip(b"").is_empty());
    assert_eq!(decompress(b"").unwrap(), b"");
}

#[test]
fn one_byte_is_stored_raw() {
    let framed = round_trip(b"x");
    assert_eq!(framed, [1, 0, 0, 0, 1, 0, 0, 0, b'x']);
}

#[test]
fn block_boundaries() {
    let xml = soap_bodies().concat();
    let mut data = Vec::new();
    while data.len() < 3 * MAX_BLOCK_SIZE {
        data.extend_from_slice(&xml);
    }
    for len in [
        MAX_BLOCK_SIZE - 1,
        MAX_BLOCK_SIZE,
        MAX_BLOCK_SIZE + 1,
        65_536,
        65_537,
        2 * MAX_BLOCK_SIZE,
        2 * MAX_BLOCK_SIZE + 1,
    ] {
        let framed = round_trip(&data[..len]);
        let sizes: Vec<usize> = headers(&framed).iter().map(|h| h.0).collect();
        let mut expected = vec![MAX_BLOCK_SIZE; len / MAX_BLOCK_SIZE];
        if len % MAX_BLOCK_SIZE != 0 {
            expected.push(len % MAX_BLOCK_SIZE);
        }
        assert_eq!(sizes, expected, "len {len}");
    }
}

#[test]
fn incompressible_data_is_stored_raw_in_full_blocks() {
    let data = noise(3 * MAX_BLOCK_SIZE + 100, 7);
    let framed = round_trip(&data);
    let h = headers(&framed);
    assert_eq!(h.len(), 4);
    assert!(h.iter().all(|&(o, c)| o == c));
    assert_eq!(framed.len(), data.len() + 4 * BLOCK_HEADER_LEN);
}

#[test]
fn mixed_blocks_choose_per_block() {
    // One compressible block, one noise block, one compressible block.
    let mut data = b"<UpdateInfo/>".repeat(MAX_BLOCK_SIZE / 13 + 1)[..MAX_BLOCK_SIZE].to_vec();
    data.extend_from_slice(&noise(MAX_BLOCK_SIZE, 3));
    data.extend_from_slice(&b"<a/>".repeat(1000));
    let framed = round_trip(&data);
    let h = headers(&framed);
    assert!(h[0].1 < h[0].0 / 20);
    assert_eq!(h[1].0, h[1].1);
    assert!(h[2].1 < 100);
}

#[test]
fn several_megabytes() {
    let xml = soap_bodies().concat();
    let mut data = Vec::new();
    let mut seed = 1;
    while data.len() < 5 << 20 {
        data.extend_from_slice(&xml);
        data.extend_from_slice(&noise(1000, seed));
        seed += 1;
    }
    let framed = round_trip(&data);
    assert!(framed.len() < data.len() / 3);
}

#[test]
fn random_bytes() {
    for (len, seed) in [(10, 1), (1000, 2), (100_000, 3), (1 << 20, 4)] {
        round_trip(&noise(len, seed));
    }
}

#[test]
fn highly_repetitive_data() {
    for data in [
        vec![0u8; 3 << 20],
        vec![b'a'; 65_540],
        b"ab".repeat(100_000),
        b"abc".repeat(100_000),
    ] {
        let framed = round_trip(&data);
        // Long matches cost at most 6 bytes, so runs are almost free.
        assert!(framed.len() < data.len() / 100, "len {}", data.len());
    }
}

#[test]
fn window_is_8_kib() {
    // A period of exactly 8192 bytes is reachable: each block pays for its first period in
    // literals and matches the rest.
    let data = noise(8192, 9).repeat(16);
    let framed = round_trip(&data);
    for (original, compressed) in headers(&framed) {
        assert!(
            compressed < 8192 + 8192 / 8 + 200.min(original),
            "{original} -> {compressed}"
        );
    }
    // One byte more and nothing repeats within reach: every block is stored raw.
    let data = noise(8193, 9).repeat(16);
    let framed = round_trip(&data);
    assert!(headers(&framed).iter().all(|&(o, c)| o == c));
}

#[test]
fn long_matches_in_one_block() {
    // A single block longer than 64 KiB exercises the u32 length field (MS-XCA 2.3.4).
    let data = vec![b'z'; 200_000];
    let block = lz77::compress_block(&data);
    assert!(block.len() < 20, "{} bytes", block.len());
    assert_eq!(lz77::decompress_block(&block, data.len()).unwrap(), data);
}

#[test]
fn framed_blocks_equal_standalone_blocks() {
    // A block's encoding must not depend on the blocks before it (the match finder is reused).
    let xml = soap_bodies().concat();
    let framed = compress_with_block_size(&xml, 16_352);
    let mut at = 0;
    for (chunk, (original, compressed)) in xml.chunks(16_352).zip(headers(&framed)) {
        assert_eq!(original, chunk.len());
        let payload = &framed[at + BLOCK_HEADER_LEN..at + BLOCK_HEADER_LEN + compressed];
        if compressed < original {
            assert_eq!(payload, lz77::compress_block(chunk));
        } else {
            assert_eq!(payload, chunk);
        }
        at += BLOCK_HEADER_LEN + compressed;
    }
}

#[test]
fn small_block_sizes() {
    let xml = soap_bodies().concat();
    for size in [1, 2, 3, 31, 32, 33, 1000, 16_352] {
        let framed = compress_with_block_size(&xml, size);
        assert_eq!(decompress(&framed).unwrap(), xml, "block size {size}");
        assert!(headers(&framed).iter().all(|&(o, _)| o <= size));
    }
    // Out-of-range sizes are clamped rather than refused.
    assert_eq!(
        compress_with_block_size(&xml, 0),
        compress_with_block_size(&xml, 1)
    );
    assert_eq!(compress_with_block_size(&xml, 1 << 20), compress(&xml));
}

// ---------------------------------------------------------------------------------------------
// Real SOAP response bodies of a Windows Server 2025 WSUS (see tests/fixtures/PROVENANCE.md).

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn soap_bodies() -> Vec<Vec<u8>> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    names.sort();
    assert!(names.len() >= 3);
    names.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn real_soap_bodies_round_trip_and_compress_like_wsus() {
    // (file, on-wire xpress size the real WSUS sent for it, from upstream meta.json)
    let real = [
        ("sync-updates-approved.response.xml", 40_523),
        ("sync-updates-first-page.response.xml", 4_431),
        ("get-extended-update-info.response.xml", 837),
    ];
    for (name, wsus_size) in real {
        let body = std::fs::read(fixture_dir().join(name)).unwrap();
        let framed = round_trip(&body);
        println!(
            "{name}: {} -> {} bytes (ratio {:.2}); real WSUS sent {wsus_size}",
            body.len(),
            framed.len(),
            body.len() as f64 / framed.len() as f64
        );
        // The real server uses 16 KiB blocks and a fast encoder; we should not be worse.
        assert!(
            framed.len() <= wsus_size,
            "{name}: {} > {wsus_size}",
            framed.len()
        );
    }
}

#[test]
fn repository_update_documents_round_trip() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/wsus-rs");
    let mut count = 0;
    for sub in ["docs", "wusp-reference"] {
        let Ok(entries) = std::fs::read_dir(root.join(sub)) else {
            continue;
        };
        for entry in entries {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            round_trip(&data);
            count += 1;
        }
    }
    assert!(count > 0, "no update documents under {}", root.display());
}

// ---------------------------------------------------------------------------------------------
// Hostile input

#[test]
fn truncation_anywhere_is_an_error() {
    let body = &soap_bodies()[0];
    let framed = compress(body);
    for cut in (0..framed.len()).step_by(97).chain([framed.len() - 1]) {
        if cut == 0 {
            continue;
        }
        assert!(decompress(&framed[..cut]).is_err(), "cut at {cut}");
    }
    let block = lz77::compress_block(body);
    for cut in (0..block.len()).step_by(89).chain([block.len() - 1]) {
        assert!(
            lz77::decompress_block(&block[..cut], body.len()).is_err(),
            "cut at {cut}"
        );
    }
}

#[test]
fn invalid_headers() {
    let cases: &[(i32, i32)] = &[
        (0, 1),
        (1, 0),
        (-1, 1),
        (1, -1),
        (65_536, 10),
        (10, 65_536),
        (i32::MIN, i32::MAX),
    ];
    for &(original, compressed) in cases {
        let mut framed = original.to_le_bytes().to_vec();
        framed.extend_from_slice(&compressed.to_le_bytes());
        framed.extend_from_slice(&[0u8; 64]);
        assert_eq!(
            decompress(&framed),
            Err(XpressError::InvalidHeader {
                offset: 0,
                original,
                compressed
            })
        );
    }
    assert_eq!(
        decompress(&[1, 0, 0]),
        Err(XpressError::TruncatedHeader {
            offset: 0,
            available: 3
        })
    );
    assert_eq!(
        decompress(&[5, 0, 0, 0, 5, 0, 0, 0, b'a']),
        Err(XpressError::TruncatedBlock {
            offset: 0,
            compressed: 5,
            available: 1
        })
    );
    // A valid block followed by a stray byte.
    assert_eq!(
        decompress(&[1, 0, 0, 0, 1, 0, 0, 0, b'a', 0]),
        Err(XpressError::TruncatedHeader {
            offset: 9,
            available: 1
        })
    );
}

#[test]
fn back_reference_before_block_start() {
    // Flags: match first. Token distance 1 with nothing produced yet.
    let block = [0xff, 0xff, 0xff, 0xff, 0x00, 0x00];
    assert_eq!(
        lz77::decompress_block(&block, 100),
        Err(Lz77Error::DistanceTooFar {
            position: 4,
            distance: 1,
            available: 0
        })
    );
    // Blocks are independent: the second block cannot reach into the first.
    let mut framed = compress(b"abcabcabcabcabcabcabc");
    framed.extend_from_slice(&[3, 0, 0, 0, 6, 0, 0, 0]);
    framed.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x10, 0x00]);
    assert!(matches!(
        decompress(&framed),
        Err(XpressError::CorruptBlock {
            source: Lz77Error::DistanceTooFar { .. },
            ..
        })
    ));
    // Into a non-empty buffer, a block's history starts at the buffer's end.
    let mut out = b"abc".to_vec();
    assert!(matches!(
        lz77::decompress_block_into(&[0xff, 0xff, 0xff, 0xff, 0x10, 0x00], &mut out, 10),
        Err(Lz77Error::DistanceTooFar { .. })
    ));
}

#[test]
fn huge_lengths_hit_the_limit_without_allocating() {
    // literal, then a match of u32::MAX + 3 bytes.
    let flags: u32 = 0b0111_1111_1111_1111_1111_1111_1111_1111;
    let mut block = flags.to_le_bytes().to_vec();
    block.push(b'x');
    block.extend_from_slice(&[0x07, 0x00, 0x0f, 0xff, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff]);
    assert_eq!(
        lz77::decompress_block(&block, 1 << 20),
        Err(Lz77Error::OutputLimitExceeded { limit: 1 << 20 })
    );
    // An extended length below 22 is malformed (MS-XCA 2.4.4).
    let mut bad = flags.to_le_bytes().to_vec();
    bad.push(b'x');
    bad.extend_from_slice(&[0x07, 0x00, 0x0f, 0xff, 0x15, 0x00]);
    assert_eq!(
        lz77::decompress_block(&bad, 1 << 20),
        Err(Lz77Error::InvalidLength { position: 5 })
    );
    // A literal flood stops at the limit.
    let mut literals = vec![0, 0, 0, 0];
    literals.extend_from_slice(&[b'y'; 32]);
    literals.extend_from_slice(&[0xff; 4]);
    assert_eq!(lz77::decompress_block(&literals, 32).unwrap().len(), 32);
    assert_eq!(
        lz77::decompress_block(&literals, 31),
        Err(Lz77Error::OutputLimitExceeded { limit: 31 })
    );
}

#[test]
fn framed_output_limit() {
    let body = &soap_bodies()[0];
    let framed = compress(body);
    assert_eq!(decompress_with_limit(&framed, body.len()).unwrap(), *body);
    assert_eq!(
        decompress_with_limit(&framed, body.len() - 1),
        Err(XpressError::OutputLimitExceeded {
            limit: body.len() - 1
        })
    );
    // A flood of tiny blocks that each claim the maximum size is stopped by the limit before
    // anything is decoded from the block that would cross it.
    let one = compress(&vec![0u8; MAX_BLOCK_SIZE]);
    let flood = one.repeat(1000);
    assert_eq!(
        decompress_with_limit(&flood, 10 * MAX_BLOCK_SIZE),
        Err(XpressError::OutputLimitExceeded {
            limit: 10 * MAX_BLOCK_SIZE
        })
    );
}
