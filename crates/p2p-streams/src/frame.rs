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
    /// `p2pReceivedMessage`: every app message, untyped, with its host-stamped sender.
    pub on_message: Option<Callback<(PeerId, serde_json::Value)>>,
    /// Some messages this peer missed are no longer in the host's history: how many.
    pub on_history_gap: Option<Callback<u64>>,
}

/// A peer-to-peer room. Children call [`use_p2p`](crate::use_p2p) to read state and send.
///
/// - `session_id`: the room; every peer with the same id joins the same star.
/// - `peer_id`: the app's server-side identity of this user; the browser appends a per-tab nonce.
/// - `expires_in`: lifetime of the join token (default 1 h, at most 24 h); the browser renews it as needed.
/// - `config`: ICE servers, heartbeat, reconnect and signaling options ([`P2pConfig`]).
#[component]
pub fn P2pFrame(
    /// The session (room) to join.
    #[prop(into)]
    session_id: String,
    /// The app's identity of this user.
    #[prop(into)]
    peer_id: String,
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
    /// Called for every received app message.
    #[prop(optional, into)]
    on_message: Option<Callback<(PeerId, serde_json::Value)>>,
    /// Called when the host cannot supply messages this peer missed (a history gap), with their number.
    #[prop(optional, into)]
    on_history_gap: Option<Callback<u64>>,
    /// The room's content.
    children: Children,
) -> impl IntoView {
    let ctx = P2pContext::new();
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
    let ticket = ServerTicket::issue(&session_id, &peer_id, expires_in.as_secs());
    let frame = NodeRef::<leptos::html::Div>::new();

    #[cfg(feature = "hydrate")]
    browser::start_when_ready(ctx, frame, (session_id.clone(), peer_id, expires_in.as_secs()), config, callbacks);
    #[cfg(not(feature = "hydrate"))]
    let _ = (peer_id, config, callbacks);

    // The server's ticket (or why it refused one) travels in the frame's attributes, and the early script opens
    // the signaling socket while the wasm downloads (`crate::early`). The browser renders neither (it keeps what
    // hydration finds): a frame rendered in the browser gets its ticket over HTTP and connects by itself.
    view! {
        <div class="p2p-frame" data-session=session_id data-ticket=ticket.json data-ticket-error=ticket.error
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
    #[cfg(feature = "ssr")]
    fn issue(session_id: &str, peer_id: &str, expires_in_secs: u64) -> ServerTicket {
        use crate::early::early_join_script;
        use crate::ticket::sign_join_ticket;
        let issued = match use_context::<http::request::Parts>() {
            Some(parts) => sign_join_ticket(&parts, session_id.to_owned(), peer_id.to_owned(), expires_in_secs),
            None => Err(ServerFnError::new("p2p-streams: no request to issue a join token for")),
        };
        match issued.and_then(|t| Ok((serde_json::to_string(&t).map_err(ServerFnError::new)?, t))) {
            Ok((json, ticket)) => ServerTicket { json: Some(json), error: None, script: early_join_script(&ticket) },
            Err(err) => ServerTicket { json: None, error: Some(err.to_string()), script: String::new() },
        }
    }

    #[cfg(not(feature = "ssr"))]
    fn issue(_session_id: &str, _peer_id: &str, _expires_in_secs: u64) -> ServerTicket {
        ServerTicket::default()
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    //! Browser half of the frame: starts the driver once the ticket is there, maps driver events to the
    //! context's signals and the callbacks, and closes everything on unmount.
    use super::P2pCallbacks;
    use crate::client::{Driver, DriverEvent};
    use crate::config::P2pConfig;
    use crate::hooks::{Outbox, P2pContext, P2pState};
    use crate::ticket::{fetch_join_ticket, JoinTicket};
    use leptos::html::Div;
    use leptos::prelude::*;
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::rc::Rc;

    /// Driver events waiting for the frame's first effect: `Some` until then. The driver starts while the page
    /// hydrates, but the signals must keep the server's values until the frame's content is hydrated.
    type Held = Rc<RefCell<Option<VecDeque<DriverEvent>>>>;

    /// Starts the driver once the frame is hydrated (or mounted): with the ticket the server put into the frame
    /// (`data-ticket`), with the server's refusal as a fatal error (`data-ticket-error`), or, for a frame the
    /// browser rendered, with one fetched from the server (`request`: session, peer, lifetime).
    pub(super) fn start_when_ready(
        ctx: P2pContext,
        frame: NodeRef<Div>,
        request: (String, String, u64),
        config: P2pConfig,
        cb: P2pCallbacks,
    ) {
        let driver: StoredValue<Option<Driver>, LocalStorage> = StoredValue::new_local(None);
        let history = config.history_limit;
        let config = StoredValue::new_local(Some(config));
        let held: Held = Rc::new(RefCell::new(Some(VecDeque::new())));
        let sink: Rc<dyn Fn(DriverEvent)> = {
            let held = Rc::clone(&held);
            Rc::new(move |event| {
                let event = match held.borrow_mut().as_mut() {
                    Some(queue) => return queue.push_back(event),
                    None => event,
                };
                apply(ctx, cb, history, event)
            })
        };
        let start = Rc::new(move |result: Result<JoinTicket, String>| {
            let Some(config) = config.try_update_value(Option::take).flatten() else { return };
            match result {
                Ok(ticket) => {
                    // A config without ICE servers takes the ticket's: the driver decides, as it renews tickets.
                    let started = Driver::start(ticket, config, Rc::clone(&sink));
                    let send = started.sender();
                    let queued = ctx.outbox.try_update_value(|o| std::mem::replace(o, Outbox::Ready(send.clone())));
                    if let Some(Outbox::Pending(queued)) = queued {
                        queued.into_iter().for_each(|payload| send(payload));
                    }
                    driver.set_value(Some(started));
                }
                Err(err) => sink(DriverEvent::Fatal(format!("could not get a join token: {err}"))),
            }
        });
        // Runs once, after the frame's content is hydrated: the signals keep the server's values until then.
        Effect::new(move |_| {
            release(&held, ctx, cb, history);
            let attr = |name: &str| frame.get_untracked().and_then(|el| el.get_attribute(name));
            match (attr("data-ticket"), attr("data-ticket-error")) {
                (Some(json), _) => start(serde_json::from_str(&json).map_err(|e| format!("unreadable ticket: {e}"))),
                (None, Some(refusal)) => start(Err(refusal)),
                (None, None) => {
                    let ((session, peer, secs), start) = (request.clone(), Rc::clone(&start));
                    leptos::task::spawn_local(async move {
                        start(fetch_join_ticket(&session, &peer, secs).await.map_err(|e| e.to_string()));
                    });
                }
            }
        });
        on_cleanup(move || {
            if let Some(d) = driver.try_update_value(Option::take).flatten() {
                d.close();
            }
        });
    }

    /// Applies the held events in order (events produced meanwhile queue behind them), then stops holding.
    fn release(held: &Held, ctx: P2pContext, cb: P2pCallbacks, history: usize) {
        loop {
            let next = {
                let mut held = held.borrow_mut();
                match held.as_mut().map(VecDeque::pop_front) {
                    Some(Some(event)) => event,
                    Some(None) => {
                        *held = None;
                        return;
                    }
                    None => return,
                }
            };
            apply(ctx, cb, history, next);
        }
    }

    fn apply(ctx: P2pContext, cb: P2pCallbacks, history: usize, event: DriverEvent) {
        match event {
            DriverEvent::State(state) => {
                ctx.state.set(state);
                let callback = match state {
                    P2pState::Negotiating => cb.on_negotiating,
                    P2pState::Connecting => cb.on_connecting,
                    P2pState::Connected => cb.on_connected,
                    P2pState::Disconnected => cb.on_disconnected,
                    P2pState::Closed => cb.on_closed,
                    P2pState::Failed => None,
                };
                if let Some(callback) = callback {
                    callback.run(());
                }
            }
            DriverEvent::Role { role, me, host } => {
                ctx.role.set(Some(role));
                ctx.peer_id.set(Some(me));
                ctx.host.set(Some(host));
            }
            DriverEvent::Peers(peers) => ctx.peers.set(peers),
            DriverEvent::Signaling(open) => ctx.signaling_open.set(open),
            DriverEvent::Message { message, fresh } => {
                if let Some(callback) = cb.on_message.filter(|_| fresh) {
                    callback.run((message.from.clone(), message.payload.clone()));
                }
                ctx.deliver(message, fresh, history);
            }
            DriverEvent::Gap(missed) => {
                ctx.missed.update(|total| *total += missed);
                if let Some(callback) = cb.on_history_gap {
                    callback.run(missed);
                }
            }
            DriverEvent::Dropped => ctx.dropped.update(|total| *total += 1),
            DriverEvent::Fatal(message) => {
                ctx.state.set(P2pState::Failed);
                ctx.error.set(Some(message.clone()));
                if let Some(callback) = cb.on_error {
                    callback.run(message);
                }
            }
        }
    }
}
