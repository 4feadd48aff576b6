//! The certificate and key both HTTPS listeners present (`--tls-cert`, `--tls-key`): read from
//! PEM files once at start, checked to belong together, and turned into the acceptor the accept
//! loops (`listener.rs`) run each connection's handshake with.
//!
//! The ring provider is named here rather than taken from the process default: lettre and
//! reqwest enable aws-lc-rs in the same rustls, and with two providers compiled in rustls has no
//! default to fall back on.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// The PEM files of the server's certificate (chain) and private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server's certificate first, then any intermediates.
    pub cert: PathBuf,
    /// Its private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
    pub key: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {why} (setting: {setting})")]
    Pem { path: PathBuf, why: String, setting: &'static str },
    #[error("the key {key} does not fit the certificate {cert}: {why}")]
    Mismatch { cert: PathBuf, key: PathBuf, why: String },
}

/// A pair that loaded: the acceptor, and what `sluice doctor` says of it.
#[derive(Clone)]
pub struct Loaded {
    pub acceptor: TlsAcceptor,
    /// Certificates in the chain (the server's own first).
    pub chain_len: usize,
}

/// The rustls provider every TLS configuration of the server is built with.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads and checks the pair; the error names the file and the setting to fix.
pub fn load(files: &TlsFiles) -> Result<Loaded, TlsError> {
    let read = |path: &Path| std::fs::read(path).map_err(|source| TlsError::Read { path: path.to_path_buf(), source });
    let cert_pem = read(&files.cert)?;
    let key_pem = read(&files.key)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem { path: files.cert.clone(), why: format!("unreadable PEM: {e}"), setting: "tls-cert" })?;
    if chain.is_empty() {
        return Err(TlsError::Pem {
            path: files.cert.clone(),
            why: "no certificate (-----BEGIN CERTIFICATE-----) found".into(),
            setting: "tls-cert",
        });
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Pem {
        path: files.key.clone(),
        why: format!("no usable private key: {e}"),
        setting: "tls-key",
    })?;
    let chain_len = chain.len();
    let mismatch = |e: rustls::Error| TlsError::Mismatch { cert: files.cert.clone(), key: files.key.clone(), why: e.to_string() };
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(mismatch)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(mismatch)?;
    // Both listeners speak HTTP/1.1 only (listener.rs); WinHTTP offers it, or no ALPN at all.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Loaded { acceptor: TlsAcceptor::from(Arc::new(config)), chain_len })
}
