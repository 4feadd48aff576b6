//! Reading a SOAP 1.1 envelope and the elements inside it, with parameter paths for the error
//! messages WSUS puts in an `InvalidParameters` fault.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use sluice_xml::{Element, Node};
use uuid::Uuid;

use crate::ns;

/// Why a message body could not be decoded: a request on the receiving side, a response on the
/// calling side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The body exceeds the limit the caller gave [`parse_envelope`].
    #[error("message body of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge { len: usize, limit: usize },
    /// Well-formed XML, but not a SOAP 1.1 envelope with one body element.
    #[error("not a SOAP 1.1 message: {0}")]
    NotSoap(String),
    /// Not well-formed XML, not UTF-8/UTF-16, a DOCTYPE or entity, or nesting too deep.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The body element of a request is not an operation of the services the codec serves.
    #[error("unknown operation {{{ns}}}{name}")]
    UnknownOperation { ns: String, name: String },
    /// A response carries another element than the response of the operation that was called.
    #[error("expected {expected}, got {{{ns}}}{name}")]
    UnexpectedResponse { expected: String, ns: String, name: String },
    /// A value of the wrong type; `name` is its path below the operation element
    /// (`parameters.InstalledNonLeafUpdateIDs`, `filter.Categories.IdAndDelta.Id`).
    #[error("invalid parameter {name}: {reason}")]
    InvalidParameter { name: String, reason: String },
}

// ---------------------------------------------------------------------------------------------
// Envelope
// ---------------------------------------------------------------------------------------------

/// The body as text: UTF-8 (an optional BOM dropped) or BOM-marked UTF-16 of either order.
pub fn body_text(body: &[u8]) -> Result<Cow<'_, str>, DecodeError> {
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

/// Parses an envelope of at most `limit` bytes with [`sluice_xml`] (no DTDs, no entities, bounded
/// depth) and returns its root, from which [`body_element`] takes the operation. `what` names
/// the message in parser errors.
pub fn parse_envelope(body: &[u8], limit: usize, what: &str) -> Result<Element, DecodeError> {
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

/// The one element of the envelope's `Body` (any `Header` is ignored: neither protocol has one).
/// A body with several operations is refused: answering the first would tell the sender the
/// rest were done.
pub fn body_element(root: &Element) -> Result<&Element, DecodeError> {
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
// Parameter paths, rendered only when an error is reported
// ---------------------------------------------------------------------------------------------

/// Where a value sits below the operation element, as WSUS names it in a fault `Message`
/// (`parameters.InstalledNonLeafUpdateIDs`). Built on the stack as decoding descends; turned into
/// a string only for an error.
#[derive(Clone, Copy)]
pub struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    name: &'a str,
}

impl<'a> Path<'a> {
    /// The operation element itself.
    pub const ROOT: Path<'static> = Path { parent: None, name: "" };

    pub fn child<'b>(&'b self, name: &'b str) -> Path<'b>
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

/// An [`DecodeError::InvalidParameter`] at `path`.
pub fn invalid(path: Path<'_>, reason: impl Into<String>) -> DecodeError {
    DecodeError::InvalidParameter { name: path.to_string(), reason: reason.into() }
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/// Whether an element carries `xsi:nil="true"`.
pub fn is_nil(el: &Element) -> bool {
    el.attrs.iter().any(|a| a.local == "nil" && a.ns == ns::XSI && matches!(a.value.trim(), "true" | "1"))
}

/// Text of an element without allocating in the common single-text-node case.
pub fn text(el: &Element) -> Cow<'_, str> {
    match el.children.as_slice() {
        [] => Cow::Borrowed(""),
        [Node::Text(t)] => Cow::Borrowed(t.as_str()),
        _ => Cow::Owned(el.text()),
    }
}

/// A prefix of an offending value for error messages, so one huge value cannot bloat a log line.
pub fn clip(s: &str) -> &str {
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

/// A number; `what` names its schema type in the error (`an int`, `a long`).
pub fn parse_num<T: FromStr>(s: &str, path: Path<'_>, what: &str) -> Result<T, DecodeError> {
    s.trim().parse::<T>().map_err(|_| invalid(path, format!("'{}' is not {what}", clip(s))))
}

/// An `xs:boolean`: `true`, `false`, `1` or `0`.
pub fn parse_bool(s: &str, path: Path<'_>) -> Result<bool, DecodeError> {
    match s.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(invalid(path, format!("'{}' is not a boolean", clip(other)))),
    }
}

pub fn parse_guid(s: &str, path: Path<'_>) -> Result<Uuid, DecodeError> {
    Uuid::parse_str(s.trim()).map_err(|_| invalid(path, format!("'{}' is not a GUID", clip(s))))
}

pub fn parse_base64(s: &str, path: Path<'_>) -> Result<Vec<u8>, DecodeError> {
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

// ---------------------------------------------------------------------------------------------
// Element access
// ---------------------------------------------------------------------------------------------

/// Reads the children of one operation or response element. Children are qualified with the
/// service namespace (`elementFormDefault="qualified"`); unqualified children are accepted as
/// well, since nothing else could be meant by them. Absent and `xsi:nil` are the same.
pub struct Reader {
    pub ns: &'static str,
}

impl Reader {
    pub fn named(&self, el: &Element, local: &str) -> bool {
        el.local == local && (el.ns == self.ns || el.ns.is_empty())
    }

    /// The first child called `local`, unless absent or `xsi:nil`.
    pub fn field<'e>(&self, parent: &'e Element, local: &str) -> Option<&'e Element> {
        parent.elements().find(|e| self.named(e, local)).filter(|e| !is_nil(e))
    }

    /// Array items: the non-nil children called `item` of the child `array`.
    pub fn items<'e>(&'e self, parent: &'e Element, array: &str, item: &'e str) -> impl Iterator<Item = &'e Element> + 'e {
        self.field(parent, array).into_iter().flat_map(move |a| self.children(a, item))
    }

    /// The non-nil children called `item` of `array`.
    pub fn children<'e>(&'e self, array: &'e Element, item: &'e str) -> impl Iterator<Item = &'e Element> + 'e {
        array.elements().filter(move |e| self.named(e, item) && !is_nil(e))
    }

    pub fn string(&self, parent: &Element, local: &str) -> Option<String> {
        self.field(parent, local).map(|e| text(e).into_owned())
    }

    /// A string that XmlSerializer would leave null when absent; empty here.
    pub fn string_or_empty(&self, parent: &Element, local: &str) -> String {
        self.string(parent, local).unwrap_or_default()
    }

    /// For dateTime and other whitespace-collapsing values kept as strings.
    pub fn trimmed(&self, parent: &Element, local: &str) -> Option<String> {
        self.field(parent, local).map(|e| text(e).trim().to_string())
    }

    pub fn num<T: FromStr>(
        &self,
        parent: &Element,
        local: &str,
        path: Path<'_>,
        what: &str,
    ) -> Result<Option<T>, DecodeError> {
        self.field(parent, local).map(|e| parse_num(&text(e), path.child(local), what)).transpose()
    }

    pub fn int(&self, parent: &Element, local: &str, path: Path<'_>) -> Result<Option<i32>, DecodeError> {
        self.num(parent, local, path, "an int")
    }

    /// An `int` the schema requires; 0 when absent, as XmlSerializer would leave it.
    pub fn int0(&self, parent: &Element, local: &str, path: Path<'_>) -> Result<i32, DecodeError> {
        Ok(self.int(parent, local, path)?.unwrap_or_default())
    }

    pub fn bool(&self, parent: &Element, local: &str, path: Path<'_>) -> Result<Option<bool>, DecodeError> {
        self.field(parent, local).map(|e| parse_bool(&text(e), path.child(local))).transpose()
    }

    /// A `boolean` the schema requires; false when absent, as XmlSerializer would leave it.
    pub fn bool0(&self, parent: &Element, local: &str, path: Path<'_>) -> Result<bool, DecodeError> {
        Ok(self.bool(parent, local, path)?.unwrap_or(false))
    }

    pub fn guid(&self, parent: &Element, local: &str, path: Path<'_>) -> Result<Option<Uuid>, DecodeError> {
        self.field(parent, local).map(|e| parse_guid(&text(e), path.child(local))).transpose()
    }

    /// A `guid` the schema requires; the nil GUID when absent (`Guid.Empty` in .NET).
    pub fn guid0(&self, parent: &Element, local: &str, path: Path<'_>) -> Result<Uuid, DecodeError> {
        Ok(self.guid(parent, local, path)?.unwrap_or_default())
    }

    pub fn base64(&self, parent: &Element, local: &str, path: Path<'_>) -> Result<Option<Vec<u8>>, DecodeError> {
        self.field(parent, local).map(|e| parse_base64(&text(e), path.child(local))).transpose()
    }

    pub fn int_array(&self, parent: &Element, local: &str, path: Path<'_>) -> Result<Vec<i32>, DecodeError> {
        let path = path.child(local);
        self.items(parent, local, "int").map(|e| parse_num(&text(e), path, "an int")).collect()
    }

    pub fn guid_array(&self, parent: &Element, local: &str, path: Path<'_>) -> Result<Vec<Uuid>, DecodeError> {
        let path = path.child(local);
        self.items(parent, local, "guid").map(|e| parse_guid(&text(e), path)).collect()
    }

    pub fn base64_array(&self, parent: &Element, local: &str, path: Path<'_>) -> Result<Vec<Vec<u8>>, DecodeError> {
        let path = path.child(local);
        self.items(parent, local, "base64Binary").map(|e| parse_base64(&text(e), path)).collect()
    }

    /// The `item` children of `array` as strings: items are nillable in `ArrayOfString`, and a
    /// nil one keeps its position as an empty string.
    pub fn string_items(&self, array: &Element, item: &str) -> Vec<String> {
        array
            .elements()
            .filter(|e| self.named(e, item))
            .map(|e| if is_nil(e) { String::new() } else { text(e).into_owned() })
            .collect()
    }

    /// [`Reader::string_items`] of the child `local`; empty when it is absent.
    pub fn string_array(&self, parent: &Element, local: &str, item: &str) -> Vec<String> {
        self.field(parent, local).map(|a| self.string_items(a, item)).unwrap_or_default()
    }

    /// The unqualified attribute `local` of `el` as a number, as the schemas declare them.
    pub fn attr_num<T: FromStr>(
        &self,
        el: &Element,
        local: &str,
        path: Path<'_>,
        what: &str,
    ) -> Result<Option<T>, DecodeError> {
        el.attr(local).map(|v| parse_num(v, path.child(local), what)).transpose()
    }

    pub fn attr_guid(&self, el: &Element, local: &str, path: Path<'_>) -> Result<Option<Uuid>, DecodeError> {
        el.attr(local).map(|v| parse_guid(v, path.child(local))).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_like_wsus_messages() {
        let p = Path::ROOT.child("parameters");
        assert_eq!(p.child("InstalledNonLeafUpdateIDs").to_string(), "parameters.InstalledNonLeafUpdateIDs");
        let f = Path::ROOT.child("filter");
        assert_eq!(f.child("Categories").child("IdAndDelta").to_string(), "filter.Categories.IdAndDelta");
        assert_eq!(Path::ROOT.child("revisionIDs").to_string(), "revisionIDs");
    }

    #[test]
    fn clip_respects_char_boundaries() {
        let s = "é".repeat(100);
        let c = clip(&s);
        assert!(c.len() <= 64 && s.starts_with(c));
    }

    #[test]
    fn envelope_must_be_soap_1_1_with_one_operation() {
        let env = |body: &str| {
            format!(r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>{body}</s:Body></s:Envelope>"#)
        };
        let root = parse_envelope(env("<A/>").as_bytes(), 1 << 20, "test").expect("envelope");
        assert_eq!(body_element(&root).map(|e| e.local.as_str()), Ok("A"));
        let two = parse_envelope(env("<A/><B/>").as_bytes(), 1 << 20, "test").expect("envelope");
        assert!(matches!(body_element(&two), Err(DecodeError::NotSoap(_))));
        let soap12 = r#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"/>"#;
        assert!(matches!(parse_envelope(soap12.as_bytes(), 1 << 20, "test"), Err(DecodeError::NotSoap(m)) if m.contains("1.2")));
        assert!(matches!(parse_envelope(b"<a/>", 2, "test"), Err(DecodeError::TooLarge { len: 4, limit: 2 })));
    }
}
