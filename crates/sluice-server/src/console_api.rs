//! The console's way to the admin API: each page calls the API routes in process, with the
//! signed-in user's session token as bearer token, so the console can do exactly what the
//! API lets that user do — same roles, same validation, same audit entries, same cache
//! invalidation — and nothing else.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_api::{ApiError, API_PREFIX};
use tower::ServiceExt;

/// Largest API answer the console reads (a page of 10,000 report rows is far below).
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// Why an API call did not give the console what it asked for: the API's own status and
/// message, shown to the user as they are.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

impl Refusal {
    fn internal(message: impl Into<String>) -> Refusal {
        Refusal { status: StatusCode::INTERNAL_SERVER_ERROR, message: message.into() }
    }
}

/// The admin API as one signed-in user sees it.
pub(crate) struct Api<'a> {
    pub router: &'a Router,
    pub token: &'a str,
    pub address: Option<SocketAddr>,
    /// `/servers/{name}` when the console works on a trusted server (the switcher).
    pub prefix: String,
}

impl Api<'_> {
    async fn call(&self, method: Method, path: &str, body: Option<Vec<u8>>, accept: &str) -> Result<Vec<u8>, Refusal> {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{API_PREFIX}{}{path}", self.prefix))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::ACCEPT, accept);
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let mut req = req.body(Body::from(body.unwrap_or_default())).map_err(|e| Refusal::internal(e.to_string()))?;
        if let Some(a) = self.address {
            // The audit log and the login rate limit see the browser's address.
            req.extensions_mut().insert(ConnectInfo(a));
        }
        let response = match self.router.clone().oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), MAX_ANSWER_BYTES)
            .await
            .map_err(|e| Refusal::internal(format!("cannot read the API's answer: {e}")))?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        let message = serde_json::from_slice::<ApiError>(&bytes)
            .map(|e| e.error.message)
            .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned());
        Err(Refusal { status, message })
    }

    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Refusal> {
        serde_json::from_slice(if bytes.is_empty() { b"null" } else { bytes })
            .map_err(|e| Refusal::internal(format!("unexpected answer from the API: {e}")))
    }

    fn encode(body: &impl Serialize) -> Result<Vec<u8>, Refusal> {
        serde_json::to_vec(body).map_err(|e| Refusal::internal(e.to_string()))
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Refusal> {
        Self::decode(&self.call(Method::GET, path, None, "application/json").await?)
    }

    /// A report as CSV (`Accept: text/csv`).
    pub async fn csv(&self, path: &str) -> Result<String, Refusal> {
        let bytes = self.call(Method::GET, path, None, "text/csv").await?;
        String::from_utf8(bytes).map_err(|e| Refusal::internal(e.to_string()))
    }

    pub async fn send<T: DeserializeOwned>(&self, method: Method, path: &str, body: &impl Serialize) -> Result<T, Refusal> {
        Self::decode(&self.call(method, path, Some(Self::encode(body)?), "application/json").await?)
    }

    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, Refusal> {
        self.send(Method::POST, path, body).await
    }

    /// A call whose answer the console does not read (204, or a view it redirects past).
    pub async fn act(&self, method: Method, path: &str, body: Option<&serde_json::Value>) -> Result<(), Refusal> {
        let body = body.map(Self::encode).transpose()?;
        self.call(method, path, body, "application/json").await.map(drop)
    }
}

/// A URL path segment or query value, percent-encoded.
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A query string of the non-empty pairs (`?a=1&b=2`, or nothing).
pub(crate) fn query(pairs: &[(&str, &str)]) -> String {
    let parts: Vec<String> =
        pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
    if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
}

/// A submitted form or a query string, as its name/value pairs in order (a name may repeat:
/// the row checkboxes of a bulk form).
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub fn parse(raw: &[u8]) -> Option<Fields> {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(raw).ok().map(Fields)
    }

    /// The first value of `name`, trimmed ("" when absent).
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).unwrap_or("")
    }

    /// Every non-empty value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, v)| k == name && !v.trim().is_empty()).map(|(_, v)| v.trim().to_string()).collect()
    }

    /// Whether a checkbox was ticked.
    pub fn ticked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// `name` as an optional number; `Err` when given and not a number.
    pub fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        let v = self.get(name);
        if v.is_empty() {
            return Ok(None);
        }
        v.parse().map(Some).map_err(|_| "must be a whole number".to_string())
    }
}

/// A form sent back to its page after a refusal: what was typed, the field errors and the
/// API's refusal, shown next to the fields and above the form.
#[derive(Debug, Clone, Default)]
pub(crate) struct Submitted {
    pub fields: Fields,
    pub errors: Vec<(&'static str, String)>,
    pub refusal: Option<String>,
    /// Which form of the page it was (pages with several forms).
    pub form: &'static str,
}

impl Submitted {
    pub fn of(form: &'static str, fields: &Fields) -> Submitted {
        Submitted { fields: fields.clone(), form, ..Submitted::default() }
    }

    /// The error of one field of `form`, if this submission was that form.
    pub fn err(&self, form: &str, name: &str) -> Option<String> {
        (self.form == form).then(|| self.errors.iter().find(|(n, _)| *n == name).map(|(_, m)| m.clone())).flatten()
    }

    /// The refusal, on the form that was submitted.
    pub fn refusal(&self, form: &str) -> Option<String> {
        (self.form == form).then(|| self.refusal.clone()).flatten()
    }

    /// What was typed into a field of `form` (or `default` for another form or a fresh page).
    pub fn value(&self, form: &str, name: &str, default: &str) -> String {
        if self.form == form { self.fields.get(name).to_string() } else { default.to_string() }
    }

    pub fn add(&mut self, name: &'static str, why: impl Into<String>) {
        self.errors.push((name, why.into()));
    }

    pub fn failed(&self) -> bool {
        !self.errors.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_repeated_names() {
        let f = Fields::parse(b"update=a&update=b&group=Ring+1&csrf=x&empty=").unwrap();
        assert_eq!(f.all("update"), vec!["a", "b"]);
        assert_eq!(f.get("group"), "Ring 1");
        assert_eq!(f.get("missing"), "");
        assert!(f.ticked("empty") && !f.ticked("missing"));
        assert_eq!(query(&[("q", "KB 1&2"), ("x", "")]), "?q=KB%201%262");
    }
}
