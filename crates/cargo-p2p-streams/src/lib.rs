//! The p2p-streams generators (native, build tool only), behind the `cargo p2p-streams` command:
//!
//! - [`install`]: wires the toolkit into a Leptos + axum app (dependency and features, `src/p2p/`, the
//!   `P2pServer` in `main.rs`, the routes marker);
//! - [`room`]: generates a room component and its Playwright spec and registers them;
//! - [`name`], [`marker`], [`plan`]: room names, marker-comment insertion, and all-or-nothing writes, shared
//!   with the demo's own `cargo xtask new-room`;
//! - [`manifest`], [`wiring`]: the app's `Cargo.toml` and `src/main.rs` edits.

pub mod install;
pub mod manifest;
pub mod marker;
pub mod name;
pub mod plan;
pub mod room;
pub mod wiring;
