//! Which HTTPS servers the simulated agent believes: the system's trusted roots, plus a CA the
//! administrator or a test names (`--ca-cert FILE`), as a Windows machine believes its
//! certificate store once the server's certificate is imported into it.
//!
//! Every connection uses rustls with the ring provider, named here: reqwest and lettre compile
//! aws-lc-rs into the same rustls, which then has no process default.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("cannot read the CA certificate {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the CA certificate {0}")]
    Unusable(String),
}

/// A TLS client configuration, cheap to clone.
#[derive(Clone)]
pub struct Trust {
    config: Arc<ClientConfig>,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Trust")
    }
}

impl Default for Trust {
    fn default() -> Self {
        Trust::system()
    }
}

impl Trust {
    /// The system's roots only (read once per process).
    pub fn system() -> Trust {
        static SYSTEM: OnceLock<Trust> = OnceLock::new();
        SYSTEM.get_or_init(|| Trust { config: build(system_roots()) }).clone()
    }

    /// The system's roots and the certificates of `pem` (a CA, or a self-signed server
    /// certificate such as `sluice tls generate` writes).
    pub fn with_ca_pem(pem: &[u8], what: &str) -> Result<Trust, TrustError> {
        let mut roots = system_roots();
        let mut added = 0;
        for der in CertificateDer::pem_slice_iter(pem) {
            let der = der.map_err(|e| TrustError::Unusable(format!("{what}: unreadable PEM: {e}")))?;
            roots.add(der).map_err(|e| TrustError::Unusable(format!("{what}: not a usable certificate: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(TrustError::Unusable(format!("{what}: no PEM certificate (-----BEGIN CERTIFICATE-----) found")));
        }
        Ok(Trust { config: build(roots) })
    }

    /// [`Trust::with_ca_pem`] of a file.
    pub fn with_ca_file(path: &Path) -> Result<Trust, TrustError> {
        let pem = std::fs::read(path).map_err(|source| TrustError::Read { path: path.to_path_buf(), source })?;
        Trust::with_ca_pem(&pem, &path.display().to_string())
    }

    /// `--ca-cert FILE` when given, else the system's roots.
    pub fn from_option(ca_cert: Option<&Path>) -> Result<Trust, TrustError> {
        ca_cert.map_or_else(|| Ok(Trust::system()), Trust::with_ca_file)
    }

    pub fn client_config(&self) -> ClientConfig {
        (*self.config).clone()
    }

    /// A reqwest client builder that verifies servers with this trust (content downloads, the
    /// admin API).
    pub fn reqwest_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder().tls_backend_preconfigured(self.client_config())
    }
}

fn system_roots() -> RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut roots = RootCertStore::empty();
            // A machine without a certificate store still trusts what --ca-cert names.
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            roots
        })
        .clone()
}

fn build(roots: RootCertStore) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}
