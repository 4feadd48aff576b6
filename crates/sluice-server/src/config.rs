//! Server configuration: embedded defaults, then a TOML file, then environment variables, then
//! command-line flags (each later source overrides the earlier ones).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Everything the server keeps lives below this directory unless told otherwise.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; `None` means `<data>/sluice.db`.
    pub database: Option<String>,
    /// Content store root; `None` means `<data>/content`.
    pub content_dir: Option<PathBuf>,
    /// Where Windows clients (and downstream servers) connect: WSUS's port 8530.
    pub client_listen: SocketAddr,
    /// Admin API; loopback unless deliberately exposed.
    pub admin_listen: SocketAddr,
    /// How long in-flight requests may finish after a shutdown signal.
    pub shutdown_grace_secs: u64,
    /// Connections and timeouts of the client listener.
    pub client_connections: crate::listener::ConnectionLimits,
    /// Connections and timeouts of the admin listener: a separate limit, so clients filling
    /// theirs never lock the administrator out.
    pub admin_connections: crate::listener::ConnectionLimits,
    /// Bytes of SOAP request bodies the whole process holds at once.
    pub body_budget_bytes: usize,
    /// How long a request waits for a share of an exhausted body budget before `ServerBusy`.
    pub body_budget_wait_ms: u64,
    /// One log line per client-listener request (target `sluice::access`).
    pub access_log: bool,
}

/// Client listener defaults. 1,000 connections stays under the usual 1,024-descriptor limit
/// with room for the database, content files and the admin listener. WinHTTP sends a request
/// head at once and reuses a connection within seconds between SyncUpdates rounds, so 20 s for a
/// head, 15 s of silence and 30 s between body pieces only cut off peers that are stuck or
/// hostile.
pub const DEFAULT_CLIENT_CONNECTIONS: crate::listener::ConnectionLimits = crate::listener::ConnectionLimits {
    max_connections: 1000,
    header_read: std::time::Duration::from_secs(20),
    keep_alive_idle: std::time::Duration::from_secs(15),
    body_read: std::time::Duration::from_secs(30),
};

/// Admin listener defaults: a few administrators and scripts; uploads (imports) may come over
/// slower links, hence the longer body wait.
pub const DEFAULT_ADMIN_CONNECTIONS: crate::listener::ConnectionLimits = crate::listener::ConnectionLimits {
    max_connections: 64,
    header_read: std::time::Duration::from_secs(20),
    keep_alive_idle: std::time::Duration::from_secs(60),
    body_read: std::time::Duration::from_secs(60),
};

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./sluice-data"),
            database: None,
            content_dir: None,
            client_listen: SocketAddr::from(([0, 0, 0, 0], 8530)),
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 8580)),
            shutdown_grace_secs: 10,
            client_connections: DEFAULT_CLIENT_CONNECTIONS,
            admin_connections: DEFAULT_ADMIN_CONNECTIONS,
            body_budget_bytes: crate::body_budget::DEFAULT_BUDGET_BYTES,
            body_budget_wait_ms: crate::body_budget::DEFAULT_BUDGET_WAIT.as_millis() as u64,
            access_log: true,
        }
    }
}

/// The TOML file: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    pub data: Option<PathBuf>,
    pub database: Option<String>,
    pub content: Option<PathBuf>,
    pub client_listen: Option<SocketAddr>,
    pub admin_listen: Option<SocketAddr>,
    pub shutdown_grace_secs: Option<u64>,
    pub client_max_connections: Option<usize>,
    pub admin_max_connections: Option<usize>,
    pub header_read_timeout_secs: Option<u64>,
    pub keep_alive_idle_secs: Option<u64>,
    pub body_read_timeout_secs: Option<u64>,
    pub body_budget_mib: Option<usize>,
    pub body_budget_wait_ms: Option<u64>,
    pub access_log: Option<bool>,
}

/// Values given on the command line (already merged with the environment by clap's `env`).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub data: Option<PathBuf>,
    pub database: Option<String>,
    pub content: Option<PathBuf>,
    pub client_listen: Option<SocketAddr>,
    pub admin_listen: Option<SocketAddr>,
    /// `--no-access-log`.
    pub no_access_log: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
}

impl Config {
    /// Builds the effective configuration.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
            let f: FileConfig = toml::from_str(&text)
                .map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: e.to_string() })?;
            c.apply_file(f);
        }
        c.apply_overrides(overrides);
        Ok(c)
    }

    fn apply_file(&mut self, f: FileConfig) {
        if let Some(v) = f.data {
            self.data_dir = v;
        }
        if f.database.is_some() {
            self.database = f.database;
        }
        if f.content.is_some() {
            self.content_dir = f.content;
        }
        if let Some(v) = f.client_listen {
            self.client_listen = v;
        }
        if let Some(v) = f.admin_listen {
            self.admin_listen = v;
        }
        if let Some(v) = f.shutdown_grace_secs {
            self.shutdown_grace_secs = v;
        }
        if let Some(v) = f.client_max_connections {
            self.client_connections.max_connections = v.max(1);
        }
        if let Some(v) = f.admin_max_connections {
            self.admin_connections.max_connections = v.max(1);
        }
        // The timeouts apply to both listeners; zero would close every connection at once.
        for l in [&mut self.client_connections, &mut self.admin_connections] {
            if let Some(v) = f.header_read_timeout_secs {
                l.header_read = Duration::from_secs(v.max(1));
            }
            if let Some(v) = f.keep_alive_idle_secs {
                l.keep_alive_idle = Duration::from_secs(v.max(1));
            }
            if let Some(v) = f.body_read_timeout_secs {
                l.body_read = Duration::from_secs(v.max(1));
            }
        }
        if let Some(v) = f.body_budget_mib {
            self.body_budget_bytes = v.max(1).saturating_mul(1024 * 1024);
        }
        if let Some(v) = f.body_budget_wait_ms {
            self.body_budget_wait_ms = v;
        }
        if let Some(v) = f.access_log {
            self.access_log = v;
        }
    }

    fn apply_overrides(&mut self, o: &Overrides) {
        if let Some(v) = &o.data {
            self.data_dir = v.clone();
        }
        if o.database.is_some() {
            self.database = o.database.clone();
        }
        if o.content.is_some() {
            self.content_dir = o.content.clone();
        }
        if let Some(v) = o.client_listen {
            self.client_listen = v;
        }
        if let Some(v) = o.admin_listen {
            self.admin_listen = v;
        }
        if o.no_access_log {
            self.access_log = false;
        }
    }

    pub fn database_url(&self) -> String {
        match &self.database {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("sluice.db").display()),
        }
    }

    pub fn content_root(&self) -> PathBuf {
        self.content_dir.clone().unwrap_or_else(|| self.data_dir.join("content"))
    }

    pub fn admin_token_path(&self) -> PathBuf {
        self.data_dir.join("admin-token")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_sources_override_earlier_ones() {
        let dir = std::env::temp_dir().join(format!("sluice-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("sluice.toml");
        std::fs::write(&file, "data = \"/srv/sluice\"\nclient-listen = \"0.0.0.0:9000\"\n").unwrap();
        let c = Config::load(Some(&file), &Overrides::default()).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/srv/sluice"));
        assert_eq!(c.client_listen.port(), 9000);
        assert_eq!(c.admin_listen, Config::default().admin_listen);
        assert_eq!(c.database_url(), "sqlite:///srv/sluice/sluice.db");
        let o = Overrides { client_listen: Some("127.0.0.1:9100".parse().unwrap()), ..Default::default() };
        let c = Config::load(Some(&file), &o).unwrap();
        assert_eq!(c.client_listen.port(), 9100);
        std::fs::write(
            &file,
            "client-max-connections = 50\nheader-read-timeout-secs = 5\nbody-budget-mib = 16\n",
        )
        .unwrap();
        let c = Config::load(Some(&file), &Overrides::default()).unwrap();
        assert_eq!(c.client_connections.max_connections, 50);
        assert_eq!(c.admin_connections.max_connections, DEFAULT_ADMIN_CONNECTIONS.max_connections);
        assert_eq!(c.client_connections.header_read, Duration::from_secs(5));
        assert_eq!(c.admin_connections.header_read, Duration::from_secs(5));
        assert_eq!(c.body_budget_bytes, 16 * 1024 * 1024);
        std::fs::write(&file, "nonsense-key = 1\n").unwrap();
        assert!(Config::load(Some(&file), &o).unwrap_err().to_string().contains("nonsense-key"));
    }

    #[test]
    fn defaults_are_wsus_ports_and_loopback_admin() {
        let c = Config::default();
        assert_eq!(c.client_listen.port(), 8530);
        assert!(c.admin_listen.ip().is_loopback());
        assert_eq!(c.content_root(), PathBuf::from("./sluice-data/content"));
    }
}
