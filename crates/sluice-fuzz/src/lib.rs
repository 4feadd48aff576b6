//! Fuzz targets for every decoder of bytes a peer chose (both SOAP request decoders, the update
//! XML parser, the rule parser, the xpress decoder, the CAB reader, the `Range` parser) and the
//! mutation fuzzer that drives them on stable Rust.
//!
//! Dev-only: the server never links this crate. `cargo test -p sluice-fuzz` gives every
//! target a short deterministic run and replays `regressions/`; the long runs are
//! `cargo run --release -p sluice-fuzz -- <target> --seconds 600` (RELIABILITY.md).

pub mod alloc;
pub mod engine;
pub mod mutate;
pub mod seeds;
pub mod targets;

pub use engine::{Budget, Finding, FindingKind, Report, Target, fuzz, run_one};

#[global_allocator]
static COUNTING: alloc::CountingAlloc = alloc::CountingAlloc;

/// The regression inputs of `target`: every input a run ever found, kept once fixed.
pub fn regressions(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = seeds::repo().join("crates/sluice-fuzz/regressions").join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).ok()?)))
        .collect();
    out.sort();
    out
}
