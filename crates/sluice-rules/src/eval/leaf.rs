//! The leaves of the rule language evaluated against the machine: Windows version, MSI,
//! CBS, devices and drivers, registry and file tests, WMI and the rest of the 69 expressions.

use super::*;

impl<'m> Evaluator<'m> {
    pub(super) fn os(&self, expr: &str) -> Res<&'m OsInfo> {
        match &self.machine.os {
            Some(os) => Ok(os),
            None => unk(expr, "the machine model has no os section"),
        }
    }

    pub(super) fn version_test(&self, expr: &str, t: &VersionTest) -> Res<Truth> {
        let os = self.os(expr)?;
        let actual = [os.major, os.minor, os.build, os.service_pack_major, os.service_pack_minor];
        let wanted = [t.major, t.minor, t.build, t.service_pack_major, t.service_pack_minor];
        // The given fields compare as one tuple (major, then minor, …), the way
        // VerifyVersionInfo chains them: "≥ 6.3" must hold on 10.0 although 0 < 3.
        let mut ord = Ordering::Equal;
        let mut any = false;
        for (a, w) in actual.iter().zip(wanted) {
            if let Some(w) = w {
                any = true;
                if ord == Ordering::Equal {
                    ord = a.cmp(&w);
                }
            }
        }
        let mut ok = !any || t.comparison.holds(ord).unwrap_or(false);
        if let Some(pt) = t.product_type {
            ok &= os.product_type == pt;
        }
        if let Some(mask) = t.suite_mask {
            ok &= if t.all_suites_must_be_present { os.suite_mask & mask == mask } else { mask == 0 || os.suite_mask & mask != 0 };
        }
        Ok(ok.into())
    }

    pub(super) fn msi(&self, expr: &str) -> Res<&'m MsiState> {
        match &self.machine.msi {
            Some(m) => Ok(m),
            None => unk(expr, "the machine model has no msi section"),
        }
    }

    /// Whether an installed product satisfies a rule's version range and language.
    pub(super) fn product_fits(
        expr: &str,
        p: &MsiProduct,
        min: Option<(Version, bool)>,
        max: Option<(Version, bool)>,
        language: Option<u32>,
    ) -> Truth {
        let mut t = Truth::True;
        if min.is_some() || max.is_some() {
            let v = match p.version.as_deref().map(Version::parse) {
                None => return Truth::unknown(expr, format!("the version of MSI product {} is not in the machine model", p.product_code)),
                Some(Err(_)) => return Truth::unknown(expr, format!("the version of MSI product {} is not a version", p.product_code)),
                Some(Ok(v)) => v,
            };
            if let Some((m, exclusive)) = min {
                t = t.and((if exclusive { v > m } else { v >= m }).into());
            }
            if let Some((m, exclusive)) = max {
                t = t.and((if exclusive { v < m } else { v <= m }).into());
            }
        }
        if let Some(l) = language {
            t = t.and(match p.language {
                Some(pl) => (pl == l).into(),
                None => Truth::unknown(expr, format!("the language of MSI product {} is not in the machine model", p.product_code)),
            });
        }
        t
    }

    pub(super) fn products<'a>(msi: &'a MsiState, code: &str) -> impl Iterator<Item = &'a MsiProduct> + 'a {
        let code = norm_guid(code);
        msi.products.iter().filter(move |p| norm_guid(&p.product_code) == code)
    }

    pub(super) fn patch_target(expr: &str, msi: &MsiState, t: &MsiPatchTarget) -> Truth {
        let candidates: Vec<&MsiProduct> = match (&t.product_code, &t.upgrade_code) {
            (Some(code), _) => Self::products(msi, code).collect(),
            (None, Some(up)) => msi
                .products
                .iter()
                .filter(|p| p.upgrade_code.as_deref().map(norm_guid) == Some(norm_guid(up)))
                .collect(),
            (None, None) => return Truth::unknown(expr, "a TargetProduct validates neither product nor upgrade code"),
        };
        Truth::any(candidates.into_iter().map(|p| {
            let mut ok = Truth::True;
            if let (Some(up), Some(_)) = (&t.upgrade_code, &t.product_code) {
                ok = ok.and(match &p.upgrade_code {
                    Some(pu) => (norm_guid(pu) == norm_guid(up)).into(),
                    None => Truth::unknown(expr, format!("the upgrade code of MSI product {} is not in the machine model", p.product_code)),
                });
            }
            if let Some((cmp, parts, want)) = t.version {
                ok = ok.and(match p.version.as_deref().map(Version::parse) {
                    Some(Ok(v)) => {
                        let o = v.cmp_prefix(&want, parts);
                        match cmp {
                            MsiVersionComparison::LessThan => o == Ordering::Less,
                            MsiVersionComparison::LessThanOrEqual => o != Ordering::Greater,
                            MsiVersionComparison::Equal => o == Ordering::Equal,
                            MsiVersionComparison::GreaterThanOrEqual => o != Ordering::Less,
                            MsiVersionComparison::GreaterThan => o == Ordering::Greater,
                            MsiVersionComparison::None => true,
                        }
                        .into()
                    }
                    _ => Truth::unknown(expr, format!("the version of MSI product {} is not known", p.product_code)),
                });
            }
            if let Some(l) = t.language {
                ok = ok.and(match p.language {
                    Some(pl) => (pl == l).into(),
                    None => Truth::unknown(expr, format!("the language of MSI product {} is not in the machine model", p.product_code)),
                });
            }
            ok
        }))
    }

    pub(super) fn for_products(
        &self,
        expr: &str,
        products: &[String],
        all_products: bool,
        per_product: impl Fn(&MsiProduct) -> bool,
    ) -> Res<Truth> {
        let msi = self.msi(expr)?;
        let mut each = products.iter().map(|code| Self::products(msi, code).any(&per_product));
        Ok(if all_products { each.all(|b| b) } else { each.any(|b| b) }.into())
    }

    pub(super) fn cbs_state(&self, expr: &str, key: &str) -> Res<Option<&'m CbsPackage>> {
        match &self.cbs {
            Some(m) => Ok(m.get(key).copied()),
            None => unk(expr, "the machine model has no cbs_packages section"),
        }
    }

    pub(super) fn cbs_installable(&self, expr: &str, key: &str, shown: &str) -> Res<Truth> {
        match self.cbs_state(expr, key)? {
            Some(CbsPackage { applicable: Some(a), .. }) => Ok((*a).into()),
            _ => unk(expr, format!("whether CBS package {shown} is applicable is not in the machine model")),
        }
    }

    pub(super) fn device_attribute(&self, expr: &str, name: &str) -> Res<Option<String>> {
        if let Some(map) = &self.machine.device_attributes
            && let Some((_, v)) = map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            return Ok(Some(v.clone()));
        }
        let derived = self.machine.os.as_ref().and_then(|os| match name.to_ascii_lowercase().as_str() {
            "osversion" => Some(os.version_string()),
            "osskuid" => os.sku.map(|s| s.to_string()),
            // DeviceAttribute spells product types the way the ProductOptions key does.
            "producttype" => match os.product_type {
                1 => Some("WinNT".to_string()),
                2 => Some("LanmanNT".to_string()),
                3 => Some("ServerNT".to_string()),
                _ => None,
            },
            _ => None,
        });
        match (derived, &self.machine.device_attributes) {
            (Some(d), _) => Ok(Some(d)),
            (None, Some(_)) => Ok(None),
            (None, None) => unk(expr, format!("device attribute {name} is not in the machine model")),
        }
    }

    pub(super) fn listed(expr: &str, list: &Option<Vec<String>>, section: &str, wanted: &str) -> Res<Truth> {
        match list {
            Some(l) => Ok(l.iter().any(|x| x.trim().eq_ignore_ascii_case(wanted.trim())).into()),
            None => unk(expr, format!("the machine model has no {section} section")),
        }
    }

    pub(super) fn leaf(&self, l: &Leaf, meta: &HandlerMetadata, lt: Option<&LoopTarget>) -> Res<Truth> {
        let name = l.name();
        let m = self.machine;
        match l {
            Leaf::WindowsVersion(t) | Leaf::PlatformVersion(t) => self.version_test(name, t),
            Leaf::Platform { platform_id } => {
                let os = self.os(name)?;
                Ok((platform_id.trim() == os.platform_id.to_string()).into())
            }
            Leaf::Processor { architecture } => match m.architecture {
                Some(a) => Ok((a.processor_code() == *architecture).into()),
                None => unk(name, "the machine model gives no architecture"),
            },
            Leaf::NumberOfProcessors { comparison, number } => match m.processor_count {
                Some(n) => Ok(cmp_ord(*comparison, n, *number).into()),
                None => unk(name, "the machine model gives no processor_count"),
            },
            Leaf::WindowsLanguage { language } => {
                let Some(want) = language else { return unk(name, "no Language attribute to compare") };
                match self.os(name)?.language.as_deref() {
                    Some(have) => Ok(language_matches(want, have).into()),
                    None => unk(name, "the OS language is not in the machine model"),
                }
            }
            Leaf::Mui { language, .. } => {
                let Some(installed) = &self.os(name)?.mui_languages else {
                    return unk(name, "the installed UI languages (os.mui_languages) are not in the machine model");
                };
                Ok(match language {
                    Some(want) => installed.iter().any(|h| language_matches(want, h)),
                    None => !installed.is_empty(),
                }
                .into())
            }
            Leaf::SystemMetric { index, comparison, value } => match &m.system_metrics {
                Some(list) => {
                    let actual = list.iter().find(|s| s.index == *index).map(|s| s.value).unwrap_or(0);
                    Ok(cmp_ord(*comparison, actual, *value).into())
                }
                None => unk(name, format!("system metric {index} is not in the machine model")),
            },
            Leaf::RegKeyExists { key } => Ok(self.key_exists(name, key, lt)?.into()),
            Leaf::RegValueExists { key, value, reg_type } => Ok(match self.read_value(name, key, value.as_deref(), lt)? {
                ValueRead::Value(v) => reg_type.is_none_or(|t| v.reg_type() == t),
                _ => false,
            }
            .into()),
            Leaf::RegDword { key, value, comparison, data } => Ok(match self.read_value(name, key, Some(value), lt)? {
                ValueRead::Value(RegValue::Dword(v)) => cmp_ord(*comparison, *v, *data),
                _ => false,
            }
            .into()),
            Leaf::RegQword { key, value, comparison, data } => Ok(match self.read_value(name, key, Some(value), lt)? {
                ValueRead::Value(RegValue::Qword(v)) => cmp_ord(*comparison, *v, *data),
                _ => false,
            }
            .into()),
            Leaf::RegSz { key, value, comparison, data } => Ok(match self.read_value(name, key, Some(value), lt)? {
                ValueRead::Value(RegValue::Sz(s)) => cmp_str(*comparison, s, data),
                _ => false,
            }
            .into()),
            Leaf::RegExpandSz { key, value, comparison, data } => Ok(match self.read_value(name, key, Some(value), lt)? {
                ValueRead::Value(RegValue::ExpandSz(s)) => cmp_str(*comparison, &self.expand(s), data),
                _ => false,
            }
            .into()),
            Leaf::RegSzToVersion { key, value, comparison, data } => match self.read_value(name, key, Some(value), lt)? {
                ValueRead::NoKey => Ok(Truth::False),
                // A missing value under an existing key reads as version 0 (observed by
                // publishers, who guard "older than" tests with RegValueExists for that reason).
                ValueRead::NoValue => Ok(cmp_ord(*comparison, Version::ZERO, *data).into()),
                ValueRead::Value(RegValue::Sz(s)) => match Version::parse(s) {
                    Ok(v) => Ok(cmp_ord(*comparison, v, *data).into()),
                    Err(_) => unk(name, format!("registry value {value} = '{s}' is not a version")),
                },
                ValueRead::Value(_) => Ok(Truth::False),
            },
            Leaf::WuV4RegKeySubstring { key, value, data } => Ok(match self.read_value(name, key, Some(value), lt)? {
                ValueRead::Value(RegValue::Sz(s) | RegValue::ExpandSz(s)) => cmp_str(Comparison::Contains, s, data),
                _ => false,
            }
            .into()),
            Leaf::WuV4RegKeyValue { key, value, data } => Ok(match self.read_value(name, key, Some(value), lt)? {
                ValueRead::Value(RegValue::Sz(s) | RegValue::ExpandSz(s)) => cmp_str(Comparison::EqualTo, s, data),
                ValueRead::Value(RegValue::Dword(v)) => data.trim().parse::<u32>().is_ok_and(|d| d == *v),
                ValueRead::Value(RegValue::Qword(v)) => data.trim().parse::<u64>().is_ok_and(|d| d == *v),
                _ => false,
            }
            .into()),
            Leaf::FileExists { file, size, language, version } => {
                let (entry, is_dir) = self.find_file(name, file, lt)?;
                let Some(e) = entry else {
                    let plain = size.is_none() && language.is_none() && version.is_none();
                    return Ok((is_dir && plain).into());
                };
                let mut t = Truth::True;
                if let Some(s) = size {
                    t = t.and(match e.size {
                        Some(actual) => (actual == *s).into(),
                        None => Truth::unknown(name, format!("the size of {} is not in the machine model", e.path)),
                    });
                }
                if let Some(v) = version {
                    t = t.and(match Self::file_version(name, e) {
                        Ok(actual) => (actual == Some(*v)).into(),
                        Err(u) => u,
                    });
                }
                if let Some(lang) = language {
                    t = t.and(match &e.language {
                        Some(actual) => langs_equal(lang, actual).into(),
                        None => Truth::unknown(name, format!("the language of {} is not in the machine model", e.path)),
                    });
                }
                Ok(t)
            }
            Leaf::FileVersion { file, comparison, version } => match self.find_file(name, file, lt)?.0 {
                None => Ok(Truth::False),
                Some(e) => Ok(match Self::file_version(name, e)? {
                    Some(actual) => cmp_ord(*comparison, actual, *version),
                    None => false,
                }
                .into()),
            },
            Leaf::FileSize { file, comparison, size } => match self.find_file(name, file, lt)?.0 {
                None => Ok(Truth::False),
                Some(e) => match e.size {
                    Some(actual) => Ok(cmp_ord(*comparison, actual, *size).into()),
                    None => unk(name, format!("the size of {} is not in the machine model", e.path)),
                },
            },
            Leaf::FileCreated { file, comparison, created } => match self.find_file(name, file, lt)?.0 {
                None => Ok(Truth::False),
                Some(e) => Ok(cmp_ord(*comparison, Self::file_time(name, e, "creation", &e.created)?, *created).into()),
            },
            Leaf::FileModified { file, comparison, modified } => match self.find_file(name, file, lt)?.0 {
                None => Ok(Truth::False),
                Some(e) => Ok(cmp_ord(*comparison, Self::file_time(name, e, "modification", &e.modified)?, *modified).into()),
            },
            Leaf::WmiQuery { namespace, query } => {
                let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
                let (ns, q) = (squash(namespace), squash(query));
                let hit = m.wmi.iter().find(|a| {
                    squash(a.namespace.as_deref().unwrap_or("root\\cimv2")) == ns && squash(&a.query) == q
                });
                match hit {
                    Some(a) => Ok(a.result.into()),
                    None => unk(name, format!("no answer in the machine model for {namespace}: {query}")),
                }
            }
            Leaf::LicenseDword { value, comparison, data } => match &m.license_dwords {
                Some(map) => Ok(match map.iter().find(|(k, _)| k.eq_ignore_ascii_case(value.trim())) {
                    Some((_, v)) => cmp_ord(*comparison, *v, *data),
                    // An unset policy cannot be read, so no comparison holds.
                    None => false,
                }
                .into()),
                None => unk(name, format!("licensing policy {value} is not in the machine model")),
            },
            Leaf::ClusteredOs => match m.clustered {
                Some(c) => Ok(c.into()),
                None => unk(name, "the machine model does not say whether it is clustered"),
            },
            Leaf::ClusterResourceOwner { key, value, prefix, suffix } => match self.read_value(name, key, value.as_deref(), lt)? {
                ValueRead::Value(RegValue::Sz(s) | RegValue::ExpandSz(s)) => {
                    Self::listed(name, &m.cluster_owned_resources, "cluster_owned_resources", &format!("{prefix}{s}{suffix}"))
                }
                _ => Ok(Truth::False),
            },
            Leaf::Direct3D { hardware_version, feature_level_major, feature_level_minor } => match &m.direct3d {
                Some(d) => Ok((d.hardware_version >= *hardware_version
                    && (d.feature_level_major, d.feature_level_minor) >= (*feature_level_major, *feature_level_minor))
                    .into()),
                None => unk(name, "the machine model has no direct3d section"),
            },
            Leaf::Memory { min_size_mb, .. } => match m.memory_mb {
                Some(mb) => Ok((mb >= *min_size_mb).into()),
                None => unk(name, "the machine model gives no memory_mb"),
            },
            Leaf::VideoMemory { min_size_mb } => match m.video_memory_mb {
                Some(mb) => Ok((mb >= *min_size_mb).into()),
                None => unk(name, "the machine model gives no video_memory_mb"),
            },
            Leaf::SensorById { id } => Self::listed(name, &m.sensors, "sensors", id),
            Leaf::Nfc { capability } => Self::listed(name, &m.nfc_capabilities, "nfc_capabilities", capability),
            Leaf::Camera { location } => Self::listed(name, &m.cameras, "cameras", location),
            Leaf::MsiProductInstalled {
                product_code,
                version_min,
                version_max,
                exclude_version_min,
                exclude_version_max,
                language,
            } => {
                let msi = self.msi(name)?;
                let min = version_min.map(|v| (v, *exclude_version_min));
                let max = version_max.map(|v| (v, *exclude_version_max));
                Ok(Truth::any(Self::products(msi, product_code).map(|p| Self::product_fits(name, p, min, max, *language))))
            }
            Leaf::MsiPatchInstalledForProduct { patch_code, product_code, version_min, version_max, language } => {
                let msi = self.msi(name)?;
                let (patch, product) = (norm_guid(patch_code), norm_guid(product_code));
                let applied = msi.patches.iter().any(|x| {
                    norm_guid(&x.patch_code) == patch
                        && norm_guid(&x.product_code) == product
                        && matches!(x.state, MsiPatchState::Applied | MsiPatchState::Superseded)
                });
                let min = version_min.map(|v| (v, false));
                let max = version_max.map(|v| (v, false));
                let fits = Truth::any(Self::products(msi, product_code).map(|p| Self::product_fits(name, p, min, max, *language)));
                Ok(fits.and(applied.into()))
            }
            Leaf::MsiFeatureInstalledForProduct { all_features_required, all_products_required, features, products } => {
                self.for_products(name, products, *all_products_required, |p| {
                    let has = |f: &String| p.features.iter().any(|x| x == f);
                    if *all_features_required { features.iter().all(has) } else { features.iter().any(has) }
                })
            }
            Leaf::MsiComponentInstalledForProduct {
                all_components_required,
                all_products_required,
                components,
                products,
            } => self.for_products(name, products, *all_products_required, |p| {
                let has = |c: &String| p.components.iter().any(|x| norm_guid(x) == norm_guid(c));
                if *all_components_required { components.iter().all(has) } else { components.iter().any(has) }
            }),
            Leaf::MsiMetadata(test) => {
                let patch_code = || -> Res<String> {
                    match meta.msi_patch.as_ref().and_then(|p| p.patch_code.as_deref()) {
                        Some(c) => Ok(norm_guid(c)),
                        None => unk(name, "the update carries no MsiPatchMetadata with a PatchGUID"),
                    }
                };
                match test {
                    MsiMetadataTest::PatchInstalled => {
                        let code = patch_code()?;
                        let msi = self.msi(name)?;
                        Ok(msi
                            .patches
                            .iter()
                            .any(|x| {
                                norm_guid(&x.patch_code) == code
                                    && matches!(x.state, MsiPatchState::Applied | MsiPatchState::Superseded)
                            })
                            .into())
                    }
                    MsiMetadataTest::PatchSuperseded => {
                        let code = patch_code()?;
                        let msi = self.msi(name)?;
                        Ok((msi.superseded_patches.iter().any(|x| norm_guid(x) == code)
                            || msi.patches.iter().any(|x| {
                                norm_guid(&x.patch_code) == code
                                    && matches!(x.state, MsiPatchState::Superseded | MsiPatchState::Obsoleted)
                            }))
                        .into())
                    }
                    MsiMetadataTest::PatchInstallable => {
                        let Some(info) = &meta.msi_patch else {
                            return unk(name, "the update carries no MsiPatchMetadata");
                        };
                        if info.targets.is_empty() {
                            return unk(name, "the MsiPatchMetadata names no target product");
                        }
                        let msi = self.msi(name)?;
                        Ok(Truth::any(info.targets.iter().map(|t| Self::patch_target(name, msi, t))))
                    }
                    MsiMetadataTest::ApplicationInstalled => match &meta.msi_application_product {
                        Some(code) => Ok(Self::products(self.msi(name)?, code).next().is_some().into()),
                        None => unk(name, "the update's MsiApplicationMetadata names no product code"),
                    },
                    MsiMetadataTest::ApplicationInstallable | MsiMetadataTest::ApplicationSuperseded => {
                        unk(name, "the semantics of this MSI application test are not established; not evaluated")
                    }
                }
            }
            Leaf::CbsPackageInstalled | Leaf::CbsPackageInstallable => {
                let Some(id) = &meta.cbs_package else {
                    return unk(name, "the update carries no CbsPackageApplicabilityMetadata identity");
                };
                let key = id.key();
                if matches!(l, Leaf::CbsPackageInstalled) {
                    Ok(self.cbs_state(name, &key)?.is_some_and(|p| p.state.is_installed()).into())
                } else {
                    self.cbs_installable(name, &key, &id.to_string())
                }
            }
            Leaf::CbsPackageInstalledByIdentity { identity } => {
                Ok(self.cbs_state(name, &cbs_key(identity))?.is_some_and(|p| p.state.is_installed()).into())
            }
            Leaf::CbsPackageInstallableByIdentity { identity } => self.cbs_installable(name, &cbs_key(identity), identity),
            Leaf::Driver(test) => self.driver(name, *test, meta),
            Leaf::ProductReleaseInstalled { name: release, version } => match &m.product_releases {
                Some(list) => Ok(list
                    .iter()
                    .any(|r| r.name.trim().eq_ignore_ascii_case(release.trim()) && versions_equal(&r.version, version))
                    .into()),
                None => unk(name, "the machine model has no product_releases section"),
            },
            Leaf::ProductReleaseVersion { name: release, version, comparison } => {
                let Some(list) = &m.product_releases else {
                    return unk(name, "the machine model has no product_releases section");
                };
                let Ok(want) = Version::parse(version) else {
                    return unk(name, format!("Version=\"{version}\" is not a version"));
                };
                let mut t = Truth::False;
                for r in list.iter().filter(|r| r.name.trim().eq_ignore_ascii_case(release.trim())) {
                    t = t.or(match Version::parse(&r.version) {
                        Ok(v) => cmp_ord(*comparison, v, want).into(),
                        Err(_) => Truth::unknown(name, format!("release {} version '{}' is not a version", r.name, r.version)),
                    });
                }
                Ok(t)
            }
            Leaf::DeviceAttribute { name: attr, kind, comparison, value } => {
                let Some(actual) = self.device_attribute(name, attr)? else { return Ok(Truth::False) };
                match kind.trim().to_ascii_lowercase().as_str() {
                    "string" => Ok(cmp_str(*comparison, &actual, value).into()),
                    "version" => match (Version::parse(&actual), Version::parse(value), comparison.is_scalar()) {
                        (Ok(a), Ok(b), true) => Ok(cmp_ord(*comparison, a, b).into()),
                        _ => unk(name, format!("cannot compare {attr} = '{actual}' {} '{value}' as versions", comparison.as_str())),
                    },
                    "integer" | "int" | "number" | "uint" | "long" => {
                        match (actual.trim().parse::<i128>(), value.trim().parse::<i128>(), comparison.is_scalar()) {
                            (Ok(a), Ok(b), true) => Ok(cmp_ord(*comparison, a, b).into()),
                            _ => unk(name, format!("cannot compare {attr} = '{actual}' {} '{value}' as numbers", comparison.as_str())),
                        }
                    }
                    "bool" | "boolean" => match (crate::parse_bool_text(&actual), crate::parse_bool_text(value)) {
                        (Some(a), Some(b)) if *comparison == Comparison::EqualTo => Ok((a == b).into()),
                        _ => unk(name, format!("cannot compare {attr} = '{actual}' {} '{value}' as booleans", comparison.as_str())),
                    },
                    other => unk(name, format!("device attribute type '{other}' is not known")),
                }
            }
            Leaf::Opaque { name: n, .. } => {
                unk(n, "the semantics of this expression are not established; not evaluated")
            }
        }
    }

    pub(super) fn driver(&self, name: &str, test: DriverTest, meta: &HandlerMetadata) -> Res<Truth> {
        if test == DriverTest::Superseded {
            // Driver supersedence comes from ranking against other driver updates, which a
            // single machine model cannot express.
            return unk(name, "driver supersedence depends on the ranking of other drivers; not evaluated");
        }
        let Some(d) = &meta.driver else { return unk(name, "the update carries no WindowsDriverMetaData") };
        let Some(devices) = &self.machine.devices else { return unk(name, "the machine model has no devices section") };
        let want_version = d.driver_ver_version.as_deref().map(Version::parse).transpose();
        let want_date = d.driver_ver_date.as_deref().map(|s| Timestamp::parse(s).ok_or(())).transpose();
        let (Ok(want_version), Ok(want_date)) = (want_version, want_date) else {
            return unk(name, "the driver metadata's DriverVerVersion/DriverVerDate do not parse");
        };
        let hw = d.hardware_id.to_lowercase();
        let mut t = Truth::False;
        for dev in devices.iter().filter(|dev| {
            dev.hardware_ids.iter().chain(&dev.compatible_ids).any(|h| h.trim().to_lowercase() == hw)
        }) {
            let have_version = dev.driver_version.as_deref().map(Version::parse).transpose();
            let have_date = dev.driver_date.as_deref().map(|s| Timestamp::parse(s).ok_or(())).transpose();
            let (Ok(have_version), Ok(have_date)) = (have_version, have_date) else {
                t = t.or(Truth::unknown(name, "a device's driver_version/driver_date do not parse"));
                continue;
            };
            // Windows ranks drivers by date, then version.
            let have = (have_date, have_version);
            let want = (want_date, want_version);
            t = t.or(match test {
                DriverTest::Installed => (dev.driver_version.is_some() && have == want).into(),
                _ => (dev.driver_version.is_none() || have < want).into(),
            });
        }
        Ok(t)
    }
}
