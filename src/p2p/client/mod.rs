//! The browser driver (`hydrate` only): one per `<P2pFrame>`. It owns the signaling socket, the peer links
//! and their JS closures, the timers, and the role logic (host relay in `host.rs`, client side in
//! `guest.rs`). Every browser callback enters through [`Shared::with`], which borrows the state, runs one
//! handler, and only then hands the produced [`DriverEvent`]s to the frame (so app callbacks may call
//! `send` without re-entering the driver).

mod browser;
mod guest;
mod host;
mod link;
mod session;
mod signaling;

use crate::p2p::config::P2pConfig;
use crate::p2p::hooks::{P2pState, RawMessage};
use crate::p2p::hub::StarHub;
use crate::p2p::protocol::{PeerId, PeerStatus, Role};
use crate::p2p::ticket::JoinTicket;
use leptos::prelude::{IntervalHandle, TimeoutHandle};
use link::PeerLink;
use signaling::Signaling;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::{Rc, Weak};

/// What the driver reports to its frame.
#[derive(Clone, Debug)]
pub enum DriverEvent {
    /// This peer's state changed.
    State(P2pState),
    /// Role or host assigned or changed.
    Role {
        /// This peer's role.
        role: Role,
        /// This peer's id.
        me: PeerId,
        /// The host's id.
        host: PeerId,
    },
    /// The session's peer-state map changed.
    Peers(Vec<PeerStatus>),
    /// Whether the signaling socket is open.
    Signaling(bool),
    /// An app message, in the host's order.
    Message(RawMessage),
    /// A fatal error: the driver stopped.
    Fatal(String),
}

/// Handle of a running driver; dropping it does not stop it, [`Driver::close`] does.
pub struct Driver {
    shared: Shared,
}

/// Reference-counted driver state, shared with the JS closures (which hold a [`Weak`]).
#[derive(Clone)]
pub(crate) struct Shared(Rc<RefCell<Inner>>);

/// A weak handle for JS closures: never keeps a closed driver alive.
#[derive(Clone)]
pub(crate) struct WeakShared(Weak<RefCell<Inner>>);

impl WeakShared {
    /// Runs `f` on the driver state if it still exists, then dispatches the events it produced. If the state
    /// is already borrowed (a browser API fired an event synchronously), `f` runs on the next microtask.
    pub(crate) fn with(&self, f: impl FnOnce(&mut Inner) + 'static) {
        let Some(rc) = self.0.upgrade() else { return };
        let Ok(mut inner) = rc.try_borrow_mut() else {
            let weak = self.clone();
            wasm_bindgen_futures::spawn_local(async move { weak.with(f) });
            return;
        };
        if inner.closed {
            return;
        }
        f(&mut inner);
        let events = std::mem::take(&mut inner.events);
        let sink = Rc::clone(&inner.sink);
        drop(inner);
        for event in events {
            sink(event);
        }
    }
}

/// Everything the driver knows. Handlers live in `impl Inner` blocks across this module's files.
pub(crate) struct Inner {
    /// A weak handle to this state, for closures and timers created by handlers.
    weak: WeakShared,
    /// Receives the events after each handler.
    sink: Rc<dyn Fn(DriverEvent)>,
    /// Events produced by the running handler.
    events: Vec<DriverEvent>,
    /// Options from the frame.
    config: P2pConfig,
    /// Current join ticket (renewed when expired or refused).
    ticket: JoinTicket,
    /// This tab's nonce.
    tab: String,
    /// Our peer id, once welcomed.
    me: Option<PeerId>,
    /// Our role, once welcomed.
    role: Option<Role>,
    /// The session's host, once known.
    host: Option<PeerId>,
    /// Our state as last reported.
    state: P2pState,
    /// The signaling socket, while open or opening.
    signaling: Option<Signaling>,
    /// Increments per socket, so events of replaced sockets are ignored.
    signaling_gen: u64,
    /// Host: one link per client. Client: at most one, to the host.
    links: HashMap<PeerId, PeerLink>,
    /// Host only: peer states and relay order.
    hub: Option<StarHub>,
    /// App messages waiting for an open link (client) or a role (anyone).
    outbox: VecDeque<serde_json::Value>,
    /// The host we lost, reported in the next `join` so the server can elect at once.
    lost_host: Option<PeerId>,
    /// Consecutive reconnect attempts (for backoff); reset once connected.
    attempt: u32,
    /// Consecutive sockets that closed before opening (a refused token, a server restarted with a new
    /// secret): past two, the ticket is renewed before the next attempt.
    failed_opens: u32,
    /// A ticket renewal is in flight.
    renewing: bool,
    /// Pending reconnect.
    reconnect_timer: Option<TimeoutHandle>,
    /// Client: gives up on a negotiation that does not finish in time.
    connect_timer: Option<TimeoutHandle>,
    /// Heartbeat and housekeeping tick.
    heartbeat: Option<IntervalHandle>,
    /// Nonce of the next heartbeat ping.
    ping_nonce: u64,
    /// Set by `close`: every later callback is ignored.
    closed: bool,
    /// Closes everything when the page goes away, so peers see the links close at once instead of
    /// waiting for a heartbeat timeout.
    on_pagehide: Option<wasm_bindgen::closure::Closure<dyn FnMut(web_sys::Event)>>,
}

impl Driver {
    /// Starts a driver for `ticket`: opens the signaling socket and reports through `sink`.
    pub fn start(ticket: JoinTicket, config: P2pConfig, sink: Rc<dyn Fn(DriverEvent)>) -> Driver {
        let shared = Shared(Rc::new_cyclic(|weak| {
            RefCell::new(Inner {
                weak: WeakShared(weak.clone()),
                sink,
                events: Vec::new(),
                config,
                ticket,
                tab: browser::tab_nonce(),
                me: None,
                role: None,
                host: None,
                state: P2pState::Negotiating,
                signaling: None,
                signaling_gen: 0,
                links: HashMap::new(),
                hub: None,
                outbox: VecDeque::new(),
                lost_host: None,
                attempt: 0,
                failed_opens: 0,
                renewing: false,
                reconnect_timer: None,
                connect_timer: None,
                heartbeat: None,
                ping_nonce: 0,
                closed: false,
                on_pagehide: None,
            })
        }));
        shared.weak().with(Inner::start);
        Driver { shared }
    }

    /// A function sending one app message through this driver (queued until a link is open).
    pub fn sender(&self) -> Rc<dyn Fn(serde_json::Value)> {
        let weak = self.shared.weak();
        Rc::new(move |payload| weak.with(move |inner| inner.send_app(payload)))
    }

    /// Closes the links and the socket and stops every timer; reports `Closed`.
    pub fn close(&self) {
        self.shared.weak().with(Inner::shutdown);
    }
}

impl Shared {
    fn weak(&self) -> WeakShared {
        WeakShared(Rc::downgrade(&self.0))
    }
}

impl Inner {
    /// Reports a state change (once per change) and marks it for benchmarks.
    pub(crate) fn set_state(&mut self, state: P2pState) {
        if self.state == state {
            return;
        }
        self.state = state;
        if matches!(state, P2pState::Negotiating | P2pState::Connecting | P2pState::Connected) {
            browser::mark(&format!("p2p:{}", state.as_str()));
        }
        self.events.push(DriverEvent::State(state));
    }

    /// Reports our role and host.
    pub(crate) fn report_role(&mut self) {
        if let (Some(role), Some(me), Some(host)) = (self.role, self.me.clone(), self.host.clone()) {
            self.events.push(DriverEvent::Role { role, me, host });
        }
    }

    /// Sends one app message: relayed at once by a host, over the link by a connected client, else queued.
    fn send_app(&mut self, payload: serde_json::Value) {
        self.outbox.push_back(payload);
        self.flush_outbox();
    }

    /// Delivers queued app messages if we can.
    pub(crate) fn flush_outbox(&mut self) {
        match self.role {
            Some(Role::Host) => {
                while let Some(payload) = self.outbox.pop_front() {
                    self.host_relay_own(payload);
                }
            }
            Some(Role::Client) => self.guest_flush_outbox(),
            None => {}
        }
    }

    /// Stops everything (frame unmounted or page hidden for good).
    fn shutdown(&mut self) {
        self.close_signaling(1000, "closed");
        self.links.drain().for_each(|(_, mut link)| link.close());
        self.reconnect_timer.take().into_iter().for_each(|h| h.clear());
        self.connect_timer.take().into_iter().for_each(|h| h.clear());
        self.heartbeat.take().into_iter().for_each(|h| h.clear());
        if let (Some(window), Some(listener)) = (web_sys::window(), self.on_pagehide.take()) {
            use wasm_bindgen::JsCast;
            let _ = window.remove_event_listener_with_callback("pagehide", listener.as_ref().unchecked_ref());
        }
        self.set_state(P2pState::Closed);
        self.closed = true;
    }
}
