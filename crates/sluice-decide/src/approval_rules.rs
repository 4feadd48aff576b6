//! Automatic approval rules (WSUS's Options › Automatic Approvals): which updates a rule
//! approves, and the deadline it gives them.
//!
//! A rule names classifications and products; an empty list means "any", as leaving a box
//! unticked does in WSUS. A product matches an update in that product or in a product under it
//! (a rule for the product family "Windows" approves Windows 11 updates), so the caller passes
//! the category tree as child → parent.

use std::collections::HashMap;

use time::{Duration, OffsetDateTime, Time};
use uuid::Uuid;

/// What a rule asks of an update.
#[derive(Debug, Clone, Copy)]
pub struct Criteria<'a> {
    /// Classification ids; empty = any classification.
    pub classifications: &'a [Uuid],
    /// Product or product family ids; empty = any product.
    pub products: &'a [Uuid],
}

/// The facts about an update's latest revision a rule looks at.
#[derive(Debug, Clone, Default)]
pub struct Candidate {
    pub update_id: Uuid,
    /// Its classification, if the catalog knows one.
    pub classification: Option<Uuid>,
    /// Every category it names (products, classifications).
    pub categories: Vec<Uuid>,
    /// Declined updates are never approved by a rule.
    pub declined: bool,
    /// Expired updates can no longer be approved.
    pub expired: bool,
    /// A software or driver update that can be approved on its own (not a category, a
    /// detectoid or an update delivered only inside a bundle).
    pub approvable: bool,
}

/// What a rule does with one update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The rule's criteria do not cover the update.
    NoMatch,
    /// Covered, and approved.
    Approve,
    /// Covered, but it cannot be approved; the reason is shown to the administrator.
    Skip(&'static str),
}

/// Category chains are short (company → family → product); a cycle in bad data must not
/// loop forever.
const MAX_CATEGORY_DEPTH: usize = 16;

/// Whether the rule's criteria cover the update.
pub fn matches(criteria: Criteria<'_>, update: &Candidate, parents: &HashMap<Uuid, Uuid>) -> bool {
    let classification_ok = criteria.classifications.is_empty()
        || update.classification.is_some_and(|c| criteria.classifications.contains(&c));
    if !classification_ok {
        return false;
    }
    if criteria.products.is_empty() {
        return true;
    }
    update.categories.iter().any(|&c| {
        let mut current = Some(c);
        for _ in 0..MAX_CATEGORY_DEPTH {
            let Some(id) = current else { break };
            if criteria.products.contains(&id) {
                return true;
            }
            current = parents.get(&id).copied();
        }
        false
    })
}

/// What the rule does with the update.
pub fn verdict(criteria: Criteria<'_>, update: &Candidate, parents: &HashMap<Uuid, Uuid>) -> Verdict {
    if !matches(criteria, update, parents) {
        return Verdict::NoMatch;
    }
    if update.declined {
        Verdict::Skip("declined")
    } else if update.expired {
        Verdict::Skip("expired")
    } else if !update.approvable {
        Verdict::Skip("not approvable on its own")
    } else {
        Verdict::Approve
    }
}

/// A rule's deadline: `days` after the day of approval (UTC), at `at` (UTC), as WSUS's rule
/// dialog sets it ("N days after the approval, at HH:MM").
pub fn deadline(approved_at: OffsetDateTime, days: u32, at: Time) -> OffsetDateTime {
    let day = approved_at.to_offset(time::UtcOffset::UTC).date();
    day.with_time(at).assume_utc() + Duration::days(i64::from(days))
}

/// `HH:MM` (24-hour) as a time of day.
pub fn parse_time_of_day(s: &str) -> Result<Time, String> {
    let bad = || format!("'{s}' is not a time of day; use HH:MM (24-hour, UTC)");
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u8 = h.parse().map_err(|_| bad())?;
    let m: u8 = m.parse().map_err(|_| bad())?;
    Time::from_hms(h, m, 0).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, time};

    const SECURITY: Uuid = Uuid::from_u128(1);
    const UPDATES: Uuid = Uuid::from_u128(2);
    const WINDOWS: Uuid = Uuid::from_u128(10);
    const WINDOWS_11: Uuid = Uuid::from_u128(11);
    const OFFICE: Uuid = Uuid::from_u128(20);

    fn update(classification: Uuid, product: Uuid) -> Candidate {
        Candidate {
            update_id: Uuid::from_u128(100),
            classification: Some(classification),
            categories: vec![classification, product],
            approvable: true,
            ..Candidate::default()
        }
    }

    fn tree() -> HashMap<Uuid, Uuid> {
        HashMap::from([(WINDOWS_11, WINDOWS)])
    }

    #[test]
    fn classification_and_product_must_both_match_and_empty_means_any() {
        let security = Criteria { classifications: &[SECURITY], products: &[] };
        assert!(matches(security, &update(SECURITY, OFFICE), &tree()));
        assert!(!matches(security, &update(UPDATES, OFFICE), &tree()));
        let unclassified = Candidate { classification: None, ..update(SECURITY, OFFICE) };
        assert!(!matches(security, &unclassified, &tree()), "no classification known: not a security update");

        let both = Criteria { classifications: &[SECURITY], products: &[WINDOWS_11] };
        assert!(matches(both, &update(SECURITY, WINDOWS_11), &tree()));
        assert!(!matches(both, &update(SECURITY, OFFICE), &tree()));
        assert!(!matches(both, &update(UPDATES, WINDOWS_11), &tree()));

        let anything = Criteria { classifications: &[], products: &[] };
        assert!(matches(anything, &update(UPDATES, OFFICE), &tree()));
    }

    #[test]
    fn a_product_family_covers_the_products_under_it() {
        let family = Criteria { classifications: &[], products: &[WINDOWS] };
        assert!(matches(family, &update(SECURITY, WINDOWS_11), &tree()));
        assert!(!matches(family, &update(SECURITY, OFFICE), &tree()));
        // A cycle in the category data ends the walk.
        let cycle = HashMap::from([(OFFICE, UPDATES), (UPDATES, OFFICE)]);
        assert!(!matches(family, &update(SECURITY, OFFICE), &cycle));
    }

    #[test]
    fn declined_expired_and_bundled_updates_are_skipped_only_when_covered() {
        let security = Criteria { classifications: &[SECURITY], products: &[] };
        assert_eq!(verdict(security, &update(SECURITY, OFFICE), &tree()), Verdict::Approve);
        let declined = Candidate { declined: true, ..update(SECURITY, OFFICE) };
        assert_eq!(verdict(security, &declined, &tree()), Verdict::Skip("declined"));
        let expired = Candidate { expired: true, ..update(SECURITY, OFFICE) };
        assert_eq!(verdict(security, &expired, &tree()), Verdict::Skip("expired"));
        let bundled = Candidate { approvable: false, ..update(SECURITY, OFFICE) };
        assert!(matches!(verdict(security, &bundled, &tree()), Verdict::Skip(_)));
        let other = Candidate { declined: true, ..update(UPDATES, OFFICE) };
        assert_eq!(verdict(security, &other, &tree()), Verdict::NoMatch);
    }

    #[test]
    fn deadlines_count_days_from_the_approval_day_at_the_time_given() {
        let approved = datetime!(2026-03-10 17:45 UTC);
        assert_eq!(deadline(approved, 7, time!(3:00)), datetime!(2026-03-17 3:00 UTC));
        assert_eq!(deadline(approved, 0, time!(23:30)), datetime!(2026-03-10 23:30 UTC));
        // The approval day is the UTC day, whatever offset the time came with.
        let local = datetime!(2026-03-11 00:30 +02:00);
        assert_eq!(deadline(local, 1, time!(12:00)), datetime!(2026-03-11 12:00 UTC));
    }

    #[test]
    fn times_of_day_parse_strictly() {
        assert_eq!(parse_time_of_day("03:00"), Ok(time!(3:00)));
        assert_eq!(parse_time_of_day("7:05"), Ok(time!(7:05)));
        for bad in ["24:00", "12:60", "12", "12:5", "ab:cd", "", "-1:00", "123:00"] {
            assert!(parse_time_of_day(bad).is_err(), "{bad}");
        }
    }
}
