//! `sluice export` and `sluice import`: packages for disconnected networks. The server reads and
//! writes the package directory on ITS filesystem (see docs/export-format.md).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use sluice_api::transfer::{ExportReport, ExportRequest, ImportReport, ImportRequest};

use crate::client::AdminClient;
use crate::Remote;

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Package directory to create, on the SERVER's filesystem (must not exist or be empty)
    #[arg(long)]
    out: PathBuf,
    /// Only revisions the server stored at or after this time (YYYY-MM-DD or RFC 3339)
    #[arg(long)]
    since: Option<String>,
    /// Copy the content files the server has into the package too
    #[arg(long)]
    content: bool,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Package directory, on the SERVER's filesystem
    dir: PathBuf,
    /// Refuse the package unless manifest.json has this SHA-256 (printed by the export)
    #[arg(long)]
    manifest_sha256: Option<String>,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
}

/// Relative paths are taken from the current directory: right when the CLI runs on the
/// server's machine, which is where the paths are used.
fn absolute(p: &Path) -> anyhow::Result<String> {
    let p = if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().context("current directory")?.join(p) };
    Ok(p.display().to_string())
}

pub async fn export(remote: &Remote, a: ExportArgs) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    let req = ExportRequest { out: absolute(&a.out)?, since: a.since, content: a.content };
    let report: ExportReport = client.send(client.request(reqwest::Method::POST, "/export").json(&req)).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        outln!(
            "exported {} revision(s), {} file record(s), {} content file(s) ({} bytes) to {} on the server",
            report.revisions, report.files, report.content_files, report.bytes, report.out
        );
        if a.content && report.content_missing > 0 {
            outln!("{} file(s) of the exported updates are not in the server's content store and were left out", report.content_missing);
        }
        outln!("manifest SHA-256: {}", report.manifest_sha256);
        outln!("(import with --manifest-sha256 {} to detect a replaced manifest)", report.manifest_sha256);
    }
    Ok(())
}

pub async fn import(remote: &Remote, a: ImportArgs) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    let req = ImportRequest { dir: absolute(&a.dir)?, manifest_sha256: a.manifest_sha256 };
    let report: ImportReport = client.send(client.request(reqwest::Method::POST, "/import").json(&req)).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        outln!(
            "verified {} package file(s); {} revision(s): {} new, {} already present; {} content file(s) stored, {} already present",
            report.package_files_verified,
            report.revisions,
            report.revisions_inserted,
            report.revisions_already_present,
            report.content_stored,
            report.content_already_present
        );
    }
    Ok(())
}
