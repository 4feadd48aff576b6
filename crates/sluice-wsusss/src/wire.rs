//! What every MS-WSUSSS message shares on top of [`sluice_soap_core`]: the ASMX envelope, and
//! writers and readers of the protocol's own compound values (cookies, update identities).

use std::fmt;

use sluice_soap_core::Style;
use sluice_xml::Element;
use uuid::Uuid;

pub(crate) use sluice_soap_core::{Path, body_element, invalid, parse_envelope, text};

use crate::error::DecodeError;
use crate::types::{AuthorizationCookie, Cookie, UpdateIdentity};

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

/// .NET's `DateTime.MinValue` as XmlSerializer writes it.
const DATETIME_MIN: &str = "0001-01-01T00:00:00";

/// Fixed cost of an envelope and an operation wrapper, for capacity estimates.
pub(crate) const ENVELOPE_BYTES: usize = 400;

sluice_soap_core::extend! {
    /// The ASMX writer: the .NET client proxy of a real WSUS downstream and the real upstream
    /// both write every message, request or response, in that style.
    pub(crate) struct Writer(sluice_soap_core::Writer);
}

impl Writer {
    /// Opens the envelope and the body.
    pub(crate) fn envelope(capacity: usize) -> Writer {
        Writer(sluice_soap_core::Writer::envelope(Style::Asmx, capacity.max(ENVELOPE_BYTES)))
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.0.finish()
    }

    /// A required `xs:dateTime`, verbatim; an empty value is written as .NET's
    /// `DateTime.MinValue`, which is what an unset date-time is on the wire (an empty element
    /// would not be a valid `xs:dateTime`).
    pub(crate) fn datetime(&mut self, name: &str, value: &str) {
        self.text(name, if value.is_empty() { DATETIME_MIN } else { value });
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

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

sluice_soap_core::extend! {
    /// The shared reader plus the protocol's compound values.
    pub(crate) struct Reader(sluice_soap_core::Reader);
}

impl Reader {
    pub(crate) fn new(ns: &'static str) -> Reader {
        Reader(sluice_soap_core::Reader { ns })
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
}
