//! The revision id arrays of SyncUpdates read straight from the request bytes.
//!
//! A Windows 11 client sends some 3,300 cached revision ids per page, about 20 bytes each:
//! most of the request. Through the element tree every `<int>` costs an element with its
//! names, a text node and a string. Here each array is recognised in the raw text, its ids
//! parsed into one vector without any other allocation, and its content cut out before the
//! rest of the request goes through the tree as before.
//!
//! Only the plain shape is taken this way: `<Name>` (attributes allowed, no namespace
//! declaration) holding nothing but whitespace and `<int>` items of an optionally signed
//! decimal that fits an `i32`, the name appearing nowhere else in the request. Anything else
//! (a prefixed or nil item, a comment, an entity, a value that is not an int, the name twice)
//! leaves the array in place for the tree to decode exactly as before, errors included.

/// The arrays taken out of a request, and the request without their content.
pub struct Lifted {
    /// The request text with the content of each lifted array removed.
    pub rest: String,
    arrays: Vec<(&'static str, Vec<i32>)>,
}

impl Lifted {
    /// The ids of the array `name`, if it was lifted (then the tree sees it empty).
    pub fn take(&mut self, name: &str) -> Option<Vec<i32>> {
        let i = self.arrays.iter().position(|(n, _)| *n == name)?;
        Some(self.arrays.swap_remove(i).1)
    }
}

/// Lifts the arrays `names` out of a UTF-8 request; `None` when none is in the plain shape.
pub fn lift(text: &str, names: &[&'static str]) -> Option<Lifted> {
    let mut cuts: Vec<(usize, usize, &'static str, Vec<i32>)> = Vec::new();
    for name in names {
        if let Some((start, end, ids)) = find_array(text, name) {
            cuts.push((start, end, name, ids));
        }
    }
    if cuts.is_empty() {
        return None;
    }
    cuts.sort_by_key(|c| c.0);
    let removed: usize = cuts.iter().map(|c| c.1 - c.0).sum();
    let mut rest = String::with_capacity(text.len() - removed);
    let mut at = 0;
    let mut arrays = Vec::with_capacity(cuts.len());
    for (start, end, name, ids) in cuts {
        rest.push_str(&text[at..start]);
        at = end;
        arrays.push((name, ids));
    }
    rest.push_str(&text[at..]);
    Some(Lifted { rest, arrays })
}

/// The byte range of the content of array `name` and its ids, if it is in the plain shape.
fn find_array(text: &str, name: &str) -> Option<(usize, usize, Vec<i32>)> {
    let mut hits = text.match_indices(name).map(|(i, _)| i);
    let (open, close) = (hits.next()?, hits.next()?);
    if hits.next().is_some() {
        return None;
    }
    let bytes = text.as_bytes();
    // `<Name` then `>` or attributes; `</Name>`.
    if open == 0 || bytes[open - 1] != b'<' || close < 2 || &bytes[close - 2..close] != b"</" {
        return None;
    }
    if bytes.get(close + name.len()) != Some(&b'>') {
        return None;
    }
    let after_name = open + name.len();
    let tag_end = after_name + text[after_name..close].find('>')?;
    let attributes = &text[after_name..tag_end];
    if !(attributes.is_empty() || attributes.starts_with(|c: char| c.is_ascii_whitespace()))
        || attributes.ends_with('/')
        || attributes.contains("xmlns")
        || attributes.contains('<')
    {
        return None;
    }
    let (start, end) = (tag_end + 1, close - 2);
    let ids = parse_items(&bytes[start..end])?;
    Some((start, end, ids))
}

/// Whitespace and `<int>value</int>` items, nothing else.
fn parse_items(mut b: &[u8]) -> Option<Vec<i32>> {
    // An item takes at least 12 bytes (`<int>1</int>`).
    let mut ids = Vec::with_capacity(b.len() / 12 + 1);
    loop {
        b = skip_space(b);
        if b.is_empty() {
            return Some(ids);
        }
        b = b.strip_prefix(b"<int>")?;
        let end = b.iter().position(|c| *c == b'<')?;
        ids.push(parse_int(&b[..end])?);
        b = b[end..].strip_prefix(b"</int>")?;
    }
}

fn skip_space(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n')).count();
    &b[n..]
}

/// What `str::trim` then `i32::from_str` accept, for ASCII input: surrounding whitespace, an
/// optional sign, at least one digit, within range.
fn parse_int(b: &[u8]) -> Option<i32> {
    let b = skip_space(b);
    let n = b.iter().rev().take_while(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n')).count();
    let b = &b[..b.len() - n];
    let (negative, digits) = match b {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 10 {
        // Leading zeros could make a longer value valid; the tree decides those.
        return None;
    }
    let mut v: i64 = 0;
    for d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (d - b'0') as i64;
    }
    i32::try_from(if negative { -v } else { v }).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: &[&str] = &["InstalledNonLeafUpdateIDs", "OtherCachedUpdateIDs"];

    #[test]
    fn plain_arrays_are_lifted_and_their_content_cut() {
        let text = "<p><InstalledNonLeafUpdateIDs><int>1</int> <int> -2 </int>\n</InstalledNonLeafUpdateIDs><X/>\
                    <OtherCachedUpdateIDs a=\"b\"><int>+2147483647</int></OtherCachedUpdateIDs></p>";
        let mut l = lift(text, NAMES).unwrap();
        assert_eq!(l.rest, "<p><InstalledNonLeafUpdateIDs></InstalledNonLeafUpdateIDs><X/><OtherCachedUpdateIDs a=\"b\"></OtherCachedUpdateIDs></p>");
        assert_eq!(l.take("OtherCachedUpdateIDs"), Some(vec![i32::MAX]));
        assert_eq!(l.take("InstalledNonLeafUpdateIDs"), Some(vec![1, -2]));
        assert_eq!(l.take("InstalledNonLeafUpdateIDs"), None);
    }

    #[test]
    fn anything_unusual_is_left_to_the_tree() {
        for text in [
            "<p><OtherCachedUpdateIDs><int>2147483648</int></OtherCachedUpdateIDs></p>",
            "<p><OtherCachedUpdateIDs><int>1a</int></OtherCachedUpdateIDs></p>",
            "<p><OtherCachedUpdateIDs><int></int></OtherCachedUpdateIDs></p>",
            "<p><OtherCachedUpdateIDs><int>-</int></OtherCachedUpdateIDs></p>",
            "<p><OtherCachedUpdateIDs><int>00000000001</int></OtherCachedUpdateIDs></p>",
            "<p><OtherCachedUpdateIDs><s:int>1</s:int></OtherCachedUpdateIDs></p>",
            "<p><OtherCachedUpdateIDs><int xsi:nil=\"true\"/></OtherCachedUpdateIDs></p>",
            "<p><OtherCachedUpdateIDs><int>&#49;</int></OtherCachedUpdateIDs></p>",
            "<p><OtherCachedUpdateIDs><!-- x --><int>1</int></OtherCachedUpdateIDs></p>",
            "<p><OtherCachedUpdateIDs>1<int>1</int></OtherCachedUpdateIDs></p>",
            "<p><OtherCachedUpdateIDs xmlns=\"urn:x\"><int>1</int></OtherCachedUpdateIDs></p>",
            "<p><OtherCachedUpdateIDs/><OtherCachedUpdateIDs><int>1</int></OtherCachedUpdateIDs></p>",
            "<p><s:OtherCachedUpdateIDs><int>1</int></s:OtherCachedUpdateIDs></p>",
            "<p><OtherCachedUpdateIDs><int>1</int></OtherCachedUpdateIDs><OtherCachedUpdateIDs/></p>",
            "<p><OtherCachedUpdateIDs><int>1\u{1}</int></OtherCachedUpdateIDs></p>",
        ] {
            assert!(lift(text, NAMES).is_none(), "{text}");
        }
    }

    /// Every request body under `dir`, recursively.
    fn bodies(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                bodies(&path, out);
            } else if path.file_name().is_some_and(|n| n == "request.body") {
                out.push(path);
            }
        }
    }

    fn fixtures() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
    }

    /// The whole decode with the id reader gives what the element tree alone gives.
    fn same_as_the_tree(body: &[u8]) {
        assert_eq!(crate::decode_request(body), crate::decode::decode_tree(body, None), "{}", String::from_utf8_lossy(body));
    }

    #[test]
    fn every_captured_request_decodes_as_through_the_tree() {
        let mut found = Vec::new();
        bodies(&fixtures(), &mut found);
        assert!(found.len() > 20, "{} captured requests", found.len());
        for path in found {
            same_as_the_tree(&std::fs::read(&path).unwrap());
        }
    }

    #[test]
    fn arrays_of_every_shape_decode_as_through_the_tree() {
        let native = std::fs::read_to_string(fixtures().join("wsus-native/wsus-m0-native/flow/000001/request.body")).unwrap();
        let (open, close) = ("<OtherCachedUpdateIDs>", "</OtherCachedUpdateIDs>");
        let start = native.find(open).unwrap() + open.len();
        let end = native.find(close).unwrap();
        let pieces = [
            "<int>42</int>", "<int>42</int>", "<int>123456</int>", " ", "\n\t", "<int> +7 </int>", "<int>-3</int>",
            "<int>007</int>", "<int>2147483647</int>", "<int>-2147483648</int>", "<int>2147483648</int>", "<int>x</int>",
            "<int></int>", "<int/>", "<int xsi:nil=\"true\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"/>",
            "<!-- c -->", "<int>00000000000012</int>", "<int>1&#50;</int>", "<string>5</string>", "9", "<int>\u{a0}5</int>",
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..400 {
            let mut array = String::new();
            for _ in 0..(state % 12) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Mostly plain items, so that many arrays take the reader's path.
                let i = (state % 40) as usize;
                array.push_str(if i < pieces.len() { pieces[i] } else { pieces[i % 3] });
            }
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let body = format!("{}{array}{}", &native[..start], &native[end..]);
            same_as_the_tree(body.as_bytes());
            let installed = body.replacen("<InstalledNonLeafUpdateIDs>", &format!("<InstalledNonLeafUpdateIDs>{array}"), 1);
            same_as_the_tree(installed.as_bytes());
        }
    }
}
