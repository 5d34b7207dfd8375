//! `<P2pVideo>` and `<P2pAudio>`: play one of the room's streams (both sides; SSR renders the bare element,
//! the browser attaches the `MediaStream`). Autoplay rules: video plays muted (browsers let muted media start
//! without a gesture); audio starts muted with an unmute button, since unmuted playback needs the user's click.
//!
//! `<P2pVideo>` keeps `data-playing="true"` on its `<video>` while frames advance (the decoded frame count
//! grows between two checks 250 ms apart and the video has a size), `"false"` otherwise: a frozen or ended
//! stream shows as not playing. Attributes given to either component (`{..} data-testid="..."`) go on its root
//! element. Timers and the stream are released when the component unmounts.

use super::MediaHandle;
use leptos::prelude::*;

/// How often `<P2pVideo>` checks that frames advance.
#[cfg(feature = "hydrate")]
const CHECK_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Starts playback of `element`, ignoring a refusal (autoplay policy) or an interruption (a new stream).
#[cfg(feature = "hydrate")]
fn play(element: &web_sys::HtmlMediaElement) {
    if let Ok(promise) = element.play() {
        wasm_bindgen_futures::spawn_local(async move {
            let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        });
    }
}

/// Attaches `stream` to `element` whenever it changes (and detaches it on unmount).
#[cfg(feature = "hydrate")]
fn attach<E>(node: NodeRef<E>, stream: Signal<Option<MediaHandle>>)
where
    E: leptos::html::ElementType + 'static,
    E::Output: Clone + wasm_bindgen::JsCast + 'static,
{
    use wasm_bindgen::JsCast;
    let element = move || node.get().and_then(|e| e.dyn_into::<web_sys::HtmlMediaElement>().ok());
    Effect::new(move |_| {
        let stream = stream.get();
        let Some(el) = element() else { return };
        if el.src_object().map(|s| s.id()) != stream.as_ref().map(|s| s.id().to_owned()) {
            el.set_src_object(stream.as_ref().map(MediaHandle::stream));
            if stream.is_some() {
                play(&el);
            }
        }
    });
    on_cleanup(move || {
        if let Some(el) = node.get_untracked().and_then(|e| e.dyn_into::<web_sys::HtmlMediaElement>().ok()) {
            el.set_src_object(None);
        }
    });
}

/// A `<video>` playing `stream`, muted unless `sound` (keep the audio in a `<P2pAudio>`), with
/// `data-playing` telling whether frames advance.
#[component]
pub fn P2pVideo(
    /// The stream to play (`RoomStream::stream`); nothing while `None`.
    #[prop(into)]
    stream: Signal<Option<MediaHandle>>,
    /// Play the stream's sound too (default false: muted, so autoplay is allowed).
    #[prop(optional)]
    sound: bool,
) -> impl IntoView {
    let node = NodeRef::<leptos::html::Video>::new();
    let playing = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    {
        attach(node, stream);
        let last = std::cell::Cell::new(0u32);
        let check = move || {
            let Some(video) = node.get_untracked() else { return };
            let frames = video.get_video_playback_quality().total_video_frames();
            let advancing = frames > last.replace(frames) && video.video_width() > 0;
            if playing.get_untracked() != advancing {
                playing.set(advancing);
            }
        };
        if let Ok(handle) = set_interval_with_handle(check, CHECK_EVERY) {
            on_cleanup(move || handle.clear());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = stream;
    view! {
        <video node_ref=node autoplay=true playsinline=true muted=!sound prop:muted=!sound
            data-playing=move || playing.get().to_string()></video>
    }
}

/// An `<audio>` playing `stream`, muted until the user presses its button (autoplay rules), in a `<span>`.
#[component]
pub fn P2pAudio(
    /// The stream to play (`RoomStream::stream`); nothing while `None`.
    #[prop(into)]
    stream: Signal<Option<MediaHandle>>,
) -> impl IntoView {
    let node = NodeRef::<leptos::html::Audio>::new();
    let muted = RwSignal::new(true);
    #[cfg(feature = "hydrate")]
    attach(node, stream);
    #[cfg(not(feature = "hydrate"))]
    let _ = stream;
    let toggle = move |_| {
        muted.update(|m| *m = !*m);
        #[cfg(feature = "hydrate")]
        if let Some(audio) = node.get_untracked() {
            play(&audio);
        }
    };
    view! {
        <span class="p2p-audio" data-muted=move || muted.get().to_string()>
            <audio node_ref=node autoplay=true prop:muted=muted></audio>
            <button type="button" class="secondary" on:click=toggle>
                {move || if muted.get() { "Unmute" } else { "Mute" }}
            </button>
        </span>
    }
}
