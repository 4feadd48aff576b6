//! Throughput and ratio of the xpress coding on real SOAP XML.
//!
//! ```text
//! cargo run --release -p sluice-xpress --example measure [FILE_OR_DIR ...]
//! ```
//!
//! Without arguments it reads the fixtures of this crate (real WSUS SOAP responses). Each file
//! is measured alone, then all of them concatenated and repeated to ~8 MiB so that timings are
//! not dominated by timer resolution.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn main() {
    let mut paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if paths.is_empty() {
        paths.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"));
    }
    let mut files = Vec::new();
    for path in &paths {
        collect(path, &mut files);
    }
    files.sort();
    if files.is_empty() {
        eprintln!("no input files");
        std::process::exit(2);
    }

    println!(
        "{:<60} {:>10} {:>10} {:>7} {:>10} {:>10}",
        "input", "bytes", "xpress", "ratio", "comp MB/s", "decomp MB/s"
    );
    let mut all = Vec::new();
    for file in &files {
        let Ok(data) = std::fs::read(file) else {
            eprintln!("cannot read {}", file.display());
            continue;
        };
        report(&file.display().to_string(), &data);
        all.extend_from_slice(&data);
    }
    let mut big = Vec::new();
    while big.len() < 8 << 20 {
        big.extend_from_slice(&all);
    }
    report("(all files, repeated to 8 MiB)", &big);
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) {
    if path.is_dir() {
        if let Ok(entries) = std::fs::read_dir(path) {
            for entry in entries.flatten() {
                collect(&entry.path(), files);
            }
        }
    } else if path.file_name().is_some_and(|n| n != "PROVENANCE.md") {
        files.push(path.to_path_buf());
    }
}

fn report(name: &str, data: &[u8]) {
    let compressed = sluice_xpress::compress(data);
    let decoded = sluice_xpress::decompress_with_limit(&compressed, data.len());
    assert_eq!(decoded.as_deref(), Ok(data), "round trip failed for {name}");

    let comp = time(data.len(), || {
        std::hint::black_box(sluice_xpress::compress(std::hint::black_box(data)));
    });
    let decomp = time(data.len(), || {
        let out =
            sluice_xpress::decompress_with_limit(std::hint::black_box(&compressed), data.len());
        std::hint::black_box(out).ok();
    });
    println!(
        "{:<60} {:>10} {:>10} {:>7.2} {:>10.0} {:>10.0}",
        truncate(name, 60),
        data.len(),
        compressed.len(),
        data.len() as f64 / compressed.len().max(1) as f64,
        comp,
        decomp
    );
}

/// MB/s (10^6 bytes per second) of `f` over `bytes`, best of several runs of ~0.2 s each.
fn time(bytes: usize, mut f: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let mut runs = 0u32;
        while start.elapsed() < Duration::from_millis(200) {
            f();
            runs += 1;
        }
        best = best.min(start.elapsed().as_secs_f64() / f64::from(runs));
    }
    bytes as f64 / best / 1e6
}

/// The last `max` characters of `s`: for paths, the file name is the informative end.
fn truncate(s: &str, max: usize) -> &str {
    let count = s.chars().count();
    match s.char_indices().nth(count.saturating_sub(max)) {
        Some((i, _)) => &s[i..],
        None => s,
    }
}
