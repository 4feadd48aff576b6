//! Contract suite of the bookkeeping behind the update listing and the group reports (SQLite,
//! and PostgreSQL when `SLUICE_TEST_POSTGRES_URL` is set): the narrow listing row the triggers
//! keep per update must follow new revisions, supersedence, declines, approvals and status
//! reports, and the per-group counts must follow status reports and every way a computer
//! joins or leaves a group. Each step is checked against what the raw rows say.

use std::collections::BTreeMap;

use sluice_store::*;
use uuid::Uuid;

#[macro_use]
mod common;
use common::*;

contract!(listing_follows_revisions_and_decisions, group_counts_follow_status_and_membership);

fn uid(n: u128) -> Uuid {
    Uuid::from_u128(0x3000_0000_0000_4000_8000_0000_0000_0000 + n)
}

fn rev(update: u128, number: i32, title: &str) -> NewRevision {
    NewRevision {
        update_id: uid(update),
        revision_number: number,
        update_type: UpdateType::Software,
        title: title.to_owned(),
        publication_state: "Published".to_owned(),
        is_leaf: true,
        explicitly_deployable: true,
        xml_compressed: format!("<xml update='{update}' revision='{number}'/>").into_bytes(),
        ..NewRevision::default()
    }
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

/// The updates a filter lists, in listing order, after checking the count agrees.
async fn listed(s: &Store, filter: UpdateFilter) -> Vec<Uuid> {
    let rows = s.list_updates(&filter).await.unwrap();
    assert_eq!(s.count_updates(&filter).await.unwrap(), rows.len() as i64, "count of {filter:?}");
    rows.iter().map(|r| r.update_id).collect()
}

async fn with_approval(s: &Store, approval: ApprovalState) -> Vec<Uuid> {
    let mut ids = listed(s, UpdateFilter { approval: Some(approval), ..UpdateFilter::default() }).await;
    ids.sort();
    ids
}

async fn listed_row(s: &Store, update: u128) -> UpdateSummary {
    s.list_updates(&UpdateFilter::default()).await.unwrap().into_iter().find(|u| u.update_id == uid(update)).unwrap()
}

async fn listing_follows_revisions_and_decisions(env: Env) {
    let s = &env.store;
    s.insert_revisions(&[rev(1, 1, "one"), rev(2, 1, "two"), rev(3, 1, "three")]).await.unwrap();

    // A newer revision replaces the listed one; an older one arriving late does not.
    s.insert_revisions(&[rev(1, 3, "one, third revision")]).await.unwrap();
    s.insert_revisions(&[rev(1, 2, "one, second revision")]).await.unwrap();
    let one = listed_row(s, 1).await;
    assert_eq!((one.revision_number, one.title.as_str()), (3, "one, third revision"));
    let stored = s.revision_by_identity(uid(1), 3).await.unwrap().unwrap();
    assert_eq!(one.revision_id, stored.id);
    assert_eq!(listed(s, UpdateFilter { text: Some("second".into()), ..UpdateFilter::default() }).await, Vec::<Uuid>::new());
    assert_eq!(listed(s, UpdateFilter::default()).await.len(), 3);

    // Supersedence: a revision naming a superseded update, whether or not it is known yet.
    let mut four = rev(4, 1, "four");
    for target in [2, 9] {
        four.relationships.push(Relationship {
            kind: RelationshipKind::Superseded,
            group_no: 0,
            target_update_id: uid(target),
            target_revision_number: None,
            is_category: false,
        });
    }
    s.insert_revisions(&[four]).await.unwrap();
    s.insert_revisions(&[rev(9, 1, "nine")]).await.unwrap();
    let mut superseded = listed(s, UpdateFilter { superseded: Some(true), ..UpdateFilter::default() }).await;
    superseded.sort();
    assert_eq!(superseded, vec![uid(2), uid(9)]);
    let mut current = listed(s, UpdateFilter { superseded: Some(false), ..UpdateFilter::default() }).await;
    current.sort();
    assert_eq!(current, vec![uid(1), uid(3), uid(4)]);

    // Declines, approvals, "not approved", removal, and the cascade of deleting a group.
    let pilot = s.create_group("Pilot", Some(ALL_COMPUTERS_GROUP)).await.unwrap();
    assert!(s.decline(uid(3), "alice").await.unwrap());
    s.set_approval(uid(1), pilot.id, ApprovalAction::Install, None, "alice").await.unwrap();
    s.set_approval(uid(2), pilot.id, ApprovalAction::NotApproved, None, "alice").await.unwrap();
    assert_eq!(with_approval(s, ApprovalState::Declined).await, vec![uid(3)]);
    assert_eq!(with_approval(s, ApprovalState::Approved).await, vec![uid(1)]);
    assert_eq!(with_approval(s, ApprovalState::ApprovedFor(pilot.id)).await, vec![uid(1)]);
    assert_eq!(with_approval(s, ApprovalState::Unapproved).await, vec![uid(2), uid(4), uid(9)]);
    assert!(listed_row(s, 3).await.is_declined);

    s.set_approval(uid(2), pilot.id, ApprovalAction::Install, None, "alice").await.unwrap();
    s.set_approval(uid(1), pilot.id, ApprovalAction::NotApproved, None, "alice").await.unwrap();
    assert_eq!(with_approval(s, ApprovalState::Approved).await, vec![uid(2)]);
    assert!(s.undecline(uid(3)).await.unwrap());
    assert_eq!(with_approval(s, ApprovalState::NotDeclined).await, vec![uid(1), uid(2), uid(3), uid(4), uid(9)]);
    assert!(!listed_row(s, 3).await.is_declined);
    s.set_approval(uid(4), pilot.id, ApprovalAction::Install, None, "alice").await.unwrap();
    assert!(s.remove_approval(uid(4), pilot.id).await.unwrap());
    s.delete_group(pilot.id).await.unwrap();
    assert_eq!(with_approval(s, ApprovalState::Approved).await, Vec::<Uuid>::new());
    assert_eq!(with_approval(s, ApprovalState::Unapproved).await, vec![uid(1), uid(2), uid(3), uid(4), uid(9)]);

    // Counts follow reports, and the deletion of a reporting computer.
    let pcs: Vec<NewComputer> =
        (1..=3).map(|i| NewComputer { id: format!("pc-{i}"), ..NewComputer::default() }).collect();
    s.insert_computers(&pcs).await.unwrap();
    s.set_update_statuses(&[
        status(1, 4, InstallState::NotInstalled, 1),
        status(2, 4, InstallState::Failed, 1),
        status(3, 4, InstallState::InstalledPendingReboot, 1),
        status(1, 9, InstallState::Installed, 1),
    ])
    .await
    .unwrap();
    let counts = |r: UpdateSummary| (r.needed, r.failed, r.installed);
    // Installed pending a reboot is both needed and installed, as WSUS counts it.
    assert_eq!(counts(listed_row(s, 4).await), (3, 1, 1));
    assert_eq!(counts(listed_row(s, 9).await), (0, 0, 1));
    s.set_update_status(&status(3, 4, InstallState::Installed, 2)).await.unwrap();
    assert_eq!(counts(listed_row(s, 4).await), (2, 1, 1));
    s.delete_computer("pc-2").await.unwrap();
    assert_eq!(counts(listed_row(s, 4).await), (1, 0, 1));
    let needed = UpdateFilter { needed_min: Some(1), ..UpdateFilter::default() };
    assert_eq!(listed(s, needed).await, vec![uid(4)]);
    let by_installed = UpdateFilter { sort: Some(UpdateSort::Needed), descending: true, ..UpdateFilter::default() };
    assert_eq!(listed(s, by_installed).await[0], uid(4));

    // A new revision keeps what the update had: its counts and its supersedence.
    s.insert_revisions(&[rev(4, 2, "four, second revision"), rev(2, 2, "two, second revision")]).await.unwrap();
    assert_eq!(counts(listed_row(s, 4).await), (1, 0, 1));
    assert_eq!(listed_row(s, 4).await.title, "four, second revision");
    assert!(listed(s, UpdateFilter { superseded: Some(true), ..UpdateFilter::default() }).await.contains(&uid(2)));
}

/// The computers of a scope, from memberships (not from the kept counts).
async fn members(s: &Store, scope: ComputerScope) -> Vec<String> {
    s.computers_page(scope, 1_000, 0).await.unwrap().into_iter().map(|c| c.info.id).collect()
}

/// A scope's counts per update from its computers' status rows.
async fn raw_counts(s: &Store, scope: ComputerScope) -> BTreeMap<Uuid, StatusSummary> {
    let mut by_update: BTreeMap<Uuid, StatusSummary> = BTreeMap::new();
    for pc in members(s, scope).await {
        for row in s.status_for_computer(&pc).await.unwrap() {
            *by_update.entry(row.update_id).or_default().slot(row.state) += 1;
        }
    }
    by_update
}

async fn check_scopes(s: &Store, scopes: &[ComputerScope], step: &str) {
    let needed = |c: &StatusSummary| c.not_installed + c.downloaded + c.installed_pending_reboot + c.failed;
    for scope in scopes {
        let raw = raw_counts(s, *scope).await;
        let computers = members(s, *scope).await.len() as i64;
        assert_eq!(s.count_computers(*scope).await.unwrap(), computers, "{step}: computers of {scope:?}");
        // The report lists the updates applicable somewhere in the scope, most needed first.
        let mut expected: Vec<(Uuid, StatusSummary)> = raw
            .iter()
            .filter(|(_, c)| InstallState::ALL.iter().any(|st| *st != InstallState::NotApplicable && c.get(*st) > 0))
            .map(|(u, c)| (*u, *c))
            .collect();
        expected.sort_by(|a, b| needed(&b.1).cmp(&needed(&a.1)).then(a.0.cmp(&b.0)));
        let found = s.compliance(*scope, 1_000, 0).await.unwrap();
        let found_rows: Vec<(Uuid, StatusSummary)> = found.rows.iter().map(|r| (r.update_id, r.counts)).collect();
        assert_eq!(found_rows, expected, "{step}: compliance of {scope:?}");
        assert_eq!(found.total, expected.len() as i64, "{step}: total of {scope:?}");
        for u in 1..=3 {
            let page = s.update_computers(uid(u), *scope, &InstallState::ALL, 1_000, 0).await.unwrap();
            let want = raw.get(&uid(u)).copied().unwrap_or_default();
            assert_eq!(page.counts, want, "{step}: update {u} in {scope:?}");
            assert_eq!(page.rows.len() as i64, page.total, "{step}: update {u} in {scope:?}");
        }
    }
}

async fn group_counts_follow_status_and_membership(env: Env) {
    let s = &env.store;
    s.insert_revisions(&[rev(1, 1, "one"), rev(2, 1, "two"), rev(3, 1, "three")]).await.unwrap();
    let pcs: Vec<NewComputer> = (1..=6)
        .map(|i| NewComputer { id: format!("pc-{i}"), dns_name: Some(format!("pc-{i}.test")), ..NewComputer::default() })
        .collect();
    s.insert_computers(&pcs).await.unwrap();
    let a = s.create_group("Ring A", Some(ALL_COMPUTERS_GROUP)).await.unwrap();
    let b = s.create_group("Ring B", Some(ALL_COMPUTERS_GROUP)).await.unwrap();
    let scopes = [ComputerScope::Group(a.id), ComputerScope::Group(b.id), ComputerScope::Unassigned, ComputerScope::All];

    // Reports before and after joining groups; pc-2 is in both.
    s.set_update_statuses(&[status(1, 1, InstallState::NotInstalled, 1), status(2, 1, InstallState::Installed, 1)]).await.unwrap();
    s.add_group_members(a.id, &["pc-1".into(), "pc-2".into()]).await.unwrap();
    s.add_group_members(b.id, &["pc-2".into(), "pc-3".into()]).await.unwrap();
    s.set_update_statuses(&[
        status(2, 2, InstallState::Failed, 1),
        status(3, 1, InstallState::Downloaded, 1),
        status(3, 3, InstallState::NotApplicable, 1),
        status(4, 1, InstallState::Failed, 1),
        status(5, 2, InstallState::NotInstalled, 1),
        status(6, 3, InstallState::Installed, 1),
    ])
    .await
    .unwrap();
    check_scopes(s, &scopes, "first reports").await;

    s.set_update_statuses(&[status(2, 2, InstallState::Installed, 2), status(4, 1, InstallState::NotApplicable, 2)]).await.unwrap();
    check_scopes(s, &scopes, "changed states").await;

    // Moves: out of one of two groups, out of every group, into a group from unassigned.
    s.set_computer_groups("pc-2", &[b.id]).await.unwrap();
    check_scopes(s, &scopes, "pc-2 left Ring A").await;
    s.set_computer_groups("pc-3", &[]).await.unwrap();
    check_scopes(s, &scopes, "pc-3 left every group").await;
    s.add_group_members(a.id, &["pc-4".into(), "pc-5".into()]).await.unwrap();
    check_scopes(s, &scopes, "pc-4 and pc-5 joined Ring A").await;

    // Deleting a computer in two groups, and a group with members.
    s.set_computer_groups("pc-5", &[a.id, b.id]).await.unwrap();
    s.delete_computer("pc-5").await.unwrap();
    check_scopes(s, &scopes, "pc-5 deleted").await;
    s.delete_group(a.id).await.unwrap();
    let scopes = [ComputerScope::Group(b.id), ComputerScope::Unassigned, ComputerScope::All];
    check_scopes(s, &scopes, "Ring A deleted").await;
    assert_eq!(s.compliance(ComputerScope::Group(a.id), 10, 0).await.unwrap().total, 0);

    // A report for a computer that is unassigned now.
    s.set_update_statuses(&[status(1, 2, InstallState::Failed, 3)]).await.unwrap();
    check_scopes(s, &scopes, "report after the moves").await;
    // After all of that, the store's own consistency check agrees with the counts.
    assert_eq!(s.consistency_problems().await.unwrap(), Vec::<String>::new());
}
