//! Software update documents: the text (titles, descriptions, support URLs, languages) and
//! the document around the applicability rules and files of [`rules`] and [`files`].

mod files;
mod rules;

use super::*;
use files::{file_names, handler_data};
use rules::{is_installable, is_installed};

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

pub(super) fn software(plan: &Plan, u: &Upd, sw: &Sw, rev: &Rev, rng: &mut Rng, out: &mut String) {
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
