//! Contract suite: every test body runs against SQLite (a fresh temp file each) and against
//! PostgreSQL when `SLUICE_TEST_POSTGRES_URL` points at a server (each test gets its own
//! database). With `SLUICE_REQUIRE_POSTGRES=1` a missing URL fails the PostgreSQL variants
//! instead of skipping them.

use std::time::Duration;

use sluice_store::*;
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

#[macro_use]
mod common;
use common::*;

contract!(
    open_is_idempotent_and_seeds_builtins,
    insert_is_idempotent_and_shares_files,
    failed_batch_leaves_nothing,
    revision_reads_round_trip,
    categories_follow_newest_revision,
    large_batch_spans_statements,
    list_updates_filters,
    file_states,
    group_hierarchy,
    computers_and_membership,
    approvals_declines_eulas,
    status_upsert_and_summary,
    sync_history_lifecycle,
    jobs_lifecycle,
    users_and_tokens,
    audit_log_ordering,
    settings_round_trip,
    approve_is_one_transaction,
    decline_with_approvals_is_one_transaction,
    license_facts_round_trip,
    concurrent_writers,
);

// ------------------------------------------------------------------ fixtures

fn uid(n: u128) -> Uuid {
    Uuid::from_u128(0x1000_0000_0000_4000_8000_0000_0000_0000 + n)
}

fn sha(n: u8) -> String {
    format!("{:02x}", n).repeat(20)
}

fn rev(update: u128, revision_number: i32, title: &str) -> NewRevision {
    NewRevision {
        update_id: uid(update),
        revision_number,
        update_type: UpdateType::Software,
        title: title.to_owned(),
        publication_state: "Published".to_owned(),
        is_leaf: true,
        explicitly_deployable: true,
        xml_compressed: format!("<xml update='{update}' rev='{revision_number}'/>").into_bytes(),
        fragments: vec![Fragment {
            kind: FragmentKind::Core,
            language: String::new(),
            body: format!("core {update}/{revision_number}").into_bytes(),
        }],
        ..NewRevision::default()
    }
}

fn file(n: u8, name: &str) -> NewFile {
    NewFile {
        sha1: sha(n),
        sha256: None,
        file_name: name.to_owned(),
        size: 1000 + i64::from(n),
        modified: Some(datetime!(2023-01-02 03:04:05 UTC)),
        patching_type: None,
        mu_url: Some(format!("http://download.example/{name}")),
    }
}

fn category_rev(
    update: u128,
    revision_number: i32,
    kind: &str,
    title: &str,
    parent: Option<u128>,
) -> NewRevision {
    let mut r = rev(update, revision_number, title);
    r.update_type = UpdateType::Category;
    r.category_type = Some(kind.to_owned());
    r.is_leaf = false;
    r.explicitly_deployable = false;
    r.category = Some(NewCategory {
        category_type: kind.to_owned(),
        title: title.to_owned(),
        parent_update_id: parent.map(uid),
    });
    r
}

// ------------------------------------------------------------------ tests

async fn open_is_idempotent_and_seeds_builtins(env: Env) {
    let s = &env.store;
    let groups = s.list_groups().await.unwrap();
    let all = groups
        .iter()
        .find(|g| g.id == ALL_COMPUTERS_GROUP)
        .expect("All Computers");
    assert_eq!(all.name, "All Computers");
    assert!(all.built_in && all.parent_id.is_none());
    let unassigned = groups
        .iter()
        .find(|g| g.id == UNASSIGNED_COMPUTERS_GROUP)
        .expect("Unassigned Computers");
    assert_eq!(unassigned.parent_id, Some(ALL_COMPUTERS_GROUP));
    assert!(unassigned.built_in);
    assert_eq!(groups.len(), 2);

    s.set(settings::SYNC_ANCHOR_CONFIG, &"kept".to_owned()).await.unwrap();
    // A second open of the same database re-runs migrations as a no-op and sees the data.
    let again = Store::open(&env.url).await.unwrap();
    assert_eq!(
        again.setting(settings::SYNC_ANCHOR_CONFIG).await.unwrap().as_deref(),
        Some("kept")
    );
    assert_eq!(again.list_groups().await.unwrap().len(), 2);
    again.close().await;

    assert!(matches!(
        Store::open("mysql://localhost/x").await,
        Err(StoreError::UnsupportedUrl(_))
    ));
}

async fn insert_is_idempotent_and_shares_files(env: Env) {
    let s = &env.store;
    let mut a = rev(1, 100, "Update A");
    a.files = vec![file(1, "shared.cab"), file(2, "a-only.cab")];
    a.categories = vec![uid(900)];
    let mut b = rev(2, 200, "Update B");
    // Same file as A (upper-case digest on purpose): must be stored once.
    let mut shared = file(1, "shared.cab");
    shared.sha1 = shared.sha1.to_uppercase();
    // The second sighting of a file may fill in what the first lacked, never overwrite.
    shared.sha256 = Some("CD".repeat(32));
    shared.mu_url = Some("http://elsewhere.example/ignored".to_owned());
    b.files = vec![shared];
    let out = s.insert_revisions(&[a.clone(), b.clone()]).await.unwrap();
    assert_eq!(out.len(), 2);
    let merged = s.file(&sha(1)).await.unwrap().unwrap();
    assert_eq!(merged.sha256.as_deref(), Some("cd".repeat(32).as_str()));
    assert_eq!(
        merged.mu_url.as_deref(),
        Some("http://download.example/shared.cab")
    );
    assert!(out.iter().all(|o| o.inserted));
    assert_ne!(out[0].revision_id, out[1].revision_id);
    assert_eq!(s.count_revisions().await.unwrap(), 2);

    // Re-inserting (even with different content) changes nothing and returns the same ids;
    // a duplicate inside one batch resolves to the same id as well.
    let mut a_changed = a.clone();
    a_changed.title = "Changed".to_owned();
    a_changed.fragments.clear();
    let c = rev(3, 1, "Update C");
    let again = s
        .insert_revisions(&[a_changed, b.clone(), c.clone(), c.clone()])
        .await
        .unwrap();
    assert_eq!(
        again[0],
        InsertOutcome {
            revision_id: out[0].revision_id,
            inserted: false
        }
    );
    assert_eq!(
        again[1],
        InsertOutcome {
            revision_id: out[1].revision_id,
            inserted: false
        }
    );
    assert!(again[2].inserted);
    assert_eq!(
        again[3],
        InsertOutcome {
            revision_id: again[2].revision_id,
            inserted: false
        }
    );
    assert_eq!(s.count_revisions().await.unwrap(), 3);

    let stored_a = s.revision(out[0].revision_id).await.unwrap().unwrap();
    assert_eq!(stored_a.title, "Update A");
    assert_eq!(s.fragments(out[0].revision_id).await.unwrap().len(), 1);

    let a_files = s.revision_files(out[0].revision_id).await.unwrap();
    assert_eq!(
        a_files.iter().map(|f| f.sha1.as_str()).collect::<Vec<_>>(),
        vec![sha(1), sha(2)]
    );
    let b_files = s.revision_files(out[1].revision_id).await.unwrap();
    assert_eq!(b_files.len(), 1);
    assert_eq!(b_files[0].sha1, sha(1));
    let absent = s.files_in_state(FileState::Absent).await.unwrap();
    assert_eq!(absent.len(), 2, "the shared file is stored once");
    assert_eq!(
        s.revision_categories(out[0].revision_id).await.unwrap(),
        vec![uid(900)]
    );
}

async fn failed_batch_leaves_nothing(env: Env) {
    let s = &env.store;
    let mut good = rev(1, 1, "Good");
    good.files = vec![file(7, "good.cab")];
    good.categories = vec![uid(900)];
    let cat = category_rev(900, 1, "Product", "Some Product", None);
    let mut bad = rev(2, 1, "Bad");
    // Two fragments with the same (kind, language) violate the primary key.
    bad.fragments.push(bad.fragments[0].clone());
    let err = s
        .insert_revisions(&[good.clone(), cat.clone(), bad])
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "unexpected error {err:?}");
    assert_eq!(s.count_revisions().await.unwrap(), 0);
    assert!(s.file(&sha(7)).await.unwrap().is_none());
    assert!(s.list_categories().await.unwrap().is_empty());
    assert!(s.all_revision_ids().await.unwrap().is_empty());

    // Validation failures are reported before anything is written.
    let mut bad_digest = rev(3, 1, "Bad digest");
    bad_digest.files = vec![NewFile {
        sha1: "not-hex".to_owned(),
        ..file(9, "x.cab")
    }];
    let err = s
        .insert_revisions(&[good.clone(), bad_digest])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
    assert_eq!(s.count_revisions().await.unwrap(), 0);

    // The store is still usable and the good rows go in on their own.
    let out = s.insert_revisions(&[good, cat]).await.unwrap();
    assert!(out.iter().all(|o| o.inserted));
    assert_eq!(s.count_revisions().await.unwrap(), 2);
    assert!(s.file(&sha(7)).await.unwrap().is_some());
}

async fn revision_reads_round_trip(env: Env) {
    let s = &env.store;
    let binary: Vec<u8> = (0..=255u8).chain([0, 0xff, 0xfe, 0x80]).collect();
    let mut r = rev(1, 2, "Cumulative Update");
    r.description = Some("Fixes things".to_owned());
    r.kb_article = Some("5031356".to_owned());
    r.msrc_severity = Some("Critical".to_owned());
    r.msrc_number = Some("MS24-001".to_owned());
    r.classification = Some(uid(800));
    r.creation_date = Some(datetime!(2024-03-05 07:08:09.123456 UTC));
    r.is_locally_published = true;
    r.is_bundle = true;
    r.xml_compressed = binary.iter().rev().copied().collect();
    r.fragments = vec![
        Fragment {
            kind: FragmentKind::Core,
            language: String::new(),
            body: binary.clone(),
        },
        Fragment {
            kind: FragmentKind::Extended,
            language: String::new(),
            body: b"<ext/>".to_vec(),
        },
        Fragment {
            kind: FragmentKind::Localized,
            language: "en".to_owned(),
            body: "<t>English</t>".into(),
        },
        Fragment {
            kind: FragmentKind::Localized,
            language: "de".to_owned(),
            body: "<t>Gr\u{fc}\u{df}e</t>".into(),
        },
        Fragment {
            kind: FragmentKind::Eula,
            language: "en".to_owned(),
            body: vec![],
        },
    ];
    r.relationships = vec![
        Relationship {
            kind: RelationshipKind::Prerequisite,
            group_no: 0,
            target_update_id: uid(50),
            target_revision_number: None,
            is_category: false,
        },
        Relationship {
            kind: RelationshipKind::Prerequisite,
            group_no: 1,
            target_update_id: uid(51),
            target_revision_number: None,
            is_category: true,
        },
        Relationship {
            kind: RelationshipKind::Prerequisite,
            group_no: 1,
            target_update_id: uid(52),
            target_revision_number: None,
            is_category: true,
        },
        Relationship {
            kind: RelationshipKind::Bundled,
            group_no: 0,
            target_update_id: uid(60),
            target_revision_number: Some(201),
            is_category: false,
        },
        Relationship {
            kind: RelationshipKind::Superseded,
            group_no: 0,
            target_update_id: uid(70),
            target_revision_number: None,
            is_category: false,
        },
    ];
    r.categories = vec![uid(800), uid(801)];
    r.files = vec![NewFile {
        sha256: Some("AB".repeat(32)),
        patching_type: Some("Express".to_owned()),
        ..file(3, "windows.msu")
    }];
    let older = rev(1, 1, "Cumulative Update (old)");
    let newest_other = rev(9, 5, "Other");
    let out = s
        .insert_revisions(&[r.clone(), older, newest_other])
        .await
        .unwrap();
    let id = out[0].revision_id;

    let got = s.revision(id).await.unwrap().expect("revision by id");
    assert_eq!(got.id, id);
    assert_eq!(got.update_id, uid(1));
    assert_eq!(got.revision_number, 2);
    assert_eq!(got.update_type, UpdateType::Software);
    assert_eq!(got.title, "Cumulative Update");
    assert_eq!(got.description.as_deref(), Some("Fixes things"));
    assert_eq!(got.kb_article.as_deref(), Some("5031356"));
    assert_eq!(got.msrc_severity.as_deref(), Some("Critical"));
    assert_eq!(got.msrc_number.as_deref(), Some("MS24-001"));
    assert_eq!(got.classification, Some(uid(800)));
    assert_eq!(got.category_type, None);
    assert_eq!(got.publication_state, "Published");
    assert_eq!(
        got.creation_date,
        Some(datetime!(2024-03-05 07:08:09.123456 UTC))
    );
    assert!(got.is_locally_published && got.is_leaf && got.is_bundle && got.explicitly_deployable);
    let age = OffsetDateTime::now_utc() - got.imported_at;
    assert!(age < time::Duration::minutes(5) && age > -time::Duration::minutes(5));
    assert!(s.revision(id + 1000).await.unwrap().is_none());

    assert_eq!(
        s.revision_by_identity(uid(1), 2).await.unwrap().unwrap().id,
        id
    );
    assert_eq!(
        s.revision_by_identity(uid(1), 1).await.unwrap().unwrap().id,
        out[1].revision_id
    );
    assert!(s.revision_by_identity(uid(1), 3).await.unwrap().is_none());
    assert_eq!(s.latest_revision(uid(1)).await.unwrap().unwrap().id, id);
    assert!(s.latest_revision(uid(404)).await.unwrap().is_none());
    assert_eq!(s.revision_xml(id).await.unwrap().unwrap(), r.xml_compressed);

    // Fragments come back byte-exact, ordered by kind then language.
    let frags = s.fragments(id).await.unwrap();
    let mut expected = r.fragments.clone();
    expected.sort_by(|a, b| (a.kind.as_str(), &a.language).cmp(&(b.kind.as_str(), &b.language)));
    assert_eq!(frags, expected);
    assert_eq!(
        s.fragment(id, FragmentKind::Core, "")
            .await
            .unwrap()
            .unwrap(),
        binary
    );
    assert_eq!(
        s.fragment(id, FragmentKind::Localized, "de")
            .await
            .unwrap()
            .unwrap(),
        "<t>Gr\u{fc}\u{df}e</t>".as_bytes()
    );
    assert_eq!(
        s.fragment(id, FragmentKind::Eula, "en")
            .await
            .unwrap()
            .unwrap(),
        Vec::<u8>::new()
    );
    assert!(
        s.fragment(id, FragmentKind::Localized, "fr")
            .await
            .unwrap()
            .is_none()
    );

    assert_eq!(s.relationships(id).await.unwrap(), r.relationships);
    assert_eq!(
        s.revision_categories(id).await.unwrap(),
        vec![uid(800), uid(801)]
    );
    assert_eq!(
        s.revisions_related_to(uid(70), RelationshipKind::Superseded)
            .await
            .unwrap(),
        vec![id]
    );
    assert!(
        s.revisions_related_to(uid(70), RelationshipKind::Bundled)
            .await
            .unwrap()
            .is_empty()
    );

    let files = s.revision_files(id).await.unwrap();
    assert_eq!(files.len(), 1);
    let f = &files[0];
    assert_eq!(f.sha1, sha(3));
    assert_eq!(f.sha256.as_deref(), Some("ab".repeat(32).as_str()));
    assert_eq!(f.file_name, "windows.msu");
    assert_eq!(f.size, 1003);
    assert_eq!(f.modified, Some(datetime!(2023-01-02 03:04:05 UTC)));
    assert_eq!(f.patching_type.as_deref(), Some("Express"));
    assert_eq!(
        f.mu_url.as_deref(),
        Some("http://download.example/windows.msu")
    );
    assert_eq!(f.state, FileState::Absent);

    let ids = s.all_revision_ids().await.unwrap();
    let mut want: Vec<i64> = out.iter().map(|o| o.revision_id).collect();
    want.sort();
    assert_eq!(ids, want);
    let keys = s.all_revision_keys().await.unwrap();
    assert_eq!(keys.len(), 3);
    assert!(keys.contains(&RevisionKey {
        id,
        update_id: uid(1),
        revision_number: 2
    }));
}

async fn categories_follow_newest_revision(env: Env) {
    let s = &env.store;
    s.insert_revisions(&[
        category_rev(1, 10, "Company", "Microsoft", None),
        category_rev(2, 10, "ProductFamily", "Windows", Some(1)),
        category_rev(3, 10, "UpdateClassification", "Security Updates", None),
    ])
    .await
    .unwrap();
    let cats = s.list_categories().await.unwrap();
    assert_eq!(
        cats.iter().map(|c| c.title.as_str()).collect::<Vec<_>>(),
        vec!["Microsoft", "Windows", "Security Updates"]
    );
    let windows = s.category_by_title("wINDOWS").await.unwrap().unwrap();
    assert_eq!(windows.update_id, uid(2));
    assert_eq!(windows.parent_update_id, Some(uid(1)));
    assert_eq!(windows.category_type, "ProductFamily");
    assert_eq!(windows.revision_number, 10);
    assert!(s.category_by_title("Linux").await.unwrap().is_none());

    // A newer revision renames; an older one imported later does not roll it back.
    s.insert_revisions(&[category_rev(
        2,
        11,
        "ProductFamily",
        "Windows Client",
        Some(1),
    )])
    .await
    .unwrap();
    s.insert_revisions(&[category_rev(2, 9, "ProductFamily", "Old Windows", None)])
        .await
        .unwrap();
    let c = s.category(uid(2)).await.unwrap().unwrap();
    assert_eq!(c.title, "Windows Client");
    assert_eq!(c.revision_number, 11);
    assert_eq!(c.parent_update_id, Some(uid(1)));
    assert!(s.category_by_title("windows").await.unwrap().is_none());
    assert_eq!(s.list_categories().await.unwrap().len(), 3);

    // Within one batch the newest revision wins whatever its position.
    s.insert_revisions(&[
        category_rev(7, 5, "Product", "Newest", Some(2)),
        category_rev(7, 3, "Product", "Older", None),
    ])
    .await
    .unwrap();
    let c = s.category(uid(7)).await.unwrap().unwrap();
    assert_eq!((c.title.as_str(), c.revision_number), ("Newest", 5));
}

async fn large_batch_spans_statements(env: Env) {
    let s = &env.store;
    // Large enough that every table is written with several multi-row statements.
    let revs: Vec<NewRevision> = (0..1_203u128)
        .map(|n| {
            let mut r = rev(n, (n % 3) as i32, &format!("bulk {n:04}"));
            r.fragments.push(Fragment {
                kind: FragmentKind::Localized,
                language: "en".to_owned(),
                body: vec![(n % 251) as u8; (n % 50) as usize],
            });
            r.relationships = vec![Relationship {
                kind: RelationshipKind::Prerequisite,
                group_no: 0,
                target_update_id: uid(n + 1),
                target_revision_number: None,
                is_category: false,
            }];
            r.categories = vec![uid(5000), uid(5001 + n % 2)];
            r.files = vec![file((n % 13) as u8, "f.cab")];
            r
        })
        .collect();
    let out = s.insert_revisions(&revs).await.unwrap();
    assert_eq!(out.len(), 1_203);
    assert!(out.iter().all(|o| o.inserted));
    assert_eq!(s.count_revisions().await.unwrap(), 1_203);
    assert_eq!(s.files_in_state(FileState::Absent).await.unwrap().len(), 13);
    for n in [0usize, 499, 500, 777, 1_202] {
        let id = out[n].revision_id;
        let r = s.revision(id).await.unwrap().unwrap();
        assert_eq!(
            (r.update_id, r.title.clone()),
            (uid(n as u128), format!("bulk {n:04}"))
        );
        assert_eq!(s.fragments(id).await.unwrap().len(), 2);
        assert_eq!(
            s.fragment(id, FragmentKind::Localized, "en")
                .await
                .unwrap()
                .unwrap(),
            vec![(n % 251) as u8; n % 50]
        );
        assert_eq!(
            s.relationships(id).await.unwrap()[0].target_update_id,
            uid(n as u128 + 1)
        );
        assert_eq!(s.revision_categories(id).await.unwrap().len(), 2);
        assert_eq!(
            s.revision_files(id).await.unwrap()[0].sha1,
            sha((n % 13) as u8)
        );
    }
    // The batch reads of listings span several queries too, and agree with the single reads.
    let mut ids: Vec<i64> = out.iter().map(|o| o.revision_id).collect();
    ids.push(i64::MAX);
    let mut batch = s.revisions(&ids).await.unwrap();
    batch.sort_by_key(|r| r.id);
    assert_eq!(batch.len(), 1_203, "the unknown id is left out");
    assert_eq!(batch[777], s.revision(out[777].revision_id).await.unwrap().unwrap());
    let categories = s.categories_of_revisions(&ids).await.unwrap();
    assert_eq!(categories.len(), 1_203);
    for n in [0usize, 500, 1_202] {
        assert_eq!(categories[&out[n].revision_id], s.revision_categories(out[n].revision_id).await.unwrap());
    }
    assert!(s.revisions(&[]).await.unwrap().is_empty());
    assert!(s.categories_of_revisions(&[]).await.unwrap().is_empty());

    let again = s.insert_revisions(&revs).await.unwrap();
    assert!(again.iter().all(|o| !o.inserted));
    assert_eq!(
        again.iter().map(|o| o.revision_id).collect::<Vec<_>>(),
        out.iter().map(|o| o.revision_id).collect::<Vec<_>>()
    );
    assert!(s.insert_revisions(&[]).await.unwrap().is_empty());
}

async fn list_updates_filters(env: Env) {
    let s = &env.store;
    // Categories: Microsoft > Windows > Windows 11; Microsoft > Office.
    let mut batch = vec![
        category_rev(1, 1, "Company", "Microsoft", None),
        category_rev(2, 1, "ProductFamily", "Windows", Some(1)),
        category_rev(3, 1, "Product", "Windows 11", Some(2)),
        category_rev(4, 1, "Product", "Office 2016", Some(1)),
        category_rev(5, 1, "UpdateClassification", "Security Updates", None),
        category_rev(6, 1, "UpdateClassification", "Critical Updates", None),
    ];
    let mut a = rev(10, 1, "Security update for Windows 11");
    a.kb_article = Some("111".to_owned());
    a.classification = Some(uid(5));
    a.categories = vec![uid(3), uid(5)];
    a.creation_date = Some(datetime!(2024-03-01 00:00 UTC));
    let mut b = rev(11, 1, "Update for Office 2016");
    b.kb_article = Some("222".to_owned());
    b.description = Some("Improves 100% of SPREADSHEETS".to_owned());
    b.classification = Some(uid(6));
    b.categories = vec![uid(4), uid(6)];
    b.creation_date = Some(datetime!(2024-05-01 00:00 UTC));
    let mut c = rev(12, 1, "Critical fix for Windows 11");
    c.classification = Some(uid(6));
    c.categories = vec![uid(3)];
    let mut d1 = rev(13, 1, "Servicing stack (old title)");
    d1.creation_date = Some(datetime!(2024-01-01 00:00 UTC));
    d1.categories = vec![uid(3)];
    let mut d2 = rev(13, 2, "Servicing stack update");
    d2.creation_date = Some(datetime!(2024-01-01 00:00 UTC));
    d2.categories = vec![uid(3)];
    d2.classification = Some(uid(5));
    let mut e = rev(14, 1, "Another security update");
    e.creation_date = Some(datetime!(2024-01-01 00:00 UTC));
    e.classification = Some(uid(5));
    let mut drv = rev(15, 1, "Contoso driver");
    drv.update_type = UpdateType::Driver;
    drv.creation_date = Some(datetime!(2023-01-01 00:00 UTC));
    batch.extend([a, b, c, d1, d2, e, drv]);
    s.insert_revisions(&batch).await.unwrap();

    let titles = |v: Vec<UpdateSummary>| v.into_iter().map(|u| u.title).collect::<Vec<_>>();

    // Latest revision only, newest creation first, undated last, ties by title.
    let all = s.list_updates(&UpdateFilter::default()).await.unwrap();
    assert_eq!(
        titles(all.clone()),
        vec![
            "Update for Office 2016",
            "Security update for Windows 11",
            "Another security update",
            "Servicing stack update",
            "Contoso driver",
            "Critical fix for Windows 11",
        ]
    );
    let d = all.iter().find(|u| u.update_id == uid(13)).unwrap();
    assert_eq!(d.revision_number, 2);
    assert_eq!(d.classification, Some(uid(5)));
    assert!(!d.is_declined);
    assert_eq!(s.count_updates(&UpdateFilter::default()).await.unwrap(), 6);

    let with_cats = UpdateFilter {
        include_categories: true,
        ..Default::default()
    };
    assert_eq!(s.list_updates(&with_cats).await.unwrap().len(), 12);
    assert_eq!(s.count_updates(&with_cats).await.unwrap(), 12);

    let f = |text: &str| UpdateFilter {
        text: Some(text.to_owned()),
        ..Default::default()
    };
    assert_eq!(
        titles(s.list_updates(&f("WINDOWS 11")).await.unwrap()),
        vec![
            "Security update for Windows 11",
            "Critical fix for Windows 11"
        ]
    );
    assert_eq!(
        titles(s.list_updates(&f("spreadsheets")).await.unwrap()),
        vec!["Update for Office 2016"]
    );
    assert_eq!(
        titles(s.list_updates(&f("kb111")).await.unwrap()),
        vec!["Security update for Windows 11"]
    );
    assert_eq!(
        titles(s.list_updates(&f("222")).await.unwrap()),
        vec!["Update for Office 2016"]
    );
    // Wildcards in user text are literal.
    assert_eq!(
        titles(s.list_updates(&f("100%")).await.unwrap()),
        vec!["Update for Office 2016"]
    );
    assert!(s.list_updates(&f("1_0")).await.unwrap().is_empty());
    assert!(
        s.list_updates(&f("old title")).await.unwrap().is_empty(),
        "only latest revisions"
    );

    let by_class = |c: &str| UpdateFilter {
        classification: Some(c.to_owned()),
        ..Default::default()
    };
    let security = vec![
        "Security update for Windows 11",
        "Another security update",
        "Servicing stack update",
    ];
    assert_eq!(
        titles(s.list_updates(&by_class("security updates")).await.unwrap()),
        security
    );
    assert_eq!(
        titles(
            s.list_updates(&by_class(&uid(5).to_string().to_uppercase()))
                .await
                .unwrap()
        ),
        security
    );
    assert_eq!(
        titles(s.list_updates(&by_class("Critical Updates")).await.unwrap()),
        vec!["Update for Office 2016", "Critical fix for Windows 11"]
    );
    assert!(
        s.list_updates(&by_class("Drivers"))
            .await
            .unwrap()
            .is_empty()
    );

    let by_product = |p: &str| UpdateFilter {
        product: Some(p.to_owned()),
        ..Default::default()
    };
    let win11 = vec![
        "Security update for Windows 11",
        "Servicing stack update",
        "Critical fix for Windows 11",
    ];
    assert_eq!(
        titles(s.list_updates(&by_product("Windows 11")).await.unwrap()),
        win11
    );
    assert_eq!(
        titles(
            s.list_updates(&by_product(&uid(3).to_string()))
                .await
                .unwrap()
        ),
        win11
    );
    // A family selects its products.
    assert_eq!(
        titles(s.list_updates(&by_product("windows")).await.unwrap()),
        win11
    );
    assert_eq!(
        titles(s.list_updates(&by_product("Microsoft")).await.unwrap()).len(),
        4
    );
    assert_eq!(
        titles(s.list_updates(&by_product("Office 2016")).await.unwrap()),
        vec!["Update for Office 2016"]
    );

    let combined = UpdateFilter {
        product: Some("Windows".to_owned()),
        classification: Some("Security Updates".to_owned()),
        text: Some("stack".to_owned()),
        ..Default::default()
    };
    assert_eq!(
        titles(s.list_updates(&combined).await.unwrap()),
        vec!["Servicing stack update"]
    );

    let kb = |k: &str| UpdateFilter {
        kb: Some(k.to_owned()),
        ..Default::default()
    };
    assert_eq!(
        titles(s.list_updates(&kb("KB111")).await.unwrap()),
        vec!["Security update for Windows 11"]
    );
    assert_eq!(
        titles(s.list_updates(&kb("222")).await.unwrap()),
        vec!["Update for Office 2016"]
    );
    assert!(s.list_updates(&kb("11")).await.unwrap().is_empty());

    let drivers = UpdateFilter {
        update_type: Some(UpdateType::Driver),
        ..Default::default()
    };
    assert_eq!(
        titles(s.list_updates(&drivers).await.unwrap()),
        vec!["Contoso driver"]
    );
    let cats_only = UpdateFilter {
        update_type: Some(UpdateType::Category),
        include_categories: true,
        ..Default::default()
    };
    assert_eq!(s.list_updates(&cats_only).await.unwrap().len(), 6);

    let page = UpdateFilter {
        limit: Some(2),
        offset: 1,
        ..Default::default()
    };
    assert_eq!(
        titles(s.list_updates(&page).await.unwrap()),
        vec!["Security update for Windows 11", "Another security update"]
    );
    assert_eq!(
        s.count_updates(&page).await.unwrap(),
        6,
        "count ignores paging"
    );
    let tail = UpdateFilter {
        offset: 5,
        ..Default::default()
    };
    assert_eq!(
        titles(s.list_updates(&tail).await.unwrap()),
        vec!["Critical fix for Windows 11"]
    );
    let none = UpdateFilter {
        limit: Some(0),
        ..Default::default()
    };
    assert!(s.list_updates(&none).await.unwrap().is_empty());

    s.decline(uid(11), "admin").await.unwrap();
    let all = s.list_updates(&UpdateFilter::default()).await.unwrap();
    for u in &all {
        assert_eq!(u.is_declined, u.update_id == uid(11), "{}", u.title);
    }
}

async fn file_states(env: Env) {
    let s = &env.store;
    let mut r = rev(1, 1, "With files");
    r.files = vec![file(0xab, "one.cab"), file(0xcd, "two.cab")];
    s.insert_revisions(&[r]).await.unwrap();

    let f = s
        .file(&sha(0xab).to_uppercase())
        .await
        .unwrap()
        .expect("lookup is case-insensitive");
    assert_eq!(f.sha1, sha(0xab));
    assert_eq!(f.state, FileState::Absent);
    assert!(s.file(&sha(0x11)).await.unwrap().is_none());
    assert!(matches!(
        s.file("zz").await,
        Err(StoreError::InvalidInput(_))
    ));

    s.set_file_state(&sha(0xab), FileState::Downloading)
        .await
        .unwrap();
    s.set_file_state(&sha(0xcd), FileState::Present)
        .await
        .unwrap();
    assert_eq!(
        s.file(&sha(0xab)).await.unwrap().unwrap().state,
        FileState::Downloading
    );
    let present = s.files_in_state(FileState::Present).await.unwrap();
    assert_eq!(
        present.iter().map(|f| f.sha1.clone()).collect::<Vec<_>>(),
        vec![sha(0xcd)]
    );
    assert!(
        s.files_in_state(FileState::Absent)
            .await
            .unwrap()
            .is_empty()
    );
    s.set_file_state(&sha(0xab), FileState::Failed)
        .await
        .unwrap();
    assert_eq!(s.files_in_state(FileState::Failed).await.unwrap().len(), 1);
    assert!(
        s.set_file_state(&sha(0x11), FileState::Present)
            .await
            .unwrap_err()
            .is_not_found()
    );
}

async fn group_hierarchy(env: Env) {
    let s = &env.store;
    for builtin in [ALL_COMPUTERS_GROUP, UNASSIGNED_COMPUTERS_GROUP] {
        assert!(s.delete_group(builtin).await.unwrap_err().is_conflict());
    }
    let servers = s
        .create_group("Servers", Some(ALL_COMPUTERS_GROUP))
        .await
        .unwrap();
    assert!(!servers.built_in);
    assert_eq!(s.get_group(servers.id).await.unwrap().unwrap(), servers);
    let err = s
        .create_group("sERVERS", Some(ALL_COMPUTERS_GROUP))
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    let err = s.create_group("all computers", None).await.unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    assert!(
        s.create_group("Orphan", Some(uid(404)))
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(matches!(
        s.create_group("  ", None).await,
        Err(StoreError::InvalidInput(_))
    ));

    let sql = s.create_group("SQL", Some(servers.id)).await.unwrap();
    assert_eq!(sql.parent_id, Some(servers.id));
    let names: Vec<String> = s
        .list_groups()
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(
        names,
        vec!["All Computers", "Servers", "SQL", "Unassigned Computers"]
    );
    assert_eq!(s.group_by_name("sql").await.unwrap().unwrap().id, sql.id);
    assert_eq!(
        s.group_by_name("unassigned COMPUTERS")
            .await
            .unwrap()
            .unwrap()
            .id,
        UNASSIGNED_COMPUTERS_GROUP
    );
    assert!(s.group_by_name("Desktops").await.unwrap().is_none());

    let err = s.delete_group(servers.id).await.unwrap_err();
    assert!(err.is_conflict(), "a group with children is kept: {err:?}");
    s.delete_group(sql.id).await.unwrap();
    s.delete_group(servers.id).await.unwrap();
    assert!(s.get_group(servers.id).await.unwrap().is_none());
    assert!(s.delete_group(servers.id).await.unwrap_err().is_not_found());
    assert_eq!(s.list_groups().await.unwrap().len(), 2);
}

async fn computers_and_membership(env: Env) {
    let s = &env.store;
    let pc = NewComputer {
        id: "pc-1".to_owned(),
        dns_name: Some("pc1.contoso.test".to_owned()),
        ip_address: Some("10.0.0.1".to_owned()),
        os_description: Some("Windows 11 Pro".to_owned()),
        os_major: Some(10),
        os_minor: Some(0),
        os_build: Some(26100),
        os_revision: Some(1742),
        os_service_pack: Some("0.0".to_owned()),
        locale: Some("en-US".to_owned()),
        manufacturer: Some("Contoso".to_owned()),
        model: Some("Laptop 7".to_owned()),
        bios_name: Some("Contoso BIOS".to_owned()),
        bios_version: Some("1.2.3".to_owned()),
        bios_release_date: Some("2024-01-01".to_owned()),
        client_version: Some("10.0.26100.1".to_owned()),
        extra: r#"{"arch":"amd64"}"#.to_owned(),
    };
    assert!(s.upsert_computer(&pc).await.unwrap());
    let first = s.get_computer("pc-1").await.unwrap().unwrap();
    assert_eq!(first.info, pc);
    assert!(first.last_sync_time.is_none() && first.last_reported_status_time.is_none());

    let sync_at = datetime!(2025-06-01 12:00:00.5 UTC);
    let report_at = datetime!(2025-06-01 12:05 UTC);
    s.touch_computer_sync("pc-1", sync_at).await.unwrap();
    s.touch_computer_report("pc-1", report_at).await.unwrap();
    assert!(
        s.touch_computer_sync("nope", sync_at)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        s.touch_computer_report("nope", sync_at)
            .await
            .unwrap_err()
            .is_not_found()
    );

    tokio::time::sleep(Duration::from_millis(5)).await;
    let updated = NewComputer {
        ip_address: Some("10.0.0.99".to_owned()),
        os_revision: Some(2000),
        extra: String::new(),
        ..pc.clone()
    };
    assert!(
        !s.upsert_computer(&updated).await.unwrap(),
        "second upsert updates"
    );
    let second = s.get_computer("pc-1").await.unwrap().unwrap();
    assert_eq!(second.info.ip_address.as_deref(), Some("10.0.0.99"));
    assert_eq!(second.info.os_revision, Some(2000));
    assert_eq!(second.info.extra, "{}");
    assert_eq!(
        second.registered_at, first.registered_at,
        "registration time is kept"
    );
    assert_eq!(second.last_sync_time, Some(sync_at), "sync time is kept");
    assert_eq!(second.last_reported_status_time, Some(report_at));

    let pc2 = NewComputer {
        id: "pc-2".to_owned(),
        dns_name: Some("alpha.contoso.test".to_owned()),
        ..NewComputer::default()
    };
    assert!(s.upsert_computer(&pc2).await.unwrap());
    assert!(matches!(
        s.upsert_computer(&NewComputer::default()).await,
        Err(StoreError::InvalidInput(_))
    ));
    let ids = |v: Vec<Computer>| v.into_iter().map(|c| c.info.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.list_computers(None).await.unwrap()),
        vec!["pc-2", "pc-1"]
    );

    let lab = s
        .create_group("Lab", Some(ALL_COMPUTERS_GROUP))
        .await
        .unwrap();
    s.set_computer_groups("pc-1", &[lab.id, UNASSIGNED_COMPUTERS_GROUP, lab.id])
        .await
        .unwrap();
    s.set_computer_groups("pc-2", &[UNASSIGNED_COMPUTERS_GROUP])
        .await
        .unwrap();
    let groups = s.computer_groups("pc-1").await.unwrap();
    assert_eq!(
        groups.iter().map(|g| g.id).collect::<Vec<_>>(),
        vec![lab.id, UNASSIGNED_COMPUTERS_GROUP]
    );
    assert_eq!(
        ids(s.list_computers(Some(lab.id)).await.unwrap()),
        vec!["pc-1"]
    );
    assert_eq!(
        ids(s
            .list_computers(Some(UNASSIGNED_COMPUTERS_GROUP))
            .await
            .unwrap()),
        vec!["pc-2", "pc-1"]
    );
    assert!(
        s.list_computers(Some(ALL_COMPUTERS_GROUP))
            .await
            .unwrap()
            .is_empty(),
        "membership is literal"
    );

    // Replacing is atomic: an unknown group leaves the old membership in place.
    let err = s
        .set_computer_groups("pc-1", &[ALL_COMPUTERS_GROUP, uid(404)])
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(s.computer_groups("pc-1").await.unwrap().len(), 2);
    assert!(
        s.set_computer_groups("nope", &[lab.id])
            .await
            .unwrap_err()
            .is_not_found()
    );

    s.set_computer_groups("pc-1", &[lab.id]).await.unwrap();
    assert_eq!(
        ids(s
            .list_computers(Some(UNASSIGNED_COMPUTERS_GROUP))
            .await
            .unwrap()),
        vec!["pc-2"]
    );
    s.delete_group(lab.id).await.unwrap();
    assert!(
        s.computer_groups("pc-1").await.unwrap().is_empty(),
        "memberships go with the group"
    );

    s.delete_computer("pc-2").await.unwrap();
    assert!(s.get_computer("pc-2").await.unwrap().is_none());
    assert!(s.delete_computer("pc-2").await.unwrap_err().is_not_found());
    assert_eq!(ids(s.list_computers(None).await.unwrap()), vec!["pc-1"]);
}

async fn approvals_declines_eulas(env: Env) {
    let s = &env.store;
    let g = s
        .create_group("Pilot", Some(ALL_COMPUTERS_GROUP))
        .await
        .unwrap();
    let deadline = datetime!(2025-12-31 18:00 UTC);
    let a1 = s
        .set_approval(
            uid(1),
            g.id,
            ApprovalAction::Install,
            Some(deadline),
            "alice",
        )
        .await
        .unwrap();
    assert_eq!(a1.deadline, Some(deadline));
    s.set_approval(
        uid(1),
        ALL_COMPUTERS_GROUP,
        ApprovalAction::NotApproved,
        None,
        "alice",
    )
    .await
    .unwrap();
    s.set_approval(uid(2), g.id, ApprovalAction::Install, None, "bob")
        .await
        .unwrap();
    // Replacing an approval keeps one row per (update, group).
    let replaced = s
        .set_approval(uid(2), g.id, ApprovalAction::Uninstall, None, "carol")
        .await
        .unwrap();

    let for_update = s.approvals_for_update(uid(1)).await.unwrap();
    assert_eq!(for_update.len(), 2);
    assert!(for_update.contains(&a1));
    let for_group = s.approvals_for_group(g.id).await.unwrap();
    assert_eq!(
        for_group.iter().map(|a| a.update_id).collect::<Vec<_>>(),
        vec![uid(1), uid(2)]
    );
    assert_eq!(for_group[1], replaced);
    assert_eq!(for_group[1].action, ApprovalAction::Uninstall);
    assert_eq!(for_group[1].approved_by, "carol");
    assert_eq!(s.all_approvals().await.unwrap().len(), 3);

    assert!(
        s.set_approval(uid(3), uid(404), ApprovalAction::Install, None, "x")
            .await
            .unwrap_err()
            .is_not_found()
    );
    // Ahead of the clock, so every version move adds exactly one.
    let v0 = i64::MAX / 2;
    s.set(settings::APPROVALS_VERSION, &v0).await.unwrap();
    let version = || async { s.setting(settings::APPROVALS_VERSION).await.unwrap().unwrap() };
    assert!(
        s.remove_approval(uid(1), ALL_COMPUTERS_GROUP)
            .await
            .unwrap()
    );
    assert_eq!(version().await, v0 + 1, "a removal moves the approvals version with it");
    // The removal is recorded with it; removing nothing records nothing.
    let removals = s.approval_removals().await.unwrap();
    assert_eq!(removals.len(), 1);
    assert_eq!((removals[0].update_id, removals[0].group_id), (uid(1), ALL_COMPUTERS_GROUP));
    assert!(
        !s.remove_approval(uid(1), ALL_COMPUTERS_GROUP)
            .await
            .unwrap()
    );
    assert!(!s.remove_approval(uid(9), g.id).await.unwrap());
    assert_eq!(s.approval_removals().await.unwrap(), removals);
    assert_eq!(version().await, v0 + 1, "removing nothing moves nothing");
    assert_eq!(s.approvals_for_update(uid(1)).await.unwrap(), vec![a1]);
    s.delete_group(g.id).await.unwrap();
    assert!(
        s.all_approvals().await.unwrap().is_empty(),
        "approvals go with the group"
    );

    assert!(!s.is_declined(uid(7)).await.unwrap());
    assert!(s.decline(uid(7), "alice").await.unwrap());
    assert!(
        !s.decline(uid(7), "bob").await.unwrap(),
        "first decline is kept"
    );
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(s.decline(uid(8), "bob").await.unwrap());
    assert!(s.is_declined(uid(7)).await.unwrap());
    let declined = s.list_declined().await.unwrap();
    assert_eq!(
        declined.iter().map(|d| d.update_id).collect::<Vec<_>>(),
        vec![uid(8), uid(7)]
    );
    assert_eq!(declined[1].declined_by, "alice");
    assert!(s.undecline(uid(7)).await.unwrap());
    assert_eq!(version().await, v0 + 2, "an undecline moves the approvals version with it");
    assert!(!s.undecline(uid(7)).await.unwrap());
    assert_eq!(version().await, v0 + 2);
    assert!(!s.is_declined(uid(7)).await.unwrap());

    assert!(!s.is_eula_accepted(uid(20)).await.unwrap());
    assert!(s.accept_eula(uid(20), "alice").await.unwrap());
    assert!(!s.accept_eula(uid(20), "bob").await.unwrap());
    assert!(s.is_eula_accepted(uid(20)).await.unwrap());
    let acc = s.eula_acceptance(uid(20)).await.unwrap().unwrap();
    assert_eq!((acc.eula_id, acc.accepted_by.as_str()), (uid(20), "alice"));
    assert!(!s.is_eula_accepted(uid(21)).await.unwrap());
}

async fn status_upsert_and_summary(env: Env) {
    let s = &env.store;
    for id in ["c1", "c2", "c3"] {
        s.upsert_computer(&NewComputer {
            id: id.to_owned(),
            ..Default::default()
        })
        .await
        .unwrap();
    }
    let t0 = datetime!(2025-01-01 10:00:00.000001 UTC);
    let status = |c: &str, u: u128, state: InstallState, at: OffsetDateTime| UpdateStatus {
        computer_id: c.to_owned(),
        update_id: uid(u),
        revision_number: 3,
        state,
        last_event_time: at,
        last_event_id: Some(format!("ev-{c}-{u}")),
    };
    assert!(
        s.set_update_status(&status("c1", 1, InstallState::NotInstalled, t0))
            .await
            .unwrap()
    );
    assert!(
        s.set_update_status(&status("c2", 1, InstallState::Installed, t0))
            .await
            .unwrap()
    );
    assert!(
        s.set_update_status(&status("c3", 1, InstallState::Installed, t0))
            .await
            .unwrap()
    );
    assert!(
        s.set_update_status(&status("c1", 2, InstallState::Failed, t0))
            .await
            .unwrap()
    );

    // Newer report wins, older one is ignored.
    let later = t0 + time::Duration::minutes(5);
    let newer = status("c1", 1, InstallState::InstalledPendingReboot, later);
    assert!(s.set_update_status(&newer).await.unwrap());
    assert!(
        !s.set_update_status(&status("c1", 1, InstallState::Failed, t0))
            .await
            .unwrap()
    );
    assert!(
        s.set_update_status(&status("ghost", 1, InstallState::Installed, t0))
            .await
            .unwrap_err()
            .is_not_found()
    );

    // A batch: one transaction, same newest-wins rule per row, all or nothing.
    let batch_time = later + time::Duration::minutes(1);
    let batch = vec![
        status("c2", 7, InstallState::NotInstalled, batch_time),
        status("c2", 8, InstallState::Installed, batch_time),
        status("c2", 1, InstallState::Failed, t0 - time::Duration::minutes(1)),
    ];
    assert_eq!(s.set_update_statuses(&batch).await.unwrap(), 2, "the stale third row changes nothing");
    assert_eq!(s.status_for_computer("c2").await.unwrap().len(), 3);
    let bad = vec![status("c3", 9, InstallState::Installed, batch_time), status("ghost", 9, InstallState::Installed, batch_time)];
    assert!(s.set_update_statuses(&bad).await.unwrap_err().is_not_found());
    assert_eq!(s.status_for_computer("c3").await.unwrap().len(), 1, "a failed batch stores nothing");
    assert_eq!(s.set_update_statuses(&[]).await.unwrap(), 0);

    let c1 = s.status_for_computer("c1").await.unwrap();
    assert_eq!(c1.len(), 2);
    assert_eq!(c1[0], newer);
    assert_eq!(c1[1].state, InstallState::Failed);
    let u1 = s.status_for_update(uid(1)).await.unwrap();
    assert_eq!(
        u1.iter()
            .map(|x| x.computer_id.as_str())
            .collect::<Vec<_>>(),
        vec!["c1", "c2", "c3"]
    );
    assert_eq!(u1[1].last_event_time, t0);

    let sum = s.status_summary(uid(1)).await.unwrap();
    assert_eq!(sum.installed, 2);
    assert_eq!(sum.installed_pending_reboot, 1);
    assert_eq!(sum.get(InstallState::Installed), 2);
    assert_eq!(
        sum.not_installed + sum.failed + sum.unknown + sum.downloaded + sum.not_applicable,
        0
    );
    assert_eq!(sum.total(), 3);
    assert_eq!(
        s.status_summary(uid(9)).await.unwrap(),
        StatusSummary::default()
    );

    // Status rows go with their computer.
    s.delete_computer("c2").await.unwrap();
    assert_eq!(s.status_summary(uid(1)).await.unwrap().installed, 1);
}

async fn sync_history_lifecycle(env: Env) {
    let s = &env.store;
    let first = s.start_sync("https://upstream.example").await.unwrap();
    let second = s.start_sync("https://other.example").await.unwrap();
    assert!(second > first);
    let running = s.get_sync(first).await.unwrap().unwrap();
    assert_eq!(running.result, SyncResult::Running);
    assert!(running.finished_at.is_none());
    assert_eq!(running.upstream, "https://upstream.example");

    let done = s
        .finish_sync(
            first,
            &SyncFinish {
                result: SyncResult::Succeeded,
                new_revisions: 12,
                revised: 3,
                expired: 1,
                error: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(done.result, SyncResult::Succeeded);
    assert_eq!((done.new_revisions, done.revised, done.expired), (12, 3, 1));
    assert!(done.finished_at.unwrap() >= done.started_at);
    assert_eq!(s.get_sync(first).await.unwrap().unwrap(), done);

    let fail = SyncFinish {
        result: SyncResult::Failed,
        new_revisions: 0,
        revised: 0,
        expired: 0,
        error: Some("timeout".to_owned()),
    };
    assert!(s.finish_sync(first, &fail).await.unwrap_err().is_conflict());
    assert!(s.finish_sync(9999, &fail).await.unwrap_err().is_not_found());
    let running_again = SyncFinish {
        result: SyncResult::Running,
        ..fail.clone()
    };
    assert!(matches!(
        s.finish_sync(second, &running_again).await,
        Err(StoreError::InvalidInput(_))
    ));
    let failed = s.finish_sync(second, &fail).await.unwrap();
    assert_eq!(failed.error.as_deref(), Some("timeout"));

    let list = s.list_syncs(10).await.unwrap();
    assert_eq!(
        list.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![second, first]
    );
    assert_eq!(s.list_syncs(1).await.unwrap()[0].result, SyncResult::Failed);
    assert!(s.get_sync(9999).await.unwrap().is_none());
}

async fn jobs_lifecycle(env: Env) {
    let s = &env.store;
    let job = s
        .create_job("download", r#"{"sha1":"ab"}"#, 10)
        .await
        .unwrap();
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(s.get_job(job.id).await.unwrap().unwrap(), job);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let other = s.create_job("sync", "", 0).await.unwrap();
    assert_eq!(other.payload, "{}");
    assert_eq!(
        s.jobs_in_state(JobState::Queued)
            .await
            .unwrap()
            .iter()
            .map(|j| j.id)
            .collect::<Vec<_>>(),
        vec![job.id, other.id],
        "oldest first"
    );

    let p = s.update_job_progress(job.id, 4, 12).await.unwrap();
    assert_eq!(
        (p.state, p.progress_done, p.progress_total),
        (JobState::Running, 4, 12)
    );
    assert!(p.updated_at >= job.updated_at);
    assert_eq!(p.created_at, job.created_at);
    let started = s.start_job(other.id).await.unwrap();
    assert_eq!(started.state, JobState::Running);
    assert!(
        s.start_job(other.id).await.unwrap_err().is_conflict(),
        "only queued jobs start"
    );
    assert_eq!(s.jobs_in_state(JobState::Running).await.unwrap().len(), 2);

    let ok = s
        .finish_job(job.id, JobState::Succeeded, None)
        .await
        .unwrap();
    assert_eq!(ok.state, JobState::Succeeded);
    assert_eq!(ok.progress_done, 4);
    let failed = s
        .finish_job(other.id, JobState::Failed, Some("disk full"))
        .await
        .unwrap();
    assert_eq!(failed.error.as_deref(), Some("disk full"));
    assert!(
        s.update_job_progress(job.id, 5, 12)
            .await
            .unwrap_err()
            .is_conflict()
    );
    assert!(
        s.finish_job(job.id, JobState::Cancelled, None)
            .await
            .unwrap_err()
            .is_conflict()
    );
    assert!(matches!(
        s.finish_job(job.id, JobState::Running, None).await,
        Err(StoreError::InvalidInput(_))
    ));
    assert!(
        s.finish_job(Uuid::new_v4(), JobState::Failed, None)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        s.update_job_progress(Uuid::new_v4(), 1, 1)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(s.get_job(Uuid::new_v4()).await.unwrap().is_none());

    let cancelled = s.create_job("sync", "{}", 0).await.unwrap();
    s.finish_job(cancelled.id, JobState::Cancelled, None)
        .await
        .unwrap();
    assert_eq!(s.jobs_in_state(JobState::Cancelled).await.unwrap().len(), 1);
    assert!(s.jobs_in_state(JobState::Queued).await.unwrap().is_empty());
    let listed = s.list_jobs(2).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].id, cancelled.id, "newest first");
}

async fn users_and_tokens(env: Env) {
    let s = &env.store;
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";
    let alice = s.create_user("alice", hash, "admin").await.unwrap();
    s.create_user("bob", "$argon2id$x", "operator")
        .await
        .unwrap();
    assert!(
        s.create_user("alice", hash, "viewer")
            .await
            .unwrap_err()
            .is_conflict()
    );
    assert_eq!(s.get_user("alice").await.unwrap().unwrap(), alice);
    assert!(s.get_user("carol").await.unwrap().is_none());
    assert_eq!(
        s.list_users()
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect::<Vec<_>>(),
        vec!["alice", "bob"]
    );
    s.set_user_password("bob", "$argon2id$new").await.unwrap();
    assert_eq!(
        s.get_user("bob").await.unwrap().unwrap().password_hash,
        "$argon2id$new"
    );
    assert!(
        s.set_user_password("carol", "x")
            .await
            .unwrap_err()
            .is_not_found()
    );

    let digest_a = "A1".repeat(32);
    let digest_b = "b2".repeat(32);
    let ta = s.create_token("alice", &digest_a, "ci").await.unwrap();
    let tb = s.create_token("bob", &digest_b, "laptop").await.unwrap();
    assert!(
        s.create_token("carol", &"c3".repeat(32), "x")
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        s.create_token("bob", &digest_a.to_lowercase(), "dup")
            .await
            .unwrap_err()
            .is_conflict()
    );
    assert!(matches!(
        s.create_token("bob", "short", "x").await,
        Err(StoreError::InvalidInput(_))
    ));

    assert!(
        s.list_tokens(Some("alice")).await.unwrap()[0]
            .last_used_at
            .is_none()
    );
    let owner = s
        .token_user(&digest_a.to_lowercase())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        owner,
        TokenOwner {
            token_id: ta,
            user_name: "alice".to_owned(),
            role: "admin".to_owned()
        }
    );
    let owner_b = s.token_user(&digest_b).await.unwrap().unwrap();
    assert_eq!((owner_b.token_id, owner_b.role.as_str()), (tb, "operator"));
    assert!(s.token_user(&"ff".repeat(32)).await.unwrap().is_none());
    assert!(s.token_user("garbage").await.unwrap().is_none());
    let tokens = s.list_tokens(Some("alice")).await.unwrap();
    assert_eq!(tokens.len(), 1);
    assert!(tokens[0].last_used_at.is_some(), "use is recorded");
    assert_eq!(tokens[0].description, "ci");
    assert_eq!(s.list_tokens(None).await.unwrap().len(), 2);

    s.revoke_token(ta).await.unwrap();
    assert!(
        s.token_user(&digest_a).await.unwrap().is_none(),
        "revoked tokens do not authenticate"
    );
    assert!(s.list_tokens(Some("alice")).await.unwrap()[0].revoked);
    s.revoke_token(ta).await.unwrap();
    assert!(s.revoke_token(9999).await.unwrap_err().is_not_found());
    assert!(s.token_user(&digest_b).await.unwrap().is_some());
}

async fn audit_log_ordering(env: Env) {
    let s = &env.store;
    let entry = |action: &str| NewAuditEntry {
        actor: "alice".to_owned(),
        action: action.to_owned(),
        target: "update/1".to_owned(),
        detail: r#"{"why":"test"}"#.to_owned(),
        source_address: Some("192.0.2.1".to_owned()),
    };
    let first = s.append_audit(&entry("approve")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let cut = OffsetDateTime::now_utc();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = s.append_audit(&entry("decline")).await.unwrap();
    let third = s
        .append_audit(&NewAuditEntry {
            source_address: None,
            ..entry("login")
        })
        .await
        .unwrap();
    assert!(first < second && second < third);

    let all = s.list_audit(10, None, None).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        vec!["login", "decline", "approve"]
    );
    assert_eq!(all[2].id, first);
    assert_eq!(all[2].detail, r#"{"why":"test"}"#);
    assert_eq!(all[2].source_address.as_deref(), Some("192.0.2.1"));
    assert!(all[0].source_address.is_none());
    assert!(all[0].at >= all[1].at && all[1].at > all[2].at);

    assert_eq!(
        s.list_audit(2, None, None)
            .await
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect::<Vec<_>>(),
        vec![third, second]
    );
    let since = s.list_audit(10, Some(cut), None).await.unwrap();
    assert_eq!(
        since.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![third, second]
    );
    assert_eq!(s.list_audit(1, Some(cut), None).await.unwrap()[0].id, third);
    assert!(
        s.list_audit(
            10,
            Some(OffsetDateTime::now_utc() + time::Duration::hours(1)),
            None
        )
        .await
        .unwrap()
        .is_empty()
    );

    // By user, alone and with a time.
    let bob = s.append_audit(&NewAuditEntry { actor: "bob".to_owned(), ..entry("group-create") }).await.unwrap();
    let ids = |v: Vec<AuditEntry>| v.iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(ids(s.list_audit(10, None, Some("bob")).await.unwrap()), vec![bob]);
    assert_eq!(ids(s.list_audit(10, None, Some("alice")).await.unwrap()), vec![third, second, first]);
    assert_eq!(ids(s.list_audit(10, Some(cut), Some("alice")).await.unwrap()), vec![third, second]);
    assert_eq!(ids(s.list_audit(1, Some(cut), Some("alice")).await.unwrap()), vec![third]);
    assert!(s.list_audit(10, None, Some("carol")).await.unwrap().is_empty());
}

async fn settings_round_trip(env: Env) {
    use settings::*;
    let s = &env.store;
    assert!(s.setting(SYNC_ANCHOR_CONFIG).await.unwrap().is_none());
    s.set(SYNC_ANCHOR_CONFIG, &"a1".to_owned()).await.unwrap();
    s.set(SYNC_ANCHOR_UPDATES, &String::new()).await.unwrap();
    assert_eq!(s.setting(SYNC_ANCHOR_CONFIG).await.unwrap().as_deref(), Some("a1"));
    assert_eq!(s.setting(SYNC_ANCHOR_UPDATES).await.unwrap().as_deref(), Some(""));
    s.set(SYNC_ANCHOR_CONFIG, &"a2".to_owned()).await.unwrap();
    assert_eq!(s.setting(SYNC_ANCHOR_CONFIG).await.unwrap().as_deref(), Some("a2"));
    assert!(s.clear(SYNC_ANCHOR_CONFIG).await.unwrap());
    assert!(!s.clear(SYNC_ANCHOR_CONFIG).await.unwrap());
    assert!(s.setting(SYNC_ANCHOR_CONFIG).await.unwrap().is_none());

    // Typed values read back as written.
    s.set(ROLLUP_NUMBER, &7).await.unwrap();
    assert_eq!(s.setting(ROLLUP_NUMBER).await.unwrap(), Some(7));
    let map: MirroredDeployments = [(uid(1), (uid(2), uid(3)))].into_iter().collect();
    s.set(MIRRORED_DEPLOYMENTS, &map).await.unwrap();
    assert_eq!(s.setting(MIRRORED_DEPLOYMENTS).await.unwrap(), Some(map));

    // Created once: a later creation gets the stored value.
    let id = s.setting_or_create(DOWNSTREAM_ACCOUNT_ID, || uid(40)).await.unwrap();
    assert_eq!(id, uid(40));
    assert_eq!(s.setting_or_create(DOWNSTREAM_ACCOUNT_ID, || uid(41)).await.unwrap(), uid(40));
    assert!(s.setting(CLIENT_FACING_SERVER_ID).await.unwrap().is_none(), "the two server ids are distinct settings");

    // The sync settings document and its storage-mode copy land together.
    let doc = SyncSettings {
        storage: StorageMode::None,
        mode: SyncMode::Replica,
        products: vec![uid(5)],
        ..SyncSettings::default()
    };
    s.save_sync_settings(&doc).await.unwrap();
    assert_eq!(s.setting(SYNC_SETTINGS).await.unwrap(), Some(doc));
    assert_eq!(s.setting(STORAGE_MODE).await.unwrap(), Some(StorageMode::None));

    // A targeting mode change moves the configuration's LastChange and the approvals version
    // with it.
    let before = s.bump_version(APPROVALS_VERSION).await.unwrap();
    let at = datetime!(2026-05-01 18:00:00.123 UTC);
    s.change_targeting_mode(sluice_api::TargetingMode::Client, at).await.unwrap();
    assert_eq!(s.setting(TARGETING_MODE).await.unwrap(), Some(sluice_api::TargetingMode::Client));
    assert_eq!(s.setting(CLIENT_CONFIG_LAST_CHANGE).await.unwrap(), Some(at));
    assert!(s.setting(APPROVALS_VERSION).await.unwrap().unwrap() > before);

    // A version ahead of the clock (another server's) still moves on, by one.
    let ahead = i64::MAX / 2;
    s.set(CATALOG_VERSION, &ahead).await.unwrap();
    assert_eq!(s.bump_version(CATALOG_VERSION).await.unwrap(), ahead + 1);
    assert_eq!(s.setting(CATALOG_VERSION).await.unwrap(), Some(ahead + 1));
}

async fn approve_is_one_transaction(env: Env) {
    let s = &env.store;
    let pilot = s.create_group("Pilot", Some(ALL_COMPUTERS_GROUP)).await.unwrap();
    // Ahead of the clock, so every bump adds exactly one: the version counts the moves.
    let v0 = i64::MAX / 2;
    s.set(settings::APPROVALS_VERSION, &v0).await.unwrap();
    let version = || async { s.setting(settings::APPROVALS_VERSION).await.unwrap().unwrap() };
    let eula = uid(30);
    let write = |group_id: Uuid, approved_by: &'static str, accept: bool| ApprovalWrite {
        update_id: uid(1),
        group_id,
        action: ApprovalAction::Install,
        deadline: None,
        approved_by,
        license: Some(LicenseGate { eula_key: eula, accept_as: accept.then_some(approved_by) }),
    };

    // The group went away between the administrator's request and the write: the approval
    // fails after the acceptance was written in the same transaction, and takes it along.
    let e = s.approve(&write(uid(404), "alice", true)).await.unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(s.eula_acceptance(eula).await.unwrap().is_none(), "no acceptance without its approval");
    assert!(s.all_approvals().await.unwrap().is_empty());
    assert_eq!(version().await, v0, "no version move without a change");

    // Terms not accepted, and not accepted now: nothing is written.
    assert_eq!(s.approve(&write(pilot.id, "alice", false)).await.unwrap(), ApproveOutcome::LicenseNotAccepted);
    assert!(s.all_approvals().await.unwrap().is_empty());
    assert_eq!(version().await, v0);

    // Accepted now: acceptance, approval and version move land together, the version once.
    let ApproveOutcome::Approved { approval, license } = s.approve(&write(pilot.id, "alice", true)).await.unwrap() else {
        panic!("approved expected");
    };
    assert_eq!((approval.update_id, approval.group_id), (uid(1), pilot.id));
    assert_eq!(license.map(|l| l.accepted_by).as_deref(), Some("alice"));
    assert_eq!(s.all_approvals().await.unwrap(), vec![approval]);
    assert_eq!(s.eula_acceptance(eula).await.unwrap().unwrap().accepted_by, "alice");
    assert_eq!(version().await, v0 + 1);

    // The same terms elsewhere: the first acceptance is kept and reported.
    let ApproveOutcome::Approved { license, .. } = s.approve(&write(ALL_COMPUTERS_GROUP, "bob", true)).await.unwrap() else {
        panic!("approved expected");
    };
    assert_eq!(license.map(|l| l.accepted_by).as_deref(), Some("alice"));
    assert_eq!(version().await, v0 + 2);

    // Declined meanwhile: refused inside the transaction.
    assert!(s.decline(uid(1), "carol").await.unwrap());
    let no_terms = ApprovalWrite { license: None, ..write(pilot.id, "dave", false) };
    assert_eq!(s.approve(&no_terms).await.unwrap(), ApproveOutcome::Declined);
    assert_eq!(s.all_approvals().await.unwrap().len(), 2);
    assert!(s.all_approvals().await.unwrap().iter().all(|a| a.approved_by != "dave"));
    assert_eq!(version().await, v0 + 2);
}

async fn decline_with_approvals_is_one_transaction(env: Env) {
    let s = &env.store;
    let pilot = s.create_group("Pilot", Some(ALL_COMPUTERS_GROUP)).await.unwrap();
    let v0 = i64::MAX / 2;
    s.set(settings::APPROVALS_VERSION, &v0).await.unwrap();
    let version = || async { s.setting(settings::APPROVALS_VERSION).await.unwrap().unwrap() };
    let approve = |update_id: Uuid, group_id: Uuid| ApprovalWrite {
        update_id,
        group_id,
        action: ApprovalAction::Install,
        deadline: None,
        approved_by: "alice",
        license: None,
    };
    for g in [pilot.id, ALL_COMPUTERS_GROUP] {
        assert!(matches!(s.approve(&approve(uid(1), g)).await.unwrap(), ApproveOutcome::Approved { .. }));
    }
    assert!(matches!(s.approve(&approve(uid(2), pilot.id)).await.unwrap(), ApproveOutcome::Approved { .. }));
    assert_eq!(version().await, v0 + 3);

    // Declined, both approvals gone with their removals recorded, the version moved once.
    let (newly, mut removed) = s.decline_with_approvals(uid(1), "bob").await.unwrap();
    removed.sort();
    let mut both = vec![pilot.id, ALL_COMPUTERS_GROUP];
    both.sort();
    assert!(newly);
    assert_eq!(removed, both);
    assert!(s.is_declined(uid(1)).await.unwrap());
    assert!(s.approvals_for_update(uid(1)).await.unwrap().is_empty());
    assert_eq!(s.approvals_for_update(uid(2)).await.unwrap().len(), 1, "other updates keep theirs");
    let mut recorded: Vec<Uuid> =
        s.approval_removals().await.unwrap().into_iter().filter(|r| r.update_id == uid(1)).map(|r| r.group_id).collect();
    recorded.sort();
    assert_eq!(recorded, both);
    assert_eq!(version().await, v0 + 4);

    // Again: nothing changes, nothing moves; and an approval is refused.
    assert_eq!(s.decline_with_approvals(uid(1), "carol").await.unwrap(), (false, Vec::new()));
    assert_eq!(s.list_declined().await.unwrap()[0].declined_by, "bob", "the first decline is kept");
    assert_eq!(version().await, v0 + 4);
    assert_eq!(s.approve(&approve(uid(1), pilot.id)).await.unwrap(), ApproveOutcome::Declined);
    assert_eq!(version().await, v0 + 4);
}

async fn license_facts_round_trip(env: Env) {
    let s = &env.store;
    let facts = LicenseFacts {
        eula_id: Some("0b9a3e4c-8c2e-4d1e-9c43-1d3b1c1e2f30".into()),
        eula_key: Some(uid(40)),
        eula_files: vec!["eula-en.txt (en)".into(), "eula-de.txt (de)".into()],
        needs_user_input: true,
    };
    let with_terms = NewRevision { license: Some(facts.clone()), ..rev(1, 1, "with terms") };
    let plain = NewRevision { license: Some(LicenseFacts::default()), ..rev(2, 1, "plain") };
    // As a version that did not keep the facts stored it.
    let legacy = rev(3, 1, "legacy");
    s.insert_revisions(&[with_terms, plain, legacy]).await.unwrap();
    let with_terms = s.latest_revision(uid(1)).await.unwrap().unwrap();
    assert_eq!(with_terms.license, Some(facts));
    assert_eq!(s.latest_revision(uid(2)).await.unwrap().unwrap().license, Some(LicenseFacts::default()));
    let legacy = s.latest_revision(uid(3)).await.unwrap().unwrap();
    assert_eq!(legacy.license, None);

    let pending = s.revisions_without_license_facts(0, 10).await.unwrap();
    assert_eq!(pending, vec![(legacy.id, s.revision_xml(legacy.id).await.unwrap().unwrap())]);
    assert!(s.revisions_without_license_facts(legacy.id, 10).await.unwrap().is_empty(), "after the cursor");
    let derived = LicenseFacts { eula_key: Some(uid(41)), ..LicenseFacts::default() };
    s.set_license_facts(&[(legacy.id, derived.clone())]).await.unwrap();
    assert!(s.revisions_without_license_facts(0, 10).await.unwrap().is_empty());
    assert_eq!(s.latest_revision(uid(3)).await.unwrap().unwrap().license, Some(derived));

    assert!(s.revisions_with_accepted_license().await.unwrap().is_empty());
    s.accept_eula(uid(40), "alice").await.unwrap();
    assert_eq!(s.revisions_with_accepted_license().await.unwrap(), [with_terms.id].into_iter().collect());
}

async fn concurrent_writers(env: Env) {
    // Many tasks writing at once through one store, plus a second store on the same
    // database: nothing may fail with a busy/locked error and every write must land.
    let other = Store::open(&env.url).await.unwrap();
    let mut tasks = Vec::new();
    // Ahead of the clock, so every bump adds exactly one and the end value counts them.
    let v0 = i64::MAX / 2;
    env.store.set(settings::APPROVALS_VERSION, &v0).await.unwrap();
    for t in 0..16u128 {
        let s = if t % 2 == 0 {
            env.store.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            for i in 0..10u128 {
                let n = t * 100 + i;
                let mut r = rev(n, 1, &format!("update {n}"));
                r.files = vec![file((n % 7) as u8, "shared.cab")];
                s.insert_revisions(&[r]).await.unwrap();
                s.bump_version(settings::APPROVALS_VERSION).await.unwrap();
                s.append_audit(&NewAuditEntry {
                    actor: format!("t{t}"),
                    ..Default::default()
                })
                .await
                .unwrap();
                let _ = s
                    .list_updates(&UpdateFilter {
                        limit: Some(5),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let s = &env.store;
    assert_eq!(s.count_revisions().await.unwrap(), 160);
    assert_eq!(s.list_audit(1000, None, None).await.unwrap().len(), 160);
    assert_eq!(
        s.setting(settings::APPROVALS_VERSION).await.unwrap(),
        Some(v0 + 160),
        "no version move is lost"
    );
    assert_eq!(s.files_in_state(FileState::Absent).await.unwrap().len(), 7);
    other.close().await;
}

#[tokio::test]
async fn sqlite_in_memory_database_keeps_its_data() {
    let s = Store::open("sqlite::memory:").await.unwrap();
    assert_eq!(s.backend(), Backend::Sqlite);
    s.insert_revisions(&[rev(1, 1, "in memory")]).await.unwrap();
    s.set(settings::SYNC_ANCHOR_CONFIG, &"v".to_owned()).await.unwrap();
    // Reads go through the same single connection, so they see the writes.
    assert_eq!(s.count_revisions().await.unwrap(), 1);
    assert_eq!(s.setting(settings::SYNC_ANCHOR_CONFIG).await.unwrap().as_deref(), Some("v"));
    assert_eq!(s.list_groups().await.unwrap().len(), 2);
}
