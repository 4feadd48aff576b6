//! Puts the commit the binary was built from into `sluice --version`: `git` when building from a
//! clone, else `SLUICE_COMMIT` (set by packaging that builds from a tarball), else "unknown".

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=SLUICE_COMMIT");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // A new commit moves HEAD or the branch it names; either reruns this script. Named even
    // when absent: a build directory shared with a build made outside a clone must not keep
    // that build's "unknown" (a missing file makes cargo rerun the script every time).
    for f in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        println!("cargo:rerun-if-changed={}", root.join(f).display());
    }
    let from_git = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(&root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let commit = from_git
        .or_else(|| std::env::var("SLUICE_COMMIT").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SLUICE_COMMIT={commit}");
}
