//! `<P2pFrame>`: declares a room. On the server it renders its children and issues the join token (embedded
//! in the page); after hydration it starts the browser driver and feeds the context that [`use_p2p`] reads.
//! Same props on both sides; the callbacks mirror the Rails gem's Stimulus callbacks.
//!
//! [`use_p2p`]: crate::hooks::use_p2p

use crate::config::P2pConfig;
use crate::hooks::P2pContext;
use crate::protocol::PeerId;
use leptos::nonce::use_nonce;
use leptos::prelude::*;
use std::time::Duration;

/// Optional callbacks of a `<P2pFrame>`, for apps ported from the Rails gem (`p2pNegotiating` ...).
#[derive(Clone, Copy, Default)]
pub struct P2pCallbacks {
    /// `p2pNegotiating`: signaling started or restarted.
    pub on_negotiating: Option<Callback<()>>,
    /// `p2pConnecting`: descriptions exchanged, link opening.
    pub on_connecting: Option<Callback<()>>,
    /// `p2pConnected`: the link to the host is open (the host: registered as host).
    pub on_connected: Option<Callback<()>>,
    /// `p2pDisconnected`: the link to the host was lost; reconnecting.
    pub on_disconnected: Option<Callback<()>>,
    /// `p2pClosed`: the frame closed.
    pub on_closed: Option<Callback<()>>,
    /// `p2pError`: a fatal error, with its message.
    pub on_error: Option<Callback<String>>,
    /// `p2pReceivedMessage`: every JSON app message (not binary ones), untyped, with its host-stamped sender.
    pub on_message: Option<Callback<(PeerId, serde_json::Value)>>,
    /// Some messages this peer missed are no longer in the host's history: how many.
    pub on_history_gap: Option<Callback<u64>>,
}

/// A peer-to-peer room. Children call [`use_p2p`](crate::use_p2p) to read state and send.
///
/// - `session_id`: the room; every peer with the same id joins the same star. Reactive: when it changes, the
///   frame leaves the old room (closes its driver) and joins the new one with a fresh join ticket; the
///   signals start over (no messages, `Negotiating`).
/// - `peer_id`: the app's server-side identity of this user; the browser appends a per-tab nonce. Reactive,
///   like `session_id`.
/// - `expires_in`: lifetime of the join token (default 1 h, at most 24 h); the browser renews it as needed.
/// - `config`: ICE servers, heartbeat, reconnect and signaling options ([`P2pConfig`]).
#[component]
pub fn P2pFrame(
    /// The session (room) to join (a `String`, or a signal to switch rooms in place).
    #[prop(into)]
    session_id: Signal<String>,
    /// The app's identity of this user (a `String` or a signal).
    #[prop(into)]
    peer_id: Signal<String>,
    /// Join token lifetime.
    #[prop(default = Duration::from_secs(3600))]
    expires_in: Duration,
    /// Browser-side options.
    #[prop(optional)]
    config: P2pConfig,
    /// Called when negotiation (re)starts.
    #[prop(optional, into)]
    on_negotiating: Option<Callback<()>>,
    /// Called when the link starts connecting.
    #[prop(optional, into)]
    on_connecting: Option<Callback<()>>,
    /// Called when connected.
    #[prop(optional, into)]
    on_connected: Option<Callback<()>>,
    /// Called when the link to the host is lost.
    #[prop(optional, into)]
    on_disconnected: Option<Callback<()>>,
    /// Called when the frame closes.
    #[prop(optional, into)]
    on_closed: Option<Callback<()>>,
    /// Called on a fatal error.
    #[prop(optional, into)]
    on_error: Option<Callback<String>>,
    /// Called for every received JSON app message (binary ones: `use_p2p_bytes`).
    #[prop(optional, into)]
    on_message: Option<Callback<(PeerId, serde_json::Value)>>,
    /// Called when the host cannot supply messages this peer missed (a history gap), with their number.
    #[prop(optional, into)]
    on_history_gap: Option<Callback<u64>>,
    /// The room's content.
    children: Children,
) -> impl IntoView {
    let ctx = P2pContext::new(config.history_limit, config.max_message_bytes);
    provide_context(ctx);
    let callbacks = P2pCallbacks {
        on_negotiating,
        on_connecting,
        on_connected,
        on_disconnected,
        on_closed,
        on_error,
        on_message,
        on_history_gap,
    };
    let ticket = ServerTicket::issue(&session_id.get_untracked(), &peer_id.get_untracked(), expires_in.as_secs());
    let frame = NodeRef::<leptos::html::Div>::new();

    #[cfg(feature = "hydrate")]
    browser::start_when_ready(ctx, frame, (session_id, peer_id, expires_in.as_secs()), config, callbacks);
    #[cfg(not(feature = "hydrate"))]
    let _ = (peer_id, config, callbacks);

    // The server's ticket (or why it refused one) travels in the frame's attributes, and the early script opens
    // the signaling socket while the wasm downloads (`crate::early`). The browser renders neither (it keeps what
    // hydration finds): a frame rendered in the browser gets its ticket over HTTP and connects by itself.
    view! {
        <div class="p2p-frame" data-session=move || session_id.get() data-ticket=ticket.json data-ticket-error=ticket.error
            node_ref=frame>
            <script nonce=use_nonce() inner_html=ticket.script></script>
            {children()}
        </div>
    }
}

/// What the server puts into a frame for the browser: the signed join ticket as JSON (the same the
/// [`issue_join_token`] endpoint answers) or why none was issued, and the early script. All empty in the
/// browser.
///
/// [`issue_join_token`]: crate::ticket::issue_join_token
#[derive(Default)]
struct ServerTicket {
    json: Option<String>,
    error: Option<String>,
    script: String,
}

impl ServerTicket {
    /// Issues the ticket in-process. The policy is polled once: one that must wait (a database query) is
    /// dropped here and the browser fetches its ticket instead (no `data-ticket` attribute).
    #[cfg(feature = "ssr")]
    fn issue(session_id: &str, peer_id: &str, expires_in_secs: u64) -> ServerTicket {
        use crate::early::early_join_script;
        use crate::server::{P2pServer, TicketError};
        use futures::FutureExt;
        let Some(parts) = use_context::<http::request::Parts>() else {
            let error = Some("p2p-streams: no request to issue a join token for".to_owned());
            return ServerTicket { json: None, error, script: String::new() };
        };
        let issued = match use_context::<P2pServer>() {
            Some(server) => {
                let issuing = server.issue_ticket(&parts, session_id.to_owned(), peer_id.to_owned(), expires_in_secs);
                match issuing.now_or_never() {
                    Some(issued) => issued,
                    None => return ServerTicket::default(),
                }
            }
            None => Err(TicketError::NotProvided),
        };
        let issued = issued.map_err(|e| e.to_string());
        match issued.and_then(|t| Ok((serde_json::to_string(&t).map_err(|e| e.to_string())?, t))) {
            Ok((json, ticket)) => ServerTicket { json: Some(json), error: None, script: early_join_script(&ticket) },
            Err(error) => ServerTicket { json: None, error: Some(error), script: String::new() },
        }
    }

    #[cfg(not(feature = "ssr"))]
    fn issue(_session_id: &str, _peer_id: &str, _expires_in_secs: u64) -> ServerTicket {
        ServerTicket::default()
    }
}

#[cfg(feature = "hydrate")]
mod browser;
