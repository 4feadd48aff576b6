//! A Sluice server started in process for one test: a temporary directory holding its data
//! directory, both listeners on free loopback ports, and the admin token the first start wrote.
//!
//! ```ignore
//! let server = sluice_testkit::server::start().await;            // defaults
//! let server = Setup::new().with(|c| c.shutdown_grace_secs = 1).start().await;
//! reqwest::Client::new().get(server.api("/updates")).bearer_auth(server.token());
//! let setup = server.shutdown().await.unwrap();                  // same data, started again:
//! let again = setup.start().await;
//! ```

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

pub use sluice_server::config::Config;
use sluice_server::{RunningServer, ServerError};

use crate::process::ServerProcess;

/// What a test server is started from: its temporary directory and the configuration as the
/// server takes it. Cloning shares the directory, which lives until the last clone (and every
/// server started from it) is gone, so a setup can be started again after a shutdown.
#[derive(Clone)]
pub struct Setup {
    dir: Arc<tempfile::TempDir>,
    config: Config,
}

impl Default for Setup {
    fn default() -> Self {
        Setup::new()
    }
}

impl Setup {
    /// A fresh temporary directory; the server's data in `<dir>/data` (SQLite database and
    /// content store inside it); both listeners on `127.0.0.1:0`; every other setting the
    /// server's default.
    pub fn new() -> Setup {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let config = Config {
            data_dir: dir.path().join("data"),
            client_listen: ([127, 0, 0, 1], 0).into(),
            admin_listen: ([127, 0, 0, 1], 0).into(),
            ..Config::default()
        };
        Setup { dir: Arc::new(dir), config }
    }

    /// Changes the configuration (limits, database URL, content directory, …) before a start.
    pub fn with(mut self, change: impl FnOnce(&mut Config)) -> Setup {
        change(&mut self.config);
        self
    }

    /// HTTPS on: a self-signed certificate for `127.0.0.1` and `localhost` in `<dir>/tls/`
    /// (`cert.pem`, `key.pem`), the HTTPS client listener on a free loopback port; the admin
    /// API then speaks HTTPS only. The plain client listener stays on unless the test turns it
    /// off (`c.client_http = false`).
    pub fn with_tls(self) -> Setup {
        let dir = self.dir.path().join("tls");
        std::fs::create_dir_all(&dir).expect("create the certificate directory");
        let key = rcgen::KeyPair::generate().expect("generate a key");
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .expect("certificate names");
        let cert = params.self_signed(&key).expect("sign the test certificate");
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_path, cert.pem()).expect("write cert.pem");
        std::fs::write(&key_path, key.serialize_pem()).expect("write key.pem");
        self.with(|c| {
            c.tls = Some(sluice_server::tls::TlsFiles { cert: cert_path, key: key_path });
            c.client_tls_listen = ([127, 0, 0, 1], 0).into();
        })
    }

    /// The certificate of a setup [`Setup::with_tls`] made, for clients to trust.
    pub fn tls_cert(&self) -> Option<&Path> {
        self.config.tls.as_ref().map(|t| t.cert.as_path())
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The temporary directory, for the test's own files (the data directory is inside it).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    /// Starts the server in this process (its listeners run as tasks of the current runtime).
    pub async fn start(&self) -> TestServer {
        match self.try_start().await {
            Ok(s) => s,
            Err(e) => panic!("the test server did not start: {e}"),
        }
    }

    /// [`Setup::start`] for tests about start failures.
    pub async fn try_start(&self) -> Result<TestServer, ServerError> {
        let running = sluice_server::start(self.config.clone()).await?;
        Ok(TestServer { running, setup: self.clone() })
    }

    /// Starts the built `sluice` binary (`env!("CARGO_BIN_EXE_sluice")`) on this setup and
    /// waits until its admin API answers; see [`ServerProcess`].
    pub async fn spawn(&self, bin: impl AsRef<Path>) -> ServerProcess {
        ServerProcess::start(self.clone(), bin.as_ref().to_path_buf()).await
    }
}

/// Starts a server with the defaults of [`Setup::new`].
pub async fn start() -> TestServer {
    Setup::new().start().await
}

/// A server running in this process. It dereferences to the server's own
/// [`RunningServer`], so tests reach its state (catalog, store, content) directly.
pub struct TestServer {
    running: RunningServer,
    setup: Setup,
}

impl Deref for TestServer {
    type Target = RunningServer;

    fn deref(&self) -> &RunningServer {
        &self.running
    }
}

impl TestServer {
    /// Where Windows clients and downstream servers connect: `http://127.0.0.1:<port>` (the
    /// HTTPS listener's URL when the plain one is off).
    pub fn client_url(&self) -> String {
        match (self.running.client_tls_addr, self.setup.config.client_http) {
            (Some(tls), false) => format!("https://{tls}"),
            _ => format!("http://{}", self.running.client_addr),
        }
    }

    /// The HTTPS client listener: `https://127.0.0.1:<port>` (a setup [`Setup::with_tls`] made).
    pub fn client_tls_url(&self) -> String {
        let addr = self.running.client_tls_addr.expect("the test server was started without TLS (Setup::with_tls)");
        format!("https://{addr}")
    }

    /// The admin listener: `http://127.0.0.1:<port>`, or `https://…` with TLS.
    pub fn admin_url(&self) -> String {
        let scheme = if self.running.admin_tls { "https" } else { "http" };
        format!("{scheme}://{}", self.running.admin_addr)
    }

    /// An admin API URL: `api("/updates")` is `<admin>/api/v1/updates`.
    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.admin_url())
    }

    /// A reqwest client that trusts this server's test certificate (and nothing else), for
    /// servers started with [`Setup::with_tls`].
    pub fn https_client(&self) -> reqwest::Client {
        let path = self.setup.tls_cert().expect("the test server was started without TLS (Setup::with_tls)");
        let pem = std::fs::read(path).expect("read the test certificate");
        let cert = reqwest::Certificate::from_pem(&pem).expect("the test certificate is PEM");
        reqwest::Client::builder().tls_certs_only([cert]).build().expect("an HTTPS client")
    }

    /// The admin token the server wrote on its first start (or kept from the disk).
    pub fn token(&self) -> &str {
        &self.running.admin_token
    }

    pub fn data_dir(&self) -> &Path {
        self.setup.data_dir()
    }

    /// The temporary directory the data directory lives in, for the test's own files.
    pub fn dir(&self) -> &Path {
        self.setup.dir()
    }

    pub fn setup(&self) -> &Setup {
        &self.setup
    }

    /// Stops the server gracefully (as on SIGTERM) and gives back its setup, to start it again
    /// on the same data.
    pub async fn shutdown(self) -> Result<Setup, ServerError> {
        self.running.shutdown().await?;
        Ok(self.setup)
    }

    /// Shuts down and starts again on the same data directory (new ports).
    pub async fn restart(self) -> TestServer {
        let setup = self.shutdown().await.expect("clean shutdown before the restart");
        setup.start().await
    }
}

