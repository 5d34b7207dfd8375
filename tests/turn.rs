//! The embedded STUN/TURN server, driven over real UDP sockets on loopback: webrtc-rs's TURN client for
//! allocations and relayed data, and hand-built STUN requests where a client would never send what we test
//! (a wrong realm, a LIFETIME over the cap, a request replayed after its credential expired).

mod common;

use p2p_streams::server::turn::{long_term_key, EmbeddedTurn, TurnConfig, TurnCredentials};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use stun::agent::TransactionId;
use stun::attributes::{ATTR_NONCE, ATTR_REALM, ATTR_USERNAME};
use stun::error_code::ErrorCodeAttribute;
use stun::fingerprint::FINGERPRINT;
use stun::integrity::MessageIntegrity;
use stun::message::{Getter, Message, MessageType, Setter, CLASS_REQUEST, METHOD_ALLOCATE};
use stun::textattrs::TextAttribute;
use tokio::net::UdpSocket;
use turn::client::Client;
use turn::proto::lifetime::Lifetime;
use turn::proto::reqtrans::RequestedTransport;
use turn::proto::PROTO_UDP;
use webrtc_util::Conn;

/// A clearly-marked test fixture, never a real secret.
const SECRET: &str = "turn-test-fixture-secret";
const REALM: &str = "p2p-streams";

fn now() -> u64 {
    p2p_streams::token::now_secs()
}

/// An embedded server on 127.0.0.1:0 relaying to loopback (the tests' peers live there) with `tweak` applied.
async fn start(tweak: impl FnOnce(&mut TurnConfig)) -> (EmbeddedTurn, TurnCredentials) {
    let listen: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let mut config = TurnConfig::new(listen, listen.ip());
    config.allow_peers = vec!["127.0.0.0/8".parse().expect("range")];
    tweak(&mut config);
    let credentials = TurnCredentials::new(SECRET, Vec::new());
    let server = EmbeddedTurn::start(config, credentials.clone()).await.expect("embedded TURN starts");
    (server, credentials)
}

/// A TURN client of `server` with `username` and `password`.
async fn client(server: &EmbeddedTurn, username: &str, password: &str) -> Client {
    common::turn::client(&server.local_addr().to_string(), username, password).await
}

/// A valid user name and password for `peer`, expiring in an hour.
fn valid(credentials: &TurnCredentials, peer: &str) -> (String, String) {
    let username = TurnCredentials::username(now() + 3600, peer);
    let password = credentials.password(&username);
    (username, password)
}

async fn eventually(mut check: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_minted_credential_allocates_and_relays_both_ways_and_the_books_follow() {
    let (server, credentials) = start(|_| {}).await;
    let (username, password) = valid(&credentials, "alice");
    let client = client(&server, &username, &password).await;
    let mapped = client.send_binding_request().await.expect("STUN binding answered");
    assert_eq!(mapped.ip().to_string(), "127.0.0.1");
    let relay = client.allocate().await.expect("allocation");
    assert_eq!(server.allocation_count(), 1);
    let views = server.allocations();
    assert_eq!(
        (views[0].user.as_str(), views[0].relay.clone()),
        ("alice", relay.local_addr().expect("relay").to_string())
    );

    // A peer on another loopback address (every port of the server's own address but its relays is refused):
    // it hears the relayed datagram from the relay address and answers through it.
    let peer = UdpSocket::bind("127.0.0.2:0").await.expect("peer");
    relay.send_to(b"ping through the relay", peer.local_addr().expect("peer addr")).await.expect("send");
    let mut buf = [0u8; 64];
    let (n, from) =
        tokio::time::timeout(Duration::from_secs(5), peer.recv_from(&mut buf)).await.expect("relayed").expect("recv");
    assert_eq!(&buf[..n], b"ping through the relay");
    assert_eq!(from, relay.local_addr().expect("relay"));
    peer.send_to(b"pong", from).await.expect("answer");
    let (n, _) =
        tokio::time::timeout(Duration::from_secs(5), relay.recv_from(&mut buf)).await.expect("back").expect("recv");
    assert_eq!(&buf[..n], b"pong");
    let view = &server.allocations()[0];
    assert_eq!((view.bytes_to_peer, view.bytes_to_client), (22, 4));

    relay.close().await.expect("close");
    client.close().await.expect("client close");
    eventually(|| server.allocation_count() == 0, "the allocation to leave the books").await;
    server.close().await;
}

#[tokio::test]
async fn forged_expired_and_malformed_credentials_are_refused_with_401() {
    let (server, credentials) = start(|_| {}).await;
    let (username, _) = valid(&credentials, "mallory");
    let expired = TurnCredentials::username(now() - 5, "mallory");
    let expired_password = credentials.password(&expired);
    let other = TurnCredentials::new("another-secret-entirely", Vec::new());
    for (case, user, pass) in [
        ("forged password", username.clone(), "not-the-password".to_owned()),
        ("signed with another secret", username.clone(), other.password(&username)),
        ("expired", expired, expired_password),
        ("no expiry in the name", "mallory".to_owned(), credentials.password("mallory")),
    ] {
        let client = client(&server, &user, &pass).await;
        let err = client.allocate().await.err().unwrap_or_else(|| panic!("{case}: allocated"));
        assert!(err.to_string().contains("401"), "{case}: {err}");
        client.close().await.expect("close");
    }
    assert_eq!(server.allocation_count(), 0);
    server.close().await;
}

#[tokio::test]
async fn denied_peers_get_403_and_only_live_relay_ports_of_our_own_address_are_reachable() {
    let (server, credentials) = start(|c| c.allow_peers.clear()).await;
    let (username, password) = valid(&credentials, "eve");
    let client = client(&server, &username, &password).await;
    let relay = client.allocate().await.expect("allocation");
    for target in ["127.0.0.1:6379", "10.0.0.1:80", "169.254.169.254:80", "[::ffff:127.0.0.1]:22"] {
        let target: SocketAddr = target.parse().expect("address");
        let err = relay.send_to(b"x", target).await.err().unwrap_or_else(|| panic!("{target}: relayed"));
        assert!(err.to_string().contains("403"), "{target}: {err}");
    }
    // Our own address: the signaling-style port is refused, another allocation's relay port is not.
    let (second_user, second_password) = valid(&credentials, "bob");
    let second = client_relay(&server, &second_user, &second_password).await;
    let own = server.local_addr();
    let err = relay.send_to(b"x", own).await.err().unwrap_or_else(|| panic!("own listen port relayed"));
    assert!(err.to_string().contains("403"), "{err}");
    relay.send_to(b"relay to relay", second.1.local_addr().expect("relay")).await.expect("relay to relay allowed");
    server.close().await;
}

/// A client with one allocation.
async fn client_relay(server: &EmbeddedTurn, username: &str, password: &str) -> (Client, impl Conn) {
    let client = client(server, username, password).await;
    let relay = client.allocate().await.expect("allocation");
    (client, relay)
}

#[tokio::test]
async fn allocation_limits_answer_486_per_user_and_508_in_total() {
    let (server, credentials) = start(|c| {
        c.max_allocations_per_user = 1;
        c.max_allocations = 2;
    })
    .await;
    let (ada, ada_pw) = valid(&credentials, "ada");
    let _first = client_relay(&server, &ada, &ada_pw).await;
    let again = client(&server, &ada, &ada_pw).await;
    let err = again.allocate().await.err().unwrap_or_else(|| panic!("second allocation of one user"));
    assert!(err.to_string().contains("486"), "{err}");
    let (bob, bob_pw) = valid(&credentials, "bob");
    let _second = client_relay(&server, &bob, &bob_pw).await;
    let (cy, cy_pw) = valid(&credentials, "cy");
    let third = client(&server, &cy, &cy_pw).await;
    let err = third.allocate().await.err().unwrap_or_else(|| panic!("allocation over the server's limit"));
    assert!(err.to_string().contains("508"), "{err}");
    server.close().await;
}

/// Sends `request` from `socket` to the server and returns the response.
async fn exchange(socket: &UdpSocket, server: SocketAddr, request: &[u8]) -> Message {
    socket.send_to(request, server).await.expect("send");
    let mut buf = [0u8; 1500];
    let (n, _) =
        tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buf)).await.expect("answer").expect("recv");
    let mut message = Message { raw: buf[..n].to_vec(), ..Default::default() };
    message.decode().expect("STUN answer");
    message
}

/// An Allocate request, signed when `auth` (username, realm, password, nonce) is given.
fn allocate(auth: Option<(&str, &str, &str, &str)>, lifetime: Option<u64>) -> Vec<u8> {
    let mut setters: Vec<Box<dyn Setter>> = vec![
        Box::new(TransactionId::new()),
        Box::new(MessageType::new(METHOD_ALLOCATE, CLASS_REQUEST)),
        Box::new(RequestedTransport { protocol: PROTO_UDP }),
    ];
    if let Some(secs) = lifetime {
        setters.push(Box::new(Lifetime(Duration::from_secs(secs))));
    }
    if let Some((user, realm, password, nonce)) = auth {
        setters.push(Box::new(TextAttribute::new(ATTR_USERNAME, user.into())));
        setters.push(Box::new(TextAttribute::new(ATTR_REALM, realm.into())));
        setters.push(Box::new(TextAttribute::new(ATTR_NONCE, nonce.into())));
        setters.push(Box::new(MessageIntegrity(long_term_key(user, realm, password).to_vec())));
    }
    setters.push(Box::new(FINGERPRINT));
    let mut m = Message::new();
    m.build(&setters).expect("request");
    m.raw
}

fn error_code(message: &Message) -> Option<u16> {
    let mut code = ErrorCodeAttribute::default();
    code.get_from(message).ok().map(|_| code.code.0)
}

/// The nonce of the server's 401 challenge.
async fn nonce(socket: &UdpSocket, server: SocketAddr) -> String {
    let challenge = exchange(socket, server, &allocate(None, None)).await;
    assert_eq!(error_code(&challenge), Some(401));
    TextAttribute::get_from_as(&challenge, ATTR_NONCE).expect("nonce").text
}

#[tokio::test]
async fn a_wrong_realm_is_refused_and_a_long_lifetime_is_capped() {
    let (server, credentials) = start(|c| c.max_lifetime = Duration::from_secs(30)).await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("socket");
    let at = server.local_addr();
    let (user, password) = valid(&credentials, "rita");
    let nonce = nonce(&socket, at).await;
    let answer = exchange(&socket, at, &allocate(Some((&user, "evil.example", &password, &nonce)), None)).await;
    assert_eq!(error_code(&answer), Some(401), "wrong realm");
    let answer = exchange(&socket, at, &allocate(Some((&user, REALM, &password, &nonce)), Some(3600))).await;
    assert_eq!(error_code(&answer), None, "allocated");
    let mut granted = Lifetime::default();
    granted.get_from(&answer).expect("lifetime");
    assert_eq!(granted.0, Duration::from_secs(30));
    server.close().await;
}

#[tokio::test]
async fn a_request_replayed_after_its_credential_expired_is_refused() {
    let (server, credentials) = start(|_| {}).await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("socket");
    let at = server.local_addr();
    // A request signed with a credential that expires at the end of the next second: accepted once, then
    // replayed as captured (same socket: the crate answers 437, the allocation exists) until the expiry passes.
    let user = TurnCredentials::username(now() + 1, "replayer");
    let password = credentials.password(&user);
    let nonce = nonce(&socket, at).await;
    let captured = allocate(Some((&user, REALM, &password, &nonce)), None);
    assert_eq!(error_code(&exchange(&socket, at, &captured).await), None, "valid when captured");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if error_code(&exchange(&socket, at, &captured).await) == Some(401) {
            break;
        }
        assert!(Instant::now() < deadline, "the replay was still accepted after the expiry");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.close().await;
}

#[tokio::test]
async fn a_flood_of_garbage_leaves_the_server_serving_real_allocations() {
    let (server, credentials) = start(|_| {}).await;
    let flood = UdpSocket::bind("127.0.0.1:0").await.expect("socket");
    let at = server.local_addr();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for i in 0..5_000u32 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % 600) as usize;
        let mut datagram: Vec<u8> = (0..len).map(|j| (seed >> (j % 56)) as u8).collect();
        // Every few, something that looks like STUN or ChannelData at first glance.
        match i % 4 {
            0 if len >= 20 => datagram[..8].copy_from_slice(&[0x00, 0x03, 0x02, 0x00, 0x21, 0x12, 0xa4, 0x42]),
            1 if len >= 4 => datagram[..4].copy_from_slice(&[0x40, 0x01, 0xff, 0xf0]),
            _ => {}
        }
        let _ = flood.send_to(&datagram, at).await;
    }
    let (username, password) = valid(&credentials, "survivor");
    let (_client, relay) = client_relay(&server, &username, &password).await;
    assert!(relay.local_addr().is_ok());
    assert_eq!(server.allocation_count(), 1);
    server.close().await;
}

/// Reads one STUN message from a TURN-over-TCP stream.
async fn read_stun(stream: &mut tokio::net::TcpStream) -> Message {
    use tokio::io::AsyncReadExt;
    let mut head = [0u8; 20];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut head)).await.expect("answer").expect("read");
    let mut raw = head.to_vec();
    raw.resize(20 + usize::from(u16::from_be_bytes([head[2], head[3]])), 0);
    stream.read_exact(&mut raw[20..]).await.expect("body");
    let mut message = Message { raw, ..Default::default() };
    message.decode().expect("STUN over TCP");
    message
}

#[tokio::test]
async fn turn_over_tcp_authenticates_allocates_and_survives_garbage_on_the_same_port() {
    use tokio::io::AsyncWriteExt;
    let (server, credentials) = start(|_| {}).await;
    let at = server.local_addr();
    // Garbage on one connection: the server drops that connection and keeps serving.
    let mut junk = tokio::net::TcpStream::connect(at).await.expect("tcp connect");
    let _ = junk.write_all(&[0xff; 512]).await;

    let mut stream = tokio::net::TcpStream::connect(at).await.expect("tcp connect");
    stream.write_all(&allocate(None, None)).await.expect("write");
    let challenge = read_stun(&mut stream).await;
    assert_eq!(error_code(&challenge), Some(401));
    let nonce = TextAttribute::get_from_as(&challenge, ATTR_NONCE).expect("nonce").text;
    let (user, password) = valid(&credentials, "tess");
    stream.write_all(&allocate(Some((&user, REALM, "wrong", &nonce)), None)).await.expect("write");
    assert_eq!(error_code(&read_stun(&mut stream).await), Some(401), "forged over TCP");
    stream.write_all(&allocate(Some((&user, REALM, &password, &nonce)), None)).await.expect("write");
    let answer = read_stun(&mut stream).await;
    assert_eq!(error_code(&answer), None, "allocated over TCP");
    assert_eq!(server.allocations()[0].user, "tess");
    drop(stream);
    eventually(|| server.allocation_count() == 0, "the TCP client's allocation to close with its connection").await;
    server.close().await;
}
