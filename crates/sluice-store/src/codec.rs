//! Conversions between Rust values and their stored column forms, shared by both backends.

use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
use uuid::Uuid;

use crate::error::{Result, StoreError};

/// Fixed width (4-digit year, 6-digit fraction, `Z`), so that the text order of stored
/// timestamps is their time order in both backends and `<`/`>=` comparisons in SQL work.
const TS_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// Truncates a timestamp to the precision the store keeps (microseconds), so a value read
/// back compares equal to the value written.
pub fn to_stored_precision(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}

/// The current time at stored precision.
pub(crate) fn now() -> OffsetDateTime {
    to_stored_precision(OffsetDateTime::now_utc())
}

/// Encodes a timestamp into its stored text form.
pub(crate) fn ts(t: OffsetDateTime) -> Result<String> {
    let t = t.to_offset(UtcOffset::UTC);
    // Years before 1 would format with a sign and break the text ordering.
    if t.year() < 1 {
        return Err(StoreError::InvalidInput(format!(
            "timestamp {t} is before year 1"
        )));
    }
    t.format(TS_FORMAT)
        .map_err(|e| StoreError::InvalidInput(format!("timestamp {t}: {e}")))
}

/// Encodes an optional timestamp.
pub(crate) fn opt_ts(t: Option<OffsetDateTime>) -> Result<Option<String>> {
    t.map(ts).transpose()
}

/// Decodes a stored timestamp; RFC 3339 is accepted too, for rows written by hand.
pub(crate) fn parse_ts(s: &str) -> Result<OffsetDateTime> {
    if let Ok(p) = PrimitiveDateTime::parse(s, TS_FORMAT) {
        return Ok(p.assume_utc());
    }
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| StoreError::Corrupt(format!("timestamp {s:?}: {e}")))
}

/// Decodes a stored UUID.
pub(crate) fn parse_uuid(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("uuid {s:?}: {e}")))
}

/// Encodes a UUID into its stored form (lowercase, hyphenated).
pub(crate) fn uuid_str(u: &Uuid) -> String {
    u.hyphenated().to_string()
}

/// Normalises a hex digest to lowercase and checks its length and alphabet.
pub(crate) fn hex_digest(what: &str, s: &str, len: usize) -> Result<String> {
    if s.len() != len || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StoreError::InvalidInput(format!(
            "{what} must be {len} hex digits, got {s:?}"
        )));
    }
    Ok(s.to_ascii_lowercase())
}

/// Column access shared by SQLite and PostgreSQL rows, so record decoding is written once.
pub(crate) trait RowExt {
    fn text(&self, col: &str) -> Result<String>;
    fn opt_text(&self, col: &str) -> Result<Option<String>>;
    fn int(&self, col: &str) -> Result<i32>;
    fn opt_int(&self, col: &str) -> Result<Option<i32>>;
    fn big(&self, col: &str) -> Result<i64>;
    fn opt_big(&self, col: &str) -> Result<Option<i64>>;
    fn flag(&self, col: &str) -> Result<bool>;
    fn blob(&self, col: &str) -> Result<Vec<u8>>;

    fn uuid(&self, col: &str) -> Result<Uuid> {
        parse_uuid(&self.text(col)?)
    }
    fn opt_uuid(&self, col: &str) -> Result<Option<Uuid>> {
        self.opt_text(col)?.as_deref().map(parse_uuid).transpose()
    }
    fn time(&self, col: &str) -> Result<OffsetDateTime> {
        parse_ts(&self.text(col)?)
    }
    fn opt_time(&self, col: &str) -> Result<Option<OffsetDateTime>> {
        self.opt_text(col)?.as_deref().map(parse_ts).transpose()
    }
    /// Decodes a closed-set text column through its `FromStr`-like parser.
    fn parsed<T>(&self, col: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
        let s = self.text(col)?;
        parse(&s)
            .ok_or_else(|| StoreError::Corrupt(format!("column {col}: unexpected value {s:?}")))
    }
}

macro_rules! impl_row_ext {
    ($row:ty) => {
        impl RowExt for $row {
            fn text(&self, col: &str) -> Result<String> {
                Ok(self.try_get(col)?)
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>> {
                Ok(self.try_get(col)?)
            }
            fn int(&self, col: &str) -> Result<i32> {
                Ok(self.try_get(col)?)
            }
            fn opt_int(&self, col: &str) -> Result<Option<i32>> {
                Ok(self.try_get(col)?)
            }
            fn big(&self, col: &str) -> Result<i64> {
                Ok(self.try_get(col)?)
            }
            fn opt_big(&self, col: &str) -> Result<Option<i64>> {
                Ok(self.try_get(col)?)
            }
            fn flag(&self, col: &str) -> Result<bool> {
                Ok(self.try_get(col)?)
            }
            fn blob(&self, col: &str) -> Result<Vec<u8>> {
                Ok(self.try_get(col)?)
            }
        }
    };
}

impl_row_ext!(SqliteRow);
impl_row_ext!(PgRow);

/// A bind value for dynamically assembled SQL (filters), replayed onto either backend's query.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Text(String),
    Big(i64),
}

/// Assembles SQL with `$n` placeholders numbered in order of first appearance, which is what
/// SQLite needs to map `$n` names to positional arguments the way PostgreSQL does.
#[derive(Debug, Default)]
pub(crate) struct SqlBuilder {
    pub(crate) sql: String,
    pub(crate) binds: Vec<Bind>,
}

impl SqlBuilder {
    pub(crate) fn new(head: &str) -> Self {
        SqlBuilder {
            sql: head.to_owned(),
            binds: Vec::new(),
        }
    }

    /// Registers a bind value and returns its placeholder.
    pub(crate) fn arg(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }

    pub(crate) fn push(&mut self, s: &str) {
        self.sql.push_str(s);
    }
}

/// Replays [`Bind`] values onto a query of either backend.
macro_rules! bind_all {
    ($query:expr, $binds:expr) => {{
        let mut q = $query;
        for b in $binds {
            q = match b {
                $crate::codec::Bind::Text(s) => q.bind(s.clone()),
                $crate::codec::Bind::Big(v) => q.bind(*v),
            };
        }
        q
    }};
}
pub(crate) use bind_all;

/// Escapes `%`, `_` and `\` so user text is matched literally by `LIKE … ESCAPE '\'`.
pub(crate) fn like_contains(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    out.push('%');
    for c in needle.to_ascii_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn timestamps_round_trip_and_sort_as_text() {
        let a = datetime!(2024-03-05 07:08:09.123456 UTC);
        let b = datetime!(9999-12-31 23:59:59.999999 UTC);
        let (sa, sb) = (ts(a).unwrap(), ts(b).unwrap());
        assert_eq!(sa, "2024-03-05T07:08:09.123456Z");
        assert!(sa < sb);
        assert_eq!(parse_ts(&sa).unwrap(), a);
        assert_eq!(parse_ts(&sb).unwrap(), b);
        assert_eq!(
            parse_ts("2024-03-05T08:08:09+01:00").unwrap(),
            datetime!(2024-03-05 07:08:09 UTC)
        );
        let offset = datetime!(2024-03-05 09:08:09.5 +02:00);
        assert_eq!(ts(offset).unwrap(), "2024-03-05T07:08:09.500000Z");
    }

    #[test]
    fn digests_are_validated_and_lowercased() {
        assert_eq!(
            hex_digest("sha1", &"AB".repeat(20), 40).unwrap(),
            "ab".repeat(20)
        );
        assert!(hex_digest("sha1", "xyz", 40).is_err());
        assert!(hex_digest("sha1", &"g".repeat(40), 40).is_err());
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_contains("50%_A\\b"), "%50\\%\\_a\\\\b%");
    }
}
