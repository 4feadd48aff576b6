//! The SOAP 1.1 layer that MS-WUSP (`sluice-soap`) and MS-WSUSSS (`sluice-wsusss`) share, with
//! no I/O: the envelope in both serialisations a real WSUS writes, the `SoapException`-shaped
//! fault with its WSUS `ErrorCode` detail, `xs:dateTime` as .NET writes it, and readers and
//! writers of the elements both protocols are made of.
//!
//! The protocol crates keep their operation types and decide which [`Style`] each of their
//! services uses; nothing here knows an operation.

mod datetime;
mod decode;
mod encode;
mod fault;
#[cfg(feature = "testing")]
pub mod testing;

pub use datetime::{format_date, format_datetime, parse_date_time_prefix, parse_datetime};
pub use decode::{
    DecodeError, Path, Reader, body_element, body_text, clip, invalid, is_nil, parse_base64, parse_bool,
    parse_envelope, parse_guid, parse_num, text,
};
pub use encode::{Style, Writer, escape_text_into};
pub use fault::{EmptyMessage, FAULT_HTTP_STATUS, FaultCode, FaultParts, encode_fault};

#[doc(hidden)]
pub use uuid;

/// Declares a newtype over the shared [`Reader`] or [`Writer`] that dereferences to it, so a
/// protocol crate can give it methods for its own compound values.
#[macro_export]
macro_rules! extend {
    ($(#[$attr:meta])* $vis:vis struct $name:ident($base:ty);) => {
        $(#[$attr])*
        $vis struct $name($base);

        impl ::std::ops::Deref for $name {
            type Target = $base;
            fn deref(&self) -> &$base {
                &self.0
            }
        }

        impl ::std::ops::DerefMut for $name {
            fn deref_mut(&mut self) -> &mut $base {
                &mut self.0
            }
        }
    };
}

/// `Content-Type` of every SOAP 1.1 request, response and fault, as real WSUS sends it.
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// XML namespaces every SOAP message of either protocol uses.
pub mod ns {
    /// SOAP 1.1 envelope.
    pub const SOAP_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
    /// SOAP 1.2 envelope; recognised only to give a precise error (WSUS speaks 1.1 only).
    pub const SOAP12_ENV: &str = "http://www.w3.org/2003/05/soap-envelope";
    /// XML Schema instance (`xsi:nil`).
    pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
    /// XML Schema.
    pub const XSD: &str = "http://www.w3.org/2001/XMLSchema";
}
