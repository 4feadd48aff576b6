//! The SQLite files are the service user's alone, whatever the umask: the database holds the key
//! that seals client and downstream-server cookies, so anyone who reads it can forge them.

use std::io;
use std::path::{Path, PathBuf};

/// Creates the directory that will hold a new database with mode 0700; an existing one is left
/// as it is (it may be shared, like `/var/lib`).
pub(crate) fn create_parent(path: &Path) -> io::Result<()> {
    let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(());
    };
    if parent.is_dir() {
        return Ok(());
    }
    if let Some(grandparent) = parent.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(grandparent)?;
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    match builder.create(parent) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && parent.is_dir() => Ok(()),
        other => other,
    }
}

/// Creates the database file empty with mode 0600 (SQLite takes an empty file for an empty
/// database, and gives its `-wal` and `-shm` files the database file's mode), or narrows an
/// existing one found readable or writable by others.
pub(crate) fn prepare_database_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => narrow(path).map(|_| ()),
        Err(e) => Err(e),
    }
}

/// Narrows the database's write-ahead log and shared-memory index, when present.
pub(crate) fn narrow_companions(path: &Path) -> io::Result<()> {
    for suffix in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        narrow(&PathBuf::from(name))?;
    }
    Ok(())
}

/// Sets mode 0600 on `path` when its group or others have any access; a missing file is fine.
/// Returns whether it changed anything.
#[cfg(unix)]
fn narrow(path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    let mode = match std::fs::metadata(path) {
        Ok(m) => m.permissions().mode() & 0o777,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if mode & 0o077 == 0 {
        return Ok(false);
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    tracing::warn!(
        path = %path.display(),
        was = format!("{mode:04o}"),
        "the database file was readable by other users; narrowed it to 0600"
    );
    Ok(true)
}

#[cfg(not(unix))]
fn narrow(_path: &Path) -> io::Result<bool> {
    Ok(false)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn item_17_database_files_are_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("new/sluice.db");
        create_parent(&db).unwrap();
        assert_eq!(mode(&dir.path().join("new")), 0o700);
        prepare_database_file(&db).unwrap();
        assert_eq!(mode(&db), 0o600);

        let wal = dir.path().join("new/sluice.db-wal");
        std::fs::write(&wal, b"").unwrap();
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o664)).unwrap();
        prepare_database_file(&db).unwrap();
        narrow_companions(&db).unwrap();
        assert_eq!((mode(&db), mode(&wal)), (0o600, 0o600));
    }
}
