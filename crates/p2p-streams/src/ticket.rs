//! How a `<P2pFrame>` obtains its join token: the [`issue_join_token`] server function (run in-process during
//! SSR and serialized into the page, or called over HTTP after client-side navigation or when a token
//! expires), and the app's [`JoinPolicy`] (server only) deciding who may join which session as whom.

use crate::config::IceServer;
use leptos::prelude::*;
use serde::Serialize;

/// Longest lifetime a join token may be issued for (24 h), whatever `expires_in` asks.
pub const MAX_EXPIRES_IN_SECS: u64 = 24 * 3600;

/// What the browser needs to open the signaling socket. `Deserialize` is written by hand, for a smaller wasm
/// (`crate::decode`), and reads the JSON the derived `Serialize` writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JoinTicket {
    /// The session the token is for.
    pub session_id: String,
    /// The app's user id bound in the token (the peer id before its tab nonce).
    pub peer_id: String,
    /// The signed token (opaque to the browser).
    pub token: String,
    /// Expiry, seconds since the Unix epoch; the browser asks for a new ticket after it.
    pub expires_at: u64,
    /// The lifetime asked for, in seconds (reused when the browser renews the ticket).
    pub expires_in_secs: u64,
    /// The server's ICE servers (see [`ServerIceServers`]), used when the frame's config names none (may be
    /// absent from the JSON: empty).
    pub ice_servers: Vec<IceServer>,
}

/// Static ICE servers the server hands to every browser with its ticket (provide it in the Leptos context;
/// absent means none). A frame whose `P2pConfig` lists its own ICE servers keeps those. Time-limited TURN
/// credentials come from a `server::turn::TurnCredentials` in the context, minted per ticket.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerIceServers(pub Vec<IceServer>);

/// The app's authorization hook, provided as `Arc<dyn JoinPolicy>` in the Leptos context (see
/// `leptos_routes_with_context`). The toolkit refuses to issue tokens when none is provided.
#[cfg(feature = "ssr")]
pub trait JoinPolicy: Send + Sync + 'static {
    /// Decides whether the request's user may join `session_id` as `peer_id`. Return `Err(reason)` to
    /// refuse; the reason is shown to the user. Typical policies read the app's session cookie from `parts`
    /// and require `peer_id` to be that user's id.
    fn authorize(&self, parts: &http::request::Parts, session_id: &str, peer_id: &str) -> Result<(), String>;
}

/// Issues a join token for `peer_id` in `session_id`, valid for `expires_in_secs` (capped at
/// [`MAX_EXPIRES_IN_SECS`]), after the app's [`JoinPolicy`] agreed.
#[server(prefix = "/api", endpoint = "p2p_join_token")]
#[allow(missing_docs)] // the macro's generated argument struct
pub async fn issue_join_token(
    session_id: String,
    peer_id: String,
    expires_in_secs: u64,
) -> Result<JoinTicket, ServerFnError> {
    let parts: http::request::Parts = leptos_axum::extract().await?;
    sign_join_ticket(&parts, session_id, peer_id, expires_in_secs)
}

/// [`issue_join_token`] for the browser: in the `hydrate` build with one `fetch` (`crate::client::call_server_fn`),
/// which keeps server_fn's client out of a room's wasm. Same endpoint, arguments and errors.
pub async fn fetch_join_ticket(
    session_id: &str,
    peer_id: &str,
    expires_in_secs: u64,
) -> Result<JoinTicket, ServerFnError> {
    #[cfg(feature = "hydrate")]
    {
        use leptos::server_fn::ServerFn;
        let secs = expires_in_secs.to_string();
        let args = [("session_id", session_id), ("peer_id", peer_id), ("expires_in_secs", secs.as_str())];
        crate::client::call_server_fn(IssueJoinToken::PATH, &args).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        issue_join_token(session_id.to_owned(), peer_id.to_owned(), expires_in_secs).await
    }
}

/// What [`issue_join_token`] does once it has the request: `<P2pFrame>` calls it directly while the server
/// renders the page, so the page's early script and the driver use the same ticket.
#[cfg(feature = "ssr")]
pub fn sign_join_ticket(
    parts: &http::request::Parts,
    session_id: String,
    peer_id: String,
    expires_in_secs: u64,
) -> Result<JoinTicket, ServerFnError> {
    use crate::server::SignalingServer;
    use crate::token::{valid_session_id, valid_user_id};
    use std::sync::Arc;
    use std::time::Duration;

    if !valid_session_id(&session_id) || !valid_user_id(&peer_id) {
        return Err(ServerFnError::new("invalid session or peer id"));
    }
    let server = use_context::<SignalingServer>()
        .ok_or_else(|| ServerFnError::new("p2p-streams: SignalingServer missing from the Leptos context"))?;
    let policy = use_context::<Arc<dyn JoinPolicy>>()
        .ok_or_else(|| ServerFnError::new("p2p-streams: no JoinPolicy in the Leptos context"))?;
    if let Err(reason) = policy.authorize(parts, &session_id, &peer_id) {
        tracing::info!(session = %session_id, reason = %reason, "join token refused by policy");
        return Err(ServerFnError::new(format!("not allowed to join: {reason}")));
    }
    let ttl = Duration::from_secs(expires_in_secs.clamp(1, MAX_EXPIRES_IN_SECS));
    let token = server.signer().sign(&session_id, &peer_id, ttl);
    let expires_at = crate::token::now_secs() + ttl.as_secs();
    // A TURN credential minted for this peer, expiring with its token (renewed with the ticket), first; then
    // the static servers.
    let minted =
        use_context::<crate::server::turn::TurnCredentials>().and_then(|turn| turn.ice_server(&peer_id, expires_at));
    let ice_servers = minted.into_iter().chain(use_context::<ServerIceServers>().unwrap_or_default().0).collect();
    Ok(JoinTicket { session_id, peer_id, token, expires_at, expires_in_secs: ttl.as_secs(), ice_servers })
}
