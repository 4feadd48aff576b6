//! The admin API's JSON types, defined in `sluice-api` (which the CLI shares without linking
//! the catalog) and re-exported here for the catalog's services and the server.

pub use sluice_api::API_PREFIX;
pub use sluice_api::automation::*;
pub use sluice_api::catalog::*;

#[cfg(test)]
mod tests {
    use super::*;

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
