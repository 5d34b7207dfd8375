//! The TURN gate (server side, `ssr`): the listening UDP socket as the `turn` crate sees it. Every datagram
//! passes through [`Gate::inspect`] before the crate handles it: garbage is dropped; authenticated requests are
//! checked against our time-limited credentials (401 for expired, forged, malformed or wrong-realm ones, where
//! the crate would answer 400); Allocate is held to the per-user and global limits (486, 508) and to the
//! lifetime cap; CreatePermission and ChannelBind naming a denied peer get 403, and a Send indication to one is
//! dropped. What passes is handled by the crate, which checks the same key again and answers the nonce dance
//! (401 challenge, 438 stale nonce) itself.

use super::credentials::CredentialError;
use super::ledger::{refused, Refusal};
use super::packet::{self, Packet};
use super::relay::PendingUser;
use super::Shared;
use async_trait::async_trait;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use stun::attributes::{ATTR_MESSAGE_INTEGRITY, ATTR_NONCE, ATTR_REALM, ATTR_USERNAME};
use stun::error_code::{
    ErrorCode, CODE_ALLOC_QUOTA_REACHED, CODE_FORBIDDEN, CODE_INSUFFICIENT_CAPACITY, CODE_UNAUTHORIZED,
};
use stun::integrity::MessageIntegrity;
use stun::message::{
    Message, CLASS_INDICATION, CLASS_REQUEST, METHOD_ALLOCATE, METHOD_BINDING, METHOD_CHANNEL_BIND,
    METHOD_CREATE_PERMISSION, METHOD_REFRESH, METHOD_SEND,
};
use tokio::sync::oneshot;
use webrtc_util::Conn;

/// The lifetime the `turn` crate grants when a request names none (RFC 5766's default).
const DEFAULT_LIFETIME_SECS: u32 = 600;

/// What to do with one datagram.
enum Verdict {
    /// Hand it to the `turn` server unchanged.
    Pass,
    /// Hand these bytes to the `turn` server instead (a re-signed request).
    Replace(Vec<u8>),
    /// Answer the sender with these bytes and drop the datagram.
    Reply(Vec<u8>),
    /// Drop it silently.
    Drop,
}

/// The listening socket (or one TCP connection) with our checks in front of the `turn` crate.
pub(crate) struct Gate {
    /// The transport: the UDP socket, or one client's framed TCP connection.
    io: Arc<dyn Conn + Send + Sync>,
    /// `io`'s local address, read once: the `turn` crate asks for it on every datagram.
    local: Option<SocketAddr>,
    /// Settings, books and policy shared by every listener.
    shared: Arc<Shared>,
    /// The user of the Allocate request being handled (read by this listener's relay ports).
    pub(crate) pending: PendingUser,
    /// Fired when the transport fails or ends (a TCP connection closing).
    ended: Mutex<Option<oneshot::Sender<()>>>,
}

impl Gate {
    /// A gate in front of `io`; `ended` fires when `io` fails.
    pub(crate) fn new(
        io: Arc<dyn Conn + Send + Sync>,
        shared: &Arc<Shared>,
        ended: Option<oneshot::Sender<()>>,
    ) -> Self {
        let local = io.local_addr().ok();
        Gate { io, local, shared: Arc::clone(shared), pending: PendingUser::default(), ended: Mutex::new(ended) }
    }

    /// Decides what happens to `bytes` from `from`.
    fn inspect(&self, bytes: &[u8], from: SocketAddr) -> Verdict {
        let message = match packet::classify(bytes) {
            Packet::ChannelData => return Verdict::Pass,
            Packet::Garbage => {
                refused(Refusal::Malformed);
                return Verdict::Drop;
            }
            Packet::Stun(message) => message,
        };
        let (class, method) = (message.typ.class, message.typ.method);
        if class == CLASS_INDICATION && method == METHOD_SEND {
            return match self.peers_allowed(&message) {
                Ok(()) => Verdict::Pass,
                Err(reason) => {
                    refused(reason);
                    Verdict::Drop
                }
            };
        }
        if class != CLASS_REQUEST {
            refused(Refusal::Malformed);
            return Verdict::Drop;
        }
        let guarded = [METHOD_ALLOCATE, METHOD_REFRESH, METHOD_CREATE_PERMISSION, METHOD_CHANNEL_BIND];
        if method == METHOD_BINDING || !guarded.contains(&method) || !message.contains(ATTR_MESSAGE_INTEGRITY) {
            // Binding (STUN), unknown methods (the crate answers them) and the unauthenticated first try
            // (the crate answers 401 with a nonce).
            return Verdict::Pass;
        }
        let (user, key) = match self.authenticate(&message) {
            Ok(found) => found,
            Err(reason) => return self.refuse(&message, reason),
        };
        match method {
            METHOD_ALLOCATE => {
                if let Err(reason) = self.shared.ledger.admit(&user) {
                    return self.refuse(&message, reason);
                }
                *self.pending.lock().unwrap_or_else(PoisonError::into_inner) = Some((user, from));
                self.capped_lifetime(&message, &key)
            }
            METHOD_REFRESH => self.capped_lifetime(&message, &key),
            _ => match self.peers_allowed(&message) {
                Ok(()) => Verdict::Pass,
                Err(reason) => self.refuse(&message, reason),
            },
        }
    }

    /// The peer part of the user name and the long-term key, if the request's credentials are ours and valid.
    fn authenticate(&self, message: &Message) -> Result<(String, Vec<u8>), Refusal> {
        let realm = packet::text(message, ATTR_REALM).ok_or(Refusal::Malformed)?;
        let username = packet::text(message, ATTR_USERNAME).ok_or(Refusal::Malformed)?;
        if realm != self.shared.realm {
            return Err(Refusal::WrongRealm);
        }
        let (user, key) =
            self.shared.credentials.verify(&username, &realm, crate::token::now_secs()).map_err(|e| match e {
                CredentialError::Expired => Refusal::Expired,
                CredentialError::Malformed => Refusal::MalformedUser,
            })?;
        MessageIntegrity(key.to_vec()).check(&mut message.clone()).map_err(|_| Refusal::BadCredential)?;
        let peer = user.peer;
        Ok((peer.to_owned(), key.to_vec()))
    }

    /// Whether every XOR-PEER-ADDRESS of `message` may be relayed to.
    fn peers_allowed(&self, message: &Message) -> Result<(), Refusal> {
        let peers = packet::peer_addresses(message).ok_or(Refusal::Malformed)?;
        for peer in peers {
            if self.shared.policy.check(peer, |port| self.shared.ledger.is_relay_port(port)).is_err() {
                return Err(Refusal::PeerDenied);
            }
        }
        Ok(())
    }

    /// The request with its LIFETIME capped (re-signed with `key`), or unchanged when within the cap.
    fn capped_lifetime(&self, message: &Message, key: &[u8]) -> Verdict {
        let asked = packet::lifetime(message);
        if asked.unwrap_or(DEFAULT_LIFETIME_SECS) <= self.shared.max_lifetime_secs() {
            return Verdict::Pass;
        }
        match packet::with_lifetime(message, self.shared.max_lifetime_secs(), key) {
            Some(bytes) => Verdict::Replace(bytes),
            None => {
                refused(Refusal::Malformed);
                Verdict::Drop
            }
        }
    }

    /// Counts `reason` and answers with its STUN error (a 401 carries our realm and the client's nonce, which
    /// the crate issued, so a client holding better credentials can retry at once).
    fn refuse(&self, message: &Message, reason: Refusal) -> Verdict {
        refused(reason);
        let code: ErrorCode = match reason {
            Refusal::UserQuota => CODE_ALLOC_QUOTA_REACHED,
            Refusal::ServerQuota => CODE_INSUFFICIENT_CAPACITY,
            Refusal::PeerDenied => CODE_FORBIDDEN,
            Refusal::Malformed => stun::error_code::CODE_BAD_REQUEST,
            _ => CODE_UNAUTHORIZED,
        };
        let nonce = (code == CODE_UNAUTHORIZED).then(|| packet::text(message, ATTR_NONCE)).flatten();
        let realm = (code == CODE_UNAUTHORIZED).then_some(self.shared.realm.as_str());
        tracing::debug!(reason = reason.as_str(), code = code.0, "turn request refused");
        match packet::error_response(message, code, realm, nonce.as_deref()) {
            Some(bytes) => Verdict::Reply(bytes),
            None => Verdict::Drop,
        }
    }
}

#[async_trait]
impl Conn for Gate {
    async fn connect(&self, _addr: SocketAddr) -> webrtc_util::Result<()> {
        Err(webrtc_util::Error::Other("the TURN listener is not connected".into()))
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        Ok(self.recv_from(buf).await?.0)
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        loop {
            let (n, from) = match self.io.recv_from(buf).await {
                Ok(received) => received,
                // An ICMP error from an earlier send (a client gone away) surfaces here on some systems: not
                // the listener's failure.
                Err(webrtc_util::Error::Io(err)) if err.0.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                Err(err) => {
                    if let Some(ended) = self.ended.lock().unwrap_or_else(PoisonError::into_inner).take() {
                        let _ = ended.send(());
                    }
                    return Err(err);
                }
            };
            match self.inspect(&buf[..n], from) {
                Verdict::Pass => return Ok((n, from)),
                Verdict::Replace(bytes) if bytes.len() <= buf.len() => {
                    buf[..bytes.len()].copy_from_slice(&bytes);
                    return Ok((bytes.len(), from));
                }
                Verdict::Replace(_) | Verdict::Drop => {}
                Verdict::Reply(bytes) => {
                    if let Err(err) = self.io.send_to(&bytes, from).await {
                        tracing::debug!(error = %err, "turn refusal not sent");
                    }
                }
            }
        }
    }

    async fn send(&self, _buf: &[u8]) -> webrtc_util::Result<usize> {
        Err(webrtc_util::Error::Other("the TURN listener sends with send_to".into()))
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        self.io.send_to(buf, target).await
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        self.local.map_or_else(|| self.io.local_addr(), Ok)
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }

    /// The `turn` crate calls this on the listener whenever one allocation closes: it must not close anything.
    async fn close(&self) -> webrtc_util::Result<()> {
        Ok(())
    }

    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}
