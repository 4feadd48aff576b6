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
    /// 0 until the first start has bound a free port and announced it.
    client_port: u16,
    admin_port: u16,
    /// Which launch of this test process, for the log file's name.
    launch: u64,
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
        // Port 0 stays 0: the binary binds a free port itself and says which in its log, so no
        // other test can take the port between a probe and the bind.
        let (client_port, admin_port) = (setup.config().client_listen.port(), setup.config().admin_listen.port());
        let launch = LAUNCHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut p =
            ServerProcess { setup, bin, data_flag, client_port, admin_port, launch, child: None, runs: 0, token: String::new() };
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
        s3_flags(&mut cmd, config);
        cmd.args(["--client-listen", &format!("127.0.0.1:{}", self.client_port)])
            .args(["--admin-listen", &format!("127.0.0.1:{}", self.admin_port)]);
        for var in SLUICE_ENV {
            cmd.env_remove(var);
        }
        let child = cmd
            .env("SLUICE_LOG", "info")
            .stdin(Stdio::null())
            // The server logs to standard output; errors before logging starts go to standard
            // error. Both land in the one log file.
            .stdout(log.try_clone().expect("share the log file"))
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
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if self.client_port == 0 || self.admin_port == 0 {
                if let Some((client, admin)) = serving_ports(&self.log()) {
                    // Kept for restarts, which reuse them.
                    (self.client_port, self.admin_port) = (client, admin);
                }
            }
            if self.admin_port != 0
                && let Ok(r) = http.get(self.api("/health")).send().await
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
        self.setup.dir().join(format!("serve-{}-{}.log", self.launch, self.runs))
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
        content_s3: None,
        s3: Default::default(),
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

/// `--content s3://…` and the `--s3-*` flags. The secret goes in the environment, as a service
/// would keep it out of the process list; the other `AWS_*` variables of the test's own
/// environment are removed, so only what the setup says reaches the bucket.
fn s3_flags(cmd: &mut Command, config: &Config) {
    for var in ["AWS_ENDPOINT_URL", "AWS_ENDPOINT", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ALLOW_HTTP"] {
        cmd.env_remove(var);
    }
    let Some(location) = &config.content_s3 else { return };
    cmd.arg("--content").arg(location.to_string());
    let s3 = &config.s3;
    for (flag, value) in [("--s3-endpoint", &s3.endpoint), ("--s3-region", &s3.region), ("--s3-access-key-id", &s3.access_key_id)] {
        if let Some(value) = value {
            cmd.args([flag, value]);
        }
    }
    if let Some(secret) = &s3.secret_access_key {
        cmd.env("AWS_SECRET_ACCESS_KEY", secret.expose());
    }
    if s3.allow_http {
        cmd.arg("--s3-allow-http");
    }
}

/// The addresses a started server announces in its log (`sluice is serving client_addr=…
/// admin_addr=…`), colour codes or not: how a binary started on port 0 says which ports it got.
fn serving_ports(log: &str) -> Option<(u16, u16)> {
    let line = log.lines().find(|l| l.contains("sluice is serving"))?;
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // An ANSI escape: skip to its final letter.
            for e in chars.by_ref() {
                if e.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    let port = |key: &str| -> Option<u16> {
        let rest = &plain[plain.find(key)? + key.len()..];
        let addr = rest.split_whitespace().next()?;
        addr.parse::<std::net::SocketAddr>().ok().map(|a| a.port())
    };
    Some((port("client_addr=")?, port("admin_addr=")?))
}

/// Distinguishes the log files of servers started from one setup directory.
static LAUNCHES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

#[cfg(test)]
mod tests {
    use super::serving_ports;

    #[test]
    fn ports_are_read_from_the_serving_line_with_or_without_colour() {
        let plain = "2026-12-07T12:00:00Z  INFO sluice_server: sluice is serving client_addr=127.0.0.1:41234 admin_addr=127.0.0.1:41235 data=/tmp/x\n";
        assert_eq!(serving_ports(plain), Some((41234, 41235)));
        let coloured = "\u{1b}[2m2026-12-07\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m \u{1b}[2msluice_server\u{1b}[0m\u{1b}[2m:\u{1b}[0m sluice is serving \u{1b}[3mclient_addr\u{1b}[0m\u{1b}[2m=\u{1b}[0m127.0.0.1:8530 \u{1b}[3madmin_addr\u{1b}[0m\u{1b}[2m=\u{1b}[0m127.0.0.1:8580\n";
        assert_eq!(serving_ports(coloured), Some((8530, 8580)));
        assert_eq!(serving_ports("INFO starting\n"), None);
    }
}
