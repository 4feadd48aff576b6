//! The starting corpora: real captures and fixtures already in the repository, so every run
//! starts from what Windows clients, WSUS servers and Microsoft's metadata actually send.

use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Files under `dir` (recursively) whose name satisfies `keep`, in a stable order.
fn files(dir: &str, keep: &dyn Fn(&str) -> bool) -> Vec<PathBuf> {
    fn walk(dir: &Path, keep: &dyn Fn(&str) -> bool, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, keep, out);
            } else if p.file_name().and_then(|n| n.to_str()).is_some_and(keep) {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&repo().join(dir), keep, &mut out);
    out
}

fn read_all(paths: Vec<PathBuf>) -> Vec<Vec<u8>> {
    paths.into_iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// The same text as UTF-16LE with a BOM: both SOAP decoders and the update parser accept it.
fn utf16_twin(text: &[u8]) -> Option<Vec<u8>> {
    let s = std::str::from_utf8(text).ok()?;
    let mut out = vec![0xFF, 0xFE];
    out.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
    Some(out)
}

fn with_one_utf16_twin(mut seeds: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    if let Some(twin) = seeds.iter().min_by_key(|s| s.len()).and_then(|s| utf16_twin(s)) {
        seeds.push(twin);
    }
    seeds
}

/// MS-WUSP requests: the native client's captured scans and flows, and the spec's examples.
pub fn client_requests() -> Vec<Vec<u8>> {
    let mut paths = files("tests/fixtures/wsus-native", &|n| n == "request.body" || n.ends_with("-request.xml"));
    paths.sort();
    with_one_utf16_twin(read_all(paths))
}

/// MS-WSUSSS requests: a real downstream WSUS's, our own downstream role's, the spec's examples.
pub fn server_requests() -> Vec<Vec<u8>> {
    let paths = files("tests/fixtures/wsusss", &|n| n == "request.body" || n.ends_with("-request.xml"));
    with_one_utf16_twin(read_all(paths))
}

/// The real update documents.
pub fn update_documents() -> Vec<Vec<u8>> {
    with_one_utf16_twin(read_all(files("tests/fixtures/wsus-rs/docs", &|n| n.ends_with(".xml"))))
}

/// Applicability rules in both spellings: each real document's rules as stored (document
/// form), the real Core fragments, and the CBS rules the rule tests use.
pub fn rules() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for doc in update_documents() {
        let Ok(parsed) = sluice_metadata::parse_update_bytes(&doc, "seed") else { continue };
        let r = &parsed.update.rules;
        for rule in [&r.is_installed, &r.is_installable, &r.is_superseded, &r.metadata].into_iter().flatten() {
            out.push(rule.clone().into_bytes());
        }
    }
    out.extend(read_all(files("tests/fixtures/wsus-rs/wusp-reference", &|n| n.ends_with(".core.xml"))));
    out.extend(read_all(files("crates/sluice-rules/tests/fixtures", &|n| n.ends_with(".xml"))));
    out.sort();
    out.dedup();
    out
}

/// Plain data for the xpress coder: captured SOAP answers (what the server compresses) and a
/// few of them already compressed, so mutations also start from valid coded streams.
pub fn xpress_streams() -> Vec<Vec<u8>> {
    let plain = read_all(files("crates/sluice-xpress/tests/fixtures", &|n| n.ends_with(".xml")));
    let mut out: Vec<Vec<u8>> = plain.iter().map(|p| sluice_xpress::compress(p)).collect();
    out.extend(plain.iter().map(|p| sluice_xpress::compress_with_block_size(&p[..p.len().min(3000)], 512)));
    out.push(sluice_xpress::compress(b"abcabcabcabcabcabcabcabcabcabcabcabcabcabc"));
    out.push(sluice_xpress::compress(&[0u8; 70_000]));
    out
}

/// `XmlUpdateBlobCompressed` cabinets: the real LZX ones from captured GetUpdateData answers
/// and our MSZIP encoding of every real document.
pub fn cabinets() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for body in read_all(files("tests/fixtures/wsusss/exchanges", &|n| n == "response.body")) {
        if let Ok(sluice_wsusss::Response::GetUpdateData(data)) =
            sluice_wsusss::decode_response(sluice_wsusss::Operation::GetUpdateData, &body)
        {
            for u in data.updates {
                if let sluice_wsusss::UpdateBlob::Compressed(cab) = u.blob {
                    out.push(cab);
                }
            }
        }
    }
    for doc in update_documents() {
        if let Ok(text) = std::str::from_utf8(&doc)
            && let Ok(cab) = sluice_wsusss::encode_update_blob_compressed(text)
        {
            out.push(cab);
        }
    }
    out
}

/// `Range` inputs: a file length line, then the `Range` and `If-Range` values, as the client
/// listener's GETs carry them (Delivery Optimization, BITS, browsers).
pub fn ranges() -> Vec<Vec<u8>> {
    [
        "1000\nbytes=0-499\n",
        "1000\nbytes=-500\n",
        "1000\nbytes=500-\n",
        "1000\nbytes=0-0,-1\n",
        "1000\nbytes=0-99, 200-299, 400-\n",
        "0\nbytes=-1\n",
        "5000000\nbytes=0-4999999\n\"0123456789abcdef0123456789abcdef01234567\"",
        "5000000\nbytes=100-200\nWed, 21 Oct 2015 07:28:00 GMT",
        "1000\nBYTES = 1-2\nW/\"x\"",
        "18446744073709551615\nbytes=18446744073709551614-\n",
    ]
    .into_iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}
