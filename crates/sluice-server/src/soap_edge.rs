//! The HTTP side of every SOAP service on the client listener, MS-WUSP (`client_services`) and
//! MS-WSUSSS (`server_sync`) alike: method and Host checks, the body read against the
//! process-wide budget, xpress negotiation, and response headers as a real WSUS sends them.
//! The two service modules only decode, dispatch and encode between [`SoapEdge::open`] and
//! [`SoapEdge::respond`].

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use sluice_soap_core::Style;

use crate::body_budget::{self, BodyError};

/// Longest `Host` header used to build URLs (a DNS name is at most 253 characters, plus a port).
pub const MAX_HOST_LEN: usize = 255;

/// One SOAP request on its way through the edge: what the response headers depend on, and
/// what the access layer records of it.
pub struct SoapEdge {
    style: Style,
    xpress: bool,
    base: String,
    service: &'static str,
    // Set once the request is decoded; shared with the fault closures the services keep.
    operation: std::sync::OnceLock<&'static str>,
}

/// What the access layer (`access.rs`) logs and counts of a SOAP answer; a response extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoapOutcome {
    /// `client`, `simple_auth`, `reporting`, `server_sync`, `dss_auth`, `reporting_rollup`.
    pub service: &'static str,
    /// The operation's name, `unknown` when the request could not be decoded.
    pub operation: &'static str,
    /// The WSUS ErrorCode of a fault answer.
    pub fault: Option<String>,
}

impl SoapEdge {
    /// Starts answering `req` on a service written in `style`; a request that is not a POST gets
    /// its answer (405) as the error.
    /// `service` names the service in logs and metrics; `state` says how the server names
    /// itself in the URLs of the answer.
    pub fn open(req: &Request, style: Style, service: &'static str, state: &crate::AppState) -> Result<SoapEdge, Box<Response>> {
        if req.method() != Method::POST {
            return Err(Box::new((StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "POST")]).into_response()));
        }
        Ok(SoapEdge {
            style,
            xpress: accepts_xpress(req.headers()),
            base: state.urls.base(req, state.client_addr),
            service,
            operation: std::sync::OnceLock::new(),
        })
    }

    /// Records which operation the request asked for, once decoded.
    pub fn operation(&self, name: &'static str) {
        let _ = self.operation.set(name);
    }

    /// `scheme://host[:port]` for the URLs of the answer (`origin.rs` says which).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Buffers the request body, at most `limit` bytes, held against the process-wide body
    /// budget. A longer body is read to its end (up to [`body_budget::MAX_DISCARDED_BODY`] more)
    /// so that the fault reaches a client that writes everything before reading.
    pub async fn read_body(&self, body: Body, limit: usize) -> Result<Bytes, BodyError> {
        body_budget::read_bounded(body, limit, body_budget::global()).await
    }

    /// The HTTP response for an encoded answer.
    pub fn respond(&self, status: u16, body: Vec<u8>) -> Response {
        self.answer(status, body, None)
    }

    /// The HTTP response for an encoded fault with WSUS ErrorCode `code` (`status` is the
    /// fault's HTTP status).
    pub fn respond_fault(&self, status: u16, body: Vec<u8>, code: &str) -> Response {
        self.answer(status, body, Some(code.to_owned()))
    }

    fn answer(&self, status: u16, body: Vec<u8>, fault: Option<String>) -> Response {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(sluice_soap_core::CONTENT_TYPE));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control(self.style, status)));
        let body = if self.xpress {
            // IIS names the header only when it could have compressed: the answer then depends
            // on Accept-Encoding.
            headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
            if body.is_empty() {
                body
            } else {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(sluice_xpress::CONTENT_CODING));
                sluice_xpress::compress(&body)
            }
        } else {
            body
        };
        let outcome = SoapOutcome {
            service: self.service,
            operation: self.operation.get().copied().unwrap_or("unknown"),
            fault,
        };
        (status, headers, axum::Extension(outcome), Body::from(body)).into_response()
    }
}

/// `Cache-Control` as a real WSUS sends it (Windows Server 2025 captures): the WCF client web
/// service says `private` on everything; the ASMX services (SimpleAuth, Reporting, Server Sync,
/// DSS authorization) say `private, max-age=0` on answers and `private` on faults.
fn cache_control(style: Style, status: StatusCode) -> &'static str {
    match style {
        Style::Asmx if status.is_success() => "private, max-age=0",
        _ => "private",
    }
}

/// Whether the request's Accept-Encoding allows xpress: named with a q-value above zero
/// (RFC 9110 12.5.3: `q=0` means "not acceptable"); a `*` does not count, since xpress is a
/// coding only WUA knows.
pub fn accepts_xpress(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|item| {
            let mut parts = item.split(';');
            let coding = parts.next()?.trim();
            if !coding.eq_ignore_ascii_case(sluice_xpress::CONTENT_CODING) {
                return None;
            }
            let q = parts
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                .map(|(_, v)| v.trim().parse::<f32>().unwrap_or(0.0))
                .unwrap_or(1.0);
            Some(q)
        })
        .any(|q| q > 0.0)
}

/// A `Host` (or `X-Forwarded-Host`) value when it is a plausible host name or address with an
/// optional port: it goes verbatim into the content and fault-actor URLs this server hands out,
/// so anything that could change their meaning (`/`, `@`, spaces, a kilobyte of name) is not
/// used.
pub fn plausible_host(value: Option<&str>) -> Option<String> {
    value
        .filter(|h| {
            !h.is_empty()
                && h.len() <= MAX_HOST_LEN
                && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xpress_needs_a_positive_q_value() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).expect("header"));
            accepts_xpress(&h)
        };
        assert!(with("xpress"));
        assert!(with("gzip, XPRESS;q=0.5"));
        assert!(!with("xpress;q=0"));
        assert!(!with("*"));
        assert!(!with("identity"));
        assert!(!accepts_xpress(&HeaderMap::new()));
    }

    #[test]
    fn item_2_hosts_that_cannot_go_into_a_url_are_not_used() {
        let of = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, HeaderValue::from_str(v).expect("header"));
            plausible_host(h.get(header::HOST).and_then(|v| v.to_str().ok()))
        };
        assert_eq!(of("wsus.example:8530").as_deref(), Some("wsus.example:8530"));
        assert_eq!(of("[::1]:8530").as_deref(), Some("[::1]:8530"));
        assert_eq!(of("evil/x"), None);
        assert_eq!(of("a@b"), None);
        assert_eq!(of(&"a".repeat(MAX_HOST_LEN + 1)), None);
        assert_eq!(of(&"a".repeat(MAX_HOST_LEN)).map(|h| h.len()), Some(MAX_HOST_LEN));
    }

    #[test]
    fn item_2_cache_control_follows_the_service_style() {
        assert_eq!(cache_control(Style::Client, StatusCode::OK), "private");
        assert_eq!(cache_control(Style::Client, StatusCode::INTERNAL_SERVER_ERROR), "private");
        assert_eq!(cache_control(Style::Asmx, StatusCode::OK), "private, max-age=0");
        assert_eq!(cache_control(Style::Asmx, StatusCode::INTERNAL_SERVER_ERROR), "private");
    }
}
