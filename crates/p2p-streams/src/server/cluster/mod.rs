//! Several signaling nodes sharing one Redis (server side, `ssr`): the peer directory, node liveness and the
//! signaling bus. A single node never builds any of this (`Inner::cluster` is `None`).
//!
//! Keys and channels, all under the configured prefix (`p2p` by default); docs/scaling.md has the full table:
//! - `{prefix}:peer:{len(session)}:{session}:{peer}` -> `"{node}/{conn}"`: where a joined socket lives, set at
//!   join, re-set on every ping tick of that socket with TTL `peer_ttl`, deleted (compare-and-delete) on leave;
//! - `{prefix}:node:{node}` -> `1`: the node is alive, re-set every `node_ttl / 3`, deleted on shutdown; a
//!   node whose key stays away for `node_ttl` is dead (see [`Cluster::node_alive`]);
//! - `{prefix}:epoch`: a random id set once; a new one means Redis restarted empty, and every node re-records
//!   its sockets and hosts at once;
//! - channel `{prefix}:bus:node:{node}`: frames for sockets on that node ([`bus::BusMessage::Deliver`]);
//! - channel `{prefix}:bus:all`: election news every node hears (`HostElected`, `Vacant`).
//!
//! Delivery to a socket on the same node never touches Redis. Pub/sub is at-most-once: a message published
//! while a node's subscription is down is lost, which the protocol tolerates (a client without an offer
//! reconnects; a host re-announces itself when it rejoins).

pub(crate) mod bus;
mod heartbeat;

use super::store::redis::unavailable;
use super::store::{RedisStore, StoreError};
use super::Inner;
use crate::protocol::{PeerId, SessionId};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;
use tokio::time::Instant;

/// Settings of a multi-node deployment.
#[derive(Clone, Debug)]
pub struct RedisOptions {
    /// Prefix of every key and channel, so several deployments can share one Redis. Default `p2p`.
    pub prefix: String,
    /// A node whose liveness key is this old is dead: its peers can be taken over. Default 6 s; the key is
    /// refreshed every third of it.
    pub node_ttl: Duration,
    /// TTL of a socket's directory entry, refreshed on each of its ping ticks. Default 30 s; keep it above
    /// the signaling ping interval.
    pub peer_ttl: Duration,
    /// Give up on one Redis command (or connection attempt) after this long. Default 1 s.
    pub command_timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            prefix: "p2p".into(),
            node_ttl: Duration::from_secs(6),
            peer_ttl: Duration::from_secs(30),
            command_timeout: Duration::from_secs(1),
        }
    }
}

/// A connection to the Redis that several nodes share: hand it to
/// [`SignalingServer::clustered`](super::SignalingServer::clustered).
#[derive(Clone)]
pub struct RedisBackend {
    /// For the pub/sub connection, which is separate from the command connection.
    client: redis::Client,
    /// Reconnecting multiplexed command connection.
    conn: ConnectionManager,
    /// Settings.
    options: RedisOptions,
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend").field("options", &self.options).finish_non_exhaustive()
    }
}

impl RedisBackend {
    /// Connects to `url` (`redis://host:port/db`). Fails when Redis is unreachable now; later outages are
    /// survived (commands fail fast with [`StoreError::Unavailable`] and the connection comes back by itself).
    pub async fn connect(url: &str, options: RedisOptions) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.command_timeout))
            .set_response_timeout(Some(options.command_timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = client.get_connection_manager_with_config(config).await.map_err(unavailable)?;
        Ok(RedisBackend { client, conn, options })
    }

    /// The [`SessionStore`](super::SessionStore) of this backend.
    pub fn store(&self) -> RedisStore {
        RedisStore::new(self.conn.clone(), self.options.prefix.clone())
    }
}

/// Where a joined socket lives: its node and connection id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Location {
    /// The node's id.
    pub node: String,
    /// The socket's connection id on that node.
    pub conn: u64,
}

impl Location {
    /// `"{node}/{conn}"`, as stored.
    fn encode(&self) -> String {
        format!("{}/{}", self.node, self.conn)
    }

    /// The inverse of [`Location::encode`].
    fn decode(text: &str) -> Option<Self> {
        let (node, conn) = text.rsplit_once('/')?;
        Some(Location { node: node.to_owned(), conn: conn.parse().ok()? })
    }
}

/// This node's view of the cluster: its id, the directory and the bus.
pub(crate) struct Cluster {
    /// Random id of this node (per process).
    pub node: String,
    /// Connection and settings.
    backend: RedisBackend,
    /// Nodes whose liveness key was found missing, and since when (see [`Cluster::node_alive`]).
    missing: Mutex<HashMap<String, Instant>>,
    /// Sessions with waiting sockets here whose host record was found missing, and since when
    /// (see [`Cluster::vacant_long_enough`]).
    vacant: Mutex<HashMap<SessionId, Instant>>,
}

/// Deletes a directory entry only if it still points at the given socket (a newer socket may own it).
static UNREGISTER: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0",
    )
});

/// Returns the data set's epoch, creating it if this Redis has none.
static EPOCH: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"local e = redis.call('GET', KEYS[1])
        if e then return e end
        redis.call('SET', KEYS[1], ARGV[1])
        return ARGV[1]",
    )
});

impl Cluster {
    /// A cluster view for a new node on `backend`.
    pub fn new(backend: RedisBackend) -> Self {
        let node = format!("{:016x}", rand::random::<u64>());
        Cluster { node, backend, missing: Mutex::default(), vacant: Mutex::default() }
    }

    /// Starts the bus subscriber and the heartbeat/sweep task; both stop with the server.
    pub fn start(inner: &Arc<Inner>) {
        let weak: Weak<Inner> = Arc::downgrade(inner);
        tokio::spawn(bus::run(weak.clone()));
        tokio::spawn(heartbeat::run(weak));
    }

    /// Settings.
    pub fn options(&self) -> &RedisOptions {
        &self.backend.options
    }

    /// A command connection (a cheap clone of the shared one).
    fn conn(&self) -> ConnectionManager {
        self.backend.conn.clone()
    }

    /// Key prefix.
    fn prefix(&self) -> &str {
        &self.backend.options.prefix
    }

    /// The directory key of `peer` in `session` (length-prefixed: session ids may contain `:`).
    fn peer_key(&self, session: &SessionId, peer: &PeerId) -> String {
        format!("{}:peer:{}:{}:{}", self.prefix(), session.0.len(), session.0, peer.0)
    }

    /// The liveness key of `node`.
    fn node_key(&self, node: &str) -> String {
        format!("{}:node:{node}", self.prefix())
    }

    /// The channel of `node`.
    pub fn node_channel(&self, node: &str) -> String {
        format!("{}:bus:node:{node}", self.prefix())
    }

    /// The channel every node hears.
    pub fn all_channel(&self) -> String {
        format!("{}:bus:all", self.prefix())
    }

    /// This node's location for socket `conn`.
    pub fn here(&self, conn: u64) -> Location {
        Location { node: self.node.clone(), conn }
    }

    /// Records (or re-records, after a Redis restart) that `peer`'s socket `conn` lives on this node.
    pub async fn register(&self, session: &SessionId, peer: &PeerId, conn: u64) -> Result<(), StoreError> {
        let ttl = u64::try_from(self.options().peer_ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        redis::cmd("SET")
            .arg(self.peer_key(session, peer))
            .arg(self.here(conn).encode())
            .arg("PX")
            .arg(ttl)
            .query_async::<()>(&mut self.conn())
            .await
            .map_err(unavailable)
    }

    /// Forgets `peer`'s socket `conn` unless a newer socket of the peer registered since.
    pub async fn unregister(&self, session: &SessionId, peer: &PeerId, conn: u64) -> Result<(), StoreError> {
        let mut invocation = UNREGISTER.key(self.peer_key(session, peer));
        invocation.arg(self.here(conn).encode());
        invocation.invoke_async::<i64>(&mut self.conn()).await.map(drop).map_err(unavailable)
    }

    /// Where `peer`'s socket in `session` lives, if it is joined anywhere.
    pub async fn locate(&self, session: &SessionId, peer: &PeerId) -> Result<Option<Location>, StoreError> {
        let found: Option<String> = redis::cmd("GET")
            .arg(self.peer_key(session, peer))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(found.as_deref().and_then(Location::decode))
    }

    /// Whether `node` is alive: its liveness key exists, or has been missing for less than `node_ttl` as seen
    /// from here. A key that just vanished may be a Redis restart (the node sets it again within a third of the
    /// TTL), so a node is declared dead only after its key stayed away for a whole `node_ttl`: a crashed node
    /// is noticed between `node_ttl` and `2 * node_ttl` after its last beat.
    pub async fn node_alive(&self, node: &str) -> Result<bool, StoreError> {
        let exists: bool =
            redis::cmd("EXISTS").arg(self.node_key(node)).query_async(&mut self.conn()).await.map_err(unavailable)?;
        let ttl = self.options().node_ttl;
        let now = Instant::now();
        let mut missing = self.missing.lock().unwrap_or_else(PoisonError::into_inner);
        missing.retain(|_, since| now.duration_since(*since) < ttl * 4);
        if exists {
            missing.remove(node);
            return Ok(true);
        }
        let since = *missing.entry(node.to_owned()).or_insert(now);
        Ok(now.duration_since(since) < ttl)
    }

    /// Whether `session`'s host record, now missing, has been missing for `node_ttl` as seen from here; `None`
    /// forgets it (the record is back). Right after Redis lost its data every record is missing until each
    /// host's node re-claims it (within `node_ttl / 3`, see `heartbeat.rs`): waiting that long keeps a sweep
    /// from electing a second host in that window.
    pub fn vacant_long_enough(&self, session: &SessionId, missing: bool) -> bool {
        let mut vacant = self.vacant.lock().unwrap_or_else(PoisonError::into_inner);
        if !missing {
            vacant.remove(session);
            return false;
        }
        let now = Instant::now();
        let since = *vacant.entry(session.clone()).or_insert(now);
        let ttl = self.options().node_ttl;
        vacant.retain(|_, since| now.duration_since(*since) < ttl * 4);
        now.duration_since(since) >= ttl
    }

    /// The id of Redis's current data set: created once, so a Redis that restarted empty has a new one.
    async fn epoch(&self) -> Result<String, StoreError> {
        let mut invocation = EPOCH.key(format!("{}:epoch", self.prefix()));
        invocation.arg(format!("{:016x}", rand::random::<u64>()));
        invocation.invoke_async(&mut self.conn()).await.map_err(unavailable)
    }

    /// Publishes `message` on `channel`.
    pub async fn publish(&self, channel: String, message: &bus::BusMessage) -> Result<(), StoreError> {
        let payload = serde_json::to_string(message).map_err(|e| StoreError::Invalid(e.to_string()))?;
        redis::cmd("PUBLISH")
            .arg(channel)
            .arg(payload)
            .query_async::<i64>(&mut self.conn())
            .await
            .map(drop)
            .map_err(unavailable)
    }

    /// Marks this node alive for `node_ttl`.
    async fn beat(&self) -> Result<(), StoreError> {
        let ttl = u64::try_from(self.options().node_ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        redis::cmd("SET")
            .arg(self.node_key(&self.node))
            .arg(1)
            .arg("PX")
            .arg(ttl)
            .query_async::<()>(&mut self.conn())
            .await
            .map_err(unavailable)
    }

    /// Marks this node dead at once (graceful shutdown).
    async fn forget_node(&self) -> Result<(), StoreError> {
        redis::cmd("DEL")
            .arg(self.node_key(&self.node))
            .query_async::<i64>(&mut self.conn())
            .await
            .map(drop)
            .map_err(unavailable)
    }

    /// A pub/sub connection (a new one per call: the subscriber reconnects with it).
    async fn pubsub(&self) -> Result<redis::aio::PubSub, StoreError> {
        self.backend.client.get_async_pubsub().await.map_err(unavailable)
    }
}
