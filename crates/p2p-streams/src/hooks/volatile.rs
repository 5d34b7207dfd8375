//! Volatile messages for components inside a `<P2pFrame>` (compiled on both sides; a no-op during SSR):
//! `P2p::send_volatile` / `P2p::on_volatile`, and [`use_p2p_volatile::<T>()`](use_p2p_volatile) for
//! latest-value data of another type than the room's messages, with the latest message of every peer as a
//! signal. What travels and what is guaranteed (nothing: no order, no retry, no replay) is
//! `crate::volatile`'s.

use super::codec::Codec;
use super::{P2pContext, P2pState, SendError};
use crate::delivery::Payload;
use crate::protocol::PeerId;
use crate::volatile::MAX_VOLATILE_BYTES;
use leptos::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

/// A volatile message received from another peer, decoded as `T`.
#[derive(Clone, Debug, PartialEq)]
pub struct Volatile<T> {
    /// The sender, stamped by the host from the link the message came on (never from the payload).
    pub from: PeerId,
    /// The message.
    pub data: T,
}

/// Keeps `message` as its sender's latest in `list` (one entry per sender, in order of first arrival).
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub(crate) fn keep_latest<T>(list: &mut Vec<Volatile<T>>, message: Volatile<T>) {
    match list.iter_mut().find(|m| m.from == message.from) {
        Some(slot) => *slot = message,
        None => list.push(message),
    }
}

/// Checks and hands one volatile message to the driver: [`SendError`]s are decided here. Never queued: a
/// peer that is not connected cannot send one.
pub(crate) fn submit_volatile(ctx: &P2pContext, payload: Payload) -> Result<(), SendError> {
    match ctx.state.try_get_untracked() {
        None | Some(P2pState::Closed) => return Err(SendError::Closed),
        Some(P2pState::Connected) => {}
        Some(_) => return Err(SendError::NotConnected),
    }
    let size = payload.size();
    if size > MAX_VOLATILE_BYTES {
        return Err(SendError::TooLarge { size, limit: MAX_VOLATILE_BYTES });
    }
    if ctx.send_volatile_raw(payload) {
        Ok(())
    } else {
        Err(SendError::NotConnected)
    }
}

/// The volatile messages of one frame decoded as `T`: the latest per peer, the decode failures, and the
/// listeners of `on_message`. One per frame, message type and codec, owned by the frame.
pub(crate) struct VolatileView<T: Send + Sync + 'static> {
    latest: RwSignal<Vec<Volatile<T>>>,
    decode_errors: RwSignal<u64>,
    #[cfg(feature = "hydrate")]
    listeners: super::listeners::Listeners<Volatile<T>>,
}

impl<T: Send + Sync + 'static> Clone for VolatileView<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: Send + Sync + 'static> Copy for VolatileView<T> {}

impl<T: DeserializeOwned + Clone + Send + Sync + 'static> VolatileView<T> {
    /// The frame's view of its volatile messages as `T` read with `codec` (nothing arrives during SSR).
    #[cfg(not(feature = "hydrate"))]
    pub(crate) fn of(_ctx: P2pContext, _codec: Codec) -> Self {
        VolatileView { latest: RwSignal::new(Vec::new()), decode_errors: RwSignal::new(0) }
    }

    /// The frame's view of its volatile messages as `T` read with `codec`: the existing one, or a new one
    /// fed by every volatile message from now on.
    #[cfg(feature = "hydrate")]
    pub(crate) fn of(ctx: P2pContext, codec: Codec) -> Self {
        use super::context::VolatileObserver;
        use std::any::TypeId;
        use std::rc::Rc;

        ctx.enable(crate::client::Extension::volatile());
        let key = (TypeId::of::<T>(), codec);
        let existing = ctx.volatile_views.try_with_value(|views| {
            views.iter().find(|(id, _)| *id == key).and_then(|(_, view)| view.downcast_ref::<Self>().copied())
        });
        if let Some(view) = existing.flatten() {
            return view;
        }
        let build = || VolatileView {
            latest: RwSignal::new(Vec::new()),
            decode_errors: RwSignal::new(0),
            listeners: super::listeners::Listeners::new(),
        };
        let view = match ctx.owner.try_with_value(|o| o.clone()).flatten() {
            Some(owner) => owner.with(build),
            None => build(),
        };
        let observer: VolatileObserver = Rc::new(move |message| {
            let Some(message) = message else {
                view.latest.try_set(Vec::new());
                view.decode_errors.try_set(0);
                return;
            };
            let data = match super::codec::decode_payload::<T>(codec, &message.payload) {
                Some(Ok(data)) => data,
                Some(Err(_)) => {
                    view.decode_errors.try_update(|n| *n += 1);
                    return;
                }
                None => return,
            };
            let received = Volatile { from: message.from.clone(), data };
            view.latest.try_update(|list| keep_latest(list, received.clone()));
            view.listeners.notify(&received);
        });
        ctx.volatile_observers.update_value(|o| o.push(observer));
        ctx.volatile_views.update_value(|views| views.push((key, Box::new(view))));
        view
    }

    /// The latest message of every peer still in the room (`peers`), in order of first arrival.
    pub(crate) fn latest(&self, ctx: P2pContext) -> Signal<Vec<Volatile<T>>> {
        let latest = self.latest;
        Signal::derive(move || {
            let present = |from: &PeerId| ctx.peers.with(|peers| peers.iter().any(|p| p.peer == *from));
            latest.with(|list| list.iter().filter(|m| present(&m.from)).cloned().collect())
        })
    }

    /// Calls `f` with every volatile message decoded as `T` while the calling component lives.
    pub(crate) fn listen(&self, f: impl Fn(Volatile<T>) + 'static) {
        #[cfg(feature = "hydrate")]
        self.listeners.add(f);
        #[cfg(not(feature = "hydrate"))]
        let _ = f;
    }
}

/// The room's volatile messages as JSON `T` (`use_p2p_volatile`).
pub struct P2pVolatile<T: Send + Sync + 'static> {
    /// The latest volatile message of every other peer still in the room, in order of first arrival (a
    /// peer's entry goes when it leaves `peers`). Emptied when the frame leaves its room.
    pub latest: Signal<Vec<Volatile<T>>>,
    /// How many volatile messages did not decode as `T`.
    pub decode_errors: Signal<u64>,
    /// Host: how many volatile messages from clients it dropped over `P2pConfig::volatile_rate`.
    pub dropped: Signal<u64>,
    ctx: P2pContext,
    view: VolatileView<T>,
}

impl<T: Send + Sync + 'static> Clone for P2pVolatile<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: Send + Sync + 'static> Copy for P2pVolatile<T> {}

impl<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static> P2pVolatile<T> {
    /// Sends `msg` (as JSON) to every other peer on the volatile channel: as `P2p::send_volatile`.
    pub fn send(&self, msg: &T) -> Result<(), SendError> {
        let payload = serde_json::to_value(msg).map_err(|err| SendError::Serialize(err.to_string()))?;
        submit_volatile(&self.ctx, Payload::Json(payload))
    }

    /// Calls `f` for every volatile message from another peer that decodes as `T`, from now on while this
    /// component lives. A no-op during SSR.
    pub fn on_message(&self, f: impl Fn(Volatile<T>) + 'static) {
        self.view.listen(f);
    }
}

/// The room's volatile messages as JSON `T`, in the nearest enclosing `<P2pFrame>`.
///
/// # Panics
/// Outside a `<P2pFrame>` (use [`try_use_p2p_volatile`] where that may happen).
pub fn use_p2p_volatile<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static>() -> P2pVolatile<T> {
    try_use_p2p_volatile().expect("use_p2p_volatile() must be called inside <P2pFrame>")
}

/// The room's volatile messages as JSON `T`, or `None` outside a `<P2pFrame>`.
pub fn try_use_p2p_volatile<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static>() -> Option<P2pVolatile<T>>
{
    let ctx = use_context::<P2pContext>()?;
    let view = VolatileView::<T>::of(ctx, Codec::Json);
    Some(P2pVolatile {
        latest: view.latest(ctx),
        decode_errors: view.decode_errors.into(),
        dropped: ctx.volatile_dropped.into(),
        ctx,
        view,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_list_keeps_one_message_per_sender_in_first_arrival_order() {
        let msg = |from: &str, data: u32| Volatile { from: PeerId(from.into()), data };
        let mut list = Vec::new();
        keep_latest(&mut list, msg("b", 1));
        keep_latest(&mut list, msg("a", 2));
        keep_latest(&mut list, msg("b", 3));
        assert_eq!(list, vec![msg("b", 3), msg("a", 2)]);
    }
}
