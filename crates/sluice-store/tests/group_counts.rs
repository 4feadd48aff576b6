//! The per-group counts the triggers of migration 0014 keep must always equal a fresh count
//! over the fleet, whatever happens to computers, memberships, groups and reported states.
//! Every body runs on SQLite and, when `SLUICE_TEST_POSTGRES_URL` is set, on PostgreSQL (same
//! harness as `contract.rs`).

use sluice_store::*;
use time::macros::datetime;
use uuid::Uuid;

#[macro_use]
mod common;
use common::*;

contract!(kept_counts_equal_a_recount);

/// A small deterministic generator, so a failure names the step that broke the counts.
struct Steps(u64);

impl Steps {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

const STATES: [InstallState; 5] =
    [InstallState::NotInstalled, InstallState::Installed, InstallState::Failed, InstallState::NotApplicable, InstallState::Downloaded];

async fn check(s: &Store, step: usize, what: &str) {
    let kept = s.fleet_standing().await.unwrap();
    let counted = s.recount_fleet_standing().await.unwrap();
    assert_eq!(kept, counted, "after step {step} ({what}) the kept counts differ from a recount");
}

async fn kept_counts_equal_a_recount(env: Env) {
    let s = &env.store;
    let mut rng = Steps(7);
    let mut groups: Vec<Uuid> = Vec::new();
    let computer = |n: u64| format!("pc-{n:02}");
    let at = datetime!(2026-12-01 10:00 UTC);
    check(s, 0, "an empty fleet").await;
    for step in 1..=400 {
        let what = match rng.below(10) {
            0 | 1 => {
                let id = computer(rng.below(24));
                s.upsert_computer(&NewComputer { id: id.clone(), ..Default::default() }).await.unwrap();
                format!("register {id}")
            }
            2 if groups.len() < 5 => {
                let parent = (!groups.is_empty() && rng.below(2) == 0).then(|| groups[rng.below(groups.len() as u64) as usize]);
                let g = s.create_group(&format!("group {step}"), parent).await.unwrap();
                groups.push(g.id);
                format!("create group {}", g.id)
            }
            3 if !groups.is_empty() => {
                let g = groups[rng.below(groups.len() as u64) as usize];
                let members: Vec<String> = (0..3).map(|_| computer(rng.below(24))).collect();
                // Members that are not registered are refused; that must leave the counts alone.
                let _ = s.add_group_members(g, &members).await;
                format!("add {members:?} to {g}")
            }
            4 => {
                let id = computer(rng.below(24));
                let mut to: Vec<Uuid> = groups.iter().copied().filter(|_| rng.below(3) == 0).collect();
                if rng.below(4) == 0 {
                    // The built-in groups as explicit memberships count for nothing.
                    to.push(sluice_api::UNASSIGNED_COMPUTERS_GROUP);
                }
                let _ = s.set_computer_groups(&id, &to).await;
                format!("move {id} to {to:?}")
            }
            5 | 6 | 7 => {
                let id = computer(rng.below(24));
                let state = STATES[rng.below(STATES.len() as u64) as usize];
                let update = Uuid::from_u128(1 + rng.below(4) as u128);
                let row = UpdateStatus {
                    computer_id: id.clone(),
                    update_id: update,
                    revision_number: 1,
                    state,
                    last_event_time: at,
                    last_event_id: None,
                };
                let _ = s.set_update_status(&row).await;
                format!("{id} reports {update} {state:?}")
            }
            8 => {
                let id = computer(rng.below(24));
                let _ = s.delete_computer(&id).await;
                format!("delete {id}")
            }
            9 if !groups.is_empty() => {
                let i = rng.below(groups.len() as u64) as usize;
                let g = groups[i];
                // Refused while it has child groups.
                if s.delete_group(g).await.is_ok() {
                    groups.remove(i);
                }
                format!("delete group {g}")
            }
            _ => continue,
        };
        check(s, step, &what).await;
    }
    let standing = s.fleet_standing().await.unwrap();
    assert!(standing[0].computers > 0 && standing[0].needing > 0 && standing[0].failed > 0, "the run exercised the counts: {standing:?}");
}
