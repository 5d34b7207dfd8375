//! The stage room at `/stage/{room}` (both sides), scaffolded by `cargo xtask new-room stage` and grown from
//! there: the host presents its camera or screen, clients watch, and anyone can "raise a hand" by publishing
//! their camera, which the whole room then sees; a chat runs beside it. Media goes through the toolkit's star
//! (`use_p2p_media`): the host forwards every client's stream to every other client, the signaling server
//! carries none of it.
//!
//! The page (server) reads the signed-in user (others go to the lobby) and renders the room as a lazy island
//! (`Stage`), which opens the session `stage_{room}` with `<P2pFrame>`. Test ids: `stage-publish-camera`
//! (camera and microphone; pressed again, unpublishes), `stage-publish-screen`, one `stage-video` per remote
//! stream (`data-publisher`: the publisher's name, `data-kind`, `data-playing` from `<P2pVideo>`), the local
//! preview `stage-self`, `stage-error`, the host's `stage-uplink` (bits per second), and the chat's
//! `chat-line` / `chat-input` / `chat-send`. Query knob: `max_streams=N` (`P2pConfig::max_streams`).

mod media;

use crate::app::page_query;
use crate::rooms::gate::RoomGate;
use crate::rooms::parts::{ConnectionBanners, PeerList, RoomStatus};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use media::StageMedia;
use p2p_streams::{use_p2p, P2pConfig, P2pFrame};
use serde::{Deserialize, Serialize};

/// Session kind of this room, listed in `crate::identity::ROOM_KINDS`. Its sessions are
/// `stage_{room}`.
pub const KIND: &str = "stage";

/// Longest chat line, in characters.
const MAX_TEXT: usize = 2_000;

/// A chat line beside the stage. The host relays every message to every peer, the sender included, and stamps
/// the sender from the link it came on (never from the payload).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageMessage {
    /// What was typed.
    pub text: String,
}

/// The session id of Stage room `room`.
pub fn session_id(room: &str) -> String {
    format!("{KIND}_{room}")
}

/// The room page (rendered on the server): signed-in users get the room, others go to the lobby with the room
/// pre-filled.
#[component]
pub fn StagePage() -> impl IntoView {
    view! {
        <RoomGate loading="Opening the room…" kind=Some("stage")
            room_view=|room, name| view! { <Stage room name /> }.into_any() />
    }
}

/// The room, hydrated in the browser from its own wasm chunk: `<P2pFrame>` around the room's content.
#[island(lazy)]
fn Stage(room: String, name: String) -> impl IntoView {
    let defaults = P2pConfig::default();
    let max_streams = page_query("max_streams").and_then(|v| v.parse().ok()).unwrap_or(defaults.max_streams);
    let config = P2pConfig { history_limit: 200, max_streams, ..defaults };
    view! {
        <P2pFrame session_id=session_id(&room) peer_id=name.clone() config>
            <StageRoom room name />
        </P2pFrame>
    }
}

/// The room's content, inside `<P2pFrame>`: header, banners, peer list, the stage and the chat.
#[component]
fn StageRoom(room: String, name: String) -> impl IntoView {
    let p2p = use_p2p::<StageMessage>();
    let draft = RwSignal::new(String::new());
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let text: String = draft.get_untracked().trim().chars().take(MAX_TEXT).collect();
        if text.is_empty() {
            return;
        }
        match p2p.send(StageMessage { text }) {
            Ok(()) => draft.set(String::new()),
            Err(err) => leptos::logging::warn!("message not sent: {err}"),
        }
    };
    let lines = move || p2p.messages.get();

    view! {
        <section class="room">
            <header class="room-head">
                <div>
                    <h1 class="room-title">"Stage #" {room}</h1>
                    <p class="muted">"You are " <strong>{name}</strong></p>
                </div>
                <RoomStatus />
            </header>
            <ConnectionBanners />
            <div class="room-grid">
                <aside class="peers">
                    <PeerList />
                </aside>
                <div class="card room-area stage" data-testid="stage-area">
                    <StageMedia />
                    <div class="chat">
                        <ol class="chat-log" data-testid="chat-log" aria-live="polite">
                            <For each=lines key=|m| (m.from.clone(), m.seq, m.epoch, m.index) let:m>
                                <li class="chat-line" data-testid="chat-line" data-from=m.from.0.clone()>
                                    <span class="author">{m.from.user().to_owned()}</span>": "
                                    <span class="text">{m.data.text}</span>
                                </li>
                            </For>
                        </ol>
                        <form class="composer" on:submit=on_submit>
                            <input data-testid="chat-input" type="text" placeholder="Say something…" maxlength="2000"
                                autocomplete="off" aria-label="Message" bind:value=draft />
                            <button data-testid="chat-send" type="submit" class="primary">"Send"</button>
                        </form>
                    </div>
                </div>
            </div>
        </section>
    }
}
