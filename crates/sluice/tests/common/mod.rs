//! The `sluice` binary as an administrator runs it against a test server: each CLI test file
//! includes this with `mod common;`.

#![allow(dead_code)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_sluice");

/// The CLI pointed at one server's admin API with one token.
pub struct Cli {
    pub server: String,
    pub token: String,
}

impl Cli {
    pub fn for_server(s: &sluice_testkit::server::TestServer) -> Cli {
        Cli { server: s.admin_url(), token: s.token().to_string() }
    }

    /// Runs the CLI on a blocking thread so the in-process server keeps serving meanwhile;
    /// `stdin` is written to its standard input (passwords).
    pub async fn run_input(&self, args: &[&str], stdin: &str) -> Output {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (server, token, stdin) = (self.server.clone(), self.token.clone(), stdin.to_string());
        tokio::task::spawn_blocking(move || {
            let mut child = Command::new(BIN)
                .args(&args)
                .env("SLUICE_SERVER", server)
                .env("SLUICE_TOKEN", token)
                .env_remove("SLUICE_DATA")
                .env_remove("SLUICE_CONFIG")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run sluice");
            // A command that reads nothing may have exited already.
            let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
            child.wait_with_output().expect("sluice output")
        })
        .await
        .unwrap()
    }

    pub async fn run(&self, args: &[&str]) -> Output {
        self.run_input(args, "").await
    }

    pub async fn ok_input(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run_input(args, stdin).await;
        assert!(out.status.success(), "sluice {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    pub async fn ok(&self, args: &[&str]) -> String {
        self.ok_input(args, "").await
    }

    /// The JSON a command prints as it is given (`--json` or `--format json` among `args`).
    pub async fn parsed(&self, args: &[&str]) -> Value {
        let text = self.ok(args).await;
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("sluice {args:?} printed no JSON ({e}): {text}"))
    }

    /// The command's `--json` output.
    pub async fn json_input(&self, args: &[&str], stdin: &str) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        let out = self.ok_input(&args, stdin).await;
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("sluice {args:?} printed no JSON ({e}): {out}"))
    }

    pub async fn json(&self, args: &[&str]) -> Value {
        self.json_input(args, "").await
    }

    /// The error a command that must fail prints.
    pub async fn fails_input(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run_input(args, stdin).await;
        assert!(!out.status.success(), "sluice {args:?} should have failed: {}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub async fn fails(&self, args: &[&str]) -> String {
        self.fails_input(args, "").await
    }
}

/// Ids of the generated catalog's product (and product family) and classification categories.
pub fn category_ids(dir: &Path) -> (Vec<String>, Vec<String>) {
    let (mut products, mut classifications) = (Vec::new(), Vec::new());
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "xml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let Some(kind) = text.split("CategoryType=\"").nth(1).and_then(|r| r.split('"').next()) else { continue };
        let id = text.split("UpdateID=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_string();
        match kind {
            "Product" | "ProductFamily" => products.push(id),
            "UpdateClassification" => classifications.push(id),
            _ => {}
        }
    }
    products.sort();
    classifications.sort();
    (products, classifications)
}

/// Waits (at most `secs`) until `f` gives a value.
pub async fn wait_until<F, Fut>(what: &str, secs: u64, mut f: F) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<Value>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}
