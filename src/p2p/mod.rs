//! The p2p-streams toolkit: everything a Leptos app needs to open WebRTC rooms.
//!
//! - [`protocol`], [`channel`], [`token`], [`config`], [`hub`], [`delivery`], [`early`]: shared by server and
//!   browser.
//! - [`decode`]: the browser's hand-written decoders of those frames (shared, so native tests compare them).
//! - `stats`: which route a link took, from its `getStats()` rows (pure, for the browser driver).
//! - `server` (feature `ssr`): the signaling server, session registry and session stores.
//! - `client` (feature `hydrate`): the browser driver (signaling socket, peer links, host relay, heartbeat).
//! - [`frame`] and [`hooks`]: `<P2pFrame>` and [`use_p2p`], compiled on both sides (no-ops during SSR).
#![warn(missing_docs)]

pub mod channel;
pub mod config;
pub mod decode;
pub mod delivery;
pub mod early;
pub mod frame;
pub mod hooks;
pub mod hub;
pub mod protocol;
#[cfg(any(test, feature = "hydrate"))]
mod stats;
pub mod ticket;
pub mod token;

/// How to add p2p-streams to an existing Leptos app (every code block here is a compiled doctest).
#[cfg(feature = "ssr")]
#[doc = include_str!("../../docs/embedding.md")]
pub mod embedding {}

#[cfg(feature = "hydrate")]
pub mod client;
#[cfg(feature = "ssr")]
pub mod server;

pub use config::{IceServer, IceTransportPolicy, P2pConfig};
pub use frame::P2pFrame;
pub use hooks::{use_p2p, P2p, P2pState, Received};
pub use protocol::{LinkState, PeerId, PeerStatus, Role, Route, SessionId};
#[cfg(feature = "ssr")]
pub use ticket::JoinPolicy;
pub use ticket::{issue_join_token, JoinTicket, ServerIceServers};
