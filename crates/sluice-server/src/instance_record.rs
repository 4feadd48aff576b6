//! Which server instance last used this data directory.
//!
//! The cookie key and the server id live in the database, so deleting the database makes a
//! new server instance whose revision ids mean other updates. Clients still hold cookies of
//! the old instance; [MS-WUSP] 3.1.5.4 wants them told `ServerChanged` (so they run
//! RefreshCache), which needs telling those cookies apart from forgeries. The data directory
//! outlives the database, so it keeps the last instance's id and key (mode 0600).

use std::path::Path;

use uuid::Uuid;

const FILE_NAME: &str = "server-instance";

/// Records `(server_id, key)` as the data directory's instance and returns the key of the
/// instance before it, if there was one: the first line of the file is the current instance,
/// the second the one it replaced, so the previous instance is still recognised after
/// restarts.
pub fn swap(data_dir: &Path, server_id: Uuid, key: &[u8; 32]) -> std::io::Result<Option<[u8; 32]>> {
    let path = data_dir.join(FILE_NAME);
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let recorded: Vec<(Uuid, [u8; 32])> = existing.lines().filter_map(parse).collect();
    let previous = match recorded.first() {
        Some((id, _)) if *id == server_id => recorded.get(1).copied(),
        other => other.copied(),
    };
    let mut text = format!("{server_id} {}\n", hex::encode(key));
    if let Some((id, k)) = previous {
        text.push_str(&format!("{id} {}\n", hex::encode(k)));
    }
    if existing != text {
        crate::bootstrap::write_secret(&path, text.trim_end())?;
    }
    Ok(previous.map(|(_, k)| k))
}

fn parse(line: &str) -> Option<(Uuid, [u8; 32])> {
    let mut parts = line.split_whitespace();
    let id = Uuid::parse_str(parts.next()?).ok()?;
    let mut key = [0u8; 32];
    hex::decode_to_slice(parts.next()?, &mut key).ok()?;
    Some((id, key))
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_instance_is_returned_once_the_id_changes() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(swap(dir.path(), a, &[1; 32]).unwrap(), None, "first start");
        assert_eq!(swap(dir.path(), a, &[1; 32]).unwrap(), None, "same instance restarted");
        assert_eq!(swap(dir.path(), b, &[2; 32]).unwrap(), Some([1; 32]), "database re-created");
        assert_eq!(swap(dir.path(), b, &[2; 32]).unwrap(), Some([1; 32]), "still known after a restart");
        assert_eq!(swap(dir.path(), a, &[3; 32]).unwrap(), Some([2; 32]), "only the last one is kept");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE_NAME)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
