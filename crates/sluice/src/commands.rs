//! Catalog administration commands: publish, import-xml, updates.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use sha1::Digest as _;
use sluice_api::*;
use tokio::io::AsyncReadExt;

use crate::client::AdminClient;
use crate::Remote;

#[derive(Args, Debug)]
pub struct PublishArgs {
    /// The file clients download and run
    #[arg(long)]
    file: PathBuf,
    #[arg(long)]
    title: String,
    #[arg(long)]
    description: Option<String>,
    /// Knowledge Base article number
    #[arg(long)]
    kb: Option<String>,
    /// MSRC security bulletin number
    #[arg(long)]
    msrc_number: Option<String>,
    /// Critical, Important, Moderate or Low
    #[arg(long)]
    msrc_severity: Option<String>,
    /// Classification title or id [default: Updates]
    #[arg(long)]
    classification: Option<String>,
    /// Product title or id; an unknown title creates the product
    #[arg(long)]
    product: Option<String>,
    /// Arguments the file is run with
    #[arg(long, allow_hyphen_values = true)]
    command_line: Option<String>,
    /// CODE:success|reboot|failure, repeatable [default: 0:success 3010:reboot 1641:reboot]
    #[arg(long = "return-code", value_parser = parse_return_code)]
    return_codes: Vec<ReturnCodeSpec>,
    /// IsInstalled rule: XML, or a file holding it
    #[arg(long)]
    installed_rule: Option<String>,
    /// IsInstallable rule: XML, or a file holding it
    #[arg(long)]
    installable_rule: Option<String>,
    /// Update id that must be installed first (repeatable)
    #[arg(long = "prerequisite")]
    prerequisites: Vec<String>,
    /// Update id this update supersedes (repeatable)
    #[arg(long = "supersedes")]
    supersedes: Vec<String>,
    /// Print the new update as JSON
    #[arg(long)]
    json: bool,
}

fn parse_return_code(s: &str) -> Result<ReturnCodeSpec, String> {
    let (code, meaning) = s.split_once(':').ok_or("expected CODE:success|reboot|failure")?;
    let code: i64 = code.trim().parse().map_err(|_| format!("'{code}' is not an integer exit code"))?;
    let meaning = match meaning.trim().to_ascii_lowercase().as_str() {
        "success" => ReturnCodeMeaning::Success,
        "reboot" => ReturnCodeMeaning::Reboot,
        "failure" => ReturnCodeMeaning::Failure,
        other => return Err(format!("'{other}' is not success, reboot or failure")),
    };
    Ok(ReturnCodeSpec { code, meaning })
}

/// A rule given either inline (starts with `<`) or as a file path.
fn rule_arg(v: Option<String>) -> anyhow::Result<Option<String>> {
    match v {
        None => Ok(None),
        Some(s) if s.trim_start().starts_with('<') => Ok(Some(s)),
        Some(path) => Ok(Some(
            std::fs::read_to_string(&path).with_context(|| format!("cannot read rule file {path}"))?,
        )),
    }
}

async fn digest_file(path: &Path) -> anyhow::Result<PublishFile> {
    let mut f = tokio::fs::File::open(path).await.with_context(|| format!("cannot open {}", path.display()))?;
    let mut sha1 = sha1::Sha1::new();
    let mut sha256 = sha2::Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).await.with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        sha1.update(&buf[..n]);
        sha256.update(&buf[..n]);
        size += n as u64;
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .context("the file name is not valid UTF-8")?
        .to_string();
    Ok(PublishFile { name, size, sha1: hex::encode(sha1.finalize()), sha256: hex::encode(sha256.finalize()) })
}

pub async fn publish(remote: &Remote, a: PublishArgs) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    let file = digest_file(&a.file).await?;
    let req = PublishRequest {
        title: a.title,
        description: a.description,
        kb: a.kb,
        msrc_number: a.msrc_number,
        msrc_severity: a.msrc_severity,
        classification: a.classification,
        product: a.product,
        command_line: a.command_line,
        return_codes: a.return_codes,
        installed_rule: rule_arg(a.installed_rule)?,
        installable_rule: rule_arg(a.installable_rule)?,
        prerequisites: a.prerequisites,
        supersedes: a.supersedes,
        file: Some(file.clone()),
    };
    let stream = tokio_util::io::ReaderStream::new(
        tokio::fs::File::open(&a.file).await.with_context(|| format!("cannot open {}", a.file.display()))?,
    );
    let body = reqwest::Body::wrap_stream(stream);
    let form = reqwest::multipart::Form::new()
        .text("metadata", serde_json::to_string(&req)?)
        .part("file", reqwest::multipart::Part::stream_with_length(body, file.size).file_name(file.name.clone()));
    let detail: UpdateDetail = client.send(client.request(reqwest::Method::POST, "/updates/publish").multipart(form)).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&detail)?);
    } else {
        outln!("{}", detail.summary.update_id);
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Update XML documents (`<upd:Update>`), UTF-8 or UTF-16 with BOM
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[arg(long)]
    json: bool,
}

/// Documents are sent in batches of this many; each batch is stored all-or-nothing.
const IMPORT_BATCH: usize = 500;

pub async fn import_xml(remote: &Remote, a: ImportArgs) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    // Check every document before sending any, so a bad file stores nothing at all.
    let mut docs = Vec::with_capacity(a.files.len());
    let mut problems = Vec::new();
    for path in &a.files {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {name}"))?;
        match sluice_metadata::parse_update_bytes(&bytes, &name) {
            Ok(p) => docs.push(ImportDocument { name, xml: p.xml }),
            Err(e) => problems.push(e.to_string()),
        }
    }
    if !problems.is_empty() {
        bail!("nothing imported; {} document(s) rejected:\n  {}", problems.len(), problems.join("\n  "));
    }
    let mut all = Vec::new();
    for batch in docs.chunks(IMPORT_BATCH) {
        let req = ImportRequest { documents: batch.to_vec() };
        let resp: ImportResponse =
            client.send(client.request(reqwest::Method::POST, "/updates/import").json(&req)).await?;
        all.extend(resp.revisions);
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&ImportResponse { revisions: all })?);
    } else {
        let new = all.iter().filter(|r| r.inserted).count();
        outln!("{} revision(s) imported, {} already present", new, all.len() - new);
    }
    Ok(())
}

#[derive(Subcommand, Debug)]
pub enum UpdatesCommand {
    /// List updates (latest revision of each): filtered, sorted, one page at a time
    List(crate::finding_cmd::ListArgs),
    /// Show one update, by id or by the KB number (KB5012345) it carries
    Show {
        /// Update id, or a KB number that exactly one update carries
        update_id: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn updates(remote: &Remote, c: UpdatesCommand) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    match c {
        UpdatesCommand::List(a) => crate::finding_cmd::list(remote, a).await?,
        UpdatesCommand::Show { update_id, json } => {
            let d: UpdateDetail =
                client.send(client.request(reqwest::Method::GET, &format!("/updates/{update_id}"))).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&d)?);
            } else {
                print_detail(&d);
            }
        }
    }
    Ok(())
}

fn print_detail(d: &UpdateDetail) {
    let s = &d.summary;
    outln!("{}", s.title);
    outln!("  Update ID:       {} (revision {}, local id {})", s.update_id, s.revision_number, s.revision_id);
    outln!("  Type:            {}{}", s.update_type, if d.is_bundle { " (bundle)" } else { "" });
    if let Some(kb) = &s.kb_article {
        outln!("  KB article:      {kb}");
    }
    if let Some(m) = &s.msrc_number {
        outln!("  MSRC number:     {m}");
    }
    if let Some(m) = &s.msrc_severity {
        outln!("  MSRC severity:   {m}");
    }
    outln!("  Classification:  {}", s.classification.as_deref().unwrap_or("-"));
    outln!("  Products:        {}", if s.products.is_empty() { "-".into() } else { s.products.join(", ") });
    outln!("  Created:         {}", s.creation_date.as_deref().unwrap_or("-"));
    outln!("  Locally published: {}", if s.is_locally_published { "yes" } else { "no" });
    if let Some(desc) = &d.description {
        outln!("  Description:     {desc}");
    }
    if let Some(c) = &d.command_line {
        outln!("  Command line:    {c}");
    }
    for f in &d.files {
        outln!("  File:            {} ({} bytes, sha1 {}, {})", f.name, f.size, f.sha1, f.state);
    }
    if !d.superseded_updates.is_empty() {
        outln!("  Supersedes:      {}", d.superseded_updates.join(", "));
    }
    for g in &d.prerequisites {
        outln!("  Prerequisite:    {}", g.join(" or "));
    }
    outln!("  Languages:       {}", d.languages.join(", "));
}
