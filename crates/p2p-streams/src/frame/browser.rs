//! Browser half of the frame: starts the driver once the ticket is there, maps driver events to the
//! context's signals and the callbacks, restarts it when the session or peer prop changes or the hook asks
//! (`reconnect`), and closes everything on `close` or unmount.

use super::P2pCallbacks;
use crate::client::{AppSend, Driver, DriverEvent};
use crate::config::P2pConfig;
use crate::hooks::{Control, Outbox, P2pContext, P2pState, SendFailure};
use crate::ticket::{fetch_join_ticket, JoinTicket};
use leptos::html::Div;
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

/// Driver events waiting for the frame's first effect: `Some` until then. The driver starts while the page
/// hydrates, but the signals must keep the server's values until the frame's content is hydrated.
type Held = Rc<RefCell<Option<VecDeque<DriverEvent>>>>;

/// The frame's driver and what it needs to start another one.
struct Runner {
    /// The frame's signals.
    ctx: P2pContext,
    /// The app's callbacks.
    cb: P2pCallbacks,
    /// The frame's options (each driver gets a copy).
    config: P2pConfig,
    /// Join token lifetime asked for, in seconds.
    expires_in_secs: u64,
    /// Events held until the frame is hydrated.
    held: Held,
    /// Increments on every restart (and close): events and tickets of an older start are ignored.
    generation: Cell<u64>,
    /// The running driver, if any.
    driver: RefCell<Option<Driver>>,
}

impl Runner {
    /// Where the driver of start `generation` reports: ignored once another start replaced it.
    fn sink(self: &Rc<Self>, generation: u64) -> Rc<dyn Fn(DriverEvent)> {
        let weak: Weak<Runner> = Rc::downgrade(self);
        Rc::new(move |event| {
            let Some(runner) = weak.upgrade().filter(|r| r.generation.get() == generation) else { return };
            let event = match runner.held.borrow_mut().as_mut() {
                Some(queue) => return queue.push_back(event),
                None => event,
            };
            apply(runner.ctx, runner.cb, event)
        })
    }

    /// Starts the driver of start `generation` with `ticket` (or reports why there is none).
    fn launch(self: &Rc<Self>, generation: u64, ticket: Result<JoinTicket, String>) {
        if self.generation.get() != generation {
            return;
        }
        let sink = self.sink(generation);
        match ticket {
            Ok(ticket) => {
                // A config without ICE servers takes the ticket's: the driver decides, as it renews tickets.
                let started = Driver::start(ticket, self.config.clone(), Rc::clone(&sink));
                let send = started.sender();
                let extensions = self.ctx.extensions.try_with_value(|list| list.clone()).unwrap_or_default();
                extensions.into_iter().for_each(|extension| send(AppSend::Enable(extension)));
                let queued = self.ctx.outbox.try_update_value(|o| std::mem::replace(o, Outbox::Ready(send.clone())));
                if let Some(Outbox::Pending(queued)) = queued {
                    queued.into_iter().for_each(|payload| send(payload));
                }
                if let Some(old) = self.driver.replace(Some(started)) {
                    old.close();
                }
            }
            Err(err) => sink(DriverEvent::Fatal(format!("could not get a join token: {err}"))),
        }
    }

    /// Fetches a ticket for `session` as `peer` from the server, then launches start `generation`.
    fn fetch_and_launch(self: &Rc<Self>, generation: u64, session: String, peer: String) {
        let (weak, secs) = (Rc::downgrade(self), self.expires_in_secs);
        leptos::task::spawn_local(async move {
            let ticket = fetch_join_ticket(&session, &peer, secs).await.map_err(|e| e.to_string());
            if let Some(runner) = weak.upgrade() {
                runner.launch(generation, ticket);
            }
        });
    }

    /// Leaves the current room (its events are ignored from now on) and joins `session` as `peer`.
    fn restart(self: &Rc<Self>, session: String, peer: String) {
        let generation = self.generation.get() + 1;
        self.generation.set(generation);
        let old = self.driver.take();
        if let Some(old) = old {
            old.close();
        }
        self.ctx.reset();
        self.fetch_and_launch(generation, session, peer);
    }

    /// Leaves the room: the driver reports `Closed` (or, when none runs yet, the frame does).
    fn close(self: &Rc<Self>) {
        let running = self.driver.take();
        self.ctx.outbox.try_set_value(Outbox::Pending(Vec::new()));
        match running {
            Some(driver) => driver.close(),
            None => {
                self.generation.set(self.generation.get() + 1);
                apply(self.ctx, self.cb, DriverEvent::State(P2pState::Closed));
            }
        }
    }
}

/// Starts the driver once the frame is hydrated (or mounted): with the ticket the server put into the frame
/// (`data-ticket`), with the server's refusal as a fatal error (`data-ticket-error`), or, for a frame the
/// browser rendered, with one fetched from the server (`request`: session, peer, lifetime). Later changes of
/// the session or peer restart it with a fetched ticket.
pub(super) fn start_when_ready(
    ctx: P2pContext,
    frame: NodeRef<Div>,
    request: (Signal<String>, Signal<String>, u64),
    config: P2pConfig,
    cb: P2pCallbacks,
) {
    let (session, peer, expires_in_secs) = request;
    let runner = Rc::new(Runner {
        ctx,
        cb,
        config,
        expires_in_secs,
        held: Rc::new(RefCell::new(Some(VecDeque::new()))),
        generation: Cell::new(0),
        driver: RefCell::new(None),
    });
    let control: Rc<dyn Fn(Control)> = {
        let weak = Rc::downgrade(&runner);
        Rc::new(move |what| {
            let Some(runner) = weak.upgrade() else { return };
            match what {
                Control::Close => runner.close(),
                Control::Reconnect => runner.restart(session.get_untracked(), peer.get_untracked()),
            }
        })
    };
    ctx.control.set_value(Some(control));
    let stored = StoredValue::new_local(Some(Rc::clone(&runner)));
    let joined: RefCell<Option<(String, String)>> = RefCell::new(None);
    // The first run comes after the frame's content is hydrated (the signals keep the server's values until
    // then); later runs follow the session and peer props.
    Effect::new(move |_| {
        let now = (session.get(), peer.get());
        let before = joined.replace(Some(now.clone()));
        if before.as_ref() == Some(&now) {
            return;
        }
        let (session, peer) = now;
        if before.is_some() {
            return runner.restart(session, peer);
        }
        release(&runner);
        let attr = |name: &str| frame.get_untracked().and_then(|el| el.get_attribute(name));
        match (attr("data-ticket"), attr("data-ticket-error")) {
            (Some(json), _) => {
                runner.launch(0, serde_json::from_str(&json).map_err(|e| format!("unreadable ticket: {e}")))
            }
            (None, Some(refusal)) => runner.launch(0, Err(refusal)),
            (None, None) => runner.fetch_and_launch(0, session, peer),
        }
    });
    on_cleanup(move || {
        if let Some(runner) = stored.try_update_value(Option::take).flatten() {
            runner.generation.set(runner.generation.get() + 1);
            let running = runner.driver.take();
            if let Some(driver) = running {
                driver.close();
            }
        }
    });
}

/// Applies the held events in order (events produced meanwhile queue behind them), then stops holding.
fn release(runner: &Runner) {
    loop {
        let next = {
            let mut held = runner.held.borrow_mut();
            match held.as_mut().map(VecDeque::pop_front) {
                Some(Some(event)) => event,
                Some(None) => {
                    *held = None;
                    return;
                }
                None => return,
            }
        };
        apply(runner.ctx, runner.cb, next);
    }
}

fn apply(ctx: P2pContext, cb: P2pCallbacks, event: DriverEvent) {
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
            if let Some(callback) = cb.on_message.filter(|_| fresh && message.bytes.is_none()) {
                callback.run((message.from.clone(), message.payload.clone()));
            }
            ctx.deliver(message, fresh);
        }
        DriverEvent::Gap(missed) => {
            ctx.missed.update(|total| *total += missed);
            if let Some(callback) = cb.on_history_gap {
                callback.run(missed);
            }
        }
        DriverEvent::Direct(message) => ctx.deliver_direct(message),
        DriverEvent::DirectFailed { id, to } => ctx.keep(ctx.send_failures, SendFailure { id, to }),
        DriverEvent::Dropped => ctx.dropped.update(|total| *total += 1),
        DriverEvent::Forged(forgery) => ctx.keep(ctx.forgeries, forgery),
        DriverEvent::File(event) => crate::hooks::apply_file_event(ctx, event),
        DriverEvent::Volatile(message) => ctx.deliver_volatile(&message),
        DriverEvent::Streams(streams) => ctx.streams.set(streams),
        DriverEvent::MediaRefused { id, reason } => {
            ctx.media_error.set(Some(crate::hooks::MediaError::Refused { id, reason }))
        }
        DriverEvent::Uplink(bps) => ctx.uplink.set(Some(bps)),
        DriverEvent::VolatileDropped => ctx.volatile_dropped.update(|total| *total += 1),
        DriverEvent::Fatal(message) => {
            ctx.state.set(P2pState::Failed);
            ctx.error.set(Some(message.clone()));
            if let Some(callback) = cb.on_error {
                callback.run(message);
            }
        }
    }
}
