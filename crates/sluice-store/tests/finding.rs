//! Contract suite of finding updates, bulk approval and reports at the store (SQLite, and
//! PostgreSQL when `SLUICE_TEST_POSTGRES_URL` is set): the per-update counts the status
//! triggers keep, the filters that read them, the report queries, and bulk writes that land
//! whole or not at all.

use sluice_store::*;
use uuid::Uuid;

#[macro_use]
mod common;
use common::*;

contract!(
    update_counts_follow_status_rows,
    bulk_approval_is_one_transaction,
    decline_many_is_one_transaction,
    compliance_and_update_reports_by_scope,
);

fn uid(n: u128) -> Uuid {
    Uuid::from_u128(0x2000_0000_0000_4000_8000_0000_0000_0000 + n)
}

fn rev(update: u128) -> NewRevision {
    NewRevision {
        update_id: uid(update),
        revision_number: 1,
        update_type: UpdateType::Software,
        title: format!("update {update}"),
        publication_state: "Published".to_owned(),
        is_leaf: true,
        explicitly_deployable: true,
        xml_compressed: format!("<xml update='{update}'/>").into_bytes(),
        ..NewRevision::default()
    }
}

async fn computers(s: &Store, n: usize) {
    let list: Vec<NewComputer> = (1..=n)
        .map(|i| NewComputer { id: format!("pc-{i}"), dns_name: Some(format!("pc-{i}.test")), ..NewComputer::default() })
        .collect();
    assert_eq!(s.insert_computers(&list).await.unwrap(), n as u64);
}

fn status(pc: usize, update: u128, state: InstallState, minute: i64) -> UpdateStatus {
    UpdateStatus {
        computer_id: format!("pc-{pc}"),
        update_id: uid(update),
        revision_number: 1,
        state,
        last_event_time: time::OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(minute),
        last_event_id: None,
    }
}

async fn needed_failed(s: &Store, update: u128) -> (i64, i64, i64) {
    let f = UpdateFilter { kb: None, ..UpdateFilter::default() };
    let row = s.list_updates(&f).await.unwrap().into_iter().find(|u| u.update_id == uid(update)).unwrap();
    (row.needed, row.failed, row.installed)
}

async fn update_counts_follow_status_rows(env: Env) {
    let s = &env.store;
    s.insert_revisions(&[rev(1), rev(2)]).await.unwrap();
    computers(s, 3).await;
    s.set_update_statuses(&[
        status(1, 1, InstallState::NotInstalled, 1),
        status(2, 1, InstallState::Failed, 1),
        status(3, 1, InstallState::Installed, 1),
    ])
    .await
    .unwrap();
    assert_eq!(needed_failed(s, 1).await, (2, 1, 1));
    assert_eq!(needed_failed(s, 2).await, (0, 0, 0), "no report, no counts");

    // A newer report moves the counts; an older one changes nothing.
    s.set_update_status(&status(2, 1, InstallState::InstalledPendingReboot, 2)).await.unwrap();
    assert_eq!(needed_failed(s, 1).await, (2, 0, 2));
    s.set_update_status(&status(2, 1, InstallState::Failed, 0)).await.unwrap();
    assert_eq!(needed_failed(s, 1).await, (2, 0, 2));
    s.set_update_status(&status(1, 1, InstallState::Installed, 3)).await.unwrap();
    assert_eq!(needed_failed(s, 1).await, (1, 0, 3));

    // Deleting a computer takes its reports out of the counts.
    s.delete_computer("pc-2").await.unwrap();
    assert_eq!(needed_failed(s, 1).await, (0, 0, 2));

    let filter = |needed: Option<i64>, failed: Option<i64>| UpdateFilter { needed_min: needed, failed_min: failed, ..UpdateFilter::default() };
    s.set_update_status(&status(3, 2, InstallState::Failed, 4)).await.unwrap();
    let ids = |v: Vec<UpdateSummary>| v.into_iter().map(|u| u.update_id).collect::<Vec<_>>();
    assert_eq!(ids(s.list_updates(&filter(Some(1), None)).await.unwrap()), [uid(2)]);
    assert_eq!(ids(s.list_updates(&filter(None, Some(1))).await.unwrap()), [uid(2)]);
    assert_eq!(s.count_updates(&filter(Some(2), None)).await.unwrap(), 0);
    assert_eq!(s.count_updates(&filter(Some(0), None)).await.unwrap(), 2);
}

async fn bulk_approval_is_one_transaction(env: Env) {
    let s = &env.store;
    let pilot = s.create_group("Pilot", Some(ALL_COMPUTERS_GROUP)).await.unwrap();
    let v0 = i64::MAX / 2;
    s.set(settings::APPROVALS_VERSION, &v0).await.unwrap();
    let version = || async { s.setting(settings::APPROVALS_VERSION).await.unwrap().unwrap() };
    let write = |update: u128, group_id: Uuid| ApprovalWrite {
        update_id: uid(update),
        group_id,
        action: ApprovalAction::Install,
        deadline: None,
        approved_by: "alice",
        license: None,
    };

    // The third write fails midway (its group is gone): the two before it are not kept.
    let e = s.approve_many(&[write(1, pilot.id), write(2, pilot.id), write(3, uid(404))]).await.unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(s.all_approvals().await.unwrap().is_empty());
    assert_eq!(version().await, v0);

    // A declined update anywhere in the batch: nothing written, the update named.
    assert!(s.decline(uid(2), "bob").await.unwrap());
    let out = s.approve_many(&[write(1, pilot.id), write(2, pilot.id)]).await.unwrap();
    assert_eq!(out, BulkApproveOutcome::Declined(uid(2)));
    assert!(s.all_approvals().await.unwrap().is_empty());

    // All of them: one version move.
    let out = s.approve_many(&[write(1, pilot.id), write(1, ALL_COMPUTERS_GROUP), write(3, pilot.id)]).await.unwrap();
    let BulkApproveOutcome::Approved(done) = out else { panic!("approved expected") };
    assert_eq!(done.len(), 3);
    assert_eq!(s.all_approvals().await.unwrap().len(), 3);
    assert_eq!(version().await, v0 + 1);
}

async fn decline_many_is_one_transaction(env: Env) {
    let s = &env.store;
    let pilot = s.create_group("Pilot", Some(ALL_COMPUTERS_GROUP)).await.unwrap();
    let approve = |update: u128| ApprovalWrite {
        update_id: uid(update),
        group_id: pilot.id,
        action: ApprovalAction::Install,
        deadline: None,
        approved_by: "alice",
        license: None,
    };
    assert!(matches!(s.approve_many(&[approve(1), approve(2)]).await.unwrap(), BulkApproveOutcome::Approved(_)));
    assert!(s.decline(uid(3), "bob").await.unwrap());
    let out = s.decline_many(&[uid(1), uid(2), uid(3)], "carol").await.unwrap();
    assert_eq!(out, vec![(true, vec![pilot.id]), (true, vec![pilot.id]), (false, vec![])]);
    assert!(s.all_approvals().await.unwrap().is_empty());
    let declined: Vec<Uuid> = s.list_declined().await.unwrap().into_iter().map(|d| d.update_id).collect();
    assert_eq!(declined.len(), 3);
}

async fn compliance_and_update_reports_by_scope(env: Env) {
    let s = &env.store;
    s.insert_revisions(&[rev(1), rev(2), rev(3)]).await.unwrap();
    computers(s, 4).await;
    let pilot = s.create_group("Pilot", Some(ALL_COMPUTERS_GROUP)).await.unwrap();
    s.add_group_members(pilot.id, &["pc-1".into(), "pc-2".into()]).await.unwrap();
    s.set_update_statuses(&[
        status(1, 1, InstallState::NotInstalled, 1),
        status(2, 1, InstallState::Failed, 1),
        status(3, 1, InstallState::Installed, 1),
        status(3, 2, InstallState::NotInstalled, 1),
        status(1, 3, InstallState::NotApplicable, 1),
        status(4, 3, InstallState::NotApplicable, 1),
    ])
    .await
    .unwrap();
    assert_eq!(s.count_computers(ComputerScope::All).await.unwrap(), 4);
    assert_eq!(s.count_computers(ComputerScope::Group(pilot.id)).await.unwrap(), 2);
    assert_eq!(s.count_computers(ComputerScope::Unassigned).await.unwrap(), 2);

    let all = s.compliance(ComputerScope::All, 10, 0).await.unwrap();
    assert_eq!(all.total, 2, "update 3 is nowhere applicable");
    assert_eq!(all.rows[0].update_id, uid(1));
    assert_eq!((all.rows[0].counts.not_installed, all.rows[0].counts.failed, all.rows[0].counts.installed), (1, 1, 1));
    let in_pilot = s.compliance(ComputerScope::Group(pilot.id), 10, 0).await.unwrap();
    assert_eq!(in_pilot.total, 1);
    assert_eq!(in_pilot.rows[0].counts.installed, 0);
    let unassigned = s.compliance(ComputerScope::Unassigned, 10, 0).await.unwrap();
    assert_eq!(unassigned.total, 2);
    assert_eq!(s.compliance(ComputerScope::All, 10, 5).await.unwrap().total, 2, "past the last page");

    let needed = [InstallState::NotInstalled, InstallState::Failed];
    let page = s.update_computers(uid(1), ComputerScope::All, &needed, 1, 1).await.unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(page.rows.iter().map(|r| r.computer_id.as_str()).collect::<Vec<_>>(), ["pc-2"]);
    let page = s.update_computers(uid(1), ComputerScope::Unassigned, &needed, 10, 0).await.unwrap();
    assert_eq!((page.total, page.counts.installed), (0, 1));
    let page = s.update_computers(uid(2), ComputerScope::Group(pilot.id), &needed, 10, 0).await.unwrap();
    assert_eq!((page.total, page.counts.not_installed), (0, 0));

    let page = s.computers_page(ComputerScope::Unassigned, 10, 0).await.unwrap();
    assert_eq!(page.iter().map(|c| c.info.id.as_str()).collect::<Vec<_>>(), ["pc-3", "pc-4"]);
    let titles = s.update_titles(&[uid(1), uid(9)]).await.unwrap();
    assert_eq!(titles.len(), 1);
    assert_eq!(titles[&uid(1)].0, "update 1");
}
