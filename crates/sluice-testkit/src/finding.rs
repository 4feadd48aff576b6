//! A data set for the tests of finding updates, bulk approval and reports: five updates, four
//! computers, a group, an approval and a decline, chosen so that every filter of the update
//! listing selects a different set. Loaded into an in-process server through its catalog.
//!
//! | KB      | classification   | product     | severity  | released   | other                       |
//! |---------|------------------|-------------|-----------|------------|-----------------------------|
//! | 5000001 | Security Updates | Windows 11  | Critical  | 2026-01-10 | needed 2 (1 failed), inst. 1 |
//! | 5000002 | Security Updates | Office 2024 | Important | 2026-02-10 | needed 3; supersedes 5000005 |
//! | 5000003 | Critical Updates | Windows 11  | -         | 2026-03-10 | failed 1; approved for Pilot |
//! | 5000004 | Critical Updates | Windows 11  | -         | 2026-04-10 | expired                     |
//! | 5000005 | Security Updates | Office 2024 | Moderate  | 2025-12-10 | installed 1; declined       |
//!
//! Computers pc-1 … pc-4 (DNS names `pc-N.contoso.test`); pc-1 and pc-2 are in "Pilot".
//! Products sit below the company "Contoso".

use sluice_catalog::api::{ApprovalRequest, CreateGroupRequest};
use sluice_metadata::MsrcSeverity;
use sluice_metadata::publish::{CategorySpec, PublishSpec, category_xml, software_update_xml};
use sluice_store::{InstallState, NewComputer, UpdateStatus};
use uuid::Uuid;

use crate::server::TestServer;

pub const SECURITY: Uuid = Uuid::from_u128(0x0fa1201d_4330_4fa8_8ae9_b877473b6441);
pub const CRITICAL: Uuid = Uuid::from_u128(0xe6cf1350_c01b_414d_a61f_263d14d133b4);
pub const CONTOSO: Uuid = Uuid::from_u128(0xc0_0000);
pub const WINDOWS_11: Uuid = Uuid::from_u128(0xc0_0001);
pub const OFFICE: Uuid = Uuid::from_u128(0xc0_0002);

/// The update id of `KB500000n` (n = 1…5).
pub fn update(n: u128) -> Uuid {
    Uuid::from_u128(0x5000_0000 + n)
}

fn category(id: Uuid, title: &str, kind: &str, parent: Option<Uuid>) -> (String, Vec<u8>) {
    let spec = CategorySpec {
        update_id: id,
        revision_number: 1,
        title: title.into(),
        category_type: kind.into(),
        parent,
        creation_date: "2025-01-01T00:00:00Z".into(),
    };
    (format!("{id}.xml"), category_xml(&spec).into_bytes())
}

struct U {
    n: u128,
    title: &'static str,
    class: Uuid,
    product: Uuid,
    severity: Option<MsrcSeverity>,
    date: &'static str,
    supersedes: Option<u128>,
    expired: bool,
}

fn software(u: &U) -> (String, Vec<u8>) {
    let id = update(u.n);
    let spec = PublishSpec {
        update_id: id,
        revision_number: 100,
        language: "en".into(),
        title: u.title.into(),
        description: Some(format!("Test update number {}", u.n)),
        kb_article: Some(format!("500000{}", u.n)),
        msrc_number: None,
        msrc_severity: u.severity,
        classification: Some(u.class),
        products: vec![u.product],
        creation_date: u.date.into(),
        file: None,
        command_line: None,
        installed_rule: None,
        installable_rule: None,
        prerequisites: vec![],
        supersedes: u.supersedes.map(update).into_iter().collect(),
        reboot_behavior: None,
    };
    let mut xml = software_update_xml(&spec);
    if u.expired {
        xml = xml.replace("PublicationState=\"Published\"", "PublicationState=\"Expired\"");
    }
    (format!("{id}.xml"), xml.into_bytes())
}

/// Loads the data set; panics on any failure (it is test set-up).
pub async fn seed(server: &TestServer) {
    let catalog = &server.state.catalog;
    let store = &server.state.store;
    let mut docs = vec![
        category(CONTOSO, "Contoso", "Company", None),
        category(WINDOWS_11, "Windows 11", "Product", Some(CONTOSO)),
        category(OFFICE, "Office 2024", "Product", Some(CONTOSO)),
        category(SECURITY, "Security Updates", "UpdateClassification", None),
        category(CRITICAL, "Critical Updates", "UpdateClassification", None),
    ];
    let updates = [
        U { n: 1, title: "Cumulative Update for Windows 11", class: SECURITY, product: WINDOWS_11, severity: Some(MsrcSeverity::Critical), date: "2026-01-10T08:00:00Z", supersedes: None, expired: false },
        U { n: 2, title: "Office Security Update", class: SECURITY, product: OFFICE, severity: Some(MsrcSeverity::Important), date: "2026-02-10T08:00:00Z", supersedes: Some(5), expired: false },
        U { n: 3, title: "Windows 11 reliability fix", class: CRITICAL, product: WINDOWS_11, severity: None, date: "2026-03-10T08:00:00Z", supersedes: None, expired: false },
        U { n: 4, title: "Expired helper for Windows 11", class: CRITICAL, product: WINDOWS_11, severity: None, date: "2026-04-10T08:00:00Z", supersedes: None, expired: true },
        U { n: 5, title: "Old Office Security Update", class: SECURITY, product: OFFICE, severity: Some(MsrcSeverity::Moderate), date: "2025-12-10T08:00:00Z", supersedes: None, expired: false },
    ];
    docs.extend(updates.iter().map(software));
    catalog.import_documents(docs).await.expect("import the data set");
    for n in 1..=4 {
        let c = NewComputer { id: format!("pc-{n}"), dns_name: Some(format!("pc-{n}.contoso.test")), ..NewComputer::default() };
        store.upsert_computer(&c).await.expect("register");
    }
    let at = time::OffsetDateTime::now_utc();
    let status = |pc: &str, n: u128, state| UpdateStatus {
        computer_id: pc.into(),
        update_id: update(n),
        revision_number: 100,
        state,
        last_event_time: at,
        last_event_id: None,
    };
    store
        .set_update_statuses(&[
            status("pc-1", 1, InstallState::NotInstalled),
            status("pc-2", 1, InstallState::Failed),
            status("pc-3", 1, InstallState::Installed),
            status("pc-1", 2, InstallState::NotInstalled),
            status("pc-2", 2, InstallState::Downloaded),
            status("pc-3", 2, InstallState::NotInstalled),
            status("pc-1", 3, InstallState::Failed),
            status("pc-4", 5, InstallState::Installed),
            status("pc-4", 4, InstallState::NotApplicable),
        ])
        .await
        .expect("statuses");
    catalog.create_group(&CreateGroupRequest { name: "Pilot".into(), parent: None }).await.expect("group");
    for pc in ["pc-1", "pc-2"] {
        catalog.move_computer(pc, &["Pilot".into()]).await.expect("move");
    }
    let approve = ApprovalRequest { update: update(3).to_string(), group: "Pilot".into(), ..ApprovalRequest::default() };
    catalog.approve(&approve, "seed").await.expect("approve");
    catalog.decline(&update(5).to_string(), "seed").await.expect("decline");
}
