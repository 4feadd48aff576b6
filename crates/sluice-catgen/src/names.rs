//! The vocabulary of the synthetic catalog: companies, product families, products, Windows
//! versions, classifications, languages and the few translated phrases.
//!
//! Products of Microsoft carry realistic names so that listings look like a real WSUS; their
//! ids are generated, never Microsoft's, so a synthetic catalog cannot be mistaken for (or
//! collide with) a synced one. Third-party products use Microsoft's own fictitious companies.
//! Classifications are the exception: they keep Microsoft's real ids, because approval rules,
//! filters and the catalog's classification index key on them.

/// Processor architectures, with the `Processor/@Architecture` codes of the rule schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arch {
    X86,
    X64,
    Arm64,
}

impl Arch {
    pub const ALL: [Arch; 3] = [Arch::X86, Arch::X64, Arch::Arm64];
    pub fn code(self) -> u16 {
        match self {
            Arch::X86 => 0,
            Arch::X64 => 9,
            Arch::Arm64 => 12,
        }
    }
    pub fn short(self) -> &'static str {
        match self {
            Arch::X86 => "x86",
            Arch::X64 => "x64",
            Arch::Arm64 => "arm64",
        }
    }
    pub fn systems(self) -> &'static str {
        match self {
            Arch::X86 => "x86-based Systems",
            Arch::X64 => "x64-based Systems",
            Arch::Arm64 => "ARM64-based Systems",
        }
    }
    pub fn index(self) -> usize {
        match self {
            Arch::X86 => 0,
            Arch::X64 => 1,
            Arch::Arm64 => 2,
        }
    }
}

/// A Windows version that updates target through `WindowsVersion` rules.
pub(crate) struct OsTarget {
    pub name: &'static str,
    /// Short name used in file names, e.g. `windows11.0`.
    pub file_stem: &'static str,
    pub build: u32,
    pub server: bool,
    /// Update build revision (UBR) of the first cumulative update generated.
    pub base_ubr: u32,
    pub archs: &'static [Arch],
    /// Year of general availability: the earliest release date of its series.
    pub since: i32,
}

#[rustfmt::skip]
pub(crate) const OS_TARGETS: [OsTarget; 10] = [
    OsTarget { name: "Windows 10 Version 21H2", file_stem: "windows10.0", build: 19044, server: false, base_ubr: 1288, archs: &[Arch::X86, Arch::X64, Arch::Arm64], since: 2021 },
    OsTarget { name: "Windows 10 Version 22H2", file_stem: "windows10.0", build: 19045, server: false, base_ubr: 2251, archs: &[Arch::X86, Arch::X64, Arch::Arm64], since: 2022 },
    OsTarget { name: "Windows 11 Version 22H2", file_stem: "windows11.0", build: 22621, server: false, base_ubr: 608, archs: &[Arch::X64, Arch::Arm64], since: 2022 },
    OsTarget { name: "Windows 11 Version 23H2", file_stem: "windows11.0", build: 22631, server: false, base_ubr: 2428, archs: &[Arch::X64, Arch::Arm64], since: 2023 },
    OsTarget { name: "Windows 11 Version 24H2", file_stem: "windows11.0", build: 26100, server: false, base_ubr: 1742, archs: &[Arch::X64, Arch::Arm64], since: 2024 },
    OsTarget { name: "Windows 11 Version 25H2", file_stem: "windows11.0", build: 26200, server: false, base_ubr: 6584, archs: &[Arch::X64, Arch::Arm64], since: 2025 },
    OsTarget { name: "Windows Server 2016", file_stem: "windows10.0", build: 14393, server: true, base_ubr: 4169, archs: &[Arch::X64], since: 2019 },
    OsTarget { name: "Windows Server 2019", file_stem: "windows10.0", build: 17763, server: true, base_ubr: 2114, archs: &[Arch::X64], since: 2020 },
    OsTarget { name: "Microsoft server operating system version 21H2", file_stem: "windows10.0", build: 20348, server: true, base_ubr: 169, archs: &[Arch::X64], since: 2021 },
    OsTarget { name: "Microsoft server operating system version 24H2", file_stem: "windows10.0", build: 26100, server: true, base_ubr: 1742, archs: &[Arch::X64, Arch::Arm64], since: 2024 },
];

pub(crate) const COMPANIES: [&str; 3] = ["Microsoft Corporation", "Contoso Ltd.", "Fabrikam, Inc."];

/// Product families and the company each belongs to (index into [`COMPANIES`]).
pub(crate) const FAMILIES: [(&str, usize); 7] = [
    ("Windows", 0),
    ("Office", 0),
    ("Developer Tools, Runtimes, and Redistributables", 0),
    ("SQL Server", 0),
    ("Exchange", 0),
    ("Contoso Applications", 1),
    ("Fabrikam Software", 2),
];

/// What kind of software a product is: decides which update series it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProductType {
    OsClient,
    OsServer,
    Defender,
    Office,
    Runtime,
    ServerApp,
    ThirdParty,
}

pub(crate) struct ProductDef {
    pub name: &'static str,
    pub family: usize,
    pub ptype: ProductType,
    /// Indexes into [`OS_TARGETS`] for operating systems.
    pub targets: &'static [usize],
    /// Share of the software budget, relative to other products.
    pub weight: f64,
    /// Registry key (under HKLM) whose presence means the product is installed.
    pub key: &'static str,
    /// Main executable, relative to Program Files (CSIDL 38), for FileVersion rules.
    pub exe: &'static str,
    /// Version prefix of the main executable (major.minor).
    pub version: &'static str,
    /// File name stem of its packages.
    pub stem: &'static str,
    pub since: i32,
}

/// In order of precedence: a small catalog takes the first few, so even a tiny one mixes an
/// operating system, definitions, Office and a third-party application.
#[rustfmt::skip]
pub(crate) const PRODUCTS: [ProductDef; 20] = [
    ProductDef { name: "Windows 11", family: 0, ptype: ProductType::OsClient, targets: &[2, 3, 4, 5], weight: 5.0, key: r"SOFTWARE\Microsoft\Windows NT\CurrentVersion", exe: "", version: "10.0", stem: "windows11.0", since: 2021 },
    ProductDef { name: "Microsoft Defender Antivirus", family: 0, ptype: ProductType::Defender, targets: &[], weight: 3.0, key: r"SOFTWARE\Microsoft\Windows Defender", exe: r"Windows Defender\MsMpEng.exe", version: "4.18", stem: "am", since: 2019 },
    ProductDef { name: "Office 2016", family: 1, ptype: ProductType::Office, targets: &[], weight: 2.0, key: r"SOFTWARE\Microsoft\Office\16.0\Common\InstallRoot", exe: r"Microsoft Office\Office16", version: "16.0", stem: "2016", since: 2016 },
    ProductDef { name: "Windows 10, version 1903 and later", family: 0, ptype: ProductType::OsClient, targets: &[0, 1], weight: 4.0, key: r"SOFTWARE\Microsoft\Windows NT\CurrentVersion", exe: "", version: "10.0", stem: "windows10.0", since: 2019 },
    ProductDef { name: "Contoso Agent", family: 5, ptype: ProductType::ThirdParty, targets: &[], weight: 0.6, key: r"SOFTWARE\Contoso\Agent", exe: r"Contoso\Agent\agent.exe", version: "5", stem: "contoso-agent", since: 2020 },
    ProductDef { name: "Microsoft Server operating system-24H2", family: 0, ptype: ProductType::OsServer, targets: &[9], weight: 2.5, key: r"SOFTWARE\Microsoft\Windows NT\CurrentVersion", exe: "", version: "10.0", stem: "windows10.0", since: 2024 },
    ProductDef { name: ".NET 8.0", family: 2, ptype: ProductType::Runtime, targets: &[], weight: 1.0, key: r"SOFTWARE\dotnet\Setup\InstalledVersions", exe: r"dotnet\dotnet.exe", version: "8.0", stem: "dotnet-runtime-8.0", since: 2023 },
    ProductDef { name: "Microsoft SQL Server 2022", family: 3, ptype: ProductType::ServerApp, targets: &[], weight: 1.0, key: r"SOFTWARE\Microsoft\Microsoft SQL Server\MSSQL16.MSSQLSERVER\Setup", exe: r"Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Binn\sqlservr.exe", version: "2022.160", stem: "SQLServer2022", since: 2022 },
    ProductDef { name: "Windows Server 2019", family: 0, ptype: ProductType::OsServer, targets: &[7], weight: 2.0, key: r"SOFTWARE\Microsoft\Windows NT\CurrentVersion", exe: "", version: "10.0", stem: "windows10.0", since: 2019 },
    ProductDef { name: "Microsoft 365 Apps/Office 2019/Office LTSC", family: 1, ptype: ProductType::Office, targets: &[], weight: 1.5, key: r"SOFTWARE\Microsoft\Office\ClickToRun\Configuration", exe: r"Microsoft Office\root\Office16", version: "16.0", stem: "o365", since: 2019 },
    ProductDef { name: "Fabrikam Reader", family: 6, ptype: ProductType::ThirdParty, targets: &[], weight: 0.6, key: r"SOFTWARE\Fabrikam\Reader", exe: r"Fabrikam\Reader\reader.exe", version: "24", stem: "fabrikam-reader", since: 2021 },
    ProductDef { name: "Exchange Server 2019", family: 4, ptype: ProductType::ServerApp, targets: &[], weight: 0.8, key: r"SOFTWARE\Microsoft\ExchangeServer\v15\Setup", exe: r"Microsoft\Exchange Server\V15\Bin\ExSetup.exe", version: "15.2", stem: "Exchange2019", since: 2019 },
    ProductDef { name: "Visual Studio 2022", family: 2, ptype: ProductType::Runtime, targets: &[], weight: 0.8, key: r"SOFTWARE\Microsoft\VisualStudio\17.0\Setup", exe: r"Microsoft Visual Studio\2022\Enterprise\Common7\IDE\devenv.exe", version: "17", stem: "vs2022", since: 2022 },
    ProductDef { name: "Microsoft Server operating system-21H2", family: 0, ptype: ProductType::OsServer, targets: &[8], weight: 2.0, key: r"SOFTWARE\Microsoft\Windows NT\CurrentVersion", exe: "", version: "10.0", stem: "windows10.0", since: 2021 },
    ProductDef { name: "Microsoft SQL Server 2019", family: 3, ptype: ProductType::ServerApp, targets: &[], weight: 0.8, key: r"SOFTWARE\Microsoft\Microsoft SQL Server\MSSQL15.MSSQLSERVER\Setup", exe: r"Microsoft SQL Server\MSSQL15.MSSQLSERVER\MSSQL\Binn\sqlservr.exe", version: "2019.150", stem: "SQLServer2019", since: 2019 },
    ProductDef { name: "Office 2013", family: 1, ptype: ProductType::Office, targets: &[], weight: 1.0, key: r"SOFTWARE\Microsoft\Office\15.0\Common\InstallRoot", exe: r"Microsoft Office\Office15", version: "15.0", stem: "2013", since: 2014 },
    ProductDef { name: ".NET 9.0", family: 2, ptype: ProductType::Runtime, targets: &[], weight: 0.8, key: r"SOFTWARE\dotnet\Setup\InstalledVersions", exe: r"dotnet\dotnet.exe", version: "9.0", stem: "dotnet-runtime-9.0", since: 2024 },
    ProductDef { name: "Contoso Browser", family: 5, ptype: ProductType::ThirdParty, targets: &[], weight: 0.6, key: r"SOFTWARE\Contoso\Browser", exe: r"Contoso\Browser\browser.exe", version: "128", stem: "contoso-browser", since: 2022 },
    ProductDef { name: "Windows Server 2016", family: 0, ptype: ProductType::OsServer, targets: &[6], weight: 1.5, key: r"SOFTWARE\Microsoft\Windows NT\CurrentVersion", exe: "", version: "10.0", stem: "windows10.0", since: 2019 },
    ProductDef { name: "Fabrikam Designer", family: 6, ptype: ProductType::ThirdParty, targets: &[], weight: 0.5, key: r"SOFTWARE\Fabrikam\Designer", exe: r"Fabrikam\Designer\designer.exe", version: "7", stem: "fabrikam-designer", since: 2020 },
];

/// Suffixes that turn a base product into the further products real catalogs have
/// ("Windows 11 Dynamic Update", "Office 2016 Language Packs", …) once the base list is used.
pub(crate) const VARIANTS: [&str; 6] =
    ["Dynamic Update", "Language Packs", "GDR-DU", "Feature On Demand", "Insider Pre-Release", "Servicing Drivers"];

/// Office applications updated separately.
pub(crate) const OFFICE_COMPONENTS: [(&str, &str); 6] = [
    ("Word", "WINWORD.EXE"),
    ("Excel", "EXCEL.EXE"),
    ("Outlook", "OUTLOOK.EXE"),
    ("PowerPoint", "POWERPNT.EXE"),
    ("Office", "MSO.DLL"),
    ("Access", "MSACCESS.EXE"),
];

/// Indexes into `sluice_metadata::publish::WELL_KNOWN_CLASSIFICATIONS`.
pub(crate) mod class {
    pub const CRITICAL: u8 = 0;
    pub const SECURITY: u8 = 1;
    pub const DEFINITION: u8 = 2;
    pub const ROLLUPS: u8 = 3;
    pub const SERVICE_PACKS: u8 = 4;
    pub const UPDATES: u8 = 5;
    pub const FEATURE_PACKS: u8 = 6;
    pub const TOOLS: u8 = 7;
    pub const UPGRADES: u8 = 9;
    pub const APPLICATIONS: u8 = 10;
}

/// Languages of Microsoft Update's localized properties (the real Defender bundle carries
/// about this many).
#[rustfmt::skip]
pub(crate) const LANGUAGES: [&str; 36] = [
    "en", "ar", "bg", "cs", "da", "de", "el", "es", "et", "fi", "fr", "he", "hr", "hu", "it", "ja", "ko", "lt", "lv",
    "nb", "nl", "pl", "pt", "pt-br", "ro", "ru", "sk", "sl", "sr", "sv", "th", "tr", "uk", "zh-cn", "zh-tw", "zh-hk",
];

/// The 24 languages real category documents carry.
#[rustfmt::skip]
pub(crate) const CATEGORY_LANGUAGES: [&str; 24] = [
    "ar", "cs", "da", "de", "el", "en", "es", "fi", "fr", "he", "hu", "it", "ja", "ko", "nl", "no", "pl", "pt", "pt-br",
    "ru", "sv", "tr", "zh-cn", "zh-tw",
];

/// What a title says the update is; picks the translated phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phrase {
    Security,
    Update,
    Cumulative,
    Definition,
}

/// Translated title phrases and a generic description (`{}` is the product), for the
/// languages that get real translations; others repeat the English text, as some real
/// documents do.
#[rustfmt::skip]
pub(crate) const PHRASEBOOK: [(&str, [&str; 4], &str); 15] = [
    ("de", ["Sicherheitsupdate", "Update", "Kumulatives Update", "Security Intelligence-Update"], "Installieren Sie dieses Update, um Probleme in {} zu beheben. Nach der Installation müssen Sie den Computer möglicherweise neu starten."),
    ("fr", ["Mise à jour de sécurité", "Mise à jour", "Mise à jour cumulative", "Mise à jour de la veille de sécurité"], "Installez cette mise à jour pour résoudre des problèmes dans {}. Un redémarrage peut être nécessaire après l’installation."),
    ("es", ["Actualización de seguridad", "Actualización", "Actualización acumulativa", "Actualización de inteligencia de seguridad"], "Instale esta actualización para resolver problemas en {}. Es posible que deba reiniciar el equipo después de instalarla."),
    ("it", ["Aggiornamento della sicurezza", "Aggiornamento", "Aggiornamento cumulativo", "Aggiornamento dell'intelligence di sicurezza"], "Installare questo aggiornamento per risolvere i problemi di {}. Al termine potrebbe essere necessario riavviare il computer."),
    ("ja", ["セキュリティ更新プログラム", "更新プログラム", "累積更新プログラム", "セキュリティ インテリジェンス更新プログラム"], "この更新プログラムをインストールすると、{} の問題が解決されます。インストール後にコンピューターの再起動が必要になる場合があります。"),
    ("ko", ["보안 업데이트", "업데이트", "누적 업데이트", "보안 인텔리전스 업데이트"], "{}의 문제를 해결하려면 이 업데이트를 설치하십시오. 설치 후 컴퓨터를 다시 시작해야 할 수 있습니다."),
    ("nl", ["Beveiligingsupdate", "Update", "Cumulatieve update", "Update voor beveiligingsinformatie"], "Installeer deze update om problemen in {} op te lossen. Na de installatie moet u de computer mogelijk opnieuw opstarten."),
    ("pl", ["Aktualizacja zabezpieczeń", "Aktualizacja", "Aktualizacja zbiorcza", "Aktualizacja analizy zabezpieczeń"], "Zainstaluj tę aktualizację, aby rozwiązać problemy w {}. Po instalacji może być konieczne ponowne uruchomienie komputera."),
    ("pt-br", ["Atualização de segurança", "Atualização", "Atualização cumulativa", "Atualização de inteligência de segurança"], "Instale esta atualização para resolver problemas no {}. Talvez seja necessário reiniciar o computador após a instalação."),
    ("ru", ["Обновление системы безопасности", "Обновление", "Накопительное обновление", "Обновление аналитики безопасности"], "Установите это обновление, чтобы устранить проблемы в {}. После установки может потребоваться перезагрузка компьютера."),
    ("sv", ["Säkerhetsuppdatering", "Uppdatering", "Kumulativ uppdatering", "Uppdatering av säkerhetsinformation"], "Installera den här uppdateringen för att åtgärda problem i {}. Du kan behöva starta om datorn efter installationen."),
    ("zh-cn", ["安全更新", "更新", "累积更新", "安全智能更新"], "安装此更新以解决 {} 中的问题。安装后可能需要重新启动计算机。"),
    ("zh-tw", ["安全性更新", "更新", "累積更新", "安全性情報更新"], "安裝此更新以解決 {} 中的問題。安裝後可能需要重新啟動電腦。"),
    ("tr", ["Güvenlik Güncelleştirmesi", "Güncelleştirme", "Toplu Güncelleştirme", "Güvenlik Bilgileri Güncelleştirmesi"], "{} içindeki sorunları gidermek için bu güncelleştirmeyi yükleyin. Yüklemeden sonra bilgisayarı yeniden başlatmanız gerekebilir."),
    ("cs", ["Aktualizace zabezpečení", "Aktualizace", "Kumulativní aktualizace", "Aktualizace bezpečnostních informací"], "Nainstalujte tuto aktualizaci, abyste vyřešili problémy v produktu {}. Po instalaci může být nutné restartovat počítač."),
];

pub(crate) fn phrasebook(lang: &str) -> Option<([&'static str; 4], &'static str)> {
    PHRASEBOOK.iter().find(|(l, _, _)| *l == lang).map(|(_, p, d)| (*p, *d))
}
