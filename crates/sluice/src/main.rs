//! `sluice`: the server and its command-line administration tool in one binary.

#[macro_use]
mod terminal;
mod catalog_cmd;
mod agent_cmd;
mod audit_cmd;
mod bulk_cmd;
mod cleanup_cmd;
mod client;
mod clients_cmd;
mod commands;
mod downstreams_cmd;
mod finding_cmd;
mod manual_cmd;
mod report_cmd;
mod rollouts_cmd;
mod rules_cmd;
mod notify_cmd;
mod serve_cmd;
mod service_defaults;
mod sync_cmd;
mod targeting;
mod servers_cmd;
mod tls_cmd;
mod tokens_cmd;
mod transfer_cmd;
mod users_cmd;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};

/// `sluice --version`: the release and the commit it was built from (build.rs).
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("SLUICE_COMMIT"), ")");

#[derive(Parser, Debug)]
#[command(name = "sluice", version = VERSION, about = "A WSUS-compatible update server")]
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
    /// Run the command on this trusted server, through the one addressed (`sluice servers`)
    #[arg(long, global = true)]
    on: Option<String>,
    /// A CA (or self-signed server) certificate to trust for https:// URLs, besides the
    /// system's: the admin API's, and the client services' for `agent`
    #[arg(long, env = "SLUICE_CA_CERT", global = true)]
    ca_cert: Option<PathBuf>,
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
    /// Approve updates (ids, KB numbers or filters) for computer groups
    Approve(targeting::ApproveArgs),
    /// List or remove approvals
    #[command(subcommand)]
    Approvals(targeting::ApprovalsCommand),
    /// Decline updates (ids, KB numbers or filters); removes their approvals, clients no longer see them
    Decline(targeting::DeclineArgs),
    /// Take back a decline
    Undecline(targeting::UndeclineArgs),
    /// Show or set how computers get their groups (server or client side)
    #[command(subcommand)]
    Targeting(targeting::TargetingCommand),
    /// Reported update status, per update and per computer
    Status(targeting::StatusArgs),
    /// Compliance reports: per group, per update, per computer (table, JSON or CSV)
    #[command(subcommand)]
    Report(report_cmd::ReportCommand),
    /// Products known to this server, by name, with ids and sync selection
    #[command(subcommand)]
    Products(finding_cmd::CategoriesCommand),
    /// Classifications known to this server, by name, with ids and sync selection
    #[command(subcommand)]
    Classifications(finding_cmd::CategoriesCommand),
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
    /// Check what `serve` needs (configuration, data directory, database, content store, ports,
    /// TLS, clock) without starting it; exits 1 if a check fails
    Doctor(DoctorArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions(manual_cmd::CompletionsArgs),
    /// Write the manual pages (sluice.1 and one per command) into a directory
    Manpages(manual_cmd::ManpagesArgs),
    /// Automatic approval rules and WSUS's automatic options
    #[command(subcommand)]
    Rules(rules_cmd::RulesCommand),
    /// Staged rollouts: plans of rings, updates moving through them
    #[command(subcommand)]
    Rollouts(rollouts_cmd::RolloutsCommand),
    /// Users of the admin API and their roles (administrator, reporter)
    #[command(subcommand)]
    Users(users_cmd::UsersCommand),
    /// API tokens: create (printed once), list, revoke
    #[command(subcommand)]
    Tokens(tokens_cmd::TokensCommand),
    /// Other Sluice servers this one administers (run any command on one with --on NAME)
    #[command(subcommand)]
    Servers(servers_cmd::ServersCommand),
    /// Self-maintenance: decline superseded and expired updates, delete unused content, remove
    /// silent computers, compact the database (now, as a dry run, or daily)
    Cleanup(cleanup_cmd::CleanupArgs),
    /// E-mail notifications: new updates after each sync, a periodic status report
    #[command(subcommand)]
    Notify(notify_cmd::NotifyCommand),
    /// HTTPS: make a self-signed certificate for `serve --tls-cert/--tls-key`
    #[command(subcommand)]
    Tls(tls_cmd::TlsCommand),
}

/// How to reach an `s3://` content store, for `serve` and `doctor`. Unset values come from the
/// standard AWS_* environment variables (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID,
/// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
#[derive(Args, Debug)]
struct S3Args {
    /// Endpoint of an S3-compatible service (MinIO, Ceph, moto) [default: AWS]
    #[arg(long)]
    s3_endpoint: Option<String>,
    /// Region the requests are signed for [default: us-east-1]
    #[arg(long)]
    s3_region: Option<String>,
    /// Access key id
    #[arg(long)]
    s3_access_key_id: Option<String>,
    /// Secret access key (visible to other local users in the process list: prefer the
    /// configuration file or AWS_SECRET_ACCESS_KEY)
    #[arg(long)]
    s3_secret_access_key: Option<String>,
    /// Allow a plain-HTTP endpoint (a service on loopback)
    #[arg(long)]
    s3_allow_http: bool,
}

/// HTTPS settings of `serve` (and of `doctor`, which checks them).
#[derive(Args, Debug)]
struct TlsArgs {
    /// Certificate (PEM, the server's first) for HTTPS: the client services on
    /// --client-tls-listen and the admin API
    #[arg(long, env = "SLUICE_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert
    #[arg(long, env = "SLUICE_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Address for Windows clients over HTTPS [default: 0.0.0.0:8531]
    #[arg(long, env = "SLUICE_CLIENT_TLS_LISTEN")]
    client_tls_listen: Option<SocketAddr>,
    /// Serve the client services over HTTPS only (no plain-HTTP client listener)
    #[arg(long)]
    no_client_http: bool,
    /// The URL clients reach this server by, for the download URLs it hands out
    /// (e.g. https://wsus.contoso.com:8531) [default: the request's own scheme and Host]
    #[arg(long, env = "SLUICE_PUBLIC_URL")]
    public_url: Option<String>,
    /// Address or network (10.0.0.0/8) of a reverse proxy whose X-Forwarded-Proto and
    /// X-Forwarded-Host are believed; repeatable
    #[arg(long = "trusted-proxy", value_name = "ADDR")]
    trusted_proxies: Vec<String>,
    /// Allow the admin API on a non-loopback address without TLS
    #[arg(long)]
    insecure_admin: bool,
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// TOML configuration file
    #[arg(long, env = "SLUICE_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://… [default: sqlite in the data directory]
    #[arg(long, env = "SLUICE_DATABASE")]
    database: Option<String>,
    /// Content store: a directory, or an S3 bucket as s3://bucket/prefix [default: <data>/content]
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
    #[command(flatten)]
    tls: TlsArgs,
    #[command(flatten)]
    s3: S3Args,
}

#[derive(Args, Debug)]
struct DoctorArgs {
    /// TOML configuration file [default: /etc/sluice/sluice.toml when it exists]
    #[arg(long, env = "SLUICE_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL, as for `serve`
    #[arg(long, env = "SLUICE_DATABASE")]
    database: Option<String>,
    /// Content store (directory or s3://bucket/prefix), as for `serve`
    #[arg(long, env = "SLUICE_CONTENT")]
    content: Option<PathBuf>,
    /// Client listener address, as for `serve`
    #[arg(long, env = "SLUICE_CLIENT_LISTEN")]
    client_listen: Option<SocketAddr>,
    /// Admin listener address, as for `serve`
    #[arg(long, env = "SLUICE_ADMIN_LISTEN")]
    admin_listen: Option<SocketAddr>,
    /// Print the checks as JSON
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    tls: TlsArgs,
    #[command(flatten)]
    s3: S3Args,
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
            Command::Agent(c) => agent_cmd::run(&cli.remote, c).await,
            Command::Publish(a) => commands::publish(&cli.remote, a).await,
            Command::ImportXml(a) => commands::import_xml(&cli.remote, a).await,
            Command::Export(a) => transfer_cmd::export(&cli.remote, a).await,
            Command::Import(a) => transfer_cmd::import(&cli.remote, a).await,
            Command::Updates(c) => commands::updates(&cli.remote, c).await,
            Command::Groups(c) => targeting::groups(&cli.remote, c).await,
            Command::Computers(c) => targeting::computers(&cli.remote, c).await,
            Command::Approve(a) => targeting::approve(&cli.remote, a).await,
            Command::Approvals(c) => targeting::approvals(&cli.remote, c).await,
            Command::Decline(a) => targeting::decline(&cli.remote, a).await,
            Command::Undecline(a) => targeting::decline_one(&cli.remote, a, true).await,
            Command::Targeting(c) => targeting::targeting(&cli.remote, c).await,
            Command::Status(a) => targeting::status(&cli.remote, a).await,
            Command::Report(c) => report_cmd::run(&cli.remote, c).await,
            Command::Products(c) => finding_cmd::categories(&cli.remote, "/products", c).await,
            Command::Classifications(c) => finding_cmd::categories(&cli.remote, "/classifications", c).await,
            Command::Catalog(c) => catalog_cmd::run(c).await,
            Command::Downstreams(c) => downstreams_cmd::run(&cli.remote, c).await,
            Command::Sync(c) => sync_cmd::run(&cli.remote, c).await,
            Command::Clients(c) => clients_cmd::run(c).map_err(anyhow::Error::msg),
            Command::Audit(a) => audit_cmd::run(&cli.remote, a).await,
            Command::Doctor(a) => serve_cmd::doctor(cli.remote, a).await,
            Command::Completions(a) => manual_cmd::completions(Cli::command(), a),
            Command::Manpages(a) => manual_cmd::manpages(Cli::command(), a),
            Command::Rules(c) => rules_cmd::run(&cli.remote, c).await,
            Command::Rollouts(c) => rollouts_cmd::run(&cli.remote, c).await,
            Command::Users(c) => users_cmd::run(&cli.remote, c).await,
            Command::Tokens(c) => tokens_cmd::run(&cli.remote, c).await,
            Command::Servers(c) => servers_cmd::run(&cli.remote, c).await,
            Command::Cleanup(a) => cleanup_cmd::run(&cli.remote, a).await,
            Command::Notify(c) => notify_cmd::run(&cli.remote, c).await,
            Command::Tls(c) => tls_cmd::run(c),
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
