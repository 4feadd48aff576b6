//! Issue #13 item 3: the content store in an S3 bucket (`--content s3://bucket/prefix`),
//! against a real S3-compatible server on loopback (moto, from `.ci/requirements.txt`): files
//! published into it are verified before they appear at their key, served to clients with
//! ranges, HEAD and conditional requests, and a bucket that cannot be used stops the start
//! with the setting named.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use sha1::Digest;
use sluice_server::config::{S3Access, S3Location, Secret};
use sluice_testkit::moto::{Moto, free_port};
use sluice_testkit::server::Setup;

mod common;

use common::{BIN, Cli};

const PREFIX: &str = "wsus/content";

fn s3_setup(moto: &Moto, bucket: &str) -> Setup {
    let endpoint = moto.endpoint();
    Setup::new().with(|c| {
        c.content_s3 = Some(S3Location { bucket: bucket.into(), prefix: PREFIX.into() });
        c.s3 = S3Access {
            endpoint: Some(endpoint),
            region: Some("us-east-1".into()),
            access_key_id: Some("testing".into()),
            secret_access_key: Some(Secret::new("testing")),
            allow_http: true,
        };
    })
}

/// Bytes that differ at every offset, so a wrong range can't pass by accident.
fn payload(len: u32) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_files_are_verified_into_the_bucket_and_served_with_ranges() {
    let Some(moto) = Moto::start().await else { return };
    let bucket = "sluice-content";
    moto.create_bucket(bucket).await;
    let setup = s3_setup(&moto, bucket);
    let server = setup.spawn(BIN).await;
    let cli = Cli { server: server.admin_url(), token: server.token().to_string() };

    // More than one 8 MiB upload part, so the object is assembled from parts.
    let bytes = payload(9_000_000);
    let file = setup.dir().join("contoso-agent.exe");
    std::fs::write(&file, &bytes).unwrap();
    let id = cli.ok(&["publish", "--file", file.to_str().unwrap(), "--title", "Contoso Agent 3.0", "--kb", "5055555"]).await;
    let detail: serde_json::Value = serde_json::from_str(&cli.ok(&["updates", "show", id.trim(), "--json"]).await).unwrap();
    assert_eq!(detail["files"][0]["state"], "present");
    let content_path = detail["files"][0]["content_path"].as_str().unwrap().to_string();

    // The object is at its final key with exactly the published bytes, and nothing else is in
    // the bucket: no write probe, no temporary object, no upload left open.
    let hex = hex::encode_upper(sha1::Sha1::digest(&bytes));
    let key = format!("{PREFIX}/{}/{hex}.exe", &hex[38..]);
    assert_eq!(content_path, format!("Content/{}/{hex}.exe", &hex[38..]));
    assert_eq!(moto.keys(bucket, "").await, vec![key.clone()]);
    assert!(moto.object(bucket, &key).await.as_deref() == Some(bytes.as_slice()), "the object holds the published bytes");
    assert!(moto.open_uploads(bucket).await.is_empty());

    // Clients download it from the bucket: whole, one range across the part boundary, several
    // ranges, HEAD, and the validators answer conditional requests.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("{}/{content_path}", server.client_url());
    let whole = http.get(&url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    let etag = whole.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"{hex}\""));
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert!(whole.bytes().await.unwrap().as_ref() == bytes.as_slice(), "the whole file");

    let (start, end) = (8 * 1024 * 1024 - 100, 8 * 1024 * 1024 + 99);
    let ranged = http.get(&url).header("range", format!("bytes={start}-{end}")).send().await.unwrap();
    assert_eq!(ranged.status(), 206);
    assert_eq!(ranged.headers()["content-range"], format!("bytes {start}-{end}/{}", bytes.len()).as_str());
    assert_eq!(ranged.bytes().await.unwrap().as_ref(), &bytes[start..=end]);

    let tail = http.get(&url).header("range", "bytes=-10").send().await.unwrap();
    assert_eq!(tail.status(), 206);
    assert_eq!(tail.bytes().await.unwrap().as_ref(), &bytes[bytes.len() - 10..]);

    let multi = http.get(&url).header("range", "bytes=0-9,5000000-5000009").send().await.unwrap();
    assert_eq!(multi.status(), 206);
    assert!(multi.headers()["content-type"].to_str().unwrap().starts_with("multipart/byteranges"));
    let body = multi.bytes().await.unwrap();
    for slice in [&bytes[0..10], &bytes[5_000_000..5_000_010]] {
        assert!(body.windows(10).any(|w| w == slice), "each range is in the multipart body");
    }

    let head = http.head(&url).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], bytes.len().to_string().as_str());
    assert_eq!(head.headers()["etag"], etag.as_str());
    let last_modified = head.headers()["last-modified"].to_str().unwrap().to_string();

    let not_modified = http.get(&url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(not_modified.status(), 304);
    let unchanged = http.get(&url).header("if-modified-since", &last_modified).send().await.unwrap();
    assert_eq!(unchanged.status(), 304);
    let other_version = http.get(&url).header("range", "bytes=0-9").header("if-range", "\"0000\"").send().await.unwrap();
    assert_eq!(other_version.status(), 200, "If-Range with another ETag gets the whole file");
    assert_eq!(other_version.bytes().await.unwrap().len(), bytes.len());
    let missing = http.get(format!("{}/Content/00/{}.exe", server.client_url(), "0".repeat(40))).send().await.unwrap();
    assert_eq!(missing.status(), 404);

    // A file whose bytes do not match what it claims to be: refused, and nothing reaches its
    // key or stays behind as an open upload, though more than a part was sent.
    let liar = payload(9_500_000);
    let meta = serde_json::json!({
        "title": "Liar", "return_codes": [], "prerequisites": [], "supersedes": [],
        "file": {"name": "liar.exe", "size": liar.len(), "sha1": "11".repeat(20), "sha256": "22".repeat(32)}
    });
    let form = reqwest::multipart::Form::new()
        .text("metadata", meta.to_string())
        .part("file", reqwest::multipart::Part::bytes(liar).file_name("liar.exe"));
    let refused = http.post(server.api("/updates/publish")).bearer_auth(server.token()).multipart(form).send().await.unwrap();
    assert_eq!(refused.status(), 422, "{:?}", refused.text().await);
    assert_eq!(moto.keys(bucket, "").await, vec![key.clone()], "nothing else reached the bucket");
    assert!(moto.object(bucket, &format!("{PREFIX}/11/{}.exe", "11".repeat(20))).await.is_none());
    assert!(moto.open_uploads(bucket).await.is_empty(), "the refused upload was aborted");

    // `sluice doctor` reaches the same bucket with the same settings.
    let s3 = &setup.config().s3;
    let args = vec![
        "doctor".to_string(),
        "--data".into(),
        setup.data_dir().display().to_string(),
        "--content".into(),
        format!("s3://{bucket}/{PREFIX}"),
        "--s3-endpoint".into(),
        s3.endpoint.clone().unwrap(),
        "--s3-access-key-id".into(),
        "testing".into(),
        "--s3-allow-http".into(),
        "--client-listen".into(),
        "127.0.0.1:0".into(),
        "--admin-listen".into(),
        "127.0.0.1:0".into(),
    ];
    let out = run(&args, setup.dir()).await;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.contains("content store")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.starts_with("OK") && line.contains(&format!("s3://{bucket}/{PREFIX}")), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_that_cannot_be_used_stops_the_start_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let serve = |data: &str, endpoint: &str, bucket: &str, key: bool| {
        let mut args: Vec<String> = ["serve", "--data", data, "--client-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"]
            .map(String::from)
            .to_vec();
        args.extend(["--content".into(), format!("s3://{bucket}/{PREFIX}"), "--s3-endpoint".into(), endpoint.into(), "--s3-allow-http".into()]);
        if key {
            args.extend(["--s3-access-key-id".into(), "testing".into()]);
        }
        args
    };

    // Nothing listens at the endpoint: the start fails fast, names s3-endpoint, and nothing
    // else was set up (no database, no listener).
    let closed = format!("http://127.0.0.1:{}", free_port());
    let data = dir.path().join("unreachable");
    let out = run(&serve(data.to_str().unwrap(), &closed, "sluice-content", true), dir.path()).await;
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("setting: s3-endpoint") && said.contains("cannot be reached"), "{said}");
    assert!(!said.contains("sluice is serving"), "{said}");
    assert!(!data.join("sluice.db").exists(), "the database was not opened");
    assert!(!said.contains("testing-secret"), "the secret is never printed: {said}");

    // No credentials at all: named, and no request is made to find some elsewhere.
    let out = run(&serve(dir.path().join("nokey").to_str().unwrap(), &closed, "sluice-content", false), dir.path()).await;
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains("s3-access-key-id"), "{said}");

    // A bucket that does not exist, on a live endpoint.
    let Some(moto) = Moto::start().await else { return };
    let data = dir.path().join("nobucket");
    let out = run(&serve(data.to_str().unwrap(), &moto.endpoint(), "no-such-bucket", true), dir.path()).await;
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("bucket 'no-such-bucket' does not exist (setting: content)"), "{said}");
    assert!(!data.join("sluice.db").exists());

    // `sluice doctor` says the same, and fails.
    let mut args = serve(data.to_str().unwrap(), &moto.endpoint(), "no-such-bucket", true);
    args[0] = "doctor".into();
    let out = run(&args, dir.path()).await;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.contains("content store")).unwrap_or_else(|| panic!("{text}"));
    assert!(!out.status.success() && line.starts_with("FAIL") && line.contains("(setting: content)"), "{text}");
}

/// Runs the binary to its end with the test secret in the environment (as a service keeps it
/// out of the process list) and no other AWS_* variable.
async fn run(args: &[String], dir: &Path) -> Output {
    let (args, dir) = (args.to_vec(), dir.to_path_buf());
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(BIN);
        cmd.args(&args).current_dir(&dir).env("AWS_SECRET_ACCESS_KEY", "testing-secret").env_remove("SLUICE_CONFIG");
        for var in ["AWS_ENDPOINT_URL", "AWS_ENDPOINT", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN"] {
            cmd.env_remove(var);
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run sluice");
        // A start that hung instead of failing would otherwise hang the test.
        let deadline = Instant::now() + Duration::from_secs(120);
        while child.try_wait().expect("poll sluice").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child.wait_with_output().expect("sluice output")
    })
    .await
    .unwrap()
}
