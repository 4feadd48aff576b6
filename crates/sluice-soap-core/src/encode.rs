//! Writing SOAP 1.1 envelopes the way a real WSUS does, into one `Vec<u8>` sized up front.

use std::fmt;
use std::io::Write as _;

use base64::Engine as _;
use uuid::Uuid;

/// The two serialisations real WSUS uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Style {
    /// The WCF client web service: `s:` prefix, no XML declaration, `xsi`/`xsd` declared on the
    /// `Body` of responses, `<X/>` for empty elements.
    Client,
    /// ASMX (SimpleAuth, Reporting, Server Sync, DSS authorization, and the .NET client proxy of a
    /// downstream): XML declaration, `soap:` prefix, `xsi`/`xsd` declared on the envelope,
    /// `<X />` for empty elements.
    Asmx,
}

const CLIENT_ENVELOPE_OPEN: &str = concat!(
    r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">"#,
    r#"<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">"#
);
/// The client service's faults, unlike its responses, declare nothing on the `Body`.
const CLIENT_FAULT_ENVELOPE_OPEN: &str = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>"#;
const ASMX_ENVELOPE_OPEN: &str = concat!(
    r#"<?xml version="1.0" encoding="utf-8"?>"#,
    r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" "#,
    r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">"#,
    "<soap:Body>"
);

impl Style {
    /// The envelope's namespace prefix.
    pub const fn prefix(self) -> &'static str {
        match self {
            Style::Client => "s",
            Style::Asmx => "soap",
        }
    }

    /// Everything before the body element of a request or response.
    pub const fn envelope_open(self) -> &'static str {
        match self {
            Style::Client => CLIENT_ENVELOPE_OPEN,
            Style::Asmx => ASMX_ENVELOPE_OPEN,
        }
    }

    /// Everything before the `Fault` element.
    pub const fn fault_envelope_open(self) -> &'static str {
        match self {
            Style::Client => CLIENT_FAULT_ENVELOPE_OPEN,
            Style::Asmx => ASMX_ENVELOPE_OPEN,
        }
    }

    /// Everything after the body element.
    pub const fn envelope_close(self) -> &'static str {
        match self {
            Style::Client => "</s:Body></s:Envelope>",
            Style::Asmx => "</soap:Body></soap:Envelope>",
        }
    }
}

/// Appends elements to a buffer in one [`Style`]; values are escaped straight into it.
pub struct Writer {
    pub buf: Vec<u8>,
    style: Style,
}

impl Writer {
    /// An empty buffer; write the envelope yourself or use [`Writer::envelope`].
    pub fn new(style: Style, capacity: usize) -> Writer {
        Writer { buf: Vec::with_capacity(capacity), style }
    }

    /// A buffer that already holds the envelope up to the body element.
    pub fn envelope(style: Style, capacity: usize) -> Writer {
        let mut w = Writer::new(style, capacity);
        w.raw(style.envelope_open());
        w
    }

    /// Closes the envelope opened by [`Writer::envelope`] and returns the message.
    pub fn finish(mut self) -> Vec<u8> {
        self.raw(self.style.envelope_close());
        self.buf
    }

    pub fn style(&self) -> Style {
        self.style
    }

    pub fn raw(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
    }

    pub fn open(&mut self, name: &str) {
        self.buf.push(b'<');
        self.raw(name);
        self.buf.push(b'>');
    }

    pub fn close(&mut self, name: &str) {
        self.raw("</");
        self.raw(name);
        self.buf.push(b'>');
    }

    /// `<name xmlns="ns">`: an operation or response wrapper.
    pub fn open_ns(&mut self, name: &str, namespace: &str) {
        self.buf.push(b'<');
        self.raw(name);
        self.raw(" xmlns=\"");
        self.raw(namespace);
        self.raw("\">");
    }

    /// `<name xmlns="ns" />`: an operation or response without content.
    pub fn empty_ns(&mut self, name: &str, namespace: &str) {
        self.buf.push(b'<');
        self.raw(name);
        self.raw(" xmlns=\"");
        self.raw(namespace);
        self.raw(match self.style {
            Style::Client => "\"/>",
            Style::Asmx => "\" />",
        });
    }

    /// An empty element in the style's form.
    pub fn empty(&mut self, name: &str) {
        self.buf.push(b'<');
        self.raw(name);
        self.raw(match self.style {
            Style::Client => "/>",
            Style::Asmx => " />",
        });
    }

    /// `<name>text</name>` escaped, or the empty form for the empty string (as XmlSerializer
    /// does).
    pub fn text(&mut self, name: &str, value: &str) {
        if value.is_empty() {
            self.empty(name);
            return;
        }
        self.open(name);
        escape_text_into(value, &mut self.buf);
        self.close(name);
    }

    /// [`Writer::text`] when `Some`, nothing when `None` (XmlSerializer omits null strings).
    pub fn opt_text(&mut self, name: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.text(name, v);
        }
    }

    /// `<name>bytes</name>` with bytes that are already escaped, or the empty form.
    pub fn escaped(&mut self, name: &str, value: &[u8]) {
        debug_assert!(!value.contains(&b'<'), "text passed to the writer as escaped is not");
        if value.is_empty() {
            self.empty(name);
            return;
        }
        self.open(name);
        self.buf.extend_from_slice(value);
        self.close(name);
    }

    pub fn int(&mut self, name: &str, value: impl fmt::Display) {
        self.open(name);
        // Writing into a Vec cannot fail.
        let _ = write!(self.buf, "{value}");
        self.close(name);
    }

    pub fn bool(&mut self, name: &str, value: bool) {
        self.open(name);
        self.raw(if value { "true" } else { "false" });
        self.close(name);
    }

    /// Lower-case hyphenated, as .NET's `Guid.ToString()` writes it.
    pub fn guid(&mut self, name: &str, value: &Uuid) {
        self.open(name);
        let mut tmp = [0u8; uuid::fmt::Hyphenated::LENGTH];
        self.raw(value.hyphenated().encode_lower(&mut tmp));
        self.close(name);
    }

    /// Standard base64 with padding, or the empty form for no bytes.
    pub fn base64(&mut self, name: &str, data: &[u8]) {
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

    /// ` name="value"` with the value escaped for a double-quoted attribute.
    pub fn attr(&mut self, name: &str, value: &str) {
        self.buf.push(b' ');
        self.raw(name);
        self.raw("=\"");
        let mut s = String::with_capacity(value.len());
        sluice_xml::escape_attr(value, &mut s);
        self.raw(&s);
        self.buf.push(b'"');
    }
}

/// Escapes text content like [`sluice_xml::escape_text`] (`&`, `<`, `>`, CR), byte-wise: the
/// four characters are ASCII, so UTF-8 sequences pass through untouched. Real WSUS escapes the
/// update XML it embeds exactly this way (`"` stays literal).
pub fn escape_text_into(s: &str, out: &mut Vec<u8>) {
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn empty_elements_follow_the_style() {
        let mut client = Writer::new(Style::Client, 0);
        client.text("A", "");
        client.empty_ns("B", "urn:x");
        assert_eq!(client.buf, br#"<A/><B xmlns="urn:x"/>"#);
        let mut asmx = Writer::new(Style::Asmx, 0);
        asmx.text("A", "");
        asmx.empty_ns("B", "urn:x");
        assert_eq!(asmx.buf, br#"<A /><B xmlns="urn:x" />"#);
    }
}
