//! Trusted servers' secrets and calls: the API token another Sluice server issued to this one
//! is sealed (XChaCha20-Poly1305) with a key kept in the data directory, not in the database,
//! so a copy of the database alone does not hand out access to the other servers; and the
//! HTTP client that calls them checks, on every answer, the identity pinned when the server
//! was added.

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use sluice_api::ServerInfo;

/// The key file, beside the admin secrets.
const KEY_FILE: &str = "trusted-servers.key";
/// The header every admin API answer carries: the server's id, for the servers that trust it.
pub const SERVER_ID_HEADER: &str = "x-sluice-server-id";
/// The header a trusting server adds to a proxied call: the user it acts for.
pub const ON_BEHALF_OF_HEADER: &str = "x-sluice-on-behalf-of";
/// How long a trusted server may take to connect, and to answer.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The key that seals trusted servers' tokens.
#[derive(Clone)]
pub struct TrustKey([u8; 32]);

impl TrustKey {
    /// The data directory's key, made on first use (mode 0600).
    pub fn load_or_create(data_dir: &Path) -> std::io::Result<TrustKey> {
        let path = data_dir.join(KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let bytes = hex::decode(text.trim()).map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
                let key: [u8; 32] =
                    bytes.try_into().map_err(|_| std::io::Error::other(format!("{}: not a 32-byte key", path.display())))?;
                Ok(TrustKey(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; 32] = rand::random();
                crate::bootstrap::write_secret(&path, &hex::encode(key))?;
                Ok(TrustKey(key))
            }
            Err(e) => Err(e),
        }
    }

    pub fn seal(&self, token: &str) -> String {
        let nonce: [u8; 24] = rand::random();
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        // Encrypting into a Vec cannot fail for inputs this small.
        let sealed = cipher.encrypt(&XNonce::from(nonce), token.as_bytes()).unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        B64.encode(out)
    }

    /// The token, or `None` when the text was not sealed with this key.
    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = B64.decode(sealed).ok()?;
        if bytes.len() < 24 {
            return None;
        }
        let (nonce, body) = bytes.split_at(24);
        let nonce = XNonce::from(<[u8; 24]>::try_from(nonce).ok()?);
        let plain = XChaCha20Poly1305::new((&self.0).into()).decrypt(&nonce, body).ok()?;
        String::from_utf8(plain).ok()
    }
}

/// Why a trusted server did not answer as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteError {
    /// Not reachable (refused, timed out, TLS failure).
    Unreachable(String),
    /// Its answer says the token is no longer valid.
    Revoked,
    /// Another server answered than the one pinned.
    Mismatch(String),
    /// Anything else it refused, with its status and message.
    Refused(u16, String),
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RemoteError::Unreachable(why) => write!(f, "unreachable: {why}"),
            RemoteError::Revoked => f.write_str("access revoked: the server no longer accepts the stored token"),
            RemoteError::Mismatch(why) => write!(f, "identity mismatch: {why}"),
            RemoteError::Refused(status, why) => write!(f, "refused ({status}): {why}"),
        }
    }
}

/// The HTTP client for one trusted server: short timeouts, its CA certificates, and the
/// peer certificate kept on each answer for the pin check.
pub fn client(ca_cert: Option<&str>) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(ANSWER_TIMEOUT)
        .no_proxy()
        .tls_info(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Sluice/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = ca_cert.filter(|p| !p.trim().is_empty()) {
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| format!("ca_cert: {e}"))?;
        if certs.is_empty() {
            return Err("ca_cert: no PEM certificate found".into());
        }
        b = b.tls_certs_merge(certs);
    }
    b.build().map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// SHA-256 (hex) of the certificate the answer came with, over HTTPS.
pub fn certificate_sha256(r: &reqwest::Response) -> Option<String> {
    let info = r.extensions().get::<reqwest::tls::TlsInfo>()?;
    info.peer_certificate().map(|der| hex::encode(Sha256::digest(der)))
}

/// The identity an answer carries: its server id header and certificate.
pub fn identity_of(r: &reqwest::Response) -> (Option<String>, Option<String>) {
    let id = r.headers().get(SERVER_ID_HEADER).and_then(|v| v.to_str().ok()).map(|s| s.to_ascii_lowercase());
    (id, certificate_sha256(r))
}

/// Checks an answer against the pinned identity.
pub fn check_identity(r: &reqwest::Response, server_id: &str, certificate: Option<&str>) -> Result<(), RemoteError> {
    let (id, cert) = identity_of(r);
    if id.as_deref() != Some(&server_id.to_ascii_lowercase()) {
        return Err(RemoteError::Mismatch(format!(
            "it answered as server {}, not the pinned {server_id}; if it was rebuilt, remove it and add it again",
            id.unwrap_or_else(|| "with no server id".into())
        )));
    }
    if let Some(pinned) = certificate {
        if cert.as_deref() != Some(pinned) {
            return Err(RemoteError::Mismatch(format!(
                "its TLS certificate changed (SHA-256 {} instead of the pinned {pinned}); if that was intended, remove it and add it again",
                cert.unwrap_or_else(|| "none".into())
            )));
        }
    }
    Ok(())
}

/// What a failed answer means.
pub async fn refusal(r: reqwest::Response) -> RemoteError {
    let status = r.status().as_u16();
    if status == 401 {
        return RemoteError::Revoked;
    }
    let text = r.text().await.unwrap_or_default();
    let message = serde_json::from_str::<sluice_api::ApiError>(&text).map(|e| e.error.message).unwrap_or(text);
    RemoteError::Refused(status, message)
}

/// Asks a server who it is, with a token it issued: `GET /api/v1/server`. Returns its
/// answer and the certificate it presented.
pub async fn identify(http: &reqwest::Client, url: &str, token: &str) -> Result<(ServerInfo, Option<String>), RemoteError> {
    let r = http
        .get(format!("{}{}/server", url.trim_end_matches('/'), sluice_api::API_PREFIX))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| RemoteError::Unreachable(describe(&e)))?;
    if !r.status().is_success() {
        return Err(refusal(r).await);
    }
    let cert = certificate_sha256(&r);
    let info = r.json::<ServerInfo>().await.map_err(|e| RemoteError::Refused(502, format!("not a Sluice server's answer: {e}")))?;
    Ok((info, cert))
}

/// A transport error in a sentence (reqwest's Display hides the cause).
pub fn describe(e: &reqwest::Error) -> String {
    let mut out = if e.is_timeout() { "timed out".to_string() } else { e.to_string() };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(&format!(": {s}"));
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_token_opens_only_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = TrustKey::load_or_create(dir.path()).unwrap();
        let sealed = key.seal("secret-token");
        assert!(!sealed.contains("secret-token"));
        assert_eq!(key.open(&sealed).as_deref(), Some("secret-token"));
        let again = TrustKey::load_or_create(dir.path()).unwrap();
        assert_eq!(again.open(&sealed).as_deref(), Some("secret-token"), "the key file is reused");
        let other = TrustKey::load_or_create(tempfile::tempdir().unwrap().path()).unwrap();
        assert_eq!(other.open(&sealed), None);
        assert_eq!(key.open("not base64!"), None);
    }
}
