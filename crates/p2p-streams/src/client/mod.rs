//! The browser driver (`hydrate` only): one per `<P2pFrame>`. It owns the signaling socket, the peer links
//! and their JS closures, the timers, and the role logic (host relay in `host.rs`, client side in
//! `guest.rs`). Every browser callback enters through `WeakShared::with`, which borrows the state, runs one
//! handler, and only then hands the produced [`DriverEvent`]s to the frame (so app callbacks may call
//! `send` without re-entering the driver).
//!
//! Public API for apps: [`call_server_fn`] (and [`call_server_fn_raw`], for server functions with an error
//! encoding of their own) calls a `#[server]` function from the browser with one `fetch`, without server_fn's
//! browser client and its share of the wasm. The frame fetches its join ticket with it; an app's islands may
//! use it for their own server functions (the demo's lobby and `/admin` inspector do).

mod browser;
mod event;
mod extension;
mod fetch;
mod files;
mod guest;
mod host;
mod lifecycle;
mod link;
mod media;
mod relay;
mod renewal;
mod route;
mod seal;
mod session;
mod signaling;
mod store;
mod volatile;

pub use event::{AppSend, DriverEvent};
pub use extension::Extension;
pub use fetch::{call_server_fn, call_server_fn_raw, RawAnswer};

use crate::config::P2pConfig;
use crate::delivery::{Delivered, Delivery, Payload};
use crate::hooks::P2pState;
use crate::hub::StarHub;
use crate::protocol::{PeerFrame, PeerId, Role};
use crate::ticket::JoinTicket;
use crate::volatile::VolatileRelay;
use extension::FileWork;
use leptos::prelude::{IntervalHandle, TimeoutHandle};
use link::PeerLink;
use signaling::Signaling;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

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
        self.run(Box::new(f));
    }

    /// [`with`](Self::with)'s body, compiled once rather than once per handler (smaller wasm).
    fn run(&self, f: Box<dyn FnOnce(&mut Inner)>) {
        let Some(rc) = self.0.upgrade() else { return };
        let Ok(mut inner) = rc.try_borrow_mut() else {
            let weak = self.clone();
            wasm_bindgen_futures::spawn_local(async move { weak.run(f) });
            return;
        };
        if inner.closed {
            return;
        }
        f(&mut inner);
        inner.drain_delivery();
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
    /// Options from the frame (with the ticket's ICE servers when `ice_from_ticket`).
    config: P2pConfig,
    /// Current join ticket (renewed when expired or refused, and before its TURN credentials expire).
    ticket: JoinTicket,
    /// The frame's config named no ICE servers, so `config.ice_servers` are the ticket's: replaced by each
    /// renewed ticket's (fresh TURN credentials), for new links and open ones. False: the app's own servers,
    /// never touched.
    ice_from_ticket: bool,
    /// This tab's nonce.
    tab: String,
    /// Our peer id (`{user}#{tab}`), confirmed by the server's welcome.
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
    /// Host: the per-client rate caps of volatile messages (a fresh one each time we become host).
    volatile: VolatileRelay,
    /// Message ids, order, outbox and history (see `delivery`).
    delivery: Delivery,
    /// Sealed history: the epoch key and seal queue while hosting, frames waiting for a check.
    seals: seal::Seals,
    /// The delivery state changed since it was last saved to sessionStorage.
    unsaved: bool,
    /// The host we lost, reported in the next `join` so the server can elect at once.
    lost_host: Option<PeerId>,
    /// Consecutive reconnect attempts (for backoff); reset once connected.
    attempt: u32,
    /// Consecutive sockets that closed before opening (a refused token, a server restarted with a new
    /// secret): past two, the ticket is renewed before the next attempt.
    failed_opens: u32,
    /// A ticket renewal is in flight.
    renewing: bool,
    /// Open the signaling socket once the renewal in flight is done (a background renewal does not).
    connect_after_renewal: bool,
    /// No background renewal before this time (ms): set when one failed, so a refusal is not retried every
    /// tick.
    renew_retry_at: f64,
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
    /// File transfers sent, received and (host) relayed.
    files: files::Files,
    /// Published media: ours, received, and the room's stream map.
    media: media::Media,
    /// The optional parts the hooks turned on (`AppSend::Enable`).
    planes: extension::Planes,
    /// File transfers turned on, until their code is in.
    waiting_files: Option<extension::WaitingFiles>,
    /// Leaves the room when the page goes away, so peers see the links close at once instead of waiting for
    /// a heartbeat timeout; rejoins when the back/forward cache restores the page (`lifecycle.rs`).
    page: Option<lifecycle::PageListeners>,
    /// The page is in the back/forward cache: the room was left, and a restore joins it again.
    suspended: bool,
}

impl Driver {
    /// Starts a driver for `ticket`: opens the signaling socket and reports through `sink`. A `config` that
    /// names no ICE servers uses the ticket's (and each renewed ticket's).
    pub fn start(ticket: JoinTicket, mut config: P2pConfig, sink: Rc<dyn Fn(DriverEvent)>) -> Driver {
        let ice_from_ticket = config.ice_servers.is_empty();
        if ice_from_ticket {
            config.ice_servers = ticket.ice_servers.clone();
        }
        let tab = browser::tab_nonce();
        let me = PeerId::with_tab(&ticket.peer_id, &tab);
        let delivery = store::load(&ticket.session_id, me.clone(), config.history_limits(), browser::now_ms());
        let volatile = VolatileRelay::new(config.volatile_rate);
        let shared = Shared(Rc::new_cyclic(|weak| {
            RefCell::new(Inner {
                weak: WeakShared(weak.clone()),
                sink,
                events: Vec::new(),
                config,
                ticket,
                ice_from_ticket,
                tab,
                me: Some(me.clone()),
                role: None,
                host: None,
                state: P2pState::Negotiating,
                signaling: None,
                signaling_gen: 0,
                links: HashMap::new(),
                hub: None,
                volatile,
                delivery,
                seals: seal::Seals::default(),
                unsaved: false,
                lost_host: None,
                attempt: 0,
                failed_opens: 0,
                renewing: false,
                connect_after_renewal: false,
                renew_retry_at: 0.0,
                reconnect_timer: None,
                connect_timer: None,
                heartbeat: None,
                ping_nonce: 0,
                closed: false,
                files: files::Files::default(),
                media: media::Media::default(),
                planes: extension::Planes::default(),
                waiting_files: None,
                page: None,
                suspended: false,
            })
        }));
        shared.weak().with(Inner::restore_log);
        shared.weak().with(Inner::start);
        Driver { shared }
    }

    /// A function sending one app message through this driver (queued until a link is open).
    pub fn sender(&self) -> Rc<dyn Fn(AppSend)> {
        let weak = self.shared.weak();
        Rc::new(move |message| {
            weak.with(move |inner| match message {
                AppSend::Room(payload) => inner.send_app(payload),
                AppSend::To(to, payload) => inner.send_direct(to, payload),
                AppSend::File { key, file, name } => inner.on_file_work(FileWork::Send(key, file, name)),
                AppSend::CancelFile(key) => inner.on_file_work(FileWork::Cancel(key)),
                AppSend::Volatile(payload) => inner.on_volatile_send(payload),
                AppSend::Media(request) => inner.on_media_request(request),
                AppSend::Enable(extension) => inner.enable(extension),
            })
        })
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

    /// Sends one app message: ordered at once by a host, sent over a resumed link by a client, else kept in
    /// the outbox (saved at once, so a reload right after still delivers it).
    fn send_app(&mut self, payload: Payload) {
        match self.delivery.send(payload, browser::now_ms()) {
            Some(PeerFrame::Data(entry)) => self.host_seal_out(vec![entry]),
            Some(frame) => self.guest_send(&frame),
            None => {}
        }
        self.save_delivery();
    }

    /// Sends one direct message: a host hands it to the target's link, a client to its host (or keeps it
    /// until the next link). Failures come back as [`DriverEvent::DirectFailed`].
    fn send_direct(&mut self, to: PeerId, payload: Payload) {
        let (_, frame) = self.delivery.send_to(to, payload);
        match frame {
            Some((peer, frame)) if self.delivery.is_host() => self.host_send_frames(vec![(peer, frame)]),
            Some((_, frame)) => self.guest_send(&frame),
            None => {}
        }
    }

    /// Shows the log restored from sessionStorage (not fresh: callbacks already ran before the reload).
    fn restore_log(&mut self) {
        for message in self.delivery.log().iter() {
            self.events.push(DriverEvent::Message { message: message.clone(), fresh: false });
        }
    }

    /// Turns what the delivery engine produced into events for the frame.
    fn drain_delivery(&mut self) {
        let produced = self.delivery.take_events();
        self.unsaved |= !produced.is_empty();
        let mut forgeries = Vec::new();
        for delivered in produced {
            self.events.push(match delivered {
                Delivered::Forged(forgery) => {
                    forgeries.push(forgery);
                    continue;
                }
                Delivered::Message { entry, fresh } => DriverEvent::Message { message: entry, fresh },
                Delivered::Gap(missed) => DriverEvent::Gap(missed),
                Delivered::Direct(message) => DriverEvent::Direct(message),
                Delivered::DirectFailed { id, to } => DriverEvent::DirectFailed { id, to },
            });
        }
        if !forgeries.is_empty() {
            self.seal_report(forgeries);
        }
    }

    /// Saves the outbox and log to sessionStorage.
    pub(crate) fn save_delivery(&mut self) {
        self.unsaved = false;
        if let Some(me) = &self.me {
            store::save(&self.ticket.session_id, me, &self.delivery);
        }
    }

    /// Stops everything (frame unmounted, or page gone for good).
    fn shutdown(&mut self) {
        self.save_delivery();
        self.files_close_all();
        self.close_signaling(1000, "closed");
        self.links.drain().for_each(|(_, mut link)| link.close());
        self.reconnect_timer.take().into_iter().for_each(|h| h.clear());
        self.connect_timer.take().into_iter().for_each(|h| h.clear());
        self.heartbeat.take().into_iter().for_each(|h| h.clear());
        self.page.take().into_iter().for_each(lifecycle::PageListeners::remove);
        self.set_state(P2pState::Closed);
        self.closed = true;
    }
}
