//! The update metadata model: what Sluice understands of a Microsoft update document.
//!
//! The model is derived from, never a replacement for, the original document: the original
//! XML is kept alongside it so that nothing the model does not cover is ever lost.

use uuid::Uuid;

/// The revision key Microsoft uses everywhere: an update id and its revision number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UpdateIdentity {
    pub update_id: Uuid,
    pub revision_number: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateType {
    Software,
    Driver,
    Detectoid,
    Category,
}

impl UpdateType {
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateType::Software => "Software",
            UpdateType::Driver => "Driver",
            UpdateType::Detectoid => "Detectoid",
            UpdateType::Category => "Category",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Software" => UpdateType::Software,
            "Driver" => UpdateType::Driver,
            "Detectoid" => UpdateType::Detectoid,
            "Category" => UpdateType::Category,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsrcSeverity {
    Critical,
    Important,
    Moderate,
    Low,
}

impl MsrcSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            MsrcSeverity::Critical => "Critical",
            MsrcSeverity::Important => "Important",
            MsrcSeverity::Moderate => "Moderate",
            MsrcSeverity::Low => "Low",
        }
    }
    /// Case-insensitive, so the CLI can take `critical`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "critical" => MsrcSeverity::Critical,
            "important" => MsrcSeverity::Important,
            "moderate" => MsrcSeverity::Moderate,
            "low" => MsrcSeverity::Low,
            _ => return None,
        })
    }
}

/// `InstallationBehavior` / `UninstallationBehavior`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Behavior {
    pub reboot_behavior: Option<String>,
    pub impact: Option<String>,
    pub can_request_user_input: Option<bool>,
    pub requires_network_connectivity: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Properties {
    pub update_type: UpdateType,
    pub default_properties_language: Option<String>,
    pub handler: Option<String>,
    pub max_download_size: Option<u64>,
    pub min_download_size: Option<u64>,
    pub publication_state: Option<String>,
    pub creation_date: Option<String>,
    pub publisher_id: Option<String>,
    pub explicitly_deployable: bool,
    pub auto_select_on_websites: bool,
    pub is_public: Option<bool>,
    pub per_user: Option<bool>,
    pub eula_id: Option<String>,
    pub legacy_name: Option<String>,
    pub detectoid_type: Option<String>,
    pub os_upgrade: Option<String>,
    pub msrc_severity: Option<MsrcSeverity>,
    pub is_locally_published: bool,
    pub kb_article_ids: Vec<String>,
    pub security_bulletin_ids: Vec<String>,
    pub cve_ids: Vec<String>,
    pub support_url: Option<String>,
    pub installation_behavior: Option<Behavior>,
    pub uninstallation_behavior: Option<Behavior>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalizedProperties {
    pub language: String,
    pub title: String,
    pub description: Option<String>,
    pub uninstall_notes: Option<String>,
    pub more_info_url: Option<String>,
    pub support_url: Option<String>,
}

/// One EULA file of an update, per language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EulaFile {
    pub language: String,
    pub file: UpdateFile,
}

/// A group of prerequisites: satisfied when at least one member is installed.
/// A plain prerequisite is a group of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrerequisiteGroup {
    pub members: Vec<Uuid>,
    /// `AtLeastOne IsCategory="true"`: membership in products or classifications.
    pub is_category: bool,
    /// Whether the source wrote it as `AtLeastOne` (true) or a bare `UpdateIdentity`.
    pub at_least_one: bool,
}

/// A reference to another update, with a revision where the document names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdateRef {
    pub update_id: Uuid,
    pub revision_number: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relationships {
    pub prerequisites: Vec<PrerequisiteGroup>,
    /// Each inner vector is one bundled slot; several entries are alternatives (`AtLeastOne`).
    pub bundled_updates: Vec<Vec<UpdateRef>>,
    pub superseded_updates: Vec<Uuid>,
}

/// Applicability rules, kept verbatim as standalone XML (namespaces declared on each root),
/// evaluated by the rule engine and never interpreted here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplicabilityRules {
    pub is_installed: Option<String>,
    pub is_installable: Option<String>,
    pub is_superseded: Option<String>,
    pub metadata: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateFile {
    pub file_name: String,
    pub size: u64,
    pub modified: Option<String>,
    pub sha1: [u8; 20],
    pub sha256: Option<[u8; 32]>,
    pub patching_type: Option<String>,
}

impl UpdateFile {
    pub fn sha1_hex(&self) -> String {
        self.sha1.iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnResult {
    Succeeded,
    Failed,
    Cancelled,
}

impl ReturnResult {
    pub fn as_str(&self) -> &'static str {
        match self {
            ReturnResult::Succeeded => "Succeeded",
            ReturnResult::Failed => "Failed",
            ReturnResult::Cancelled => "Cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Succeeded" => ReturnResult::Succeeded,
            "Failed" => ReturnResult::Failed,
            "Cancelled" => ReturnResult::Cancelled,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnCode {
    pub code: i64,
    pub result: ReturnResult,
    pub reboot: bool,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLineInstall {
    pub program: String,
    pub arguments: Option<String>,
    pub reboot_by_default: Option<bool>,
    pub default_result: Option<ReturnResult>,
    pub return_codes: Vec<ReturnCode>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryInfo {
    pub category_type: Option<String>,
    pub prohibits_subcategories: Option<bool>,
    pub prohibits_updates: Option<bool>,
    pub display_order: Option<i32>,
    pub excluded_by_default: Option<bool>,
}

/// What the handler needs to install the update, by handler kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandlerData {
    CommandLine(CommandLineInstall),
    /// `msp:WindowsInstaller` (patch) and `msp:WindowsInstallerApp` (product).
    WindowsInstaller {
        product_code: Option<String>,
        patch_code: Option<String>,
        command_line: Option<String>,
        uninstall_command_line: Option<String>,
    },
    Cbs { package_identity: Option<String> },
    WindowsPatch { install_parameters: Option<String> },
    OsInstaller,
    WindowsSetup { program: Option<String> },
    Category(CategoryInfo),
    /// A handler this version does not model; the document keeps it.
    Other { xsi_type: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub identity: UpdateIdentity,
    pub properties: Properties,
    pub localized: Vec<LocalizedProperties>,
    pub eulas: Vec<EulaFile>,
    pub relationships: Relationships,
    pub rules: ApplicabilityRules,
    pub files: Vec<UpdateFile>,
    pub handler: Option<HandlerData>,
}

impl Update {
    /// The localized properties in `lang` (exact, then the base language, then English, then any).
    pub fn localized_in(&self, lang: &str) -> Option<&LocalizedProperties> {
        let base = lang.split('-').next().unwrap_or(lang);
        self.localized
            .iter()
            .find(|l| l.language.eq_ignore_ascii_case(lang))
            .or_else(|| self.localized.iter().find(|l| l.language.eq_ignore_ascii_case(base)))
            .or_else(|| self.localized.iter().find(|l| l.language.eq_ignore_ascii_case("en")))
            .or_else(|| self.localized.first())
    }

    pub fn title(&self) -> &str {
        self.localized_in("en").map(|l| l.title.as_str()).unwrap_or("")
    }

    /// Categories from `AtLeastOne IsCategory="true"` prerequisites: products and classifications.
    pub fn category_ids(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.relationships
            .prerequisites
            .iter()
            .filter(|g| g.is_category)
            .flat_map(|g| g.members.iter().copied())
    }

    /// A bundle carries other updates; a leaf is what gets installed.
    pub fn is_bundle(&self) -> bool {
        !self.relationships.bundled_updates.is_empty()
    }

    pub fn category_info(&self) -> Option<&CategoryInfo> {
        match &self.handler {
            Some(HandlerData::Category(c)) => Some(c),
            _ => None,
        }
    }
}
