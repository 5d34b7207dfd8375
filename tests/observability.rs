//! Observability on a real server: `/healthz` (200, then 503 on shutdown), `/metrics` in the Prometheus text
//! format counting joins, routed signals by kind, refused upgrades and frames, negotiation time, bytes and
//! reported history forgeries, with gauges that match the node; and the admin server function's refusals over
//! HTTP.
//!
//! The metrics recorder is process-wide: counters are compared as increases (other tests of this binary may
//! add to them), and only one test scrapes, so the scrape-time gauges are this test's server's.
#![cfg(feature = "ssr")]

mod common;

use axum::body::Body;
use axum::http::Request;
use axum::routing::post;
use common::{answer, candidate, expect_http_status, http, join, offer, start_with_ops, test_config, token, ws_url};
use leptos::prelude::provide_context;
use p2p_streams::protocol::{ClientToServer, ErrorCode, LinkState, PeerStatus, Role, ServerToClient};
use p2p_streams::server::metrics::{self as m, PROMETHEUS_CONTENT_TYPE};
use p2p_streams::server::{install_metrics, SignalingServer};
use p2p_streams::P2pServer;
use p2p_streams_demo::admin::{AdminAccess, AdminOptions, AdminToken};
use std::net::SocketAddr;

/// The admin token of the admin tests.
const ADMIN: &str = "observability-admin-token";

/// The value of the series `series` (name and labels exactly as rendered), 0 when absent.
fn value(scrape: &str, series: &str) -> f64 {
    scrape
        .lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// `GET /metrics`, checked for status and content type.
async fn scrape(addr: SocketAddr) -> String {
    let response = http(addr, "GET", "/metrics", &[], "").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some(PROMETHEUS_CONTENT_TYPE));
    response.body
}

#[tokio::test]
async fn healthz_is_ok_with_the_open_count_then_503_while_shutting_down() {
    let srv = start_with_ops(test_config()).await;
    let response = http(srv.addr, "GET", "/healthz", &[], "").await;
    assert_eq!(response.status, 200);
    let body: serde_json::Value = serde_json::from_str(&response.body).expect("JSON health");
    assert_eq!(body, serde_json::json!({ "status": "ok", "open_connections": 0 }));

    let _ada = common::open(srv.addr, "health", "ada", "1").await;
    srv.wait_open(1).await;
    let body: serde_json::Value =
        serde_json::from_str(&http(srv.addr, "GET", "/healthz", &[], "").await.body).expect("JSON health");
    assert_eq!(body["open_connections"], 1);

    srv.server.shutdown();
    let response = http(srv.addr, "GET", "/healthz", &[], "").await;
    assert_eq!(response.status, 503);
    assert!(response.body.contains("shutting_down"), "{}", response.body);
}

#[tokio::test]
async fn metrics_count_joins_signals_refusals_negotiation_and_bytes() {
    let srv = start_with_ops(test_config()).await;
    let before = scrape(srv.addr).await;
    let counters = [
        m::JOINS,
        m::SIGNALS_ROUTED,
        m::UPGRADE_REJECTIONS,
        m::PEER_ERRORS,
        m::BYTES_RECEIVED,
        m::BYTES_SENT,
        m::FORGERIES_REPORTED,
    ];
    for name in counters.into_iter().chain([m::CONNECTIONS, m::PEERS, m::HOSTS, m::SESSIONS]) {
        assert!(before.contains(&format!("# TYPE {name} ")), "{name} is listed before any event\n{before}");
    }

    let (mut host, role, _) = join(srv.addr, "metered", "host", "h").await;
    assert_eq!(role, Role::Host);
    let (mut client, _, _) = join(srv.addr, "metered", "client", "c").await;
    assert_eq!(host.recv_frame().await, ServerToClient::PeerJoined { peer: client.peer.clone() });
    host.signal(&client.peer, offer(1)).await;
    client.recv_frame().await;
    host.signal(&client.peer, candidate(1)).await;
    client.recv_frame().await;
    client.signal(&host.peer, answer(1)).await;
    host.recv_frame().await;
    client.signal(&host.peer, answer(1)).await; // a second answer: routed, but not a second negotiation
    host.recv_frame().await;
    // A peer's forgery report is counted (and logged), never answered.
    host.send(&ClientToServer::Report { forger: client.peer.clone(), entries: 3 }).await;
    client.send(&ClientToServer::Roster { peers: 2, states: vec![] }).await;
    match client.recv_frame().await {
        ServerToClient::Error { code, .. } => assert_eq!(code, ErrorCode::NotHost),
        other => panic!("expected a not_host error, got {other:?}"),
    }
    assert_eq!(expect_http_status(&ws_url(srv.addr, Some("metered"), None, Some("t"))).await, 401);
    let bad_tab = ws_url(srv.addr, Some("metered"), Some(&token("metered", "eve")), Some("bad%20tab"));
    assert_eq!(expect_http_status(&bad_tab).await, 400);

    let after = scrape(srv.addr).await;
    let grew = |series: &str, by: f64| {
        let (was, now) = (value(&before, series), value(&after, series));
        assert!(now - was >= by, "{series}: {was} -> {now}, expected +{by}\n{after}");
    };
    grew(&format!("{}{{role=\"host\"}}", m::JOINS), 1.0);
    grew(&format!("{}{{role=\"client\"}}", m::JOINS), 1.0);
    grew(&format!("{}{{kind=\"offer\"}}", m::SIGNALS_ROUTED), 1.0);
    grew(&format!("{}{{kind=\"candidate\"}}", m::SIGNALS_ROUTED), 1.0);
    grew(&format!("{}{{kind=\"answer\"}}", m::SIGNALS_ROUTED), 2.0);
    grew(&format!("{}{{reason=\"missing\"}}", m::UPGRADE_REJECTIONS), 1.0);
    grew(&format!("{}{{reason=\"bad_tab\"}}", m::UPGRADE_REJECTIONS), 1.0);
    grew(&format!("{}{{code=\"not_host\"}}", m::PEER_ERRORS), 1.0);
    grew(&format!("{}_count", m::NEGOTIATION_SECONDS), 1.0);
    grew(m::FORGERIES_REPORTED, 3.0);
    grew(m::BYTES_RECEIVED, 100.0);
    grew(m::BYTES_SENT, 100.0);
    assert!(after.contains(&format!("# TYPE {} histogram", m::NEGOTIATION_SECONDS)), "{after}");
    assert!(after.contains(&format!("{}_bucket{{le=\"+Inf\"}}", m::NEGOTIATION_SECONDS)), "{after}");

    // Gauges describe this node now: two sockets, both joined, one host, one live session.
    assert_eq!(value(&after, m::CONNECTIONS), 2.0, "{after}");
    assert_eq!(value(&after, m::PEERS), 2.0);
    assert_eq!(value(&after, m::HOSTS), 1.0);
    assert_eq!(value(&after, m::SESSIONS), 1.0);
    client.close().await;
    host.close().await;
    srv.wait_open(0).await;
    let empty = scrape(srv.addr).await;
    for gauge in [m::CONNECTIONS, m::PEERS, m::HOSTS, m::SESSIONS] {
        assert_eq!(value(&empty, gauge), 0.0, "{gauge} after everyone left\n{empty}");
    }
    assert!(install_metrics().is_ok(), "a second install returns the same recorder");
}

/// A server serving the signaling route and every server function, with `admin` as the configured token.
async fn start_with_server_fns(admin: Option<&str>) -> common::TestServer {
    let admin = AdminAccess::new(AdminToken(admin.map(str::to_owned)), AdminOptions::default());
    // The admin server function reads the one `P2pServer` from the context: its signaling route serves the
    // test's sockets (the test server's store, so both see the same sessions).
    let store: std::sync::Arc<dyn p2p_streams::server::SessionStore> =
        std::sync::Arc::new(p2p_streams::server::MemoryStore::new());
    let p2p = P2pServer::builder(p2p_streams::token::TokenSigner::new(common::SECRET.to_vec()), Anyone)
        .store(store.clone())
        .signaling_config(test_config())
        .build();
    let app = move |_: &SignalingServer| {
        let context = {
            let p2p_context = p2p.leptos_context();
            move || {
                p2p_context();
                provide_context(admin.clone());
            }
        };
        let handler = move |req: Request<Body>| leptos_axum::handle_server_fns_with_context(context.clone(), req);
        p2p.router().route("/api/{*fn_name}", post(handler))
    };
    common::start_app(test_config(), store, app).await
}

/// Lets everyone join (these tests sign their tokens themselves).
struct Anyone;

#[p2p_streams::async_trait]
impl p2p_streams::JoinPolicy for Anyone {
    async fn authorize(&self, _: &http::request::Parts, _: &str, _: &str) -> Result<(), p2p_streams::JoinRefusal> {
        Ok(())
    }
}

/// Calls the admin server function with an optional token argument and cookie header.
async fn admin_call(addr: SocketAddr, token: Option<&str>, cookie: Option<&str>) -> common::HttpResponse {
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")];
    headers.extend(cookie.map(|c| ("Cookie", c)));
    let body = token.map(|t| format!("token={t}")).unwrap_or_default();
    http(addr, "POST", "/api/admin_sessions", &headers, &body).await
}

#[tokio::test]
async fn the_admin_server_function_refuses_without_the_token_and_lists_sessions_with_it() {
    let off = start_with_server_fns(None).await;
    for (token, cookie) in [(None, None), (Some(ADMIN), None), (None, Some("p2p_admin=x"))] {
        let response = admin_call(off.addr, token, cookie).await;
        assert_eq!(response.status, 403, "disabled: {response:?}");
        assert!(response.body.contains("Disabled"), "{}", response.body);
    }

    let on = start_with_server_fns(Some(ADMIN)).await;
    let (mut host, _, _) = join(on.addr, "inspected", "ada", "1").await;
    let states = vec![
        PeerStatus { peer: host.peer.clone(), state: LinkState::Connected, host: true, route: None },
        PeerStatus {
            peer: p2p_streams::PeerId("bob#2".into()),
            state: LinkState::Connecting,
            host: false,
            route: None,
        },
    ];
    host.send(&ClientToServer::Roster { peers: 2, states }).await;
    for (token, cookie) in [(None, None), (Some("wrong-token"), None), (None, Some("p2p_admin=forged"))] {
        let response = admin_call(on.addr, token, cookie).await;
        assert_eq!(response.status, 403, "refused: {response:?}");
        assert!(response.body.contains("Refused"), "{}", response.body);
        assert!(!response.body.contains("inspected"), "a refusal lists nothing");
    }
    let listed = || async {
        let response = admin_call(on.addr, Some(ADMIN), None).await;
        assert_eq!(response.status, 200, "{response:?}");
        let snapshot: p2p_streams_demo::admin::AdminSnapshot = serde_json::from_str(&response.body).expect("snapshot");
        snapshot.sessions.first().is_some_and(|s| {
            s.session_id == "inspected"
                && s.peers == 2
                && s.states.get(1).map(|p| p.state) == Some(LinkState::Connecting)
        })
    };
    common::eventually_async(listed, "the roster to reach the inspector").await;
}
