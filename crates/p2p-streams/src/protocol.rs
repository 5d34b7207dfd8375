//! Wire protocol of p2p-streams, shared by the server (`ssr`) and the browser (`hydrate`).
//!
//! Three conversations, each a serde enum named by its direction:
//! - [`ClientToServer`] / [`ServerToClient`]: JSON text frames on the signaling WebSocket (`/p2p/ws`).
//! - [`PeerFrame`]: JSON text messages on the RTCDataChannel between a client and its host (defined in
//!   [`channel`](crate::channel), re-exported here).
//!
//! Identity never travels in these bodies from a client: the server takes the session and peer id from the
//! verified join token, and stamps `from` on every routed signal; the host stamps `from` on every relayed
//! message from the link it arrived on. Only types live here, no logic beyond parsing helpers.

pub use crate::channel::{LinkState, PeerFrame, PeerStatus, Route};
use crate::delivery::{Bytes, EpochGrant};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Version of the signaling protocol. A client sends it in [`ClientToServer::Join`]; the server closes the
/// socket with [`close_code::VERSION_MISMATCH`] when it differs.
pub const PROTOCOL_VERSION: u32 = 1;

/// Path of the signaling WebSocket route.
pub const SIGNALING_PATH: &str = "/p2p/ws";

/// Label of the one data channel every client opens with its host.
pub const DATA_CHANNEL_LABEL: &str = "p2p-streams";

/// A room: every peer of one session talks to the same host.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(pub String);

/// One browser tab in a session: `{user}#{tab}`, where `user` is the app's server-side identity (from the
/// signed token) and `tab` a per-tab nonce, so one user may open several tabs.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PeerId(pub String);

impl PeerId {
    /// Builds the connection identity of `user` in the tab `tab`.
    pub fn with_tab(user: &str, tab: &str) -> Self {
        PeerId(format!("{user}#{tab}"))
    }

    /// The app identity part (before the last `#`): what a room shows as the peer's name.
    pub fn user(&self) -> &str {
        self.0.rsplit_once('#').map_or(self.0.as_str(), |(user, _)| user)
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a peer is in its session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Role {
    /// Holds one link per client and relays every message (the star's centre).
    Host,
    /// Holds one link, to the host.
    Client,
}

impl Role {
    /// Lowercase name, as shown in the UI (`data-testid="role"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Host => "host",
            Role::Client => "client",
        }
    }
}

/// Frames a browser sends to the signaling server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientToServer {
    /// First frame on every socket. `lost_host` names a host this peer just lost its link to: when that host
    /// has no live signaling connection either, the server elects a new host at once instead of waiting out
    /// the host's grace period.
    Join {
        /// Must equal [`PROTOCOL_VERSION`].
        version: u32,
        /// The host this peer was connected to and lost, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lost_host: Option<PeerId>,
    },
    /// Route `signal` to exactly one peer of the same session; the server stamps the sender.
    Signal {
        /// The one recipient.
        to: PeerId,
        /// What to deliver, untouched.
        signal: SignalPayload,
    },
    /// A peer refused entries whose seal did not verify, handed over by `forger` (logged and counted by the
    /// server; it decides nothing).
    Report {
        /// The peer whose frames carried the forged entries.
        forger: PeerId,
        /// How many entries.
        entries: u32,
    },
    /// Host only: its star as it is now (shown in the live room list and the admin inspector).
    Roster {
        /// Peers including the host.
        peers: u32,
        /// Every peer's link state, host first (older hosts may omit it).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        states: Vec<PeerStatus>,
    },
}

/// WebRTC negotiation payloads, routed without interpretation. `link` scopes a payload to one
/// RTCPeerConnection: the host picks a fresh id per offer, so late candidates of a replaced link are ignored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SignalPayload {
    /// Host -> client: SDP offer opening link `link`.
    Offer {
        /// Link id chosen by the host.
        link: u64,
        /// Session description.
        sdp: String,
    },
    /// Client -> host: SDP answer for link `link`.
    Answer {
        /// Link id of the offer answered.
        link: u64,
        /// Session description.
        sdp: String,
    },
    /// Either way: one trickled ICE candidate for link `link`.
    Candidate {
        /// Link id.
        link: u64,
        /// `RTCIceCandidate.candidate`.
        candidate: String,
        /// `RTCIceCandidate.sdpMid`.
        #[serde(default)]
        sdp_mid: Option<String>,
        /// `RTCIceCandidate.sdpMLineIndex`.
        #[serde(default)]
        sdp_m_line_index: Option<u16>,
    },
}

impl SignalPayload {
    /// The link this payload belongs to.
    pub fn link(&self) -> u64 {
        match self {
            SignalPayload::Offer { link, .. }
            | SignalPayload::Answer { link, .. }
            | SignalPayload::Candidate { link, .. } => *link,
        }
    }

    /// Short name for logs and metrics (never the SDP itself).
    pub fn kind(&self) -> &'static str {
        match self {
            SignalPayload::Offer { .. } => "offer",
            SignalPayload::Answer { .. } => "answer",
            SignalPayload::Candidate { .. } => "candidate",
        }
    }
}

/// Frames the signaling server sends to a browser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerToClient {
    /// Answer to [`ClientToServer::Join`]: who you are (from your token) and your role.
    Welcome {
        /// The server's [`PROTOCOL_VERSION`].
        version: u32,
        /// Session from the token.
        session_id: SessionId,
        /// Your connection identity, `{user}#{tab}`.
        peer_id: PeerId,
        /// Host or client.
        role: Role,
        /// The session's host (you, when `role` is host).
        host: PeerId,
        /// The session's epoch authority public key (uncompressed SEC1 P-256): what every host's epoch
        /// certificate is checked against (`delivery::EpochCert`). Absent from older servers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        authority: Option<Bytes>,
        /// When `role` is host: the epoch key to seal entries with, and its certificate.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grant: Option<EpochGrant>,
    },
    /// Your role changed after a host election (the old host is gone).
    RoleChanged {
        /// Your new role.
        role: Role,
        /// The new host.
        host: PeerId,
        /// When `role` is host: the epoch key to seal entries with, and its certificate.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grant: Option<EpochGrant>,
    },
    /// To the host: `peer` joined (or rejoined) and waits for an offer.
    PeerJoined {
        /// The newcomer.
        peer: PeerId,
    },
    /// To the host: `peer`'s signaling socket closed. A link still negotiating with it is dead; a connected
    /// link is not (clients leave the signaling server once connected).
    PeerLeft {
        /// The peer that left.
        peer: PeerId,
    },
    /// A signal routed to you; `from` is stamped by the server.
    Signal {
        /// The verified sender.
        from: PeerId,
        /// The payload, as sent.
        signal: SignalPayload,
    },
    /// Your last frame was refused; the connection stays open.
    Error {
        /// Machine-readable reason.
        code: ErrorCode,
        /// Human-readable detail.
        message: String,
    },
}

/// Why the server refused a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not valid JSON.
    BadJson,
    /// Valid JSON, but not a known frame type or shape.
    UnknownType,
    /// A binary frame; the protocol is JSON text.
    BinaryFrame,
    /// A frame other than `join` came before `join`.
    NotJoined,
    /// A second `join` on the same socket.
    AlreadyJoined,
    /// The signal's target is not connected in your session.
    UnknownPeer,
    /// A host-only frame from a client.
    NotHost,
    /// The socket sent frames faster than its rate limit allows; the frame was dropped. Keep flooding and the
    /// socket is closed with [`close_code::RATE_LIMITED`].
    RateLimited,
    /// The server could not route the frame right now (the store shared by several nodes is unreachable):
    /// our failure, not the peer's; the frame was dropped and may be sent again later.
    Unavailable,
}

/// WebSocket close codes the server uses (4000-4999 is the application range).
pub mod close_code {
    /// Another socket joined with the same peer id (a reloaded tab); this one is obsolete.
    pub const SUPERSEDED: u16 = 4001;
    /// The client's [`super::PROTOCOL_VERSION`] differs from the server's.
    pub const VERSION_MISMATCH: u16 = 4002;
    /// The server is shutting down: reconnect (possibly to another node).
    pub const RECONNECT: u16 = 4003;
    /// Nothing arrived from the client within the ping timeout.
    pub const PING_TIMEOUT: u16 = 4008;
    /// No `join` frame within the join timeout.
    pub const JOIN_TIMEOUT: u16 = 4009;
    /// The socket kept sending frames over its rate limit after an `Error` frame with `rate_limited`.
    /// Reconnecting at once will not help: slow down.
    pub const RATE_LIMITED: u16 = 4010;
    /// The session already has the most peers the server allows (`max_peers_per_session`).
    pub const SESSION_FULL: u16 = 4011;
    /// This server already holds the most sessions it allows (`max_sessions`); another node may have room.
    pub const SERVER_FULL: u16 = 4012;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_with_documented_tags() {
        let join = ClientToServer::Join { version: PROTOCOL_VERSION, lost_host: None };
        let text = serde_json::to_string(&join).unwrap();
        assert_eq!(text, r#"{"type":"join","version":1}"#);
        let state = PeerFrame::ConnectionState { host: PeerId("a#1".into()), peers: vec![] };
        let text = serde_json::to_string(&state).unwrap();
        assert!(text.starts_with(r#"{"type":"Data.Connection.State""#), "{text}");
        assert_eq!(serde_json::from_str::<PeerFrame>(&text).unwrap(), state);
    }

    #[test]
    fn peer_id_user_part() {
        assert_eq!(PeerId::with_tab("ada#x", "t1").user(), "ada#x");
        assert_eq!(PeerId("bob".into()).user(), "bob");
    }
}
