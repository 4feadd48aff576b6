//! Which approval each computer ends up with: the pure [`TargetingSnapshot`] lives in
//! `sluice-decide`; the catalog loads it from the store ([`Catalog::targeting_snapshot`]) and
//! keeps the version that says when to rebuild it. The admin services that change what it
//! sees live beside it: `groups` (groups and computers), `approvals` (approvals, declines and
//! licences) and `settings` (targeting mode, replica).

use sluice_store::{Approval, ComputerGroup};
use uuid::Uuid;

use crate::{Catalog, CatalogError};

pub use sluice_decide::targeting::{EffectiveApproval, TargetingSnapshot, name_key};
/// Where a computer's group memberships come from: the admin API's type, used as it is.
pub use sluice_api::TargetingMode;

/// The snapshot of these store records (approvals of declined updates and of unknown groups
/// are ignored).
pub fn snapshot(
    groups: &[ComputerGroup],
    approvals: &[Approval],
    declined: impl IntoIterator<Item = Uuid>,
) -> TargetingSnapshot {
    use sluice_decide::targeting as t;
    let groups: Vec<t::Group> =
        groups.iter().map(|g| t::Group { id: g.id, name: g.name.clone(), parent_id: g.parent_id }).collect();
    let approvals: Vec<t::GroupApproval> = approvals
        .iter()
        .map(|a| t::GroupApproval {
            update_id: a.update_id,
            group_id: a.group_id,
            action: a.action,
            deadline: a.deadline,
            approved_at: a.approved_at,
        })
        .collect();
    TargetingSnapshot::new(&groups, &approvals, declined)
}

impl Catalog {
    /// Builds the snapshot of every group, approval and decline.
    pub async fn targeting_snapshot(&self) -> Result<TargetingSnapshot, CatalogError> {
        let groups = self.store.list_groups().await?;
        let approvals = self.store.all_approvals().await?;
        let declined = self.store.list_declined().await?;
        let removals = self.store.approval_removals().await?;
        let removals: Vec<sluice_decide::targeting::ApprovalRemoval> = removals
            .into_iter()
            .map(|r| sluice_decide::targeting::ApprovalRemoval {
                update_id: r.update_id,
                group_id: r.group_id,
                removed_at: r.removed_at,
            })
            .collect();
        Ok(snapshot(&groups, &approvals, declined.into_iter().map(|d| d.update_id)).with_removals(&removals))
    }

    /// A value that changes whenever groups, approvals, declines or the targeting mode change
    /// through the catalog: one settings read. Read it before
    /// [`targeting_snapshot`](Self::targeting_snapshot) and rebuild when it differs; 0 before
    /// the first change.
    pub async fn approvals_version(&self) -> Result<i64, CatalogError> {
        Ok(self.store.setting(sluice_store::settings::APPROVALS_VERSION).await?.unwrap_or(0))
    }

    /// Moves [`approvals_version`](Self::approvals_version) on, after a change is committed
    /// (see `Store::bump_version`).
    pub(crate) async fn bump_version(&self) -> Result<(), CatalogError> {
        self.store.bump_version(sluice_store::settings::APPROVALS_VERSION).await?;
        Ok(())
    }

    /// Moves [`approvals_version`](Self::approvals_version) on after groups, approvals or
    /// declines were written straight to the store (a replica's sync mirroring its upstream),
    /// so that clients see the change.
    pub async fn bump_approvals_version(&self) -> Result<(), CatalogError> {
        self.bump_version().await
    }
}
