//! Times as the admin API and the CLI take and show them: RFC 3339, in UTC.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::{CatalogError, invalid};

/// Parses an RFC 3339 date-time (with its offset), as deadlines are given.
pub fn parse_rfc3339_utc(s: &str) -> Result<OffsetDateTime, CatalogError> {
    OffsetDateTime::parse(s.trim(), &Rfc3339)
        .map(|t| t.to_offset(UtcOffset::UTC))
        .map_err(|_| {
            invalid(format!(
                "'{s}' is not an RFC 3339 date-time such as 2026-05-01T18:00:00Z"
            ))
        })
}

/// Formats a time as RFC 3339 in UTC, the way every view shows times.
pub fn format_utc(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}
