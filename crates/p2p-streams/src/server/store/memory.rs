//! [`MemoryStore`]: the single-node [`SessionStore`] (server side, `ssr`).
//!
//! One `std::sync::Mutex<HashMap>` of host records, never held across an `.await` (every method is a few map
//! operations). Expiry uses `tokio::time::Instant`, so tests drive it with a paused clock; expired records are
//! purged lazily when touched and by [`SessionStore::sessions`].

use super::{HostClaim, SessionStore, SessionSummary, StoreError, MAX_ROSTER_STATES};
use crate::protocol::{PeerId, PeerStatus, SessionId};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// In-process host records; the default store of a single signaling node.
#[derive(Debug, Default)]
pub struct MemoryStore {
    /// Host record per session. Expired entries may linger until the next access.
    records: Mutex<HashMap<SessionId, HostRecord>>,
}

/// Who hosts one session, until when, and how big its star is.
#[derive(Debug)]
struct HostRecord {
    /// The host.
    host: PeerId,
    /// The record does not exist from this instant on.
    expires: Instant,
    /// Last roster size the host reported (at least 1).
    peers: u32,
    /// Last peer states the host reported (at most [`MAX_ROSTER_STATES`]).
    states: Vec<PeerStatus>,
}

impl HostRecord {
    /// A fresh record for `host`: a roster of 1, no states yet.
    fn new(host: &PeerId, expires: Instant) -> Self {
        HostRecord { host: host.clone(), expires, peers: 1, states: Vec::new() }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The map; a panic while holding the lock cannot leave a record half-written, so poison is ignored.
    fn records(&self) -> MutexGuard<'_, HashMap<SessionId, HostRecord>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The unexpired record of `s`, purging an expired one.
    fn live<'a>(
        records: &'a mut HashMap<SessionId, HostRecord>,
        s: &SessionId,
        now: Instant,
    ) -> Option<&'a mut HostRecord> {
        if records.get(s).is_some_and(|r| r.expires <= now) {
            records.remove(s);
        }
        records.get_mut(s)
    }
}

#[async_trait::async_trait]
impl SessionStore for MemoryStore {
    async fn claim_host(&self, s: &SessionId, p: &PeerId, ttl: Duration) -> Result<HostClaim, StoreError> {
        let now = Instant::now();
        let mut records = self.records();
        match Self::live(&mut records, s, now) {
            Some(record) if record.host != *p => Ok(HostClaim::Taken(record.host.clone())),
            Some(record) => {
                record.expires = now + ttl;
                Ok(HostClaim::Won)
            }
            None => {
                records.insert(s.clone(), HostRecord::new(p, now + ttl));
                Ok(HostClaim::Won)
            }
        }
    }

    async fn replace_host(
        &self,
        s: &SessionId,
        expected: &PeerId,
        new: &PeerId,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut records = self.records();
        match Self::live(&mut records, s, now) {
            Some(record) if record.host == *expected => {
                *record = HostRecord::new(new, now + ttl);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn refresh_host(&self, s: &SessionId, p: &PeerId, ttl: Duration) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut records = self.records();
        match Self::live(&mut records, s, now) {
            Some(record) if record.host == *p => {
                record.expires = now + ttl;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn release_host(&self, s: &SessionId, p: &PeerId) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut records = self.records();
        let holds = Self::live(&mut records, s, now).is_some_and(|r| r.host == *p);
        if holds {
            records.remove(s);
        }
        Ok(holds)
    }

    async fn current_host(&self, s: &SessionId) -> Result<Option<PeerId>, StoreError> {
        let now = Instant::now();
        Ok(Self::live(&mut self.records(), s, now).map(|r| r.host.clone()))
    }

    async fn set_roster(&self, s: &SessionId, peers: u32, mut states: Vec<PeerStatus>) -> Result<(), StoreError> {
        let now = Instant::now();
        states.truncate(MAX_ROSTER_STATES);
        if let Some(record) = Self::live(&mut self.records(), s, now) {
            record.peers = peers.max(1);
            record.states = states;
        }
        Ok(())
    }

    async fn sessions(&self) -> Result<Vec<SessionSummary>, StoreError> {
        let now = Instant::now();
        let mut records = self.records();
        records.retain(|_, r| r.expires > now);
        let mut list: Vec<SessionSummary> = records
            .iter()
            .map(|(s, r)| SessionSummary {
                session_id: s.clone(),
                host: r.host.clone(),
                peers: r.peers,
                states: r.states.clone(),
            })
            .collect();
        list.sort_by(|a, b| a.session_id.cmp(&b.session_id));
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::LinkState;

    const TTL: Duration = Duration::from_secs(30);

    fn ids() -> (SessionId, PeerId, PeerId) {
        (SessionId("room".into()), PeerId("ada#1".into()), PeerId("bob#1".into()))
    }

    #[tokio::test]
    async fn first_claim_wins_then_others_see_the_host() {
        let (s, ada, bob) = ids();
        let store = MemoryStore::new();
        assert_eq!(store.claim_host(&s, &ada, TTL).await.ok(), Some(HostClaim::Won));
        assert_eq!(store.claim_host(&s, &bob, TTL).await.ok(), Some(HostClaim::Taken(ada.clone())));
        assert_eq!(store.claim_host(&s, &ada, TTL).await.ok(), Some(HostClaim::Won), "own record is re-won");
        assert_eq!(store.current_host(&s).await.ok(), Some(Some(ada)));
    }

    #[tokio::test]
    async fn replace_is_compare_and_swap() {
        let (s, ada, bob) = ids();
        let store = MemoryStore::new();
        assert_eq!(store.replace_host(&s, &ada, &bob, TTL).await.ok(), Some(false), "no record");
        store.claim_host(&s, &ada, TTL).await.ok();
        assert_eq!(store.replace_host(&s, &bob, &bob, TTL).await.ok(), Some(false), "wrong expected");
        assert_eq!(store.replace_host(&s, &ada, &bob, TTL).await.ok(), Some(true));
        assert_eq!(store.current_host(&s).await.ok(), Some(Some(bob)));
    }

    #[tokio::test]
    async fn refresh_and_release_only_by_the_holder() {
        let (s, ada, bob) = ids();
        let store = MemoryStore::new();
        store.claim_host(&s, &ada, TTL).await.ok();
        assert_eq!(store.refresh_host(&s, &bob, TTL).await.ok(), Some(false));
        assert_eq!(store.release_host(&s, &bob).await.ok(), Some(false));
        assert_eq!(store.refresh_host(&s, &ada, TTL).await.ok(), Some(true));
        assert_eq!(store.release_host(&s, &ada).await.ok(), Some(true));
        assert_eq!(store.current_host(&s).await.ok(), Some(None));
        assert_eq!(store.release_host(&s, &ada).await.ok(), Some(false), "already released");
    }

    #[tokio::test(start_paused = true)]
    async fn records_expire_and_refresh_extends_them() {
        let (s, ada, _) = ids();
        let store = MemoryStore::new();
        store.claim_host(&s, &ada, TTL).await.ok();
        tokio::time::advance(TTL - Duration::from_secs(1)).await;
        assert_eq!(store.refresh_host(&s, &ada, TTL).await.ok(), Some(true));
        tokio::time::advance(TTL - Duration::from_secs(1)).await;
        assert_eq!(store.current_host(&s).await.ok(), Some(Some(ada.clone())), "refreshed record lives on");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(store.current_host(&s).await.ok(), Some(None));
        assert_eq!(store.refresh_host(&s, &ada, TTL).await.ok(), Some(false), "an expired record is gone");
    }

    fn status(peer: &PeerId, state: LinkState, host: bool) -> PeerStatus {
        PeerStatus { peer: peer.clone(), state, host, route: None }
    }

    fn summary(s: &SessionId, host: &PeerId, peers: u32, states: Vec<PeerStatus>) -> SessionSummary {
        SessionSummary { session_id: s.clone(), host: host.clone(), peers, states }
    }

    #[tokio::test(start_paused = true)]
    async fn set_roster_keeps_the_ttl() {
        let (s, ada, bob) = ids();
        let store = MemoryStore::new();
        store.claim_host(&s, &ada, TTL).await.ok();
        tokio::time::advance(TTL / 2).await;
        let states = vec![status(&ada, LinkState::Connected, true), status(&bob, LinkState::Connecting, false)];
        store.set_roster(&s, 7, states.clone()).await.ok();
        let listed = store.sessions().await.unwrap_or_default();
        assert_eq!(listed, vec![summary(&s, &ada, 7, states)]);
        tokio::time::advance(TTL / 2 + Duration::from_millis(1)).await;
        assert_eq!(store.sessions().await.ok(), Some(vec![]), "the roster update did not extend the record");
        store.set_roster(&s, 3, vec![]).await.ok();
        assert_eq!(store.current_host(&s).await.ok(), Some(None), "set_roster never creates a record");
    }

    #[tokio::test(start_paused = true)]
    async fn an_expired_host_does_not_strand_a_newcomer() {
        let (s, ada, bob) = ids();
        let store = MemoryStore::new();
        store.claim_host(&s, &ada, TTL).await.ok();
        store.set_roster(&s, 5, vec![status(&ada, LinkState::Connected, true)]).await.ok();
        // ada's node crashed: nobody refreshes the record.
        tokio::time::advance(TTL).await;
        assert_eq!(store.claim_host(&s, &bob, TTL).await.ok(), Some(HostClaim::Won));
        let listed = store.sessions().await.unwrap_or_default();
        assert_eq!(listed, vec![summary(&s, &bob, 1, vec![])], "stale roster and states reset");
    }

    #[tokio::test]
    async fn sessions_are_sorted_and_roster_is_at_least_one() {
        let store = MemoryStore::new();
        for name in ["b", "a"] {
            store.claim_host(&SessionId(name.into()), &PeerId(format!("{name}#1")), TTL).await.ok();
        }
        store.set_roster(&SessionId("a".into()), 0, vec![]).await.ok();
        let listed = store.sessions().await.unwrap_or_default();
        let names: Vec<_> = listed.iter().map(|x| (x.session_id.0.as_str(), x.peers)).collect();
        assert_eq!(names, vec![("a", 1), ("b", 1)]);
    }

    #[tokio::test]
    async fn a_replaced_host_starts_without_states_and_huge_rosters_are_truncated() {
        let (s, ada, bob) = ids();
        let store = MemoryStore::new();
        store.claim_host(&s, &ada, TTL).await.ok();
        let many = vec![status(&bob, LinkState::Negotiating, false); MAX_ROSTER_STATES + 10];
        store.set_roster(&s, 9, many).await.ok();
        let listed = store.sessions().await.unwrap_or_default();
        assert_eq!(listed.first().map(|x| x.states.len()), Some(MAX_ROSTER_STATES));
        assert_eq!(store.replace_host(&s, &ada, &bob, TTL).await.ok(), Some(true));
        assert_eq!(store.sessions().await.ok(), Some(vec![summary(&s, &bob, 1, vec![])]));
    }
}
