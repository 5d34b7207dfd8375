//! Host loss and re-election: a clean leave promotes at once, an abnormal drop keeps the role through the
//! grace period (and a quick reconnect keeps it for good), `lost_host` takes over at once, and an expired
//! grace promotes the earliest-joined waiting peer. Also: a reloaded tab supersedes its old socket.
#![cfg(feature = "ssr")]

mod common;

use common::{connect_after_loss, join, start, test_config, Client, TestServer};
use p2p_streams::protocol::{close_code, PeerId, Role, ServerToClient};
use p2p_streams::server::SignalingConfig;
use std::time::Duration;

/// Host "h" then clients "a" and "b" in `room`; the host's PeerJoined frames are consumed.
async fn star(srv: &TestServer, room: &str) -> (Client, Client, Client) {
    let (mut host, role, _) = join(srv.addr, room, "h", "1").await;
    assert_eq!(role, Role::Host);
    let (a, role_a, host_a) = join(srv.addr, room, "a", "1").await;
    assert_eq!((role_a, &host_a), (Role::Client, &host.peer));
    assert_eq!(host.recv_frame().await, ServerToClient::PeerJoined { peer: a.peer.clone() });
    let (b, _, _) = join(srv.addr, room, "b", "1").await;
    assert_eq!(host.recv_frame().await, ServerToClient::PeerJoined { peer: b.peer.clone() });
    (host, a, b)
}

/// `new` was promoted: it hears so first, then one PeerJoined per waiting peer; `other` learns the new host.
async fn expect_promotion(new: &mut Client, other: &mut Client) {
    new.expect_promoted().await;
    assert_eq!(new.recv_frame().await, ServerToClient::PeerJoined { peer: other.peer.clone() });
    let followed = ServerToClient::RoleChanged { role: Role::Client, host: new.peer.clone(), grant: None };
    assert_eq!(other.recv_frame().await, followed);
}

#[tokio::test]
async fn a_clean_host_leave_promotes_the_earliest_waiting_client_at_once() {
    // A grace longer than the test: only the clean path can promote.
    let srv = start(SignalingConfig { host_grace: Duration::from_secs(60), ..test_config() }).await;
    let (host, mut a, mut b) = star(&srv, "clean").await;
    host.close().await;
    expect_promotion(&mut a, &mut b).await;
    let sessions = srv.server.live_sessions().await.expect("store");
    assert_eq!(sessions.iter().map(|s| &s.host).collect::<Vec<_>>(), vec![&a.peer]);
}

#[tokio::test]
async fn a_host_back_within_its_grace_keeps_the_role() {
    let srv = start(SignalingConfig { host_grace: Duration::from_secs(60), ..test_config() }).await;
    let (host, mut a, mut b) = star(&srv, "blip").await;
    let host_id = host.peer.clone();
    host.drop_abruptly();
    srv.wait_open(2).await;
    a.expect_silence().await;
    b.expect_silence().await;

    // Same user, same tab: the reloaded page or the reconnected socket.
    let (mut back, role, named) = join(srv.addr, "blip", "h", "1").await;
    assert_eq!((role, &named), (Role::Host, &host_id));
    // Waiting peers are announced in join order.
    assert_eq!(back.recv_frame().await, ServerToClient::PeerJoined { peer: a.peer.clone() });
    assert_eq!(back.recv_frame().await, ServerToClient::PeerJoined { peer: b.peer.clone() });
    a.expect_silence().await;
    b.expect_silence().await;
}

#[tokio::test]
async fn a_peer_that_lost_a_dead_host_takes_over_at_once() {
    let srv = start(SignalingConfig { host_grace: Duration::from_secs(60), ..test_config() }).await;
    let (host, a, mut b) = star(&srv, "takeover").await;
    let dead = host.peer.clone();
    host.drop_abruptly();
    srv.wait_open(2).await;

    // Alice's link to the host died too: her page reconnects, naming the host it lost.
    let mut a_old = a;
    let mut a_new = connect_after_loss(srv.addr, "takeover", "a", "1", Some(dead)).await;
    assert_eq!(a_new.expect_welcome("takeover").await, (Role::Host, a_new.peer.clone()));
    assert_eq!(a_old.expect_close().await, close_code::SUPERSEDED);
    assert_eq!(a_new.recv_frame().await, ServerToClient::PeerJoined { peer: b.peer.clone() });
    let followed = ServerToClient::RoleChanged { role: Role::Client, host: a_new.peer.clone(), grant: None };
    assert_eq!(b.recv_frame().await, followed);
}

#[tokio::test]
async fn lost_host_naming_a_live_host_changes_nothing() {
    let srv = start(test_config()).await;
    let (mut host, _a, _b) = star(&srv, "liar").await;
    let mut c = connect_after_loss(srv.addr, "liar", "c", "1", Some(host.peer.clone())).await;
    assert_eq!(c.expect_welcome("liar").await, (Role::Client, host.peer.clone()));
    assert_eq!(host.recv_frame().await, ServerToClient::PeerJoined { peer: c.peer.clone() });
}

#[tokio::test]
async fn after_the_grace_the_earliest_waiting_client_is_promoted() {
    let srv = start(SignalingConfig { host_grace: Duration::from_millis(300), ..test_config() }).await;
    let (host, mut a, mut b) = star(&srv, "grace").await;
    host.drop_abruptly();
    expect_promotion(&mut a, &mut b).await;
}

#[tokio::test]
async fn a_host_leaving_an_empty_session_frees_it() {
    let srv = start(test_config()).await;
    let (host, _, _) = join(srv.addr, "alone", "h", "1").await;
    host.drop_abruptly();
    srv.wait_open(0).await;
    // After the grace the record is released and a newcomer becomes host.
    common::eventually_async(
        || async { srv.server.live_sessions().await.map(|s| s.is_empty()).unwrap_or(false) },
        "the session to disappear",
    )
    .await;
    let (_next, role, _) = join(srv.addr, "alone", "n", "1").await;
    assert_eq!(role, Role::Host);
}

#[tokio::test]
async fn a_second_socket_of_the_same_peer_supersedes_the_first() {
    let srv = start(test_config()).await;
    let (mut first, role, _) = join(srv.addr, "reload", "ada", "tab").await;
    assert_eq!(role, Role::Host);
    let (mut client, _, _) = join(srv.addr, "reload", "bob", "tab").await;
    assert_eq!(first.recv_frame().await, ServerToClient::PeerJoined { peer: client.peer.clone() });

    let (mut second, role, host) = join(srv.addr, "reload", "ada", "tab").await;
    assert_eq!((role, host), (Role::Host, PeerId::with_tab("ada", "tab")), "the reloaded host is host again");
    assert_eq!(first.expect_close().await, close_code::SUPERSEDED);
    assert_eq!(second.recv_frame().await, ServerToClient::PeerJoined { peer: client.peer.clone() });
    // The old socket's end released nothing: bob still follows ada, and nobody told him otherwise.
    client.expect_silence().await;
    srv.wait_open(2).await;
}
