//! Node-local registry of joined sockets (server side, `ssr`): who is connected to THIS node, in which
//! session, with which role, and how to reach them.
//!
//! Host records (who is host) live in the `SessionStore`; this registry only caches each socket's view so the
//! node can route frames. Three small maps, each behind a `std::sync::Mutex` that is never held across an
//! `.await`:
//! - sockets per session (an entry disappears with the session's last socket);
//! - per-session gates (`tokio::sync::Mutex`) that serialize joins, leaves and elections of one session, so a
//!   peer always sees `Welcome` before any `RoleChanged`;
//! - pending host grace periods, keyed by the dropped socket's connection id.

use super::error::PeerError;
pub(crate) use super::handle::{CloseRequest, ConnHandle};
use super::members::Members;
use crate::protocol::{PeerId, Role, SessionId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::OwnedMutexGuard;

/// Held while one session's membership or host changes; dropping it forgets the gate when nobody else wants it.
pub(crate) struct SessionGate<'a> {
    /// Where the gate came from.
    registry: &'a Registry,
    /// The gated session.
    session: SessionId,
    /// The lock itself (always `Some` until drop).
    guard: Option<OwnedMutexGuard<()>>,
}

impl Drop for SessionGate<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut gates = lock(&self.registry.gates);
        // Only the map holds it: no task is waiting, so the entry can go (no unbounded growth).
        if gates.get(&self.session).is_some_and(|gate| Arc::strong_count(gate) == 1) {
            gates.remove(&self.session);
        }
    }
}

/// What this node holds right now (the metrics gauges, computed at scrape time).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RegistryCounts {
    /// Sessions with at least one joined socket here.
    pub sessions: usize,
    /// Joined sockets.
    pub sockets: usize,
    /// Joined sockets currently told they are host.
    pub hosts: usize,
}

/// Every joined socket on this node, by session.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    /// Joined sockets per session.
    sessions: Mutex<HashMap<SessionId, Members>>,
    /// Serializes membership changes per session (held across store calls, hence a tokio mutex).
    gates: Mutex<HashMap<SessionId, Arc<tokio::sync::Mutex<()>>>>,
    /// A host whose socket dropped abnormally and is in its grace period: session -> (host, dropped conn id).
    graces: Mutex<HashMap<SessionId, (PeerId, u64)>>,
    /// Source of [`ConnHandle::joined`].
    next_join: AtomicU64,
}

/// Locks a registry map; every update is a single map operation, so a poisoned lock holds consistent data.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Registry {
    /// Waits for exclusive right to change `session`'s membership and host.
    pub async fn gate(&self, session: &SessionId) -> SessionGate<'_> {
        let gate = lock(&self.gates).entry(session.clone()).or_default().clone();
        let guard = gate.lock_owned().await;
        SessionGate { registry: self, session: session.clone(), guard: Some(guard) }
    }

    /// Next join-order number.
    pub fn next_join(&self) -> u64 {
        self.next_join.fetch_add(1, Ordering::Relaxed)
    }

    /// Registers `handle` as `peer`'s socket in `session`, returning the socket it replaces (a reloaded tab).
    pub fn insert(&self, session: &SessionId, peer: &PeerId, handle: ConnHandle) -> Option<ConnHandle> {
        lock(&self.sessions).entry(session.clone()).or_default().insert(peer.clone(), handle)
    }

    /// Checks, under `session`'s gate, that `peer` may join: a peer already registered (a reconnect) always
    /// fits; otherwise the session must have fewer than `max_peers` sockets, and a session new to this node
    /// needs fewer than `max_sessions` sessions here. A new session is reserved by an empty entry (so two new
    /// sessions joining at once cannot both take the last place); [`Registry::forget_if_empty`] drops it if
    /// the join fails before [`Registry::insert`].
    pub fn admit(
        &self,
        session: &SessionId,
        peer: &PeerId,
        max_peers: usize,
        max_sessions: usize,
    ) -> Result<(), PeerError> {
        let mut sessions = lock(&self.sessions);
        match sessions.get(session) {
            Some(members) if members.contains_key(peer) => Ok(()),
            Some(members) if members.len() >= max_peers => Err(PeerError::SessionFull),
            Some(_) => Ok(()),
            None if sessions.len() >= max_sessions || max_peers == 0 => {
                Err(if max_peers == 0 { PeerError::SessionFull } else { PeerError::ServerFull })
            }
            None => {
                sessions.insert(session.clone(), Members::default());
                Ok(())
            }
        }
    }

    /// Drops `session`'s entry if it has no socket (a reservation whose join failed).
    pub fn forget_if_empty(&self, session: &SessionId) {
        let mut sessions = lock(&self.sessions);
        if sessions.get(session).is_some_and(Members::is_empty) {
            sessions.remove(session);
        }
    }

    /// Unregisters `peer`'s socket `conn_id` (not a newer socket of the same peer); drops an emptied session.
    pub fn remove(&self, session: &SessionId, peer: &PeerId, conn_id: u64) -> Option<ConnHandle> {
        let mut sessions = lock(&self.sessions);
        let members = sessions.get_mut(session)?;
        if members.get(peer).is_none_or(|h| h.conn_id != conn_id) {
            return None;
        }
        let removed = members.remove(peer);
        if members.is_empty() {
            sessions.remove(session);
        }
        removed
    }

    /// `peer`'s live socket in `session`.
    pub fn get(&self, session: &SessionId, peer: &PeerId) -> Option<ConnHandle> {
        lock(&self.sessions).get(session)?.get(peer).cloned()
    }

    /// Whether `peer` has a live socket in `session` on this node.
    pub fn is_live(&self, session: &SessionId, peer: &PeerId) -> bool {
        lock(&self.sessions).get(session).is_some_and(|m| m.contains_key(peer))
    }

    /// Role of socket `conn_id` of `peer`, if it is still the registered one.
    pub fn role_of(&self, session: &SessionId, peer: &PeerId, conn_id: u64) -> Option<Role> {
        let sessions = lock(&self.sessions);
        let handle = sessions.get(session)?.get(peer)?;
        (handle.conn_id == conn_id).then_some(handle.role)
    }

    /// Every socket of `session` except `peer`'s, earliest-joined first.
    pub fn others(&self, session: &SessionId, peer: Option<&PeerId>) -> Vec<(PeerId, ConnHandle)> {
        let sessions = lock(&self.sessions);
        let mut list: Vec<_> = sessions
            .get(session)
            .map(|m| m.iter().filter(|(p, _)| Some(*p) != peer).map(|(p, h)| (p.clone(), h.clone())).collect())
            .unwrap_or_default();
        list.sort_by_key(|(_, h)| h.joined);
        list
    }

    /// The local socket currently told it is host of `session`, if any.
    pub fn local_host(&self, session: &SessionId) -> Option<(PeerId, ConnHandle)> {
        let sessions = lock(&self.sessions);
        let members = sessions.get(session)?;
        let host = members.iter().find(|(_, h)| h.role == Role::Host).map(|(p, h)| (p.clone(), h.clone()));
        host
    }

    /// How many sessions, joined sockets and host sockets this node holds.
    pub fn counts(&self) -> RegistryCounts {
        let sessions = lock(&self.sessions);
        let handles = || sessions.values().flat_map(|members| members.values());
        RegistryCounts {
            sessions: sessions.len(),
            sockets: handles().count(),
            hosts: handles().filter(|h| h.role == Role::Host).count(),
        }
    }

    /// Records what `peer`'s socket was told. Returns whether it changed.
    pub fn set_view(&self, session: &SessionId, peer: &PeerId, role: Role, host: &PeerId) -> bool {
        let mut sessions = lock(&self.sessions);
        match sessions.get_mut(session).and_then(|m| m.get_mut(peer)) {
            Some(h) if h.role != role || h.host != *host => {
                h.role = role;
                h.host = host.clone();
                true
            }
            _ => false,
        }
    }

    /// Records that `peer`'s socket is introduced to the remote host socket `key`; `false` if it already was.
    pub fn introduce(&self, session: &SessionId, peer: &PeerId, key: &str) -> bool {
        let mut sessions = lock(&self.sessions);
        match sessions.get_mut(session).and_then(|m| m.get_mut(peer)) {
            Some(h) if h.introduced.as_deref() != Some(key) => {
                h.introduced = Some(key.into());
                true
            }
            _ => false,
        }
    }

    /// Every joined socket: session, peer and connection id.
    pub fn sockets(&self) -> Vec<(SessionId, PeerId, u64)> {
        let sessions = lock(&self.sessions);
        let all = sessions.iter().flat_map(|(s, m)| m.iter().map(|(p, h)| (s.clone(), p.clone(), h.conn_id)));
        all.collect()
    }

    /// Sessions with sockets on this node but no socket told it is host.
    pub fn sessions_without_host(&self) -> Vec<SessionId> {
        let sessions = lock(&self.sessions);
        sessions
            .iter()
            .filter(|(_, members)| members.values().all(|h| h.role != Role::Host))
            .map(|(s, _)| s.clone())
            .collect()
    }

    /// Starts `host`'s grace period after its socket `conn_id` dropped.
    pub fn start_grace(&self, session: &SessionId, host: &PeerId, conn_id: u64) {
        lock(&self.graces).insert(session.clone(), (host.clone(), conn_id));
    }

    /// Ends `peer`'s grace period in `session`, if it has one (it came back).
    pub fn cancel_grace(&self, session: &SessionId, peer: &PeerId) {
        let mut graces = lock(&self.graces);
        if graces.get(session).is_some_and(|(host, _)| host == peer) {
            graces.remove(session);
        }
    }

    /// Whether no gate is held or awaited and no grace period runs (nothing left behind; for tests).
    #[cfg(test)]
    pub fn is_idle(&self) -> bool {
        lock(&self.gates).is_empty() && lock(&self.graces).is_empty()
    }

    /// Consumes the grace period started for socket `conn_id`; `false` if it was cancelled or superseded.
    pub fn take_grace(&self, session: &SessionId, conn_id: u64) -> bool {
        let mut graces = lock(&self.graces);
        let current = graces.get(session).is_some_and(|(_, id)| *id == conn_id);
        if current {
            graces.remove(session);
        }
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle(conn_id: u64) -> ConnHandle {
        ConnHandle { joined: conn_id, ..ConnHandle::new(conn_id, PeerId("h#1".into()), 1) }
    }

    #[test]
    fn a_stale_socket_cannot_remove_its_replacement_and_empty_sessions_go() {
        let registry = Registry::default();
        let (s, p) = (SessionId("room".into()), PeerId("ada#1".into()));
        assert!(registry.insert(&s, &p, handle(1)).is_none());
        assert_eq!(registry.insert(&s, &p, handle(2)).map(|old| old.conn_id), Some(1), "reloaded tab");
        assert!(registry.remove(&s, &p, 1).is_none(), "the old socket's leave is a no-op");
        assert!(registry.is_live(&s, &p));
        assert_eq!(registry.remove(&s, &p, 2).map(|h| h.conn_id), Some(2));
        assert!(lock(&registry.sessions).is_empty(), "no entry left for an empty session");
    }

    #[test]
    fn admission_bounds_peers_and_sessions_but_always_fits_a_reconnect() {
        let registry = Registry::default();
        let room = SessionId("room".into());
        let (ada, bob) = (PeerId("ada#1".into()), PeerId("bob#1".into()));
        assert_eq!(registry.admit(&room, &ada, 1, 1), Ok(()));
        registry.insert(&room, &ada, handle(1));
        assert_eq!(registry.admit(&room, &bob, 1, 1), Err(PeerError::SessionFull));
        assert_eq!(registry.admit(&room, &ada, 1, 1), Ok(()), "a reconnect replaces its own socket");
        let other = SessionId("other".into());
        assert_eq!(registry.admit(&other, &bob, 1, 1), Err(PeerError::ServerFull));
        assert_eq!(registry.admit(&other, &bob, 1, 2), Ok(()));
        assert_eq!(registry.admit(&SessionId("third".into()), &bob, 1, 2), Err(PeerError::ServerFull), "reserved");
        registry.forget_if_empty(&other);
        assert_eq!(registry.counts().sessions, 1, "the failed reservation is gone");
        registry.forget_if_empty(&room);
        assert_eq!(registry.counts().sessions, 1, "a session with a socket stays");
    }

    #[tokio::test]
    async fn gates_are_forgotten_when_released() {
        let registry = Registry::default();
        let s = SessionId("room".into());
        {
            let _gate = registry.gate(&s).await;
            assert_eq!(lock(&registry.gates).len(), 1);
        }
        assert!(lock(&registry.gates).is_empty());
    }

    #[test]
    fn a_grace_is_consumed_only_by_its_own_socket() {
        let registry = Registry::default();
        let (s, p) = (SessionId("room".into()), PeerId("ada#1".into()));
        registry.start_grace(&s, &p, 7);
        assert!(!registry.take_grace(&s, 6));
        registry.start_grace(&s, &p, 8);
        assert!(!registry.take_grace(&s, 7), "a second drop superseded the first timer");
        assert!(registry.take_grace(&s, 8));
        registry.start_grace(&s, &p, 9);
        registry.cancel_grace(&s, &p);
        assert!(!registry.take_grace(&s, 9), "the host came back");
    }
}
