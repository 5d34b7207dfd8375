//! The untyped state one `<P2pFrame>` shares with the hooks inside it (provided as Leptos context): the
//! signals the driver's events feed, the outbox `send` writes to, the observers that decode each delivered
//! message once per message type (and each volatile message once per volatile view), and the frame's controls
//! (`close`, `reconnect`).

#[cfg(feature = "hydrate")]
use super::log::place;
use super::{P2pState, RawMessage, SendFailure};
use crate::delivery::{DirectMessage, Payload};
use crate::protocol::{PeerId, PeerStatus, Role};
use leptos::prelude::*;
#[cfg(feature = "hydrate")]
use std::rc::Rc;

#[cfg(feature = "hydrate")]
/// Where `send` puts outgoing messages: queued until the browser driver is running, then handed to it.
pub(crate) enum Outbox {
    /// Not started yet (SSR, or before the token arrived): messages wait here.
    Pending(Vec<crate::client::AppSend>),
    /// The driver's send function.
    Ready(Rc<dyn Fn(crate::client::AppSend)>),
}

/// What a frame's observers hear (browser only).
#[cfg(feature = "hydrate")]
pub(crate) enum Observed<'a> {
    /// A message at its place in the order; `fresh` the first time this peer sees it.
    Message(&'a RawMessage, bool),
    /// The frame left its room (session changed, reconnect): forget every message.
    Reset,
}

/// Decodes and files delivered messages for one message type (browser only).
#[cfg(feature = "hydrate")]
pub(crate) type Observer = Rc<dyn Fn(&Observed<'_>)>;

/// One typed view of a frame: its message type and kind, and the view (`hooks::typed::TypedView<T>`).
#[cfg(feature = "hydrate")]
pub(crate) type TypedViewEntry = ((std::any::TypeId, super::codec::Codec), Box<dyn std::any::Any>);

/// Hears every volatile message (`None`: the frame left its room, forget them) for one view (browser only).
#[cfg(feature = "hydrate")]
pub(crate) type VolatileObserver = Rc<dyn Fn(Option<&crate::volatile::VolatileMessage>)>;

/// The frame's handler of [`Control`] requests.
#[cfg(feature = "hydrate")]
pub(crate) type ControlFn = Rc<dyn Fn(Control)>;

/// What the hook asks of the frame's browser half.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Control {
    /// Leave the room: close the driver.
    Close,
    /// Close the driver and start a new one with a fresh ticket.
    Reconnect,
}

/// Shared state of one `<P2pFrame>`, provided as context to its children.
#[derive(Clone, Copy)]
pub struct P2pContext {
    pub(crate) state: RwSignal<P2pState>,
    pub(crate) peers: RwSignal<Vec<PeerStatus>>,
    pub(crate) role: RwSignal<Option<Role>>,
    pub(crate) peer_id: RwSignal<Option<PeerId>>,
    pub(crate) host: RwSignal<Option<PeerId>>,
    pub(crate) signaling_open: RwSignal<bool>,
    pub(crate) error: RwSignal<Option<String>>,
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub(crate) messages: RwSignal<Vec<RawMessage>>,
    pub(crate) missed: RwSignal<u64>,
    pub(crate) dropped: RwSignal<u64>,
    /// Host: volatile messages from clients dropped over the rate cap.
    pub(crate) volatile_dropped: RwSignal<u64>,
    /// Direct messages received (the last `history` of them), oldest first.
    pub(crate) directs: RwSignal<Vec<DirectMessage>>,
    /// Direct messages the host could not deliver (the last `history` of them), oldest first.
    pub(crate) send_failures: RwSignal<Vec<SendFailure>>,
    /// History entries refused as forged (the last `history` of them), oldest first.
    pub(crate) forgeries: RwSignal<Vec<crate::delivery::Forgery>>,
    /// File transfers sent and received (`hooks::files`), oldest first.
    pub(crate) files: RwSignal<Vec<super::files::FileTransfer>>,
    /// The room's published media streams (`hooks::media`), in publication order.
    pub(crate) streams: RwSignal<Vec<super::media::RoomStream>>,
    /// The last media error (a refused publication).
    pub(crate) media_error: RwSignal<Option<super::media::MediaError>>,
    /// Host: its media uplink in bits per second, once measured.
    pub(crate) uplink: RwSignal<Option<u64>>,
    /// The number of the last file this peer sent.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub(crate) next_file: StoredValue<u64>,
    /// The frame config's `max_message_bytes` (`send` refuses longer messages at once).
    pub(crate) max_message: StoredValue<usize>,
    /// The history limit of the frame's config (typed views keep as many).
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub(crate) history: StoredValue<usize>,
    // Browser-only state holds `Rc` closures; it does not exist during SSR, where the server's worker
    // threads would drop thread-local values on the wrong thread.
    #[cfg(feature = "hydrate")]
    pub(crate) outbox: StoredValue<Outbox, LocalStorage>,
    #[cfg(feature = "hydrate")]
    pub(crate) observers: StoredValue<Vec<Observer>, LocalStorage>,
    /// `on_direct` listeners.
    #[cfg(feature = "hydrate")]
    pub(crate) direct_listeners: super::listeners::Listeners<DirectMessage>,
    /// Typed views already built, one per message type (`hooks::typed`).
    #[cfg(feature = "hydrate")]
    pub(crate) views: StoredValue<Vec<TypedViewEntry>, LocalStorage>,
    /// Volatile views (`hooks::volatile`), one per message type and codec, and their observers.
    #[cfg(feature = "hydrate")]
    pub(crate) volatile_views: StoredValue<Vec<TypedViewEntry>, LocalStorage>,
    #[cfg(feature = "hydrate")]
    pub(crate) volatile_observers: StoredValue<Vec<VolatileObserver>, LocalStorage>,
    #[cfg(feature = "hydrate")]
    pub(crate) control: StoredValue<Option<ControlFn>, LocalStorage>,
    /// Driver parts the hooks turned on (`client::Extension`), for every driver this frame starts.
    #[cfg(feature = "hydrate")]
    pub(crate) extensions: StoredValue<Vec<crate::client::Extension>, LocalStorage>,
    /// The frame's owner: typed views live as long as the frame, not as the first component that asked.
    #[cfg(feature = "hydrate")]
    pub(crate) owner: StoredValue<Option<Owner>, LocalStorage>,
}

impl P2pContext {
    pub(crate) fn new(history: usize, max_message: usize) -> Self {
        P2pContext {
            state: RwSignal::new(P2pState::Negotiating),
            peers: RwSignal::new(Vec::new()),
            role: RwSignal::new(None),
            peer_id: RwSignal::new(None),
            host: RwSignal::new(None),
            signaling_open: RwSignal::new(false),
            error: RwSignal::new(None),
            messages: RwSignal::new(Vec::new()),
            missed: RwSignal::new(0),
            dropped: RwSignal::new(0),
            volatile_dropped: RwSignal::new(0),
            directs: RwSignal::new(Vec::new()),
            send_failures: RwSignal::new(Vec::new()),
            forgeries: RwSignal::new(Vec::new()),
            files: RwSignal::new(Vec::new()),
            streams: RwSignal::new(Vec::new()),
            media_error: RwSignal::new(None),
            uplink: RwSignal::new(None),
            next_file: StoredValue::new(0),
            max_message: StoredValue::new(max_message),
            history: StoredValue::new(history),
            #[cfg(feature = "hydrate")]
            outbox: StoredValue::new_local(Outbox::Pending(Vec::new())),
            #[cfg(feature = "hydrate")]
            observers: StoredValue::new_local(Vec::new()),
            #[cfg(feature = "hydrate")]
            direct_listeners: super::listeners::Listeners::new(),
            #[cfg(feature = "hydrate")]
            views: StoredValue::new_local(Vec::new()),
            #[cfg(feature = "hydrate")]
            volatile_views: StoredValue::new_local(Vec::new()),
            #[cfg(feature = "hydrate")]
            volatile_observers: StoredValue::new_local(Vec::new()),
            #[cfg(feature = "hydrate")]
            control: StoredValue::new_local(None),
            #[cfg(feature = "hydrate")]
            extensions: StoredValue::new_local(Vec::new()),
            #[cfg(feature = "hydrate")]
            owner: StoredValue::new_local(Owner::current()),
        }
    }

    /// Queues or sends one serialized message, to everyone (`to` is `None`) or to one peer (nothing to do
    /// during SSR).
    #[cfg(not(feature = "hydrate"))]
    pub(crate) fn send_raw(&self, _to: Option<PeerId>, _payload: Payload) {}

    /// Queues or sends one serialized message, to everyone (`to` is `None`) or to one peer.
    #[cfg(feature = "hydrate")]
    pub(crate) fn send_raw(&self, to: Option<PeerId>, payload: Payload) {
        use crate::client::AppSend;
        self.send_control(match to {
            Some(to) => AppSend::To(to, payload),
            None => AppSend::Room(payload),
        });
    }

    /// The running driver's send function, if it runs.
    #[cfg(feature = "hydrate")]
    fn driver(&self) -> Option<Rc<dyn Fn(crate::client::AppSend)>> {
        self.outbox.with_value(|o| match o {
            Outbox::Ready(f) => Some(Rc::clone(f)),
            Outbox::Pending(_) => None,
        })
    }

    /// Hands one request to the driver, or queues it until the driver runs.
    #[cfg(feature = "hydrate")]
    pub(crate) fn send_control(&self, payload: crate::client::AppSend) {
        let ready = self.driver();
        match ready {
            Some(send) => send(payload),
            None => self.outbox.update_value(|o| {
                if let Outbox::Pending(queue) = o {
                    queue.push(payload);
                }
            }),
        }
    }

    /// Turns a driver part on for the running driver and every later one (once per frame).
    #[cfg(feature = "hydrate")]
    pub(crate) fn enable(&self, extension: crate::client::Extension) {
        let added = self.extensions.try_update_value(|list| {
            let new = !list.contains(&extension);
            if new {
                list.push(extension);
            }
            new
        });
        let ready = self.driver();
        // A driver not started yet gets it from the list when it starts.
        if let (Some(true), Some(send)) = (added, ready) {
            send(crate::client::AppSend::Enable(extension));
        }
    }

    /// Hands one volatile message to the driver if it runs; false when it does not (nothing is queued).
    #[cfg(feature = "hydrate")]
    pub(crate) fn send_volatile_raw(&self, payload: Payload) -> bool {
        let ready = self.driver();
        ready.map(|send| send(crate::client::AppSend::Volatile(payload))).is_some()
    }

    /// Nothing to send to during SSR.
    #[cfg(not(feature = "hydrate"))]
    pub(crate) fn send_volatile_raw(&self, _payload: Payload) -> bool {
        false
    }

    /// Tells every volatile view about a volatile message from another peer.
    #[cfg(feature = "hydrate")]
    pub(crate) fn deliver_volatile(&self, message: &crate::volatile::VolatileMessage) {
        let observers = self.volatile_observers.with_value(|o| o.clone());
        for observer in &observers {
            observer(Some(message));
        }
    }

    /// Puts a message at its place in the order (moving it if it was elsewhere, keeping at most the history
    /// limit) and tells every observer (which decode it once for their message type).
    #[cfg(feature = "hydrate")]
    pub(crate) fn deliver(&self, message: RawMessage, fresh: bool) {
        let observers = self.observers.with_value(|o| o.clone());
        for observer in &observers {
            observer(&Observed::Message(&message, fresh));
        }
        let limit = self.history.get_value();
        let (from, seq) = (message.from.clone(), message.seq);
        self.messages.update(|list| place(list, message, &from, seq, limit));
    }

    /// A direct message arrived: every `on_direct` listener hears it (in arrival order, before the
    /// `direct_messages` signal changes), then it is kept.
    #[cfg(feature = "hydrate")]
    pub(crate) fn deliver_direct(&self, message: DirectMessage) {
        self.direct_listeners.notify(&message);
        self.keep(self.directs, message);
    }

    /// Keeps one more item in a list bounded by the history limit (direct messages, send failures).
    #[cfg(feature = "hydrate")]
    pub(crate) fn keep<T: Send + Sync + 'static>(&self, list: RwSignal<Vec<T>>, item: T) {
        let limit = self.history.get_value().max(1);
        list.update(|items| {
            items.push(item);
            let excess = items.len().saturating_sub(limit);
            items.drain(..excess);
        });
    }

    /// Back to a frame that joined nothing yet (before another session, or a reconnect): every signal at its
    /// initial value, the outbox pending, every typed view emptied.
    #[cfg(feature = "hydrate")]
    pub(crate) fn reset(&self) {
        self.state.set(P2pState::Negotiating);
        self.peers.set(Vec::new());
        self.role.set(None);
        self.peer_id.set(None);
        self.host.set(None);
        self.signaling_open.set(false);
        self.error.set(None);
        self.messages.set(Vec::new());
        self.missed.set(0);
        self.dropped.set(0);
        self.volatile_dropped.set(0);
        self.directs.set(Vec::new());
        self.send_failures.set(Vec::new());
        self.forgeries.set(Vec::new());
        self.streams.set(Vec::new());
        self.media_error.set(None);
        self.uplink.set(None);
        self.outbox.set_value(Outbox::Pending(Vec::new()));
        let observers = self.observers.with_value(|o| o.clone());
        for observer in &observers {
            observer(&Observed::Reset);
        }
        let volatile = self.volatile_observers.with_value(|o| o.clone());
        for observer in &volatile {
            observer(None);
        }
    }

    /// Asks the frame's browser half to close or reconnect (nothing during SSR or before it started).
    pub(crate) fn control(&self, what: Control) {
        #[cfg(feature = "hydrate")]
        if let Some(control) = self.control.try_with_value(|c| c.clone()).flatten() {
            control(what);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = what;
    }
}
