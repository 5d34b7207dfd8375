//! The p2p-streams demo: a lobby, chat rooms and a shared whiteboard, built on the p2p-streams toolkit
//! (`crates/p2p-streams`, the library `p2p_streams`) through its public API only, as any Leptos app would.
//!
//! Layout (each module's own header says what it owns and on which side it runs):
//! - [`app`]: the demo application shell and routes; [`rooms`]: the demo rooms; [`identity`]: the demo's
//!   sign-in cookie (sealed with its own key) and join policy; [`admin`]: the `/admin` inspector; [`decimal`]:
//!   numbers with one decimal without the exact float formatter; `refresh`
//!   (browser only): an island's server data kept fresh; `config` and `site` (server only): flags and
//!   environment of the binary, and how it serves the built site.
//!
//! In the browser, `hydrate` (feature `hydrate`) is the WASM entry point; the pages are islands (see there).
#![recursion_limit = "256"]

pub mod admin;
pub mod app;
#[cfg(feature = "ssr")]
pub mod config;
pub mod decimal;
pub mod identity;
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
