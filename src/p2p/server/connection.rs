//! One signaling socket after the upgrade (server side, `ssr`).
//!
//! One task per socket: it owns the WebSocket, reads frames, and writes what other tasks queued for it in its
//! [`Outbound`] when woken (several queued frames go out in one flush). The loop `select!`s on the socket, the
//! queue, the ping interval, the idle (ping-timeout) deadline, the join deadline and the server's shutdown
//! signal. Keeping everything in one task with an allocation-free idle queue is what keeps an idle socket
//! small (docs/performance.md, W1). The identity (session, peer) comes from the verified token, never from
//! frames.

use super::election::{self, JoinError, Leave};
use super::error::{read_failure_close, PeerError, Reaction, ServerError};
use super::handle::Outbound;
use super::limits::{TokenBucket, Verdict};
use super::registry::{CloseRequest, ConnHandle};
use super::route::{self, RawSignal};
use super::{metrics, Inner};
use crate::p2p::protocol::{
    close_code, ClientToServer, ErrorCode, PeerId, Role, ServerToClient, SessionId, SignalPayload, PROTOCOL_VERSION,
};
use axum::extract::ws::{CloseFrame, Message};
use futures::{Sink, SinkExt, Stream, StreamExt};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{Instant, MissedTickBehavior};

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
struct Connection {
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

/// Serves one upgraded socket until it ends. Generic over the socket so it can run on any message stream.
pub(crate) async fn serve<S>(inner: Arc<Inner>, mut socket: S, session: SessionId, peer: PeerId, conn_id: u64)
where
    S: Stream<Item = Result<Message, axum::Error>> + Sink<Message> + Unpin + Send + 'static,
{
    let handle = ConnHandle::new(conn_id, peer.clone(), inner.config.outbound_queue);
    let out = handle.out.clone();
    let bucket = TokenBucket::new(inner.config.rate_limit_per_sec, inner.config.rate_limit_burst, Instant::now());
    let from_json = serde_json::to_string(&peer).unwrap_or_default().into();
    let mut conn =
        Connection { inner, session, peer, handle, joined: false, negotiating_since: None, bucket, from_json };

    let exit = conn.run(&mut socket, &out).await;
    if conn.joined {
        // Boxed (here and for join, refresh and typed frames): a rare step's state is allocated while it runs
        // instead of enlarging every idle socket's task by its size.
        Box::pin(election::leave(&conn.inner, &conn.session, &conn.peer, conn_id, exit.how)).await;
    }
    // Whatever is still queued goes out before the close frame; nothing is queued after this.
    let mut frames = out.take_frames();
    out.end();
    let Some(CloseRequest { code, reason }) = exit.close else { return };
    tracing::info!(code, reason, "closing socket");
    frames.push_back(Message::Close(Some(CloseFrame { code, reason: reason.into() })));
    let deadline = Instant::now() + CLOSE_LINGER;
    if let Ok(Ok(())) = tokio::time::timeout_at(deadline, write_frames(&mut socket, frames)).await {
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

impl Connection {
    /// Reads frames and writes queued ones until the socket ends or must be closed.
    async fn run<S>(&mut self, socket: &mut S, out: &Outbound) -> Exit
    where
        S: Stream<Item = Result<Message, axum::Error>> + Sink<Message> + Unpin,
    {
        let config = &self.inner.config;
        let (ping_interval, ping_timeout) = (config.ping_interval, config.ping_timeout);
        let mut shutdown = self.inner.shutdown.subscribe();
        if *shutdown.borrow_and_update() {
            return shutting_down();
        }
        let start = Instant::now();
        let mut ping = tokio::time::interval_at(start + ping_interval, ping_interval);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let idle = tokio::time::sleep_until(start + ping_timeout);
        let join_deadline = tokio::time::sleep_until(start + config.join_timeout);
        tokio::pin!(idle, join_deadline);
        let mut close_received = false;

        loop {
            tokio::select! {
                message = socket.next() => match message {
                    Some(Ok(message)) => {
                        metrics::received(&message);
                        // After a Close, keep reading briefly: the stream ends once the codec has sent our
                        // reply to the close handshake.
                        close_received |= matches!(message, Message::Close(_));
                        let linger = if close_received { CLOSE_LINGER } else { ping_timeout };
                        idle.as_mut().reset(Instant::now() + linger);
                        if !close_received {
                            if let Err(exit) = self.on_message(message).await {
                                return exit;
                            }
                        }
                    }
                    Some(Err(err)) => {
                        tracing::debug!(%err, "socket read failed");
                        let close = read_failure_close(err).map(|(code, reason)| CloseRequest { code, reason });
                        return Exit { how: Leave::Abnormal, close };
                    }
                    None => {
                        let how = if close_received { Leave::Clean } else { Leave::Abnormal };
                        return Exit { how, close: None };
                    }
                },
                () = out.ready() => {
                    if let Some(exit) = Box::pin(write_queued(socket, out, ping_timeout)).await {
                        return exit;
                    }
                }
                _ = &mut idle => {
                    if close_received {
                        return Exit { how: Leave::Clean, close: None };
                    }
                    tracing::info!("ping timeout");
                    let close = CloseRequest { code: close_code::PING_TIMEOUT, reason: "ping timeout" };
                    return Exit { how: Leave::Abnormal, close: Some(close) };
                }
                _ = &mut join_deadline, if !self.joined => {
                    let close = CloseRequest { code: close_code::JOIN_TIMEOUT, reason: "no join frame" };
                    return Exit { how: Leave::Abnormal, close: Some(close) };
                }
                _ = ping.tick() => {
                    self.handle.send_raw(Message::Ping(Default::default()));
                    if self.joined {
                        Box::pin(election::refresh(&self.inner, &self.session, &self.peer, self.handle.conn_id)).await;
                    }
                }
                _ = shutdown.changed() => return shutting_down(),
            }
        }
    }

    /// Handles one received message (not Close) within the socket's rate limit. `Err` ends the socket.
    async fn on_message(&mut self, message: Message) -> Result<(), Exit> {
        match self.bucket.take(Instant::now()) {
            Verdict::Pass => {}
            Verdict::Drop { first: true } => return self.refuse(PeerError::RateLimited),
            Verdict::Drop { first: false } => {
                metrics::peer_error(&PeerError::RateLimited);
                return Ok(());
            }
            Verdict::Close => return self.refuse(PeerError::Flooding),
        }
        let max = self.inner.config.max_frame_bytes;
        let result = match message {
            Message::Text(text) if text.len() > max => Err(PeerError::FrameTooLarge { len: text.len(), max }),
            Message::Text(text) => {
                // The hot path: a well-formed signal to a socket on this node is forwarded without parsing its
                // SDP. Anything else (a signal for another node included) takes the typed path.
                let fast = route::parse_signal(text.as_str()).filter(|_| self.joined).and_then(|s| self.route(s));
                match fast {
                    Some(result) => result,
                    None => match serde_json::from_str::<ClientToServer>(text.as_str()) {
                        Ok(frame) => Box::pin(self.on_frame(frame)).await?,
                        Err(err) => Err(PeerError::from_json(&err)),
                    },
                }
            }
            Message::Binary(data) if data.len() > max => Err(PeerError::FrameTooLarge { len: data.len(), max }),
            Message::Binary(_) => Err(PeerError::BinaryFrame),
            // Pings are answered by the codec; a Pong only proves liveness (the idle clock was reset).
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => Ok(()),
        };
        match result {
            Ok(()) => Ok(()),
            Err(err) => self.refuse(err),
        }
    }

    /// Answers a refused frame with an `Error` frame, or ends the socket with a close code (`Err`).
    fn refuse(&mut self, err: PeerError) -> Result<(), Exit> {
        tracing::debug!(%err, "refused a frame");
        metrics::peer_error(&err);
        match err.reaction() {
            Reaction::Reply(code) => {
                self.handle.send(&ServerToClient::Error { code, message: err.to_string() });
                Ok(())
            }
            Reaction::Close(code) => {
                tracing::info!(%err, code, "closing a socket for its input");
                let close = CloseRequest { code, reason: err.close_reason() };
                Err(Exit { how: Leave::Abnormal, close: Some(close) })
            }
        }
    }

    /// Forwards a checked signal to its one target on this node, as sent, with this socket's peer stamped as
    /// `from`. `None` when the target is not on this node and other nodes exist (the typed path forwards it).
    fn route(&mut self, signal: RawSignal<'_>) -> Option<Result<(), PeerError>> {
        let to = PeerId(signal.to.into_owned());
        let Some(target) = self.inner.registry.get(&self.session, &to) else {
            // Not on this node: another node may hold it (the typed path asks the cluster), or nobody does.
            return self.inner.cluster.is_none().then_some(Err(PeerError::UnknownPeer(to)));
        };
        tracing::debug!(%to, kind = signal.kind, "routing signal");
        let frame = route::signal_frame(&self.from_json, signal.payload);
        if target.send_raw(Message::Text(frame.into())) {
            metrics::signal_routed(signal.kind);
            if let Some(since) = self.negotiating_since.take_if(|_| signal.kind == "answer") {
                metrics::negotiated(since.elapsed());
            }
        }
        Some(Ok(()))
    }

    /// Handles one parsed frame. The outer `Err` ends the socket; the inner one is the peer's mistake.
    async fn on_frame(&mut self, frame: ClientToServer) -> Result<Result<(), PeerError>, Exit> {
        match frame {
            ClientToServer::Join { .. } if self.joined => Ok(Err(PeerError::AlreadyJoined)),
            ClientToServer::Join { version, .. } if version != PROTOCOL_VERSION => {
                Ok(Err(PeerError::VersionMismatch { got: version }))
            }
            ClientToServer::Join { lost_host, .. } => {
                let handle = self.handle.clone();
                match Box::pin(election::join(&self.inner, &self.session, &self.peer, handle, lost_host)).await {
                    Ok(role) => {
                        self.joined = true;
                        self.negotiating_since = (role == Role::Client).then(Instant::now);
                        Ok(Ok(()))
                    }
                    Err(JoinError::Refused(err)) => self.refuse(err).map(Ok),
                    Err(JoinError::Store(err)) => {
                        let err = ServerError::from(err);
                        tracing::error!(%err, "join failed");
                        let close = CloseRequest { code: err.close_code(), reason: err.close_reason() };
                        Err(Exit { how: Leave::Abnormal, close: Some(close) })
                    }
                }
            }
            _ if !self.joined => Ok(Err(PeerError::NotJoined)),
            ClientToServer::Signal { to, signal } => {
                tracing::debug!(%to, kind = signal.kind(), link = signal.link(), "routing signal");
                let (kind, answer) = (signal.kind(), matches!(signal, SignalPayload::Answer { .. }));
                let frame = ServerToClient::Signal { from: self.peer.clone(), signal };
                let routed = match self.inner.registry.get(&self.session, &to) {
                    // Node-local delivery never touches the shared store.
                    Some(target) => {
                        let queued = target.send(&frame);
                        if queued {
                            metrics::signal_routed(kind);
                        }
                        queued
                    }
                    // On another node, if any (published in order: this task awaits each frame).
                    None => match election::forward(&self.inner, &self.session, &to, frame).await {
                        Ok(true) => true,
                        Ok(false) => return Ok(Err(PeerError::UnknownPeer(to))),
                        Err(err) => {
                            tracing::error!(%err, "could not route a signal to another node");
                            let message = "signal not delivered: the shared session store is unreachable".into();
                            self.handle.send(&ServerToClient::Error { code: ErrorCode::Unavailable, message });
                            return Ok(Ok(()));
                        }
                    },
                };
                if routed {
                    if let Some(since) = self.negotiating_since.take_if(|_| answer) {
                        metrics::negotiated(since.elapsed());
                    }
                }
                Ok(Ok(()))
            }
            ClientToServer::Roster { peers, states } => {
                let role = self.inner.registry.role_of(&self.session, &self.peer, self.handle.conn_id);
                if role != Some(Role::Host) {
                    return Ok(Err(PeerError::NotHost));
                }
                if let Err(err) = self.inner.store.set_roster(&self.session, peers, states).await {
                    tracing::error!(%err, "store failed recording a roster");
                }
                Ok(Ok(()))
            }
        }
    }
}

/// The exit for a server shutdown: tell the peer to reconnect.
fn shutting_down() -> Exit {
    let err = ServerError::ShuttingDown;
    Exit { how: Leave::Shutdown, close: Some(CloseRequest { code: err.close_code(), reason: err.close_reason() }) }
}
