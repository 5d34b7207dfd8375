//! The admin inspector (both sides): `/admin` lists the live sessions with their host and every peer's link
//! state, refreshed every second without a reload, for operators who hold the admin token.
//!
//! - here: the wire types, the typed [`AdminError`] and the [`admin_sessions`] server function;
//! - `turn.rs`: the embedded TURN server's live allocations and their list;
//! - `page.rs`: the [`AdminPage`] component (rendered on the server) and its `Inspector`, a lazy island that
//!   polls once hydrated;
//! - `access.rs` (server only): [`AdminAccess`], what the server provides in the context: the token, the
//!   session length, the proxy headers it trusts, and the per-address limit on token guesses; it decides
//!   logins and calls;
//! - `auth.rs` (server only): [`AdminToken`] and the signed, expiring session cookie;
//! - `limit.rs` (server only): the per-address token bucket of wrong guesses.
//!
//! Access: with no token configured the inspector is disabled (the page says so, the server function answers
//! 403). Otherwise open `/admin?token=<token>` once: the server sets an HttpOnly, SameSite=Strict session cookie
//! (an expiry signed with the token, never the token; `Max-Age` 8 hours by default, and refused by the server
//! after it; `Secure` behind a TLS proxy that says so) and redirects to `/admin`. Without the cookie, or with a
//! wrong token, the page shows that access is refused and the server function answers 403; after 5 wrong
//! tokens from one address in a minute (by default) it answers 429 with `Retry-After`, whatever the token.
//!
//! Peer states come from each host's last `roster` frame (the host's own view of its star), through
//! `SignalingServer::live_sessions`.

mod page;
mod turn;

#[cfg(feature = "ssr")]
mod access;
#[cfg(feature = "ssr")]
mod auth;
#[cfg(feature = "ssr")]
mod limit;

pub use page::AdminPage;
pub use turn::{AdminAllocation, AdminTurn};

#[cfg(feature = "ssr")]
pub use access::{AdminAccess, AdminOptions};
#[cfg(feature = "ssr")]
pub use auth::{AdminToken, ADMIN_COOKIE};

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use p2p_streams::{PeerId, PeerStatus};
use serde::{Deserialize, Serialize};

/// One live session as the inspector shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminSession {
    /// The session id (e.g. `chat_room_lounge`).
    pub session_id: String,
    /// Its current host.
    pub host: PeerId,
    /// Peers in the host's star, the host included, as the host last reported.
    pub peers: u32,
    /// Every peer's link state as the host last reported it, host first (empty until it reports one).
    pub states: Vec<PeerStatus>,
}

/// Everything the inspector shows, as of one server function call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminSnapshot {
    /// Live sessions, ordered by session id.
    pub sessions: Vec<AdminSession>,
    /// The embedded TURN server's allocations (`None`: the server is off).
    #[serde(default)]
    pub turn: Option<AdminTurn>,
}

/// Why the inspector cannot show anything.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AdminError {
    /// No admin token is configured: the inspector is off (403).
    #[error("the admin inspector is disabled")]
    Disabled,
    /// No valid admin cookie, or a wrong token (403).
    #[error("admin access refused")]
    Refused,
    /// Too many wrong tokens from this address: no token is looked at for `retry_after_secs` (429).
    #[error("too many wrong admin tokens from this address: try again in {retry_after_secs} s")]
    Limited {
        /// Seconds until the address may present a token again (the `Retry-After` header).
        retry_after_secs: u64,
    },
    /// The session store did not answer (503).
    #[error("the session list is unavailable: {0}")]
    Unavailable(String),
    /// The server function call itself failed (network, encoding, missing context).
    #[error("{0}")]
    Call(String),
}

impl FromServerFnError for AdminError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AdminError::Call(value.to_string())
    }
}

/// The live sessions, for a caller holding the admin cookie, or presenting `token` (the `?token=` of the
/// page's first load: one guess against the caller's address). Refusals answer 403 (429 with `Retry-After`
/// for an address out of guesses), a store failure 503.
#[server(prefix = "/api", endpoint = "admin_sessions")]
pub async fn admin_sessions(token: Option<String>) -> Result<AdminSnapshot, AdminError> {
    access::authorize(token.as_deref())?;
    snapshot().await
}

/// The live sessions, for a request already authorized.
#[cfg(feature = "ssr")]
async fn snapshot() -> Result<AdminSnapshot, AdminError> {
    use axum::http::StatusCode;
    use p2p_streams::P2pServer;

    let server =
        use_context::<P2pServer>().ok_or_else(|| AdminError::Call("P2pServer missing from the context".into()))?;
    let sessions = server.signaling().live_sessions().await.map_err(|err| {
        tracing::error!(%err, "admin inspector could not list sessions");
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(StatusCode::SERVICE_UNAVAILABLE);
        }
        AdminError::Unavailable(err.to_string())
    })?;
    let sessions = sessions
        .into_iter()
        .map(|s| AdminSession { session_id: s.session_id.0, host: s.host, peers: s.peers, states: s.states })
        .collect();
    Ok(AdminSnapshot { sessions, turn: server.embedded_turn().map(AdminTurn::from) })
}

/// The page's first answer: during its SSR a `?token=` is one login attempt (a right one sets the cookie and
/// redirects; the snapshot is rendered all the same) and is not checked a second time by [`admin_sessions`],
/// so a page load is one guess; without one, the cookie decides.
pub(crate) async fn first_snapshot(token: Option<String>) -> Result<AdminSnapshot, AdminError> {
    #[cfg(feature = "ssr")]
    if let Some(presented) = &token {
        access::login_from_query(presented)?;
        return snapshot().await;
    }
    admin_sessions(token).await
}
