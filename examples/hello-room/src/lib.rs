//! hello-room: one p2p-streams room in a fully hydrated Leptos app.
//!
//! - [`app`]: the page (the room is [`app::Room`], a handful of lines) and the HTML shell.
//! - `policy` (server only): who may join, as whom.
//! - [`hydrate`]: the browser entry point (the whole page hydrates; no islands).

pub mod app;
#[cfg(feature = "ssr")]
pub mod policy;

/// The browser entry point: hydrates the whole server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
