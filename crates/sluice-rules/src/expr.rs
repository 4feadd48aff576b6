//! The expression tree a rule parses into.
//!
//! Attributes are parsed and validated once, at parse time, into typed fields; an expression
//! whose attributes are missing or malformed becomes [`Expr::Malformed`] and an element the
//! engine does not know becomes [`Expr::Unsupported`]. Both evaluate to unknown, so one bad
//! leaf never costs the rest of the rule (`And(False, <garbage>)` is still false).

use std::cmp::Ordering;

use crate::time::Timestamp;
use crate::version::Version;

/// `Comparison` attribute values. The first five are `bt:ScalarComparison`; the string tests
/// are accepted by `RegSz`/`RegExpandSz` (and `DeviceAttribute` strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparison {
    EqualTo,
    LessThan,
    LessThanOrEqualTo,
    GreaterThan,
    GreaterThanOrEqualTo,
    Contains,
    BeginsWith,
    EndsWith,
}

impl Comparison {
    /// Case-insensitive: the schema enumerations are PascalCase, but nothing is gained by
    /// refusing `equalto`.
    pub fn parse(s: &str) -> Option<Comparison> {
        let t = s.trim();
        [
            Comparison::EqualTo,
            Comparison::LessThan,
            Comparison::LessThanOrEqualTo,
            Comparison::GreaterThan,
            Comparison::GreaterThanOrEqualTo,
            Comparison::Contains,
            Comparison::BeginsWith,
            Comparison::EndsWith,
        ]
        .into_iter()
        .find(|c| c.as_str().eq_ignore_ascii_case(t))
    }

    /// The schema spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::EqualTo => "EqualTo",
            Comparison::LessThan => "LessThan",
            Comparison::LessThanOrEqualTo => "LessThanOrEqualTo",
            Comparison::GreaterThan => "GreaterThan",
            Comparison::GreaterThanOrEqualTo => "GreaterThanOrEqualTo",
            Comparison::Contains => "Contains",
            Comparison::BeginsWith => "BeginsWith",
            Comparison::EndsWith => "EndsWith",
        }
    }

    /// A scalar comparison (usable on numbers, versions, dates).
    pub fn is_scalar(self) -> bool {
        !matches!(self, Comparison::Contains | Comparison::BeginsWith | Comparison::EndsWith)
    }

    /// Whether `actual <op> expected` holds, given `actual.cmp(expected)`. `None` for the
    /// string-only operators, which the parser never lets through to scalar expressions.
    pub fn holds(self, ord: Ordering) -> Option<bool> {
        Some(match self {
            Comparison::EqualTo => ord == Ordering::Equal,
            Comparison::LessThan => ord == Ordering::Less,
            Comparison::LessThanOrEqualTo => ord != Ordering::Greater,
            Comparison::GreaterThan => ord == Ordering::Greater,
            Comparison::GreaterThanOrEqualTo => ord != Ordering::Less,
            _ => return None,
        })
    }
}

/// Root key of a registry test. `LoopTarget` (`HKEY_LOOP_TARGET`) is the subkey a
/// surrounding `RegKeyLoop` is visiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hive {
    LocalMachine,
    CurrentUser,
    ClassesRoot,
    Users,
    CurrentConfig,
    LoopTarget,
}

impl Hive {
    /// Accepts the full names and the usual abbreviations (`HKLM`), case-insensitively.
    pub fn parse(s: &str) -> Option<Hive> {
        Some(match s.trim().to_ascii_uppercase().as_str() {
            "HKEY_LOCAL_MACHINE" | "HKLM" => Hive::LocalMachine,
            "HKEY_CURRENT_USER" | "HKCU" => Hive::CurrentUser,
            "HKEY_CLASSES_ROOT" | "HKCR" => Hive::ClassesRoot,
            "HKEY_USERS" | "HKU" => Hive::Users,
            "HKEY_CURRENT_CONFIG" | "HKCC" => Hive::CurrentConfig,
            "HKEY_LOOP_TARGET" => Hive::LoopTarget,
            _ => return None,
        })
    }

    /// The full root-key name.
    pub fn as_str(self) -> &'static str {
        match self {
            Hive::LocalMachine => "HKEY_LOCAL_MACHINE",
            Hive::CurrentUser => "HKEY_CURRENT_USER",
            Hive::ClassesRoot => "HKEY_CLASSES_ROOT",
            Hive::Users => "HKEY_USERS",
            Hive::CurrentConfig => "HKEY_CURRENT_CONFIG",
            Hive::LoopTarget => "HKEY_LOOP_TARGET",
        }
    }
}

/// A registry key as rules name it: `Key`, `Subkey`, `RegType32`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegKey {
    pub hive: Hive,
    pub subkey: String,
    /// Read the 32-bit view (WOW64) on a 64-bit machine.
    pub reg_type32: bool,
}

/// Registry value types, as `RegValueExists/@Type` spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegType {
    Sz,
    ExpandSz,
    MultiSz,
    Dword,
    Qword,
    Binary,
    None,
}

impl RegType {
    /// Parses `REG_*` names, case-insensitively.
    pub fn parse(s: &str) -> Option<RegType> {
        Some(match s.trim().to_ascii_uppercase().as_str() {
            "REG_SZ" => RegType::Sz,
            "REG_EXPAND_SZ" => RegType::ExpandSz,
            "REG_MULTI_SZ" => RegType::MultiSz,
            "REG_DWORD" | "REG_DWORD_LITTLE_ENDIAN" => RegType::Dword,
            "REG_QWORD" | "REG_QWORD_LITTLE_ENDIAN" => RegType::Qword,
            "REG_BINARY" => RegType::Binary,
            "REG_NONE" => RegType::None,
            _ => return None,
        })
    }

    /// The `REG_*` name.
    pub fn as_str(self) -> &'static str {
        match self {
            RegType::Sz => "REG_SZ",
            RegType::ExpandSz => "REG_EXPAND_SZ",
            RegType::MultiSz => "REG_MULTI_SZ",
            RegType::Dword => "REG_DWORD",
            RegType::Qword => "REG_QWORD",
            RegType::Binary => "REG_BINARY",
            RegType::None => "REG_NONE",
        }
    }
}

/// Where a file test's path starts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FileBase {
    /// `Path` is absolute (no `Csidl`).
    Absolute,
    /// `Path` is relative to a CSIDL folder.
    Csidl(u32),
    /// `Path` is relative to the directory held in a `REG_SZ` value (the `…PrependRegSz`
    /// expressions). `value` `None` is the key's default value.
    Registry { key: RegKey, value: Option<String> },
}

/// The file a file test is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileRef {
    pub base: FileBase,
    pub path: String,
}

/// `RegKeyLoop/@TrueIf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrueIf {
    /// True if the body is true for at least one subkey.
    Any,
    /// True if the body is true for every subkey (vacuously true without subkeys).
    All,
    /// True if the body is true for no subkey.
    None,
}

impl TrueIf {
    /// Parses `Any`, `All` or `None`, case-insensitively.
    pub fn parse(s: &str) -> Option<TrueIf> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "any" => TrueIf::Any,
            "all" => TrueIf::All,
            "none" => TrueIf::None,
            _ => return None,
        })
    }
}

/// `WindowsVersion` / `PlatformVersion` attributes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VersionTest {
    /// Applies to the version fields; `EqualTo` when omitted.
    pub comparison: Comparison,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub build: Option<u32>,
    pub service_pack_major: Option<u32>,
    pub service_pack_minor: Option<u32>,
    /// 1 workstation, 2 domain controller, 3 server. Always tested for equality.
    pub product_type: Option<u32>,
    pub suite_mask: Option<u32>,
    /// With `SuiteMask`: every suite bit must be present (else: at least one).
    pub all_suites_must_be_present: bool,
}

/// `MsiPatchTarget` comparison of `TargetVersion` (from the patch's applicability XML).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MsiVersionComparison {
    LessThan,
    LessThanOrEqual,
    Equal,
    GreaterThanOrEqual,
    GreaterThan,
    /// `ComparisonType="None"`: no version constraint.
    None,
}

/// One `TargetProduct` of an MSP's applicability XML (`MsiPatchMetadata`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct MsiPatchTarget {
    /// `TargetProductCode` when `Validate="true"` (or no `Validate`).
    pub product_code: Option<String>,
    /// `TargetVersion` when validated: (comparison, number of parts compared, version).
    pub version: Option<(MsiVersionComparison, usize, Version)>,
    /// `TargetLanguage` when validated.
    pub language: Option<u32>,
    /// `UpgradeCode` when validated.
    pub upgrade_code: Option<String>,
}

/// `MsiPatchMetadata`: the patch applicability XML embedded in the update.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct MsiPatchInfo {
    pub patch_code: Option<String>,
    pub targets: Vec<MsiPatchTarget>,
}

/// Identity of a CBS package (`assemblyIdentity` in `CbsPackageApplicabilityMetadata`, or the
/// `~`-separated string servicing tools print).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CbsIdentity {
    pub name: String,
    pub public_key_token: String,
    pub architecture: String,
    /// Empty for `neutral`.
    pub language: String,
    pub version: String,
}

impl CbsIdentity {
    /// Parses `Name~PublicKeyToken~Architecture~Language~Version` (DISM's "Package Identity").
    pub fn parse(s: &str) -> Option<CbsIdentity> {
        let p: Vec<&str> = s.trim().split('~').collect();
        if p.len() != 5 || p[0].is_empty() {
            return None;
        }
        Some(CbsIdentity {
            name: p[0].to_string(),
            public_key_token: p[1].to_string(),
            architecture: p[2].to_string(),
            language: if p[3].eq_ignore_ascii_case("neutral") { String::new() } else { p[3].to_string() },
            version: p[4].to_string(),
        })
    }

    /// The canonical identity string, lower-cased for comparison (CBS identities are
    /// case-insensitive).
    pub fn key(&self) -> String {
        format!(
            "{}~{}~{}~{}~{}",
            self.name, self.public_key_token, self.architecture, self.language, self.version
        )
        .to_lowercase()
    }
}

impl std::fmt::Display for CbsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}~{}~{}~{}~{}",
            self.name, self.public_key_token, self.architecture, self.language, self.version
        )
    }
}

/// `WindowsDriverMetaData` attributes that evaluation uses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct DriverInfo {
    pub hardware_id: String,
    pub driver_ver_date: Option<String>,
    pub driver_ver_version: Option<String>,
    pub provider: Option<String>,
    pub manufacturer: Option<String>,
    pub class: Option<String>,
}

/// Update-level metadata (`ApplicabilityRules/Metadata`) that the handler-specific
/// expressions (`CbsPackageInstalled`, `MsiPatchInstallable`, `WindowsDriverInstalled`, …)
/// evaluate against: they carry no attributes of their own.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HandlerMetadata {
    pub cbs_package: Option<CbsIdentity>,
    pub msi_patch: Option<MsiPatchInfo>,
    /// Product code found in `MsiApplicationMetadata`, if any.
    pub msi_application_product: Option<String>,
    pub driver: Option<DriverInfo>,
}

/// Which rule namespace an expression belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Logical,
    Base,
    Msi,
    Cbs,
    Driver,
    /// `ProductReleaseInstalled`, `ProductReleaseVersion`, `DeviceAttribute`: bare in
    /// fragments, namespace in documents not pinned down (see `parse`).
    Update,
}

/// Metadata-driven MSI expressions (no attributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MsiMetadataTest {
    PatchInstalled,
    PatchSuperseded,
    PatchInstallable,
    ApplicationInstalled,
    ApplicationSuperseded,
    ApplicationInstallable,
}

/// Metadata-driven driver expressions (no attributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DriverTest {
    Installed,
    Installable,
    Superseded,
}

/// Every leaf (non-logical) expression the engine understands. Variants are named after the
/// elements and fields after their attributes (`Key`+`Subkey`+`RegType32` → `key`, `Value` →
/// `value`, `Data` → `data`, `Comparison` → `comparison`, `Path`+`Csidl` or the registry
/// prefix → `file`, …), already parsed to their types.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Leaf {
    WindowsVersion(VersionTest),
    PlatformVersion(VersionTest),
    Platform { platform_id: String },
    Processor { architecture: u32 },
    NumberOfProcessors { comparison: Comparison, number: u32 },
    WindowsLanguage { language: Option<String> },
    /// `MuiInstalled` or `MuiLanguageInstalled` (`element` keeps which).
    Mui { element: &'static str, language: Option<String> },
    SystemMetric { index: i32, comparison: Comparison, value: i32 },
    RegKeyExists { key: RegKey },
    RegValueExists { key: RegKey, value: Option<String>, reg_type: Option<RegType> },
    RegDword { key: RegKey, value: String, comparison: Comparison, data: u32 },
    RegQword { key: RegKey, value: String, comparison: Comparison, data: u64 },
    RegSz { key: RegKey, value: String, comparison: Comparison, data: String },
    RegExpandSz { key: RegKey, value: String, comparison: Comparison, data: String },
    RegSzToVersion { key: RegKey, value: String, comparison: Comparison, data: Version },
    WuV4RegKeySubstring { key: RegKey, value: String, data: String },
    WuV4RegKeyValue { key: RegKey, value: String, data: String },
    /// `FileExists` / `FileExistsPrependRegSz`; the optional attributes must all match.
    FileExists { file: FileRef, size: Option<u64>, language: Option<String>, version: Option<Version> },
    FileVersion { file: FileRef, comparison: Comparison, version: Version },
    FileSize { file: FileRef, comparison: Comparison, size: u64 },
    FileCreated { file: FileRef, comparison: Comparison, created: Timestamp },
    FileModified { file: FileRef, comparison: Comparison, modified: Timestamp },
    WmiQuery { namespace: String, query: String },
    LicenseDword { value: String, comparison: Comparison, data: u32 },
    ClusteredOs,
    ClusterResourceOwner { key: RegKey, value: Option<String>, prefix: String, suffix: String },
    Direct3D { hardware_version: u32, feature_level_major: u32, feature_level_minor: u32 },
    Memory { min_size_mb: u64, kind: String },
    VideoMemory { min_size_mb: u64 },
    SensorById { id: String },
    Nfc { capability: String },
    Camera { location: String },
    MsiProductInstalled {
        product_code: String,
        version_min: Option<Version>,
        version_max: Option<Version>,
        exclude_version_min: bool,
        exclude_version_max: bool,
        language: Option<u32>,
    },
    MsiPatchInstalledForProduct {
        patch_code: String,
        product_code: String,
        version_min: Option<Version>,
        version_max: Option<Version>,
        language: Option<u32>,
    },
    MsiFeatureInstalledForProduct {
        all_features_required: bool,
        all_products_required: bool,
        features: Vec<String>,
        products: Vec<String>,
    },
    MsiComponentInstalledForProduct {
        all_components_required: bool,
        all_products_required: bool,
        components: Vec<String>,
        products: Vec<String>,
    },
    MsiMetadata(MsiMetadataTest),
    CbsPackageInstalled,
    CbsPackageInstallable,
    CbsPackageInstalledByIdentity { identity: String },
    CbsPackageInstallableByIdentity { identity: String },
    Driver(DriverTest),
    ProductReleaseInstalled { name: String, version: String },
    ProductReleaseVersion { name: String, version: String, comparison: Comparison },
    DeviceAttribute { name: String, kind: String, comparison: Comparison, value: String },
    /// An expression known by name whose semantics nobody has documented (`InstalledOnce`,
    /// `GenericQuery`, `SoftwareLicense`, `WindowsDriver`, `InstalledVersionRange`): kept
    /// with its attributes, evaluates to unknown.
    Opaque { family: Family, name: String, attributes: Vec<(String, String)> },
}

impl Leaf {
    /// The element's local name (for messages and reasons).
    pub fn name(&self) -> &str {
        match self {
            Leaf::WindowsVersion(_) => "WindowsVersion",
            Leaf::PlatformVersion(_) => "PlatformVersion",
            Leaf::Platform { .. } => "Platform",
            Leaf::Processor { .. } => "Processor",
            Leaf::NumberOfProcessors { .. } => "NumberOfProcessors",
            Leaf::WindowsLanguage { .. } => "WindowsLanguage",
            Leaf::Mui { element, .. } => element,
            Leaf::SystemMetric { .. } => "SystemMetric",
            Leaf::RegKeyExists { .. } => "RegKeyExists",
            Leaf::RegValueExists { .. } => "RegValueExists",
            Leaf::RegDword { .. } => "RegDword",
            Leaf::RegQword { .. } => "RegQword",
            Leaf::RegSz { .. } => "RegSz",
            Leaf::RegExpandSz { .. } => "RegExpandSz",
            Leaf::RegSzToVersion { .. } => "RegSzToVersion",
            Leaf::WuV4RegKeySubstring { .. } => "WUv4RegKeySubstring",
            Leaf::WuV4RegKeyValue { .. } => "WUv4RegKeyValue",
            Leaf::FileExists { file, .. } => file_name("FileExists", file),
            Leaf::FileVersion { file, .. } => file_name("FileVersion", file),
            Leaf::FileSize { file, .. } => file_name("FileSize", file),
            Leaf::FileCreated { file, .. } => file_name("FileCreated", file),
            Leaf::FileModified { file, .. } => file_name("FileModified", file),
            Leaf::WmiQuery { .. } => "WmiQuery",
            Leaf::LicenseDword { .. } => "LicenseDword",
            Leaf::ClusteredOs => "ClusteredOS",
            Leaf::ClusterResourceOwner { .. } => "ClusterResourceOwner",
            Leaf::Direct3D { .. } => "Direct3D",
            Leaf::Memory { .. } => "Memory",
            Leaf::VideoMemory { .. } => "VideoMemory",
            Leaf::SensorById { .. } => "SensorById",
            Leaf::Nfc { .. } => "NFC",
            Leaf::Camera { .. } => "Camera",
            Leaf::MsiProductInstalled { .. } => "MsiProductInstalled",
            Leaf::MsiPatchInstalledForProduct { .. } => "MsiPatchInstalledForProduct",
            Leaf::MsiFeatureInstalledForProduct { .. } => "MsiFeatureInstalledForProduct",
            Leaf::MsiComponentInstalledForProduct { .. } => "MsiComponentInstalledForProduct",
            Leaf::MsiMetadata(t) => match t {
                MsiMetadataTest::PatchInstalled => "MsiPatchInstalled",
                MsiMetadataTest::PatchSuperseded => "MsiPatchSuperseded",
                MsiMetadataTest::PatchInstallable => "MsiPatchInstallable",
                MsiMetadataTest::ApplicationInstalled => "MsiApplicationInstalled",
                MsiMetadataTest::ApplicationSuperseded => "MsiApplicationSuperseded",
                MsiMetadataTest::ApplicationInstallable => "MsiApplicationInstallable",
            },
            Leaf::CbsPackageInstalled => "CbsPackageInstalled",
            Leaf::CbsPackageInstallable => "CbsPackageInstallable",
            Leaf::CbsPackageInstalledByIdentity { .. } => "CbsPackageInstalledByIdentity",
            Leaf::CbsPackageInstallableByIdentity { .. } => "CbsPackageInstallableByIdentity",
            Leaf::Driver(t) => match t {
                DriverTest::Installed => "WindowsDriverInstalled",
                DriverTest::Installable => "WindowsDriverInstallable",
                DriverTest::Superseded => "WindowsDriverSuperseded",
            },
            Leaf::ProductReleaseInstalled { .. } => "ProductReleaseInstalled",
            Leaf::ProductReleaseVersion { .. } => "ProductReleaseVersion",
            Leaf::DeviceAttribute { .. } => "DeviceAttribute",
            Leaf::Opaque { name, .. } => name,
        }
    }
}

fn file_name(base: &'static str, f: &FileRef) -> &'static str {
    match (&f.base, base) {
        (FileBase::Registry { .. }, "FileExists") => "FileExistsPrependRegSz",
        (FileBase::Registry { .. }, "FileVersion") => "FileVersionPrependRegSz",
        (FileBase::Registry { .. }, "FileSize") => "FileSizePrependRegSz",
        (FileBase::Registry { .. }, "FileCreated") => "FileCreatedPrependRegSz",
        (FileBase::Registry { .. }, "FileModified") => "FileModifiedPrependRegSz",
        _ => base,
    }
}

/// A parsed applicability expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expr {
    True,
    False,
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// Evaluates `body` once per direct subkey of `key`, with `HKEY_LOOP_TARGET` bound to it.
    RegKeyLoop { key: RegKey, true_if: TrueIf, body: Box<Expr> },
    Leaf(Leaf),
    /// A known expression whose attributes or children are missing or invalid.
    Malformed { name: String, reason: String },
    /// An element the engine does not know. `namespace` is the namespace URI (for fragments:
    /// the URI the pseudo-prefix stands for, empty when bare).
    Unsupported { namespace: String, name: String },
}

impl Expr {
    /// The element's local name.
    pub fn name(&self) -> &str {
        match self {
            Expr::True => "True",
            Expr::False => "False",
            Expr::And(_) => "And",
            Expr::Or(_) => "Or",
            Expr::Not(_) => "Not",
            Expr::RegKeyLoop { .. } => "RegKeyLoop",
            Expr::Leaf(l) => l.name(),
            Expr::Malformed { name, .. } => name,
            Expr::Unsupported { name, .. } => name,
        }
    }

    /// Calls `f` on this expression and every descendant, parents first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        // Iterative, so that a hand-built tree of any depth cannot overflow the stack.
        let mut stack: Vec<&'a Expr> = vec![self];
        while let Some(e) = stack.pop() {
            f(e);
            match e {
                Expr::And(v) | Expr::Or(v) => stack.extend(v.iter().rev()),
                Expr::Not(b) => stack.push(b),
                Expr::RegKeyLoop { body, .. } => stack.push(body),
                _ => {}
            }
        }
    }

    /// Every `Unsupported` and `Malformed` node, as (name, why).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        self.walk(&mut |e| match e {
            Expr::Unsupported { namespace, name } => {
                out.push((name.clone(), format!("unsupported element in namespace '{namespace}'")))
            }
            Expr::Malformed { name, reason } => out.push((name.clone(), reason.clone())),
            _ => {}
        });
        out
    }

    /// Number of nodes.
    pub fn size(&self) -> usize {
        let mut n = 0;
        self.walk(&mut |_| n += 1);
        n
    }
}
