//! Finding updates: the filters of `GET /updates` turned into the store's SQL filter (names
//! resolved, bad input refused), the paged listing, and the product and classification lists.

use std::collections::HashMap;

use sluice_store::{ApprovalState, UpdateFilter, UpdateSort};
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use crate::times::parse_rfc3339_utc;
use crate::{Catalog, CatalogError, api, invalid};

/// Largest page of `GET /updates`.
pub const MAX_PAGE: u32 = 10_000;
const DEFAULT_PAGE: u32 = 200;
/// Longest filter value accepted (titles are far shorter).
const MAX_FILTER_TEXT: usize = 1024;
const SEVERITIES: [&str; 4] = ["critical", "important", "moderate", "low"];

/// A date (`YYYY-MM-DD`, midnight UTC) or an RFC 3339 time; with `end_of_day` the exclusive
/// end of a range that includes that day (the next midnight) or that time.
fn parse_when(s: &str, end_of_day: bool, what: &str) -> Result<OffsetDateTime, CatalogError> {
    let s = s.trim();
    if let Ok(d) = Date::parse(s, format_description!("[year]-[month]-[day]")) {
        let t = d.midnight().assume_utc();
        return Ok(if end_of_day { t + Duration::days(1) } else { t });
    }
    let t = parse_rfc3339_utc(s).map_err(|_| invalid(format!("{what}: '{s}' is neither a date (2026-05-01) nor an RFC 3339 time")))?;
    // "On or before" a time includes it: the bound is exclusive one stored tick later.
    Ok(if end_of_day { t + Duration::microseconds(1) } else { t })
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl Catalog {
    /// The store filter for `q`, names resolved: an unknown classification, product or group
    /// is `NotFound`, a malformed value `InvalidRequest`.
    pub async fn update_filter(&self, q: &api::UpdateQuery) -> Result<UpdateFilter, CatalogError> {
        let texts = [
            ("text", &q.text),
            ("classification", &q.classification),
            ("product", &q.product),
            ("kb", &q.kb),
            ("msrc_severity", &q.msrc_severity),
            ("approval", &q.approval),
            ("group", &q.group),
            ("released_from", &q.released_from),
            ("released_to", &q.released_to),
            ("sort", &q.sort),
        ];
        for (what, v) in texts {
            if let Some(v) = v {
                if v.chars().any(char::is_control) {
                    return Err(invalid(format!("'{what}' holds a control character")));
                }
                if v.len() > MAX_FILTER_TEXT {
                    return Err(invalid(format!("'{what}' is longer than {MAX_FILTER_TEXT} bytes")));
                }
            }
        }
        let mut f = UpdateFilter {
            text: nonempty(&q.text).map(str::to_owned),
            kb: nonempty(&q.kb).map(str::to_owned),
            include_categories: q.all_types,
            descending: q.desc,
            superseded: q.superseded,
            expired: q.expired,
            ..UpdateFilter::default()
        };
        if let Some(c) = nonempty(&q.classification) {
            f.classification = Some(self.category_id(c, "classification").await?.to_string());
        }
        if let Some(p) = nonempty(&q.product) {
            f.product = Some(self.category_id(p, "product").await?.to_string());
        }
        if let Some(s) = nonempty(&q.msrc_severity) {
            if !SEVERITIES.contains(&s.to_ascii_lowercase().as_str()) {
                return Err(invalid(format!("'{s}' is not an MSRC severity; use critical, important, moderate or low")));
            }
            f.msrc_severity = Some(s.to_owned());
        }
        let group = match nonempty(&q.group) {
            Some(g) => Some(Self::find_group(&self.groups().await?, g)?.id),
            None => None,
        };
        f.approval = match (nonempty(&q.approval).map(|a| a.to_ascii_lowercase().replace('-', "_")), group) {
            (None, None) => None,
            (Some(a), Some(g)) if a == "approved" => Some(ApprovalState::ApprovedFor(g)),
            (None, Some(g)) => Some(ApprovalState::ApprovedFor(g)),
            (Some(_), Some(_)) => return Err(invalid("'group' goes with approval=approved only")),
            (Some(a), None) => Some(match a.as_str() {
                "unapproved" => ApprovalState::Unapproved,
                "approved" => ApprovalState::Approved,
                "declined" => ApprovalState::Declined,
                "not_declined" => ApprovalState::NotDeclined,
                _ => {
                    return Err(invalid(format!(
                        "'{a}' is not an approval state; use unapproved, approved, declined or not-declined"
                    )));
                }
            }),
        };
        for (n, what) in [(q.needed, "needed"), (q.failed, "failed")] {
            if n.is_some_and(|n| n < 0) {
                return Err(invalid(format!("'{what}' is a number of computers, at least 0")));
            }
        }
        f.needed_min = q.needed;
        f.failed_min = q.failed;
        f.released_from = nonempty(&q.released_from).map(|s| parse_when(s, false, "released_from")).transpose()?;
        f.released_before = nonempty(&q.released_to).map(|s| parse_when(s, true, "released_to")).transpose()?;
        if let (Some(a), Some(b)) = (f.released_from, f.released_before) {
            if a >= b {
                return Err(invalid("released_from is after released_to"));
            }
        }
        f.sort = match nonempty(&q.sort).map(str::to_ascii_lowercase).as_deref() {
            None => None,
            Some("release" | "released" | "date") => Some(UpdateSort::Release),
            Some("title") => Some(UpdateSort::Title),
            Some("kb") => Some(UpdateSort::Kb),
            Some("needed") => Some(UpdateSort::Needed),
            Some("failed") => Some(UpdateSort::Failed),
            Some(other) => {
                return Err(invalid(format!("cannot sort by '{other}'; use release, title, kb, needed or failed")));
            }
        };
        Ok(f)
    }

    /// A classification or product named by id or title; a classification Microsoft names
    /// is known by its title before any sync brought the category.
    async fn category_id(&self, name: &str, kind: &str) -> Result<Uuid, CatalogError> {
        if let Ok(id) = Uuid::parse_str(name) {
            return Ok(id);
        }
        if let Some(c) = self.store.category_by_title(name).await? {
            return Ok(c.update_id);
        }
        if kind == "classification" {
            let known = sluice_metadata::publish::WELL_KNOWN_CLASSIFICATIONS
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .and_then(|(_, id)| Uuid::parse_str(id).ok());
            if let Some(id) = known {
                return Ok(id);
            }
        }
        Err(CatalogError::NotFound(format!("{kind} '{name}' (see 'sluice {kind}s list')")))
    }

    /// One page of the latest revision of each update matching `q`, with the total count.
    pub async fn list_updates(&self, q: &api::UpdateQuery) -> Result<api::UpdatePage, CatalogError> {
        let limit = q.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(invalid(format!("limit must be between 1 and {MAX_PAGE}")));
        }
        let offset = q.offset.unwrap_or(0);
        let mut filter = self.update_filter(q).await?;
        let total = self.store.count_updates(&filter).await?;
        filter.limit = Some(limit as i64);
        filter.offset = offset as i64;
        let rows = self.store.list_updates(&filter).await?;
        let items = self.summaries(&rows).await?;
        Ok(api::UpdatePage { total, limit, offset, items })
    }

    /// The API views of listed updates: two queries for the page, not two per row.
    pub(crate) async fn summaries(&self, rows: &[sluice_store::UpdateSummary]) -> Result<Vec<api::UpdateSummary>, CatalogError> {
        let titles = self.category_titles().await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.revision_id).collect();
        let mut revisions: HashMap<i64, sluice_store::Revision> =
            self.store.revisions(&ids).await?.into_iter().map(|r| (r.id, r)).collect();
        let categories = self.store.categories_of_revisions(&ids).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id = row.revision_id;
            let rev = revisions.remove(&id).ok_or_else(|| CatalogError::NotFound(format!("revision {id}")))?;
            let cats = categories.get(&id).map(Vec::as_slice).unwrap_or(&[]);
            let mut s = crate::updates::summary(&rev, cats, &titles);
            s.declined = row.is_declined;
            s.needed = row.needed;
            s.failed = row.failed;
            s.installed = row.installed;
            out.push(s);
        }
        Ok(out)
    }
}
