//! Every abuse limit of the signaling server, over real sockets: the per-socket frame rate, peers per session,
//! sessions per server, sockets per client address (also behind a trusted proxy header), the `Origin` check,
//! and what a hostile client cannot do with a token or a frame. Past each limit the offender gets its status
//! or close code, and the other sessions keep working.
#![cfg(feature = "ssr")]

mod common;

use common::{expect_http_status, join, offer, open_with, start, test_config, token, ws_url, Client, SECRET};
use p2p_streams::protocol::{close_code, ClientToServer, ErrorCode, PeerId, Role, ServerToClient, SignalPayload};
use p2p_streams::server::SignalingConfig;
use p2p_streams::token::{JoinClaims, TokenSigner, MAX_TOKEN_LEN};
use std::net::SocketAddr;
use tokio_tungstenite::tungstenite::Message;

/// The next frame must be an error with `code`.
async fn expect_error(client: &mut Client, code: ErrorCode) {
    match client.recv_frame().await {
        ServerToClient::Error { code: got, .. } => assert_eq!(got, code),
        other => panic!("{}: expected error {code:?}, got {other:?}", client.peer),
    }
}

/// A host and a client of `room` that can still exchange an offer: proof that a limit hit elsewhere left
/// this session alone.
async fn assert_room_works(addr: SocketAddr, room: &str) {
    let (mut host, role, _) = join(addr, room, "host", "h").await;
    assert_eq!(role, Role::Host);
    let (mut guest, _, _) = join(addr, room, "guest", "g").await;
    assert_eq!(host.recv_frame().await, ServerToClient::PeerJoined { peer: guest.peer.clone() });
    host.signal(&guest.peer, offer(1)).await;
    assert_eq!(guest.recv_frame().await, ServerToClient::Signal { from: host.peer.clone(), signal: offer(1) });
}

#[tokio::test]
async fn a_flooding_socket_is_told_then_closed_and_others_are_unaffected() {
    // 1 frame/s with a burst of 5: the join and four frames pass, the rest is over the budget.
    let config = SignalingConfig { rate_limit_per_sec: 1, rate_limit_burst: 5, ..test_config() };
    let srv = start(config).await;
    let (mut flood, _, _) = join(srv.addr, "flood", "mallory", "m").await;
    let nobody = PeerId("nobody#x".into());
    for link in 0..4 {
        flood.signal(&nobody, offer(link)).await;
    }
    for _ in 0..4 {
        expect_error(&mut flood, ErrorCode::UnknownPeer).await;
    }
    // First drop: told once. Drops 2-4: silent. Fifth drop without a refill: closed.
    for link in 10..15 {
        flood.signal(&nobody, offer(link)).await;
    }
    expect_error(&mut flood, ErrorCode::RateLimited).await;
    assert_eq!(flood.expect_close().await, close_code::RATE_LIMITED);
    assert_room_works(srv.addr, "calm").await;
}

#[tokio::test]
async fn a_full_session_refuses_one_more_peer_but_not_a_reconnect() {
    let config = SignalingConfig { max_peers_per_session: 2, ..test_config() };
    let srv = start(config).await;
    let (mut host, _, _) = join(srv.addr, "small", "host", "h").await;
    let (_guest, _, _) = join(srv.addr, "small", "guest", "g").await;
    host.recv_frame().await; // PeerJoined
    let mut third = common::connect(srv.addr, "small", "third", "t").await;
    assert_eq!(third.expect_close().await, close_code::SESSION_FULL);
    // The guest's reloaded tab replaces its own socket: it fits.
    let (_again, role, named) = join(srv.addr, "small", "guest", "g").await;
    assert_eq!((role, named), (Role::Client, host.peer.clone()));
    assert_room_works(srv.addr, "elsewhere").await;
}

#[tokio::test]
async fn a_full_server_refuses_a_new_session_until_one_ends() {
    let config = SignalingConfig { max_sessions: 1, ..test_config() };
    let srv = start(config).await;
    let (first, _, _) = join(srv.addr, "first", "ada", "a").await;
    let mut second = common::connect(srv.addr, "second", "bob", "b").await;
    assert_eq!(second.expect_close().await, close_code::SERVER_FULL);
    // Joining the existing session still works.
    let (guest, role, _) = join(srv.addr, "first", "cy", "c").await;
    assert_eq!(role, Role::Client);
    // The first session lives on while its guest does; once both are gone, the second session fits.
    first.close().await;
    guest.close().await;
    srv.wait_open(0).await;
    let (_bob, role, _) = join(srv.addr, "second", "bob", "b").await;
    assert_eq!(role, Role::Host);
}

#[tokio::test]
async fn one_address_gets_a_bounded_number_of_sockets() {
    let config = SignalingConfig { max_connections_per_ip: 2, ..test_config() };
    let srv = start(config).await;
    let a = open_with(srv.addr, "ip", "ada", "a", &[]).await.expect("first socket");
    let _b = open_with(srv.addr, "ip", "bob", "b", &[]).await.expect("second socket");
    assert_eq!(open_with(srv.addr, "ip", "cy", "c", &[]).await.err(), Some(429));
    let refused =
        common::http(srv.addr, "GET", &format!("/p2p/ws?session=ip&token={}&tab=c", token("ip", "cy")), &[], "").await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.body, "too many connections from this address");
    a.close().await;
    srv.wait_open(1).await;
    let _c = open_with(srv.addr, "ip", "cy", "c", &[]).await.expect("a freed slot is reusable");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_counted() {
    let config = SignalingConfig {
        max_connections_per_ip: 1,
        client_ip_header: Some("x-forwarded-for".parse().expect("header name")),
        ..test_config()
    };
    let srv = start(config).await;
    let first = [("x-forwarded-for", "203.0.113.50, 198.51.100.1")];
    let _a = open_with(srv.addr, "proxy", "ada", "a", &first).await.expect("first client");
    // The proxy appended the real address last; a client-chosen first entry changes nothing.
    let same = [("x-forwarded-for", "10.9.9.9, 198.51.100.1")];
    assert_eq!(open_with(srv.addr, "proxy", "bob", "b", &same).await.err(), Some(429));
    let other = [("x-forwarded-for", "198.51.100.2")];
    let _c = open_with(srv.addr, "proxy", "cy", "c", &other).await.expect("another client behind the proxy");
}

#[tokio::test]
async fn cross_site_origins_are_refused_before_the_upgrade() {
    let srv = start(test_config()).await;
    let evil = [("origin", "https://evil.example")];
    assert_eq!(open_with(srv.addr, "o", "ada", "a", &evil).await.err(), Some(403));
    let own = format!("http://{}", srv.addr);
    assert!(open_with(srv.addr, "o", "ada", "a", &[("origin", &own)]).await.is_ok(), "same origin");
    assert!(open_with(srv.addr, "o", "bob", "b", &[]).await.is_ok(), "no Origin: not a browser, token checked");

    let listed = SignalingConfig { allowed_origins: vec!["https://app.example".into()], ..test_config() };
    let srv = start(listed).await;
    assert!(open_with(srv.addr, "o", "ada", "a", &[("origin", "https://app.example")]).await.is_ok());
    assert_eq!(open_with(srv.addr, "o", "bob", "b", &evil).await.err(), Some(403));
}

#[tokio::test]
async fn hostile_tokens_are_refused_before_the_upgrade() {
    let srv = start(test_config()).await;
    let signer = TokenSigner::new(SECRET.to_vec());
    let url = |tok: &str| ws_url(srv.addr, Some("t"), Some(tok), Some("x"));
    // A correctly signed token whose user smuggles a tab, to pose as another peer's `{user}#{tab}`.
    let far = p2p_streams::token::now_secs() + 3600;
    let smuggled = signer.sign_claims(&JoinClaims { v: 1, sid: "t".into(), pid: "bob#b".into(), exp: far });
    assert_eq!(expect_http_status(&url(&smuggled)).await, 401);
    // Absurd lengths: one byte over the limit, and a query near the HTTP head limit.
    assert_eq!(expect_http_status(&url(&"a".repeat(MAX_TOKEN_LEN + 1))).await, 401);
    let path = format!("/p2p/ws?session=t&tab=x&token={}", "b".repeat(64 * 1024));
    let status = common::http(srv.addr, "GET", &path, &[], "").await.status;
    assert!((400..500).contains(&status), "a 64 KiB token is refused with a client error, got {status}");
    // An absurd session id, correctly signed.
    let long_session = "s".repeat(4096);
    let tok = signer.sign(&long_session, "ada", std::time::Duration::from_secs(60));
    assert_eq!(expect_http_status(&ws_url(srv.addr, Some(&long_session), Some(&tok), Some("x"))).await, 401);
    // A token of one peer replayed in another tab is still that peer: the identity is the token's user.
    let (ada, _, _) = join(srv.addr, "t", "ada", "a").await;
    let mut replay = common::connect(srv.addr, "t", "ada", "other").await;
    let (role, host) = replay.expect_welcome("t").await;
    assert_eq!((role, host), (Role::Client, ada.peer.clone()));
    assert_eq!(replay.peer.user(), "ada");
}

#[tokio::test]
async fn a_client_cannot_crown_itself_while_the_host_lives() {
    let srv = start(test_config()).await;
    let (mut host, _, _) = join(srv.addr, "crown", "host", "h").await;
    // Claims to have lost the live host.
    let mut usurper = common::connect_after_loss(srv.addr, "crown", "eve", "e", Some(host.peer.clone())).await;
    assert_eq!(usurper.expect_welcome("crown").await, (Role::Client, host.peer.clone()));
    assert_eq!(host.recv_frame().await, ServerToClient::PeerJoined { peer: usurper.peer.clone() });
    // Host-only and server-only frames are refused.
    usurper.send(&ClientToServer::Roster { peers: 1, states: vec![] }).await;
    expect_error(&mut usurper, ErrorCode::NotHost).await;
    let forged = format!(r#"{{"type":"role_changed","role":"host","host":"{}"}}"#, usurper.peer);
    usurper.send_raw(Message::text(forged)).await;
    expect_error(&mut usurper, ErrorCode::UnknownType).await;
    // The host is still the host: it routes, and a newcomer is sent to it.
    let (_late, role, named) = join(srv.addr, "crown", "late", "l").await;
    assert_eq!((role, named), (Role::Client, host.peer.clone()));
    host.signal(&usurper.peer, offer(3)).await;
    assert_eq!(usurper.recv_frame().await, ServerToClient::Signal { from: host.peer.clone(), signal: offer(3) });
}

/// Reads from `tcp` until the server closes it; returns what arrived. Fails if it stays open for [`WAIT`].
async fn read_until_closed(tcp: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let read = tokio::time::timeout(common::WAIT, tcp.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "the server kept an idle connection open: {:?}", String::from_utf8_lossy(&got));
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn http_connections_that_never_finish_a_request_head_are_closed() {
    use tokio::io::AsyncWriteExt;
    let timeout = std::time::Duration::from_millis(300);
    let config = SignalingConfig { max_connections_per_ip: 2, ..test_config() };
    let srv = common::start_served(config, timeout).await;
    // Connects and sends nothing.
    let mut silent = tokio::net::TcpStream::connect(srv.addr).await.expect("connect");
    assert_eq!(read_until_closed(&mut silent).await, "", "closed without an answer");
    // Starts a request head and stalls.
    let mut slow = tokio::net::TcpStream::connect(srv.addr).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.expect("write");
    assert!(!read_until_closed(&mut slow).await.contains("200 OK"), "no answer to half a request");
    // A complete request is answered, then the idle keep-alive connection is closed.
    let mut idle = tokio::net::TcpStream::connect(srv.addr).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
    assert!(read_until_closed(&mut idle).await.starts_with("HTTP/1.1 200 OK"), "answered, then closed");
    // A signaling socket left hyper at the upgrade: idle far longer than the header timeout, it lives on.
    let (mut host, _, _) = join(srv.addr, "idle", "host", "h").await;
    let (mut guest, _, _) = join(srv.addr, "idle", "guest", "g").await;
    assert_eq!(host.recv_frame().await, ServerToClient::PeerJoined { peer: guest.peer.clone() });
    tokio::time::sleep(timeout * 3).await;
    host.signal(&guest.peer, offer(1)).await;
    assert_eq!(guest.recv_frame().await, ServerToClient::Signal { from: host.peer.clone(), signal: offer(1) });
    // The accept loop hands the client's address to the per-address limit: a third socket is refused.
    assert_eq!(open_with(srv.addr, "idle", "third", "t", &[]).await.err(), Some(429));
}

#[tokio::test]
async fn a_peer_that_reads_nothing_is_closed_as_too_slow_and_its_host_is_told() {
    // A short queue, no rate limit, and a ping timeout far beyond the test: only the full queue can end it.
    let config = SignalingConfig {
        outbound_queue: 8,
        rate_limit_per_sec: 1_000_000,
        rate_limit_burst: 1_000_000,
        ping_timeout: std::time::Duration::from_secs(600),
        ..test_config()
    };
    let srv = start(config).await;
    let (mut host, _, _) = join(srv.addr, "slow", "host", "h").await;
    let (stalled, _, _) = join(srv.addr, "slow", "guest", "g").await;
    assert_eq!(host.recv_frame().await, ServerToClient::PeerJoined { peer: stalled.peer.clone() });
    // The guest never reads again: its socket buffers fill (a few MB on loopback), then the server's write to
    // it blocks, then its queue of 8 frames fills and the server gives up on it while the write still hangs.
    let sdp = "a=x-filler\r\n".repeat(2_500);
    let mut told = None;
    for link in 0..10_000u64 {
        host.signal(&stalled.peer, SignalPayload::Offer { link, sdp: sdp.clone() }).await;
        if link % 32 == 31 {
            told = host.recv_within(std::time::Duration::from_millis(1)).await;
            if told.is_some() {
                break;
            }
        }
    }
    assert_eq!(told, Some(ServerToClient::PeerLeft { peer: stalled.peer.clone() }), "host told within 300 MB");
    srv.wait_open(1).await;
    host.signal(&stalled.peer, offer(1)).await;
    expect_error(&mut host, ErrorCode::UnknownPeer).await;
    drop(stalled);
}
