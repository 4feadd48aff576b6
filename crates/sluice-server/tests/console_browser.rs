//! The web console in a real browser (issue #11): headless Chromium, driven over WebDriver
//! by chromedriver, logs in as the bootstrap administrator, finds an update by KB number,
//! approves it with a deadline, sees a simulated agent's Installed status appear, declines
//! another update, creates an automatic approval rule and a Reporter, and as that Reporter
//! is refused an approval. A screenshot of every page goes to
//! `<target>/tmp/console-screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver`; without them the test says so and
//! passes, unless SLUICE_REQUIRE_BROWSER=1 (set by .ci/run, which installs them).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use sluice_agent::agent::{Agent, Evaluator, MachineState};
use sluice_agent::profile::{Profile, RulesEvaluator};
use sluice_testkit::server::TestServer;

struct Chromedriver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_program(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/lib/chromium")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

impl Chromedriver {
    fn start() -> Option<Chromedriver> {
        let program = find_program("chromedriver")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let child = Command::new(program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let driver = Chromedriver { child, port, _profile: tempfile::tempdir().ok()? };
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(driver);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    async fn browser(&self) -> Client {
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--window-size=1280,800".into(),
            "--hide-scrollbars".into(),
            format!("--user-data-dir={}", self._profile.path().display()),
        ];
        args.push("--lang=en-US".into());
        let mut chrome = serde_json::json!({ "args": args });
        if let Some(binary) = find_program("chromium") {
            chrome["binary"] = serde_json::json!(binary);
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), chrome);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session")
    }
}

/// A browser session on one server, saving screenshots as it goes.
struct Console {
    c: Client,
    base: String,
    shots: PathBuf,
    taken: usize,
}

impl Console {
    async fn open(&mut self, path: &str) {
        self.c.goto(&format!("{}{path}", self.base)).await.unwrap();
    }

    async fn h1(&self) -> String {
        self.c.find(Locator::Css("h1")).await.unwrap().text().await.unwrap()
    }

    /// Waits for the page after a click (a form's answer) to show `title`.
    async fn expect_h1(&self, title: &str) {
        for _ in 0..50 {
            if let Ok(e) = self.c.find(Locator::Css("h1")).await {
                if e.text().await.is_ok_and(|t| t == title) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("expected the page {title:?}, got:\n{}", self.c.source().await.unwrap_or_default());
    }

    /// The text of an element, waiting for it a little: after a click, the next page may
    /// still be loading.
    async fn text_of(&self, css: &str) -> String {
        let found = self.c.wait().at_most(Duration::from_secs(5)).for_element(Locator::Css(css)).await;
        match found {
            Ok(e) => e.text().await.unwrap(),
            Err(e) => panic!("no {css} ({e}) in:\n{}", self.c.source().await.unwrap_or_default()),
        }
    }

    async fn has(&self, css: &str) -> bool {
        !self.c.find_all(Locator::Css(css)).await.unwrap().is_empty()
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no {css}: {e}"));
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    async fn choose(&self, css: &str, value: &str) {
        self.c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no {css}: {e}")).select_by_value(value).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no {css}: {e}")).click().await.unwrap();
    }

    /// Opens a page and checks its `<h1>` names it.
    async fn visit(&mut self, path: &str, title: &str, shot: &str) {
        self.open(path).await;
        assert_eq!(self.h1().await, title, "{path}");
        self.shot(shot).await;
    }

    async fn shot(&mut self, name: &str) {
        self.taken += 1;
        let png = self.c.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{:02}-{name}.png", self.taken)), png).unwrap();
    }

    async fn login(&mut self, user: &str, password: &str) {
        self.open("/login").await;
        self.fill("#username", user).await;
        self.fill("#password", password).await;
        self.click("form button[type=submit]").await;
        self.expect_h1("Dashboard").await;
    }

    async fn logout(&mut self) {
        self.click("form.logout button").await;
        self.expect_h1("Log in to Sluice").await;
        let url = self.c.current_url().await.unwrap();
        assert!(url.as_str().ends_with("/login?notice=logged-out"), "{url}: {}", self.c.source().await.unwrap_or_default());
        assert!(self.text_of("p.notice").await.contains("You are logged out."));
    }
}

async fn publish(server: &TestServer, title: &str, kb: &str, classification: &str) -> String {
    use sha1::Digest as _;
    let payload: Vec<u8> = title.bytes().cycle().take(4096).collect();
    let req = sluice_catalog::api::PublishRequest {
        title: title.into(),
        kb: Some(kb.into()),
        product: Some("Contoso Agent".into()),
        classification: Some(classification.into()),
        msrc_severity: Some("Important".into()),
        description: Some(format!("{title}, published for the console test.")),
        installed_rule: Some(format!(r#"<bar:RegKeyExists Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Contoso\KB{kb}" />"#)),
        file: Some(sluice_catalog::api::PublishFile {
            name: format!("kb{kb}.exe"),
            size: payload.len() as u64,
            sha1: hex::encode(sha1::Sha1::digest(&payload)),
            sha256: hex::encode(sha2::Sha256::digest(&payload)),
        }),
        ..Default::default()
    };
    let detail = server.state.catalog.publish(req, std::io::Cursor::new(payload)).await.unwrap();
    server.state.scan.invalidate();
    detail.summary.update_id.to_lowercase()
}

async fn api(server: &TestServer, path: &str) -> serde_json::Value {
    reqwest::Client::new().get(server.api(path)).bearer_auth(server.token()).send().await.unwrap().json().await.unwrap()
}

fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_and_a_reporter_work_in_the_console() {
    let Some(driver) = Chromedriver::start() else {
        assert!(std::env::var("SLUICE_REQUIRE_BROWSER").is_err(), "chromedriver is required (SLUICE_REQUIRE_BROWSER) but was not found");
        eprintln!("skipped: no chromedriver (install Debian's chromium and chromium-driver)");
        return;
    };
    let server = sluice_testkit::server::start().await;
    let wanted = publish(&server, "Contoso Agent Security Update", "5032001", "Security Updates").await;
    let other = publish(&server, "Contoso Tool Update", "5032002", "Updates").await;
    let password = std::fs::read_to_string(server.data_dir().join("admin-password")).unwrap().trim().to_string();
    let mut ui = Console { c: driver.browser().await, base: server.admin_url(), shots: screenshot_dir(), taken: 0 };

    // The bootstrap administrator, with the password written on first start.
    ui.login("admin", &password).await;
    assert!(ui.text_of("header .who").await.contains("Administrator"));
    assert!(ui.has("svg.chart").await, "the compliance chart");
    ui.shot("dashboard").await;

    // Find an update by its KB number with the search box.
    ui.open("/updates").await;
    ui.fill("#find-q", "KB5032001").await;
    ui.click("#find button[type=submit]").await;
    assert!(ui.c.current_url().await.unwrap().as_str().contains("q=KB5032001"));
    let found = ui.text_of("#updates").await;
    assert!(found.contains("Contoso Agent Security Update") && !found.contains("Contoso Tool Update"), "{found}");
    ui.shot("updates-search").await;
    ui.c.find(Locator::LinkText("Contoso Agent Security Update")).await.unwrap().click().await.unwrap();
    assert_eq!(ui.h1().await, "Contoso Agent Security Update");

    // Approve it for All Computers with a deadline.
    ui.choose("#approve-group", "All Computers").await;
    ui.c.execute("document.getElementById('approve-deadline').value = '2030-12-24T18:00';", vec![]).await.unwrap();
    ui.click("#approve button[type=submit]").await;
    assert!(ui.text_of("p.notice").await.contains("Approval saved."));
    let approvals = ui.text_of("#approvals").await;
    assert!(approvals.contains("All Computers") && approvals.contains("2030-12-24 18:00 UTC"), "{approvals}");

    // A simulated Windows client scans, installs and reports; its status shows on the page.
    let profile = Profile::builtin();
    let ev: Arc<dyn Evaluator> = Arc::new(RulesEvaluator::new(&profile));
    let mut agent = Agent::new(
        &server.client_url(),
        profile.computer_info("pc1.contoso.test"),
        ev,
        MachineState { computer_id: uuid::Uuid::new_v4().to_string(), ..Default::default() },
    );
    let report = agent.scan(true).await.unwrap();
    assert_eq!(report.installed.len(), 1, "{report:?}");
    agent.scan(false).await.unwrap();
    ui.open(&format!("/updates/{wanted}")).await;
    let status = ui.text_of("#computer-status").await;
    assert!(status.contains("pc1.contoso.test") && status.contains("Installed"), "{status}");
    ui.shot("update-installed").await;

    // Decline another update (the page asks for confirmation first).
    ui.open(&format!("/updates/{other}")).await;
    ui.click("#decline button[type=submit]").await;
    ui.c.accept_alert().await.unwrap();
    assert!(ui.text_of("p.notice").await.contains("Update declined."));
    assert_eq!(api(&server, &format!("/updates/{other}")).await["declined"], true);
    ui.shot("update-declined").await;

    // An automatic approval rule: security updates to every computer.
    ui.open("/options/automatic-approvals").await;
    ui.fill("#new-rule-name", "Security updates for everyone").await;
    let security = api(&server, "/classifications").await.as_array().unwrap().iter().find(|c| c["name"] == "Security Updates").unwrap()["id"].as_str().unwrap().to_string();
    ui.choose("#new-rule-classifications", &security).await;
    ui.choose("#new-rule-groups", "All Computers").await;
    ui.click("#new-rule button[type=submit]").await;
    assert!(ui.text_of("p.notice").await.contains("Automatic approval rule created."));
    assert!(ui.text_of("#rules").await.contains("Security updates for everyone"));
    ui.shot("automatic-approvals").await;

    // A Reporter, made on the Users page.
    ui.open("/options/users").await;
    ui.fill("#new-user-name", "riley").await;
    ui.choose("#new-user-role", "reporter").await;
    ui.fill("#new-user-password", "reads only please").await;
    ui.click("#new-user button[type=submit]").await;
    assert!(ui.text_of("p.notice").await.contains("User created."));
    ui.shot("users").await;

    // Every other node reads, each under its own heading.
    let computer = api(&server, "/computers").await[0]["id"].as_str().unwrap().to_string();
    ui.visit("/computers", "Computers", "computers").await;
    assert!(ui.text_of("#computers").await.contains("pc1.contoso.test"));
    ui.visit(&format!("/computers/{computer}"), "pc1.contoso.test", "computer").await;
    assert!(ui.text_of("#update-status").await.contains("Installed"));
    ui.visit("/downstream-servers", "Downstream Servers", "downstream-servers").await;
    ui.visit("/synchronizations", "Synchronizations", "synchronizations").await;
    ui.visit("/reports", "Reports", "reports").await;
    ui.visit("/reports?kind=update&update=KB5032001&state=all", "Reports", "report-update").await;
    assert!(ui.text_of("#report").await.contains("pc1.contoso.test"));
    ui.visit("/options", "Options", "options").await;
    ui.visit("/options/products", "Products and Classifications", "options-products").await;
    ui.visit("/options/synchronization", "Synchronization", "options-synchronization").await;
    ui.visit("/options/computers", "Computers", "options-computers").await;
    ui.visit("/options/rollouts", "Staged Rollouts", "options-rollouts").await;
    ui.visit("/options/cleanup", "Server Cleanup", "options-cleanup").await;
    ui.visit("/options/email", "E-Mail Notifications", "options-email").await;
    ui.visit("/options/audit", "Audit Log", "options-audit").await;
    assert!(ui.text_of("#audit").await.contains("decline"));
    ui.visit("/", "Dashboard", "dashboard-fleet").await;
    assert!(ui.text_of("#groups").await.contains("All Computers"));

    // A phone's width.
    ui.c.set_window_size(390, 844).await.unwrap();
    ui.visit("/", "Dashboard", "dashboard-phone").await;
    ui.c.set_window_size(1280, 800).await.unwrap();

    ui.logout().await;
    ui.shot("logged-out").await;

    // The Reporter sees the update without controls, and a forged approval is refused.
    ui.login("riley", "reads only please").await;
    assert!(ui.text_of("header .who").await.contains("Reporter"));
    ui.open(&format!("/updates/{other}")).await;
    assert!(!ui.has("#approve").await && !ui.has("#decline").await, "controls shown to a reporter");
    ui.shot("reporter-update").await;
    let script = format!(
        "const f = document.createElement('form'); f.method = 'post'; f.action = '/updates/{other}/approve';
         for (const [k, v] of [['csrf', document.querySelector('meta[name=csrf-token]').content], ['group', 'All Computers'], ['action', 'install']]) {{
           const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i); }}
         document.body.appendChild(f); f.submit();"
    );
    ui.c.execute(&script, vec![]).await.unwrap();
    ui.expect_h1("Action refused").await;
    assert!(ui.text_of("p.error").await.contains("Reporter, who may only read"));
    assert_eq!(api(&server, &format!("/approvals?update={other}")).await, serde_json::json!([]));
    ui.shot("reporter-refused").await;
    ui.logout().await;

    ui.c.close().await.unwrap();
}
