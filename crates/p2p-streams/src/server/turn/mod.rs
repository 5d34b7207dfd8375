//! NAT traversal on the server side (`ssr`): time-limited TURN credentials minted with every join ticket
//! ([`TurnCredentials`], the TURN REST API scheme coturn implements), and an embedded STUN/TURN server
//! ([`EmbeddedTurn`]) so one binary serves signaling, STUN and TURN.
//!
//! The embedded server is webrtc-rs's `turn` crate (docs/nat-traversal.md says why) behind our own gate:
//! - `gate.rs`: the listening socket; credentials, limits and the peer policy checked before the crate sees a
//!   datagram; `packet.rs`: the STUN parsing and error responses the gate needs;
//! - `tcp.rs`: TURN over TCP, each connection framed into messages and served behind the same gate;
//! - `relay.rs`: relay sockets in the configured port range, with byte counts and a bandwidth cap;
//! - `policy.rs`: which peer addresses may be relayed to; `ledger.rs`: live allocations, limits, metrics.

mod credentials;
mod gate;
mod ledger;
mod packet;
mod policy;
mod relay;
mod tcp;

pub use credentials::{long_term_key, parse_username, CredentialError, TurnCredentials, TurnUser};
pub use ledger::{AllocationView, Refusal, ALLOCATIONS, REFUSALS, RELAYED_BYTES};
pub use policy::{parse_ranges, Denial, PeerPolicy};

use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

/// Receive and send buffer of the UDP listener, in bytes.
const LISTENER_BUFFER: usize = 4 << 20;

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
#[non_exhaustive]
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
    shared: Arc<Shared>,
    local: SocketAddr,
    external: SocketAddr,
    /// The TCP accept loop.
    tcp: tokio::task::JoinHandle<()>,
}

/// What every listener (the UDP socket, each TCP connection) shares: settings, credentials, books, policy.
pub(crate) struct Shared {
    /// The configured listen address (for errors).
    pub(crate) listen: SocketAddr,
    pub(crate) realm: String,
    pub(crate) credentials: TurnCredentials,
    pub(crate) ledger: Arc<ledger::Ledger>,
    pub(crate) policy: Arc<PeerPolicy>,
    /// Longest lifetime granted.
    pub(crate) max_lifetime: Duration,
    /// Where relay sockets bind, what they advertise, their ports and bandwidth cap.
    relay_ip: IpAddr,
    external_ip: IpAddr,
    relay_ports: RangeInclusive<u16>,
    bandwidth: u64,
}

impl Shared {
    /// The lifetime cap in seconds.
    pub(crate) fn max_lifetime_secs(&self) -> u32 {
        u32::try_from(self.max_lifetime.as_secs()).unwrap_or(u32::MAX).max(1)
    }

    /// A `turn` server for one listener behind `gate`.
    pub(crate) async fn server_for(&self, gate: Arc<gate::Gate>) -> Result<::turn::server::Server, TurnError> {
        let relays = relay::RelayPorts {
            bind_ip: self.relay_ip,
            external_ip: self.external_ip,
            ports: self.relay_ports.clone(),
            ledger: Arc::clone(&self.ledger),
            policy: Arc::clone(&self.policy),
            bandwidth: self.bandwidth,
            pending: Arc::clone(&gate.pending),
        };
        let config = ::turn::server::config::ServerConfig {
            conn_configs: vec![::turn::server::config::ConnConfig {
                conn: gate,
                relay_addr_generator: Box::new(relays),
            }],
            realm: self.realm.clone(),
            auth_handler: Arc::new(KeyLookup(self.credentials.clone())),
            channel_bind_timeout: Duration::ZERO,
            alloc_close_notify: None,
        };
        Ok(::turn::server::Server::new(config).await?)
    }
}

/// Checks TURN credentials for the `turn` crate with the same key the gate verified.
struct KeyLookup(TurnCredentials);

impl ::turn::auth::AuthHandler for KeyLookup {
    fn auth_handle(&self, username: &str, realm: &str, _src: SocketAddr) -> Result<Vec<u8>, ::turn::Error> {
        let now = crate::token::now_secs();
        self.0.key(username, realm, now).map(|k| k.to_vec()).map_err(|e| ::turn::Error::Other(e.to_string()))
    }
}

/// How many UDP ports port 0 tries before giving up on finding one whose TCP twin is free.
const PORT_ZERO_ATTEMPTS: usize = 16;

/// Binds UDP on `listen` and TCP on the same port (the URL handed out names one port). For port 0 the system
/// picks a free UDP port, whose TCP twin may be in use (any TCP socket on the machine may hold it): then another
/// UDP port is tried.
async fn bind_udp_and_tcp(
    listen: SocketAddr,
) -> Result<(tokio::net::UdpSocket, SocketAddr, tokio::net::TcpListener), TurnError> {
    let bind_error = |source| TurnError::Bind { addr: listen, source };
    let attempts = if listen.port() == 0 { PORT_ZERO_ATTEMPTS } else { 1 };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let socket = tokio::net::UdpSocket::bind(listen).await.map_err(bind_error)?;
        let local = socket.local_addr().map_err(bind_error)?;
        match tokio::net::TcpListener::bind(local).await {
            Ok(tcp) => return Ok((socket, local, tcp)),
            Err(err) if err.kind() == std::io::ErrorKind::AddrInUse && attempt < attempts => continue,
            Err(err) => return Err(bind_error(err)),
        }
    }
}

impl EmbeddedTurn {
    /// Binds `config.listen` (UDP and TCP, same port) and starts serving STUN and TURN, authenticating with
    /// `credentials`.
    pub async fn start(config: TurnConfig, credentials: TurnCredentials) -> Result<Self, TurnError> {
        let (socket, local, tcp) = bind_udp_and_tcp(config.listen).await?;
        // Linux's default receive buffer (about 200 KiB) overflowed under 128 datagrams in flight (12-15% lost
        // in the benchmark; coturn uses 4 MiB, and so do we). The kernel may cap it (net.core.rmem_max).
        let sock = socket2::SockRef::from(&socket);
        for result in [sock.set_recv_buffer_size(LISTENER_BUFFER), sock.set_send_buffer_size(LISTENER_BUFFER)] {
            if let Err(err) = result {
                tracing::warn!(error = %err, "turn listener buffer size not set");
            }
        }
        let ledger = Arc::new(ledger::Ledger::new(config.max_allocations_per_user, config.max_allocations));
        let own = vec![local.ip(), config.external_ip];
        let shared = Arc::new(Shared {
            listen: config.listen,
            realm: config.realm.clone(),
            credentials,
            ledger,
            policy: Arc::new(PeerPolicy::new(config.allow_peers.clone(), own)),
            max_lifetime: config.max_lifetime,
            relay_ip: local.ip(),
            external_ip: config.external_ip,
            relay_ports: config.relay_ports.clone(),
            bandwidth: config.bandwidth_bytes_per_sec,
        });
        let gate = Arc::new(gate::Gate::new(Arc::new(socket), &shared, None));
        let server = shared.server_for(gate).await?;
        let tcp = tokio::spawn(tcp::accept_loop(tcp, Arc::clone(&shared), config.max_allocations));
        let external = SocketAddr::new(config.external_ip, local.port());
        tracing::info!(listen = %local, external = %external, realm = %config.realm, "embedded STUN/TURN server listening (UDP and TCP)");
        Ok(EmbeddedTurn { inner: Arc::new(Inner { server, shared, local, external, tcp }) })
    }

    /// The bound UDP address (differs from the configured one for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local
    }

    /// The URLs browsers use to reach it at the advertised address: `turn:` over UDP and over TCP, and `stun:`.
    pub fn urls(&self) -> Vec<String> {
        let at = self.inner.external;
        vec![format!("turn:{at}?transport=udp"), format!("turn:{at}?transport=tcp"), format!("stun:{at}")]
    }

    /// The credentials it authenticates with (a `P2pServer` given no others mints tickets with these).
    pub fn credentials(&self) -> &TurnCredentials {
        &self.inner.shared.credentials
    }

    /// Live allocations, oldest first (for `/admin`).
    pub fn allocations(&self) -> Vec<AllocationView> {
        self.inner.shared.ledger.views()
    }

    /// Number of live allocations.
    pub fn allocation_count(&self) -> usize {
        self.inner.shared.ledger.len()
    }

    /// Closes every allocation and stops listening.
    pub async fn close(&self) {
        self.inner.tcp.abort();
        if let Err(err) = self.inner.server.close().await {
            tracing::warn!(error = %err, "closing the TURN server");
        }
    }
}
