//! Approvals, declined updates and EULA acceptances.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::Store;
use crate::codec::{RowExt, now, opt_ts, ts, uuid_str};
use crate::error::{Result, StoreError};
use crate::types::*;

const APPROVAL_COLS: &str = "update_id, group_id, action, deadline, approved_by, approved_at";
const SET_APPROVAL: &str = "INSERT INTO approvals (update_id, group_id, action, deadline, \
     approved_by, approved_at) VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (update_id, group_id) DO UPDATE SET action = excluded.action, \
     deadline = excluded.deadline, approved_by = excluded.approved_by, \
     approved_at = excluded.approved_at";

fn decode_approval<R: RowExt>(r: &R) -> Result<Approval> {
    Ok(Approval {
        update_id: r.uuid("update_id")?,
        group_id: r.uuid("group_id")?,
        action: r.parsed("action", ApprovalAction::parse)?,
        deadline: r.opt_time("deadline")?,
        approved_by: r.text("approved_by")?,
        approved_at: r.time("approved_at")?,
    })
}

fn decode_declined<R: RowExt>(r: &R) -> Result<Declined> {
    Ok(Declined {
        update_id: r.uuid("update_id")?,
        declined_by: r.text("declined_by")?,
        declined_at: r.time("declined_at")?,
    })
}

impl Store {
    /// Sets (or replaces) the approval of `update_id` for `group_id`; `NotFound` if the
    /// group does not exist. Nothing else: a replica mirroring its upstream writes approvals
    /// this way (an administrator's approval is [`approve`](Self::approve)).
    pub async fn set_approval(
        &self,
        update_id: Uuid,
        group_id: Uuid,
        action: ApprovalAction,
        deadline: Option<OffsetDateTime>,
        approved_by: &str,
    ) -> Result<Approval> {
        let approval = Approval {
            update_id,
            group_id,
            action,
            deadline: deadline.map(crate::to_stored_precision),
            approved_by: approved_by.to_owned(),
            approved_at: now(),
        };
        let (uid, gid) = (uuid_str(&update_id), uuid_str(&group_id));
        let deadline = opt_ts(deadline)?;
        let at = ts(approval.approved_at)?;
        on_write!(self, db => {
            sqlx::query(SET_APPROVAL)
                .bind(&uid)
                .bind(&gid)
                .bind(action.as_str())
                .bind(deadline.as_deref())
                .bind(approved_by)
                .bind(&at)
                .execute(db)
                .await
                .map_err(|e| match StoreError::from(e) {
                    // The only foreign key here is the group.
                    StoreError::Conflict(_) => StoreError::NotFound(format!("group {gid}")),
                    other => other,
                })?;
        });
        Ok(approval)
    }

    /// Approves an update for a group the way an administrator does: in one transaction,
    /// refuses a declined update, checks (and with `license.accept_as`, records) the
    /// acceptance of its license terms, sets the approval and moves
    /// [`APPROVALS_VERSION`](crate::settings::APPROVALS_VERSION) on. Either all of it lands or
    /// nothing does: a refusal or a failure (`NotFound` for a group deleted meanwhile) leaves
    /// no acceptance, no approval and the version where it was.
    pub async fn approve(&self, w: &ApprovalWrite<'_>) -> Result<ApproveOutcome> {
        Ok(match self.approve_many(std::slice::from_ref(w)).await? {
            BulkApproveOutcome::Approved(mut done) => match done.pop() {
                Some((approval, license)) => ApproveOutcome::Approved { approval, license },
                None => return Err(StoreError::Corrupt("an approval went missing".into())),
            },
            BulkApproveOutcome::Declined(_) => ApproveOutcome::Declined,
            BulkApproveOutcome::LicenseNotAccepted(_) => ApproveOutcome::LicenseNotAccepted,
        })
    }

    /// [`approve`](Self::approve) for many (update, group) pairs in one transaction that moves
    /// the approvals version once: the first declined update or license not accepted stops
    /// it, and then (as on any failure) nothing is written.
    pub async fn approve_many(&self, writes: &[ApprovalWrite<'_>]) -> Result<BulkApproveOutcome> {
        const DECLINED: &str = "SELECT COUNT(*) FROM declined_updates WHERE update_id = $1";
        const ACCEPTANCE: &str =
            "SELECT eula_id, accepted_by, accepted_at FROM eula_acceptances WHERE eula_id = $1";
        const ACCEPT: &str = "INSERT INTO eula_acceptances (eula_id, accepted_by, accepted_at) \
             VALUES ($1, $2, $3) ON CONFLICT (eula_id) DO NOTHING";
        if writes.is_empty() {
            return Ok(BulkApproveOutcome::Approved(Vec::new()));
        }
        let approved_at = now();
        let at = ts(approved_at)?;
        let mut done = Vec::with_capacity(writes.len());
        let outcome = in_tx!(self, tx => {
            // The version row's lock first, as decline_with_approvals takes it: on PostgreSQL a
            // decline committing meanwhile would otherwise go unseen by the check below.
            let _lock: Option<String> =
                sqlx::query_scalar(crate::settings::version_select(self.backend()))
                    .bind(crate::settings::APPROVALS_VERSION.key())
                    .fetch_optional(&mut *tx)
                    .await?;
            for w in writes {
                let (uid, gid) = (uuid_str(&w.update_id), uuid_str(&w.group_id));
                let deadline = opt_ts(w.deadline)?;
                let eula = w.license.map(|l| uuid_str(&l.eula_key));
                let declined: i64 = sqlx::query_scalar(DECLINED).bind(&uid).fetch_one(&mut *tx).await?;
                if declined > 0 {
                    // Dropping the transaction rolls back what this call wrote so far.
                    return Ok(BulkApproveOutcome::Declined(w.update_id));
                }
                let mut license = None;
                if let (Some(gate), Some(eula)) = (w.license, &eula) {
                    if let Some(by) = gate.accept_as {
                        sqlx::query(ACCEPT).bind(eula).bind(by).bind(&at).execute(&mut *tx).await?;
                    }
                    // Read back: an earlier acceptance is kept, and it is the one reported.
                    let row = sqlx::query(ACCEPTANCE).bind(eula).fetch_optional(&mut *tx).await?;
                    match row {
                        Some(r) => {
                            license = Some(EulaAcceptance {
                                eula_id: r.uuid("eula_id")?,
                                accepted_by: r.text("accepted_by")?,
                                accepted_at: r.time("accepted_at")?,
                            })
                        }
                        None => return Ok(BulkApproveOutcome::LicenseNotAccepted(w.update_id)),
                    }
                }
                sqlx::query(SET_APPROVAL)
                    .bind(&uid)
                    .bind(&gid)
                    .bind(w.action.as_str())
                    .bind(deadline.as_deref())
                    .bind(w.approved_by)
                    .bind(&at)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match StoreError::from(e) {
                        StoreError::Conflict(_) => StoreError::NotFound(format!("group {gid}")),
                        other => other,
                    })?;
                let approval = Approval {
                    update_id: w.update_id,
                    group_id: w.group_id,
                    action: w.action,
                    deadline: w.deadline.map(crate::to_stored_precision),
                    approved_by: w.approved_by.to_owned(),
                    approved_at,
                };
                done.push((approval, license));
            }
            crate::settings::bump_in_tx!(self, tx, crate::settings::APPROVALS_VERSION);
            BulkApproveOutcome::Approved(done)
        });
        Ok(outcome)
    }

    /// Removes an approval and, in the same transaction, records when it was removed (see
    /// [`approval_removals`](Self::approval_removals)) and moves
    /// [`APPROVALS_VERSION`](crate::settings::APPROVALS_VERSION) on; returns false if there was
    /// none, and then writes nothing.
    pub async fn remove_approval(&self, update_id: Uuid, group_id: Uuid) -> Result<bool> {
        const DELETE: &str = "DELETE FROM approvals WHERE update_id = $1 AND group_id = $2";
        const RECORD: &str = "INSERT INTO approval_removals (update_id, group_id, removed_at) \
             VALUES ($1, $2, $3) \
             ON CONFLICT (update_id, group_id) DO UPDATE SET removed_at = excluded.removed_at";
        let (uid, gid) = (uuid_str(&update_id), uuid_str(&group_id));
        let at = ts(now())?;
        Ok(in_tx!(self, tx => {
            let removed = sqlx::query(DELETE).bind(&uid).bind(&gid).execute(&mut *tx).await?.rows_affected() > 0;
            if removed {
                sqlx::query(RECORD).bind(&uid).bind(&gid).bind(&at).execute(&mut *tx).await?;
                crate::settings::bump_in_tx!(self, tx, crate::settings::APPROVALS_VERSION);
            }
            removed
        }))
    }

    /// When each group's approval of each update was last removed (latest removal only).
    /// Clients that cached such an update with its approved deployment learn of the change
    /// through this time (MS-WUSP 3.1.5.7, ChangedUpdates).
    pub async fn approval_removals(&self) -> Result<Vec<ApprovalRemoval>> {
        const SQL: &str = "SELECT update_id, group_id, removed_at FROM approval_removals \
             ORDER BY update_id, group_id";
        on_read!(self, db => {
            let rows = sqlx::query(SQL).fetch_all(db).await?;
            rows.iter()
                .map(|r| {
                    Ok(ApprovalRemoval {
                        update_id: r.uuid("update_id")?,
                        group_id: r.uuid("group_id")?,
                        removed_at: r.time("removed_at")?,
                    })
                })
                .collect()
        })
    }

    /// Approvals of one update, ordered by group id.
    pub async fn approvals_for_update(&self, update_id: Uuid) -> Result<Vec<Approval>> {
        self.approvals_where(
            "WHERE update_id = $1 ORDER BY group_id",
            Some(uuid_str(&update_id)),
        )
        .await
    }

    /// Approvals for one group, ordered by update id.
    pub async fn approvals_for_group(&self, group_id: Uuid) -> Result<Vec<Approval>> {
        self.approvals_where(
            "WHERE group_id = $1 ORDER BY update_id",
            Some(uuid_str(&group_id)),
        )
        .await
    }

    /// Every approval, ordered by update then group.
    pub async fn all_approvals(&self) -> Result<Vec<Approval>> {
        self.approvals_where("ORDER BY update_id, group_id", None)
            .await
    }

    async fn approvals_where(&self, tail: &str, arg: Option<String>) -> Result<Vec<Approval>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {APPROVAL_COLS} FROM approvals {tail}"));
        on_read!(self, db => {
            let mut q = sqlx::query(sql);
            if let Some(a) = &arg {
                q = q.bind(a.clone());
            }
            let rows = q.fetch_all(db).await?;
            rows.iter().map(decode_approval).collect()
        })
    }

    /// Declines an update; returns false if it was already declined (the original record
    /// is kept).
    pub async fn decline(&self, update_id: Uuid, declined_by: &str) -> Result<bool> {
        const SQL: &str = "INSERT INTO declined_updates (update_id, declined_by, declined_at) \
             VALUES ($1, $2, $3) ON CONFLICT (update_id) DO NOTHING";
        let uid = uuid_str(&update_id);
        let at = ts(now())?;
        on_write!(self, db => {
            Ok(sqlx::query(SQL).bind(&uid).bind(declined_by).bind(&at).execute(db).await?
                .rows_affected() > 0)
        })
    }

    /// Declines an update and removes every approval of it (recording each removal, see
    /// [`approval_removals`](Self::approval_removals)), moving
    /// [`APPROVALS_VERSION`](crate::settings::APPROVALS_VERSION) on when anything changed: all
    /// in one transaction, which on PostgreSQL first takes the version row's lock that
    /// [`approve`](Self::approve) takes too, so an approval cannot land between the decline
    /// and the removals. Returns whether the update was newly declined (an earlier decline's
    /// record is kept) and the groups whose approval was removed.
    pub async fn decline_with_approvals(&self, update_id: Uuid, declined_by: &str) -> Result<(bool, Vec<Uuid>)> {
        let mut out = self.decline_many(&[update_id], declined_by).await?;
        out.pop().ok_or_else(|| StoreError::Corrupt("a decline went missing".into()))
    }

    /// [`decline_with_approvals`](Self::decline_with_approvals) for many updates in one
    /// transaction; one answer per update, in the order given.
    pub async fn decline_many(&self, update_ids: &[Uuid], declined_by: &str) -> Result<Vec<(bool, Vec<Uuid>)>> {
        const DECLINE: &str = "INSERT INTO declined_updates (update_id, declined_by, declined_at) \
             VALUES ($1, $2, $3) ON CONFLICT (update_id) DO NOTHING";
        const GROUPS: &str = "SELECT group_id FROM approvals WHERE update_id = $1 ORDER BY group_id";
        const DELETE: &str = "DELETE FROM approvals WHERE update_id = $1";
        const RECORD: &str = "INSERT INTO approval_removals (update_id, group_id, removed_at) \
             VALUES ($1, $2, $3) \
             ON CONFLICT (update_id, group_id) DO UPDATE SET removed_at = excluded.removed_at";
        if update_ids.is_empty() {
            return Ok(Vec::new());
        }
        let at = ts(now())?;
        let version = crate::settings::APPROVALS_VERSION;
        let mut out = Vec::with_capacity(update_ids.len());
        in_tx!(self, tx => {
            let _lock: Option<String> = sqlx::query_scalar(crate::settings::version_select(self.backend()))
                .bind(version.key())
                .fetch_optional(&mut *tx)
                .await?;
            let mut changed = false;
            for update_id in update_ids {
                let uid = uuid_str(update_id);
                let newly = sqlx::query(DECLINE).bind(&uid).bind(declined_by).bind(&at).execute(&mut *tx).await?.rows_affected() > 0;
                let groups: Vec<String> = sqlx::query_scalar(GROUPS).bind(&uid).fetch_all(&mut *tx).await?;
                sqlx::query(DELETE).bind(&uid).execute(&mut *tx).await?;
                let mut removed = Vec::with_capacity(groups.len());
                for g in &groups {
                    sqlx::query(RECORD).bind(&uid).bind(g).bind(&at).execute(&mut *tx).await?;
                    removed.push(crate::codec::parse_uuid(g)?);
                }
                changed |= newly || !removed.is_empty();
                out.push((newly, removed));
            }
            if !changed {
                // Nothing changed: end without a commit, so an audit entry pending for this
                // request is not written for a change that did not happen.
                return Ok(out);
            }
            crate::settings::bump_in_tx!(self, tx, version);
        });
        Ok(out)
    }

    /// Takes back a decline and, in the same transaction, moves
    /// [`APPROVALS_VERSION`](crate::settings::APPROVALS_VERSION) on; returns false if the
    /// update was not declined, and then writes nothing.
    pub async fn undecline(&self, update_id: Uuid) -> Result<bool> {
        let uid = uuid_str(&update_id);
        Ok(in_tx!(self, tx => {
            let removed = sqlx::query("DELETE FROM declined_updates WHERE update_id = $1")
                .bind(&uid)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0;
            if !removed {
                // Not declined: nothing to commit, nor an audit entry to write.
                return Ok(false);
            }
            crate::settings::bump_in_tx!(self, tx, crate::settings::APPROVALS_VERSION);
            removed
        }))
    }

    /// Whether an update is declined.
    pub async fn is_declined(&self, update_id: Uuid) -> Result<bool> {
        let uid = uuid_str(&update_id);
        on_read!(self, db => {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM declined_updates WHERE update_id = $1")
                .bind(&uid)
                .fetch_one(db)
                .await?;
            Ok(n > 0)
        })
    }

    /// Every declined update, most recently declined first.
    pub async fn list_declined(&self) -> Result<Vec<Declined>> {
        const SQL: &str = "SELECT update_id, declined_by, declined_at FROM declined_updates \
             ORDER BY declined_at DESC, update_id";
        on_read!(self, db => {
            let rows = sqlx::query(SQL).fetch_all(db).await?;
            rows.iter().map(decode_declined).collect()
        })
    }

    /// Records acceptance of a EULA; returns false if it was already accepted (the first
    /// acceptance is kept).
    pub async fn accept_eula(&self, eula_id: Uuid, accepted_by: &str) -> Result<bool> {
        const SQL: &str = "INSERT INTO eula_acceptances (eula_id, accepted_by, accepted_at) \
             VALUES ($1, $2, $3) ON CONFLICT (eula_id) DO NOTHING";
        let id = uuid_str(&eula_id);
        let at = ts(now())?;
        on_write!(self, db => {
            Ok(sqlx::query(SQL).bind(&id).bind(accepted_by).bind(&at).execute(db).await?
                .rows_affected() > 0)
        })
    }

    /// Whether a EULA was accepted.
    pub async fn is_eula_accepted(&self, eula_id: Uuid) -> Result<bool> {
        Ok(self.eula_acceptance(eula_id).await?.is_some())
    }

    /// Who accepted a EULA and when.
    pub async fn eula_acceptance(&self, eula_id: Uuid) -> Result<Option<EulaAcceptance>> {
        const SQL: &str =
            "SELECT eula_id, accepted_by, accepted_at FROM eula_acceptances WHERE eula_id = $1";
        let id = uuid_str(&eula_id);
        on_read!(self, db => {
            let row = sqlx::query(SQL).bind(&id).fetch_optional(db).await?;
            row.as_ref()
                .map(|r| {
                    Ok(EulaAcceptance {
                        eula_id: r.uuid("eula_id")?,
                        accepted_by: r.text("accepted_by")?,
                        accepted_at: r.time("accepted_at")?,
                    })
                })
                .transpose()
        })
    }
}
