//! One signaling socket after the upgrade (server side, `ssr`).
//!
//! One task per socket: it owns the WebSocket, reads frames, and writes what other tasks queued for it in its
//! [`Outbound`] when woken (several queued frames go out in one flush). The loop `select!`s on the socket, the
//! queue, one timer (the next ping, the idle deadline, the join deadline) and the server's shutdown signal.
//! Frame handling is in [`dispatch`]. Keeping everything in one task, with an allocation-free idle queue and
//! rare steps boxed, is what keeps an idle socket small (docs/performance.md, W1). The identity (session,
//! peer) comes from the verified token, never from frames.

mod dispatch;

use super::election::{self, Leave};
use super::error::{read_failure_close, ServerError};
use super::handle::Outbound;
use super::limits::TokenBucket;
use super::registry::{CloseRequest, ConnHandle};
use super::{metrics, Inner};
use crate::protocol::{close_code, PeerId, SessionId};
use futures::{Sink, SinkExt, Stream, StreamExt};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// How long a closing socket may take to flush its queue and close frame, or to finish a close handshake the
/// peer started, before it is dropped.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// Why the reader loop stopped: how the peer left, and the close frame we owe it, if any.
struct Exit {
    /// Clean, abnormal or shutdown (matters only for a host).
    how: Leave,
    /// Close frame to send before dropping the socket.
    close: Option<CloseRequest>,
}

/// The per-socket state the loop needs.
pub(crate) struct Connection {
    /// The server (store, registry, config).
    inner: Arc<Inner>,
    /// From the token.
    session: SessionId,
    /// From the token and the tab nonce.
    peer: PeerId,
    /// This socket's handle (also registered once joined).
    handle: ConnHandle,
    /// Whether `join` succeeded.
    joined: bool,
    /// When this socket joined as a client, until its first answer is relayed (the negotiation histogram).
    negotiating_since: Option<Instant>,
    /// The socket's frame-rate budget.
    bucket: TokenBucket,
    /// `peer` as a JSON string, encoded once: the `from` of every signal this socket sends.
    from_json: Box<str>,
}

impl Connection {
    /// The state of socket `conn_id` of `peer` in `session`, before it joins.
    pub(crate) fn new(inner: Arc<Inner>, session: SessionId, peer: PeerId, conn_id: u64) -> Self {
        let handle = ConnHandle::new(conn_id, peer.clone(), inner.config.outbound_queue);
        let bucket = TokenBucket::new(inner.config.rate_limit_per_sec, inner.config.rate_limit_burst, Instant::now());
        let from_json = serde_json::to_string(&peer).unwrap_or_default().into();
        Connection { inner, session, peer, handle, joined: false, negotiating_since: None, bucket, from_json }
    }

    /// The server this socket belongs to.
    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }
}

/// Serves one upgraded socket until it ends. Generic over the socket so it can run on any message stream.
pub(crate) async fn serve<S>(mut conn: Box<Connection>, mut socket: S)
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message> + Unpin + Send + 'static,
{
    let (out, conn_id) = (conn.handle.out.clone(), conn.handle.conn_id);
    let exit = conn.run(&mut socket, &out).await;
    if conn.joined {
        // Boxed (here and for join, refresh and typed frames): a rare step's state is allocated while it runs
        // instead of enlarging every idle socket's task by its size.
        Box::pin(election::leave(&conn.inner, &conn.session, &conn.peer, conn_id, exit.how)).await;
    }
    // Whatever is still queued goes out before the close frame; nothing is queued after this.
    let frames = out.take_frames();
    out.end();
    if let Some(request) = exit.close {
        Box::pin(close(&mut socket, frames, request)).await;
    }
}

/// Writes what was still queued and the close frame, then waits (at most [`CLOSE_LINGER`] in all) for the
/// peer's side of the close handshake.
async fn close<S>(socket: &mut S, mut frames: VecDeque<Message>, CloseRequest { code, reason }: CloseRequest)
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message> + Unpin,
{
    tracing::info!(code, reason, "closing socket");
    frames.push_back(Message::Close(Some(CloseFrame { code: code.into(), reason: reason.into() })));
    let deadline = Instant::now() + CLOSE_LINGER;
    if let Ok(Ok(())) = tokio::time::timeout_at(deadline, write_frames(socket, frames)).await {
        // Give the peer until the deadline to answer the close handshake before the TCP connection goes. If
        // the stream ends without the peer's Close (a read error: an oversized frame whose payload is still
        // unread), keep the connection until the deadline without reading: closing it with unread data sends
        // a TCP reset, which can destroy our close frame before the peer reads it.
        let drain = async {
            while let Some(Ok(message)) = socket.next().await {
                if matches!(message, Message::Close(_)) {
                    while let Some(Ok(_)) = socket.next().await {}
                    return;
                }
            }
            std::future::pending::<()>().await
        };
        let _ = tokio::time::timeout_at(deadline, drain).await;
    }
}

/// Writes `frames` in order and flushes once (one write syscall for a burst of signals).
async fn write_frames<K>(sink: &mut K, mut frames: VecDeque<Message>) -> Result<(), K::Error>
where
    K: Sink<Message> + Unpin,
{
    while let Some(message) = frames.pop_front() {
        metrics::sent(&message);
        sink.feed(message).await?;
    }
    sink.flush().await
}

/// Writes what is queued for the socket until the queue is empty; `Some` ends the socket: a close request
/// (also one made while a write is blocked: a slow peer's full queue), a failed write, or a peer that took
/// nothing for `stall` (a peer that reads nothing is gone, like one that sends nothing).
async fn write_queued<S>(socket: &mut S, out: &Outbound, stall: Duration) -> Option<Exit>
where
    S: Sink<Message> + Unpin,
{
    let close = |request| Some(Exit { how: Leave::Abnormal, close: Some(request) });
    loop {
        if let Some(request) = out.close_request() {
            return close(request);
        }
        let frames = out.take_frames();
        if frames.is_empty() {
            return None;
        }
        let write = tokio::time::timeout(stall, write_frames(socket, frames));
        tokio::pin!(write);
        // Wake-ups during the write are consumed here; the loop re-reads the queue afterwards.
        let closing = async {
            loop {
                out.ready().await;
                if let Some(request) = out.close_request() {
                    return request;
                }
            }
        };
        tokio::select! {
            written = &mut write => match written {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Some(Exit { how: Leave::Abnormal, close: None }),
                Err(_) => {
                    tracing::info!("write timeout: the peer reads nothing");
                    return Some(Exit { how: Leave::Abnormal, close: None });
                }
            },
            request = closing => return close(request),
        }
    }
}

/// The socket's deadlines, served by one timer.
struct Clock {
    /// A socket that has not joined by then is closed.
    join_at: Instant,
    /// When the next Ping goes out.
    next_ping: Instant,
    /// When anything last arrived from the peer.
    seen: Instant,
    /// How long the peer may stay silent while the socket is open.
    ping_timeout: Duration,
    /// The peer sent a Close: it has [`CLOSE_LINGER`] to finish the handshake, and its frames are ignored.
    closing: bool,
    /// Time between Pings.
    ping_interval: Duration,
}

impl Clock {
    /// When silence since `seen` ends the socket.
    fn silent_at(&self) -> Instant {
        self.seen + if self.closing { CLOSE_LINGER } else { self.ping_timeout }
    }

    /// The earliest deadline still to watch.
    fn next(&self, joined: bool) -> Instant {
        let due = self.silent_at().min(self.next_ping);
        if joined {
            due
        } else {
            due.min(self.join_at)
        }
    }

    /// The exit owed at `now`, if a deadline passed: no join in time, or silence (a ping timeout, or the end
    /// of a close handshake the peer started).
    fn expired(&self, now: Instant, joined: bool) -> Option<Exit> {
        if !joined && now >= self.join_at {
            let close = CloseRequest { code: close_code::JOIN_TIMEOUT, reason: "no join frame" };
            return Some(Exit { how: Leave::Abnormal, close: Some(close) });
        }
        if now < self.silent_at() {
            return None;
        }
        if self.closing {
            return Some(Exit { how: Leave::Clean, close: None });
        }
        tracing::info!("ping timeout");
        let close = CloseRequest { code: close_code::PING_TIMEOUT, reason: "ping timeout" };
        Some(Exit { how: Leave::Abnormal, close: Some(close) })
    }
}

impl Connection {
    /// Reads frames and writes queued ones until the socket ends or must be closed.
    async fn run<S>(&mut self, socket: &mut S, out: &Outbound) -> Exit
    where
        S: Stream<Item = Result<Message, WsError>> + Sink<Message> + Unpin,
    {
        let config = &self.inner.config;
        let (ping_interval, ping_timeout) = (config.ping_interval, config.ping_timeout);
        let mut shutdown = self.inner.shutdown.subscribe();
        if *shutdown.borrow_and_update() {
            return shutting_down();
        }
        let start = Instant::now();
        let mut clock = Clock {
            join_at: start + config.join_timeout,
            next_ping: start + ping_interval,
            seen: start,
            ping_timeout,
            closing: false,
            ping_interval,
        };
        // One timer for the join deadline, the idle deadline and the next ping; it is not reset per message
        // (a frame only moves `seen`), it re-arms itself when it fires early.
        let timer = tokio::time::sleep_until(clock.next(self.joined));
        tokio::pin!(timer);

        loop {
            tokio::select! {
                message = socket.next() => match message {
                    Some(Ok(message)) => {
                        metrics::received(&message);
                        let now = Instant::now();
                        clock.seen = now;
                        if matches!(message, Message::Close(_)) {
                            // Keep reading briefly: the stream ends once the codec has sent our reply to the
                            // close handshake.
                            clock.closing = true;
                            timer.as_mut().reset(clock.silent_at());
                        } else if !clock.closing {
                            match self.on_message(message, now) {
                                Ok(None) => {}
                                Ok(Some(frame)) => {
                                    // The typed path (join, roster, a signal for another node) is boxed: its
                                    // state is allocated while it runs, not reserved in every idle socket.
                                    if let Err(exit) = Box::pin(self.on_typed(frame)).await {
                                        return exit;
                                    }
                                }
                                Err(exit) => return exit,
                            }
                        }
                    }
                    Some(Err(err)) => {
                        tracing::debug!(%err, "socket read failed");
                        let close = read_failure_close(err).map(|(code, reason)| CloseRequest { code, reason });
                        return Exit { how: Leave::Abnormal, close };
                    }
                    None => {
                        let how = if clock.closing { Leave::Clean } else { Leave::Abnormal };
                        return Exit { how, close: None };
                    }
                },
                () = out.ready() => {
                    if let Some(exit) = Box::pin(write_queued(socket, out, ping_timeout)).await {
                        return exit;
                    }
                }
                () = &mut timer => {
                    let now = Instant::now();
                    if let Some(exit) = clock.expired(now, self.joined) {
                        return exit;
                    }
                    if now >= clock.next_ping && !clock.closing {
                        clock.next_ping = now + clock.ping_interval;
                        self.handle.send_raw(Message::Ping(Default::default()));
                        if self.joined {
                            let (inner, session, peer) = (&self.inner, &self.session, &self.peer);
                            Box::pin(election::refresh(inner, session, peer, self.handle.conn_id)).await;
                        }
                    }
                    timer.as_mut().reset(clock.next(self.joined));
                }
                _ = shutdown.changed() => return shutting_down(),
            }
        }
    }
}

/// The exit for a server shutdown: tell the peer to reconnect.
fn shutting_down() -> Exit {
    let err = ServerError::ShuttingDown;
    Exit { how: Leave::Shutdown, close: Some(CloseRequest { code: err.close_code(), reason: err.close_reason() }) }
}
