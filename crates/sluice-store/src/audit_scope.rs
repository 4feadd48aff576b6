//! The audit entry of a change, written in the transaction that makes the change.
//!
//! An admin handler runs the work of one change inside [`audited`] with the entry describing
//! it. While that future runs, the entry is *pending*: the first write transaction that
//! commits (every `in_tx!` body of this crate) inserts it just before its `COMMIT`, so the
//! change and its audit entry become visible together or not at all. The entry is taken by
//! that transaction, so a change made of several transactions still gets exactly one entry;
//! a transaction that rolls back (an error, an early return) leaves it pending for the next.
//!
//! Preparatory writes that are not the change itself (creating a category a published update
//! needs, say) run inside [`unaudited`], which hides the pending entry from them.
//!
//! The entry rides in a task-local slot rather than in every store method's signature, so the
//! catalog and sync services in between need not know about auditing; work the handler spawns
//! onto other tasks does not see the entry (it is not part of the request's change).

use std::cell::RefCell;
use std::future::Future;

use crate::types::NewAuditEntry;

tokio::task_local! {
    static PENDING: RefCell<Option<NewAuditEntry>>;
}

/// What became of a pending entry when the audited work finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditOutcome {
    /// A transaction committed it together with (the first part of) the change.
    Written,
    /// No transaction took it: the work wrote nothing in a transaction (an export, which only
    /// writes files; a request that found nothing to change). The caller decides whether to
    /// append it on its own.
    Pending(NewAuditEntry),
}

/// Runs `work` with `entry` pending; see the module documentation.
pub async fn audited<F: Future>(entry: NewAuditEntry, work: F) -> (F::Output, AuditOutcome) {
    let (out, left) = PENDING
        .scope(RefCell::new(Some(entry)), async move {
            let out = work.await;
            (out, PENDING.with(|p| p.borrow_mut().take()))
        })
        .await;
    let outcome = match left {
        Some(e) => AuditOutcome::Pending(e),
        None => AuditOutcome::Written,
    };
    (out, outcome)
}

/// Runs `work` with no entry pending, so its transactions do not take the caller's.
pub async fn unaudited<F: Future>(work: F) -> F::Output {
    PENDING.scope(RefCell::new(None), work).await
}

/// Changes the pending entry, if any, before a transaction takes it: for what only the work
/// learns (the id it gives a published update). Outside an audited change it does nothing.
pub fn amend_pending(change: impl FnOnce(&mut NewAuditEntry)) {
    let _ = PENDING.try_with(|p| {
        if let Some(e) = p.borrow_mut().as_mut() {
            change(e);
        }
    });
}

/// Takes the pending entry, if any, for the transaction about to commit.
pub(crate) fn take_pending() -> Option<NewAuditEntry> {
    PENDING.try_with(|p| p.borrow_mut().take()).ok().flatten()
}

/// Puts back an entry whose transaction failed to commit: the change did not happen, so a
/// later transaction of the same work may still be the change.
pub(crate) fn restore_pending(entry: NewAuditEntry) {
    let _ = PENDING.try_with(|p| {
        let mut slot = p.borrow_mut();
        if slot.is_none() {
            *slot = Some(entry);
        }
    });
}

/// The statement that appends an entry, inside a transaction or on its own.
pub(crate) const INSERT_AUDIT: &str = "INSERT INTO audit_log (at, actor, action, target, detail, source_address) \
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";

/// Inserts `entry` through `$tx` (a transaction): the expansion `in_tx!` uses before `COMMIT`.
/// Evaluates to `Result<i64>`, the entry's id.
macro_rules! insert_pending_audit {
    ($tx:ident, $entry:expr) => {
        async {
            let e: &$crate::NewAuditEntry = $entry;
            let at = $crate::codec::ts($crate::codec::now())?;
            let id: i64 = sqlx::query_scalar($crate::audit_scope::INSERT_AUDIT)
                .bind(&at)
                .bind(e.actor.as_str())
                .bind(e.action.as_str())
                .bind(e.target.as_str())
                .bind(e.detail.as_str())
                .bind(e.source_address.as_deref())
                .fetch_one(&mut *$tx)
                .await?;
            Ok::<i64, $crate::StoreError>(id)
        }
        .await
    };
}
pub(crate) use insert_pending_audit;
