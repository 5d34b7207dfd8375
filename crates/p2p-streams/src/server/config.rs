//! [`SignalingConfig`]: every timing and size limit of the signaling server (server side, `ssr`).
//!
//! The defaults suit a browser client on the public internet; tests shrink the timings to milliseconds.

use std::time::Duration;

/// Timings and limits of the signaling server. Every field has a documented default ([`Default`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalingConfig {
    /// How often the server sends a WebSocket Ping on every socket, and how often a live host's record is
    /// refreshed in the store. Default 10 s.
    pub ping_interval: Duration,
    /// A socket from which nothing at all (frame, Pong, Close) arrived for this long is closed with
    /// `close_code::PING_TIMEOUT` and treated as an abnormal drop. Default 30 s.
    pub ping_timeout: Duration,
    /// A socket that has not sent `join` this long after the upgrade is closed with `close_code::JOIN_TIMEOUT`.
    /// Default 10 s.
    pub join_timeout: Duration,
    /// TTL of a host record in the store, refreshed every `ping_interval` while the host's socket lives, so a
    /// crashed node's hosts expire within this and never strand newcomers. Default 30 s.
    pub host_ttl: Duration,
    /// After an abnormal drop of a host's socket, the host keeps its role this long, so a signaling blip does
    /// not reset the session; then a waiting peer is promoted. Default 5 s.
    pub host_grace: Duration,
    /// Largest text frame accepted; a bigger one closes the socket with 1009. Default 64 KiB.
    pub max_frame_bytes: usize,
    /// Frames queued for one socket before it is closed as too slow (1008). Default 256.
    pub outbound_queue: usize,
    /// Most bytes one read takes from a socket, at most 4 KiB (the read lands in a buffer on the polling
    /// thread's stack; bytes are kept per socket only while their frame is incomplete, so an idle socket holds
    /// no read buffer). Default 4 KiB: one read for a typical SDP offer.
    pub read_buffer_size: usize,
    /// Frames queued for writing are flushed once this many bytes are buffered, and at the end of every
    /// batch; the buffer is freed once written. Default 4 KiB.
    pub write_buffer_size: usize,
    /// Sustained frames per second one socket may send (a token bucket refilled at this rate; every message
    /// but Close counts). A frame over the budget is dropped and answered with an `Error` frame `rate_limited`;
    /// a socket that goes on to have `rate_limit_burst` more frames dropped before its bucket refills
    /// completely is closed with `close_code::RATE_LIMITED`. Default 100.
    pub rate_limit_per_sec: u32,
    /// Size of the token bucket: frames a socket may send at once before the rate applies (a host negotiating
    /// with many newcomers sends an offer and several candidates for each). Default 400.
    pub rate_limit_burst: u32,
    /// Peers (joined sockets) one session may have on this node; one more is closed with
    /// `close_code::SESSION_FULL` at `join`. A reconnecting peer replacing its own socket always fits.
    /// Default 256.
    pub max_peers_per_session: usize,
    /// Sessions this node holds at once (sessions with a joined socket here); the first socket of one more
    /// session is closed with `close_code::SERVER_FULL` at `join`. Default 10,000.
    pub max_sessions: usize,
    /// Open signaling sockets per client IP address; one more upgrade request is refused with HTTP 429
    /// before the upgrade. Needs the peer address (`ConnectInfo<SocketAddr>`, see
    /// [`super::SignalingServer::router`]), or `client_ip_header`. Default 64.
    pub max_connections_per_ip: usize,
    /// Request header holding the client's address when the server sits behind a trusted reverse proxy
    /// (for example `x-forwarded-for`: its LAST entry, the one the proxy appended, is used; or `x-real-ip`).
    /// Only set it behind a proxy that always writes it, or clients can pick their own address.
    /// Default none: the TCP peer address.
    pub client_ip_header: Option<axum::http::HeaderName>,
    /// Origins (`scheme://host[:port]`, exact match, or `*` for any) allowed to open a signaling socket
    /// besides the server's own origin. A request whose `Origin` header is neither its own `Host` nor listed
    /// is refused with 403 before the upgrade; a request without `Origin` (not a browser) is allowed, it still
    /// needs a join token. Default empty: same-origin browsers and non-browser clients only.
    pub allowed_origins: Vec<String>,
}

impl Default for SignalingConfig {
    fn default() -> Self {
        SignalingConfig {
            ping_interval: Duration::from_secs(10),
            ping_timeout: Duration::from_secs(30),
            join_timeout: Duration::from_secs(10),
            host_ttl: Duration::from_secs(30),
            host_grace: Duration::from_secs(5),
            max_frame_bytes: 64 * 1024,
            outbound_queue: 256,
            read_buffer_size: 4 * 1024,
            write_buffer_size: 4 * 1024,
            rate_limit_per_sec: 100,
            rate_limit_burst: 400,
            max_peers_per_session: 256,
            max_sessions: 10_000,
            max_connections_per_ip: 64,
            client_ip_header: None,
            allowed_origins: Vec::new(),
        }
    }
}

impl SignalingConfig {
    /// Hard limit handed to the WebSocket codec: twice `max_frame_bytes`, so a frame between the two limits
    /// gets our orderly 1009 close and anything larger is refused by the codec before it is buffered.
    pub(crate) fn codec_limit(&self) -> usize {
        self.max_frame_bytes.saturating_mul(2).max(1024)
    }

    /// The same configuration with values that would make tokio panic raised to their minimum (a zero ping
    /// interval, a zero-capacity queue).
    pub(crate) fn normalized(mut self) -> Self {
        let min = Duration::from_millis(1);
        self.ping_interval = self.ping_interval.max(min);
        self.outbound_queue = self.outbound_queue.max(1);
        self.rate_limit_per_sec = self.rate_limit_per_sec.max(1);
        self.rate_limit_burst = self.rate_limit_burst.max(1);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones_and_normalize_fixes_zeroes() {
        let cfg = SignalingConfig::default();
        assert_eq!(cfg.ping_interval, Duration::from_secs(10));
        assert_eq!(cfg.max_frame_bytes, 65_536);
        assert_eq!(cfg.codec_limit(), 131_072);
        assert_eq!((cfg.rate_limit_per_sec, cfg.rate_limit_burst), (100, 400));
        assert_eq!((cfg.max_peers_per_session, cfg.max_sessions, cfg.max_connections_per_ip), (256, 10_000, 64));
        assert!(cfg.allowed_origins.is_empty() && cfg.client_ip_header.is_none());
        let zero = SignalingConfig { ping_interval: Duration::ZERO, outbound_queue: 0, rate_limit_per_sec: 0, ..cfg };
        let fixed = zero.normalized();
        assert!(fixed.ping_interval > Duration::ZERO);
        assert_eq!(fixed.outbound_queue, 1);
        assert_eq!(fixed.rate_limit_per_sec, 1);
    }
}
