use crate::Operation;
use crate::fault::{ErrorCode, Fault};

/// Why a message body could not be decoded: a request on the upstream side, a response on the
/// downstream side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The body exceeds [`crate::MAX_REQUEST_BYTES`] or [`crate::MAX_RESPONSE_BYTES`].
    #[error("message body of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge { len: usize, limit: usize },
    /// Well-formed XML, but not a SOAP 1.1 envelope with a body element.
    #[error("not a SOAP 1.1 message: {0}")]
    NotSoap(String),
    /// Not well-formed XML, not UTF-8/UTF-16, a DOCTYPE or entity, or nesting too deep.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The body element of a request is not an operation of any of the three services.
    #[error("unknown operation {{{ns}}}{name}")]
    UnknownOperation { ns: String, name: String },
    /// A response carries another element than the response of the operation that was called.
    #[error("expected {expected}, got {{{ns}}}{name}")]
    UnexpectedResponse { expected: String, ns: String, name: String },
    /// A value of the wrong type, or a required part missing. `name` is its path below the
    /// operation element (`filter.Categories.IdAndDelta.Id`, `updates.ServerSyncUpdateData.Id`).
    #[error("invalid parameter {name}: {reason}")]
    InvalidParameter { name: String, reason: String },
}

impl DecodeError {
    /// The fault an upstream answers an undecodable request with: `InvalidParameters`, whose
    /// `Message` names the top-level parameter the way real WSUS does (`filter`, `updateIds`).
    /// Set the `Method` and `faultactor` with [`Fault::with_method`] / [`Fault::with_actor`].
    pub fn to_fault(&self, op: Option<Operation>) -> Fault {
        let message = match self {
            DecodeError::InvalidParameter { name, .. } => name.split('.').next().unwrap_or_default(),
            _ => "",
        };
        let fault = match op {
            Some(op) => Fault::for_operation(ErrorCode::InvalidParameters, op),
            None => Fault::new(ErrorCode::InvalidParameters),
        };
        fault.with_message(message)
    }
}

impl From<sluice_soap_core::DecodeError> for DecodeError {
    fn from(e: sluice_soap_core::DecodeError) -> DecodeError {
        use sluice_soap_core::DecodeError as Core;
        match e {
            Core::TooLarge { len, limit } => DecodeError::TooLarge { len, limit },
            Core::NotSoap(m) => DecodeError::NotSoap(m),
            Core::Malformed(m) => DecodeError::Malformed(m),
            Core::InvalidParameter { name, reason } => DecodeError::InvalidParameter { name, reason },
        }
    }
}

/// Why a downstream got no usable response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// The upstream answered with a SOAP fault; its `ErrorCode` says what to do next.
    #[error("upstream fault {}: {}", .0.error_code.as_str(), .0.message)]
    Fault(Box<Fault>),
    /// The response could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

impl From<sluice_soap_core::DecodeError> for ResponseError {
    fn from(e: sluice_soap_core::DecodeError) -> ResponseError {
        ResponseError::Decode(e.into())
    }
}

impl ResponseError {
    /// The fault, if the upstream sent one.
    pub fn fault(&self) -> Option<&Fault> {
        match self {
            ResponseError::Fault(f) => Some(f),
            ResponseError::Decode(_) => None,
        }
    }
}
