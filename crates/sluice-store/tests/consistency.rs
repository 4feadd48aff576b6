//! `Store::consistency_problems` finds what a crash could break: a counts row that no longer
//! matches the status rows, a row whose parent is gone, on a database that was consistent a
//! moment before. (The contract suite in `listing.rs` checks it stays silent after every kind
//! of status and membership change, on both backends.)

use sluice_store::*;
use uuid::Uuid;

#[allow(unused_macros)]
mod common;

fn status(pc: &str, update: Uuid, state: InstallState) -> UpdateStatus {
    UpdateStatus {
        computer_id: pc.to_string(),
        update_id: update,
        revision_number: 1,
        state,
        last_event_time: time::OffsetDateTime::UNIX_EPOCH,
        last_event_id: None,
    }
}

#[tokio::test]
async fn broken_counts_and_dangling_rows_are_reported() {
    let (store, dir) = common::sqlite_store().await;
    let update = Uuid::from_u128(0x5000_0000_0000_4000_8000_0000_0000_0001);
    store
        .insert_revisions(&[NewRevision {
            update_id: update,
            revision_number: 1,
            update_type: UpdateType::Software,
            title: "one".into(),
            publication_state: "Published".into(),
            is_leaf: true,
            explicitly_deployable: true,
            xml_compressed: b"<x/>".to_vec(),
            ..NewRevision::default()
        }])
        .await
        .unwrap();
    store.insert_computers(&[NewComputer { id: "pc-1".into(), ..NewComputer::default() }]).await.unwrap();
    assert_eq!(store.set_update_statuses(&[status("pc-1", update, InstallState::Failed)]).await.unwrap(), 1);
    assert_eq!(store.consistency_problems().await.unwrap(), Vec::<String>::new());

    // Behind the store's back: a count that drifted, and a group membership of a computer that does not exist.
    let url = format!("sqlite://{}/sub/dir/sluice.db", dir.path().display());
    let options = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&url).unwrap().foreign_keys(false);
    let raw = sqlx::SqlitePool::connect_with(options).await.unwrap();
    sqlx::query("UPDATE update_counts SET failed = failed + 1").execute(&raw).await.unwrap();
    sqlx::query("UPDATE group_computer_counts SET needing = needing + 1 WHERE group_id = 'a0a08746-4dbe-4a37-9adf-9e7652c0b421'")
        .execute(&raw)
        .await
        .unwrap();
    sqlx::query("INSERT INTO computer_group_members (computer_id, group_id) VALUES ('pc-gone', 'a0a08746-4dbe-4a37-9adf-9e7652c0b421')")
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;

    let problems = store.consistency_problems().await.unwrap();
    let all = problems.join("\n");
    assert!(problems.iter().any(|p| p.starts_with("update_counts:")), "{all}");
    assert!(problems.iter().any(|p| p.starts_with("group_computer_counts:") && p.contains("All Computers")), "{all}");
    assert!(problems.iter().any(|p| p.contains("missing parent") && p.contains("computer_group_members")), "{all}");
}
