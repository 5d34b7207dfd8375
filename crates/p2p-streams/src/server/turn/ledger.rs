//! The embedded TURN server's books (server side, `ssr`): every live allocation (who, from where, which relay
//! port, bytes relayed), the per-user and global allocation limits, and the TURN metrics. An allocation is
//! entered when its relay socket is bound and leaves when that socket is dropped, so the books follow the real
//! sockets and cannot drift.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Gauge: live TURN allocations on this node.
pub const ALLOCATIONS: &str = "p2p_turn_allocations";
/// Counter, label `direction` (`to_peer`|`to_client`): payload bytes relayed.
pub const RELAYED_BYTES: &str = "p2p_turn_relayed_bytes_total";
/// Counter, label `reason`: TURN requests refused and datagrams dropped by the gate (see [`Refusal`]).
pub const REFUSALS: &str = "p2p_turn_refusals_total";

/// Why the gate refused a request or dropped a datagram (the `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// 401: the credential's expiry has passed (also a captured request replayed after it).
    Expired,
    /// 401: MESSAGE-INTEGRITY does not match the credential (wrong password or forged user name).
    BadCredential,
    /// 401: the user name is not `"{expiry}:{peer}"`.
    MalformedUser,
    /// 401: the REALM is not ours.
    WrongRealm,
    /// 486: the user holds its maximum of allocations.
    UserQuota,
    /// 508: the server holds its maximum of allocations.
    ServerQuota,
    /// 403 (or a dropped Send indication): the peer address is denied.
    PeerDenied,
    /// A datagram that is neither STUN nor ChannelData, or a malformed attribute.
    Malformed,
    /// A relayed datagram over the allocation's bandwidth cap.
    Bandwidth,
}

impl Refusal {
    /// Every reason, for zero-valued series at start-up.
    pub const ALL: [Refusal; 9] = [
        Refusal::Expired,
        Refusal::BadCredential,
        Refusal::MalformedUser,
        Refusal::WrongRealm,
        Refusal::UserQuota,
        Refusal::ServerQuota,
        Refusal::PeerDenied,
        Refusal::Malformed,
        Refusal::Bandwidth,
    ];

    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Expired => "expired",
            Refusal::BadCredential => "bad_credential",
            Refusal::MalformedUser => "malformed_user",
            Refusal::WrongRealm => "wrong_realm",
            Refusal::UserQuota => "user_quota",
            Refusal::ServerQuota => "server_quota",
            Refusal::PeerDenied => "peer_denied",
            Refusal::Malformed => "malformed",
            Refusal::Bandwidth => "bandwidth",
        }
    }
}

/// One live allocation, shared by the ledger and its relay socket.
#[derive(Debug)]
pub(crate) struct Allocation {
    /// The peer part of the TURN user name.
    pub(crate) user: String,
    /// The client's transport address (as the server sees it, after its NAT).
    pub(crate) client: SocketAddr,
    /// The relayed transport address handed to the client.
    pub(crate) relay: SocketAddr,
    /// When it was created.
    created: Instant,
    /// Creation time for display (Unix seconds).
    created_unix: u64,
    /// Payload bytes sent from the client to peers.
    pub(crate) to_peer: AtomicU64,
    /// Payload bytes received from peers for the client.
    pub(crate) to_client: AtomicU64,
}

/// A snapshot of one allocation, for `/admin`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AllocationView {
    /// The peer the credential was minted for.
    pub user: String,
    /// The client's address as the server sees it.
    pub client: String,
    /// The relayed address.
    pub relay: String,
    /// Seconds since it was created.
    pub age_secs: u64,
    /// Created at (Unix seconds).
    pub created_unix: u64,
    /// Payload bytes relayed from the client to its peers.
    pub bytes_to_peer: u64,
    /// Payload bytes relayed from peers to the client.
    pub bytes_to_client: u64,
}

/// Live allocations and their limits.
#[derive(Debug)]
pub(crate) struct Ledger {
    /// Most allocations one user may hold (486 past it).
    max_per_user: usize,
    /// Most allocations the server holds (508 past it).
    max_total: usize,
    /// The books.
    state: Mutex<Books>,
}

#[derive(Debug, Default)]
struct Books {
    /// Live allocations by relay address.
    by_relay: HashMap<SocketAddr, Arc<Allocation>>,
    /// Allocations per user.
    per_user: HashMap<String, usize>,
    /// Relay ports in use (relay addresses share the advertised IP).
    ports: HashSet<u16>,
}

impl Ledger {
    /// Empty books with these limits.
    pub(crate) fn new(max_per_user: usize, max_total: usize) -> Self {
        ::metrics::gauge!(ALLOCATIONS).set(0.0);
        for reason in Refusal::ALL {
            ::metrics::counter!(REFUSALS, "reason" => reason.as_str()).increment(0);
        }
        for direction in ["to_peer", "to_client"] {
            ::metrics::counter!(RELAYED_BYTES, "direction" => direction).increment(0);
        }
        Ledger { max_per_user, max_total, state: Mutex::default() }
    }

    fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `user` may open one more allocation.
    pub(crate) fn admit(&self, user: &str) -> Result<(), Refusal> {
        let books = self.books();
        if books.by_relay.len() >= self.max_total {
            return Err(Refusal::ServerQuota);
        }
        if books.per_user.get(user).copied().unwrap_or(0) >= self.max_per_user {
            return Err(Refusal::UserQuota);
        }
        Ok(())
    }

    /// Enters a new allocation; it leaves the books when the returned entry is dropped.
    pub(crate) fn enter(self: &Arc<Self>, user: String, client: SocketAddr, relay: SocketAddr) -> LedgerEntry {
        let created_unix = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let allocation = Arc::new(Allocation {
            user,
            client,
            relay,
            created: Instant::now(),
            created_unix,
            to_peer: AtomicU64::new(0),
            to_client: AtomicU64::new(0),
        });
        let mut books = self.books();
        *books.per_user.entry(allocation.user.clone()).or_default() += 1;
        books.ports.insert(relay.port());
        books.by_relay.insert(relay, Arc::clone(&allocation));
        ::metrics::gauge!(ALLOCATIONS).set(books.by_relay.len() as f64);
        tracing::info!(user = %allocation.user, client = %client, relay = %relay, "turn allocation opened");
        // Handles looked up once, not on every relayed datagram.
        let to_peer = ::metrics::counter!(RELAYED_BYTES, "direction" => "to_peer");
        let to_client = ::metrics::counter!(RELAYED_BYTES, "direction" => "to_client");
        LedgerEntry { ledger: Arc::clone(self), allocation, to_peer, to_client }
    }

    /// Whether `port` is a live relay port (peers may reach our own address there).
    pub(crate) fn is_relay_port(&self, port: u16) -> bool {
        self.books().ports.contains(&port)
    }

    /// Number of live allocations.
    pub(crate) fn len(&self) -> usize {
        self.books().by_relay.len()
    }

    /// Every live allocation, oldest first.
    pub(crate) fn views(&self) -> Vec<AllocationView> {
        let mut views: Vec<(Instant, AllocationView)> = self
            .books()
            .by_relay
            .values()
            .map(|a| {
                let view = AllocationView {
                    user: a.user.clone(),
                    client: a.client.to_string(),
                    relay: a.relay.to_string(),
                    age_secs: a.created.elapsed().as_secs(),
                    created_unix: a.created_unix,
                    bytes_to_peer: a.to_peer.load(Ordering::Relaxed),
                    bytes_to_client: a.to_client.load(Ordering::Relaxed),
                };
                (a.created, view)
            })
            .collect();
        views.sort_by_key(|(created, _)| *created);
        views.into_iter().map(|(_, v)| v).collect()
    }

    fn leave(&self, allocation: &Allocation) {
        let mut books = self.books();
        if books.by_relay.remove(&allocation.relay).is_none() {
            return;
        }
        books.ports.remove(&allocation.relay.port());
        if let Some(count) = books.per_user.get_mut(&allocation.user) {
            *count -= 1;
            if *count == 0 {
                books.per_user.remove(&allocation.user);
            }
        }
        ::metrics::gauge!(ALLOCATIONS).set(books.by_relay.len() as f64);
        let (to_peer, to_client) =
            (allocation.to_peer.load(Ordering::Relaxed), allocation.to_client.load(Ordering::Relaxed));
        tracing::info!(user = %allocation.user, relay = %allocation.relay, to_peer, to_client, "turn allocation closed");
    }
}

/// Counts a refused request or dropped datagram.
pub(crate) fn refused(reason: Refusal) {
    ::metrics::counter!(REFUSALS, "reason" => reason.as_str()).increment(1);
}

/// An allocation's place in the books, held by its relay socket.
#[derive(Debug)]
pub(crate) struct LedgerEntry {
    ledger: Arc<Ledger>,
    /// The allocation.
    pub(crate) allocation: Arc<Allocation>,
    /// `RELAYED_BYTES` by direction.
    to_peer: ::metrics::Counter,
    to_client: ::metrics::Counter,
}

impl LedgerEntry {
    /// Counts `bytes` relayed from the client to a peer.
    pub(crate) fn sent_to_peer(&self, bytes: usize) {
        self.allocation.to_peer.fetch_add(bytes as u64, Ordering::Relaxed);
        self.to_peer.increment(bytes as u64);
    }

    /// Counts `bytes` relayed from a peer to the client.
    pub(crate) fn sent_to_client(&self, bytes: usize) {
        self.allocation.to_client.fetch_add(bytes as u64, Ordering::Relaxed);
        self.to_client.increment(bytes as u64);
    }
}

impl Drop for LedgerEntry {
    fn drop(&mut self) {
        self.ledger.leave(&self.allocation);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([203, 0, 113, 10], port))
    }

    #[test]
    fn limits_count_live_allocations_per_user_and_in_total() {
        let ledger = Arc::new(Ledger::new(2, 3));
        let a1 = ledger.enter("ada".into(), addr(1), addr(50001));
        let _a2 = ledger.enter("ada".into(), addr(2), addr(50002));
        assert_eq!(ledger.admit("ada"), Err(Refusal::UserQuota));
        assert_eq!(ledger.admit("bob"), Ok(()));
        let _b1 = ledger.enter("bob".into(), addr(3), addr(50003));
        assert_eq!(ledger.admit("bob"), Err(Refusal::ServerQuota));
        assert!(ledger.is_relay_port(50001));
        drop(a1);
        assert!(!ledger.is_relay_port(50001));
        assert_eq!(ledger.admit("ada"), Ok(()));
        assert_eq!(ledger.len(), 2);
        let views = ledger.views();
        assert_eq!(views.iter().map(|v| v.user.as_str()).collect::<Vec<_>>(), ["ada", "bob"]);
    }
}
