//! Who can read what the server keeps on disk, and how the admin API answers what it refuses:
//! a real server in a temporary directory, reached over HTTP on loopback.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use sluice_server::config::Config;
use sluice_server::RunningServer;

async fn start(data: &Path, content: Option<&Path>) -> RunningServer {
    sluice_server::start(Config {
        data_dir: data.to_path_buf(),
        content_dir: content.map(Path::to_path_buf),
        client_listen: "127.0.0.1:0".parse().unwrap(),
        admin_listen: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    })
    .await
    .expect("server starts")
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777
}

fn set_mode(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Every file and directory the server made under `data`, with group/other bits it should not have.
fn open_to_others(data: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for name in ["", "sluice.db", "sluice.db-wal", "sluice.db-shm", "admin-token", "admin-password"] {
        let p = data.join(name);
        if p.exists() && mode(&p) & 0o077 != 0 {
            found.push(format!("{} {:04o}", p.display(), mode(&p)));
        }
    }
    found
}

#[tokio::test]
async fn item_17_data_directory_and_database_are_the_service_users_only() {
    let tmp = tempfile::tempdir().unwrap();
    // The temporary directory itself is 0700; the server's directories are made below one that
    // anyone may enter, as /var/lib or /srv are.
    set_mode(tmp.path(), 0o755);
    let data = tmp.path().join("data");
    let server = start(&data, None).await;

    assert_eq!(mode(&data), 0o700, "data directory");
    assert_eq!(mode(&data.join("sluice.db")), 0o600, "database (it holds the cookie key)");
    assert_eq!(mode(&data.join("content")), 0o700, "content store");
    assert_eq!(mode(&data.join("admin-token")), 0o600);
    assert_eq!(mode(&data.join("admin-password")), 0o600);
    // SQLite's write-ahead log and its index exist while the server runs.
    assert_eq!(mode(&data.join("sluice.db-wal")), 0o600, "write-ahead log");
    assert_eq!(mode(&data.join("sluice.db-shm")), 0o600, "WAL index");
    assert_eq!(open_to_others(&data), Vec::<String>::new());
    server.shutdown().await.unwrap();

    // A data directory made wider by hand (or by an older version) is narrowed at startup.
    set_mode(&data, 0o755);
    set_mode(&data.join("sluice.db"), 0o644);
    set_mode(&data.join("content"), 0o775);
    set_mode(&data.join("admin-token"), 0o644);
    let server = start(&data, None).await;
    assert_eq!(open_to_others(&data), Vec::<String>::new());
    assert_eq!(mode(&data.join("content")), 0o700);
    // The token still works: narrowing changed modes only.
    let r = reqwest::Client::new()
        .get(format!("http://{}/api/v1/updates", server.admin_addr))
        .bearer_auth(std::fs::read_to_string(data.join("admin-token")).unwrap().trim())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_17_content_directory_elsewhere_is_the_service_users_only() {
    let tmp = tempfile::tempdir().unwrap();
    set_mode(tmp.path(), 0o755);
    let content = tmp.path().join("srv/content");
    let server = start(&tmp.path().join("data"), Some(&content)).await;
    assert_eq!(mode(&content), 0o700);
    server.shutdown().await.unwrap();

    set_mode(&content, 0o755);
    let server = start(&tmp.path().join("data"), Some(&content)).await;
    assert_eq!(mode(&content), 0o700);
    server.shutdown().await.unwrap();
}
