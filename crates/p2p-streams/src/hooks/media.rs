//! Published media for components inside a `<P2pFrame>` (compiled on both sides; publishing is browser only):
//! [`use_p2p_media`] lists the room's streams as [`RoomStream`]s (publisher, kind, tracks, muted, and the
//! `MediaStream` once it arrived here), publishes and unpublishes this peer's streams, mutes them and limits
//! their bitrate and resolution, and shows the host's media uplink. [`camera`], [`microphone`] and [`screen`]
//! get a stream from the browser (`getUserMedia` / `getDisplayMedia`); [`P2pVideo`](super::P2pVideo) and
//! [`P2pAudio`](super::P2pAudio) play one.
//!
//! Streams go through the host like messages: a client's stream to the host, which forwards its tracks to every
//! other client; the host's to every client. A peer that joins later gets every stream already published; when
//! the host leaves, every publisher's streams come back through the new host on their own.

use super::P2pContext;
#[cfg(feature = "hydrate")]
use crate::media::MediaKind;
use crate::media::{MediaQuality, Refusal, StreamInfo};
use leptos::prelude::*;

/// A `MediaStream` of the room (browser only; during SSR only its id exists). Cheap to clone; equal when the
/// stream ids are.
#[derive(Clone)]
pub struct MediaHandle {
    id: String,
    #[cfg(feature = "hydrate")]
    stream: send_wrapper::SendWrapper<web_sys::MediaStream>,
}

impl MediaHandle {
    /// Wraps a browser stream.
    #[cfg(feature = "hydrate")]
    pub fn new(stream: web_sys::MediaStream) -> Self {
        MediaHandle { id: stream.id(), stream: send_wrapper::SendWrapper::new(stream) }
    }

    /// The stream's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The browser stream (for a `<video>` of the app's own, or `getTracks()`).
    #[cfg(feature = "hydrate")]
    pub fn stream(&self) -> &web_sys::MediaStream {
        &self.stream
    }
}

impl PartialEq for MediaHandle {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl std::fmt::Debug for MediaHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaHandle").field("id", &self.id).finish()
    }
}

/// One published stream of the room, as this peer sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct RoomStream {
    /// Its id, publisher, kind, tracks and muted state (the host's announcement).
    pub info: StreamInfo,
    /// Published by this peer.
    pub local: bool,
    /// The media, once it arrived (always, for this peer's own streams).
    pub stream: Option<MediaHandle>,
}

/// What the app asks of the driver about media (`AppSend::Media`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum MediaRequest {
    /// Publish `stream` to the room.
    #[cfg(feature = "hydrate")]
    Publish {
        /// The stream.
        stream: web_sys::MediaStream,
        /// What it shows.
        kind: MediaKind,
    },
    /// Stop publishing stream `id`.
    Unpublish(String),
    /// Mute or unmute the audio of stream `id`.
    Mute {
        /// The stream.
        id: String,
        /// Muted.
        muted: bool,
    },
    /// Limit stream `id`'s bitrate and resolution.
    Quality {
        /// The stream.
        id: String,
        /// The limits.
        quality: MediaQuality,
    },
}

/// Why media could not be published or obtained.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The user or the browser gave no device or capture (permission denied, no camera, capture cancelled):
    /// the page's circumstances, not a failure of ours. `reason` is the browser's (`NotAllowedError: ...`).
    #[error("no {what}: {reason}")]
    Unavailable {
        /// `camera`, `microphone` or `screen`.
        what: &'static str,
        /// The browser's reason.
        reason: String,
    },
    /// The host will not forward the stream (the room is full of streams, or the id is taken).
    #[error("the host refused stream {id}: {reason}")]
    Refused {
        /// The stream's id.
        id: String,
        /// The host's reason.
        reason: Refusal,
    },
    /// The stream has no track to publish.
    #[error("the stream has no track")]
    NoTracks,
    /// The room is closed (`close()`, or the frame unmounted).
    #[error("the room is closed")]
    Closed,
    /// A browser media API is missing or failed unexpectedly: our failure (or a browser too old).
    #[error("browser media API failed: {0}")]
    Browser(String),
}

/// The room's media, in the nearest enclosing `<P2pFrame>`.
#[derive(Clone, Copy)]
pub struct P2pMedia {
    /// Every stream published in the room (this peer's included), in publication order.
    pub streams: Signal<Vec<RoomStream>>,
    /// The last media error (a refused publication), if any.
    pub error: Signal<Option<MediaError>>,
    /// Host: the bits per second it sends on all links' media (the sum of forwarded bitrates, measured every
    /// heartbeat); `None` on a client or before the first measurement.
    pub uplink_bps: Signal<Option<u64>>,
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    ctx: P2pContext,
}

impl P2pMedia {
    /// Publishes `stream` (from [`camera`], [`screen`], or any `MediaStream`) to the room as `kind`, and
    /// returns its id. It shows in [`streams`](Self::streams) at once (as `local`), and on the other peers once
    /// it reached them; if the host refuses it (over `P2pConfig::max_streams`), it leaves the list and
    /// [`error`](Self::error) says why. While this peer is not connected it waits for the link. Browser only.
    ///
    /// # Errors
    /// [`MediaError::Closed`] after `close()`, [`MediaError::NoTracks`] for an empty stream.
    #[cfg(feature = "hydrate")]
    pub fn publish(&self, stream: &web_sys::MediaStream, kind: MediaKind) -> Result<String, MediaError> {
        if self.ctx.state.get_untracked() == super::P2pState::Closed {
            return Err(MediaError::Closed);
        }
        if stream.get_tracks().length() == 0 {
            return Err(MediaError::NoTracks);
        }
        // `Clone::clone`: `stream.clone()` is the JS `MediaStream.clone()` (new tracks, new id).
        self.request(MediaRequest::Publish { stream: Clone::clone(stream), kind });
        Ok(stream.id())
    }

    /// Stops publishing stream `id` (its tracks keep running: stop them to release the device).
    pub fn unpublish(&self, id: &str) {
        self.request(MediaRequest::Unpublish(id.to_owned()));
    }

    /// Mutes (or unmutes) the audio of this peer's stream `id`, for everyone (`muted` in every `RoomStream`).
    pub fn set_muted(&self, id: &str, muted: bool) {
        self.request(MediaRequest::Mute { id: id.to_owned(), muted });
    }

    /// Limits the bitrate and resolution this peer sends stream `id` with (`RTCRtpSender.setParameters`).
    pub fn set_quality(&self, id: &str, quality: MediaQuality) {
        self.request(MediaRequest::Quality { id: id.to_owned(), quality });
    }

    fn request(&self, request: MediaRequest) {
        self.ctx.media_error.set(None);
        #[cfg(feature = "hydrate")]
        self.ctx.send_control(crate::client::AppSend::Media(request));
        #[cfg(not(feature = "hydrate"))]
        let _ = request;
    }
}

/// The room's media, in the nearest enclosing `<P2pFrame>`.
///
/// # Panics
/// Outside a `<P2pFrame>`.
pub fn use_p2p_media() -> P2pMedia {
    let ctx = use_context::<P2pContext>().expect("use_p2p_media() must be called inside <P2pFrame>");
    #[cfg(feature = "hydrate")]
    ctx.enable(crate::client::Extension::media());
    P2pMedia { streams: ctx.streams.into(), error: ctx.media_error.into(), uplink_bps: ctx.uplink.into(), ctx }
}

#[cfg(feature = "hydrate")]
pub use devices::{camera, microphone, screen};

#[cfg(feature = "hydrate")]
mod devices {
    use super::MediaError;
    use wasm_bindgen::{JsCast, JsValue};
    use web_sys::{DisplayMediaStreamConstraints, MediaStream, MediaStreamConstraints};

    fn describe(err: &JsValue) -> String {
        let field = |name: &str| js_sys::Reflect::get(err, &name.into()).ok().and_then(|v| v.as_string());
        match (field("name"), field("message")) {
            (Some(name), Some(message)) => format!("{name}: {message}"),
            _ => format!("{err:?}"),
        }
    }

    async fn ask(what: &'static str, promise: Result<js_sys::Promise, JsValue>) -> Result<MediaStream, MediaError> {
        let promise = promise.map_err(|err| MediaError::Browser(describe(&err)))?;
        let stream = wasm_bindgen_futures::JsFuture::from(promise)
            .await
            .map_err(|err| MediaError::Unavailable { what, reason: describe(&err) })?;
        stream.dyn_into().map_err(|err| MediaError::Browser(describe(&err)))
    }

    fn devices() -> Result<web_sys::MediaDevices, MediaError> {
        let window = web_sys::window().ok_or_else(|| MediaError::Browser("no window".into()))?;
        window.navigator().media_devices().map_err(|err| MediaError::Browser(describe(&err)))
    }

    /// The camera, with the microphone when `audio` (`getUserMedia`).
    ///
    /// # Errors
    /// [`MediaError::Unavailable`] when the user or browser refuses, [`MediaError::Browser`] without the API.
    pub async fn camera(audio: bool) -> Result<MediaStream, MediaError> {
        let constraints = MediaStreamConstraints::new();
        constraints.set_video(&JsValue::TRUE);
        constraints.set_audio(&JsValue::from_bool(audio));
        ask("camera", devices()?.get_user_media_with_constraints(&constraints)).await
    }

    /// The microphone alone (`getUserMedia`). Errors as [`camera`]'s.
    pub async fn microphone() -> Result<MediaStream, MediaError> {
        let constraints = MediaStreamConstraints::new();
        constraints.set_audio(&JsValue::TRUE);
        ask("microphone", devices()?.get_user_media_with_constraints(&constraints)).await
    }

    /// A screen, window or tab the user picks (`getDisplayMedia`). Errors as [`camera`]'s.
    pub async fn screen() -> Result<MediaStream, MediaError> {
        let constraints = DisplayMediaStreamConstraints::new();
        constraints.set_video(&JsValue::TRUE);
        ask("screen", devices()?.get_display_media_with_constraints(&constraints)).await
    }
}
