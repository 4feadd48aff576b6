//! What a service install is made of (issue #13, item 5): the systemd unit passes
//! `systemd-analyze verify` and keeps its hardening, and the binary tells its version and
//! commit, writes shell completions and manual pages.
//!
//! `systemd-analyze` comes with Debian's systemd package (`.ci/run` installs it); without it the
//! unit checks are skipped with a message, unless `CI` says they must run.

use std::path::Path;
use std::process::Command;

fn sluice(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sluice")).args(args).output().unwrap()
}

fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

#[test]
fn the_systemd_unit_verifies_and_stays_hardened() {
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        assert!(!required(), "systemd-analyze is missing (apt-get install systemd)");
        eprintln!("skipped: no systemd-analyze");
        return;
    }
    let unit = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/sluice.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/bin/sluice serve --config /etc/sluice/sluice.toml"), "{unit}");
    for line in ["User=sluice", "ProtectSystem=strict", "ReadWritePaths=/var/lib/sluice", "NoNewPrivileges=yes"] {
        assert!(unit.lines().any(|l| l == line), "the unit lost {line}");
    }
    // verify checks that the command exists: point it at the binary under test.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sluice.service");
    std::fs::write(&file, unit.replace("/usr/bin/sluice", env!("CARGO_BIN_EXE_sluice"))).unwrap();
    let out = Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&file).output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "systemd-analyze verify:\n{said}");
    // systemd's own exposure score: 0 (locked down) to 10 (exposed); "OK" is below 2.
    let out = Command::new("systemd-analyze").args(["security", "--offline=yes"]).arg(&file).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    let score: f64 = said
        .lines()
        .find_map(|l| l.split("Overall exposure level for sluice.service:").nth(1))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{said}"));
    assert!(score <= 2.0, "exposure {score}:\n{said}");
}

#[test]
fn version_names_the_commit() {
    let out = sluice(&["--version"]);
    assert!(out.status.success());
    let v = String::from_utf8(out.stdout).unwrap();
    assert!(v.starts_with(&format!("sluice {} (commit ", env!("CARGO_PKG_VERSION"))), "{v}");
    let commit = v.trim().trim_end_matches(')').rsplit(' ').next().unwrap();
    // A clone builds with its commit; only a build outside git says "unknown".
    if Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.git").exists() {
        assert!(commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit()), "{v}");
    }
}

#[test]
fn completions_and_manual_pages_describe_the_real_commands() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = sluice(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains("approve") && script.contains("downstreams"), "{shell}: {}", &script[..200.min(script.len())]);
    }
    assert!(!sluice(&["completions", "tcsh"]).status.success());

    let dir = tempfile::tempdir().unwrap();
    let out = sluice(&["manpages", "--out", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let top = std::fs::read_to_string(dir.path().join("sluice.1")).unwrap();
    assert!(top.starts_with(".ie") || top.contains(".TH sluice 1"), "{}", &top[..200.min(top.len())]);
    let start = std::fs::read_to_string(dir.path().join("sluice-sync-start.1")).unwrap();
    assert!(start.contains("\\-\\-wait"), "{start}");
}

#[test]
fn the_debian_package_carries_the_service_and_its_documentation() {
    if Command::new("dpkg-deb").arg("--version").output().is_err() {
        assert!(!required(), "dpkg-deb is missing");
        eprintln!("skipped: no dpkg-deb");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = tempfile::tempdir().unwrap();
    let built = Command::new("bash")
        .arg(root.join("packaging/build-deb.sh"))
        .arg(env!("CARGO_BIN_EXE_sluice"))
        .arg(out.path())
        .env("SLUICE_DEB_COMPRESSION", "none")
        .output()
        .unwrap();
    assert!(built.status.success(), "build-deb.sh: {}", String::from_utf8_lossy(&built.stderr));
    let deb = String::from_utf8(built.stdout).unwrap().trim().to_owned();
    assert!(deb.ends_with(&format!("sluice_{}_{}.deb", env!("CARGO_PKG_VERSION"), arch())), "{deb}");

    let field = |name: &str| {
        let o = Command::new("dpkg-deb").args(["--field", &deb, name]).output().unwrap();
        String::from_utf8(o.stdout).unwrap().trim().to_owned()
    };
    assert_eq!(field("Package"), "sluice");
    assert_eq!(field("Version"), env!("CARGO_PKG_VERSION"));
    assert!(field("Depends").contains("adduser"));

    let listing = Command::new("dpkg-deb").args(["--contents", &deb]).output().unwrap();
    let listing = String::from_utf8(listing.stdout).unwrap();
    for path in [
        "./usr/bin/sluice",
        "./lib/systemd/system/sluice.service",
        "./etc/sluice/sluice.toml",
        "./usr/share/man/man1/sluice.1.gz",
        "./usr/share/man/man1/sluice-serve.1.gz",
        "./usr/share/bash-completion/completions/sluice",
        "./usr/share/doc/sluice/clients.md",
    ] {
        assert!(listing.lines().any(|l| l.ends_with(path)), "{path} is not in the package:\n{listing}");
    }
    // The configuration survives upgrades as the administrator edited it.
    let control = tempfile::tempdir().unwrap();
    let ok = Command::new("dpkg-deb").args(["--control", &deb]).arg(control.path()).status().unwrap();
    assert!(ok.success());
    assert_eq!(std::fs::read_to_string(control.path().join("conffiles")).unwrap().trim(), "/etc/sluice/sluice.toml");
    // The maintainer scripts are valid shell and create the service user.
    for script in ["postinst", "prerm", "postrm"] {
        let ok = Command::new("sh").arg("-n").arg(control.path().join(script)).status().unwrap();
        assert!(ok.success(), "{script} is not valid sh");
    }
    let postinst = std::fs::read_to_string(control.path().join("postinst")).unwrap();
    assert!(postinst.contains("adduser --system") && postinst.contains("sluice.service"), "{postinst}");
}

fn arch() -> String {
    let o = Command::new("dpkg").arg("--print-architecture").output().unwrap();
    String::from_utf8(o.stdout).unwrap().trim().to_owned()
}
