//! Finding updates, bulk approval and decline, and compliance reports over the admin API
//! (issue #10, items 3, 4 and 9), on the data set of `sluice_testkit::finding`: each filter
//! selects a set no other filter does, so a filter that stops working fails its own line.

use reqwest::Method;
use serde_json::{Value, json};
use sluice_testkit::finding::{SECURITY, WINDOWS_11, seed, update};
use sluice_testkit::server::TestServer;

struct Api<'a> {
    server: &'a TestServer,
    http: reqwest::Client,
}

impl Api<'_> {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut rb = self.http.request(method, self.server.api(path)).bearer_auth(&self.server.admin_token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text}")))
    }

    async fn get(&self, path: &str) -> Value {
        let (status, v) = self.call(Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {v}");
        v
    }

    /// The KB numbers (last digit) `GET /updates?{query}` lists, in its order.
    async fn kbs(&self, query: &str) -> Vec<u32> {
        let page = self.get(&format!("/updates?{query}")).await;
        let items = page["items"].as_array().unwrap();
        assert_eq!(page["total"].as_u64().unwrap() as usize >= items.len(), true);
        items
            .iter()
            .map(|u| u["kb_article"].as_str().unwrap().strip_prefix("500000").unwrap().parse().unwrap())
            .collect()
    }

    async fn kb_set(&self, query: &str) -> Vec<u32> {
        let mut v = self.kbs(query).await;
        v.sort();
        v
    }

    async fn error(&self, method: Method, path: &str, body: Option<Value>) -> (u16, String) {
        let (status, v) = self.call(method, path, body).await;
        let code = v["error"]["code"].as_str().unwrap_or_else(|| panic!("{path}: no error code in {v}")).to_string();
        (status, code)
    }

    async fn approvals(&self) -> Vec<(String, String)> {
        let list = self.get("/approvals").await;
        let mut v: Vec<(String, String)> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["update_id"].as_str().unwrap().to_string(), a["group"].as_str().unwrap().to_string()))
            .collect();
        v.sort();
        v
    }

    async fn audit_count(&self) -> usize {
        self.get("/audit?limit=1000").await.as_array().unwrap().len()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_update_filter_selects_its_own_updates() {
    let server = sluice_testkit::server::start().await;
    seed(&server).await;
    let api = Api { server: &server, http: reqwest::Client::new() };

    assert_eq!(api.kb_set("").await, [1, 2, 3, 4, 5]);
    assert_eq!(api.kb_set("text=office").await, [2, 5]);
    assert_eq!(api.kb_set("text=number%203").await, [3], "description");
    assert_eq!(api.kb_set("kb=KB5000003").await, [3]);
    assert_eq!(api.kb_set("classification=Security%20Updates").await, [1, 2, 5]);
    assert_eq!(api.kb_set(&format!("classification={SECURITY}")).await, [1, 2, 5]);
    assert_eq!(api.kb_set("product=Windows%2011").await, [1, 3, 4]);
    assert_eq!(api.kb_set(&format!("product={WINDOWS_11}")).await, [1, 3, 4]);
    assert_eq!(api.kb_set("product=Contoso").await, [1, 2, 3, 4, 5], "a company selects its products");
    assert_eq!(api.kb_set("msrc_severity=critical").await, [1]);
    assert_eq!(api.kb_set("msrc_severity=Important").await, [2]);
    assert_eq!(api.kb_set("approval=unapproved").await, [1, 2, 4]);
    assert_eq!(api.kb_set("approval=approved").await, [3]);
    assert_eq!(api.kb_set("approval=approved&group=Pilot").await, [3]);
    assert_eq!(api.kb_set("approval=approved&group=All%20Computers").await, Vec::<u32>::new());
    assert_eq!(api.kb_set("approval=declined").await, [5]);
    assert_eq!(api.kb_set("approval=not_declined").await, [1, 2, 3, 4]);
    assert_eq!(api.kb_set("superseded=true").await, [5]);
    assert_eq!(api.kb_set("superseded=false").await, [1, 2, 3, 4]);
    assert_eq!(api.kb_set("expired=true").await, [4]);
    assert_eq!(api.kb_set("expired=false").await, [1, 2, 3, 5]);
    assert_eq!(api.kb_set("needed=2").await, [1, 2]);
    assert_eq!(api.kb_set("needed=3").await, [2]);
    assert_eq!(api.kb_set("failed=1").await, [1, 3]);
    assert_eq!(api.kb_set("released_from=2026-02-01").await, [2, 3, 4]);
    assert_eq!(api.kb_set("released_to=2026-02-10").await, [1, 2, 5], "the end date is inclusive");
    assert_eq!(api.kb_set("released_from=2026-02-01&released_to=2026-03-10T08:00:00Z").await, [2, 3]);
    assert_eq!(api.kb_set("classification=Security%20Updates&needed=1").await, [1, 2], "filters combine");

    // Counts in the listing are the reported states.
    let page = api.get("/updates?kb=5000001").await;
    assert_eq!((page["items"][0]["needed"].as_i64(), page["items"][0]["failed"].as_i64()), (Some(2), Some(1)));
    assert_eq!(page["items"][0]["installed"], 1);
    assert_eq!(api.get("/updates?kb=5000005").await["items"][0]["declined"], true);

    // Sorted and paged, with the total of all pages.
    assert_eq!(api.kbs("").await, [4, 3, 2, 1, 5], "newest first by default");
    assert_eq!(api.kbs("sort=release").await, [5, 1, 2, 3, 4]);
    assert_eq!(api.kbs("sort=release&desc=true").await, [4, 3, 2, 1, 5]);
    assert_eq!(api.kbs("sort=title").await, [1, 4, 2, 5, 3]);
    assert_eq!(api.kbs("sort=kb&desc=true").await, [5, 4, 3, 2, 1]);
    assert_eq!(api.kbs("sort=needed&desc=true").await[..2], [2, 1]);
    assert_eq!(api.kbs("sort=failed&desc=true&limit=2").await.iter().copied().collect::<std::collections::BTreeSet<_>>(), [1, 3].into());
    let page = api.get("/updates?sort=kb&limit=2&offset=1").await;
    assert_eq!(page["total"], 5);
    assert_eq!((page["limit"].as_u64(), page["offset"].as_u64()), (Some(2), Some(1)));
    assert_eq!(api.kbs("sort=kb&limit=2&offset=1").await, [2, 3]);

    // Bad input: a JSON error with its code.
    let long = format!("text={}", "x".repeat(2000));
    let (s, c) = api.error(Method::GET, &format!("/updates?{long}"), None).await;
    assert_eq!((s, c.as_str()), (400, "invalid_request"));
    for (query, status, code) in [
        ("classification=Nope", 404, "not_found"),
        ("product=Nope", 404, "not_found"),
        ("approval=approved&group=Nope", 404, "not_found"),
        ("released_from=yesterday", 400, "invalid_request"),
        ("released_to=2026-13-01", 400, "invalid_request"),
        ("released_from=2026-03-01&released_to=2026-02-01", 400, "invalid_request"),
        ("limit=0", 400, "invalid_request"),
        ("limit=10001", 400, "invalid_request"),
        ("limit=-1", 400, "malformed_query"),
        ("msrc_severity=huge", 400, "invalid_request"),
        ("sort=colour", 400, "invalid_request"),
        ("needed=-1", 400, "invalid_request"),
        ("needed=many", 400, "malformed_query"),
        ("approval=maybe", 400, "invalid_request"),
        ("superseded=perhaps", 400, "malformed_query"),
        ("text=a%00b", 400, "invalid_request"),
        ("text=a%1Bb", 400, "invalid_request"),
    ] {
        let (s, c) = api.error(Method::GET, &format!("/updates?{query}"), None).await;
        assert_eq!((s, c.as_str()), (status, code), "{query}");
    }

    // Products and classifications by name, with ids and the sync selection.
    let products = api.get("/products").await;
    let names: Vec<&str> = products.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    // The product tree as WSUS shows it: companies and families are products too.
    assert_eq!(names, ["Contoso", "Office 2024", "Windows 11"]);
    assert_eq!(products[2]["id"], WINDOWS_11.to_string());
    assert!(products[0]["selected"].is_boolean());
    let classes = api.get("/classifications").await;
    let names: Vec<&str> = classes.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Critical Updates", "Security Updates"]);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_approval_and_decline_are_one_change_each_and_dry_runs_change_nothing() {
    let server = sluice_testkit::server::start().await;
    seed(&server).await;
    let api = Api { server: &server, http: reqwest::Client::new() };
    let (u1, u2, u3, u4, u5) = (update(1).to_string(), update(2).to_string(), update(3).to_string(), update(4).to_string(), update(5).to_string());
    let (status, _) = api.call(Method::POST, "/groups", Some(json!({"name": "Ring 2"}))).await;
    assert_eq!(status, 201);
    let before = api.approvals().await;
    let audit_before = api.audit_count().await;

    // Dry run: the changes are listed, nothing is stored, nothing audited.
    let body = json!({"updates": ["KB5000001", u2], "groups": ["Pilot", "Ring 2"], "dry_run": true});
    let (status, r) = api.call(Method::POST, "/approvals/bulk", Some(body)).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!((r["dry_run"].as_bool(), r["updates"].as_u64(), r["changed"].as_u64()), (Some(true), Some(2), Some(4)));
    assert_eq!(r["changes"][0]["before"], "none");
    assert_eq!(r["changes"][0]["after"], "install");
    assert_eq!(api.approvals().await, before);
    assert_eq!(api.audit_count().await, audit_before);

    // For real: four approvals, one audit entry.
    let body = json!({"updates": ["KB5000001", u2], "groups": ["Pilot", "Ring 2"]});
    let (status, r) = api.call(Method::POST, "/approvals/bulk", Some(body)).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["changed"], 4);
    let mut expected = before.clone();
    for u in [&u1, &u2] {
        for g in ["Pilot", "Ring 2"] {
            expected.push((u.clone(), g.to_string()));
        }
    }
    expected.sort();
    assert_eq!(api.approvals().await, expected);
    assert_eq!(api.audit_count().await, audit_before + 1);
    let entry = &api.get("/audit?limit=1").await[0];
    assert_eq!(entry["action"], "bulk-approve");
    assert!(entry["detail"].as_str().unwrap().contains(&u1), "{entry}");

    // A declined update named explicitly refuses the whole call: the other update named with
    // it is not approved either.
    let body = json!({"updates": [u4.clone(), u5.clone()], "groups": ["Ring 2"], "action": "not_approved"});
    let (status, code) = api.error(Method::POST, "/approvals/bulk", Some(body)).await;
    assert_eq!((status, code.as_str()), (409, "conflict"));
    assert_eq!(api.approvals().await, expected);
    assert_eq!(api.audit_count().await, audit_before + 1);

    // A filter leaves declined updates out: Security Updates needed somewhere are 1 and 2
    // (5 is declined and installed only).
    let body = json!({"filter": {"classification": "Security Updates"}, "groups": ["All Computers"], "dry_run": true});
    let (_, r) = api.call(Method::POST, "/approvals/bulk", Some(body)).await;
    let selected: Vec<&str> = r["changes"].as_array().unwrap().iter().map(|c| c["update_id"].as_str().unwrap()).collect();
    assert_eq!(selected.len(), 2, "{r}");
    assert!(selected.contains(&u1.as_str()) && selected.contains(&u2.as_str()));
    let body = json!({"filter": {"product": "Windows 11", "needed": 1, "expired": false}, "groups": ["All Computers"]});
    let (status, r) = api.call(Method::POST, "/approvals/bulk", Some(body)).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["updates"], 2, "1 and 3 are needed Windows 11 updates: {r}");
    assert_eq!(api.approvals().await.iter().filter(|(_, g)| g == "All Computers").count(), 2);

    // Bulk decline: dry run, then for real (approvals removed, one audit entry).
    let audit = api.audit_count().await;
    let body = json!({"filter": {"product": "Windows 11", "approval": "approved"}, "action": "decline", "dry_run": true});
    let (status, r) = api.call(Method::POST, "/approvals/bulk", Some(body)).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["updates"], 2);
    assert_eq!(api.kb_set("approval=declined").await, [5]);
    let body = json!({"updates": [u1.clone(), u3.clone()], "action": "decline"});
    let (status, r) = api.call(Method::POST, "/approvals/bulk", Some(body)).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["changed"], 2);
    assert!(!r["changes"][0]["removed_approvals"].as_array().unwrap().is_empty());
    assert_eq!(api.kb_set("approval=declined").await, [1, 3, 5]);
    assert!(api.approvals().await.iter().all(|(u, _)| u != &u1 && u != &u3));
    assert_eq!(api.audit_count().await, audit + 1);

    // Bad input: nothing stored.
    let now = api.approvals().await;
    for (body, status, code) in [
        (json!({"updates": [u2.clone()], "groups": ["Nope"]}), 404, "not_found"),
        (json!({"updates": ["KB999"], "groups": ["Pilot"]}), 404, "not_found"),
        (json!({"updates": [u2.clone()], "groups": []}), 400, "invalid_request"),
        (json!({"updates": [], "groups": ["Pilot"]}), 400, "invalid_request"),
        (json!({"updates": [u2.clone()], "filter": {"kb": "5000002"}, "groups": ["Pilot"]}), 400, "invalid_request"),
        (json!({"filter": {"classification": "Nope"}, "groups": ["Pilot"]}), 404, "not_found"),
        (json!({"updates": [u2.clone()], "groups": ["Pilot"], "action": "destroy"}), 400, "invalid_request"),
        (json!({"updates": [u2.clone()], "groups": ["Pilot"], "action": "decline"}), 400, "invalid_request"),
        (json!({"updates": [u2.clone()], "groups": ["Pilot"], "deadline": "soon"}), 400, "invalid_request"),
        (json!({"updates": [u2.clone()], "groups": "Pilot"}), 422, "invalid_body"),
    ] {
        let (s, c) = api.error(Method::POST, "/approvals/bulk", Some(body.clone())).await;
        assert_eq!((s, c.as_str()), (status, code), "{body}");
    }
    assert_eq!(api.approvals().await, now);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_reports_answer_json_and_csv() {
    let server = sluice_testkit::server::start().await;
    seed(&server).await;
    let api = Api { server: &server, http: reqwest::Client::new() };
    let row = |r: &Value, n: u128| -> Value {
        r["updates"].as_array().unwrap().iter().find(|u| u["update_id"] == update(n).to_string()).cloned().unwrap_or(Value::Null)
    };

    let all = api.get("/reports/compliance").await;
    assert_eq!((all["group"].as_str(), all["computers"].as_i64(), all["total"].as_i64()), (Some("All Computers"), Some(4), Some(4)));
    let order: Vec<&str> = all["updates"].as_array().unwrap().iter().map(|u| u["kb_article"].as_str().unwrap()).collect();
    assert_eq!(order, ["5000002", "5000001", "5000003", "5000005"], "most needed first; 4 is nowhere applicable");
    let u1 = row(&all, 1);
    assert_eq!(
        (u1["installed"].as_i64(), u1["needed"].as_i64(), u1["failed"].as_i64(), u1["not_reported"].as_i64()),
        (Some(1), Some(2), Some(1), Some(1))
    );
    assert_eq!(u1["title"], "Cumulative Update for Windows 11");

    let pilot = api.get("/reports/compliance?group=Pilot").await;
    assert_eq!((pilot["computers"].as_i64(), pilot["total"].as_i64()), (Some(2), Some(3)));
    let u1 = row(&pilot, 1);
    assert_eq!((u1["installed"].as_i64(), u1["needed"].as_i64(), u1["failed"].as_i64(), u1["not_reported"].as_i64()), (Some(0), Some(2), Some(1), Some(0)));
    assert_eq!(row(&pilot, 5), Value::Null, "pc-4 is not in Pilot");
    let unassigned = api.get("/reports/compliance?group=Unassigned%20Computers").await;
    assert_eq!(unassigned["computers"], 2);
    assert_eq!(row(&unassigned, 2)["needed"], 1, "pc-3");
    let paged = api.get("/reports/compliance?limit=1&offset=1").await;
    assert_eq!((paged["total"].as_i64(), paged["updates"].as_array().unwrap().len()), (Some(4), 1));
    assert_eq!(api.get("/reports/compliance?limit=5&offset=10").await["total"], 4);

    let needed = api.get("/reports/updates/KB5000001").await;
    let pcs: Vec<&str> = needed["rows"].as_array().unwrap().iter().map(|r| r["computer_id"].as_str().unwrap()).collect();
    assert_eq!(pcs, ["pc-1", "pc-2"]);
    assert_eq!((needed["total"].as_i64(), needed["not_reported"].as_i64()), (Some(2), Some(1)));
    let failed = api.get(&format!("/reports/updates/{}?state=failed", update(1))).await;
    assert_eq!(failed["rows"][0]["computer_id"], "pc-2");
    assert_eq!(failed["total"], 1);
    let installed_pilot = api.get("/reports/updates/KB5000001?state=installed&group=Pilot").await;
    assert_eq!((installed_pilot["computers"].as_i64(), installed_pilot["total"].as_i64()), (Some(2), Some(0)));

    let pc1 = api.get("/reports/computers/pc-1").await;
    assert_eq!((pc1["needed"].as_i64(), pc1["failed"].as_i64()), (Some(3), Some(1)));
    assert_eq!(pc1["groups"], json!(["Pilot"]));
    assert_eq!(pc1["updates"].as_array().unwrap().len(), 3);

    // CSV on request.
    for (path, header, lines) in [
        ("/reports/compliance?group=Pilot", "update_id,title,kb_article,installed,needed,failed,not_applicable,not_reported", 4),
        ("/reports/updates/KB5000001", "computer_id,dns_name,state,last_event_time", 3),
        ("/reports/computers/pc-1", "update_id,title,kb_article,state,last_event_time", 4),
    ] {
        let resp = api.http.get(server.api(path)).bearer_auth(&server.admin_token).header("Accept", "text/csv").send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/csv"), "{path}");
        let text = resp.text().await.unwrap();
        assert_eq!(text.lines().next(), Some(header), "{path}");
        assert_eq!(text.lines().count(), lines, "{path}: {text}");
    }
    let csv = api.http.get(server.api("/reports/compliance")).bearer_auth(&server.admin_token).header("Accept", "text/csv").send().await.unwrap().text().await.unwrap();
    assert!(csv.contains(&format!("{},Cumulative Update for Windows 11,5000001,1,2,1,0,1", update(1))), "{csv}");

    // Paged computers.
    let page = api.get("/computers?limit=2&offset=1").await;
    let ids: Vec<&str> = page.as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["pc-2", "pc-3"]);
    assert_eq!(page[0]["groups"], json!(["Pilot"]));
    assert_eq!(api.get("/computers?group=Pilot&limit=10").await.as_array().unwrap().len(), 2);
    // A page says how many computers all pages hold.
    for (path, total) in [("/computers?limit=2&offset=1", "4"), ("/computers?group=Pilot&offset=1", "2"), ("/computers?group=Unassigned%20Computers&limit=1", "2")] {
        let resp = api.http.get(server.api(path)).bearer_auth(&server.admin_token).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["x-total-count"], total, "{path}");
    }

    for (path, status, code) in [
        ("/reports/compliance?group=Nope", 404, "not_found"),
        ("/reports/compliance?limit=0", 400, "invalid_request"),
        ("/reports/updates/KB999", 404, "not_found"),
        ("/reports/updates/KB5000001?state=bored", 400, "invalid_request"),
        ("/reports/computers/nobody", 404, "not_found"),
        ("/computers?limit=0", 400, "invalid_request"),
        ("/computers?limit=20000", 400, "invalid_request"),
    ] {
        let (s, c) = api.error(Method::GET, path, None).await;
        assert_eq!((s, c.as_str()), (status, code), "{path}");
    }
    server.shutdown().await.unwrap();
}
