//! The SOAP 1.1 codec of MS-WSUSSS, the protocol between WSUS servers, in both directions and
//! without any I/O.
//!
//! Sluice is a *downstream* server (DSS) when it syncs from Microsoft Update or another WSUS, and
//! an *upstream* server (USS) when real WSUS servers sync from it. Both sides are here:
//!
//! | side | requests | responses and faults |
//! | --- | --- | --- |
//! | downstream (client) | [`encode_request`] | [`decode_response`] and the typed `decode_*_response` helpers |
//! | upstream (server) | [`decode_request`] | [`encode_response`], [`encode_fault`] |
//!
//! Request and response types are shared by both directions, so what one side encodes the other
//! decodes into the same value:
//!
//! ```
//! use sluice_wsusss::*;
//!
//! // Downstream: the configuration pass of a first sync.
//! let cookie = Cookie { expiration: "2026-10-04T20:33:26.65455Z".into(), encrypted_data: vec![0; 16] };
//! let body = encode_request(&Request::GetRevisionIdList(GetRevisionIdListRequest {
//!     cookie: Some(cookie),
//!     filter: Some(ServerSyncFilter { get_config: true, ..Default::default() }),
//! }));
//!
//! // Upstream: decode it and answer.
//! let Request::GetRevisionIdList(request) = decode_request(&body)? else { panic!("another operation") };
//! assert!(request.filter.is_some_and(|f| f.get_config));
//! let answer = encode_response(&Response::GetRevisionIdList(RevisionIdList {
//!     anchor: Some("1,2026-10-04 16:33:26.671".into()),
//!     new_revisions: vec![],
//! }));
//!
//! // Downstream: read the answer (a fault would be `Err(ResponseError::Fault(_))`).
//! let list = decode_get_revision_id_list_response(&answer)?;
//! assert_eq!(list.anchor.as_deref(), Some("1,2026-10-04 16:33:26.671"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Three services are covered (see [`Service`]): Server Sync
//! (`/ServerSyncWebService/ServerSyncWebService.asmx`), DSS authorization
//! (`/DssAuthWebService/DssAuthWebService.asmx`) and the reporting rollup operations of
//! `/ReportingWebService/ReportingWebService.asmx`. The client-facing operations of the
//! reporting service (ReportEventBatch and friends) belong to MS-WUSP and `sluice-soap`.
//!
//! # Encoding
//!
//! Every message is written in the exact element order of the WSDL `xs:sequence`: Microsoft's
//! WCF service deserialises by position and rejects anything else, usually with an empty HTTP
//! 500. The envelope is the one ASMX (and so a real WSUS, on either side) writes: XML
//! declaration, `soap:` prefix, `xsi`/`xsd` declared on the envelope, `<X />` for empty elements.
//! Responses are byte-for-byte what a real Windows Server 2025 WSUS sends for the same values
//! (checked against captures in the tests).
//!
//! # Decoding
//!
//! Decoders parse with [`sluice_xml`] (no DTD, no entities beyond the predefined five, bounded
//! depth), match elements by namespace URI and local name (children may also be unqualified),
//! skip unknown elements, and accept omitted, empty, `xsi:nil` and SOAP-encoded arrays. A value
//! of the wrong type (an `int` that is not one, a bad GUID or base64) is a
//! [`DecodeError::InvalidParameter`] naming its path. Values whose absence .NET's XmlSerializer
//! turns into a default (a missing `bool` is `false`) decode the same way, so the server sees what
//! real WSUS would have seen, e.g. the `Get63LanguageOnly` that some downstream servers omit.
//!
//! # Update metadata blobs
//!
//! GetUpdateData carries each update document either as text (`XmlUpdateBlob`) or as a Microsoft
//! Cabinet holding one member `blob` in UTF-16LE (`XmlUpdateBlobCompressed`); see
//! [`UpdateBlob`], [`decode_update_blob`] and [`encode_update_blob_compressed`].

mod blob;
mod datetime;
mod error;
mod fault;
mod request;
mod response;
mod types;
mod wire;

pub use blob::{
    BLOB_MEMBER, BlobError, COMPRESSION_THRESHOLD_BYTES, MAX_BLOB_BYTES, UpdateBlob, decode_update_blob,
    decode_update_blob_with_limit, encode_update_blob_compressed, utf16_len,
};
pub use datetime::SyncAnchor;
pub use sluice_soap_core::{CONTENT_TYPE, format_datetime, parse_datetime};
pub use error::{DecodeError, ResponseError, ToFault};
pub use fault::{ErrorCode, Fault, encode_fault};
pub use sluice_soap_core::{FAULT_HTTP_STATUS, FaultCode};
pub use request::*;
pub use response::*;
pub use types::{AuthorizationCookie, Cookie, UpdateIdentity};

/// Largest request body [`decode_request`] looks at. The HTTP layer should enforce a much
/// smaller limit: the element tree costs several times the bytes of an element-dense body, and
/// the largest real downstream request (a 100-id GetUpdateData) is about 20 KB.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024 * 1024;

/// Largest response body [`decode_response`] looks at. Real GetRevisionIdList answers carry the
/// whole change list in one body (3.1 MB for 24,509 revisions of one product); a first sync of
/// many products from Microsoft Update is an order of magnitude more.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// XML namespaces of the protocol.
pub mod ns {
    pub use sluice_soap_core::ns::{SOAP_ENV, SOAP12_ENV, XSD, XSI};

    /// Server Sync and Reporting operations and their types.
    pub const SOFTWARE_DISTRIBUTION: &str = "http://www.microsoft.com/SoftwareDistribution";
    /// The DSS authorization service.
    pub const DSS_AUTH: &str = "http://www.microsoft.com/SoftwareDistribution/Server/DssAuthWebService";
}

/// The three web services of MS-WSUSSS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Server Sync: metadata, content and deployment synchronisation.
    ServerSync,
    /// DSS authorization: the authorization cookie.
    DssAuth,
    /// Reporting rollup from a downstream server to its upstream.
    Reporting,
}

impl Service {
    /// Namespace of the service's operations.
    pub const fn namespace(self) -> &'static str {
        match self {
            Service::ServerSync | Service::Reporting => ns::SOFTWARE_DISTRIBUTION,
            Service::DssAuth => ns::DSS_AUTH,
        }
    }

    /// The path a real WSUS serves the service at (and the one its downstream servers call).
    pub const fn path(self) -> &'static str {
        match self {
            Service::ServerSync => "/ServerSyncWebService/ServerSyncWebService.asmx",
            Service::DssAuth => "/DssAuthWebService/DssAuthWebService.asmx",
            Service::Reporting => "/ReportingWebService/ReportingWebService.asmx",
        }
    }

    /// The service an upstream should answer on a request path.
    ///
    /// IIS routes without regard to letter case, and a real WSUS downstream builds the DSS
    /// authorization URL as `root + "/" + ServiceUrl`, which doubles the slash when its
    /// configured root ends in one; both are tolerated. The WSDL's name of the reporting endpoint
    /// (`/ReportingWebService/WebService.asmx`) is accepted too. The query string is ignored.
    pub fn from_path(path: &str) -> Option<Service> {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let [dir, file] = segments.as_slice() else {
            return None;
        };
        let is = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        if is(dir, "ServerSyncWebService") && is(file, "ServerSyncWebService.asmx") {
            Some(Service::ServerSync)
        } else if is(dir, "DssAuthWebService") && is(file, "DssAuthWebService.asmx") {
            Some(Service::DssAuth)
        } else if is(dir, "ReportingWebService")
            && (is(file, "ReportingWebService.asmx") || is(file, "WebService.asmx"))
        {
            Some(Service::Reporting)
        } else {
            None
        }
    }
}

/// Every operation this crate encodes and decodes.
///
/// Not covered: `Ping` (IMonitorable, unused by WSUS), `GetDriverIdList`/`GetDriverSetData`
/// (driver-set sync; absent from the published WSDL) and the reporting service's client
/// operations, which are MS-WUSP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    GetAuthConfig,
    GetAuthorizationCookie,
    GetCookie,
    GetConfigData,
    GetRevisionIdList,
    GetUpdateData,
    GetUpdateDecryptionData,
    DownloadFiles,
    GetDeployments,
    /// Declared by the WSDL but never called by WSUS; decoded so a server can answer it.
    GetRelatedRevisionsForUpdates,
    GetRollupConfiguration,
    RollupDownstreamServers,
    RollupComputers,
    GetOutOfSyncComputers,
    RollupComputerStatus,
}

impl Operation {
    /// All operations, for tables and tests.
    pub const ALL: [Operation; 15] = [
        Operation::GetAuthConfig,
        Operation::GetAuthorizationCookie,
        Operation::GetCookie,
        Operation::GetConfigData,
        Operation::GetRevisionIdList,
        Operation::GetUpdateData,
        Operation::GetUpdateDecryptionData,
        Operation::DownloadFiles,
        Operation::GetDeployments,
        Operation::GetRelatedRevisionsForUpdates,
        Operation::GetRollupConfiguration,
        Operation::RollupDownstreamServers,
        Operation::RollupComputers,
        Operation::GetOutOfSyncComputers,
        Operation::RollupComputerStatus,
    ];

    /// Local name of the request element (and of the WSDL operation).
    pub const fn name(self) -> &'static str {
        match self {
            Operation::GetAuthConfig => "GetAuthConfig",
            Operation::GetAuthorizationCookie => "GetAuthorizationCookie",
            Operation::GetCookie => "GetCookie",
            Operation::GetConfigData => "GetConfigData",
            Operation::GetRevisionIdList => "GetRevisionIdList",
            Operation::GetUpdateData => "GetUpdateData",
            Operation::GetUpdateDecryptionData => "GetUpdateDecryptionData",
            Operation::DownloadFiles => "DownloadFiles",
            Operation::GetDeployments => "GetDeployments",
            Operation::GetRelatedRevisionsForUpdates => "GetRelatedRevisionsForUpdates",
            Operation::GetRollupConfiguration => "GetRollupConfiguration",
            Operation::RollupDownstreamServers => "RollupDownstreamServers",
            Operation::RollupComputers => "RollupComputers",
            Operation::GetOutOfSyncComputers => "GetOutOfSyncComputers",
            Operation::RollupComputerStatus => "RollupComputerStatus",
        }
    }

    /// Local name of the response element.
    pub fn response_name(self) -> String {
        format!("{}Response", self.name())
    }

    /// The service whose endpoint carries the operation.
    pub const fn service(self) -> Service {
        match self {
            Operation::GetAuthorizationCookie => Service::DssAuth,
            Operation::GetRollupConfiguration
            | Operation::RollupDownstreamServers
            | Operation::RollupComputers
            | Operation::GetOutOfSyncComputers
            | Operation::RollupComputerStatus => Service::Reporting,
            _ => Service::ServerSync,
        }
    }

    /// The SOAPAction URI of the WSDL binding, unquoted.
    pub fn soap_action(self) -> String {
        format!("{}/{}", self.service().namespace(), self.name())
    }

    /// The SOAPAction in double quotes, as it goes into the HTTP header and as real WSUS echoes
    /// it in a fault's `Method`.
    pub fn quoted_soap_action(self) -> String {
        format!("\"{}\"", self.soap_action())
    }

    /// Whether a `SOAPAction` header value (quoted or not) names this operation. The body
    /// element decides the operation; use this only as a cross-check.
    pub fn accepts_soap_action(self, header: &str) -> bool {
        let action = header.trim();
        let action = action.strip_prefix('"').and_then(|a| a.strip_suffix('"')).unwrap_or(action);
        action == self.soap_action()
    }

    /// Looks an operation up by the namespace and local name of a request body element.
    pub fn from_element(ns: &str, local: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.name() == local && op.service().namespace() == ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soap_actions_are_the_wsdl_ones() {
        assert_eq!(Operation::GetCookie.soap_action(), "http://www.microsoft.com/SoftwareDistribution/GetCookie");
        assert_eq!(
            Operation::GetAuthorizationCookie.quoted_soap_action(),
            "\"http://www.microsoft.com/SoftwareDistribution/Server/DssAuthWebService/GetAuthorizationCookie\""
        );
        assert_eq!(
            Operation::RollupComputerStatus.soap_action(),
            "http://www.microsoft.com/SoftwareDistribution/RollupComputerStatus"
        );
        assert!(
            Operation::GetRevisionIdList
                .accepts_soap_action("\"http://www.microsoft.com/SoftwareDistribution/GetRevisionIdList\"")
        );
        assert!(
            !Operation::GetRevisionIdList
                .accepts_soap_action("http://www.microsoft.com/SoftwareDistribution/GetCookie")
        );
    }

    #[test]
    fn routes_like_iis() {
        assert_eq!(Service::from_path("/ServerSyncWebService/ServerSyncWebService.asmx"), Some(Service::ServerSync));
        assert_eq!(Service::from_path("/serversyncwebservice/SERVERSYNCWEBSERVICE.ASMX"), Some(Service::ServerSync));
        assert_eq!(Service::from_path("//DssAuthWebService/DssAuthWebService.asmx"), Some(Service::DssAuth));
        assert_eq!(Service::from_path("/dssauthWebService/dssauthWebService.asmx?x=1"), Some(Service::DssAuth));
        assert_eq!(Service::from_path("/ReportingWebService/WebService.asmx"), Some(Service::Reporting));
        assert_eq!(Service::from_path("/ReportingWebService/ReportingWebService.asmx"), Some(Service::Reporting));
        assert_eq!(Service::from_path("/serversyncwebservice/ServerSyncProxy.asmx"), None);
        assert_eq!(Service::from_path("/x/ServerSyncWebService/ServerSyncWebService.asmx"), None);
        assert_eq!(Service::from_path(""), None);
    }

    #[test]
    fn every_operation_round_trips_through_its_element_name() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_element(op.service().namespace(), op.name()), Some(op));
        }
        assert_eq!(Operation::from_element(ns::DSS_AUTH, "GetCookie"), None);
    }
}
