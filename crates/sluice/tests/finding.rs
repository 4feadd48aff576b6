//! `sluice updates list` filters, `products|classifications list`, bulk `approve`/`decline` and
//! `sluice report` end to end: the real CLI against a real server holding the data set of
//! `sluice_testkit::finding`, so each flag that stops reaching the API fails its own line.


use sluice_testkit::finding::{seed, update};

mod common;

use common::Cli;


impl Cli {
    /// KB numbers (last digit) `updates list --json ARGS` lists, in order.
    async fn kbs(&self, args: &[&str]) -> Vec<u32> {
        let mut all = vec!["updates", "list", "--json"];
        all.extend_from_slice(args);
        let page = self.parsed(&all).await;
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["kb_article"].as_str().unwrap().strip_prefix("500000").unwrap().parse().unwrap())
            .collect()
    }

    async fn kb_set(&self, args: &[&str]) -> Vec<u32> {
        let mut v = self.kbs(args).await;
        v.sort();
        v
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_filters_categories_bulk_approval_and_reports_from_the_cli() {
    let server = sluice_testkit::server::start().await;
    seed(&server).await;
    let cli = Cli { server: server.admin_url(), token: server.admin_token.clone() };

    assert_eq!(cli.kb_set(&[]).await, [1, 2, 3, 4, 5]);
    assert_eq!(cli.kb_set(&["--text", "office"]).await, [2, 5]);
    assert_eq!(cli.kb_set(&["--kb", "KB5000003"]).await, [3]);
    assert_eq!(cli.kb_set(&["--classification", "Security Updates"]).await, [1, 2, 5]);
    assert_eq!(cli.kb_set(&["--product", "Windows 11"]).await, [1, 3, 4]);
    assert_eq!(cli.kb_set(&["--severity", "critical"]).await, [1]);
    assert_eq!(cli.kb_set(&["--approval", "unapproved"]).await, [1, 2, 4]);
    assert_eq!(cli.kb_set(&["--approval", "approved"]).await, [3]);
    assert_eq!(cli.kb_set(&["--approval", "declined"]).await, [5]);
    assert_eq!(cli.kb_set(&["--approval", "not-declined"]).await, [1, 2, 3, 4]);
    assert_eq!(cli.kb_set(&["--approved-for", "Pilot"]).await, [3]);
    assert_eq!(cli.kb_set(&["--approved-for", "All Computers"]).await, Vec::<u32>::new());
    assert_eq!(cli.kb_set(&["--superseded"]).await, [5]);
    assert_eq!(cli.kb_set(&["--not-superseded"]).await, [1, 2, 3, 4]);
    assert_eq!(cli.kb_set(&["--expired"]).await, [4]);
    assert_eq!(cli.kb_set(&["--not-expired"]).await, [1, 2, 3, 5]);
    assert_eq!(cli.kb_set(&["--needed"]).await, [1, 2, 3]);
    assert_eq!(cli.kb_set(&["--needed", "3"]).await, [2]);
    assert_eq!(cli.kb_set(&["--failed"]).await, [1, 3]);
    assert_eq!(cli.kb_set(&["--released-from", "2026-02-01"]).await, [2, 3, 4]);
    assert_eq!(cli.kb_set(&["--released-to", "2026-02-10"]).await, [1, 2, 5]);
    assert_eq!(cli.kbs(&["--sort", "kb", "--desc"]).await, [5, 4, 3, 2, 1]);
    assert_eq!(cli.kbs(&["--sort", "title"]).await, [1, 4, 2, 5, 3]);
    assert_eq!(cli.kbs(&["--sort", "release", "--limit", "2", "--offset", "1"]).await, [1, 2]);
    let page = cli.parsed(&["updates", "list", "--json", "--limit", "2"]).await;
    assert_eq!(page["total"], 5);
    let table = cli.ok(&["updates", "list", "--limit", "2", "--offset", "2", "--sort", "kb"]).await;
    assert!(table.contains("3-4 of 5 update(s)") && table.contains("Windows 11 reliability fix"), "{table}");
    let why = cli.fails(&["updates", "list", "--classification", "Nope"]).await;
    assert!(why.contains("classification 'Nope'") && why.contains("404"), "{why}");
    let why = cli.fails(&["updates", "list", "--released-from", "last week"]).await;
    assert!(why.contains("last week"), "{why}");

    let products = cli.parsed(&["products", "list", "--json"]).await;
    let names: Vec<&str> = products.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Contoso", "Office 2024", "Windows 11"]);
    let classes = cli.ok(&["classifications", "list"]).await;
    assert!(classes.contains("Security Updates") && classes.contains("Critical Updates"), "{classes}");

    // Bulk approval: a dry run prints and changes nothing; then for real.
    let store = &server.state.store;
    let approvals = store.all_approvals().await.unwrap().len();
    let dry = cli
        .parsed(&["approve", "--kb", "5000001", "--kb", "KB5000002", "--group", "Pilot", "--group", "All Computers", "--dry-run", "--json"])
        .await;
    assert_eq!((dry["dry_run"].as_bool(), dry["changed"].as_u64()), (Some(true), Some(4)));
    let human = cli.ok(&["approve", "--kb", "5000001", "--group", "Pilot", "--dry-run"]).await;
    assert!(human.contains("dry run: nothing changed"), "{human}");
    assert_eq!(store.all_approvals().await.unwrap().len(), approvals);
    cli.ok(&["approve", "--kb", "5000001", "--kb", "5000002", "--group", "Pilot", "--group", "All Computers"]).await;
    assert_eq!(store.all_approvals().await.unwrap().len(), approvals + 4);
    let by_filter = cli
        .parsed(&["approve", "--product", "Windows 11", "--needed", "--not-expired", "--group", "Unassigned Computers", "--json"])
        .await;
    assert_eq!(by_filter["updates"], 2, "{by_filter}");
    let why = cli.fails(&["approve", &update(5).to_string(), &update(4).to_string(), "--group", "Pilot"]).await;
    assert!(why.contains("declined"), "{why}");
    let single = cli.parsed(&["approve", &update(2).to_string(), "--group", "Unassigned Computers", "--json"]).await;
    assert_eq!(single["group"], "Unassigned Computers", "one update for one group keeps the single answer");

    // Bulk decline.
    let dry = cli.ok(&["decline", "--expired", "--dry-run"]).await;
    assert!(dry.contains(&update(4).to_string()) && dry.contains("would"), "{dry}");
    assert!(!store.is_declined(update(4)).await.unwrap());
    cli.ok(&["decline", "--kb", "5000004", "--kb", "5000003"]).await;
    assert!(store.is_declined(update(4)).await.unwrap() && store.is_declined(update(3)).await.unwrap());
    cli.ok(&["undecline", &update(3).to_string()]).await;
    assert!(!store.is_declined(update(3)).await.unwrap());

    // Reports.
    let pilot = cli.parsed(&["report", "compliance", "--group", "Pilot", "--format", "json"]).await;
    assert_eq!((pilot["computers"].as_i64(), pilot["total"].as_i64()), (Some(2), Some(3)));
    let csv = cli.ok(&["report", "compliance", "--format", "csv"]).await;
    assert_eq!(csv.lines().next(), Some("update_id,title,kb_article,installed,needed,failed,not_applicable,not_reported"));
    assert_eq!(csv.lines().count(), 5, "{csv}");
    let failed = cli.parsed(&["report", "update", "KB5000001", "--state", "failed", "--format", "json"]).await;
    assert_eq!(failed["rows"][0]["computer_id"], "pc-2");
    let table = cli.ok(&["report", "update", "KB5000001", "--group", "Pilot"]).await;
    assert!(table.contains("pc-1.contoso.test") && table.contains("2 of 2 computer(s) needed"), "{table}");
    let computer = cli.ok(&["report", "computer", "pc-1"]).await;
    assert!(computer.contains("groups Pilot") && computer.contains("Office Security Update"), "{computer}");
    let csv = cli.ok(&["report", "computer", "pc-1", "--format", "csv"]).await;
    assert_eq!(csv.lines().count(), 4, "{csv}");
    let why = cli.fails(&["report", "compliance", "--group", "Nope"]).await;
    assert!(why.contains("Nope"), "{why}");
    server.shutdown().await.unwrap();
}
