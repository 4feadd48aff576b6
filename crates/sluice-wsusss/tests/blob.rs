//! `XmlUpdateBlobCompressed`: real WSUS cabinets (LZX) decode to exactly the stored documents;
//! our MSZIP cabinets round-trip every real document and, where `cabextract` (libmspack, an
//! independent implementation) is installed, extract with it too; broken cabinets are errors.

mod common;

use std::process::Command;

use base64::Engine as _;
use common::*;
use sluice_wsusss::*;

/// The compressed blobs of the real GetUpdateData answers, with the revision each one carries.
fn real_blobs() -> Vec<(&'static str, &'static str, i32, Vec<u8>)> {
    [
        ("exchanges/000013", "a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe", 200),
        ("exchanges/000014", "266f6222-c89d-43f2-9f8a-69340271e677", 200),
        ("exchanges/000016", "56309036-4c77-4dd9-951a-99ee9c246a94", 101),
    ]
    .into_iter()
    .map(|(ex, id, rev)| {
        let d = decode_get_update_data_response(&read(&format!("{ex}/response.body"))).expect("decodes");
        let UpdateBlob::Compressed(cab) = &d.updates[0].blob else { panic!("{ex}: not compressed") };
        (ex, id, rev, cab.clone())
    })
    .collect()
}

fn all_docs() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(docs_dir())
        .expect("docs")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("utf-8 document"))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn real_lzx_cabinets_decode_to_the_stored_documents() {
    for (ex, id, rev, cab) in real_blobs() {
        // What a real WSUS writes: MSCF 1.3, one folder, LZX with a 2 MiB window, member `blob`.
        assert_eq!(&cab[..4], b"MSCF", "{ex}");
        assert_eq!(u16::from_le_bytes([cab[36 + 6], cab[36 + 7]]), 0x1503, "{ex}: LZX, window 2^21");
        let xml = decode_update_blob(&cab).unwrap_or_else(|e| panic!("{ex}: {e}"));
        assert_eq!(xml, read_doc(id, rev), "{ex}");
        assert!(xml.starts_with("<upd:Update "), "{ex}: no BOM, no XML declaration");
        let parsed = sluice_metadata::parse_update(&xml, ex).unwrap_or_else(|e| panic!("{ex}: {e}"));
        assert_eq!(parsed.update.identity.update_id.to_string(), id);
        // All of them are above the threshold, which is why the real server compressed them.
        assert!(utf16_len(&xml) > COMPRESSION_THRESHOLD_BYTES, "{ex}");
    }
    // 000015 came as text: below the threshold.
    let plain = read_doc("ccb78947-6453-4ecc-9de8-bc0305c98f2d", 200);
    assert!(utf16_len(&plain) <= COMPRESSION_THRESHOLD_BYTES);
}

#[test]
fn every_real_document_round_trips_through_our_mszip_cabinet() {
    let docs = all_docs();
    assert_eq!(docs.len(), 9);
    for (name, xml) in docs {
        let cab = encode_update_blob_compressed(&xml).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(u16::from_le_bytes([cab[36 + 6], cab[36 + 7]]), 1, "{name}: MSZIP");
        assert_eq!(decode_update_blob(&cab).as_ref(), Ok(&xml), "{name}");
        // The choice by size matches what the real server did for the captured ones.
        let expect_plain = utf16_len(&xml) <= COMPRESSION_THRESHOLD_BYTES;
        assert_eq!(matches!(UpdateBlob::like_wsus(&xml), Ok(UpdateBlob::Plain(_))), expect_plain, "{name}");
    }
}

#[test]
fn our_cabinets_extract_with_libmspack_when_cabextract_is_installed() {
    if Command::new("cabextract").arg("--version").output().is_err() {
        eprintln!("cabextract not installed; skipping the libmspack interoperability check");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, xml) in all_docs() {
        let cab_path = dir.path().join(format!("{name}.cab"));
        std::fs::write(&cab_path, encode_update_blob_compressed(&xml).expect("encodes")).expect("write");
        let out = Command::new("cabextract").arg("-p").arg(&cab_path).output().expect("run cabextract");
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let expected: Vec<u8> = xml.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert!(out.stdout == expected, "{name}: libmspack extracts other bytes");
        let listing = Command::new("cabextract").arg("-l").arg(&cab_path).output().expect("run cabextract");
        assert!(String::from_utf8_lossy(&listing.stdout).contains("| blob"), "{name}");
    }
    // And the real LZX ones, as a check of the check.
    for (ex, id, rev, cab) in real_blobs() {
        let cab_path = dir.path().join(format!("{id}.cab"));
        std::fs::write(&cab_path, cab).expect("write");
        let out = Command::new("cabextract").arg("-p").arg(&cab_path).output().expect("run cabextract");
        let expected: Vec<u8> = read_doc(id, rev).encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert!(out.stdout == expected, "{ex}");
    }
}

#[test]
fn truncated_and_corrupted_cabinets_are_errors() {
    for (ex, _, _, cab) in real_blobs() {
        for len in 0..cab.len() {
            assert!(decode_update_blob(&cab[..len]).is_err(), "{ex} cut at {len}");
        }
        // Flip bits all over; the data checksums and the decoders must turn each into an error
        // or, at worst, a different document — never a panic.
        let mut flipped = 0;
        for i in (0..cab.len()).step_by(7) {
            let mut bad = cab.clone();
            bad[i] ^= 0x5A;
            if decode_update_blob(&bad).is_err() {
                flipped += 1;
            }
        }
        assert!(flipped > cab.len() / 7 / 2, "{ex}: most corruptions are detected");
    }
}

fn set_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn set_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn unexpected_layouts_are_refused_before_decompression() {
    let good = encode_update_blob_compressed("<upd:Update/>").expect("encodes");
    let layout = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        decode_update_blob(&b)
    };
    assert_eq!(decode_update_blob(b"PK\x03\x04 not a cab"), Err(BlobError::NotCabinet));
    assert_eq!(decode_update_blob(b""), Err(BlobError::NotCabinet));
    type Edit = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("two files", Box::new(|b| set_u16(b, 28, 2))),
        ("no folder", Box::new(|b| set_u16(b, 26, 0))),
        ("next cabinet", Box::new(|b| set_u16(b, 30, 2))),
        ("version 1.4", Box::new(|b| b[24] = 4)),
        ("declared size", Box::new(|b| set_u32(b, 8, 1 << 30))),
        ("member name", Box::new(|b| b[44 + 16] = b'x')),
        ("member offset", Box::new(|b| set_u32(b, 44 + 4, 8))),
        ("quantum", Box::new(|b| set_u16(b, 36 + 6, 0x1472))),
        ("LZX window 2^25", Box::new(|b| set_u16(b, 36 + 6, 0x1903))),
        ("member size", Box::new(|b| set_u32(b, 44, 1000))),
        ("block count", Box::new(|b| set_u16(b, 36 + 4, 40))),
        ("block expands too far", Box::new(|b| set_u16(b, 65 + 6, 0x9000))),
        ("files offset", Box::new(|b| set_u32(b, 16, u32::MAX))),
    ];
    for (name, f) in cases {
        assert!(matches!(layout(&*f), Err(BlobError::Layout(_))), "{name}: {:?}", layout(&*f));
    }
    // The size limit is checked against the declared size, before any work.
    let huge = layout(&|b| set_u32(b, 44, u32::MAX));
    assert!(matches!(huge, Err(BlobError::TooLarge { .. })), "{huge:?}");
}

#[test]
fn lzx_with_a_tampered_block_is_an_error_not_a_panic() {
    // Keep the layout valid but zero the checksums so corrupt data reaches the LZX decoder.
    for (ex, _, _, cab) in real_blobs() {
        let mut bad = cab.clone();
        let blocks = u16::from_le_bytes([cab[40], cab[41]]);
        let mut at = u32::from_le_bytes([cab[36], cab[37], cab[38], cab[39]]) as usize;
        for _ in 0..blocks {
            set_u32(&mut bad, at, 0);
            let packed = u16::from_le_bytes([cab[at + 4], cab[at + 5]]) as usize;
            at += 8 + packed;
        }
        assert_eq!(
            decode_update_blob(&bad).as_deref().map(str::len),
            decode_update_blob(&cab).as_deref().map(str::len)
        );
        let first = u32::from_le_bytes([cab[36], cab[37], cab[38], cab[39]]) as usize + 8;
        for i in (first..cab.len()).step_by(13) {
            for mask in [0x01, 0x80, 0xFF] {
                let mut b = bad.clone();
                b[i] ^= mask;
                let _ = decode_update_blob(&b);
            }
        }
        let _ = ex;
    }
}

#[test]
fn the_base64_of_a_real_blob_is_what_the_response_carried() {
    let body = String::from_utf8(read("exchanges/000016/response.body")).expect("utf-8");
    let start = body.find("<XmlUpdateBlobCompressed>").expect("blob") + "<XmlUpdateBlobCompressed>".len();
    let end = body.find("</XmlUpdateBlobCompressed>").expect("end");
    let cab = base64::engine::general_purpose::STANDARD.decode(&body[start..end]).expect("base64");
    assert_eq!(cab.len(), 909);
    assert_eq!(decode_update_blob(&cab).expect("decodes").len(), 9834 / 2);
}
