//! The SOAP 1.1 fault in the shape of WSUS's `SoapException`: `faultcode`, `faultstring`, an
//! optional `faultactor`, and a `detail` with the unqualified children `ErrorCode`, `Message`,
//! `ID` and `Method` that Windows Update Agent and downstream servers act on.
//!
//! Each protocol keeps its own `ErrorCode` set and `Fault` type; both write through
//! [`encode_fault`].

use uuid::Uuid;

use crate::encode::{Style, Writer};

/// HTTP status of every SOAP fault (SOAP 1.1 §6.2; real WSUS answers faults with 500), whatever
/// the `ErrorCode`.
pub const FAULT_HTTP_STATUS: u16 = 500;

/// The SOAP 1.1 `faultcode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultCode {
    Client,
    Server,
    VersionMismatch,
    MustUnderstand,
}

impl FaultCode {
    /// The local part of the QName.
    pub const fn as_str(self) -> &'static str {
        match self {
            FaultCode::Client => "Client",
            FaultCode::Server => "Server",
            FaultCode::VersionMismatch => "VersionMismatch",
            FaultCode::MustUnderstand => "MustUnderstand",
        }
    }

    /// The code a real WSUS sends with a WSUS `ErrorCode` (by its wire name): `Server` for
    /// failures of the server itself (`InternalServerError`, `ServerBusy`), `Client` for
    /// everything the caller can act on (`InvalidParameters`, `InvalidCookie`, …), which is what
    /// makes Windows Update Agent and downstream servers follow the `ErrorCode` instead of backing
    /// off.
    pub fn for_error_code(error_code: &str) -> FaultCode {
        match error_code {
            "InternalServerError" | "ServerBusy" => FaultCode::Server,
            _ => FaultCode::Client,
        }
    }

    /// From a `faultcode` QName value; the prefix is ignored and dotted refinements
    /// (`Client.Authentication`) count as their base code. Unknown values count as `Server`.
    pub fn parse(s: &str) -> FaultCode {
        let local = s.trim().rsplit(':').next().unwrap_or_default();
        match local.split('.').next().unwrap_or_default() {
            "Client" => FaultCode::Client,
            "VersionMismatch" => FaultCode::VersionMismatch,
            "MustUnderstand" => FaultCode::MustUnderstand,
            _ => FaultCode::Server,
        }
    }
}

/// How an empty `detail/Message` is written. The services of one WSUS differ here: the upstream
/// services build the detail with XmlDocument (`<Message></Message>`), the client-facing ones
/// serialise it (the empty form of the envelope's [`Style`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmptyMessage {
    /// The style's empty element: `<Message/>` or `<Message />`.
    Empty,
    /// `<Message></Message>`.
    StartEnd,
}

/// What a fault says, borrowed from a protocol's own fault type.
#[derive(Debug, Clone, Copy)]
pub struct FaultParts<'a> {
    pub fault_code: FaultCode,
    pub fault_string: &'a str,
    pub fault_actor: Option<&'a str>,
    pub error_code: &'a str,
    pub message: &'a str,
    pub id: Uuid,
    /// The SOAPAction in double quotes; `None` omits `Method`.
    pub method: Option<&'a str>,
}

/// Adds the builder methods of a WSUS fault, and its encoding, to a protocol's `Fault` type,
/// which has the fields `error_code` (with an `as_str()` wire name), `message: String`,
/// `id: Uuid`, `method: Option<String>`, `fault_actor: Option<String>` and `fault_string: String`. A macro rather than a shared type: each protocol's fault carries its
/// own `ErrorCode` and what decides its envelope, and callers keep plain inherent methods.
#[macro_export]
macro_rules! fault_builders {
    ($fault:ident) => {
        impl $fault {
            /// Sets `detail/Message`.
            pub fn with_message(mut self, message: impl Into<String>) -> $fault {
                self.message = message.into();
                self
            }

            /// Sets `Method`; pass the request's `SOAPAction` header as received (quoted).
            pub fn with_method(mut self, method: impl Into<String>) -> $fault {
                self.method = Some(method.into());
                self
            }

            /// Sets `detail/ID` (a fresh random one is set by the constructors).
            pub fn with_id(mut self, id: $crate::uuid::Uuid) -> $fault {
                self.id = id;
                self
            }

            /// Sets `faultactor`: the absolute URL of the service, as real WSUS sends it.
            pub fn with_actor(mut self, actor: impl Into<String>) -> $fault {
                self.fault_actor = Some(actor.into());
                self
            }

            /// Sets `faultstring` (real WSUS: `Fault occurred`).
            pub fn with_fault_string(mut self, s: impl Into<String>) -> $fault {
                self.fault_string = s.into();
                self
            }

            /// Always [`FAULT_HTTP_STATUS`]($crate::FAULT_HTTP_STATUS).
            pub fn http_status(&self) -> u16 {
                $crate::FAULT_HTTP_STATUS
            }

            /// The fault as the service that sends it writes it.
            fn encode_as(
                &self,
                style: $crate::Style,
                empty_message: $crate::EmptyMessage,
                fault_code: $crate::FaultCode,
            ) -> Vec<u8> {
                $crate::encode_fault(
                    style,
                    empty_message,
                    &$crate::FaultParts {
                        fault_code,
                        fault_string: &self.fault_string,
                        fault_actor: self.fault_actor.as_deref(),
                        error_code: self.error_code.as_str(),
                        message: &self.message,
                        id: self.id,
                        method: self.method.as_deref(),
                    },
                )
            }
        }
    };
}

/// Encodes a fault. Send it with [`crate::CONTENT_TYPE`] and HTTP status [`FAULT_HTTP_STATUS`].
pub fn encode_fault(style: Style, empty_message: EmptyMessage, fault: &FaultParts<'_>) -> Vec<u8> {
    let cap = 700
        + fault.message.len()
        + fault.fault_string.len()
        + fault.method.map_or(0, str::len)
        + fault.fault_actor.map_or(0, str::len);
    let mut w = Writer::new(style, cap);
    let p = style.prefix();
    w.raw(style.fault_envelope_open());
    w.raw("<");
    w.raw(p);
    w.raw(":Fault><faultcode>");
    w.raw(p);
    w.raw(":");
    w.raw(fault.fault_code.as_str());
    w.close("faultcode");
    w.text("faultstring", fault.fault_string);
    w.opt_text("faultactor", fault.fault_actor);
    w.open("detail");
    w.text("ErrorCode", fault.error_code);
    match empty_message {
        EmptyMessage::Empty => w.text("Message", fault.message),
        EmptyMessage::StartEnd => {
            w.open("Message");
            crate::escape_text_into(fault.message, &mut w.buf);
            w.close("Message");
        }
    }
    w.guid("ID", &fault.id);
    w.opt_text("Method", fault.method);
    w.close("detail");
    w.raw("</");
    w.raw(p);
    w.raw(":Fault>");
    w.raw(style.envelope_close());
    w.buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_codes_parse_by_local_name() {
        assert_eq!(FaultCode::parse("soap:Client.Authentication"), FaultCode::Client);
        assert_eq!(FaultCode::parse("s:Server"), FaultCode::Server);
        assert_eq!(FaultCode::parse("weird"), FaultCode::Server);
        assert_eq!(FaultCode::for_error_code("ServerBusy"), FaultCode::Server);
        assert_eq!(FaultCode::for_error_code("InternalServerError"), FaultCode::Server);
        assert_eq!(FaultCode::for_error_code("InvalidParameters"), FaultCode::Client);
        for c in [FaultCode::Client, FaultCode::Server, FaultCode::VersionMismatch, FaultCode::MustUnderstand] {
            assert_eq!(FaultCode::parse(c.as_str()), c);
        }
    }
}
