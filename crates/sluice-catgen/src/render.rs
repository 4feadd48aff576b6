//! Rendering: one `upd:Update` document from the plan.
//!
//! Documents follow the shapes of real Microsoft Update documents (element order, attribute
//! sets, the way bundles, bundled leaves and categories are written; see
//! `tests/fixtures/wsus-rs/docs/`). Each update draws its details (file digests, languages,
//! rule variations) from its own random stream, so every revision of an update repeats the
//! same content and documents can be rendered in any order.
//!
//! This file holds what every document shares (the root element, identity, publication and
//! prerequisites); each kind of document is rendered by its own module.

mod category;
mod detectoid;
mod software;
mod writer;

use std::fmt::Write as _;

use sluice_metadata::dom::{escape_attr, escape_text};
use sluice_metadata::ns;
use sluice_metadata::publish::WELL_KNOWN_CLASSIFICATIONS;

use crate::SYNTHETIC_PUBLISHER_ID;
use crate::names::{
    Arch, CATEGORY_LANGUAGES, COMPANIES, FAMILIES, LANGUAGES, OFFICE_COMPONENTS, OS_TARGETS, OsTarget, PRODUCTS,
    Phrase, ProductDef, ProductType, class, phrasebook,
};
use crate::plan::{DetRule, DocRef, NOW, Plan, Role, STREAM_RENDER, Series, SeriesKind, Sw, Upd, What};
use crate::rng::{Quantiles, Rng};
use category::category;
use detectoid::detectoid;
use software::software;
use writer::{W, base64, datetime, year_month};

const HKLM: &str = "HKEY_LOCAL_MACHINE";
const CURRENT_VERSION: &str = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion";
const DEFENDER: &str = r"SOFTWARE\Microsoft\Windows Defender";
/// CSIDL numbers prefixing `Path` in file rules.
const CSIDL_COMMON_APPDATA: &str = "35";
const CSIDL_WINDOWS: &str = "36";
const CSIDL_SYSTEM: &str = "37";
const CSIDL_PROGRAM_FILES: &str = "38";
const CSIDL_PROGRAM_FILESX86: &str = "42";

/// What the revision being rendered changes.
struct Rev {
    number: i32,
    index: u8,
    date: i64,
    expired: bool,
}

fn rev_of(u: &Upd, index: u8) -> Rev {
    let expired = u.expired_last && index + 1 == u.revisions;
    let date = if expired {
        (u.created + 560 * 86_400).min(NOW - 3_600).max(u.created + 3_600)
    } else {
        u.created + index as i64 * 9 * 86_400
    };
    Rev { number: u.first_rev + index as i32, index, date, expired }
}

/// Renders document `d` of `plan` into `out` (which is cleared first).
pub(crate) fn render(plan: &Plan, d: DocRef, out: &mut String) {
    out.clear();
    let u = &plan.updates[d.update as usize];
    let rev = rev_of(u, d.rev);
    let mut rng = Rng::derive(plan.seed, STREAM_RENDER, d.update as u64);
    match &u.what {
        What::Company(_) | What::Family(_) | What::Product(_) | What::Classification(_) => {
            category(plan, u, &rev, &mut rng, out)
        }
        What::Detectoid(rule) => detectoid(plan, u, *rule, &rev, &mut rng, out),
        What::Software(sw) => software(plan, u, sw, &rev, &mut rng, out),
    }
}

fn root(w: &mut W<'_>, decls: &[(&str, &str)]) {
    w.start("upd:Update");
    for (p, uri) in decls {
        w.0.push_str(" xmlns:");
        w.0.push_str(p);
        w.0.push_str("=\"");
        w.0.push_str(uri);
        w.0.push('"');
    }
    w.open_end();
}

fn identity(w: &mut W<'_>, u: &Upd, rev: &Rev) {
    w.start("upd:UpdateIdentity");
    let mut buf = uuid::Uuid::encode_buffer();
    w.attr("UpdateID", u.id.hyphenated().encode_lower(&mut buf)).attr_n("RevisionNumber", rev.number).empty_end();
}

fn publication(w: &mut W<'_>, rev: &Rev) {
    w.attr("PublicationState", if rev.expired { "Expired" } else { "Published" });
    let mut date = String::with_capacity(24);
    datetime(rev.date, true, &mut date);
    w.attr("CreationDate", &date).attr("PublisherID", SYNTHETIC_PUBLISHER_ID);
}

fn prerequisites(w: &mut W<'_>, plan: &Plan, u: &Upd) {
    if u.bare.is_empty() && u.groups.is_empty() {
        return;
    }
    w.open("upd:Prerequisites");
    for &b in &u.bare {
        w.identity_ref(plan, b, false);
    }
    for g in &u.groups {
        w.start("upd:AtLeastOne");
        if g.category {
            w.attr("IsCategory", "true");
        }
        w.open_end();
        for &m in &g.members {
            w.identity_ref(plan, m, false);
        }
        w.close("upd:AtLeastOne");
    }
    w.close("upd:Prerequisites");
}
