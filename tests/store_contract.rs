//! The `SessionStore` contract, run against both stores: the in-memory default and Redis. Same calls, same
//! answers: claims, compare-and-swap, conditional refresh and release, rosters that keep the TTL, sorted
//! listings, truncated states, expiry with real (short) TTLs, and a claim race between many tasks.
#![cfg(feature = "ssr")]

mod common;

use common::redis::{options, shared_redis};
use p2p_streams::protocol::{LinkState, PeerId, PeerStatus, Route, SessionId};
use p2p_streams::server::{HostClaim, MemoryStore, RedisBackend, SessionStore, SessionSummary, MAX_ROSTER_STATES};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TTL: Duration = Duration::from_secs(30);

fn ids() -> (SessionId, PeerId, PeerId) {
    (SessionId("room:1".into()), PeerId("ada#1".into()), PeerId("bob#1".into()))
}

fn status(peer: &PeerId, state: LinkState, host: bool) -> PeerStatus {
    PeerStatus { peer: peer.clone(), state, host, route: None }
}

fn summary(s: &SessionId, host: &PeerId, peers: u32, states: Vec<PeerStatus>) -> SessionSummary {
    SessionSummary { session_id: s.clone(), host: host.clone(), peers, states }
}

/// Every contract check, in sequence, on a store that starts empty.
async fn contract(store: Arc<dyn SessionStore>) {
    let (s, ada, bob) = ids();
    // claim
    assert_eq!(store.claim_host(&s, &ada, TTL).await.ok(), Some(HostClaim::Won));
    assert_eq!(store.claim_host(&s, &bob, TTL).await.ok(), Some(HostClaim::Taken(ada.clone())));
    assert_eq!(store.claim_host(&s, &ada, TTL).await.ok(), Some(HostClaim::Won), "own record is re-won");
    assert_eq!(store.current_host(&s).await.ok(), Some(Some(ada.clone())));
    // refresh and release only by the holder
    assert_eq!(store.refresh_host(&s, &bob, TTL).await.ok(), Some(false));
    assert_eq!(store.release_host(&s, &bob).await.ok(), Some(false));
    assert_eq!(store.refresh_host(&s, &ada, TTL).await.ok(), Some(true));
    // rosters, listing, truncation
    let relayed =
        PeerStatus { route: Some(Route::Relay), ..status(&PeerId("cy#1".into()), LinkState::Connected, false) };
    let states = vec![status(&ada, LinkState::Connected, true), status(&bob, LinkState::Connecting, false), relayed];
    store.set_roster(&s, 7, states.clone()).await.expect("roster");
    assert_eq!(store.sessions().await.ok(), Some(vec![summary(&s, &ada, 7, states)]));
    let many = vec![status(&bob, LinkState::Negotiating, false); MAX_ROSTER_STATES + 10];
    store.set_roster(&s, 0, many).await.expect("roster");
    let listed = store.sessions().await.expect("sessions");
    assert_eq!(listed.first().map(|x| (x.peers, x.states.len())), Some((1, MAX_ROSTER_STATES)));
    // compare-and-swap
    assert_eq!(store.replace_host(&s, &bob, &bob, TTL).await.ok(), Some(false), "wrong expected");
    assert_eq!(store.replace_host(&s, &ada, &bob, TTL).await.ok(), Some(true));
    assert_eq!(store.sessions().await.ok(), Some(vec![summary(&s, &bob, 1, vec![])]), "new host, fresh roster");
    assert_eq!(store.release_host(&s, &bob).await.ok(), Some(true));
    assert_eq!(store.current_host(&s).await.ok(), Some(None));
    assert_eq!(store.replace_host(&s, &bob, &ada, TTL).await.ok(), Some(false), "no record");
    store.set_roster(&s, 3, vec![]).await.expect("roster");
    assert_eq!(store.current_host(&s).await.ok(), Some(None), "set_roster never creates a record");
    // sorted listing
    for name in ["b", "a", "c"] {
        store.claim_host(&SessionId(name.into()), &PeerId(format!("{name}#1")), TTL).await.expect("claim");
    }
    let names: Vec<_> = store.sessions().await.expect("sessions").into_iter().map(|x| x.session_id.0).collect();
    assert_eq!(names, vec!["a", "b", "c"]);
}

/// Expiry with real time (Redis expires keys on its own clock, so no paused clock here): a refreshed record lives
/// past its first expiry, a roster update does not extend it, and it is gone once the refreshed TTL ran out. Each
/// step waits for a point in time measured from the last write (never a fixed nap between steps), the
/// disappearance is polled until a deadline, and a check whose time window a stalled machine missed says so.
async fn expiry(store: Arc<dyn SessionStore>) {
    let (s, ada, bob) = ids();
    let ttl = Duration::from_millis(1500);
    let claimed = Instant::now();
    store.claim_host(&s, &ada, ttl).await.expect("claim");
    tokio::time::sleep_until((claimed + ttl / 2).into()).await;
    let refreshed = Instant::now();
    assert_eq!(store.refresh_host(&s, &ada, ttl).await.ok(), Some(true));

    // Past the first expiry, before the refreshed one: alive.
    tokio::time::sleep_until((claimed + ttl + Duration::from_millis(150)).into()).await;
    let host = store.current_host(&s).await.ok();
    let checked = Instant::now();
    assert!(
        checked < refreshed + ttl,
        "stalled for {:?}: the alive check came after the refreshed expiry",
        checked - claimed
    );
    assert_eq!(host, Some(Some(ada.clone())), "the refreshed record lives past its first expiry");

    // A roster update now must not extend it: it is gone before `rostered + ttl`, as soon as `refreshed + ttl`.
    store.set_roster(&s, 4, vec![]).await.expect("roster");
    let rostered = Instant::now();
    let deadline = rostered + ttl - Duration::from_millis(100);
    let gone_at = loop {
        if store.current_host(&s).await.ok() == Some(None) {
            break Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "still there {:?} after the roster update: it extended the TTL",
            rostered.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(gone_at >= refreshed + ttl, "gone {:?} before its refreshed TTL ran out", refreshed + ttl - gone_at);
    assert_eq!(store.sessions().await.ok(), Some(vec![]));
    assert_eq!(store.claim_host(&s, &bob, ttl).await.ok(), Some(HostClaim::Won), "an expired host strands nobody");
}

/// Many concurrent claimants: exactly one wins, all agree on it.
async fn race(store: Arc<dyn SessionStore>) {
    let s = SessionId("race".into());
    let claims = (0..32).map(|i| {
        let (store, s) = (store.clone(), s.clone());
        tokio::spawn(async move { store.claim_host(&s, &PeerId(format!("p{i}#1")), TTL).await })
    });
    let results: Vec<HostClaim> =
        futures::future::join_all(claims).await.into_iter().map(|r| r.expect("task").expect("claim")).collect();
    assert_eq!(results.iter().filter(|c| **c == HostClaim::Won).count(), 1);
    let holder = store.current_host(&s).await.expect("host").expect("a host");
    assert!(results.iter().all(|c| *c == HostClaim::Won || *c == HostClaim::Taken(holder.clone())));
}

async fn redis_store() -> (common::redis::SharedRedis, Arc<dyn SessionStore>) {
    let redis = shared_redis().await;
    let backend = RedisBackend::connect(&redis.url, options(Duration::from_secs(6))).await.expect("connect");
    (redis, Arc::new(backend.store()))
}

#[tokio::test]
async fn memory_store_keeps_the_contract() {
    contract(Arc::new(MemoryStore::new())).await;
    race(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn redis_store_keeps_the_contract() {
    let (_redis, store) = redis_store().await;
    contract(store).await;
    let (_redis, store) = redis_store().await;
    race(store).await;
}

#[tokio::test]
async fn both_stores_expire_records_that_are_not_refreshed() {
    let (_redis, store) = redis_store().await;
    tokio::join!(expiry(Arc::new(MemoryStore::new())), expiry(store));
}
