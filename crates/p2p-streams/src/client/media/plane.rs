//! Media's entry points for the browser driver (`hydrate` only): the one table of functions through which the
//! driver reaches this module (see `client/extension.rs`).

use super::super::{Inner, WeakShared};
use super::LinkMedia;
use crate::hooks::MediaRequest;
use crate::media::MediaEnvelope;
use crate::protocol::PeerId;
use web_sys::RtcPeerConnection;

/// The driver's entry points into media. The driver reaches them only through the [`PLANE`] that
/// `use_p2p_media` hands it, so every function here is reachable only from the components that call the hook,
/// and `cargo leptos build --split` moves them into those components' lazy chunks: a page without media does
/// not download them.
pub(crate) struct MediaPlane {
    /// One request of the app (`AppSend::Media`).
    pub(crate) request: fn(&mut Inner, MediaRequest),
    /// A media frame on the link to a peer.
    pub(crate) on_frame: fn(&mut Inner, PeerId, MediaEnvelope),
    /// The media half of a new link (its `track` and `negotiationneeded` handlers).
    pub(crate) attach: fn(&RtcPeerConnection, &PeerId, u64, &WeakShared, bool) -> LinkMedia,
    /// A link's data channel opened.
    pub(crate) link_open: fn(&mut Inner, PeerId),
    /// Host: a client's link is gone.
    pub(crate) peer_gone: fn(&mut Inner, &PeerId),
    /// This peer became host, or a client of a new host.
    pub(crate) new_role: fn(&mut Inner),
    /// Client: the link to the host is gone.
    pub(crate) host_gone: fn(&mut Inner),
    /// The driver's heartbeat tick (the host measures its uplink).
    pub(crate) tick: fn(&mut Inner),
}

/// Media, for `use_p2p_media` to turn on (`AppSend::Enable`).
pub(crate) static PLANE: MediaPlane = MediaPlane {
    request: Inner::media_request,
    on_frame: Inner::media_on_frame,
    attach: LinkMedia::attach,
    link_open: Inner::media_link_open,
    peer_gone: Inner::media_peer_gone,
    new_role: Inner::media_new_role,
    host_gone: Inner::media_host_gone,
    tick: Inner::media_measure_uplink,
};
