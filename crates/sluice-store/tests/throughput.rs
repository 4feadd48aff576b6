//! Batch-ingest throughput measurement (prints numbers, asserts no timing).
//!
//! cargo test -p sluice-store --release --test throughput -- --ignored --nocapture
//!
//! Also measures PostgreSQL when `SLUICE_TEST_POSTGRES_URL` is set (into a fresh database).

use std::time::Instant;

use sluice_store::*;
use sqlx::Connection;
use uuid::Uuid;

const REVISIONS: usize = 10_000;

/// A small revision shaped like a typical synchronised update: three fragments of a few
/// hundred bytes, a compressed XML blob, and optionally a file, two categories and a
/// prerequisite.
fn small_revision(n: usize, full: bool) -> NewRevision {
    let id = Uuid::from_u128(0x2000_0000_0000_4000_8000_0000_0000_0000 + n as u128);
    let filler = |len: usize, seed: usize| -> Vec<u8> {
        (0..len)
            .map(|i| b'a' + ((i * 7 + seed) % 26) as u8)
            .collect()
    };
    let mut r = NewRevision {
        update_id: id,
        revision_number: 200,
        update_type: UpdateType::Software,
        title: format!("2025-06 Cumulative Update for Windows 11 (KB{n})"),
        description: Some("Install this update to resolve issues in Windows.".to_owned()),
        kb_article: Some(n.to_string()),
        publication_state: "Published".to_owned(),
        creation_date: Some(time::OffsetDateTime::UNIX_EPOCH + time::Duration::hours(n as i64)),
        is_leaf: true,
        explicitly_deployable: true,
        xml_compressed: filler(500, n),
        fragments: vec![
            Fragment {
                kind: FragmentKind::Core,
                language: String::new(),
                body: filler(600, n),
            },
            Fragment {
                kind: FragmentKind::Extended,
                language: String::new(),
                body: filler(400, n + 1),
            },
            Fragment {
                kind: FragmentKind::Localized,
                language: "en".to_owned(),
                body: filler(300, n + 2),
            },
        ],
        ..NewRevision::default()
    };
    if full {
        r.files = vec![NewFile {
            sha1: format!("{:040x}", n),
            sha256: Some(format!("{:064x}", n)),
            file_name: format!("windows11.0-kb{n}-x64.msu"),
            size: 1_000_000,
            ..NewFile::default()
        }];
        r.categories = vec![Uuid::from_u128(1), Uuid::from_u128(2)];
        r.classification = Some(Uuid::from_u128(2));
        r.relationships = vec![Relationship {
            kind: RelationshipKind::Prerequisite,
            group_no: 0,
            target_update_id: Uuid::from_u128(3),
            target_revision_number: None,
            is_category: false,
        }];
    }
    r
}

async fn measure(label: &str, url_for: impl Fn(&str) -> String) {
    for (shape, full) in [
        ("3 fragments", false),
        ("3 fragments + file + 2 categories + prerequisite", true),
    ] {
        for batch in [REVISIONS, 1_000] {
            let url = url_for(&format!("{}_{batch}", if full { "full" } else { "frag" }));
            let store = Store::open(&url).await.expect("open");
            let revs: Vec<NewRevision> = (0..REVISIONS).map(|n| small_revision(n, full)).collect();
            let start = Instant::now();
            for chunk in revs.chunks(batch) {
                let out = store.insert_revisions(chunk).await.expect("insert");
                assert!(out.iter().all(|o| o.inserted));
            }
            let secs = start.elapsed().as_secs_f64();
            assert_eq!(
                store.count_revisions().await.expect("count"),
                REVISIONS as i64
            );
            // Re-ingest of an already known batch (the common case for a repeated sync).
            let start = Instant::now();
            for chunk in revs.chunks(batch) {
                store.insert_revisions(chunk).await.expect("re-insert");
            }
            let again = start.elapsed().as_secs_f64();
            println!(
                "{label}: {REVISIONS} revisions ({shape}), batches of {batch}: {secs:.2} s = {:.0} rev/s; \
                 re-insert of known revisions {:.0} rev/s",
                REVISIONS as f64 / secs,
                REVISIONS as f64 / again
            );
            store.close().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run with --release --ignored --nocapture"]
async fn ingest_throughput() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_owned();
    measure("sqlite", |name| {
        format!("sqlite://{}/{name}.db", path.display())
    })
    .await;

    if let Ok(admin) = std::env::var("SLUICE_TEST_POSTGRES_URL") {
        let mut names = Vec::new();
        let mut conn = sqlx::PgConnection::connect(&admin).await.expect("admin");
        for tag in ["frag_10000", "frag_1000", "full_10000", "full_1000"] {
            let name = format!("bench_{tag}_{}", &Uuid::new_v4().simple().to_string()[..8]);
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&mut conn)
                .await
                .expect("create db");
            names.push((tag, name));
        }
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b.to_owned())
            .expect("url with database");
        let lookup = names.clone();
        measure("postgres", move |tag| {
            let (_, name) = lookup.iter().find(|(t, _)| *t == tag).expect("db for tag");
            format!("{base}/{name}")
        })
        .await;
        for (_, name) in names {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE \"{name}\" WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await
            .expect("drop db");
        }
    }
}
