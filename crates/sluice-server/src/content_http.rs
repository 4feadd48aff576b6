//! Serving `/Content/<XX>/<SHA1HEX>.<ext>` the way Windows clients download it.
//!
//! Delivery Optimization fetches every file as 1 MiB closed ranges over several
//! keep-alive connections and needs a `206` with an exact `Content-Range`,
//! `Content-Length`, `Content-Type: application/octet-stream`, `Accept-Ranges: bytes`
//! and an ETag that stays the same across pieces (shared/notes/ms-wusp.md §5.4).
//! tower-http's `ServeDir` can't do multi-range or `If-Range`, hence this handler; the
//! decisions themselves are pure functions in `sluice_content::{range, conditional}`.
//!
//! Files are streamed (never read whole) by `ContentFile::into_stream`: from one open
//! handle per response for a local store, so a replacement of the file during a download
//! can't mix two versions, or with ranged GETs of the object for an S3 store.
//!
//! Don't wrap this router in a compression layer: it would compress
//! `application/octet-stream` and drop `Accept-Ranges` on full responses.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode, Uri};
use sluice_content::conditional::{self, Conditionals, Precondition};
use sluice_content::range::{self, BodySegment, ByteRange, RangePlan};
use sluice_content::{ContentFile, ContentStore, Validators, parse_content_path};

/// Media type of every update file, as IIS serves them.
const OCTET_STREAM: &str = "application/octet-stream";

/// The content router: `GET` and `HEAD` on `/Content/{*path}`, any letter case in
/// `Content` and in the rest of the path. Other methods get `405` with `Allow`.
pub fn router(store: Arc<ContentStore>) -> Router {
    let handler = on(MethodFilter::GET.or(MethodFilter::HEAD), serve);
    let mut router = Router::new();
    // IIS matches paths case-insensitively. axum routes are case-sensitive and a
    // rewriting layer would only work if applied outside the whole app, which this
    // router can't impose; 128 literal routes (every casing of "content") are cheap in
    // the route tree and keep the behaviour self-contained.
    for prefix in case_variants("content") {
        router = router.route(&format!("/{prefix}/{{*path}}"), handler.clone());
    }
    router.with_state(store)
}

fn case_variants(word: &str) -> Vec<String> {
    let letters: Vec<char> = word.chars().collect();
    (0u32..1 << letters.len())
        .map(|mask| {
            letters
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if mask & (1 << i) != 0 {
                        c.to_ascii_uppercase()
                    } else {
                        *c
                    }
                })
                .collect()
        })
        .collect()
}

async fn serve(
    State(store): State<Arc<ContentStore>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    // The route matched `/<any casing of content>/…`; what follows is `XX/HEX.ext`.
    let Some(key) = uri
        .path()
        .strip_prefix('/')
        .and_then(|p| p.split_once('/'))
        .and_then(|(_, rest)| parse_content_path(rest))
    else {
        return not_found();
    };
    let file = match store.lookup(&key).await {
        Ok(Some(file)) => file,
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, path = uri.path(), "content lookup failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let validators = file.validators();

    let if_match = joined(&headers, &header::IF_MATCH);
    let if_none_match = joined(&headers, &header::IF_NONE_MATCH);
    let conditionals = Conditionals {
        if_match: if_match.as_deref(),
        if_none_match: if_none_match.as_deref(),
        if_modified_since: single(&headers, &header::IF_MODIFIED_SINCE),
        if_unmodified_since: single(&headers, &header::IF_UNMODIFIED_SINCE),
    };
    match conditional::evaluate(&conditionals, &validators, true) {
        Precondition::Proceed => {}
        Precondition::NotModified => {
            return finish(base(StatusCode::NOT_MODIFIED, &validators), Body::empty());
        }
        Precondition::Failed => {
            return finish(
                base(StatusCode::PRECONDITION_FAILED, &validators),
                Body::empty(),
            );
        }
    }

    let head = method == Method::HEAD;
    // RFC 9110 §14.2: Range is defined for GET only, so HEAD describes the full 200.
    let plan = if head {
        RangePlan::Full
    } else {
        range::plan(
            single(&headers, &header::RANGE),
            single(&headers, &header::IF_RANGE),
            &validators,
            file.len,
        )
    };
    respond(plan, file, &validators, head)
}

fn respond(plan: RangePlan, file: ContentFile, v: &Validators, head: bool) -> Response {
    let len = file.len;
    let (builder, segments, content_length) = match plan {
        RangePlan::Full => (
            base(StatusCode::OK, v).header(header::CONTENT_TYPE, OCTET_STREAM),
            vec![BodySegment::File { start: 0, len }],
            len,
        ),
        RangePlan::Single(r) => (
            base(StatusCode::PARTIAL_CONTENT, v)
                .header(header::CONTENT_TYPE, OCTET_STREAM)
                .header(header::CONTENT_RANGE, r.content_range(len)),
            vec![BodySegment::File {
                start: r.start,
                len: r.len(),
            }],
            r.len(),
        ),
        RangePlan::Multi(ranges) => multi(&ranges, len, v),
        RangePlan::NotSatisfiable => {
            let builder = base(StatusCode::RANGE_NOT_SATISFIABLE, v)
                .header(header::CONTENT_RANGE, range::unsatisfied_content_range(len))
                .header(header::CONTENT_LENGTH, 0);
            return finish(builder, Body::empty());
        }
    };
    let builder = builder.header(header::CONTENT_LENGTH, content_length);
    if head {
        return finish(builder, Body::empty());
    }
    finish(builder, Body::from_stream(file.into_stream(segments)))
}

fn multi(
    ranges: &[ByteRange],
    len: u64,
    v: &Validators,
) -> (http::response::Builder, Vec<BodySegment>, u64) {
    let body = range::multipart_body(ranges, len, &range::new_boundary(), OCTET_STREAM);
    (
        base(StatusCode::PARTIAL_CONTENT, v).header(header::CONTENT_TYPE, body.content_type()),
        body.segments,
        body.content_length,
    )
}

/// Status plus the headers every answer about an existing file carries.
fn base(status: StatusCode, v: &Validators) -> http::response::Builder {
    Response::builder()
        .status(status)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::ETAG, v.etag())
        .header(header::LAST_MODIFIED, v.last_modified_http())
}

fn finish(builder: http::response::Builder, body: Body) -> Response {
    builder.body(body).unwrap_or_else(|e| {
        // Only reachable if a header value were invalid; all of them are generated here.
        tracing::error!(error = %e, "building content response failed");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    })
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

/// The value of a header that must occur once. Repeated or non-text values count as
/// absent, which makes the range logic ignore them (the safe reading).
fn single<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    first.to_str().ok()
}

/// A list header's instances joined with `", "` (RFC 9110 §5.3); absent if any isn't text.
fn joined(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let parts: Option<Vec<&str>> = headers
        .get_all(name)
        .iter()
        .map(|v: &HeaderValue| v.to_str().ok())
        .collect();
    let parts = parts?;
    (!parts.is_empty()).then(|| parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::case_variants;

    #[test]
    fn all_casings() {
        let v = case_variants("content");
        assert_eq!(v.len(), 128);
        assert!(v.contains(&"content".to_owned()));
        assert!(v.contains(&"Content".to_owned()));
        assert!(v.contains(&"CONTENT".to_owned()));
        let unique: std::collections::HashSet<_> = v.iter().collect();
        assert_eq!(unique.len(), 128);
    }
}
