//! Category documents: companies, product families, products and classifications.

use super::*;

pub(super) fn category(plan: &Plan, u: &Upd, rev: &Rev, rng: &mut Rng, out: &mut String) {
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
