//! Runs the project's WSDL conformance check (`tools/wsdl_check.py` over `tests/wsdl/`) on SOAP
//! messages a test produced. Test files of several crates include this file with
//! `#[path = "../../../tests/support/wsdl.rs"] mod wsdl;`.
//!
//! The checker needs a Python with zeep and lxml: `SLUICE_PYTHON` names it (`.ci/run` points it
//! at the virtual environment it builds), `python3` otherwise. Where it cannot run, the check is
//! skipped with a message on stderr, unless the run requires it (`CI` set to anything but `false`
//! or `0`, or `SLUICE_REQUIRE_WSDL=1`): then the test fails, so CI can never pass by skipping.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Request,
    Response,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The message fits the WSDL.
    Valid,
    /// A SOAP fault whose detail carries this WSUS ErrorCode.
    Fault(String),
    /// The message must NOT fit; the checker's reason mentions this text.
    Refused(String),
}

pub struct Message {
    pub name: String,
    pub direction: Direction,
    /// A WSDL of `tests/wsdl/` without `.wsdl`: `wusp-client`, `wsusss-serversync`, ...
    pub service: &'static str,
    pub operation: String,
    pub expect: Expect,
    pub body: Vec<u8>,
}

impl Message {
    pub fn response(name: impl Into<String>, service: &'static str, operation: impl Into<String>, body: Vec<u8>) -> Message {
        Message {
            name: name.into(),
            direction: Direction::Response,
            service,
            operation: operation.into(),
            expect: Expect::Valid,
            body,
        }
    }

    pub fn expect(mut self, expect: Expect) -> Message {
        self.expect = expect;
        self
    }
}

/// What the checker said about each message, in order: `None` when it met its expectation.
pub struct Report {
    pub verdicts: Vec<Option<String>>,
    pub output: String,
    pub stderr: String,
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> String {
    std::env::var("SLUICE_PYTHON").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "python3".into())
}

pub fn required() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    ci || std::env::var("SLUICE_REQUIRE_WSDL").is_ok_and(|v| v == "1")
}

fn script() -> PathBuf {
    repo_root().join("tools/wsdl_check.py")
}

/// Ok when the checker can run here; Err says why not.
pub fn available() -> Result<(), String> {
    let python = python();
    let out = Command::new(&python)
        .arg(script())
        .arg("--probe")
        .output()
        .map_err(|e| format!("{python} cannot be run ({e}); set SLUICE_PYTHON to a Python with zeep and lxml"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{python} {} --probe failed: {}{}",
            script().display(),
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Checks the messages without judging the outcome; `None` when the checker cannot run here and
/// the run does not require it (a skip, announced on stderr).
pub fn run(messages: &[Message]) -> Option<Report> {
    if let Err(why) = available() {
        if required() {
            panic!("the WSDL check must run here (CI or SLUICE_REQUIRE_WSDL=1) but cannot: {why}");
        }
        eprintln!("WSDL check SKIPPED: {why}. It runs under .ci/run; set SLUICE_PYTHON to a Python with zeep and lxml to run it here.");
        return None;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut manifest = String::new();
    for (i, m) in messages.iter().enumerate() {
        let path = dir.path().join(format!("{i:04}.xml"));
        std::fs::write(&path, &m.body).expect("write message");
        let expect = match &m.expect {
            Expect::Valid => "valid".to_string(),
            Expect::Fault(code) => format!("fault:{code}"),
            Expect::Refused(text) => format!("refused:{text}"),
        };
        let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
        manifest.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\n",
            if m.direction == Direction::Request { "request" } else { "response" },
            m.service,
            clean(&m.operation),
            clean(&expect),
            path.display(),
            clean(&format!("#{i} {}", m.name))
        ));
    }
    let manifest_path = dir.path().join("manifest.tsv");
    std::fs::write(&manifest_path, manifest).expect("write manifest");
    let out = Command::new(python()).arg(script()).arg(&manifest_path).output().expect("run the WSDL checker");
    let output = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "the WSDL checker could not check ({}):\n{output}\n{stderr}",
        out.status
    );
    let mut verdicts = vec![Some("no verdict".to_string()); messages.len()];
    for line in output.lines() {
        let (pass, rest) = match (line.strip_prefix("PASS #"), line.strip_prefix("FAIL #")) {
            (Some(rest), _) => (true, rest),
            (_, Some(rest)) => (false, rest),
            _ => continue,
        };
        let index: usize = rest.split(' ').next().and_then(|n| n.parse().ok()).expect("message number");
        verdicts[index] = if pass { None } else { Some(line.to_string()) };
    }
    Some(Report { verdicts, output, stderr })
}

/// Checks the messages and fails the test unless every one met its expectation. Returns `false`
/// when the check was skipped.
pub fn assert_all(messages: &[Message]) -> bool {
    let Some(report) = run(messages) else { return false };
    let wrong: Vec<&str> = report.verdicts.iter().flatten().map(String::as_str).collect();
    assert!(
        wrong.is_empty(),
        "{} of {} messages do not meet the WSDL check:\n{}\n{}",
        wrong.len(),
        messages.len(),
        wrong.join("\n"),
        report.stderr
    );
    true
}
