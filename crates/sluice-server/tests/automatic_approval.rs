//! Automatic approval rules and WSUS's two automatic options (issue #10, item 5), over real
//! HTTP against a running server with a real SQLite store: rules are set up through the admin
//! API, updates arrive through the XML import route, and what was approved is read back.

use serde_json::{Value, json};
use sluice_testkit::server::TestServer;
use uuid::Uuid;

const SECURITY_UPDATES: &str = "0fa1201d-4330-4fa8-8ae9-b877473b6441";
const UPDATES: &str = "cd5ffd1e-e932-4e3a-bf74-18bf0b1bbd83";

struct Api {
    server: TestServer,
    http: reqwest::Client,
}

impl Api {
    async fn start() -> Api {
        Api { server: sluice_testkit::server::start().await, http: reqwest::Client::new() }
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

    async fn get(&self, path: &str) -> Value {
        let (status, v) = self.call(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "{v}");
        v
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn import(&self, docs: &[(Uuid, String)]) {
        let documents: Vec<Value> = docs.iter().map(|(id, xml)| json!({ "name": format!("{id}.xml"), "xml": xml })).collect();
        let (status, v) = self.post("/updates/import", json!({ "documents": documents })).await;
        assert_eq!(status, 200, "{v}");
    }

    async fn approvals_of(&self, update: Uuid) -> Vec<Value> {
        self.get(&format!("/approvals?update={update}")).await.as_array().unwrap().clone()
    }

    async fn audit_actions(&self) -> Vec<(String, String, String)> {
        let v = self.get("/audit").await;
        let entries = v.as_array().cloned().or_else(|| v["entries"].as_array().cloned()).unwrap_or_default();
        entries
            .iter()
            .map(|e| {
                (
                    e["user"].as_str().unwrap_or_default().to_string(),
                    e["action"].as_str().unwrap_or_default().to_string(),
                    e["target"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }
}

/// A software update of `classification`, as Microsoft's metadata names it: a prerequisite
/// group of categories.
fn update_xml(id: Uuid, revision: u32, classification: &str, state: &str, extra_localized: &str) -> String {
    format!(
        r#"<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"><upd:UpdateIdentity UpdateID="{id}" RevisionNumber="{revision}" /><upd:Properties UpdateType="Software" ExplicitlyDeployable="true" PublicationState="{state}" CreationDate="2026-01-01T00:00:00Z"></upd:Properties><upd:LocalizedPropertiesCollection><upd:LocalizedProperties><upd:Language>en</upd:Language><upd:Title>Update {id}</upd:Title></upd:LocalizedProperties>{extra_localized}</upd:LocalizedPropertiesCollection><upd:Relationships><upd:Prerequisites><upd:AtLeastOne IsCategory="true"><upd:UpdateIdentity UpdateID="{classification}" /></upd:AtLeastOne></upd:Prerequisites></upd:Relationships></upd:Update>"#
    )
}

const EULA_FILE: &str = r#"<upd:EulaFile Language="en"><upd:File FileName="eula-en.txt" Digest="AAECAwQFBgcICQoLDA0ODxAREhM=" Size="2048" /></upd:EulaFile>"#;

async fn create_group(api: &Api, name: &str) {
    let (status, v) = api.post("/groups", json!({ "name": name })).await;
    assert_eq!(status, 201, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_security_rule_approves_a_newly_imported_security_update_and_not_an_update() {
    let api = Api::start().await;
    create_group(&api, "G").await;
    let (status, rule) = api
        .post(
            "/approval-rules",
            json!({ "name": "Security to G", "classifications": ["Security Updates"], "groups": ["G"],
                    "deadline": { "days": 3, "time": "04:30" } }),
        )
        .await;
    assert_eq!(status, 201, "{rule}");
    assert_eq!(rule["classifications"][0]["id"], SECURITY_UPDATES, "names are stored as ids");
    assert_eq!(rule["groups"][0]["name"], "G");
    assert_eq!(rule["owner"], "admin");

    let security = Uuid::new_v4();
    let plain = Uuid::new_v4();
    let licensed = Uuid::new_v4();
    api.import(&[
        (security, update_xml(security, 100, SECURITY_UPDATES, "Published", "")),
        (plain, update_xml(plain, 100, UPDATES, "Published", "")),
        (licensed, update_xml(licensed, 100, SECURITY_UPDATES, "Published", EULA_FILE)),
    ])
    .await;

    let approved = api.approvals_of(security).await;
    assert_eq!(approved.len(), 1, "{approved:?}");
    assert_eq!(approved[0]["group"], "G");
    assert_eq!(approved[0]["action"], "install");
    assert_eq!(approved[0]["approved_by"], "rule:Security to G");
    let deadline = approved[0]["deadline"].as_str().unwrap();
    assert!(deadline.ends_with("T04:30:00Z"), "{deadline}");
    assert!(api.approvals_of(plain).await.is_empty(), "an 'Updates' update is not a security update");

    // License terms are accepted on the rule owner's behalf, as WSUS's automatic approval does,
    // and the acceptance says so.
    let approved = api.approvals_of(licensed).await;
    assert_eq!(approved.len(), 1, "{approved:?}");
    let eula = api.server.state.store.latest_revision(licensed).await.unwrap().unwrap().license.unwrap().eula_key.unwrap();
    let acceptance = api.server.state.store.eula_acceptance(eula).await.unwrap().unwrap();
    assert_eq!(acceptance.accepted_by, "admin (automatic approval rule 'Security to G')");

    // One audit entry for the rule's run on the import, besides the import's own.
    let audit = api.audit_actions().await;
    let runs: Vec<_> = audit.iter().filter(|(_, action, _)| action == "rule-run").collect();
    assert_eq!(runs.len(), 1, "{audit:?}");
    assert_eq!(runs[0].0, "rule:Security to G");

    // Re-importing changes nothing, and a disabled rule does not run on import.
    let (status, v) = api.call(reqwest::Method::PATCH, "/approval-rules/Security to G", Some(json!({ "enabled": false }))).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["enabled"], false);
    let later = Uuid::new_v4();
    api.import(&[(later, update_xml(later, 100, SECURITY_UPDATES, "Published", ""))]).await;
    assert!(api.approvals_of(later).await.is_empty());

    // On demand, over the whole catalog: approves what the rule covers and nothing declined.
    let declined = Uuid::new_v4();
    api.import(&[(declined, update_xml(declined, 100, SECURITY_UPDATES, "Published", ""))]).await;
    let (status, v) = api.post(&format!("/updates/{declined}/decline"), json!({})).await;
    assert_eq!(status, 200, "{v}");
    let (status, run) = api.post("/approval-rules/Security to G/run", json!({})).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["matched"], 4, "{run}");
    assert_eq!(run["approved"].as_array().unwrap().len(), 1, "{run}");
    assert_eq!(run["approved"][0]["update_id"], later.to_string());
    assert_eq!(run["unchanged"], 2, "{run}");
    assert_eq!(run["skipped"][0]["update_id"], declined.to_string(), "{run}");
    assert_eq!(run["skipped"][0]["reason"], "declined");
    assert!(api.approvals_of(declined).await.is_empty(), "a declined update is never approved by a rule");
    assert!(api.approvals_of(plain).await.is_empty());

    let (status, v) = api.call(reqwest::Method::DELETE, "/approval-rules/Security to G", None).await;
    assert_eq!(status, 200, "{v}");
    assert!(api.get("/approval-rules").await.as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rules_are_refused_with_a_code_and_nothing_is_stored() {
    let api = Api::start().await;
    create_group(&api, "G").await;
    let cases = [
        (json!({ "name": "r", "classifications": ["Nonsense Updates"], "groups": ["G"] }), 404, "not_found"),
        (json!({ "name": "r", "products": ["No Such Product"], "groups": ["G"] }), 404, "not_found"),
        (json!({ "name": "r", "classifications": ["Security Updates"], "groups": ["Nowhere"] }), 404, "not_found"),
        (json!({ "name": "r", "classifications": ["Security Updates"], "plan": "No Plan" }), 404, "not_found"),
        (json!({ "name": "r", "classifications": ["Security Updates"] }), 400, "invalid_request"),
        (json!({ "name": "", "groups": ["G"] }), 400, "invalid_request"),
        (json!({ "name": "r\u{7}", "groups": ["G"] }), 400, "invalid_request"),
        (json!({ "name": "x".repeat(300), "groups": ["G"] }), 400, "invalid_request"),
        (json!({ "name": "r", "groups": ["G"], "deadline": { "days": 1, "time": "25:00" } }), 400, "invalid_request"),
        (json!({ "name": "r", "groups": ["G"], "deadline": { "days": 1000, "time": "03:00" } }), 400, "invalid_request"),
        (json!({ "name": "r", "groups": ["G"], "colour": "red" }), 422, "invalid_body"),
    ];
    for (body, status, code) in cases {
        let (got, v) = api.post("/approval-rules", body.clone()).await;
        assert_eq!((got, v["error"]["code"].as_str()), (status, Some(code)), "{body} → {v}");
    }
    assert!(api.get("/approval-rules").await.as_array().unwrap().is_empty(), "nothing stored");

    let (status, _) = api.post("/approval-rules", json!({ "name": "Once", "groups": ["G"] })).await;
    assert_eq!(status, 201);
    let (status, v) = api.post("/approval-rules", json!({ "name": "once", "groups": ["G"] })).await;
    assert_eq!((status, v["error"]["code"].as_str()), (409, Some("conflict")), "{v}");
    // A name that is another rule's id is still a new name.
    let (status, v) = api.post("/approval-rules", json!({ "name": "1", "groups": ["G"] })).await;
    assert_eq!(status, 201, "{v}");
    let (status, v) = api.call(reqwest::Method::DELETE, "/approval-rules/1", None).await;
    assert_eq!((status, v["name"].as_str()), (200, Some("1")), "a name is matched before an id: {v}");
    let (status, v) = api.post("/approval-rules/nope/run", json!({})).await;
    assert_eq!((status, v["error"]["code"].as_str()), (404, Some("not_found")), "{v}");
    assert_eq!(api.get("/approval-rules").await.as_array().unwrap().len(), 1);
    let creates = api.audit_actions().await.into_iter().filter(|(_, a, _)| a == "rule-create").count();
    assert_eq!(creates, 2, "one audit entry per change, none for refusals");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_revisions_keep_or_lose_approvals_as_the_option_says() {
    let api = Api::start().await;
    create_group(&api, "G").await;
    assert_eq!(api.get("/settings/auto-approval").await, json!({ "approve_new_revisions": true, "decline_expired": true }));

    let kept = Uuid::new_v4();
    let withdrawn = Uuid::new_v4();
    api.import(&[
        (kept, update_xml(kept, 100, UPDATES, "Published", "")),
        (withdrawn, update_xml(withdrawn, 100, UPDATES, "Published", "")),
    ])
    .await;
    for u in [kept, withdrawn] {
        let (status, v) = api.post("/approvals", json!({ "update": u.to_string(), "group": "G" })).await;
        assert_eq!(status, 200, "{v}");
    }
    // On (WSUS's default): the new revision is approved as the update was.
    api.import(&[(kept, update_xml(kept, 101, UPDATES, "Published", ""))]).await;
    assert_eq!(api.approvals_of(kept).await.len(), 1);

    let (status, v) = api
        .call(reqwest::Method::PUT, "/settings/auto-approval", Some(json!({ "approve_new_revisions": false, "decline_expired": true })))
        .await;
    assert_eq!(status, 200, "{v}");
    api.import(&[(withdrawn, update_xml(withdrawn, 101, UPDATES, "Published", ""))]).await;
    assert!(api.approvals_of(withdrawn).await.is_empty(), "the new revision waits for an administrator");
    assert!(api.audit_actions().await.iter().any(|(_, a, t)| a == "revision-unapprove" && *t == withdrawn.to_string()));
    // Re-importing the same revision is not a new revision.
    let (status, _) = api.post("/approvals", json!({ "update": withdrawn.to_string(), "group": "G" })).await;
    assert_eq!(status, 200);
    api.import(&[(withdrawn, update_xml(withdrawn, 101, UPDATES, "Published", ""))]).await;
    assert_eq!(api.approvals_of(withdrawn).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_updates_are_declined_after_a_sync_when_the_option_is_on() {
    let api = Api::start().await;
    create_group(&api, "G").await;
    let expiring = Uuid::new_v4();
    let live = Uuid::new_v4();
    api.import(&[
        (expiring, update_xml(expiring, 100, UPDATES, "Published", "")),
        (live, update_xml(live, 100, UPDATES, "Published", "")),
    ])
    .await;
    let (status, _) = api.post("/approvals", json!({ "update": expiring.to_string(), "group": "G" })).await;
    assert_eq!(status, 200);
    // Microsoft expires an update with a new revision whose publication state is Expired.
    api.import(&[(expiring, update_xml(expiring, 101, UPDATES, "Expired", ""))]).await;

    // What the sync engine calls once a sync completed.
    let declined = api.server.state.catalog.decline_expired().await.unwrap();
    assert_eq!(declined, [expiring]);
    let store = &api.server.state.store;
    assert!(store.is_declined(expiring).await.unwrap());
    assert!(!store.is_declined(live).await.unwrap());
    assert!(api.approvals_of(expiring).await.is_empty(), "declining drops its approvals");
    assert!(api.audit_actions().await.iter().any(|(_, a, _)| a == "decline-expired"));

    let (status, _) = api
        .call(reqwest::Method::PUT, "/settings/auto-approval", Some(json!({ "approve_new_revisions": true, "decline_expired": false })))
        .await;
    assert_eq!(status, 200);
    let other = Uuid::new_v4();
    api.import(&[(other, update_xml(other, 100, UPDATES, "Expired", ""))]).await;
    assert!(api.server.state.catalog.decline_expired().await.unwrap().is_empty());
    assert!(!store.is_declined(other).await.unwrap());
}
