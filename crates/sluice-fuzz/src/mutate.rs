//! Mutations of an input, chosen by a seeded generator so a run can be repeated exactly.
//!
//! Byte-level changes (bit flips, boundary values, deletions, duplications, splices) reach the
//! binary formats (CAB, xpress) and the lexers; the structure-aware ones reach what a decoder
//! does with well-formed input: swapping in a target's tokens (element names, namespaces,
//! entities, header syntax), replacing a number with a boundary number, and repeating a span
//! many times (deep nesting, long lists: where quadratic work and unbounded collections hide).

/// xorshift64*: small, fast, and the same sequence on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // Zero is the generator's fixed point.
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-enough in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const INTERESTING_BYTES: &[u8] = &[0, 1, 0x7f, 0x80, 0xff, b'<', b'>', b'&', b'"', b'\'', b'/', b'=', b' ', b'-', b',', b'0', b'9'];

const INTERESTING_NUMBERS: &[&str] = &[
    "0", "-1", "1", "-0", "00", "255", "256", "65535", "65536", "2147483647", "2147483648", "-2147483649",
    "4294967295", "4294967296", "9223372036854775807", "18446744073709551615", "18446744073709551616",
    "99999999999999999999999999", "1e9", "0x10", "+1", " 1", "1.5", "NaN",
];

const INTERESTING_WORDS: &[u32] = &[0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x1_0000, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff];

/// Applies one to four mutations to `data`, keeping it at most `max_len` bytes. `other` is
/// another corpus entry for splicing; `dictionary` the target's tokens.
pub fn mutate(rng: &mut Rng, data: &mut Vec<u8>, other: &[u8], dictionary: &[&[u8]], max_len: usize) {
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        match rng.below(13) {
            0 => flip_bit(rng, data),
            1 => set_byte(rng, data),
            2 => delete_span(rng, data),
            3 => duplicate_span(rng, data, max_len),
            4 => insert_token(rng, data, dictionary),
            5 => overwrite_token(rng, data, dictionary),
            6 => splice(rng, data, other),
            7 => truncate(rng, data),
            8 => replace_number(rng, data),
            9 => repeat_span(rng, data, max_len),
            10 => write_word(rng, data),
            11 => swap_spans(rng, data),
            _ => replace_between_markup(rng, data, dictionary),
        }
    }
    data.truncate(max_len);
}

fn flip_bit(rng: &mut Rng, data: &mut [u8]) {
    if !data.is_empty() {
        let i = rng.below(data.len());
        data[i] ^= 1 << rng.below(8);
    }
}

fn set_byte(rng: &mut Rng, data: &mut [u8]) {
    if !data.is_empty() {
        let i = rng.below(data.len());
        data[i] = if rng.chance(2) { *rng.pick(INTERESTING_BYTES) } else { rng.next() as u8 };
    }
}

/// A span whose length favours short ones (most mutations should be small).
fn span(rng: &mut Rng, len: usize) -> (usize, usize) {
    if len == 0 {
        return (0, 0);
    }
    let start = rng.below(len);
    let room = len - start;
    let cap = if rng.chance(4) { room } else { room.min(16) };
    (start, start + 1 + rng.below(cap.max(1)).min(room - 1))
}

fn delete_span(rng: &mut Rng, data: &mut Vec<u8>) {
    let (a, b) = span(rng, data.len());
    data.drain(a..b);
}

fn duplicate_span(rng: &mut Rng, data: &mut Vec<u8>, max_len: usize) {
    let (a, b) = span(rng, data.len());
    if data.len() + (b - a) <= max_len {
        let copy = data[a..b].to_vec();
        let at = rng.below(data.len() + 1);
        data.splice(at..at, copy);
    }
}

fn insert_token(rng: &mut Rng, data: &mut Vec<u8>, dictionary: &[&[u8]]) {
    if !dictionary.is_empty() {
        let token = *rng.pick(dictionary);
        let at = rng.below(data.len() + 1);
        data.splice(at..at, token.iter().copied());
    }
}

fn overwrite_token(rng: &mut Rng, data: &mut Vec<u8>, dictionary: &[&[u8]]) {
    if !dictionary.is_empty() && !data.is_empty() {
        let token = *rng.pick(dictionary);
        let at = rng.below(data.len());
        let end = (at + token.len()).min(data.len());
        data.splice(at..end, token.iter().copied());
    }
}

fn splice(rng: &mut Rng, data: &mut Vec<u8>, other: &[u8]) {
    if other.is_empty() {
        return;
    }
    let cut = rng.below(data.len() + 1);
    let from = rng.below(other.len());
    data.truncate(cut);
    data.extend_from_slice(&other[from..]);
}

fn truncate(rng: &mut Rng, data: &mut Vec<u8>) {
    if !data.is_empty() {
        let keep = rng.below(data.len());
        data.truncate(keep);
    }
}

fn replace_number(rng: &mut Rng, data: &mut Vec<u8>) {
    let digits: Vec<usize> = (0..data.len()).filter(|&i| data[i].is_ascii_digit()).collect();
    if digits.is_empty() {
        return;
    }
    let mut a = *rng.pick(&digits);
    while a > 0 && data[a - 1].is_ascii_digit() {
        a -= 1;
    }
    let mut b = a;
    while b < data.len() && data[b].is_ascii_digit() {
        b += 1;
    }
    let n = rng.pick(INTERESTING_NUMBERS).as_bytes();
    data.splice(a..b, n.iter().copied());
}

/// Repeats one span many times in place: `<a><a><a>…`, `0-,0-,0-…`, a long id list.
fn repeat_span(rng: &mut Rng, data: &mut Vec<u8>, max_len: usize) {
    let (a, b) = span(rng, data.len());
    let piece = data[a..b].to_vec();
    if piece.is_empty() {
        return;
    }
    let times = [2, 8, 64, 300, 5000][rng.below(5)];
    let room = max_len.saturating_sub(data.len()) / piece.len();
    let times = times.min(room);
    let repeated: Vec<u8> = piece.iter().copied().cycle().take(piece.len() * times).collect();
    data.splice(b..b, repeated);
}

/// A little-endian 16- or 32-bit boundary value at a random offset: the length and count
/// fields of the binary formats.
fn write_word(rng: &mut Rng, data: &mut [u8]) {
    let w = *rng.pick(INTERESTING_WORDS);
    let width = if rng.chance(2) { 2 } else { 4 };
    if data.len() < width {
        return;
    }
    let at = rng.below(data.len() - width + 1);
    data[at..at + width].copy_from_slice(&w.to_le_bytes()[..width]);
}

fn swap_spans(rng: &mut Rng, data: &mut Vec<u8>) {
    let (a, b) = span(rng, data.len());
    let (c, d) = span(rng, data.len());
    if b <= c {
        let first = data[a..b].to_vec();
        let second = data[c..d].to_vec();
        data.splice(c..d, first);
        data.splice(a..b, second);
    }
}

/// Replaces the text between one `>` and the next `<` (an element's content or an attribute
/// list's tail) with a token or nothing.
fn replace_between_markup(rng: &mut Rng, data: &mut Vec<u8>, dictionary: &[&[u8]]) {
    let closes: Vec<usize> = (0..data.len()).filter(|&i| data[i] == b'>').collect();
    if closes.is_empty() {
        return insert_token(rng, data, dictionary);
    }
    let a = *rng.pick(&closes) + 1;
    let b = data[a..].iter().position(|&c| c == b'<').map_or(data.len(), |p| a + p);
    let with: &[u8] = if dictionary.is_empty() || rng.chance(3) { b"" } else { *rng.pick(dictionary) };
    data.splice(a..b, with.iter().copied());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_mutants() {
        let run = |seed| {
            let mut rng = Rng::new(seed);
            let mut v = b"<a x=\"12\">text</a>".to_vec();
            for _ in 0..200 {
                mutate(&mut rng, &mut v, b"<b/>", &[b"<c>"], 4096);
            }
            v
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn mutants_stay_within_the_length_bound() {
        let mut rng = Rng::new(1);
        let mut v = vec![b'x'; 100];
        for _ in 0..2000 {
            mutate(&mut rng, &mut v, &[b'y'; 500], &[b"<tok>"], 256);
            assert!(v.len() <= 256);
            if v.is_empty() {
                v.push(b'z');
            }
        }
    }
}
