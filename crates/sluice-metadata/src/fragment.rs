//! MS-WUSP 3.1.1.1 fragments, precomputed from the full update document at ingest.
//!
//! The fragments are what a client sees of an update: `Core` in SyncUpdates, `Extended`,
//! `LocalizedProperties` and `Eula` in GetExtendedUpdateInfo. They are produced exactly as a
//! real WSUS produces them (checked byte for byte against a real Windows Server 2025 WSUS):
//! - elements in Microsoft's update namespaces lose their prefix, except applicability-rule
//!   namespaces, which become the pseudo-prefixes `b.` (base), `m.` (MSI) and `d.` (driver);
//! - namespace declarations disappear, attributes keep only their local name (`xsi:type` →
//!   `type`) and attribute values are untouched;
//! - elements of foreign namespaces (the CBS `assembly` inside `Metadata`) are copied as written,
//!   with their own declarations;
//! - no XML declaration, no indentation, `<x />` for empty elements written empty in the source.
//! The result is deliberately not well-formed XML (several roots, pseudo-prefixes).

use crate::dom::{escape_attr, escape_text, Element, Node};
use crate::ns;

/// The fragments of one revision.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fragments {
    pub core: String,
    pub extended: String,
    /// One per `LocalizedProperties`, keyed by its `Language` text (as written, e.g. `pt-br`).
    pub localized: Vec<(String, String)>,
    /// One per `EulaFile`, keyed by its `Language` attribute.
    pub eulas: Vec<(String, String)>,
}

/// `Properties` attributes that belong to the Core fragment, in the order real WSUS writes them.
const CORE_PROPERTY_ATTRS: [&str; 5] = ["UpdateType", "ExplicitlyDeployable", "AutoSelectOnWebSites", "EulaID", "OSUpgrade"];

/// `Properties` attributes that never reach the Extended fragment: the Core ones and the
/// server-side bookkeeping a client has no use for.
const NOT_EXTENDED_ATTRS: [&str; 12] = [
    "UpdateType",
    "ExplicitlyDeployable",
    "AutoSelectOnWebSites",
    "EulaID",
    "OSUpgrade",
    "PublicationState",
    "PublisherID",
    "CreationDate",
    "IsPublic",
    "LegacyName",
    "DetectoidType",
    "IsLocallyPublished",
];

fn fragment_name(el: &Element) -> Option<String> {
    if !el.ns.starts_with(ns::MSUS_PREFIX) {
        return None;
    }
    Some(match el.ns.as_str() {
        ns::BAR => format!("b.{}", el.local),
        ns::MSIAR => format!("m.{}", el.local),
        ns::DRIVER => format!("d.{}", el.local),
        _ => el.local.clone(),
    })
}

/// Writes `el` in fragment form.
fn write_el(el: &Element, out: &mut String) {
    let msus_name = fragment_name(el);
    let name: &str = msus_name.as_deref().unwrap_or(&el.qname);
    out.push('<');
    out.push_str(name);
    if msus_name.is_none() {
        // Foreign content keeps its own namespace declarations (WSUS copies it verbatim).
        for (p, u) in &el.ns_decls {
            if p.is_empty() {
                out.push_str(" xmlns=\"");
            } else {
                out.push_str(" xmlns:");
                out.push_str(p);
                out.push_str("=\"");
            }
            escape_attr(u, out);
            out.push('"');
        }
    }
    for a in &el.attrs {
        out.push(' ');
        out.push_str(if msus_name.is_some() { &a.local } else { &a.qname });
        out.push_str("=\"");
        escape_attr(&a.value, out);
        out.push('"');
    }
    write_rest(el, name, out);
}

fn write_rest(el: &Element, name: &str, out: &mut String) {
    if el.children.is_empty() && el.self_closing {
        out.push_str(" />");
        return;
    }
    out.push('>');
    for n in &el.children {
        match n {
            Node::Element(c) => write_el(c, out),
            Node::Text(t) => escape_text(t, out),
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn write_attr(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    escape_attr(value, out);
    out.push('"');
}

/// Computes every fragment of the document rooted at `root` (an `upd:Update`).
pub fn build(root: &Element) -> Fragments {
    let mut f = Fragments::default();
    let u = ns::UPDATE;

    // Core.
    let mut core = String::with_capacity(512);
    if let Some(id) = root.child(u, "UpdateIdentity") {
        write_el(id, &mut core);
    }
    if let Some(p) = root.child(u, "Properties") {
        core.push_str("<Properties");
        for name in CORE_PROPERTY_ATTRS {
            if let Some(v) = p.attr(name) {
                // Real WSUS leaves out flags at their default (false).
                if name != "UpdateType" && (v == "false" || v == "0") {
                    continue;
                }
                write_attr(&mut core, name, v);
            }
        }
        core.push_str(" />");
    }
    for part in ["Relationships", "ApplicabilityRules"] {
        if let Some(el) = root.child(u, part) {
            write_el(el, &mut core);
        }
    }
    f.core = core;

    // Extended.
    let mut ext = String::with_capacity(512);
    if let Some(p) = root.child(u, "Properties") {
        ext.push_str("<ExtendedProperties");
        for a in &p.attrs {
            if a.ns.is_empty() && NOT_EXTENDED_ATTRS.contains(&a.local.as_str()) {
                continue;
            }
            // Real WSUS drops PerUser at its default: the OOBE ZDP category (PerUser="false")
            // has no PerUser in its real Extended fragment (native capture scan/000010).
            if a.ns.is_empty() && a.local == "PerUser" && a.value == "false" {
                continue;
            }
            write_attr(&mut ext, &a.local, &a.value);
        }
        if p.elements().next().is_none() {
            ext.push_str(" />");
        } else {
            ext.push('>');
            for c in p.elements() {
                write_el(c, &mut ext);
            }
            ext.push_str("</ExtendedProperties>");
        }
    }
    for part in ["Files", "HandlerSpecificData"] {
        if let Some(el) = root.child(u, part) {
            write_el(el, &mut ext);
        }
    }
    f.extended = ext;

    // LocalizedProperties and Eula.
    if let Some(coll) = root.child(u, "LocalizedPropertiesCollection") {
        for lp in coll.elements() {
            let mut s = String::with_capacity(256);
            if lp.is(u, "LocalizedProperties") {
                write_el(lp, &mut s);
                f.localized.push((lp.child_text(u, "Language").unwrap_or_default(), s));
            } else if lp.is(u, "EulaFile") {
                write_el(lp, &mut s);
                f.eulas.push((lp.attr("Language").unwrap_or("").to_string(), s));
            }
        }
    }
    f
}
