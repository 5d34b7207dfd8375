//! Callback lists of a frame (browser only): the `on_message`, `on_volatile` and `on_direct` listeners. Each
//! lives as long as the component that added it (removed on its cleanup), and is called with every event from
//! then on, in arrival order; a listener may add or remove listeners while it runs.

use leptos::prelude::*;
use std::rc::Rc;

/// The listeners of one kind: the last id given, and each listener with its id (its cleanup removes it by id).
type List<E> = (u64, Vec<(u64, Rc<dyn Fn(E)>)>);

/// One kind of listener of a frame, called with `E` (owned by the frame: `Copy`).
pub(crate) struct Listeners<E: 'static>(StoredValue<List<E>, LocalStorage>);

impl<E: 'static> Clone for Listeners<E> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<E: 'static> Copy for Listeners<E> {}

impl<E: Clone + 'static> Listeners<E> {
    /// An empty list, owned by the current reactive owner (the frame).
    pub(crate) fn new() -> Self {
        Listeners(StoredValue::new_local((0, Vec::new())))
    }

    /// Adds `f` until the calling component's cleanup.
    pub(crate) fn add(&self, f: impl Fn(E) + 'static) {
        let list = self.0;
        let id = list.try_update_value(|(next, list)| {
            *next += 1;
            list.push((*next, Rc::new(f) as Rc<dyn Fn(E)>));
            *next
        });
        on_cleanup(move || {
            list.try_update_value(|(_, list)| list.retain(|(i, _)| Some(*i) != id));
        });
    }

    /// Calls every listener with `event` (the list as it was when the event came).
    pub(crate) fn notify(&self, event: &E) {
        let listeners = self.0.try_with_value(|(_, list)| list.clone()).unwrap_or_default();
        for (_, listener) in listeners {
            listener(event.clone());
        }
    }
}
