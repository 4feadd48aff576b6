//! Sending requests and reading answers: headers as the native agent sends them, xpress
//! decoding, SOAP faults surfaced with their WSUS ErrorCode.

use std::time::{Duration, Instant};

use sluice_xml::Element;

use crate::requests::{SoapCall, CLIENT_PATH, USER_AGENT};

const SOAP_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// The SOAP connection pool, for http:// and https:// servers alike. hyper directly rather
/// than reqwest: reqwest always adds an `Accept` header, which the native agent never sends.
pub type SoapClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Full<bytes::Bytes>,
>;

/// A pool trusting the system's roots.
pub fn soap_client() -> SoapClient {
    soap_client_with(&crate::trust::Trust::system())
}

/// A pool trusting what `trust` says (`--ca-cert`).
pub fn soap_client_with(trust: &crate::trust::Trust) -> SoapClient {
    let mut tcp = hyper_util::client::legacy::connect::HttpConnector::new();
    tcp.enforce_http(false);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(trust.client_config())
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp);
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_idle_timeout(std::time::Duration::from_secs(30))
        // WinHTTP writes `Cache-Control`, `Content-Type`, …; hyper would write them lower-case.
        .http1_title_case_headers(true)
        .build(connector)
}

/// A correlation vector base as the native agent's MS-CV header starts with: 16 base64
/// characters (12 random bytes), fixed for one agent.
pub fn new_cv_base() -> String {
    use base64::Engine;
    let raw: [u8; 12] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// The MS-CV value of the `n`th ClientWebService call of an agent (`me4WAo5lqUCG/53V.1.0.0.2.1`
/// in the capture, counting up by one per call).
pub fn cv(base: &str, n: u32) -> String {
    format!("{base}.1.0.0.2.{n}")
}

/// Whether the native agent sends an MS-CV header with this call: on the ClientWebService
/// only, never to SimpleAuth (capture scan/000002) or Reporting (flow/000016).
pub fn carries_cv(call: &SoapCall) -> bool {
    call.path.eq_ignore_ascii_case(CLIENT_PATH)
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

/// Sends one SOAP call with the native agent's headers, in its order (MS-CV only where it sends
/// one, see [`carries_cv`]); returns the operation's response element and the time it took.
pub async fn send(http: &SoapClient, base: &str, call: &SoapCall, cv: &str) -> Result<(Element, Duration, usize), WireError> {
    let started = Instant::now();
    let uri: http::Uri = format!("{base}{}", call.path).parse().map_err(|e| WireError::Connection(format!("bad server URL: {e}")))?;
    let host = uri.authority().map(|a| a.as_str().to_string()).ok_or_else(|| WireError::Connection(format!("no host in the server URL {base}")))?;
    let mut req = http::Request::post(uri)
        .header("Cache-Control", "no-cache")
        .header("Connection", "Keep-Alive")
        .header("Pragma", "no-cache")
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("Accept-Encoding", "xpress")
        .header("User-Agent", USER_AGENT)
        .header("SOAPAction", format!("\"{}\"", call.action));
    if carries_cv(call) {
        req = req.header("MS-CV", cv);
    }
    // Set here rather than left to hyper, which would put Host before Content-Length.
    let req = req
        .header("Content-Length", call.body.len())
        .header("Host", host)
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
