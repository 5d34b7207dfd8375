//! Several signaling nodes sharing one Redis, each a real server on `127.0.0.1:0` speaking real WebSockets:
//! peers of one session on different nodes find each other, an election race across nodes crowns exactly one
//! host, signals cross nodes in order, host loss is handled across nodes, a stopping node hands its host over,
//! a killed node's host is replaced within the node TTL, and a Redis restart is survived.
//!
//! Redis: `P2P_TEST_REDIS_URL` (set by `scripts/test.sh`), else a private `redis-server` from PATH; each test
//! uses its own key prefix. The Redis-restart test always starts its own server.
#![cfg(feature = "ssr")]

mod common;

use common::redis::{free_port, options, shared_redis, start_node, RedisProcess};
use common::{
    answer, candidate, connect, eventually_async, join, offer, test_config, Client, TestServer, SECRET, WAIT,
};
use p2p_streams::protocol::{close_code, ErrorCode, PeerId, Role, ServerToClient};
use p2p_streams::server::SignalingConfig;
use std::time::Duration;

/// Two nodes on one Redis with a common key prefix.
async fn two_nodes(url: &str, config: SignalingConfig) -> (TestServer, TestServer) {
    let opts = options(Duration::from_millis(600));
    (start_node(config.clone(), url, opts.clone()).await, start_node(config, url, opts).await)
}

#[tokio::test]
async fn peers_on_two_nodes_find_each_other_and_signals_cross_in_order() {
    let redis = shared_redis().await;
    let (a, b) = two_nodes(&redis.url, test_config()).await;
    assert_ne!(a.server.node_id(), b.server.node_id());

    let (mut host, role, _) = join(a.addr, "cross", "h", "1").await;
    assert_eq!(role, Role::Host);
    let (mut guest, role, named) = join(b.addr, "cross", "g", "1").await;
    assert_eq!((role, &named), (Role::Client, &host.peer), "node B sees node A's host");
    assert_eq!(host.recv_frame().await, ServerToClient::PeerJoined { peer: guest.peer.clone() });

    host.signal(&guest.peer, offer(7)).await;
    assert_eq!(guest.recv_frame().await, ServerToClient::Signal { from: host.peer.clone(), signal: offer(7) });
    guest.signal(&host.peer, answer(7)).await;
    for link in 0..30 {
        guest.signal(&host.peer, candidate(link)).await;
    }
    assert_eq!(host.recv_frame().await, ServerToClient::Signal { from: guest.peer.clone(), signal: answer(7) });
    for link in 0..30 {
        let expected = ServerToClient::Signal { from: guest.peer.clone(), signal: candidate(link) };
        assert_eq!(host.recv_frame().await, expected, "per-link order kept across nodes");
    }

    // A peer joined nowhere is still refused, even with a second node to ask.
    host.signal(&PeerId::with_tab("nobody", "1"), offer(1)).await;
    assert!(matches!(host.recv_frame().await, ServerToClient::Error { code: ErrorCode::UnknownPeer, .. }));

    let guest_id = guest.peer.clone();
    guest.close().await;
    assert_eq!(host.recv_frame().await, ServerToClient::PeerLeft { peer: guest_id });
    let sessions = b.server.live_sessions().await.expect("store");
    assert_eq!(sessions.iter().map(|s| &s.host).collect::<Vec<_>>(), vec![&host.peer], "lobby is shared");
}

#[tokio::test]
async fn an_election_race_across_nodes_crowns_exactly_one_host() {
    let redis = shared_redis().await;
    let (a, b) = two_nodes(&redis.url, test_config()).await;
    let joins = (0..16).map(|i| {
        let addr = if i % 2 == 0 { a.addr } else { b.addr };
        async move { join(addr, "race", &format!("u{i}"), "1").await }
    });
    let mut peers: Vec<(Client, Role, _)> = futures::future::join_all(joins).await;
    let hosts: Vec<_> =
        peers.iter().filter(|(_, role, _)| *role == Role::Host).map(|(c, _, _)| c.peer.clone()).collect();
    assert_eq!(hosts.len(), 1, "exactly one host across both nodes: {hosts:?}");
    let host_id = hosts[0].clone();
    assert!(peers.iter().all(|(_, _, named)| *named == host_id), "everyone names the same host");

    let index = peers.iter().position(|(c, _, _)| c.peer == host_id).expect("host");
    let (mut host, _, _) = peers.swap_remove(index);
    let mut introduced = Vec::new();
    for _ in 0..15 {
        match host.recv_frame().await {
            ServerToClient::PeerJoined { peer } => introduced.push(peer),
            other => panic!("expected PeerJoined, got {other:?}"),
        }
    }
    introduced.sort();
    let mut expected: Vec<_> = peers.iter().map(|(c, _, _)| c.peer.clone()).collect();
    expected.sort();
    assert_eq!(introduced, expected, "the host hears of every peer once, from both nodes");
    host.expect_silence().await;
}

/// `new` was promoted on its node and `other`, on the other node, follows it.
async fn expect_cross_promotion(new: &mut Client, other: &mut Client) {
    new.expect_promoted().await;
    let followed = ServerToClient::RoleChanged { role: Role::Client, host: new.peer.clone(), grant: None };
    assert_eq!(other.recv_frame().await, followed);
    assert_eq!(new.recv_frame().await, ServerToClient::PeerJoined { peer: other.peer.clone() });
}

#[tokio::test]
async fn a_host_leaving_promotes_a_waiting_peer_and_the_other_node_follows() {
    let redis = shared_redis().await;
    let config = SignalingConfig { host_grace: Duration::from_secs(60), ..test_config() };
    let (a, b) = two_nodes(&redis.url, config).await;
    let (mut host, _, _) = join(a.addr, "leave", "h", "1").await;
    let (mut near, _, _) = join(a.addr, "leave", "n", "1").await;
    let (mut far, _, _) = join(b.addr, "leave", "f", "1").await;
    assert_eq!(host.recv_frame().await, ServerToClient::PeerJoined { peer: near.peer.clone() });
    assert_eq!(host.recv_frame().await, ServerToClient::PeerJoined { peer: far.peer.clone() });

    host.close().await;
    expect_cross_promotion(&mut near, &mut far).await;

    // The new host leaves too: nobody waits on node A, so node B promotes its own peer.
    let (last, _, _) = join(a.addr, "leave", "l", "1").await;
    assert_eq!(near.recv_frame().await, ServerToClient::PeerJoined { peer: last.peer.clone() });
    last.close().await;
    assert_eq!(near.recv_frame().await, ServerToClient::PeerLeft { peer: PeerId::with_tab("l", "1") });
    near.close().await;
    // Its grant verifies under the authority node A's welcomes named: every node derives the same one.
    far.expect_promoted().await;
}

#[tokio::test]
async fn a_stopping_node_sends_reconnect_and_its_host_keeps_the_role_on_another_node() {
    let redis = shared_redis().await;
    let config = SignalingConfig { host_grace: Duration::from_secs(10), ..test_config() };
    let (a, b) = two_nodes(&redis.url, config).await;
    let (mut host, _, _) = join(a.addr, "drain", "h", "1").await;
    let (mut guest, _, _) = join(b.addr, "drain", "g", "1").await;
    assert_eq!(host.recv_frame().await, ServerToClient::PeerJoined { peer: guest.peer.clone() });

    a.server.shutdown();
    assert_eq!(host.expect_close().await, close_code::RECONNECT);
    let (mut back, role, named) = join(b.addr, "drain", "h", "1").await;
    assert_eq!((role, &named), (Role::Host, &host.peer), "the host re-registers on node B with its role");
    assert_eq!(back.recv_frame().await, ServerToClient::PeerJoined { peer: guest.peer.clone() });
    guest.expect_silence().await;
}

/// Runs the server binary as node A of `prefix` on a free port, against `url`.
fn spawn_binary_node(url: &str, prefix: &str) -> (std::process::Child, std::net::SocketAddr) {
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_p2p-streams"))
        .args(["--addr", &addr.to_string()])
        .env("P2P_REDIS_URL", url)
        .env("P2P_REDIS_PREFIX", prefix)
        .env("P2P_NODE_TTL_MS", "600")
        .env("P2P_SECRET", std::str::from_utf8(SECRET).expect("utf-8 secret"))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the server binary");
    (child, addr)
}

#[tokio::test]
async fn a_killed_nodes_host_is_replaced_within_the_node_ttl() {
    let redis = shared_redis().await;
    let opts = options(Duration::from_millis(600));
    let (mut node_a, a_addr) = spawn_binary_node(&redis.url, &opts.prefix);
    let b = start_node(test_config(), &redis.url, opts).await;
    eventually_async(|| async { tokio::net::TcpStream::connect(a_addr).await.is_ok() }, "node A listening").await;

    let (mut host, role, _) = join(a_addr, "crash", "h", "1").await;
    assert_eq!(role, Role::Host);
    let (mut x, _, _) = join(b.addr, "crash", "x", "1").await;
    let (mut y, _, _) = join(b.addr, "crash", "y", "1").await;
    assert_eq!(host.recv_frame().await, ServerToClient::PeerJoined { peer: x.peer.clone() });
    assert_eq!(host.recv_frame().await, ServerToClient::PeerJoined { peer: y.peer.clone() });

    node_a.kill().expect("SIGKILL node A");
    node_a.wait().expect("reap node A");
    // Nobody reconnects: node B notices node A's liveness key expire and promotes its earliest peer.
    x.expect_promoted().await;
    assert_eq!(x.recv_frame().await, ServerToClient::PeerJoined { peer: y.peer.clone() });
    let followed = ServerToClient::RoleChanged { role: Role::Client, host: x.peer.clone(), grant: None };
    assert_eq!(y.recv_frame().await, followed);
    drop(host);
}

#[tokio::test]
async fn a_redis_restart_is_survived_with_clear_errors_meanwhile() {
    let _ = tracing_subscriber::fmt().with_env_filter("info").with_test_writer().try_init();
    let mut redis = RedisProcess::start().await;
    let config = SignalingConfig { ping_interval: Duration::from_millis(200), ..test_config() };
    let (a, b) = two_nodes(&redis.url(), config).await;
    let (mut host, _, _) = join(a.addr, "restart", "h", "1").await;
    let (mut guest, _, _) = join(b.addr, "restart", "g", "1").await;
    assert_eq!(host.recv_frame().await, ServerToClient::PeerJoined { peer: guest.peer.clone() });

    redis.kill();
    // While Redis is away: a join is refused with "internal error" and a clear reason, a cross-node signal
    // is answered with an `unavailable` error instead of vanishing.
    let mut late = connect(b.addr, "restart", "late", "1").await;
    assert_eq!(late.expect_close().await, 1011);
    guest.signal(&host.peer, candidate(1)).await;
    assert!(matches!(guest.recv_frame().await, ServerToClient::Error { code: ErrorCode::Unavailable, .. }));

    redis.restart().await;
    // The live host re-asserts its record (Redis came back empty), so a newcomer finds the same host.
    let host_id = host.peer.clone();
    eventually_async(
        || async { b.server.live_sessions().await.is_ok_and(|s| s.iter().any(|s| s.host == host_id)) },
        "the host's record re-created",
    )
    .await;
    let (mut newcomer, role, named) = join(b.addr, "restart", "n", "1").await;
    assert_eq!((role, &named), (Role::Client, &host_id), "nothing acknowledged was lost: same host");
    // Signals cross nodes again once both nodes have subscribed again.
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut link = 100;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "signals never crossed nodes again");
        newcomer.signal(&host.peer, candidate(link)).await;
        match host.recv_within(Duration::from_millis(300)).await {
            Some(ServerToClient::Signal { from, .. }) if from == newcomer.peer => break,
            _ => link += 1,
        }
    }
    drop(guest);
}
