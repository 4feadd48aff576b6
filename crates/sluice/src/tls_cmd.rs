//! `sluice tls generate`: a self-signed certificate and its key for `serve --tls-cert/--tls-key`,
//! for a server without a certificate from the organisation's CA, and how Windows machines come
//! to trust it.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
pub enum TlsCommand {
    /// Write DIR/cert.pem and DIR/key.pem: a self-signed certificate for the names given
    /// (plus localhost and 127.0.0.1, for the admin commands on the server itself)
    Generate(GenerateArgs),
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// DNS name or IP address clients use to reach the server (repeatable), e.g.
    /// wsus.contoso.com
    #[arg(long = "name", required = true)]
    names: Vec<String>,
    /// Directory to write cert.pem and key.pem into (created if missing)
    #[arg(long)]
    out: PathBuf,
    /// Validity in days
    #[arg(long, default_value_t = 825)]
    days: u32,
    /// Replace existing files
    #[arg(long)]
    force: bool,
}

pub fn run(c: TlsCommand) -> anyhow::Result<()> {
    match c {
        TlsCommand::Generate(a) => generate(a),
    }
}

/// The certificate's subject alternative names: the names given, then the loopback names,
/// each once.
fn subject_names(given: &[String]) -> anyhow::Result<Vec<String>> {
    let mut names: Vec<String> = Vec::new();
    for n in given.iter().map(|n| n.trim().to_ascii_lowercase()).chain(["localhost".into(), "127.0.0.1".into()]) {
        let plausible = !n.is_empty()
            && n.len() <= 253
            && n.chars().all(|c| c.is_ascii_alphanumeric() || ".-:*".contains(c));
        if !plausible {
            bail!("--name {n:?} is not a DNS name or IP address");
        }
        if !names.contains(&n) {
            names.push(n);
        }
    }
    Ok(names)
}

fn generate(a: GenerateArgs) -> anyhow::Result<()> {
    if a.days == 0 {
        bail!("--days must be at least 1");
    }
    let names = subject_names(&a.names)?;
    let cert_path = a.out.join("cert.pem");
    let key_path = a.out.join("key.pem");
    for p in [&cert_path, &key_path] {
        if p.exists() && !a.force {
            bail!("{} exists; pass --force to replace it", p.display());
        }
    }
    let mut params = rcgen::CertificateParams::new(names.clone()).context("cannot use these names in a certificate")?;
    params.distinguished_name.push(rcgen::DnType::CommonName, names[0].clone());
    params.distinguished_name.push(rcgen::DnType::OrganizationName, "Sluice update server");
    let now = time::OffsetDateTime::now_utc();
    // A day back, so a client whose clock is a little behind still accepts it.
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(i64::from(a.days));
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature, rcgen::KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = rcgen::KeyPair::generate().context("cannot generate a key")?;
    let cert = params.self_signed(&key).context("cannot sign the certificate")?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("cannot create {}", a.out.display()))?;
    write_private(&key_path, key.serialize_pem().as_bytes())?;
    std::fs::write(&cert_path, cert.pem()).with_context(|| format!("cannot write {}", cert_path.display()))?;
    print_instructions(&cert_path, &key_path, &names, a.days);
    Ok(())
}

/// The key readable by its owner only (the service user), from the moment it exists.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(bytes).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn print_instructions(cert: &Path, key: &Path, names: &[String], days: u32) {
    let host = &names[0];
    outln!("wrote {} (valid {days} days for {}) and {}", cert.display(), names.join(", "), key.display());
    outln!();
    outln!("Serve over HTTPS:");
    outln!("  sluice serve --tls-cert {} --tls-key {}", cert.display(), key.display());
    outln!();
    outln!("Windows machines must trust the certificate before they scan https://{host}:8531.");
    outln!("Copy cert.pem to the machine and, as an administrator:");
    outln!("  certutil -addstore -f Root cert.pem");
    outln!("or in PowerShell:");
    outln!("  Import-Certificate -FilePath cert.pem -CertStoreLocation Cert:\\LocalMachine\\Root");
    outln!("For many machines, Group Policy: Computer Configuration > Policies > Windows Settings >");
    outln!("Security Settings > Public Key Policies > Trusted Root Certification Authorities > Import.");
    outln!("Then point them at the server (docs/clients.md):");
    outln!("  sluice clients setup --server https://{host}:8531");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_are_added_once_and_odd_names_refused() {
        let names = subject_names(&["WSUS.contoso.com".into(), "localhost".into(), "10.0.0.5".into()]).unwrap();
        assert_eq!(names, ["wsus.contoso.com", "localhost", "10.0.0.5", "127.0.0.1"]);
        assert!(subject_names(&["a b".into()]).is_err());
        assert!(subject_names(&["".into()]).is_err());
    }
}
