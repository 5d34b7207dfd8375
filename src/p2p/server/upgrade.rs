//! The `GET /p2p/ws` route (server side, `ssr`): checks the join token and tab nonce BEFORE upgrading.
//!
//! `?session=<id>&token=<join token>&tab=<tab nonce>`. A refused request gets a plain HTTP status with a short
//! reason (never the token), checked in this order: 503 while shutting down, 403 for an `Origin` that is
//! neither the server's own nor allowed, 401 for a missing, malformed, forged or expired token, 403 for a
//! valid token of another session, 400 for a bad tab nonce, 429 when the client's address already has
//! `max_connections_per_ip` open sockets. The connection's identity is `PeerId::with_tab(claims.pid, tab)` in
//! `SessionId(claims.sid)`.

use super::connection;
use super::error::ServerError;
use super::limits::{client_ip, origin_allowed};
use super::metrics;
use super::SignalingServer;
use crate::p2p::protocol::{PeerId, SessionId};
use crate::p2p::token;
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use tracing::Instrument;

/// Query string of the upgrade request; every field optional so that a missing one is our answer, not axum's.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct UpgradeQuery {
    /// The session the socket asks to join.
    session: Option<String>,
    /// Join token from the app's server function.
    token: Option<String>,
    /// Per-tab nonce chosen by the browser.
    tab: Option<String>,
}

/// Verifies, then upgrades and hands the socket to [`connection::serve`].
pub(crate) async fn ws_handler(
    State(server): State<SignalingServer>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    query: Result<Query<UpgradeQuery>, QueryRejection>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let inner = &server.inner;
    if *inner.shutdown.borrow() {
        metrics::upgrade_rejected("shutting_down");
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "shutting down", ServerError::ShuttingDown.close_reason());
    }
    if !origin_allowed(&headers, &inner.config.allowed_origins) {
        metrics::upgrade_rejected("origin");
        return refuse(StatusCode::FORBIDDEN, "origin refused", "origin not allowed");
    }
    // A query axum cannot parse is treated like an empty one: the missing token answers it.
    let UpgradeQuery { session, token, tab } = query.map(|Query(q)| q).unwrap_or_default();
    let session = session.unwrap_or_default();
    let claims = match inner.signer.verify(token.as_deref(), &session) {
        Ok(claims) => claims,
        Err(err) => {
            metrics::upgrade_rejected(metrics::rejection_reason(&err));
            let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::UNAUTHORIZED);
            return refuse(status, "join token refused", &err.to_string());
        }
    };
    let tab = tab.unwrap_or_default();
    if !token::valid_tab(&tab) {
        metrics::upgrade_rejected("bad_tab");
        return refuse(StatusCode::BAD_REQUEST, "bad tab nonce", "invalid tab nonce");
    }
    let peer_addr = connect.map(|Extension(ConnectInfo(addr))| addr);
    let slot = match client_ip(&headers, peer_addr, inner.config.client_ip_header.as_ref()) {
        Some(ip) => match inner.ip_connections.try_acquire(ip, inner.config.max_connections_per_ip) {
            Some(slot) => Some(slot),
            None => {
                metrics::upgrade_rejected("too_many_connections");
                return refuse(
                    StatusCode::TOO_MANY_REQUESTS,
                    "per-address limit",
                    "too many connections from this address",
                );
            }
        },
        None => {
            if !inner.warned_no_peer_addr.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "the client address is unknown (serve with into_make_service_with_connect_info::<SocketAddr>()): \
                     the per-address connection limit is not enforced"
                );
            }
            None
        }
    };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            metrics::upgrade_rejected("not_websocket");
            return rejection.into_response();
        }
    };

    let peer = PeerId::with_tab(&claims.pid, &tab);
    let session = SessionId(claims.sid);
    let conn_id = inner.next_conn_id();
    let config = &inner.config;
    let limit = config.codec_limit();
    let span = tracing::info_span!("signaling", %session, %peer, conn = conn_id);
    let inner = inner.clone();
    upgrade
        .read_buffer_size(config.read_buffer_size)
        .write_buffer_size(config.write_buffer_size)
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_failed_upgrade(|err| tracing::debug!(%err, "websocket upgrade failed"))
        .on_upgrade(move |socket| {
            async move {
                let _open = inner.open_guard();
                // Declared after the open guard, so dropped before it: the address's slot is free by the time
                // the socket no longer counts as open.
                let _slot = slot;
                tracing::debug!("socket open");
                connection::serve(inner.clone(), socket, session, peer, conn_id).await;
                tracing::debug!("socket closed");
            }
            .instrument(span)
        })
}

/// A refused upgrade: logged at info with the reason only.
fn refuse(status: StatusCode, what: &'static str, reason: &str) -> Response {
    tracing::info!(status = status.as_u16(), reason, "{what}");
    (status, reason.to_owned()).into_response()
}
