//! The MS-XCA "Plain LZ77" block codec (MS-XCA 2.3 and 2.4), the unit that the MS-WUSP xpress
//! framing wraps (MS-WUSP 2.1.1.1 calls the same format LZ77 + "DIRECT2").
//!
//! A block is a sequence of 32-bit little-endian flag words, each followed by the items it
//! describes, most significant flag bit first: `0` is a literal byte, `1` a match. A match is a
//! little-endian `u16` whose high 13 bits are `distance - 1` (so distances reach 8192) and whose
//! low 3 bits are `length - 3`; the value 7 there means the length continues in a nibble shared
//! between two consecutive long matches, then in a byte, then in a `u16`, then in a `u32`.
//! The end of a block is a `1` flag with no input left after it, which is why an encoder always
//! spends one flag bit past the last item (MS-XCA 2.3.4 and 2.4.4).
//!
//! Blocks are independent: a match never reaches before the start of its block.

use thiserror::Error;

/// The shortest match the format can express (a 3-bit length field of 0 means 3 bytes).
pub const MIN_MATCH: usize = 3;

/// The greatest match distance: the 13-bit offset field holds `distance - 1` (MS-XCA 2.3.4).
pub const MAX_DISTANCE: usize = 1 << 13;

/// The longest match the encoder produces. MS-XCA 2.3.4 carries `length - 3` in a `u32` at most;
/// capping there keeps the length encoding total even for absurdly long runs.
const MAX_MATCH: usize = u32::MAX as usize;

/// Errors of [`decompress_block`] and [`decompress_block_into`]: the block is not valid Plain LZ77
/// or does not fit the output limit. Every position is a byte offset into the block's input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Lz77Error {
    /// The block ends inside a flag word, a literal or a match.
    #[error("plain LZ77 block is truncated at input position {position}")]
    Truncated {
        /// Where the missing bytes would have started.
        position: usize,
    },
    /// A match reaches back before the first byte the block produced.
    #[error(
        "plain LZ77 match at input position {position} reaches {distance} bytes back, \
         but the block has produced only {available} bytes"
    )]
    DistanceTooFar {
        /// Input position of the match token.
        position: usize,
        /// The distance the token encodes.
        distance: usize,
        /// Bytes produced by the block so far.
        available: usize,
    },
    /// An extended match length uses a 16- or 32-bit field with a value below 22, which no
    /// encoder produces and MS-XCA 2.4.4 declares an error.
    #[error("plain LZ77 match at input position {position} has an invalid length encoding")]
    InvalidLength {
        /// Input position of the match token.
        position: usize,
    },
    /// Decoding would produce more than the caller's limit.
    #[error("plain LZ77 block decodes to more than the limit of {limit} bytes")]
    OutputLimitExceeded {
        /// The limit the caller gave.
        limit: usize,
    },
}

/// An upper bound of the size of [`compress_block`]'s output for `input_len` bytes of input.
///
/// The worst case is all literals: every byte plus one 4-byte flag word per 32 items, and the
/// end marker may need a flag word of its own. A match is never larger than the literals it
/// replaces, so this bounds every output.
pub const fn max_compressed_len(input_len: usize) -> usize {
    input_len
        .saturating_add((input_len / 32).saturating_mul(4))
        .saturating_add(4)
}

/// Compresses `input` as one Plain LZ77 block (MS-XCA 2.3).
///
/// Any length is accepted; the MS-WUSP framing in [`crate::compress`] is what limits blocks to
/// 65,535 bytes. The output always ends with the end-of-block flag bit and decodes with
/// [`decompress_block`] to exactly `input`.
pub fn compress_block(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 2 + 16);
    compress_block_into(input, &mut out);
    out
}

/// Appends the Plain LZ77 encoding of `input` to `out`; see [`compress_block`].
pub fn compress_block_into(input: &[u8], out: &mut Vec<u8>) {
    let mut finder = MatchFinder::new();
    // Without a budget the encoder cannot give up, so the result is always `true`.
    let _complete = encode(&mut finder, input, out, usize::MAX);
}

/// Decodes one Plain LZ77 block (MS-XCA 2.4), producing at most `max_out` bytes.
///
/// Corrupt, truncated or hostile input yields an error, never a panic; memory use is bounded by
/// `max_out` whatever the input claims.
pub fn decompress_block(input: &[u8], max_out: usize) -> Result<Vec<u8>, Lz77Error> {
    // Compressed data rarely expands more than ~8x; reserving more up front would let a tiny
    // hostile input make us allocate the whole limit before it is found to be corrupt.
    let mut out = Vec::with_capacity(max_out.min(input.len().saturating_mul(8)));
    decompress_block_into(input, &mut out, max_out)?;
    Ok(out)
}

/// Decodes one Plain LZ77 block, appending at most `max_out` bytes to `out`, and returns the
/// number of bytes appended.
///
/// Whatever `out` held before is not part of the block's history: a match reaching before the
/// bytes this call appended is an error, so independent blocks can be decoded into one buffer.
/// On error, `out` may hold a partial block after its original contents.
pub fn decompress_block_into(
    input: &[u8],
    out: &mut Vec<u8>,
    max_out: usize,
) -> Result<usize, Lz77Error> {
    let start = out.len();
    let mut pos = 0usize;
    let mut flags = 0u32;
    let mut flag_count = 0u32;
    // Input position of the byte whose high nibble the next long match will use.
    let mut shared_nibble: Option<usize> = None;

    loop {
        if flag_count == 0 {
            flags = read_u32(input, pos)?;
            pos += 4;
            flag_count = 32;
        }
        flag_count -= 1;

        if flags & (1 << flag_count) == 0 {
            let byte = *input
                .get(pos)
                .ok_or(Lz77Error::Truncated { position: pos })?;
            pos += 1;
            if out.len() - start >= max_out {
                return Err(Lz77Error::OutputLimitExceeded { limit: max_out });
            }
            out.push(byte);
            continue;
        }

        // A match flag with nothing after it is the end marker.
        if pos == input.len() {
            return Ok(out.len() - start);
        }
        let token_at = pos;
        let token = read_u16(input, pos)?;
        pos += 2;
        let distance = usize::from(token >> 3) + 1;
        let mut length = usize::from(token & 7);
        if length == 7 {
            length = match shared_nibble.take() {
                None => {
                    let byte = *input
                        .get(pos)
                        .ok_or(Lz77Error::Truncated { position: pos })?;
                    shared_nibble = Some(pos);
                    pos += 1;
                    usize::from(byte & 0x0f)
                }
                Some(at) => {
                    let byte = *input.get(at).ok_or(Lz77Error::Truncated { position: at })?;
                    usize::from(byte >> 4)
                }
            };
            if length == 15 {
                length = usize::from(
                    *input
                        .get(pos)
                        .ok_or(Lz77Error::Truncated { position: pos })?,
                );
                pos += 1;
                if length == 255 {
                    length = usize::from(read_u16(input, pos)?);
                    pos += 2;
                    if length == 0 {
                        // u32 -> usize only fails on 16-bit targets; treat as over the limit.
                        length = usize::try_from(read_u32(input, pos)?)
                            .map_err(|_| Lz77Error::OutputLimitExceeded { limit: max_out })?;
                        pos += 4;
                    }
                    // The wide fields hold `length - 3` in full, so anything below what the
                    // 3 + 4 + 8 bit stages already cover (7 + 15) is malformed.
                    length = length
                        .checked_sub(15 + 7)
                        .ok_or(Lz77Error::InvalidLength { position: token_at })?;
                }
                length += 15;
            }
            length += 7;
        }
        // Only a 32-bit target can overflow here (a u32 length plus 3); that is over any limit.
        let length = length
            .checked_add(MIN_MATCH)
            .ok_or(Lz77Error::OutputLimitExceeded { limit: max_out })?;

        let produced = out.len() - start;
        if distance > produced {
            return Err(Lz77Error::DistanceTooFar {
                position: token_at,
                distance,
                available: produced,
            });
        }
        if length > max_out - produced {
            return Err(Lz77Error::OutputLimitExceeded { limit: max_out });
        }
        copy_match(out, distance, length);
    }
}

/// Appends `length` bytes copied from `distance` bytes back, with the semantics of a byte-by-byte
/// copy: when the match overlaps its own output it repeats the last `distance` bytes.
fn copy_match(out: &mut Vec<u8>, distance: usize, length: usize) {
    let from = out.len() - distance;
    let mut remaining = length;
    // Each round copies everything between `from` and the current end, which is already final,
    // so overlapping matches double their source each round instead of going byte by byte.
    while remaining > 0 {
        let chunk = remaining.min(out.len() - from);
        out.extend_from_within(from..from + chunk);
        remaining -= chunk;
    }
}

fn read_u16(input: &[u8], pos: usize) -> Result<u16, Lz77Error> {
    match input.get(pos..pos.saturating_add(2)) {
        Some(&[a, b]) => Ok(u16::from_le_bytes([a, b])),
        _ => Err(Lz77Error::Truncated { position: pos }),
    }
}

fn read_u32(input: &[u8], pos: usize) -> Result<u32, Lz77Error> {
    match input.get(pos..pos.saturating_add(4)) {
        Some(&[a, b, c, d]) => Ok(u32::from_le_bytes([a, b, c, d])),
        _ => Err(Lz77Error::Truncated { position: pos }),
    }
}

// ---------------------------------------------------------------------------------------------
// Encoder

/// Bits of the hash of the next 3 bytes. 2^14 heads keep the table in L1/L2 while leaving few
/// collisions for blocks of at most 64 KiB.
const HASH_BITS: u32 = 14;

/// How many earlier occurrences of a 3-byte prefix are examined per position. Measured on real
/// WSUS SOAP responses: 16 -> 32 shrinks the output ~2% for ~15% more time, 32 -> 256 only ~1%
/// more for another ~25%. Either way the encoder runs at hundreds of MB/s.
const MAX_CHAIN: usize = 32;

/// A match at least this long is taken without looking for a longer one: it already costs only
/// a few bytes, and repeated elements in XML would otherwise make every chain walk compare long
/// runs.
const NICE_MATCH: usize = 128;

/// Matches shorter than this are checked against a match starting one byte later (lazy
/// matching): on real SOAP responses ~1% smaller output for ~15% more time, worth it because a
/// response is compressed once and sent over the network.
const LAZY_BELOW: usize = 64;

/// Hash chains over the 8 KiB window, reused across blocks to avoid reallocating and clearing.
///
/// Positions are stored as `u32` counted from the first block the finder saw (`base` is where
/// the current block starts). A candidate is used only if it lies within the current block and
/// the window, so entries left by earlier blocks act exactly like empty ones and the output of a
/// block does not depend on its predecessors. Every candidate is also verified byte by byte, so
/// even a position that wrapped around after 4 GiB can only cost time, never a wrong match.
pub(crate) struct MatchFinder {
    head: Vec<u32>,
    prev: Vec<u32>,
    base: u32,
}

impl MatchFinder {
    pub(crate) fn new() -> Self {
        Self {
            head: vec![0; 1 << HASH_BITS],
            prev: vec![0; MAX_DISTANCE],
            // Starting past 0 puts the tables' initial zeros outside every block.
            base: 1,
        }
    }

    /// Moves past the block just encoded, retiring its entries without clearing the tables
    /// (clearing would dominate the cost of small blocks).
    fn next_block(&mut self, block_len: usize) {
        self.base = self.base.wrapping_add(block_len as u32);
    }

    #[inline]
    fn hash(data: &[u8], pos: usize) -> usize {
        let v =
            u32::from(data[pos]) | u32::from(data[pos + 1]) << 8 | u32::from(data[pos + 2]) << 16;
        (v.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
    }

    /// Records `pos` (which must have 3 bytes after it) without searching.
    #[inline]
    fn insert(&mut self, data: &[u8], pos: usize) {
        let h = Self::hash(data, pos);
        let at = self.base.wrapping_add(pos as u32);
        self.prev[at as usize & (MAX_DISTANCE - 1)] = self.head[h];
        self.head[h] = at;
    }

    /// Records `pos` and returns the longest earlier match `(length, distance)` starting there,
    /// or a length below [`MIN_MATCH`] if there is none. `pos` must have 3 bytes after it.
    #[inline]
    fn find_and_insert(&mut self, data: &[u8], pos: usize) -> (usize, usize) {
        let h = Self::hash(data, pos);
        let at = self.base.wrapping_add(pos as u32);
        let mut candidate = self.head[h];
        self.prev[at as usize & (MAX_DISTANCE - 1)] = candidate;
        self.head[h] = at;

        let max_len = (data.len() - pos).min(MAX_MATCH);
        // Matches stay within the block and the format's window.
        let window = pos.min(MAX_DISTANCE);
        let mut best_len = MIN_MATCH - 1;
        let mut best_distance = 0;
        let mut last_distance = 0;
        for _ in 0..MAX_CHAIN {
            let distance = at.wrapping_sub(candidate) as usize;
            // Chains only go backwards; a distance that does not grow is a stale link.
            if distance <= last_distance || distance > window {
                break;
            }
            last_distance = distance;
            let from = pos - distance;
            // Checking the byte that would make the match longer than the best one rejects most
            // candidates with one comparison.
            if data[from + best_len] == data[pos + best_len] {
                let len = common_prefix(data, from, pos, max_len);
                if len > best_len {
                    best_len = len;
                    best_distance = distance;
                    if len >= NICE_MATCH || len == max_len {
                        break;
                    }
                }
            }
            candidate = self.prev[candidate as usize & (MAX_DISTANCE - 1)];
        }
        (best_len, best_distance)
    }
}

/// Length of the common prefix of `data[a..]` and `data[b..]`, at most `max_len`; `a < b` and
/// `b + max_len <= data.len()`.
#[inline]
fn common_prefix(data: &[u8], a: usize, b: usize, max_len: usize) -> usize {
    let mut len = 0;
    while len + 8 <= max_len {
        let x = load_u64(data, a + len) ^ load_u64(data, b + len);
        if x != 0 {
            return len + (x.trailing_zeros() / 8) as usize;
        }
        len += 8;
    }
    while len < max_len && data[a + len] == data[b + len] {
        len += 1;
    }
    len
}

#[inline]
fn load_u64(data: &[u8], at: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&data[at..at + 8]);
    u64::from_le_bytes(bytes)
}

/// Serializes literals and matches with the flag words and shared length nibbles of
/// MS-XCA 2.3.4.
struct BlockWriter<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
    flags: u32,
    flag_count: u32,
    flag_at: usize,
    shared_nibble: Option<usize>,
}

impl<'a> BlockWriter<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        let start = out.len();
        out.extend_from_slice(&[0; 4]);
        Self {
            out,
            start,
            flags: 0,
            flag_count: 0,
            flag_at: start,
            shared_nibble: None,
        }
    }

    fn written(&self) -> usize {
        self.out.len() - self.start
    }

    #[inline]
    fn push_flag(&mut self, bit: u32) {
        self.flags = (self.flags << 1) | bit;
        self.flag_count += 1;
        if self.flag_count == 32 {
            self.out[self.flag_at..self.flag_at + 4].copy_from_slice(&self.flags.to_le_bytes());
            // The next flag word goes before the items it describes, so reserve it now.
            self.flag_at = self.out.len();
            self.out.extend_from_slice(&[0; 4]);
            self.flags = 0;
            self.flag_count = 0;
        }
    }

    #[inline]
    fn literal(&mut self, byte: u8) {
        self.out.push(byte);
        self.push_flag(0);
    }

    fn literals(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.literal(b);
        }
    }

    /// `MIN_MATCH <= length <= MAX_MATCH`, `1 <= distance <= MAX_DISTANCE`.
    fn matched(&mut self, length: usize, distance: usize) {
        let token = ((distance - 1) as u16) << 3;
        let extra = length - MIN_MATCH;
        if extra < 7 {
            self.out
                .extend_from_slice(&(token | extra as u16).to_le_bytes());
        } else {
            self.out.extend_from_slice(&(token | 7).to_le_bytes());
            let extra = extra - 7;
            let nibble = extra.min(15) as u8;
            match self.shared_nibble.take() {
                None => {
                    self.shared_nibble = Some(self.out.len());
                    self.out.push(nibble);
                }
                Some(at) => self.out[at] |= nibble << 4,
            }
            if extra >= 15 {
                let extra = extra - 15;
                if extra < 255 {
                    self.out.push(extra as u8);
                } else {
                    self.out.push(255);
                    // The wide fields restart from `length - 3` rather than adding up.
                    let full = length - MIN_MATCH;
                    if let Ok(short) = u16::try_from(full) {
                        self.out.extend_from_slice(&short.to_le_bytes());
                    } else {
                        self.out.extend_from_slice(&0u16.to_le_bytes());
                        // MAX_MATCH keeps `full` within u32.
                        self.out.extend_from_slice(&(full as u32).to_le_bytes());
                    }
                }
            }
        }
        self.push_flag(1);
    }

    /// Writes the last flag word: the unused bits are ones, the first of which marks the end.
    fn finish(self) {
        let unused = 32 - self.flag_count;
        let flags = if unused == 32 {
            u32::MAX
        } else {
            (self.flags << unused) | ((1u32 << unused) - 1)
        };
        self.out[self.flag_at..self.flag_at + 4].copy_from_slice(&flags.to_le_bytes());
    }
}

/// Appends the Plain LZ77 encoding of `input` to `out`, giving up as soon as it would exceed
/// `budget` bytes. Returns whether it finished; if not, `out` holds a partial block that the
/// caller must discard.
pub(crate) fn encode(
    finder: &mut MatchFinder,
    input: &[u8],
    out: &mut Vec<u8>,
    budget: usize,
) -> bool {
    out.reserve(max_compressed_len(input.len()).min(budget.saturating_add(8)));
    let mut w = BlockWriter::new(out);
    let n = input.len();
    // Positions from which 3 bytes can be hashed.
    let hashable_end = n.saturating_sub(MIN_MATCH - 1);
    let mut pos = 0;

    while pos < hashable_end {
        if w.written() > budget {
            finder.next_block(n);
            return false;
        }
        let (mut len, mut distance) = finder.find_and_insert(input, pos);
        // First position not yet entered in the hash chains.
        let mut next_insert = pos + 1;
        if len < MIN_MATCH {
            w.literal(input[pos]);
            pos += 1;
            continue;
        }
        // Lazy matching: prefer a longer match that starts one byte later, paying a literal.
        let mut start = pos;
        while len < LAZY_BELOW && start + 1 < hashable_end {
            let (next_len, next_distance) = finder.find_and_insert(input, start + 1);
            next_insert = start + 2;
            if next_len <= len {
                break;
            }
            w.literal(input[start]);
            start += 1;
            len = next_len;
            distance = next_distance;
        }
        w.matched(len, distance);
        let end = start + len;
        // Every position inside the match stays a candidate for later matches.
        for p in next_insert..end.min(hashable_end) {
            finder.insert(input, p);
        }
        pos = end;
    }
    // The last one or two bytes cannot start a match.
    if pos < n {
        w.literals(&input[pos..]);
    }
    // `finish` fills the already reserved flag word, so this is the final size.
    let complete = w.written() <= budget;
    w.finish();
    finder.next_block(n);
    complete
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_match_overlapping_repeats_the_period() {
        let mut out = b"abc".to_vec();
        copy_match(&mut out, 3, 8);
        assert_eq!(out, b"abcabcabcab");
        let mut out = b"x".to_vec();
        copy_match(&mut out, 1, 5);
        assert_eq!(out, b"xxxxxx");
    }

    #[test]
    fn max_compressed_len_bounds_literal_only_output() {
        // Random-looking bytes with no 3-byte repeats force all literals.
        let input: Vec<u8> = (0..=255u8).collect();
        for n in 0..input.len() {
            let out = compress_block(&input[..n]);
            assert!(out.len() <= max_compressed_len(n), "n={n}");
        }
    }
}
