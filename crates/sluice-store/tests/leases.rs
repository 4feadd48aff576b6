//! Contract tests of the job leases and change announcements that let several front ends share
//! one database: every body runs on SQLite and, when `SLUICE_TEST_POSTGRES_URL` is set, on
//! PostgreSQL (same harness as `contract.rs`).

use std::time::Duration;

use sluice_store::*;

#[macro_use]
mod common;
use common::*;

contract!(one_holder_at_a_time, an_expired_lease_is_taken_over, a_lost_lease_cancels_its_work, announcements_reach_other_stores);

fn node(n: &str, p: &str) -> LeaseHolder {
    LeaseHolder { node: n.into(), process: p.into() }
}

async fn one_holder_at_a_time(env: Env) {
    let (a, b) = (node("host-a:/var/lib/sluice", "a1"), node("host-b:/var/lib/sluice", "b1"));
    let ttl = Duration::from_secs(60);
    assert!(env.store.try_lease("sync", &a, ttl).await.unwrap(), "a free lease is taken");
    assert!(env.store.try_lease("sync", &a, ttl).await.unwrap(), "its holder renews it");
    assert!(!env.store.try_lease("sync", &b, ttl).await.unwrap(), "another node must wait");
    assert!(env.store.try_lease("cleanup", &b, ttl).await.unwrap(), "leases are per job");
    // A restarted process of the same node (same data directory) takes its own lease over.
    let a2 = node("host-a:/var/lib/sluice", "a2");
    assert!(env.store.try_lease("sync", &a2, ttl).await.unwrap());
    let held = env.store.leases().await.unwrap();
    let sync = held.iter().find(|l| l.name == "sync").unwrap();
    assert_eq!((sync.node.as_str(), sync.holder.as_str()), ("host-a:/var/lib/sluice", "a2"));
    // Releasing by someone who no longer holds it changes nothing; by the holder frees it.
    env.store.release_lease("sync", &a).await.unwrap();
    assert!(!env.store.try_lease("sync", &b, ttl).await.unwrap());
    env.store.release_lease("sync", &a2).await.unwrap();
    assert!(env.store.try_lease("sync", &b, ttl).await.unwrap(), "a released lease is free");
}

async fn an_expired_lease_is_taken_over(env: Env) {
    let (a, b) = (node("a", "a1"), node("b", "b1"));
    assert!(env.store.try_lease("sync", &a, Duration::from_millis(200)).await.unwrap());
    assert!(!env.store.try_lease("sync", &b, Duration::from_secs(60)).await.unwrap());
    // A crashed holder stops renewing.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(env.store.try_lease("sync", &b, Duration::from_secs(60)).await.unwrap(), "the expired lease is taken over");
    assert!(!env.store.try_lease("sync", &a, Duration::from_secs(60)).await.unwrap(), "and the old holder has lost it");
}

async fn a_lost_lease_cancels_its_work(env: Env) {
    let (a, b) = (node("a", "a1"), node("b", "b1"));
    let lease = Lease::try_take(&env.store, "rollouts", &a).await.unwrap().expect("free");
    assert!(Lease::try_take(&env.store, "rollouts", &b).await.unwrap().is_none(), "held by a");
    let lost = lease.lost();
    assert!(!lost.is_cancelled());
    // Another node takes it by force (as after an expiry this holder did not notice): the
    // next renewal finds out and cancels the work.
    env.store.release_lease("rollouts", &a).await.unwrap();
    assert!(env.store.try_lease("rollouts", &b, LEASE_TTL).await.unwrap());
    tokio::time::timeout(Duration::from_secs(12), lost.cancelled()).await.expect("the loss is noticed at the next renewal");
    drop(lease);
    // The dropped guard must not release b's lease.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!env.store.try_lease("rollouts", &a, LEASE_TTL).await.unwrap());
    let l = Lease::try_take(&env.store, "rollouts", &b).await.unwrap().expect("b renews its own");
    l.release().await;
    assert!(env.store.try_lease("rollouts", &a, LEASE_TTL).await.unwrap(), "released at once");
}

async fn announcements_reach_other_stores(env: Env) {
    let other = Store::open(&env.url).await.unwrap();
    let Some(mut listener) = other.listen_changes().await.unwrap() else {
        // SQLite: nothing to listen to, and announcing is a no-op that succeeds.
        assert_eq!(env.store.backend(), Backend::Sqlite);
        env.store.announce_change("p1").await.unwrap();
        return;
    };
    env.store.announce_change("front-end-1").await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), listener.next()).await.expect("announced").unwrap();
    assert_eq!(got.as_deref(), Some("front-end-1"));
    drop(listener);
    other.close().await;
}
