//! How a `<P2pFrame>` obtains its join token: the [`issue_join_token`] server function (run in-process during
//! SSR and serialized into the page, or called over HTTP after client-side navigation or when a token
//! expires). The server side issues it with the `server::P2pServer` in the Leptos context, after the app's
//! `JoinPolicy` agreed.

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
    /// The server's ICE servers (`server::P2pServerBuilder::ice_servers`, after a minted TURN credential), used when the frame's config names none (may be
    /// absent from the JSON: empty).
    pub ice_servers: Vec<IceServer>,
}

/// Issues a join token for `peer_id` in `session_id`, valid for `expires_in_secs` (capped at
/// [`MAX_EXPIRES_IN_SECS`]), after the app's `JoinPolicy` agreed. A refusal answers with the policy's HTTP
/// status (`JoinRefusal::status`) and "not allowed to join: {reason}".
#[server(prefix = "/api", endpoint = "p2p_join_token")]
#[allow(missing_docs)] // the macro's generated argument struct
pub async fn issue_join_token(
    session_id: String,
    peer_id: String,
    expires_in_secs: u64,
) -> Result<JoinTicket, ServerFnError> {
    let parts: http::request::Parts = leptos_axum::extract().await?;
    sign_join_ticket(&parts, session_id, peer_id, expires_in_secs).await
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

/// What [`issue_join_token`] does once it has the request: issues the ticket with the `server::P2pServer`
/// in the Leptos context and, on failure, sets the answer's HTTP status (`ResponseOptions`).
#[cfg(feature = "ssr")]
pub async fn sign_join_ticket(
    parts: &http::request::Parts,
    session_id: String,
    peer_id: String,
    expires_in_secs: u64,
) -> Result<JoinTicket, ServerFnError> {
    use crate::server::{P2pServer, TicketError};
    let response = use_context::<leptos_axum::ResponseOptions>();
    let issued = match use_context::<P2pServer>() {
        Some(server) => server.issue_ticket(parts, session_id, peer_id, expires_in_secs).await,
        None => Err(TicketError::NotProvided),
    };
    issued.map_err(|err| {
        if let Some(response) = response {
            response.set_status(err.status());
        }
        ServerFnError::new(err)
    })
}
