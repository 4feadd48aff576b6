//! `sluice doctor`: checks what a start needs, without starting: the configuration, the data
//! directory, the database, the content store and its free space, the two ports, TLS, and the
//! clock against what the database has recorded. Each check says OK, WARN or FAIL with the
//! setting to look at; a FAIL means `sluice serve` would not start or would misbehave.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use crate::config::Config;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub verdict: Verdict,
    pub detail: String,
}

fn check(name: &'static str, verdict: Verdict, detail: impl Into<String>) -> Check {
    Check { name, verdict, detail: detail.into() }
}

/// Free space below which the content store is reported (one cumulative update is ~1 GB).
const LOW_SPACE: u64 = 5 * 1024 * 1024 * 1024;

/// Runs every check; `source` names where the configuration came from.
pub async fn run(config: &Config, source: &str) -> Vec<Check> {
    let mut out = vec![check("configuration", Verdict::Ok, source.to_owned())];
    out.push(directory("data directory", &config.data_dir, "data"));
    match config.s3_settings() {
        Some(s3) => {
            out.push(s3_store(&s3).await);
            out.push(directory("download spool", &config.content_root(), "data"));
        }
        None => out.push(directory("content store", &config.content_root(), "content")),
    }
    out.push(free_space(&config.content_root()));
    // Opening applies pending migrations, as the next start would; a SQLite database that does
    // not exist yet is left for the first start to create.
    let url = config.database_url();
    let sqlite_file = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).filter(|f| *f != ":memory:");
    if let Some(file) = sqlite_file.filter(|f| !Path::new(f).exists()) {
        out.push(check("database", Verdict::Ok, format!("{file} does not exist yet; the first start creates it")));
        out.extend(listeners(config).await);
        out.push(clock_verdict(OffsetDateTime::now_utc(), None));
        return out;
    }
    let store = match sluice_store::Store::open(&url).await {
        Ok(store) => {
            let revisions = store.count_revisions().await.unwrap_or(-1);
            let computers = store.count_computers(sluice_store::ComputerScope::All).await.unwrap_or(-1);
            out.push(check(
                "database",
                Verdict::Ok,
                format!("{} ({:?}): {revisions} revision(s), {computers} computer(s)", redact(&config.database_url()), store.backend()),
            ));
            Some(store)
        }
        Err(e) => {
            out.push(check("database", Verdict::Fail, format!("{}: {e} (setting: database)", redact(&config.database_url()))));
            None
        }
    };
    out.extend(listeners(config).await);
    out.push(clock(store.as_ref(), OffsetDateTime::now_utc()).await);
    out
}

/// The ports, the certificate and key, and whether the admin API would be exposed in clear.
async fn listeners(config: &Config) -> Vec<Check> {
    let mut out = Vec::new();
    let https = config.tls.is_some();
    if config.client_http {
        out.push(port("client port", config.client_listen, "client-listen", false).await);
    }
    if https {
        out.push(port("client https port", config.client_tls_listen, "client-tls-listen", true).await);
    }
    out.push(port("admin port", config.admin_listen, "admin-listen", https).await);
    out.push(tls(config));
    if let Some(why) = config.admin_exposure() {
        out.push(check("admin exposure", Verdict::Fail, why));
    }
    out
}

fn tls(config: &Config) -> Check {
    let Some(files) = &config.tls else {
        return check(
            "tls",
            Verdict::Warn,
            "not configured: clients and the admin API use plain HTTP (--tls-cert and --tls-key, see docs/clients.md)",
        );
    };
    match crate::tls::load(files) {
        Ok(loaded) => check(
            "tls",
            Verdict::Ok,
            format!(
                "{} ({} certificate(s)) and {} fit; clients on https://{}, the admin API over HTTPS",
                files.cert.display(),
                loaded.chain_len,
                files.key.display(),
                config.client_tls_listen
            ),
        ),
        Err(e) => check("tls", Verdict::Fail, e.to_string()),
    }
}

/// A database URL without its password, for printing.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn directory(name: &'static str, path: &Path, setting: &str) -> Check {
    if !path.exists() {
        // The server creates it, and any missing parents, on start.
        let existing = path.ancestors().skip(1).find(|p| p.exists()).unwrap_or(Path::new("."));
        return if existing.is_dir() {
            check(name, Verdict::Ok, format!("{} does not exist yet; the first start creates it", path.display()))
        } else {
            check(name, Verdict::Fail, format!("{} cannot be created: {} is not a directory (setting: {setting})", path.display(), existing.display()))
        };
    }
    if !path.is_dir() {
        return check(name, Verdict::Fail, format!("{} is not a directory (setting: {setting})", path.display()));
    }
    let probe = path.join(format!(".sluice-doctor-{}", std::process::id()));
    if let Err(e) = std::fs::write(&probe, b"probe") {
        return check(name, Verdict::Fail, format!("{} is not writable: {e} (setting: {setting})", path.display()));
    }
    let _ = std::fs::remove_file(&probe);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(path) {
            let mode = m.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return check(
                    name,
                    Verdict::Warn,
                    format!("{} is mode {mode:o}; the server narrows it to 700 on start", path.display()),
                );
            }
        }
    }
    check(name, Verdict::Ok, format!("{} (writable)", path.display()))
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn available_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `st` a properly sized out-parameter.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn available_bytes(_: &Path) -> Option<u64> {
    None
}

/// The bucket answers a listing of the prefix with these settings (read only: the start's
/// write probe is left to the start).
async fn s3_store(settings: &sluice_content::S3Settings) -> Check {
    let name = "content store";
    let store = match sluice_content::s3::S3Store::connect(settings, sluice_content::s3::no_retries()) {
        Ok(store) => store,
        Err(e) => return check(name, Verdict::Fail, e.to_string()),
    };
    match store.check(false).await {
        Ok(()) => check(name, Verdict::Ok, format!("{} (listed)", store.describe())),
        Err(e) => check(name, Verdict::Fail, e.to_string()),
    }
}

fn free_space(content: &Path) -> Check {
    // The store may not exist yet: its nearest existing ancestor holds it.
    let existing = content.ancestors().find(|p| p.exists()).unwrap_or(Path::new("."));
    match available_bytes(existing) {
        Some(free) if free < LOW_SPACE => check(
            "free space",
            Verdict::Warn,
            format!("{} MiB free for the content store (setting: content)", free / (1024 * 1024)),
        ),
        Some(free) => check("free space", Verdict::Ok, format!("{} GiB free for the content store", free / (1024 * 1024 * 1024))),
        None => check("free space", Verdict::Warn, "cannot tell on this system"),
    }
}

/// Free to bind, or held by a Sluice that answers its health check; anything else fails. An
/// HTTPS port in use is not probed (the check would need the server's trust), only reported.
async fn port(name: &'static str, addr: SocketAddr, setting: &str, https: bool) -> Check {
    match tokio::net::TcpListener::bind(addr).await {
        Ok(_) => check(name, Verdict::Ok, format!("{addr} is free")),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && https => check(
            name,
            Verdict::Warn,
            format!("{addr} is in use, by a running Sluice or another program (setting: {setting})"),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => match sluice_answers(addr).await {
            true => check(name, Verdict::Ok, format!("{addr} is served by a running Sluice")),
            false => check(name, Verdict::Fail, format!("{addr} is in use by another program (setting: {setting})")),
        },
        Err(e) => check(name, Verdict::Fail, format!("cannot bind {addr}: {e} (setting: {setting})")),
    }
}

/// Whether a Sluice answers `/healthz` at `addr` (either listener has it).
async fn sluice_answers(mut addr: SocketAddr) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let attempt = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.ok()?;
        let mut buf = Vec::new();
        s.take(4096).read_to_end(&mut buf).await.ok()?;
        let text = String::from_utf8_lossy(&buf);
        Some(text.starts_with("HTTP/1.1 200") && text.ends_with("ok\n"))
    };
    tokio::time::timeout(Duration::from_secs(3), attempt).await.ok().flatten().unwrap_or(false)
}

/// The newest time the database recorded (an audit entry, a sync run) must not be in the
/// future: cookies, deadlines, schedules and cleanup all trust this clock.
async fn clock(store: Option<&sluice_store::Store>, now: OffsetDateTime) -> Check {
    let Some(store) = store else {
        return check("clock", Verdict::Warn, format!("{now}; not compared with the database (unavailable)"));
    };
    let mut newest: Option<OffsetDateTime> = None;
    if let Ok(entries) = store.list_audit(1, None, None).await {
        newest = entries.first().map(|e| e.at);
    }
    if let Ok(syncs) = store.list_syncs(1).await {
        if let Some(s) = syncs.first() {
            let at = s.finished_at.unwrap_or(s.started_at);
            newest = Some(newest.map_or(at, |n| n.max(at)));
        }
    }
    clock_verdict(now, newest)
}

fn clock_verdict(now: OffsetDateTime, newest: Option<OffsetDateTime>) -> Check {
    // Allows for the skew between the nodes of one database.
    let tolerance = time::Duration::minutes(5);
    match newest {
        Some(n) if n > now + tolerance => check(
            "clock",
            Verdict::Fail,
            format!("{now} is before {n}, which the database recorded: the clock went back (check NTP)"),
        ),
        Some(n) => check("clock", Verdict::Ok, format!("{now}; the database's newest record is {n}")),
        None => check("clock", Verdict::Ok, format!("{now}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_clock_behind_the_database_fails_and_small_skew_does_not() {
        let now = datetime!(2026-12-07 12:00 UTC);
        assert_eq!(clock_verdict(now, Some(datetime!(2026-12-07 13:00 UTC))).verdict, Verdict::Fail);
        assert_eq!(clock_verdict(now, Some(datetime!(2026-12-07 12:04 UTC))).verdict, Verdict::Ok);
        assert_eq!(clock_verdict(now, Some(datetime!(2026-12-06 12:00 UTC))).verdict, Verdict::Ok);
        assert_eq!(clock_verdict(now, None).verdict, Verdict::Ok);
    }

    #[test]
    fn database_passwords_are_not_printed() {
        assert_eq!(redact("postgres://sluice:secret@db:5432/sluice"), "postgres://sluice:***@db:5432/sluice");
        assert_eq!(redact("postgres://sluice@db/sluice"), "postgres://sluice@db/sluice");
        assert_eq!(redact("sqlite://./sluice-data/sluice.db"), "sqlite://./sluice-data/sluice.db");
    }
}
