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

pub(crate) fn random_secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Writes a secret file readable by its owner only, replacing any previous one atomically.
pub(crate) fn write_secret(path: &Path, value: &str) -> std::io::Result<()> {
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

/// Creates `path` (its missing parents with the default mode) as a directory only the service
/// user may enter, or narrows an existing one that lets group or others in, and says so.
pub fn private_dir(path: &Path) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    match builder.create(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() => {}
        Err(e) => return Err(e),
    }
    narrow(path, 0o700)
}

/// Sets `mode` on `path` when group or others have any access to it, and says so; a missing
/// path is left alone.
fn narrow(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let was = match std::fs::metadata(path) {
            Ok(m) => m.permissions().mode() & 0o777,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if was & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
            tracing::warn!(
                path = %path.display(),
                was = format!("{was:04o}"),
                now = format!("{mode:04o}"),
                "narrowed permissions: other users could reach it"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// An Argon2id (the `argon2` crate's default, version 0x13) PHC string of `password`.
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// On first start, creates the administrator `admin` with the password written to
/// `<data>/admin-password`; ensures a valid token of `admin` in `<data>/admin-token` and returns
/// it (empty when `admin` was deleted or disabled since).
pub async fn ensure_admin(store: &Store, data_dir: &Path) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    // Written 0600, but a copy restored from a backup may have come back wider.
    for secret in ["admin-password", "admin-token"] {
        narrow(&data_dir.join(secret), 0o600)?;
    }
    // Only a server without any user gets the bootstrap account: an `admin` deleted by an
    // administrator stays deleted across restarts.
    if store.list_users().await?.is_empty() {
        let password = random_secret();
        let (hash, password) = tokio::task::spawn_blocking(move || hash_password(&password).map(|h| (h, password))).await??;
        // The file first: a start interrupted between the two leaves no account whose password
        // nobody knows (the next start makes both again).
        write_secret(&data_dir.join("admin-password"), &password)?;
        store.create_user(ADMIN_USER, &hash, sluice_store::ADMINISTRATOR_ROLE).await?;
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
    if !store.get_user(ADMIN_USER).await?.is_some_and(|u| !u.disabled) {
        tracing::warn!(
            "the account '{ADMIN_USER}' is deleted or disabled, so no admin-token is written; \
             the CLI needs --token with another administrator's token"
        );
        return Ok(String::new());
    }
    let token = random_secret();
    store.create_token(ADMIN_USER, &token_digest(&token), "local CLI (written to admin-token)").await?;
    write_secret(&token_path, &token)?;
    tracing::info!("wrote a new admin API token to {}", token_path.display());
    Ok(token)
}
