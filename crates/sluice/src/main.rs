//! `sluice`: the server and its command-line administration tool in one binary.

#[macro_use]
mod terminal;
mod catalog_cmd;
mod agent_cmd;
mod audit_cmd;
mod cleanup_cmd;
mod client;
mod clients_cmd;
mod commands;
mod downstreams_cmd;
mod notify_cmd;
mod serve_cmd;
mod sync_cmd;
mod targeting;
mod transfer_cmd;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "sluice", version, about = "A WSUS-compatible update server")]
struct Cli {
    #[command(flatten)]
    remote: Remote,
    #[command(subcommand)]
    command: Command,
}

/// Where the admin commands send their requests.
#[derive(Args, Debug, Clone)]
pub struct Remote {
    /// Admin API of the server to administer [default: http://127.0.0.1:8580]
    #[arg(long, env = "SLUICE_SERVER", global = true)]
    server: Option<String>,
    /// Admin API token [default: read from <data>/admin-token]
    #[arg(long, env = "SLUICE_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
    /// Data directory of the local server (used to find its admin token)
    #[arg(long, env = "SLUICE_DATA", global = true)]
    data: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (client services on :8530, admin API on 127.0.0.1:8580)
    Serve(ServeArgs),
    /// A simulated Windows Update Agent: scan one machine, or load-test with a fleet
    #[command(subcommand)]
    Agent(agent_cmd::AgentCommand),
    /// Publish a local update: store its file and write its metadata
    Publish(commands::PublishArgs),
    /// Import raw Microsoft update XML documents into the catalog
    ImportXml(commands::ImportArgs),
    /// Write the catalog (and optionally content) to a package directory on the server, for a disconnected network
    Export(transfer_cmd::ExportArgs),
    /// Load a package directory (on the server) written by `export`
    Import(transfer_cmd::ImportArgs),
    /// Browse the update catalog
    #[command(subcommand)]
    Updates(commands::UpdatesCommand),
    /// Manage computer groups
    #[command(subcommand)]
    Groups(targeting::GroupsCommand),
    /// List computers, show one, move it between groups
    #[command(subcommand)]
    Computers(targeting::ComputersCommand),
    /// Approve an update for a computer group
    Approve(targeting::ApproveArgs),
    /// List or remove approvals
    #[command(subcommand)]
    Approvals(targeting::ApprovalsCommand),
    /// Decline an update (removes its approvals; clients no longer see it)
    Decline(targeting::DeclineArgs),
    /// Take back a decline
    Undecline(targeting::DeclineArgs),
    /// Show or set how computers get their groups (server or client side)
    #[command(subcommand)]
    Targeting(targeting::TargetingCommand),
    /// Reported update status, per update and per computer
    Status(targeting::StatusArgs),
    /// Generate synthetic update catalogs
    #[command(subcommand)]
    Catalog(catalog_cmd::CatalogCommand),
    /// Downstream servers that sync from this one, and their computers
    #[command(subcommand)]
    Downstreams(downstreams_cmd::DownstreamsCommand),
    /// Synchronise from an upstream (Microsoft Update or a WSUS/Sluice server)
    #[command(subcommand)]
    Sync(sync_cmd::SyncCommand),
    /// Point Windows machines at this server (registry settings; see docs/clients.md)
    #[command(subcommand)]
    Clients(clients_cmd::ClientsCommand),
    /// Who changed what through the admin API, when and from where (newest first)
    Audit(audit_cmd::AuditArgs),
    /// Self-maintenance: decline superseded and expired updates, delete unused content, remove
    /// silent computers, compact the database (now, as a dry run, or daily)
    Cleanup(cleanup_cmd::CleanupArgs),
    /// E-mail notifications: new updates after each sync, a periodic status report
    #[command(subcommand)]
    Notify(notify_cmd::NotifyCommand),
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// TOML configuration file
    #[arg(long, env = "SLUICE_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://… [default: sqlite in the data directory]
    #[arg(long, env = "SLUICE_DATABASE")]
    database: Option<String>,
    /// Content store directory [default: <data>/content]
    #[arg(long, env = "SLUICE_CONTENT")]
    content: Option<PathBuf>,
    /// Address for Windows clients and downstream servers [default: 0.0.0.0:8530]
    #[arg(long, env = "SLUICE_CLIENT_LISTEN")]
    client_listen: Option<SocketAddr>,
    /// Address for the admin API [default: 127.0.0.1:8580]
    #[arg(long, env = "SLUICE_ADMIN_LISTEN")]
    admin_listen: Option<SocketAddr>,
    /// Log lines as plain text or as one JSON object per line
    #[arg(long, value_enum, default_value = "text", env = "SLUICE_LOG_FORMAT")]
    log_format: LogFormat,
    /// Do not log every request of the client listener
    #[arg(long)]
    no_access_log: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LogFormat {
    Text,
    Json,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            errln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Serve(a) => serve_cmd::serve(cli.remote, a).await,
            Command::Agent(c) => agent_cmd::run(c).await,
            Command::Publish(a) => commands::publish(&cli.remote, a).await,
            Command::ImportXml(a) => commands::import_xml(&cli.remote, a).await,
            Command::Export(a) => transfer_cmd::export(&cli.remote, a).await,
            Command::Import(a) => transfer_cmd::import(&cli.remote, a).await,
            Command::Updates(c) => commands::updates(&cli.remote, c).await,
            Command::Groups(c) => targeting::groups(&cli.remote, c).await,
            Command::Computers(c) => targeting::computers(&cli.remote, c).await,
            Command::Approve(a) => targeting::approve(&cli.remote, a).await,
            Command::Approvals(c) => targeting::approvals(&cli.remote, c).await,
            Command::Decline(a) => targeting::decline(&cli.remote, a, false).await,
            Command::Undecline(a) => targeting::decline(&cli.remote, a, true).await,
            Command::Targeting(c) => targeting::targeting(&cli.remote, c).await,
            Command::Status(a) => targeting::status(&cli.remote, a).await,
            Command::Catalog(c) => catalog_cmd::run(c).await,
            Command::Downstreams(c) => downstreams_cmd::run(&cli.remote, c).await,
            Command::Sync(c) => sync_cmd::run(&cli.remote, c).await,
            Command::Clients(c) => clients_cmd::run(c).map_err(anyhow::Error::msg),
            Command::Audit(a) => audit_cmd::run(&cli.remote, a).await,
            Command::Cleanup(a) => cleanup_cmd::run(&cli.remote, a).await,
            Command::Notify(c) => notify_cmd::run(&cli.remote, c).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            errln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
