//! Table tests: every operator, with hits and misses, against the lab machine.

mod common;

use common::{doc, frag, lab, table};
use sluice_rules::*;

const HKLM: &str = r#"Key="HKEY_LOCAL_MACHINE""#;

fn t(s: &str) -> String {
    s.replace("$HKLM", HKLM)
}

fn rows(raw: &[(&str, char)]) -> Vec<(String, char)> {
    raw.iter().map(|(r, c)| (t(r), *c)).collect()
}

fn run(raw: &[(&str, char)]) {
    let owned = rows(raw);
    let borrowed: Vec<(&str, char)> = owned.iter().map(|(r, c)| (r.as_str(), *c)).collect();
    table(&borrowed, &lab());
}

#[test]
fn logical_operators_and_kleene_propagation() {
    run(&[
        ("<True />", 'T'),
        ("<False />", 'F'),
        ("<Not><True /></Not>", 'F'),
        ("<And><True /><True /></And>", 'T'),
        ("<And><True /><False /></And>", 'F'),
        ("<Or><False /><True /></Or>", 'T'),
        ("<Or><False /><False /></Or>", 'F'),
        // Kleene: false AND unknown = false, true OR unknown = true, otherwise unknown.
        ("<And><False /><b.WmiQuery WqlQuery=\"SELECT 1\" /></And>", 'F'),
        ("<And><True /><b.WmiQuery WqlQuery=\"SELECT 1\" /></And>", 'U'),
        ("<Or><True /><Zorg /></Or>", 'T'),
        ("<Or><False /><Zorg /></Or>", 'U'),
        ("<Not><Zorg /></Not>", 'U'),
        // Structural errors are unknown, never false.
        ("<And />", 'U'),
        ("<Or />", 'U'),
        ("<Not />", 'U'),
        ("<Not><True /><True /></Not>", 'U'),
        ("<b.FooBar />", 'U'),
        ("<m.MsiSomethingNew />", 'U'),
        ("<x.True />", 'U'),
    ]);
}

#[test]
fn windows_version_and_platform() {
    run(&[
        (r#"<b.WindowsVersion Comparison="GreaterThanOrEqualTo" MajorVersion="6" MinorVersion="3" ProductType="1" />"#, 'T'),
        (r#"<b.WindowsVersion Comparison="GreaterThanOrEqualTo" MajorVersion="6" MinorVersion="3" ProductType="3" />"#, 'F'),
        (r#"<b.WindowsVersion Comparison="EqualTo" MajorVersion="10" MinorVersion="0" BuildNumber="22631" />"#, 'T'),
        (r#"<b.WindowsVersion Comparison="EqualTo" MajorVersion="10" MinorVersion="0" BuildNumber="22000" />"#, 'F'),
        (r#"<b.WindowsVersion Comparison="LessThan" MajorVersion="10" MinorVersion="0" BuildNumber="22000" />"#, 'F'),
        (r#"<b.WindowsVersion Comparison="LessThan" MajorVersion="10" MinorVersion="0" BuildNumber="26100" />"#, 'T'),
        (r#"<b.WindowsVersion Comparison="LessThanOrEqualTo" MajorVersion="10" MinorVersion="0" BuildNumber="22631" />"#, 'T'),
        (r#"<b.WindowsVersion Comparison="GreaterThan" MajorVersion="10" MinorVersion="0" BuildNumber="22000" />"#, 'T'),
        (r#"<b.WindowsVersion Comparison="GreaterThan" MajorVersion="10" MinorVersion="0" BuildNumber="22631" />"#, 'F'),
        (r#"<b.WindowsVersion Comparison="GreaterThanOrEqualTo" MajorVersion="10" ServicePackMajor="1" />"#, 'F'),
        (r#"<b.WindowsVersion MajorVersion="10" />"#, 'T'),
        (r#"<b.WindowsVersion MajorVersion="6" />"#, 'F'),
        (r#"<b.WindowsVersion AllSuitesMustBePresent="true" SuiteMask="128" />"#, 'F'),
        (r#"<b.WindowsVersion SuiteMask="384" />"#, 'T'),
        (r#"<b.WindowsVersion AllSuitesMustBePresent="true" SuiteMask="384" />"#, 'F'),
        (r#"<b.WindowsVersion AllSuitesMustBePresent="true" SuiteMask="256" />"#, 'T'),
        (r#"<b.WindowsVersion Comparison="Contains" MajorVersion="10" />"#, 'U'),
        (r#"<b.WindowsVersion MajorVersion="ten" />"#, 'U'),
        (r#"<b.PlatformVersion Comparison="GreaterThanOrEqualTo" MajorVersion="10" />"#, 'T'),
        (r#"<b.Platform PlatformID="2" />"#, 'T'),
        (r#"<b.Platform PlatformID="1" />"#, 'F'),
        (r#"<b.Processor Architecture="9" />"#, 'T'),
        (r#"<b.Processor Architecture="0" />"#, 'F'),
        (r#"<b.Processor Architecture="12" />"#, 'F'),
        (r#"<b.Processor />"#, 'U'),
        (r#"<b.NumberOfProcessors Comparison="GreaterThanOrEqualTo" Number="4" />"#, 'T'),
        (r#"<b.NumberOfProcessors Comparison="GreaterThan" Number="8" />"#, 'F'),
    ]);
}

#[test]
fn languages_and_system_facts() {
    run(&[
        (r#"<b.WindowsLanguage Language="de" />"#, 'T'),
        (r#"<b.WindowsLanguage Language="de-de" />"#, 'T'),
        (r#"<b.WindowsLanguage Language="hu" />"#, 'F'),
        (r#"<b.WindowsLanguage />"#, 'U'),
        (r#"<b.MuiInstalled />"#, 'T'),
        (r#"<b.MuiInstalled Language="en" />"#, 'T'),
        (r#"<b.MuiLanguageInstalled Language="fr" />"#, 'F'),
        (r#"<b.SystemMetric Index="86" Comparison="EqualTo" Value="1" />"#, 'T'),
        (r#"<b.SystemMetric Index="86" Comparison="GreaterThan" Value="1" />"#, 'F'),
        // GetSystemMetrics answers 0 for anything it does not report.
        (r#"<b.SystemMetric Index="87" Value="0" />"#, 'T'),
        (r#"<b.LicenseDword Value="Kernel-ProductInfo" Comparison="EqualTo" Data="48" />"#, 'T'),
        (r#"<b.LicenseDword Value="kernel-productinfo" Data="4" />"#, 'F'),
        (r#"<b.LicenseDword Value="CE163B38-1AEC-47AF-854D-FC90ABD6951C" Comparison="EqualTo" Data="1" />"#, 'F'),
        (r#"<b.WmiQuery Namespace="root\cimv2" WqlQuery="SELECT * FROM Win32_ComputerSystem WHERE Manufacturer = 'Contoso'" />"#, 'T'),
        (r#"<b.WmiQuery WqlQuery="select *   from Win32_ComputerSystem where Manufacturer = 'contoso'" />"#, 'T'),
        (r#"<b.WmiQuery Namespace="root\cimv2" WqlQuery="SELECT domain FROM Win32_ComputerSystem" />"#, 'U'),
        (r#"<b.WmiQuery Namespace="root\wmi" WqlQuery="SELECT * FROM Win32_ComputerSystem WHERE Manufacturer = 'Contoso'" />"#, 'U'),
        (r#"<b.ClusteredOS />"#, 'F'),
        (r#"<b.ClusterResourceOwner $HKLM Subkey="SYSTEM\Cluster" Value="ResourceName" Prefix="SQL Network Name (" Suffix=")" />"#, 'T'),
        (r#"<b.ClusterResourceOwner $HKLM Subkey="SYSTEM\Cluster" Value="ResourceName" />"#, 'F'),
        (r#"<b.Direct3D HardwareVersion="11" FeatureLevelMajor="12" FeatureLevelMinor="0" />"#, 'T'),
        (r#"<b.Direct3D HardwareVersion="11" FeatureLevelMajor="12" FeatureLevelMinor="2" />"#, 'F'),
        (r#"<b.Memory MinSizeInMB="8192" Type="Physical" />"#, 'T'),
        (r#"<b.VideoMemory MinSizeInMB="4096" />"#, 'F'),
        (r#"<b.SensorById Id="{bfa794e4-f964-4fdb-90f6-51056bfe4b44}" />"#, 'T'),
        (r#"<b.NFC Capability="Proximity" />"#, 'T'),
        (r#"<b.Camera Location="Back" />"#, 'F'),
        (r#"<b.InstalledOnce />"#, 'U'),
        (r#"<b.GenericQuery Query="x" />"#, 'U'),
    ]);
}

#[test]
fn registry_expressions() {
    run(&[
        (r#"<b.RegKeyExists $HKLM Subkey="SOFTWARE\Test" />"#, 'T'),
        (r#"<b.RegKeyExists $HKLM Subkey="software\TEST" />"#, 'T'),
        (r#"<b.RegKeyExists $HKLM Subkey="SOFTWARE\Nope" />"#, 'F'),
        (r#"<b.RegKeyExists $HKLM Subkey="SOFTWARE" />"#, 'T'),
        (r#"<b.RegKeyExists $HKLM Subkey="SOFTWARE\Test32" />"#, 'F'),
        (r#"<b.RegKeyExists $HKLM Subkey="SOFTWARE\Test32" RegType32="true" />"#, 'T'),
        (r#"<b.RegDword $HKLM Subkey="SOFTWARE\Test32" Value="D" Comparison="EqualTo" Data="32" RegType32="true" />"#, 'T'),
        (r#"<b.RegKeyExists Key="HKEY_NOWHERE" Subkey="x" />"#, 'U'),
        (r#"<b.RegKeyExists $HKLM />"#, 'U'),
        (r#"<b.RegValueExists $HKLM Subkey="SOFTWARE\Test" Value="D" />"#, 'T'),
        (r#"<b.RegValueExists $HKLM Subkey="SOFTWARE\Test" Value="d" Type="REG_DWORD" />"#, 'T'),
        (r#"<b.RegValueExists $HKLM Subkey="SOFTWARE\Test" Value="D" Type="REG_SZ" />"#, 'F'),
        (r#"<b.RegValueExists $HKLM Subkey="SOFTWARE\Test" Value="Bin" Type="REG_BINARY" />"#, 'T'),
        (r#"<b.RegValueExists $HKLM Subkey="SOFTWARE\Test" Value="Multi" Type="REG_MULTI_SZ" />"#, 'T'),
        (r#"<b.RegValueExists $HKLM Subkey="SOFTWARE\Test" Value="Missing" />"#, 'F'),
        (r#"<b.RegValueExists $HKLM Subkey="SOFTWARE\Test" />"#, 'T'),
        (r#"<b.RegValueExists $HKLM Subkey="SOFTWARE\Test" Value="D" Type="REG_WHATEVER" />"#, 'U'),
        (r#"<b.RegDword $HKLM Subkey="SOFTWARE\Test" Value="D" Comparison="EqualTo" Data="5" />"#, 'T'),
        (r#"<b.RegDword $HKLM Subkey="SOFTWARE\Test" Value="D" Comparison="EqualTo" Data="6" />"#, 'F'),
        (r#"<b.RegDword $HKLM Subkey="SOFTWARE\Test" Value="D" Comparison="LessThan" Data="6" />"#, 'T'),
        (r#"<b.RegDword $HKLM Subkey="SOFTWARE\Test" Value="D" Comparison="LessThan" Data="5" />"#, 'F'),
        (r#"<b.RegDword $HKLM Subkey="SOFTWARE\Test" Value="D" Comparison="LessThanOrEqualTo" Data="5" />"#, 'T'),
        (r#"<b.RegDword $HKLM Subkey="SOFTWARE\Test" Value="D" Comparison="LessThanOrEqualTo" Data="4" />"#, 'F'),
        (r#"<b.RegDword $HKLM Subkey="SOFTWARE\Test" Value="D" Comparison="GreaterThan" Data="4" />"#, 'T'),
        (r#"<b.RegDword $HKLM Subkey="SOFTWARE\Test" Value="D" Comparison="GreaterThan" Data="5" />"#, 'F'),
        (r#"<b.RegDword $HKLM Subkey="SOFTWARE\Test" Value="D" Comparison="GreaterThanOrEqualTo" Data="5" />"#, 'T'),
        (r#"<b.RegDword $HKLM Subkey="SOFTWARE\Test" Value="D" Comparison="GreaterThanOrEqualTo" Data="6" />"#, 'F'),
        (r#"<b.RegDword $HKLM Subkey="SOFTWARE\Test" Value="S" Comparison="EqualTo" Data="5" />"#, 'F'),
        (r#"<b.RegDword $HKLM Subkey="SOFTWARE\Test" Value="Missing" Comparison="EqualTo" Data="0" />"#, 'F'),
        (r#"<b.RegDword $HKLM Subkey="SOFTWARE\Nope" Value="D" Comparison="EqualTo" Data="0" />"#, 'F'),
        (r#"<b.RegDword $HKLM Subkey="SOFTWARE\Test" Value="D" Comparison="Contains" Data="5" />"#, 'U'),
        (r#"<b.RegDword $HKLM Subkey="SOFTWARE\Test" Value="D" Comparison="EqualTo" Data="-1" />"#, 'U'),
        (r#"<b.RegDword $HKLM Subkey="SOFTWARE\Test" Value="D" Data="5" />"#, 'U'),
        (r#"<b.RegQword $HKLM Subkey="SOFTWARE\Test" Value="Q" Comparison="GreaterThan" Data="4294967296" />"#, 'T'),
        (r#"<b.RegQword $HKLM Subkey="SOFTWARE\Test" Value="D" Comparison="EqualTo" Data="5" />"#, 'F'),
        (r#"<b.RegSz $HKLM Subkey="SOFTWARE\Test" Value="S" Comparison="EqualTo" Data="hello world" />"#, 'T'),
        (r#"<b.RegSz $HKLM Subkey="SOFTWARE\Test" Value="S" Comparison="Contains" Data="lo Wo" />"#, 'T'),
        (r#"<b.RegSz $HKLM Subkey="SOFTWARE\Test" Value="S" Comparison="BeginsWith" Data="Hello" />"#, 'T'),
        (r#"<b.RegSz $HKLM Subkey="SOFTWARE\Test" Value="S" Comparison="EndsWith" Data="World" />"#, 'T'),
        (r#"<b.RegSz $HKLM Subkey="SOFTWARE\Test" Value="S" Comparison="EndsWith" Data="Hello" />"#, 'F'),
        (r#"<b.RegSz $HKLM Subkey="SOFTWARE\Test" Value="S" Comparison="LessThan" Data="Zebra" />"#, 'T'),
        (r#"<b.RegSz $HKLM Subkey="SOFTWARE\Test" Value="D" Comparison="EqualTo" Data="5" />"#, 'F'),
        (r#"<b.RegSz $HKLM Subkey="SOFTWARE\Test" Value="" Comparison="EqualTo" Data="dflt" />"#, 'T'),
        (r#"<b.RegSz $HKLM Subkey="SYSTEM\CurrentControlSet\Control\Nls\Language" Value="InstallLanguage" Comparison="EqualTo" Data="0407" />"#, 'T'),
        (r#"<b.RegSz $HKLM Subkey="SOFTWARE\Test" Value="S" Comparison="Matches" Data="x" />"#, 'U'),
        (r#"<b.RegExpandSz $HKLM Subkey="SOFTWARE\Test" Value="E" Comparison="EqualTo" Data="C:\Windows\System32" />"#, 'T'),
        (r#"<b.RegExpandSz $HKLM Subkey="SOFTWARE\Test" Value="E" Comparison="Contains" Data="system32" />"#, 'T'),
        (r#"<b.RegExpandSz $HKLM Subkey="SOFTWARE\Test" Value="S" Comparison="Contains" Data="Hello" />"#, 'F'),
        (r#"<b.RegSzToVersion $HKLM Subkey="SOFTWARE\Test" Value="V" Comparison="GreaterThanOrEqualTo" Data="6.0.2900.0" />"#, 'T'),
        (r#"<b.RegSzToVersion $HKLM Subkey="SOFTWARE\Test" Value="V" Comparison="EqualTo" Data="6.0.2900.5512" />"#, 'T'),
        (r#"<b.RegSzToVersion $HKLM Subkey="SOFTWARE\Test" Value="V" Comparison="LessThan" Data="6.0.2900.5512" />"#, 'F'),
        (r#"<b.RegSzToVersion $HKLM Subkey="SOFTWARE\Test" Value="V" Comparison="GreaterThan" Data="6.0.10.0" />"#, 'T'),
        (r#"<b.RegSzToVersion $HKLM Subkey="SOFTWARE\Test" Value="BadVer" Comparison="EqualTo" Data="1.0" />"#, 'U'),
        // Value missing under an existing key: compares as 0.0.0.0.
        (r#"<b.RegSzToVersion $HKLM Subkey="SOFTWARE\Test" Value="Missing" Comparison="LessThan" Data="1.0" />"#, 'T'),
        (r#"<b.RegSzToVersion $HKLM Subkey="SOFTWARE\Nope" Value="V" Comparison="LessThan" Data="1.0" />"#, 'F'),
        (r#"<b.RegSzToVersion $HKLM Subkey="SOFTWARE\Test" Value="V" Comparison="EqualTo" Data="1.x" />"#, 'U'),
        (r#"<b.WUv4RegKeySubstring $HKLM Subkey="SOFTWARE\Test" Value="S" Data="World" />"#, 'T'),
        (r#"<b.WUv4RegKeySubstring $HKLM Subkey="SOFTWARE\Test" Value="S" Data="Mars" />"#, 'F'),
        (r#"<b.WUv4RegKeyValue $HKLM Subkey="SOFTWARE\Test" Value="D" Data="5" />"#, 'T'),
        (r#"<b.WUv4RegKeyValue $HKLM Subkey="SOFTWARE\Test" Value="S" Data="hello world" />"#, 'T'),
    ]);
}

const UNINSTALL: &str = r#"$HKLM Subkey="SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall""#;

#[test]
fn reg_key_loop() {
    let target = r#"Key="HKEY_LOOP_TARGET" Subkey="\""#;
    let rows_raw: Vec<(String, char)> = vec![
        (
            format!(
                r#"<b.RegKeyLoop {UNINSTALL} TrueIf="Any"><And><b.RegSz {target} Value="DisplayName" Comparison="BeginsWith" Data="Contoso" /><b.RegSzToVersion {target} Value="DisplayVersion" Comparison="GreaterThanOrEqualTo" Data="1.2" /></And></b.RegKeyLoop>"#
            ),
            'T',
        ),
        (
            format!(
                r#"<b.RegKeyLoop {UNINSTALL} TrueIf="Any"><And><b.RegSz {target} Value="DisplayName" Comparison="BeginsWith" Data="Contoso" /><b.RegSzToVersion {target} Value="DisplayVersion" Comparison="GreaterThanOrEqualTo" Data="2.0" /></And></b.RegKeyLoop>"#
            ),
            'F',
        ),
        (format!(r#"<b.RegKeyLoop {UNINSTALL} TrueIf="All"><b.RegValueExists {target} Value="DisplayName" /></b.RegKeyLoop>"#), 'T'),
        (format!(r#"<b.RegKeyLoop {UNINSTALL} TrueIf="All"><b.RegValueExists {target} Value="DisplayVersion" /></b.RegKeyLoop>"#), 'F'),
        (
            format!(r#"<b.RegKeyLoop {UNINSTALL} TrueIf="None"><b.RegSz {target} Value="DisplayName" Comparison="EqualTo" Data="Nothing" /></b.RegKeyLoop>"#),
            'T',
        ),
        (
            format!(r#"<b.RegKeyLoop {UNINSTALL} TrueIf="None"><b.RegSz {target} Value="Publisher" Comparison="EqualTo" Data="contoso" /></b.RegKeyLoop>"#),
            'F',
        ),
        // Subkey relative to the loop target, and the subkey itself with an empty Subkey.
        (r#"<b.RegKeyLoop $HKLM Subkey="SOFTWARE\Microsoft\Windows\CurrentVersion" TrueIf="Any"><b.RegKeyExists Key="HKEY_LOOP_TARGET" Subkey="{B}" /></b.RegKeyLoop>"#.to_string(), 'T'),
        (format!(r#"<b.RegKeyLoop {UNINSTALL} TrueIf="All"><b.RegKeyExists Key="HKEY_LOOP_TARGET" Subkey="" /></b.RegKeyLoop>"#), 'T'),
        // A missing key has no subkeys.
        (r#"<b.RegKeyLoop $HKLM Subkey="SOFTWARE\Nope" TrueIf="Any"><True /></b.RegKeyLoop>"#.to_string(), 'F'),
        (r#"<b.RegKeyLoop $HKLM Subkey="SOFTWARE\Nope" TrueIf="All"><False /></b.RegKeyLoop>"#.to_string(), 'T'),
        (r#"<b.RegKeyLoop $HKLM Subkey="SOFTWARE\Nope" TrueIf="None"><True /></b.RegKeyLoop>"#.to_string(), 'T'),
        // Nested loops bind the innermost subkey.
        (
            format!(
                r#"<b.RegKeyLoop $HKLM Subkey="SOFTWARE\Microsoft\Windows\CurrentVersion" TrueIf="Any"><b.RegKeyLoop Key="HKEY_LOOP_TARGET" Subkey="" TrueIf="Any"><b.RegSz {target} Value="DisplayName" Comparison="EqualTo" Data="Fabrikam Tool" /></b.RegKeyLoop></b.RegKeyLoop>"#
            ),
            'T',
        ),
        // Unknown bodies stay unknown unless another subkey decides.
        (format!(r#"<b.RegKeyLoop {UNINSTALL} TrueIf="Any"><b.WmiQuery WqlQuery="SELECT 1" /></b.RegKeyLoop>"#), 'U'),
        (format!(r#"<b.RegKeyLoop {UNINSTALL} TrueIf="Any"><Or><b.RegValueExists {target} Value="Publisher" /><Zorg /></Or></b.RegKeyLoop>"#), 'T'),
        (r#"<b.RegDword Key="HKEY_LOOP_TARGET" Subkey="" Value="D" Comparison="EqualTo" Data="1" />"#.to_string(), 'U'),
        (format!(r#"<b.RegKeyLoop {UNINSTALL} TrueIf="Some"><True /></b.RegKeyLoop>"#), 'U'),
        (format!(r#"<b.RegKeyLoop {UNINSTALL} TrueIf="Any" />"#), 'U'),
        (format!(r#"<b.RegKeyLoop {UNINSTALL} TrueIf="Any"><True /><True /></b.RegKeyLoop>"#), 'U'),
    ];
    let owned: Vec<(String, char)> = rows_raw.into_iter().map(|(r, c)| (t(&r), c)).collect();
    let borrowed: Vec<(&str, char)> = owned.iter().map(|(r, c)| (r.as_str(), *c)).collect();
    table(&borrowed, &lab());
}

#[test]
fn file_expressions() {
    let defender = r#"$HKLM Subkey="SOFTWARE\Microsoft\Windows Defender" Value="InstallLocation""#;
    let sigs = r#"$HKLM Subkey="SOFTWARE\Microsoft\Windows Defender\Signature Updates" Value="SignatureLocation""#;
    let rows_raw: Vec<(String, char)> = vec![
        (r#"<b.FileExists Path="Windows Defender\MpClient.dll" Csidl="38" />"#.into(), 'T'),
        (r#"<b.FileExists Path="App\app.exe" Csidl="42" />"#.into(), 'T'),
        (r#"<b.FileExists Path="App\app.exe" Csidl="38" />"#.into(), 'F'),
        (r#"<b.FileExists Path="ntoskrnl.exe" Csidl="37" />"#.into(), 'T'),
        (r#"<b.FileExists Path="ntoskrnl.exe" Csidl="36" />"#.into(), 'F'),
        (r#"<b.FileExists Path="x" Csidl="99" />"#.into(), 'U'),
        (r#"<b.FileExists Path="c:\windows\system32\NTOSKRNL.EXE" />"#.into(), 'T'),
        (r#"<b.FileExists Path="C:\Windows\System32" />"#.into(), 'T'),
        (r#"<b.FileExists Path="C:\Windows\System32\missing.dll" />"#.into(), 'F'),
        (r#"<b.FileExists Path="ntoskrnl.exe" Csidl="37" Size="12000000" />"#.into(), 'T'),
        (r#"<b.FileExists Path="ntoskrnl.exe" Csidl="37" Size="1" />"#.into(), 'F'),
        (r#"<b.FileExists Path="ntoskrnl.exe" Csidl="37" Version="10.0.22621.4460" />"#.into(), 'T'),
        (r#"<b.FileExists Path="ntoskrnl.exe" Csidl="37" Language="1033" />"#.into(), 'T'),
        (r#"<b.FileExists Path="ntoskrnl.exe" Csidl="37" Language="1031" />"#.into(), 'F'),
        (r#"<b.FileExists Path="C:\Tools\unknown.bin" Size="5" />"#.into(), 'U'),
        (r#"<b.FileExists Path="C:\Tools\unknown.bin" />"#.into(), 'T'),
        (format!(r#"<b.FileExistsPrependRegSz Path="MpClient.dll" {defender} />"#), 'T'),
        (format!(r#"<b.FileExistsPrependRegSz Path="MpClient.dll" {defender} Version="4.18.25070.5" />"#), 'T'),
        (r#"<b.FileExistsPrependRegSz Path="MpClient.dll" $HKLM Subkey="SOFTWARE\Microsoft\Windows Defender" Value="Missing" />"#.into(), 'F'),
        (r#"<b.FileExistsPrependRegSz Path="MpClient.dll" $HKLM Subkey="SOFTWARE\Microsoft\Windows Defender" Value="DisableAntiSpyware" />"#.into(), 'F'),
        (r#"<b.FileVersion Path="ntoskrnl.exe" Csidl="37" Comparison="GreaterThanOrEqualTo" Version="10.0.22621.0" />"#.into(), 'T'),
        (r#"<b.FileVersion Path="ntoskrnl.exe" Csidl="37" Comparison="EqualTo" Version="10.0.22621.4460" />"#.into(), 'T'),
        (r#"<b.FileVersion Path="ntoskrnl.exe" Csidl="37" Comparison="LessThan" Version="10.0.22621.4460" />"#.into(), 'F'),
        (r#"<b.FileVersion Path="ntoskrnl.exe" Csidl="37" Comparison="LessThanOrEqualTo" Version="10.0.22621.10000" />"#.into(), 'T'),
        (r#"<b.FileVersion Path="ntoskrnl.exe" Csidl="37" Comparison="GreaterThan" Version="10.0.22621.999" />"#.into(), 'T'),
        (r#"<b.FileVersion Path="C:\Tools\noversion.txt" Comparison="GreaterThanOrEqualTo" Version="0.0.0.0" />"#.into(), 'F'),
        (r#"<b.FileVersion Path="C:\Tools\unknown.bin" Comparison="GreaterThanOrEqualTo" Version="0.0.0.0" />"#.into(), 'U'),
        (r#"<b.FileVersion Path="C:\missing.dll" Comparison="LessThan" Version="9.9" />"#.into(), 'F'),
        (r#"<b.FileVersion Path="ntoskrnl.exe" Csidl="37" Comparison="EqualTo" />"#.into(), 'U'),
        (r#"<b.FileVersion Path="ntoskrnl.exe" Csidl="37" Comparison="BeginsWith" Version="10" />"#.into(), 'U'),
        (format!(r#"<b.FileVersionPrependRegSz Path="MpClient.dll" Comparison="GreaterThanOrEqualTo" Version="4.13.0.0" {defender} />"#), 'T'),
        // REG_EXPAND_SZ directory, expanded from the model's environment.
        (format!(r#"<b.FileVersionPrependRegSz Path="mpengine.dll" Comparison="EqualTo" Version="1.1.26080.3" {sigs} />"#), 'T'),
        (format!(r#"<b.FileVersionPrependRegSz Path="mpengine.dll" Comparison="GreaterThan" Version="1.1.26080.3" {sigs} />"#), 'F'),
        (r#"<b.FileSize Path="ntoskrnl.exe" Csidl="37" Comparison="GreaterThan" Size="1000" />"#.into(), 'T'),
        (r#"<b.FileSize Path="ntoskrnl.exe" Csidl="37" Comparison="LessThan" Size="1000" />"#.into(), 'F'),
        (r#"<b.FileSize Path="C:\Tools\unknown.bin" Comparison="LessThan" Size="1000" />"#.into(), 'U'),
        (format!(r#"<b.FileSizePrependRegSz Path="MpClient.dll" Comparison="EqualTo" Size="1500000" {defender} />"#), 'T'),
        (r#"<b.FileCreated Path="ntoskrnl.exe" Csidl="37" Comparison="LessThan" Created="2025-01-01T00:00:00Z" />"#.into(), 'T'),
        (r#"<b.FileCreated Path="ntoskrnl.exe" Csidl="37" Comparison="GreaterThan" Created="2025-01-01T00:00:00Z" />"#.into(), 'F'),
        (r#"<b.FileCreated Path="ntoskrnl.exe" Csidl="37" Comparison="GreaterThan" Created="last year" />"#.into(), 'U'),
        (r#"<b.FileCreated Path="C:\Tools\noversion.txt" Comparison="GreaterThan" Created="2025-01-01T00:00:00Z" />"#.into(), 'U'),
        (format!(r#"<b.FileCreatedPrependRegSz Path="MpClient.dll" Comparison="EqualTo" Created="2025-07-01T02:00:00+02:00" {defender} />"#), 'T'),
        (r#"<b.FileModified Path="ntoskrnl.exe" Csidl="37" Comparison="GreaterThanOrEqualTo" Modified="2026-05-01T12:00:00Z" />"#.into(), 'T'),
        (r#"<b.FileModified Path="ntoskrnl.exe" Csidl="37" Comparison="GreaterThan" Modified="2026-05-01T12:00:00Z" />"#.into(), 'F'),
        (format!(r#"<b.FileModifiedPrependRegSz Path="MpClient.dll" Comparison="LessThan" Modified="2026-01-01T00:00:00Z" {defender} />"#), 'T'),
    ];
    let owned: Vec<(String, char)> = rows_raw.into_iter().map(|(r, c)| (t(&r), c)).collect();
    let borrowed: Vec<(&str, char)> = owned.iter().map(|(r, c)| (r.as_str(), *c)).collect();
    table(&borrowed, &lab());
}

const OFFICE: &str = "{0C524D20-041A-0080-8A9E-0C4C490E4E54}";

#[test]
fn msi_expressions() {
    let rows_raw: Vec<(String, char)> = vec![
        (format!(r#"<m.MsiProductInstalled ProductCode="{OFFICE}" />"#), 'T'),
        (r#"<m.MsiProductInstalled ProductCode="{0c524d20-041a-0080-8a9e-0c4c490e4e54}" />"#.into(), 'T'),
        (r#"<m.MsiProductInstalled ProductCode="0C524D20-041A-0080-8A9E-0C4C490E4E54" />"#.into(), 'T'),
        (r#"<m.MsiProductInstalled ProductCode="{00000000-0000-0000-0000-000000000000}" />"#.into(), 'F'),
        (format!(r#"<m.MsiProductInstalled ProductCode="{OFFICE}" VersionMin="16.0" />"#), 'T'),
        (format!(r#"<m.MsiProductInstalled ProductCode="{OFFICE}" VersionMin="16.0.5000.1000" ExcludeVersionMin="true" />"#), 'F'),
        (format!(r#"<m.MsiProductInstalled ProductCode="{OFFICE}" VersionMax="16.0.5000.1000" />"#), 'T'),
        (format!(r#"<m.MsiProductInstalled ProductCode="{OFFICE}" VersionMax="16.0.5000.1000" ExcludeVersionMax="true" />"#), 'F'),
        (format!(r#"<m.MsiProductInstalled ProductCode="{OFFICE}" VersionMin="16.0.4000.0" VersionMax="16.0.9999.0" ExcludeVersionMax="true" />"#), 'T'),
        (format!(r#"<m.MsiProductInstalled ProductCode="{OFFICE}" Language="1033" />"#), 'T'),
        (format!(r#"<m.MsiProductInstalled ProductCode="{OFFICE}" Language="1031" />"#), 'F'),
        (format!(r#"<m.MsiProductInstalled ProductCode="{OFFICE}" VersionMin="sixteen" />"#), 'U'),
        (r#"<m.MsiProductInstalled />"#.into(), 'U'),
        (format!(r#"<m.MsiPatchInstalledForProduct PatchCode="{{11111111-1111-1111-1111-111111111111}}" ProductCode="{OFFICE}" />"#), 'T'),
        (format!(r#"<m.MsiPatchInstalledForProduct PatchCode="{{22222222-2222-2222-2222-222222222222}}" ProductCode="{OFFICE}" />"#), 'T'),
        (format!(r#"<m.MsiPatchInstalledForProduct PatchCode="{{44444444-4444-4444-4444-444444444444}}" ProductCode="{OFFICE}" />"#), 'F'),
        (format!(r#"<m.MsiPatchInstalledForProduct PatchCode="{{11111111-1111-1111-1111-111111111111}}" ProductCode="{OFFICE}" VersionMin="17.0" />"#), 'F'),
        (format!(r#"<m.MsiFeatureInstalledForProduct AllFeaturesRequired="true"><m.Feature>Core</m.Feature><m.Feature>Tools</m.Feature><m.Product>{OFFICE}</m.Product></m.MsiFeatureInstalledForProduct>"#), 'T'),
        (format!(r#"<m.MsiFeatureInstalledForProduct AllFeaturesRequired="true"><m.Feature>Core</m.Feature><m.Feature>Extra</m.Feature><m.Product>{OFFICE}</m.Product></m.MsiFeatureInstalledForProduct>"#), 'F'),
        (format!(r#"<m.MsiFeatureInstalledForProduct><m.Feature>Core</m.Feature><m.Feature>Extra</m.Feature><m.Product>{OFFICE}</m.Product></m.MsiFeatureInstalledForProduct>"#), 'T'),
        (format!(r#"<m.MsiFeatureInstalledForProduct AllProductsRequired="true"><m.Feature>Core</m.Feature><m.Product>{OFFICE}</m.Product><m.Product>{{00000000-0000-0000-0000-000000000000}}</m.Product></m.MsiFeatureInstalledForProduct>"#), 'F'),
        (format!(r#"<m.MsiFeatureInstalledForProduct><m.Feature>Core</m.Feature><m.Product>{OFFICE}</m.Product><m.Product>{{00000000-0000-0000-0000-000000000000}}</m.Product></m.MsiFeatureInstalledForProduct>"#), 'T'),
        (r#"<m.MsiFeatureInstalledForProduct><m.Feature>Core</m.Feature></m.MsiFeatureInstalledForProduct>"#.into(), 'U'),
        (format!(r#"<m.MsiComponentInstalledForProduct AllComponentsRequired="true"><m.Component>{{cccccccc-0000-0000-0000-000000000001}}</m.Component><m.Product>{OFFICE}</m.Product></m.MsiComponentInstalledForProduct>"#), 'T'),
        (format!(r#"<m.MsiComponentInstalledForProduct AllComponentsRequired="true"><m.Component>{{cccccccc-0000-0000-0000-000000000002}}</m.Component><m.Product>{OFFICE}</m.Product></m.MsiComponentInstalledForProduct>"#), 'F'),
        // The metadata-driven tests need the update's metadata: unknown without it.
        (r#"<m.MsiPatchInstalled />"#.into(), 'U'),
        (r#"<m.MsiPatchInstallable />"#.into(), 'U'),
        (r#"<m.MsiApplicationInstallable />"#.into(), 'U'),
    ];
    let borrowed: Vec<(&str, char)> = rows_raw.iter().map(|(r, c)| (r.as_str(), *c)).collect();
    table(&borrowed, &lab());
}

fn msp_update(patch: &str, target_version: &str, comparison: &str) -> String {
    format!(
        r#"<UpdateIdentity UpdateID="00000000-0000-0000-0000-0000000000a1" RevisionNumber="1" /><Properties UpdateType="Software" /><ApplicabilityRules><IsInstalled><m.MsiPatchInstalled /></IsInstalled><IsSuperseded><m.MsiPatchSuperseded /></IsSuperseded><IsInstallable><m.MsiPatchInstallable /></IsInstallable><Metadata><m.MsiPatchMetadata><MsiPatch SchemaVersion="1.0.0.0" PatchGUID="{patch}" MinMsiVersion="5" xmlns="http://www.microsoft.com/msi/patch_applicability.xsd"><TargetProduct MinMsiVersion="200"><TargetProductCode Validate="true">{OFFICE}</TargetProductCode><TargetVersion Validate="true" ComparisonType="{comparison}" ComparisonFilter="MajorMinorUpdate">{target_version}</TargetVersion><TargetLanguage Validate="false">1033</TargetLanguage><UpgradeCode Validate="true">{{AAAAAAAA-0000-0000-0000-000000000001}}</UpgradeCode></TargetProduct></MsiPatch></m.MsiPatchMetadata></Metadata></ApplicabilityRules>"#
    )
}

#[test]
fn msi_patch_metadata_rules() {
    let m = lab();
    let ev = Evaluator::new(&m);
    let applied = parse_core_fragment(&msp_update("{11111111-1111-1111-1111-111111111111}", "16.0.5000", "Equal")).unwrap();
    assert_eq!(applied.rules.metadata.msi_patch.as_ref().unwrap().targets.len(), 1);
    assert_eq!(ev.applicability(&applied.rules), Applicability::Installed);

    let new = parse_core_fragment(&msp_update("{55555555-5555-5555-5555-555555555555}", "16.0.5000", "Equal")).unwrap();
    assert_eq!(ev.is_installed(&new.rules), Truth::False);
    assert_eq!(ev.is_superseded(&new.rules), Truth::False);
    assert_eq!(ev.applicability(&new.rules), Applicability::Needed);

    let wrong_version = parse_core_fragment(&msp_update("{55555555-5555-5555-5555-555555555555}", "15.0.4000", "Equal")).unwrap();
    assert_eq!(ev.applicability(&wrong_version.rules), Applicability::NotApplicable);
    let older_ok = parse_core_fragment(&msp_update("{55555555-5555-5555-5555-555555555555}", "16.0.6000", "LessThanOrEqual")).unwrap();
    assert_eq!(ev.is_installable(&older_ok.rules), Truth::True);

    let superseded = parse_core_fragment(&msp_update("{33333333-3333-3333-3333-333333333333}", "16.0.5000", "Equal")).unwrap();
    assert_eq!(ev.is_superseded(&superseded.rules), Truth::True);
    assert_eq!(ev.applicability(&superseded.rules), Applicability::NotApplicable);
}

#[test]
fn cbs_expressions() {
    run(&[
        (r#"<CbsPackageInstalledByIdentity PackageIdentity="Package_for_RollupFix~31bf3856ad364e35~amd64~~22621.4460.1.9" />"#, 'T'),
        (r#"<CbsPackageInstalledByIdentity PackageIdentity="package_for_rollupfix~31BF3856AD364E35~amd64~neutral~22621.4460.1.9" />"#, 'T'),
        (r#"<CbsPackageInstalledByIdentity PackageIdentity="Package_for_DotNetRollup_481~31bf3856ad364e35~amd64~~10.0.9082.7" />"#, 'F'),
        (r#"<CbsPackageInstalledByIdentity PackageIdentity="Package_for_KB1~31bf3856ad364e35~amd64~~1.0.0.0" />"#, 'F'),
        (r#"<CbsPackageInstallableByIdentity PackageIdentity="Package_for_RollupFix~31bf3856ad364e35~amd64~~22621.4460.1.9" />"#, 'T'),
        (r#"<CbsPackageInstallableByIdentity PackageIdentity="Package_for_DotNetRollup_481~31bf3856ad364e35~amd64~~10.0.9082.7" />"#, 'F'),
        (r#"<CbsPackageInstallableByIdentity PackageIdentity="Package_for_KB1~31bf3856ad364e35~amd64~~1.0.0.0" />"#, 'U'),
        (r#"<CbsPackageInstalledByIdentity />"#, 'U'),
        (r#"<CbsPackageInstalled />"#, 'U'),
    ]);
}

fn cbs_update(name: &str, version: &str) -> String {
    format!(
        r#"<UpdateIdentity UpdateID="00000000-0000-0000-0000-0000000000c1" RevisionNumber="200" /><Properties UpdateType="Software" /><ApplicabilityRules><IsInstalled><CbsPackageInstalled /></IsInstalled><IsInstallable><CbsPackageInstallable /></IsInstallable><Metadata><CbsPackageApplicabilityMetadata><assembly xmlns="urn:schemas-microsoft-com:asm.v3" manifestVersion="1.0"><assemblyIdentity name="{name}" version="{version}" processorArchitecture="amd64" language="neutral" publicKeyToken="31bf3856ad364e35" /><package identifier="KB1" /></assembly></CbsPackageApplicabilityMetadata></Metadata></ApplicabilityRules>"#
    )
}

#[test]
fn cbs_metadata_rules() {
    let m = lab();
    let ev = Evaluator::new(&m);
    let installed = parse_core_fragment(&cbs_update("Package_for_RollupFix", "22621.4460.1.9")).unwrap();
    assert_eq!(ev.applicability(&installed.rules), Applicability::Installed);
    let staged = parse_core_fragment(&cbs_update("Package_for_DotNetRollup_481", "10.0.9082.7")).unwrap();
    assert_eq!(ev.applicability(&staged.rules), Applicability::NotApplicable);
    let unknown = parse_core_fragment(&cbs_update("Package_for_KB9", "1.0.0.0")).unwrap();
    let a = ev.applicability(&unknown.rules);
    let reasons = a.reasons().expect("unknown");
    assert!(reasons.iter().any(|r| r.expression == "CbsPackageInstallable" && r.detail.contains("Package_for_KB9")), "{reasons:?}");
}

#[test]
fn driver_rules() {
    let m = lab();
    let ev = Evaluator::new(&m);
    let driver = |version: &str, date: &str| {
        parse_core_fragment(&format!(
            r#"<UpdateIdentity UpdateID="00000000-0000-0000-0000-0000000000d1" /><Properties UpdateType="Driver" /><ApplicabilityRules><IsInstalled><d.WindowsDriverInstalled /></IsInstalled><IsInstallable><d.WindowsDriverInstallable /></IsInstallable><Metadata><d.WindowsDriverMetaData HardwareID="pci\ven_8086&amp;dev_1234" WhqlDriverID="1" Manufacturer="Intel" Company="Intel" Provider="Intel" DriverVerDate="{date}" DriverVerVersion="{version}" Class="Net" /></Metadata></ApplicabilityRules>"#
        ))
        .unwrap()
        .rules
    };
    assert_eq!(ev.applicability(&driver("1.0.0.0", "2020-01-01")), Applicability::Installed);
    assert_eq!(ev.applicability(&driver("2.0.0.0", "2024-01-01")), Applicability::Needed);
    assert_eq!(ev.applicability(&driver("0.9.0.0", "2019-01-01")), Applicability::NotApplicable);
    run(&[(r#"<d.WindowsDriverSuperseded />"#, 'U'), (r#"<d.WindowsDriver OemOnly="true" />"#, 'U'), (r#"<d.InstalledVersionRange Min="1" Max="2" />"#, 'U')]);
}

#[test]
fn product_release_and_device_attribute() {
    run(&[
        (r#"<ProductReleaseInstalled Name="Client.OS.RS2.AMD64" Version="10.0.22631.4460" />"#, 'T'),
        (r#"<ProductReleaseInstalled Name="client.os.rs2.amd64" Version="10.0.22631.4461" />"#, 'F'),
        (r#"<ProductReleaseInstalled Name="Client.OS.RS2.ARM64" Version="10.0.22631.4460" />"#, 'F'),
        (r#"<ProductReleaseVersion Name="Client.OS.RS2.AMD64" Version="10.0.22631.0" Comparison="GreaterThanOrEqualTo" />"#, 'T'),
        (r#"<ProductReleaseVersion Name="Client.OS.RS2.AMD64" Version="10.0.22631.0" Comparison="LessThan" />"#, 'F'),
        (r#"<DeviceAttribute Name="OSSkuId" Type="String" Comparison="EqualTo" Value="48" />"#, 'T'),
        (r#"<DeviceAttribute Name="OSSkuId" Type="String" Comparison="EqualTo" Value="4" />"#, 'F'),
        (r#"<DeviceAttribute Name="OSVersion" Type="Version" Comparison="GreaterThanOrEqualTo" Value="10.0.22621.1" />"#, 'T'),
        (r#"<DeviceAttribute Name="OSVersion" Type="Version" Comparison="LessThan" Value="10.0.22622.0" />"#, 'F'),
        (r#"<DeviceAttribute Name="ProductType" Type="String" Comparison="EqualTo" Value="WinNT" />"#, 'T'),
        (r#"<DeviceAttribute Name="ProductType" Type="String" Comparison="EqualTo" Value="ServerNT" />"#, 'F'),
        (r#"<DeviceAttribute Name="OSVersion" Type="Version" Comparison="Contains" Value="10" />"#, 'U'),
        (r#"<DeviceAttribute Name="OSSkuId" Type="Blob" Comparison="EqualTo" Value="48" />"#, 'U'),
        // Not derivable and no device_attributes section: unknown.
        (r#"<DeviceAttribute Name="sku" Type="String" Comparison="EqualTo" Value="48" />"#, 'U'),
    ]);
    let mut m = lab();
    m.device_attributes = Some([("IsRemoteDesktopSessionHost".to_string(), "False".to_string())].into());
    assert_eq!(frag(r#"<DeviceAttribute Name="sku" Type="String" Comparison="EqualTo" Value="48" />"#, &m), 'F');
    assert_eq!(frag(r#"<DeviceAttribute Name="IsRemoteDesktopSessionHost" Type="Boolean" Comparison="EqualTo" Value="false" />"#, &m), 'T');
}

#[test]
fn sections_absent_from_the_model_are_unknown() {
    let empty = Machine::default();
    for rule in [
        r#"<b.RegDword Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Test" Value="D" Comparison="EqualTo" Data="5" />"#,
        r#"<b.FileVersion Path="ntoskrnl.exe" Csidl="37" Comparison="GreaterThan" Version="1.0" />"#,
        r#"<b.WindowsVersion MajorVersion="10" />"#,
        r#"<b.Processor Architecture="9" />"#,
        r#"<m.MsiProductInstalled ProductCode="{0C524D20-041A-0080-8A9E-0C4C490E4E54}" />"#,
        r#"<CbsPackageInstalledByIdentity PackageIdentity="A~b~c~~1.0" />"#,
        r#"<b.LicenseDword Value="Kernel-ProductInfo" Data="48" />"#,
        r#"<b.SystemMetric Index="86" Value="1" />"#,
        r#"<ProductReleaseInstalled Name="x" Version="1.0" />"#,
        r#"<b.RegKeyLoop Key="HKEY_LOCAL_MACHINE" Subkey="x" TrueIf="Any"><True /></b.RegKeyLoop>"#,
    ] {
        let e = parse_fragment_rule(rule).unwrap();
        let got = Evaluator::new(&empty).eval(&e);
        let reasons = got.reasons().unwrap_or_else(|| panic!("{rule}: {got}"));
        assert_eq!(reasons.iter().next().unwrap().expression, e.name(), "{rule}");
    }
    // Registry given but files not: the registry half decides what it can.
    let m = Machine { registry: Some(Default::default()), ..Default::default() };
    let e = parse_fragment_rule(
        r#"<b.FileVersionPrependRegSz Path="x.dll" Comparison="GreaterThan" Version="1.0" Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\X" Value="Dir" />"#,
    )
    .unwrap();
    assert_eq!(Evaluator::new(&m).eval(&e), Truth::False);
    // RegType32 needs to know whether the machine is 64-bit.
    assert_eq!(frag(r#"<b.RegKeyExists Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE" RegType32="true" />"#, &m), 'U');
}

#[test]
fn explicit_wow64_view_and_x86_machines() {
    let mut m = lab();
    let mut view = Registry::new();
    view.insert("HKLM\\SOFTWARE\\Only32".into(), [("V".to_string(), RegValue::Dword(1))].into());
    m.registry_wow64 = Some(view);
    assert_eq!(frag(r#"<b.RegKeyExists Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Only32" RegType32="true" />"#, &m), 'T');
    assert_eq!(frag(r#"<b.RegKeyExists Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Test32" RegType32="true" />"#, &m), 'F');
    let mut x86 = lab();
    x86.architecture = Some(Architecture::X86);
    assert_eq!(frag(r#"<b.RegKeyExists Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Test" RegType32="true" />"#, &x86), 'T');
    assert_eq!(frag(r#"<b.FileExists Path="App\app.exe" Csidl="42" />"#, &x86), 'F');
    assert_eq!(x86.csidl_folder(42).unwrap(), "C:\\Program Files");
    assert_eq!(lab().csidl_folder(41).unwrap(), "C:\\Windows\\SysWOW64");
    assert_eq!(lab().csidl_folder(0x8025).unwrap(), "C:\\Windows\\System32");
    let mut unknown_arch = lab();
    unknown_arch.architecture = None;
    assert_eq!(unknown_arch.csidl_folder(42), None);
    assert_eq!(unknown_arch.csidl_folder(36).unwrap(), "C:\\Windows");
}

#[test]
fn document_rules_match_by_namespace_not_prefix() {
    let m = lab();
    const BAR: &str = "http://schemas.microsoft.com/msus/2002/12/BaseApplicabilityRules";
    const LAR: &str = "http://schemas.microsoft.com/msus/2002/12/LogicalApplicabilityRules";
    let dword = |prefix: &str, uri: &str| {
        format!(
            r#"<{prefix}:RegDword xmlns:{prefix}="{uri}" Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Test" Value="D" Comparison="EqualTo" Data="5" />"#
        )
    };
    assert_eq!(doc(&dword("bar", BAR), &m), 'T');
    assert_eq!(doc(&dword("q", BAR), &m), 'T');
    // Right prefix, wrong namespace: not a base rule.
    assert_eq!(doc(&dword("bar", LAR), &m), 'U');
    assert!(matches!(parse_rule(&dword("bar", LAR)).unwrap(), Expr::Unsupported { ref namespace, .. } if namespace == LAR));
    // Default namespace, corporate-publishing URIs, nested redeclarations.
    assert_eq!(doc(&format!(r#"<Not xmlns="{LAR}"><RegDword xmlns="{BAR}" Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Test" Value="D" Comparison="EqualTo" Data="6" /></Not>"#), &m), 'T');
    assert_eq!(
        doc(r#"<bar:RegDword xmlns:bar="http://schemas.microsoft.com/wsus/2005/04/CorporatePublishing/BaseApplicabilityRules.xsd" Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Test" Value="D" Comparison="EqualTo" Data="5" />"#, &m),
        'T'
    );
    // A bare And in no namespace is not the logical And in document form.
    assert!(matches!(parse_rule("<And><True/></And>").unwrap(), Expr::Unsupported { .. }));
    // The upd:IsInstalled wrapper is unwrapped; an XML declaration is ignored.
    let wrapped = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><upd:IsInstalled xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update">{}</upd:IsInstalled>"#,
        dword("bar", BAR)
    );
    assert_eq!(doc(&wrapped, &m), 'T');
    // CBS rules in their namespace, and in an unknown one by local name.
    assert_eq!(
        doc(r#"<cbsar:CbsPackageInstalledByIdentity xmlns:cbsar="http://schemas.microsoft.com/msus/2002/12/CbsApplicabilityRules" PackageIdentity="Package_for_RollupFix~31bf3856ad364e35~amd64~~22621.4460.1.9" />"#, &m),
        'T'
    );
    assert_eq!(doc(r#"<upd:ProductReleaseInstalled xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update" Name="Client.OS.RS2.AMD64" Version="10.0.22631.4460" />"#, &m), 'T');
}

#[test]
fn structural_errors() {
    assert_eq!(parse_rule(""), Err(RuleError::Empty));
    assert_eq!(parse_fragment_rule("<True/><False/>"), Err(RuleError::Several(2)));
    assert!(matches!(parse_fragment_rule("<And>"), Err(RuleError::Xml(_))));
    assert!(matches!(parse_fragment_rule("</sluice-rules-root><True/><sluice-rules-root>"), Err(RuleError::Xml(_))));
    assert!(matches!(parse_fragment_rule("<!DOCTYPE x><True/>"), Err(RuleError::Xml(_))));
    assert!(matches!(parse_fragment_rule("<a:b/>"), Err(RuleError::Xml(_))));
    // Unsupported and malformed nodes are listed, and keep their neighbours.
    let e = parse_fragment_rule(r#"<And><b.RegDword Key="HKLM" /><Zorg /><True /></And>"#).unwrap();
    let problems = e.problems();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(e.size(), 4);
}
