//! The admin API's OpenAPI document (`/api/openapi.json`) against the router and the live API:
//! it is a valid OpenAPI 3.1 document, every operation it names is served, every route is
//! registered through it, and a property-based run of schemathesis finds no server error and
//! no answer the document does not allow.
//!
//! The Python checks (openapi-spec-validator, schemathesis) run with `SLUICE_PYTHON` (`.ci/run`
//! installs both into its virtual environment). Where they are missing the checks are skipped
//! with a message, unless `CI` or `SLUICE_REQUIRE_SCHEMATHESIS=1` says they must run.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sluice_testkit::server::{Setup, TestServer};

const DOCUMENT: &str = "/api/openapi.json";
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];
/// The operations open without a token: the health check, and login (how a console gets one).
const OPEN: [&str; 2] = ["/api/v1/health", "/api/v1/login"];

async fn document(server: &TestServer) -> Value {
    let response = reqwest::get(format!("{}{DOCUMENT}", server.admin_url())).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.unwrap()
}

/// Every (method, path) the document describes, with its operation.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_uppercase(), path.clone(), op.clone()));
            }
        }
    }
    out
}

/// Follows a `#/components/...` reference.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    doc.pointer(pointer)
}

fn references(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => references(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_complete_in_itself() {
    let server = sluice_testkit::server::start().await;
    let doc = document(&server).await;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")), "{}", doc["openapi"]);
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    assert_eq!(doc["security"], serde_json::json!([{"bearer": []}]), "the bearer token is required by default");

    let ops = operations(&doc);
    assert!(ops.len() >= 25, "only {} operations documented", ops.len());
    let mut ids = HashSet::new();
    for (method, path, op) in &ops {
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
        assert!(path.starts_with("/api/v1/"), "{path} is outside the versioned API");
        // Each `{name}` of the path is a declared path parameter, and no other is.
        let in_path: BTreeSet<&str> =
            path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).collect();
        let declared: BTreeSet<&str> = op["parameters"]
            .as_array()
            .map(|ps| ps.iter().filter(|p| p["in"] == "path").filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(in_path, declared, "{method} {path}: path parameters");
        // The error format is described on every operation.
        let error = &op["responses"]["default"]["content"]["application/json"]["schema"]["$ref"];
        assert_eq!(error, "#/components/schemas/ApiError", "{method} {path}: error response");
        let success = op["responses"].as_object().unwrap().keys().filter(|k| k.starts_with('2')).count();
        assert_eq!(success, 1, "{method} {path}: one success status");
        // Only the health check and login are open.
        let open = op.get("security").is_some_and(|s| s == &serde_json::json!([{}]));
        assert_eq!(open, OPEN.contains(&path.as_str()), "{method} {path}: security");
    }
    let mut refs = Vec::new();
    references(&doc, &mut refs);
    for r in refs {
        assert!(resolve(&doc, &r).is_some(), "dangling reference {r}");
    }
    let error = &doc["components"]["schemas"]["ApiError"];
    assert_eq!(error["required"], serde_json::json!(["error"]), "{error}");

    if let Some(python) = python_with("openapi_spec_validator") {
        let file = server.dir().join("openapi.json");
        std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
        let out = Command::new(python).args(["-m", "openapi_spec_validator"]).arg(&file).output().unwrap();
        assert!(
            out.status.success(),
            "openapi-spec-validator refused the document:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn every_documented_operation_is_served_and_guarded() {
    let server = sluice_testkit::server::start().await;
    let doc = document(&server).await;
    let http = reqwest::Client::new();
    for (method, path, _) in operations(&doc) {
        let concrete: String = path
            .split('/')
            .map(|s| if s.starts_with('{') { "00000000-0000-0000-0000-000000000001" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let url = format!("{}{concrete}", server.admin_url());
        let response = http.request(method.parse().unwrap(), &url).send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if path == "/api/v1/health" {
            assert_eq!(status, 200, "{method} {path}");
        } else if path == "/api/v1/login" {
            // Served without a token: an empty body is refused as a body, not as a caller.
            assert_eq!(status, 415, "{method} {path}: {body}");
        } else {
            // 401, not 404 or 405: the route exists, and it is behind authentication.
            assert_eq!(status, 401, "{method} {path}: {body}");
            assert_eq!(body["error"]["code"], "unauthenticated", "{method} {path}");
        }
    }
}

/// Admin routes are registered with utoipa-axum's `routes!`, which documents them; a plain axum
/// `.route(…)` in an admin module would serve an operation the document does not describe.
#[test]
fn admin_routes_are_registered_only_through_the_document() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut checked = 0;
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("admin") && name.ends_with(".rs")) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            assert!(
                ![".route(", ".route_service(", ".nest_service("].iter().any(|r| code.contains(r)),
                "{name}:{}: an admin route registered outside the OpenAPI document: {line}",
                n + 1
            );
        }
        checked += 1;
    }
    assert!(checked >= 6, "found only {checked} admin modules in {}", src.display());
}

fn python() -> String {
    std::env::var("SLUICE_PYTHON").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "python3".into())
}

fn required() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    ci || std::env::var("SLUICE_REQUIRE_SCHEMATHESIS").is_ok_and(|v| v == "1")
}

/// The Python to run `module` with; `None` (with a message) when it has no such module and the
/// run does not require it.
fn python_with(module: &str) -> Option<String> {
    let python = python();
    let ok = Command::new(&python).args(["-c", &format!("import {module}")]).output().is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    assert!(!required(), "{python} has no {module}: run .ci/run, or point SLUICE_PYTHON at a Python that has it");
    eprintln!("skipped: {python} has no {module} (.ci/run installs it)");
    None
}

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/wsus-rs/docs")
}

/// Fuzzes every operation but four: export and import name directories on the server's own
/// filesystem (a fuzzer would write and read wherever the test runs), starting a sync
/// reaches out to whatever upstream the fuzzer last configured, the internet included, and
/// revoking a token by id would soon revoke the fuzzer's own (the bootstrap token, id 1) and
/// leave the rest of the run to 401s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_answer_outside_the_document() {
    let Some(python) = python_with("schemathesis") else { return };
    let server = Setup::new().start().await;
    // Something to find, approve and decline: real update documents and a computer group.
    let mut docs = Vec::new();
    for entry in std::fs::read_dir(docs_dir()).unwrap() {
        let path = entry.unwrap().path();
        docs.push((path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&path).unwrap()));
    }
    server.state.catalog.import_documents(docs).await.unwrap();
    let http = reqwest::Client::new();
    let created = http
        .post(server.api("/groups"))
        .bearer_auth(server.token())
        .json(&serde_json::json!({"name": "Pilot"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    // No upstream to reach even if a scheduled sync came due during the run.
    let settings = http
        .put(server.api("/sync/settings"))
        .bearer_auth(server.token())
        .json(&serde_json::json!({"upstream": "http://127.0.0.1:9/"}))
        .send()
        .await
        .unwrap();
    assert_eq!(settings.status(), 200);

    let seed = std::env::var("SLUICE_SCHEMATHESIS_SEED").unwrap_or_else(|_| "20261207".into());
    let out = tokio::task::spawn_blocking({
        let url = format!("{}{DOCUMENT}", server.admin_url());
        let auth = format!("Authorization: Bearer {}", server.token());
        let dir = server.dir().to_path_buf();
        let seed = seed.clone();
        move || {
            Command::new(python)
                .current_dir(dir)
                .args(["-m", "schemathesis.cli", "run", &url, "-H", &auth])
                .args([
                    "--checks",
                    "not_a_server_error,status_code_conformance,content_type_conformance,\
                     response_schema_conformance,response_headers_conformance",
                    "--exclude-path-regex",
                    "^/api/v1/(export|import|sync/start|tokens/\\{id\\}|logout|servers(/.*)?)$",
                    "--max-examples",
                    "40",
                    "--seed",
                    &seed,
                    "--no-color",
                ])
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "schemathesis (seed {seed}) found problems:\n{report}");
    assert!(report.contains("passed"), "schemathesis ran no test cases:\n{report}");
}
