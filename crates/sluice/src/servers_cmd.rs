//! `sluice servers`: the other Sluice servers this one administers. Any other verb runs on one
//! of them through this server with the global `--on NAME`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use reqwest::Method;
use sluice_api::{AddServerRequest, ServerOverview, TrustedServerView};

use crate::client::AdminClient;
use crate::terminal::{output, output_text};
use crate::Remote;

#[derive(Subcommand, Debug)]
pub enum ServersCommand {
    /// Trust another Sluice server: its identity is pinned and the token stored encrypted
    Add {
        /// What to call it here (`--on NAME`)
        name: String,
        /// Its admin listener, http(s)://host:8580
        #[arg(long)]
        url: String,
        /// A file holding an API token issued on that server (`sluice tokens create` there)
        #[arg(long)]
        token_file: PathBuf,
        /// PEM certificate(s) to trust for its HTTPS
        #[arg(long)]
        ca_cert: Option<PathBuf>,
        /// Print the admin API's JSON
        #[arg(long)]
        json: bool,
    },
    /// The trusted servers, each asked now how it is doing
    List {
        /// Print the admin API's JSON
        #[arg(long)]
        json: bool,
    },
    /// Stop trusting a server and forget its token
    Remove {
        name: String,
        /// Print the admin API's JSON
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(remote: &Remote, c: ServersCommand) -> anyhow::Result<()> {
    // The trusted servers are this server's own list, whatever `--on` says.
    let remote = Remote { on: None, ..remote.clone() };
    let client = AdminClient::from_remote(&remote)?;
    match c {
        ServersCommand::Add { name, url, token_file, ca_cert, json } => {
            let token = std::fs::read_to_string(&token_file).with_context(|| format!("cannot read {}", token_file.display()))?;
            let ca_cert = match ca_cert {
                Some(p) => Some(std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?),
                None => None,
            };
            let req = AddServerRequest { name, url, token: token.trim().to_string(), ca_cert };
            let added: TrustedServerView = client.send(client.request(Method::POST, "/servers").json(&req)).await?;
            output(json, &added, |s| {
                println!("trusted '{}' at {} (server {}{})", s.name, s.url, s.server_id, s.certificate_sha256.as_deref().map(|c| format!(", certificate {c}")).unwrap_or_default());
            })?;
        }
        ServersCommand::List { json } => {
            let all: Vec<ServerOverview> = client.send(client.request(Method::GET, "/servers/overview")).await?;
            output_text(json, &all, |all| table(all))?;
        }
        ServersCommand::Remove { name, json } => {
            let gone: TrustedServerView = client.send(client.request(Method::DELETE, &format!("/servers/{}", crate::users_cmd::urlencoding(&name)))).await?;
            output(json, &gone, |s| println!("no longer trusting '{}' ({})", s.name, s.url))?;
        }
    }
    Ok(())
}

fn table(all: &[ServerOverview]) -> String {
    let mut out = String::new();
    push_line!(out, "{:<16}  {:<12}  {:<10}  {:>9}  {:>8}  {:<24}  STATE", "NAME", "VERSION", "MODE", "COMPUTERS", "NEEDING", "LAST SYNC");
    for s in all {
        let name = s.name.clone().unwrap_or_else(|| "(this server)".into());
        match &s.info {
            Some(i) => push_line!(
                out,
                "{:<16}  {:<12}  {:<10}  {:>9}  {:>8}  {:<24}  {}",
                name,
                i.version,
                i.mode,
                i.computers,
                i.computers_needing,
                i.last_sync.as_ref().map(|l| format!("{} {}", l.result, l.finished_at.as_deref().unwrap_or(""))).unwrap_or_else(|| "never".into()),
                "ok"
            ),
            None => push_line!(out, "{:<16}  {:<12}  {:<10}  {:>9}  {:>8}  {:<24}  {}", name, "-", "-", "-", "-", "-", s.error.as_deref().unwrap_or("unknown")),
        }
    }
    out
}
