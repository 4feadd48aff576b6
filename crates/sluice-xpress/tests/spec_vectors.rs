//! The worked examples of MS-XCA 3.1 (Plain LZ77) and MS-XCA 2.3.4 / 2.4.4 and MS-WUSP 2.1.1.1.2
//! (DIRECT2, the same format), as exact bytes.

use sluice_xpress::lz77::{self, Lz77Error};
use sluice_xpress::{XpressError, compress, decompress};

/// MS-XCA 3.1: 26 literals; the flag word has 26 zero bits, then ones (the first ends the block).
const ALPHABET_COMPRESSED: [u8; 30] = [
    0x3f, 0x00, 0x00, 0x00, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c,
    0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
];

/// MS-XCA 3.1: `abc` then `[match: distance 3, length 297]`, exercising every length stage
/// (3 bits = 7, nibble = 15, byte = 255, then the u16 0x0126 = 297 - 3).
const ABC300_COMPRESSED: [u8; 13] = [
    0xff, 0xff, 0xff, 0x1f, 0x61, 0x62, 0x63, 0x17, 0x00, 0x0f, 0xff, 0x26, 0x01,
];

fn abc300() -> Vec<u8> {
    b"abc".repeat(100)
}

#[test]
fn xca_3_1_alphabet_decodes() {
    let out = lz77::decompress_block(&ALPHABET_COMPRESSED, 1 << 16).unwrap();
    assert_eq!(out, b"abcdefghijklmnopqrstuvwxyz");
}

#[test]
fn xca_3_1_alphabet_encodes_to_the_exact_spec_bytes() {
    // No 3-byte repeats, so there is only one sensible encoding and ours must be it.
    assert_eq!(
        lz77::compress_block(b"abcdefghijklmnopqrstuvwxyz"),
        ALPHABET_COMPRESSED
    );
}

#[test]
fn xca_3_1_repeated_abc_decodes() {
    let out = lz77::decompress_block(&ABC300_COMPRESSED, 1 << 16).unwrap();
    assert_eq!(out.len(), 300);
    assert_eq!(out, abc300());
}

#[test]
fn xca_3_1_repeated_abc_encodes_to_the_exact_spec_bytes() {
    // Greedy longest match gives the spec's `abc[3, 297]`; a different valid encoding would also
    // be acceptable, but matching the spec byte for byte pins the long-length encoding.
    let ours = lz77::compress_block(&abc300());
    assert_eq!(ours, ABC300_COMPRESSED);
    assert_eq!(lz77::decompress_block(&ours, 300).unwrap(), abc300());
}

#[test]
fn xca_2_4_4_overlapping_match_aaaaaa() {
    // MS-XCA 2.4.4: `aaaaaa` is [literal "a"][match: offset 1, length 5]. Flags 0b01 then the
    // end bit: 0b011 followed by 29 ones = 0x7fffffff. Token: (1-1)<<3 | (5-3) = 0x0002.
    let block = [0xff, 0xff, 0xff, 0x7f, b'a', 0x02, 0x00];
    assert_eq!(lz77::decompress_block(&block, 6).unwrap(), b"aaaaaa");
    assert_eq!(lz77::compress_block(b"aaaaaa"), block);
}

#[test]
fn wusp_direct2_abcabcdef_example() {
    // MS-WUSP 2.1.1.1.2: "ABCABCDEF" is (0,0)A(0,0)B(0,0)C(3,3)D(0,0)E(0,0)F, with the flag
    // pattern 0001000 then the end bit (the spec shows it on a hypothetical 8-bit mask). Our
    // 32-bit form: 000 1 000 then 25 ones. Token (3,3): (3-1)<<3 | (3-3) = 0x0010.
    let flags: u32 = 0b0001_0001_1111_1111_1111_1111_1111_1111;
    let mut block = flags.to_le_bytes().to_vec();
    block.extend_from_slice(b"ABC");
    block.extend_from_slice(&[0x10, 0x00]);
    block.extend_from_slice(b"DEF");
    assert_eq!(lz77::decompress_block(&block, 64).unwrap(), b"ABCABCDEF");
    assert_eq!(lz77::compress_block(b"ABCABCDEF"), block);
}

#[test]
fn end_bit_gets_its_own_flag_word_after_32_items() {
    // MS-WUSP 2.1.1.1.2 stresses that the end bit is always needed. With 32-bit masks the
    // worst case is 32 items filling a flag word exactly: a whole extra word of ones follows.
    let input: Vec<u8> = (0..32u8).collect();
    let block = lz77::compress_block(&input);
    let mut expected = vec![0, 0, 0, 0];
    expected.extend_from_slice(&input);
    expected.extend_from_slice(&[0xff; 4]);
    assert_eq!(block, expected);
    assert_eq!(lz77::decompress_block(&block, 32).unwrap(), input);
    // Without the trailing word the block is truncated, not silently accepted.
    assert_eq!(
        lz77::decompress_block(&block[..36], 32),
        Err(Lz77Error::Truncated { position: 36 })
    );
}

#[test]
fn wusp_metadata_offset_example() {
    // MS-WUSP 2.1.1.1.2: metadata 0x0018 has length bits 000 (3 bytes) and offset field 3,
    // i.e. distance 4 ("-4" in the spec's one's complement wording).
    let flags: u32 = 0b0000_1111_1111_1111_1111_1111_1111_1111;
    let mut block = flags.to_le_bytes().to_vec();
    block.extend_from_slice(b"wxyz");
    block.extend_from_slice(&[0x18, 0x00]);
    assert_eq!(lz77::decompress_block(&block, 64).unwrap(), b"wxyzwxy");
}

/// Builds a block of one literal `x` then one match at distance 1, written by
/// hand from the length table of MS-WUSP 2.1.1.1.2 (`extra` are the bytes after the token).
fn long_match_block(extra: &[u8]) -> Vec<u8> {
    // literal 'x', match, end bit.
    let flags: u32 = 0b0111_1111_1111_1111_1111_1111_1111_1111;
    let mut block = flags.to_le_bytes().to_vec();
    block.push(b'x');
    block.extend_from_slice(&[0x07, 0x00]); // distance 1, length bits 111
    block.extend_from_slice(extra);
    block
}

#[test]
fn wusp_length_table() {
    // (extra bytes after the token, match length) from the MS-WUSP 2.1.1.1.2 table and text.
    let cases: &[(&[u8], usize)] = &[
        (&[0x00], 10),
        (&[0x0e], 24),
        (&[0x0f, 0x00], 25),
        (&[0x0f, 0x01], 26),
        (&[0x0f, 0xfe], 279),
        (&[0x0f, 0xff, 0x15, 0x01], 280),
        (&[0x0f, 0xff, 0x16, 0x01], 281),
        // The u16 is `length - 3`, up to 65,535 + 3.
        (&[0x0f, 0xff, 0xff, 0xff], 65_538),
        // A zero u16 means a u32 follows (MS-XCA 2.4.4).
        (&[0x0f, 0xff, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00], 65_539),
    ];
    for &(extra, length) in cases {
        let block = long_match_block(extra);
        let out = lz77::decompress_block(&block, 1 << 20).unwrap();
        assert_eq!(out.len(), 1 + length, "extra {extra:02x?}");
        assert!(out.iter().all(|&b| b == b'x'));
        // And our encoder writes exactly the table's bytes for the same match.
        assert_eq!(lz77::compress_block(&out), block, "length {length}");
    }
}

#[test]
fn shared_nibble_serves_two_long_matches() {
    // MS-WUSP 2.1.1.1.2: the first long match uses the low nibble of a new byte, the second the
    // high nibble of the same byte and adds no byte of its own.
    // Input: "abcd" + match(4, 12) + "wxyz" + match(4, 16)  ->  nibbles 12-10=2 and 16-10=6.
    let flags: u32 = 0b0000_1000_0111_1111_1111_1111_1111_1111;
    let mut block = flags.to_le_bytes().to_vec();
    block.extend_from_slice(b"abcd");
    block.extend_from_slice(&[0x1f, 0x00, 0x62]); // distance 4, length 7+; shared byte 0x62
    block.extend_from_slice(b"wxyz");
    block.extend_from_slice(&[0x1f, 0x00]); // uses the high nibble 6 of 0x62
    let mut expected = b"abcd".repeat(4);
    expected.extend_from_slice(&b"wxyz".repeat(5));
    assert_eq!(lz77::decompress_block(&block, 1 << 10).unwrap(), expected);
    assert_eq!(lz77::compress_block(&expected), block);
}

#[test]
fn empty_block_is_one_flag_word_of_ones() {
    // MS-XCA 2.3.4 with no items: FlagCount 0, so the final flag word is all ones.
    assert_eq!(lz77::compress_block(b""), [0xff; 4]);
    assert_eq!(lz77::decompress_block(&[0xff; 4], 0).unwrap(), b"");
}

#[test]
fn framed_spec_vectors() {
    // MS-WUSP gives no framed example; build frames around the MS-XCA vectors by the 2.1.1 header
    // layout (i32 LE original size, i32 LE compressed size) and check both directions.
    let mut framed = Vec::new();
    framed.extend_from_slice(&300i32.to_le_bytes());
    framed.extend_from_slice(&(ABC300_COMPRESSED.len() as i32).to_le_bytes());
    framed.extend_from_slice(&ABC300_COMPRESSED);
    assert_eq!(decompress(&framed).unwrap(), abc300());
    assert_eq!(compress(&abc300()), framed);

    // The alphabet does not shrink (30 > 26 bytes), so the framing stores it raw.
    let alphabet = b"abcdefghijklmnopqrstuvwxyz";
    let mut raw = Vec::new();
    raw.extend_from_slice(&26i32.to_le_bytes());
    raw.extend_from_slice(&26i32.to_le_bytes());
    raw.extend_from_slice(alphabet);
    assert_eq!(compress(alphabet), raw);
    assert_eq!(decompress(&raw).unwrap(), alphabet);

    // A peer that does not store raw blocks sends the literal-only payload, larger than the
    // block; it is valid under MS-WUSP 2.1.1 and must decode.
    let mut expanded = Vec::new();
    expanded.extend_from_slice(&26i32.to_le_bytes());
    expanded.extend_from_slice(&30i32.to_le_bytes());
    expanded.extend_from_slice(&ALPHABET_COMPRESSED);
    assert_eq!(decompress(&expanded).unwrap(), alphabet);
}

#[test]
fn framed_header_is_checked_against_payload() {
    let mut framed = Vec::new();
    framed.extend_from_slice(&299i32.to_le_bytes());
    framed.extend_from_slice(&(ABC300_COMPRESSED.len() as i32).to_le_bytes());
    framed.extend_from_slice(&ABC300_COMPRESSED);
    assert!(matches!(
        decompress(&framed),
        Err(XpressError::CorruptBlock {
            offset: 0,
            source: Lz77Error::OutputLimitExceeded { limit: 299 }
        })
    ));
    framed[..4].copy_from_slice(&301i32.to_le_bytes());
    assert_eq!(
        decompress(&framed),
        Err(XpressError::SizeMismatch {
            offset: 0,
            expected: 301,
            actual: 300
        })
    );
}
