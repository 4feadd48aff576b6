//! The SOAP 1.1 codec of MS-WUSP as a server sees it: request bytes in, typed values out;
//! typed responses and faults in, response bytes out. No I/O, no HTTP, no state.
//!
//! Three services share the codec (see [`Service`]): the client web service
//! (`/ClientWebService/client.asmx`), SimpleAuth (`/SimpleAuthWebService/SimpleAuth.asmx`) and
//! Reporting (`/ReportingWebService/ReportingWebService.asmx`).
//!
//! # Decoding
//!
//! [`decode_request`] parses an envelope with [`sluice_xml`] (no DTDs, no entities, bounded depth),
//! matches elements by namespace URI and local name (never by prefix), ignores any `Header`, and
//! dispatches on the first element of the `Body`. It is deliberately lenient where real clients
//! differ from the WSDL: unknown elements are skipped anywhere, arrays may be omitted, empty
//! (`<X/>`), SOAP-encoded (`soapenc:arrayType`) or `xsi:nil`, and children may be unqualified.
//! It is strict where a wrong value would silently change meaning: a non-integer in an `int`,
//! invalid base64 or a bad GUID is an [`SoapError::InvalidParameter`] naming the parameter path
//! the way real WSUS does in its fault `Message` (`parameters.InstalledNonLeafUpdateIDs`).
//! Values whose absence .NET's XmlSerializer would turn into a default (a missing `int` is 0) are
//! decoded the same way, so the server sees what real WSUS would have seen. Field names are the
//! WSDL element names in snake case; only fields whose meaning is not obvious from the protocol
//! carry their own documentation.
//!
//! # Encoding
//!
//! One function per response writes exactly the WSDL element order in the shape a real
//! Windows Server 2025 WSUS sends (checked byte for byte against captures in the tests):
//! client-service responses as `<s:Envelope …><s:Body xmlns:xsi=… xmlns:xsd=…>` without an XML
//! declaration; SimpleAuth and Reporting responses with an XML declaration and the `soap:` prefix.
//! Update metadata fragments are passed in already escaped (see [`escape_fragment`]) and copied
//! verbatim, so a SyncUpdates page costs one allocation and a few memcpys.
//!
//! # Faults
//!
//! [`encode_fault`] writes a `SoapException`-shaped fault with the WSUS `ErrorCode` detail that
//! Windows Update Agent acts on; every fault goes out with HTTP status [`FAULT_HTTP_STATUS`] (500).

mod decode;
mod encode;
mod error;
mod fault;
mod id_arrays;

pub use sluice_soap_core::{CONTENT_TYPE, format_date, format_datetime, parse_datetime};
pub use decode::*;
pub use encode::*;
pub use error::SoapError;
pub use fault::{ErrorCode, Fault, encode_fault};
pub use sluice_soap_core::{FAULT_HTTP_STATUS, FaultCode};

/// Largest request body [`decode_request`] looks at. The HTTP layer should enforce a much smaller
/// limit: the element tree costs far more memory than the bytes when the body is element-dense.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024 * 1024;

/// XML namespaces of the protocol.
pub mod ns {
    pub use sluice_soap_core::ns::{SOAP_ENV, SOAP12_ENV, XSD, XSI};

    /// Client web service operations and their children.
    pub const CLIENT: &str = "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService";
    /// SimpleAuth web service.
    pub const SIMPLE_AUTH: &str = "http://www.microsoft.com/SoftwareDistribution/Server/SimpleAuthWebService";
    /// Reporting web service.
    pub const REPORTING: &str = "http://www.microsoft.com/SoftwareDistribution";
}

/// The three web services a WSUS exposes to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// `/ClientWebService/client.asmx`.
    Client,
    /// `/SimpleAuthWebService/SimpleAuth.asmx`.
    SimpleAuth,
    /// `/ReportingWebService/ReportingWebService.asmx` (the WSDL says `WebService.asmx`).
    Reporting,
}

impl Service {
    /// Namespace of the service's operations.
    pub const fn namespace(self) -> &'static str {
        match self {
            Service::Client => ns::CLIENT,
            Service::SimpleAuth => ns::SIMPLE_AUTH,
            Service::Reporting => ns::REPORTING,
        }
    }
}

/// Every operation [`decode_request`] understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    GetConfig,
    GetCookie,
    RegisterComputer,
    StartCategoryScan,
    SyncUpdates,
    SyncPrinterCatalog,
    RefreshCache,
    GetExtendedUpdateInfo,
    GetExtendedUpdateInfo2,
    GetFileLocations,
    GetAuthorizationCookie,
    ReportEventBatch,
    ReportEventBatch2,
}

impl Operation {
    /// All operations, for tables and tests.
    pub const ALL: [Operation; 13] = [
        Operation::GetConfig,
        Operation::GetCookie,
        Operation::RegisterComputer,
        Operation::StartCategoryScan,
        Operation::SyncUpdates,
        Operation::SyncPrinterCatalog,
        Operation::RefreshCache,
        Operation::GetExtendedUpdateInfo,
        Operation::GetExtendedUpdateInfo2,
        Operation::GetFileLocations,
        Operation::GetAuthorizationCookie,
        Operation::ReportEventBatch,
        Operation::ReportEventBatch2,
    ];

    /// Local name of the request element (and of the WSDL operation).
    pub const fn name(self) -> &'static str {
        match self {
            Operation::GetConfig => "GetConfig",
            Operation::GetCookie => "GetCookie",
            Operation::RegisterComputer => "RegisterComputer",
            Operation::StartCategoryScan => "StartCategoryScan",
            Operation::SyncUpdates => "SyncUpdates",
            Operation::SyncPrinterCatalog => "SyncPrinterCatalog",
            Operation::RefreshCache => "RefreshCache",
            Operation::GetExtendedUpdateInfo => "GetExtendedUpdateInfo",
            Operation::GetExtendedUpdateInfo2 => "GetExtendedUpdateInfo2",
            Operation::GetFileLocations => "GetFileLocations",
            Operation::GetAuthorizationCookie => "GetAuthorizationCookie",
            Operation::ReportEventBatch => "ReportEventBatch",
            Operation::ReportEventBatch2 => "ReportEventBatch2",
        }
    }

    /// The service whose endpoint carries the operation.
    pub const fn service(self) -> Service {
        match self {
            Operation::GetAuthorizationCookie => Service::SimpleAuth,
            Operation::ReportEventBatch | Operation::ReportEventBatch2 => Service::Reporting,
            _ => Service::Client,
        }
    }

    /// The SOAPAction URI of the WSDL binding, unquoted.
    pub const fn soap_action(self) -> &'static str {
        match self {
            Operation::GetConfig => "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/GetConfig",
            Operation::GetCookie => "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/GetCookie",
            Operation::RegisterComputer => {
                "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/RegisterComputer"
            }
            Operation::StartCategoryScan => {
                "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/StartCategoryScan"
            }
            Operation::SyncUpdates => {
                "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/SyncUpdates"
            }
            Operation::SyncPrinterCatalog => {
                "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/SyncPrinterCatalog"
            }
            Operation::RefreshCache => {
                "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/RefreshCache"
            }
            Operation::GetExtendedUpdateInfo => {
                "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/GetExtendedUpdateInfo"
            }
            Operation::GetExtendedUpdateInfo2 => {
                "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/GetExtendedUpdateInfo2"
            }
            Operation::GetFileLocations => {
                "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/GetFileLocations"
            }
            Operation::GetAuthorizationCookie => {
                "http://www.microsoft.com/SoftwareDistribution/Server/SimpleAuthWebService/GetAuthorizationCookie"
            }
            Operation::ReportEventBatch => "http://www.microsoft.com/SoftwareDistribution/ReportEventBatch",
            Operation::ReportEventBatch2 => "http://www.microsoft.com/SoftwareDistribution/ReportEventBatch2",
        }
    }

    /// The SOAPAction in double quotes, as clients send it in the header and as real WSUS echoes
    /// it in a fault's `Method`.
    pub fn quoted_soap_action(self) -> String {
        let action = self.soap_action();
        let mut s = String::with_capacity(action.len() + 2);
        s.push('"');
        s.push_str(action);
        s.push('"');
        s
    }

    /// Whether a `SOAPAction` header value (quoted or not) names this operation.
    ///
    /// The body element decides the operation; use this only as a cross-check. The spec prose
    /// gives SyncPrinterCatalog the SyncUpdates action, so that one is accepted for it too.
    pub fn accepts_soap_action(self, header: &str) -> bool {
        let action = header.trim();
        let action = action.strip_prefix('"').and_then(|a| a.strip_suffix('"')).unwrap_or(action);
        action == self.soap_action()
            || (self == Operation::SyncPrinterCatalog && action == Operation::SyncUpdates.soap_action())
    }

    /// Looks an operation up by the namespace and local name of a request body element.
    pub fn from_element(ns: &str, local: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.name() == local && op.service().namespace() == ns)
    }
}
