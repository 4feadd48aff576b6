//! Sending requests and reading answers: headers as the native agent sends them, xpress
//! decoding, SOAP faults surfaced with their WSUS ErrorCode.

use std::time::{Duration, Instant};

use sluice_xml::Element;

use crate::requests::{SoapCall, USER_AGENT};

const SOAP_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// The SOAP connection pool. hyper directly rather than reqwest: reqwest always adds an
/// `Accept` header, which the native agent never sends.
pub type SoapClient = hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, http_body_util::Full<bytes::Bytes>>;

pub fn soap_client() -> SoapClient {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_idle_timeout(std::time::Duration::from_secs(30))
        .build_http()
}

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("cannot reach the server: {0}")]
    Http(#[from] reqwest::Error),
    #[error("cannot reach the server: {0}")]
    Connection(String),
    #[error("the server answered with a fault: {code} {message}")]
    Fault { code: String, message: String },
    #[error("the server answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("unreadable answer: {0}")]
    Malformed(String),
}

impl WireError {
    pub fn fault_code(&self) -> Option<&str> {
        match self {
            WireError::Fault { code, .. } => Some(code),
            _ => None,
        }
    }

    /// A short kind for error statistics.
    pub fn kind(&self) -> String {
        match self {
            WireError::Http(e) if e.is_timeout() => "timeout".into(),
            WireError::Http(e) if e.is_connect() => "connect".into(),
            WireError::Http(_) => "http".into(),
            WireError::Connection(_) => "connection".into(),
            WireError::Fault { code, .. } => format!("fault:{code}"),
            WireError::Status { status, .. } => format!("status:{status}"),
            WireError::Malformed(_) => "malformed".into(),
        }
    }
}

/// Sends one SOAP call; returns the operation's response element and the time it took.
pub async fn send(http: &SoapClient, base: &str, call: &SoapCall, cv: &str) -> Result<(Element, Duration, usize), WireError> {
    let started = Instant::now();
    let uri: http::Uri = format!("{base}{}", call.path).parse().map_err(|e| WireError::Connection(format!("bad server URL: {e}")))?;
    let req = http::Request::post(uri)
        .header("Cache-Control", "no-cache")
        .header("Connection", "Keep-Alive")
        .header("Pragma", "no-cache")
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("Accept-Encoding", "xpress")
        .header("User-Agent", USER_AGENT)
        .header("SOAPAction", format!("\"{}\"", call.action))
        .header("MS-CV", cv)
        .body(http_body_util::Full::new(bytes::Bytes::from(call.body.clone())))
        .map_err(|e| WireError::Connection(e.to_string()))?;
    let resp = tokio::time::timeout(Duration::from_secs(120), http.request(req))
        .await
        .map_err(|_| WireError::Connection("timed out".into()))?
        .map_err(|e| WireError::Connection(e.to_string()))?;
    let status = resp.status().as_u16();
    let xpress = resp.headers().get("content-encoding").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"xpress"));
    let raw = {
        use http_body_util::BodyExt;
        resp.into_body().collect().await.map_err(|e| WireError::Connection(e.to_string()))?.to_bytes()
    };
    let wire_len = raw.len() + call.body.len();
    let bytes = if xpress {
        sluice_xpress::decompress(&raw).map_err(|e| WireError::Malformed(format!("xpress: {e}")))?
    } else {
        raw.to_vec()
    };
    let text = String::from_utf8(bytes).map_err(|_| WireError::Malformed("not UTF-8".into()))?;
    let env = sluice_xml::parse(&text, "response").map_err(|e| {
        if status != 200 {
            WireError::Status { status, body: text.chars().take(300).collect() }
        } else {
            WireError::Malformed(e.reason)
        }
    })?;
    let body = env.child(SOAP_ENV, "Body").ok_or_else(|| WireError::Malformed("no Body".into()))?;
    let first = body.elements().next().ok_or_else(|| WireError::Malformed("empty Body".into()))?;
    if first.is(SOAP_ENV, "Fault") {
        let detail = first.child("", "detail");
        let find = |name: &str| detail.and_then(|d| d.elements().find(|e| e.local == name)).map(|e| e.text()).unwrap_or_default();
        return Err(WireError::Fault { code: find("ErrorCode"), message: find("Message") });
    }
    if status != 200 {
        return Err(WireError::Status { status, body: text.chars().take(300).collect() });
    }
    Ok((first.clone(), started.elapsed(), wire_len))
}

/// Text of a descendant by local names (namespaces are the operation's own throughout).
pub fn text_at(el: &Element, path: &[&str]) -> Option<String> {
    let mut cur = el;
    for p in path {
        cur = cur.elements().find(|e| e.local == *p)?;
    }
    Some(cur.text())
}

pub fn child<'a>(el: &'a Element, name: &str) -> Option<&'a Element> {
    el.elements().find(|e| e.local == name)
}

pub fn children<'a>(el: &'a Element, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
    el.elements().filter(move |e| e.local == name)
}
