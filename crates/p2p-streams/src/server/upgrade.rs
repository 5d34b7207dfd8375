//! The `GET /p2p/ws` route (server side, `ssr`): checks the join token and tab nonce BEFORE upgrading.
//!
//! `?session=<id>&token=<join token>&tab=<tab nonce>`. A refused request gets a plain HTTP status with a short
//! reason (never the token), checked in this order: 503 while shutting down, 403 for an `Origin` that is
//! neither the server's own nor allowed, 401 for a missing, malformed, forged or expired token, 403 for a
//! valid token of another session, 400 for a bad tab nonce, 429 when the client's address already has
//! `max_connections_per_ip` open sockets. The connection's identity is `PeerId::with_tab(claims.pid, tab)` in
//! `SessionId(claims.sid)`.

use super::connection::{self, Connection};
use super::error::ServerError;
use super::handshake;
use super::limits::{client_ip, origin_allowed, IpSlot};
use super::metrics;
use super::SignalingServer;
use crate::protocol::{PeerId, SessionId};
use crate::token;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use hyper::upgrade::OnUpgrade;
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
    query: Result<Query<UpgradeQuery>, QueryRejection>,
    mut request: Request,
) -> Response {
    let inner = &server.inner;
    let headers = request.headers();
    if *inner.shutdown.borrow() {
        metrics::upgrade_rejected("shutting_down");
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "shutting down", ServerError::ShuttingDown.close_reason());
    }
    if !origin_allowed(headers, &inner.config.allowed_origins) {
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
    let slot = match client_ip(headers, peer_addr, inner.config.client_ip_header.as_ref()) {
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
    let (upgrade, accept) = match handshake::accept(&mut request) {
        Ok(accepted) => accepted,
        Err(rejection) => {
            metrics::upgrade_rejected("not_websocket");
            return rejection.into_response();
        }
    };

    let peer = PeerId::with_tab(&claims.pid, &tab);
    let session = SessionId(claims.sid);
    let conn_id = inner.next_conn_id();
    let span = tracing::info_span!("signaling", %session, %peer, conn = conn_id);
    let conn = Box::new(Connection::new(inner.clone(), session, peer, conn_id));
    tokio::spawn(run_socket(upgrade, slot, conn).instrument(span));
    handshake::switching_protocols(accept)
}

/// The socket's task: waits for the upgrade, then serves the socket until it ends. Its future is what every
/// idle socket costs, so it holds only the upgrade, the address slot and the boxed connection state.
async fn run_socket(upgrade: OnUpgrade, slot: Option<IpSlot>, conn: Box<Connection>) {
    let inner = conn.inner().clone();
    let socket = match handshake::open(upgrade, &inner.config).await {
        Ok(socket) => socket,
        Err(err) => return tracing::debug!(%err, "websocket upgrade failed"),
    };
    let _open = inner.open_guard();
    // Declared after the open guard, so dropped before it: the address's slot is free by the time the socket
    // no longer counts as open.
    let _slot = slot;
    tracing::debug!("socket open");
    connection::serve(conn, socket).await;
    tracing::debug!("socket closed");
}

/// A refused upgrade: logged at info with the reason only.
fn refuse(status: StatusCode, what: &'static str, reason: &str) -> Response {
    tracing::info!(status = status.as_u16(), reason, "{what}");
    (status, reason.to_owned()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{MemoryStore, SignalingConfig};
    use crate::token::TokenSigner;
    use std::sync::Arc;

    /// What every idle socket costs is mostly this future (docs/performance.md, W1): it must not grow back
    /// by a rare step's state sneaking in unboxed (it was 3 KiB with axum's upgrade task and two tasks per
    /// socket; about 1.4 KiB in a debug build now).
    #[test]
    fn the_socket_task_stays_small() {
        let server =
            SignalingServer::new(TokenSigner::random(), Arc::new(MemoryStore::new()), SignalingConfig::default());
        let conn = Box::new(Connection::new(server.inner.clone(), SessionId("s".into()), PeerId("p".into()), 1));
        let upgrade = hyper::upgrade::on(axum::http::Request::new(()));
        let task = run_socket(upgrade, None, conn).instrument(tracing::info_span!("signaling"));
        let size = std::mem::size_of_val(&task);
        assert!(size <= 2048, "the socket task's future is {size} bytes");
    }
}
