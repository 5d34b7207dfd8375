//! `use_p2p::<T>()`: the reactive view of the room a `<P2pFrame>` opened, for components inside it (and
//! [`try_use_p2p`] for components that may be outside one). Compiled on both sides; during SSR the signals
//! hold their initial values and `send` only queues.
//!
//! Each delivered message is decoded into `T` once, when it arrives (once per message type per frame, however
//! many components read it); messages that do not decode as `T` are counted in `decode_errors` and listed in
//! `decode_failures` with their sender and serde's reason.
//!
//! ```
//! # use leptos::prelude::*;
//! # use p2p_streams::use_p2p;
//! # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct ChatMessage { text: String }
//! #[component]
//! fn Status() -> impl IntoView {
//!     let p2p = use_p2p::<ChatMessage>();
//!     let say_hi = move |_| {
//!         if let Err(err) = p2p.send(ChatMessage { text: "hi".into() }) {
//!             leptos::logging::warn!("not sent: {err}");
//!         }
//!     };
//!     view! { <p>{move || p2p.state.get().as_str()}</p> <button on:click=say_hi>"Say hi"</button> }
//! }
//! # let _ = Status;
//! ```

mod binary;
mod codec;
mod context;
mod files;
#[cfg(feature = "hydrate")]
mod listeners;
mod log;
mod media;
mod media_view;
mod status;
mod typed;
mod volatile;

pub use binary::{try_use_p2p_binary, use_p2p_binary, use_p2p_bytes, P2pBinary, P2pBytes};
pub use codec::Direct;
pub(crate) use context::Control;
#[cfg(feature = "hydrate")]
pub(crate) use context::Outbox;
pub use context::P2pContext;
#[cfg(feature = "hydrate")]
pub(crate) use files::apply as apply_file_event;
pub use files::{use_p2p_files, FileEvent, FileKey, FileState, FileTransfer, P2pFiles};
pub use log::{decode, DecodeFailure, DecodeFailures, Received, RECENT_DECODE_FAILURES};
#[cfg(feature = "hydrate")]
pub use media::{camera, microphone, screen};
pub use media::{use_p2p_media, MediaError, MediaHandle, MediaRequest, P2pMedia, RoomStream};
pub use media_view::{P2pAudio, P2pVideo};
pub use status::{try_use_p2p_status, use_p2p_status, P2pStatus};
pub use volatile::{try_use_p2p_volatile, use_p2p_volatile, P2pVolatile, Volatile};

use crate::delivery::{Forgery, Payload};
use crate::protocol::{PeerId, PeerStatus, Role};
use codec::Codec;
use leptos::prelude::*;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use typed::TypedView;
use volatile::{submit_volatile, VolatileView};

/// Connection state of this peer, mirroring the callbacks of the Rails gem we model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum P2pState {
    /// Getting a token, talking to the signaling server, exchanging offer/answer.
    Negotiating,
    /// Descriptions exchanged; ICE, DTLS and the data channel are opening.
    Connecting,
    /// Data channel to the host open (the host: registered as host).
    Connected,
    /// The link to the host was lost; reconnecting on its own. Also the state of a page kept in the browser's
    /// back/forward cache: it left the room, and rejoins when restored.
    Disconnected,
    /// The frame was closed (unmounted, or [`P2p::close`]).
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

/// Why [`P2p::send`] did not take a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The room was closed ([`P2p::close`], or the frame unmounted); [`P2p::reconnect`] opens it again.
    #[error("the room is closed")]
    Closed,
    /// The message did not serialize to JSON, or to postcard for a typed binary send (serde's reason).
    #[error("message not serializable: {0}")]
    Serialize(String),
    /// The message is longer than `P2pConfig::max_message_bytes` (a JSON message's text, a binary message's
    /// bytes): nothing was sent.
    #[error("a {size} byte message is over the limit of {limit} bytes")]
    TooLarge {
        /// The message's size.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// `send_to`'s target is not in the room's peer list (checked when this peer has one, i.e. once
    /// connected; the host checks again and reports in `send_failures`): nothing was sent.
    #[error("{0} is not in the room")]
    UnknownPeer(PeerId),
    /// A volatile message (`send_volatile`) while this peer is not connected to its host: volatile messages
    /// never wait for a link, so it was dropped.
    #[error("not connected: volatile messages are not kept for later")]
    NotConnected,
}

/// A direct message (`send_to`) the host could not deliver: its target was not connected to the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendFailure {
    /// The message's id: 1 for the first `send_to` (or `send_bytes_to`, or a binary `send_to`) of this room
    /// join, 2 for the next, and so on (the count starts over on `reconnect`).
    pub id: u64,
    /// The target that was not in the room.
    pub to: PeerId,
}

/// Checks and hands one message to the frame: [`SendError`]s are decided here, before anything is sent.
pub(crate) fn submit(ctx: &P2pContext, to: Option<&PeerId>, payload: Payload) -> Result<(), SendError> {
    if ctx.state.try_get_untracked().is_none_or(|s| s == P2pState::Closed) {
        return Err(SendError::Closed);
    }
    let (size, limit) = (payload.size(), ctx.max_message.try_get_value().unwrap_or(0));
    if size > limit {
        return Err(SendError::TooLarge { size, limit });
    }
    if let Some(to) = to {
        let known = ctx.peers.with_untracked(|peers| peers.is_empty() || peers.iter().any(|p| p.peer == *to));
        if !known {
            return Err(SendError::UnknownPeer(to.clone()));
        }
    }
    ctx.send_raw(to.cloned(), payload);
    Ok(())
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
    /// `P2pConfig::history_limit`), each decoded once on arrival. Messages that do not deserialize as `T` are
    /// not here: they are counted in [`decode_errors`](Self::decode_errors).
    pub messages: Signal<Vec<Received<T>>>,
    /// How many delivered messages did not deserialize as `T` (since the frame joined its current session).
    pub decode_errors: Signal<u64>,
    /// The last few of those ([`RECENT_DECODE_FAILURES`]), oldest first, with sender and reason.
    pub decode_failures: Signal<Vec<DecodeFailure>>,
    /// How many messages this peer missed that the host could no longer supply (history gaps), in total.
    pub missed_messages: Signal<u64>,
    /// Host: how many malformed, oversized or misdirected data-channel messages were dropped.
    pub dropped_messages: Signal<u64>,
    /// Host: how many volatile messages from clients it dropped over `P2pConfig::volatile_rate` (0 on a
    /// client).
    pub volatile_dropped: Signal<u64>,
    /// JSON messages sent to this peer only ([`send_to`](Self::send_to)) that decode as `T`, oldest first
    /// (the last `P2pConfig::history_limit`). They are in no peer's `messages`.
    pub direct_messages: Signal<Vec<Direct<T>>>,
    /// This peer's direct messages the host could not deliver (the target was not connected to it), oldest
    /// first (the last `P2pConfig::history_limit`).
    pub send_failures: Signal<Vec<SendFailure>>,
    /// History entries this peer refused because their host's seal did not verify, each with the peer that
    /// handed it over (the forger), oldest first (the last `P2pConfig::history_limit`). None of them is in
    /// `messages`; the server was told too (docs/reliability.md, "Forged history").
    pub forgeries: Signal<Vec<Forgery>>,
    ctx: P2pContext,
    view: TypedView<T>,
}

impl<T: Send + Sync + 'static> Clone for P2p<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: Send + Sync + 'static> Copy for P2p<T> {}

impl<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static> P2p<T> {
    /// Sends `msg` to every peer through the host (the host delivers it back to this peer too, so all
    /// peers see one order). `Ok` means the message is in the outbox, not that it arrived: while this peer is
    /// not connected (negotiating, reconnecting, failed) it waits there, and it is kept (surviving a reload)
    /// until the host's order includes it, resent after any reconnect, to the same or a new host, and
    /// delivered exactly once. A long message travels in chunks. Errors: [`SendError::Closed`] after
    /// [`close`](Self::close) (or once the frame unmounted), [`SendError::Serialize`] when `msg` does not
    /// serialize, [`SendError::TooLarge`] when its JSON is longer than `P2pConfig::max_message_bytes`
    /// (nothing is sent).
    pub fn send(&self, msg: T) -> Result<(), SendError> {
        let payload = serde_json::to_value(&msg).map_err(|err| SendError::Serialize(err.to_string()))?;
        submit(&self.ctx, None, Payload::Json(payload))
    }

    /// Sends `bytes` to every peer, on the same ordered path as [`send`](Self::send) with the same
    /// guarantees. Receivers read them with [`use_p2p_bytes`] (or [`use_p2p_binary`] when they are postcard).
    /// Errors: [`SendError::Closed`], [`SendError::TooLarge`] over `P2pConfig::max_message_bytes`.
    pub fn send_bytes(&self, bytes: Vec<u8>) -> Result<(), SendError> {
        submit(&self.ctx, None, Payload::Bytes(bytes))
    }

    /// Sends `msg` to peer `to` only, through the host (which stamps the sender); it takes no place in the
    /// session order and no other peer sees it. The target reads it in `direct_messages`. A target the host
    /// does not know is reported in [`send_failures`](Self::send_failures); `Ok` means it is on its way.
    /// Kept and resent until the host answers, across reconnects and host migrations (not across a reload).
    /// Errors: those of [`send`](Self::send), and [`SendError::UnknownPeer`] for a target not in `peers`.
    pub fn send_to(&self, to: &PeerId, msg: T) -> Result<(), SendError> {
        let payload = serde_json::to_value(&msg).map_err(|err| SendError::Serialize(err.to_string()))?;
        submit(&self.ctx, Some(to), Payload::Json(payload))
    }

    /// [`send_to`](Self::send_to) with bytes: the target reads them in [`P2pBytes::direct_messages`].
    pub fn send_bytes_to(&self, to: &PeerId, bytes: Vec<u8>) -> Result<(), SendError> {
        submit(&self.ctx, Some(to), Payload::Bytes(bytes))
    }

    /// Sends `msg` (as JSON) to every other peer on the volatile channel, for latest-value data (cursors,
    /// positions, a stroke being drawn): unordered, never retransmitted, never stored or replayed, and not
    /// delivered back to this peer. The host stamps the sender and relays at most `P2pConfig::volatile_rate`
    /// messages a second from each client (the excess is dropped and counted in its `volatile_dropped`).
    /// Receivers read it with [`on_volatile`](Self::on_volatile) or [`use_p2p_volatile`]. `Ok` means it was
    /// handed to the channel, not that it arrived. Errors: [`SendError::NotConnected`] while this peer is not
    /// connected (nothing waits for a link), [`SendError::TooLarge`] over
    /// [`MAX_VOLATILE_BYTES`](crate::volatile::MAX_VOLATILE_BYTES) of JSON (16 KiB: never chunked),
    /// [`SendError::Closed`], [`SendError::Serialize`].
    pub fn send_volatile(&self, msg: T) -> Result<(), SendError> {
        let payload = serde_json::to_value(&msg).map_err(|err| SendError::Serialize(err.to_string()))?;
        submit_volatile(&self.ctx, Payload::Json(payload))
    }

    /// [`send_volatile`](Self::send_volatile) with bytes (at most 16 KiB); read with
    /// [`on_volatile_bytes`](Self::on_volatile_bytes).
    pub fn send_volatile_bytes(&self, bytes: Vec<u8>) -> Result<(), SendError> {
        submit_volatile(&self.ctx, Payload::Bytes(bytes))
    }

    /// Calls `f` for every volatile JSON message from another peer that decodes as `T` (with the sender the
    /// host stamped), from now on while this component lives; others count in [`P2pVolatile::decode_errors`].
    /// A no-op during SSR.
    pub fn on_volatile(&self, f: impl Fn(Volatile<T>) + 'static) {
        VolatileView::<T>::of(self.ctx, Codec::Json).listen(f);
    }

    /// Calls `f` for every volatile binary message from another peer, from now on while this component lives.
    pub fn on_volatile_bytes(&self, f: impl Fn(Volatile<Vec<u8>>) + 'static) {
        VolatileView::<Vec<u8>>::of(self.ctx, Codec::Raw).listen(f);
    }

    /// Calls `f` for every direct message to this peer (`send_to`) that decodes as `T`, as it arrives: in the
    /// order the host sent it relative to room messages (before `direct_messages` changes), from now on while
    /// this component lives. A no-op during SSR.
    pub fn on_direct(&self, f: impl Fn(Direct<T>) + 'static) {
        #[cfg(feature = "hydrate")]
        self.ctx.direct_listeners.add(move |message| {
            codec::directs::<T>(Codec::Json, std::slice::from_ref(&message)).into_iter().for_each(&f);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = f;
    }

    /// Leaves the room: closes the links and the signaling socket; `state` becomes `Closed` and `send`
    /// answers [`SendError::Closed`] until [`reconnect`](Self::reconnect). Unsent messages stay in this
    /// tab's outbox. A no-op during SSR.
    pub fn close(&self) {
        self.ctx.control(Control::Close);
    }

    /// Leaves the room and joins it again with a fresh join ticket (after [`close`](Self::close), after a
    /// fatal error, or to start over): every signal restarts from its initial value and the outbox is
    /// resent. A no-op during SSR.
    pub fn reconnect(&self) {
        self.ctx.control(Control::Reconnect);
    }

    /// Calls `f` for every message received from now on (while this component lives), decoded once (messages
    /// that do not decode are counted in `decode_errors` instead). A no-op during SSR.
    pub fn on_message(&self, f: impl Fn(Received<T>) + 'static) {
        self.view.listen(f);
    }
}

/// The room of the nearest enclosing `<P2pFrame>`, with messages typed as `T`.
///
/// # Panics
/// When called outside a `<P2pFrame>` (a programming error, caught on first render); use [`try_use_p2p`]
/// in components that may be rendered outside one.
pub fn use_p2p<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static>() -> P2p<T> {
    try_use_p2p().expect("use_p2p() must be called inside <P2pFrame>")
}

/// The room of the nearest enclosing `<P2pFrame>`, or `None` outside one.
pub fn try_use_p2p<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static>() -> Option<P2p<T>> {
    let ctx = use_context::<P2pContext>()?;
    let view = TypedView::<T>::of(ctx, Codec::Json);
    let status = P2pStatus::of(ctx);
    Some(P2p {
        state: status.state,
        peers: status.peers,
        role: status.role,
        is_host: status.is_host,
        peer_id: status.peer_id,
        host_peer_id: status.host_peer_id,
        signaling_open: status.signaling_open,
        error: status.error,
        messages: view.messages(),
        decode_errors: view.decode_errors(),
        decode_failures: view.decode_failures(),
        missed_messages: status.missed_messages,
        dropped_messages: status.dropped_messages,
        volatile_dropped: status.volatile_dropped,
        direct_messages: Signal::derive(move || ctx.directs.with(|list| codec::directs(Codec::Json, list))),
        send_failures: status.send_failures,
        forgeries: status.forgeries,
        ctx,
        view,
    })
}
