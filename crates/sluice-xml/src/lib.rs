//! A small, namespace-aware element tree for the XML Sluice receives: update documents and
//! SOAP messages.
//!
//! These documents are small (update documents median well under 10 KB, SOAP requests a few KB)
//! and every consumer (model extraction, fragment generation, verbatim rule capture, request
//! decoding) needs random access to siblings, so a tree built in one quick-xml pass is simpler
//! than several streaming passes and costs microseconds.
//! Entities other than the five predefined ones and character references are refused, as is
//! any DOCTYPE: nothing from a document can make us expand or fetch anything. Characters XML 1.0
//! forbids (most C0 controls, U+FFFE, U+FFFF), raw or as character references, are refused too:
//! .NET's parser refuses them, so a real WSUS never sees them, and they would otherwise reach
//! the database and administrators' terminals.

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{QName, ResolveResult};
use quick_xml::NsReader;


/// Deepest element nesting accepted; real documents stay below 40.
pub const MAX_DEPTH: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// Namespace URI, empty when the attribute is unqualified.
    pub ns: String,
    pub local: String,
    pub qname: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Namespace URI, empty when the element is in no namespace.
    pub ns: String,
    pub local: String,
    pub qname: String,
    pub attrs: Vec<Attr>,
    /// Namespace declarations made on this element: (prefix, uri), prefix empty for the default.
    pub ns_decls: Vec<(String, String)>,
    pub children: Vec<Node>,
    /// Written as `<x/>` in the source (as opposed to `<x></x>`).
    pub self_closing: bool,
}

impl Element {
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.local == local && self.ns == ns
    }

    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.local == local && a.ns.is_empty())
            .map(|a| a.value.as_str())
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    pub fn child(&self, ns: &str, local: &str) -> Option<&Element> {
        self.elements().find(|e| e.is(ns, local))
    }

    pub fn children_named<'a>(&'a self, ns: &'a str, local: &'a str) -> impl Iterator<Item = &'a Element> {
        self.elements().filter(move |e| e.is(ns, local))
    }

    /// Concatenated text of the direct text children.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                s.push_str(t);
            }
        }
        s
    }

    pub fn child_text(&self, ns: &str, local: &str) -> Option<String> {
        self.child(ns, local).map(|e| e.text())
    }
}

/// Why a document is not acceptable XML. `document` is the name the caller gave it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{document}: not well-formed XML: {reason}")]
pub struct XmlError {
    pub document: String,
    pub reason: String,
}

fn xml_err(doc: &str, reason: impl std::fmt::Display) -> XmlError {
    XmlError { document: doc.to_string(), reason: reason.to_string() }
}

fn resolved_ns(r: &ResolveResult<'_>, doc: &str, name: &str) -> Result<String, XmlError> {
    match r {
        ResolveResult::Bound(ns) => Ok(ns.into_inner().to_string()),
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(p) => Err(xml_err(doc, format!("undeclared namespace prefix '{p}' on '{name}'"))),
    }
}

/// Whether XML 1.0 allows `c` in a document (production `Char`; surrogates cannot occur in a
/// Rust `char`).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn forbidden_char(c: char) -> String {
    format!("character U+{:04X} is not allowed in XML 1.0", c as u32)
}

/// Parses a whole document into its root element.
///
/// `doc` names the document in error messages.
pub fn parse(xml: &str, doc: &str) -> Result<Element, XmlError> {
    // One pass over the raw text covers names, text, attributes, comments and PIs alike;
    // character references are checked where they are resolved.
    if let Some((i, c)) = xml.char_indices().find(|&(_, c)| !is_xml_char(c)) {
        return Err(xml_err(doc, format!("at byte {i}: {}", forbidden_char(c))));
    }
    let mut reader = NsReader::from_str(xml);
    reader.config_mut().trim_text(false);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let pos = reader.buffer_position();
        let (res, ev) = reader
            .read_resolved_event()
            .map_err(|e| xml_err(doc, format!("after byte {pos}: {e}")))?;
        let ns = match &ev {
            Event::Start(s) | Event::Empty(s) => Some(resolved_ns(&res, doc, s.name().into_inner())?),
            _ => None,
        };
        match ev {
            Event::Start(s) | Event::Empty(s) if root.is_some() => {
                let _ = s;
                return Err(xml_err(doc, "content after the root element"));
            }
            Event::Start(s) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(xml_err(doc, format!("elements nested deeper than {MAX_DEPTH}")));
                }
                let el = start_element(&reader, &s, ns.unwrap_or_default(), false, doc)?;
                stack.push(el);
            }
            Event::Empty(s) => {
                let el = start_element(&reader, &s, ns.unwrap_or_default(), true, doc)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(el)),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| xml_err(doc, "unbalanced end tag"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(el)),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let text = t.xml10_content();
                push_text(&mut stack, &root, &text, doc)?;
            }
            Event::CData(c) => {
                let text = c.xml10_content();
                push_text(&mut stack, &root, &text, doc)?;
            }
            Event::GeneralRef(r) => {
                let ch: String = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) if is_xml_char(c) => c.to_string(),
                        Ok(Some(c)) => {
                            return Err(xml_err(doc, format!("after byte {pos}: reference to {}", forbidden_char(c))));
                        }
                        _ => return Err(xml_err(doc, "invalid character reference")),
                    }
                } else {
                    match r.xml10_content().as_ref() {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        other => return Err(xml_err(doc, format!("entity '&{other};' is not allowed"))),
                    }
                };
                push_text(&mut stack, &root, &ch, doc)?;
            }
            Event::DocType(_) => return Err(xml_err(doc, "DOCTYPE declarations are not allowed")),
            Event::Comment(_) | Event::PI(_) | Event::Decl(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(xml_err(doc, "document ends inside an element"));
    }
    root.ok_or_else(|| xml_err(doc, "no root element"))
}

fn push_text(stack: &mut [Element], root: &Option<Element>, text: &str, doc: &str) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(parent) => {
            if let Some(Node::Text(prev)) = parent.children.last_mut() {
                prev.push_str(text);
            } else {
                parent.children.push(Node::Text(text.to_string()));
            }
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None if root.is_some() => Err(xml_err(doc, "text after the root element")),
        None => Err(xml_err(doc, "text before the root element")),
    }
}

fn start_element(
    reader: &NsReader<&[u8]>,
    s: &BytesStart<'_>,
    ns: String,
    self_closing: bool,
    doc: &str,
) -> Result<Element, XmlError> {
    let qname = s.name().into_inner().to_string();
    let local = s.local_name().into_inner().to_string();
    let mut attrs = Vec::new();
    let mut ns_decls = Vec::new();
    for a in s.attributes() {
        let a = a.map_err(|e| xml_err(doc, format!("bad attribute on '{qname}': {e}")))?;
        let key = a.key.into_inner();
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| xml_err(doc, format!("bad value of attribute '{key}' on '{qname}': {e}")))?
            .into_owned();
        // The raw text was checked; what a character reference in the value stands for was not.
        if let Some(c) = value.chars().find(|&c| !is_xml_char(c)) {
            return Err(xml_err(doc, format!("value of attribute '{key}' on '{qname}': {}", forbidden_char(c))));
        }
        if key == "xmlns" {
            ns_decls.push((String::new(), value));
            continue;
        }
        if let Some(p) = key.strip_prefix("xmlns:") {
            ns_decls.push((p.to_string(), value));
            continue;
        }
        let (res, local_name) = reader.resolver().resolve_attribute(QName(key));
        let ans = resolved_ns(&res, doc, key)?;
        attrs.push(Attr { ns: ans, local: local_name.into_inner().to_string(), qname: key.to_string(), value });
    }
    Ok(Element { ns, local, qname, attrs, ns_decls, children: Vec::new(), self_closing })
}

/// Escapes text content the way .NET's XmlWriter does (`&`, `<`, `>`).
pub fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

/// Escapes an attribute value for a double-quoted attribute.
pub fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            '\t' => out.push_str("&#x9;"),
            c => out.push(c),
        }
    }
}

/// Serialises an element as standalone well-formed XML with its original qualified names,
/// declaring on it every namespace in scope (`scope`: declarations of its ancestors, outermost
/// first), so that a subtree cut out of a document (an applicability rule) parses on its own.
pub fn to_standalone_xml(el: &Element, scope: &[(String, String)]) -> String {
    let mut out = String::with_capacity(256);
    let mut decls: Vec<(String, String)> = Vec::new();
    for (p, u) in scope.iter().chain(el.ns_decls.iter()) {
        if let Some(slot) = decls.iter_mut().find(|(q, _)| q == p) {
            slot.1 = u.clone();
        } else {
            decls.push((p.clone(), u.clone()));
        }
    }
    write_plain(el, &mut out, Some(&decls));
    out
}

fn write_plain(el: &Element, out: &mut String, decls: Option<&[(String, String)]>) {
    out.push('<');
    out.push_str(&el.qname);
    let own: &[(String, String)] = decls.unwrap_or(&el.ns_decls);
    for (p, u) in own {
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
    for a in &el.attrs {
        out.push(' ');
        out.push_str(&a.qname);
        out.push_str("=\"");
        escape_attr(&a.value, out);
        out.push('"');
    }
    if el.children.is_empty() && el.self_closing {
        out.push_str(" />");
        return;
    }
    out.push('>');
    for n in &el.children {
        match n {
            Node::Element(c) => write_plain(c, out, None),
            Node::Text(t) => escape_text(t, out),
        }
    }
    out.push_str("</");
    out.push_str(&el.qname);
    out.push('>');
}
