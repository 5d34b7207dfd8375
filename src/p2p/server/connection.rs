//! One signaling socket after the upgrade (server side, `ssr`): the axum chat example's shape.
//!
//! The socket is split; a writer task drains a bounded queue of ready-made messages (so the registry can
//! queue frames for this socket without awaiting), and the reader loop below `select!`s on the socket, the
//! ping interval, the idle (ping-timeout) deadline, the join deadline, close requests from other tasks and the
//! server's shutdown signal. The identity (session, peer) comes from the verified token, never from frames.

use super::election::{self, JoinError, Leave};
use super::error::{read_failure_close, PeerError, Reaction, ServerError};
use super::limits::{TokenBucket, Verdict};
use super::registry::{CloseRequest, ConnHandle};
use super::route::{self, RawSignal};
use super::{metrics, Inner};
use crate::p2p::protocol::{
    close_code, ClientToServer, ErrorCode, PeerId, Role, ServerToClient, SessionId, SignalPayload, PROTOCOL_VERSION,
};
use axum::extract::ws::{CloseFrame, Message};
use futures::{Sink, SinkExt, Stream, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
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

/// The per-socket state the reader loop needs.
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
    from_json: String,
}

/// Serves one upgraded socket until it ends. Generic over the socket so it can run on any message stream.
pub(crate) async fn serve<S>(inner: Arc<Inner>, socket: S, session: SessionId, peer: PeerId, conn_id: u64)
where
    S: Stream<Item = Result<Message, axum::Error>> + Sink<Message> + Send + 'static,
{
    let (sink, mut stream) = socket.split();
    let (tx, rx) = mpsc::channel(inner.config.outbound_queue);
    let (closer, close_rx) = watch::channel(None);
    let mut writer = tokio::spawn(write_loop(sink, rx));
    let handle =
        ConnHandle { conn_id, joined: 0, tx, closer, role: Role::Client, host: peer.clone(), introduced: None };
    let bucket = TokenBucket::new(inner.config.rate_limit_per_sec, inner.config.rate_limit_burst, Instant::now());
    let from_json = serde_json::to_string(&peer).unwrap_or_default();
    let mut conn =
        Connection { inner, session, peer, handle, joined: false, negotiating_since: None, bucket, from_json };

    let exit = conn.read_loop(&mut stream, close_rx).await;
    if conn.joined {
        // Boxed (here and for join and refresh): a rare step's state is allocated while it runs instead of
        // enlarging every idle socket's task by its size.
        Box::pin(election::leave(&conn.inner, &conn.session, &conn.peer, conn_id, exit.how)).await;
    }
    match exit.close {
        Some(CloseRequest { code, reason }) => {
            tracing::info!(code, reason, "closing socket");
            let frame = Message::Close(Some(CloseFrame { code, reason: reason.into() }));
            let deadline = Instant::now() + CLOSE_LINGER;
            if conn.handle.tx.try_send(frame).is_ok() && tokio::time::timeout_at(deadline, &mut writer).await.is_ok() {
                // Give the peer until the deadline to answer the close handshake before the TCP connection goes.
                // If the stream ends without the peer's Close (a read error: an oversized frame whose payload
                // is still unread), keep the connection until the deadline without reading: closing it with
                // unread data sends a TCP reset, which can destroy our close frame before the peer reads it.
                let drain = async {
                    while let Some(Ok(message)) = stream.next().await {
                        if matches!(message, Message::Close(_)) {
                            while let Some(Ok(_)) = stream.next().await {}
                            return;
                        }
                    }
                    std::future::pending::<()>().await
                };
                let _ = tokio::time::timeout_at(deadline, drain).await;
                return;
            }
            writer.abort();
        }
        None => writer.abort(),
    }
}

/// Sends queued messages in order, flushing once per batch; stops after a close frame or when the socket fails.
async fn write_loop<K>(mut sink: K, mut rx: mpsc::Receiver<Message>)
where
    K: Sink<Message> + Unpin,
{
    // Everything already queued goes out in one flush (one write syscall for a burst of signals).
    'outer: while let Some(mut message) = rx.recv().await {
        loop {
            let closing = matches!(message, Message::Close(_));
            metrics::sent(&message);
            if sink.feed(message).await.is_err() {
                break 'outer;
            }
            if closing {
                let _ = sink.flush().await;
                break 'outer;
            }
            match rx.try_recv() {
                Ok(next) => message = next,
                Err(_) => break,
            }
        }
        if sink.flush().await.is_err() {
            break;
        }
    }
    let _ = sink.close().await;
}

impl Connection {
    /// Reads frames until the socket ends or must be closed.
    async fn read_loop<R>(&mut self, stream: &mut R, mut close_rx: watch::Receiver<Option<CloseRequest>>) -> Exit
    where
        R: Stream<Item = Result<Message, axum::Error>> + Unpin,
    {
        let config = self.inner.config.clone();
        let mut shutdown = self.inner.shutdown.subscribe();
        if *shutdown.borrow_and_update() {
            return shutting_down();
        }
        let start = Instant::now();
        let mut ping = tokio::time::interval_at(start + config.ping_interval, config.ping_interval);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let idle = tokio::time::sleep_until(start + config.ping_timeout);
        let join_deadline = tokio::time::sleep_until(start + config.join_timeout);
        tokio::pin!(idle, join_deadline);
        let mut close_received = false;

        loop {
            tokio::select! {
                message = stream.next() => match message {
                    Some(Ok(message)) => {
                        metrics::received(&message);
                        // After a Close, keep reading briefly: the stream ends once the codec has sent our
                        // reply to the close handshake.
                        close_received |= matches!(message, Message::Close(_));
                        let linger = if close_received { CLOSE_LINGER } else { config.ping_timeout };
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
                changed = close_rx.changed() => {
                    let request = *close_rx.borrow_and_update();
                    if let (Ok(()), Some(request)) = (changed, request) {
                        return Exit { how: Leave::Abnormal, close: Some(request) };
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
                        Ok(frame) => self.on_frame(frame).await?,
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
