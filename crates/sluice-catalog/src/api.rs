//! The admin API's JSON types, defined in `sluice-api` (which the CLI shares without linking
//! the catalog) and re-exported here for the catalog's services and the server.

pub use sluice_api::API_PREFIX;
pub use sluice_api::catalog::*;

/// `GET/PUT /settings/targeting`, over the catalog's own [`TargetingMode`]: its JSON is that of
/// [`sluice_api::TargetingSettings`] (checked below).
///
/// [`TargetingMode`]: crate::targeting::TargetingMode
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TargetingSettings {
    pub mode: crate::targeting::TargetingMode,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targeting::TargetingMode;

    #[test]
    fn targeting_settings_travel_as_the_api_crate_spells_them() {
        for (ours, theirs) in [
            (TargetingMode::Server, sluice_api::TargetingMode::Server),
            (TargetingMode::Client, sluice_api::TargetingMode::Client),
        ] {
            let json = serde_json::to_value(TargetingSettings { mode: ours }).unwrap();
            assert_eq!(json, serde_json::to_value(sluice_api::TargetingSettings { mode: theirs }).unwrap());
            let back: sluice_api::TargetingSettings = serde_json::from_value(json).unwrap();
            assert_eq!(back.mode.as_str(), ours.as_str());
        }
    }

    /// The counters are the API's; the states come from the store: every stored state lands
    /// in the counter of its own name.
    #[test]
    fn every_stored_state_is_counted_under_its_name() {
        use sluice_store::InstallState;
        for state in [
            InstallState::Unknown,
            InstallState::NotApplicable,
            InstallState::NotInstalled,
            InstallState::Downloaded,
            InstallState::Installed,
            InstallState::InstalledPendingReboot,
            InstallState::Failed,
        ] {
            let mut counts = StatusCounts::default();
            counts.add(state);
            let json = serde_json::to_value(counts).unwrap();
            assert_eq!(json[state.as_str()], 1, "{state}: {json}");
            assert_eq!(counts.total, 1);
        }
    }
}
