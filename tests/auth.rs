//! The upgrade route refuses every bad token or tab nonce with the right HTTP status, BEFORE upgrading.
#![cfg(feature = "ssr")]

mod common;

use common::{expect_http_status, start, test_config, token, ws_url, SECRET};
use p2p_streams::protocol::{Role, ServerToClient};
use p2p_streams::token::{JoinClaims, TokenSigner};
use std::time::Duration;

const ROOM: &str = "room-auth";

#[tokio::test]
async fn valid_token_upgrades_and_joins() {
    let srv = start(test_config()).await;
    let url = ws_url(srv.addr, Some(ROOM), Some(&token(ROOM, "ada")), Some("t1"));
    assert_eq!(expect_http_status(&url).await, 101);
    let (_ada, role, _) = common::join(srv.addr, ROOM, "ada", "t1").await;
    assert_eq!(role, Role::Host);
}

#[tokio::test]
async fn missing_token_is_401() {
    let srv = start(test_config()).await;
    assert_eq!(expect_http_status(&ws_url(srv.addr, Some(ROOM), None, Some("t1"))).await, 401);
    assert_eq!(expect_http_status(&ws_url(srv.addr, Some(ROOM), Some(""), Some("t1"))).await, 401);
    assert_eq!(expect_http_status(&ws_url(srv.addr, None, None, None)).await, 401);
}

#[tokio::test]
async fn tampered_token_is_401() {
    let srv = start(test_config()).await;
    let good = token(ROOM, "ada");
    let (body, sig) = good.split_once('.').expect("two parts");
    // Same signature over claims naming another user.
    let forged_claims = TokenSigner::new(b"x".to_vec()).sign(ROOM, "mallory", Duration::from_secs(60));
    let forged = format!("{}.{sig}", forged_claims.split_once('.').expect("two parts").0);
    assert_eq!(expect_http_status(&ws_url(srv.addr, Some(ROOM), Some(&forged), Some("t1"))).await, 401);
    // One character of the signature changed.
    let flipped = format!("{body}.{}{}", if sig.starts_with('A') { 'B' } else { 'A' }, &sig[1..]);
    assert_eq!(expect_http_status(&ws_url(srv.addr, Some(ROOM), Some(&flipped), Some("t1"))).await, 401);
    // Not a token at all.
    assert_eq!(expect_http_status(&ws_url(srv.addr, Some(ROOM), Some("garbage"), Some("t1"))).await, 401);
}

#[tokio::test]
async fn token_signed_with_another_secret_is_401() {
    let srv = start(test_config()).await;
    let other = TokenSigner::new(b"not-the-server-secret".to_vec()).sign(ROOM, "ada", Duration::from_secs(60));
    assert_eq!(expect_http_status(&ws_url(srv.addr, Some(ROOM), Some(&other), Some("t1"))).await, 401);
}

#[tokio::test]
async fn expired_token_is_401() {
    let srv = start(test_config()).await;
    let claims = JoinClaims { v: 1, sid: ROOM.into(), pid: "ada".into(), exp: 1_000 };
    let expired = TokenSigner::new(SECRET.to_vec()).sign_claims(&claims);
    assert_eq!(expect_http_status(&ws_url(srv.addr, Some(ROOM), Some(&expired), Some("t1"))).await, 401);
}

#[tokio::test]
async fn absurdly_long_token_is_401() {
    let srv = start(test_config()).await;
    let long = "a".repeat(8 * 1024);
    assert_eq!(expect_http_status(&ws_url(srv.addr, Some(ROOM), Some(&long), Some("t1"))).await, 401);
}

#[tokio::test]
async fn token_for_another_session_is_403() {
    let srv = start(test_config()).await;
    let url = ws_url(srv.addr, Some("other-room"), Some(&token(ROOM, "ada")), Some("t1"));
    assert_eq!(expect_http_status(&url).await, 403);
}

#[tokio::test]
async fn bad_tab_nonce_is_400() {
    let srv = start(test_config()).await;
    let tok = token(ROOM, "ada");
    for tab in [None, Some(""), Some("has%20space"), Some("a%23b"), Some(&*"x".repeat(33))] {
        assert_eq!(expect_http_status(&ws_url(srv.addr, Some(ROOM), Some(&tok), tab)).await, 400, "tab {tab:?}");
    }
}

#[tokio::test]
async fn identity_comes_from_the_token_not_from_frames() {
    let srv = start(test_config()).await;
    let mut ada = common::connect(srv.addr, ROOM, "ada", "tab-1").await;
    match ada.recv_frame().await {
        ServerToClient::Welcome { peer_id, session_id, .. } => {
            assert_eq!(peer_id.0, "ada#tab-1");
            assert_eq!(session_id.0, ROOM);
        }
        other => panic!("expected welcome, got {other:?}"),
    }
}
