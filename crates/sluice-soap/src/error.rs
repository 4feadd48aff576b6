use crate::Service;
use crate::fault::{ErrorCode, Fault};

/// Why a request body could not be decoded.
///
/// Every variant is the client's fault; [`SoapError::to_fault`] turns it into the
/// `InvalidParameters` SOAP fault a real WSUS answers malformed input with, so Windows Update
/// Agent does not retry the same request. The `Display` text carries the detail for logs; the
/// fault itself carries only the parameter path, as real WSUS does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoapError {
    /// The body exceeds [`crate::MAX_REQUEST_BYTES`].
    #[error("request body of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge { len: usize, limit: usize },
    /// Well-formed XML, but not a SOAP 1.1 envelope with a body element.
    #[error("not a SOAP 1.1 request: {0}")]
    NotSoap(String),
    /// Not well-formed XML, not UTF-8/UTF-16, a DOCTYPE or entity, or nesting too deep.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The body element is not an operation of any of the three services.
    #[error("unknown operation {{{ns}}}{name}")]
    UnknownOperation { ns: String, name: String },
    /// A parameter has a value of the wrong type (`name` is its path, e.g.
    /// `parameters.InstalledNonLeafUpdateIDs` or `cookie.EncryptedData`).
    #[error("invalid parameter {name}: {reason}")]
    InvalidParameter { name: String, reason: String },
}

impl From<sluice_soap_core::DecodeError> for SoapError {
    fn from(e: sluice_soap_core::DecodeError) -> SoapError {
        use sluice_soap_core::DecodeError as Core;
        match e {
            Core::TooLarge { len, limit } => SoapError::TooLarge { len, limit },
            Core::NotSoap(m) => SoapError::NotSoap(m),
            Core::Malformed(m) => SoapError::Malformed(m),
            Core::UnknownOperation { ns, name } => SoapError::UnknownOperation { ns, name },
            // Only a caller decoding responses meets this; the client services decode requests.
            e @ Core::UnexpectedResponse { .. } => SoapError::NotSoap(e.to_string()),
            Core::InvalidParameter { name, reason } => SoapError::InvalidParameter { name, reason },
        }
    }
}

impl SoapError {
    /// The WSUS error code of the fault to answer with.
    pub fn error_code(&self) -> ErrorCode {
        ErrorCode::InvalidParameters
    }

    /// What goes into the fault's `Message`: the parameter path for
    /// [`SoapError::InvalidParameter`] (as real WSUS does), empty otherwise.
    pub fn fault_message(&self) -> &str {
        match self {
            SoapError::InvalidParameter { name, .. } => name,
            _ => "",
        }
    }

    /// The fault to send for this error on the endpoint of `service`. Set the `Method` with
    /// [`Fault::with_method`] from the request's `SOAPAction` header when there is one.
    pub fn to_fault(&self, service: Service) -> Fault {
        Fault::new(self.error_code(), service).with_message(self.fault_message())
    }
}
