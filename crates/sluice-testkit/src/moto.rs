//! A real S3-compatible server for a test: moto's `moto.server` (PyPI `moto[server]`, in
//! `.ci/requirements.txt`) run by the Python `SLUICE_PYTHON` names (else `python3`) on a
//! loopback port, stopped when the handle is dropped. Tests look at the bucket through plain
//! HTTP requests (moto's server accepts them unsigned), not through the code under test.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long moto may take to answer after its start (a cold Python import of boto and flask
/// takes a few seconds); only there so a hung start ends the test.
const READY_WITHIN: Duration = Duration::from_secs(90);

/// A running moto server.
pub struct Moto {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
    http: reqwest::Client,
}

/// Whether the S3 tests must run (`SLUICE_REQUIRE_S3=1`, which `.ci/run` sets).
fn required() -> bool {
    std::env::var("SLUICE_REQUIRE_S3").is_ok_and(|v| v == "1")
}

fn python() -> String {
    std::env::var("SLUICE_PYTHON").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "python3".into())
}

impl Moto {
    /// Starts moto, or returns `None` (saying why on standard error) when the Python has no
    /// `moto[server]`; with `SLUICE_REQUIRE_S3=1` that is a failure instead.
    pub async fn start() -> Option<Moto> {
        let python = python();
        let probe = Command::new(&python).args(["-c", "import moto.server, flask"]).output();
        if !probe.as_ref().is_ok_and(|o| o.status.success()) {
            let why = match probe {
                Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
                Err(e) => e.to_string(),
            };
            assert!(!required(), "SLUICE_REQUIRE_S3=1 but {python} cannot run moto's server: {why}");
            eprintln!("skipped: {python} has no moto[server] ({why}); run .ci/run, or point SLUICE_PYTHON at a Python that has it");
            return None;
        }
        let port = free_port();
        let dir = tempfile::tempdir().expect("a directory for moto's log");
        let log = dir.path().join("moto.log");
        let out = std::fs::File::create(&log).expect("moto's log file");
        let child = Command::new(&python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("share the log file"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python} -m moto.server: {e}"));
        let http = reqwest::Client::builder().no_proxy().build().expect("HTTP client");
        let mut moto = Moto { child, port, log, _dir: dir, http };
        moto.wait_until_ready().await;
        Some(moto)
    }

    async fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if self.http.get(self.endpoint()).send().await.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            if let Some(status) = self.child.try_wait().expect("poll moto") {
                panic!("moto exited ({status}) at start:\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "moto did not answer within {READY_WITHIN:?}:\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What moto wrote, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Creates a bucket.
    pub async fn create_bucket(&self, bucket: &str) {
        let r = self.http.put(format!("{}/{bucket}", self.endpoint())).send().await.expect("create the bucket");
        assert!(r.status().is_success(), "creating bucket {bucket}: {}", r.status());
    }

    /// The object's bytes, or `None` when there is no object at `key`.
    pub async fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let r = self.http.get(format!("{}/{bucket}/{key}", self.endpoint())).send().await.expect("GET the object");
        match r.status().as_u16() {
            200 => Some(r.bytes().await.expect("object bytes").to_vec()),
            404 => None,
            other => panic!("GET {bucket}/{key}: {other}"),
        }
    }

    /// Keys of the objects below `prefix`.
    pub async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let url = format!("{}/{bucket}", self.endpoint());
        let r = self.http.get(url).query(&[("list-type", "2"), ("prefix", prefix)]).send().await.expect("list the bucket");
        assert!(r.status().is_success(), "listing {bucket}: {}", r.status());
        tags(&r.text().await.expect("listing"), "Key")
    }

    /// Keys of the multipart uploads begun and neither completed nor aborted.
    pub async fn open_uploads(&self, bucket: &str) -> Vec<String> {
        let r = self.http.get(format!("{}/{bucket}?uploads", self.endpoint())).send().await.expect("list the uploads");
        assert!(r.status().is_success(), "listing uploads of {bucket}: {}", r.status());
        tags(&r.text().await.expect("listing"), "Key")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free loopback port").port()
}

/// The text of every `<name>…</name>` element (S3's listings are flat and unescaped keys
/// here are plain hex names).
fn tags(xml: &str, name: &str) -> Vec<String> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    xml.split(open.as_str()).skip(1).filter_map(|rest| rest.split_once(close.as_str()).map(|(v, _)| v.to_string())).collect()
}
