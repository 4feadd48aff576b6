//! Rendering: one `upd:Update` document from the plan.
//!
//! Documents follow the shapes of real Microsoft Update documents (element order, attribute
//! sets, the way bundles, bundled leaves and categories are written; see
//! `tests/fixtures/wsus-rs/docs/`). Each update draws its details (file digests, languages,
//! rule variations) from its own random stream, so every revision of an update repeats the
//! same content and documents can be rendered in any order.

use std::fmt::Write as _;

use sluice_metadata::dom::{escape_attr, escape_text};
use sluice_metadata::ns;
use sluice_metadata::publish::WELL_KNOWN_CLASSIFICATIONS;

use crate::SYNTHETIC_PUBLISHER_ID;
use crate::names::{
    Arch, CATEGORY_LANGUAGES, COMPANIES, FAMILIES, LANGUAGES, OFFICE_COMPONENTS, OS_TARGETS, OsTarget, PRODUCTS,
    Phrase, ProductDef, ProductType, class, phrasebook,
};
use crate::plan::{DetRule, DocRef, NOW, Plan, Role, STREAM_RENDER, Series, SeriesKind, Sw, Upd, What};
use crate::rng::{Quantiles, Rng};

const HKLM: &str = "HKEY_LOCAL_MACHINE";
const CURRENT_VERSION: &str = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion";
const DEFENDER: &str = r"SOFTWARE\Microsoft\Windows Defender";
/// CSIDL numbers prefixing `Path` in file rules.
const CSIDL_COMMON_APPDATA: &str = "35";
const CSIDL_WINDOWS: &str = "36";
const CSIDL_SYSTEM: &str = "37";
const CSIDL_PROGRAM_FILES: &str = "38";
const CSIDL_PROGRAM_FILESX86: &str = "42";

/// A minimal XML writer: elements are opened, given attributes and closed by hand, so that
/// rendering allocates nothing but the output.
pub(crate) struct W<'a>(pub &'a mut String);

impl W<'_> {
    fn start(&mut self, name: &str) -> &mut Self {
        self.0.push('<');
        self.0.push_str(name);
        self
    }
    fn attr(&mut self, k: &str, v: &str) -> &mut Self {
        self.0.push(' ');
        self.0.push_str(k);
        self.0.push_str("=\"");
        escape_attr(v, self.0);
        self.0.push('"');
        self
    }
    fn attr_n(&mut self, k: &str, v: impl std::fmt::Display) -> &mut Self {
        let _ = write!(self.0, " {k}=\"{v}\"");
        self
    }
    fn open_end(&mut self) {
        self.0.push('>');
    }
    fn empty_end(&mut self) {
        self.0.push_str(" />");
    }
    fn open(&mut self, name: &str) {
        self.start(name).open_end();
    }
    fn close(&mut self, name: &str) {
        self.0.push_str("</");
        self.0.push_str(name);
        self.0.push('>');
    }
    fn text_el(&mut self, name: &str, text: &str) {
        self.open(name);
        escape_text(text, self.0);
        self.close(name);
    }
    fn identity_ref(&mut self, plan: &Plan, u: u32, with_revision: bool) {
        let target = &plan.updates[u as usize];
        self.start("upd:UpdateIdentity");
        let mut buf = uuid::Uuid::encode_buffer();
        self.attr("UpdateID", target.id.hyphenated().encode_lower(&mut buf));
        if with_revision {
            self.attr_n("RevisionNumber", target.last_rev());
        }
        self.empty_end();
    }

    // ---- base applicability rules (bar:) and logical operators (lar:)

    fn reg_dword(&mut self, subkey: &str, value: &str, comparison: &str, data: impl std::fmt::Display) {
        self.start("bar:RegDword").attr("Key", HKLM).attr("Subkey", subkey).attr("Value", value);
        self.attr("Comparison", comparison).attr_n("Data", data).empty_end();
    }
    fn reg_key_exists(&mut self, subkey: &str, reg32: bool) {
        self.start("bar:RegKeyExists").attr("Key", HKLM).attr("Subkey", subkey);
        if reg32 {
            self.attr("RegType32", "true");
        }
        self.empty_end();
    }
    fn file_version(&mut self, csidl: &str, path: &str, comparison: &str, version: &str) {
        self.start("bar:FileVersion").attr("Csidl", csidl).attr("Path", path);
        self.attr("Comparison", comparison).attr("Version", version).empty_end();
    }
    fn windows_version(&mut self, comparison: &str, build: Option<u32>, product_type: Option<u8>) {
        self.start("bar:WindowsVersion")
            .attr("Comparison", comparison)
            .attr("MajorVersion", "10")
            .attr("MinorVersion", "0");
        if let Some(b) = build {
            self.attr_n("BuildNumber", b);
        }
        if let Some(t) = product_type {
            self.attr_n("ProductType", t);
        }
        self.empty_end();
    }
    fn processor(&mut self, arch: Arch) {
        self.start("bar:Processor").attr_n("Architecture", arch.code()).empty_end();
    }
    fn os_rule(&mut self, t: &OsTarget) {
        if t.server {
            // Servers are domain controllers (2) or member servers (3).
            self.open("lar:Or");
            self.windows_version("EqualTo", Some(t.build), Some(2));
            self.windows_version("EqualTo", Some(t.build), Some(3));
            self.close("lar:Or");
        } else {
            self.windows_version("EqualTo", Some(t.build), Some(1));
        }
    }
}

/// xsd:dateTime with milliseconds, as Microsoft writes `CreationDate`.
fn datetime(t: i64, millis: bool, out: &mut String) {
    let d = time::OffsetDateTime::from_unix_timestamp(t).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        d.year(),
        d.month() as u8,
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    );
    if millis {
        let _ = write!(out, ".{:03}", (t.unsigned_abs().wrapping_mul(7_919)) % 1000);
    }
    out.push('Z');
}

fn year_month(t: i64) -> String {
    let d = time::OffsetDateTime::from_unix_timestamp(t).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}", d.year(), d.month() as u8)
}

fn base64(bytes: &[u8], out: &mut String) {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for c in bytes.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        out.push(A[(n >> 18) as usize & 63] as char);
        out.push(A[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 { A[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if c.len() > 2 { A[n as usize & 63] as char } else { '=' });
    }
}

/// What the revision being rendered changes.
struct Rev {
    number: i32,
    index: u8,
    date: i64,
    expired: bool,
}

fn rev_of(u: &Upd, index: u8) -> Rev {
    let expired = u.expired_last && index + 1 == u.revisions;
    let date = if expired {
        (u.created + 560 * 86_400).min(NOW - 3_600).max(u.created + 3_600)
    } else {
        u.created + index as i64 * 9 * 86_400
    };
    Rev { number: u.first_rev + index as i32, index, date, expired }
}

/// Renders document `d` of `plan` into `out` (which is cleared first).
pub(crate) fn render(plan: &Plan, d: DocRef, out: &mut String) {
    out.clear();
    let u = &plan.updates[d.update as usize];
    let rev = rev_of(u, d.rev);
    let mut rng = Rng::derive(plan.seed, STREAM_RENDER, d.update as u64);
    match &u.what {
        What::Company(_) | What::Family(_) | What::Product(_) | What::Classification(_) => {
            category(plan, u, &rev, &mut rng, out)
        }
        What::Detectoid(rule) => detectoid(plan, u, *rule, &rev, &mut rng, out),
        What::Software(sw) => software(plan, u, sw, &rev, &mut rng, out),
    }
}

fn root(w: &mut W<'_>, decls: &[(&str, &str)]) {
    w.start("upd:Update");
    for (p, uri) in decls {
        w.0.push_str(" xmlns:");
        w.0.push_str(p);
        w.0.push_str("=\"");
        w.0.push_str(uri);
        w.0.push('"');
    }
    w.open_end();
}

fn identity(w: &mut W<'_>, u: &Upd, rev: &Rev) {
    w.start("upd:UpdateIdentity");
    let mut buf = uuid::Uuid::encode_buffer();
    w.attr("UpdateID", u.id.hyphenated().encode_lower(&mut buf)).attr_n("RevisionNumber", rev.number).empty_end();
}

fn publication(w: &mut W<'_>, rev: &Rev) {
    w.attr("PublicationState", if rev.expired { "Expired" } else { "Published" });
    let mut date = String::with_capacity(24);
    datetime(rev.date, true, &mut date);
    w.attr("CreationDate", &date).attr("PublisherID", SYNTHETIC_PUBLISHER_ID);
}

fn prerequisites(w: &mut W<'_>, plan: &Plan, u: &Upd) {
    if u.bare.is_empty() && u.groups.is_empty() {
        return;
    }
    w.open("upd:Prerequisites");
    for &b in &u.bare {
        w.identity_ref(plan, b, false);
    }
    for g in &u.groups {
        w.start("upd:AtLeastOne");
        if g.category {
            w.attr("IsCategory", "true");
        }
        w.open_end();
        for &m in &g.members {
            w.identity_ref(plan, m, false);
        }
        w.close("upd:AtLeastOne");
    }
    w.close("upd:Prerequisites");
}

// ------------------------------------------------------------------------------ categories

fn category(plan: &Plan, u: &Upd, rev: &Rev, rng: &mut Rng, out: &mut String) {
    let mut w = W(out);
    let (title, ctype, display_order, description): (String, &str, u32, String) = match &u.what {
        What::Company(c) => (COMPANIES[*c].to_string(), "Company", 1, COMPANIES[*c].to_string()),
        What::Family(f) => (FAMILIES[*f].0.to_string(), "ProductFamily", 2, FAMILIES[*f].0.to_string()),
        What::Product(p) => {
            let name = plan.products[*p as usize].name.clone();
            let d = format!("{name} updates");
            (name, "Product", 3 + *p as u32, d)
        }
        What::Classification(c) => {
            let name = WELL_KNOWN_CLASSIFICATIONS[*c as usize].0;
            (name.to_string(), "UpdateClassification", 1 + *c as u32, classification_description(*c).to_string())
        }
        _ => unreachable!("not a category"),
    };
    root(&mut w, &[("lar", ns::LAR), ("bar", ns::BAR), ("cat", ns::CATEGORY), ("xsi", ns::XSI), ("upd", ns::UPDATE)]);
    identity(&mut w, u, rev);
    w.start("upd:Properties").attr("DefaultPropertiesLanguage", "en").attr("IsPublic", "true");
    w.attr("UpdateType", "Category").attr("Handler", ns::CATEGORY);
    publication(&mut w, rev);
    w.open_end();
    w.close("upd:Properties");

    // Companies, families and classifications carry the 24 languages of real category
    // documents; products do about half the time.
    let all_languages = !matches!(u.what, What::Product(_)) || rng.chance(0.5);
    w.open("upd:LocalizedPropertiesCollection");
    let langs: &[&str] = if all_languages { &CATEGORY_LANGUAGES } else { &["en"] };
    for lang in langs {
        w.open("upd:LocalizedProperties");
        w.text_el("upd:Language", lang);
        w.text_el("upd:Title", &title);
        if rev.index > 0 && *lang == "en" {
            w.text_el("upd:Description", &format!("{description}."));
        } else {
            w.text_el("upd:Description", &description);
        }
        w.close("upd:LocalizedProperties");
    }
    w.close("upd:LocalizedPropertiesCollection");

    if !u.groups.is_empty() {
        w.open("upd:Relationships");
        prerequisites(&mut w, plan, u);
        w.close("upd:Relationships");
    }
    w.open("upd:ApplicabilityRules");
    w.open("upd:IsInstalled");
    match &u.what {
        // An operating system product is "installed" on its Windows versions, as the real
        // product categories say.
        What::Product(p) => {
            let def = &PRODUCTS[plan.products[*p as usize].def];
            match def.ptype {
                ProductType::OsClient | ProductType::OsServer => {
                    let min = def.targets.iter().map(|&t| OS_TARGETS[t].build).min().unwrap_or(10240);
                    let pt = if def.ptype == ProductType::OsServer { 3 } else { 1 };
                    w.windows_version("GreaterThanOrEqualTo", Some(min), Some(pt));
                }
                _ => w.start("lar:True").empty_end(),
            }
        }
        _ => w.start("lar:True").empty_end(),
    }
    w.close("upd:IsInstalled");
    w.close("upd:ApplicabilityRules");
    w.start("upd:HandlerSpecificData").attr("xsi:type", "cat:Category").open_end();
    w.start("cat:CategoryInformation").attr("CategoryType", ctype);
    let (prohibits_sub, prohibits_updates) = match ctype {
        "Company" | "ProductFamily" => ("false", "true"),
        _ => ("true", "false"),
    };
    w.attr("ProhibitsSubcategories", prohibits_sub).attr("ProhibitsUpdates", prohibits_updates);
    w.attr_n("DisplayOrder", display_order).empty_end();
    w.close("upd:HandlerSpecificData");
    w.close("upd:Update");
}

fn classification_description(c: u8) -> &'static str {
    match c {
        class::CRITICAL => {
            "A broadly released fix for a specific problem addressing a critical, non-security related bug."
        }
        class::SECURITY => "A broadly released fix for a product-specific security-related vulnerability.",
        class::DEFINITION => {
            "A broadly-released and frequent software update containing additions to a product's definition database."
        }
        class::ROLLUPS => {
            "A tested, cumulative set of hotfixes, security updates, critical updates, and updates packaged together for easy deployment."
        }
        class::SERVICE_PACKS => {
            "A tested, cumulative set of all hotfixes, security updates, critical updates and updates, as well as additional fixes for problems found internally."
        }
        class::UPDATES => {
            "A broadly released fix for a specific problem addressing a noncritical, non-security-related bug."
        }
        class::FEATURE_PACKS => {
            "New product functionality that is first distributed outside the context of a product release."
        }
        class::TOOLS => "A utility or feature that aids in accomplishing a task or set of tasks.",
        class::UPGRADES => {
            "A new product release bringing a device to the next version, containing bug fixes, design changes and new features."
        }
        class::APPLICATIONS => "Applications and their updates.",
        _ => "Drivers and firmware for hardware devices.",
    }
}

// ------------------------------------------------------------------------------ detectoids

fn detectoid(plan: &Plan, u: &Upd, rule: DetRule, rev: &Rev, rng: &mut Rng, out: &mut String) {
    let mut w = W(out);
    root(&mut w, &[("bar", ns::BAR), ("lar", ns::LAR), ("upd", ns::UPDATE)]);
    identity(&mut w, u, rev);
    w.start("upd:Properties").attr("UpdateType", "Detectoid").attr("DefaultPropertiesLanguage", "en");
    publication(&mut w, rev);
    w.open_end();
    w.close("upd:Properties");
    let title = match rule {
        DetRule::Arch(a) => a.systems().to_string(),
        DetRule::Os(t) => OS_TARGETS[t as usize].name.to_string(),
        DetRule::Composite(t, a) => format!("{} for {}", OS_TARGETS[t as usize].name, a.systems()),
        DetRule::Product(p) => format!("{} is installed", plan.products[p as usize].name),
        DetRule::Component(p, c) => {
            format!("{} ({}) is installed", OFFICE_COMPONENTS[c as usize].0, plan.products[p as usize].name)
        }
        DetRule::Filler { product, n, .. } => format!("{} component {n}", plan.products[product as usize].name),
    };
    w.open("upd:LocalizedPropertiesCollection");
    w.open("upd:LocalizedProperties");
    w.text_el("upd:Language", "en");
    w.text_el("upd:Title", &title);
    w.close("upd:LocalizedProperties");
    w.close("upd:LocalizedPropertiesCollection");
    if !u.bare.is_empty() {
        w.open("upd:Relationships");
        prerequisites(&mut w, plan, u);
        w.close("upd:Relationships");
    }
    w.open("upd:ApplicabilityRules");
    w.open("upd:IsInstalled");
    match rule {
        DetRule::Arch(a) => w.processor(a),
        DetRule::Os(t) => w.os_rule(&OS_TARGETS[t as usize]),
        DetRule::Composite(t, a) => {
            w.open("lar:And");
            w.os_rule(&OS_TARGETS[t as usize]);
            w.processor(a);
            w.close("lar:And");
        }
        DetRule::Product(p) => w.reg_key_exists(PRODUCTS[plan.products[p as usize].def].key, false),
        DetRule::Component(p, c) => {
            let def = &PRODUCTS[plan.products[p as usize].def];
            let key =
                format!(r"SOFTWARE\Microsoft\Office\{}\{}\InstallRoot", def.version, OFFICE_COMPONENTS[c as usize].0);
            w.reg_key_exists(&key, false);
        }
        DetRule::Filler { product, n, style } => {
            let def = &PRODUCTS[plan.products[product as usize].def];
            let guid = rng.uuid().to_string().to_uppercase();
            let component = format!(r"{}\Components\{{{guid}}}", def.key);
            let dll = format!("{}{}.dll", def.stem.replace(['.', '-'], ""), n % 97);
            let version = format!("{}.{}.{}.{}", 1 + n % 11, rng.below(10), 1000 + rng.below(30_000), rng.below(500));
            match style {
                0 => w.reg_key_exists(&component, false),
                1 => w.file_version(CSIDL_SYSTEM, &dll, "GreaterThanOrEqualTo", &version),
                2 => w.reg_dword(&format!(r"{}\Features", def.key), &format!("Feature{n}"), "EqualTo", 1),
                3 => {
                    w.open("lar:And");
                    let build = OS_TARGETS[rng.below(OS_TARGETS.len() as u64) as usize].build;
                    w.windows_version("GreaterThanOrEqualTo", Some(build), None);
                    w.reg_key_exists(&component, false);
                    w.close("lar:And");
                }
                _ => {
                    w.open("lar:And");
                    w.reg_key_exists(&component, false);
                    w.open("lar:Not");
                    w.file_version(CSIDL_SYSTEM, &dll, "LessThan", &version);
                    w.close("lar:Not");
                    w.close("lar:And");
                }
            }
        }
    }
    w.close("upd:IsInstalled");
    w.close("upd:ApplicabilityRules");
    w.close("upd:Update");
}

// ------------------------------------------------------------------------------ software

/// Everything the text of a software update depends on.
struct Ctx<'a> {
    u: &'a Upd,
    sw: &'a Sw,
    series: &'a Series,
    def: &'static ProductDef,
    product_name: &'a str,
    target: Option<&'static OsTarget>,
}

impl Ctx<'_> {
    fn release(&self) -> u32 {
        self.sw.release
    }
    fn part(&self) -> u8 {
        match self.sw.role {
            Role::Child { part } => part,
            _ => 0,
        }
    }
    /// Version parts are 16-bit on Windows; a very long series stops counting at the limit.
    fn ubr(&self) -> u32 {
        (self.target.map(|t| t.base_ubr).unwrap_or(1000) + self.release() * 61 + (self.sw.kb % 7)).min(65_535)
    }
    fn release_part(&self, base: u32, step: u32) -> u32 {
        (base + self.release() * step).min(65_535)
    }
    fn build(&self) -> u32 {
        self.target.map(|t| t.build).unwrap_or(19045)
    }
    fn office_year(&self) -> &'static str {
        match self.def.stem {
            "o365" => "2019",
            s => s,
        }
    }
    fn bits(&self) -> &'static str {
        if self.sw.office32 { "32-Bit" } else { "64-Bit" }
    }
    fn defender_arch(&self) -> &'static str {
        match self.sw.arch {
            Arch::X86 => "x86fre",
            Arch::X64 => "amd64fre",
            Arch::Arm64 => "arm64fre",
        }
    }
    fn definitions_version(&self, back: u32) -> String {
        let r = self.release().saturating_sub(back);
        format!("1.{}.{}.0", (381 + r / 600).min(65_535), (r % 600) * 3)
    }
    fn engine_version(&self) -> String {
        format!("1.1.{}.{}", (24_000 + self.release() / 90 * 10).min(65_535), self.release() % 90 + 1)
    }
    fn platform_version(&self) -> String {
        format!("4.18.{}.{}", (24_070 + self.release() / 150 * 10).min(65_535), self.release() % 150 + 1)
    }
    /// The product's own version at this release (applications).
    fn app_version(&self) -> String {
        let r = self.release();
        match self.series.kind {
            SeriesKind::OfficeSecurity | SeriesKind::OfficeUpdate => {
                format!("{}.{}.1000", self.def.version, self.release_part(5_300 + self.series.component as u32, 12))
            }
            SeriesKind::Runtime if self.def.name.starts_with(".NET") => format!("{}.{}", self.def.version, r + 1),
            SeriesKind::Runtime => format!("{}.{}.{}", self.def.version, r / 6, r % 6),
            SeriesKind::ServerCu | SeriesKind::ServerSecurity => {
                format!("{}.{}.{}", self.def.version, self.release_part(4_003, 15), 2 + r % 5)
            }
            _ => format!("{}.{}.{}", self.def.version, r / 10, r % 10),
        }
    }
    fn file_version_of(&self) -> String {
        let v = self.app_version();
        let dots = v.matches('.').count();
        if dots >= 3 { v } else { format!("{v}{}", ".0".repeat(3 - dots)) }
    }
}

struct Title {
    prefix: String,
    phrase: Phrase,
    english: String,
    subject: String,
    suffix: String,
}

fn title_of(c: &Ctx<'_>) -> Title {
    let sw = c.sw;
    let ym = year_month(c.u.created);
    let kb = sw.kb;
    let t_name = c.target.map(|t| t.name).unwrap_or(c.product_name);
    let arch = sw.arch;
    let security = sw.classification == class::SECURITY;
    let mk = |prefix: String, phrase, english: &str, subject: String, suffix: String| Title {
        prefix,
        phrase,
        english: english.to_string(),
        subject,
        suffix,
    };
    let child = matches!(sw.role, Role::Child { .. });
    match c.series.kind {
        SeriesKind::Cumulative if child => mk(
            String::new(),
            Phrase::Cumulative,
            if c.part() == 0 { "Cumulative package" } else { "Checkpoint cumulative package" },
            format!("{t_name} {}", arch.short()),
            format!(" (OS Build {}.{}, KB{kb})", c.build(), c.ubr()),
        ),
        SeriesKind::Cumulative => {
            let e = if security { "Cumulative Update" } else { "Cumulative Update Preview" };
            mk(
                format!("{ym} "),
                Phrase::Cumulative,
                e,
                format!("{t_name} for {}", arch.systems()),
                format!(" (KB{kb})"),
            )
        }
        SeriesKind::ServicingStack if child => mk(
            String::new(),
            Phrase::Update,
            "Servicing stack package",
            format!("{t_name} {}", arch.short()),
            format!(" (KB{kb})"),
        ),
        SeriesKind::ServicingStack => mk(
            format!("{ym} "),
            Phrase::Update,
            "Servicing Stack Update",
            format!("{t_name} for {}", arch.systems()),
            format!(" (KB{kb})"),
        ),
        SeriesKind::DotNet if child => mk(
            String::new(),
            Phrase::Cumulative,
            ".NET Framework 4.8.1 package",
            format!("{t_name} {}", arch.short()),
            format!(" (KB{kb})"),
        ),
        SeriesKind::DotNet => mk(
            format!("{ym} "),
            Phrase::Cumulative,
            "Cumulative Update",
            format!(".NET Framework 3.5 and 4.8.1 for {t_name} for {}", arch.short()),
            format!(" (KB{kb})"),
        ),
        SeriesKind::DynamicUpdate => mk(
            format!("{ym} "),
            Phrase::Update,
            "Dynamic Update",
            format!("{t_name} for {}", arch.systems()),
            format!(" (KB{kb})"),
        ),
        SeriesKind::FeatureUpdate if child => mk(
            String::new(),
            Phrase::Update,
            "Setup media",
            format!("{t_name} {}", arch.short()),
            format!(" {}.{}", c.build(), c.ubr()),
        ),
        SeriesKind::FeatureUpdate => {
            mk(String::new(), Phrase::Update, "Feature update", format!("{t_name}, {}", arch.short()), format!(" {ym}"))
        }
        SeriesKind::Definitions if child => {
            let (e, v) = match c.part() {
                0..=2 => ("AM Engine", c.engine_version()),
                3..=5 => ("Platform Update", c.platform_version()),
                p => ("Full Deltas", c.definitions_version(p as u32 - 6)),
            };
            mk(String::new(), Phrase::Definition, e, format!("Defender {}", c.defender_arch()), format!(" {v} Broad"))
        }
        SeriesKind::Definitions => mk(
            String::new(),
            Phrase::Definition,
            "Security Intelligence Update",
            "Microsoft Defender Antivirus".to_string(),
            format!(" - KB{kb} (Version {}) - Current Channel (Broad)", c.definitions_version(0)),
        ),
        SeriesKind::OfficeSecurity | SeriesKind::OfficeUpdate => {
            let comp = OFFICE_COMPONENTS[c.series.component as usize].0;
            mk(
                String::new(),
                if security { Phrase::Security } else { Phrase::Update },
                if security { "Security Update" } else { "Update" },
                format!("Microsoft {comp} {}", c.office_year()),
                format!(" (KB{kb}) {} Edition", c.bits()),
            )
        }
        SeriesKind::Runtime => mk(
            String::new(),
            if security { Phrase::Security } else { Phrase::Update },
            if security { "Security Update" } else { "Update" },
            format!("{} {} {}", c.product_name, c.app_version(), arch.short()),
            format!(" (KB{kb})"),
        ),
        SeriesKind::ServerCu => mk(
            String::new(),
            Phrase::Cumulative,
            &format!("Cumulative Update {}", c.release() + 1),
            c.product_name.replace("Microsoft ", ""),
            format!(" (KB{kb})"),
        ),
        SeriesKind::ServerSecurity => mk(
            String::new(),
            Phrase::Security,
            "Security Update",
            format!("{} GDR", c.product_name.replace("Microsoft ", "")),
            format!(" (KB{kb})"),
        ),
        SeriesKind::AppRelease => mk(
            String::new(),
            if security { Phrase::Security } else { Phrase::Update },
            if security { "Security Update" } else { "Update" },
            format!("{} {}", c.product_name, c.app_version()),
            format!(" ({})", arch.short()),
        ),
        SeriesKind::Hotfix => mk(
            String::new(),
            Phrase::Update,
            "Update",
            format!("{} for {}", c.product_name, arch.systems()),
            format!(" (KB{kb})"),
        ),
    }
}

impl Title {
    fn english(&self) -> String {
        format!("{}{} for {}{}", self.prefix, self.english, self.subject, self.suffix)
    }
    fn localized(&self, phrase: &str) -> String {
        format!("{}{} – {}{}", self.prefix, phrase, self.subject, self.suffix)
    }
}

fn english_description(c: &Ctx<'_>, subject: &str) -> String {
    match c.series.kind {
        SeriesKind::Definitions => "Install this update to revise the files that are used to detect viruses, spyware, and other potentially unwanted software. Once you have installed this item, it cannot be removed.".to_string(),
        SeriesKind::FeatureUpdate => format!("Install the latest version of Windows: {subject}. This update moves the device to a new release with new features and all security fixes to date."),
        _ if c.sw.classification == class::SECURITY => format!("A security issue has been identified in {subject} that could allow an attacker to compromise your system and gain control over it. You can help protect your system by installing this update from Microsoft. After you install this update, you may have to restart your system."),
        SeriesKind::Cumulative | SeriesKind::DotNet | SeriesKind::ServerCu => format!("Install this update to resolve issues in {subject}. For a complete listing of the issues that are included in this update, see the associated Microsoft Knowledge Base article for more information. After you install this item, you may have to restart your computer."),
        _ => format!("Microsoft has released an update for {subject}. This update provides the latest fixes to {subject}. Additionally, this update contains stability and performance improvements."),
    }
}

fn phrase_index(p: Phrase) -> usize {
    match p {
        Phrase::Security => 0,
        Phrase::Update => 1,
        Phrase::Cumulative => 2,
        Phrase::Definition => 3,
    }
}

/// How long an applicability rule for Defender children gets: the real ones list every
/// definitions version a delta applies to, which makes some of them 10–15 KB.
const DELTA_BASES: Quantiles = Quantiles(&[(0.0, 1.0), (0.5, 3.0), (0.9, 14.0), (0.99, 40.0), (1.0, 60.0)]);
const RING_CLAUSES: Quantiles = Quantiles(&[(0.0, 1.0), (0.6, 2.0), (0.95, 7.0), (1.0, 12.0)]);

fn software(plan: &Plan, u: &Upd, sw: &Sw, rev: &Rev, rng: &mut Rng, out: &mut String) {
    let series = &plan.series[sw.series as usize];
    let product = &plan.products[series.product as usize];
    let c = Ctx {
        u,
        sw,
        series,
        def: &PRODUCTS[product.def],
        product_name: &product.name,
        target: series.target.map(|t| &OS_TARGETS[t as usize]),
    };
    let leaf = !matches!(sw.role, Role::Bundle);
    let top = !matches!(sw.role, Role::Child { .. });
    let mut w = W(out);
    if leaf {
        root(&mut w, &[("bar", ns::BAR), ("lar", ns::LAR), ("cmd", ns::CMD), ("xsi", ns::XSI), ("upd", ns::UPDATE)]);
    } else {
        root(&mut w, &[("upd", ns::UPDATE)]);
    }
    identity(&mut w, u, rev);

    // Properties
    let download: u64 = if leaf {
        u.files.iter().sum()
    } else {
        u.bundled.iter().flatten().map(|&ch| plan.updates[ch as usize].files.iter().sum::<u64>()).max().unwrap_or(0)
    };
    w.start("upd:Properties").attr("UpdateType", "Software").attr("DefaultPropertiesLanguage", "en");
    if leaf {
        w.attr("Handler", ns::CMD);
    }
    if top {
        if let Some(s) = sw.severity {
            w.attr("MsrcSeverity", ["Critical", "Important", "Moderate", "Low"][s as usize]);
        }
        let auto = matches!(sw.classification, class::SECURITY | class::CRITICAL | class::DEFINITION);
        w.attr("AutoSelectOnWebSites", if auto { "true" } else { "false" });
        w.attr("ExplicitlyDeployable", "true");
    } else {
        w.attr("ExplicitlyDeployable", "false");
    }
    w.attr_n("MaxDownloadSize", download).attr("MinDownloadSize", "0");
    publication(&mut w, rev);
    w.open_end();
    installation_behavior(&mut w, &c);
    if top {
        let support = support_url(&c);
        w.text_el("upd:SupportUrl", &support);
        if series.kind != SeriesKind::AppRelease {
            w.text_el("upd:KBArticleID", &sw.kb.to_string());
        }
        if sw.severity.is_some() {
            let d = time::OffsetDateTime::from_unix_timestamp(u.created).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            // Bulletin numbers ended in 2017; later security updates name CVEs only.
            if d.year() < 2017 {
                w.text_el("upd:SecurityBulletinID", &format!("MS{:02}-{:03}", d.year() % 100, 1 + sw.kb % 150));
            }
            if rng.chance(0.5) {
                for _ in 0..rng.range(1, 4) {
                    w.text_el("upd:CveID", &format!("CVE-{}-{}", d.year(), 20_000 + rng.below(40_000)));
                }
            }
        }
    }
    w.close("upd:Properties");

    // Localized properties
    let title = title_of(&c);
    let en_title = title.english();
    let languages: Vec<&str> = if top { languages_for(series.kind, rng) } else { vec!["en"] };
    w.open("upd:LocalizedPropertiesCollection");
    let subject = match c.target {
        Some(t) if series.kind != SeriesKind::DotNet => t.name,
        _ => c.product_name,
    };
    for lang in &languages {
        w.open("upd:LocalizedProperties");
        w.text_el("upd:Language", lang);
        let book = phrasebook(lang);
        match book {
            Some((phrases, _)) if *lang != "en" => {
                w.text_el("upd:Title", &title.localized(phrases[phrase_index(title.phrase)]))
            }
            _ => w.text_el("upd:Title", &en_title),
        }
        if top {
            let mut desc = match book {
                Some((_, d)) if *lang != "en" => d.replace("{}", subject),
                _ => english_description(&c, subject),
            };
            if rev.index > 0 && *lang == "en" {
                desc.push_str(" This revision updates the information about the update; the files are unchanged.");
            }
            w.text_el("upd:Description", &desc);
            if series.kind != SeriesKind::AppRelease {
                w.text_el("upd:MoreInfoUrl", &format!("https://support.microsoft.com/help/{}", sw.kb));
            }
            w.text_el("upd:SupportUrl", &support_url(&c));
        }
        w.close("upd:LocalizedProperties");
    }
    w.close("upd:LocalizedPropertiesCollection");

    // Relationships: superseded, prerequisites, bundled (Microsoft's order)
    w.open("upd:Relationships");
    if !u.supersedes.is_empty() {
        w.open("upd:SupersededUpdates");
        for &s in &u.supersedes {
            w.identity_ref(plan, s, false);
        }
        w.close("upd:SupersededUpdates");
    }
    prerequisites(&mut w, plan, u);
    if !u.bundled.is_empty() {
        w.open("upd:BundledUpdates");
        for slot in &u.bundled {
            if slot.len() == 1 {
                w.identity_ref(plan, slot[0], true);
            } else {
                w.open("upd:AtLeastOne");
                for &m in slot {
                    w.identity_ref(plan, m, true);
                }
                w.close("upd:AtLeastOne");
            }
        }
        w.close("upd:BundledUpdates");
    }
    w.close("upd:Relationships");

    if leaf {
        w.open("upd:ApplicabilityRules");
        w.open("upd:IsInstalled");
        is_installed(&mut w, &c, rng);
        w.close("upd:IsInstalled");
        w.open("upd:IsInstallable");
        is_installable(&mut w, &c, rng);
        w.close("upd:IsInstallable");
        w.close("upd:ApplicabilityRules");
        let names = file_names(&c);
        w.open("upd:Files");
        let mut digest = [0u8; 32];
        for (i, &size) in u.files.iter().enumerate() {
            let mut b64 = String::with_capacity(44);
            rng.fill(&mut digest[..20]);
            base64(&digest[..20], &mut b64);
            let mut modified = String::with_capacity(20);
            datetime(u.created - 86_400 * (2 + i as i64) - (size % 40_000) as i64, false, &mut modified);
            w.start("upd:File").attr("Digest", &b64).attr("DigestAlgorithm", "SHA1").attr("FileName", &names[i]);
            w.attr_n("Size", size).attr("Modified", &modified);
            if matches!(series.kind, SeriesKind::Cumulative | SeriesKind::FeatureUpdate) {
                w.attr("PatchingType", "SelfContained");
            }
            w.open_end();
            rng.fill(&mut digest);
            b64.clear();
            base64(&digest, &mut b64);
            w.start("upd:AdditionalDigest").attr("Algorithm", "SHA256").open_end();
            w.0.push_str(&b64);
            w.close("upd:AdditionalDigest");
            w.close("upd:File");
        }
        w.close("upd:Files");
        handler_data(&mut w, &c, &names);
    }
    w.close("upd:Update");
}

fn support_url(c: &Ctx<'_>) -> String {
    match c.def.ptype {
        ProductType::ThirdParty => {
            format!("https://support.{}.com/{}", if c.def.family == 5 { "contoso" } else { "fabrikam" }, c.def.stem)
        }
        ProductType::Defender => "https://go.microsoft.com/fwlink/?LinkId=52661".to_string(),
        _ => "https://support.microsoft.com".to_string(),
    }
}

/// en first, then (for some updates) a few or all of Microsoft Update's languages.
fn languages_for(kind: SeriesKind, rng: &mut Rng) -> Vec<&'static str> {
    let p_all = match kind {
        SeriesKind::Definitions | SeriesKind::Cumulative | SeriesKind::FeatureUpdate => 0.7,
        SeriesKind::AppRelease | SeriesKind::Hotfix => 0.0,
        _ => 0.15,
    };
    let roll = rng.unit();
    if roll < p_all {
        return LANGUAGES.to_vec();
    }
    if kind != SeriesKind::AppRelease && roll < p_all + 0.3 {
        let mut picked: Vec<usize> = Vec::new();
        for _ in 0..rng.range(3, 8) {
            let i = 1 + rng.below(LANGUAGES.len() as u64 - 1) as usize;
            if !picked.contains(&i) {
                picked.push(i);
            }
        }
        picked.sort_unstable();
        let mut v = vec!["en"];
        v.extend(picked.iter().map(|&i| LANGUAGES[i]));
        return v;
    }
    vec!["en"]
}

fn installation_behavior(w: &mut W<'_>, c: &Ctx<'_>) {
    w.start("upd:InstallationBehavior");
    match c.series.kind {
        SeriesKind::Definitions | SeriesKind::DynamicUpdate => {
            w.attr("Impact", "Minor");
        }
        SeriesKind::FeatureUpdate => {
            w.attr("RebootBehavior", "AlwaysRequiresReboot").attr("CanRequestUserInput", "false");
        }
        SeriesKind::Runtime | SeriesKind::AppRelease => {
            w.attr("RebootBehavior", "NeverReboots");
        }
        _ => {
            w.attr("RebootBehavior", "CanRequestReboot");
        }
    }
    w.empty_end();
    if matches!(c.series.kind, SeriesKind::OfficeSecurity | SeriesKind::OfficeUpdate | SeriesKind::AppRelease)
        && !matches!(c.sw.role, Role::Child { .. })
    {
        w.start("upd:UninstallationBehavior").attr("RebootBehavior", "CanRequestReboot").empty_end();
    }
}

fn is_installed(w: &mut W<'_>, c: &Ctx<'_>, rng: &mut Rng) {
    let build = c.build();
    match c.series.kind {
        SeriesKind::Cumulative => {
            w.open("lar:And");
            w.windows_version("EqualTo", Some(build), None);
            let ubr = if c.part() == 0 { c.ubr() } else { c.ubr().saturating_sub(30) };
            w.reg_dword(CURRENT_VERSION, "UBR", "GreaterThanOrEqualTo", ubr);
            w.close("lar:And");
        }
        SeriesKind::ServicingStack => {
            let v = format!("10.0.{build}.{}", c.release_part(1_000, 37));
            w.file_version(CSIDL_WINDOWS, r"servicing\TrustedInstaller.exe", "GreaterThanOrEqualTo", &v);
        }
        SeriesKind::DotNet => {
            let dir = if c.sw.arch == Arch::X86 { "Framework" } else { "Framework64" };
            let v = format!("4.8.{}.0", c.release_part(9_000, 13));
            w.file_version(
                CSIDL_WINDOWS,
                &format!(r"Microsoft.NET\{dir}\v4.0.30319\clr.dll"),
                "GreaterThanOrEqualTo",
                &v,
            );
        }
        SeriesKind::DynamicUpdate => {
            w.reg_dword(
                r"SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\DynamicUpdate",
                "AppliedKB",
                "GreaterThanOrEqualTo",
                c.sw.kb,
            );
        }
        SeriesKind::FeatureUpdate => w.windows_version("GreaterThanOrEqualTo", Some(build), None),
        SeriesKind::Definitions => definitions_installed(w, c),
        SeriesKind::OfficeSecurity | SeriesKind::OfficeUpdate => {
            let (comp_dir, exe) = (c.def.exe, OFFICE_COMPONENTS[c.series.component as usize].1);
            let csidl = if c.sw.office32 { CSIDL_PROGRAM_FILESX86 } else { CSIDL_PROGRAM_FILES };
            w.file_version(csidl, &format!(r"{comp_dir}\{exe}"), "GreaterThanOrEqualTo", &c.file_version_of());
        }
        SeriesKind::Runtime if c.def.name.starts_with(".NET") => {
            let key = format!(
                r"SOFTWARE\dotnet\Setup\InstalledVersions\{}\sharedfx\Microsoft.NETCore.App\{}",
                c.sw.arch.short(),
                c.app_version()
            );
            w.reg_key_exists(&key, c.sw.arch == Arch::X86);
        }
        SeriesKind::Hotfix => {
            w.reg_dword(&format!(r"{CURRENT_VERSION}\Hotfix\KB{}", c.sw.kb), "Installed", "EqualTo", 1);
        }
        _ => {
            let csidl = if c.sw.arch == Arch::X86 { CSIDL_PROGRAM_FILESX86 } else { CSIDL_PROGRAM_FILES };
            let v = c.file_version_of();
            if rng.chance(0.3) {
                // Some publishers also record the installed version in the registry.
                w.open("lar:Or");
                w.file_version(csidl, c.def.exe, "GreaterThanOrEqualTo", &v);
                w.reg_dword(c.def.key, "PatchLevel", "GreaterThanOrEqualTo", c.release() + 1);
                w.close("lar:Or");
            } else {
                w.file_version(csidl, c.def.exe, "GreaterThanOrEqualTo", &v);
            }
        }
    }
}

fn is_installable(w: &mut W<'_>, c: &Ctx<'_>, rng: &mut Rng) {
    let build = c.build();
    match c.series.kind {
        SeriesKind::Cumulative => {
            w.open("lar:And");
            w.windows_version("EqualTo", Some(build), None);
            w.reg_key_exists(r"SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing", false);
            w.close("lar:And");
        }
        SeriesKind::ServicingStack | SeriesKind::DynamicUpdate => w.windows_version("EqualTo", Some(build), None),
        SeriesKind::DotNet => {
            w.open("lar:And");
            w.windows_version("EqualTo", Some(build), None);
            w.reg_dword(
                r"SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full",
                "Release",
                "GreaterThanOrEqualTo",
                533_320,
            );
            w.close("lar:And");
        }
        SeriesKind::FeatureUpdate => {
            w.open("lar:And");
            w.windows_version("LessThan", Some(build), None);
            w.windows_version("GreaterThanOrEqualTo", Some(19_041), None);
            w.open("lar:Not");
            w.reg_dword(r"SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate", "DisableOSUpgrade", "EqualTo", 1);
            w.close("lar:Not");
            w.close("lar:And");
        }
        SeriesKind::Definitions => definitions_installable(w, c, rng),
        SeriesKind::OfficeSecurity | SeriesKind::OfficeUpdate => {
            let key = format!(
                r"SOFTWARE\Microsoft\Office\{}\{}\InstallRoot",
                c.def.version, OFFICE_COMPONENTS[c.series.component as usize].0
            );
            w.reg_key_exists(&key, c.sw.office32);
        }
        SeriesKind::Runtime if c.def.name.starts_with(".NET") => {
            w.reg_key_exists(
                &format!(r"SOFTWARE\dotnet\Setup\InstalledVersions\{}\sharedhost", c.sw.arch.short()),
                c.sw.arch == Arch::X86,
            );
        }
        SeriesKind::Hotfix => {
            w.open("lar:And");
            w.windows_version("GreaterThanOrEqualTo", None, None);
            w.processor(c.sw.arch);
            w.close("lar:And");
        }
        _ => w.reg_key_exists(c.def.key, c.sw.arch == Arch::X86),
    }
}

fn sig_version(w: &mut W<'_>, file: &str, comparison: &str, version: &str) {
    w.file_version(
        CSIDL_COMMON_APPDATA,
        &format!(r"Microsoft\Windows Defender\Definition Updates\Default\{file}"),
        comparison,
        version,
    );
}

fn not_signature_type(w: &mut W<'_>) {
    w.open("lar:Not");
    w.reg_dword(&format!(r"{DEFENDER}\Signature Updates"), "SignatureType", "EqualTo", 1);
    w.close("lar:Not");
}

fn definitions_installed(w: &mut W<'_>, c: &Ctx<'_>) {
    match c.part() {
        0..=2 => {
            w.open("lar:And");
            not_signature_type(w);
            sig_version(w, "mpengine.dll", "GreaterThanOrEqualTo", &c.engine_version());
            w.close("lar:And");
        }
        3..=5 => {
            let v = c.platform_version();
            w.file_version(CSIDL_PROGRAM_FILES, r"Windows Defender\MsMpEng.exe", "GreaterThanOrEqualTo", &v);
        }
        p => {
            let v = c.definitions_version(p as u32 - 6);
            w.open("lar:And");
            not_signature_type(w);
            sig_version(w, "mpasdlta.vdm", "GreaterThanOrEqualTo", &v);
            sig_version(w, "mpavdlta.vdm", "GreaterThanOrEqualTo", &v);
            w.open("lar:Not");
            w.reg_dword(
                &format!(r"{DEFENDER}\Miscellaneous Configuration"),
                "DeltaUpdateFailure",
                "GreaterThanOrEqualTo",
                1,
            );
            w.close("lar:Not");
            w.close("lar:And");
        }
    }
}

fn definitions_installable(w: &mut W<'_>, c: &Ctx<'_>, rng: &mut Rng) {
    w.open("lar:And");
    w.reg_key_exists(DEFENDER, false);
    match c.part() {
        0..=5 => {
            // Rollout rings: the update is offered to some rings only.
            w.open("lar:Or");
            for ring in 0..RING_CLAUSES.sample_u64(rng) {
                w.reg_dword(&format!(r"{DEFENDER}\MpEngine"), "MpEngineRing", "EqualTo", ring);
            }
            w.open("lar:Not");
            w.start("bar:RegValueExists").attr("Key", HKLM).attr("Subkey", &format!(r"{DEFENDER}\MpEngine"));
            w.attr("Value", "MpEngineRing").attr("Type", "REG_DWORD").empty_end();
            w.close("lar:Not");
            w.close("lar:Or");
        }
        p => {
            // A delta applies on top of a set of earlier definitions versions.
            not_signature_type(w);
            w.open("lar:Or");
            let bases = DELTA_BASES.sample_u64(rng).max(1) as u32;
            for k in 0..bases {
                let v = c.definitions_version(p as u32 - 6 + 1 + k);
                w.open("lar:And");
                sig_version(w, "mpasdlta.vdm", "EqualTo", &v);
                sig_version(w, "mpavdlta.vdm", "EqualTo", &v);
                w.close("lar:And");
            }
            w.close("lar:Or");
        }
    }
    w.close("lar:And");
}

fn file_names(c: &Ctx<'_>) -> Vec<String> {
    let kb = c.sw.kb;
    let a = c.sw.arch.short();
    let stem = c.target.map(|t| t.file_stem).unwrap_or(c.def.stem);
    let n = c.u.files.len();
    let one = |s: String| vec![s];
    match c.series.kind {
        SeriesKind::Cumulative if c.part() == 0 => one(format!("{stem}-kb{kb}-{a}.msu")),
        SeriesKind::Cumulative => one(format!("{stem}-kb{kb}-{a}_checkpoint.msu")),
        SeriesKind::ServicingStack | SeriesKind::DynamicUpdate => one(format!("{stem}-kb{kb}-{a}.msu")),
        SeriesKind::DotNet => one(format!("{stem}-kb{kb}-{a}-ndp481.msu")),
        SeriesKind::FeatureUpdate => {
            let build = format!("{}.{}", c.build(), c.ubr());
            let mut v = vec![format!("{build}.{a}fre.professional_en-us.esd"), "WindowsUpdateBox.exe".to_string()];
            v.push(format!("{build}_{a}_SetupMgr.cab"));
            v.push(format!("{build}_{a}_appraiser.cab"));
            v.truncate(n);
            v
        }
        SeriesKind::Definitions => one(match c.part() {
            0..=2 => "AM_Engine.exe",
            3..=5 => "UpdatePlatform.exe",
            _ => "AM_Delta.exe",
        }
        .to_string()),
        SeriesKind::OfficeSecurity | SeriesKind::OfficeUpdate => {
            let comp = OFFICE_COMPONENTS[c.series.component as usize].0.to_lowercase();
            let bits = if c.sw.office32 { "x86" } else { "x64" };
            one(format!("{comp}{}-kb{kb}-fullfile-{bits}-glb.exe", c.office_year()))
        }
        SeriesKind::Runtime => one(format!("{}.{}-win-{a}.exe", c.def.stem, c.release() + 1)),
        SeriesKind::ServerCu | SeriesKind::ServerSecurity => one(format!("{}-KB{kb}-{a}.exe", c.def.stem)),
        SeriesKind::AppRelease => one(format!("{}-{}-{a}.exe", c.def.stem, c.app_version())),
        SeriesKind::Hotfix => one(format!("{stem}-kb{kb}-{a}.exe")),
    }
}

fn handler_data(w: &mut W<'_>, c: &Ctx<'_>, names: &[String]) {
    let kind = c.series.kind;
    let (program, arguments): (String, Option<String>) = match kind {
        SeriesKind::Cumulative | SeriesKind::ServicingStack | SeriesKind::DotNet | SeriesKind::DynamicUpdate => {
            ("wusa.exe".into(), Some(format!("{} /quiet /norestart", names[0])))
        }
        SeriesKind::FeatureUpdate => {
            let box_exe = names.get(1).cloned().unwrap_or_else(|| names[0].clone());
            (box_exe, Some("/Update /PreDownload /quiet".into()))
        }
        SeriesKind::Definitions if c.part() >= 6 => (names[0].clone(), Some("WD /q".into())),
        SeriesKind::Definitions => (names[0].clone(), None),
        SeriesKind::OfficeSecurity | SeriesKind::OfficeUpdate => (names[0].clone(), Some("/quiet /norestart".into())),
        SeriesKind::Runtime => (names[0].clone(), Some("/install /quiet /norestart".into())),
        SeriesKind::ServerCu | SeriesKind::ServerSecurity if c.def.stem.starts_with("SQL") => {
            (names[0].clone(), Some("/quiet /IAcceptSQLServerLicenseTerms /Action=Patch /AllInstances".into()))
        }
        SeriesKind::ServerCu | SeriesKind::ServerSecurity => (names[0].clone(), Some("/passive".into())),
        SeriesKind::AppRelease => (names[0].clone(), Some("/S".into())),
        SeriesKind::Hotfix => (names[0].clone(), Some("/q /norestart".into())),
    };
    w.start("upd:HandlerSpecificData").attr("xsi:type", "cmd:CommandLineInstallation").open_end();
    w.start("cmd:InstallCommand").attr("Program", &program);
    if let Some(a) = &arguments {
        w.attr("Arguments", a);
    }
    if kind == SeriesKind::FeatureUpdate {
        w.attr("RebootByDefault", "true");
    }
    w.open_end();
    w.start("cmd:ReturnCode").attr("Code", "0").attr("Result", "Succeeded").empty_end();
    if kind != SeriesKind::Definitions {
        w.start("cmd:ReturnCode").attr("Code", "3010").attr("Result", "Succeeded").attr("Reboot", "true").empty_end();
        if program == "wusa.exe" {
            // 0x240006: already installed; 0x80240017 (as a signed int): not applicable.
            w.start("cmd:ReturnCode").attr("Code", "2359302").attr("Result", "Succeeded").empty_end();
            w.start("cmd:ReturnCode").attr("Code", "-2145124329").attr("Result", "Failed").empty_end();
        } else {
            w.start("cmd:ReturnCode")
                .attr("Code", "1641")
                .attr("Result", "Succeeded")
                .attr("Reboot", "true")
                .empty_end();
            w.start("cmd:ReturnCode").attr("Code", "1603").attr("Result", "Failed").empty_end();
        }
    }
    w.close("cmd:InstallCommand");
    w.close("upd:HandlerSpecificData");
}
