//! The stage itself (both sides; capture and publishing run in the browser only): the publish buttons, the
//! local preview and one video per remote stream, all read from the toolkit's `use_p2p_media()`. Whether this
//! peer publishes its camera or screen is read back from the room's stream list (its own streams are `local`),
//! so a publication the host refused turns its button off again on its own.

use leptos::prelude::*;
use p2p_streams::{use_p2p_media, MediaKind, MediaQuality, P2pAudio, P2pMedia, P2pVideo, RoomStream};

/// This peer's stream of `kind`, if it publishes one.
fn own(media: P2pMedia, kind: MediaKind) -> Option<RoomStream> {
    media.streams.with(|list| list.iter().find(|s| s.local && s.info.kind == kind).cloned())
}

/// Publishes a new capture of `kind`, or unpublishes (and stops) the one this peer has.
fn toggle(media: P2pMedia, kind: MediaKind, busy: RwSignal<bool>, error: RwSignal<Option<String>>) {
    if let Some(current) = untrack(|| own(media, kind)) {
        media.unpublish(&current.info.id);
        #[cfg(feature = "hydrate")]
        if let Some(handle) = &current.stream {
            use wasm_bindgen::JsCast;
            let tracks = handle.stream().get_tracks();
            tracks.iter().filter_map(|t| t.dyn_into::<web_sys::MediaStreamTrack>().ok()).for_each(|t| t.stop());
        }
        return;
    }
    #[cfg(feature = "hydrate")]
    {
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let captured = match kind {
                MediaKind::Screen => p2p_streams::screen().await,
                _ => p2p_streams::camera(true).await,
            };
            let published = captured.and_then(|stream| media.publish(&stream, kind));
            if let Err(err) = published {
                error.set(Some(err.to_string()));
            }
            busy.set(false);
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (busy, error);
}

/// Whether stream `id` is muted now (the row of a stream stays while its mute state changes).
fn muted_now(media: P2pMedia, id: &str) -> bool {
    media.streams.with(|list| list.iter().any(|s| s.info.id == id && s.info.muted))
}

/// The publisher's quality presets: `full` (the browser's choice) and `low` (150 kbit/s, half the size).
fn quality(preset: &str) -> MediaQuality {
    match preset {
        "low" => MediaQuality { max_bitrate_bps: Some(150_000), scale_down_by: Some(2.0) },
        _ => MediaQuality::default(),
    }
}

/// Mute and quality controls of this peer's camera stream (`stage-mute`, `stage-quality`).
#[component]
fn OwnControls(media: P2pMedia) -> impl IntoView {
    let own_camera = move || own(media, MediaKind::Camera);
    let muted = move || own_camera().is_some_and(|s| s.info.muted);
    let mute = move |_| {
        if let Some(s) = untrack(own_camera) {
            media.set_muted(&s.info.id, !s.info.muted);
        }
    };
    let set_quality = move |ev: leptos::ev::Event| {
        if let Some(s) = untrack(own_camera) {
            media.set_quality(&s.info.id, quality(&event_target_value(&ev)));
        }
    };
    view! {
        <button type="button" class="secondary" data-testid="stage-mute" aria-pressed=move || muted().to_string()
            on:click=mute>
            {move || if muted() { "Unmute" } else { "Mute" }}
        </button>
        <label class="muted">
            "Quality "
            <select data-testid="stage-quality" on:change=set_quality>
                <option value="full" selected>"full"</option>
                <option value="low">"low (150 kbit/s, half size)"</option>
            </select>
        </label>
    }
}

/// Buttons, previews and the room's videos.
#[component]
pub fn StageMedia() -> impl IntoView {
    let media = use_p2p_media();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let camera_on = move || own(media, MediaKind::Camera).is_some();
    let screen_on = move || own(media, MediaKind::Screen).is_some();
    let self_stream = Signal::derive(move || own(media, MediaKind::Camera).and_then(|s| s.stream));
    let remote = move || {
        media.streams.with(|list| list.iter().filter(|s| !s.local && s.stream.is_some()).cloned().collect::<Vec<_>>())
    };
    let shown_error = move || error.get().or_else(|| media.error.get().map(|e| e.to_string()));
    let uplink = move || media.uplink_bps.get().map(|bps| format!("{} kbit/s", bps / 1000));

    view! {
        <div class="stage-tools">
            <button type="button" class="primary" data-testid="stage-publish-camera" disabled=busy
                aria-pressed=move || camera_on().to_string()
                on:click=move |_| toggle(media, MediaKind::Camera, busy, error)>
                {move || if camera_on() { "Stop camera" } else { "Raise hand: camera + mic" }}
            </button>
            <button type="button" class="secondary" data-testid="stage-publish-screen" disabled=busy
                aria-pressed=move || screen_on().to_string()
                on:click=move |_| toggle(media, MediaKind::Screen, busy, error)>
                {move || if screen_on() { "Stop sharing" } else { "Share screen" }}
            </button>
            {move || uplink().map(|u| view! {
                <span class="muted">"Host uplink: " <span data-testid="stage-uplink">{u}</span></span>
            })}
        </div>
        {move || shown_error().map(|e| view! { <p class="banner banner-error" data-testid="stage-error">{e}</p> })}
        <div class="stage-grid">
            <Show when=camera_on>
                <figure class="stage-tile stage-self">
                    <P2pVideo stream=self_stream attr:data-testid="stage-self" />
                    <figcaption>"You " <OwnControls media /></figcaption>
                </figure>
            </Show>
            <For each=remote key=|s| s.info.id.clone() let:s>
                {
                    let publisher = s.info.publisher.user().to_owned();
                    let id = s.info.id.clone();
                    let handle = s.stream.clone();
                    let audio = s.info.audio.then(|| {
                        let handle = handle.clone();
                        view! { <P2pAudio stream=Signal::derive(move || handle.clone()) /> }
                    });
                    view! {
                        <figure class="stage-tile">
                            <P2pVideo stream=Signal::derive(move || handle.clone()) attr:data-testid="stage-video"
                                attr:data-publisher=publisher.clone() attr:data-kind=s.info.kind.as_str()
                                attr:data-muted=move || muted_now(media, &id).to_string() />
                            <figcaption>{publisher.clone()} " · " {s.info.kind.as_str()}</figcaption>
                            {audio}
                        </figure>
                    }
                }
            </For>
        </div>
    }
}
