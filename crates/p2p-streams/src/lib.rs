//! p2p-streams: one-to-many WebRTC rooms for Leptos 0.8 apps. Wrap a room's UI in [`P2pFrame`], read and send
//! with [`use_p2p`]; the server side (feature `ssr`) is one `P2pServer`: a signaling route that
//! finds each session's host and passes offers, answers and candidates between its peers. Messages travel
//! browser to browser over WebRTC data channels, through the session's host.
//!
//! # Features
//!
//! No feature is on by default. Enable them from the app's own `ssr` and `hydrate` features, the usual Leptos
//! split (`ssr = ["p2p-streams/ssr", ...]`, `hydrate = ["p2p-streams/hydrate", ...]`):
//!
//! | Feature   | Side    | What it adds |
//! |-----------|---------|--------------|
//! | `ssr`     | server  | `server` (the signaling server, `P2pServer`, session stores, metrics, the embedded STUN/TURN server, TURN REST credentials), `JoinPolicy` / `JoinRefusal`, join ticket issuing, server-side rendering of the frame (which issues the page's join ticket in-process; turns on `leptos/ssr`), and the `embedding` guide |
//! | `hydrate` | browser | `client` (the WebRTC driver) and the frame's hydration (turns on `leptos/hydrate`); build it for `wasm32-unknown-unknown` |
//!
//! Items that need a feature are marked with it in this documentation, which is built with `ssr` (docs.rs
//! does not build the wasm32-only `hydrate` side: `cargo doc --features hydrate --target
//! wasm32-unknown-unknown` documents it locally).
//!
//! The crate works in fully hydrated apps and in island apps alike: it does not turn on Leptos's `islands`
//! feature (an app that uses islands enables it on its own `leptos` dependency).
//!
//! Modules:
//! - [`protocol`], [`channel`], [`chunk`], [`token`], [`config`], [`hub`], [`delivery`], [`volatile`],
//!   [`early`], [`file`](mod@file), [`media`]: shared by server and browser.
//! - [`use_p2p_media`], [`P2pVideo`], [`P2pAudio`]: published camera, microphone and screen streams, forwarded
//!   by the host to the whole room.
//! - [`decode`]: the browser's hand-written decoders of those frames (shared, so native tests compare them).
//! - `stats`: which route a link took, from its `getStats()` rows (pure, for the browser driver).
//! - `server` (feature `ssr`): the signaling server, session registry and session stores.
//! - `client` (feature `hydrate`): the browser driver (signaling socket, peer links, host relay, heartbeat),
//!   and `client::call_server_fn`, the one-`fetch` server-function call the frame and apps' islands use.
//! - [`frame`] and [`hooks`]: `<P2pFrame>` and [`use_p2p`], compiled on both sides (no-ops during SSR).
//! - `embedding` (feature `ssr`, documentation only): how to add the toolkit to an existing Leptos app.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod channel;
pub mod chunk;
pub mod config;
pub mod decode;
pub mod delivery;
pub mod early;
pub mod file;
pub mod frame;
pub mod hooks;
pub mod hub;
pub mod media;
#[cfg(feature = "ssr")]
#[cfg_attr(docsrs, doc(cfg(feature = "ssr")))]
pub mod policy;
pub mod protocol;
#[cfg(any(test, feature = "hydrate"))]
mod stats;
pub mod ticket;
pub mod token;
pub mod volatile;

/// How to add p2p-streams to an existing Leptos app (every code block here is a compiled doctest).
#[cfg(feature = "ssr")]
#[cfg_attr(docsrs, doc(cfg(feature = "ssr")))]
#[doc = include_str!("../docs/embedding.md")]
pub mod embedding {}

#[cfg(feature = "hydrate")]
#[cfg_attr(docsrs, doc(cfg(feature = "hydrate")))]
pub mod client;
#[cfg(feature = "ssr")]
#[cfg_attr(docsrs, doc(cfg(feature = "ssr")))]
pub mod server;

/// The attribute for implementing [`JoinPolicy`] (re-exported, so apps need no `async-trait` dependency).
#[cfg(feature = "ssr")]
#[cfg_attr(docsrs, doc(cfg(feature = "ssr")))]
pub use async_trait::async_trait;
pub use config::{IceServer, IceTransportPolicy, P2pConfig, VolatileRate};
pub use delivery::Forgery;
pub use frame::P2pFrame;
#[cfg(feature = "hydrate")]
#[cfg_attr(docsrs, doc(cfg(feature = "hydrate")))]
pub use hooks::{camera, microphone, screen};
pub use hooks::{
    try_use_p2p, try_use_p2p_binary, try_use_p2p_status, try_use_p2p_volatile, use_p2p, use_p2p_binary, use_p2p_bytes,
    use_p2p_status, use_p2p_volatile, DecodeFailure, Direct, P2p, P2pBinary, P2pBytes, P2pState, P2pStatus,
    P2pVolatile, Received, SendError, SendFailure, Volatile,
};
pub use hooks::{use_p2p_media, MediaError, MediaHandle, P2pAudio, P2pMedia, P2pVideo, RoomStream};
pub use media::{MediaKind, MediaQuality, StreamInfo};
#[cfg(feature = "ssr")]
#[cfg_attr(docsrs, doc(cfg(feature = "ssr")))]
pub use policy::{JoinPolicy, JoinRefusal};
pub use protocol::{LinkState, PeerId, PeerStatus, Role, Route, SessionId};
#[cfg(feature = "ssr")]
#[cfg_attr(docsrs, doc(cfg(feature = "ssr")))]
pub use server::P2pServer;
pub use ticket::{issue_join_token, JoinTicket};
