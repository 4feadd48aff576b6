//! `sluice-fuzz <target>|all [--seconds N] [--executions N] [--seed N] [--out DIR]`: fuzzes the
//! named targets one after another and prints executions and findings; each finding's input
//! is written to `DIR/<target>/` as soon as it is found. Exits 1 if anything was found.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use sluice_fuzz::{Budget, Finding, FindingKind, fuzz, targets};

struct Args {
    targets: Vec<String>,
    budget: Budget,
    out: PathBuf,
}

fn usage() -> String {
    let names: Vec<&str> = targets::all().iter().map(|t| t.name).collect();
    format!(
        "usage: sluice-fuzz <target>|all [--seconds N] [--executions N] [--seed N] [--out DIR]\ntargets: {}",
        names.join(", ")
    )
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut names = Vec::new();
    let mut budget = Budget {
        seed: 1,
        executions: u64::MAX,
        time: Duration::from_secs(60),
        slow: Duration::from_secs(2),
        memory: 256 << 20,
    };
    let mut out = PathBuf::from("fuzz-findings");
    while let Some(a) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |flag: &str, v: String| v.parse::<u64>().map_err(|_| format!("{flag}: not a number: {v}"));
        match a.as_str() {
            "--seconds" => budget.time = Duration::from_secs(number("--seconds", value("--seconds")?)?),
            "--executions" => budget.executions = number("--executions", value("--executions")?)?,
            "--seed" => budget.seed = number("--seed", value("--seed")?)?,
            "--out" => out = PathBuf::from(value("--out")?),
            "-h" | "--help" => return Err(usage()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}\n{}", usage())),
            "all" => names.extend(targets::all().iter().map(|t| t.name.to_string())),
            name if targets::by_name(name).is_some() => names.push(name.to_string()),
            other => return Err(format!("unknown target {other}\n{}", usage())),
        }
    }
    if names.is_empty() {
        return Err(usage());
    }
    Ok(Args { targets: names, budget, out })
}

fn describe(f: &Finding) -> String {
    match &f.kind {
        FindingKind::Panic(m) => format!("panic: {m}"),
        FindingKind::Slow(d) => format!("slow: one input took {:.1} s", d.as_secs_f64()),
        FindingKind::Memory(n) => format!("memory: one input held {} MiB", n >> 20),
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let mut total_findings = 0;
    for name in &args.targets {
        let Some(target) = targets::by_name(name) else { continue };
        let dir = args.out.join(name);
        let mut save = |f: &Finding| {
            let file = dir.join(format!("{:016x}", fnv1a(&f.input)));
            let saved = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&file, &f.input));
            match saved {
                Ok(()) => eprintln!("{name}: FINDING {} (input in {})", describe(f), file.display()),
                Err(e) => eprintln!("{name}: FINDING {} (could not save the input to {}: {e})", describe(f), file.display()),
            }
        };
        let r = fuzz(&target, &args.budget, &mut save);
        total_findings += r.findings.len();
        println!(
            "{name}: {} executions in {:.0} s ({:.0}/s), seed {}, corpus {}, outcome classes {}, contained panics {}, findings {}",
            r.executions,
            r.elapsed.as_secs_f64(),
            r.executions as f64 / r.elapsed.as_secs_f64().max(0.001),
            args.budget.seed,
            r.corpus,
            r.classes,
            r.contained_panics,
            r.findings.len()
        );
    }
    if total_findings == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
