//! The room's state without its messages (both sides): [`use_p2p_status`] for views that show how the room is
//! doing (status pills, peer lists, banners) and send nothing, so they need no message type. A page whose
//! only typed room is `P2p<ChatMessage>` then compiles the typed message code once, for `ChatMessage`, instead
//! of once more for whatever type its status views would have had to pick.

use super::context::P2pContext;
use super::{P2pState, SendFailure};
use crate::delivery::Forgery;
use crate::protocol::{PeerId, PeerStatus, Role};
use leptos::prelude::*;

/// The state of the room of the nearest enclosing `<P2pFrame>`: the same signals as [`P2p`](super::P2p)'s
/// fields of the same names.
#[derive(Clone, Copy)]
pub struct P2pStatus {
    /// This peer's connection state.
    pub state: Signal<P2pState>,
    /// Every peer of the session with its state, host first.
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
    /// How many messages this peer missed that the host could no longer supply (history gaps), in total.
    pub missed_messages: Signal<u64>,
    /// Host: how many malformed, oversized or misdirected data-channel messages were dropped.
    pub dropped_messages: Signal<u64>,
    /// Host: how many volatile messages from clients it dropped over `P2pConfig::volatile_rate`.
    pub volatile_dropped: Signal<u64>,
    /// This peer's direct messages the host could not deliver, oldest first.
    pub send_failures: Signal<Vec<SendFailure>>,
    /// History entries this peer refused as forged, oldest first.
    pub forgeries: Signal<Vec<Forgery>>,
}

impl P2pStatus {
    /// The signals of `ctx`.
    pub(super) fn of(ctx: P2pContext) -> Self {
        P2pStatus {
            state: ctx.state.into(),
            peers: ctx.peers.into(),
            role: ctx.role.into(),
            is_host: Signal::derive(move || ctx.role.get() == Some(Role::Host)),
            peer_id: ctx.peer_id.into(),
            host_peer_id: ctx.host.into(),
            signaling_open: ctx.signaling_open.into(),
            error: ctx.error.into(),
            missed_messages: ctx.missed.into(),
            dropped_messages: ctx.dropped.into(),
            volatile_dropped: ctx.volatile_dropped.into(),
            send_failures: ctx.send_failures.into(),
            forgeries: ctx.forgeries.into(),
        }
    }
}

/// The state of the room of the nearest enclosing `<P2pFrame>`.
///
/// # Panics
/// Outside a `<P2pFrame>` (use [`try_use_p2p_status`] where that can happen).
pub fn use_p2p_status() -> P2pStatus {
    try_use_p2p_status().expect("use_p2p_status() must be called inside <P2pFrame>")
}

/// The state of the room of the nearest enclosing `<P2pFrame>`, or `None` outside one.
pub fn try_use_p2p_status() -> Option<P2pStatus> {
    use_context::<P2pContext>().map(P2pStatus::of)
}
