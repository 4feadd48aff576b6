//! The files of a software update and the installer handler data that names them.

use super::*;

pub(super) fn file_names(c: &Ctx<'_>) -> Vec<String> {
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

pub(super) fn handler_data(w: &mut W<'_>, c: &Ctx<'_>, names: &[String]) {
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
