//! A hand-made machine shared by the table tests: a 64-bit German Windows 11 23H2
//! workstation with Defender, an Office MSI, two CBS packages and a few odd files.
#![allow(dead_code)]

use sluice_rules::{parse_fragment_rule, parse_rule, Evaluator, Machine, Truth};

pub const LAB: &str = r#"
architecture = "x64"
processor_count = 8
memory_mb = 16384
video_memory_mb = 2048
sensors = ["{BFA794E4-F964-4FDB-90F6-51056BFE4B44}"]
nfc_capabilities = ["Proximity"]
cameras = ["Front"]
clustered = false
cluster_owned_resources = ["SQL Network Name (SQL01)"]

[environment]
ProgramData = 'C:\ProgramData'
SystemRoot = 'C:\Windows'

[os]
major = 10
minor = 0
build = 22631
revision = 4460
product_type = 1
suite_mask = 256
sku = 48
language = "de-DE"
mui_languages = ["de-DE", "en-US"]

[direct3d]
hardware_version = 12
feature_level_major = 12
feature_level_minor = 1

[[files]]
path = 'C:\Windows\System32\ntoskrnl.exe'
version = "10.0.22621.4460"
size = 12000000
created = "2024-01-01T00:00:00Z"
modified = "2026-05-01T12:00:00Z"
language = "1033"

[[files]]
path = 'C:\Program Files\Windows Defender\MpClient.dll'
version = "4.18.25070.5"

[[files]]
path = 'C:\Program Files (x86)\App\app.exe'
version = "2.5.0.0"

[[files]]
path = 'C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.25070.5-0\MpClient.dll'
version = "4.18.25070.5"
size = 1500000
created = "2025-07-01T00:00:00Z"
modified = "2025-07-02T00:00:00Z"

[[files]]
path = 'C:\ProgramData\Microsoft\Windows Defender\Definition Updates\{A1B2}\mpengine.dll'
version = "1.1.26080.3"

[[files]]
path = 'C:\Tools\noversion.txt'
version = ""
size = 10

[[files]]
path = 'C:\Tools\unknown.bin'

[registry.'HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows Defender']
InstallLocation = { type = "REG_SZ", data = 'C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.25070.5-0\' }
DisableAntiSpyware = { type = "REG_DWORD", data = 0 }

[registry.'HKLM\SOFTWARE\Microsoft\Windows Defender\Signature Updates']
SignatureLocation = { type = "REG_EXPAND_SZ", data = '%ProgramData%\Microsoft\Windows Defender\Definition Updates\{A1B2}' }

[registry.'HKEY_LOCAL_MACHINE\SOFTWARE\Test']
"" = { type = "REG_SZ", data = "dflt" }
D = { type = "REG_DWORD", data = 5 }
Q = { type = "REG_QWORD", data = 5000000000 }
S = { type = "REG_SZ", data = "Hello World" }
E = { type = "REG_EXPAND_SZ", data = '%SystemRoot%\system32' }
V = { type = "REG_SZ", data = "6.00.2900.5512" }
BadVer = { type = "REG_SZ", data = "abc" }
Bin = { type = "REG_BINARY", data = [1, 2] }
Multi = { type = "REG_MULTI_SZ", data = ["a", "b"] }

[registry.'HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Test32']
D = { type = "REG_DWORD", data = 32 }

[registry.'HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\{A}']
DisplayName = { type = "REG_SZ", data = "Contoso App 1.2" }
DisplayVersion = { type = "REG_SZ", data = "1.2.0" }
Publisher = { type = "REG_SZ", data = "Contoso" }

[registry.'HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\{B}']
DisplayName = { type = "REG_SZ", data = "Fabrikam Tool" }
DisplayVersion = { type = "REG_SZ", data = "3.0" }

[registry.'HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\C']
DisplayName = { type = "REG_SZ", data = "Contoso Old" }

[registry.'HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Nls\Language']
InstallLanguage = { type = "REG_SZ", data = "0407" }

[registry.'HKEY_LOCAL_MACHINE\SYSTEM\Cluster']
ResourceName = { type = "REG_SZ", data = "SQL01" }

[msi]
superseded_patches = ["{33333333-3333-3333-3333-333333333333}"]

[[msi.products]]
product_code = "{0C524D20-041A-0080-8A9E-0C4C490E4E54}"
version = "16.0.5000.1000"
language = 1033
upgrade_code = "{AAAAAAAA-0000-0000-0000-000000000001}"
features = ["Core", "Tools"]
components = ["{CCCCCCCC-0000-0000-0000-000000000001}"]

[[msi.patches]]
patch_code = "{11111111-1111-1111-1111-111111111111}"
product_code = "{0C524D20-041A-0080-8A9E-0C4C490E4E54}"

[[msi.patches]]
patch_code = "{22222222-2222-2222-2222-222222222222}"
product_code = "{0C524D20-041A-0080-8A9E-0C4C490E4E54}"
state = "Superseded"

[[cbs_packages]]
identity = "Package_for_RollupFix~31bf3856ad364e35~amd64~~22621.4460.1.9"
state = "Installed"
applicable = true

[[cbs_packages]]
identity = "Package_for_DotNetRollup_481~31bf3856ad364e35~amd64~~10.0.9082.7"
state = "Staged"
applicable = false

[[wmi]]
query = "SELECT * FROM Win32_ComputerSystem WHERE Manufacturer = 'Contoso'"
result = true

[license_dwords]
Kernel-ProductInfo = 48

[[system_metrics]]
index = 86
value = 1

[[product_releases]]
name = "Client.OS.RS2.AMD64"
version = "10.0.22631.4460"

[[devices]]
hardware_ids = ['PCI\VEN_8086&DEV_1234&SUBSYS_00000000', 'PCI\VEN_8086&DEV_1234']
driver_version = "1.0.0.0"
driver_date = "2020-01-01"
"#;

pub fn lab() -> Machine {
    toml::from_str(LAB).expect("lab machine TOML")
}

/// Evaluates a rule in fragment form and renders the result as T, F or U.
pub fn frag(rule: &str, m: &Machine) -> char {
    let e = parse_fragment_rule(rule).unwrap_or_else(|err| panic!("{rule}: {err}"));
    letter(&Evaluator::new(m).eval(&e))
}

/// Same for a namespaced rule.
pub fn doc(rule: &str, m: &Machine) -> char {
    let e = parse_rule(rule).unwrap_or_else(|err| panic!("{rule}: {err}"));
    letter(&Evaluator::new(m).eval(&e))
}

pub fn letter(t: &Truth) -> char {
    match t {
        Truth::True => 'T',
        Truth::False => 'F',
        Truth::Unknown(_) => 'U',
    }
}

/// Runs a table of (rule, expected) rows; reports every failing row at once.
pub fn table(rows: &[(&str, char)], m: &Machine) {
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|(rule, want)| {
            let got = frag(rule, m);
            (got != *want).then(|| format!("  want {want}, got {got}: {rule}"))
        })
        .collect();
    assert!(failures.is_empty(), "{} rows failed:\n{}", failures.len(), failures.join("\n"));
}
