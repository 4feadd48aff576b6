//! What every message shares: the envelope, a byte writer in ASMX style, and element access for
//! decoding with parameter paths for error messages.

use std::borrow::Cow;
use std::fmt;
use std::io::Write as _;
use std::str::FromStr;

use base64::Engine as _;
use sluice_xml::{Element, Node};
use uuid::Uuid;

use crate::error::DecodeError;
use crate::ns;
use crate::types::{AuthorizationCookie, Cookie, UpdateIdentity};

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

/// What ASMX writes around every message, request or response: the .NET client proxy of a real
/// WSUS downstream and the real upstream both produce exactly this.
const ENVELOPE_OPEN: &str = concat!(
    r#"<?xml version="1.0" encoding="utf-8"?>"#,
    r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" "#,
    r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">"#,
    "<soap:Body>"
);
const ENVELOPE_CLOSE: &str = "</soap:Body></soap:Envelope>";

/// .NET's `DateTime.MinValue` as XmlSerializer writes it.
const DATETIME_MIN: &str = "0001-01-01T00:00:00";

/// Fixed cost of an envelope and an operation wrapper, for capacity estimates.
pub(crate) const ENVELOPE_BYTES: usize = 400;

pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    /// Opens the envelope and the body.
    pub(crate) fn envelope(capacity: usize) -> Writer {
        let mut w = Writer { buf: Vec::with_capacity(capacity.max(ENVELOPE_BYTES)) };
        w.raw(ENVELOPE_OPEN);
        w
    }

    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.raw(ENVELOPE_CLOSE);
        self.buf
    }

    pub(crate) fn raw(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
    }

    /// `<name xmlns="ns">`: the operation or response wrapper.
    pub(crate) fn open_ns(&mut self, name: &str, namespace: &str) {
        self.buf.push(b'<');
        self.raw(name);
        self.raw(" xmlns=\"");
        self.raw(namespace);
        self.raw("\">");
    }

    /// `<name xmlns="ns" />`: an operation or response without content.
    pub(crate) fn empty_ns(&mut self, name: &str, namespace: &str) {
        self.buf.push(b'<');
        self.raw(name);
        self.raw(" xmlns=\"");
        self.raw(namespace);
        self.raw("\" />");
    }

    pub(crate) fn open(&mut self, name: &str) {
        self.buf.push(b'<');
        self.raw(name);
        self.buf.push(b'>');
    }

    pub(crate) fn close(&mut self, name: &str) {
        self.raw("</");
        self.raw(name);
        self.buf.push(b'>');
    }

    /// `<name />`, with the space ASMX puts before the slash.
    pub(crate) fn empty(&mut self, name: &str) {
        self.buf.push(b'<');
        self.raw(name);
        self.raw(" />");
    }

    /// `<name>text</name>` escaped, or `<name />` for the empty string (as XmlSerializer does).
    pub(crate) fn text(&mut self, name: &str, value: &str) {
        if value.is_empty() {
            self.empty(name);
            return;
        }
        self.open(name);
        escape_text_into(value, &mut self.buf);
        self.close(name);
    }

    /// A required `xs:dateTime`, verbatim; an empty value is written as .NET's
    /// `DateTime.MinValue`, which is what an unset date-time is on the wire (an empty element
    /// would not be a valid `xs:dateTime`).
    pub(crate) fn datetime(&mut self, name: &str, value: &str) {
        self.text(name, if value.is_empty() { DATETIME_MIN } else { value });
    }

    /// [`Writer::text`] when `Some`, nothing when `None` (XmlSerializer omits null strings).
    pub(crate) fn opt_text(&mut self, name: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.text(name, v);
        }
    }

    pub(crate) fn int(&mut self, name: &str, value: impl fmt::Display) {
        self.open(name);
        // Writing into a Vec cannot fail.
        let _ = write!(self.buf, "{value}");
        self.close(name);
    }

    pub(crate) fn bool(&mut self, name: &str, value: bool) {
        self.open(name);
        self.raw(if value { "true" } else { "false" });
        self.close(name);
    }

    /// Lower-case hyphenated, as .NET's `Guid.ToString()` writes it.
    pub(crate) fn guid(&mut self, name: &str, value: &Uuid) {
        self.open(name);
        let mut tmp = [0u8; uuid::fmt::Hyphenated::LENGTH];
        self.raw(value.hyphenated().encode_lower(&mut tmp));
        self.close(name);
    }

    pub(crate) fn base64(&mut self, name: &str, data: &[u8]) {
        if data.is_empty() {
            self.empty(name);
            return;
        }
        self.open(name);
        let start = self.buf.len();
        let len = base64::encoded_len(data.len(), true).unwrap_or(0);
        self.buf.resize(start + len, 0);
        let written = base64::engine::general_purpose::STANDARD.encode_slice(data, &mut self.buf[start..]).unwrap_or(0);
        self.buf.truncate(start + written);
        self.close(name);
    }

    /// An array element that is always written: `<name />` when empty.
    pub(crate) fn array<T>(&mut self, name: &str, items: &[T], mut item: impl FnMut(&mut Writer, &T)) {
        if items.is_empty() {
            self.empty(name);
            return;
        }
        self.open(name);
        for i in items {
            item(self, i);
        }
        self.close(name);
    }

    /// An optional array: omitted when `None`, `<name />` when empty.
    pub(crate) fn opt_array<T>(&mut self, name: &str, items: Option<&[T]>, item: impl FnMut(&mut Writer, &T)) {
        if let Some(items) = items {
            self.array(name, items, item);
        }
    }

    pub(crate) fn guid_array(&mut self, name: &str, ids: &[Uuid]) {
        self.array(name, ids, |w, id| w.guid("guid", id));
    }

    pub(crate) fn base64_array(&mut self, name: &str, items: &[Vec<u8>]) {
        self.array(name, items, |w, d| w.base64("base64Binary", d));
    }

    /// `UpdateIdentity` content under `name`.
    pub(crate) fn identity(&mut self, name: &str, id: &UpdateIdentity) {
        self.open(name);
        self.guid("UpdateID", &id.update_id);
        self.int("RevisionNumber", id.revision_number);
        self.close(name);
    }

    pub(crate) fn identities(&mut self, name: &str, ids: &[UpdateIdentity]) {
        self.array(name, ids, |w, id| w.identity("UpdateIdentity", id));
    }

    pub(crate) fn cookie(&mut self, name: &str, c: &Cookie) {
        self.open(name);
        self.datetime("Expiration", &c.expiration);
        self.base64("EncryptedData", &c.encrypted_data);
        self.close(name);
    }

    pub(crate) fn auth_cookie(&mut self, name: &str, c: &AuthorizationCookie) {
        self.open(name);
        self.text("PlugInId", &c.plugin_id);
        self.base64("CookieData", &c.cookie_data);
        self.close(name);
    }

    /// ` name="value"` with the value escaped for a double-quoted attribute.
    pub(crate) fn attr(&mut self, name: &str, value: &str) {
        self.buf.push(b' ');
        self.raw(name);
        self.raw("=\"");
        let mut s = String::with_capacity(value.len());
        sluice_xml::escape_attr(value, &mut s);
        self.raw(&s);
        self.buf.push(b'"');
    }

    pub(crate) fn opt_attr(&mut self, name: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.attr(name, v);
        }
    }

    /// A required `xs:dateTime` attribute; see [`Writer::datetime`].
    pub(crate) fn attr_datetime(&mut self, name: &str, value: &str) {
        self.attr(name, if value.is_empty() { DATETIME_MIN } else { value });
    }

    pub(crate) fn attr_display(&mut self, name: &str, value: impl fmt::Display) {
        self.attr(name, &value.to_string());
    }
}

/// Escapes text content like [`sluice_xml::escape_text`] (`&`, `<`, `>`, CR), byte-wise: the
/// four characters are ASCII, so UTF-8 sequences pass through untouched. Real WSUS escapes the
/// update XML in `XmlUpdateBlob` exactly this way (`"` stays literal).
pub(crate) fn escape_text_into(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let rep: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'\r' => b"&#xD;",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(rep);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

// ---------------------------------------------------------------------------------------------
// Envelope parsing
// ---------------------------------------------------------------------------------------------

/// The body as text: UTF-8 (an optional BOM dropped) or BOM-marked UTF-16 of either order.
fn body_text(body: &[u8]) -> Result<Cow<'_, str>, DecodeError> {
    let utf16 = |bytes: &[u8], le: bool| -> Result<Cow<'_, str>, DecodeError> {
        if !bytes.len().is_multiple_of(2) {
            return Err(DecodeError::Malformed("UTF-16 body with an odd number of bytes".into()));
        }
        let units = bytes.chunks_exact(2).map(|c| {
            let pair = [c[0], c[1]];
            if le { u16::from_le_bytes(pair) } else { u16::from_be_bytes(pair) }
        });
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map(Cow::Owned)
            .map_err(|_| DecodeError::Malformed("invalid UTF-16".into()))
    };
    match body {
        [0xEF, 0xBB, 0xBF, rest @ ..] => std::str::from_utf8(rest).map(Cow::Borrowed),
        [0xFF, 0xFE, rest @ ..] => return utf16(rest, true),
        [0xFE, 0xFF, rest @ ..] => return utf16(rest, false),
        _ => std::str::from_utf8(body).map(Cow::Borrowed),
    }
    .map_err(|e| DecodeError::Malformed(format!("the body is not UTF-8: {e}")))
}

/// Parses an envelope and returns its root, from which [`body_element`] takes the first element
/// of the `Body`.
pub(crate) fn parse_envelope(body: &[u8], limit: usize, what: &str) -> Result<Element, DecodeError> {
    if body.len() > limit {
        return Err(DecodeError::TooLarge { len: body.len(), limit });
    }
    let text = body_text(body)?;
    let root = sluice_xml::parse(&text, what).map_err(|e| DecodeError::Malformed(e.reason))?;
    if !root.is(ns::SOAP_ENV, "Envelope") {
        return Err(DecodeError::NotSoap(if root.is(ns::SOAP12_ENV, "Envelope") {
            "SOAP 1.2 envelopes are not supported".into()
        } else {
            format!("the root element is {{{}}}{}, not a SOAP 1.1 Envelope", root.ns, root.local)
        }));
    }
    Ok(root)
}

/// The one element of the envelope's `Body` (headers are ignored: the protocol has none).
/// A body with several operations is refused: answering the first would tell the sender the
/// rest were done.
pub(crate) fn body_element(root: &Element) -> Result<&Element, DecodeError> {
    let body =
        root.child(ns::SOAP_ENV, "Body").ok_or_else(|| DecodeError::NotSoap("the envelope has no Body".into()))?;
    let mut elements = body.elements();
    let first = elements.next().ok_or_else(|| DecodeError::NotSoap("the Body is empty".into()))?;
    if elements.next().is_some() {
        return Err(DecodeError::NotSoap("the Body holds more than one operation".into()));
    }
    Ok(first)
}

// ---------------------------------------------------------------------------------------------
// Parameter paths for error messages, rendered only when an error is reported
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
pub(crate) struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    name: &'a str,
}

impl<'a> Path<'a> {
    pub(crate) const ROOT: Path<'static> = Path { parent: None, name: "" };

    pub(crate) fn child<'b>(&'b self, name: &'b str) -> Path<'b>
    where
        'a: 'b,
    {
        Path { parent: Some(self), name }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.parent
            && (!p.name.is_empty() || p.parent.is_some())
        {
            write!(f, "{p}.")?;
        }
        f.write_str(self.name)
    }
}

pub(crate) fn invalid(path: Path<'_>, reason: impl Into<String>) -> DecodeError {
    DecodeError::InvalidParameter { name: path.to_string(), reason: reason.into() }
}

// ---------------------------------------------------------------------------------------------
// Element access
// ---------------------------------------------------------------------------------------------

pub(crate) fn is_nil(el: &Element) -> bool {
    el.attrs.iter().any(|a| a.local == "nil" && a.ns == ns::XSI && matches!(a.value.trim(), "true" | "1"))
}

/// Text of an element without allocating in the common single-text-node case.
pub(crate) fn text(el: &Element) -> Cow<'_, str> {
    match el.children.as_slice() {
        [] => Cow::Borrowed(""),
        [Node::Text(t)] => Cow::Borrowed(t.as_str()),
        _ => Cow::Owned(el.text()),
    }
}

/// A prefix of an offending value for error messages, so one huge value cannot bloat a log line.
fn clip(s: &str) -> &str {
    let max = 64;
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn parse_num<T: FromStr>(s: &str, path: Path<'_>, what: &str) -> Result<T, DecodeError> {
    s.trim().parse::<T>().map_err(|_| invalid(path, format!("'{}' is not {what}", clip(s))))
}

fn parse_bool(s: &str, path: Path<'_>) -> Result<bool, DecodeError> {
    match s.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(invalid(path, format!("'{}' is not a boolean", clip(other)))),
    }
}

fn parse_guid(s: &str, path: Path<'_>) -> Result<Uuid, DecodeError> {
    Uuid::parse_str(s.trim()).map_err(|_| invalid(path, format!("'{}' is not a GUID", clip(s))))
}

fn parse_base64(s: &str, path: Path<'_>) -> Result<Vec<u8>, DecodeError> {
    // xs:base64Binary allows whitespace anywhere; the spec examples wrap long values.
    let compact: Cow<'_, str> = if s.bytes().any(|b| b.is_ascii_whitespace()) {
        Cow::Owned(s.chars().filter(|c| !c.is_ascii_whitespace()).collect())
    } else {
        Cow::Borrowed(s)
    };
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| invalid(path, format!("invalid base64: {e}")))
}

/// Reads the children of one operation or response element. Children are qualified with the
/// service namespace (`elementFormDefault="qualified"`); unqualified children are accepted as
/// well, since nothing else could be meant by them.
pub(crate) struct Reader {
    pub(crate) ns: &'static str,
}

impl Reader {
    pub(crate) fn named(&self, el: &Element, local: &str) -> bool {
        el.local == local && (el.ns == self.ns || el.ns.is_empty())
    }

    /// The first child called `local`, unless absent or `xsi:nil`.
    pub(crate) fn field<'e>(&self, parent: &'e Element, local: &str) -> Option<&'e Element> {
        parent.elements().find(|e| self.named(e, local)).filter(|e| !is_nil(e))
    }

    /// Array items: the non-nil children called `item` of the child `array`.
    pub(crate) fn items<'e>(
        &'e self,
        parent: &'e Element,
        array: &str,
        item: &'e str,
    ) -> impl Iterator<Item = &'e Element> + 'e {
        self.field(parent, array).into_iter().flat_map(move |a| self.children(a, item))
    }

    /// The non-nil children called `item` of `array`.
    pub(crate) fn children<'e>(&'e self, array: &'e Element, item: &'e str) -> impl Iterator<Item = &'e Element> + 'e {
        array.elements().filter(move |e| self.named(e, item) && !is_nil(e))
    }

    pub(crate) fn string(&self, parent: &Element, local: &str) -> Option<String> {
        self.field(parent, local).map(|e| text(e).into_owned())
    }

    /// A string that XmlSerializer would leave null when absent; empty here.
    pub(crate) fn string_or_empty(&self, parent: &Element, local: &str) -> String {
        self.string(parent, local).unwrap_or_default()
    }

    /// For dateTime and other whitespace-collapsing values kept as strings.
    pub(crate) fn trimmed(&self, parent: &Element, local: &str) -> Option<String> {
        self.field(parent, local).map(|e| text(e).trim().to_string())
    }

    pub(crate) fn num<T: FromStr>(
        &self,
        parent: &Element,
        local: &str,
        path: Path<'_>,
        what: &str,
    ) -> Result<Option<T>, DecodeError> {
        self.field(parent, local).map(|e| parse_num(&text(e), path.child(local), what)).transpose()
    }

    pub(crate) fn int(&self, parent: &Element, local: &str, path: Path<'_>) -> Result<Option<i32>, DecodeError> {
        self.num(parent, local, path, "an int")
    }

    /// An `int` the schema requires; 0 when absent, as XmlSerializer would leave it.
    pub(crate) fn int0(&self, parent: &Element, local: &str, path: Path<'_>) -> Result<i32, DecodeError> {
        Ok(self.int(parent, local, path)?.unwrap_or_default())
    }

    pub(crate) fn bool(&self, parent: &Element, local: &str, path: Path<'_>) -> Result<Option<bool>, DecodeError> {
        self.field(parent, local).map(|e| parse_bool(&text(e), path.child(local))).transpose()
    }

    /// A `boolean` the schema requires; false when absent, as XmlSerializer would leave it.
    pub(crate) fn bool0(&self, parent: &Element, local: &str, path: Path<'_>) -> Result<bool, DecodeError> {
        Ok(self.bool(parent, local, path)?.unwrap_or(false))
    }

    pub(crate) fn guid(&self, parent: &Element, local: &str, path: Path<'_>) -> Result<Option<Uuid>, DecodeError> {
        self.field(parent, local).map(|e| parse_guid(&text(e), path.child(local))).transpose()
    }

    /// A `guid` the schema requires; the nil GUID when absent (`Guid.Empty` in .NET).
    pub(crate) fn guid0(&self, parent: &Element, local: &str, path: Path<'_>) -> Result<Uuid, DecodeError> {
        Ok(self.guid(parent, local, path)?.unwrap_or_default())
    }

    pub(crate) fn base64(&self, parent: &Element, local: &str, path: Path<'_>) -> Result<Option<Vec<u8>>, DecodeError> {
        self.field(parent, local).map(|e| parse_base64(&text(e), path.child(local))).transpose()
    }

    pub(crate) fn int_array(&self, parent: &Element, local: &str, path: Path<'_>) -> Result<Vec<i32>, DecodeError> {
        let path = path.child(local);
        self.items(parent, local, "int").map(|e| parse_num(&text(e), path, "an int")).collect()
    }

    pub(crate) fn guid_array(&self, parent: &Element, local: &str, path: Path<'_>) -> Result<Vec<Uuid>, DecodeError> {
        let path = path.child(local);
        self.items(parent, local, "guid").map(|e| parse_guid(&text(e), path)).collect()
    }

    pub(crate) fn base64_array(
        &self,
        parent: &Element,
        local: &str,
        path: Path<'_>,
    ) -> Result<Vec<Vec<u8>>, DecodeError> {
        let path = path.child(local);
        self.items(parent, local, "base64Binary").map(|e| parse_base64(&text(e), path)).collect()
    }

    /// `ArrayOfString` of `array`: nillable items keep their position as empty strings.
    pub(crate) fn string_items(&self, array: &Element) -> Vec<String> {
        array
            .elements()
            .filter(|e| self.named(e, "string"))
            .map(|e| if is_nil(e) { String::new() } else { text(e).into_owned() })
            .collect()
    }

    pub(crate) fn identity(&self, el: &Element, path: Path<'_>) -> Result<UpdateIdentity, DecodeError> {
        Ok(UpdateIdentity {
            update_id: self.guid0(el, "UpdateID", path)?,
            revision_number: self.int0(el, "RevisionNumber", path)?,
        })
    }

    pub(crate) fn identities(
        &self,
        parent: &Element,
        local: &str,
        path: Path<'_>,
    ) -> Result<Vec<UpdateIdentity>, DecodeError> {
        let path = path.child(local);
        let item_path = path.child("UpdateIdentity");
        self.items(parent, local, "UpdateIdentity").map(|e| self.identity(e, item_path)).collect()
    }

    pub(crate) fn cookie(&self, parent: &Element, local: &str, path: Path<'_>) -> Result<Option<Cookie>, DecodeError> {
        let Some(c) = self.field(parent, local) else {
            return Ok(None);
        };
        Ok(Some(self.cookie_content(c, path.child(local))?))
    }

    pub(crate) fn cookie_content(&self, c: &Element, path: Path<'_>) -> Result<Cookie, DecodeError> {
        Ok(Cookie {
            expiration: self.trimmed(c, "Expiration").unwrap_or_default(),
            encrypted_data: self.base64(c, "EncryptedData", path)?.unwrap_or_default(),
        })
    }

    pub(crate) fn auth_cookie(&self, c: &Element, path: Path<'_>) -> Result<AuthorizationCookie, DecodeError> {
        Ok(AuthorizationCookie {
            plugin_id: self.string_or_empty(c, "PlugInId"),
            cookie_data: self.base64(c, "CookieData", path)?.unwrap_or_default(),
        })
    }

    /// An attribute of `el` (unqualified, as the schemas declare them).
    pub(crate) fn attr<'e>(&self, el: &'e Element, local: &str) -> Option<&'e str> {
        el.attr(local)
    }

    pub(crate) fn attr_num<T: FromStr>(
        &self,
        el: &Element,
        local: &str,
        path: Path<'_>,
        what: &str,
    ) -> Result<Option<T>, DecodeError> {
        el.attr(local).map(|v| parse_num(v, path.child(local), what)).transpose()
    }

    pub(crate) fn attr_guid(&self, el: &Element, local: &str, path: Path<'_>) -> Result<Option<Uuid>, DecodeError> {
        el.attr(local).map(|v| parse_guid(v, path.child(local))).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_like_wsus_messages() {
        let p = Path::ROOT.child("filter");
        assert_eq!(p.child("Categories").child("IdAndDelta").to_string(), "filter.Categories.IdAndDelta");
        assert_eq!(Path::ROOT.child("updateIds").to_string(), "updateIds");
    }

    #[test]
    fn clip_respects_char_boundaries() {
        let s = "é".repeat(100);
        let c = clip(&s);
        assert!(c.len() <= 64 && s.starts_with(c));
    }

    #[test]
    fn byte_escaper_matches_sluice_xml() {
        for s in ["", "plain", "a<b>&c\r\nd", "é<ü>&\u{1F600}\r", "\"quotes' stay\""] {
            let mut expected = String::new();
            sluice_xml::escape_text(s, &mut expected);
            let mut got = Vec::new();
            escape_text_into(s, &mut got);
            assert_eq!(got, expected.as_bytes(), "{s:?}");
        }
    }
}
