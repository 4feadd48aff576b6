//! `sluice catalog generate`: a synthetic catalog of Microsoft update documents, for load
//! tests, benchmarks and demonstrations without a Microsoft Update sync.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};
use sluice_catgen::{Catalog, CatalogConfig, DEFAULT_DETECTOID_SHARE, DocumentKind};

#[derive(Subcommand, Debug)]
pub enum CatalogCommand {
    /// Write a synthetic catalog shaped like Microsoft Update's (the same seed and size always
    /// give the same documents); import it with `sluice import-xml DIR/*.xml`
    Generate(GenerateArgs),
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// Number of update documents (revisions) to write
    #[arg(long)]
    revisions: usize,
    /// Seed of the catalog
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// New or empty directory for `<updateid>-r<rev>.xml` files and `manifest.json`
    #[arg(long)]
    out: PathBuf,
    /// Share of the documents that are detectoids (at most 3,805 are made)
    #[arg(long, default_value_t = DEFAULT_DETECTOID_SHARE)]
    detectoid_share: f64,
    /// Print the manifest (counts per kind, seed, generator version) as JSON
    #[arg(long)]
    json: bool,
}

/// Beyond this many files a shell glob no longer fits on one command line.
const GLOB_LIMIT: usize = 20_000;

pub async fn run(c: CatalogCommand) -> anyhow::Result<()> {
    match c {
        // Generation is CPU- and file-bound; keep it off the runtime's worker threads.
        CatalogCommand::Generate(a) => tokio::task::spawn_blocking(move || generate(a)).await?,
    }
}

fn generate(a: GenerateArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let config = CatalogConfig { detectoid_share: a.detectoid_share, ..CatalogConfig::new(a.revisions, a.seed) };
    let catalog = Catalog::generate(&config)?;
    let report = catalog.write_to_dir(&a.out)?;
    if a.json {
        print!("{}", catalog.manifest_json(Some(report.bytes)));
        return Ok(());
    }
    let s = catalog.summary();
    let categories: usize = DocumentKind::ALL.iter().filter(|k| k.is_category()).map(|k| s.updates.get(*k)).sum();
    outln!(
        "{} documents ({:.1} MB) written to {} in {:.1} s (seed {})",
        report.documents,
        report.bytes as f64 / 1e6,
        a.out.display(),
        started.elapsed().as_secs_f64(),
        a.seed
    );
    outln!(
        "{} updates: {} bundles, {} bundled updates, {} standalone, {} detectoids; {} categories; {} later revisions",
        s.listed_updates,
        s.updates.get(DocumentKind::Bundle),
        s.updates.get(DocumentKind::BundledUpdate),
        s.updates.get(DocumentKind::Standalone),
        s.updates.get(DocumentKind::Detectoid),
        categories,
        s.later_revisions
    );
    let dir = a.out.display();
    if report.documents > GLOB_LIMIT {
        outln!("import: find {dir} -name '*.xml' -print0 | xargs -0 sluice import-xml");
    } else {
        outln!("import: sluice import-xml {dir}/*.xml");
    }
    Ok(())
}
