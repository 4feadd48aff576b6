//! First start: an administrator account and an admin API token, so the CLI on the same
//! machine works with no setup and nothing is ever open without authentication.

use std::io::Write;
use std::path::Path;

use sha2::Digest;
use sluice_store::Store;

pub const ADMIN_USER: &str = "admin";

/// SHA-256 (hex) of a token: what the store keeps, so a database leak reveals no usable token.
pub fn token_digest(token: &str) -> String {
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

fn random_secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Writes a secret file readable by its owner only, replacing any previous one atomically.
fn write_secret(path: &Path, value: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(value.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Ensures the administrator and a valid token in `<data>/admin-token` exist; returns the token.
pub async fn ensure_admin(store: &Store, data_dir: &Path) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    if store.get_user(ADMIN_USER).await?.is_none() {
        let password = random_secret();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password).map(|h| (h, password))).await??;
        store.create_user(ADMIN_USER, &hash.0, "administrator").await?;
        write_secret(&data_dir.join("admin-password"), &hash.1)?;
        tracing::info!(
            "created the administrator account '{ADMIN_USER}'; its password is in {}",
            data_dir.join("admin-password").display()
        );
    }
    let token_path = data_dir.join("admin-token");
    if let Ok(existing) = std::fs::read_to_string(&token_path) {
        let existing = existing.trim().to_string();
        if !existing.is_empty() && store.token_user(&token_digest(&existing)).await?.is_some() {
            return Ok(existing);
        }
    }
    let token = random_secret();
    store.create_token(ADMIN_USER, &token_digest(&token), "local CLI (written to admin-token)").await?;
    write_secret(&token_path, &token)?;
    tracing::info!("wrote a new admin API token to {}", token_path.display());
    Ok(token)
}
