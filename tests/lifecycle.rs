//! Socket lifecycle: leaving, the open-socket count, the lobby's session list, ping timeout (on a paused clock)
//! and graceful shutdown.
#![cfg(feature = "ssr")]

mod common;

use common::{expect_http_status, join, start, test_config, token, ws_url};
use p2p_streams::protocol::{close_code, ClientToServer, ServerToClient, SessionId};
use p2p_streams::protocol::{LinkState, PeerId, PeerStatus, Route};
use p2p_streams::server::{HostClaim, SessionStore, SessionSummary, SignalingConfig, StoreError};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn a_leaving_client_is_reported_to_the_host_and_its_socket_is_freed() {
    let srv = start(test_config()).await;
    let (mut host, _, _) = join(srv.addr, "leave", "h", "1").await;
    let (a, _, _) = join(srv.addr, "leave", "a", "1").await;
    let (b, _, _) = join(srv.addr, "leave", "b", "1").await;
    let (a_id, b_id) = (a.peer.clone(), b.peer.clone());
    assert_eq!(host.recv_frame().await, ServerToClient::PeerJoined { peer: a_id.clone() });
    assert_eq!(host.recv_frame().await, ServerToClient::PeerJoined { peer: b_id.clone() });
    srv.wait_open(3).await;

    a.close().await;
    assert_eq!(host.recv_frame().await, ServerToClient::PeerLeft { peer: a_id });
    srv.wait_open(2).await;

    b.drop_abruptly();
    assert_eq!(host.recv_frame().await, ServerToClient::PeerLeft { peer: b_id });
    srv.wait_open(1).await;
}

#[tokio::test]
async fn live_sessions_list_each_host_with_its_last_roster() {
    let srv = start(test_config()).await;
    let (mut host_a, _, _) = join(srv.addr, "lobby-a", "ada", "1").await;
    let (host_b, _, _) = join(srv.addr, "lobby-b", "bob", "1").await;
    let summary = |room: &str, host: &PeerId, peers, states| SessionSummary {
        session_id: SessionId(room.into()),
        host: host.clone(),
        peers,
        states,
    };
    let expected = vec![summary("lobby-a", &host_a.peer, 1, vec![]), summary("lobby-b", &host_b.peer, 1, vec![])];
    assert_eq!(srv.server.live_sessions().await.expect("store"), expected);

    let states = vec![
        PeerStatus { peer: host_a.peer.clone(), state: LinkState::Connected, host: true, route: None },
        PeerStatus { peer: PeerId("cy#2".into()), state: LinkState::Negotiating, host: false, route: None },
        PeerStatus { peer: PeerId("di#3".into()), state: LinkState::Connected, host: false, route: Some(Route::Relay) },
    ];
    host_a.send(&ClientToServer::Roster { peers: 3, states: states.clone() }).await;
    let expected = vec![summary("lobby-a", &host_a.peer, 3, states), summary("lobby-b", &host_b.peer, 1, vec![])];
    common::eventually_async(
        || async { srv.server.live_sessions().await.ok().as_ref() == Some(&expected) },
        "the roster to reach the lobby",
    )
    .await;
}

#[tokio::test]
async fn a_silent_host_is_timed_out_and_loses_its_role_after_the_grace() {
    let config = SignalingConfig {
        ping_interval: Duration::from_secs(1),
        ping_timeout: Duration::from_secs(30),
        host_grace: Duration::from_secs(5),
        host_ttl: Duration::from_secs(30),
        ..test_config()
    };
    let srv = start(config).await;
    let (mut host, _, _) = join(srv.addr, "silent", "h", "1").await;
    let (mut a, _, _) = join(srv.addr, "silent", "a", "1").await;
    assert_eq!(host.recv_frame().await, ServerToClient::PeerJoined { peer: a.peer.clone() });

    // From here the clock jumps to the next timer whenever every task waits, even while a pong is in flight,
    // so the timeout is long against the ping interval: alice, who is read (her client answers the pings),
    // must outlive the host, who is never read and so never answers.
    tokio::time::pause();
    let promoted = a.recv_within(Duration::from_secs(120)).await;
    a.check_promoted(promoted);
    srv.wait_open(1).await;
    assert_eq!(host.raw_close_code().await, close_code::PING_TIMEOUT);
}

#[tokio::test]
async fn shutdown_closes_every_socket_with_reconnect_and_refuses_new_ones() {
    let srv = start(SignalingConfig { host_grace: Duration::from_secs(60), ..test_config() }).await;
    let (mut host, _, _) = join(srv.addr, "bye", "h", "1").await;
    let (mut a, _, _) = join(srv.addr, "bye", "a", "1").await;
    let mut lurker = common::open(srv.addr, "bye", "l", "1").await;
    srv.wait_open(3).await;

    srv.server.shutdown();
    assert_eq!(host.expect_close().await, close_code::RECONNECT);
    assert_eq!(a.expect_close().await, close_code::RECONNECT);
    assert_eq!(lurker.expect_close().await, close_code::RECONNECT);
    srv.wait_open(0).await;
    let url = ws_url(srv.addr, Some("bye"), Some(&token("bye", "n")), Some("1"));
    assert_eq!(expect_http_status(&url).await, 503);
    // The host keeps its record through the grace, to reclaim its role on another node.
    let sessions = srv.server.live_sessions().await.expect("store");
    assert_eq!(sessions.iter().map(|s| &s.host).collect::<Vec<_>>(), vec![&host.peer]);
}

/// A store whose backend is down.
struct DownStore;

#[async_trait::async_trait]
impl SessionStore for DownStore {
    async fn claim_host(&self, _: &SessionId, _: &PeerId, _: Duration) -> Result<HostClaim, StoreError> {
        Err(StoreError::Unavailable("test backend is down".into()))
    }
    async fn replace_host(&self, _: &SessionId, _: &PeerId, _: &PeerId, _: Duration) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable("test backend is down".into()))
    }
    async fn refresh_host(&self, _: &SessionId, _: &PeerId, _: Duration) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable("test backend is down".into()))
    }
    async fn release_host(&self, _: &SessionId, _: &PeerId) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable("test backend is down".into()))
    }
    async fn current_host(&self, _: &SessionId) -> Result<Option<PeerId>, StoreError> {
        Err(StoreError::Unavailable("test backend is down".into()))
    }
    async fn set_roster(&self, _: &SessionId, _: u32, _: Vec<PeerStatus>) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("test backend is down".into()))
    }
    async fn sessions(&self) -> Result<Vec<SessionSummary>, StoreError> {
        Err(StoreError::Unavailable("test backend is down".into()))
    }
}

#[tokio::test]
async fn a_store_failure_during_join_closes_with_1011() {
    let srv = common::start_with_store(test_config(), Arc::new(DownStore)).await;
    let mut ada = common::connect(srv.addr, "down", "ada", "1").await;
    assert_eq!(ada.expect_close().await, 1011);
    srv.wait_open(0).await;
    assert!(srv.server.live_sessions().await.is_err(), "the lobby sees the failure too");
}
