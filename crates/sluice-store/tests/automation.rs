//! Contract tests of automatic approval rules, rollout plans and rollouts: every body runs on
//! SQLite and, when `SLUICE_TEST_POSTGRES_URL` is set, on PostgreSQL (same harness as
//! `contract.rs`).

use sluice_store::*;
use time::macros::datetime;
use uuid::Uuid;

#[macro_use]
mod common;
use common::*;

contract!(rules_round_trip, plans_and_rollouts,);

fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x3000_0000_0000_4000_8000_0000_0000_0000 + n)
}

async fn rules_round_trip(env: Env) {
    let s = &env.store;
    let spec = RuleSpec {
        classifications: vec![id(1)],
        products: vec![id(2), id(3)],
        groups: vec![id(4)],
        plan_id: None,
        deadline_days: Some(3),
        deadline_minute: Some(270),
    };
    let r = s.create_approval_rule("Security", true, &spec, "alice").await.unwrap();
    assert_eq!((r.name.as_str(), r.enabled, &r.spec, r.owner.as_str()), ("Security", true, &spec, "alice"));
    let e = s.create_approval_rule("Security", false, &RuleSpec::default(), "bob").await.unwrap_err();
    assert!(e.is_conflict(), "{e}");
    let e = s.create_approval_rule("Staged", true, &RuleSpec { plan_id: Some(999), ..RuleSpec::default() }, "bob").await.unwrap_err();
    assert!(e.is_conflict(), "an unknown plan is refused: {e}");

    let changed = RuleSpec { deadline_days: None, deadline_minute: None, ..spec.clone() };
    let u = s.update_approval_rule(r.id, "Security 2", false, &changed, "bob").await.unwrap();
    assert_eq!((u.name.as_str(), u.enabled, &u.spec, u.owner.as_str()), ("Security 2", false, &changed, "bob"));
    assert!(s.update_approval_rule(999, "x", true, &changed, "bob").await.unwrap_err().is_not_found());
    assert_eq!(s.approval_rules().await.unwrap(), [u.clone()]);
    assert!(s.delete_approval_rule(u.id).await.unwrap());
    assert!(!s.delete_approval_rule(u.id).await.unwrap());
    assert!(s.approval_rules().await.unwrap().is_empty());
}

async fn plans_and_rollouts(env: Env) {
    let s = &env.store;
    let rings = [PlanRing { group_id: id(1), soak_secs: 172_800 }, PlanRing { group_id: id(2), soak_secs: 0 }];
    let p = s.create_rollout_plan("Monthly", &rings, 500, "alice").await.unwrap();
    assert_eq!((p.rings.as_slice(), p.max_failure_bp), (rings.as_slice(), 500));
    assert!(s.create_rollout_plan("Monthly", &rings, 500, "alice").await.unwrap_err().is_conflict());
    assert_eq!(s.rollout_plans().await.unwrap(), [p.clone()]);

    let t0 = datetime!(2026-05-01 12:00:00 UTC);
    let r = s.start_rollout(p.id, id(10), "alice", t0).await.unwrap();
    assert_eq!((r.ring, r.ring_started_at, r.state, r.started_by.as_str()), (0, t0, RolloutState::Running, "alice"));
    assert!(s.start_rollout(p.id, id(10), "bob", t0).await.unwrap_err().is_conflict(), "one plan at a time");
    assert!(s.delete_rollout_plan(p.id).await.unwrap_err().is_conflict(), "an update is on it");

    s.note_rollout(r.id, "soaking").await.unwrap();
    assert_eq!(s.rollout(r.id).await.unwrap().unwrap().reason.as_deref(), Some("soaking"));
    let t1 = datetime!(2026-05-03 12:00:00 UTC);
    let to = RolloutMove { ring: 1, ring_started_at: t1, state: RolloutState::Completed, reason: Some("passed") };
    let moved = s.move_rollout(r.id, 0, RolloutState::Running, &to).await.unwrap().unwrap();
    assert_eq!((moved.ring, moved.ring_started_at, moved.state), (1, t1, RolloutState::Completed));
    // A second evaluation that read the old position moves nothing.
    assert_eq!(s.move_rollout(r.id, 0, RolloutState::Running, &to).await.unwrap(), None);
    assert!(s.running_rollouts().await.unwrap().is_empty());
    // Finished, the update may go on a plan again; the plan may go once nothing is on it.
    let again = s.start_rollout(p.id, id(10), "bob", t1).await.unwrap();
    assert_eq!(s.running_rollouts().await.unwrap(), [again.clone()]);
    let stop = RolloutMove { ring: 0, ring_started_at: t1, state: RolloutState::Aborted, reason: None };
    s.move_rollout(again.id, 0, RolloutState::Running, &stop).await.unwrap().unwrap();
    let rule = s.create_approval_rule("Staged", true, &RuleSpec { plan_id: Some(p.id), ..RuleSpec::default() }, "alice").await.unwrap();
    assert!(s.delete_rollout_plan(p.id).await.unwrap_err().is_conflict(), "a rule names it");
    s.delete_approval_rule(rule.id).await.unwrap();
    s.delete_rollout_plan(p.id).await.unwrap();
    assert!(s.rollouts().await.unwrap().is_empty(), "its finished rollouts go with it");
    assert!(s.delete_rollout_plan(p.id).await.unwrap_err().is_not_found());
}
