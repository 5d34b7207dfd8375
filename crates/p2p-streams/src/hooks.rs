//! `use_p2p::<T>()`: the reactive view of the room a `<P2pFrame>` opened, for components inside it.
//! Compiled on both sides; during SSR the signals hold their initial values and `send` only queues.
//!
//! ```
//! # use leptos::prelude::*;
//! # use p2p_streams::use_p2p;
//! # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct ChatMessage { text: String }
//! #[component]
//! fn Status() -> impl IntoView {
//!     let p2p = use_p2p::<ChatMessage>();
//!     let say_hi = move |_| p2p.send(ChatMessage { text: "hi".into() });
//!     view! { <p>{move || p2p.state.get().as_str()}</p> <button on:click=say_hi>"Say hi"</button> }
//! }
//! # let _ = Status;
//! ```

use crate::protocol::{PeerId, PeerStatus, Role};
use leptos::prelude::*;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::marker::PhantomData;
#[cfg(feature = "hydrate")]
use std::rc::Rc;

/// Connection state of this peer, mirroring the callbacks of the Rails gem we model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum P2pState {
    /// Getting a token, talking to the signaling server, exchanging offer/answer.
    Negotiating,
    /// Descriptions exchanged; ICE, DTLS and the data channel are opening.
    Connecting,
    /// Data channel to the host open (the host: registered as host).
    Connected,
    /// The link to the host was lost; reconnecting on its own.
    Disconnected,
    /// The frame was closed (unmounted).
    Closed,
    /// Cannot continue (refused token, protocol mismatch); see the `error` signal.
    Failed,
}

impl P2pState {
    /// Lowercase name, as shown in `data-testid="p2p-status"`.
    pub fn as_str(self) -> &'static str {
        match self {
            P2pState::Negotiating => "negotiating",
            P2pState::Connecting => "connecting",
            P2pState::Connected => "connected",
            P2pState::Disconnected => "disconnected",
            P2pState::Closed => "closed",
            P2pState::Failed => "failed",
        }
    }
}

/// One app message as delivered by the host, untyped.
pub type RawMessage = crate::delivery::Entry;

/// One typed message received in the room. `(from, seq)` identifies it; `(epoch, index)` is its place in
/// the session order, the same on every peer.
#[derive(Clone, Debug, PartialEq)]
pub struct Received<T> {
    /// Sender, stamped by the host (never taken from the payload).
    pub from: PeerId,
    /// The sender's sequence number.
    pub seq: u64,
    /// Epoch of the host that ordered it.
    pub epoch: u64,
    /// Index within the epoch.
    pub index: u64,
    /// The message.
    pub data: T,
}

#[cfg(feature = "hydrate")]
/// Where `send` puts outgoing messages: queued until the browser driver is running, then handed to it.
pub(crate) enum Outbox {
    /// Not started yet (SSR, or before the token arrived): messages wait here.
    Pending(Vec<serde_json::Value>),
    /// The driver's send function.
    Ready(Rc<dyn Fn(serde_json::Value)>),
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
    pub(crate) messages: RwSignal<Vec<RawMessage>>,
    pub(crate) missed: RwSignal<u64>,
    pub(crate) dropped: RwSignal<u64>,
    // Browser-only state holds `Rc` closures; it does not exist during SSR, where the server's worker
    // threads would drop thread-local values on the wrong thread.
    #[cfg(feature = "hydrate")]
    pub(crate) outbox: StoredValue<Outbox, LocalStorage>,
    #[cfg(feature = "hydrate")]
    pub(crate) listeners: StoredValue<Vec<Listener>, LocalStorage>,
}

/// A callback for every delivered message (browser only).
#[cfg(feature = "hydrate")]
pub(crate) type Listener = Rc<dyn Fn(&RawMessage)>;

impl P2pContext {
    pub(crate) fn new() -> Self {
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
            #[cfg(feature = "hydrate")]
            outbox: StoredValue::new_local(Outbox::Pending(Vec::new())),
            #[cfg(feature = "hydrate")]
            listeners: StoredValue::new_local(Vec::new()),
        }
    }

    /// Queues or sends one serialized message (nothing to do during SSR).
    #[cfg(not(feature = "hydrate"))]
    pub(crate) fn send_raw(&self, _payload: serde_json::Value) {}

    /// Queues or sends one serialized message.
    #[cfg(feature = "hydrate")]
    pub(crate) fn send_raw(&self, payload: serde_json::Value) {
        let ready = self.outbox.with_value(|o| match o {
            Outbox::Ready(f) => Some(Rc::clone(f)),
            Outbox::Pending(_) => None,
        });
        match ready {
            Some(send) => send(payload),
            None => self.outbox.update_value(|o| {
                if let Outbox::Pending(queue) = o {
                    queue.push(payload);
                }
            }),
        }
    }

    /// Puts a message at its place in the order (moving it if it was elsewhere, keeping at most `limit`) and,
    /// the first time this peer sees it (`fresh`), tells every listener.
    #[cfg(feature = "hydrate")]
    pub(crate) fn deliver(&self, message: RawMessage, fresh: bool, limit: usize) {
        if fresh {
            let listeners = self.listeners.with_value(|l| l.clone());
            for listener in &listeners {
                listener(&message);
            }
        }
        self.messages.update(|list| {
            list.retain(|m| m.from != message.from || m.seq != message.seq);
            let at = list.partition_point(|m| m.pos() < message.pos());
            list.insert(at, message);
            let excess = list.len().saturating_sub(limit.max(1));
            list.drain(..excess);
        });
    }
}

/// The room as seen by one component: reactive state plus `send`, typed by the app's message `T`.
pub struct P2p<T: Send + Sync + 'static> {
    /// This peer's connection state.
    pub state: Signal<P2pState>,
    /// Every peer of the session with its state, host first (from the host's `Data.Connection.State`).
    pub peers: Signal<Vec<PeerStatus>>,
    /// This peer's role, once the server assigned one.
    pub role: Signal<Option<Role>>,
    /// Whether this peer is the host.
    pub is_host: Signal<bool>,
    /// This peer's id (`{user}#{tab}`), once the server welcomed it.
    pub peer_id: Signal<Option<PeerId>>,
    /// The current host's id.
    pub host_peer_id: Signal<Option<PeerId>>,
    /// Whether this peer's signaling WebSocket is open.
    pub signaling_open: Signal<bool>,
    /// The last fatal error, if any.
    pub error: Signal<Option<String>>,
    /// Received messages in the session order, the same on every peer (bounded by
    /// `P2pConfig::history_limit`); messages that do not deserialize as `T` are skipped.
    pub messages: Signal<Vec<Received<T>>>,
    /// How many messages this peer missed that the host could no longer supply (history gaps), in total.
    pub missed_messages: Signal<u64>,
    /// Host: how many malformed, oversized or misdirected data-channel messages were dropped.
    pub dropped_messages: Signal<u64>,
    ctx: P2pContext,
    _type: PhantomData<fn() -> T>,
}

impl<T: Send + Sync + 'static> Clone for P2p<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: Send + Sync + 'static> Copy for P2p<T> {}

impl<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static> P2p<T> {
    /// Sends `msg` to every peer through the host (the host delivers it back to this peer too, so all
    /// peers see one order). Kept in the outbox (which survives a reload) until the host's order includes
    /// it, and resent after any reconnect, to the same or a new host; delivered exactly once.
    pub fn send(&self, msg: T) {
        match serde_json::to_value(&msg) {
            Ok(payload) => self.ctx.send_raw(payload),
            Err(err) => self.ctx.error.set(Some(format!("message not serializable: {err}"))),
        }
    }

    /// Calls `f` for every message received from now on (while this component lives). A no-op during SSR.
    #[cfg(not(feature = "hydrate"))]
    pub fn on_message(&self, f: impl Fn(Received<T>) + 'static) {
        let _ = f;
    }

    /// Calls `f` for every message received from now on (while this component lives). A no-op during SSR.
    #[cfg(feature = "hydrate")]
    pub fn on_message(&self, f: impl Fn(Received<T>) + 'static) {
        let listener: Listener = Rc::new(move |raw: &RawMessage| {
            if let Some(received) = typed::<T>(raw) {
                f(received);
            }
        });
        let ctx = self.ctx;
        let id = Rc::as_ptr(&listener) as *const () as usize;
        ctx.listeners.update_value(|l| l.push(listener));
        on_cleanup(move || {
            ctx.listeners.try_update_value(|l| l.retain(|x| Rc::as_ptr(x) as *const () as usize != id));
        });
    }
}

fn typed<T: DeserializeOwned>(raw: &RawMessage) -> Option<Received<T>> {
    let data = serde_json::from_value(raw.payload.clone()).ok()?;
    Some(Received { from: raw.from.clone(), seq: raw.seq, epoch: raw.epoch, index: raw.index, data })
}

/// The room of the nearest enclosing `<P2pFrame>`, with messages typed as `T`.
///
/// # Panics
/// When called outside a `<P2pFrame>` (a programming error, caught on first render).
pub fn use_p2p<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static>() -> P2p<T> {
    let ctx = use_context::<P2pContext>().expect("use_p2p() must be called inside <P2pFrame>");
    P2p {
        state: ctx.state.into(),
        peers: ctx.peers.into(),
        role: ctx.role.into(),
        is_host: Signal::derive(move || ctx.role.get() == Some(Role::Host)),
        peer_id: ctx.peer_id.into(),
        host_peer_id: ctx.host.into(),
        signaling_open: ctx.signaling_open.into(),
        error: ctx.error.into(),
        messages: Signal::derive(move || ctx.messages.with(|list| list.iter().filter_map(typed::<T>).collect())),
        missed_messages: ctx.missed.into(),
        dropped_messages: ctx.dropped.into(),
        ctx,
        _type: PhantomData,
    }
}
