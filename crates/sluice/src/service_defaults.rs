//! Where a service install keeps its configuration (`/etc/sluice/sluice.toml`, as
//! `packaging/sluice.service` starts the server with), and what the admin commands take from it:
//! the data directory (for the admin token) and the admin listener (for the API's address), so
//! `sluice status` works on the server without flags. Flags and environment still come first.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

/// The configuration file of a service install.
pub const SERVICE_CONFIG: &str = "/etc/sluice/sluice.toml";

/// The keys the admin commands need; the server reads the whole file (and refuses unknown keys).
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct ServiceDefaults {
    pub data: Option<PathBuf>,
    pub admin_listen: Option<SocketAddr>,
    /// With a certificate the admin API speaks HTTPS only, and the admin commands trust it.
    pub tls_cert: Option<PathBuf>,
}

/// The configuration file to use: the one named (`--config`, `SLUICE_CONFIG`), else the service
/// install's when it exists.
pub fn config_file(named: Option<&Path>) -> Option<PathBuf> {
    named.map(Path::to_path_buf).or_else(|| {
        let env = std::env::var_os("SLUICE_CONFIG").filter(|v| !v.is_empty()).map(PathBuf::from);
        env.or_else(|| Some(PathBuf::from(SERVICE_CONFIG)).filter(|p| p.exists()))
    })
}

pub fn read(path: &Path) -> anyhow::Result<ServiceDefaults> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{} is not a valid configuration", path.display()))
}

impl ServiceDefaults {
    /// The admin API's URL as a command on the same machine reaches it.
    pub fn admin_url(&self) -> Option<String> {
        let mut addr = self.admin_listen?;
        // Listening on every interface: this machine reaches it on loopback.
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        let scheme = if self.tls_cert.is_some() { "https" } else { "http" };
        Some(format!("{scheme}://{addr}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_service_configuration_gives_the_admin_commands_what_they_need() {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/sluice.toml");
        let d = read(&shipped).unwrap();
        assert_eq!(d.data.as_deref(), Some(Path::new("/var/lib/sluice")));
        assert_eq!(d.admin_url().as_deref(), Some("http://127.0.0.1:8580"));
    }

    #[test]
    fn an_admin_listener_on_every_interface_is_reached_on_loopback() {
        let d: ServiceDefaults = toml::from_str("admin-listen = \"0.0.0.0:9580\"\nclient-listen = \"0.0.0.0:8530\"").unwrap();
        assert_eq!(d.admin_url().as_deref(), Some("http://127.0.0.1:9580"));
        let d: ServiceDefaults = toml::from_str("admin-listen = \"[::]:9580\"").unwrap();
        assert_eq!(d.admin_url().as_deref(), Some("http://[::1]:9580"));
    }

    #[test]
    fn a_certificate_makes_the_admin_url_https() {
        let d: ServiceDefaults =
            toml::from_str("admin-listen = \"127.0.0.1:8580\"\ntls-cert = \"/etc/sluice/cert.pem\"\ntls-key = \"/etc/sluice/key.pem\"")
                .unwrap();
        assert_eq!(d.admin_url().as_deref(), Some("https://127.0.0.1:8580"));
        assert_eq!(d.tls_cert.as_deref(), Some(Path::new("/etc/sluice/cert.pem")));
    }

    #[test]
    fn a_named_file_comes_before_the_service_install() {
        assert_eq!(config_file(Some(Path::new("/tmp/x.toml"))), Some(PathBuf::from("/tmp/x.toml")));
    }
}
