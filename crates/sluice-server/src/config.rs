//! Server configuration: embedded defaults, then a TOML file, then environment variables, then
//! command-line flags (each later source overrides the earlier ones).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
pub use sluice_content::{S3Access, S3Location, Secret};
use sluice_content::S3Settings;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Everything the server keeps lives below this directory unless told otherwise.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; `None` means `<data>/sluice.db`.
    pub database: Option<String>,
    /// Content store root; `None` means `<data>/content` (or, with `content_s3`, unused).
    pub content_dir: Option<PathBuf>,
    /// `--content s3://bucket/prefix`: the content store is that bucket.
    pub content_s3: Option<S3Location>,
    /// How to reach the bucket (endpoint, region, credentials), for `content_s3`.
    pub s3: S3Access,
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
    /// Certificate and key of the HTTPS listeners; with them the client services are also
    /// served on `client_tls_listen` and the admin API only over HTTPS.
    pub tls: Option<crate::tls::TlsFiles>,
    /// Where Windows clients connect over HTTPS: WSUS's port 8531.
    pub client_tls_listen: SocketAddr,
    /// Whether the plain-HTTP client listener runs (`--no-client-http` turns it off; only with TLS).
    pub client_http: bool,
    /// How the server names itself in the URLs it hands out (public URL, trusted proxies).
    pub urls: crate::origin::UrlPolicy,
    /// Serve the admin API over plain HTTP on an address other hosts can reach.
    pub insecure_admin: bool,
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
            content_s3: None,
            s3: S3Access::default(),
            client_listen: SocketAddr::from(([0, 0, 0, 0], 8530)),
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 8580)),
            shutdown_grace_secs: 10,
            client_connections: DEFAULT_CLIENT_CONNECTIONS,
            admin_connections: DEFAULT_ADMIN_CONNECTIONS,
            body_budget_bytes: crate::body_budget::DEFAULT_BUDGET_BYTES,
            body_budget_wait_ms: crate::body_budget::DEFAULT_BUDGET_WAIT.as_millis() as u64,
            access_log: true,
            tls: None,
            client_tls_listen: SocketAddr::from(([0, 0, 0, 0], 8531)),
            client_http: true,
            urls: crate::origin::UrlPolicy::default(),
            insecure_admin: false,
        }
    }
}

/// Takes every `s3-*` value `later` gives, keeping the rest of `earlier`.
fn merge_s3(earlier: &mut S3Access, later: S3Access) {
    let S3Access { endpoint, region, access_key_id, secret_access_key, allow_http } = later;
    earlier.endpoint = endpoint.or(earlier.endpoint.take());
    earlier.region = region.or(earlier.region.take());
    earlier.access_key_id = access_key_id.or(earlier.access_key_id.take());
    earlier.secret_access_key = secret_access_key.or(earlier.secret_access_key.take());
    earlier.allow_http |= allow_http;
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
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub client_tls_listen: Option<SocketAddr>,
    pub client_http: Option<bool>,
    pub public_url: Option<String>,
    pub trusted_proxies: Option<Vec<crate::origin::ProxyNet>>,
    pub insecure_admin: Option<bool>,
    pub s3_endpoint: Option<String>,
    pub s3_region: Option<String>,
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<String>,
    pub s3_allow_http: Option<bool>,
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
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub client_tls_listen: Option<SocketAddr>,
    /// `--no-client-http`.
    pub no_client_http: bool,
    pub public_url: Option<String>,
    /// `--trusted-proxy`, repeated; replaces the file's list when given.
    pub trusted_proxies: Vec<crate::origin::ProxyNet>,
    /// `--insecure-admin`.
    pub insecure_admin: bool,
    /// `--s3-endpoint`, `--s3-region`, `--s3-access-key-id`, `--s3-secret-access-key`,
    /// `--s3-allow-http`.
    pub s3: S3Access,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("configuration: {0}")]
    Invalid(String),
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
            c.apply_file(f)?;
        }
        c.apply_overrides(overrides)?;
        c.check()?;
        Ok(c)
    }

    /// What no start could serve with: half a TLS pair, or no client listener at all.
    fn check(&self) -> Result<(), ConfigError> {
        if !self.client_http && self.tls.is_none() {
            return Err(ConfigError::Invalid(
                "the plain-HTTP client listener is turned off (client-http = false, --no-client-http) \
                 but no TLS certificate is configured, so no client could connect"
                    .into(),
            ));
        }
        if self.content_s3.is_none() && self.s3 != S3Access::default() {
            return Err(ConfigError::Invalid(
                "s3-* settings are given but content is not an s3://bucket/prefix URL".into(),
            ));
        }
        Ok(())
    }

    /// `content`: a directory, or an `s3://bucket/prefix` URL.
    fn set_content(&mut self, value: &Path) -> Result<(), ConfigError> {
        match value.to_str().and_then(S3Location::parse) {
            Some(Ok(location)) => {
                self.content_s3 = Some(location);
                self.content_dir = None;
            }
            Some(Err(why)) => return Err(ConfigError::Invalid(why)),
            None => {
                self.content_dir = Some(value.to_path_buf());
                self.content_s3 = None;
            }
        }
        Ok(())
    }

    /// Everything the S3 backend needs, when the content store is a bucket.
    pub fn s3_settings(&self) -> Option<S3Settings> {
        let location = self.content_s3.clone()?;
        Some(S3Settings { location, access: self.s3.clone() })
    }

    /// Why the admin listener must not start as configured: plain HTTP on an address other
    /// hosts reach would carry the admin token and console passwords in clear text.
    pub fn admin_exposure(&self) -> Option<String> {
        (self.tls.is_none() && !self.insecure_admin && !self.admin_listen.ip().is_loopback()).then(|| {
            format!(
                "the admin API would listen on {} without TLS: give --tls-cert and --tls-key, bind it to \
                 loopback (admin-listen = \"127.0.0.1:8580\"), or accept plain HTTP with --insecure-admin",
                self.admin_listen
            )
        })
    }

    /// Sets the TLS pair from its two halves (either source may give either half).
    fn set_tls(&mut self, cert: Option<PathBuf>, key: Option<PathBuf>) -> Result<(), ConfigError> {
        if cert.is_none() && key.is_none() {
            return Ok(());
        }
        let cert = cert.or_else(|| self.tls.as_ref().map(|t| t.cert.clone()));
        let key = key.or_else(|| self.tls.as_ref().map(|t| t.key.clone()));
        match (cert, key) {
            (Some(cert), Some(key)) => {
                self.tls = Some(crate::tls::TlsFiles { cert, key });
                Ok(())
            }
            (Some(_), None) => Err(ConfigError::Invalid("tls-cert is given without tls-key".into())),
            _ => Err(ConfigError::Invalid("tls-key is given without tls-cert".into())),
        }
    }

    fn set_public_url(&mut self, url: &str) -> Result<(), ConfigError> {
        self.urls.public_url = Some(crate::origin::parse_public_url(url).map_err(ConfigError::Invalid)?);
        Ok(())
    }

    fn apply_file(&mut self, f: FileConfig) -> Result<(), ConfigError> {
        if let Some(v) = f.data {
            self.data_dir = v;
        }
        if f.database.is_some() {
            self.database = f.database;
        }
        if let Some(v) = &f.content {
            self.set_content(v)?;
        }
        merge_s3(&mut self.s3, S3Access {
            endpoint: f.s3_endpoint,
            region: f.s3_region,
            access_key_id: f.s3_access_key_id,
            secret_access_key: f.s3_secret_access_key.map(Secret::new),
            allow_http: f.s3_allow_http.unwrap_or(false),
        });
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
        self.set_tls(f.tls_cert, f.tls_key)?;
        if let Some(v) = f.client_tls_listen {
            self.client_tls_listen = v;
        }
        if let Some(v) = f.client_http {
            self.client_http = v;
        }
        if let Some(v) = &f.public_url {
            self.set_public_url(v)?;
        }
        if let Some(v) = f.trusted_proxies {
            self.urls.trusted_proxies = v;
        }
        if let Some(v) = f.insecure_admin {
            self.insecure_admin = v;
        }
        Ok(())
    }

    fn apply_overrides(&mut self, o: &Overrides) -> Result<(), ConfigError> {
        if let Some(v) = &o.data {
            self.data_dir = v.clone();
        }
        if o.database.is_some() {
            self.database = o.database.clone();
        }
        if let Some(v) = &o.content {
            self.set_content(v)?;
        }
        merge_s3(&mut self.s3, o.s3.clone());
        if let Some(v) = o.client_listen {
            self.client_listen = v;
        }
        if let Some(v) = o.admin_listen {
            self.admin_listen = v;
        }
        if o.no_access_log {
            self.access_log = false;
        }
        self.set_tls(o.tls_cert.clone(), o.tls_key.clone())?;
        if let Some(v) = o.client_tls_listen {
            self.client_tls_listen = v;
        }
        if o.no_client_http {
            self.client_http = false;
        }
        if let Some(v) = &o.public_url {
            self.set_public_url(v)?;
        }
        if !o.trusted_proxies.is_empty() {
            self.urls.trusted_proxies = o.trusted_proxies.clone();
        }
        if o.insecure_admin {
            self.insecure_admin = true;
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        match &self.database {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("sluice.db").display()),
        }
    }

    /// The content store's local directory: the store itself, or, when the store is an S3
    /// bucket, the spool where resumable downloads wait until they are complete.
    pub fn content_root(&self) -> PathBuf {
        match self.content_s3 {
            Some(_) => self.data_dir.join("content-spool"),
            None => self.content_dir.clone().unwrap_or_else(|| self.data_dir.join("content")),
        }
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
    fn tls_settings_come_whole_and_checked() {
        let dir = tempfile_dir("tls");
        let file = dir.join("sluice.toml");
        std::fs::write(
            &file,
            "tls-cert = \"/etc/sluice/cert.pem\"\ntls-key = \"/etc/sluice/key.pem\"\nclient-http = false\n\
             public-url = \"https://wsus.contoso.com:8531/\"\ntrusted-proxies = [\"10.0.0.0/8\"]\n",
        )
        .unwrap();
        let c = Config::load(Some(&file), &Overrides::default()).unwrap();
        assert_eq!(c.tls.as_ref().map(|t| t.key.clone()), Some(PathBuf::from("/etc/sluice/key.pem")));
        assert!(!c.client_http);
        assert_eq!(c.client_tls_listen.port(), 8531);
        assert_eq!(c.urls.public_url.as_deref(), Some("https://wsus.contoso.com:8531"));
        assert_eq!(c.urls.trusted_proxies.len(), 1);
        // A flag replaces one half of the file's pair.
        let o = Overrides { tls_key: Some("/tmp/other.pem".into()), ..Default::default() };
        let c = Config::load(Some(&file), &o).unwrap();
        assert_eq!(c.tls.map(|t| (t.cert, t.key)), Some(("/etc/sluice/cert.pem".into(), "/tmp/other.pem".into())));
        // Half a pair, no client listener at all, or a public URL with a path: refused.
        let half = Overrides { tls_cert: Some("/tmp/c.pem".into()), ..Default::default() };
        assert!(Config::load(None, &half).unwrap_err().to_string().contains("without tls-key"));
        let none = Overrides { no_client_http: true, ..Default::default() };
        assert!(Config::load(None, &none).unwrap_err().to_string().contains("no client could connect"));
        let path = Overrides { public_url: Some("https://wsus/sub".into()), ..Default::default() };
        assert!(Config::load(None, &path).unwrap_err().to_string().contains("public-url"));
        std::fs::write(&file, "trusted-proxies = [\"proxy.local\"]\n").unwrap();
        assert!(Config::load(Some(&file), &Overrides::default()).unwrap_err().to_string().contains("proxy.local"));
    }

    #[test]
    fn plain_http_admin_stays_on_loopback_unless_told() {
        let mut c = Config::default();
        assert_eq!(c.admin_exposure(), None);
        c.admin_listen = "0.0.0.0:8580".parse().unwrap();
        assert!(c.admin_exposure().unwrap().contains("--insecure-admin"));
        c.insecure_admin = true;
        assert_eq!(c.admin_exposure(), None);
        c.insecure_admin = false;
        c.tls = Some(crate::tls::TlsFiles { cert: "c.pem".into(), key: "k.pem".into() });
        assert_eq!(c.admin_exposure(), None);
    }

    fn tempfile_dir(what: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sluice-cfg-{what}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn content_is_a_directory_or_an_s3_bucket() {
        let dir = tempfile_dir("s3");
        let file = dir.join("sluice.toml");
        std::fs::write(
            &file,
            "content = \"s3://updates/wsus\"\ns3-endpoint = \"http://127.0.0.1:9000\"\ns3-allow-http = true\n\
             s3-secret-access-key = \"from-file\"\n",
        )
        .unwrap();
        let o = Overrides {
            data: Some("/srv/sluice".into()),
            s3: S3Access { access_key_id: Some("AKID".into()), ..Default::default() },
            ..Default::default()
        };
        let c = Config::load(Some(&file), &o).unwrap();
        let s = c.s3_settings().unwrap();
        assert_eq!(s.location.to_string(), "s3://updates/wsus");
        assert_eq!(s.access.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!((s.access.access_key_id.as_deref(), s.access.allow_http), (Some("AKID"), true));
        assert_eq!(s.access.secret_access_key, Some(Secret::new("from-file")));
        assert!(!format!("{c:?}").contains("from-file"), "the secret must not print");
        assert_eq!(c.content_root(), PathBuf::from("/srv/sluice/content-spool"));
        // A directory flag replaces the file's bucket; then the s3-* settings have nothing to do.
        let local = Overrides { content: Some("/srv/content".into()), ..Default::default() };
        let err = Config::load(Some(&file), &local).unwrap_err().to_string();
        assert!(err.contains("s3-* settings"), "{err}");
        let bad = Overrides { content: Some("s3://No_Such".into()), ..Default::default() };
        assert!(Config::load(None, &bad).unwrap_err().to_string().contains("bucket"));
        assert_eq!(Config::load(None, &local).unwrap().content_root(), PathBuf::from("/srv/content"));
    }

    #[test]
    fn defaults_are_wsus_ports_and_loopback_admin() {
        let c = Config::default();
        assert_eq!(c.client_listen.port(), 8530);
        assert!(c.admin_listen.ip().is_loopback());
        assert_eq!(c.content_root(), PathBuf::from("./sluice-data/content"));
    }
}
