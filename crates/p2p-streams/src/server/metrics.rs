//! Observability of the signaling server (server side, `ssr`): Prometheus metric names, the once-per-process
//! recorder, the recording helpers the socket tasks call, and the ops routes `GET /healthz` and `GET /metrics`.
//!
//! Counters and the negotiation histogram are recorded where things happen (upgrade, join, routing, the
//! socket's reader and writer). Gauges are computed at scrape time from this node's registry and the store,
//! so they cannot drift. Every label is a small closed set (a frame kind, a reason, a role): never a session,
//! peer or token, so the series count stays bounded and nothing secret reaches the scraper.
//!
//! Without an installed recorder ([`install_metrics`]) every helper here is a no-op, so tests and embedders
//! that do not want metrics pay nothing.

use super::error::PeerError;
use super::SignalingServer;
use crate::protocol::Role;
use crate::token::TokenError;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// Gauge: open signaling sockets on this node (joined or not).
pub const CONNECTIONS: &str = "p2p_signaling_connections";
/// Gauge: joined signaling sockets on this node (hosts and clients still negotiating).
pub const PEERS: &str = "p2p_signaling_peers";
/// Gauge: sessions with a live host record in the store (what the lobby lists; store-wide when shared).
pub const SESSIONS: &str = "p2p_sessions";
/// Gauge: host sockets connected to this node.
pub const HOSTS: &str = "p2p_hosts";
/// Counter, label `role` (`host`|`client`): successful joins.
pub const JOINS: &str = "p2p_joins_total";
/// Counter, label `kind` (`offer`|`answer`|`candidate`): signals delivered to their one target.
pub const SIGNALS_ROUTED: &str = "p2p_signals_routed_total";
/// Counter, label `reason`: upgrade requests refused before the upgrade (see [`rejection_reason`]).
pub const UPGRADE_REJECTIONS: &str = "p2p_upgrade_rejections_total";
/// Counter, label `code`: frames refused on a socket (the `ErrorCode` name, or the close cause).
pub const PEER_ERRORS: &str = "p2p_peer_errors_total";
/// Histogram, seconds: from a client's `join` to the first answer it sends being relayed to its host.
pub const NEGOTIATION_SECONDS: &str = "p2p_negotiation_seconds";
/// Counter: WebSocket payload bytes received from peers (frame headers not included).
pub const BYTES_RECEIVED: &str = "p2p_bytes_received_total";
/// Counter: WebSocket payload bytes handed to peers' sockets (frame headers not included).
pub const BYTES_SENT: &str = "p2p_bytes_sent_total";
/// Counter: entries peers refused as forged (bad seal) and reported (`ClientToServer::Report`).
pub const FORGERIES_REPORTED: &str = "p2p_forgeries_reported_total";

/// Upper bounds of the negotiation histogram's buckets, in seconds.
pub const NEGOTIATION_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
/// Content type of `GET /metrics` (Prometheus text exposition format).
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Path of the liveness route.
pub const HEALTHZ_PATH: &str = "/healthz";
/// Path of the Prometheus scrape route.
pub const METRICS_PATH: &str = "/metrics";
/// How often the background task drains histogram samples when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(10);

/// The process-wide handle, set by the first successful [`install_metrics`].
static INSTALLED: Mutex<Option<PrometheusHandle>> = Mutex::new(None);

/// The Prometheus recorder could not be installed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// Another recorder is already the process's global one, or the builder refused its settings.
    #[error("cannot install the Prometheus recorder: {0}")]
    Install(#[from] BuildError),
}

/// Installs the Prometheus recorder as the process's global `metrics` recorder, once: later calls (tests start
/// many servers in one process) return the same handle. Inside a Tokio runtime it also spawns the upkeep task
/// that drains histogram samples between scrapes. Pass the handle to [`SignalingServer::ops_router`].
pub fn install_metrics() -> Result<PrometheusHandle, MetricsError> {
    let mut installed = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(handle) = installed.as_ref() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(NEGOTIATION_SECONDS.to_owned()), NEGOTIATION_BUCKETS)?
        .install_recorder()?;
    describe();
    register_zeroes();
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let upkeep = handle.clone();
        runtime.spawn(async move {
            let mut every = tokio::time::interval(UPKEEP_EVERY);
            loop {
                every.tick().await;
                upkeep.run_upkeep();
            }
        });
    }
    *installed = Some(handle.clone());
    Ok(handle)
}

/// `# HELP` lines for every metric.
fn describe() {
    use ::metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_gauge!(CONNECTIONS, "Open signaling WebSocket connections on this node.");
    describe_gauge!(PEERS, "Joined signaling sockets on this node (hosts and clients still negotiating).");
    describe_gauge!(SESSIONS, "Sessions with a live host record in the session store.");
    describe_gauge!(HOSTS, "Host sockets connected to this node.");
    describe_counter!(JOINS, "Successful joins, by the role the peer got.");
    describe_counter!(SIGNALS_ROUTED, "Signals routed to their one target, by kind.");
    describe_counter!(UPGRADE_REJECTIONS, "Signaling upgrades refused before the upgrade, by reason.");
    describe_counter!(PEER_ERRORS, "Frames refused on a signaling socket, by error code.");
    describe_histogram!(NEGOTIATION_SECONDS, Unit::Seconds, "From a client's join to its first answer relayed.");
    describe_counter!(BYTES_RECEIVED, Unit::Bytes, "WebSocket payload bytes received from peers.");
    describe_counter!(BYTES_SENT, Unit::Bytes, "WebSocket payload bytes sent to peers.");
    describe_counter!(FORGERIES_REPORTED, "History entries peers refused as forged (bad seal) and reported.");
    use super::turn::{ALLOCATIONS, REFUSALS, RELAYED_BYTES};
    describe_gauge!(ALLOCATIONS, "Live allocations on the embedded TURN server.");
    describe_counter!(RELAYED_BYTES, Unit::Bytes, "Payload bytes the embedded TURN server relayed, by direction.");
    describe_counter!(REFUSALS, "TURN requests refused and datagrams dropped by the embedded server, by reason.");
}

/// Every label value of every counter, so each series is scraped (at 0) before its first event.
fn register_zeroes() {
    use ::metrics::counter;
    for role in [Role::Host, Role::Client] {
        counter!(JOINS, "role" => role.as_str()).increment(0);
    }
    for kind in ["offer", "answer", "candidate"] {
        counter!(SIGNALS_ROUTED, "kind" => kind).increment(0);
    }
    for reason in REJECTION_REASONS {
        counter!(UPGRADE_REJECTIONS, "reason" => *reason).increment(0);
    }
    for code in PEER_ERROR_CODES {
        counter!(PEER_ERRORS, "code" => *code).increment(0);
    }
    counter!(BYTES_RECEIVED).increment(0);
    counter!(BYTES_SENT).increment(0);
    counter!(FORGERIES_REPORTED).increment(0);
}

/// Every `reason` of [`UPGRADE_REJECTIONS`].
pub const REJECTION_REASONS: &[&str] = &[
    "missing",
    "malformed",
    "bad_signature",
    "expired",
    "wrong_session",
    "bad_tab",
    "shutting_down",
    "not_websocket",
    "origin",
    "too_many_connections",
];

/// Every `code` of [`PEER_ERRORS`].
pub const PEER_ERROR_CODES: &[&str] = &[
    "bad_json",
    "unknown_type",
    "binary_frame",
    "not_joined",
    "already_joined",
    "unknown_peer",
    "not_host",
    "frame_too_large",
    "version_mismatch",
    "rate_limited",
    "flooding",
    "session_full",
    "server_full",
];

/// The `reason` label of a refused upgrade whose token failed verification.
pub fn rejection_reason(err: &TokenError) -> &'static str {
    match err {
        TokenError::Missing => "missing",
        TokenError::Malformed => "malformed",
        TokenError::BadSignature => "bad_signature",
        TokenError::Expired => "expired",
        TokenError::WrongSession => "wrong_session",
    }
}

/// The `code` label of a refused frame.
fn peer_error_code(err: &PeerError) -> &'static str {
    match err {
        PeerError::BadJson => "bad_json",
        PeerError::UnknownType => "unknown_type",
        PeerError::BinaryFrame => "binary_frame",
        PeerError::NotJoined => "not_joined",
        PeerError::AlreadyJoined => "already_joined",
        PeerError::UnknownPeer(_) => "unknown_peer",
        PeerError::NotHost => "not_host",
        PeerError::FrameTooLarge { .. } => "frame_too_large",
        PeerError::VersionMismatch { .. } => "version_mismatch",
        PeerError::RateLimited => "rate_limited",
        PeerError::Flooding => "flooding",
        PeerError::SessionFull => "session_full",
        PeerError::ServerFull => "server_full",
    }
}

/// Counts an upgrade refused for `reason` (one of [`REJECTION_REASONS`]).
pub(crate) fn upgrade_rejected(reason: &'static str) {
    ::metrics::counter!(UPGRADE_REJECTIONS, "reason" => reason).increment(1);
}

/// Counts a successful join.
pub(crate) fn joined(role: Role) {
    ::metrics::counter!(JOINS, "role" => role.as_str()).increment(1);
}

/// Counts a signal delivered to its target.
pub(crate) fn signal_routed(kind: &'static str) {
    ::metrics::counter!(SIGNALS_ROUTED, "kind" => kind).increment(1);
}

/// Counts a refused frame.
pub(crate) fn peer_error(err: &PeerError) {
    ::metrics::counter!(PEER_ERRORS, "code" => peer_error_code(err)).increment(1);
}

/// Counts `entries` history entries a peer refused as forged.
pub(crate) fn forgeries_reported(entries: u32) {
    ::metrics::counter!(FORGERIES_REPORTED).increment(entries.into());
}

/// Records one client's negotiation time (join to first answer relayed).
pub(crate) fn negotiated(elapsed: Duration) {
    ::metrics::histogram!(NEGOTIATION_SECONDS).record(elapsed.as_secs_f64());
}

/// Counts a message read from a peer's socket.
pub(crate) fn received(message: &Message) {
    ::metrics::counter!(BYTES_RECEIVED).increment(payload_len(message));
}

/// Counts a message written to a peer's socket.
pub(crate) fn sent(message: &Message) {
    ::metrics::counter!(BYTES_SENT).increment(payload_len(message));
}

/// Payload size of a WebSocket message (a close frame's is its 2-byte code and its reason).
fn payload_len(message: &Message) -> u64 {
    let len = match message {
        Message::Text(text) => text.len(),
        Message::Binary(data) | Message::Ping(data) | Message::Pong(data) => data.len(),
        Message::Close(Some(frame)) => 2 + frame.reason.len(),
        Message::Close(None) => 0,
        Message::Frame(frame) => frame.payload().len(),
    };
    u64::try_from(len).unwrap_or(u64::MAX)
}

/// State of the ops routes.
#[derive(Clone)]
struct Ops {
    /// The server reported on.
    server: SignalingServer,
    /// Renders the scrape; `None` leaves `/metrics` unrouted.
    metrics: Option<PrometheusHandle>,
}

/// Body of `GET /healthz`.
#[derive(serde::Serialize)]
struct Health {
    /// `ok`, or `shutting_down` (with a 503).
    status: &'static str,
    /// Open signaling sockets on this node.
    open_connections: usize,
}

impl SignalingServer {
    /// `GET /healthz` (200 `{"status":"ok","open_connections":N}`, 503 with `shutting_down` once
    /// [`SignalingServer::shutdown`] ran) and, with a handle from [`install_metrics`], `GET /metrics` in the
    /// Prometheus text format. Mergeable into any `Router<S>`; both routes are unauthenticated, so expose them
    /// only where operators can reach them.
    pub fn ops_router<S: Clone + Send + Sync + 'static>(&self, metrics: Option<PrometheusHandle>) -> Router<S> {
        let routes = Router::new().route(HEALTHZ_PATH, get(healthz));
        let routes = if metrics.is_some() { routes.route(METRICS_PATH, get(scrape)) } else { routes };
        routes.with_state(Ops { server: self.clone(), metrics })
    }

    /// Sets the gauges from this node's registry and the store.
    async fn update_gauges(&self) {
        let counts = self.inner.registry.counts();
        ::metrics::gauge!(CONNECTIONS).set(self.open_connections() as f64);
        ::metrics::gauge!(PEERS).set(counts.sockets as f64);
        ::metrics::gauge!(HOSTS).set(counts.hosts as f64);
        match self.inner.store.sessions().await {
            Ok(sessions) => ::metrics::gauge!(SESSIONS).set(sessions.len() as f64),
            Err(err) => tracing::error!(%err, "store failed listing sessions for the metrics scrape"),
        }
    }
}

/// `GET /healthz`.
async fn healthz(State(ops): State<Ops>) -> Response {
    let shutting_down = *ops.server.inner.shutdown.borrow();
    let (status, code) =
        if shutting_down { ("shutting_down", StatusCode::SERVICE_UNAVAILABLE) } else { ("ok", StatusCode::OK) };
    (code, Json(Health { status, open_connections: ops.server.open_connections() })).into_response()
}

/// `GET /metrics`.
async fn scrape(State(ops): State<Ops>) -> Response {
    let Some(handle) = ops.metrics.as_ref() else { return StatusCode::NOT_FOUND.into_response() };
    ops.server.update_gauges().await;
    ([(header::CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE)], handle.render()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;

    #[test]
    fn payload_sizes_count_the_close_code() {
        assert_eq!(payload_len(&Message::Text("hello".into())), 5);
        assert_eq!(payload_len(&Message::Ping(vec![1, 2].into())), 2);
        assert_eq!(payload_len(&Message::Close(Some(CloseFrame { code: 4003.into(), reason: "bye".into() }))), 5);
        assert_eq!(payload_len(&Message::Close(None)), 0);
    }

    #[test]
    fn every_label_in_use_is_listed() {
        use TokenError::*;
        for err in [Missing, Malformed, BadSignature, Expired, WrongSession] {
            assert!(REJECTION_REASONS.contains(&rejection_reason(&err)), "{err:?}");
        }
        let errors = [
            PeerError::BadJson,
            PeerError::UnknownType,
            PeerError::BinaryFrame,
            PeerError::NotJoined,
            PeerError::AlreadyJoined,
            PeerError::UnknownPeer(crate::protocol::PeerId("a#1".into())),
            PeerError::NotHost,
            PeerError::FrameTooLarge { len: 2, max: 1 },
            PeerError::VersionMismatch { got: 9 },
            PeerError::RateLimited,
            PeerError::Flooding,
            PeerError::SessionFull,
            PeerError::ServerFull,
        ];
        let codes: Vec<_> = errors.iter().map(peer_error_code).collect();
        assert_eq!(codes, PEER_ERROR_CODES);
    }
}
