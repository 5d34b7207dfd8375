//! Binary messages for components inside a `<P2pFrame>` (compiled on both sides; a no-op during SSR):
//! [`use_p2p_binary::<T>()`](use_p2p_binary) sends and reads `T` as postcard, [`use_p2p_bytes`] raw bytes. Both
//! travel the same ordered, exactly-once path as JSON messages (outbox, host order, history, replay), in
//! chunks when long; connection state and the JSON messages stay `use_p2p`'s.

use super::codec::{self, Codec, Direct};
use super::log::{DecodeFailure, Received};
use super::typed::TypedView;
use super::{submit, P2pContext, SendError};
use crate::delivery::Payload;
use crate::protocol::PeerId;
use leptos::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

/// The room's binary messages, as postcard-encoded `T`.
pub struct P2pBinary<T: Send + Sync + 'static> {
    /// Binary messages in the session order (the same on every peer), each decoded once on arrival. Binary
    /// messages that are not a postcard `T` are counted in [`decode_errors`](Self::decode_errors).
    pub messages: Signal<Vec<Received<T>>>,
    /// How many binary messages did not decode as `T`.
    pub decode_errors: Signal<u64>,
    /// The last few of those, oldest first, with sender and postcard's reason.
    pub decode_failures: Signal<Vec<DecodeFailure>>,
    /// Binary messages sent to this peer only that decode as `T`, oldest first.
    pub direct_messages: Signal<Vec<Direct<T>>>,
    ctx: P2pContext,
    view: TypedView<T>,
}

impl<T: Send + Sync + 'static> Clone for P2pBinary<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: Send + Sync + 'static> Copy for P2pBinary<T> {}

impl<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static> P2pBinary<T> {
    /// Sends `msg`, written with postcard, to every peer: `P2p::send`'s guarantees and errors
    /// ([`SendError::TooLarge`] counts the postcard bytes).
    pub fn send(&self, msg: &T) -> Result<(), SendError> {
        let bytes = codec::encode_postcard(msg).map_err(SendError::Serialize)?;
        submit(&self.ctx, None, Payload::Bytes(bytes))
    }

    /// Sends `msg`, written with postcard, to peer `to` only: `P2p::send_to`'s guarantees and errors.
    pub fn send_to(&self, to: &PeerId, msg: &T) -> Result<(), SendError> {
        let bytes = codec::encode_postcard(msg).map_err(SendError::Serialize)?;
        submit(&self.ctx, Some(to), Payload::Bytes(bytes))
    }

    /// Calls `f` for every binary message received from now on that decodes as `T` (while this component
    /// lives). A no-op during SSR.
    pub fn on_message(&self, f: impl Fn(Received<T>) + 'static) {
        self.view.listen(f);
    }
}

/// The room's binary messages as raw bytes.
#[derive(Clone, Copy)]
pub struct P2pBytes {
    /// Binary messages in the session order, the same on every peer.
    pub messages: Signal<Vec<Received<Vec<u8>>>>,
    /// Binary messages sent to this peer only, oldest first.
    pub direct_messages: Signal<Vec<Direct<Vec<u8>>>>,
    ctx: P2pContext,
    view: TypedView<Vec<u8>>,
}

impl P2pBytes {
    /// Sends `bytes` to every peer (as `P2p::send_bytes`).
    pub fn send(&self, bytes: Vec<u8>) -> Result<(), SendError> {
        submit(&self.ctx, None, Payload::Bytes(bytes))
    }

    /// Sends `bytes` to peer `to` only (as `P2p::send_bytes_to`).
    pub fn send_to(&self, to: &PeerId, bytes: Vec<u8>) -> Result<(), SendError> {
        submit(&self.ctx, Some(to), Payload::Bytes(bytes))
    }

    /// Calls `f` for every binary message received from now on (while this component lives). A no-op
    /// during SSR.
    pub fn on_message(&self, f: impl Fn(Received<Vec<u8>>) + 'static) {
        self.view.listen(f);
    }
}

/// The room's binary messages as postcard `T`, in the nearest enclosing `<P2pFrame>`.
///
/// # Panics
/// Outside a `<P2pFrame>` (use [`try_use_p2p_binary`] where that may happen).
pub fn use_p2p_binary<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static>() -> P2pBinary<T> {
    try_use_p2p_binary().expect("use_p2p_binary() must be called inside <P2pFrame>")
}

/// The room's binary messages as postcard `T`, or `None` outside a `<P2pFrame>`.
pub fn try_use_p2p_binary<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static>() -> Option<P2pBinary<T>> {
    let ctx = use_context::<P2pContext>()?;
    let view = TypedView::<T>::of(ctx, Codec::Postcard);
    Some(P2pBinary {
        messages: view.messages(),
        decode_errors: view.decode_errors(),
        decode_failures: view.decode_failures(),
        direct_messages: Signal::derive(move || ctx.directs.with(|list| codec::directs(Codec::Postcard, list))),
        ctx,
        view,
    })
}

/// The room's binary messages as raw bytes, in the nearest enclosing `<P2pFrame>`.
///
/// # Panics
/// Outside a `<P2pFrame>`.
pub fn use_p2p_bytes() -> P2pBytes {
    let ctx = use_context::<P2pContext>().expect("use_p2p_bytes() must be called inside <P2pFrame>");
    let view = TypedView::<Vec<u8>>::of(ctx, Codec::Raw);
    P2pBytes {
        messages: view.messages(),
        direct_messages: Signal::derive(move || ctx.directs.with(|list| codec::directs(Codec::Raw, list))),
        ctx,
        view,
    }
}
