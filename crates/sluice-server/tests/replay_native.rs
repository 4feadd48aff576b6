//! Fixture-replay acceptance test of the MS-WUSP client services.
//!
//! In `tests/fixtures/wsus-native/wsus-m0-native` an unmodified Windows 11 client (Windows Update
//! Agent 1507.2601.30012.0, `Client-Protocol/2.90`) talked to a real Windows Server 2025 WSUS:
//! `scan/` is a category-filtered first scan with the whole handshake, `flow/` a full scan 17
//! minutes later with KB2267602 approved, then three event reports. This test starts a real
//! Sluice in-process with the 9 update documents that real server served for those updates
//! (`tests/fixtures/wsus-rs/docs`) and sends every one of the 19 requests, in capture order, over
//! HTTP on loopback, with the client's own headers and bodies. Only what cannot be replayed
//! verbatim is substituted:
//!
//! - cookies: the captured `CookieData`/`EncryptedData` were redacted (runs of `A`), and ours
//!   differ anyway. The handshake is part of the replay, and every later request carries what OUR
//!   previous answer gave, as the client does: GetConfig `LastChange` → GetCookie `lastChange`,
//!   GetAuthorizationCookie `CookieData` → GetCookie, GetCookie and then every `NewCookie` → the
//!   next `cookie` (`Expiration` and `EncryptedData`). The flow capture has no handshake because
//!   the client reused the scan's cookie; so does the replay.
//! - revision ids: every id the client sends is the real server's. Ids of updates we hold are
//!   translated to ours (the real SyncUpdates answers pair each real id with a Core fragment
//!   naming the update); the others (the real server held ~4,000 revisions, we hold 9) are sent
//!   unchanged and must come back out of scope, never as a fault.
//! - `Host` names our listener (so `FileLocation` URLs must name it); `Content-Length` is
//!   recomputed.
//!
//! Each answer must have the real status and encoding (xpress), validate against the MS-WUSP
//! WSDLs (`tests/wsdl/`, checked by `tools/wsdl_check.py`, strict; skipped with a message where
//! no Python with zeep and lxml is found, never under CI), have the real answer's shape except where content predicts a
//! difference, and carry the real content wherever our catalog allows the same content.
//!
//! # Shape
//!
//! The shape of a SOAP message is, for every element path from the `Envelope` down (names as
//! namespace URI + local name, so prefixes and the XML declaration do not matter), the set of
//! child-name sequences found at that path, each sequence with runs of equal consecutive names
//! collapsed into one. So which elements appear, in which order, at every level counts; how many
//! items an array has does not (5 `ConfigurationProperty` or 4, 30 `UpdateInfo` or 1). An
//! optional array that is empty is omitted by both servers, so an array one side has and the
//! other lacks is a difference; the test predicts each such difference from the content (for
//! example: the real answer has `NewUpdates`, ours must not, because every update the real server
//! sent there is one we do not hold or cannot deliver) and requires the actual differences to be
//! exactly the predicted ones. Reordered elements are never accepted.
//!
//! # Known differences from the real server, and why
//!
//! - Fewer updates. We hold 9 revisions, the real server ~4,000. The scan is reproduced exactly:
//!   the same category in each of the three rounds with the same Core, `IsLeaf` and action, the
//!   same driver pass, the same GetExtendedUpdateInfo fragments. In `flow` the real server
//!   delivered 6 detectoids and then pages of 30 software revisions; 6 of those are ours
//!   (KB2267602 `a2fef9b0`, its members `ccb78947`, `1f9bd9bb`, `266f6222`, `ff36f0b5`, and
//!   `7366a74a`), but each has a prerequisite clause naming only updates we do not hold
//!   (detectoids `be4048db`, `0aac58ee`, `59653007`, categories `e0789628`, `8c3fcc84`), so the
//!   prerequisite gating of MS-WUSP never lets them out: our flow pages have no `NewUpdates`
//!   and `Truncated` is false.
//! - `OutOfScopeRevisionIDs` in our flow answers: the ~1,100 cached ids of revisions we do not
//!   hold, and those of our 6 gated updates. The real server held all of them in scope.
//! - KB2267602's deployment: the real server sent `Install`. Ours, for the same approval, is
//!   `PreDeploymentCheck` because one of its four bundle slots (7 alternatives) has no member in
//!   our catalog, so its content can never be complete here and the server holds the offer back
//!   (the rule that waits for a download). Checked on the server's own deployment table, since
//!   the update never reaches the wire (first point); without that content rule the same
//!   approval gives the real mix (bundle `Install`, members `Bundle`, categories `Evaluate`).
//! - GetConfig has no `PackageServerShare` (no UNC repair share) and its own `LastChange`.
//! - GetExtendedUpdateInfo answers only for the 6 of the 18 requested revisions we hold (3 of the
//!   9 `FileLocations`) and lists the other 12 in `OutOfScopeRevisionIDs`. The real server listed
//!   `LocalizedProperties` fragments in an order that follows neither the request nor the ids (a
//!   database order); ours follow the request, so those are compared as a multiset.
//! - Deployment ids, cookies, expiry, `LastChange` and `LastChangeTime` values are our own by
//!   nature.
//! - The real server numbers revisions from 1 as we do: the few real ids the client sends that
//!   equal one of our 9 ids (3, …) but name updates we do not hold are sent as other ids unknown
//!   to both servers.

#[path = "../../../tests/support/wsdl.rs"]
mod wsdl;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use sluice_decide::index::CatalogIndex;
use sluice_decide::scope::{Action, Approved, FileSource};
use sluice_server::api::ApprovalRequest;
use sluice_server::scan_state::Snapshot;
use sluice_server::RunningServer;
use sluice_testkit::server::TestServer;
use sluice_store::{FileState, InstallState};
use sluice_xml::Element;
use time::OffsetDateTime;
use uuid::Uuid;

/// The client id of the captured machine (GetAuthorizationCookie `clientId`, event `TargetID`).
const CLIENT_ID: &str = "e1da06a3-5601-43c9-bac3-52d5db701494";
const KB2267602: Uuid = Uuid::from_u128(0xa2fef9b0_7951_4c2c_a42b_9e351dd1c1fe);
const SCAN: [&str; 10] = ["000001", "000002", "000003", "000004", "000005", "000006", "000007", "000008", "000009", "000010"];
const FLOW: [&str; 9] = ["000001", "000003", "000012", "000013", "000014", "000015", "000016", "000017", "000018"];
/// What the sanitizer left in place of every cookie: a run of `A` (base64 of zero bytes).
const REDACTED_RUN: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn read_text(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

// ------------------------------------------------------------------------------ the capture

struct Exchange {
    /// `scan/000001`…
    name: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
    /// Operation named by the SOAPAction (`GetConfig`, `SyncUpdates`…).
    operation: String,
    real_status: u16,
    real_headers: Vec<(String, String)>,
    real_body: String,
    /// `Content-Encoding` of the real answer on the wire (the fixture body is decoded).
    real_wire_encoding: Option<String>,
}

impl Exchange {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn real_header(&self, name: &str) -> Option<&str> {
        self.real_headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The WSDL file (`tests/wsdl/<service>.wsdl`) describing this exchange.
    fn wsdl_service(&self) -> &'static str {
        match self.path.to_ascii_lowercase().as_str() {
            "/clientwebservice/client.asmx" => "wusp-client",
            "/simpleauthwebservice/simpleauth.asmx" => "wusp-simpleauth",
            "/reportingwebservice/reportingwebservice.asmx" => "wusp-reporting",
            other => panic!("{}: unexpected path {other}", self.name),
        }
    }
}

/// First line and header fields of a captured HTTP head.
fn parse_head(text: &str) -> (String, Vec<(String, String)>) {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default().to_string();
    let headers = lines
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    (first, headers)
}

fn load(set: &str, n: &str) -> Exchange {
    let dir = fixtures().join("wsus-native/wsus-m0-native").join(set).join(n);
    let name = format!("{set}/{n}");
    let (line, headers) = parse_head(&read_text(&dir.join("request.headers")));
    let mut parts = line.split_whitespace();
    assert_eq!(parts.next(), Some("POST"), "{name}: {line}");
    let path = parts.next().unwrap_or_else(|| panic!("{name}: {line}")).to_string();
    let (_, real_headers) = parse_head(&read_text(&dir.join("response.headers")));
    let meta: serde_json::Value = serde_json::from_str(&read_text(&dir.join("meta.json"))).expect("meta.json");
    let real_status = meta["status"].as_u64().unwrap_or_else(|| panic!("{name}: no status")) as u16;
    let real_wire_encoding = meta["wire_response_content_encoding"]
        .as_str()
        .map(|h| h.split_once(':').map_or(h, |(_, v)| v).trim().to_ascii_lowercase());
    let mut ex = Exchange {
        name,
        path,
        headers,
        body: read_text(&dir.join("request.body")),
        operation: String::new(),
        real_status,
        real_headers,
        real_body: read_text(&dir.join("response.body")),
        real_wire_encoding,
    };
    let action = ex.header("SOAPAction").unwrap_or_else(|| panic!("{}: no SOAPAction", ex.name));
    ex.operation = action.trim_matches('"').rsplit('/').next().unwrap_or_default().to_string();
    ex
}

fn capture() -> Vec<Exchange> {
    let mut v: Vec<Exchange> = SCAN.iter().map(|n| load("scan", n)).collect();
    v.extend(FLOW.iter().map(|n| load("flow", n)));
    v
}

// ------------------------------------------------------------------------------ XML reading

fn parse(xml: &str, what: &str) -> Element {
    sluice_xml::parse(xml, what).unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// First descendant (or self) named `local`, depth first.
fn find<'a>(el: &'a Element, local: &str) -> Option<&'a Element> {
    if el.local == local {
        return Some(el);
    }
    el.elements().find_map(|c| find(c, local))
}

fn find_all<'a>(el: &'a Element, local: &str, out: &mut Vec<&'a Element>) {
    if el.local == local {
        out.push(el);
        return;
    }
    for c in el.elements() {
        find_all(c, local, out);
    }
}

fn all<'a>(el: &'a Element, local: &str) -> Vec<&'a Element> {
    let mut v = Vec::new();
    find_all(el, local, &mut v);
    v
}

fn kid<'a>(el: &'a Element, local: &str) -> Option<&'a Element> {
    el.elements().find(|e| e.local == local)
}

fn kid_text(el: &Element, local: &str) -> Option<String> {
    kid(el, local).map(Element::text)
}

fn ints_in(el: Option<&Element>) -> Vec<i32> {
    el.map(|e| e.elements().map(|i| i.text().trim().parse::<i32>().expect("int")).collect()).unwrap_or_default()
}

/// `UpdateID` and `RevisionNumber` of the `UpdateIdentity` a Core fragment starts with.
fn core_identity(core: &str) -> (Uuid, i32) {
    let start = core.find("<UpdateIdentity ").unwrap_or_else(|| panic!("no UpdateIdentity in {core}"));
    let tag = &core[start..start + core[start..].find('>').expect("tag end")];
    let attr = |name: &str| -> &str {
        let key = format!(" {name}=\"");
        let i = tag.find(&key).unwrap_or_else(|| panic!("no {name} in {tag}")) + key.len();
        &tag[i..i + tag[i..].find('"').expect("quote")]
    };
    (Uuid::parse_str(attr("UpdateID")).expect("UpdateID"), attr("RevisionNumber").parse().expect("RevisionNumber"))
}

/// SHA-1 digests (base64, as in `FileDigest`) of the files an Extended fragment lists.
fn extended_digests(extended: &str) -> Vec<String> {
    extended
        .match_indices("<File ")
        .map(|(i, _)| {
            let tag = &extended[i..i + extended[i..].find('>').expect("tag end")];
            let key = " Digest=\"";
            let s = tag.find(key).unwrap_or_else(|| panic!("no Digest in {tag}")) + key.len();
            tag[s..s + tag[s..].find('"').expect("quote")].to_string()
        })
        .collect()
}

/// The redaction put `LinkId=REDACTED` where the public fwlink id was; compare modulo its value.
fn without_link_ids(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("LinkId=") {
        out.push_str(&rest[..i + "LinkId=".len()]);
        rest = &rest[i + "LinkId=".len()..];
        let end = rest.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(rest.len());
        out.push('*');
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

// ------------------------------------------------------------------------------ shape

/// Element path → the child-name sequences found there, consecutive repeats collapsed.
type Shape = BTreeMap<Vec<String>, BTreeSet<Vec<String>>>;

fn qualified(e: &Element) -> String {
    if e.ns.is_empty() { e.local.clone() } else { format!("{{{}}}{}", e.ns, e.local) }
}

fn shape(root: &Element) -> Shape {
    fn walk(e: &Element, path: &mut Vec<String>, out: &mut Shape) {
        path.push(qualified(e));
        let mut seq: Vec<String> = Vec::new();
        for c in e.elements() {
            let n = qualified(c);
            if seq.last() != Some(&n) {
                seq.push(n);
            }
        }
        out.entry(path.clone()).or_default().insert(seq);
        for c in e.elements() {
            walk(c, path, out);
        }
        path.pop();
    }
    let mut out = Shape::new();
    walk(root, &mut Vec::new(), &mut out);
    out
}

fn local_of(q: &str) -> &str {
    q.rsplit('}').next().unwrap_or(q)
}

fn path_text(p: &[String]) -> String {
    p.iter().map(|s| local_of(s)).collect::<Vec<_>>().join("/")
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Difference {
    /// `child` is under `parent` in the real answer only.
    OnlyReal { parent: String, child: String },
    /// `child` is under `parent` in our answer only.
    OnlyOurs { parent: String, child: String },
    /// Another order, or array items shaped differently: never acceptable.
    Incompatible { path: String, real: String, ours: String },
}

fn compare_shapes(real: &Shape, ours: &Shape) -> Vec<Difference> {
    let mut diffs = Vec::new();
    for (path, rs) in real {
        // A path only one side has sits under an element reported at its parent.
        let Some(os) = ours.get(path) else { continue };
        if rs == os {
            continue;
        }
        let (r, o) = match (rs.iter().collect::<Vec<_>>().as_slice(), os.iter().collect::<Vec<_>>().as_slice()) {
            ([r], [o]) => ((*r).clone(), (*o).clone()),
            _ => {
                diffs.push(Difference::Incompatible { path: path_text(path), real: format!("{rs:?}"), ours: format!("{os:?}") });
                continue;
            }
        };
        let common_r: Vec<&String> = r.iter().filter(|n| o.contains(n)).collect();
        let common_o: Vec<&String> = o.iter().filter(|n| r.contains(n)).collect();
        if common_r != common_o {
            diffs.push(Difference::Incompatible { path: path_text(path), real: format!("{r:?}"), ours: format!("{o:?}") });
            continue;
        }
        let parent = local_of(path.last().expect("path")).to_string();
        for n in r.iter().filter(|n| !o.contains(n)) {
            diffs.push(Difference::OnlyReal { parent: parent.clone(), child: local_of(n).to_string() });
        }
        for n in o.iter().filter(|n| !r.contains(n)) {
            diffs.push(Difference::OnlyOurs { parent: parent.clone(), child: local_of(n).to_string() });
        }
    }
    diffs.sort();
    diffs
}

/// The difference content predicts for an optional array `child` of `parent`.
fn predicted(parent: &str, child: &str, real_has: bool, ours_expected: bool) -> Option<Difference> {
    match (real_has, ours_expected) {
        (true, false) => Some(Difference::OnlyReal { parent: parent.into(), child: child.into() }),
        (false, true) => Some(Difference::OnlyOurs { parent: parent.into(), child: child.into() }),
        _ => None,
    }
}

// ------------------------------------------------------------------------------ catalogs

/// One revision as the real server sent it in a SyncUpdates answer.
#[derive(Debug, Clone)]
struct RealRevision {
    update_id: Uuid,
    revision_number: i32,
    core: String,
    is_leaf: bool,
    action: String,
}

/// Every revision the real SyncUpdates answers of the capture describe, by real revision id.
fn real_revisions(capture: &[Exchange]) -> HashMap<i32, RealRevision> {
    let mut out: HashMap<i32, RealRevision> = HashMap::new();
    for ex in capture.iter().filter(|e| e.operation == "SyncUpdates") {
        let root = parse(&ex.real_body, &ex.name);
        for info in all(&root, "UpdateInfo") {
            let id: i32 = kid_text(info, "ID").expect("ID").parse().expect("ID");
            let core = kid_text(info, "Xml").expect("Xml");
            let (update_id, revision_number) = core_identity(&core);
            let rev = RealRevision {
                update_id,
                revision_number,
                core,
                is_leaf: kid_text(info, "IsLeaf").expect("IsLeaf") == "true",
                action: kid(info, "Deployment").and_then(|d| kid_text(d, "Action")).expect("Action"),
            };
            if let Some(prev) = out.get(&id) {
                assert_eq!((prev.update_id, prev.revision_number), (update_id, revision_number), "real id {id} names two revisions");
            }
            out.insert(id, rev);
        }
    }
    out
}

/// What the test knows of our catalog: the index the server answers from, and the translation
/// of the real server's revision ids into ours.
struct Ours {
    snap: Arc<Snapshot>,
    real_to_ours: HashMap<i32, i32>,
    ours_to_real: HashMap<i32, i32>,
    /// Real ids of updates we do not hold that equal one of our ids, and what is sent instead.
    renamed: HashMap<i32, i32>,
}

impl Ours {
    fn index(&self) -> &CatalogIndex {
        &self.snap.index
    }

    fn entry_of_revision(&self, ours: i32) -> Option<&sluice_decide::index::Entry> {
        self.index().entry_of_revision(ours).map(|i| &self.index().entries[i])
    }

    fn entry_of_update(&self, u: &Uuid) -> Option<&sluice_decide::index::Entry> {
        self.index().entry_of_update(u).map(|i| &self.index().entries[i])
    }

    /// A prerequisite clause none of whose alternatives we hold: the update can never be
    /// delivered by prerequisite gating, whatever the client has installed.
    fn gated(&self, update: &Uuid) -> bool {
        self.entry_of_update(update)
            .is_some_and(|e| e.prerequisites.iter().any(|clause| clause.iter().all(|u| self.entry_of_update(u).is_none())))
    }

    fn translate(&self, real: i32) -> i32 {
        self.real_to_ours.get(&real).or_else(|| self.renamed.get(&real)).copied().unwrap_or(real)
    }
}

// ------------------------------------------------------------------------------ HTTP

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    /// The decoded XML.
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The client's state between calls, as Windows Update Agent keeps it.
#[derive(Default)]
struct ClientState {
    last_change: Option<String>,
    auth_cookie: Option<String>,
    /// `Expiration`, `EncryptedData`.
    cookie: Option<(String, String)>,
}

/// Replaces the content of every `<tag>…</tag>` by `f(content)`; returns the count.
fn rewrite(xml: &str, tag: &str, mut f: impl FnMut(&str) -> String) -> (String, usize) {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    let mut n = 0;
    while let Some(i) = rest.find(&open) {
        let start = i + open.len();
        let end = start + rest[start..].find(&close).unwrap_or_else(|| panic!("no {close}"));
        out.push_str(&rest[..start]);
        out.push_str(&f(&rest[start..end]));
        rest = &rest[end..];
        n += 1;
    }
    out.push_str(rest);
    (out, n)
}

/// The ids of the id lists the client sent, as the real server's ids and as we sent them.
#[derive(Debug, Default)]
struct SentIds {
    lists: HashMap<&'static str, Vec<(i32, i32)>>,
}

impl SentIds {
    fn sent(&self, list: &str) -> Vec<i32> {
        self.lists.get(list).map(|v| v.iter().map(|p| p.1).collect()).unwrap_or_default()
    }
}

/// The request as we send it: the captured body with our cookies, configuration time and ids.
fn prepare(ex: &Exchange, client: &ClientState, ours: &Ours) -> (String, SentIds) {
    let mut body = ex.body.clone();
    if ex.operation == "GetCookie" {
        let (b, n) = rewrite(&body, "CookieData", |_| client.auth_cookie.clone().expect("GetAuthorizationCookie came first"));
        assert_eq!(n, 1, "{}", ex.name);
        let (b, n) = rewrite(&b, "lastChange", |_| client.last_change.clone().expect("GetConfig came first"));
        assert_eq!(n, 1, "{}", ex.name);
        body = b;
    }
    let (b, cookies) = rewrite(&body, "cookie", |inner| {
        let (exp, data) = client.cookie.clone().expect("GetCookie came first");
        let (x, n1) = rewrite(inner, "Expiration", |_| exp.clone());
        let (x, n2) = rewrite(&x, "EncryptedData", |_| data.clone());
        assert_eq!((n1, n2), (1, 1), "cookie of {}", ex.name);
        x
    });
    body = b;
    let needs_cookie = !matches!(ex.operation.as_str(), "GetConfig" | "GetAuthorizationCookie" | "GetCookie" | "StartCategoryScan");
    assert_eq!(cookies, usize::from(needs_cookie), "{}: cookie elements", ex.name);
    let mut sent = SentIds::default();
    for list in ["InstalledNonLeafUpdateIDs", "OtherCachedUpdateIDs", "CachedDriverIDs", "revisionIDs"] {
        let mut pairs = Vec::new();
        let (b, _) = rewrite(&body, list, |inner| {
            rewrite(inner, "int", |v| {
                let real: i32 = v.trim().parse().expect("int");
                let our = ours.translate(real);
                pairs.push((real, our));
                our.to_string()
            })
            .0
        });
        body = b;
        if !pairs.is_empty() {
            sent.lists.insert(list, pairs);
        }
    }
    assert!(!body.contains(REDACTED_RUN), "{}: a redacted value would be sent", ex.name);
    (body, sent)
}

async fn send(http: &reqwest::Client, base: &str, ex: &Exchange, body: String) -> Answer {
    let mut headers = HeaderMap::new();
    for (k, v) in &ex.headers {
        if k.eq_ignore_ascii_case("host") || k.eq_ignore_ascii_case("content-length") {
            continue;
        }
        headers.append(HeaderName::from_bytes(k.as_bytes()).expect("header name"), HeaderValue::from_str(v).expect("header value"));
    }
    let resp = http.post(format!("{base}{}", ex.path)).headers(headers).body(body).send().await.unwrap_or_else(|e| panic!("{}: {e}", ex.name));
    let status = resp.status().as_u16();
    let headers: Vec<(String, String)> =
        resp.headers().iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string())).collect();
    let raw = resp.bytes().await.expect("body");
    let encoded = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("content-encoding") && v.eq_ignore_ascii_case("xpress"));
    let decoded = if encoded { sluice_xpress::decompress(&raw).unwrap_or_else(|e| panic!("{}: xpress: {e:?}", ex.name)) } else { raw.to_vec() };
    Answer { status, headers, body: String::from_utf8(decoded).unwrap_or_else(|_| panic!("{}: not UTF-8", ex.name)) }
}

// ------------------------------------------------------------------------------ the server

async fn start_server() -> TestServer {
    let server = sluice_testkit::server::start().await;
    let docs_dir = fixtures().join("wsus-rs/docs");
    let mut docs: Vec<(String, Vec<u8>)> = std::fs::read_dir(&docs_dir)
        .expect("docs")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .map(|p| (p.file_name().expect("name").to_string_lossy().into_owned(), std::fs::read(&p).expect("doc")))
        .collect();
    docs.sort();
    assert_eq!(docs.len(), 9);
    server.state.catalog.import_documents(docs).await.expect("the real documents import");
    server.state.scan.invalidate();
    server
}

/// The deployment the server computes for the replayed computer, by update.
async fn deployments_of_client(server: &RunningServer) -> HashMap<Uuid, Action> {
    let snap = server.state.scan.snapshot().await.expect("snapshot");
    let assigned: Vec<Uuid> = server.state.store.computer_groups(CLIENT_ID).await.expect("groups").into_iter().map(|g| g.id).collect();
    let groups = snap.targeting.groups_of(snap.mode, &assigned, Some(""));
    let deployments = snap.deployments_for(&groups);
    snap.index
        .entries
        .iter()
        .zip(deployments.iter())
        .filter_map(|(e, d)| d.map(|d| (e.update_id, d.action)))
        .collect()
}

/// Bundled members we hold, transitively (the updates whose files make the bundle installable).
fn held_members(index: &CatalogIndex, root: &Uuid) -> Vec<usize> {
    let mut out = Vec::new();
    let mut stack = vec![*root];
    while let Some(u) = stack.pop() {
        let Some(i) = index.entry_of_update(&u) else { continue };
        for m in index.entries[i].bundled.iter().flatten() {
            if let Some(j) = index.entry_of_update(m) {
                if !out.contains(&j) {
                    out.push(j);
                    stack.push(*m);
                }
            }
        }
    }
    out
}

// ------------------------------------------------------------------------------ WSDL check

struct Validation {
    name: String,
    service: &'static str,
    operation: String,
    body: String,
}

fn validate_against_wsdl(cases: &[Validation]) {
    let messages: Vec<wsdl::Message> = cases
        .iter()
        .map(|c| wsdl::Message::response(c.name.clone(), c.service, c.operation.clone(), c.body.clone().into_bytes()))
        .collect();
    wsdl::assert_all(&messages);
}

// ------------------------------------------------------------------------------ checks per operation

/// What a check needs besides the two answers.
struct Ctx<'a> {
    ex: &'a Exchange,
    real: &'a Element,
    ours: &'a Element,
    our_host: &'a str,
    catalog: &'a Ours,
    real_revisions: &'a HashMap<i32, RealRevision>,
    sent: &'a SentIds,
    client: &'a ClientState,
}

fn check_get_config(c: &Ctx<'_>, server: &RunningServer) -> Vec<Difference> {
    let (r, o) = (find(c.real, "GetConfigResult").expect("real"), find(c.ours, "GetConfigResult").expect("ours"));
    let last_change = kid_text(o, "LastChange").expect("LastChange");
    let parsed = sluice_soap::parse_datetime(&last_change).unwrap_or_else(|| panic!("LastChange {last_change}"));
    assert_eq!(parsed, server.state.scan.config_last_change(), "LastChange is the server's configuration time");
    assert_eq!(kid_text(o, "IsRegistrationRequired"), kid_text(r, "IsRegistrationRequired"));
    let plugins = |e: &Element| -> Vec<Vec<(String, String)>> {
        all(kid(e, "AuthInfo").expect("AuthInfo"), "AuthPlugInInfo")
            .iter()
            .map(|p| p.elements().map(|f| (f.local.clone(), f.text())).collect())
            .collect()
    };
    assert_eq!(plugins(o), plugins(r), "AuthInfo");
    let properties = |e: &Element| -> Vec<(String, String)> {
        all(e, "ConfigurationProperty").iter().map(|p| (kid_text(p, "Name").expect("Name"), kid_text(p, "Value").expect("Value"))).collect()
    };
    // No UNC repair share: Sluice has no PackageServerShare to advertise.
    let real_props: Vec<(String, String)> = properties(r).into_iter().filter(|(n, _)| n != "PackageServerShare").collect();
    assert_eq!(properties(o), real_props, "configuration properties");
    Vec::new()
}

fn check_simple(c: &Ctx<'_>) -> Vec<Difference> {
    match c.ex.operation.as_str() {
        "GetAuthorizationCookie" => {
            let (r, o) = (find(c.real, "GetAuthorizationCookieResult").expect("real"), find(c.ours, "GetAuthorizationCookieResult").expect("ours"));
            assert_eq!(kid_text(o, "PlugInId"), kid_text(r, "PlugInId"));
            assert!(kid_text(o, "CookieData").is_some_and(|d| d.len() > 40), "CookieData");
        }
        "GetCookie" => {
            let o = find(c.ours, "GetCookieResult").expect("ours");
            let exp = sluice_soap::parse_datetime(&kid_text(o, "Expiration").expect("Expiration")).expect("Expiration is a dateTime");
            // One hour, as on the real server (2026-10-04T15:03:36 → 16:03:35.99).
            let left = exp - OffsetDateTime::now_utc();
            assert!(left > time::Duration::minutes(58) && left <= time::Duration::hours(1), "cookie lifetime {left}");
            assert!(kid_text(o, "EncryptedData").is_some_and(|d| d.len() > 40), "EncryptedData");
        }
        "RegisterComputer" => {
            let o = find(c.ours, "RegisterComputerResponse").expect("ours");
            assert_eq!(o.elements().count(), 0, "empty answer");
        }
        "StartCategoryScan" => {
            let ids = |e: &Element, list: &str| -> Vec<String> {
                find(e, list).map(|l| l.elements().map(|g| g.text().to_ascii_lowercase()).collect()).unwrap_or_default()
            };
            for list in ["preferredCategoryIds", "requestedCategoryIdsInError"] {
                assert_eq!(ids(c.ours, list), ids(c.real, list), "{list}");
            }
        }
        "ReportEventBatch" => {
            assert_eq!(find(c.real, "ReportEventBatchResult").map(Element::text).as_deref(), Some("true"));
            assert_eq!(find(c.ours, "ReportEventBatchResult").map(Element::text).as_deref(), Some("true"), "events accepted");
        }
        other => panic!("no check for {other}"),
    }
    Vec::new()
}

/// SyncUpdates: the real answer is the oracle for what gets delivered, and the catalog facts
/// explain every exclusion.
fn check_sync_updates(c: &Ctx<'_>, delivered_so_far: &mut HashSet<i32>) -> Vec<Difference> {
    let (r, o) = (find(c.real, "SyncUpdatesResult").expect("real"), find(c.ours, "SyncUpdatesResult").expect("ours"));
    let request = parse(&c.ex.body, &c.ex.name);
    let skip_software = find(&request, "SkipSoftwareSync").is_some_and(|e| e.text() == "true");
    let real_new: Vec<&RealRevision> =
        all(r, "UpdateInfo").iter().map(|u| &c.real_revisions[&kid_text(u, "ID").expect("ID").parse::<i32>().expect("ID")]).collect();

    // NewUpdates: what the real server sent here that we hold, unless a prerequisite clause names
    // only updates we do not hold.
    let mut expected_new: BTreeSet<Uuid> = BTreeSet::new();
    for rev in &real_new {
        if c.catalog.entry_of_update(&rev.update_id).is_some() && !c.catalog.gated(&rev.update_id) {
            expected_new.insert(rev.update_id);
        }
    }
    let ours_new = kid(o, "NewUpdates").map(|n| all(n, "UpdateInfo")).unwrap_or_default();
    let mut got_new: BTreeSet<Uuid> = BTreeSet::new();
    for info in &ours_new {
        let id: i32 = kid_text(info, "ID").expect("ID").parse().expect("ID");
        let core = kid_text(info, "Xml").expect("Xml");
        let (update, revision_number) = core_identity(&core);
        let entry = c.catalog.entry_of_update(&update).expect("an update we hold");
        assert_eq!((entry.revision_id, entry.revision_number), (id, revision_number), "{}: ID is our revision id", c.ex.name);
        let real = c.real_revisions.values().find(|r| r.update_id == update).expect("the real server sent it too");
        assert_eq!(core, real.core, "{}: Core fragment of {update}", c.ex.name);
        assert_eq!(kid_text(info, "IsLeaf").as_deref() == Some("true"), real.is_leaf, "{}: IsLeaf of {update}", c.ex.name);
        let d = kid(info, "Deployment").expect("every UpdateInfo carries a Deployment");
        assert_eq!(kid_text(d, "Action").expect("Action"), real.action, "{}: action of {update}", c.ex.name);
        let fields: Vec<String> = d.elements().map(|f| f.local.clone()).collect();
        assert_eq!(fields, ["ID", "Action", "IsAssigned", "LastChangeTime", "AutoSelect", "AutoDownload", "SupersedenceBehavior"]);
        assert_eq!(kid_text(d, "IsAssigned").as_deref(), Some("true"));
        let date = kid_text(d, "LastChangeTime").expect("LastChangeTime");
        assert!(date.len() == 10 && time::Date::parse(&date, time::macros::format_description!("[year]-[month]-[day]")).is_ok(), "date only: {date}");
        for f in ["AutoSelect", "AutoDownload", "SupersedenceBehavior"] {
            assert_eq!(kid_text(d, f).as_deref(), Some("0"), "{f}");
        }
        got_new.insert(update);
        delivered_so_far.insert(id);
    }
    assert_eq!(got_new, expected_new, "{}: updates delivered", c.ex.name);
    assert_eq!(ours_new.len(), got_new.len(), "{}: one revision per update", c.ex.name);
    // Non-leaf revisions first, so each round unlocks the next level.
    let leaves: Vec<bool> = ours_new.iter().map(|i| kid_text(i, "IsLeaf").as_deref() == Some("true")).collect();
    assert!(leaves.windows(2).all(|w| w[0] <= w[1]), "{}: non-leaf first", c.ex.name);

    // OutOfScopeRevisionIDs: every cached id of a revision we do not hold (never a fault), of a
    // gated one, or of one whose prerequisites the client does not have installed.
    let installed: HashSet<i32> = c.sent.sent("InstalledNonLeafUpdateIDs").into_iter().collect();
    let installed_updates: HashSet<Uuid> = installed.iter().filter_map(|i| c.catalog.index().update_of_revision(*i)).collect();
    let cached: Vec<i32> = if skip_software {
        c.sent.sent("CachedDriverIDs")
    } else {
        c.sent.sent("InstalledNonLeafUpdateIDs").into_iter().chain(c.sent.sent("OtherCachedUpdateIDs")).collect()
    };
    let expected_oos: BTreeSet<i32> = cached
        .iter()
        .copied()
        .filter(|id| {
            if skip_software {
                return true; // no driver updates here: every cached driver goes
            }
            match c.catalog.entry_of_revision(*id) {
                None => true,
                Some(e) => {
                    c.catalog.gated(&e.update_id)
                        || !e.prerequisites.iter().all(|clause| clause.iter().any(|u| installed_updates.contains(u)))
                }
            }
        })
        .collect();
    let got_oos = ints_in(kid(o, "OutOfScopeRevisionIDs"));
    assert_eq!(got_oos.iter().copied().collect::<BTreeSet<i32>>(), expected_oos, "{}: OutOfScopeRevisionIDs", c.ex.name);
    assert_eq!(got_oos.len(), expected_oos.len(), "{}: no duplicates", c.ex.name);
    let unknown = cached.iter().filter(|id| c.catalog.entry_of_revision(**id).is_none()).count();
    if !skip_software && cached.len() > 100 {
        assert!(unknown > 1000, "{}: the replay sends the real server's other ids ({unknown})", c.ex.name);
    }
    // Revisions we delivered earlier in the session and the client cached stay in scope.
    for id in delivered_so_far.iter() {
        assert!(!got_oos.contains(id), "{}: {id} was delivered and must stay", c.ex.name);
    }

    // Our catalog pages are tiny; the real flow pages were truncated at 30.
    assert_eq!(kid_text(o, "Truncated").as_deref(), Some(if expected_new.len() > sluice_decide::sync::PAGE_SIZE { "true" } else { "false" }));
    if c.ex.name.starts_with("scan/") {
        assert_eq!(kid_text(o, "Truncated"), kid_text(r, "Truncated"), "{}: Truncated", c.ex.name);
    }
    assert_eq!(kid_text(o, "DriverSyncNotNeeded"), kid_text(r, "DriverSyncNotNeeded"), "{}: DriverSyncNotNeeded", c.ex.name);
    // The cookie keeps its expiry and changes its sealed state on every page.
    let cookie = kid(o, "NewCookie").expect("NewCookie");
    let (exp, data) = c.client.cookie.clone().expect("cookie");
    assert_eq!(kid_text(cookie, "Expiration"), Some(exp), "{}: NewCookie keeps the expiry", c.ex.name);
    assert_ne!(kid_text(cookie, "EncryptedData"), Some(data), "{}: NewCookie is fresh", c.ex.name);

    let mut diffs: Vec<Difference> = [
        predicted("SyncUpdatesResult", "NewUpdates", kid(r, "NewUpdates").is_some(), !expected_new.is_empty()),
        predicted("SyncUpdatesResult", "OutOfScopeRevisionIDs", kid(r, "OutOfScopeRevisionIDs").is_some(), !expected_oos.is_empty()),
    ]
    .into_iter()
    .flatten()
    .collect();
    diffs.sort();
    diffs
}

/// GetExtendedUpdateInfo: the real fragments of the revisions we hold, their file locations on
/// our host, and the rest out of scope.
fn check_extended_info(c: &Ctx<'_>) -> Vec<Difference> {
    let (r, o) = (find(c.real, "GetExtendedUpdateInfoResult").expect("real"), find(c.ours, "GetExtendedUpdateInfoResult").expect("ours"));
    let requested = c.sent.lists.get("revisionIDs").cloned().unwrap_or_default();
    let held: HashSet<i32> = requested.iter().filter(|(_, our)| c.catalog.entry_of_revision(*our).is_some()).map(|(real, _)| *real).collect();
    let kind = |xml: &str| -> &'static str {
        if xml.starts_with("<ExtendedProperties") {
            "Extended"
        } else if xml.starts_with("<LocalizedProperties") {
            "LocalizedProperties"
        } else {
            panic!("unknown fragment {xml}")
        }
    };
    // (real id, kind, text) as each server sent them.
    let items = |e: &Element, to_real: &dyn Fn(i32) -> i32| -> Vec<(i32, &'static str, String)> {
        all(e, "Update")
            .iter()
            .map(|u| {
                let xml = kid_text(u, "Xml").expect("Xml");
                (to_real(kid_text(u, "ID").expect("ID").parse().expect("ID")), kind(&xml), without_link_ids(&xml))
            })
            .collect()
    };
    let real_items: Vec<(i32, &str, String)> = items(r, &|id| id).into_iter().filter(|(id, _, _)| held.contains(id)).collect();
    let our_items = items(o, &|id| *c.catalog.ours_to_real.get(&id).unwrap_or_else(|| panic!("our id {id} answers no requested revision")));
    // Fragment types in the order the client asked for them.
    let kinds: Vec<&str> = our_items.iter().map(|i| i.1).collect();
    assert!(kinds.windows(2).all(|w| w[0] <= w[1]), "{}: Extended before LocalizedProperties: {kinds:?}", c.ex.name);
    let of_kind = |v: &[(i32, &'static str, String)], k: &str| -> Vec<(i32, String)> {
        v.iter().filter(|i| i.1 == k).map(|i| (i.0, i.2.clone())).collect()
    };
    assert_eq!(of_kind(&our_items, "Extended"), of_kind(&real_items, "Extended"), "{}: Extended fragments", c.ex.name);
    let mut ours_loc = of_kind(&our_items, "LocalizedProperties");
    let mut real_loc = of_kind(&real_items, "LocalizedProperties");
    ours_loc.sort();
    real_loc.sort();
    assert_eq!(ours_loc, real_loc, "{}: LocalizedProperties fragments", c.ex.name);
    assert_eq!(of_kind(&our_items, "Extended").len(), held.len(), "{}: one Extended per revision we hold", c.ex.name);

    // FileLocations: exactly the files the real Extended fragments of those revisions list, at
    // the real `/Content/XX/SHA1.ext` path, on our host.
    let locations = |e: &Element| -> BTreeMap<String, String> {
        all(e, "FileLocation").iter().map(|l| (kid_text(l, "FileDigest").expect("FileDigest"), kid_text(l, "Url").expect("Url"))).collect()
    };
    let wanted: BTreeSet<String> = real_items.iter().filter(|i| i.1 == "Extended").flat_map(|i| extended_digests(&i.2)).collect();
    let real_locations = locations(r);
    let expected_locations: BTreeMap<String, String> = wanted
        .iter()
        .map(|d| {
            let url = real_locations.get(d).unwrap_or_else(|| panic!("the real server located {d}"));
            let path = &url[url.find("/Content/").expect("content path")..];
            (d.clone(), format!("http://{}{path}", c.our_host))
        })
        .collect();
    assert_eq!(locations(o), expected_locations, "{}: FileLocations", c.ex.name);
    assert_eq!(all(o, "FileLocation").len(), expected_locations.len(), "{}: each file once", c.ex.name);

    let expected_oos: BTreeSet<i32> = requested.iter().filter(|(real, _)| !held.contains(real)).map(|p| p.1).collect();
    assert_eq!(ints_in(kid(o, "OutOfScopeRevisionIDs")).into_iter().collect::<BTreeSet<_>>(), expected_oos, "{}: OutOfScopeRevisionIDs", c.ex.name);

    let mut diffs: Vec<Difference> = [
        predicted("GetExtendedUpdateInfoResult", "Updates", kid(r, "Updates").is_some(), !held.is_empty()),
        predicted("GetExtendedUpdateInfoResult", "FileLocations", kid(r, "FileLocations").is_some(), !expected_locations.is_empty()),
        predicted("GetExtendedUpdateInfoResult", "OutOfScopeRevisionIDs", kid(r, "OutOfScopeRevisionIDs").is_some(), !expected_oos.is_empty()),
    ]
    .into_iter()
    .flatten()
    .collect();
    diffs.sort();
    diffs
}

// ------------------------------------------------------------------------------ the test

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_native_request_replays_against_our_server_like_against_the_real_one() {
    let server = start_server().await;
    let capture = capture();
    assert_eq!(capture.len(), 19);
    let real_revisions = real_revisions(&capture);

    // Real ids → ours, for the updates we hold, through the Core fragment each real id came with.
    let snap = server.state.scan.snapshot().await.expect("snapshot");
    let mut real_to_ours = HashMap::new();
    for (real_id, rev) in &real_revisions {
        if let Some(i) = snap.index.entry_of_update(&rev.update_id) {
            let e = &snap.index.entries[i];
            assert_eq!(e.revision_number, rev.revision_number, "same revision of {}", rev.update_id);
            real_to_ours.insert(*real_id, e.revision_id);
        }
    }
    assert_eq!(real_to_ours.len(), 9, "the capture names each of our 9 updates: {real_to_ours:?}");
    let ours_to_real: HashMap<i32, i32> = real_to_ours.iter().map(|(r, o)| (*o, *r)).collect();
    let mut catalog = Ours { snap, real_to_ours, ours_to_real, renamed: HashMap::new() };
    // The real server numbers revisions from 1 as we do: a real id that is also one of ours but
    // names an update we do not hold (the capture has real ids 3…) is sent as another id
    // unknown to both, so it still reaches us as "a revision we do not hold".
    let mut all_real_ids: BTreeSet<i32> = BTreeSet::new();
    for ex in &capture {
        let request = parse(&ex.body, &ex.name);
        for list in ["InstalledNonLeafUpdateIDs", "OtherCachedUpdateIDs", "CachedDriverIDs", "revisionIDs"] {
            all_real_ids.extend(ints_in(find(&request, list)));
        }
    }
    for id in &all_real_ids {
        if catalog.ours_to_real.contains_key(id) && !catalog.real_to_ours.contains_key(id) {
            let taken = |c: &i32| all_real_ids.contains(c) || catalog.ours_to_real.contains_key(c) || catalog.renamed.values().any(|v| v == c);
            let stand_in = (1..).map(|k| i32::MAX - k).find(|c| !taken(c)).expect("free id");
            catalog.renamed.insert(*id, stand_in);
        }
    }

    let http = reqwest::Client::builder().no_proxy().http1_title_case_headers().build().expect("client");
    let base = format!("http://{}", server.client_addr);
    let our_host = server.client_addr.to_string();
    let mut client = ClientState::default();
    let mut validations = Vec::new();
    let mut delivered_so_far: HashSet<i32> = HashSet::new();
    let mut report: Vec<String> = Vec::new();

    for ex in &capture {
        if ex.name == "flow/000001" {
            // Between the two captures an administrator approved KB2267602 for every computer.
            approve_kb2267602(&server, &mut catalog, &real_revisions).await;
        }
        let (body, sent) = prepare(ex, &client, &catalog);
        let answer = send(&http, &base, ex, body).await;
        assert_eq!(answer.status, ex.real_status, "{}: status; body: {}", ex.name, answer.body);
        assert_eq!(answer.header("content-type"), ex.real_header("Content-Type"), "{}: Content-Type", ex.name);
        assert_eq!(answer.header("content-encoding").map(str::to_ascii_lowercase), ex.real_wire_encoding, "{}: Content-Encoding", ex.name);
        assert_eq!(answer.header("vary"), ex.real_header("Vary"), "{}: Vary", ex.name);
        assert_eq!(answer.header("cache-control"), ex.real_header("Cache-Control"), "{}: Cache-Control", ex.name);

        let real = parse(&ex.real_body, &format!("real {}", ex.name));
        let ours = parse(&answer.body, &format!("our {}", ex.name));
        let ctx = Ctx {
            ex,
            real: &real,
            ours: &ours,
            our_host: &our_host,
            catalog: &catalog,
            real_revisions: &real_revisions,
            sent: &sent,
            client: &client,
        };
        let expected_diffs = match ex.operation.as_str() {
            "GetConfig" => check_get_config(&ctx, &server),
            "SyncUpdates" => check_sync_updates(&ctx, &mut delivered_so_far),
            "GetExtendedUpdateInfo" => check_extended_info(&ctx),
            _ => check_simple(&ctx),
        };
        let diffs = compare_shapes(&shape(&real), &shape(&ours));
        assert_eq!(diffs, expected_diffs, "{}: shape differences (ours: {})", ex.name, answer.body);
        report.push(format!("{} {}: {}", ex.name, ex.operation, if diffs.is_empty() { "same shape".into() } else { format!("{diffs:?}") }));

        // The client's state moves on with what we answered.
        match ex.operation.as_str() {
            "GetConfig" => client.last_change = find(&ours, "LastChange").map(Element::text),
            "GetAuthorizationCookie" => client.auth_cookie = find(&ours, "CookieData").map(Element::text),
            "GetCookie" | "SyncUpdates" => {
                let c = find(&ours, "GetCookieResult").or_else(|| find(&ours, "NewCookie")).expect("a cookie");
                client.cookie = Some((kid_text(c, "Expiration").expect("Expiration"), kid_text(c, "EncryptedData").expect("EncryptedData")));
            }
            _ => {}
        }
        if ex.operation == "RegisterComputer" {
            let computer = server.state.store.get_computer(CLIENT_ID).await.expect("store").expect("registered");
            assert_eq!(computer.info.dns_name.as_deref(), Some("REDACTED3"));
            assert_eq!(computer.info.os_build, Some(26200));
        }
        validations.push(Validation { name: ex.name.clone(), service: ex.wsdl_service(), operation: ex.operation.clone(), body: answer.body });
    }

    // The scan reproduced the real category rounds one for one.
    let categories: BTreeSet<Uuid> = catalog.index().entries.iter().filter(|e| e.category_type.is_some()).map(|e| e.update_id).collect();
    let delivered: BTreeSet<Uuid> = delivered_so_far.iter().filter_map(|id| catalog.index().update_of_revision(*id)).collect();
    assert_eq!(delivered, categories, "the three categories, and only them, reached the client");

    // Event 156 listed KB2267602 as needed, then 161/182 said its download and install failed.
    let status = server.state.store.status_for_computer(CLIENT_ID).await.expect("status");
    let kb = status.iter().find(|s| s.update_id == KB2267602).expect("KB2267602 has a status");
    assert_eq!((kb.state, kb.last_event_id.as_deref()), (InstallState::Failed, Some("182")), "{kb:?}");
    assert!(server.state.store.get_computer(CLIENT_ID).await.expect("store").expect("computer").last_reported_status_time.is_some());

    validate_against_wsdl(&validations);
    println!("{}", report.join("\n"));
    server.shutdown().await.expect("shutdown");
}

/// The flow capture's state: KB2267602 approved for install for All Computers. Its member files
/// are marked present in the store because the content (Microsoft's binaries) cannot be shipped
/// in the repository, and Sluice offers an approved update only once its files are here.
async fn approve_kb2267602(server: &RunningServer, catalog: &mut Ours, real_revisions: &HashMap<i32, RealRevision>) {
    let before = deployments_of_client(server).await;
    let st = &server.state;
    st.catalog
        .approve(
            &ApprovalRequest {
                update: KB2267602.to_string(),
                group: "All Computers".into(),
                action: Some("install".into()),
                deadline: None,
                accept_license: false,
            },
            "replay-test",
        )
        .await
        .expect("KB2267602 has no license terms and is explicitly deployable");
    let members = held_members(&catalog.snap.index, &KB2267602);
    let mut marked = 0;
    for &i in &members {
        for f in &catalog.snap.index.entries[i].files {
            st.store.set_file_state(&hex::encode(f.sha1), FileState::Present).await.expect("file known");
            marked += 1;
        }
    }
    assert_eq!(marked, 2, "AM_Engine.exe of ff36f0b5 and AM_Delta.exe of 266f6222");
    st.scan.invalidate();
    catalog.snap = st.scan.snapshot().await.expect("snapshot");
    let after = deployments_of_client(server).await;

    // What the real server sent for our updates (scan and flow answers) against what we compute
    // for the same computer, before and after the approval.
    let real_action = |u: &Uuid| -> String {
        let actions: BTreeSet<&str> = real_revisions.values().filter(|r| r.update_id == *u).map(|r| r.action.as_str()).collect();
        assert_eq!(actions.len(), 1, "one real action for {u}: {actions:?}");
        actions.into_iter().next().unwrap_or_default().to_string()
    };
    for e in &catalog.snap.index.entries {
        let real = real_action(&e.update_id);
        let got = after[&e.update_id].as_str();
        if e.update_id == KB2267602 {
            assert_eq!(real, "Install");
            // Not Install here: one bundle slot has no member in our catalog, so the update's
            // content can never be complete (the real server held all 7 alternatives).
            let slot_missing = e.bundled.iter().any(|slot| slot.iter().all(|m| catalog.entry_of_update(m).is_none()));
            assert!(slot_missing, "every slot has a member now: expect Install and update this test");
            assert_eq!(got, "PreDeploymentCheck");
            assert_eq!(before[&e.update_id].as_str(), "PreDeploymentCheck", "an unapproved top-level update is evaluated and reported");
            let groups = server.state.store.computer_groups(CLIENT_ID).await.expect("groups");
            let snap = &catalog.snap;
            let ids: Vec<Uuid> = snap.targeting.groups_of(snap.mode, &groups.iter().map(|g| g.id).collect::<Vec<_>>(), Some(""));
            let approval = snap.targeting.effective_for_groups(&ids);
            assert_eq!(approval.get(&KB2267602).map(|a| a.action), Some(sluice_store::ApprovalAction::Install), "the approval reaches the computer");
            // With content readiness out of the picture (clients fetching from Microsoft Update),
            // the same approval gives what the real flow showed: the bundle Install, every
            // member we hold Bundle, the categories Evaluate.
            let approved: HashMap<Uuid, Approved> = approval
                .iter()
                .map(|(u, a)| (*u, Approved { action: sluice_store::ApprovalAction::Install, deadline: a.deadline, changed_at: a.last_change }))
                .collect();
            let unconstrained = sluice_decide::scope::deployments(&snap.index, &approved, &HashSet::new(), FileSource::MicrosoftUpdate);
            for (m, d) in snap.index.entries.iter().zip(unconstrained.iter()) {
                assert_eq!(d.map(|d| d.action.as_str()), Some(real_action(&m.update_id).as_str()), "{} without the content rule", m.update_id);
            }
        } else {
            assert_eq!(got, real, "deployment of {} ({:?})", e.update_id, e.category_type);
            assert_eq!(before[&e.update_id], after[&e.update_id], "the approval changes only KB2267602");
        }
    }
}
