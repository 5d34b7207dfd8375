//! Errors of the signaling server (server side, `ssr`), split by whose fault they are.
//!
//! - [`PeerError`]: bad input from a peer. Recoverable ones become an `Error` frame and the socket lives on;
//!   the rest close the socket. The choice is made in ONE place, [`PeerError::reaction`].
//! - [`ServerError`]: our failure (the store is down, we are shutting down). Logged at error level by the
//!   caller; the peer only sees a close code and a short reason, never internals.

use super::store::StoreError;
use crate::protocol::{close_code, ErrorCode, PeerId, PROTOCOL_VERSION};

/// Close code for a frame larger than `max_frame_bytes` (RFC 6455 "message too big").
pub const CLOSE_TOO_BIG: u16 = 1009;
/// Close code for a socket whose outbound queue overflowed (RFC 6455 "policy violation").
pub const CLOSE_TOO_SLOW: u16 = 1008;
/// Close code for our own failure (RFC 6455 "internal error").
pub const CLOSE_INTERNAL: u16 = 1011;
/// Close code for a frame that breaks the WebSocket protocol (RFC 6455 "protocol error").
pub const CLOSE_PROTOCOL: u16 = 1002;
/// Close code for a text frame that is not UTF-8 (RFC 6455 "invalid frame payload data").
pub const CLOSE_BAD_PAYLOAD: u16 = 1007;

/// The close code and reason owed to a peer whose socket failed to read: the codec refused a frame larger
/// than its hard limit (1009), a protocol violation (1002) or a text frame that is not UTF-8 (1007). `None`
/// for I/O failures: the connection is gone, there is nobody to tell.
pub fn read_failure_close(err: tokio_tungstenite::tungstenite::Error) -> Option<(u16, &'static str)> {
    use tokio_tungstenite::tungstenite::Error as Ws;
    match err {
        Ws::Capacity(_) => Some((CLOSE_TOO_BIG, "frame too large")),
        Ws::Protocol(_) => Some((CLOSE_PROTOCOL, "protocol error")),
        Ws::Utf8(_) => Some((CLOSE_BAD_PAYLOAD, "invalid UTF-8")),
        _ => None,
    }
}

/// A peer sent something we refuse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PeerError {
    /// The text frame is not JSON.
    #[error("frame is not valid JSON")]
    BadJson,
    /// JSON, but not a known frame type or shape.
    #[error("unknown frame type or shape")]
    UnknownType,
    /// A binary frame; the protocol is JSON text.
    #[error("binary frames are not part of the protocol")]
    BinaryFrame,
    /// A frame other than `join` before `join`.
    #[error("send join first")]
    NotJoined,
    /// A second `join` on one socket.
    #[error("this socket already joined")]
    AlreadyJoined,
    /// A signal for a peer with no live socket in the sender's session.
    #[error("peer {0} is not connected in this session")]
    UnknownPeer(PeerId),
    /// A host-only frame from a client.
    #[error("only the host may send this frame")]
    NotHost,
    /// A frame over `max_frame_bytes`.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    FrameTooLarge {
        /// Size received.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// `join` with another protocol version.
    #[error("protocol version {got} is not supported (server speaks {PROTOCOL_VERSION})")]
    VersionMismatch {
        /// The client's version.
        got: u32,
    },
    /// A frame over the socket's rate limit (dropped, not handled).
    #[error("too many frames: slow down, this one was dropped")]
    RateLimited,
    /// Frames kept coming over the rate limit after [`PeerError::RateLimited`].
    #[error("rate limit exceeded repeatedly")]
    Flooding,
    /// `join` to a session that has `max_peers_per_session` peers already.
    #[error("session is full")]
    SessionFull,
    /// `join` opening a new session on a node that holds `max_sessions` already.
    #[error("server is full")]
    ServerFull,
}

/// What the connection does about a [`PeerError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reaction {
    /// Send an `Error` frame with this code; the socket stays open.
    Reply(ErrorCode),
    /// Close the socket with this WebSocket close code.
    Close(u16),
}

impl PeerError {
    /// The one decision between answering and closing.
    pub fn reaction(&self) -> Reaction {
        match self {
            PeerError::BadJson => Reaction::Reply(ErrorCode::BadJson),
            PeerError::UnknownType => Reaction::Reply(ErrorCode::UnknownType),
            PeerError::BinaryFrame => Reaction::Reply(ErrorCode::BinaryFrame),
            PeerError::NotJoined => Reaction::Reply(ErrorCode::NotJoined),
            PeerError::AlreadyJoined => Reaction::Reply(ErrorCode::AlreadyJoined),
            PeerError::UnknownPeer(_) => Reaction::Reply(ErrorCode::UnknownPeer),
            PeerError::NotHost => Reaction::Reply(ErrorCode::NotHost),
            PeerError::RateLimited => Reaction::Reply(ErrorCode::RateLimited),
            PeerError::FrameTooLarge { .. } => Reaction::Close(CLOSE_TOO_BIG),
            PeerError::VersionMismatch { .. } => Reaction::Close(close_code::VERSION_MISMATCH),
            PeerError::Flooding => Reaction::Close(close_code::RATE_LIMITED),
            PeerError::SessionFull => Reaction::Close(close_code::SESSION_FULL),
            PeerError::ServerFull => Reaction::Close(close_code::SERVER_FULL),
        }
    }

    /// Short reason for the close frame of an error that closes the socket (at most 123 bytes, no peer data).
    pub fn close_reason(&self) -> &'static str {
        match self {
            PeerError::FrameTooLarge { .. } => "frame too large",
            PeerError::VersionMismatch { .. } => "protocol version mismatch",
            PeerError::Flooding => "rate limit exceeded",
            PeerError::SessionFull => "session full",
            PeerError::ServerFull => "server full",
            _ => "refused",
        }
    }

    /// Classifies a failed parse of a text frame: a syntax error is [`PeerError::BadJson`], well-formed JSON
    /// of the wrong shape is [`PeerError::UnknownType`].
    pub fn from_json(err: &serde_json::Error) -> Self {
        match err.classify() {
            serde_json::error::Category::Data => PeerError::UnknownType,
            _ => PeerError::BadJson,
        }
    }
}

/// Our failure while serving a socket.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The session store did not answer.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// [`super::SignalingServer::shutdown`] was called.
    #[error("signaling server is shutting down")]
    ShuttingDown,
}

impl ServerError {
    /// Close code for a socket that ends because of this failure.
    pub fn close_code(&self) -> u16 {
        match self {
            ServerError::Store(_) => CLOSE_INTERNAL,
            ServerError::ShuttingDown => close_code::RECONNECT,
        }
    }

    /// Short close reason shown to the peer (no internals).
    pub fn close_reason(&self) -> &'static str {
        match self {
            ServerError::Store(_) => "session store unavailable",
            ServerError::ShuttingDown => "server shutting down, reconnect",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ClientToServer;

    fn parse(text: &str) -> PeerError {
        match serde_json::from_str::<ClientToServer>(text) {
            Ok(frame) => panic!("parsed {frame:?}"),
            Err(err) => PeerError::from_json(&err),
        }
    }

    #[test]
    fn read_failures_owe_a_close_only_when_the_peer_can_hear_it() {
        use tokio_tungstenite::tungstenite::error::{CapacityError, Error as Ws, ProtocolError};
        let too_long = Ws::Capacity(CapacityError::MessageTooLong { size: 9, max_size: 1 });
        assert_eq!(read_failure_close(too_long), Some((1009, "frame too large")));
        let masked = Ws::Protocol(ProtocolError::UnmaskedFrameFromClient);
        assert_eq!(read_failure_close(masked).map(|c| c.0), Some(1002));
        assert_eq!(read_failure_close(Ws::Utf8("x".into())).map(|c| c.0), Some(1007));
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(read_failure_close(Ws::Io(reset)), None);
    }

    #[test]
    fn json_failures_are_classified() {
        assert_eq!(parse("{not json"), PeerError::BadJson);
        assert_eq!(parse(""), PeerError::BadJson);
        assert_eq!(parse(r#"{"type":"dance"}"#), PeerError::UnknownType);
        assert_eq!(parse(r#"{"type":"join"}"#), PeerError::UnknownType, "missing field");
        assert_eq!(parse("[1,2]"), PeerError::UnknownType);
    }

    #[test]
    fn only_size_version_floods_and_full_rooms_close_the_socket() {
        assert_eq!(PeerError::FrameTooLarge { len: 9, max: 1 }.reaction(), Reaction::Close(1009));
        assert_eq!(PeerError::VersionMismatch { got: 9 }.reaction(), Reaction::Close(close_code::VERSION_MISMATCH));
        assert_eq!(PeerError::NotHost.reaction(), Reaction::Reply(ErrorCode::NotHost));
        assert_eq!(PeerError::RateLimited.reaction(), Reaction::Reply(ErrorCode::RateLimited));
        assert_eq!(PeerError::Flooding.reaction(), Reaction::Close(close_code::RATE_LIMITED));
        assert_eq!(PeerError::SessionFull.reaction(), Reaction::Close(close_code::SESSION_FULL));
        assert_eq!(PeerError::ServerFull.reaction(), Reaction::Close(close_code::SERVER_FULL));
        assert_eq!(PeerError::ServerFull.close_reason(), "server full");
    }
}
