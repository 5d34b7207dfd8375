//! The server's configuration (`ssr` only): one [`Config`] read from command-line flags and environment
//! variables (clap), each documented with its default in `--help`, and a start-up summary that never prints
//! a secret.

mod admin;
mod turn;

pub use admin::AdminFlags;
pub use turn::{TurnFlags, TurnSetup};

use axum::http::HeaderName;
use clap::{Parser, ValueEnum};
use p2p_streams::server::{RedisOptions, SignalingConfig};
use p2p_streams::IceServer;
use std::net::SocketAddr;
use std::time::Duration;

/// Where host records live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// In this process (one signaling node; nothing external needed).
    Memory,
    /// In Redis at `--redis-url`, shared by several signaling nodes (docs/scaling.md).
    Redis,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// p2p-streams server: Leptos SSR pages plus the WebRTC signaling server.
#[derive(Debug, Parser)]
#[command(name = "p2p-streams", version, about)]
pub struct Config {
    /// Address to listen on [default: the site-addr cargo-leptos built with, 127.0.0.1:3000].
    #[arg(long, env = "LEPTOS_SITE_ADDR")]
    pub addr: Option<SocketAddr>,
    /// HMAC secret for join tokens and sign-in cookies, at least 16 bytes. Unset: a random per-process secret
    /// (development only: tokens and cookies die with the process).
    #[arg(long, env = "P2P_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Session store [default: `redis` when a Redis URL is set, else `memory`].
    #[arg(long, env = "P2P_STORE", value_enum)]
    pub store: Option<StoreKind>,
    /// Redis shared by several signaling nodes, e.g. `redis://127.0.0.1:6379/0`; setting it selects the
    /// Redis store [default: none, single node].
    #[arg(long, env = "P2P_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel (several deployments can share one Redis).
    #[arg(long, env = "P2P_REDIS_PREFIX", default_value = "p2p")]
    pub redis_prefix: String,
    /// With Redis: a node that has not renewed its liveness key for this long is dead, and its peers are
    /// taken over by the other nodes, in milliseconds.
    #[arg(long, env = "P2P_NODE_TTL_MS", default_value_t = 6000)]
    pub node_ttl_ms: u64,
    /// ICE servers handed to browsers, comma-separated `URL` or `URL|username|credential`, e.g.
    /// `stun:stun.example.org:3478,turn:turn.example.org:3478|user|pass` [default: none, host candidates only].
    #[arg(long = "ice-servers", env = "P2P_ICE_SERVERS", value_delimiter = ',', hide_env_values = true)]
    pub ice_servers: Vec<String>,
    /// Log format (the filter comes from RUST_LOG, default `info`).
    #[arg(long, env = "P2P_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Server WebSocket ping interval, in seconds.
    #[arg(long, env = "P2P_PING_INTERVAL_SECS", default_value_t = 10)]
    pub ping_interval_secs: u64,
    /// Close a signaling socket silent for this long, in seconds.
    #[arg(long, env = "P2P_PING_TIMEOUT_SECS", default_value_t = 30)]
    pub ping_timeout_secs: u64,
    /// Close a socket that sends no `join` within this many seconds.
    #[arg(long, env = "P2P_JOIN_TIMEOUT_SECS", default_value_t = 10)]
    pub join_timeout_secs: u64,
    /// TTL of a host record, refreshed while the host's socket lives, in seconds.
    #[arg(long, env = "P2P_HOST_TTL_SECS", default_value_t = 30)]
    pub host_ttl_secs: u64,
    /// How long a host whose socket dropped keeps its role, in milliseconds.
    #[arg(long, env = "P2P_HOST_GRACE_MS", default_value_t = 5000)]
    pub host_grace_ms: u64,
    /// Largest signaling frame accepted, in bytes.
    #[arg(long, env = "P2P_MAX_FRAME_BYTES", default_value_t = 64 * 1024)]
    pub max_frame_bytes: usize,
    /// Frames queued per socket before it is closed as too slow.
    #[arg(long, env = "P2P_OUTBOUND_QUEUE", default_value_t = 256)]
    pub outbound_queue: usize,
    /// Sustained frames per second one signaling socket may send; frames over it are dropped with a
    /// `rate_limited` error frame, and a socket that keeps flooding is closed with 4010.
    #[arg(long, env = "P2P_RATE_LIMIT_PER_SEC", default_value_t = 100)]
    pub rate_limit_per_sec: u32,
    /// Frames one signaling socket may send at once before the per-second rate applies.
    #[arg(long, env = "P2P_RATE_LIMIT_BURST", default_value_t = 400)]
    pub rate_limit_burst: u32,
    /// Peers one session may have on this node; one more is closed with 4011 at join.
    #[arg(long, env = "P2P_MAX_PEERS_PER_SESSION", default_value_t = 256)]
    pub max_peers_per_session: usize,
    /// Sessions this node holds at once; the first peer of one more is closed with 4012 at join.
    #[arg(long, env = "P2P_MAX_SESSIONS", default_value_t = 10_000)]
    pub max_sessions: usize,
    /// Open signaling sockets per client IP address; one more upgrade is refused with HTTP 429.
    #[arg(long, env = "P2P_MAX_CONNECTIONS_PER_IP", default_value_t = 64)]
    pub max_connections_per_ip: usize,
    /// Header carrying the client address from a trusted reverse proxy, e.g. `x-forwarded-for` (its last
    /// entry is used) or `x-real-ip` [default: none, the TCP peer address]. Set it only behind a proxy that
    /// always writes it.
    #[arg(long, env = "P2P_CLIENT_IP_HEADER", value_parser = parse_header_name)]
    pub client_ip_header: Option<HeaderName>,
    /// Close an HTTP connection that takes longer than this to send a request head (its first request, or
    /// the next one on an idle keep-alive connection), in seconds.
    #[arg(long, env = "P2P_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// Threads that run the server [default: the CPUs this process may use]. With 1, every task runs on one
    /// thread from one first-come-first-served queue (tokio's current-thread scheduler); with more, tokio's
    /// multi-thread scheduler with that many workers (docs/performance.md says why one thread gets its own).
    #[arg(long, env = "P2P_WORKER_THREADS", value_parser = clap::value_parser!(u16).range(1..))]
    pub worker_threads: Option<u16>,
    /// Origins allowed to open signaling sockets besides the server's own, comma-separated
    /// `scheme://host[:port]` or `*` [default: none: same-origin browsers and clients without an Origin
    /// header only].
    #[arg(long, env = "P2P_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// The /admin inspector: its token, session length, guess limit, trusted scheme header.
    #[command(flatten)]
    pub admin: AdminFlags,
    /// STUN/TURN: credentials handed out with tickets and the embedded server.
    #[command(flatten)]
    pub turn: TurnFlags,
}

/// Parses a header name for `--client-ip-header` and `--client-proto-header` (case-insensitive).
fn parse_header_name(name: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(name.trim().to_ascii_lowercase().as_bytes()).map_err(|e| format!("{name:?}: {e}"))
}

impl Config {
    /// Threads to run: `--worker-threads`, else the CPUs this process may use (its CPU affinity, so a server
    /// started under `taskset -c 0` gets one).
    pub fn worker_threads(&self) -> usize {
        let available = || std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        self.worker_threads.map_or_else(available, usize::from)
    }

    /// Reads flags and environment (exits with usage on error, as `--help` documents).
    pub fn from_args() -> Self {
        Config::parse()
    }

    /// The signaling server's settings.
    pub fn signaling(&self) -> SignalingConfig {
        SignalingConfig {
            ping_interval: Duration::from_secs(self.ping_interval_secs),
            ping_timeout: Duration::from_secs(self.ping_timeout_secs),
            join_timeout: Duration::from_secs(self.join_timeout_secs),
            host_ttl: Duration::from_secs(self.host_ttl_secs),
            host_grace: Duration::from_millis(self.host_grace_ms),
            max_frame_bytes: self.max_frame_bytes,
            outbound_queue: self.outbound_queue,
            rate_limit_per_sec: self.rate_limit_per_sec,
            rate_limit_burst: self.rate_limit_burst,
            max_peers_per_session: self.max_peers_per_session,
            max_sessions: self.max_sessions,
            max_connections_per_ip: self.max_connections_per_ip,
            client_ip_header: self.client_ip_header.clone(),
            allowed_origins: self
                .allowed_origins
                .iter()
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty())
                .collect(),
            ..SignalingConfig::default()
        }
    }

    /// How long an HTTP connection may take to send a request head (at least 1 ms).
    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_secs).max(Duration::from_millis(1))
    }

    /// The store in force: `--store`, else Redis when a URL is set, else memory.
    pub fn store_kind(&self) -> StoreKind {
        self.store.unwrap_or(if self.redis_url.is_some() { StoreKind::Redis } else { StoreKind::Memory })
    }

    /// Settings of the Redis store and bus.
    pub fn redis_options(&self) -> RedisOptions {
        RedisOptions {
            prefix: self.redis_prefix.clone(),
            node_ttl: Duration::from_millis(self.node_ttl_ms.max(30)),
            peer_ttl: Duration::from_secs(self.ping_timeout_secs.max(self.ping_interval_secs.saturating_mul(3)).max(1)),
            ..RedisOptions::default()
        }
    }

    /// The ICE servers, parsed from `URL|username|credential` entries.
    pub fn ice(&self) -> Vec<IceServer> {
        self.ice_servers
            .iter()
            .filter(|entry| !entry.trim().is_empty())
            .map(|entry| {
                let mut parts = entry.trim().splitn(3, '|');
                let url = parts.next().unwrap_or_default().to_owned();
                let username = parts.next().map(str::to_owned);
                let credential = parts.next().map(str::to_owned);
                IceServer { urls: vec![url], username, credential }
            })
            .collect()
    }

    /// Logs the effective configuration at start-up, secrets redacted.
    pub fn log_summary(&self, addr: SocketAddr, secret_source: &str) {
        let signaling = self.signaling();
        let ice: Vec<String> = self
            .ice()
            .iter()
            .map(|s| {
                let user = s.username.as_deref().map_or(String::new(), |u| format!(" user={u} credential=<redacted>"));
                format!("{}{user}", s.urls.join(" "))
            })
            .collect();
        let defaults = p2p_streams::P2pConfig::default();
        tracing::info!(
            %addr,
            worker_threads = self.worker_threads(),
            scheduler = if self.worker_threads() == 1 { "current_thread" } else { "multi_thread" },
            secret = secret_source,
            store = ?self.store_kind(),
            redis = if self.redis_url.is_some() { "<set>" } else { "none" },
            node_ttl_ms = self.node_ttl_ms,
            ice_servers = ?ice,
            admin = if self.admin.admin_token.is_some() { "enabled" } else { "disabled" },
            admin_session_secs = self.admin.admin_session_secs,
            admin_max_failures = self.admin.admin_max_failures,
            admin_failure_window_secs = self.admin.admin_failure_window_secs,
            client_proto_header = ?self.admin.client_proto_header,
            ping_interval = ?signaling.ping_interval,
            ping_timeout = ?signaling.ping_timeout,
            host_ttl = ?signaling.host_ttl,
            host_grace = ?signaling.host_grace,
            max_frame_bytes = signaling.max_frame_bytes,
            outbound_queue = signaling.outbound_queue,
            rate_limit_per_sec = signaling.rate_limit_per_sec,
            rate_limit_burst = signaling.rate_limit_burst,
            max_peers_per_session = signaling.max_peers_per_session,
            max_sessions = signaling.max_sessions,
            max_connections_per_ip = signaling.max_connections_per_ip,
            client_ip_header = ?signaling.client_ip_header,
            allowed_origins = ?signaling.allowed_origins,
            header_timeout_secs = self.header_timeout_secs,
            browser_heartbeat = ?defaults.heartbeat_interval,
            browser_idle_timeout = ?defaults.idle_timeout,
            "configuration"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_with_documented_defaults_and_ice_entries() {
        let cfg = Config::try_parse_from([
            "p2p-streams",
            "--ice-servers",
            "stun:stun.example.org:3478,turn:turn.example.org:3478|ada|pw",
            "--host-grace-ms",
            "1500",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg.store_kind(), StoreKind::Memory);
        assert_eq!(cfg.signaling().host_grace, Duration::from_millis(1500));
        assert_eq!(cfg.signaling().ping_timeout, Duration::from_secs(30));
        let ice = cfg.ice();
        assert_eq!(ice.len(), 2);
        assert_eq!(ice[1].username.as_deref(), Some("ada"));
        assert_eq!(ice[1].credential.as_deref(), Some("pw"));
        assert_eq!(ice[0].credential, None);
        assert_eq!(cfg.signaling(), SignalingConfig { host_grace: Duration::from_millis(1500), ..Default::default() });
    }

    #[test]
    fn limit_flags_reach_the_signaling_config() {
        let cfg = Config::try_parse_from([
            "p2p-streams",
            "--rate-limit-per-sec=5",
            "--max-sessions=7",
            "--max-connections-per-ip=3",
            "--client-ip-header=X-Forwarded-For",
            "--allowed-origins=https://a.example, https://b.example",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let signaling = cfg.signaling();
        assert_eq!((signaling.rate_limit_per_sec, signaling.rate_limit_burst), (5, 400));
        assert_eq!((signaling.max_sessions, signaling.max_connections_per_ip), (7, 3));
        assert_eq!(signaling.client_ip_header.as_ref().map(HeaderName::as_str), Some("x-forwarded-for"));
        assert_eq!(signaling.allowed_origins, ["https://a.example", "https://b.example"]);
        assert!(Config::try_parse_from(["p2p-streams", "--client-ip-header=bad header"]).is_err());
    }

    #[test]
    fn a_redis_url_selects_the_redis_store_unless_memory_is_asked_for() {
        let parse = |args: &[&str]| Config::try_parse_from(args).unwrap_or_else(|e| panic!("{e}"));
        let cfg = parse(&["p2p-streams", "--redis-url", "redis://127.0.0.1:6400"]);
        assert_eq!(cfg.store_kind(), StoreKind::Redis);
        assert_eq!(cfg.redis_options().prefix, "p2p");
        assert_eq!(cfg.redis_options().node_ttl, Duration::from_secs(6));
        let cfg = parse(&["p2p-streams", "--redis-url", "redis://x", "--store", "memory"]);
        assert_eq!(cfg.store_kind(), StoreKind::Memory);
        assert_eq!(parse(&["p2p-streams", "--store", "redis"]).redis_url, None, "checked at start-up");
    }
}
