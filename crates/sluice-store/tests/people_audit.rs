//! Users, roles and tokens (issue 10, item 1) and the audit entry written in the change's own
//! transaction (item 2), on SQLite and on PostgreSQL.

use sluice_store::*;
use time::OffsetDateTime;

#[macro_use]
mod common;
use common::*;

contract!(
    audit_entry_commits_with_the_change,
    audit_entry_is_written_once_per_change,
    last_administrator_is_kept,
    tokens_expire_and_follow_their_user,
);

fn entry(action: &str) -> NewAuditEntry {
    NewAuditEntry {
        actor: "alice".into(),
        action: action.into(),
        target: "target".into(),
        detail: "detail".into(),
        source_address: Some("192.0.2.7".into()),
    }
}

async fn actions(s: &Store) -> Vec<String> {
    s.list_audit(100, None, None).await.unwrap().into_iter().rev().map(|e| e.action).collect()
}

async fn audit_entry_commits_with_the_change(env: Env) {
    let s = &env.store;
    let (created, outcome) = audited(entry("group-create"), s.create_group("Pilot", None)).await;
    created.unwrap();
    assert_eq!(outcome, AuditOutcome::Written);
    let logged = s.list_audit(10, None, None).await.unwrap();
    assert_eq!(logged.len(), 1);
    assert_eq!(
        (logged[0].actor.as_str(), logged[0].action.as_str(), logged[0].source_address.as_deref()),
        ("alice", "group-create", Some("192.0.2.7"))
    );

    // A change that fails rolls back its transaction, and the entry with it.
    let (again, outcome) = audited(entry("group-create"), s.create_group("Pilot", None)).await;
    assert!(again.unwrap_err().is_conflict());
    assert_eq!(outcome, AuditOutcome::Pending(entry("group-create")));
    assert_eq!(actions(s).await, ["group-create"]);

    // A refusal decided inside the transaction (here: no administrator would be left) leaves
    // neither the change nor the entry.
    s.create_user("root", "$argon2id$x", ADMINISTRATOR_ROLE).await.unwrap();
    let demote = UserChange { role: Some("reporter".into()), ..UserChange::default() };
    let (refused, outcome) = audited(entry("user-update"), s.update_user("root", &demote)).await;
    assert!(refused.unwrap_err().is_conflict());
    assert!(matches!(outcome, AuditOutcome::Pending(_)));
    assert_eq!(s.get_user("root").await.unwrap().unwrap().role, ADMINISTRATOR_ROLE);
    assert_eq!(actions(s).await, ["group-create"]);

    // Outside an audited change nothing is appended.
    s.create_group("Ring 2", None).await.unwrap();
    assert_eq!(actions(s).await, ["group-create"]);
}

async fn audit_entry_is_written_once_per_change(env: Env) {
    let s = &env.store;
    // Several transactions, one change: the first to commit takes the entry.
    let (out, outcome) = audited(entry("several"), async {
        s.create_group("A", None).await?;
        s.create_group("B", None).await?;
        s.create_user("carol", "$argon2id$x", "reporter").await
    })
    .await;
    out.unwrap();
    assert_eq!(outcome, AuditOutcome::Written);
    assert_eq!(actions(s).await, ["several"]);

    // Preparatory writes do not take it; the change after them does.
    let (out, outcome) = audited(entry("prepared"), async {
        unaudited(s.create_group("C", None)).await?;
        assert_eq!(actions(s).await, ["several"], "an unaudited write takes no entry");
        s.create_group("D", None).await
    })
    .await;
    out.unwrap();
    assert_eq!(outcome, AuditOutcome::Written);
    assert_eq!(actions(s).await, ["several", "prepared"]);

    // Filling in a missing setting is not the change.
    let (out, outcome) = audited(
        entry("read"),
        s.setting_or_create(settings::CLIENT_CONFIG_LAST_CHANGE, OffsetDateTime::now_utc),
    )
    .await;
    out.unwrap();
    assert!(matches!(outcome, AuditOutcome::Pending(_)));
    assert_eq!(actions(s).await, ["several", "prepared"]);

    // A job queued for a sync is a change.
    let (job, outcome) = audited(entry("sync-start"), s.create_job("sync", "{}", 0)).await;
    job.unwrap();
    assert_eq!(outcome, AuditOutcome::Written);
    assert_eq!(actions(s).await, ["several", "prepared", "sync-start"]);
}

async fn last_administrator_is_kept(env: Env) {
    let s = &env.store;
    s.create_user("root", "$argon2id$x", ADMINISTRATOR_ROLE).await.unwrap();
    s.create_user("viewer", "$argon2id$y", "reporter").await.unwrap();
    let disable = UserChange { disabled: Some(true), ..UserChange::default() };
    assert!(s.update_user("root", &disable).await.unwrap_err().is_conflict());
    assert!(s.delete_user("root").await.unwrap_err().is_conflict());
    assert!(s.update_user("nobody", &disable).await.unwrap_err().is_not_found());
    assert!(s.delete_user("nobody").await.unwrap_err().is_not_found());

    let promote = UserChange { role: Some(ADMINISTRATOR_ROLE.into()), ..UserChange::default() };
    s.update_user("viewer", &promote).await.unwrap();
    let root = s.update_user("root", &disable).await.unwrap();
    assert!(root.disabled);
    assert!(s.get_user("root").await.unwrap().unwrap().disabled);
    // A disabled administrator does not count: the enabled one is now the last.
    assert!(s.delete_user("viewer").await.unwrap_err().is_conflict());
    let gone = s.delete_user("root").await.unwrap();
    assert_eq!(gone.name, "root");
    assert!(s.get_user("root").await.unwrap().is_none());

    let change = UserChange { password_hash: Some("$argon2id$new".into()), disabled: Some(false), ..UserChange::default() };
    let viewer = s.update_user("viewer", &change).await.unwrap();
    assert_eq!((viewer.password_hash.as_str(), viewer.disabled), ("$argon2id$new", false));
}

async fn tokens_expire_and_follow_their_user(env: Env) {
    let s = &env.store;
    s.create_user("root", "$argon2id$x", ADMINISTRATOR_ROLE).await.unwrap();
    s.create_user("dave", "$argon2id$y", "reporter").await.unwrap();
    let now = OffsetDateTime::now_utc();
    assert!(s.add_token(&token("a", "dave", None, TOKEN_KIND_API)).await.is_err(), "a digest is 64 hex digits");
    let (da, db, dc) = ("a".repeat(64), "b".repeat(64), "c".repeat(64));
    let (da, db, dc) = (da.as_str(), db.as_str(), dc.as_str());
    let live = s.add_token(&token(da, "dave", Some(now + time::Duration::days(1)), TOKEN_KIND_API)).await.unwrap();
    let expired = s.add_token(&token(db, "dave", Some(now - time::Duration::seconds(1)), TOKEN_KIND_SESSION)).await.unwrap();
    assert_eq!(s.token(live.id).await.unwrap().unwrap(), live);
    assert_eq!(s.token_user(da).await.unwrap().unwrap().role, "reporter");
    assert!(s.token_user(db).await.unwrap().is_none(), "an expired token does not authenticate");

    // The use is stamped once, not on every request within the minute.
    let first = s.token(live.id).await.unwrap().unwrap().last_used_at.unwrap();
    s.token_user(da).await.unwrap().unwrap();
    assert_eq!(s.token(live.id).await.unwrap().unwrap().last_used_at, Some(first));

    // A new session clears expired ones.
    s.add_token(&token(dc, "root", Some(now + time::Duration::hours(1)), TOKEN_KIND_SESSION)).await.unwrap();
    assert!(s.token(expired.id).await.unwrap().is_none());

    let disable = UserChange { disabled: Some(true), ..UserChange::default() };
    s.update_user("dave", &disable).await.unwrap();
    assert!(s.token_user(da).await.unwrap().is_none(), "a disabled user's tokens do not authenticate");
    s.update_user("dave", &UserChange { disabled: Some(false), ..UserChange::default() }).await.unwrap();
    assert!(s.token_user(da).await.unwrap().is_some());
    s.delete_user("dave").await.unwrap();
    assert!(s.token_user(da).await.unwrap().is_none());
    assert!(s.token(live.id).await.unwrap().is_none(), "a deleted user's tokens go with it");
}

fn token<'a>(digest: &'a str, user: &'a str, expires_at: Option<OffsetDateTime>, kind: &'a str) -> NewToken<'a> {
    NewToken { user_name: user, token_sha256: digest, description: "label", expires_at, kind }
}
