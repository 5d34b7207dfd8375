//! [`ConnHandle`]: how the registry and the election reach one joined socket (server side, `ssr`): its
//! bounded outbound queue and its close requests.

use super::error::CLOSE_TOO_SLOW;
use crate::p2p::protocol::{PeerId, Role, ServerToClient};
use axum::extract::ws::Message;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};

/// Why the server wants a socket closed, sent to its connection task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CloseRequest {
    /// WebSocket close code.
    pub code: u16,
    /// Short reason for the close frame.
    pub reason: &'static str,
}

/// How to reach one joined socket, and what it was last told.
#[derive(Clone, Debug)]
pub(crate) struct ConnHandle {
    /// Unique per socket on this node; a reloaded tab's new socket has a new one.
    pub conn_id: u64,
    /// Join order within the node (the earliest-joined waiting socket is promoted first).
    pub joined: u64,
    /// Outbound queue, drained by the socket's writer task.
    pub tx: mpsc::Sender<Message>,
    /// Asks the socket's task to close with a code.
    pub closer: watch::Sender<Option<CloseRequest>>,
    /// Role last announced to the socket.
    pub role: Role,
    /// Host last announced to the socket.
    pub host: PeerId,
    /// The remote host socket (`host@node/conn`) this socket was last introduced to with `PeerJoined`, so
    /// the bus and the sweep never introduce it twice to the same host socket.
    pub introduced: Option<String>,
}

impl ConnHandle {
    /// Queues `frame` (serialized once). A full queue closes the socket as too slow; a closed one means the
    /// socket is ending and the frame is moot. Returns whether the frame was queued.
    pub fn send(&self, frame: &ServerToClient) -> bool {
        match serde_json::to_string(frame) {
            Ok(text) => self.send_raw(Message::Text(text.into())),
            Err(err) => {
                tracing::error!(conn = self.conn_id, %err, "cannot serialize a server frame");
                false
            }
        }
    }

    /// Queues an already-built WebSocket message (see [`ConnHandle::send`]).
    pub fn send_raw(&self, message: Message) -> bool {
        match self.tx.try_send(message) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                tracing::warn!(conn = self.conn_id, "outbound queue full, closing a slow socket");
                self.close(CloseRequest { code: CLOSE_TOO_SLOW, reason: "too slow" });
                false
            }
            Err(TrySendError::Closed(_)) => false,
        }
    }

    /// Asks the socket's task to close; the first request wins.
    pub fn close(&self, request: CloseRequest) {
        self.closer.send_if_modified(|current| {
            let first = current.is_none();
            if first {
                *current = Some(request);
            }
            first
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_outbound_queue_closes_the_slow_socket_with_1008() {
        let (tx, _rx) = mpsc::channel(2);
        let (closer, close_rx) = watch::channel(None);
        let slow = ConnHandle {
            conn_id: 1,
            joined: 1,
            tx,
            closer,
            role: Role::Client,
            host: PeerId("h#1".into()),
            introduced: None,
        };
        let frame = ServerToClient::PeerLeft { peer: PeerId("a#1".into()) };
        assert!(slow.send(&frame) && slow.send(&frame), "room for two frames");
        assert!(close_rx.borrow().is_none());
        assert!(!slow.send(&frame), "the third does not fit");
        assert_eq!(*close_rx.borrow(), Some(CloseRequest { code: CLOSE_TOO_SLOW, reason: "too slow" }));
        assert_eq!(CLOSE_TOO_SLOW, 1008);
    }
}
