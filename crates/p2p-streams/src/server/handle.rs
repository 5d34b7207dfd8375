//! [`ConnHandle`]: how the registry and the election reach one joined socket (server side, `ssr`): its
//! bounded outbound queue and its close requests, both in one small shared [`Outbound`].
//!
//! The socket's own task owns the WebSocket and writes what is queued here when woken (there is no separate
//! writer task). An idle socket's queue holds no allocation: a `VecDeque` allocates only once a frame waits,
//! where a `tokio::sync::mpsc` channel reserves a block of 32 slots up front (about 1.9 KiB per socket at
//! 20,000 idle sockets, see docs/performance.md).

use super::error::CLOSE_TOO_SLOW;
use crate::protocol::{PeerId, Role, ServerToClient};
use futures::task::AtomicWaker;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use tokio_tungstenite::tungstenite::Message;

/// Why the server wants a socket closed, sent to its connection task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CloseRequest {
    /// WebSocket close code.
    pub code: u16,
    /// Short reason for the close frame.
    pub reason: &'static str,
}

/// What waits for one socket's task: frames to write and a close request.
#[derive(Debug, Default)]
struct Pending {
    /// Frames to write, oldest first.
    frames: VecDeque<Message>,
    /// The first close request, if any.
    close: Option<CloseRequest>,
    /// The socket's task has stopped writing: frames are refused.
    ended: bool,
}

/// The shared half of one socket: its queue, its close request, and the wake-up for its task (the only
/// task that waits on it).
#[derive(Debug)]
pub(crate) struct Outbound {
    /// Guarded by a std mutex, never held across an `.await`.
    pending: Mutex<Pending>,
    /// Set when a frame or a close request arrives, cleared when the task sees it (so a wake-up that comes
    /// while the task is busy is not lost).
    signalled: AtomicBool,
    /// The socket's task, while it waits.
    waker: AtomicWaker,
    /// Frames that may wait before the socket is closed as too slow.
    capacity: usize,
}

impl Outbound {
    /// An empty queue holding at most `capacity` frames.
    pub fn new(capacity: usize) -> Self {
        Outbound {
            pending: Mutex::new(Pending::default()),
            signalled: AtomicBool::new(false),
            waker: AtomicWaker::new(),
            capacity: capacity.max(1),
        }
    }

    /// Tells the socket's task that something arrived.
    fn signal(&self) {
        self.signalled.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// `Ready` once something arrived since the last time it was.
    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.signalled.swap(false, Ordering::AcqRel) {
            return Poll::Ready(());
        }
        self.waker.register(cx.waker());
        if self.signalled.swap(false, Ordering::AcqRel) {
            return Poll::Ready(());
        }
        Poll::Pending
    }

    /// Locks the state; every update is a single step, so a poisoned lock still holds consistent data.
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Resolves once something was queued or a close was requested since the last call returned. The future
    /// is a reference and nothing more (it sits in every idle socket's task).
    pub fn ready(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(|cx| self.poll_ready(cx))
    }

    /// Takes every queued frame, leaving an empty queue that holds no allocation.
    pub fn take_frames(&self) -> VecDeque<Message> {
        std::mem::take(&mut self.lock().frames)
    }

    /// The close request, if one was made.
    pub fn close_request(&self) -> Option<CloseRequest> {
        self.lock().close
    }

    /// The socket's task stops writing: later frames are refused and the queue's memory is freed.
    pub fn end(&self) {
        let mut pending = self.lock();
        pending.ended = true;
        pending.frames = VecDeque::new();
    }
}

/// How to reach one joined socket, and what it was last told.
#[derive(Clone, Debug)]
pub(crate) struct ConnHandle {
    /// Unique per socket on this node; a reloaded tab's new socket has a new one.
    pub conn_id: u64,
    /// Join order within the node (the earliest-joined waiting socket is promoted first).
    pub joined: u64,
    /// Outbound queue and close requests, drained by the socket's task.
    pub out: Arc<Outbound>,
    /// Role last announced to the socket.
    pub role: Role,
    /// Host last announced to the socket.
    pub host: PeerId,
    /// The remote host socket (`host@node/conn`) this socket was last introduced to with `PeerJoined`, so
    /// the bus and the sweep never introduce it twice to the same host socket.
    pub introduced: Option<Box<str>>,
}

impl ConnHandle {
    /// A handle for socket `conn_id` of `peer` (not joined yet), with room for `capacity` queued frames.
    pub fn new(conn_id: u64, peer: PeerId, capacity: usize) -> Self {
        let out = Arc::new(Outbound::new(capacity));
        ConnHandle { conn_id, joined: 0, out, role: Role::Client, host: peer, introduced: None }
    }

    /// Queues `frame` (serialized once). A full queue closes the socket as too slow; an ended one means the
    /// socket is going and the frame is moot. Returns whether the frame was queued.
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
        let mut pending = self.out.lock();
        if pending.ended {
            return false;
        }
        if pending.frames.len() >= self.out.capacity {
            drop(pending);
            tracing::warn!(conn = self.conn_id, "outbound queue full, closing a slow socket");
            self.close(CloseRequest { code: CLOSE_TOO_SLOW, reason: "too slow" });
            return false;
        }
        pending.frames.push_back(message);
        drop(pending);
        self.out.signal();
        true
    }

    /// Asks the socket's task to close; the first request wins.
    pub fn close(&self, request: CloseRequest) {
        let first = {
            let mut pending = self.out.lock();
            let first = pending.close.is_none();
            pending.close.get_or_insert(request);
            first
        };
        if first {
            self.out.signal();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_outbound_queue_closes_the_slow_socket_with_1008() {
        let slow = ConnHandle::new(1, PeerId("h#1".into()), 2);
        let frame = ServerToClient::PeerLeft { peer: PeerId("a#1".into()) };
        assert!(slow.send(&frame) && slow.send(&frame), "room for two frames");
        assert!(slow.out.close_request().is_none());
        assert!(!slow.send(&frame), "the third does not fit");
        assert_eq!(slow.out.close_request(), Some(CloseRequest { code: CLOSE_TOO_SLOW, reason: "too slow" }));
        assert_eq!(CLOSE_TOO_SLOW, 1008);
        assert_eq!(slow.out.take_frames().len(), 2, "the queued frames are still written before the close frame");
    }

    #[tokio::test]
    async fn frames_and_close_requests_wake_the_task_and_an_ended_queue_refuses_frames() {
        let handle = ConnHandle::new(1, PeerId("h#1".into()), 8);
        assert!(handle.send_raw(Message::Ping(Default::default())));
        handle.out.ready().await;
        handle.close(CloseRequest { code: 4000, reason: "first" });
        handle.close(CloseRequest { code: 4001, reason: "second" });
        handle.out.ready().await;
        assert_eq!(handle.out.close_request().map(|c| c.code), Some(4000), "the first request wins");
        handle.out.end();
        assert!(!handle.send_raw(Message::Ping(Default::default())), "nobody writes any more");
        assert!(handle.out.take_frames().is_empty(), "end frees what was queued");
    }
}
