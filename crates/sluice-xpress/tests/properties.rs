//! Property tests: every input round-trips, and no input makes a decoder panic.

use proptest::prelude::*;
use sluice_xpress::{compress, compress_with_block_size, decompress, decompress_with_limit, lz77};

/// Bytes from a tiny alphabet with repeated runs, so matches of every length and distance occur
/// (uniform random bytes almost never contain a 3-byte repeat).
fn matchy_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            prop::collection::vec(0u8..4, 1..40),
            (prop::collection::vec(any::<u8>(), 1..12), 1usize..400)
                .prop_map(|(unit, times)| unit.repeat(times)),
        ],
        0..60,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_round_trip(data in prop::collection::vec(any::<u8>(), 0..3000)) {
        prop_assert_eq!(decompress(&compress(&data)).unwrap(), data.clone());
        let block = lz77::compress_block(&data);
        prop_assert_eq!(lz77::decompress_block(&block, data.len()).unwrap(), data);
    }

    #[test]
    fn repetitive_bytes_round_trip(data in matchy_bytes(), block_size in 1usize..70_000) {
        let framed = compress_with_block_size(&data, block_size);
        prop_assert_eq!(decompress(&framed).unwrap(), data.clone());
        let block = lz77::compress_block(&data);
        prop_assert!(block.len() <= lz77::max_compressed_len(data.len()));
        prop_assert_eq!(lz77::decompress_block(&block, data.len()).unwrap(), data);
    }

    #[test]
    fn decompress_never_panics(data in prop::collection::vec(any::<u8>(), 0..2000)) {
        let _ = decompress_with_limit(&data, 1 << 20);
        let _ = lz77::decompress_block(&data, 1 << 20);
    }

    #[test]
    fn decompress_of_damaged_valid_data_never_panics(
        data in matchy_bytes(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        // Random bytes rarely get past the first header; corrupting real output reaches the
        // match decoder's deeper paths.
        let mut framed = compress(&data);
        let mut block = lz77::compress_block(&data);
        for (at, byte) in &flips {
            if !framed.is_empty() {
                let i = at.index(framed.len());
                framed[i] ^= byte;
            }
            let i = at.index(block.len());
            block[i] ^= byte;
        }
        if let Ok(out) = decompress_with_limit(&framed, 1 << 20) {
            prop_assert!(out.len() <= 1 << 20);
        }
        if let Ok(out) = lz77::decompress_block(&block, 1 << 16) {
            prop_assert!(out.len() <= 1 << 16);
        }
    }
}
