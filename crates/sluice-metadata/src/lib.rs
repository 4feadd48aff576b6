//! Microsoft update metadata: the `upd:Update` documents that Microsoft Update, WSUS and Sluice
//! exchange, the model Sluice derives from them, the MS-WUSP fragments clients receive, and the
//! documents Sluice writes for locally published updates.
//!
//! Sans-I/O: everything here is a pure function of its input, so it can be fuzzed and
//! benchmarked on its own.

pub use sluice_xml as dom;
pub mod fragment;
pub mod model;
mod parse;
pub mod publish;

pub use fragment::Fragments;
pub use model::*;

/// Namespace URIs of the update document schema. Elements are matched by these, never by prefix.
pub mod ns {
    pub const MSUS_PREFIX: &str = "http://schemas.microsoft.com/msus/";
    pub const UPDATE: &str = "http://schemas.microsoft.com/msus/2002/12/Update";
    pub const PUBLISHING: &str = "http://schemas.microsoft.com/msus/2002/12/Publishing";
    pub const BAR: &str = "http://schemas.microsoft.com/msus/2002/12/BaseApplicabilityRules";
    pub const LAR: &str = "http://schemas.microsoft.com/msus/2002/12/LogicalApplicabilityRules";
    pub const MSIAR: &str = "http://schemas.microsoft.com/msus/2002/12/MsiApplicabilityRules";
    pub const DRIVER: &str = "http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/WindowsDriver";
    pub const CMD: &str = "http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/CommandLineInstallation";
    pub const CATEGORY: &str = "http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/Category";
    pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
}

/// Largest update document accepted. The biggest real documents (feature updates with their
/// translations) are a few hundred KB; this leaves ample room and bounds memory per document.
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum MetadataError {
    #[error("{document}: not well-formed XML: {reason}")]
    Malformed { document: String, reason: String },
    #[error("{document}: not a valid update document: {reason}")]
    Invalid { document: String, reason: String },
    #[error("{document}: {size} bytes is more than the {max} bytes an update document may have")]
    TooLarge { document: String, size: usize, max: usize },
}

/// A parsed update document: the model, its fragments and the document text itself.
#[derive(Debug, Clone)]
pub struct ParsedUpdate {
    pub update: Update,
    pub fragments: Fragments,
    /// The document as UTF-8 text, exactly as received apart from re-encoding.
    pub xml: String,
}

/// Parses an update document given as bytes: UTF-8 (with or without BOM) or UTF-16 with a BOM,
/// which is how WSUS and Microsoft Update carry them.
pub fn parse_update_bytes(bytes: &[u8], document: &str) -> Result<ParsedUpdate, MetadataError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(MetadataError::TooLarge { document: document.into(), size: bytes.len(), max: MAX_DOCUMENT_BYTES });
    }
    let text = decode_text(bytes).ok_or_else(|| MetadataError::Malformed {
        document: document.into(),
        reason: "not UTF-8 or BOM-marked UTF-16 text".into(),
    })?;
    parse_update(&text, document)
}

fn decode_text(bytes: &[u8]) -> Option<String> {
    let utf16 = |le: bool, b: &[u8]| -> Option<String> {
        if b.len() % 2 != 0 {
            return None;
        }
        let units = b.chunks_exact(2).map(|c| if le { u16::from_le_bytes([c[0], c[1]]) } else { u16::from_be_bytes([c[0], c[1]]) });
        char::decode_utf16(units).collect::<Result<String, _>>().ok()
    };
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => String::from_utf8(rest.to_vec()).ok(),
        [0xFF, 0xFE, rest @ ..] => utf16(true, rest),
        [0xFE, 0xFF, rest @ ..] => utf16(false, rest),
        _ => String::from_utf8(bytes.to_vec()).ok(),
    }
}

/// Parses an update document, deriving the model and every fragment in one go.
pub fn parse_update(xml: &str, document: &str) -> Result<ParsedUpdate, MetadataError> {
    if xml.len() > MAX_DOCUMENT_BYTES {
        return Err(MetadataError::TooLarge { document: document.into(), size: xml.len(), max: MAX_DOCUMENT_BYTES });
    }
    let root = dom::parse(xml, document)
        .map_err(|e| MetadataError::Malformed { document: e.document, reason: e.reason })?;
    let update = parse::update_from_root(&root, document)?;
    let fragments = fragment::build(&root);
    Ok(ParsedUpdate { update, fragments, xml: xml.to_string() })
}
