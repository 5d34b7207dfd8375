//! One signaling socket after the upgrade (server side, `ssr`): the axum chat example's shape.
//!
//! The socket is split; a writer task drains a bounded queue of ready-made messages (so the registry can
//! queue frames for this socket without awaiting), and the reader loop below `select!`s on the socket, the
//! ping interval, the idle (ping-timeout) deadline, the join deadline, close requests from other tasks and the
//! server's shutdown signal. The identity (session, peer) comes from the verified token, never from frames.

use super::election::{self, Leave};
use super::error::{PeerError, Reaction, ServerError};
use super::registry::{CloseRequest, ConnHandle};
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
    let mut conn = Connection { inner, session, peer, handle, joined: false, negotiating_since: None };

    let exit = conn.read_loop(&mut stream, close_rx).await;
    if conn.joined {
        election::leave(&conn.inner, &conn.session, &conn.peer, conn_id, exit.how).await;
    }
    match exit.close {
        Some(CloseRequest { code, reason }) => {
            tracing::info!(code, reason, "closing socket");
            let frame = Message::Close(Some(CloseFrame { code, reason: reason.into() }));
            let deadline = Instant::now() + CLOSE_LINGER;
            if conn.handle.tx.try_send(frame).is_ok() && tokio::time::timeout_at(deadline, &mut writer).await.is_ok() {
                // Give the peer until the deadline to answer the close handshake before the TCP connection goes.
                let drain = async { while let Some(Ok(_)) = stream.next().await {} };
                let _ = tokio::time::timeout_at(deadline, drain).await;
                return;
            }
            writer.abort();
        }
        None => writer.abort(),
    }
}

/// Sends queued messages in order; stops after a close frame or when the socket fails.
async fn write_loop<K>(mut sink: K, mut rx: mpsc::Receiver<Message>)
where
    K: Sink<Message> + Unpin,
{
    while let Some(message) = rx.recv().await {
        let closing = matches!(message, Message::Close(_));
        metrics::sent(&message);
        if sink.send(message).await.is_err() || closing {
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
                        return Exit { how: Leave::Abnormal, close: None };
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
                        election::refresh(&self.inner, &self.session, &self.peer, self.handle.conn_id).await;
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

    /// Handles one received message (not Close). `Err` ends the socket.
    async fn on_message(&mut self, message: Message) -> Result<(), Exit> {
        let max = self.inner.config.max_frame_bytes;
        let result = match message {
            Message::Text(text) if text.len() > max => Err(PeerError::FrameTooLarge { len: text.len(), max }),
            Message::Text(text) => match serde_json::from_str::<ClientToServer>(text.as_str()) {
                Ok(frame) => self.on_frame(frame).await?,
                Err(err) => Err(PeerError::from_json(&err)),
            },
            Message::Binary(data) if data.len() > max => Err(PeerError::FrameTooLarge { len: data.len(), max }),
            Message::Binary(_) => Err(PeerError::BinaryFrame),
            // Pings are answered by the codec; a Pong only proves liveness (the idle clock was reset).
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => Ok(()),
        };
        let Err(err) = result else { return Ok(()) };
        tracing::debug!(%err, "refused a frame");
        metrics::peer_error(&err);
        match err.reaction() {
            Reaction::Reply(code) => {
                self.handle.send(&ServerToClient::Error { code, message: err.to_string() });
                Ok(())
            }
            Reaction::Close(code) => {
                let reason = match err {
                    PeerError::VersionMismatch { .. } => "protocol version mismatch",
                    _ => "frame too large",
                };
                Err(Exit { how: Leave::Abnormal, close: Some(CloseRequest { code, reason }) })
            }
        }
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
                match election::join(&self.inner, &self.session, &self.peer, handle, lost_host).await {
                    Ok(role) => {
                        self.joined = true;
                        self.negotiating_since = (role == Role::Client).then(Instant::now);
                        Ok(Ok(()))
                    }
                    Err(err) => {
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
