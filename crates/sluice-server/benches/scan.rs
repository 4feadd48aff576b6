//! Client scan cost on a catalog of realistic size: a 30-update SyncUpdates page and a
//! 50-revision GetExtendedUpdateInfo as full HTTP round trips over loopback, next to the pure
//! in-process SyncUpdates evaluation and the SOAP codec alone, so protocol cost and evaluation
//! cost can be told apart.
//!
//! `cargo bench -p sluice-server --bench scan`
//!
//! The catalog (about 20,200 revisions) is generated here: a company, product families,
//! products and classifications; detectoids; servicing-stack chains that later updates require;
//! bundles with two to four children that carry the files; standalone leaves with files. Core
//! fragments range from about 0.5 to 9 KB (applicability rules of varying length), and a few
//! hundred updates are approved for All Computers. It is imported through
//! `Catalog::import_documents` into an on-disk SQLite store of a server started with
//! `sluice_testkit::server`, and requests are the native client's captured bodies with the
//! cookie and id lists substituted.

use std::fmt::Write as _;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sluice_catalog::api::ApprovalRequest;
use sluice_metadata::ns;
use sluice_decide::sync::{sync_updates, SyncQuery};
use uuid::Uuid;

// ---------------------------------------------------------------- deterministic generator

/// splitmix64: the same catalog on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn uuid(&mut self) -> Uuid {
        uuid::Builder::from_random_bytes(((self.next() as u128) << 64 | self.next() as u128).to_le_bytes()).into_uuid()
    }
}

const CREATED: &str = "2026-11-25T12:00:00.000Z";

struct Doc {
    xml: String,
}

impl Doc {
    fn new(id: Uuid, rev: i32) -> Doc {
        let mut xml = String::with_capacity(4096);
        write!(
            xml,
            r#"<upd:Update xmlns:upd="{}" xmlns:bar="{}" xmlns:lar="{}" xmlns:cmd="{}" xmlns:cat="{}" xmlns:xsi="{}"><upd:UpdateIdentity UpdateID="{id}" RevisionNumber="{rev}" />"#,
            ns::UPDATE,
            ns::BAR,
            ns::LAR,
            ns::CMD,
            ns::CATEGORY,
            ns::XSI
        )
        .unwrap();
        Doc { xml }
    }
    fn localized(&mut self, title: &str, description: Option<&str>) {
        write!(self.xml, "<upd:LocalizedPropertiesCollection><upd:LocalizedProperties><upd:Language>en</upd:Language><upd:Title>{title}</upd:Title>").unwrap();
        if let Some(d) = description {
            write!(self.xml, "<upd:Description>{d}</upd:Description>").unwrap();
        }
        self.xml.push_str("</upd:LocalizedProperties></upd:LocalizedPropertiesCollection>");
    }
    fn finish(mut self) -> Vec<u8> {
        self.xml.push_str("</upd:Update>");
        self.xml.into_bytes()
    }
}

/// An applicability rule of about `bytes` bytes: registry and file checks under an Or, as long
/// rules of real updates look.
fn rule(rng: &mut Rng, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 200);
    s.push_str("<lar:Or>");
    while s.len() < bytes {
        let n = rng.below(1_000_000);
        if n.is_multiple_of(3) {
            write!(s, r#"<bar:FileVersion Path="contoso\bin{n}.dll" Comparison="GreaterThanOrEqualTo" Version="10.0.{n}.1" Csidl="37" />"#).unwrap();
        } else {
            write!(s, r#"<bar:RegSz Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Contoso\Components\{n}" Value="Version" Comparison="EqualTo" Data="{n}" />"#).unwrap();
        }
    }
    s.push_str("</lar:Or>");
    s
}

/// Core fragment target size: 0.5 to 9 KB, most of them small.
fn core_size(rng: &mut Rng) -> usize {
    let u = rng.unit();
    500 + (u * u * 8_500.0) as usize
}

fn category(id: Uuid, title: &str, kind: &str, parent: Option<Uuid>) -> Vec<u8> {
    let mut d = Doc::new(id, 100);
    write!(
        d.xml,
        r#"<upd:Properties DefaultPropertiesLanguage="en" UpdateType="Category" Handler="{}" PublicationState="Published" CreationDate="{CREATED}" />"#,
        ns::CATEGORY
    )
    .unwrap();
    d.localized(title, None);
    if let Some(p) = parent {
        write!(d.xml, r#"<upd:Relationships><upd:Prerequisites><upd:AtLeastOne IsCategory="true"><upd:UpdateIdentity UpdateID="{p}" /></upd:AtLeastOne></upd:Prerequisites></upd:Relationships>"#).unwrap();
    }
    d.xml.push_str("<upd:ApplicabilityRules><upd:IsInstalled><lar:True /></upd:IsInstalled></upd:ApplicabilityRules>");
    write!(
        d.xml,
        r#"<upd:HandlerSpecificData xsi:type="cat:Category"><cat:CategoryInformation CategoryType="{kind}" ProhibitsSubcategories="false" ProhibitsUpdates="false" DisplayOrder="0" /></upd:HandlerSpecificData>"#
    )
    .unwrap();
    d.finish()
}

fn detectoid(rng: &mut Rng, id: Uuid, n: usize, product: Option<Uuid>) -> Vec<u8> {
    let mut d = Doc::new(id, 1);
    write!(d.xml, r#"<upd:Properties DefaultPropertiesLanguage="en" UpdateType="Detectoid" PublicationState="Published" CreationDate="{CREATED}" />"#).unwrap();
    d.localized(&format!("Contoso detectoid {n}"), None);
    if let Some(p) = product {
        write!(d.xml, r#"<upd:Relationships><upd:Prerequisites><upd:AtLeastOne IsCategory="true"><upd:UpdateIdentity UpdateID="{p}" /></upd:AtLeastOne></upd:Prerequisites></upd:Relationships>"#).unwrap();
    }
    let size = 300 + rng.below(1_500) as usize;
    write!(d.xml, "<upd:ApplicabilityRules><upd:IsInstalled>{}</upd:IsInstalled></upd:ApplicabilityRules>", rule(rng, size)).unwrap();
    d.finish()
}

struct Software<'a> {
    id: Uuid,
    n: usize,
    deployable: bool,
    classification: Uuid,
    product: Uuid,
    /// Plain prerequisites (detectoids, servicing stacks): each a clause of its own.
    requires: &'a [Uuid],
    /// Bundled children (update id, revision number).
    bundled: &'a [(Uuid, i32)],
    /// Whether the revision carries a file and an install handler.
    file: bool,
}

fn software(rng: &mut Rng, s: &Software<'_>) -> Vec<u8> {
    let mut d = Doc::new(s.id, 200);
    let size = rng.below(80_000_000) + 100_000;
    write!(
        d.xml,
        r#"<upd:Properties DefaultPropertiesLanguage="en" UpdateType="Software" ExplicitlyDeployable="{}" AutoSelectOnWebSites="true" MaxDownloadSize="{size}" MinDownloadSize="0" PublicationState="Published" CreationDate="{CREATED}""#,
        s.deployable
    )
    .unwrap();
    if s.file {
        write!(d.xml, r#" Handler="{}""#, ns::CMD).unwrap();
    }
    write!(d.xml, r#"><upd:KBArticleID>{}</upd:KBArticleID></upd:Properties>"#, 5_000_000 + s.n).unwrap();
    d.localized(
        &format!("Security Update for Contoso Server (KB{})", 5_000_000 + s.n),
        Some("A security issue has been identified in a Contoso software product that could affect your system. Install this update to help protect your system."),
    );
    d.xml.push_str("<upd:Relationships><upd:Prerequisites>");
    for r in s.requires {
        write!(d.xml, r#"<upd:UpdateIdentity UpdateID="{r}" />"#).unwrap();
    }
    write!(
        d.xml,
        r#"<upd:AtLeastOne IsCategory="true"><upd:UpdateIdentity UpdateID="{}" /></upd:AtLeastOne><upd:AtLeastOne IsCategory="true"><upd:UpdateIdentity UpdateID="{}" /></upd:AtLeastOne></upd:Prerequisites>"#,
        s.classification, s.product
    )
    .unwrap();
    if !s.bundled.is_empty() {
        d.xml.push_str("<upd:BundledUpdates>");
        for (c, r) in s.bundled {
            write!(d.xml, r#"<upd:UpdateIdentity UpdateID="{c}" RevisionNumber="{r}" />"#).unwrap();
        }
        d.xml.push_str("</upd:BundledUpdates>");
    }
    d.xml.push_str("</upd:Relationships>");
    // Split the rule budget between IsInstalled and IsInstallable.
    let budget = core_size(rng).saturating_sub(450 + 60 * s.requires.len() + 70 * s.bundled.len());
    let installed = budget * 2 / 3;
    write!(
        d.xml,
        "<upd:ApplicabilityRules><upd:IsInstalled>{}</upd:IsInstalled><upd:IsInstallable>{}</upd:IsInstallable></upd:ApplicabilityRules>",
        rule(rng, installed),
        rule(rng, budget - installed)
    )
    .unwrap();
    if s.file {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut sha1 = [0u8; 20];
        sha1[..16].copy_from_slice(s.id.as_bytes());
        let sha256 = [(s.n % 251) as u8; 32];
        write!(
            d.xml,
            r#"<upd:Files><upd:File Digest="{}" DigestAlgorithm="SHA1" FileName="contoso-kb{}-x64.exe" Size="{size}" Modified="2026-11-25T12:00:00Z"><upd:AdditionalDigest Algorithm="SHA256">{}</upd:AdditionalDigest></upd:File></upd:Files>"#,
            b64.encode(sha1),
            5_000_000 + s.n,
            b64.encode(sha256)
        )
        .unwrap();
        write!(
            d.xml,
            r#"<upd:HandlerSpecificData xsi:type="cmd:CommandLineInstallation"><cmd:InstallCommand Program="contoso-kb{}-x64.exe" Arguments="/quiet /norestart"><cmd:ReturnCode Code="0" Result="Succeeded" /><cmd:ReturnCode Code="3010" Result="Succeeded" Reboot="true" /></cmd:InstallCommand></upd:HandlerSpecificData>"#,
            5_000_000 + s.n
        )
        .unwrap();
    }
    d.finish()
}

struct Catalog {
    docs: Vec<(String, Vec<u8>)>,
    /// Updates to approve for All Computers.
    approve: Vec<Uuid>,
}

fn generate() -> Catalog {
    let mut rng = Rng(0x5eed_2026_1125);
    let mut docs: Vec<(String, Vec<u8>)> = Vec::new();

    let company = rng.uuid();
    docs.push(("company".into(), category(company, "Contoso", "Company", None)));
    let families: Vec<Uuid> = (0..4).map(|_| rng.uuid()).collect();
    for (i, f) in families.iter().enumerate() {
        docs.push((format!("family-{i}"), category(*f, &format!("Contoso Family {i}"), "ProductFamily", Some(company))));
    }
    let products: Vec<Uuid> = (0..40).map(|_| rng.uuid()).collect();
    for (i, p) in products.iter().enumerate() {
        docs.push((format!("product-{i}"), category(*p, &format!("Contoso Product {i}"), "Product", Some(families[i % 4]))));
    }
    let classifications: Vec<Uuid> = (0..8).map(|_| rng.uuid()).collect();
    for (i, c) in classifications.iter().enumerate() {
        docs.push((format!("classification-{i}"), category(*c, &format!("Contoso Classification {i}"), "UpdateClassification", None)));
    }
    let detectoids: Vec<Uuid> = (0..200).map(|_| rng.uuid()).collect();
    for (i, d) in detectoids.iter().enumerate() {
        let product = (i % 2 == 0).then(|| products[i % products.len()]);
        docs.push((format!("detectoid-{i}"), detectoid(&mut rng, *d, i, product)));
    }

    let mut n = 0usize;
    // Servicing stacks: 20 chains of 3, each requiring its predecessor; later updates of the
    // product require the chain's last link.
    let mut chain_heads: Vec<Uuid> = Vec::new();
    for c in 0..20 {
        let mut prev: Option<Uuid> = None;
        for _ in 0..3 {
            let id = rng.uuid();
            let requires: Vec<Uuid> = prev.into_iter().collect();
            n += 1;
            let xml = software(
                &mut rng,
                &Software {
                    id,
                    n,
                    deployable: true,
                    classification: classifications[0],
                    product: products[c * 2],
                    requires: &requires,
                    bundled: &[],
                    file: true,
                },
            );
            docs.push((format!("ssu-{n}"), xml));
            prev = Some(id);
        }
        chain_heads.push(prev.unwrap());
    }

    let mut approve = Vec::new();
    let requires_for = |rng: &mut Rng, product_index: usize| -> Vec<Uuid> {
        let mut r = Vec::new();
        if rng.below(3) == 0 {
            r.push(detectoids[rng.below(detectoids.len() as u64) as usize]);
        }
        if product_index.is_multiple_of(2) && rng.below(2) == 0 {
            r.push(chain_heads[(product_index / 2) % chain_heads.len()]);
        }
        r
    };
    // 2,500 bundles with 2 to 4 children each.
    for b in 0..2_500 {
        let p = rng.below(products.len() as u64) as usize;
        let class = classifications[rng.below(classifications.len() as u64) as usize];
        let children: Vec<(Uuid, i32)> = (0..2 + rng.below(3)).map(|_| (rng.uuid(), 200)).collect();
        for (c, _) in &children {
            n += 1;
            let requires = requires_for(&mut rng, p);
            let xml = software(
                &mut rng,
                &Software { id: *c, n, deployable: false, classification: class, product: products[p], requires: &requires, bundled: &[], file: true },
            );
            docs.push((format!("child-{n}"), xml));
        }
        n += 1;
        let id = rng.uuid();
        let xml = software(
            &mut rng,
            &Software { id, n, deployable: true, classification: class, product: products[p], requires: &[], bundled: &children, file: false },
        );
        docs.push((format!("bundle-{n}"), xml));
        if b % 20 == 0 {
            approve.push(id);
        }
    }
    // Standalone leaves up to 20,200 revisions in all.
    let mut i = 0;
    while docs.len() < 20_200 {
        let p = rng.below(products.len() as u64) as usize;
        let class = classifications[rng.below(classifications.len() as u64) as usize];
        let id = rng.uuid();
        n += 1;
        let requires = requires_for(&mut rng, p);
        let xml = software(
            &mut rng,
            &Software { id, n, deployable: true, classification: class, product: products[p], requires: &requires, bundled: &[], file: true },
        );
        docs.push((format!("leaf-{n}"), xml));
        if i % 50 == 0 {
            approve.push(id);
        }
        i += 1;
    }
    Catalog { docs, approve }
}

// ---------------------------------------------------------------- requests

fn native(exchange: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/wsus-native/wsus-m0-native")
        .join(exchange)
        .join("request.body");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn set(xml: &str, tag: &str, inner: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open).unwrap_or_else(|| panic!("no <{tag}>")) + open.len();
    let end = start + xml[start..].find(&close).unwrap_or_else(|| panic!("no </{tag}>"));
    format!("{}{inner}{}", &xml[..start], &xml[end..])
}

fn text_of(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml.find(&open).unwrap_or_else(|| panic!("no <{tag}> in {}", &xml[..xml.len().min(800)])) + open.len();
    let end = start + xml[start..].find(&format!("</{tag}>")).unwrap();
    xml[start..end].to_string()
}

fn ints(ids: &[i32]) -> String {
    ids.iter().map(|i| format!("<int>{i}</int>")).collect()
}

// ---------------------------------------------------------------- the benchmark

fn scan(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let server = rt.block_on(sluice_testkit::server::start());
    let state = server.state.clone();

    let catalog = generate();
    let total = catalog.docs.len();
    let revision_ids: Vec<i32> = rt.block_on(async {
        let mut ids = Vec::with_capacity(total);
        for batch in catalog.docs.chunks(2_000) {
            let imported = state.catalog.import_documents(batch.to_vec()).await.expect("import");
            ids.extend(imported.iter().map(|r| r.revision_id as i32));
        }
        for u in &catalog.approve {
            let req = ApprovalRequest {
                update: u.to_string(),
                group: sluice_store::ALL_COMPUTERS_GROUP.to_string(),
                action: None,
                deadline: None,
                accept_license: false,
            };
            state.catalog.approve(&req, "bench").await.expect("approve");
        }
        state.scan.invalidate();
        ids
    });
    let snap = rt.block_on(state.scan.snapshot()).expect("snapshot");
    let index = &snap.index;
    let non_leaf: Vec<i32> = index.entries.iter().filter(|e| !e.is_leaf).map(|e| e.revision_id).collect();
    let leaves_with_files: Vec<i32> = index.entries.iter().filter(|e| e.is_leaf && !e.files.is_empty()).map(|e| e.revision_id).collect();
    // Fragment sizes as stored (before the escaping that puts them inside <Xml>).
    let software: std::collections::HashSet<i64> = index
        .entries
        .iter()
        .filter(|e| e.kind == sluice_decide::index::Kind::Software)
        .map(|e| e.revision_id as i64)
        .collect();
    let raw_core: Vec<usize> = rt
        .block_on(state.store.all_fragments(sluice_store::FragmentKind::Core, ""))
        .expect("fragments")
        .iter()
        .filter(|(id, _)| software.contains(id))
        .map(|(_, b)| b.len())
        .collect();
    let software_escaped: Vec<usize> =
        index.entries.iter().filter(|e| e.kind == sluice_decide::index::Kind::Software).map(|e| e.core.len()).collect();
    eprintln!(
        "catalog: {} revisions ({} imported), {} non-leaf, {} bundles, {} approvals; software Core fragments {}..{} bytes \
         (mean {}), escaped for the wire {}..{} bytes (mean {})",
        index.entries.len(),
        revision_ids.len(),
        non_leaf.len(),
        index.entries.iter().filter(|e| e.is_bundle).count(),
        catalog.approve.len(),
        raw_core.iter().min().unwrap(),
        raw_core.iter().max().unwrap(),
        raw_core.iter().sum::<usize>() / raw_core.len(),
        software_escaped.iter().min().unwrap(),
        software_escaped.iter().max().unwrap(),
        software_escaped.iter().sum::<usize>() / software_escaped.len(),
    );
    assert!(index.entries.len() >= 20_000);
    assert!(non_leaf.len() <= sluice_decide::sync::MAX_INSTALLED_NON_LEAF);

    // The native client's handshake, over HTTP with one keep-alive connection.
    let http = reqwest::Client::builder().pool_max_idle_per_host(1).build().unwrap();
    let base = format!("http://{}/ClientWebService/client.asmx", server.client_addr);
    let auth_url = format!("http://{}/SimpleAuthWebService/SimpleAuth.asmx", server.client_addr);
    let post = |url: String, body: String| {
        let http = http.clone();
        async move {
            let r = http.post(url).header("content-type", "text/xml; charset=utf-8").body(body).send().await.expect("send");
            assert_eq!(r.status(), 200);
            String::from_utf8(r.bytes().await.expect("body").to_vec()).unwrap()
        }
    };
    let client_id = "e1da06a3-5601-43c9-bac3-52d5db701494";
    // Mid-scan: the client has every non-leaf revision installed and 3,000 leaves cached from
    // earlier pages; each page brings 30 more.
    let cached: Vec<i32> = leaves_with_files.iter().copied().take(3_000).collect();
    let (sync_body, geui_body, cookie_bytes) = rt.block_on(async {
        let config = post(base.clone(), native("scan/000001")).await;
        let last_change = text_of(&config, "LastChange");
        let auth = post(auth_url.clone(), set(&native("scan/000002"), "clientId", client_id)).await;
        let auth = text_of(&auth, "CookieData");
        let cookie = post(base.clone(), set(&set(&native("scan/000003"), "CookieData", &auth), "lastChange", &last_change)).await;
        let cookie = text_of(&cookie, "EncryptedData");
        post(base.clone(), set(&native("scan/000004"), "EncryptedData", &cookie)).await;
        let sync = |cookie: &str| {
            let b = set(&native("flow/000001"), "EncryptedData", cookie);
            let b = set(&b, "InstalledNonLeafUpdateIDs", &ints(&non_leaf));
            set(&b, "OtherCachedUpdateIDs", &ints(&cached))
        };
        // One page first: its NewCookie carries the deployment watermark a scanning client has,
        // so later pages send no ChangedUpdates for what is cached.
        let first = post(base.clone(), sync(&cookie)).await;
        let cookie = text_of(&first, "EncryptedData");
        let geui_ids: Vec<i32> = leaves_with_files.iter().copied().skip(5_000).step_by(7).take(50).collect();
        let geui = set(&set(&native("scan/000010"), "EncryptedData", &cookie), "revisionIDs", &ints(&geui_ids));
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD.decode(&cookie).unwrap();
        (sync(&cookie), geui, bytes)
    });

    // Check once what a round trip returns, so the figures describe what they claim.
    let page = rt.block_on(post(base.clone(), sync_body.clone()));
    let new_updates = text_of(&page, "NewUpdates");
    assert_eq!(new_updates.matches("<UpdateInfo>").count(), 30, "a full page");
    assert!(page.contains("<Truncated>true</Truncated>"));
    assert!(!page.contains("<ChangedUpdates>"), "no changes to resend");
    let geui = rt.block_on(post(base.clone(), geui_body.clone()));
    assert_eq!(geui.matches("<Update>").count(), 100, "50 Extended + 50 LocalizedProperties fragments");
    assert_eq!(geui.matches("<FileLocation>").count(), 50);
    eprintln!("sync page: {} bytes ({} request); extended info: {} bytes ({} request)", page.len(), sync_body.len(), geui.len(), geui_body.len());

    let mut g = c.benchmark_group("scan");
    g.sample_size(30);
    g.warm_up_time(Duration::from_secs(2));
    g.measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(1));

    let round_trip = |body: &String, xpress: bool| {
        let (http, url, body) = (http.clone(), base.clone(), body.clone());
        async move {
            let mut req = http.post(url).header("content-type", "text/xml; charset=utf-8").body(body);
            if xpress {
                req = req.header("accept-encoding", "xpress");
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.bytes().await.unwrap().len()
        }
    };
    g.bench_function("sync_updates_page_30_http", |b| b.iter(|| rt.block_on(round_trip(&sync_body, false))));
    g.bench_function("sync_updates_page_30_http_xpress", |b| b.iter(|| rt.block_on(round_trip(&sync_body, true))));
    g.bench_function("get_extended_update_info_50_http", |b| b.iter(|| rt.block_on(round_trip(&geui_body, false))));
    g.bench_function("get_extended_update_info_50_http_xpress", |b| b.iter(|| rt.block_on(round_trip(&geui_body, true))));

    // The evaluation alone, on the same snapshot and deployments the server uses.
    let cookie = state.scan.keys.open_client(&cookie_bytes, time::OffsetDateTime::now_utc()).expect("cookie");
    let assigned: Vec<Uuid> =
        rt.block_on(state.store.computer_groups(client_id)).expect("groups").into_iter().map(|g| g.id).collect();
    let groups = snap.targeting.groups_of(snap.mode, &assigned, Some(""));
    let deployments = snap.deployments_for(&groups);
    let query = SyncQuery {
        installed_non_leaf: &non_leaf,
        other_cached: &cached,
        skip_software_sync: false,
        cached_driver_ids: &[],
        filter_category_ids: &[],
        need_two_group_out_of_scope: true,
        watermark_ms: cookie.deployment_watermark_ms,
    };
    let outcome = sync_updates(index, &deployments, &query);
    assert_eq!(outcome.new_updates.len(), 30);
    assert!(outcome.changed_updates.is_empty());
    g.bench_function("sync_updates_evaluate_in_process", |b| b.iter(|| sync_updates(index, &deployments, &query)));

    // The codec alone: decoding the native request, encoding the 30-update answer.
    let sync_bytes = sync_body.as_bytes().to_vec();
    g.bench_function("sync_updates_decode_request", |b| b.iter(|| sluice_soap::decode_request(&sync_bytes).unwrap()));
    let infos: Vec<sluice_soap::UpdateInfo<'_>> = outcome
        .new_updates
        .iter()
        .map(|&i| {
            let e = &index.entries[i];
            let d = deployments[i].as_ref().unwrap();
            let mut dep = sluice_soap::Deployment::new(d.id, sluice_soap::DeploymentAction::PreDeploymentCheck, d.last_change.date());
            dep.is_assigned = d.is_assigned;
            sluice_soap::UpdateInfo { id: e.revision_id, deployment: dep, is_leaf: e.is_leaf, xml_escaped: &e.core }
        })
        .collect();
    let info = sluice_soap::SyncInfo {
        new_updates: infos,
        truncated: true,
        new_cookie: Some(sluice_soap::NewCookie { expiration: sluice_soap::format_datetime(cookie.expires_at), encrypted_data: cookie_bytes.clone() }),
        driver_sync_not_needed: Some(false),
        deployed_out_of_scope_revision_ids: Some(Vec::new()),
        ..Default::default()
    };
    g.bench_function("sync_updates_encode_response", |b| b.iter(|| sluice_soap::encode_sync_updates_response(&info)));
    let encoded = sluice_soap::encode_sync_updates_response(&info);
    g.bench_function("sync_updates_xpress_compress", |b| b.iter(|| sluice_xpress::compress(&encoded)));
    g.finish();

    drop(snap);
    rt.block_on(server.shutdown()).expect("shutdown");
}

criterion_group!(benches, scan);
criterion_main!(benches);
