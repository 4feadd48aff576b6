//! The simulated Windows Update Agent (`sluice agent scan`, a subprocess) against a real
//! server over loopback: applicability decided by each machine's profile through the rule
//! engine, prerequisite chains offered step by step, deadlines, uninstall approvals.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_sluice");

fn sluice(admin: &str, token: &str, args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).env("SLUICE_SERVER", admin).env("SLUICE_TOKEN", token).output().expect("run sluice");
    assert!(out.status.success(), "sluice {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

fn publish(admin: &str, token: &str, dir: &Path, name: &str, extra: &[&str]) -> String {
    let file = dir.join(name);
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8 ^ name.len() as u8).collect();
    std::fs::write(&file, payload).unwrap();
    let mut args = vec!["publish", "--file", file.to_str().unwrap(), "--title", name, "--product", "Contoso Agent"];
    args.extend_from_slice(extra);
    sluice(admin, token, &args).trim().to_string()
}

struct Env {
    dir: std::path::PathBuf,
    admin: String,
    token: String,
    client: String,
    server: sluice_testkit::server::TestServer,
}

async fn env() -> Env {
    let server = sluice_testkit::server::start().await;
    Env {
        admin: server.admin_url(),
        token: server.token().to_string(),
        client: server.client_url(),
        dir: server.dir().to_path_buf(),
        server,
    }
}

fn profile(dir: &Path, name: &str, with_contoso: bool) -> String {
    let mut text = sluice_agent::profile::BUILTIN_WINDOWS_11.replace("Windows 11 25H2 x64 en-US", name);
    if with_contoso {
        text.push_str("\n[machine.registry.'HKEY_LOCAL_MACHINE\\SOFTWARE\\Contoso']\nEdition = { type = \"REG_SZ\", data = \"Pro\" }\n");
    }
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn agent(e: &Env, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["agent", "scan", "--server", e.client.as_str(), "--json"];
    all.extend_from_slice(args);
    let out = Command::new(BIN).args(&all).output().unwrap();
    assert!(out.status.success(), "agent {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    json(&String::from_utf8(out.stdout).unwrap())
}

fn has(list: &serde_json::Value, id: &str) -> bool {
    list.as_array().unwrap().iter().any(|v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(id)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_profiles_one_update_applies_to_only_one() {
    let e = env().await;
    let (admin, token, dir, client) = (e.admin.clone(), e.token.clone(), e.dir.clone(), e.client.clone());
    let _ = client;
    let (id, with, without) = tokio::task::spawn_blocking({
        let e_dir = dir.clone();
        move || {
            let id = publish(&admin, &token, &e_dir, "contoso-5.1.exe", &[
                "--installed-rule", r#"<bar:RegKeyExists Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Contoso\Agent5" />"#,
                "--installable-rule", r#"<bar:RegKeyExists Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Contoso" />"#,
            ]);
            sluice(&admin, &token, &["approve", &id, "--group", "All Computers"]);
            (id, profile(&e_dir, "with-contoso", true), profile(&e_dir, "without-contoso", false))
        }
    })
    .await
    .unwrap();
    let (e_ref, id2, with2, without2) = (&e, id.clone(), with.clone(), without.clone());
    let a = tokio::task::block_in_place(|| agent(e_ref, &["--profile", &with2, "--install"]));
    let b = tokio::task::block_in_place(|| agent(e_ref, &["--profile", &without2, "--install"]));
    assert!(has(&a["installed"], &id2), "{a}");
    assert_eq!(a["downloaded"].as_array().unwrap().len(), 1, "the file was downloaded and verified");
    assert!(has(&b["not_applicable"], &id2), "{b}");
    assert!(b["installed"].as_array().unwrap().is_empty());
    assert!(b["downloaded"].as_array().unwrap().is_empty());
    let status = tokio::task::block_in_place(|| json(&sluice(&e.admin, &e.token, &["status", "--update", &id, "--json"])));
    assert_eq!(status["updates"][0]["counts"]["installed"], 1, "{status}");
    assert_eq!(status["updates"][0]["counts"]["not_applicable"], 1, "{status}");
    e.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prerequisite_chain_deadline_and_uninstall() {
    let e = env().await;
    let dir = e.dir.clone();
    let (base, addon) = tokio::task::block_in_place(|| {
        let base = publish(&e.admin, &e.token, &dir, "contoso-base.exe", &[
            "--installed-rule", r#"<bar:RegKeyExists Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Contoso\Base" />"#,
        ]);
        let addon = publish(&e.admin, &e.token, &dir, "contoso-addon.exe", &[
            "--prerequisite", &base,
            "--installed-rule", r#"<bar:RegKeyExists Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Contoso\Addon" />"#,
        ]);
        sluice(&e.admin, &e.token, &["approve", &base, "--group", "All Computers"]);
        sluice(&e.admin, &e.token, &["approve", &addon, "--group", "All Computers", "--deadline", "2031-05-01T12:00:00Z"]);
        (base, addon)
    });
    let state = dir.join("machine.json").display().to_string();
    // First scan: only the base is offered; the add-on needs it installed first.
    let first = tokio::task::block_in_place(|| agent(&e, &["--state", &state, "--install"]));
    let offered: Vec<String> = first["offered"].as_array().unwrap().iter().map(|o| o["update_id"].as_str().unwrap().to_lowercase()).collect();
    assert!(offered.contains(&base) && !offered.contains(&addon), "{first}");
    assert!(has(&first["installed"], &base) && !has(&first["installed"], &addon), "{first}");
    // Second scan: the installed base unlocks the add-on, with its deadline.
    let second = tokio::task::block_in_place(|| agent(&e, &["--state", &state, "--install"]));
    let o = second["offered"].as_array().unwrap().iter().find(|o| o["update_id"].as_str().unwrap().eq_ignore_ascii_case(&addon)).expect("add-on offered").clone();
    assert_eq!(o["action"], "Install");
    assert!(o["deadline"].as_str().unwrap().starts_with("2031-05-01T12:00:00"), "{o}");
    assert!(has(&second["installed"], &addon), "{second}");
    // An uninstall approval removes it.
    tokio::task::block_in_place(|| sluice(&e.admin, &e.token, &["approve", &addon, "--group", "All Computers", "--action", "uninstall"]));
    let third = tokio::task::block_in_place(|| agent(&e, &["--state", &state, "--install"]));
    assert!(has(&third["uninstalled"], &addon), "{third}");
    let status = tokio::task::block_in_place(|| json(&sluice(&e.admin, &e.token, &["status", "--update", &addon, "--json"])));
    assert_eq!(status["updates"][0]["counts"]["installed"], 0, "{status}");
    let base_status = tokio::task::block_in_place(|| json(&sluice(&e.admin, &e.token, &["status", "--update", &base, "--json"])));
    assert_eq!(base_status["updates"][0]["counts"]["installed"], 1, "{base_status}");
    e.server.shutdown().await.unwrap();
}

/// `--execute`: the published command-line installer really runs (a shell script here, as on
/// Linux a Windows executable cannot), and its exit code is read through the return-code table.
/// Linux exit codes are 0-255, so the table uses small codes where Windows would use 3010/1603.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execute_runs_the_installer_and_honours_its_return_codes() {
    let e = env().await;
    let dir = e.dir.clone();
    let (reboot, fail) = tokio::task::block_in_place(|| {
        let script = |name: &str, code: u32| {
            let p = dir.join(name);
            std::fs::write(&p, format!("#!/bin/sh\n[ \"$1\" = \"/quiet\" ] || exit 99\necho ran > installed.txt\nexit {code}\n")).unwrap();
            p.display().to_string()
        };
        let publish_script = |path: String, title: &str| {
            sluice(&e.admin, &e.token, &[
                "publish", "--file", &path, "--title", title, "--command-line", "/quiet",
                "--return-code", "0:success", "--return-code", "42:reboot", "--return-code", "43:failure",
                "--installed-rule", r#"<bar:RegKeyExists Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Contoso\Never" />"#,
            ]).trim().to_string()
        };
        let reboot = publish_script(script("needs-restart.sh", 42), "Needs a restart");
        let fail = publish_script(script("fails.sh", 43), "Fails");
        for id in [&reboot, &fail] {
            sluice(&e.admin, &e.token, &["approve", id, "--group", "All Computers"]);
        }
        (reboot, fail)
    });
    let r = tokio::task::block_in_place(|| agent(&e, &["--install", "--execute"]));
    let executed = r["executed"].as_array().unwrap();
    let of = |id: &str| executed.iter().find(|x| x["update_id"].as_str().unwrap().eq_ignore_ascii_case(id)).unwrap_or_else(|| panic!("{r}")).clone();
    assert_eq!(of(&reboot)["exit_code"], 42);
    assert_eq!(of(&reboot)["reboot"], true);
    assert_eq!(of(&fail)["exit_code"], 43, "the script got /quiet, or it would have exited 99");
    assert_eq!(of(&fail)["succeeded"], false);
    assert!(has(&r["pending_reboot"], &reboot));
    assert!(!has(&r["installed"], &fail));
    let st = |id: &str| tokio::task::block_in_place(|| json(&sluice(&e.admin, &e.token, &["status", "--update", id, "--json"])));
    assert_eq!(st(&reboot)["updates"][0]["counts"]["installed_pending_reboot"], 1, "{}", st(&reboot));
    assert_eq!(st(&fail)["updates"][0]["counts"]["failed"], 1, "{}", st(&fail));
    e.server.shutdown().await.unwrap();
}
