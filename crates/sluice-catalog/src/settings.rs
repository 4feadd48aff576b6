//! The settings that decide how targeting is done and where it is decided: the targeting mode
//! (with the client configuration LastChange a mode change moves on), and whether this server is
//! a replica whose groups, approvals and declines come from its upstream server.

use sluice_store::SyncMode;
use sluice_store::settings::{CLIENT_CONFIG_LAST_CHANGE, SYNC_SETTINGS, TARGETING_MODE};
use time::{OffsetDateTime, UtcOffset};

use crate::api::TargetingSettings;
use crate::targeting::TargetingMode;
use crate::{Catalog, CatalogError, conflict};

/// A configuration change time in UTC, cut to whole milliseconds: it travels through clients
/// as xsd:dateTime and is compared in milliseconds.
fn config_time(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    t.replace_nanosecond(t.millisecond() as u32 * 1_000_000).unwrap_or(t)
}

impl Catalog {
    /// `Some(upstream)` when this server is a replica (sync settings `mode: replica`): its
    /// groups, approvals and declines come from that upstream and cannot be changed here.
    pub async fn replica_of(&self) -> Result<Option<String>, CatalogError> {
        Ok(self.store.setting(SYNC_SETTINGS).await?.filter(|s| s.mode == SyncMode::Replica).map(|s| s.upstream))
    }

    /// Refuses a local change of groups, approvals or declines on a replica.
    pub(crate) async fn refuse_on_replica(&self) -> Result<(), CatalogError> {
        match self.replica_of().await? {
            Some(upstream) => Err(conflict(format!(
                "this server is a replica of {upstream}: approvals come from it \
                 (groups, approvals and declines are changed there; switch the sync mode to autonomous to manage them here)"
            ))),
            None => Ok(()),
        }
    }

    /// The targeting mode (server-side unless set otherwise).
    pub async fn targeting_mode(&self) -> Result<TargetingMode, CatalogError> {
        Ok(self.store.setting(TARGETING_MODE).await?.unwrap_or_default())
    }

    /// Sets the targeting mode. A change moves the client configuration's LastChange on in the
    /// same write: clients holding a cookie issued for the old configuration then get
    /// ConfigChanged and go through GetConfig, GetAuthorizationCookie (where client-side
    /// targeting names its groups) and GetCookie again (MS-WUSP 3.1.5.4, 3.1.5.7). Setting the
    /// mode in force changes nothing.
    pub async fn set_targeting_mode(&self, mode: TargetingMode) -> Result<TargetingSettings, CatalogError> {
        if self.targeting_mode().await? == mode {
            return Ok(TargetingSettings { mode });
        }
        let previous = self.client_config_last_change().await?;
        // Strictly later: clients compare for equality, so two changes within one millisecond
        // must still give two values.
        let next = config_time(OffsetDateTime::now_utc()).max(previous + time::Duration::milliseconds(1));
        self.store.change_targeting_mode(mode, next).await?;
        Ok(TargetingSettings { mode })
    }

    /// The client configuration's LastChange (GetConfig), created on first use. Whole
    /// milliseconds, as client cookies keep it.
    pub async fn client_config_last_change(&self) -> Result<OffsetDateTime, CatalogError> {
        let created = || config_time(OffsetDateTime::now_utc());
        Ok(config_time(self.store.setting_or_create(CLIENT_CONFIG_LAST_CHANGE, created).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::CreateGroupRequest;
    use crate::test_support::*;
    use uuid::Uuid;

    #[tokio::test]
    async fn a_replica_refuses_local_targeting_changes() {
        let (c, _dir) = catalog(&[]).await;
        let pilot = c
            .create_group(&CreateGroupRequest { name: "Pilot".into(), parent: None })
            .await
            .unwrap();
        let settings = sluice_store::SyncSettings {
            upstream: "http://root.example:8530".into(),
            mode: SyncMode::Replica,
            storage: sluice_store::StorageMode::All,
            ..Default::default()
        };
        c.store().set(SYNC_SETTINGS, &settings).await.unwrap();
        assert_eq!(c.replica_of().await.unwrap().as_deref(), Some("http://root.example:8530"));
        let v = c.approvals_version().await.unwrap();
        let update = Uuid::new_v4().to_string();
        let errors = [
            c.create_group(&CreateGroupRequest { name: "Local".into(), parent: None }).await.unwrap_err(),
            c.delete_group(&pilot.id).await.unwrap_err(),
            c.approve(&req(Uuid::new_v4(), "Pilot"), "admin").await.unwrap_err(),
            c.remove_approval(&update, "Pilot").await.unwrap_err(),
            c.decline(&update, "admin").await.unwrap_err(),
            c.undecline(&update).await.unwrap_err(),
        ];
        for e in &errors {
            assert!(is_conflict(e), "{e}");
            assert!(
                e.to_string().contains("this server is a replica of http://root.example:8530: approvals come from it"),
                "{e}"
            );
        }
        assert_eq!(c.store().list_groups().await.unwrap().len(), 3, "nothing created or deleted");
        assert_eq!(c.approvals_version().await.unwrap(), v);
        // The mirror's bump still moves the version on.
        c.bump_approvals_version().await.unwrap();
        assert_ne!(c.approvals_version().await.unwrap(), v);

        // Autonomous again: local changes are allowed.
        let autonomous = sluice_store::SyncSettings { mode: SyncMode::Autonomous, ..settings };
        c.store().set(SYNC_SETTINGS, &autonomous).await.unwrap();
        assert_eq!(c.replica_of().await.unwrap(), None);
        c.delete_group(&pilot.id).await.unwrap();
    }
}
