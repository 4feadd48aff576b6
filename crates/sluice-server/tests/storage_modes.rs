//! Where clients are sent for files, by storage mode: from this server once a file is here,
//! or straight to Microsoft Update in mode `none` (`sluice sync configure --storage none`).

use std::sync::Arc;

use sluice_agent::agent::{Agent, Evaluator, MachineState};
use sluice_agent::profile::{Profile, RulesEvaluator};
use sluice_agent::requests;
use sluice_store::FileState;

const MU_URL: &str = "http://download.windowsupdate.com/c/msdownload/update/software/contoso-agent.exe";

fn agent(base: &str, state: MachineState) -> Agent {
    let profile = Profile::builtin();
    let ev: Arc<dyn Evaluator> = Arc::new(RulesEvaluator::new(&profile));
    Agent::new(base, profile.computer_info("storage.sluice.test"), ev, state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_are_sent_here_or_to_microsoft_update() {
    let server = sluice_testkit::server::start().await;
    let st = &server.state;
    // A published update (its file verified into the content store), approved for everyone.
    let payload = vec![7u8; 4096];
    use sha1::Digest as _;
    let sha1 = hex::encode(sha1::Sha1::digest(&payload));
    let sha256 = hex::encode(sha2::Sha256::digest(&payload));
    let req = sluice_catalog::api::PublishRequest {
        title: "Contoso Agent".into(),
        file: Some(sluice_catalog::api::PublishFile { name: "contoso-agent.exe".into(), size: 4096, sha1: sha1.clone(), sha256 }),
        ..Default::default()
    };
    let detail = st.catalog.publish(req, std::io::Cursor::new(payload)).await.unwrap();
    let update = detail.summary.update_id.to_uppercase();
    let all = sluice_store::ALL_COMPUTERS_GROUP;
    st.store.set_approval(uuid::Uuid::parse_str(&update).unwrap(), all, sluice_store::ApprovalAction::Install, None, "test").await.unwrap();
    st.store.set_file_mu_url(&sha1, MU_URL).await.unwrap();
    st.scan.invalidate();
    let base = server.client_url();

    let location = |a: &mut Agent| {
        let c = a.state.cookie.clone().unwrap();
        let id = a.state.revisions.iter().find(|(_, r)| r.update_id == update).map(|(i, _)| *i).unwrap();
        requests::get_extended_update_info(&c, &[id], "en-US", "A=1;")
    };
    let url_of = |el: &sluice_xml::Element| -> String {
        sluice_agent::wire::text_at(el, &["GetExtendedUpdateInfoResult", "FileLocations", "FileLocation", "Url"]).unwrap()
    };

    // Files kept here (the default mode) and present: offered, and fetched from this server.
    let mut a = agent(&base, MachineState { computer_id: uuid::Uuid::new_v4().to_string(), ..Default::default() });
    let r = a.scan(false).await.unwrap();
    assert!(r.offered.iter().any(|o| o.update_id == update && o.action == "Install"), "{:?}", r.offered);
    let soap = sluice_agent::wire::soap_client();
    let (el, _, _) = sluice_agent::wire::send(&soap, &base, &location(&mut a), "x.1").await.unwrap();
    assert!(url_of(&el).starts_with(&format!("http://{}/Content/", server.client_addr)), "{}", url_of(&el));

    // Not downloaded yet (approved-files mode before the download job ran): not offered.
    st.store.set_file_state(&sha1, FileState::Absent).await.unwrap();
    st.scan.invalidate();
    let mut b = agent(&base, MachineState { computer_id: uuid::Uuid::new_v4().to_string(), ..Default::default() });
    let r = b.scan(false).await.unwrap();
    assert!(r.offered.iter().any(|o| o.update_id == update && o.action == "PreDeploymentCheck"), "{:?}", r.offered);

    // Mode none: nothing is stored here, clients go to Microsoft Update.
    st.store.set(sluice_store::settings::STORAGE_MODE, &sluice_store::StorageMode::None).await.unwrap();
    st.scan.invalidate();
    let mut c = agent(&base, MachineState { computer_id: uuid::Uuid::new_v4().to_string(), ..Default::default() });
    let r = c.scan(false).await.unwrap();
    assert!(r.offered.iter().any(|o| o.update_id == update && o.action == "Install"), "{:?}", r.offered);
    let (el, _, _) = sluice_agent::wire::send(&soap, &base, &location(&mut c), "x.2").await.unwrap();
    assert_eq!(url_of(&el), MU_URL);
    server.shutdown().await.unwrap();
}
