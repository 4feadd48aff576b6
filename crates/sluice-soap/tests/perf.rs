//! Quick timing of the hot path (no assertion on time: CI machines vary). Run with
//! `cargo test --release -p sluice-soap --test perf -- --nocapture` for meaningful numbers.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::*;
use sluice_soap::*;
use time::macros::date;

fn time_it<T>(iterations: u32, mut f: impl FnMut() -> T) -> Duration {
    for _ in 0..iterations / 10 + 1 {
        black_box(f());
    }
    let start = Instant::now();
    for _ in 0..iterations {
        black_box(f());
    }
    start.elapsed() / iterations
}

fn page<'a>(fragments: &'a [Vec<u8>]) -> SyncInfo<'a> {
    SyncInfo {
        new_updates: fragments
            .iter()
            .enumerate()
            .map(|(i, f)| UpdateInfo {
                id: 200_000 + i as i32,
                deployment: Deployment::new(
                    34_000 + i as i32,
                    DeploymentAction::PreDeploymentCheck,
                    date!(2026 - 10 - 04),
                ),
                is_leaf: i % 3 != 0,
                xml_escaped: f,
            })
            .collect(),
        truncated: true,
        new_cookie: Some(NewCookie {
            expiration: "2026-10-04T16:03:35.9967236Z".into(),
            encrypted_data: vec![0x5A; 224],
        }),
        driver_sync_not_needed: Some(false),
        ..SyncInfo::default()
    }
}

#[test]
fn sync_updates_page_encoding_takes_microseconds() {
    // 30 synthetic Core fragments of 2–9 KB with the markup density of real ones.
    let unit = r#"<UpdateIdentity UpdateID="a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe" RevisionNumber="200" /><b.RegSz Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Microsoft" Value="V" Comparison="EqualTo" Data="1" />"#;
    let synthetic: Vec<Vec<u8>> = (0..30)
        .map(|i| {
            let target = 2048 + i * (7 * 1024) / 29;
            let raw = unit.repeat(target / unit.len() + 1)[..target].to_string();
            escape_fragment(&raw)
        })
        .collect();
    let info = page(&synthetic);
    let bytes = encode_sync_updates_response(&info).len();
    let per_page = time_it(2_000, || encode_sync_updates_response(&info));
    println!("SyncUpdates page, 30 synthetic 2–9 KB fragments, {bytes} bytes: {per_page:?} per encode");

    // The real page that carried the approved Defender bundle (fragments 0.9–13 KB).
    let root = parse(&read("wsus-m0-native/flow/000012/response.body"));
    let mut real = Vec::new();
    fn collect(e: &sluice_xml::Element, out: &mut Vec<Vec<u8>>) {
        if e.local == "Xml" {
            out.push(escape_fragment(&e.text()));
        }
        for c in e.elements() {
            collect(c, out);
        }
    }
    collect(&root, &mut real);
    assert_eq!(real.len(), 30);
    let info = page(&real);
    let bytes = encode_sync_updates_response(&info).len();
    let per_page = time_it(2_000, || encode_sync_updates_response(&info));
    println!("SyncUpdates page, the 30 real fragments of flow/000012, {bytes} bytes: {per_page:?} per encode");

    // For scale: decoding the native request of that page (94 + 1307 ids).
    let req = read("wsus-m0-native/flow/000012/request.body");
    let per_decode = time_it(200, || decode_request(&req).map(|_| ()));
    println!("SyncUpdates request of flow/000012, {} bytes: {per_decode:?} per decode", req.len());
}
