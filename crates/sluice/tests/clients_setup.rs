//! `sluice clients setup` as an administrator runs it: the binary prints a `.reg` file and a
//! PowerShell snippet that point a machine at the server, and refuses what it cannot write.

use std::process::Command;

fn sluice(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sluice")).args(args).output().expect("sluice runs")
}

#[test]
fn setup_prints_a_reg_file_and_powershell_for_one_machine() {
    let out = sluice(&["clients", "setup", "--server", "http://sluice.contoso.test:8530", "--group", "Ring 1", "--format", "reg"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reg = String::from_utf8(out.stdout).unwrap();
    assert!(reg.starts_with("Windows Registry Editor Version 5.00\r\n"), "{reg:?}");
    for line in [
        "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate]",
        "\"WUServer\"=\"http://sluice.contoso.test:8530\"",
        "\"WUStatusServer\"=\"http://sluice.contoso.test:8530\"",
        "\"TargetGroupEnabled\"=dword:00000001",
        "\"TargetGroup\"=\"Ring 1\"",
        "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate\\AU]",
        "\"UseWUServer\"=dword:00000001",
        "\"DetectionFrequency\"=dword:00000016",
    ] {
        assert!(reg.split("\r\n").any(|l| l == line), "missing {line:?} in {reg:?}");
    }
    assert!(!reg.contains("New-ItemProperty"), "--format reg prints only the .reg file");

    let both = sluice(&["clients", "setup", "--server", "https://sluice.contoso.test:8531"]);
    let text = String::from_utf8(both.stdout).unwrap();
    assert!(text.contains("\"WUServer\"=\"https://sluice.contoso.test:8531\""));
    assert!(text.contains("New-ItemProperty -Path $wu -Name WUServer -Value 'https://sluice.contoso.test:8531'"));
}

#[test]
fn setup_refuses_what_would_break_the_registry_or_the_script() {
    for args in [
        &["clients", "setup", "--server", "sluice:8530"][..],
        &["clients", "setup", "--server", "http://sluice:8530\"; Remove-Item C:\\"][..],
        &["clients", "setup", "--server", "http://sluice:8530", "--detection-hours", "30"][..],
        &["clients", "setup", "--server", "http://sluice:8530", "--group", "Ring\u{7}1"][..],
    ] {
        let out = sluice(args);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(out.stdout.is_empty(), "nothing printed for {args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("error: --"), "{args:?}: {err}");
    }
}
