//! The signaling server (server side, `ssr`): a WebSocket route where the peers of a session find their host
//! and exchange WebRTC offers, answers and candidates. Media and chat never pass through it.
//!
//! Layout, one concern per file:
//! - [`SignalingServer`] (here): shared state, the router, the lobby query, shutdown;
//! - `upgrade.rs`: the `GET /p2p/ws` handler, token and tab checks before the upgrade, the socket's task;
//! - `handshake.rs`: the WebSocket opening handshake; `wire.rs`: WebSocket framing on the upgraded connection;
//! - `connection.rs`: one socket's task (the loop: frames in, queued frames out, pings, timeouts), and
//!   `connection/dispatch.rs`: what each received frame does;
//! - `route.rs`: the signal fast path (shape check, payload forwarded unparsed, frame built once);
//! - `election.rs`: join, leave, host election and the host's grace period;
//! - `registry.rs`: the node-local map of joined sockets (`members.rs`: one session's); `handle.rs`: how to
//!   reach one of them (its outbound queue and close requests);
//! - `store/`: host records behind the [`SessionStore`] trait ([`MemoryStore`] by default, [`RedisStore`]);
//! - `cluster/`: several nodes on one Redis ([`SignalingServer::clustered`]): peer directory, node liveness,
//!   the signaling bus and the election sweep (docs/scaling.md);
//! - `config.rs`, `error.rs`: limits and timings; peer errors vs our failures;
//! - `limits.rs`: the per-socket rate limit, the per-address connection count, the `Origin` check;
//! - `metrics.rs`: Prometheus metrics and the ops routes (`/healthz`, `/metrics`);
//! - `turn/`: NAT traversal: TURN REST API credentials and the embedded STUN/TURN server;
//! - `serve.rs`: the HTTP accept loop with a header-read timeout, client addresses and graceful shutdown.
//!
//! Every socket task runs in a `signaling` tracing span with `session`, `peer` and `conn`; tokens and SDP are
//! never logged.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use p2p_streams::server::{MemoryStore, SignalingConfig, SignalingServer};
//! use p2p_streams::token::TokenSigner;
//! use std::sync::Arc;
//!
//! let signaling = SignalingServer::new(TokenSigner::random(), Arc::new(MemoryStore::new()), SignalingConfig::default());
//! let app: axum::Router = axum::Router::new().merge(signaling.router());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! // The client's address feeds the per-address connection limit.
//! axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await
//! # }
//! ```

mod cluster;
mod config;
mod connection;
mod election;
#[cfg(test)]
mod election_props;
mod epoch;
mod error;
mod handle;
mod handshake;
mod limits;
mod members;
pub mod metrics;
mod p2p;
mod registry;
mod route;
mod serve;
mod store;
pub mod turn;
mod upgrade;
mod wire;

pub use cluster::{RedisBackend, RedisOptions};
pub use config::SignalingConfig;
pub use error::{PeerError, Reaction, ServerError};
pub use limits::client_ip;
pub use metrics::{install_metrics, MetricsError};
pub use p2p::{P2pServer, P2pServerBuilder, TicketError};
pub use serve::serve;
pub use store::{HostClaim, MemoryStore, RedisStore, SessionStore, SessionSummary, StoreError, MAX_ROSTER_STATES};

use crate::protocol::SIGNALING_PATH;
use crate::token::TokenSigner;
use limits::IpConnections;
use registry::Registry;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::watch;

/// The signaling server: cheap to clone, every clone shares the same sockets and store.
#[derive(Clone)]
pub struct SignalingServer {
    /// Shared state.
    inner: Arc<Inner>,
}

/// State shared by the route, every socket task and every grace timer.
pub(crate) struct Inner {
    /// Verifies join tokens.
    pub(crate) signer: TokenSigner,
    /// Host records (shared across nodes when the backend is).
    pub(crate) store: Arc<dyn SessionStore>,
    /// Timings and limits.
    pub(crate) config: SignalingConfig,
    /// Joined sockets on this node.
    pub(crate) registry: Registry,
    /// The other nodes sharing the store (`None`: this node is alone).
    pub(crate) cluster: Option<cluster::Cluster>,
    /// `true` once [`SignalingServer::shutdown`] ran; every socket task watches it.
    pub(crate) shutdown: watch::Sender<bool>,
    /// Open signaling sockets per client address (`max_connections_per_ip`).
    pub(crate) ip_connections: Arc<IpConnections>,
    /// Whether the "client address unknown" warning was logged (once per server).
    pub(crate) warned_no_peer_addr: AtomicBool,
    /// Open signaling sockets on this node.
    open: AtomicUsize,
    /// Source of connection ids.
    next_conn: AtomicU64,
}

impl Inner {
    /// A fresh connection id.
    pub(crate) fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Counts a socket as open until the guard drops.
    pub(crate) fn open_guard(&self) -> OpenGuard<'_> {
        self.open.fetch_add(1, Ordering::Relaxed);
        OpenGuard(&self.open)
    }
}

/// Decrements the open-socket count on drop (also when the socket task panics).
pub(crate) struct OpenGuard<'a>(&'a AtomicUsize);

impl Drop for OpenGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for SignalingServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalingServer")
            .field("config", &self.inner.config)
            .field("open_connections", &self.open_connections())
            .finish_non_exhaustive()
    }
}

impl SignalingServer {
    /// A server verifying tokens with `signer` and keeping host records in `store`. Zero values in `config`
    /// that would make no sense (ping interval, queue size) are raised to their minimum.
    pub fn new(signer: TokenSigner, store: Arc<dyn SessionStore>, config: SignalingConfig) -> Self {
        Self::build(signer, store, None, config)
    }

    /// A node of a multi-node deployment: host records in `backend`'s [`RedisStore`], peers on other nodes
    /// reached over its pub/sub bus. Starts the node's bus subscriber and heartbeat, so it must be called
    /// inside a tokio runtime.
    pub fn clustered(signer: TokenSigner, backend: RedisBackend, config: SignalingConfig) -> Self {
        let store: Arc<dyn SessionStore> = Arc::new(backend.store());
        let server = Self::build(signer, store, Some(cluster::Cluster::new(backend)), config);
        cluster::Cluster::start(&server.inner);
        server
    }

    /// The shared constructor.
    fn build(
        signer: TokenSigner,
        store: Arc<dyn SessionStore>,
        cluster: Option<cluster::Cluster>,
        config: SignalingConfig,
    ) -> Self {
        let (shutdown, _) = watch::channel(false);
        let inner = Inner {
            signer,
            store,
            config: config.normalized(),
            registry: Registry::default(),
            cluster,
            shutdown,
            ip_connections: Arc::default(),
            warned_no_peer_addr: AtomicBool::new(false),
            open: AtomicUsize::new(0),
            next_conn: AtomicU64::new(1),
        };
        SignalingServer { inner: Arc::new(inner) }
    }

    /// This node's id in a multi-node deployment (`None` for a single node).
    pub fn node_id(&self) -> Option<&str> {
        self.inner.cluster.as_ref().map(|c| c.node.as_str())
    }

    /// The token signer (`P2pServer` signs join tokens with it).
    pub(crate) fn signer(&self) -> &TokenSigner {
        &self.inner.signer
    }

    /// The configuration in force.
    pub fn config(&self) -> &SignalingConfig {
        &self.inner.config
    }

    /// `GET /p2p/ws` ([`SIGNALING_PATH`]) with this server as its state, mergeable into any `Router<S>`.
    ///
    /// Serve the app with `into_make_service_with_connect_info::<SocketAddr>()` so the route knows each
    /// client's address; without it (and without [`SignalingConfig::client_ip_header`]) the per-address
    /// connection limit cannot be enforced and a warning is logged once.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> axum::Router<S> {
        axum::Router::new().route(SIGNALING_PATH, axum::routing::get(upgrade::ws_handler)).with_state(self.clone())
    }

    /// Live sessions with their host, peer count (the host's last roster, at least 1) and peer states, for the
    /// lobby and the admin inspector.
    pub async fn live_sessions(&self) -> Result<Vec<SessionSummary>, StoreError> {
        self.inner.store.sessions().await
    }

    /// Number of open signaling sockets on this node.
    pub fn open_connections(&self) -> usize {
        self.inner.open.load(Ordering::Relaxed)
    }

    /// Closes every socket with `close_code::RECONNECT` and refuses new upgrades with 503 (graceful shutdown).
    /// Hosts keep their records for `host_grace`, so they can reclaim their role on another node.
    pub fn shutdown(&self) {
        tracing::info!(open = self.open_connections(), "signaling server shutting down");
        self.inner.shutdown.send_replace(true);
    }

    /// After [`SignalingServer::shutdown`]: waits until every socket task has finished (sent its close frame
    /// and left the store), at most `limit`.
    pub async fn drained(&self, limit: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.open_connections() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}
