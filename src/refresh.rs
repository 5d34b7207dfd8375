//! Keeping an island's server data fresh (`hydrate` only: the requests run in the browser). The server renders
//! an island with a first answer of a server function, passed in its props; in the browser [`every`] then asks
//! again every few seconds with one `fetch` (`p2p_streams::client::call_server_fn`) and the island shows each new
//! answer in place. The lobby's room list and the inspector use it.

use leptos::prelude::*;
use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

/// Runs `fetch` every `period` while the current reactive owner (the island) lives, one call at a time, and gives
/// each result to `apply`; stops for good once `apply` returns `false`.
pub fn every<T, Fut>(period: Duration, fetch: impl Fn() -> Fut + 'static, apply: impl Fn(T) -> bool + 'static)
where
    T: 'static,
    Fut: Future<Output = T> + 'static,
{
    // `busy`: a call is under way (a slow server does not pile calls up); `done`: `apply` said stop.
    let (busy, done) = (Rc::new(Cell::new(false)), Rc::new(Cell::new(false)));
    let (fetch, apply) = (Rc::new(fetch), Rc::new(apply));
    let tick = move || {
        if busy.get() || done.get() {
            return;
        }
        busy.set(true);
        let (busy, done, fetch, apply) = (Rc::clone(&busy), Rc::clone(&done), Rc::clone(&fetch), Rc::clone(&apply));
        leptos::task::spawn_local(async move {
            let result = fetch().await;
            busy.set(false);
            if !apply(result) {
                done.set(true);
            }
        });
    };
    if let Ok(handle) = set_interval_with_handle(tick, period) {
        on_cleanup(move || handle.clear());
    }
}
