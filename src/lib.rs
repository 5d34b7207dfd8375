//! p2p-streams: one-to-many WebRTC rooms for Leptos.
//!
//! Layout (each module's own header says what it owns and on which side it runs):
//! - [`p2p`]: the reusable toolkit. `protocol` and `token` are shared types; `server` is the signaling
//!   server (feature `ssr`); `client` drives WebRTC in the browser (feature `hydrate`); `frame` and `hooks`
//!   are the Leptos API (`<P2pFrame>`, [`p2p::use_p2p`]) with the same signature on both sides.
//! - [`app`]: the demo application shell and routes; [`rooms`]: the demo rooms, built only on the public
//!   toolkit API; [`identity`]: the demo's sign-in cookie and join policy; `config` (server only): flags
//!   and environment of the binary.
//!
//! In the browser, `hydrate` (feature `hydrate`) is the WASM entry point; the pages are islands (see there).
#![recursion_limit = "256"]

pub mod admin;
pub mod app;
#[cfg(feature = "ssr")]
pub mod config;
pub mod identity;
pub mod p2p;
#[cfg(feature = "hydrate")]
pub mod refresh;
pub mod rooms;
#[cfg(feature = "ssr")]
pub mod site;

/// Browser entry point, called once the wasm is loaded. The pages are rendered on the server and only their
/// islands (`#[island]`: the rooms, the lobby's live list, the inspector) hydrate: the island script that
/// `HydrationScripts` puts into the page calls each island's own entry point after this one. Lazy islands
/// (`#[island(lazy)]`) fetch their wasm chunk first (`cargo leptos build --split`).
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
