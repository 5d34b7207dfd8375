//! Browser-side options of a room ([`P2pConfig`]), shared by both sides because `<P2pFrame>` takes it as a
//! prop during SSR too. Every default is documented on its field.

pub use crate::volatile::VolatileRate;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One STUN or TURN server, as in `RTCIceServer`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    /// `stun:` / `turn:` / `turns:` URLs.
    pub urls: Vec<String>,
    /// TURN user name.
    pub username: Option<String>,
    /// TURN credential.
    pub credential: Option<String>,
}

/// Which ICE candidates a peer may use (`RTCConfiguration.iceTransportPolicy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IceTransportPolicy {
    /// Every candidate type: direct (host), through the NAT's public address (srflx) and relayed (TURN).
    /// Other peers of the room learn this peer's addresses, as with any WebRTC connection.
    #[default]
    All,
    /// TURN relay candidates only, for privacy-minded rooms: no IP address of this peer is ever revealed to
    /// other peers (they see the TURN server's relay address). Needs a TURN server in `ice_servers` (or from
    /// the server's join ticket): without one, this peer connects to nobody.
    Relay,
}

/// Options of one `<P2pFrame>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct P2pConfig {
    /// ICE servers for every RTCPeerConnection. Default: none, which means the ones the server hands out with
    /// the join ticket (time-limited TURN credentials among them, replaced whenever the browser renews its
    /// ticket); with none from the server either, peers connect with host candidates only (same machine or
    /// LAN). Listing servers here overrides the server's.
    pub ice_servers: Vec<IceServer>,
    /// Which candidates this peer's connections may use. Default [`IceTransportPolicy::All`];
    /// [`IceTransportPolicy::Relay`] keeps this peer's IP addresses from the other peers (privacy-minded
    /// rooms), at the cost of relaying every byte through a TURN server.
    pub ice_transport_policy: IceTransportPolicy,
    /// How often a peer sends a heartbeat on each data channel. Default 5 s: cheap, and still within the
    /// once-per-second timer budget Chromium gives background tabs.
    pub heartbeat_interval: Duration,
    /// A link with nothing received for this long is marked disconnected and recovered (renegotiated).
    /// Default 20 s (four missed heartbeats), so a throttled background tab is not dropped.
    pub idle_timeout: Duration,
    /// Keep the client's signaling WebSocket open after its link to the host is connected. Default false:
    /// connected clients leave the server, which then holds only hosts. The host always keeps its socket.
    pub keep_signaling_connection: bool,
    /// First reconnect delay; doubles per failed attempt up to `reconnect_max`, with full jitter.
    /// Default 250 ms.
    pub reconnect_base: Duration,
    /// Longest reconnect delay. Default 8 s.
    pub reconnect_max: Duration,
    /// A client that is not connected this long after joining starts over. Default 15 s.
    pub connect_timeout: Duration,
    /// How long the host keeps a disconnected peer in the peer map before removing it. Default 10 s.
    pub peer_removal_grace: Duration,
    /// Messages of history each peer keeps (oldest dropped first): shown by the `messages` signal, and
    /// replayed to peers that reconnect or to a new host. Default 1,000.
    pub history_limit: usize,
    /// Messages older than this leave the history (and can no longer be replayed). Default 5 minutes.
    pub history_max_age: Duration,
    /// Largest app message this peer sends or accepts, in bytes: a JSON message's text, a binary message's
    /// bytes. Default 16 MiB ([`DEFAULT_MAX_MESSAGE_BYTES`]). A longer message is refused by `send` at once
    /// (`SendError::TooLarge`), nothing sent; a shorter one travels in chunks of 64 KiB (`crate::chunk`), so
    /// the data channel's own 256 KiB limit does not apply. Give every page of a room the same value: a peer
    /// drops (and counts in `dropped_messages`) frames longer than its own limit allows.
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// The host's cap on volatile messages (`send_volatile`) from each client: a token bucket refilled at
    /// `per_second` up to `burst`. Default 60 per second with a burst of 60 ([`VolatileRate::default`]).
    /// Messages over it are dropped by the host and counted in its `volatile_dropped`; only the host's value
    /// counts.
    #[serde(default)]
    pub volatile_rate: VolatileRate,
    /// The most published media streams a room has (`use_p2p_media`), which is the most the host forwards to
    /// each client: a publication over it is refused with `MediaError::Refused` (`Refusal::RoomFull`).
    /// Default 6 ([`DEFAULT_MAX_STREAMS`]): the host uploads every stream to every other peer, so its uplink
    /// grows with streams × clients. Only the host's value counts.
    #[serde(default = "default_max_streams")]
    pub max_streams: usize,
}

/// The default [`P2pConfig::max_streams`]: 6.
pub const DEFAULT_MAX_STREAMS: usize = 6;

fn default_max_streams() -> usize {
    DEFAULT_MAX_STREAMS
}

/// The default [`P2pConfig::max_message_bytes`]: 16 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

fn default_max_message_bytes() -> usize {
    DEFAULT_MAX_MESSAGE_BYTES
}

impl Default for P2pConfig {
    fn default() -> Self {
        P2pConfig {
            ice_servers: Vec::new(),
            ice_transport_policy: IceTransportPolicy::All,
            heartbeat_interval: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(20),
            keep_signaling_connection: false,
            reconnect_base: Duration::from_millis(250),
            reconnect_max: Duration::from_secs(8),
            connect_timeout: Duration::from_secs(15),
            peer_removal_grace: Duration::from_secs(10),
            history_limit: 1_000,
            history_max_age: Duration::from_secs(300),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            volatile_rate: VolatileRate::default(),
            max_streams: DEFAULT_MAX_STREAMS,
        }
    }
}

impl P2pConfig {
    /// The history bounds for the delivery log.
    pub fn history_limits(&self) -> crate::delivery::HistoryLimits {
        crate::delivery::HistoryLimits {
            max_messages: self.history_limit.max(1),
            max_age_ms: self.history_max_age.as_secs_f64() * 1000.0,
        }
    }

    /// Delay before reconnect attempt `attempt` (0-based): exponential backoff with full jitter, where
    /// `jitter` in `[0, 1)` comes from the caller's random source. Attempt 0 waits at most `reconnect_base`.
    pub fn reconnect_delay(&self, attempt: u32, jitter: f64) -> Duration {
        let cap = self.reconnect_base.saturating_mul(1u32 << attempt.min(16)).min(self.reconnect_max);
        cap.mul_f64(jitter.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let cfg = P2pConfig::default();
        assert_eq!(cfg.reconnect_delay(0, 1.0), Duration::from_millis(250));
        assert_eq!(cfg.reconnect_delay(2, 1.0), Duration::from_millis(1000));
        assert_eq!(cfg.reconnect_delay(30, 1.0), Duration::from_secs(8));
        assert_eq!(cfg.reconnect_delay(3, 0.5), Duration::from_millis(1000));
        assert_eq!(cfg.reconnect_delay(3, 0.0), Duration::ZERO);
    }

    #[test]
    fn defaults_are_gentle_on_background_tabs() {
        let cfg = P2pConfig::default();
        assert!(cfg.heartbeat_interval >= Duration::from_secs(1));
        assert!(cfg.idle_timeout >= cfg.heartbeat_interval * 3);
    }

    #[test]
    fn ice_transport_policy_defaults_to_all_and_has_snake_case_names() {
        assert_eq!(P2pConfig::default().ice_transport_policy, IceTransportPolicy::All);
        assert_eq!(serde_json::to_string(&IceTransportPolicy::Relay).unwrap(), r#""relay""#);
        assert_eq!(serde_json::from_str::<IceTransportPolicy>(r#""all""#).unwrap(), IceTransportPolicy::All);
    }
}
