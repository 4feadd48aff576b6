//! Types shared by several operations.

use uuid::Uuid;

/// The session cookie (`Cookie`): returned by GetCookie, sent back in every later call.
///
/// The schema makes `EncryptedData` optional; a missing one decodes as empty, which no upstream
/// accepts anyway. Empty data is written as `<EncryptedData />`, the form of the fixed reporting
/// cookie ([`Cookie::reporting`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cookie {
    /// `xs:dateTime`, verbatim (real WSUS: `2026-10-04T20:33:26.65455Z`); see [`crate::parse_datetime`].
    pub expiration: String,
    /// Opaque to the downstream; base64 on the wire.
    pub encrypted_data: Vec<u8>,
}

impl Cookie {
    /// The fixed cookie of the reporting rollup calls: never expires, no data.
    pub fn reporting() -> Cookie {
        Cookie { expiration: "9999-12-31T23:59:59.9999999".to_string(), encrypted_data: Vec::new() }
    }
}

/// The DSS authorization cookie (`AuthorizationCookie`): GetAuthorizationCookie returns it,
/// GetCookie takes it back in `authCookies`. Missing elements decode as empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthorizationCookie {
    /// `DssTargeting` from a real WSUS. (The element is `PlugInId` here, `PlugInID` in
    /// `AuthPlugInInfo`.)
    pub plugin_id: String,
    /// Opaque to the downstream (496 bytes from a real WSUS); base64 on the wire.
    pub cookie_data: Vec<u8>,
}

/// An update revision (`UpdateIdentity`: `UpdateID`, `RevisionNumber`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct UpdateIdentity {
    pub update_id: Uuid,
    pub revision_number: i32,
}

impl UpdateIdentity {
    /// The revision `revision_number` of update `update_id`.
    pub const fn new(update_id: Uuid, revision_number: i32) -> UpdateIdentity {
        UpdateIdentity { update_id, revision_number }
    }
}
