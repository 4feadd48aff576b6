//! Every fuzz target gets a short deterministic run (fixed seed and execution count, so a
//! failure here repeats exactly) and replays every input a longer run ever found.

use std::time::Duration;

use sluice_fuzz::{Budget, Finding, fuzz, regressions, run_one, targets};

/// Executions per target: a few seconds each in a debug build.
const EXECUTIONS: u64 = 2_000;

fn budget() -> Budget {
    Budget {
        seed: 20_261_207,
        executions: EXECUTIONS,
        // Never reached: the run is bounded by its execution count, so it is the same run on
        // every machine.
        time: Duration::from_secs(3600),
        // A debug build on a loaded CI machine: generous, it only has to tell a hang.
        slow: Duration::from_secs(20),
        memory: 256 << 20,
    }
}

fn show(f: &Finding) -> String {
    let shown: String = String::from_utf8_lossy(&f.input).chars().take(2000).collect();
    format!("{:?} on input ({} bytes): {shown:?}", f.kind, f.input.len())
}

fn short_run(name: &str) {
    let target = targets::by_name(name).expect("target exists");
    let seeds = (target.seeds)();
    assert!(seeds.len() >= 3, "{name}: only {} seed inputs; the fixtures moved?", seeds.len());
    let r = fuzz(&target, &budget(), &mut |_| {});
    assert_eq!(r.executions, EXECUTIONS, "{name}: stopped early");
    let findings: Vec<String> = r.findings.iter().map(show).collect();
    assert!(findings.is_empty(), "{name}: {} finding(s):\n{}", findings.len(), findings.join("\n"));
    // The run did more than refuse everything at the first check.
    assert!(r.classes >= 3, "{name}: only {} outcome classes", r.classes);
}

#[test]
fn client_soap() {
    short_run("client-soap");
}

#[test]
fn server_soap() {
    short_run("server-soap");
}

#[test]
fn update_xml() {
    short_run("update-xml");
}

#[test]
fn rules() {
    short_run("rules");
}

#[test]
fn xpress() {
    short_run("xpress");
}

#[test]
fn cab() {
    short_run("cab");
}

#[test]
fn range() {
    short_run("range");
}

#[test]
fn every_recorded_finding_stays_fixed() {
    for target in targets::all() {
        for (file, input) in regressions(target.name) {
            if let Err(kind) = run_one(&target, &input, &budget()) {
                panic!("{}/{file}: {kind:?}", target.name);
            }
        }
    }
}

#[test]
fn every_target_has_a_test_here() {
    let source = include_str!("short_runs.rs");
    for t in targets::all() {
        let test_name = t.name.replace('-', "_");
        assert!(source.contains(&format!("fn {test_name}()")), "no short run for {}", t.name);
    }
}
