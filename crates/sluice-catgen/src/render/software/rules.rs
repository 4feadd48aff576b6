//! The applicability rules of software updates (IsInstalled, IsInstallable): registry, file
//! version, Windows version and Defender definitions checks shaped like Microsoft's.

use super::*;

/// How long an applicability rule for Defender children gets: the real ones list every
/// definitions version a delta applies to, which makes some of them 10–15 KB.
const DELTA_BASES: Quantiles = Quantiles(&[(0.0, 1.0), (0.5, 3.0), (0.9, 14.0), (0.99, 40.0), (1.0, 60.0)]);
const RING_CLAUSES: Quantiles = Quantiles(&[(0.0, 1.0), (0.6, 2.0), (0.95, 7.0), (1.0, 12.0)]);

pub(super) fn is_installed(w: &mut W<'_>, c: &Ctx<'_>, rng: &mut Rng) {
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

pub(super) fn is_installable(w: &mut W<'_>, c: &Ctx<'_>, rng: &mut Rng) {
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
