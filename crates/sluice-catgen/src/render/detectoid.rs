//! Detectoid documents: the applicability-only updates other updates name as prerequisites.

use super::*;

pub(super) fn detectoid(plan: &Plan, u: &Upd, rule: DetRule, rev: &Rev, rng: &mut Rng, out: &mut String) {
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
