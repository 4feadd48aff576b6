//! SOAP faults in the shape of WSUS's `SoapException` with an `ErrorCode` detail.
//!
//! Real Windows Server 2025 WSUS, client web service (capture `wsus-m0/000141`, HTTP 500):
//!
//! ```text
//! <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
//! <faultcode>s:Client</faultcode><faultstring>Fault occurred</faultstring>
//! <detail><ErrorCode>InvalidParameters</ErrorCode><Message>parameters.InstalledNonLeafUpdateIDs</Message>
//! <ID>81418b4e-…</ID><Method>"http://…/ClientWebService/SyncUpdates"</Method></detail>
//! </s:Fault></s:Body></s:Envelope>
//! ```
//!
//! (one line on the wire). SimpleAuth and Reporting are ASMX services: their faults carry an
//! XML declaration, the `soap:` prefix with `xsi`/`xsd` declared on the envelope, and in the
//! spec examples a `faultactor` with the service URL. The `detail` children are unqualified.

use sluice_soap_core::{EmptyMessage, FaultCode, Style};
use uuid::Uuid;

use crate::{Operation, Service};

/// The WSUS `ErrorCode` of a fault, which decides what Windows Update Agent does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The cookie is not ours or cannot be read: the client drops it, repeats the handshake and
    /// runs RefreshCache.
    InvalidCookie,
    /// The cookie has expired: the client gets a new authorization cookie and cookie.
    CookieExpired,
    /// The configuration changed since the client's GetConfig: handshake again.
    ConfigChanged,
    /// The server identity changed (ids may have been renumbered): like InvalidCookie.
    ServerChanged,
    /// The client must call RegisterComputer, then retry.
    RegistrationRequired,
    /// RegisterComputer was called although GetConfig said registration is not required.
    RegistrationNotRequired,
    /// A parameter is invalid; the `Message` names it. The client does not retry unchanged.
    InvalidParameters,
    /// The authorization cookie passed to GetCookie is not valid.
    InvalidAuthorizationCookie,
    /// Something failed on the server; the client retries later (a `soap:Server` fault).
    InternalServerError,
    /// The server is overloaded; the client retries later (a `soap:Server` fault).
    ServerBusy,
    /// File URLs changed: the client calls GetFileLocations. (The spec text also spells it
    /// `FileLocationsChanged`; this is the spelling of its error table.)
    FileLocationChanged,
    /// The client's protocol version is not supported.
    IncompatibleProtocolVersion,
}

impl ErrorCode {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidCookie => "InvalidCookie",
            ErrorCode::CookieExpired => "CookieExpired",
            ErrorCode::ConfigChanged => "ConfigChanged",
            ErrorCode::ServerChanged => "ServerChanged",
            ErrorCode::RegistrationRequired => "RegistrationRequired",
            ErrorCode::RegistrationNotRequired => "RegistrationNotRequired",
            ErrorCode::InvalidParameters => "InvalidParameters",
            ErrorCode::InvalidAuthorizationCookie => "InvalidAuthorizationCookie",
            ErrorCode::InternalServerError => "InternalServerError",
            ErrorCode::ServerBusy => "ServerBusy",
            ErrorCode::FileLocationChanged => "FileLocationChanged",
            ErrorCode::IncompatibleProtocolVersion => "IncompatibleProtocolVersion",
        }
    }

    /// See [`FaultCode::for_error_code`].
    pub fn fault_code(self) -> FaultCode {
        FaultCode::for_error_code(self.as_str())
    }
}

/// A fault to send. Build it with [`Fault::new`] or [`Fault::for_operation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub error_code: ErrorCode,
    /// The detail `Message`: for InvalidParameters the parameter path
    /// (`parameters.InstalledNonLeafUpdateIDs`); empty for most other codes.
    pub message: String,
    /// The detail `ID`: a fresh GUID per fault, for correlation with server logs.
    pub id: Uuid,
    /// The detail `Method`: the SOAPAction in double quotes, written as given. Omitted if `None`.
    pub method: Option<String>,
    /// The endpoint the fault is sent on; decides the envelope style.
    pub service: Service,
    /// `faultstring`; real WSUS sends `Fault occurred`.
    pub fault_string: String,
    /// `faultactor`; real WSUS omits it on the client service. Omitted if `None`.
    pub fault_actor: Option<String>,
}

impl Fault {
    /// A fault with a fresh id, no message and no method.
    pub fn new(error_code: ErrorCode, service: Service) -> Fault {
        Fault {
            error_code,
            message: String::new(),
            id: Uuid::new_v4(),
            method: None,
            service,
            fault_string: "Fault occurred".to_string(),
            fault_actor: None,
        }
    }

    /// A fault for a call of `op`, with its quoted SOAPAction as `Method`.
    pub fn for_operation(error_code: ErrorCode, op: Operation) -> Fault {
        Fault::new(error_code, op.service()).with_method(op.quoted_soap_action())
    }

    /// The `faultcode` (follows the error code).
    pub fn fault_code(&self) -> FaultCode {
        self.error_code.fault_code()
    }
}

sluice_soap_core::fault_builders!(Fault);

/// Encodes a fault. Send it with [`crate::CONTENT_TYPE`] and HTTP status [`crate::FAULT_HTTP_STATUS`].
pub fn encode_fault(fault: &Fault) -> Vec<u8> {
    let style = match fault.service {
        Service::Client => Style::Client,
        Service::SimpleAuth | Service::Reporting => Style::Asmx,
    };
    fault.encode_as(style, EmptyMessage::Empty, fault.fault_code())
}
