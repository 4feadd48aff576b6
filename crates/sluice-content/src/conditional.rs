//! Preconditions (RFC 9110 §13.2.2) other than `If-Range`, which lives with the range
//! logic because it only decides whether `Range` is honoured.
//!
//! Windows clients did not send conditionals in any capture, but caching proxies and
//! Delivery Optimization peer caches in front of a WSUS do, and answering them costs
//! nothing once the validators exist.

use crate::validators::{EtagList, Validators, parse_etag_list, parse_http_date};

/// Raw conditional header values of a request (several instances of one header joined
/// with `", "`, as list headers allow).
#[derive(Clone, Copy, Debug, Default)]
pub struct Conditionals<'a> {
    /// `If-Match`.
    pub if_match: Option<&'a str>,
    /// `If-None-Match`.
    pub if_none_match: Option<&'a str>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<&'a str>,
    /// `If-Unmodified-Since`.
    pub if_unmodified_since: Option<&'a str>,
}

/// Outcome of evaluating the preconditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precondition {
    /// Go on and serve the request (Range handling comes next).
    Proceed,
    /// `304 Not Modified`.
    NotModified,
    /// `412 Precondition Failed`.
    Failed,
}

/// Evaluates the preconditions in the order RFC 9110 §13.2.2 prescribes.
///
/// `safe_method` is true for GET and HEAD; only those can yield 304. Unparseable header
/// values are treated as absent (a malformed `If-Match` must not turn into a 412 that
/// blocks downloads; a malformed `If-None-Match` must not turn into a 304).
pub fn evaluate(c: &Conditionals<'_>, v: &Validators, safe_method: bool) -> Precondition {
    // Steps 1 and 2: If-Match, else If-Unmodified-Since.
    if let Some(list) = c.if_match.and_then(parse_etag_list) {
        let ok = match list {
            EtagList::Any => true,
            EtagList::Tags(tags) => tags.iter().any(|t| v.strong_match(t)),
        };
        if !ok {
            return Precondition::Failed;
        }
    } else if let Some(date) = c.if_unmodified_since.and_then(parse_http_date)
        && v.last_modified() > date
    {
        return Precondition::Failed;
    }

    // Steps 3 and 4: If-None-Match, else If-Modified-Since (GET/HEAD only).
    if let Some(list) = c.if_none_match.and_then(parse_etag_list) {
        let matched = match list {
            EtagList::Any => true,
            EtagList::Tags(tags) => tags.iter().any(|t| v.weak_match(t)),
        };
        if matched {
            return if safe_method {
                Precondition::NotModified
            } else {
                Precondition::Failed
            };
        }
    } else if safe_method
        && let Some(date) = c.if_modified_since.and_then(parse_http_date)
        && v.last_modified() <= date
    {
        return Precondition::NotModified;
    }
    Precondition::Proceed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn v() -> Validators {
        Validators::new(&[0xCD; 20], UNIX_EPOCH + Duration::from_secs(1_000_000_000))
    }
    const LM: &str = "Sun, 09 Sep 2001 01:46:40 GMT";
    const BEFORE: &str = "Sun, 09 Sep 2001 01:46:39 GMT";

    fn eval(c: Conditionals<'_>) -> Precondition {
        evaluate(&c, &v(), true)
    }

    #[test]
    fn no_headers_proceeds() {
        assert_eq!(eval(Conditionals::default()), Precondition::Proceed);
    }

    #[test]
    fn if_none_match() {
        let own = v().etag().to_owned();
        let weak = format!("W/{own}");
        for hit in [own.as_str(), weak.as_str(), "*", "\"x\", \"y\"  ,   *"] {
            let want = if hit.contains('x') {
                Precondition::Proceed
            } else {
                Precondition::NotModified
            };
            assert_eq!(
                eval(Conditionals {
                    if_none_match: Some(hit),
                    ..Default::default()
                }),
                want,
                "{hit}"
            );
        }
        assert_eq!(
            evaluate(
                &Conditionals {
                    if_none_match: Some(&own),
                    ..Default::default()
                },
                &v(),
                false
            ),
            Precondition::Failed
        );
        // If-None-Match present (even not matching) disables If-Modified-Since.
        assert_eq!(
            eval(Conditionals {
                if_none_match: Some("\"other\""),
                if_modified_since: Some(LM),
                ..Default::default()
            }),
            Precondition::Proceed
        );
    }

    #[test]
    fn if_modified_since() {
        let ims = |d| {
            eval(Conditionals {
                if_modified_since: Some(d),
                ..Default::default()
            })
        };
        assert_eq!(ims(LM), Precondition::NotModified);
        assert_eq!(ims(BEFORE), Precondition::Proceed);
        assert_eq!(ims("garbage"), Precondition::Proceed);
        assert_eq!(
            evaluate(
                &Conditionals {
                    if_modified_since: Some(LM),
                    ..Default::default()
                },
                &v(),
                false
            ),
            Precondition::Proceed
        );
    }

    #[test]
    fn if_match_and_unmodified_since() {
        let own = v().etag().to_owned();
        let weak = format!("W/{own}");
        let im = |t| {
            eval(Conditionals {
                if_match: Some(t),
                ..Default::default()
            })
        };
        assert_eq!(im(&own), Precondition::Proceed);
        assert_eq!(im("*"), Precondition::Proceed);
        assert_eq!(
            im(&weak),
            Precondition::Failed,
            "If-Match uses the strong comparison"
        );
        assert_eq!(im("\"nope\""), Precondition::Failed);
        assert_eq!(im("not-a-tag"), Precondition::Proceed);
        let ius = |d| {
            eval(Conditionals {
                if_unmodified_since: Some(d),
                ..Default::default()
            })
        };
        assert_eq!(ius(LM), Precondition::Proceed);
        assert_eq!(ius(BEFORE), Precondition::Failed);
        // If-Match present disables If-Unmodified-Since.
        assert_eq!(
            eval(Conditionals {
                if_match: Some(&own),
                if_unmodified_since: Some(BEFORE),
                ..Default::default()
            }),
            Precondition::Proceed
        );
    }
}
