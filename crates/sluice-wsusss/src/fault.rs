//! SOAP faults in the shape of WSUS's `SoapException` with an `ErrorCode` detail.
//!
//! Real Windows Server 2025 WSUS as upstream (capture `exchanges/000017`, HTTP 500, one line):
//!
//! ```text
//! <?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap=… xmlns:xsi=… xmlns:xsd=…>
//! <soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>Fault occurred</faultstring>
//! <faultactor>http://127.0.0.1:8530/ServerSyncWebService/ServerSyncWebService.asmx</faultactor>
//! <detail><ErrorCode>InternalServerError</ErrorCode><Message></Message><ID>b6114a8d-…</ID>
//! <Method>"http://www.microsoft.com/SoftwareDistribution/GetUpdateData"</Method></detail>
//! </soap:Fault></soap:Body></soap:Envelope>
//! ```
//!
//! The `detail` children are unqualified; an empty `Message` is written `<Message></Message>`,
//! not `<Message />` (WSUS builds the detail with XmlDocument, not XmlSerializer).

use sluice_soap_core::{EmptyMessage, FaultCode, Style};
use sluice_xml::Element;
use uuid::Uuid;

use crate::Operation;
use crate::wire::text;

/// The WSUS `ErrorCode` of a fault: what the downstream does next ([MS-WSUSSS] table in 4.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The cookie is missing, unreadable or not ours: authorize again (GetAuthorizationCookie,
    /// GetCookie) and retry.
    InvalidCookie,
    /// The cookie has expired: get a new one.
    CookieExpired,
    /// The authorization cookie given to GetCookie is not valid: authorize again.
    InvalidAuthorizationCookie,
    /// The upstream's identity changed: reset the anchors and continue.
    ServerChanged,
    /// DownloadFiles named digests the upstream does not know: restart the sync.
    FileDigestsMissing,
    /// The downstream's protocol version is not supported: stop.
    IncompatibleProtocolVersion,
    /// A parameter is invalid; `Message` names it (`filter` for a bad anchor, `updateIds` for
    /// too many ids).
    InvalidParameters,
    /// Too many ids in a driver call.
    TooManyIds,
    /// The upstream failed (real WSUS: also for an unknown update id in GetUpdateData); a
    /// `soap:Server` fault.
    InternalServerError,
    /// The upstream is overloaded: retry later; a `soap:Server` fault.
    ServerBusy,
    /// Any other code, verbatim. Decoding gives `Other("")` for a fault without `ErrorCode`,
    /// which a downstream must treat as fatal.
    Other(String),
}

impl ErrorCode {
    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::InvalidCookie => "InvalidCookie",
            ErrorCode::CookieExpired => "CookieExpired",
            ErrorCode::InvalidAuthorizationCookie => "InvalidAuthorizationCookie",
            ErrorCode::ServerChanged => "ServerChanged",
            ErrorCode::FileDigestsMissing => "FileDigestsMissing",
            ErrorCode::IncompatibleProtocolVersion => "IncompatibleProtocolVersion",
            ErrorCode::InvalidParameters => "InvalidParameters",
            ErrorCode::TooManyIds => "TooManyIds",
            ErrorCode::InternalServerError => "InternalServerError",
            ErrorCode::ServerBusy => "ServerBusy",
            ErrorCode::Other(s) => s,
        }
    }

    /// Parses a wire name; unknown names become [`ErrorCode::Other`].
    pub fn parse(s: &str) -> ErrorCode {
        match s.trim() {
            "InvalidCookie" => ErrorCode::InvalidCookie,
            "CookieExpired" => ErrorCode::CookieExpired,
            "InvalidAuthorizationCookie" => ErrorCode::InvalidAuthorizationCookie,
            "ServerChanged" => ErrorCode::ServerChanged,
            "FileDigestsMissing" => ErrorCode::FileDigestsMissing,
            "IncompatibleProtocolVersion" => ErrorCode::IncompatibleProtocolVersion,
            "InvalidParameters" => ErrorCode::InvalidParameters,
            "TooManyIds" => ErrorCode::TooManyIds,
            "InternalServerError" => ErrorCode::InternalServerError,
            "ServerBusy" => ErrorCode::ServerBusy,
            other => ErrorCode::Other(other.to_string()),
        }
    }

    /// See [`FaultCode::for_error_code`].
    pub fn fault_code(&self) -> FaultCode {
        FaultCode::for_error_code(self.as_str())
    }
}

/// A fault, to send (upstream) or as received (downstream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub error_code: ErrorCode,
    pub fault_code: FaultCode,
    /// `detail/Message`: for InvalidParameters the parameter name; usually empty otherwise.
    pub message: String,
    /// `detail/ID`: a fresh GUID per fault, for correlation with server logs (nil when a received
    /// fault had none or an unreadable one).
    pub id: Uuid,
    /// `detail/Method`: the SOAPAction in double quotes. Omitted if `None`.
    pub method: Option<String>,
    /// `faultstring`; real WSUS sends `Fault occurred`.
    pub fault_string: String,
    /// `faultactor`: real WSUS sends the URL of the service that faulted. Omitted if `None`.
    pub fault_actor: Option<String>,
}

impl Fault {
    /// A fault with a fresh id, no message, no method and no actor.
    pub fn new(error_code: ErrorCode) -> Fault {
        Fault {
            fault_code: error_code.fault_code(),
            error_code,
            message: String::new(),
            id: Uuid::new_v4(),
            method: None,
            fault_string: "Fault occurred".to_string(),
            fault_actor: None,
        }
    }

    /// A fault for a call of `op`, with its quoted SOAPAction as `Method`.
    pub fn for_operation(error_code: ErrorCode, op: Operation) -> Fault {
        Fault::new(error_code).with_method(op.quoted_soap_action())
    }
}

sluice_soap_core::fault_builders!(Fault);

/// Encodes a fault. Send it with [`crate::CONTENT_TYPE`] and HTTP status [`crate::FAULT_HTTP_STATUS`].
pub fn encode_fault(fault: &Fault) -> Vec<u8> {
    // Always the long form of an empty Message: that is what real WSUS writes.
    fault.encode_as(Style::Asmx, EmptyMessage::StartEnd, fault.fault_code)
}

/// Reads a SOAP 1.1 `Fault` element. Lenient: every part may be missing or qualified.
pub(crate) fn decode_fault(el: &Element) -> Fault {
    let kid =
        |parent: &Element, local: &str| parent.elements().find(|e| e.local == local).map(|e| text(e).into_owned());
    let detail = el.elements().find(|e| e.local == "detail");
    let detail_text = |local: &str| detail.and_then(|d| kid(d, local));
    Fault {
        error_code: ErrorCode::parse(&detail_text("ErrorCode").unwrap_or_default()),
        fault_code: FaultCode::parse(&kid(el, "faultcode").unwrap_or_default()),
        message: detail_text("Message").unwrap_or_default(),
        id: detail_text("ID").and_then(|s| Uuid::parse_str(s.trim()).ok()).unwrap_or_default(),
        method: detail_text("Method"),
        fault_string: kid(el, "faultstring").unwrap_or_default(),
        fault_actor: kid(el, "faultactor"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in [
            ErrorCode::InvalidCookie,
            ErrorCode::CookieExpired,
            ErrorCode::InvalidAuthorizationCookie,
            ErrorCode::ServerChanged,
            ErrorCode::FileDigestsMissing,
            ErrorCode::IncompatibleProtocolVersion,
            ErrorCode::InvalidParameters,
            ErrorCode::TooManyIds,
            ErrorCode::InternalServerError,
            ErrorCode::ServerBusy,
            ErrorCode::Other("SomethingNew".into()),
        ] {
            assert_eq!(ErrorCode::parse(code.as_str()), code);
        }
    }
}
