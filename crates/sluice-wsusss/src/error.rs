use crate::Operation;
use crate::fault::{ErrorCode, Fault};

pub use sluice_soap_core::DecodeError;

/// The fault an upstream answers a [`DecodeError`] with.
pub trait ToFault {
    /// `InvalidParameters`, whose `Message` names the top-level parameter the way real WSUS does
    /// (`filter`, `updateIds`). Set the `Method` and `faultactor` with [`Fault::with_method`] /
    /// [`Fault::with_actor`].
    fn to_fault(&self, op: Option<Operation>) -> Fault;
}

impl ToFault for DecodeError {
    fn to_fault(&self, op: Option<Operation>) -> Fault {
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

impl ResponseError {
    /// The fault, if the upstream sent one.
    pub fn fault(&self) -> Option<&Fault> {
        match self {
            ResponseError::Fault(f) => Some(f),
            ResponseError::Decode(_) => None,
        }
    }
}
