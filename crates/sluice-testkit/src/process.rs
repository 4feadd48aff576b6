//! The built `sluice` binary running `serve` for one test, as an administrator runs it: a child
//! process on a [`Setup`]'s data directory and fixed loopback ports, waited for until its admin
//! API answers, killed when the handle is dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::server::{Config, Setup};

/// How long a start may take before the test fails with the server's log: far above a normal
/// start (well under a second), only there so a hung start ends the test.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// Environment variables the binary reads; the child gets only what the setup says.
const SLUICE_ENV: [&str; 8] = [
    "SLUICE_CONFIG",
    "SLUICE_DATA",
    "SLUICE_DATABASE",
    "SLUICE_CONTENT",
    "SLUICE_CLIENT_LISTEN",
    "SLUICE_ADMIN_LISTEN",
    "SLUICE_SERVER",
    "SLUICE_TOKEN",
];

/// A `sluice serve` child process. Its ports stay the same across [`ServerProcess::restart`],
/// as a real server's configured ports do.
pub struct ServerProcess {
    setup: Setup,
    bin: PathBuf,
    /// `None`: no `--data` flag, so the binary uses its embedded default (`./sluice-data`
    /// below the working directory, which is the setup's directory).
    data_flag: Option<PathBuf>,
    client_port: u16,
    admin_port: u16,
    child: Option<Child>,
    runs: u32,
    token: String,
}

impl ServerProcess {
    pub(crate) async fn start(setup: Setup, bin: PathBuf) -> ServerProcess {
        let data = setup.data_dir().to_path_buf();
        ServerProcess::launch(setup, bin, Some(data)).await
    }

    /// `sluice serve` with its embedded defaults for the data directory, run in the setup's
    /// directory, so the data lands in `<dir>/sluice-data`; the listeners are still the
    /// setup's loopback ports.
    pub async fn start_with_default_data(setup: &Setup, bin: impl AsRef<Path>) -> ServerProcess {
        ServerProcess::launch(setup.clone(), bin.as_ref().to_path_buf(), None).await
    }

    async fn launch(setup: Setup, bin: PathBuf, data_flag: Option<PathBuf>) -> ServerProcess {
        refuse_what_the_flags_cannot_carry(setup.config());
        let [client_port, admin_port] = ports(setup.config());
        let mut p = ServerProcess { setup, bin, data_flag, client_port, admin_port, child: None, runs: 0, token: String::new() };
        p.spawn_and_wait().await;
        p
    }

    async fn spawn_and_wait(&mut self) {
        assert!(self.child.is_none(), "the server process is already running");
        self.runs += 1;
        let log = std::fs::File::create(self.log_path()).expect("create the server's log file");
        let config = self.setup.config();
        let mut cmd = Command::new(&self.bin);
        cmd.current_dir(self.setup.dir()).arg("serve");
        if let Some(data) = &self.data_flag {
            cmd.arg("--data").arg(data);
        }
        if let Some(db) = &config.database {
            cmd.args(["--database", db]);
        }
        if let Some(content) = &config.content_dir {
            cmd.arg("--content").arg(content);
        }
        cmd.args(["--client-listen", &format!("127.0.0.1:{}", self.client_port)])
            .args(["--admin-listen", &format!("127.0.0.1:{}", self.admin_port)]);
        for var in SLUICE_ENV {
            cmd.env_remove(var);
        }
        let child = cmd
            .env("SLUICE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin.display()));
        self.child = Some(child);
        self.wait_until_ready().await;
        // The token file is written before the listeners open, so it is there once they answer.
        let token_file = self.data_dir().join("admin-token");
        self.token = std::fs::read_to_string(&token_file)
            .unwrap_or_else(|e| panic!("{}: {e}", token_file.display()))
            .trim()
            .to_string();
    }

    async fn wait_until_ready(&mut self) {
        let http = reqwest::Client::builder().no_proxy().build().expect("HTTP client");
        let health = self.api("/health");
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Ok(r) = http.get(&health).send().await
                && r.status().is_success()
            {
                return;
            }
            let child = self.child.as_mut().expect("spawned");
            if let Some(status) = child.try_wait().expect("poll the server process") {
                self.child = None;
                panic!("sluice serve exited ({status}) at start:\n{}", self.log());
            }
            if Instant::now() > deadline {
                panic!("sluice serve did not answer within {READY_WITHIN:?}:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts the binary again on the same data directory and ports (after [`Self::kill`] or
    /// [`Self::terminate`]).
    pub async fn restart(&mut self) {
        self.spawn_and_wait().await;
    }

    /// SIGKILL, as a crash or a power cut; returns the exit status once reaped.
    pub fn kill(&mut self) -> ExitStatus {
        self.signal("-KILL")
    }

    /// SIGTERM, as a service manager stops it; returns the exit status once the server has
    /// shut down.
    pub fn terminate(&mut self) -> ExitStatus {
        self.signal("-TERM")
    }

    fn signal(&mut self, sig: &str) -> ExitStatus {
        let mut child = self.child.take().expect("the server process is running");
        let sent = Command::new("kill").args([sig, &child.id().to_string()]).status().expect("run kill");
        assert!(sent.success(), "kill {sig} {}", child.id());
        child.wait().expect("reap the server process")
    }

    /// Where Windows clients and downstream servers connect: `http://127.0.0.1:<port>`.
    pub fn client_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    /// The admin listener: `http://127.0.0.1:<port>`.
    pub fn admin_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.admin_port)
    }

    /// An admin API URL: `api("/updates")` is `<admin>/api/v1/updates`.
    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.admin_url())
    }

    pub fn client_port(&self) -> u16 {
        self.client_port
    }

    pub fn admin_port(&self) -> u16 {
        self.admin_port
    }

    /// The admin token, as read from the data directory after the last start.
    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn data_dir(&self) -> PathBuf {
        match &self.data_flag {
            Some(d) => d.clone(),
            None => self.setup.dir().join("sluice-data"),
        }
    }

    /// The temporary directory (the working directory of the process), for the test's files.
    pub fn dir(&self) -> &Path {
        self.setup.dir()
    }

    pub fn setup(&self) -> &Setup {
        &self.setup
    }

    /// The process id while running.
    pub fn id(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// What the current (or last) run wrote to stderr, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.setup.dir().join(format!("serve-{}-{}.log", self.admin_port, self.runs))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The binary is configured here through its command-line flags (data, database, content,
/// listeners); a setting only a configuration file carries would be silently lost.
fn refuse_what_the_flags_cannot_carry(config: &Config) {
    let defaults = Config::default();
    let rest = Config {
        data_dir: defaults.data_dir.clone(),
        database: None,
        content_dir: None,
        client_listen: defaults.client_listen,
        admin_listen: defaults.admin_listen,
        ..config.clone()
    };
    assert!(
        rest == defaults,
        "the sluice binary is started with flags for data, database, content and listeners only; \
         start this configuration in process: {config:?}"
    );
}

/// The setup's ports, a free loopback port for each one left at 0. The probe listeners are
/// held together so the two ports differ; they are closed before the binary binds them.
fn ports(config: &Config) -> [u16; 2] {
    let probe = |addr: std::net::SocketAddr| {
        (addr.port() == 0).then(|| std::net::TcpListener::bind("127.0.0.1:0").expect("find a free loopback port"))
    };
    let (c, a) = (probe(config.client_listen), probe(config.admin_listen));
    let port = |l: &Option<std::net::TcpListener>, addr: std::net::SocketAddr| match l {
        Some(l) => l.local_addr().expect("probe address").port(),
        None => addr.port(),
    };
    [port(&c, config.client_listen), port(&a, config.admin_listen)]
}
