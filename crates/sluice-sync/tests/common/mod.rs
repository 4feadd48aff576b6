//! A fake upstream built from the real exchanges recorded against a Windows Server 2025 WSUS
//! (tests/fixtures/wsusss), plus a fake content endpoint with Range support.
//!
//! Handshake and configuration are answered with the recorded bodies byte for byte. Revision
//! lists carry the recorded anchors; their id lists name exactly the revisions whose
//! GetUpdateData answers were recorded (exchanges 000013–000016): the recorded lists were
//! trimmed to 30 ids the recordings have no update data for, and a real WSUS answers data
//! requests only for ids it listed. A list requested with an anchor and `Delta` true is the
//! recorded empty answer of the incremental run (exchanges-client 001045/001046).

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use sluice_catalog::Catalog;
use sluice_content::ContentStore;
use sluice_store::Store;
use sluice_wsusss::{
    Request, Response as WResponse, RevisionIdList, ServerSyncUpdateData, ServerSyncUrlData, ServerUpdateData,
    UpdateBlob, UpdateIdentity,
};
use uuid::Uuid;

pub const DEFENDER_PRODUCT: &str = "8c3fcc84-7410-4a95-8b89-a166a0190486";
pub const DEFINITION_UPDATES: &str = "e0789628-ce08-4437-be74-2495b842f43b";

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/wsusss")
}

fn recorded(set: &str, n: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(set).join(n).join("response.body")).expect("recorded exchange")
}

/// A synthetic update the fake lists in the updates pass, with a file the fake serves.
#[derive(Clone)]
pub struct ExtraUpdate {
    pub id: UpdateIdentity,
    pub xml: String,
    pub sha1: [u8; 20],
    pub file_name: String,
    pub bytes: Vec<u8>,
}

#[derive(Default)]
pub struct Log {
    /// (operation, raw request body)
    pub requests: Vec<(String, String)>,
    /// Range header of every content request ("" when none).
    pub content_ranges: Vec<String>,
    /// Requests for any other path, e.g. Microsoft URLs reaching the fake as the HTTP proxy.
    pub other: Vec<String>,
}

pub struct Fake {
    pub addr: SocketAddr,
    pub log: Arc<Mutex<Log>>,
    pub server_changed: Arc<std::sync::atomic::AtomicBool>,
    pub reject_cookie: Arc<std::sync::atomic::AtomicBool>,
    /// Serving stops when the fake is dropped.
    _served: sluice_testkit::http::Served,
}

impl Fake {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn ops(&self) -> Vec<String> {
        self.log.lock().unwrap().requests.iter().map(|r| r.0.clone()).collect()
    }

    pub fn bodies_of(&self, op: &str) -> Vec<String> {
        self.log.lock().unwrap().requests.iter().filter(|r| r.0 == op).map(|r| r.1.clone()).collect()
    }
}

struct FakeState {
    log: Arc<Mutex<Log>>,
    data: HashMap<Uuid, (ServerSyncUpdateData, Vec<ServerSyncUrlData>)>,
    extra: Vec<ExtraUpdate>,
    /// Overrides the recorded MaxNumberOfUpdatesPerRequest to exercise batching.
    limit: Option<i32>,
    /// Bytes served for a content path instead of the real ones (a corrupt mirror).
    corrupt: bool,
    /// Answer the next anchored GetRevisionIdList with ServerChanged (a reinstalled upstream).
    server_changed: Arc<std::sync::atomic::AtomicBool>,
    /// Answer the next GetRevisionIdList with the recorded InvalidCookie fault (000019).
    reject_cookie: Arc<std::sync::atomic::AtomicBool>,
    /// Listed in the updates pass but unknown to GetUpdateData (answered with the recorded
    /// InternalServerError fault of exchange 000017).
    phantom: Vec<UpdateIdentity>,
}

/// The recorded GetUpdateData answers (exchanges 000013–000016), by update id.
fn recorded_update_data() -> HashMap<Uuid, (ServerSyncUpdateData, Vec<ServerSyncUrlData>)> {
    let mut out = HashMap::new();
    for n in ["000013", "000014", "000015", "000016"] {
        let body = recorded("exchanges", n);
        let WResponse::GetUpdateData(d) = sluice_wsusss::decode_response(sluice_wsusss::Operation::GetUpdateData, &body).unwrap()
        else {
            panic!("not GetUpdateData")
        };
        for u in d.updates {
            out.insert(u.id.update_id, (u, d.file_urls.clone()));
        }
    }
    out
}

pub fn category_ids() -> Vec<UpdateIdentity> {
    vec![UpdateIdentity::new(Uuid::parse_str("56309036-4c77-4dd9-951a-99ee9c246a94").unwrap(), 101)]
}

pub fn update_ids() -> Vec<UpdateIdentity> {
    [("a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe", 200), ("266f6222-c89d-43f2-9f8a-69340271e677", 200), ("ccb78947-6453-4ecc-9de8-bc0305c98f2d", 200)]
        .iter()
        .map(|(id, r)| UpdateIdentity::new(Uuid::parse_str(id).unwrap(), *r))
        .collect()
}

pub async fn start_fake(extra: Vec<ExtraUpdate>, limit: Option<i32>, corrupt: bool) -> Fake {
    start_fake_with(extra, limit, corrupt, vec![]).await
}

pub async fn start_fake_with(extra: Vec<ExtraUpdate>, limit: Option<i32>, corrupt: bool, phantom: Vec<UpdateIdentity>) -> Fake {
    let log = Arc::new(Mutex::new(Log::default()));
    let server_changed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reject_cookie = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let state = Arc::new(FakeState {
        log: log.clone(),
        data: recorded_update_data(),
        extra,
        limit,
        corrupt,
        server_changed: server_changed.clone(),
        reject_cookie: reject_cookie.clone(),
        phantom,
    });
    let app = Router::new()
        .route("/ServerSyncWebService/ServerSyncWebService.asmx", post(soap))
        .route("/DssAuthWebService/DssAuthWebService.asmx", post(soap))
        .route("/Content/{dir}/{name}", get(content))
        .fallback(other)
        .with_state(state);
    let served = sluice_testkit::http::serve(app).await;
    Fake { addr: served.addr, log, server_changed, reject_cookie, _served: served }
}

fn xml(body: Vec<u8>) -> Response {
    ([("content-type", sluice_wsusss::CONTENT_TYPE)], body).into_response()
}

async fn soap(State(st): State<Arc<FakeState>>, body: Bytes) -> Response {
    let req = sluice_wsusss::decode_request(&body).expect("the downstream sends decodable requests");
    let op = format!("{:?}", req.operation());
    st.log.lock().unwrap().requests.push((op, String::from_utf8_lossy(&body).into_owned()));
    match req {
        Request::GetAuthConfig => xml(recorded("exchanges-client", "000001")),
        Request::GetAuthorizationCookie(_) => xml(recorded("exchanges-client", "000002")),
        Request::GetCookie(_) => xml(recorded("exchanges-client", "000003")),
        Request::GetConfigData(_) => match st.limit {
            None => xml(recorded("exchanges-client", "000004")),
            Some(limit) => {
                let body = recorded("exchanges-client", "000004");
                let WResponse::GetConfigData(mut c) =
                    sluice_wsusss::decode_response(sluice_wsusss::Operation::GetConfigData, &body).unwrap()
                else {
                    panic!()
                };
                c.max_number_of_updates_per_request = limit;
                xml(sluice_wsusss::encode_response(&WResponse::GetConfigData(c)))
            }
        },
        Request::GetRevisionIdList(r) => {
            if st.reject_cookie.swap(false, std::sync::atomic::Ordering::SeqCst) {
                let mut resp = xml(recorded("exchanges", "000019"));
                *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                return resp;
            }
            let f = r.filter.unwrap_or_default();
            if f.anchor.is_some() && st.server_changed.swap(false, std::sync::atomic::Ordering::SeqCst) {
                let fault = sluice_wsusss::Fault::new(sluice_wsusss::ErrorCode::ServerChanged);
                let mut resp = xml(sluice_wsusss::encode_fault(&fault));
                *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                return resp;
            }
            let delta = f.anchor.is_some()
                && f.categories.iter().flatten().chain(f.classifications.iter().flatten()).all(|c| c.delta);
            if f.get_config && f.anchor.is_some() {
                return xml(recorded("exchanges-client", "001045"));
            }
            if !f.get_config && delta {
                return xml(recorded("exchanges-client", "001046"));
            }
            let (n, ids) = if f.get_config {
                ("000005", category_ids())
            } else {
                let mut ids = update_ids();
                ids.extend(st.extra.iter().map(|e| e.id));
                ids.extend(st.phantom.iter().copied());
                ("000013", ids)
            };
            let WResponse::GetRevisionIdList(l) =
                sluice_wsusss::decode_response(sluice_wsusss::Operation::GetRevisionIdList, &recorded("exchanges-client", n))
                    .unwrap()
            else {
                panic!()
            };
            xml(sluice_wsusss::encode_response(&WResponse::GetRevisionIdList(RevisionIdList { anchor: l.anchor, new_revisions: ids })))
        }
        Request::GetUpdateData(r) => {
            let limit = st.limit.unwrap_or(100) as usize;
            if r.update_ids.len() > limit {
                return (StatusCode::INTERNAL_SERVER_ERROR, "too many ids").into_response();
            }
            let mut out = ServerUpdateData::default();
            for id in &r.update_ids {
                if let Some((u, urls)) = st.data.get(&id.update_id) {
                    out.updates.push(u.clone());
                    for url in urls {
                        if !out.file_urls.iter().any(|x| x.file_digest == url.file_digest) {
                            out.file_urls.push(url.clone());
                        }
                    }
                } else if let Some(e) = st.extra.iter().find(|e| e.id == *id) {
                    out.updates.push(ServerSyncUpdateData {
                        id: e.id,
                        blob: UpdateBlob::Plain(e.xml.clone()),
                        file_digests: vec![e.sha1.to_vec()],
                    });
                    out.file_urls.push(ServerSyncUrlData {
                        file_digest: e.sha1.to_vec(),
                        mu_url: format!("http://download.invalid/{}", e.file_name),
                        uss_url: String::new(),
                        decryption_key: None,
                    });
                } else {
                    // A real WSUS answers an id it does not have with this fault.
                    let mut resp = xml(recorded("exchanges", "000017"));
                    *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                    return resp;
                }
            }
            xml(sluice_wsusss::encode_response(&WResponse::GetUpdateData(out)))
        }
        other => panic!("the fake does not answer {:?}", other.operation()),
    }
}

async fn content(State(st): State<Arc<FakeState>>, Path((_dir, name)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let range = headers.get("range").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    st.log.lock().unwrap().content_ranges.push(range.clone());
    let sha1 = name.split('.').next().unwrap_or("").to_ascii_lowercase();
    let Some(e) = st.extra.iter().find(|e| hex::encode(e.sha1) == sha1) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut bytes = e.bytes.clone();
    if st.corrupt {
        bytes[0] ^= 0xff;
    }
    if let Some(start) = range.strip_prefix("bytes=").and_then(|r| r.strip_suffix('-')).and_then(|s| s.parse::<usize>().ok()) {
        if start >= bytes.len() {
            return StatusCode::RANGE_NOT_SATISFIABLE.into_response();
        }
        let total = bytes.len();
        return (
            StatusCode::PARTIAL_CONTENT,
            [("content-range", format!("bytes {start}-{}/{total}", total - 1))],
            bytes[start..].to_vec(),
        )
            .into_response();
    }
    bytes.into_response()
}

async fn other(State(st): State<Arc<FakeState>>, uri: axum::http::Uri) -> StatusCode {
    st.log.lock().unwrap().other.push(uri.to_string());
    StatusCode::NOT_FOUND
}

pub async fn catalog(dir: &std::path::Path) -> Catalog {
    let store = Store::open(&format!("sqlite://{}", dir.join("sluice.db").display())).await.unwrap();
    let content = Arc::new(ContentStore::open(dir.join("content")).await.unwrap());
    Catalog::new(store, content)
}

/// A software update document with one file of `bytes`, in the Defender product and the
/// Definition Updates classification so the updates pass lists it.
pub fn extra_update(bytes: Vec<u8>) -> ExtraUpdate {
    use sha1::Digest as _;
    let sha1: [u8; 20] = sha1::Sha1::digest(&bytes).into();
    let sha256: [u8; 32] = sha2::Sha256::digest(&bytes).into();
    let update_id = Uuid::new_v4();
    let file_name = "payload.exe".to_string();
    let spec = sluice_metadata::publish::PublishSpec {
        update_id,
        revision_number: 1,
        language: "en".into(),
        title: "Synthetic payload".into(),
        description: None,
        kb_article: None,
        msrc_number: None,
        msrc_severity: None,
        classification: Some(Uuid::parse_str(DEFINITION_UPDATES).unwrap()),
        products: vec![Uuid::parse_str(DEFENDER_PRODUCT).unwrap()],
        creation_date: "2026-11-25T12:00:00.000Z".into(),
        file: Some(sluice_metadata::UpdateFile {
            file_name: file_name.clone(),
            size: bytes.len() as u64,
            modified: Some("2026-11-25T12:00:00Z".into()),
            sha1,
            sha256: Some(sha256),
            patching_type: None,
        }),
        command_line: None,
        installed_rule: None,
        installable_rule: None,
        prerequisites: vec![],
        supersedes: vec![],
        reboot_behavior: None,
    };
    ExtraUpdate {
        id: UpdateIdentity::new(update_id, 1),
        xml: sluice_metadata::publish::software_update_xml(&spec),
        sha1,
        file_name,
        bytes,
    }
}
