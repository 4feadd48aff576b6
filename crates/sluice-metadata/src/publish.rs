//! Writing update documents for locally published updates and their categories.
//!
//! Sluice publishes in Microsoft's own schema so that a locally published update flows through
//! exactly the same parsing, fragment and serving code as one synced from Microsoft Update.

use base64::Engine;
use uuid::Uuid;

use crate::dom::{escape_attr, escape_text};
use crate::model::{CommandLineInstall, MsrcSeverity, UpdateFile};
use crate::ns;

/// Publisher id written into documents Sluice publishes; it marks an update as locally published.
pub const LOCAL_PUBLISHER_ID: &str = "5f2a1c9e-8a47-4e0b-9d7a-51c3e0a7b2f4";

/// What an administrator says about a software update to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishSpec {
    pub update_id: Uuid,
    pub revision_number: i32,
    pub language: String,
    pub title: String,
    pub description: Option<String>,
    pub kb_article: Option<String>,
    pub msrc_number: Option<String>,
    pub msrc_severity: Option<MsrcSeverity>,
    pub classification: Option<Uuid>,
    pub products: Vec<Uuid>,
    /// xsd:dateTime, UTC.
    pub creation_date: String,
    pub file: Option<UpdateFile>,
    pub command_line: Option<CommandLineInstall>,
    /// One rule expression each (e.g. `<bar:RegKeyExists …/>`); the prefixes `bar`, `lar`,
    /// `msiar` are declared for it, or it declares its own namespaces.
    pub installed_rule: Option<String>,
    pub installable_rule: Option<String>,
    pub prerequisites: Vec<Uuid>,
    pub supersedes: Vec<Uuid>,
    pub reboot_behavior: Option<String>,
}

/// A product or classification (or company) category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategorySpec {
    pub update_id: Uuid,
    pub revision_number: i32,
    pub title: String,
    /// `Company`, `ProductFamily`, `Product` or `UpdateClassification`.
    pub category_type: String,
    pub parent: Option<Uuid>,
    pub creation_date: String,
}

struct W(String);

impl W {
    fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.0.push('<');
        self.0.push_str(name);
        for (k, v) in attrs {
            self.0.push(' ');
            self.0.push_str(k);
            self.0.push_str("=\"");
            escape_attr(v, &mut self.0);
            self.0.push('"');
        }
        self.0.push('>');
    }
    fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.open(name, attrs);
        self.0.pop();
        self.0.push_str(" />");
    }
    fn close(&mut self, name: &str) {
        self.0.push_str("</");
        self.0.push_str(name);
        self.0.push('>');
    }
    fn text_el(&mut self, name: &str, text: &str) {
        self.open(name, &[]);
        escape_text(text, &mut self.0);
        self.close(name);
    }
}

fn root_open(w: &mut W) {
    w.open(
        "upd:Update",
        &[
            ("xmlns:upd", ns::UPDATE),
            ("xmlns:bar", ns::BAR),
            ("xmlns:lar", ns::LAR),
            ("xmlns:msiar", ns::MSIAR),
            ("xmlns:cmd", ns::CMD),
            ("xmlns:cat", ns::CATEGORY),
            ("xmlns:xsi", ns::XSI),
        ],
    );
}

fn identity(w: &mut W, id: Uuid, rev: i32) {
    w.empty("upd:UpdateIdentity", &[("UpdateID", &id.to_string()), ("RevisionNumber", &rev.to_string())]);
}

fn category_group(w: &mut W, ids: &[Uuid]) {
    w.open("upd:AtLeastOne", &[("IsCategory", "true")]);
    for id in ids {
        w.empty("upd:UpdateIdentity", &[("UpdateID", &id.to_string())]);
    }
    w.close("upd:AtLeastOne");
}

/// Writes the update document for a locally published software update.
pub fn software_update_xml(s: &PublishSpec) -> String {
    let mut w = W(String::with_capacity(2048));
    root_open(&mut w);
    identity(&mut w, s.update_id, s.revision_number);

    let max = s.file.as_ref().map(|f| f.size).unwrap_or(0).to_string();
    let mut attrs: Vec<(&str, &str)> = vec![
        ("UpdateType", "Software"),
        ("DefaultPropertiesLanguage", &s.language),
        ("ExplicitlyDeployable", "true"),
        ("AutoSelectOnWebSites", "true"),
        ("MaxDownloadSize", &max),
        ("MinDownloadSize", "0"),
        ("PublicationState", "Published"),
        ("CreationDate", &s.creation_date),
        ("PublisherID", LOCAL_PUBLISHER_ID),
    ];
    if s.command_line.is_some() {
        attrs.push(("Handler", ns::CMD));
    }
    if let Some(sev) = s.msrc_severity {
        attrs.push(("MsrcSeverity", sev.as_str()));
    }
    w.open("upd:Properties", &attrs);
    if let Some(rb) = &s.reboot_behavior {
        w.empty("upd:InstallationBehavior", &[("RebootBehavior", rb)]);
    }
    if let Some(kb) = &s.kb_article {
        w.text_el("upd:KBArticleID", kb);
    }
    if let Some(b) = &s.msrc_number {
        w.text_el("upd:SecurityBulletinID", b);
    }
    w.close("upd:Properties");

    w.open("upd:LocalizedPropertiesCollection", &[]);
    w.open("upd:LocalizedProperties", &[]);
    w.text_el("upd:Language", &s.language);
    w.text_el("upd:Title", &s.title);
    if let Some(d) = &s.description {
        w.text_el("upd:Description", d);
    }
    w.close("upd:LocalizedProperties");
    w.close("upd:LocalizedPropertiesCollection");

    let has_prereqs = !s.prerequisites.is_empty() || s.classification.is_some() || !s.products.is_empty();
    if has_prereqs || !s.supersedes.is_empty() {
        w.open("upd:Relationships", &[]);
        if !s.supersedes.is_empty() {
            w.open("upd:SupersededUpdates", &[]);
            for id in &s.supersedes {
                w.empty("upd:UpdateIdentity", &[("UpdateID", &id.to_string())]);
            }
            w.close("upd:SupersededUpdates");
        }
        if has_prereqs {
            w.open("upd:Prerequisites", &[]);
            for id in &s.prerequisites {
                w.empty("upd:UpdateIdentity", &[("UpdateID", &id.to_string())]);
            }
            if let Some(c) = s.classification {
                category_group(&mut w, &[c]);
            }
            if !s.products.is_empty() {
                category_group(&mut w, &s.products);
            }
            w.close("upd:Prerequisites");
        }
        w.close("upd:Relationships");
    }

    if s.installed_rule.is_some() || s.installable_rule.is_some() {
        w.open("upd:ApplicabilityRules", &[]);
        for (name, rule) in [("upd:IsInstalled", &s.installed_rule), ("upd:IsInstallable", &s.installable_rule)] {
            if let Some(r) = rule {
                w.open(name, &[]);
                // Rules are XML supplied by the administrator; the caller re-parses the whole
                // document, so a malformed rule is rejected there with a message.
                w.0.push_str(r.trim());
                w.close(name);
            }
        }
        w.close("upd:ApplicabilityRules");
    }

    if let Some(f) = &s.file {
        let b64 = base64::engine::general_purpose::STANDARD;
        let digest = b64.encode(f.sha1);
        let size = f.size.to_string();
        let mut fattrs: Vec<(&str, &str)> =
            vec![("Digest", &digest), ("DigestAlgorithm", "SHA1"), ("FileName", &f.file_name), ("Size", &size)];
        if let Some(m) = &f.modified {
            fattrs.push(("Modified", m));
        }
        w.open("upd:Files", &[]);
        w.open("upd:File", &fattrs);
        if let Some(h) = f.sha256 {
            w.open("upd:AdditionalDigest", &[("Algorithm", "SHA256")]);
            w.0.push_str(&b64.encode(h));
            w.close("upd:AdditionalDigest");
        }
        w.close("upd:File");
        w.close("upd:Files");
    }

    if let Some(c) = &s.command_line {
        w.open("upd:HandlerSpecificData", &[("xsi:type", "cmd:CommandLineInstallation")]);
        let mut ia: Vec<(&str, &str)> = vec![("Program", &c.program)];
        if let Some(a) = &c.arguments {
            ia.push(("Arguments", a));
        }
        let rbd = c.reboot_by_default.map(|b| b.to_string());
        if let Some(r) = &rbd {
            ia.push(("RebootByDefault", r));
        }
        if let Some(d) = &c.default_result {
            ia.push(("DefaultResult", d.as_str()));
        }
        w.open("cmd:InstallCommand", &ia);
        for rc in &c.return_codes {
            let code = rc.code.to_string();
            let mut ra: Vec<(&str, &str)> = vec![("Code", &code), ("Result", rc.result.as_str())];
            if rc.reboot {
                ra.push(("Reboot", "true"));
            }
            if let Some(d) = &rc.description {
                ra.push(("DefaultLocalizedDescription", d));
            }
            w.empty("cmd:ReturnCode", &ra);
        }
        w.close("cmd:InstallCommand");
        w.close("upd:HandlerSpecificData");
    }
    w.close("upd:Update");
    w.0
}

/// Writes the update document for a category (product, classification, company).
pub fn category_xml(c: &CategorySpec) -> String {
    let mut w = W(String::with_capacity(1024));
    root_open(&mut w);
    identity(&mut w, c.update_id, c.revision_number);
    w.empty(
        "upd:Properties",
        &[
            ("DefaultPropertiesLanguage", "en"),
            ("UpdateType", "Category"),
            ("Handler", ns::CATEGORY),
            ("PublicationState", "Published"),
            ("CreationDate", &c.creation_date),
            ("PublisherID", LOCAL_PUBLISHER_ID),
        ],
    );
    w.open("upd:LocalizedPropertiesCollection", &[]);
    w.open("upd:LocalizedProperties", &[]);
    w.text_el("upd:Language", "en");
    w.text_el("upd:Title", &c.title);
    w.close("upd:LocalizedProperties");
    w.close("upd:LocalizedPropertiesCollection");
    if let Some(p) = c.parent {
        w.open("upd:Relationships", &[]);
        w.open("upd:Prerequisites", &[]);
        category_group(&mut w, &[p]);
        w.close("upd:Prerequisites");
        w.close("upd:Relationships");
    }
    w.open("upd:ApplicabilityRules", &[]);
    w.open("upd:IsInstalled", &[]);
    w.empty("lar:True", &[]);
    w.close("upd:IsInstalled");
    w.close("upd:ApplicabilityRules");
    w.open("upd:HandlerSpecificData", &[("xsi:type", "cat:Category")]);
    let prohibits_updates = if c.category_type == "Company" || c.category_type == "ProductFamily" { "true" } else { "false" };
    w.empty(
        "cat:CategoryInformation",
        &[
            ("CategoryType", &c.category_type),
            ("ProhibitsSubcategories", if c.category_type == "Product" { "true" } else { "false" }),
            ("ProhibitsUpdates", prohibits_updates),
            ("DisplayOrder", "0"),
        ],
    );
    w.close("upd:HandlerSpecificData");
    w.close("upd:Update");
    w.0
}

/// Classification ids Microsoft Update uses, so a locally published update lands in the same
/// classification as Microsoft's own (and synced approvals rules see it the same way).
pub const WELL_KNOWN_CLASSIFICATIONS: [(&str, &str); 11] = [
    ("Critical Updates", "e6cf1350-c01b-414d-a61f-263d14d133b4"),
    ("Security Updates", "0fa1201d-4330-4fa8-8ae9-b877473b6441"),
    ("Definition Updates", "e0789628-ce08-4437-be74-2495b842f43b"),
    ("Update Rollups", "28bc880e-0592-4cbf-8f95-c79b17911d5f"),
    ("Service Packs", "68c5b0a3-d1a6-4553-ae49-01d3a7827828"),
    ("Updates", "cd5ffd1e-e932-4e3a-bf74-18bf0b1bbd83"),
    ("Feature Packs", "b54e7d24-7add-428f-8b75-90a396fa584f"),
    ("Tools", "b4832bd8-e735-4761-8daf-37f882276dab"),
    ("Drivers", "ebfc1fc5-71a4-4f7b-9aca-3b9a503104a0"),
    ("Upgrades", "3689bdc8-b205-4af4-8d4a-a63924c5e9d5"),
    ("Applications", "5c9376ab-8ce6-464a-b136-22113dd69801"),
];
