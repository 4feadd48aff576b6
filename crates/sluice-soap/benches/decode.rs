//! Decoding a SyncUpdates request: the native client's captured body, and the same body with
//! the 3,300 cached ids of a Windows 11 machine, through the id-array reader and (an array the
//! reader leaves to the element tree) the tree alone, in bytes per second.
//!
//! `cargo bench -p sluice-soap --bench decode`

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn capture() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/wsus-native/wsus-m0-native/flow/000001/request.body");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `xml` with the content of `<tag>` replaced.
fn set(xml: &str, tag: &str, inner: &str) -> String {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let start = xml.find(&open).unwrap_or_else(|| panic!("no <{tag}>")) + open.len();
    let end = start + xml[start..].find(&close).unwrap_or_else(|| panic!("no </{tag}>"));
    format!("{}{inner}{}", &xml[..start], &xml[end..])
}

fn decode(c: &mut Criterion) {
    let native = capture();
    // Revision ids of a catalog of Microsoft's size: five and six digits.
    let cached: String = (0..3_300).map(|i| format!("<int>{}</int>", 20_000 + i * 37)).collect();
    let windows11 = set(&native, "OtherCachedUpdateIDs", &cached);
    // A comment inside an array is legal XML the id reader does not take: the tree decodes it.
    let through_tree = set(&windows11, "OtherCachedUpdateIDs", &format!("<!-- -->{cached}"));
    for body in [&native, &windows11, &through_tree] {
        let sluice_soap::Request::SyncUpdates(r) = sluice_soap::decode_request(body.as_bytes()).expect("decodes") else {
            panic!("not SyncUpdates")
        };
        eprintln!("{} bytes: {} installed, {} cached ids", body.len(), r.installed_non_leaf_update_ids.len(), r.other_cached_update_ids.len());
    }
    assert_eq!(sluice_soap::decode_request(windows11.as_bytes()).unwrap(), sluice_soap::decode_request(through_tree.as_bytes()).unwrap());

    let mut g = c.benchmark_group("decode");
    g.sample_size(50);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    for (name, body) in [("sync_updates_native_capture", &native), ("sync_updates_3300_cached", &windows11), ("sync_updates_3300_cached_tree", &through_tree)] {
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function(name, |b| b.iter(|| sluice_soap::decode_request(body.as_bytes()).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
