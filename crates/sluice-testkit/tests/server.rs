//! The in-process starter really serves: the client listener answers the native client's
//! GetConfig, the admin API answers with the token and refuses without it, a restart keeps
//! the data, and a shutdown closes the listeners. (The binary starter is exercised by the
//! `sluice` package's suites, which alone can name the built binary.)

use sluice_testkit::server::Setup;

const GET_CONFIG_ACTION: &str = "\"http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/GetConfig\"";

fn get_config_body() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/wsus-native/wsus-m0-native/scan/000001/request.body");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_started_server_answers_clients_and_the_admin_api() {
    let server = sluice_testkit::server::start().await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();

    let r = http
        .post(format!("{}/ClientWebService/client.asmx", server.client_url()))
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("SOAPAction", GET_CONFIG_ACTION)
        .body(get_config_body())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.contains("GetConfigResult") && text.contains("<LastChange>"), "{text}");

    assert!(!server.token().is_empty());
    let updates = server.api("/updates");
    assert_eq!(http.get(&updates).send().await.unwrap().status(), 401);
    assert_eq!(http.get(&updates).bearer_auth("forged").send().await.unwrap().status(), 401);
    assert_eq!(http.get(&updates).bearer_auth(server.token()).send().await.unwrap().status(), 200);

    assert!(server.data_dir().starts_with(server.dir()));
    assert!(server.data_dir().join("sluice.db").exists());
    assert_eq!(server.data_dir(), server.setup().config().data_dir);

    let admin = server.admin_url();
    let setup = server.shutdown().await.unwrap();
    assert!(http.get(format!("{admin}/api/v1/health")).send().await.is_err(), "the admin listener is closed");
    assert!(setup.data_dir().join("sluice.db").exists(), "the data outlives the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_data_and_the_token_and_configuration_is_honoured() {
    let setup = Setup::new().with(|c| c.content_dir = Some(c.data_dir.with_file_name("elsewhere")));
    let server = setup.start().await;
    let token = server.token().to_string();
    assert_eq!(server.state.content.root(), setup.dir().join("elsewhere"));
    server.state.store.create_group("Kept", None).await.unwrap();

    let again = server.restart().await;
    assert_eq!(again.token(), token, "the token on disk is kept");
    let groups = again.state.store.list_groups().await.unwrap();
    assert!(groups.iter().any(|g| g.name == "Kept"), "{groups:?}");
    again.shutdown().await.unwrap();
}
