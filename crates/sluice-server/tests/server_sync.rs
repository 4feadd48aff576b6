//! Sluice as an upstream server (MS-WSUSSS) over real HTTP on loopback, driven by the
//! downstream side of the `sluice-wsusss` codec: the DSS handshake, GetConfigData, both
//! GetRevisionIdList passes with filters, anchors and Delta, GetUpdateData, DownloadFiles,
//! GetDeployments, the reporting rollup, and the admin API view of the downstream. Every answer
//! (faults included) is validated against the official WSDLs at the end.
//!
//! The catalog is the nine real documents a real WSUS served (`tests/fixtures/wsus-rs/docs`)
//! plus locally published updates.

mod common;
#[path = "../../../tests/support/wsdl.rs"]
mod wsdl;

use std::path::{Path, PathBuf};

use sluice_metadata::publish::{PublishSpec, software_update_xml};
use sluice_testkit::server::{Setup, TestServer};
use sluice_wsusss::*;
use uuid::{Uuid, uuid};

const DEFENDER: Uuid = uuid!("8c3fcc84-7410-4a95-8b89-a166a0190486");
const DEFINITIONS: Uuid = uuid!("e0789628-ce08-4437-be74-2495b842f43b");
const SECURITY: Uuid = uuid!("0fa1201d-4330-4fa8-8ae9-b877473b6441");
const BUNDLE: Uuid = uuid!("a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe");
const DSS_ID: &str = "6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12";

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/wsus-rs/docs")
}

/// (update id, revision, file name) of the real documents.
fn real_docs() -> Vec<(Uuid, i32, String)> {
    let mut v: Vec<(Uuid, i32, String)> = std::fs::read_dir(docs_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".xml"))
        .map(|n| {
            let (id, rev) = n.trim_end_matches(".xml").rsplit_once("-r").unwrap();
            (
                Uuid::parse_str(id).unwrap(),
                rev.parse().unwrap(),
                n.clone(),
            )
        })
        .collect();
    v.sort();
    v
}

fn doc_type(name: &str) -> String {
    let xml = std::fs::read_to_string(docs_dir().join(name)).unwrap();
    let at = xml.find("UpdateType=\"").unwrap() + 12;
    xml[at..at + xml[at..].find('"').unwrap()].to_string()
}

fn published(id: Uuid, title: &str, classification: Uuid) -> (String, Vec<u8>) {
    let spec = PublishSpec {
        update_id: id,
        revision_number: 1,
        language: "en".into(),
        title: title.into(),
        description: Some("local".into()),
        kb_article: None,
        msrc_number: None,
        msrc_severity: None,
        classification: Some(classification),
        products: vec![DEFENDER],
        creation_date: "2026-11-25T12:00:00Z".into(),
        file: None,
        command_line: None,
        installed_rule: Some(
            r#"<bar:RegKeyExists Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Contoso" />"#.into(),
        ),
        installable_rule: Some(
            r#"<bar:WindowsVersion Comparison="GreaterThanOrEqualTo" MajorVersion="10" />"#.into(),
        ),
        prerequisites: vec![],
        supersedes: vec![],
        reboot_behavior: None,
    };
    (format!("{id}.xml"), software_update_xml(&spec).into_bytes())
}

/// One exchange kept for the WSDL check.
struct Seen {
    op: Operation,
    fault: Option<String>,
    body: Vec<u8>,
}

struct Dss {
    server: TestServer,
    http: reqwest::Client,
    base: String,
    seen: Vec<Seen>,
}

impl Dss {
    async fn start() -> Dss {
        Dss::start_on(None).await
    }

    /// A server on the database at `database` (its own SQLite file without one).
    async fn start_on(database: Option<String>) -> Dss {
        let server = Setup::new().with(|c| c.database = database).start().await;
        Dss {
            base: server.client_url(),
            server,
            http: reqwest::Client::new(),
            seen: Vec::new(),
        }
    }

    async fn import(&self, docs: Vec<(String, Vec<u8>)>) {
        self.server
            .state
            .catalog
            .import_documents(docs)
            .await
            .unwrap();
        // Behind the admin API's back: tell the scan state, as the admin API does.
        self.server.state.scan.invalidate();
    }

    /// POSTs a request to `path`; returns the (decompressed) body, recording it.
    async fn post(&mut self, path: &str, req: &Request) -> (u16, Vec<u8>) {
        let op = req.operation();
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Content-Type", CONTENT_TYPE)
            .header("SOAPAction", op.quoted_soap_action())
            .header("Accept-Encoding", "xpress")
            .body(encode_request(req))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let xpress = resp
            .headers()
            .get("content-encoding")
            .is_some_and(|v| v == "xpress");
        let wire = resp.bytes().await.unwrap().to_vec();
        let body = if xpress {
            sluice_xpress::decompress(&wire).unwrap()
        } else {
            wire
        };
        let fault = match decode_response(op, &body) {
            Err(ResponseError::Fault(f)) => Some(f.error_code.as_str().to_string()),
            _ => None,
        };
        assert_eq!(
            status == 500,
            fault.is_some(),
            "{op:?}: HTTP {status}: {}",
            String::from_utf8_lossy(&body)
        );
        self.seen.push(Seen {
            op,
            fault,
            body: body.clone(),
        });
        (status, body)
    }

    async fn call(&mut self, req: &Request) -> Vec<u8> {
        let path = req.operation().service().path();
        self.post(path, req).await.1
    }

    async fn fault(&mut self, req: &Request) -> Fault {
        let body = self.call(req).await;
        match decode_response(req.operation(), &body) {
            Err(ResponseError::Fault(f)) => *f,
            other => panic!("{:?}: expected a fault, got {other:?}", req.operation()),
        }
    }

    async fn handshake(&mut self) -> Cookie {
        let cfg =
            decode_get_auth_config_response(&self.call(&Request::GetAuthConfig).await).unwrap();
        assert_eq!(cfg.auth_info, vec![AuthPlugInInfo::dss_targeting()]);
        // A real WSUS downstream joins its root URL and the relative ServiceUrl: a doubled slash.
        let path = format!("/{}", cfg.auth_info[0].service_url.to_ascii_lowercase());
        let (status, body) = self
            .post(
                &format!("/{path}"),
                &Request::GetAuthorizationCookie(GetAuthorizationCookieRequest {
                    account_name: "dss1.example.invalid".into(),
                    account_guid: DSS_ID.to_uppercase(),
                    program_keys: vec![],
                }),
            )
            .await;
        assert_eq!(status, 200);
        let auth = decode_get_authorization_cookie_response(&body).unwrap();
        assert_eq!(auth.plugin_id, "DssTargeting");
        let cookie = decode_get_cookie_response(
            &self
                .call(&Request::GetCookie(GetCookieRequest {
                    auth_cookies: vec![auth],
                    old_cookie: None,
                    protocol_version: "1.20".into(),
                }))
                .await,
        )
        .unwrap();
        let expires = parse_datetime(&cookie.expiration).unwrap();
        let minutes = (expires - time::OffsetDateTime::now_utc()).whole_minutes();
        assert!(
            (238..=240).contains(&minutes),
            "cookie lifetime {minutes} min"
        );
        cookie
    }

    async fn list(&mut self, cookie: &Cookie, filter: ServerSyncFilter) -> RevisionIdList {
        let body = self
            .call(&Request::GetRevisionIdList(GetRevisionIdListRequest {
                cookie: Some(cookie.clone()),
                filter: Some(filter),
            }))
            .await;
        decode_get_revision_id_list_response(&body).unwrap()
    }
}

fn filter(
    anchor: Option<&str>,
    products: &[(Uuid, bool)],
    classes: &[(Uuid, bool)],
) -> ServerSyncFilter {
    ServerSyncFilter {
        anchor: anchor.map(str::to_string),
        get_config: false,
        get_63_language_only: false,
        categories: Some(
            products
                .iter()
                .map(|(id, delta)| IdAndDelta {
                    id: *id,
                    delta: *delta,
                })
                .collect(),
        ),
        classifications: Some(
            classes
                .iter()
                .map(|(id, delta)| IdAndDelta {
                    id: *id,
                    delta: *delta,
                })
                .collect(),
        ),
        languages: None,
    }
}

fn ids(l: &RevisionIdList) -> Vec<Uuid> {
    l.new_revisions.iter().map(|r| r.update_id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_downstream_syncs_from_sluice_like_from_wsus() {
    let mut dss = Dss::start().await;
    let docs = real_docs();
    dss.import(
        docs.iter()
            .map(|(_, _, n)| (n.clone(), std::fs::read(docs_dir().join(n)).unwrap()))
            .collect(),
    )
    .await;
    let security_update = Uuid::new_v4();
    dss.import(vec![published(
        security_update,
        "Contoso security fix",
        SECURITY,
    )])
    .await;

    // ---- handshake and configuration
    let cookie = dss.handshake().await;
    let config = decode_get_config_data_response(
        &dss.call(&Request::GetConfigData(GetConfigDataRequest {
            cookie: Some(cookie.clone()),
            config_anchor: None,
        }))
        .await,
    )
    .unwrap();
    assert_eq!(config.max_number_of_updates_per_request, 100);
    assert!(config.lazy_sync && !config.catalog_only_sync);
    assert_eq!(config.protocol_version.as_deref(), Some("1.20"));
    assert!(
        config
            .language_update_list
            .iter()
            .any(|l| l.language_id == 1033 && l.short_language == "en")
    );
    assert!(
        config
            .language_update_list
            .iter()
            .any(|l| l.language_id == 0 && l.enabled)
    );
    let anchor = config.new_config_anchor.clone().expect("config anchor");
    assert!(SyncAnchor::parse(&anchor).is_some(), "{anchor}");
    let short = decode_get_config_data_response(
        &dss.call(&Request::GetConfigData(GetConfigDataRequest {
            cookie: Some(cookie.clone()),
            config_anchor: Some(anchor),
        }))
        .await,
    )
    .unwrap();
    assert!(
        short.language_update_list.is_empty(),
        "a current anchor gets the short answer"
    );

    // The sync side's storage mode decides CatalogOnlySync and LazySync.
    for (mode, catalog_only, lazy) in [
        ("none", true, true),
        ("all", false, false),
        ("approved", false, true),
    ] {
        dss.server
            .state
            .store
            .set(sluice_store::settings::STORAGE_MODE, &sluice_store::StorageMode::parse(mode).unwrap())
            .await
            .unwrap();
        let c = decode_get_config_data_response(
            &dss.call(&Request::GetConfigData(GetConfigDataRequest {
                cookie: Some(cookie.clone()),
                config_anchor: None,
            }))
            .await,
        )
        .unwrap();
        assert_eq!(
            (c.catalog_only_sync, c.lazy_sync),
            (catalog_only, lazy),
            "storage mode {mode}"
        );
    }

    // ---- configuration pass: categories (and detectoids) only
    let cfg = dss
        .list(
            &cookie,
            ServerSyncFilter {
                get_config: true,
                ..Default::default()
            },
        )
        .await;
    let mut expected_categories: Vec<Uuid> = docs
        .iter()
        .filter(|(_, _, n)| doc_type(n) == "Category")
        .map(|(id, _, _)| *id)
        .collect();
    let mut got = ids(&cfg);
    got.sort();
    expected_categories.sort();
    assert_eq!(got, expected_categories);
    let cfg_anchor = cfg.anchor.clone().expect("anchor");

    // ---- update pass: product AND classification, plus the bundle closure
    let first = dss
        .list(
            &cookie,
            filter(None, &[(DEFENDER, false)], &[(DEFINITIONS, false)]),
        )
        .await;
    let got = ids(&first);
    let want: Vec<Uuid> = ["a2fef9b0", "1f9bd9bb", "ccb78947", "266f6222", "ff36f0b5"]
        .iter()
        .map(|p| {
            docs.iter()
                .find(|(id, _, _)| id.to_string().starts_with(p))
                .unwrap()
                .0
        })
        .collect();
    let mut sorted = got.clone();
    sorted.sort();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(
        sorted, want_sorted,
        "matched updates and their bundled children, nothing else"
    );
    let pos = |id: Uuid| got.iter().position(|g| *g == id).unwrap();
    for child in &want[1..] {
        assert!(
            pos(*child) < pos(BUNDLE),
            "bundled children come before their bundle"
        );
    }
    assert!(
        pos(want[4]) < pos(want[1]),
        "ff36f0b5 is bundled in 1f9bd9bb"
    );
    for r in &first.new_revisions {
        let rev = docs.iter().find(|d| d.0 == r.update_id).unwrap().1;
        assert_eq!(r.revision_number, rev);
    }
    // Only one of the two lists, or a classification that matches nothing: nothing.
    assert!(
        dss.list(&cookie, filter(None, &[(DEFENDER, false)], &[]))
            .await
            .new_revisions
            .is_empty()
    );
    let mut no_classes = filter(None, &[(DEFENDER, false)], &[]);
    no_classes.classifications = None;
    assert!(dss.list(&cookie, no_classes).await.new_revisions.is_empty());
    let security = dss
        .list(
            &cookie,
            filter(None, &[(DEFENDER, false)], &[(SECURITY, false)]),
        )
        .await;
    assert_eq!(ids(&security), vec![security_update]);
    let unfiltered = ServerSyncFilter {
        categories: None,
        classifications: None,
        ..Default::default()
    };
    let everything = dss.list(&cookie, unfiltered.clone()).await;
    assert_eq!(
        everything.new_revisions.len(),
        7,
        "every software update when no filter is sent"
    );
    let anchor = first.anchor.clone().expect("anchor");

    // ---- GetUpdateData: the original documents, file URLs
    // Imported XML carries no download URL; an upstream sync records Microsoft's (here: one file).
    let leaf = dss
        .server
        .state
        .store
        .latest_revision(uuid!("ff36f0b5-dded-4780-8664-cd78af8b62c1"))
        .await
        .unwrap()
        .unwrap();
    let known_file = dss
        .server
        .state
        .store
        .revision_files(leaf.id)
        .await
        .unwrap()[0]
        .sha1
        .clone();
    let mu = format!(
        "http://download.windowsupdate.com/d/msdownload/update/software/defu/2026/10/am_{known_file}.exe"
    );
    dss.server
        .state
        .store
        .set_file_mu_url(&known_file, &mu)
        .await
        .unwrap();
    let body = dss
        .call(&Request::GetUpdateData(GetUpdateDataRequest {
            cookie: Some(cookie.clone()),
            update_ids: first.new_revisions.clone(),
        }))
        .await;
    let data = decode_get_update_data_response(&body).unwrap();
    assert_eq!(data.updates.len(), first.new_revisions.len());
    for u in &data.updates {
        assert!(
            matches!(u.blob, UpdateBlob::Plain(_)),
            "plain XmlUpdateBlob"
        );
        let name = &docs.iter().find(|d| d.0 == u.id.update_id).unwrap().2;
        let original = sluice_metadata::parse_update_bytes(
            &std::fs::read(docs_dir().join(name)).unwrap(),
            name,
        )
        .unwrap();
        let served =
            sluice_metadata::parse_update_bytes(u.blob.xml().unwrap().as_bytes(), "served")
                .unwrap();
        assert_eq!(
            served.update, original.update,
            "{name} re-parses to the same model"
        );
        assert_eq!(u.file_digests.len(), original.update.files.len());
    }
    assert!(
        data.file_urls.iter().any(|f| f.mu_url == mu),
        "the known Microsoft URL is passed on"
    );
    let files: usize = data.updates.iter().map(|u| u.file_digests.len()).sum();
    assert!(files > 0 && data.file_urls.len() <= files);
    for f in &data.file_urls {
        assert!(
            f.uss_url.starts_with(&format!("{}/Content/", dss.base)),
            "{}",
            f.uss_url
        );
        let hex: String = f.file_digest.iter().map(|b| format!("{b:02X}")).collect();
        if hex.eq_ignore_ascii_case(&known_file) {
            assert_eq!(f.mu_url, mu);
        } else {
            assert_eq!(f.mu_url, "", "no Microsoft URL known");
        }
        assert!(
            f.uss_url.contains(&format!("/{}/{hex}.", &hex[38..])),
            "{}",
            f.uss_url
        );
    }

    // ---- limits and faults
    let many: Vec<UpdateIdentity> = (0..101).map(|_| first.new_revisions[0]).collect();
    let f = dss
        .fault(&Request::GetUpdateData(GetUpdateDataRequest {
            cookie: Some(cookie.clone()),
            update_ids: many,
        }))
        .await;
    assert_eq!(
        (f.error_code, f.message.as_str()),
        (ErrorCode::InvalidParameters, "updateIds")
    );
    let f = dss
        .fault(&Request::GetUpdateData(GetUpdateDataRequest {
            cookie: Some(cookie.clone()),
            update_ids: vec![UpdateIdentity::new(Uuid::new_v4(), 1)],
        }))
        .await;
    assert_eq!(f.error_code, ErrorCode::InternalServerError);
    let bad = Cookie {
        expiration: cookie.expiration.clone(),
        encrypted_data: vec![7; 120],
    };
    let f = dss
        .fault(&Request::GetRevisionIdList(GetRevisionIdListRequest {
            cookie: Some(bad),
            filter: Some(unfiltered.clone()),
        }))
        .await;
    assert_eq!(f.error_code, ErrorCode::InvalidCookie);
    let f = dss
        .fault(&Request::GetRevisionIdList(GetRevisionIdListRequest {
            cookie: None,
            filter: Some(unfiltered.clone()),
        }))
        .await;
    assert_eq!(f.error_code, ErrorCode::InvalidCookie);
    let mut tampered = cookie.clone();
    let last = tampered.encrypted_data.len() - 1;
    tampered.encrypted_data[last] ^= 1;
    let f = dss
        .fault(&Request::GetConfigData(GetConfigDataRequest {
            cookie: Some(tampered),
            config_anchor: None,
        }))
        .await;
    assert_eq!(f.error_code, ErrorCode::InvalidCookie);
    let f = dss
        .fault(&Request::GetRevisionIdList(GetRevisionIdListRequest {
            cookie: Some(cookie.clone()),
            filter: Some(ServerSyncFilter {
                anchor: Some("garbage".into()),
                ..unfiltered.clone()
            }),
        }))
        .await;
    assert_eq!(
        (f.error_code, f.message.as_str()),
        (ErrorCode::InvalidParameters, "filter")
    );
    let f = dss
        .fault(&Request::GetCookie(GetCookieRequest {
            auth_cookies: vec![AuthorizationCookie {
                plugin_id: "DssTargeting".into(),
                cookie_data: vec![1; 64],
            }],
            old_cookie: None,
            protocol_version: "1.20".into(),
        }))
        .await;
    assert_eq!(f.error_code, ErrorCode::InvalidAuthorizationCookie);
    let f = dss
        .fault(&Request::GetAuthorizationCookie(
            GetAuthorizationCookieRequest {
                account_name: "not a name".into(),
                account_guid: DSS_ID.into(),
                program_keys: vec![],
            },
        ))
        .await;
    assert_eq!(
        (f.error_code, f.message.as_str()),
        (ErrorCode::InvalidParameters, "accountName")
    );

    // ---- delta: only what was added after the anchor
    let with_anchor = dss
        .list(
            &cookie,
            filter(Some(&anchor), &[(DEFENDER, true)], &[(DEFINITIONS, true)]),
        )
        .await;
    assert!(
        with_anchor.new_revisions.is_empty(),
        "nothing new yet: {:?}",
        with_anchor.new_revisions
    );
    let new_definition = Uuid::new_v4();
    dss.import(vec![published(
        new_definition,
        "Contoso definitions",
        DEFINITIONS,
    )])
    .await;
    let delta = dss
        .list(
            &cookie,
            filter(Some(&anchor), &[(DEFENDER, true)], &[(DEFINITIONS, true)]),
        )
        .await;
    assert_eq!(ids(&delta), vec![new_definition]);
    let delta_anchor = delta.anchor.clone().unwrap();
    assert!(
        dss.list(
            &cookie,
            filter(
                Some(&delta_anchor),
                &[(DEFENDER, true)],
                &[(DEFINITIONS, true)]
            )
        )
        .await
        .new_revisions
        .is_empty()
    );
    // An anchor this catalog never issued (another server's): the full list, not a silent gap.
    let foreign = dss
        .list(
            &cookie,
            filter(
                Some("999999,2026-10-04 16:33:26.671"),
                &[(DEFENDER, true)],
                &[(DEFINITIONS, true)],
            ),
        )
        .await;
    assert_eq!(foreign.new_revisions.len(), first.new_revisions.len() + 1);
    // Delta false on a (newly selected) classification: all its revisions again.
    let again = dss
        .list(
            &cookie,
            filter(Some(&anchor), &[(DEFENDER, true)], &[(DEFINITIONS, false)]),
        )
        .await;
    assert_eq!(again.new_revisions.len(), first.new_revisions.len() + 1);
    let unfiltered_delta = dss
        .list(
            &cookie,
            ServerSyncFilter {
                anchor: Some(anchor.clone()),
                ..unfiltered.clone()
            },
        )
        .await;
    assert_eq!(ids(&unfiltered_delta), vec![new_definition]);
    let cfg_delta = dss
        .list(
            &cookie,
            ServerSyncFilter {
                anchor: Some(cfg_anchor),
                get_config: true,
                ..Default::default()
            },
        )
        .await;
    assert!(cfg_delta.new_revisions.is_empty(), "no category was added");

    // ---- DownloadFiles: absent files are queued, unknown digests refused
    let digest = data.file_urls[0].file_digest.clone();
    let body = dss
        .call(&Request::DownloadFiles(DownloadFilesRequest {
            cookie: Some(cookie.clone()),
            file_digests: vec![digest.clone()],
        }))
        .await;
    decode_download_files_response(&body).unwrap();
    let wanted = dss.server.state.store.wanted_files().await.unwrap();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        wanted.iter().map(|w| w.sha1.as_str()).collect::<Vec<_>>(),
        vec![hex.as_str()]
    );
    assert_eq!(wanted[0].requested_by, DSS_ID);
    let f = dss
        .fault(&Request::DownloadFiles(DownloadFilesRequest {
            cookie: Some(cookie.clone()),
            file_digests: vec![vec![0xee; 20]],
        }))
        .await;
    assert_eq!(f.error_code, ErrorCode::FileDigestsMissing);

    // ---- GetDeployments (replica): groups, approvals with deadlines, declines
    let catalog = dss.server.state.catalog.clone();
    let ring = catalog
        .create_group(&sluice_catalog::api::CreateGroupRequest {
            name: "Ring 1".into(),
            parent: None,
        })
        .await
        .unwrap();
    catalog
        .approve(
            &sluice_catalog::api::ApprovalRequest {
                update: BUNDLE.to_string(),
                group: "Ring 1".into(),
                action: None,
                deadline: Some("2030-01-01T18:00:00Z".into()),
                accept_license: true,
            },
            "admin",
        )
        .await
        .unwrap();
    catalog
        .decline(&security_update.to_string(), "admin")
        .await
        .unwrap();
    dss.server.state.scan.invalidate();
    let sync_anchor = delta_anchor.clone();
    let body = dss
        .call(&Request::GetDeployments(GetDeploymentsRequest {
            cookie: Some(cookie.clone()),
            deployment_anchor: None,
            sync_anchor: Some(sync_anchor.clone()),
        }))
        .await;
    let deps = decode_get_deployments_response(&body).unwrap();
    let ring_id = Uuid::parse_str(&ring.id).unwrap();
    let names: Vec<&str> = deps.groups.iter().map(|g| g.name.as_str()).collect();
    assert!(
        names.contains(&"All Computers")
            && names.contains(&"Unassigned Computers")
            && names.contains(&"Ring 1"),
        "{names:?}"
    );
    let ring_group = deps
        .groups
        .iter()
        .find(|g| g.target_group_id == ring_id)
        .unwrap();
    assert!(!ring_group.is_builtin);
    assert_eq!(deps.deployments.len(), 1);
    let d = &deps.deployments[0];
    assert_eq!(
        (d.update_id, d.revision_number, d.action, d.target_group_id),
        (BUNDLE, 200, 0, ring_id)
    );
    assert_eq!(
        parse_datetime(&d.deadline),
        parse_datetime("2030-01-01T18:00:00Z")
    );
    assert_eq!(d.admin_name, "admin");
    assert_eq!(deps.hidden_updates, vec![security_update]);
    assert!(deps.dead_deployments.is_empty());
    assert!(deps.accepted_eulas.is_empty(), "no license terms were accepted");
    let dep_anchor = deps.anchor.clone().unwrap();
    // Nothing changed since: no deployment; remove the approval: it is dead.
    let same = decode_get_deployments_response(
        &dss.call(&Request::GetDeployments(GetDeploymentsRequest {
            cookie: Some(cookie.clone()),
            deployment_anchor: Some(dep_anchor.clone()),
            sync_anchor: Some(sync_anchor.clone()),
        }))
        .await,
    )
    .unwrap();
    assert!(same.deployments.is_empty() && same.dead_deployments.is_empty());
    catalog
        .remove_approval(&BUNDLE.to_string(), "Ring 1")
        .await
        .unwrap();
    dss.server.state.scan.invalidate();
    let gone = decode_get_deployments_response(
        &dss.call(&Request::GetDeployments(GetDeploymentsRequest {
            cookie: Some(cookie.clone()),
            deployment_anchor: Some(dep_anchor),
            sync_anchor: Some(sync_anchor),
        }))
        .await,
    )
    .unwrap();
    assert_eq!(gone.dead_deployments, vec![d.deployment_guid]);
    let f = dss
        .fault(&Request::GetDeployments(GetDeploymentsRequest {
            cookie: Some(cookie.clone()),
            deployment_anchor: None,
            sync_anchor: None,
        }))
        .await;
    assert_eq!(
        (f.error_code, f.message.as_str()),
        (ErrorCode::InvalidParameters, "syncAnchor")
    );

    // ---- GetDeployments: license terms accepted here (from the facts stored at import)
    let with_terms = uuid!("5b3c2a10-0000-4000-8000-00000000e01a");
    dss.import(vec![(format!("{with_terms}.xml"), update_with_license_terms(with_terms).into_bytes())])
        .await;
    catalog
        .approve(
            &sluice_catalog::api::ApprovalRequest {
                update: with_terms.to_string(),
                group: "Ring 1".into(),
                action: None,
                deadline: None,
                accept_license: true,
            },
            "admin",
        )
        .await
        .unwrap();
    dss.server.state.scan.invalidate();
    let accepted = decode_get_deployments_response(
        &dss.call(&Request::GetDeployments(GetDeploymentsRequest {
            cookie: Some(cookie.clone()),
            deployment_anchor: None,
            sync_anchor: Some(delta_anchor.clone()),
        }))
        .await,
    )
    .unwrap();
    assert_eq!(accepted.accepted_eulas, vec![with_terms]);

    // ---- reporting rollup
    let dss_uuid = Uuid::parse_str(DSS_ID).unwrap();
    let rc = decode_get_rollup_configuration_response(
        &dss.call(&Request::GetRollupConfiguration(
            GetRollupConfigurationRequest {
                cookie: Some(Cookie::reporting()),
            },
        ))
        .await,
    )
    .unwrap();
    assert!(rc.do_detailed_rollup);
    assert_eq!(rc.rollup_computer_status_max_batch_size, 500);
    let parent = rc.server_id;
    let body = dss
        .call(&Request::RollupDownstreamServers(
            RollupDownstreamServersRequest {
                cookie: Some(cookie.clone()),
                client_time: "2026-11-25T21:00:00Z".into(),
                downstream_servers: vec![DownstreamServerRollupInfo {
                    server_id: dss_uuid,
                    full_domain_name: Some("dss1.example.invalid".into()),
                    last_sync_time: "2026-11-25T20:00:00Z".into(),
                    parent_server_id: parent,
                    version: Some("10.0.26100.1".into()),
                    is_replica: true,
                    last_rollup_time: "0001-01-01T00:00:00".into(),
                    server_summary: Some(DownstreamServerRollupServerSummary {
                        update_count: 6,
                        computer_target_count: 2,
                        ..Default::default()
                    }),
                    client_summaries: None,
                }],
            },
        ))
        .await;
    decode_rollup_downstream_servers_response(&body).unwrap();
    let pc = |id: &str, name: &str| ComputerRollupInfo {
        computer_id: Some(id.into()),
        last_sync_time: "2026-11-25T19:00:00Z".into(),
        last_sync_result: 0,
        last_reported_reboot_time: "0001-01-01T00:00:00".into(),
        last_reported_status_time: "2026-11-25T19:05:00Z".into(),
        last_inventory_time: "0001-01-01T00:00:00".into(),
        parent_server_id: dss_uuid,
        details: Some(ComputerRollupDetails {
            full_domain_name: Some(name.into()),
            ip_address: Some("10.1.0.5".into()),
            os_major_version: 10,
            os_minor_version: 0,
            os_build_number: 26100,
            os_description: Some("Windows 11".into()),
            client_version: Some("10.0.26100.1".into()),
            ..Default::default()
        }),
    };
    let changed = decode_rollup_computers_response(
        &dss.call(&Request::RollupComputers(RollupComputersRequest {
            cookie: Some(cookie.clone()),
            client_time: "2026-11-25T21:00:00Z".into(),
            computers: vec![
                pc("pc-1", "pc1.example.invalid"),
                pc("pc-2", "pc2.example.invalid"),
            ],
        }))
        .await,
    )
    .unwrap();
    assert!(changed.is_empty());
    let numbers = |n: i32| {
        vec![
            ComputerLastRollupNumber {
                computer_id: "pc-1".into(),
                rollup_number: n,
            },
            ComputerLastRollupNumber {
                computer_id: "pc-2".into(),
                rollup_number: n,
            },
        ]
    };
    let out = decode_get_out_of_sync_computers_response(
        &dss.call(&Request::GetOutOfSyncComputers(
            GetOutOfSyncComputersRequest {
                cookie: Some(cookie.clone()),
                parent_server_id: dss_uuid,
                last_rollup_numbers: numbers(3),
            },
        ))
        .await,
    )
    .unwrap();
    assert_eq!(out, vec!["pc-1".to_string(), "pc-2".to_string()]);
    let ok = decode_rollup_computer_status_response(
        &dss.call(&Request::RollupComputerStatus(
            RollupComputerStatusRequest {
                cookie: Some(cookie.clone()),
                client_time: "2026-11-25T21:00:00Z".into(),
                parent_server_id: dss_uuid,
                computers: vec![ComputerStatusRollupInfo {
                    instance_id: Uuid::new_v4(),
                    computer_id: "pc-1".into(),
                    effective_last_detection_time: "2026-11-25T19:00:00Z".into(),
                    rollup_number: 3,
                    is_full_rollup: true,
                    update_status: Some(vec![
                        ComputerStatusRollupUpdateStatus {
                            update_id: BUNDLE,
                            summarization_state: 5,
                            last_change_time: "2026-11-25T19:00:00Z".into(),
                        },
                        ComputerStatusRollupUpdateStatus {
                            update_id: new_definition,
                            summarization_state: 3,
                            last_change_time: "2026-11-25T19:00:00Z".into(),
                        },
                    ]),
                }],
            },
        ))
        .await,
    )
    .unwrap();
    assert!(ok);
    let out = decode_get_out_of_sync_computers_response(
        &dss.call(&Request::GetOutOfSyncComputers(
            GetOutOfSyncComputersRequest {
                cookie: Some(cookie.clone()),
                parent_server_id: dss_uuid,
                last_rollup_numbers: numbers(3),
            },
        ))
        .await,
    )
    .unwrap();
    assert_eq!(out, vec!["pc-2".to_string()], "pc-1's status is current");
    // A client's ReportEventBatch on the same path still reaches the MS-WUSP service.
    let client_reply = dss
        .http
        .post(format!("{}/ReportingWebService/ReportingWebService.asmx", dss.base))
        .header("SOAPAction", "\"http://www.microsoft.com/SoftwareDistribution/Server/ReportingWebService/ReportEventBatch\"")
        .body("<nope/>")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!client_reply.contains("DssTargeting"));

    // ---- what the administrator sees (`sluice downstreams list --json` prints this JSON)
    let list: Vec<sluice_server::admin_downstreams::DownstreamView> = dss
        .http
        .get(format!(
            "http://{}/api/v1/downstreams",
            dss.server.admin_addr
        ))
        .bearer_auth(&dss.server.admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    let d = &list[0];
    assert_eq!(
        (d.id.as_str(), d.name.as_str(), d.mode.as_str()),
        (DSS_ID, "dss1.example.invalid", "replica")
    );
    assert_eq!(d.address.as_deref(), Some("127.0.0.1"));
    assert_eq!(d.version.as_deref(), Some("10.0.26100.1"));
    assert_eq!(d.summary.as_ref().and_then(|s| s.server).map(|s| s.update_count), Some(6));
    assert_eq!(
        d.computers
            .iter()
            .map(|c| c.computer_id.as_str())
            .collect::<Vec<_>>(),
        ["pc-1", "pc-2"]
    );
    let pc1 = &d.computers[0];
    assert_eq!(pc1.name.as_deref(), Some("pc1.example.invalid"));
    assert_eq!(pc1.os_version.as_deref(), Some("10.0.26100"));
    assert_eq!(pc1.rollup_number, Some(3));
    assert_eq!(pc1.update_states.get("installed"), Some(&1));
    assert_eq!(pc1.update_states.get("not_installed"), Some(&1));
    let unauth = dss
        .http
        .get(format!(
            "http://{}/api/v1/downstreams",
            dss.server.admin_addr
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unauth.status().as_u16(), 401);

    let seen = std::mem::take(&mut dss.seen);
    dss.server.shutdown().await.unwrap();
    wsdl_check(&seen);
}

// ---------------------------------------------------------------- WSDL validation

/// Every answer of the session, checked against the MS-WSUSSS WSDLs in `tests/wsdl/` (strict), as
/// `crates/sluice-wsusss/tests/wsdl_validation.rs` does for the encoders alone.
fn wsdl_check(seen: &[Seen]) {
    // Every operation of the three services was answered at least once.
    for op in Operation::ALL {
        if matches!(
            op,
            Operation::GetUpdateDecryptionData | Operation::GetRelatedRevisionsForUpdates
        ) {
            continue;
        }
        assert!(
            seen.iter().any(|s| s.op == op && s.fault.is_none()),
            "no answer of {op:?} was checked"
        );
    }
    let messages: Vec<wsdl::Message> = seen
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let service = match s.op.service() {
                Service::ServerSync => "wsusss-serversync",
                Service::DssAuth => "wsusss-dssauth",
                Service::Reporting => "wsusss-reporting",
            };
            let expect = s
                .fault
                .clone()
                .map_or(wsdl::Expect::Valid, wsdl::Expect::Fault);
            wsdl::Message::response(
                format!("answer {i} ({})", s.op.name()),
                service,
                s.op.name(),
                s.body.clone(),
            )
            .expect(expect)
        })
        .collect();
    wsdl::assert_all(&messages);
}

// ---------------------------------------------------------------- real downstream requests

fn wsusss_fixture(rel: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/wsusss")
        .join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Replaces the text of every `<tag>…</tag>` (the zeroed cookies of the captures).
fn replace_text(xml: &str, tag: &str, value: &str) -> String {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = String::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let end = start + open.len() + rest[start + open.len()..].find(&close).unwrap();
        out.push_str(&rest[..start + open.len()]);
        out.push_str(value);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The probe's 19 requests to a real WSUS upstream (`exchanges/`) and a downstream importer's
/// runs (`exchanges-client/`), sent as the real bytes with
/// only the cookies replaced by ours: every answer has the real answer's outcome (status,
/// ErrorCode, empty or not), and GetUpdateData serves the very documents the real server did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_downstream_requests_get_the_real_outcomes() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let dss = Dss::start().await;
    let docs = real_docs();
    dss.import(
        docs.iter()
            .map(|(_, _, n)| (n.clone(), std::fs::read(docs_dir().join(n)).unwrap()))
            .collect(),
    )
    .await;
    let mut auth_cookie = String::new();
    let mut cookie = String::new();
    let mut exchanges: Vec<String> = (1..=19).map(|n| format!("exchanges/{n:06}")).collect();
    // The importer's runs: the initial handshake and lists, then incremental runs with anchors.
    for n in [
        1, 2, 3, 4, 5, 6, 13, 623, 624, 625, 1041, 1042, 1043, 1044, 1045, 1046,
    ] {
        exchanges.push(format!("exchanges-client/{n:06}"));
    }
    for ex in exchanges {
        let headers = String::from_utf8(wsusss_fixture(&format!("{ex}/request.headers"))).unwrap();
        let path = headers
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string();
        let action = headers
            .lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case("soapaction"))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap();
        let mut body = String::from_utf8(wsusss_fixture(&format!("{ex}/request.body"))).unwrap();
        let anchored = body.contains("<Anchor>");
        if !auth_cookie.is_empty() {
            body = replace_text(&body, "CookieData", &auth_cookie);
        }
        if !cookie.is_empty() {
            body = replace_text(&body, "EncryptedData", &cookie);
        }
        let real_status: u16 = String::from_utf8(wsusss_fixture(&format!("{ex}/response.headers")))
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let real_body = wsusss_fixture(&format!("{ex}/response.body"));
        let resp = dss
            .http
            .post(format!("{}{path}", dss.base))
            .header("Content-Type", CONTENT_TYPE)
            .header("SOAPAction", action.clone())
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let ours = resp.bytes().await.unwrap().to_vec();
        assert_eq!(
            status,
            real_status,
            "{ex}: {}",
            String::from_utf8_lossy(&ours)
        );
        let op = Operation::ALL
            .into_iter()
            .find(|op| op.accepts_soap_action(&action))
            .unwrap();
        let (mine, real) = (decode_response(op, &ours), decode_response(op, &real_body));
        match (mine, real) {
            (Err(ResponseError::Fault(a)), Err(ResponseError::Fault(b))) => {
                assert_eq!((a.error_code, a.message), (b.error_code, b.message), "{ex}");
            }
            (Ok(Response::GetAuthorizationCookie(c)), Ok(_)) => {
                auth_cookie = b64.encode(&c.cookie_data)
            }
            (Ok(Response::GetCookie(c)), Ok(_)) => cookie = b64.encode(&c.encrypted_data),
            (Ok(Response::GetRevisionIdList(a)), Ok(Response::GetRevisionIdList(b)))
                if anchored =>
            {
                // A real WSUS's anchor is not a position in our catalog: a full list (the real
                // upstream answered by its own history).
                let _ = b;
                assert!(
                    !a.new_revisions.is_empty(),
                    "{ex}: a foreign anchor gets everything"
                );
            }
            (Ok(Response::GetRevisionIdList(a)), Ok(Response::GetRevisionIdList(b))) => {
                assert_eq!(
                    a.new_revisions.is_empty(),
                    b.new_revisions.is_empty(),
                    "{ex}: {:?}",
                    a.new_revisions
                );
            }
            (Ok(Response::GetUpdateData(a)), Ok(Response::GetUpdateData(b))) => {
                assert_eq!(a.updates.len(), b.updates.len(), "{ex}");
                for (x, y) in a.updates.iter().zip(&b.updates) {
                    assert_eq!(x.id, y.id, "{ex}");
                    let (x_doc, y_doc) = (x.blob.xml().unwrap(), y.blob.xml().unwrap());
                    let px = sluice_metadata::parse_update_bytes(x_doc.as_bytes(), "ours").unwrap();
                    let py = sluice_metadata::parse_update_bytes(y_doc.as_bytes(), "real").unwrap();
                    assert_eq!(
                        px.update, py.update,
                        "{ex}: the same document as the real upstream served"
                    );
                    assert_eq!(x.file_digests, y.file_digests, "{ex}");
                }
                let digests = |d: &ServerUpdateData| {
                    let mut v: Vec<Vec<u8>> =
                        d.file_urls.iter().map(|f| f.file_digest.clone()).collect();
                    v.sort();
                    v
                };
                assert_eq!(digests(&a), digests(&b), "{ex}");
            }
            (Ok(a), Ok(b)) => assert_eq!(a.operation(), b.operation(), "{ex}"),
            (a, b) => panic!("{ex}: ours {a:?}, real {b:?}"),
        }
    }
    dss.server.shutdown().await.unwrap();
}

/// Malformed and misdirected requests get WSUS faults, never a panic or a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_faults() {
    let mut dss = Dss::start().await;
    let sync = Service::ServerSync.path();
    for body in [
        &b""[..],
        b"<nope/>",
        b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>",
        b"\xff\xfe\x00garbage",
        b"<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><Unknown xmlns=\"urn:x\"/></soap:Body></soap:Envelope>",
    ] {
        let resp = dss.http.post(format!("{}{sync}", dss.base)).body(body.to_vec()).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 500);
        let text = resp.text().await.unwrap();
        assert!(text.contains("<ErrorCode>InvalidParameters</ErrorCode>"), "{text}");
    }
    // A DSS authorization call on the Server Sync endpoint is refused, not answered.
    let req = Request::GetAuthorizationCookie(GetAuthorizationCookieRequest {
        account_name: "dss".into(),
        account_guid: DSS_ID.into(),
        program_keys: vec![],
    });
    let (status, body) = dss.post(sync, &req).await;
    assert_eq!(status, 500, "{}", String::from_utf8_lossy(&body));
    assert!(
        dss.server
            .state
            .store
            .list_downstreams()
            .await
            .unwrap()
            .is_empty()
    );
    // Not a GUID, or no name.
    for (name, guid) in [("dss", "not-a-guid"), ("", DSS_ID)] {
        let f = dss
            .fault(&Request::GetAuthorizationCookie(
                GetAuthorizationCookieRequest {
                    account_name: name.into(),
                    account_guid: guid.into(),
                    program_keys: vec![],
                },
            ))
            .await;
        assert_eq!(f.error_code, ErrorCode::InvalidParameters);
    }
    // Protocol versions.
    let auth = decode_get_authorization_cookie_response(
        &dss.call(&Request::GetAuthorizationCookie(
            GetAuthorizationCookieRequest {
                account_name: "dss".into(),
                account_guid: DSS_ID.into(),
                program_keys: vec![],
            },
        ))
        .await,
    )
    .unwrap();
    for (version, code) in [
        ("2.0", ErrorCode::IncompatibleProtocolVersion),
        ("x", ErrorCode::InvalidParameters),
    ] {
        let f = dss
            .fault(&Request::GetCookie(GetCookieRequest {
                auth_cookies: vec![auth.clone()],
                old_cookie: None,
                protocol_version: version.into(),
            }))
            .await;
        assert_eq!(f.error_code, code, "{version}");
    }
    let f = dss
        .fault(&Request::GetCookie(GetCookieRequest {
            auth_cookies: vec![auth.clone(), auth.clone()],
            old_cookie: None,
            protocol_version: "1.20".into(),
        }))
        .await;
    assert_eq!(
        (f.error_code, f.message.as_str()),
        (ErrorCode::InvalidParameters, "authCookies")
    );
    // GET is not a SOAP call; the service answers only POST.
    let resp = dss
        .http
        .get(format!("{}{sync}", dss.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    // A rollup of computers without a downstream's session cookie is refused.
    let f = dss
        .fault(&Request::RollupComputers(RollupComputersRequest {
            cookie: Some(Cookie::reporting()),
            client_time: "2026-11-25T21:00:00Z".into(),
            computers: vec![ComputerRollupInfo {
                computer_id: Some("pc".into()),
                parent_server_id: Uuid::new_v4(),
                ..Default::default()
            }],
        }))
        .await;
    assert_eq!(f.error_code, ErrorCode::InvalidCookie);
    dss.server.shutdown().await.unwrap();
}

// ---------------------------------------------------------------- issue #8

/// Registers a downstream (GetAuthorizationCookie, GetCookie) and returns its session cookie.
async fn register(dss: &mut Dss, name: &str, id: Uuid) -> Cookie {
    let auth = decode_get_authorization_cookie_response(
        &dss.call(&Request::GetAuthorizationCookie(
            GetAuthorizationCookieRequest {
                account_name: name.into(),
                account_guid: id.to_string(),
                program_keys: vec![],
            },
        ))
        .await,
    )
    .unwrap();
    decode_get_cookie_response(
        &dss.call(&Request::GetCookie(GetCookieRequest {
            auth_cookies: vec![auth],
            old_cookie: None,
            protocol_version: "1.20".into(),
        }))
        .await,
    )
    .unwrap()
}

/// Issue #8, item 1: RollupDownstreamServers, RollupComputers, GetOutOfSyncComputers and
/// RollupComputerStatus answer only a registered downstream's session cookie, and what they
/// store is filed under the server that cookie names, whatever the body says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_1_rollups_require_a_downstream_cookie() {
    let mut dss = Dss::start().await;
    let store = dss.server.state.store.clone();
    let victim = Uuid::new_v4();
    let empty = |store: sluice_store::Store| async move {
        (
            store.list_downstreams().await.unwrap(),
            store.list_downstream_computers(None).await.unwrap(),
        )
    };

    // No cookie, the protocol's fixed reporting cookie, random bytes, a real cookie with one
    // byte changed: each of the four operations is faulted and nothing is stored.
    let real = register(
        &mut dss,
        "real.example.invalid",
        Uuid::parse_str(DSS_ID).unwrap(),
    )
    .await;
    let mut tampered = real.clone();
    let last = tampered.encrypted_data.len() - 1;
    tampered.encrypted_data[last] ^= 0x01;
    let forged = Cookie {
        expiration: real.expiration.clone(),
        encrypted_data: (0..real.encrypted_data.len()).map(|i| i as u8).collect(),
    };
    let before = empty(store.clone()).await;
    assert_eq!(before.0.len(), 1, "only the registration so far");
    assert!(before.1.is_empty());
    for cookie in [
        None,
        Some(Cookie::reporting()),
        Some(forged),
        Some(tampered),
    ] {
        for req in common::rollup_requests(cookie.clone(), victim, "pc-intruder") {
            let f = dss.fault(&req).await;
            assert_eq!(
                f.error_code,
                ErrorCode::InvalidCookie,
                "{:?} with {cookie:?}",
                req.operation()
            );
        }
    }
    // A WSUS downstream's RollupDownstreamServers, byte for byte as the spec prints it (the
    // reserved, empty cookie), is refused the same way.
    let resp = dss
        .http
        .post(format!("{}{}", dss.base, common::reporting_path()))
        .header("Content-Type", CONTENT_TYPE)
        .header(
            "SOAPAction",
            Operation::RollupDownstreamServers.quoted_soap_action(),
        )
        .body(wsusss_fixture(
            "spec-examples/ms-wsusss/17-RollupDownstreamServers-request.xml",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 500);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("<ErrorCode>InvalidCookie</ErrorCode>")
    );
    assert_eq!(empty(store.clone()).await, before, "nothing was written");

    // A registered downstream reports; the body names another registered server throughout.
    let other = register(&mut dss, "victim.example.invalid", victim).await;
    let _ = other;
    let me = Uuid::parse_str(DSS_ID).unwrap();
    for req in common::rollup_requests(Some(real.clone()), victim, "pc-1") {
        let body = dss.call(&req).await;
        assert!(
            !matches!(
                decode_response(req.operation(), &body),
                Err(ResponseError::Fault(_))
            ),
            "{:?}: {}",
            req.operation(),
            String::from_utf8_lossy(&body)
        );
    }
    let mine = store.get_downstream(me).await.unwrap().unwrap();
    assert_eq!(mine.version.as_deref(), Some("10.0.26100.1"));
    assert!(mine.last_rollup_time.is_some());
    assert_eq!(mine.parent_server_id, None, "it reports to this server");
    let theirs = store.get_downstream(victim).await.unwrap().unwrap();
    assert_eq!(theirs.account_name, "victim.example.invalid");
    assert_eq!(
        (theirs.version, theirs.last_rollup_time),
        (None, None),
        "the server the body named is untouched"
    );
    let computers = store.list_downstream_computers(None).await.unwrap();
    assert_eq!(
        computers
            .iter()
            .map(|c| (c.server_id, c.computer_id.as_str(), c.rollup_number))
            .collect::<Vec<_>>(),
        vec![(me, "pc-1", Some(1))]
    );
    assert_eq!(
        store
            .downstream_computer_status(me, "pc-1")
            .await
            .unwrap()
            .len(),
        1
    );

    // Servers relayed from below: one of its own (parent: the reporter) is taken, with that
    // parent; one claiming a server that reports here directly refuses the whole batch.
    let child = Uuid::new_v4();
    let relayed = |server_id: Uuid| DownstreamServerRollupInfo {
        server_id,
        full_domain_name: Some("branch.example.invalid".into()),
        last_sync_time: "2026-11-25T20:00:00Z".into(),
        parent_server_id: me,
        version: Some("10.0.17763.1".into()),
        is_replica: true,
        last_rollup_time: "2026-11-25T20:00:00Z".into(),
        server_summary: None,
        client_summaries: None,
    };
    let f = dss
        .fault(&Request::RollupDownstreamServers(
            RollupDownstreamServersRequest {
                cookie: Some(real.clone()),
                client_time: "2026-11-25T21:00:00Z".into(),
                downstream_servers: vec![relayed(child), relayed(victim)],
            },
        ))
        .await;
    assert_eq!(
        (f.error_code, f.message.as_str()),
        (ErrorCode::InvalidParameters, "downstreamServers")
    );
    assert!(
        store.get_downstream(child).await.unwrap().is_none(),
        "nothing of the batch"
    );
    assert_eq!(
        store.get_downstream(victim).await.unwrap().unwrap().version,
        None
    );
    let body = dss
        .call(&Request::RollupDownstreamServers(
            RollupDownstreamServersRequest {
                cookie: Some(real.clone()),
                client_time: "2026-11-25T21:00:00Z".into(),
                downstream_servers: vec![relayed(child)],
            },
        ))
        .await;
    decode_rollup_downstream_servers_response(&body).unwrap();
    let c = store.get_downstream(child).await.unwrap().unwrap();
    assert_eq!((c.parent_server_id, c.is_replica), (Some(me), Some(true)));
    assert_eq!(store.list_downstreams().await.unwrap().len(), 3);
    dss.server.shutdown().await.unwrap();
}

/// Backends waiting for a lock in the current database (PostgreSQL).
async fn lock_waiters(conn: &mut sqlx::PgConnection) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND wait_event_type = 'Lock'",
    )
    .fetch_one(conn)
    .await
    .unwrap()
}

/// A software update whose one file has digest `sha1`.
/// A locally written update whose license terms come as an EULA file (no EulaID).
fn update_with_license_terms(id: Uuid) -> String {
    format!(
        r#"<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"><upd:UpdateIdentity UpdateID="{id}" RevisionNumber="100" /><upd:Properties UpdateType="Software" ExplicitlyDeployable="true" DefaultPropertiesLanguage="en" PublicationState="Published" CreationDate="2026-01-15T09:00:00Z" /><upd:LocalizedPropertiesCollection><upd:LocalizedProperties><upd:Language>en</upd:Language><upd:Title>Contoso Suite 7</upd:Title></upd:LocalizedProperties><upd:EulaFile Language="en"><upd:File FileName="contoso-eula-en.txt" Digest="QEFCQ0RFRkdISUpLTE1OT1BRUlM=" Size="4096" /></upd:EulaFile></upd:LocalizedPropertiesCollection></upd:Update>"#
    )
}

fn update_with_file(id: Uuid, title: &str, sha1: [u8; 20]) -> (String, Vec<u8>) {
    let spec = PublishSpec {
        update_id: id,
        revision_number: 1,
        language: "en".into(),
        title: title.into(),
        description: None,
        kb_article: None,
        msrc_number: None,
        msrc_severity: None,
        classification: Some(SECURITY),
        products: vec![DEFENDER],
        creation_date: "2026-11-25T12:00:00Z".into(),
        file: Some(sluice_metadata::UpdateFile {
            file_name: "shared.exe".into(),
            size: 4,
            modified: None,
            sha1,
            sha256: None,
            patching_type: None,
        }),
        command_line: None,
        installed_rule: None,
        installable_rule: None,
        prerequisites: vec![],
        supersedes: vec![],
        reboot_behavior: None,
    };
    (format!("{id}.xml"), software_update_xml(&spec).into_bytes())
}

/// Issue #8, item 9: two importers interleave on PostgreSQL. The first has drawn its revision
/// id and is held inside its transaction (a row it must update is locked from outside); the
/// second, with a higher id, tries to commit meanwhile; a downstream asks for its delta in
/// between. Every revision must reach the downstream by its next delta: an anchor handed out
/// while the first was in flight may not skip it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn item_9_anchor_survives_interleaved_importers_on_postgres() {
    use sqlx::Connection as _;
    let Some(pg) = sluice_testkit::postgres::database("item_9_interleaved_importers").await else {
        return;
    };
    let mut dss = Dss::start_on(Some(pg.url.clone())).await;
    let everything = ServerSyncFilter {
        categories: None,
        classifications: None,
        ..Default::default()
    };
    let shared_file = [0x5a; 20];
    let base = Uuid::new_v4();
    dss.import(vec![update_with_file(base, "Base", shared_file)])
        .await;
    let cookie = dss.handshake().await;
    let first = dss.list(&cookie, everything.clone()).await;
    assert_eq!(ids(&first), vec![base]);
    let anchor = first.anchor.clone().unwrap();

    // Hold the shared file's row: importer A inserts its revision, then waits on that row.
    let mut locker = sqlx::PgConnection::connect(&pg.url).await.unwrap();
    let mut watcher = sqlx::PgConnection::connect(&pg.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    sqlx::query("SELECT sha1 FROM files WHERE sha1 = $1 FOR UPDATE")
        .bind(hex::encode(shared_file))
        .fetch_one(&mut locker)
        .await
        .unwrap();
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let catalog = dss.server.state.catalog.clone();
    let importer_a = tokio::spawn({
        let catalog = catalog.clone();
        async move {
            catalog
                .import_documents(vec![update_with_file(a, "A", shared_file)])
                .await
        }
    });
    // Polls for a state, not a duration; the bound only turns a deadlock into a failure.
    let mut polls = 0;
    let mut poll = || {
        polls += 1;
        assert!(
            polls < 15_000,
            "the importers never reached the expected state"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20))
    };
    while lock_waiters(&mut watcher).await < 1 {
        assert!(
            !importer_a.is_finished(),
            "importer A did not wait for the file row"
        );
        poll().await;
    }
    // Importer B has no file: nothing of the test stands in its way.
    let importer_b = tokio::spawn({
        let catalog = catalog.clone();
        async move {
            catalog
                .import_documents(vec![published(b, "B", SECURITY)])
                .await
        }
    });
    // B either commits (ids committing out of order) or waits for A.
    while !importer_b.is_finished() && lock_waiters(&mut watcher).await < 2 {
        poll().await;
    }
    dss.server.state.scan.invalidate();
    let during = dss
        .list(&cookie, filter_with_anchor(&everything, &anchor))
        .await;
    let anchor = during.anchor.clone().unwrap();

    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    importer_a.await.unwrap().unwrap();
    importer_b.await.unwrap().unwrap();
    dss.server.state.scan.invalidate();
    let after = dss
        .list(&cookie, filter_with_anchor(&everything, &anchor))
        .await;
    let mut received: Vec<Uuid> = ids(&during).into_iter().chain(ids(&after)).collect();
    received.sort();
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(
        received, want,
        "during: {:?}, after: {:?}",
        during.new_revisions, after.new_revisions
    );

    locker.close().await.unwrap();
    watcher.close().await.unwrap();
    dss.server.shutdown().await.unwrap();
    pg.drop_db().await;
}

fn filter_with_anchor(f: &ServerSyncFilter, anchor: &str) -> ServerSyncFilter {
    ServerSyncFilter {
        anchor: Some(anchor.to_string()),
        ..f.clone()
    }
}
