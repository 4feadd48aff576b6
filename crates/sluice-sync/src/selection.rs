//! Which products and classifications a sync asks the upstream for, and their names.
//!
//! WSUS lets an administrator choose products and classifications only on a server that
//! syncs from Microsoft Update. A downstream server (autonomous or replica) takes them from
//! its upstream: it asks GetRevisionIdList without a product or classification filter, and the
//! upstream answers with the updates it has, which are those of its own selection. Sluice
//! does the same when a downstream of a WSUS or Sluice upstream has no list set; a list set
//! on a downstream still narrows what it takes, and an empty list beside it stands for every
//! category of that kind the upstream sent in the configuration pass.

use std::collections::HashSet;

use serde::Serialize;
use sluice_store::{Category, Store};
use uuid::Uuid;

use crate::settings::{SyncSettings, SyncSettingsExt};
use crate::SyncError;

/// Product or classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CategoryKind {
    Product,
    Classification,
}

impl CategoryKind {
    /// The kind of a category type, `None` for types a filter does not use (detectoids…).
    /// Companies and product families are products: WSUS lists them in the product tree and
    /// accepts them in the `Categories` filter.
    pub fn of(category_type: &str) -> Option<CategoryKind> {
        match category_type {
            "UpdateClassification" => Some(CategoryKind::Classification),
            "Product" | "ProductFamily" | "Company" => Some(CategoryKind::Product),
            _ => None,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            CategoryKind::Product => "product",
            CategoryKind::Classification => "classification",
        }
    }
}

/// A category as `sluice sync products` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KnownCategory {
    pub id: Uuid,
    /// `None` for an id in the settings that no synchronised category revision carries (yet).
    pub name: Option<String>,
    pub kind: CategoryKind,
    /// Whether the next sync asks for it (inherited selections select everything).
    pub selected: bool,
}

/// One list of the effective selection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveList {
    /// True when the list is the upstream's, not the administrator's.
    pub from_upstream: bool,
    /// The ids asked for with their names; when inherited, the categories of that kind the
    /// upstream sent so far.
    pub items: Vec<NamedCategory>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamedCategory {
    pub id: Uuid,
    pub name: Option<String>,
}

/// The selection the next sync uses, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveSelection {
    pub products: EffectiveList,
    pub classifications: EffectiveList,
}

/// The updates-pass filter: `None` asks for everything the upstream offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdatesFilter {
    /// No product or classification restriction (a downstream inheriting both lists).
    Unfiltered,
    /// These products AND these classifications; either list may be empty, which selects
    /// no update (Microsoft Update without a choice made).
    Only { products: Vec<Uuid>, classifications: Vec<Uuid> },
}

/// Whether each list is inherited from the upstream: empty, and the upstream is not
/// Microsoft Update.
pub fn inherited(settings: &SyncSettings) -> (bool, bool) {
    let downstream = !settings.is_microsoft_update();
    (downstream && settings.products.is_empty(), downstream && settings.classifications.is_empty())
}

/// Known categories of `kind`, ordered by title.
async fn known(store: &Store, kind: CategoryKind) -> Result<Vec<Category>, SyncError> {
    let mut v: Vec<Category> =
        store.list_categories().await?.into_iter().filter(|c| CategoryKind::of(&c.category_type) == Some(kind)).collect();
    v.sort_by(|a, b| a.title.to_lowercase().cmp(&b.title.to_lowercase()).then(a.update_id.cmp(&b.update_id)));
    Ok(v)
}

/// The filter of the updates pass, from the settings and the categories stored by the
/// configuration pass.
pub async fn updates_filter(store: &Store, settings: &SyncSettings) -> Result<UpdatesFilter, SyncError> {
    let (inherit_p, inherit_c) = inherited(settings);
    if inherit_p && inherit_c {
        return Ok(UpdatesFilter::Unfiltered);
    }
    let ids = |c: Vec<Category>| c.into_iter().map(|c| c.update_id).collect::<Vec<_>>();
    let products = if inherit_p { ids(known(store, CategoryKind::Product).await?) } else { settings.products.clone() };
    let classifications =
        if inherit_c { ids(known(store, CategoryKind::Classification).await?) } else { settings.classifications.clone() };
    Ok(UpdatesFilter::Only { products, classifications })
}

/// The effective selection, by name, for the status view.
pub async fn effective(store: &Store, settings: &SyncSettings) -> Result<EffectiveSelection, SyncError> {
    let (inherit_p, inherit_c) = inherited(settings);
    Ok(EffectiveSelection {
        products: effective_list(store, CategoryKind::Product, inherit_p, &settings.products).await?,
        classifications: effective_list(store, CategoryKind::Classification, inherit_c, &settings.classifications).await?,
    })
}

async fn effective_list(store: &Store, kind: CategoryKind, inherit: bool, chosen: &[Uuid]) -> Result<EffectiveList, SyncError> {
    let items = if inherit {
        known(store, kind).await?.into_iter().map(|c| NamedCategory { id: c.update_id, name: Some(c.title) }).collect()
    } else {
        let mut v = Vec::with_capacity(chosen.len());
        for id in chosen {
            v.push(NamedCategory { id: *id, name: store.category(*id).await?.map(|c| c.title) });
        }
        v
    };
    Ok(EffectiveList { from_upstream: inherit, items })
}

/// Every product and classification known (synchronised category revisions, and ids named in
/// the settings), with whether the next sync asks for it.
pub async fn known_categories(store: &Store, settings: &SyncSettings) -> Result<Vec<KnownCategory>, SyncError> {
    let (inherit_p, inherit_c) = inherited(settings);
    let mut out = Vec::new();
    for (kind, inherit, chosen) in
        [(CategoryKind::Product, inherit_p, &settings.products), (CategoryKind::Classification, inherit_c, &settings.classifications)]
    {
        let cats = known(store, kind).await?;
        let seen: HashSet<Uuid> = cats.iter().map(|c| c.update_id).collect();
        out.extend(cats.into_iter().map(|c| KnownCategory {
            selected: inherit || chosen.contains(&c.update_id),
            id: c.update_id,
            name: Some(c.title),
            kind,
        }));
        out.extend(chosen.iter().filter(|id| !seen.contains(id)).map(|id| KnownCategory { id: *id, name: None, kind, selected: true }));
    }
    Ok(out)
}

/// Resolves what an administrator typed for `--products` or `--classifications`: ids as
/// they are, names by case-insensitive exact title of a known category of that kind (and, for
/// classifications, Microsoft's well-known names, so a server that has not synchronised yet
/// can be configured by name). An unknown or ambiguous name is an error naming it.
pub async fn resolve(store: &Store, kind: CategoryKind, given: &[String]) -> Result<Vec<Uuid>, SyncError> {
    let cats = known(store, kind).await?;
    let mut out: Vec<Uuid> = Vec::new();
    for raw in given {
        let t = raw.trim();
        if t.is_empty() {
            continue;
        }
        let id = match Uuid::parse_str(t) {
            Ok(id) => id,
            Err(_) => {
                let wanted = t.to_lowercase();
                let hits: Vec<&Category> = cats.iter().filter(|c| c.title.to_lowercase() == wanted).collect();
                match hits.as_slice() {
                    [one] => one.update_id,
                    [] => match (kind == CategoryKind::Classification)
                        .then(|| sluice_metadata::publish::WELL_KNOWN_CLASSIFICATIONS.iter().find(|(n, _)| n.to_lowercase() == wanted))
                        .flatten()
                        .and_then(|(_, id)| Uuid::parse_str(id).ok())
                    {
                        Some(id) => id,
                        None => {
                            return Err(SyncError::Settings(format!(
                                "unknown {} {t:?}: no synchronised {} has that name (see `sluice sync products`); give its id",
                                kind.noun(),
                                kind.noun()
                            )));
                        }
                    },
                    many => {
                        let ids: Vec<String> = many.iter().map(|c| c.update_id.to_string()).collect();
                        return Err(SyncError::Settings(format!(
                            "{} name {t:?} is ambiguous ({}): give the id",
                            kind.noun(),
                            ids.join(", ")
                        )));
                    }
                }
            }
        };
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}
