//! How one socket's received frames are handled (server side, `ssr`): the rate limit, the fast path that
//! forwards a signal to a socket on this node without parsing its SDP, the typed path (join, roster, signals
//! for other nodes), and refusals (an `Error` frame, or a close code).

use super::{Connection, Exit};
use crate::protocol::{ClientToServer, ErrorCode, PeerId, Role, ServerToClient, SignalPayload, PROTOCOL_VERSION};
use crate::server::election::{self, JoinError, Leave};
use crate::server::error::{PeerError, Reaction, ServerError};
use crate::server::limits::Verdict;
use crate::server::metrics;
use crate::server::registry::CloseRequest;
use crate::server::route::{self, RawSignal};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

impl Connection {
    /// Handles one received message (not Close) within the socket's rate limit: `Ok(Some(frame))` is a
    /// parsed frame for [`Connection::on_typed`]; `Err` ends the socket.
    pub(super) fn on_message(&mut self, message: Message, now: Instant) -> Result<Option<ClientToServer>, Exit> {
        match self.bucket.take(now) {
            Verdict::Pass => {}
            Verdict::Drop { first: true } => return self.refuse(PeerError::RateLimited).map(|()| None),
            Verdict::Drop { first: false } => {
                metrics::peer_error(&PeerError::RateLimited);
                return Ok(None);
            }
            Verdict::Close => return self.refuse(PeerError::Flooding).map(|()| None),
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
                        Ok(frame) => return Ok(Some(frame)),
                        Err(err) => Err(PeerError::from_json(&err)),
                    },
                }
            }
            Message::Binary(data) if data.len() > max => Err(PeerError::FrameTooLarge { len: data.len(), max }),
            Message::Binary(_) => Err(PeerError::BinaryFrame),
            // Pings are answered by the codec; a Pong only proves liveness (`seen` was updated).
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) | Message::Frame(_) => Ok(()),
        };
        result.or_else(|err| self.refuse(err)).map(|()| None)
    }

    /// Handles a parsed frame; a refused one is answered or ends the socket (`Err`).
    pub(super) async fn on_typed(&mut self, frame: ClientToServer) -> Result<(), Exit> {
        self.on_frame(frame).await?.or_else(|err| self.refuse(err))
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
            ClientToServer::Report { forger, entries } => {
                // A peer's word only: logged and counted for operators, never acted on.
                tracing::warn!(%forger, entries, "a peer refused forged history entries");
                metrics::forgeries_reported(entries);
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
