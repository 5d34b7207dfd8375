//! NAT traversal on the server side (`ssr`): time-limited TURN credentials minted with every join ticket
//! ([`TurnCredentials`], the TURN REST API scheme coturn implements), and an embedded STUN/TURN server
//! ([`EmbeddedTurn`]) so one binary serves signaling, STUN and TURN.
//!
//! The embedded server is webrtc-rs's `turn` crate (docs/nat-traversal.md says why) behind our own gate:
//! - `gate.rs`: the listening socket; credentials, limits and the peer policy checked before the crate sees a
//!   datagram; `packet.rs`: the STUN parsing and error responses the gate needs;
//! - `relay.rs`: relay sockets in the configured port range, with byte counts and a bandwidth cap;
//! - `policy.rs`: which peer addresses may be relayed to; `ledger.rs`: live allocations, limits, metrics.

mod credentials;
mod gate;
mod ledger;
mod packet;
mod policy;
mod relay;

pub use credentials::{long_term_key, parse_username, CredentialError, TurnCredentials, TurnUser};
pub use ledger::{AllocationView, Refusal, ALLOCATIONS, REFUSALS, RELAYED_BYTES};
pub use policy::{parse_ranges, Denial, PeerPolicy};

use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

/// Settings of the embedded STUN/TURN server. Every field has a documented default ([`TurnConfig::new`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnConfig {
    /// UDP address to listen on (`P2P_TURN_LISTEN`), e.g. `0.0.0.0:3478`.
    pub listen: SocketAddr,
    /// The address clients reach the server and its relays at (`P2P_TURN_EXTERNAL_IP`); default: the listen
    /// IP when it is a specific address.
    pub external_ip: IpAddr,
    /// The realm of the long-term credentials. Default `p2p-streams`.
    pub realm: String,
    /// UDP ports of relay sockets (open them in the firewall). Default 49152-65535.
    pub relay_ports: RangeInclusive<u16>,
    /// Peer ranges relayed to despite the default denial (`P2P_TURN_ALLOW_PEERS`). Default none.
    pub allow_peers: Vec<IpNet>,
    /// Allocations the server holds at once; one more gets 508. Default 1,000.
    pub max_allocations: usize,
    /// Allocations one user (the peer of the credential) may hold; one more gets 486. Default 10 (a browser
    /// allocates per link and per candidate).
    pub max_allocations_per_user: usize,
    /// Longest lifetime granted per Allocate or Refresh (clients refresh before it ends). Default 600 s.
    pub max_lifetime: Duration,
    /// Bytes per second one allocation may relay, both directions together; 0 is unlimited. Default
    /// 2,000,000 (16 Mbit/s: data channels and a few video streams).
    pub bandwidth_bytes_per_sec: u64,
}

impl TurnConfig {
    /// The defaults for a server listening on `listen` and advertising `external_ip`.
    pub fn new(listen: SocketAddr, external_ip: IpAddr) -> Self {
        TurnConfig {
            listen,
            external_ip,
            realm: "p2p-streams".into(),
            relay_ports: 49152..=65535,
            allow_peers: Vec::new(),
            max_allocations: 1_000,
            max_allocations_per_user: 10,
            max_lifetime: Duration::from_secs(600),
            bandwidth_bytes_per_sec: 2_000_000,
        }
    }
}

/// Why the embedded server could not start.
#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    /// The listen address could not be bound.
    #[error("cannot listen for STUN/TURN on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The `turn` crate refused the configuration.
    #[error("TURN server: {0}")]
    Server(#[from] ::turn::Error),
}

/// The embedded STUN/TURN server; cheap to clone. Stops when [`EmbeddedTurn::close`] is called.
#[derive(Clone)]
pub struct EmbeddedTurn {
    inner: Arc<Inner>,
}

struct Inner {
    server: ::turn::server::Server,
    ledger: Arc<ledger::Ledger>,
    local: SocketAddr,
    external: SocketAddr,
}

impl std::fmt::Debug for EmbeddedTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedTurn")
            .field("local", &self.inner.local)
            .field("external", &self.inner.external)
            .finish()
    }
}

/// Checks TURN credentials for the `turn` crate with the same key the gate verified.
struct KeyLookup(TurnCredentials);

impl ::turn::auth::AuthHandler for KeyLookup {
    fn auth_handle(&self, username: &str, realm: &str, _src: SocketAddr) -> Result<Vec<u8>, ::turn::Error> {
        let now = crate::p2p::token::now_secs();
        self.0.key(username, realm, now).map(|k| k.to_vec()).map_err(|e| ::turn::Error::Other(e.to_string()))
    }
}

impl EmbeddedTurn {
    /// Binds `config.listen` and starts serving STUN and TURN, authenticating with `credentials`.
    pub async fn start(config: TurnConfig, credentials: TurnCredentials) -> Result<Self, TurnError> {
        let socket = tokio::net::UdpSocket::bind(config.listen)
            .await
            .map_err(|source| TurnError::Bind { addr: config.listen, source })?;
        let local = socket.local_addr().map_err(|source| TurnError::Bind { addr: config.listen, source })?;
        let ledger = Arc::new(ledger::Ledger::new(config.max_allocations_per_user, config.max_allocations));
        let own = vec![local.ip(), config.external_ip];
        let policy = Arc::new(PeerPolicy::new(config.allow_peers.clone(), own));
        let pending = relay::PendingUser::default();
        let gate = gate::Gate {
            socket,
            realm: config.realm.clone(),
            credentials: credentials.clone(),
            ledger: Arc::clone(&ledger),
            policy: Arc::clone(&policy),
            pending: Arc::clone(&pending),
            max_lifetime_secs: u32::try_from(config.max_lifetime.as_secs()).unwrap_or(u32::MAX).max(1),
        };
        let relays = relay::RelayPorts {
            bind_ip: local.ip(),
            external_ip: config.external_ip,
            ports: config.relay_ports.clone(),
            ledger: Arc::clone(&ledger),
            policy,
            bandwidth: config.bandwidth_bytes_per_sec,
            pending,
        };
        let server = ::turn::server::Server::new(::turn::server::config::ServerConfig {
            conn_configs: vec![::turn::server::config::ConnConfig {
                conn: Arc::new(gate),
                relay_addr_generator: Box::new(relays),
            }],
            realm: config.realm.clone(),
            auth_handler: Arc::new(KeyLookup(credentials)),
            channel_bind_timeout: Duration::ZERO,
            alloc_close_notify: None,
        })
        .await?;
        let external = SocketAddr::new(config.external_ip, local.port());
        tracing::info!(listen = %local, external = %external, realm = %config.realm, "embedded STUN/TURN server listening (UDP)");
        Ok(EmbeddedTurn { inner: Arc::new(Inner { server, ledger, local, external }) })
    }

    /// The bound UDP address (differs from the configured one for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local
    }

    /// The URLs browsers use to reach it: `turn:` (UDP) and `stun:` at the advertised address.
    pub fn urls(&self) -> Vec<String> {
        let at = self.inner.external;
        vec![format!("turn:{at}?transport=udp"), format!("stun:{at}")]
    }

    /// Live allocations, oldest first (for `/admin`).
    pub fn allocations(&self) -> Vec<AllocationView> {
        self.inner.ledger.views()
    }

    /// Number of live allocations.
    pub fn allocation_count(&self) -> usize {
        self.inner.ledger.len()
    }

    /// Closes every allocation and stops listening.
    pub async fn close(&self) {
        if let Err(err) = self.inner.server.close().await {
            tracing::warn!(error = %err, "closing the TURN server");
        }
    }
}
