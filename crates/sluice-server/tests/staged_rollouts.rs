//! Staged rollouts (issue #10, item 6) against a running server: plans and rollouts through
//! the admin API, simulated Windows clients registering and reporting Installed or Failed over
//! the client port's SOAP services, and the server's rollout evaluation driven with an injected
//! clock (`sluice_server::admin_rollouts::evaluate_rollouts`, which the background task calls
//! every minute with the real one).

use serde_json::{Value, json};
use sluice_agent::profile::Profile;
use sluice_agent::requests::{self, CookieText, Event};
use sluice_agent::wire::{self, child, text_at};
use sluice_testkit::server::TestServer;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

struct Harness {
    server: TestServer,
    http: reqwest::Client,
    soap: wire::SoapClient,
}

/// A registered simulated client.
struct Client {
    id: String,
    cookie: CookieText,
}

const RFC3339: &time::format_description::well_known::Rfc3339 = &time::format_description::well_known::Rfc3339;

impl Harness {
    async fn start() -> Harness {
        Harness { server: sluice_testkit::server::start().await, http: reqwest::Client::new(), soap: wire::soap_client() }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method, self.server.api(path)).bearer_auth(&self.server.admin_token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        let (status, v) = self.call(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "{v}");
        v
    }

    async fn soap(&self, call: &requests::SoapCall) -> sluice_xml::Element {
        wire::send(&self.soap, &self.server.client_url(), call, "cv.1").await.unwrap().0
    }

    /// A Windows client as the agent starts: configuration, cookie, registration; then the
    /// administrator puts it in `group`.
    async fn client(&self, name: &str, group: &str) -> Client {
        let id = Uuid::new_v4().to_string();
        let config = self.soap(&requests::get_config()).await;
        let last_change = text_at(&config, &["GetConfigResult", "LastChange"]).unwrap();
        let dns = format!("{name}.contoso.test");
        let auth = self.soap(&requests::get_authorization_cookie(&id, None, &dns)).await;
        let data = text_at(&auth, &["GetAuthorizationCookieResult", "CookieData"]).unwrap();
        let now = OffsetDateTime::now_utc().format(RFC3339).unwrap();
        let c = self.soap(&requests::get_cookie(&data, None, &last_change, &now)).await;
        let el = child(&c, "GetCookieResult").unwrap();
        let cookie = CookieText { expiration: text_at(el, &["Expiration"]).unwrap(), encrypted_data: text_at(el, &["EncryptedData"]).unwrap() };
        self.soap(&requests::register_computer(&cookie, &Profile::builtin().computer_info(&dns))).await;
        let (status, v) = self.post(&format!("/computers/{id}/move"), json!({ "groups": [group] })).await;
        assert_eq!(status, 200, "{v}");
        Client { id, cookie }
    }

    /// The client reports the installation of `update` as succeeded (event 183) or failed (182).
    async fn report(&self, c: &Client, update: Uuid, ok: bool) {
        let now = OffsetDateTime::now_utc().format(RFC3339).unwrap();
        let event = Event {
            event_id: if ok { 183 } else { 182 },
            update: Some((update.to_string(), 100)),
            hresult: if ok { 0 } else { -2145124329 },
            replacement_strings: Vec::new(),
            misc: Vec::new(),
            time: now.clone(),
        };
        self.soap(&requests::report_event_batch(&c.cookie, &c.id, &now, &[event], "Contoso", "PC")).await;
    }

    async fn import(&self, id: Uuid) {
        let xml = format!(
            r#"<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"><upd:UpdateIdentity UpdateID="{id}" RevisionNumber="100" /><upd:Properties UpdateType="Software" ExplicitlyDeployable="true" PublicationState="Published" CreationDate="2026-01-01T00:00:00Z"></upd:Properties><upd:LocalizedPropertiesCollection><upd:LocalizedProperties><upd:Language>en</upd:Language><upd:Title>Rollout {id}</upd:Title></upd:LocalizedProperties></upd:LocalizedPropertiesCollection></upd:Update>"#
        );
        let (status, v) = self.post("/updates/import", json!({ "documents": [{ "name": "u.xml", "xml": xml }] })).await;
        assert_eq!(status, 200, "{v}");
    }

    async fn approved_groups(&self, update: Uuid) -> Vec<String> {
        let v = self.get(&format!("/approvals?update={update}")).await;
        let mut g: Vec<String> = v.as_array().unwrap().iter().map(|a| a["group"].as_str().unwrap().to_string()).collect();
        g.sort();
        g
    }

    async fn rollout_of(&self, update: Uuid) -> Value {
        let all = self.get("/rollouts").await;
        all.as_array().unwrap().iter().find(|r| r["update_id"] == update.to_string()).cloned().expect("a rollout of the update")
    }

    async fn evaluate(&self, at: OffsetDateTime) -> usize {
        sluice_server::admin_rollouts::evaluate_rollouts(&self.server.state, at).await.unwrap().len()
    }
}

fn started_at(rollout: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(rollout["ring_started_at"].as_str().unwrap(), RFC3339).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_moves_ring_by_ring_on_time_and_halts_on_failures() {
    let h = Harness::start().await;
    for g in ["Pilot", "Ring 1"] {
        let (status, v) = h.post("/groups", json!({ "name": g })).await;
        assert_eq!(status, 201, "{v}");
    }
    let (status, plan) = h
        .post(
            "/rollout-plans",
            json!({ "name": "Monthly", "max_failure": "25%",
                    "rings": [{ "group": "Pilot", "soak": "2d" }, { "group": "Ring 1", "soak": "3d" }, { "group": "All Computers", "soak": "0d" }] }),
        )
        .await;
    assert_eq!(status, 201, "{plan}");
    assert_eq!(plan["max_failure_basis_points"], 2500);
    assert_eq!(plan["rings"][1]["soak_secs"], 3 * 86_400);

    let pilot = [h.client("pilot1", "Pilot").await, h.client("pilot2", "Pilot").await];
    let ring1 = [
        h.client("ring1a", "Ring 1").await,
        h.client("ring1b", "Ring 1").await,
        h.client("ring1c", "Ring 1").await,
        h.client("ring1d", "Ring 1").await,
    ];

    let update = Uuid::new_v4();
    h.import(update).await;
    let (status, started) = h.post("/rollouts", json!({ "plan": "monthly", "updates": [update.to_string()] })).await;
    assert_eq!(status, 201, "{started}");
    assert_eq!(h.approved_groups(update).await, ["Pilot"], "approved for ring 1 only");
    let r = h.rollout_of(update).await;
    assert_eq!((r["ring"].as_u64(), r["state"].as_str()), (Some(1), Some("running")));
    let t0 = started_at(&r);

    // The pilot installs it; one of the later rings' computers already failed it, which does
    // not count for the pilot.
    for c in &pilot {
        h.report(c, update, true).await;
    }
    h.report(&ring1[3], update, false).await;
    let r = h.rollout_of(update).await;
    assert_eq!((r["installed"].as_u64(), r["failed"].as_u64()), (Some(2), Some(0)), "{r}");

    // Not before the soak time, even with every report in.
    assert_eq!(h.evaluate(t0 + Duration::days(1)).await, 0);
    assert_eq!(h.evaluate(t0 + Duration::days(2) - Duration::seconds(1)).await, 0);
    assert_eq!(h.approved_groups(update).await, ["Pilot"]);
    assert_eq!(h.rollout_of(update).await["reason"], "soaking in 'Pilot'");

    // On time: the pilot passed (0 % failed).
    let t1 = t0 + Duration::days(2);
    assert_eq!(h.evaluate(t1).await, 1);
    assert_eq!(h.approved_groups(update).await, ["Pilot", "Ring 1"]);
    let r = h.rollout_of(update).await;
    assert_eq!((r["ring"].as_u64(), r["ring_group"].as_str(), r["state"].as_str()), (Some(2), Some("Ring 1"), Some("running")));
    assert_eq!(started_at(&r), t1, "the ring's soak time starts at the promotion");

    // Ring 1: 2 installed, 2 failed = 50 %, over the 25 % allowed: halted once soaked, with
    // the reason shown, and the last ring is not approved.
    h.report(&ring1[0], update, true).await;
    h.report(&ring1[1], update, true).await;
    h.report(&ring1[2], update, false).await;
    assert_eq!(h.evaluate(t1 + Duration::days(3) - Duration::seconds(1)).await, 0);
    assert_eq!(h.evaluate(t1 + Duration::days(3)).await, 1);
    let r = h.rollout_of(update).await;
    assert_eq!(r["state"], "halted", "{r}");
    let reason = r["reason"].as_str().unwrap();
    assert!(reason.contains("2 of 4") && reason.contains("'Ring 1'") && reason.contains("25%"), "{reason}");
    assert_eq!(h.approved_groups(update).await, ["Pilot", "Ring 1"]);
    // A halted rollout stays halted.
    assert_eq!(h.evaluate(t1 + Duration::days(30)).await, 0);

    // The administrator skips the ring: the last ring is approved and the rollout completes.
    let id = r["id"].as_i64().unwrap();
    let (status, v) = h.post(&format!("/rollouts/{id}/skip"), json!({})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["state"], "completed");
    assert_eq!(h.approved_groups(update).await, ["All Computers", "Pilot", "Ring 1"]);
    let (status, v) = h.post(&format!("/rollouts/{id}/abort"), json!({})).await;
    assert_eq!((status, v["error"]["code"].as_str()), (409, Some("conflict")), "{v}");

    // Every move is in the audit log.
    let audit = h.get("/audit").await;
    let actions: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in ["rollout-plan-create", "rollout-start", "rollout-promote", "rollout-halt", "rollout-skip"] {
        assert_eq!(actions.iter().filter(|x| **x == a).count(), 1, "{a}: {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_abort_rules_on_plans_and_bad_input() {
    let h = Harness::start().await;
    let (status, v) = h.post("/groups", json!({ "name": "Pilot" })).await;
    assert_eq!(status, 201, "{v}");
    let ring = |g: &str, s: &str| json!({ "group": g, "soak": s });
    let bad = [
        (json!({ "name": "p", "max_failure": "5%", "rings": [] }), 400, "invalid_request"),
        (json!({ "name": "p", "max_failure": "5%", "rings": [ring("Nowhere", "1d")] }), 404, "not_found"),
        (json!({ "name": "p", "max_failure": "5%", "rings": [ring("Pilot", "1d"), ring("pilot", "2d")] }), 400, "invalid_request"),
        (json!({ "name": "p", "max_failure": "101%", "rings": [ring("Pilot", "1d")] }), 400, "invalid_request"),
        (json!({ "name": "p", "max_failure": "-5%", "rings": [ring("Pilot", "1d")] }), 400, "invalid_request"),
        (json!({ "name": "p", "max_failure": "5%", "rings": [ring("Pilot", "two days")] }), 400, "invalid_request"),
        (json!({ "name": "", "max_failure": "5%", "rings": [ring("Pilot", "1d")] }), 400, "invalid_request"),
        (json!({ "name": "p", "max_failure": 5, "rings": [ring("Pilot", "1d")] }), 422, "invalid_body"),
    ];
    for (body, status, code) in bad {
        let (got, v) = h.post("/rollout-plans", body.clone()).await;
        assert_eq!((got, v["error"]["code"].as_str()), (status, Some(code)), "{body} → {v}");
    }
    assert!(h.get("/rollout-plans").await.as_array().unwrap().is_empty(), "nothing stored");

    let plan = json!({ "name": "Fast", "max_failure": "0%", "rings": [ring("Pilot", "1h"), ring("All Computers", "0d")] });
    assert_eq!(h.post("/rollout-plans", plan.clone()).await.0, 201);
    let (status, v) = h.post("/rollout-plans", plan).await;
    assert_eq!((status, v["error"]["code"].as_str()), (409, Some("conflict")), "{v}");

    let update = Uuid::new_v4();
    h.import(update).await;
    for (body, status) in [
        (json!({ "plan": "Nope", "updates": [update.to_string()] }), 404),
        (json!({ "plan": "Fast", "updates": [Uuid::new_v4().to_string()] }), 404),
        (json!({ "plan": "Fast", "updates": ["not-a-guid"] }), 400),
        (json!({ "plan": "Fast", "updates": [] }), 400),
    ] {
        let (got, v) = h.post("/rollouts", body.clone()).await;
        assert_eq!(got, status, "{body} → {v}");
    }
    assert!(h.get("/rollouts").await.as_array().unwrap().is_empty());

    // A rule that names a plan puts new updates on it instead of approving groups.
    let (status, v) = h.post("/approval-rules", json!({ "name": "Everything staged", "plan": "Fast" })).await;
    assert_eq!(status, 201, "{v}");
    let (status, v) = h.post("/rollout-plans/Fast", json!({})).await;
    assert_eq!(status, 405, "{v}");
    let (status, v) = h.call(reqwest::Method::DELETE, "/rollout-plans/Fast", None).await;
    assert_eq!((status, v["error"]["code"].as_str()), (409, Some("conflict")), "a rule names it: {v}");
    let staged = Uuid::new_v4();
    h.import(staged).await;
    assert_eq!(h.approved_groups(staged).await, ["Pilot"]);
    let r = h.rollout_of(staged).await;
    assert_eq!((r["plan"].as_str(), r["started_by"].as_str()), (Some("Fast"), Some("rule:Everything staged")));
    let (status, v) = h.post("/rollouts", json!({ "plan": "Fast", "updates": [staged.to_string()] })).await;
    assert_eq!((status, v["error"]["code"].as_str()), (409, Some("conflict")), "already on a plan: {v}");

    // No computer in the pilot has reported: after the soak time the rollout waits, visibly.
    let t0 = started_at(&r);
    assert_eq!(h.evaluate(t0 + Duration::hours(5)).await, 0);
    let r = h.rollout_of(staged).await;
    assert_eq!(r["state"], "running");
    assert!(r["reason"].as_str().unwrap().contains("no computer in 'Pilot' has reported"), "{r}");

    // One failure of one at 0 % halts; resume restarts the soak time; abort stops it for good.
    let pc = h.client("pilot1", "Pilot").await;
    h.report(&pc, staged, false).await;
    assert_eq!(h.evaluate(t0 + Duration::hours(5)).await, 1);
    let id = h.rollout_of(staged).await["id"].as_i64().unwrap();
    assert_eq!(h.rollout_of(staged).await["state"], "halted");
    let (status, v) = h.post(&format!("/rollouts/{id}/resume"), json!({})).await;
    assert_eq!((status, v["state"].as_str()), (200, Some("running")), "{v}");
    let (status, v) = h.post(&format!("/rollouts/{id}/resume"), json!({})).await;
    assert_eq!((status, v["error"]["code"].as_str()), (409, Some("conflict")), "{v}");
    let (status, v) = h.post(&format!("/rollouts/{id}/abort"), json!({})).await;
    assert_eq!((status, v["state"].as_str()), (200, Some("aborted")), "{v}");
    assert_eq!(h.evaluate(t0 + Duration::days(30)).await, 0);
    assert_eq!(h.approved_groups(staged).await, ["Pilot"], "aborting keeps what was approved");
    let (status, v) = h.post("/rollouts/999/skip", json!({})).await;
    assert_eq!((status, v["error"]["code"].as_str()), (404, Some("not_found")), "{v}");
    let (status, v) = h.post("/rollouts/abc/skip", json!({})).await;
    assert_eq!((status, v["error"]["code"].as_str()), (400, Some("malformed_path")), "{v}");

    // Once no rule names it and nothing is on it, the plan can go.
    assert_eq!(h.call(reqwest::Method::DELETE, "/approval-rules/Everything staged", None).await.0, 200);
    let (status, v) = h.call(reqwest::Method::DELETE, "/rollout-plans/Fast", None).await;
    assert_eq!(status, 200, "{v}");
    assert!(h.get("/rollout-plans").await.as_array().unwrap().is_empty());
}
