//! Where host records live (server side, `ssr`): the [`SessionStore`] trait and its value types.
//!
//! A host record says "peer P is the host of session S until T". Every election step is one atomic store call
//! (claim, compare-and-swap, conditional refresh or release), so two nodes sharing a store can never both crown
//! a host, and a record whose node died simply expires. The node-local socket registry lives elsewhere
//! (`registry.rs`); with several nodes, these records plus the peer directory and node liveness of `cluster/`
//! are all the state they share.
//!
//! [`MemoryStore`] is the single-node default; [`RedisStore`] shares the records between nodes (docs/scaling.md).

mod memory;
pub(crate) mod redis;

pub use memory::MemoryStore;
pub use redis::RedisStore;

use crate::protocol::{PeerId, PeerStatus, SessionId};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Outcome of [`SessionStore::claim_host`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostClaim {
    /// The claimant is the host now (it was vacant, expired, or already the claimant's).
    Won,
    /// Another peer holds an unexpired record.
    Taken(PeerId),
}

/// One live session, as the lobby lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSummary {
    /// The session.
    pub session_id: SessionId,
    /// Its current host.
    pub host: PeerId,
    /// Peers in the host's star, the host included: the last [`SessionStore::set_roster`] value, at least 1.
    pub peers: u32,
    /// Every peer's link state as the host last reported it, host first (empty until the host reports one).
    /// Reported by the host's browser: shown to operators, never used for a decision.
    #[serde(default)]
    pub states: Vec<PeerStatus>,
}

/// Most peer states kept per session; a host reporting more is truncated (the frame size limit already bounds
/// a roster, this bounds what the admin inspector renders).
pub const MAX_ROSTER_STATES: usize = 512;

/// The store could not answer: our failure, never a peer's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend is unreachable or refused the command.
    #[error("session store unavailable: {0}")]
    Unavailable(String),
    /// The backend answered with a record we cannot decode.
    #[error("session store returned an invalid record: {0}")]
    Invalid(String),
}

/// Host records of every session, shared by all signaling nodes that use the same backend.
///
/// Contract common to every method: a record whose TTL has passed does not exist (it is never returned, never
/// matches an `expected` or `p`, and may be purged at any time). All methods are atomic with respect to each
/// other for one session.
#[async_trait::async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Makes `p` the host of `s` unless another peer holds an unexpired record.
    ///
    /// - no record, or an expired one: a new record for `p` with `ttl` and a roster of 1 -> [`HostClaim::Won`];
    /// - a record for `p` itself: its TTL is extended to `ttl`, roster kept -> [`HostClaim::Won`];
    /// - a record for another peer `h`: unchanged -> [`HostClaim::Taken`]`(h)`.
    async fn claim_host(&self, s: &SessionId, p: &PeerId, ttl: Duration) -> Result<HostClaim, StoreError>;

    /// Compare-and-swap: only if `expected` holds an unexpired record of `s`, gives it to `new` with `ttl` and a
    /// roster of 1, and returns `true`. Otherwise changes nothing and returns `false`.
    async fn replace_host(
        &self,
        s: &SessionId,
        expected: &PeerId,
        new: &PeerId,
        ttl: Duration,
    ) -> Result<bool, StoreError>;

    /// Only if `p` holds an unexpired record of `s`, sets its TTL to `ttl` from now (longer or shorter) and
    /// returns `true`; otherwise `false`.
    async fn refresh_host(&self, s: &SessionId, p: &PeerId, ttl: Duration) -> Result<bool, StoreError>;

    /// Only if `p` holds an unexpired record of `s`, deletes it and returns `true`; otherwise `false`.
    async fn release_host(&self, s: &SessionId, p: &PeerId) -> Result<bool, StoreError>;

    /// The host of `s`, or `None` when there is no unexpired record.
    async fn current_host(&self, s: &SessionId) -> Result<Option<PeerId>, StoreError>;

    /// Records the roster the host reported: its size and every peer's link state (at most
    /// [`MAX_ROSTER_STATES`]). Does nothing without an unexpired record, and never changes the record's TTL
    /// (TTLs survive updates). A new host's record starts with a roster of 1 and no states.
    async fn set_roster(&self, s: &SessionId, peers: u32, states: Vec<PeerStatus>) -> Result<(), StoreError>;

    /// Every session with an unexpired host record, ordered by session id.
    async fn sessions(&self) -> Result<Vec<SessionSummary>, StoreError>;
}
