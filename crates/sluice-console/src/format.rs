//! How values read in the console: reported states and approval actions as the WSUS console
//! words them, times without the RFC 3339 noise.

use crate::blocks::Tone;

/// A reported state (`installed`, `failed`, …) as the WSUS console names it, and its tone.
pub fn state(s: &str) -> (&'static str, Tone) {
    match s {
        "installed" => ("Installed", Tone::Good),
        "installed_pending_reboot" => ("Installed, pending reboot", Tone::Warn),
        "failed" => ("Failed", Tone::Bad),
        "not_installed" => ("Needed", Tone::Warn),
        "downloaded" => ("Downloaded", Tone::Warn),
        "not_applicable" => ("Not applicable", Tone::Plain),
        _ => ("No status", Tone::Plain),
    }
}

/// An approval action as the WSUS console names it.
pub fn action(a: &str) -> &'static str {
    match a {
        "install" => "Install",
        "uninstall" => "Uninstall",
        "not_approved" => "Not approved",
        "decline" => "Decline",
        _ => "Unknown",
    }
}

/// An RFC 3339 UTC time as `2026-12-07 15:04 UTC`; anything else as given.
pub fn time(t: &str) -> String {
    if t.len() >= 16 && t.as_bytes().get(10) == Some(&b'T') {
        format!("{} {} UTC", &t[..10], &t[11..16])
    } else {
        t.to_string()
    }
}

/// An optional time, or a dash.
pub fn opt_time(t: Option<&str>) -> String {
    t.map(time).unwrap_or_else(|| "—".into())
}

/// A byte count for people.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{n} B") } else { format!("{v:.1} {}", UNITS[u]) }
}

/// Parses the value of a `datetime-local` field (`2026-12-24T18:00`, taken as UTC) or an
/// RFC 3339 time into RFC 3339; an empty value is no time at all.
pub fn deadline(input: &str) -> Result<Option<String>, String> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    let s = input.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc3339) {
        return t.format(&Rfc3339).map(Some).map_err(|e| e.to_string());
    }
    let local = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let with_seconds = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let parsed = time::PrimitiveDateTime::parse(s, local).or_else(|_| time::PrimitiveDateTime::parse(s, with_seconds));
    match parsed {
        Ok(t) => t.assume_utc().format(&Rfc3339).map(Some).map_err(|e| e.to_string()),
        Err(_) => Err("not a date and time: use the picker, or YYYY-MM-DDTHH:MM (UTC)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_from_the_picker_are_utc() {
        assert_eq!(deadline("2026-12-24T18:00").unwrap().as_deref(), Some("2026-12-24T18:00:00Z"));
        assert_eq!(deadline(" ").unwrap(), None);
        assert_eq!(deadline("2026-12-24T18:00:00+01:00").unwrap().as_deref(), Some("2026-12-24T18:00:00+01:00"));
        assert!(deadline("tomorrow").is_err());
        assert!(deadline("2026-13-40T18:00").is_err());
    }

    #[test]
    fn values_read_like_the_wsus_console() {
        assert_eq!(state("not_installed").0, "Needed");
        assert_eq!(time("2026-12-07T15:04:05.123Z"), "2026-12-07 15:04 UTC");
        assert_eq!(bytes(1536), "1.5 KB");
        assert_eq!(action("not_approved"), "Not approved");
    }
}
