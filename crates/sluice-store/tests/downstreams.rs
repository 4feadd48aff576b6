//! Contract tests of the downstream-server records (MS-WSUSSS upstream side): every body runs
//! on SQLite and, when `SLUICE_TEST_POSTGRES_URL` is set, on PostgreSQL (same harness as
//! `contract.rs`).


use sluice_store::downstreams::*;
use sluice_store::*;
use time::macros::datetime;
use uuid::Uuid;


#[macro_use]
mod common;
use common::*;

contract!(
    contacts_and_rollups,
    computers_and_status,
    sent_deployments_round_trip,
    wanted_files_queue,
);

fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x2000_0000_0000_4000_8000_0000_0000_0000 + n)
}

async fn contacts_and_rollups(env: Env) {
    let s = &env.store;
    assert!(s.list_downstreams().await.unwrap().is_empty());
    let t1 = datetime!(2026-10-04 16:00:00.123456 UTC);
    let t2 = datetime!(2026-10-04 17:00:00 UTC);
    s.record_downstream_contact(&DownstreamContact {
        id: id(1),
        account_name: "dss1.example".into(),
        address: Some("10.0.0.2".into()),
        at: t1,
    })
    .await
    .unwrap();
    s.record_downstream_contact(&DownstreamContact {
        id: id(1),
        account_name: "dss1.example.org".into(),
        address: Some("10.0.0.3".into()),
        at: t2,
    })
    .await
    .unwrap();
    let d = s.get_downstream(id(1)).await.unwrap().expect("recorded");
    assert_eq!(d.account_name, "dss1.example.org");
    assert_eq!(d.address.as_deref(), Some("10.0.0.3"));
    assert_eq!((d.first_seen, d.last_seen), (t1, t2));
    assert_eq!(d.is_replica, None);
    assert!(d.summary.is_none() && d.version.is_none());

    let t3 = datetime!(2026-10-04 18:00:00 UTC);
    assert!(s.touch_downstream(id(1), t3, Some(true)).await.unwrap());
    assert!(
        !s.touch_downstream(id(9), t3, None).await.unwrap(),
        "unknown server"
    );
    // No replica flag: the declared one stays.
    assert!(s.touch_downstream(id(1), t3, None).await.unwrap());
    assert_eq!(
        s.get_downstream(id(1)).await.unwrap().unwrap().is_replica,
        Some(true)
    );

    let t4 = datetime!(2026-10-04 19:00:00 UTC);
    let rollup = DownstreamRollup {
        id: id(1),
        full_domain_name: None,
        parent_server_id: Some(id(100)),
        version: Some("10.0.26100".into()),
        is_replica: false,
        last_sync_time: Some(datetime!(2026-10-04 15:00:00 UTC)),
        summary: Some("{\"update_count\":3}".into()),
    };
    s.record_downstream_rollup(&rollup, t4).await.unwrap();
    // A server known only through its parent's rollup.
    s.record_downstream_rollup(
        &DownstreamRollup {
            id: id(2),
            full_domain_name: Some("child.example".into()),
            is_replica: true,
            ..Default::default()
        },
        t4,
    )
    .await
    .unwrap();
    let d = s.get_downstream(id(1)).await.unwrap().unwrap();
    assert_eq!(
        d.account_name, "dss1.example.org",
        "an empty reported name keeps the known one"
    );
    assert_eq!(d.is_replica, Some(false));
    assert_eq!(d.first_seen, t1);
    assert_eq!((d.last_seen, d.last_rollup_time), (t4, Some(t4)));
    assert_eq!(d.parent_server_id, Some(id(100)));
    assert_eq!(d.version.as_deref(), Some("10.0.26100"));
    assert_eq!(d.summary.as_deref(), Some("{\"update_count\":3}"));
    assert_eq!(d.last_sync_time, Some(datetime!(2026-10-04 15:00:00 UTC)));
    // A later rollup without a summary keeps the stored one.
    s.record_downstream_rollup(
        &DownstreamRollup {
            summary: None,
            ..rollup.clone()
        },
        t4,
    )
    .await
    .unwrap();
    assert!(
        s.get_downstream(id(1))
            .await
            .unwrap()
            .unwrap()
            .summary
            .is_some()
    );
    let all = s.list_downstreams().await.unwrap();
    assert_eq!(
        all.iter()
            .map(|d| d.account_name.as_str())
            .collect::<Vec<_>>(),
        ["child.example", "dss1.example.org"]
    );
    assert_eq!(all[0].address, None);
    assert!(matches!(
        s.record_downstream_contact(&DownstreamContact {
            id: id(3),
            account_name: "x".repeat(70_000),
            address: None,
            at: t1
        })
        .await,
        Err(StoreError::InvalidInput(_))
    ));
}

fn computer(server: Uuid, cid: &str) -> DownstreamComputer {
    DownstreamComputer {
        server_id: server,
        computer_id: cid.into(),
        full_domain_name: Some(format!("{cid}.example")),
        ip_address: Some("10.1.0.5".into()),
        os_description: Some("Windows 11".into()),
        os_version: Some("10.0.26100".into()),
        client_version: Some("10.0.26100.1".into()),
        last_sync_time: Some(datetime!(2026-10-04 12:00:00 UTC)),
        last_sync_result: 0,
        last_reported_status_time: None,
        rollup_number: Some(99),
        last_rollup_time: datetime!(2026-10-04 20:00:00 UTC),
        details: "{}".into(),
    }
}

async fn computers_and_status(env: Env) {
    let s = &env.store;
    let at = datetime!(2026-10-04 20:00:00 UTC);
    assert!(matches!(
        s.upsert_downstream_computer(&computer(id(1), "pc-1")).await,
        Err(StoreError::NotFound(_))
    ));
    s.record_downstream_contact(&DownstreamContact {
        id: id(1),
        account_name: "dss1".into(),
        address: None,
        at,
    })
    .await
    .unwrap();
    s.record_downstream_contact(&DownstreamContact {
        id: id(2),
        account_name: "dss2".into(),
        address: None,
        at,
    })
    .await
    .unwrap();
    s.upsert_downstream_computer(&computer(id(1), "pc-1"))
        .await
        .unwrap();
    s.upsert_downstream_computer(&computer(id(1), "pc-2"))
        .await
        .unwrap();
    s.upsert_downstream_computer(&computer(id(2), "pc-1"))
        .await
        .unwrap();
    let mut changed = computer(id(1), "pc-1");
    changed.os_description = Some("Windows Server 2025".into());
    s.upsert_downstream_computer(&changed).await.unwrap();
    let list = s.list_downstream_computers(Some(id(1))).await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        list[0].os_description.as_deref(),
        Some("Windows Server 2025")
    );
    assert_eq!(list[0].rollup_number, None, "set only by status rollups");
    assert_eq!(s.list_downstream_computers(None).await.unwrap().len(), 3);
    assert!(matches!(
        s.upsert_downstream_computer(&computer(id(1), "")).await,
        Err(StoreError::InvalidInput(_))
    ));

    let st = |n: u128, state: i32| DownstreamUpdateStatus {
        update_id: id(500 + n),
        summarization_state: state,
        last_change_time: Some(at),
    };
    s.set_downstream_computer_status(id(1), "pc-1", 5, true, &[st(1, 3), st(2, 5)], at)
        .await
        .unwrap();
    // Incremental: adds and replaces.
    s.set_downstream_computer_status(id(1), "pc-1", 6, false, &[st(2, 6), st(3, 2)], at)
        .await
        .unwrap();
    let got = s.downstream_computer_status(id(1), "pc-1").await.unwrap();
    assert_eq!(
        got.iter()
            .map(|g| g.summarization_state)
            .collect::<Vec<_>>(),
        [3, 6, 2]
    );
    // Full: replaces everything.
    s.set_downstream_computer_status(id(1), "pc-1", 7, true, &[st(4, 5)], at)
        .await
        .unwrap();
    let got = s.downstream_computer_status(id(1), "pc-1").await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].update_id, id(504));
    // Unknown computer gets a minimal row; the number is kept.
    s.set_downstream_computer_status(id(2), "pc-9", 1, true, &[], at)
        .await
        .unwrap();
    let pcs = s.list_downstream_computers(Some(id(2))).await.unwrap();
    assert_eq!(
        pcs.iter()
            .map(|c| (c.computer_id.as_str(), c.rollup_number))
            .collect::<Vec<_>>(),
        [("pc-1", None), ("pc-9", Some(1))]
    );
    assert_eq!(
        s.list_downstream_computers(Some(id(1))).await.unwrap()[0].rollup_number,
        Some(7)
    );
    assert!(matches!(
        s.set_downstream_computer_status(id(7), "pc-1", 1, true, &[], at)
            .await,
        Err(StoreError::NotFound(_))
    ));
}

async fn sent_deployments_round_trip(env: Env) {
    let s = &env.store;
    let at = datetime!(2026-10-04 20:00:00 UTC);
    assert!(matches!(
        s.set_sent_deployments(id(1), &[id(10)]).await,
        Err(StoreError::NotFound(_))
    ));
    s.record_downstream_contact(&DownstreamContact {
        id: id(1),
        account_name: "dss1".into(),
        address: None,
        at,
    })
    .await
    .unwrap();
    assert!(s.sent_deployments(id(1)).await.unwrap().is_empty());
    s.set_sent_deployments(id(1), &[id(12), id(10), id(12)])
        .await
        .unwrap();
    assert_eq!(s.sent_deployments(id(1)).await.unwrap(), [id(10), id(12)]);
    s.set_sent_deployments(id(1), &[id(11)]).await.unwrap();
    assert_eq!(s.sent_deployments(id(1)).await.unwrap(), [id(11)]);
}

async fn wanted_files_queue(env: Env) {
    let s = &env.store;
    let sha = |n: u8| format!("{n:02x}").repeat(20);
    let mut r = NewRevision {
        update_id: id(1),
        revision_number: 1,
        title: "With files".into(),
        publication_state: "Published".into(),
        is_leaf: true,
        explicitly_deployable: true,
        xml_compressed: b"x".to_vec(),
        ..NewRevision::default()
    };
    r.files = [1u8, 2]
        .iter()
        .map(|n| NewFile {
            sha1: sha(*n),
            file_name: format!("f{n}.cab"),
            size: 10,
            ..NewFile::default()
        })
        .collect();
    s.insert_revisions(&[r]).await.unwrap();
    let at = datetime!(2026-10-04 20:00:00 UTC);
    assert_eq!(
        s.want_files(&[sha(1).to_uppercase()], "dss-a", at)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.want_files(
            &[sha(1), sha(2)],
            "dss-b",
            datetime!(2026-10-04 21:00:00 UTC)
        )
        .await
        .unwrap(),
        1
    );
    let w = s.wanted_files().await.unwrap();
    assert_eq!(
        w.iter()
            .map(|f| (f.sha1.as_str(), f.requested_by.as_str()))
            .collect::<Vec<_>>(),
        [(sha(1).as_str(), "dss-a"), (sha(2).as_str(), "dss-b")]
    );
    assert_eq!(w[0].requested_at, at);
    // An unknown file refuses the batch.
    assert!(matches!(
        s.want_files(&[sha(3)], "dss-a", at).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.want_files(&["zz".into()], "dss-a", at).await,
        Err(StoreError::InvalidInput(_))
    ));
    assert!(s.unwant_file(&sha(1)).await.unwrap());
    assert!(!s.unwant_file(&sha(1)).await.unwrap());
    assert_eq!(s.wanted_files().await.unwrap().len(), 1);
    // The file's own state is untouched.
    assert_eq!(
        s.file(&sha(2)).await.unwrap().unwrap().state,
        FileState::Absent
    );
}
