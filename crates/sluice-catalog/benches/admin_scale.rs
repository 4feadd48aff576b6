//! Finding updates and compliance reports at fleet scale: 100,000 computers, 25,000 updates.
//!
//! `cargo bench -p sluice-catalog --bench admin_scale` (SQLite in
//! `/var/tmp/sluice-bench-admin/sluice.db`), or with `SLUICE_BENCH_DB=postgres://…`.
//! `SLUICE_BENCH_COMPUTERS` / `SLUICE_BENCH_UPDATES` change the size.
//!
//! The first run generates the data into the database (a synthetic Microsoft-shaped catalog
//! from `sluice-catgen`, computers, 20 groups of 5,000, about 20 reported states per computer,
//! some approvals and declines) and later runs reuse it. Each measured call is the catalog
//! service's own (what the admin route answers, without the HTTP and JSON around it), run once
//! to warm up and then five times; the table gives the median and the slowest.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_catalog::Catalog;
use sluice_catalog::api::{ReportedState, UpdateQuery};
use sluice_catgen::CatalogConfig;
use sluice_store::{
    ALL_COMPUTERS_GROUP, ApprovalAction, ApprovalWrite, ComputerScope, NewComputer, Store, UpdateFilter, UpdateStatus,
};
use uuid::Uuid;

const GROUPS: usize = 20;
const STATES_PER_COMPUTER: usize = 20;
/// The updates computers report on (the current ones of a real fleet), of all updates.
const REPORTED_POOL: usize = 2_000;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A small deterministic hash (splitmix64), so the data is the same on every run.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn group_name(g: usize) -> String {
    format!("Ring {:02}", g + 1)
}

async fn generate(catalog: &Catalog, computers: usize, updates: usize) {
    let store = catalog.store();
    let started = Instant::now();
    // Catalogs hold categories, detectoids and bundled leaves besides listed updates: grow
    // the document count until the listing holds the updates asked for.
    let mut revisions = updates + updates / 4;
    let generated = loop {
        let c = sluice_catgen::Catalog::generate(&CatalogConfig::new(revisions, 7)).expect("generate");
        let listed = c.summary().listed_updates;
        if listed >= updates {
            break c;
        }
        revisions = revisions * updates / listed.max(1) + 100;
    };
    let docs: Vec<(String, Vec<u8>)> =
        generated.documents().map(|d| (format!("{}-{}", d.update_id, d.revision_number), d.xml.into_bytes())).collect();
    for batch in docs.chunks(1000) {
        catalog.import_documents(batch.to_vec()).await.expect("import");
    }
    eprintln!("catalog: {} documents in {:.0?}", docs.len(), started.elapsed());

    let started = Instant::now();
    let ids: Vec<String> = (0..computers).map(|i| format!("{:08x}-0000-4000-8000-{:012x}", i, mix(i as u64) >> 16)).collect();
    for chunk in ids.chunks(5000) {
        let batch: Vec<NewComputer> = chunk
            .iter()
            .enumerate()
            .map(|(i, id)| NewComputer {
                id: id.clone(),
                dns_name: Some(format!("ws{:06}.corp.contoso.test", mix(i as u64 ^ mix(id.len() as u64)) % 1_000_000)),
                os_description: Some("Windows 11 Enterprise".into()),
                os_major: Some(10),
                os_build: Some(26100),
                ..NewComputer::default()
            })
            .collect();
        store.insert_computers(&batch).await.expect("computers");
    }
    let per_group = computers / GROUPS;
    for g in 0..GROUPS {
        let group = store.create_group(&group_name(g), Some(ALL_COMPUTERS_GROUP)).await.expect("group");
        // The last 10% of each slice stay unassigned.
        let members = &ids[g * per_group..g * per_group + per_group * 9 / 10];
        store.add_group_members(group.id, members).await.expect("members");
    }
    eprintln!("computers and groups in {:.0?}", started.elapsed());

    let started = Instant::now();
    let listed = store.list_updates(&UpdateFilter::default()).await.expect("list");
    let pool: Vec<Uuid> = listed.iter().take(REPORTED_POOL).map(|u| u.update_id).collect();
    let now = time::OffsetDateTime::now_utc();
    let mut rows = Vec::with_capacity(20_000);
    let mut written = 0;
    for (i, id) in ids.iter().enumerate() {
        for k in 0..STATES_PER_COMPUTER {
            let h = mix((i * STATES_PER_COMPUTER + k) as u64);
            // Skewed: the newest updates are reported by most computers.
            let slot = ((h % 1000) * (h % 1000) / 1000) as usize * pool.len() / 1000;
            let state = match (h >> 20) % 100 {
                0..=59 => ReportedState::Installed,
                60..=79 => ReportedState::NotInstalled,
                80..=84 => ReportedState::Failed,
                85..=89 => ReportedState::Downloaded,
                _ => ReportedState::NotApplicable,
            };
            rows.push(UpdateStatus {
                computer_id: id.clone(),
                update_id: pool[(slot + k * 7) % pool.len()],
                revision_number: 1,
                state,
                last_event_time: now,
                last_event_id: None,
            });
        }
        if rows.len() >= 20_000 {
            written += store.set_update_statuses(&rows).await.expect("statuses");
            rows.clear();
        }
    }
    written += store.set_update_statuses(&rows).await.expect("statuses");
    eprintln!("{written} status rows in {:.0?}", started.elapsed());

    // Some approvals for the first ring and some declines, so the approval filters select.
    let ring = store.group_by_name(&group_name(0)).await.expect("group").expect("ring 1");
    let writes: Vec<ApprovalWrite> = listed
        .iter()
        .filter(|u| u.update_type == sluice_store::UpdateType::Software)
        .skip(100)
        .take(500)
        .map(|u| ApprovalWrite {
            update_id: u.update_id,
            group_id: ring.id,
            action: ApprovalAction::Install,
            deadline: None,
            approved_by: "bench",
            license: None,
        })
        .collect();
    store.approve_many(&writes).await.expect("approve");
    let declined: Vec<Uuid> = listed.iter().rev().take(1000).map(|u| u.update_id).collect();
    store.decline_many(&declined, "bench").await.expect("decline");
}

async fn measure<F, Fut, T>(label: &str, results: &mut Vec<(String, Duration, Duration, String)>, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = (T, String)>,
{
    let _ = f().await;
    let mut times = Vec::new();
    let mut note = String::new();
    for _ in 0..5 {
        let t = Instant::now();
        let (_, n) = f().await;
        times.push(t.elapsed());
        note = n;
    }
    times.sort();
    eprintln!("{label}: median {:.1} ms, max {:.1} ms ({note})", ms(times[2]), ms(times[4]));
    results.push((label.to_string(), times[2], times[4], note));
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let url = std::env::var("SLUICE_BENCH_DB").unwrap_or_else(|_| "sqlite:///var/tmp/sluice-bench-admin/sluice.db".into());
    let computers = env_usize("SLUICE_BENCH_COMPUTERS", 100_000);
    let updates = env_usize("SLUICE_BENCH_UPDATES", 25_000);
    let started = Instant::now();
    let store = Store::open(&url).await.expect("open the store");
    // Includes the migrations (and their backfills) a database generated by an older build
    // still needs.
    eprintln!("store opened in {:.1?}", started.elapsed());
    let dir = tempfile::tempdir().expect("tempdir");
    let content = Arc::new(sluice_content::ContentStore::open(dir.path().join("content")).await.expect("content store"));
    let catalog = Catalog::new(store.clone(), content);
    if store.count_computers(ComputerScope::All).await.expect("count") < computers as i64 {
        generate(&catalog, computers, updates).await;
    }
    let c = &catalog;
    let listed = store.count_updates(&UpdateFilter::default()).await.expect("count");
    let fleet = store.count_computers(ComputerScope::All).await.expect("count");
    eprintln!("{fleet} computers, {listed} updates listed");

    let sample = store.list_updates(&UpdateFilter { limit: Some(1), ..UpdateFilter::default() }).await.expect("sample");
    let kb = sample[0].kb_article.clone().unwrap_or_default();
    let classification = "Security Updates".to_string();
    let product = store
        .list_categories()
        .await
        .expect("categories")
        .into_iter()
        .find(|c| c.category_type == "Product")
        .map(|c| c.title)
        .unwrap_or_default();
    let most_needed = store
        .list_updates(&UpdateFilter { sort: Some(sluice_store::UpdateSort::Needed), descending: true, limit: Some(1), ..UpdateFilter::default() })
        .await
        .expect("most needed")[0]
        .update_id
        .to_string();
    let q = |f: fn(&mut UpdateQuery)| {
        let mut q = UpdateQuery::default();
        f(&mut q);
        q
    };
    let filters: Vec<(&str, UpdateQuery)> = vec![
        ("no filter (first page of 200)", UpdateQuery::default()),
        ("text \"cumulative\"", q(|q| q.text = Some("cumulative".into()))),
        ("KB", UpdateQuery { kb: Some(kb.clone()), ..UpdateQuery::default() }),
        ("classification Security Updates", UpdateQuery { classification: Some(classification.clone()), ..UpdateQuery::default() }),
        ("product (with its descendants)", UpdateQuery { product: Some(product.clone()), ..UpdateQuery::default() }),
        ("MSRC severity critical", q(|q| q.msrc_severity = Some("critical".into()))),
        ("unapproved", q(|q| q.approval = Some("unapproved".into()))),
        ("approved for Ring 01", q(|q| q.group = Some("Ring 01".into()))),
        ("declined", q(|q| q.approval = Some("declined".into()))),
        ("superseded", q(|q| q.superseded = Some(true))),
        ("not superseded", q(|q| q.superseded = Some(false))),
        ("expired", q(|q| q.expired = Some(true))),
        ("needed by >= 1", q(|q| q.needed = Some(1))),
        ("needed by >= 1000", q(|q| q.needed = Some(1000))),
        ("failed on >= 1", q(|q| q.failed = Some(1))),
        ("released 2024-01-01..2024-12-31", q(|q| {
            q.released_from = Some("2024-01-01".into());
            q.released_to = Some("2024-12-31".into());
        })),
        ("sorted by title, page at offset 20,000", q(|q| {
            q.sort = Some("title".into());
            q.offset = Some(20_000);
        })),
        ("sorted by needed, descending", q(|q| {
            q.sort = Some("needed".into());
            q.desc = true;
        })),
        ("security + needed >= 1 + unapproved", UpdateQuery {
            classification: Some(classification.clone()),
            needed: Some(1),
            approval: Some("unapproved".into()),
            ..UpdateQuery::default()
        }),
    ];
    let mut results = Vec::new();
    for (label, query) in &filters {
        measure(&format!("updates list: {label}"), &mut results, || async {
            let page = c.list_updates(query).await.expect("list");
            (page.items.len(), format!("{} of {}", page.items.len(), page.total))
        })
        .await;
    }
    for group in ["All Computers", "Ring 01", "Unassigned Computers"] {
        let rq = sluice_api::ReportQuery { group: Some(group.into()), ..Default::default() };
        measure(&format!("compliance report: {group} (page of 1,000)"), &mut results, || async {
            let r = c.compliance_report(&rq).await.expect("report");
            (r.updates.len(), format!("{} computers, {} updates", r.computers, r.total))
        })
        .await;
    }
    for group in ["All Computers", "Ring 01"] {
        let rq = sluice_api::ReportQuery { group: Some(group.into()), ..Default::default() };
        measure(&format!("update report, most needed update: {group}"), &mut results, || async {
            let r = c.update_report(&most_needed, &rq).await.expect("report");
            (r.rows.len(), format!("{} of {} needing", r.rows.len(), r.total))
        })
        .await;
    }
    let first = store.computers_page(ComputerScope::All, 1, 0).await.expect("page")[0].info.id.clone();
    measure("computer report", &mut results, || async {
        let r = c.computer_report(&first).await.expect("report");
        (r.updates.len(), format!("{} updates", r.updates.len()))
    })
    .await;
    for (label, group, offset) in [
        ("computers list: page of 100", None, 0),
        ("computers list: page of 100 at offset 50,000", None, 50_000),
        ("computers list: Ring 01, page of 100", Some("Ring 01"), 0),
    ] {
        measure(label, &mut results, || async {
            let r = c.computers_page(group, 100, offset).await.expect("page");
            (r.len(), format!("{} computers", r.len()))
        })
        .await;
    }
    // A paged `GET /computers` also counts the computers of all pages.
    for group in [None, Some("Ring 01"), Some("Unassigned Computers")] {
        measure(&format!("computers total: {}", group.unwrap_or("All Computers")), &mut results, || async {
            let n = c.computers_total(group).await.expect("total");
            (n, format!("{n} computers"))
        })
        .await;
    }
    println!("{} on {}: {fleet} computers, {listed} updates", "admin_scale", if url.starts_with("sqlite") { "SQLite" } else { "PostgreSQL" });
    println!("| query | median | max | rows |");
    println!("| --- | --- | --- | --- |");
    for (label, median, max, note) in &results {
        println!("| {label} | {:.1} ms | {:.1} ms | {note} |", ms(*median), ms(*max));
    }
    let over: Vec<&str> = results.iter().filter(|r| r.2 > Duration::from_millis(200)).map(|r| r.0.as_str()).collect();
    if !over.is_empty() {
        println!("over 200 ms: {}", over.join("; "));
    }
}
