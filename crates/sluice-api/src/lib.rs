//! The requests and views of Sluice's admin API (`/api/v1`), as JSON carries them: shared by
//! the server, which answers with them, and the `sluice` CLI, which sends and prints them.
//!
//! Plain serde types only, so the CLI can speak the API without linking the server, the
//! catalog or the store. Identifiers and times are the strings the JSON holds (lower-case
//! hyphenated GUIDs, RFC 3339 UTC).

pub mod audit;
pub mod bulk;
pub mod automation;
pub mod catalog;
pub mod downstreams;
pub mod reports;
pub mod servers;
pub mod people;
pub mod sync;
pub mod transfer;
pub mod upkeep;

pub use audit::*;
pub use bulk::*;
pub use automation::*;
pub use catalog::*;
pub use downstreams::*;
pub use reports::*;
pub use servers::*;
pub use people::*;
pub use upkeep::*;

use serde::{Deserialize, Serialize};

/// Where every route of the admin API lives.
pub const API_PREFIX: &str = "/api/v1";

/// `GET /health`, the one route that needs no token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` while the server answers.
    pub status: String,
    /// The server's version.
    pub version: String,
}

#[cfg(test)]
mod tests {
    use super::sync::{CategoryKind, StorageMode, SyncMode, SyncSettings};
    use super::*;

    /// The CLI prints these names and the JSON carries them: one spelling for both.
    #[test]
    fn names_printed_are_the_names_sent() {
        let json = |v: serde_json::Value| v.as_str().unwrap().to_string();
        for m in [SyncMode::Autonomous, SyncMode::Replica] {
            assert_eq!(json(serde_json::to_value(m).unwrap()), m.as_str());
        }
        for m in [StorageMode::None, StorageMode::All, StorageMode::Approved] {
            assert_eq!(json(serde_json::to_value(m).unwrap()), m.as_str());
        }
        for k in [CategoryKind::Product, CategoryKind::Classification] {
            assert_eq!(json(serde_json::to_value(k).unwrap()), k.as_str());
        }
        for m in [TargetingMode::Server, TargetingMode::Client] {
            assert_eq!(json(serde_json::to_value(m).unwrap()), m.as_str());
            assert_eq!(TargetingMode::parse(m.as_str()), Some(m));
        }
        for r in ReportedState::ALL {
            assert_eq!(json(serde_json::to_value(r).unwrap()), r.as_str());
            assert_eq!(ReportedState::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn status_counts_count_each_state_once_and_needed_as_wsus_does() {
        let mut c = StatusCounts::default();
        for r in ReportedState::ALL {
            c.add(r.as_str());
        }
        c.add("no such state");
        let v = serde_json::to_value(c).unwrap();
        for r in ReportedState::ALL {
            let expected = if r == ReportedState::Unknown { 2 } else { 1 };
            assert_eq!(v[r.as_str()], expected, "{v}");
        }
        assert_eq!((c.total, c.needed), (8, 4));
    }

    /// A `PUT` of a partial document gets the defaults; a misspelt field is refused rather
    /// than silently ignored.
    #[test]
    fn sync_settings_fill_defaults_and_refuse_unknown_fields() {
        let s: SyncSettings = serde_json::from_str(r#"{"storage":"none","products":["Windows 11"]}"#).unwrap();
        assert_eq!(s.storage, StorageMode::None);
        assert_eq!(s.products, ["Windows 11"]);
        assert_eq!(s.upstream, sync::MICROSOFT_UPDATE);
        assert_eq!(s.languages, ["en"]);
        let err = serde_json::from_str::<SyncSettings>(r#"{"upstreem":"http://x"}"#).unwrap_err();
        assert!(err.to_string().contains("upstreem"), "{err}");
    }

    /// The store keeps an approval's action as its text spelling and the API serialises it:
    /// both must be the same words, which existing databases already hold.
    #[test]
    fn approval_actions_serialise_and_store_as_the_same_words() {
        for (a, word) in [
            (ApprovalAction::Install, "install"),
            (ApprovalAction::Uninstall, "uninstall"),
            (ApprovalAction::NotApproved, "not_approved"),
        ] {
            assert_eq!(a.as_str(), word);
            assert_eq!(ApprovalAction::parse(word), Some(a));
            assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{word}\""));
            assert_eq!(format!("{a:<14}|"), format!("{word:<14}|"), "Display pads for the CLI's columns");
        }
        assert_eq!(ApprovalAction::parse("Install"), None, "stored spellings match exactly");
    }

    #[test]
    fn absent_optional_fields_read_as_none() {
        let v: ApprovalView = serde_json::from_str(
            r#"{"update_id":"u","title":"t","group_id":"g","group":"G","action":"install","deadline":null,
                "approved_by":"admin","approved_at":"2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(v.license_accepted_by, None);
        assert!(!serde_json::to_string(&v).unwrap().contains("license_accepted"));
    }
}
