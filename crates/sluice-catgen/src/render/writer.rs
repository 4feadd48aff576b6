//! The XML writer documents are rendered with, and the value formats Microsoft's documents use
//! (`xsd:dateTime` with milliseconds, base64 digests).

use super::*;

/// A minimal XML writer: elements are opened, given attributes and closed by hand, so that
/// rendering allocates nothing but the output.
pub(crate) struct W<'a>(pub &'a mut String);

impl W<'_> {
    pub(super) fn start(&mut self, name: &str) -> &mut Self {
        self.0.push('<');
        self.0.push_str(name);
        self
    }
    pub(super) fn attr(&mut self, k: &str, v: &str) -> &mut Self {
        self.0.push(' ');
        self.0.push_str(k);
        self.0.push_str("=\"");
        escape_attr(v, self.0);
        self.0.push('"');
        self
    }
    pub(super) fn attr_n(&mut self, k: &str, v: impl std::fmt::Display) -> &mut Self {
        let _ = write!(self.0, " {k}=\"{v}\"");
        self
    }
    pub(super) fn open_end(&mut self) {
        self.0.push('>');
    }
    pub(super) fn empty_end(&mut self) {
        self.0.push_str(" />");
    }
    pub(super) fn open(&mut self, name: &str) {
        self.start(name).open_end();
    }
    pub(super) fn close(&mut self, name: &str) {
        self.0.push_str("</");
        self.0.push_str(name);
        self.0.push('>');
    }
    pub(super) fn text_el(&mut self, name: &str, text: &str) {
        self.open(name);
        escape_text(text, self.0);
        self.close(name);
    }
    pub(super) fn identity_ref(&mut self, plan: &Plan, u: u32, with_revision: bool) {
        let target = &plan.updates[u as usize];
        self.start("upd:UpdateIdentity");
        let mut buf = uuid::Uuid::encode_buffer();
        self.attr("UpdateID", target.id.hyphenated().encode_lower(&mut buf));
        if with_revision {
            self.attr_n("RevisionNumber", target.last_rev());
        }
        self.empty_end();
    }

    // ---- base applicability rules (bar:) and logical operators (lar:)

    pub(super) fn reg_dword(&mut self, subkey: &str, value: &str, comparison: &str, data: impl std::fmt::Display) {
        self.start("bar:RegDword").attr("Key", HKLM).attr("Subkey", subkey).attr("Value", value);
        self.attr("Comparison", comparison).attr_n("Data", data).empty_end();
    }
    pub(super) fn reg_key_exists(&mut self, subkey: &str, reg32: bool) {
        self.start("bar:RegKeyExists").attr("Key", HKLM).attr("Subkey", subkey);
        if reg32 {
            self.attr("RegType32", "true");
        }
        self.empty_end();
    }
    pub(super) fn file_version(&mut self, csidl: &str, path: &str, comparison: &str, version: &str) {
        self.start("bar:FileVersion").attr("Csidl", csidl).attr("Path", path);
        self.attr("Comparison", comparison).attr("Version", version).empty_end();
    }
    pub(super) fn windows_version(&mut self, comparison: &str, build: Option<u32>, product_type: Option<u8>) {
        self.start("bar:WindowsVersion")
            .attr("Comparison", comparison)
            .attr("MajorVersion", "10")
            .attr("MinorVersion", "0");
        if let Some(b) = build {
            self.attr_n("BuildNumber", b);
        }
        if let Some(t) = product_type {
            self.attr_n("ProductType", t);
        }
        self.empty_end();
    }
    pub(super) fn processor(&mut self, arch: Arch) {
        self.start("bar:Processor").attr_n("Architecture", arch.code()).empty_end();
    }
    pub(super) fn os_rule(&mut self, t: &OsTarget) {
        if t.server {
            // Servers are domain controllers (2) or member servers (3).
            self.open("lar:Or");
            self.windows_version("EqualTo", Some(t.build), Some(2));
            self.windows_version("EqualTo", Some(t.build), Some(3));
            self.close("lar:Or");
        } else {
            self.windows_version("EqualTo", Some(t.build), Some(1));
        }
    }
}

/// xsd:dateTime with milliseconds, as Microsoft writes `CreationDate`.
pub(super) fn datetime(t: i64, millis: bool, out: &mut String) {
    let d = time::OffsetDateTime::from_unix_timestamp(t).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        d.year(),
        d.month() as u8,
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    );
    if millis {
        let _ = write!(out, ".{:03}", (t.unsigned_abs().wrapping_mul(7_919)) % 1000);
    }
    out.push('Z');
}

pub(super) fn year_month(t: i64) -> String {
    let d = time::OffsetDateTime::from_unix_timestamp(t).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}", d.year(), d.month() as u8)
}

pub(super) fn base64(bytes: &[u8], out: &mut String) {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for c in bytes.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        out.push(A[(n >> 18) as usize & 63] as char);
        out.push(A[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 { A[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if c.len() > 2 { A[n as usize & 63] as char } else { '=' });
    }
}
