//! `sluice clients setup`: the Windows Update policy values that point one machine at this
//! server, as a `.reg` file and as a PowerShell snippet (what Group Policy's "Specify intranet
//! Microsoft update service location" and friends write; `docs/clients.md` explains each).

use clap::{Args, Subcommand, ValueEnum};

#[derive(Subcommand, Debug)]
pub enum ClientsCommand {
    /// Print the registry settings that make a Windows machine use this server
    Setup(SetupArgs),
}

#[derive(Args, Debug)]
pub struct SetupArgs {
    /// The server's client URL as machines reach it, e.g. http://wsus.contoso.com:8530
    #[arg(long)]
    server: String,
    /// Where clients send their reports [default: the --server URL]
    #[arg(long)]
    status_server: Option<String>,
    /// Download content from this server instead (UpdateServiceUrlAlternate)
    #[arg(long)]
    content_server: Option<String>,
    /// Join this computer group (client-side targeting; `sluice targeting set client`)
    #[arg(long)]
    group: Option<String>,
    /// Hours between scans (1–22; Windows' default is 22)
    #[arg(long, default_value_t = 22)]
    detection_hours: u32,
    /// Which form to print
    #[arg(long, value_enum, default_value_t = Format::Both)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Reg,
    Powershell,
    Both,
}

/// Validated policy values for one machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPolicy {
    pub server: String,
    pub status_server: String,
    pub content_server: Option<String>,
    pub group: Option<String>,
    pub detection_hours: u32,
}

const POLICY_KEY: &str = r"SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate";

/// An http(s) URL with a host and nothing a registry string or a script could misread.
fn check_url(what: &str, url: &str) -> Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("{what}: {url:?} is not an http:// or https:// URL"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Err(format!("{what}: {url:?} names no host"));
    }
    if let Some(c) = url.chars().find(|c| c.is_control() || c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | '`' | '$')) {
        return Err(format!("{what}: {url:?} contains {c:?}, which no server URL has"));
    }
    Ok(url.to_string())
}

impl ClientPolicy {
    pub fn from_args(a: &SetupArgs) -> Result<ClientPolicy, String> {
        let server = check_url("--server", &a.server)?;
        let status_server = match &a.status_server {
            Some(s) => check_url("--status-server", s)?,
            None => server.clone(),
        };
        let content_server = a.content_server.as_deref().map(|c| check_url("--content-server", c)).transpose()?;
        let group = match a.group.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(g) if g.chars().count() > 256 || g.chars().any(|c| c.is_control()) => {
                return Err(format!("--group: {g:?} is not a computer group name (at most 256 printable characters)"));
            }
            Some(g) => Some(g.to_string()),
        };
        if !(1..=22).contains(&a.detection_hours) {
            return Err(format!("--detection-hours: {} is outside 1–22, the range Windows accepts", a.detection_hours));
        }
        Ok(ClientPolicy { server, status_server, content_server, group, detection_hours: a.detection_hours })
    }

    /// The values under the WindowsUpdate policy key and its AU subkey, in the order Group
    /// Policy shows them.
    fn values(&self) -> (Vec<(&'static str, Value)>, Vec<(&'static str, Value)>) {
        let mut wu = vec![
            ("WUServer", Value::Text(self.server.clone())),
            ("WUStatusServer", Value::Text(self.status_server.clone())),
        ];
        if let Some(c) = &self.content_server {
            wu.push(("UpdateServiceUrlAlternate", Value::Text(c.clone())));
        }
        if let Some(g) = &self.group {
            wu.push(("TargetGroupEnabled", Value::Dword(1)));
            wu.push(("TargetGroup", Value::Text(g.clone())));
        }
        wu.push(("DoNotConnectToWindowsUpdateInternetLocations", Value::Dword(1)));
        let au = vec![
            ("UseWUServer", Value::Dword(1)),
            ("DetectionFrequencyEnabled", Value::Dword(1)),
            ("DetectionFrequency", Value::Dword(self.detection_hours)),
        ];
        (wu, au)
    }

    /// A `.reg` file for regedit (`reg import`), CRLF line ends as regedit writes them.
    pub fn reg_file(&self) -> String {
        let (wu, au) = self.values();
        let mut out = String::from("Windows Registry Editor Version 5.00\r\n");
        for (key, values) in [(POLICY_KEY.to_string(), wu), (format!(r"{POLICY_KEY}\AU"), au)] {
            out.push_str(&format!("\r\n[HKEY_LOCAL_MACHINE\\{key}]\r\n"));
            for (name, v) in values {
                let data = match v {
                    Value::Text(s) => format!("\"{}\"", s.replace('\\', r"\\").replace('"', "\\\"")),
                    Value::Dword(n) => format!("dword:{n:08x}"),
                };
                out.push_str(&format!("\"{name}\"={data}\r\n"));
            }
        }
        out
    }

    /// The same settings for an elevated PowerShell, then a restart of the update service and
    /// a scan.
    pub fn powershell(&self) -> String {
        let (wu, au) = self.values();
        let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
        let mut out = String::from("# Run in an elevated PowerShell.\n");
        for (var, key, values) in [("$wu", POLICY_KEY.to_string(), wu), ("$au", format!(r"{POLICY_KEY}\AU"), au)] {
            out.push_str(&format!("{var} = 'HKLM:\\{key}'\n"));
            // New-Item -Force on an existing key would empty it: create only what is missing.
            out.push_str(&format!("if (-not (Test-Path {var})) {{ New-Item -Path {var} -Force | Out-Null }}\n"));
            for (name, v) in values {
                let (value, kind) = match v {
                    Value::Text(s) => (quote(&s), "String"),
                    Value::Dword(n) => (n.to_string(), "DWord"),
                };
                out.push_str(&format!("New-ItemProperty -Path {var} -Name {name} -Value {value} -PropertyType {kind} -Force | Out-Null\n"));
            }
        }
        out.push_str("Restart-Service wuauserv\n");
        out.push_str("UsoClient StartScan\n");
        out
    }
}

enum Value {
    Text(String),
    Dword(u32),
}

pub fn run(c: ClientsCommand) -> Result<(), String> {
    match c {
        ClientsCommand::Setup(a) => {
            let p = ClientPolicy::from_args(&a)?;
            if matches!(a.format, Format::Reg | Format::Both) {
                // Printed as built (CRLF and all, the header first): the output is meant to be
                // saved as a .reg file as it is.
                print!("{}", p.reg_file());
            }
            if a.format == Format::Both {
                outln!();
                outln!("# ---- the same from PowerShell (or save the lines above as sluice-client.reg and `reg import` it)");
            }
            if matches!(a.format, Format::Powershell | Format::Both) {
                print!("{}", p.powershell());
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(server: &str) -> SetupArgs {
        SetupArgs { server: server.into(), status_server: None, content_server: None, group: None, detection_hours: 22, format: Format::Both }
    }

    #[test]
    fn the_reg_file_points_the_machine_at_the_server() {
        let mut a = args("http://wsus.contoso.test:8530/");
        a.group = Some(r#"Ring "1" \ Pilot"#.into());
        a.detection_hours = 4;
        let reg = ClientPolicy::from_args(&a).unwrap().reg_file();
        assert!(reg.starts_with("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate]\r\n"), "{reg}");
        assert!(reg.contains("\"WUServer\"=\"http://wsus.contoso.test:8530\"\r\n"), "trailing slash dropped: {reg}");
        assert!(reg.contains("\"WUStatusServer\"=\"http://wsus.contoso.test:8530\"\r\n"));
        assert!(reg.contains("\"TargetGroupEnabled\"=dword:00000001\r\n"));
        assert!(reg.contains(r#""TargetGroup"="Ring \"1\" \\ Pilot""#), "quotes and backslashes escaped: {reg}");
        assert!(reg.contains("\"DoNotConnectToWindowsUpdateInternetLocations\"=dword:00000001\r\n"));
        assert!(reg.contains("[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate\\AU]\r\n\"UseWUServer\"=dword:00000001\r\n"));
        assert!(reg.contains("\"DetectionFrequency\"=dword:00000004\r\n"));
        assert!(!reg.contains("UpdateServiceUrlAlternate"), "only when a content server is given");
        assert!(!reg.replace("\r\n", "").contains('\n'), "CRLF only");
    }

    #[test]
    fn powershell_quotes_values_and_keeps_existing_keys() {
        let mut a = args("https://wsus.contoso.test:8531");
        a.group = Some("O'Brien's machines".into());
        a.content_server = Some("http://cache.contoso.test:8530".into());
        let ps = ClientPolicy::from_args(&a).unwrap().powershell();
        assert!(ps.contains("New-ItemProperty -Path $wu -Name WUServer -Value 'https://wsus.contoso.test:8531' -PropertyType String -Force"), "{ps}");
        assert!(ps.contains("-Name TargetGroup -Value 'O''Brien''s machines' -PropertyType String"), "{ps}");
        assert!(ps.contains("-Name UpdateServiceUrlAlternate -Value 'http://cache.contoso.test:8530'"));
        assert!(ps.contains("-Name UseWUServer -Value 1 -PropertyType DWord"));
        assert!(ps.contains("if (-not (Test-Path $au)) { New-Item -Path $au -Force | Out-Null }"));
        assert!(ps.ends_with("Restart-Service wuauserv\nUsoClient StartScan\n"));
    }

    #[test]
    fn bad_input_is_refused_with_the_option_named() {
        for (server, expected) in [
            ("wsus.contoso.test:8530", "--server"),
            ("ftp://wsus", "--server"),
            ("http://", "--server"),
            ("http://wsus\"; calc", "--server"),
            ("http://wsus$(evil)", "--server"),
        ] {
            let e = ClientPolicy::from_args(&args(server)).unwrap_err();
            assert!(e.starts_with(expected), "{server}: {e}");
        }
        let mut a = args("http://wsus:8530");
        a.detection_hours = 0;
        assert!(ClientPolicy::from_args(&a).unwrap_err().starts_with("--detection-hours"));
        a.detection_hours = 23;
        assert!(ClientPolicy::from_args(&a).unwrap_err().starts_with("--detection-hours"));
        let mut a = args("http://wsus:8530");
        a.group = Some("Ring\u{1b}[31m".into());
        assert!(ClientPolicy::from_args(&a).unwrap_err().starts_with("--group"));
        a.group = Some("G".repeat(257));
        assert!(ClientPolicy::from_args(&a).unwrap_err().starts_with("--group"));
    }
}
