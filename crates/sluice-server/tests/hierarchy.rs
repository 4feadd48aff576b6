//! A three-server hierarchy, all real, on loopback: a root that publishes and approves, an
//! autonomous downstream (own approvals) and a replica downstream (groups, approvals and
//! declines mirrored from the root), simulated Windows clients behind both downstreams, the
//! rollup of those clients back to the root, and delta syncs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sluice_agent::agent::{Agent, Evaluator, MachineState};
use sluice_agent::profile::{Profile, RulesEvaluator};
use sluice_catalog::api::{ApprovalRequest, CreateGroupRequest, PublishFile, PublishRequest};
use sluice_server::RunningServer;
use sluice_store::{ALL_COMPUTERS_GROUP, ApprovalAction, InstallState};
use sluice_sync::SyncSettingsExt;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Publishes an update whose file is `len` bytes derived from `seed`; returns its id.
async fn publish(root: &RunningServer, title: &str, seed: u8, len: usize) -> Uuid {
    use sha1::Digest as _;
    let payload: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
    let req = PublishRequest {
        title: title.into(),
        product: Some("Contoso Hierarchy".into()),
        file: Some(PublishFile {
            name: format!("{}.exe", title.to_lowercase().replace(' ', "-")),
            size: payload.len() as u64,
            sha1: hex::encode(sha1::Sha1::digest(&payload)),
            sha256: hex::encode(sha2::Sha256::digest(&payload)),
        }),
        ..Default::default()
    };
    let detail = root.state.catalog.publish(req, std::io::Cursor::new(payload)).await.unwrap();
    root.state.scan.invalidate();
    Uuid::parse_str(&detail.summary.update_id).unwrap()
}

fn agent(base: &str, name: &str) -> Agent {
    let profile = Profile::builtin();
    let ev: Arc<dyn Evaluator> = Arc::new(RulesEvaluator::new(&profile));
    Agent::new(base, profile.computer_info(name), ev, MachineState { computer_id: Uuid::new_v4().to_string(), ..Default::default() })
}

fn approval(update: Uuid, group: &str) -> ApprovalRequest {
    ApprovalRequest { update: update.to_string(), group: group.into(), action: None, deadline: None, accept_license: false }
}

async fn configure(dss: &RunningServer, root: &RunningServer, mode: sluice_sync::SyncMode, selection: &[Uuid]) {
    sluice_sync::SyncSettings {
        upstream: format!("http://{}", root.client_addr),
        mode,
        storage: sluice_sync::StorageMode::All,
        products: selection.to_vec(),
        classifications: selection.to_vec(),
        ..Default::default()
    }
    .save(&dss.state.store)
    .await
    .unwrap();
}

async fn sync(dss: &RunningServer) -> sluice_sync::SyncReport {
    let r = sluice_sync::run_sync(&dss.state.catalog, None, &CancellationToken::new()).await.expect("sync from the root");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.rollup_error, None);
    dss.state.scan.invalidate();
    r
}

/// What the downstream behind [`counting_proxy`] asked for and was told.
#[derive(Default)]
struct Counts {
    /// Revision ids the upstream listed in GetRevisionIdList answers.
    listed: AtomicUsize,
    /// Update ids the downstream requested with GetUpdateData.
    requested: AtomicUsize,
}

/// A transparent HTTP proxy in front of `upstream` that decodes the server-sync messages
/// passing through and counts revision ids.
async fn counting_proxy(upstream: String) -> (sluice_testkit::http::Served, Arc<Counts>) {
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{HeaderMap, Method, Uri};
    let counts = Arc::new(Counts::default());
    let http = reqwest::Client::new();
    async fn forward(
        State((http, upstream, counts)): State<(reqwest::Client, String, Arc<Counts>)>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> axum::response::Response {
        let mut req = http.request(method, format!("{upstream}{}", uri.path_and_query().map_or("/", |p| p.as_str())));
        for (k, v) in &headers {
            if k != "host" && k != "accept-encoding" && k != "content-length" {
                req = req.header(k, v);
            }
        }
        let action = headers.get("soapaction").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        if action.ends_with("/GetUpdateData\"")
            && let Ok(sluice_wsusss::Request::GetUpdateData(r)) = sluice_wsusss::decode_request(&body)
        {
            counts.requested.fetch_add(r.update_ids.len(), Ordering::SeqCst);
        }
        let resp = req.body(body).send().await.unwrap();
        let status = resp.status();
        let mut out_headers = HeaderMap::new();
        for (k, v) in resp.headers() {
            if k != "content-length" && k != "transfer-encoding" {
                out_headers.insert(k.clone(), v.clone());
            }
        }
        let bytes = resp.bytes().await.unwrap();
        if action.ends_with("/GetRevisionIdList\"")
            && let Ok(sluice_wsusss::Response::GetRevisionIdList(l)) =
                sluice_wsusss::decode_response(sluice_wsusss::Operation::GetRevisionIdList, &bytes)
        {
            counts.listed.fetch_add(l.new_revisions.len(), Ordering::SeqCst);
        }
        let mut r = axum::response::Response::new(axum::body::Body::from(bytes));
        *r.status_mut() = axum::http::StatusCode::from_u16(status.as_u16()).unwrap();
        *r.headers_mut() = out_headers;
        r
    }
    let app = axum::Router::new().fallback(forward).with_state((http, upstream, counts.clone()));
    (sluice_testkit::http::serve(app).await, counts)
}

fn offered(r: &sluice_agent::agent::ScanReport, update: Uuid, action: &str) -> bool {
    r.offered.iter().any(|o| o.update_id.eq_ignore_ascii_case(&update.to_string()) && o.action == action)
}

fn has(list: &[String], update: Uuid) -> bool {
    list.iter().any(|u| u.eq_ignore_ascii_case(&update.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_autonomous_and_replica() {
    let root = sluice_testkit::server::start().await;
    let auto = sluice_testkit::server::start().await;
    let replica = sluice_testkit::server::start().await;

    // The root: three updates, a group tree, an approval, a decline.
    let a = publish(&root, "Root Approved", 1, 50_000).await;
    let b = publish(&root, "Locally Approved", 2, 30_000).await;
    let c = publish(&root, "Declined Upstream", 3, 10_000).await;
    let rc = &root.state.catalog;
    let pilot = rc.create_group(&CreateGroupRequest { name: "Pilot".into(), parent: None }).await.unwrap();
    let ring = rc.create_group(&CreateGroupRequest { name: "Pilot Ring 2".into(), parent: Some("Pilot".into()) }).await.unwrap();
    rc.approve(&approval(a, "All Computers"), "root-admin").await.unwrap();
    rc.approve(
        &ApprovalRequest { deadline: Some("2031-01-01T00:00:00Z".into()), ..approval(b, "Pilot Ring 2") },
        "root-admin",
    )
    .await
    .unwrap();
    rc.decline(&c.to_string(), "root-admin").await.unwrap();
    root.state.scan.invalidate();
    // Product and classification of the published updates: the downstreams' selection.
    let rev = root.state.store.latest_revision(a).await.unwrap().unwrap();
    let selection = root.state.store.revision_categories(rev.id).await.unwrap();
    assert_eq!(selection.len(), 2, "{selection:?}");

    let retired = rc.create_group(&CreateGroupRequest { name: "Retired".into(), parent: Some("Pilot".into()) }).await.unwrap();
    // A group the replica had before it became one: the upstream's tree replaces it.
    replica.state.catalog.create_group(&CreateGroupRequest { name: "Old Local".into(), parent: None }).await.unwrap();

    configure(&auto, &root, sluice_sync::SyncMode::Autonomous, &selection).await;
    configure(&replica, &root, sluice_sync::SyncMode::Replica, &selection).await;
    let ra = sync(&auto).await;
    let rr = sync(&replica).await;
    for r in [&ra, &rr] {
        assert!(r.new_revisions >= 3, "{r:?}");
        assert_eq!(r.downloaded, 3, "{r:?}");
    }

    // The replica mirrors groups (ids, names, tree), approvals (action, deadline), declines.
    let rs = &replica.state.store;
    let groups = rs.list_groups().await.unwrap();
    let g_pilot = groups.iter().find(|g| g.id.to_string() == pilot.id).expect("Pilot mirrored by id");
    assert_eq!(g_pilot.name, "Pilot");
    assert_eq!(g_pilot.parent_id, Some(ALL_COMPUTERS_GROUP));
    let g_ring = groups.iter().find(|g| g.id.to_string() == ring.id).expect("ring mirrored by id");
    assert_eq!((g_ring.name.as_str(), g_ring.parent_id), ("Pilot Ring 2", Some(g_pilot.id)));
    assert!(groups.iter().any(|g| g.id.to_string() == retired.id));
    assert!(!groups.iter().any(|g| g.name == "Old Local"), "{groups:?}");
    assert_eq!(groups.len(), 5, "two built-in groups and the root's three: {groups:?}");
    let approvals = rs.all_approvals().await.unwrap();
    assert_eq!(approvals.len(), 2, "{approvals:?}");
    let ap_a = approvals.iter().find(|x| x.update_id == a).unwrap();
    assert_eq!((ap_a.group_id, ap_a.action), (ALL_COMPUTERS_GROUP, ApprovalAction::Install));
    let ap_b = approvals.iter().find(|x| x.update_id == b).unwrap();
    assert_eq!(ap_b.group_id, g_ring.id);
    assert_eq!(ap_b.deadline.map(|d| d.year()), Some(2031));
    assert!(rs.is_declined(c).await.unwrap());
    assert_eq!(rr.approvals_mirrored, 2);
    // The autonomous downstream took none of it.
    let as_ = &auto.state.store;
    assert!(as_.all_approvals().await.unwrap().is_empty());
    assert!(!as_.is_declined(c).await.unwrap());
    assert!(!as_.list_groups().await.unwrap().iter().any(|g| g.name == "Pilot"));

    // Local changes on the replica are refused, with the reason.
    let cat = &replica.state.catalog;
    let refused = [
        cat.approve(&approval(b, "All Computers"), "local").await.err(),
        cat.remove_approval(&a.to_string(), "All Computers").await.err(),
        cat.decline(&a.to_string(), "local").await.err(),
        cat.undecline(&c.to_string()).await.err(),
        cat.create_group(&CreateGroupRequest { name: "Local".into(), parent: None }).await.err(),
        cat.delete_group("Pilot").await.err(),
    ];
    let upstream_url = format!("http://{}", root.client_addr);
    for e in refused {
        let msg = e.expect("refused on a replica").to_string();
        assert!(msg.contains(&format!("this server is a replica of {upstream_url}: approvals come from it")), "{msg}");
    }
    // The same through the replica's admin API: 409 with the reason.
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("http://{}/api/v1/approvals", replica.admin_addr))
        .bearer_auth(&replica.admin_token)
        .json(&serde_json::json!({ "update": b.to_string(), "group": "All Computers" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 409);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("approvals come from it"), "{body}");
    assert_eq!(rs.all_approvals().await.unwrap().len(), 2, "nothing changed");

    // The autonomous downstream approves B itself.
    auto.state.catalog.approve(&approval(b, "All Computers"), "branch-admin").await.unwrap();
    auto.state.scan.invalidate();

    // Clients of the replica: A offered for install, downloaded from the replica's /Content,
    // verified, installed and reported; B (approved for a group they are not in) and C not.
    let replica_base = format!("http://{}", replica.client_addr);
    let mut r1 = agent(&replica_base, "r1.branch.test");
    let scan = r1.scan(true).await.unwrap();
    assert!(offered(&scan, a, "Install"), "{:?}", scan.offered);
    assert!(!offered(&scan, b, "Install") && !offered(&scan, c, "Install"), "{:?}", scan.offered);
    assert!(has(&scan.installed, a) && !has(&scan.installed, b), "{scan:?}");
    assert!(scan.downloaded.iter().any(|d| d.update_id.eq_ignore_ascii_case(&a.to_string())), "{:?}", scan.downloaded);
    assert!(scan.failed.is_empty(), "{:?}", scan.failed);
    // The location handed out for A's file is the replica's own /Content/.
    let c1 = r1.state.cookie.clone().unwrap();
    let rev_a = r1.state.revisions.iter().find(|(_, r)| r.update_id.eq_ignore_ascii_case(&a.to_string())).map(|(i, _)| *i).unwrap();
    let soap = sluice_agent::wire::soap_client();
    let ext = sluice_agent::requests::get_extended_update_info(&c1, &[rev_a], "en-US", "A=1;");
    let (el, _, _) = sluice_agent::wire::send(&soap, &replica_base, &ext, "x.1").await.unwrap();
    let url = sluice_agent::wire::text_at(&el, &["GetExtendedUpdateInfoResult", "FileLocations", "FileLocation", "Url"]).unwrap();
    assert!(url.starts_with(&format!("{replica_base}/Content/")), "{url}");
    let mut r2 = agent(&replica_base, "r2.branch.test");
    assert!(has(&r2.scan(true).await.unwrap().installed, a));
    let st = rs.status_for_computer(&r1.state.computer_id).await.unwrap();
    assert!(st.iter().any(|s| s.update_id == a && s.state == InstallState::Installed), "{st:?}");
    // The file came from the replica itself: the root never served it to a client.
    let root_computers = root.state.store.list_computers(None).await.unwrap();
    assert!(root_computers.is_empty(), "clients talked only to their downstream");

    // Clients of the autonomous downstream: B (local approval), not A (the root's).
    let auto_base = format!("http://{}", auto.client_addr);
    let mut a1 = agent(&auto_base, "a1.branch.test");
    let scan = a1.scan(true).await.unwrap();
    assert!(offered(&scan, b, "Install") && !offered(&scan, a, "Install"), "{:?}", scan.offered);
    assert!(has(&scan.installed, b) && !has(&scan.installed, a), "{scan:?}");

    // The next syncs roll the downstreams, their computers and their states up to the root.
    let before = replica.state.catalog.approvals_version().await.unwrap();
    let again = sync(&replica).await;
    assert_eq!((again.new_revisions, again.rolled_up_computers), (0, 2));
    assert_eq!(replica.state.store.all_approvals().await.unwrap().len(), 2, "an unchanged upstream changes nothing");
    assert!(replica.state.catalog.approvals_version().await.unwrap() >= before);
    // The autonomous downstream's scheduler timer path: a rollup outside a sync (one
    // computer, a state for each of the three updates it evaluated).
    let rolled = sluice_sync::rollup_now(&auto.state.catalog).await.unwrap().expect("an upstream to report to");
    assert_eq!((rolled.detailed, rolled.computers, rolled.statuses), (true, 1, 3), "{rolled:?}");
    let status = auto.state.store.setting(sluice_store::settings::ROLLUP_STATUS).await.unwrap().unwrap();
    assert!(status.ok, "{status:?}");
    let downstreams = root.state.store.list_downstreams().await.unwrap();
    assert_eq!(downstreams.len(), 2, "{downstreams:?}");
    let replica_id = downstreams.iter().find(|d| d.is_replica == Some(true)).expect("the replica").id;
    let auto_id = downstreams.iter().find(|d| d.is_replica == Some(false)).expect("the autonomous downstream").id;
    let installed = |server: Uuid, update: Uuid| {
        let store = root.state.store.clone();
        async move {
            let mut n = 0;
            for comp in store.list_downstream_computers(Some(server)).await.unwrap() {
                let st = store.downstream_computer_status(server, &comp.computer_id).await.unwrap();
                n += st.iter().filter(|s| s.update_id == update && s.summarization_state == 5).count();
            }
            n
        }
    };
    assert_eq!(root.state.store.list_downstream_computers(Some(replica_id)).await.unwrap().len(), 2);
    assert_eq!(root.state.store.list_downstream_computers(Some(auto_id)).await.unwrap().len(), 1);
    assert_eq!(installed(replica_id, a).await, 2);
    assert_eq!(installed(replica_id, b).await, 0);
    assert_eq!(installed(auto_id, b).await, 1);
    assert_eq!(installed(auto_id, a).await, 0);
    // The root's admin view (`sluice downstreams list`): both downstreams, their mode, their
    // computers and the states those reported.
    let resp = http
        .get(format!("http://{}/api/v1/downstreams", root.admin_addr))
        .bearer_auth(&root.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let view: serde_json::Value = resp.json().await.unwrap();
    let list = view.as_array().unwrap();
    assert_eq!(list.len(), 2, "{view}");
    let by_mode = |m: &str| list.iter().find(|d| d["mode"] == m).unwrap_or_else(|| panic!("{m} in {view}")).clone();
    let (vr, va) = (by_mode("replica"), by_mode("autonomous"));
    assert_eq!(vr["computers"].as_array().unwrap().len(), 2, "{vr}");
    for comp in vr["computers"].as_array().unwrap() {
        assert_eq!(comp["update_states"]["installed"], 1, "{comp}");
    }
    assert_eq!(va["computers"][0]["update_states"]["installed"], 1, "{va}");
    assert_eq!(va["computers"][0]["update_states"]["not_installed"], 2, "{va}");
    assert_eq!(vr["summary"]["server"]["computer_target_count"], 2, "{vr}");

    // Delta: a new update on the root, approved; A's approval withdrawn there. Only the new
    // revision travels, the withdrawn approval disappears from the replica (DeadDeployments).
    let d = publish(&root, "Second Wave", 4, 20_000).await;
    rc.approve(&approval(d, "Pilot"), "root-admin").await.unwrap();
    rc.remove_approval(&a.to_string(), "All Computers").await.unwrap();
    rc.delete_group("Retired").await.unwrap();
    root.state.scan.invalidate();
    let delta = sync(&replica).await;
    assert_eq!((delta.new_revisions, delta.downloaded), (1, 1), "{delta:?}");
    let approvals = rs.all_approvals().await.unwrap();
    let pairs: Vec<(Uuid, Uuid)> = approvals.iter().map(|x| (x.update_id, x.group_id)).collect();
    assert!(pairs.contains(&(d, g_pilot.id)), "{pairs:?}");
    assert!(pairs.contains(&(b, g_ring.id)), "{pairs:?}");
    assert!(!pairs.iter().any(|(u, _)| *u == a), "withdrawn upstream: {pairs:?}");
    let groups = rs.list_groups().await.unwrap();
    assert!(!groups.iter().any(|g| g.id.to_string() == retired.id), "deleted upstream: {groups:?}");
    assert_eq!(groups.len(), 4);
    // The autonomous downstream syncs through a proxy that counts what crosses the wire: the
    // root lists only the new revision (anchors), and only its id is asked for.
    let (proxy, counts) = counting_proxy(root.client_url()).await;
    let mut s = sluice_sync::SyncSettings::load(&auto.state.store).await.unwrap();
    s.upstream = proxy.url();
    s.save(&auto.state.store).await.unwrap();
    let delta = sync(&auto).await;
    assert_eq!((delta.new_revisions, delta.downloaded), (1, 1), "{delta:?}");
    assert_eq!(counts.listed.load(Ordering::SeqCst), 1, "revision ids listed by the root in the delta sync");
    assert_eq!(counts.requested.load(Ordering::SeqCst), 1, "update ids requested with GetUpdateData");
    // Without anchors the root lists everything again (the control for the counts above);
    // nothing is fetched because everything is already stored.
    for k in [sluice_store::settings::SYNC_ANCHOR_CONFIG, sluice_store::settings::SYNC_ANCHOR_UPDATES] {
        auto.state.store.clear(k).await.unwrap();
    }
    let full = sync(&auto).await;
    assert_eq!(full.new_revisions, 0);
    assert!(counts.listed.load(Ordering::SeqCst) > 1 + 4, "a full listing names every revision");
    assert_eq!(counts.requested.load(Ordering::SeqCst), 1, "already stored: nothing requested");
    assert_eq!(auto.state.store.all_approvals().await.unwrap().len(), 1, "autonomous keeps its own approval");

    replica.shutdown().await.unwrap();
    auto.shutdown().await.unwrap();
    root.shutdown().await.unwrap();
}

/// `sluice sync configure --upstream URL [--replica]` and nothing else, through the admin API
/// as the CLI does it (read the settings, change two keys, store them back).
async fn configure_like_wsus(dss: &RunningServer, root: &RunningServer, replica: bool) {
    let http = reqwest::Client::new();
    let url = format!("http://{}/api/v1/sync/settings", dss.admin_addr);
    let mut s: serde_json::Value = http.get(&url).bearer_auth(&dss.admin_token).send().await.unwrap().json().await.unwrap();
    s["upstream"] = serde_json::json!(format!("http://{}", root.client_addr));
    if replica {
        s["mode"] = serde_json::json!("replica");
    }
    let resp = http.put(&url).bearer_auth(&dss.admin_token).json(&s).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let saved: serde_json::Value = resp.json().await.unwrap();
    assert_eq!((saved["products"].as_array().map(Vec::len), saved["classifications"].as_array().map(Vec::len)), (Some(0), Some(0)));
}

/// Issue #8, item 8: downstream servers configured the way a WSUS administrator configures
/// them (upstream and mode only, no products or classifications) take what the root offers;
/// the replica's clients install the root's approved update.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_8_downstreams_configured_with_only_upstream_and_mode() {
    let root = sluice_testkit::server::start().await;
    let auto = sluice_testkit::server::start().await;
    let replica = sluice_testkit::server::start().await;

    let a = publish(&root, "Root Approved", 11, 40_000).await;
    let b = publish(&root, "Not Approved", 12, 20_000).await;
    root.state.catalog.approve(&approval(a, "All Computers"), "root-admin").await.unwrap();
    root.state.scan.invalidate();

    configure_like_wsus(&auto, &root, false).await;
    configure_like_wsus(&replica, &root, true).await;
    let ra = sync(&auto).await;
    let rr = sync(&replica).await;
    // A product, a classification and both updates: not just the two categories.
    for (r, s) in [(&ra, &auto), (&rr, &replica)] {
        assert_eq!(r.new_revisions, 4, "{r:?}");
        for u in [a, b] {
            assert!(s.state.store.latest_revision(u).await.unwrap().is_some(), "{u} synchronised");
        }
    }
    // Default storage (approved): the replica fetched the file of the approved update only.
    assert_eq!((rr.approvals_mirrored, rr.downloaded), (1, 1), "{rr:?}");
    assert_eq!((ra.approvals_mirrored, ra.downloaded), (0, 0), "{ra:?}");

    // The status names the inherited selection.
    let status = sluice_sync::status(&replica.state.store).await.unwrap();
    let eff = &status.effective;
    assert!(eff.products.from_upstream && eff.classifications.from_upstream, "{eff:?}");
    let names: Vec<Option<&str>> = eff.products.items.iter().map(|i| i.name.as_deref()).collect();
    assert_eq!(names, [Some("Contoso Hierarchy")]);
    assert_eq!(eff.classifications.items.len(), 1, "{eff:?}");

    // The replica's clients install the root's approved update, from the replica.
    let replica_base = format!("http://{}", replica.client_addr);
    let mut r1 = agent(&replica_base, "r1.item8.test");
    let scan = r1.scan(true).await.unwrap();
    assert!(offered(&scan, a, "Install") && !offered(&scan, b, "Install"), "{:?}", scan.offered);
    assert!(has(&scan.installed, a), "{scan:?}");
    assert!(scan.failed.is_empty(), "{:?}", scan.failed);
    let st = replica.state.store.status_for_computer(&r1.state.computer_id).await.unwrap();
    assert!(st.iter().any(|s| s.update_id == a && s.state == InstallState::Installed), "{st:?}");
    // The autonomous downstream has the updates but not the root's approval.
    assert!(auto.state.store.all_approvals().await.unwrap().is_empty());

    // Later syncs are deltas of the unfiltered list: a new update on the root travels alone.
    let c = publish(&root, "Second Wave", 13, 10_000).await;
    root.state.scan.invalidate();
    let (proxy, counts) = counting_proxy(root.client_url()).await;
    let mut s = sluice_sync::SyncSettings::load(&auto.state.store).await.unwrap();
    s.upstream = proxy.url();
    s.save(&auto.state.store).await.unwrap();
    let delta = sync(&auto).await;
    assert_eq!(delta.new_revisions, 1, "{delta:?}");
    assert!(auto.state.store.latest_revision(c).await.unwrap().is_some());
    assert_eq!(counts.listed.load(Ordering::SeqCst), 1, "only the new revision is listed");
    assert_eq!(counts.requested.load(Ordering::SeqCst), 1);

    replica.shutdown().await.unwrap();
    auto.shutdown().await.unwrap();
    root.shutdown().await.unwrap();
}
