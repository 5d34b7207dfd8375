//! One frame's messages decoded as one message type: built the first time a component asks for `T`, owned by
//! the frame (so it outlives that component), fed by an observer that decodes each delivered message once.
//! During SSR there are no messages: the view is a set of empty signals.

use super::codec::Codec;
use super::log::{DecodeFailure, DecodeFailures, Received};
use super::P2pContext;
use leptos::prelude::*;
use serde::de::DeserializeOwned;

/// The typed messages and decode failures of one frame for one message type.
pub(crate) struct TypedView<T: Send + Sync + 'static> {
    messages: RwSignal<Vec<Received<T>>>,
    failures: RwSignal<DecodeFailures>,
    #[cfg(feature = "hydrate")]
    listeners: super::listeners::Listeners<Received<T>>,
}

impl<T: Send + Sync + 'static> Clone for TypedView<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: Send + Sync + 'static> Copy for TypedView<T> {}

impl<T: DeserializeOwned + Clone + Send + Sync + 'static> TypedView<T> {
    /// The view of `ctx`'s messages of `codec`'s kind as `T`: the frame's existing one, or a new one.
    #[cfg(not(feature = "hydrate"))]
    pub(crate) fn of(_ctx: P2pContext, _codec: Codec) -> Self {
        TypedView { messages: RwSignal::new(Vec::new()), failures: RwSignal::new(DecodeFailures::default()) }
    }

    /// The view of `ctx`'s messages as `T`: the frame's existing one, or a new one (filled from the messages
    /// the frame already has, then fed on every delivery).
    #[cfg(feature = "hydrate")]
    pub(crate) fn of(ctx: P2pContext, codec: Codec) -> Self {
        use super::context::{Observed, Observer};
        use std::any::TypeId;
        use std::rc::Rc;

        let key = (TypeId::of::<T>(), codec);
        let existing = ctx.views.try_with_value(|views| {
            views.iter().find(|(id, _)| *id == key).and_then(|(_, view)| view.downcast_ref::<Self>().copied())
        });
        if let Some(view) = existing.flatten() {
            return view;
        }
        let limit = ctx.history.get_value();
        let build = || {
            let mut failures = DecodeFailures::default();
            let mut messages = Vec::new();
            ctx.messages.with_untracked(|raw| {
                for message in raw {
                    super::log::file(codec, &mut messages, &mut failures, message, limit);
                }
            });
            TypedView {
                messages: RwSignal::new(messages),
                failures: RwSignal::new(failures),
                listeners: super::listeners::Listeners::new(),
            }
        };
        let owner = ctx.owner.try_with_value(|o| o.clone()).flatten();
        let view = match owner {
            Some(owner) => owner.with(build),
            None => build(),
        };
        let observer: Observer = Rc::new(move |observed: &Observed<'_>| match observed {
            Observed::Message(raw, fresh) => {
                let Some(mut failures) = view.failures.try_get_untracked() else { return };
                let before = failures.count;
                let decoded =
                    view.messages.try_update(|m| super::log::file(codec, m, &mut failures, raw, limit)).flatten();
                if failures.count != before {
                    view.failures.try_set(failures);
                }
                if let Some(received) = decoded.filter(|_| *fresh) {
                    view.listeners.notify(&received);
                }
            }
            Observed::Reset => {
                view.messages.try_set(Vec::new());
                view.failures.try_set(DecodeFailures::default());
            }
        });
        ctx.observers.update_value(|o| o.push(observer));
        ctx.views.update_value(|views| views.push((key, Box::new(view))));
        view
    }

    /// The messages, in the session order.
    pub(crate) fn messages(&self) -> Signal<Vec<Received<T>>> {
        self.messages.into()
    }

    /// How many messages did not decode.
    pub(crate) fn decode_errors(&self) -> Signal<u64> {
        let failures = self.failures;
        Signal::derive(move || failures.with(|f| f.count))
    }

    /// The last failures, oldest first.
    pub(crate) fn decode_failures(&self) -> Signal<Vec<DecodeFailure>> {
        let failures = self.failures;
        Signal::derive(move || failures.with(|f| f.recent.iter().cloned().collect()))
    }

    /// Calls `f` with every fresh message decoded as `T` while the calling component lives (browser only).
    pub(crate) fn listen(&self, f: impl Fn(Received<T>) + 'static) {
        #[cfg(feature = "hydrate")]
        self.listeners.add(f);
        #[cfg(not(feature = "hydrate"))]
        let _ = f;
    }
}
