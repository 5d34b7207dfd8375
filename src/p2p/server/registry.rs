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

use super::error::CLOSE_TOO_SLOW;
use crate::p2p::protocol::{PeerId, Role, ServerToClient, SessionId};
use axum::extract::ws::Message;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch, OwnedMutexGuard};

/// Why the server wants a socket closed, sent to its connection task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CloseRequest {
    /// WebSocket close code.
    pub code: u16,
    /// Short reason for the close frame.
    pub reason: &'static str,
}

/// How to reach one joined socket, and what it was last told.
#[derive(Clone, Debug)]
pub(crate) struct ConnHandle {
    /// Unique per socket on this node; a reloaded tab's new socket has a new one.
    pub conn_id: u64,
    /// Join order within the node (the earliest-joined waiting socket is promoted first).
    pub joined: u64,
    /// Outbound queue, drained by the socket's writer task.
    pub tx: mpsc::Sender<Message>,
    /// Asks the socket's task to close with a code.
    pub closer: watch::Sender<Option<CloseRequest>>,
    /// Role last announced to the socket.
    pub role: Role,
    /// Host last announced to the socket.
    pub host: PeerId,
    /// The remote host socket (`host@node/conn`) this socket was last introduced to with `PeerJoined`, so
    /// the bus and the sweep never introduce it twice to the same host socket.
    pub introduced: Option<String>,
}

impl ConnHandle {
    /// Queues `frame` (serialized once). A full queue closes the socket as too slow; a closed one means the
    /// socket is ending and the frame is moot. Returns whether the frame was queued.
    pub fn send(&self, frame: &ServerToClient) -> bool {
        match serde_json::to_string(frame) {
            Ok(text) => self.send_raw(Message::Text(text.into())),
            Err(err) => {
                tracing::error!(conn = self.conn_id, %err, "cannot serialize a server frame");
                false
            }
        }
    }

    /// Queues an already-built WebSocket message (see [`ConnHandle::send`]).
    pub fn send_raw(&self, message: Message) -> bool {
        match self.tx.try_send(message) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                tracing::warn!(conn = self.conn_id, "outbound queue full, closing a slow socket");
                self.close(CloseRequest { code: CLOSE_TOO_SLOW, reason: "too slow" });
                false
            }
            Err(TrySendError::Closed(_)) => false,
        }
    }

    /// Asks the socket's task to close; the first request wins.
    pub fn close(&self, request: CloseRequest) {
        self.closer.send_if_modified(|current| {
            let first = current.is_none();
            if first {
                *current = Some(request);
            }
            first
        });
    }
}

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

/// Sockets of one session on this node.
type Members = HashMap<PeerId, ConnHandle>;

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
        members.iter().find(|(_, h)| h.role == Role::Host).map(|(p, h)| (p.clone(), h.clone()))
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
                h.introduced = Some(key.to_owned());
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
        let (tx, _) = mpsc::channel(1);
        let (closer, _) = watch::channel(None);
        let host = PeerId("h#1".into());
        ConnHandle { conn_id, joined: conn_id, tx, closer, role: Role::Client, host, introduced: None }
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
