//! Server time of the web console's pages at fleet scale (issue #11): starts a server on the
//! database the `admin_scale` benchmark generated (100,000 computers, 25,000 updates; run
//! `cargo bench -p sluice-catalog --bench admin_scale` first), logs in through the login
//! form, and times each page over HTTP on loopback: one request to warm up, then five,
//! median and slowest. The figures include the page's admin API calls, their SQL and the
//! HTML rendering — everything but the browser's own drawing.
//!
//! `SLUICE_BENCH_DB` names the database as for `admin_scale` (default
//! `sqlite:///var/tmp/sluice-bench-admin/sluice.db`).

use std::time::{Duration, Instant};

use reqwest::redirect::Policy;
use sluice_server::config::Config;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(run());
}

fn hidden(html: &str, name: &str) -> String {
    let at = html.find(&format!("name=\"{name}\" value=\"")).expect("the field");
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

async fn run() {
    let url = std::env::var("SLUICE_BENCH_DB").unwrap_or_else(|_| "sqlite:///var/tmp/sluice-bench-admin/sluice.db".into());
    if let Some(path) = url.strip_prefix("sqlite://") {
        if !std::path::Path::new(path).exists() {
            eprintln!("no benchmark database at {path}: run `cargo bench -p sluice-catalog --bench admin_scale` first");
            return;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: dir.path().join("data"),
        database: Some(url.clone()),
        client_listen: ([127, 0, 0, 1], 0).into(),
        admin_listen: ([127, 0, 0, 1], 0).into(),
        ..Config::default()
    };
    let server = sluice_server::start(config).await.expect("the server starts on the benchmark database");
    let base = format!("http://{}", server.admin_addr);
    let http = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();

    // A user of our own to log in as (the database's administrator has another password).
    let r = http
        .post(format!("{base}/api/v1/users"))
        .bearer_auth(&server.admin_token)
        .json(&serde_json::json!({"name": "bench", "role": "administrator", "password": "benchmark console"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success() || r.status().as_u16() == 409, "{}", r.status());
    let login = http.get(format!("{base}/login")).send().await.unwrap();
    let login_cookie = login.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
    let token = hidden(&login.text().await.unwrap(), "login_token");
    let body = serde_urlencoded::to_string([("username", "bench"), ("password", "benchmark console"), ("login_token", token.as_str()), ("next", "/")]).unwrap();
    let answer = http
        .post(format!("{base}/login"))
        .header("cookie", &login_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let session = answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("sluice_session="))
        .expect("logged in")
        .split(';')
        .next()
        .unwrap()
        .to_string();

    let api = |path: &str| {
        let http = http.clone();
        let url = format!("{base}/api/v1{path}");
        let token = server.admin_token.clone();
        async move { http.get(url).bearer_auth(token).send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    let security = api("/classifications").await.as_array().unwrap().iter().find(|c| c["name"] == "Security Updates").map(|c| c["id"].as_str().unwrap().to_string()).unwrap_or_default();
    let most_needed = api("/updates?sort=needed&desc=true&limit=1").await["items"][0]["update_id"].as_str().unwrap_or_default().to_string();
    let computer = api("/computers?limit=1&offset=0").await[0]["id"].as_str().unwrap_or_default().to_string();

    let pages: Vec<(String, String)> = vec![
        ("Dashboard".into(), "/".into()),
        ("Updates (first page)".into(), "/updates".into()),
        ("Updates: search \"cumulative\"".into(), "/updates?q=cumulative".into()),
        ("Updates: search by KB".into(), "/updates?q=KB5000001".into()),
        ("Updates: Security Updates".into(), format!("/updates?classification={security}")),
        ("Updates: unapproved".into(), "/updates?approval=unapproved".into()),
        ("Updates: needed by a computer".into(), "/updates?status=needed".into()),
        ("Updates: not superseded".into(), "/updates?superseded=no".into()),
        ("Updates: most needed first".into(), "/updates?sort=needed".into()),
        ("Updates: page at offset 20,000".into(), "/updates?sort=title&offset=20000".into()),
        ("An update (most needed; status on computers)".into(), format!("/updates/{most_needed}")),
        ("Computers (All Computers, first page)".into(), "/computers".into()),
        ("Computers: Ring 01".into(), "/computers?group=Ring+01".into()),
        ("Computers: page at offset 50,000".into(), "/computers?offset=50000".into()),
        ("A computer".into(), format!("/computers/{computer}")),
        ("Reports: compliance of All Computers".into(), "/reports".into()),
        ("Reports: compliance of Ring 01".into(), "/reports?kind=group&group=Ring+01".into()),
        ("Reports: status of the most needed update".into(), format!("/reports?kind=update&update={most_needed}")),
        ("Synchronizations".into(), "/synchronizations".into()),
        ("Options: audit log".into(), "/options/audit".into()),
    ];
    println!("| page | median | max | status | size |");
    println!("| --- | --- | --- | --- | --- |");
    for (label, path) in pages {
        let mut times = Vec::new();
        let mut last = (0, 0);
        for i in 0..6 {
            let started = Instant::now();
            let r = http.get(format!("{base}{path}")).header("cookie", &session).send().await.unwrap();
            let status = r.status().as_u16();
            let size = r.bytes().await.unwrap().len();
            let took = started.elapsed();
            if i > 0 {
                times.push(took);
            }
            last = (status, size);
        }
        times.sort();
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
        println!("| {label} | {} | {} | {} | {} KB |", ms(times[times.len() / 2]), ms(*times.last().unwrap()), last.0, last.1 / 1024);
    }
    server.shutdown().await.unwrap();
}
