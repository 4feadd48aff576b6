//! The machine model: plain data describing one Windows computer, the input of evaluation.
//!
//! Loadable from TOML or JSON (serde). The convention that keeps evaluation honest:
//! **a section that is absent is unknown; a section that is present is complete.** Leave out
//! `registry` and every registry test is unknown; give it, and a key it does not list does not
//! exist. Open-ended facts that can never be listed completely (WMI query answers) are unknown
//! unless answered. Unknown attributes of a listed item (a file without `version`) are unknown
//! too.
//!
//! ```toml
//! architecture = "x64"
//!
//! [os]
//! major = 10
//! minor = 0
//! build = 26100
//! product_type = 1
//! language = "en-US"
//!
//! [[files]]
//! path = 'C:\Windows\System32\ntoskrnl.exe'
//! version = "10.0.26100.1742"
//!
//! [registry.'HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows Defender']
//! InstallLocation = { type = "REG_SZ", data = 'C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.25070.5-0\' }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Processor architecture of the machine (its native one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    X86,
    #[serde(alias = "amd64", alias = "x86_64")]
    X64,
    #[serde(alias = "aarch64")]
    Arm64,
    Arm,
    Ia64,
}

impl Architecture {
    /// `PROCESSOR_ARCHITECTURE_*` code, as `Processor/@Architecture` uses it.
    pub fn processor_code(self) -> u32 {
        match self {
            Architecture::X86 => 0,
            Architecture::Arm => 5,
            Architecture::Ia64 => 6,
            Architecture::X64 => 9,
            Architecture::Arm64 => 12,
        }
    }

    /// Whether the OS has a separate 32-bit (WOW64) registry view and program folders.
    pub fn is_64_bit(self) -> bool {
        matches!(self, Architecture::X64 | Architecture::Arm64 | Architecture::Ia64)
    }
}

fn default_product_type() -> u32 {
    1
}

fn default_platform_id() -> u32 {
    2
}

/// Operating system facts (`GetVersionEx`/`RtlGetVersion` and friends).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OsInfo {
    pub major: u32,
    pub minor: u32,
    pub build: u32,
    /// UBR, the fourth part of the OS version.
    #[serde(default)]
    pub revision: u32,
    #[serde(default)]
    pub service_pack_major: u32,
    #[serde(default)]
    pub service_pack_minor: u32,
    /// 1 workstation, 2 domain controller, 3 server.
    #[serde(default = "default_product_type")]
    pub product_type: u32,
    /// `wSuiteMask` bits (`VER_SUITE_*`).
    #[serde(default)]
    pub suite_mask: u32,
    /// `VER_PLATFORM_*`; 2 (`WIN32_NT`) for every supported Windows.
    #[serde(default = "default_platform_id")]
    pub platform_id: u32,
    /// Product (SKU) number from `GetProductInfo`, e.g. 48 Professional, 4 Enterprise.
    #[serde(default)]
    pub sku: Option<u32>,
    /// Edition name (`EditionID`), informational.
    #[serde(default)]
    pub edition: Option<String>,
    /// OS UI language as a locale name (`en-US`) or Windows Update language code (`en`).
    #[serde(default)]
    pub language: Option<String>,
    /// Installed UI languages (MUI packs), locale names or WU codes.
    #[serde(default)]
    pub mui_languages: Option<Vec<String>>,
    /// `%SystemRoot%`; `C:\Windows` when absent.
    #[serde(default)]
    pub windows_directory: Option<String>,
}

impl OsInfo {
    /// The version as `major.minor.build.revision`.
    pub fn version_string(&self) -> String {
        format!("{}.{}.{}.{}", self.major, self.minor, self.build, self.revision)
    }

    fn windows_dir(&self) -> String {
        self.windows_directory.clone().unwrap_or_else(|| "C:\\Windows".to_string())
    }
}

/// A CSIDL folder the default mapping lacks or gets wrong for this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsidlFolder {
    pub csidl: u32,
    pub path: String,
}

/// One file. Paths are absolute and case-insensitive (`C:\Windows\System32\x.dll`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub path: String,
    /// File version resource (`a.b.c.d`); `""` states that the file has none. Absent: not
    /// known, and version tests on the file are unknown.
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    /// `xs:dateTime`, UTC.
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub modified: Option<String>,
    /// Language of the version resource, as a LANGID number (`1033`).
    #[serde(default)]
    pub language: Option<String>,
}

/// A registry value, written in TOML as `{ type = "REG_DWORD", data = 1 }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum RegValue {
    #[serde(rename = "REG_SZ")]
    Sz(String),
    #[serde(rename = "REG_EXPAND_SZ")]
    ExpandSz(String),
    #[serde(rename = "REG_MULTI_SZ")]
    MultiSz(Vec<String>),
    #[serde(rename = "REG_DWORD")]
    Dword(u32),
    #[serde(rename = "REG_QWORD")]
    Qword(u64),
    #[serde(rename = "REG_BINARY")]
    Binary(Vec<u8>),
    #[serde(rename = "REG_NONE")]
    None,
}

impl RegValue {
    /// The value's registry type.
    pub fn reg_type(&self) -> crate::expr::RegType {
        use crate::expr::RegType;
        match self {
            RegValue::Sz(_) => RegType::Sz,
            RegValue::ExpandSz(_) => RegType::ExpandSz,
            RegValue::MultiSz(_) => RegType::MultiSz,
            RegValue::Dword(_) => RegType::Dword,
            RegValue::Qword(_) => RegType::Qword,
            RegValue::Binary(_) => RegType::Binary,
            RegValue::None => RegType::None,
        }
    }
}

/// Registry contents: full key path (`HKEY_LOCAL_MACHINE\SOFTWARE\…`, `HKLM\…` accepted) →
/// value name (`""` for the default value) → value. Keys are case-insensitive; a key is
/// present when listed or when a listed key lies below it.
pub type Registry = BTreeMap<String, BTreeMap<String, RegValue>>;

/// State of an MSI patch on a product (`MSIPATCHSTATE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum MsiPatchState {
    #[default]
    Applied,
    Superseded,
    Obsoleted,
    Registered,
}

/// An installed MSI product.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MsiProduct {
    /// `{GUID}`, case and braces ignored.
    pub product_code: String,
    #[serde(default)]
    pub version: Option<String>,
    /// LANGID.
    #[serde(default)]
    pub language: Option<u32>,
    #[serde(default)]
    pub upgrade_code: Option<String>,
    /// Installed features (names, case-sensitive as MSI is).
    #[serde(default)]
    pub features: Vec<String>,
    /// Installed component codes.
    #[serde(default)]
    pub components: Vec<String>,
}

/// An MSI patch registered on the machine, and on which product.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MsiPatch {
    pub patch_code: String,
    pub product_code: String,
    #[serde(default)]
    pub state: MsiPatchState,
}

/// Windows Installer state.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MsiState {
    #[serde(default)]
    pub products: Vec<MsiProduct>,
    #[serde(default)]
    pub patches: Vec<MsiPatch>,
    /// Patches known to be superseded although not registered on the machine (what
    /// `MsiDetermineApplicablePatches` would drop), for `MsiPatchSuperseded`.
    #[serde(default)]
    pub superseded_patches: Vec<String>,
}

/// CBS package states, as DISM reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CbsState {
    Absent,
    UninstallPending,
    Resolving,
    Resolved,
    Staging,
    Staged,
    Superseded,
    InstallPending,
    PartiallyInstalled,
    Installed,
    Permanent,
}

impl CbsState {
    /// Whether the package counts as installed. `Superseded` does (a later package carries
    /// its content) and so does `InstallPending` (installed, waiting for a restart), which is
    /// how Windows Update reports such packages.
    pub fn is_installed(self) -> bool {
        matches!(self, CbsState::Installed | CbsState::Permanent | CbsState::Superseded | CbsState::InstallPending)
    }
}

/// A CBS package known to the machine (installed, staged, superseded, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CbsPackage {
    /// `Name~PublicKeyToken~Arch~Language~Version` (DISM "Package Identity").
    pub identity: String,
    pub state: CbsState,
    /// Whether CBS considers the package applicable (DISM `/Get-PackageInfo` "Applicable").
    /// `CbsPackageInstallable` is unknown without it.
    #[serde(default)]
    pub applicable: Option<bool>,
}

/// The answer to one WQL query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WmiAnswer {
    /// `root\cimv2` when absent.
    #[serde(default)]
    pub namespace: Option<String>,
    pub query: String,
    /// Whether the query returns at least one row.
    pub result: bool,
}

/// One `GetSystemMetrics` index and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemMetricValue {
    pub index: i32,
    pub value: i32,
}

/// An installed product release (name and four-part version), as OS installer updates test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductRelease {
    pub name: String,
    pub version: String,
}

/// A device and its current driver, for the driver expressions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    #[serde(default)]
    pub hardware_ids: Vec<String>,
    #[serde(default)]
    pub compatible_ids: Vec<String>,
    #[serde(default)]
    pub driver_version: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub driver_date: Option<String>,
}

/// Direct3D capability of the display adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Direct3DInfo {
    pub hardware_version: u32,
    pub feature_level_major: u32,
    pub feature_level_minor: u32,
}

/// Everything the engine may ask about one machine. See the module docs for what absence
/// means.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Machine {
    pub os: Option<OsInfo>,
    pub architecture: Option<Architecture>,
    pub processor_count: Option<u32>,
    pub memory_mb: Option<u64>,
    pub video_memory_mb: Option<u64>,
    pub direct3d: Option<Direct3DInfo>,
    /// Environment of the evaluating service, for `REG_EXPAND_SZ` data.
    pub environment: BTreeMap<String, String>,
    /// CSIDL folders overriding the default mapping ([`Machine::csidl_folder`]).
    pub csidl: Vec<CsidlFolder>,
    pub files: Option<Vec<FileEntry>>,
    /// The native registry view.
    pub registry: Option<Registry>,
    /// The 32-bit (WOW64) view, for `RegType32="true"` on 64-bit machines. Absent: derived
    /// from `registry` by the usual `SOFTWARE\WOW6432Node` redirection.
    pub registry_wow64: Option<Registry>,
    pub msi: Option<MsiState>,
    pub cbs_packages: Option<Vec<CbsPackage>>,
    pub wmi: Vec<WmiAnswer>,
    /// `GetSystemMetrics` values; an index not listed reads 0, as the API returns.
    pub system_metrics: Option<Vec<SystemMetricValue>>,
    /// Software-licensing policy DWORDs (`SLGetWindowsInformationDWORD`) by name.
    pub license_dwords: Option<BTreeMap<String, u32>>,
    /// Device attributes (`DeviceAttribute`), by name. `OSVersion`, `OSSkuId` and
    /// `ProductType` default to values derived from `os`.
    pub device_attributes: Option<BTreeMap<String, String>>,
    /// Installed product releases (OS installer updates), e.g. `Client.OS.RS2.AMD64`.
    pub product_releases: Option<Vec<ProductRelease>>,
    pub devices: Option<Vec<Device>>,
    pub sensors: Option<Vec<String>>,
    pub nfc_capabilities: Option<Vec<String>>,
    /// Camera locations (`Front`, `Back`, …).
    pub cameras: Option<Vec<String>>,
    pub clustered: Option<bool>,
    pub cluster_owned_resources: Option<Vec<String>>,
    /// Update ids the machine reports installed regardless of rules (history), which also
    /// satisfy prerequisites.
    pub installed_updates: Vec<Uuid>,
}

impl Machine {
    /// The folder a CSIDL stands for on this machine, as the Windows Update service (SYSTEM,
    /// native bitness) resolves it: overrides first, then the standard layout under
    /// `os.windows_directory` and its drive. `None` when unknown (an unmapped CSIDL, or one
    /// that depends on the architecture when that is not given).
    pub fn csidl_folder(&self, csidl: u32) -> Option<String> {
        // CSIDL_FLAG_* bits (create, don't verify, …) live above the low byte.
        let id = csidl & 0xff;
        if let Some(f) = self.csidl.iter().find(|f| f.csidl & 0xff == id) {
            return Some(f.path.clone());
        }
        let win = self.os.as_ref().map(OsInfo::windows_dir).unwrap_or_else(|| "C:\\Windows".to_string());
        let drive: String = match win.get(..2) {
            Some(d) if d.ends_with(':') => d.to_string(),
            _ => "C:".to_string(),
        };
        let wide = || self.architecture.map(Architecture::is_64_bit);
        let data = format!("{drive}\\ProgramData");
        let start = format!("{data}\\Microsoft\\Windows\\Start Menu");
        let public = format!("{drive}\\Users\\Public");
        let sysprofile = format!("{win}\\System32\\config\\systemprofile");
        Some(match id {
            0x14 => format!("{win}\\Fonts"),
            0x16 => start,
            0x17 => format!("{start}\\Programs"),
            0x18 => format!("{start}\\Programs\\Startup"),
            0x19 => format!("{public}\\Desktop"),
            // Per-user folders resolve in the SYSTEM profile: the agent runs as LocalSystem.
            0x1a => format!("{sysprofile}\\AppData\\Roaming"),
            0x1c => format!("{sysprofile}\\AppData\\Local"),
            0x28 => sysprofile,
            0x23 => data,
            0x24 => win,
            0x25 => format!("{win}\\System32"),
            0x26 => format!("{drive}\\Program Files"),
            0x29 => {
                if wide()? {
                    format!("{win}\\SysWOW64")
                } else {
                    format!("{win}\\System32")
                }
            }
            0x2a => {
                if wide()? {
                    format!("{drive}\\Program Files (x86)")
                } else {
                    format!("{drive}\\Program Files")
                }
            }
            0x2b => format!("{drive}\\Program Files\\Common Files"),
            0x2c => {
                if wide()? {
                    format!("{drive}\\Program Files (x86)\\Common Files")
                } else {
                    format!("{drive}\\Program Files\\Common Files")
                }
            }
            0x2d => format!("{data}\\Microsoft\\Windows\\Templates"),
            0x2e => format!("{public}\\Documents"),
            0x2f => format!("{start}\\Programs\\Administrative Tools"),
            0x35 => format!("{public}\\Music"),
            0x36 => format!("{public}\\Pictures"),
            0x37 => format!("{public}\\Videos"),
            0x38 => format!("{win}\\Resources"),
            _ => return None,
        })
    }
}
