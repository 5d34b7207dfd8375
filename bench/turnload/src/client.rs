//! A minimal TURN client over UDP (RFC 5766), just what the benchmark needs: Allocate with long-term
//! credentials (the 401 nonce dance), CreatePermission, ChannelBind, and Refresh with lifetime 0 to release.
//! The data path is raw ChannelData frames on the same socket ([`frame`]), written and read by the workloads
//! themselves: no task, channel or copy per datagram on the generator's side, so its one core keeps up with a
//! server's.
//!
//! Not the `turn` crate's `Client`: that one runs a read loop task and hands every received datagram through a
//! channel, which costs the generator more than the measurement can afford. Its STUN codec and TURN attributes
//! are used as they are.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use stun::agent::TransactionId;
use stun::attributes::{ATTR_NONCE, ATTR_REALM, ATTR_USERNAME};
use stun::error_code::ErrorCodeAttribute;
use stun::integrity::MessageIntegrity;
use stun::message::{
    Getter, Message, MessageType, Setter, CLASS_ERROR_RESPONSE, CLASS_REQUEST, CLASS_SUCCESS_RESPONSE, METHOD_ALLOCATE,
    METHOD_CHANNEL_BIND, METHOD_CREATE_PERMISSION, METHOD_REFRESH,
};
use stun::textattrs::TextAttribute;
use tokio::net::UdpSocket;
use turn::proto::channum::ChannelNumber;
use turn::proto::lifetime::Lifetime;
use turn::proto::peeraddr::PeerAddress;
use turn::proto::relayaddr::RelayedAddress;
use turn::proto::reqtrans::RequestedTransport;
use turn::proto::PROTO_UDP;

/// First retransmission timeout of a request (doubled on every retry, RFC 5389's scheme).
const RTO: Duration = Duration::from_millis(250);
/// Transmissions of one request before giving up.
const TRIES: u32 = 6;
/// ChannelData header: channel number and length, 2 bytes each.
pub const CHANNEL_HEADER: usize = 4;
/// The first channel number (RFC 5766: 0x4000-0x7FFF).
pub const FIRST_CHANNEL: u16 = 0x4000;

/// One allocation on a TURN server, over its own UDP socket (connected to the server).
pub struct TurnClient {
    /// The client's socket; the data path writes ChannelData frames to it directly.
    pub socket: UdpSocket,
    /// The relayed transport address the server allocated (XOR-RELAYED-ADDRESS).
    pub relay: SocketAddr,
    /// USERNAME of every authenticated request.
    username: String,
    /// REALM the server named in its challenge.
    realm: String,
    /// NONCE the server issued (replaced when it answers 438 Stale Nonce).
    nonce: String,
    /// Long-term credential key: MD5(username:realm:password).
    integrity: MessageIntegrity,
}

impl TurnClient {
    /// Binds a socket on `bind` and allocates a UDP relay on `server` as `username` / `password`.
    pub async fn allocate(server: SocketAddr, bind: IpAddr, username: &str, password: &str) -> Result<Self, String> {
        let socket = UdpSocket::bind((bind, 0)).await.map_err(|e| format!("bind: {e}"))?;
        socket.connect(server).await.map_err(|e| format!("connect: {e}"))?;
        // The unauthenticated first try: the server answers 401 with its realm and a nonce.
        let challenge = exchange(&socket, unsigned_allocate()?).await?;
        if error_code(&challenge) != Some(401) {
            return Err(format!("allocate: expected a 401 challenge, got {}", describe(&challenge)));
        }
        let text = |attr| TextAttribute::get_from_as(&challenge, attr).map(|t| t.text).map_err(|e| e.to_string());
        let realm = text(ATTR_REALM).map_err(|e| format!("allocate: no realm in the challenge: {e}"))?;
        let nonce = text(ATTR_NONCE).map_err(|e| format!("allocate: no nonce in the challenge: {e}"))?;
        let integrity = MessageIntegrity::new_long_term_integrity(username.into(), realm.clone(), password.into());
        let mut client = TurnClient {
            socket,
            relay: SocketAddr::from(([0, 0, 0, 0], 0)),
            username: username.into(),
            realm,
            nonce,
            integrity,
        };
        let answer = client.request(METHOD_ALLOCATE, || vec![transport()]).await?;
        let mut relayed = RelayedAddress::default();
        relayed.get_from(&answer).map_err(|e| format!("allocate: no relayed address: {e}"))?;
        client.relay = SocketAddr::new(relayed.ip, relayed.port);
        Ok(client)
    }

    /// Permits datagrams from `peer`'s IP address to reach this client through its relay.
    pub async fn create_permission(&mut self, peer: SocketAddr) -> Result<(), String> {
        self.request(METHOD_CREATE_PERMISSION, || vec![peer_address(peer)]).await.map(drop)
    }

    /// Binds channel `number` to `peer` (both ways: frames sent on it go to `peer`, and `peer`'s datagrams
    /// arrive on it).
    pub async fn channel_bind(&mut self, number: u16, peer: SocketAddr) -> Result<(), String> {
        self.request(METHOD_CHANNEL_BIND, || vec![Box::new(ChannelNumber(number)), peer_address(peer)]).await.map(drop)
    }

    /// Releases the allocation (Refresh with LIFETIME 0).
    pub async fn release(&mut self) -> Result<(), String> {
        self.request(METHOD_REFRESH, || vec![Box::new(Lifetime(Duration::ZERO))]).await.map(drop)
    }

    /// An authenticated request of `method` with `attributes`, retried once with a fresh nonce on 438.
    async fn request(
        &mut self,
        method: stun::message::Method,
        attributes: impl Fn() -> Vec<Box<dyn Setter>>,
    ) -> Result<Message, String> {
        for _ in 0..2 {
            let request = self.signed(method, attributes())?;
            let answer = exchange(&self.socket, request).await?;
            match answer.typ.class {
                CLASS_SUCCESS_RESPONSE => return Ok(answer),
                CLASS_ERROR_RESPONSE if error_code(&answer) == Some(438) => {
                    self.nonce = TextAttribute::get_from_as(&answer, ATTR_NONCE)
                        .map(|t| t.text)
                        .map_err(|e| format!("{method}: 438 without a nonce: {e}"))?;
                }
                _ => return Err(format!("{method}: {}", describe(&answer))),
            }
        }
        Err(format!("{method}: stale nonce twice"))
    }

    /// A request of `method` with `attributes` and our credentials (built before any await: setters are not
    /// `Send`).
    fn signed(&self, method: stun::message::Method, attributes: Vec<Box<dyn Setter>>) -> Result<Message, String> {
        let mut setters: Vec<Box<dyn Setter>> = vec![Box::new(MessageType::new(method, CLASS_REQUEST))];
        setters.extend(attributes);
        setters.push(Box::new(TextAttribute::new(ATTR_USERNAME, self.username.clone())));
        setters.push(Box::new(TextAttribute::new(ATTR_REALM, self.realm.clone())));
        setters.push(Box::new(TextAttribute::new(ATTR_NONCE, self.nonce.clone())));
        setters.push(Box::new(self.integrity.clone()));
        build(setters)
    }
}

/// A ChannelData frame on `channel` carrying `payload` (UDP needs no padding, RFC 5766 section 11.5).
pub fn frame(channel: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(CHANNEL_HEADER + payload.len());
    out.extend_from_slice(&channel.to_be_bytes());
    out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The payload of a ChannelData frame, if `datagram` is one.
pub fn payload(datagram: &[u8]) -> Option<&[u8]> {
    let header = datagram.get(..CHANNEL_HEADER)?;
    if !(0x40..=0x7f).contains(&header[0]) {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    datagram.get(CHANNEL_HEADER..CHANNEL_HEADER + len)
}

/// The unauthenticated first Allocate.
fn unsigned_allocate() -> Result<Message, String> {
    build(vec![Box::new(MessageType::new(METHOD_ALLOCATE, CLASS_REQUEST)), transport()])
}

fn transport() -> Box<dyn Setter> {
    Box::new(RequestedTransport { protocol: PROTO_UDP })
}

fn peer_address(peer: SocketAddr) -> Box<dyn Setter> {
    Box::new(PeerAddress { ip: peer.ip(), port: peer.port() })
}

/// A request of `setters` with a fresh transaction id.
fn build(setters: Vec<Box<dyn Setter>>) -> Result<Message, String> {
    let mut all: Vec<Box<dyn Setter>> = vec![Box::new(TransactionId::new())];
    all.extend(setters);
    let mut request = Message::new();
    request.build(&all).map_err(|e| format!("building a request: {e}"))?;
    Ok(request)
}

/// Sends `request` and waits for its response, retransmitting it unchanged on RFC 5389's schedule; datagrams
/// that are not its response are ignored.
async fn exchange(socket: &UdpSocket, request: Message) -> Result<Message, String> {
    let mut timeout = RTO;
    let mut buf = vec![0u8; 2048];
    for _ in 0..TRIES {
        socket.send(&request.raw).await.map_err(|e| format!("send: {e}"))?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let n = match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
                Err(_) => break,
                // An ICMP port unreachable from an earlier send: the server is not (yet) there; retry.
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
                Ok(Err(e)) => return Err(format!("recv: {e}")),
                Ok(Ok(n)) => n,
            };
            let mut answer = Message { raw: buf[..n].to_vec(), ..Default::default() };
            if answer.decode().is_ok() && answer.transaction_id == request.transaction_id {
                return Ok(answer);
            }
        }
        timeout *= 2;
    }
    Err(format!("{}: no answer after {TRIES} tries", request.typ.method))
}

fn error_code(message: &Message) -> Option<u16> {
    let mut code = ErrorCodeAttribute::default();
    code.get_from(message).ok().map(|_| code.code.0)
}

fn describe(message: &Message) -> String {
    let mut code = ErrorCodeAttribute::default();
    match code.get_from(message) {
        Ok(()) => format!("error {} {}", code.code.0, String::from_utf8_lossy(&code.reason)),
        Err(_) => format!("{}", message.typ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_data_frames_round_trip() {
        let framed = frame(FIRST_CHANNEL, b"hello");
        assert_eq!(&framed[..4], &[0x40, 0x00, 0x00, 0x05]);
        assert_eq!(payload(&framed), Some(&b"hello"[..]));
        assert_eq!(payload(&framed[..6]), None, "truncated");
        assert_eq!(payload(b"\x00\x01\x00\x00"), None, "a STUN message is not channel data");
    }
}
