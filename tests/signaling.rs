//! Frames on a joined socket: one host per session, targeted routing, sender stamping, session isolation,
//! refused frames that leave the socket usable, and the frames that close it.
#![cfg(feature = "ssr")]

mod common;

use common::{answer, candidate, join, offer, start, test_config, Client};
use p2p_streams::protocol::{close_code, ClientToServer, ErrorCode, PeerId, Role, ServerToClient, PROTOCOL_VERSION};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// The next frame must be an error with `code`.
async fn expect_error(client: &mut Client, code: ErrorCode) {
    match client.recv_frame().await {
        ServerToClient::Error { code: got, .. } => assert_eq!(got, code),
        other => panic!("expected error {code:?}, got {other:?}"),
    }
}

/// The next frame must be `PeerJoined { peer }`.
async fn expect_peer_joined(client: &mut Client, peer: &PeerId) {
    assert_eq!(client.recv_frame().await, ServerToClient::PeerJoined { peer: peer.clone() });
}

/// A host and two clients, with the host's `PeerJoined` frames consumed.
async fn star(addr: std::net::SocketAddr, room: &str) -> (Client, Client, Client) {
    let (mut host, role, _) = join(addr, room, "host", "h").await;
    assert_eq!(role, Role::Host);
    let (a, _, _) = join(addr, room, "alice", "a").await;
    expect_peer_joined(&mut host, &a.peer).await;
    let (b, _, _) = join(addr, room, "bob", "b").await;
    expect_peer_joined(&mut host, &b.peer).await;
    (host, a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_simultaneous_first_joins_elect_exactly_one_host() {
    let srv = start(test_config()).await;
    let addr = srv.addr;
    let tasks: Vec<_> =
        (0..20).map(|i| tokio::spawn(async move { join(addr, "crowd", &format!("user{i}"), "t").await })).collect();
    let mut joined = Vec::new();
    for task in tasks {
        joined.push(task.await.expect("join task"));
    }
    let hosts: Vec<&PeerId> =
        joined.iter().filter(|(_, role, _)| *role == Role::Host).map(|(client, _, _)| &client.peer).collect();
    assert_eq!(hosts.len(), 1, "exactly one host: {hosts:?}");
    let host = hosts[0].clone();
    for (client, role, named) in &joined {
        assert_eq!(named, &host, "{} names the elected host", client.peer);
        assert_eq!(*role == Role::Host, client.peer == host);
    }
}

#[tokio::test]
async fn offers_answers_and_candidates_reach_only_their_target() {
    let srv = start(test_config()).await;
    let (mut host, mut a, mut b) = star(srv.addr, "routing").await;

    host.signal(&a.peer, offer(1)).await;
    assert_eq!(a.recv_frame().await, ServerToClient::Signal { from: host.peer.clone(), signal: offer(1) });
    b.expect_silence().await;

    a.signal(&host.peer, answer(1)).await;
    assert_eq!(host.recv_frame().await, ServerToClient::Signal { from: a.peer.clone(), signal: answer(1) });
    b.expect_silence().await;

    // Candidates stay on their link: link 1 is host<->alice, link 2 is host<->bob.
    host.signal(&a.peer, candidate(1)).await;
    host.signal(&b.peer, candidate(2)).await;
    assert_eq!(a.recv_frame().await, ServerToClient::Signal { from: host.peer.clone(), signal: candidate(1) });
    assert_eq!(b.recv_frame().await, ServerToClient::Signal { from: host.peer.clone(), signal: candidate(2) });
    b.signal(&host.peer, candidate(2)).await;
    assert_eq!(host.recv_frame().await, ServerToClient::Signal { from: b.peer.clone(), signal: candidate(2) });
    a.expect_silence().await;
    b.expect_silence().await;
}

#[tokio::test]
async fn the_delivered_sender_is_the_verified_identity() {
    let srv = start(test_config()).await;
    let (mut host, mut a, mut b) = star(srv.addr, "stamping").await;
    // The frame has no sender field: whatever a client claims in its JSON is ignored.
    let forged = format!(
        r#"{{"type":"signal","to":"{}","from":"{}","signal":{{"kind":"answer","link":1,"sdp":"x"}}}}"#,
        host.peer, b.peer
    );
    a.send_raw(Message::text(forged)).await;
    match host.recv_frame().await {
        ServerToClient::Signal { from, .. } => {
            assert_eq!(from, a.peer);
            assert_eq!(from, PeerId::with_tab("alice", "a"));
        }
        other => panic!("expected a signal, got {other:?}"),
    }
    b.expect_silence().await;
}

#[tokio::test]
async fn a_peer_of_another_session_is_unreachable() {
    let srv = start(test_config()).await;
    let (mut red, _, _) = join(srv.addr, "red", "ada", "t").await;
    let (mut blue, _, _) = join(srv.addr, "blue", "bob", "t").await;
    red.signal(&blue.peer, offer(1)).await;
    expect_error(&mut red, ErrorCode::UnknownPeer).await;
    blue.expect_silence().await;
    red.signal(&PeerId("nobody#t".into()), offer(2)).await;
    expect_error(&mut red, ErrorCode::UnknownPeer).await;
}

#[tokio::test]
async fn bad_frames_get_errors_and_the_socket_keeps_working() {
    let srv = start(test_config()).await;
    let (mut host, mut a, _b) = star(srv.addr, "garbage").await;
    host.send_raw(Message::text("{not json")).await;
    expect_error(&mut host, ErrorCode::BadJson).await;
    host.send_raw(Message::text(r#"{"type":"dance","steps":3}"#)).await;
    expect_error(&mut host, ErrorCode::UnknownType).await;
    host.send_raw(Message::binary(vec![1u8, 2, 3])).await;
    expect_error(&mut host, ErrorCode::BinaryFrame).await;
    host.send(&ClientToServer::Join { version: PROTOCOL_VERSION, lost_host: None }).await;
    expect_error(&mut host, ErrorCode::AlreadyJoined).await;
    a.send(&ClientToServer::Roster { peers: 9, states: vec![] }).await;
    expect_error(&mut a, ErrorCode::NotHost).await;
    // Still routed after all that.
    host.signal(&a.peer, offer(7)).await;
    assert_eq!(a.recv_frame().await, ServerToClient::Signal { from: host.peer.clone(), signal: offer(7) });
}

#[tokio::test]
async fn frames_before_join_are_refused() {
    let srv = start(test_config()).await;
    let mut early = common::open(srv.addr, "early", "ada", "t").await;
    early.signal(&PeerId("bob#t".into()), offer(1)).await;
    expect_error(&mut early, ErrorCode::NotJoined).await;
    early.send(&ClientToServer::Roster { peers: 2, states: vec![] }).await;
    expect_error(&mut early, ErrorCode::NotJoined).await;
    early.send(&ClientToServer::Join { version: PROTOCOL_VERSION, lost_host: None }).await;
    assert_eq!(early.expect_welcome("early").await.0, Role::Host);
}

#[tokio::test]
async fn a_wrong_protocol_version_closes_the_socket() {
    let srv = start(test_config()).await;
    let mut old = common::open(srv.addr, "versions", "ada", "t").await;
    old.send(&ClientToServer::Join { version: PROTOCOL_VERSION + 1, lost_host: None }).await;
    assert_eq!(old.expect_close().await, close_code::VERSION_MISMATCH);
}

#[tokio::test]
async fn an_oversized_frame_closes_with_1009() {
    let config = p2p_streams::server::SignalingConfig { max_frame_bytes: 1024, ..test_config() };
    let srv = start(config).await;
    let (mut ada, _, _) = join(srv.addr, "big", "ada", "t").await;
    ada.send_raw(Message::text(format!(r#"{{"type":"roster","peers":1,"pad":"{}"}}"#, "x".repeat(1500)))).await;
    assert_eq!(ada.expect_close().await, 1009);
}

#[tokio::test]
async fn a_socket_that_never_joins_is_closed() {
    let config = p2p_streams::server::SignalingConfig { join_timeout: Duration::from_millis(200), ..test_config() };
    let srv = start(config).await;
    let mut lurker = common::open(srv.addr, "lurk", "ada", "t").await;
    assert_eq!(lurker.expect_close().await, close_code::JOIN_TIMEOUT);
    srv.wait_open(0).await;
}
