//! The demo chat room at `/rooms/{room}`: the page (server) reads the signed-in user and renders the room as an
//! island (`ChatRoom`, hydrated in the browser; its code is in the main wasm), which wraps the room in
//! `<P2pFrame>` and renders status, peers and chat from `use_p2p::<ChatMessage>()`. All user text goes through
//! text nodes, never HTML. Query parameters tune the frame for tests: `keep_signaling=1`, `relay=1` (TURN
//! relay candidates only: this peer's addresses stay private), `heartbeat_ms=N`, `idle_timeout_ms=N`,
//! `expires_in_secs=N` (join token lifetime), `history=N` (messages of history kept and replayed),
//! `switch_to=ROOM` (a `switch-room` button that moves the frame to that room in place: the frame's session
//! prop is a signal), `controls=1` (`p2p-close` and `p2p-reconnect` buttons calling the hook's `close()` and
//! `reconnect()`, and the probe panel of `chat_probe`: large binary messages and direct messages),
//! `max_message=N` (`P2pConfig::max_message_bytes`).

use crate::app::page_query;
use crate::identity::{chat_session, valid_room};
use crate::rooms::chat_files::ChatFiles;
use crate::rooms::chat_probe::LazyChatProbe;
use crate::rooms::gate::RoomGate;
use crate::rooms::parts::{flag_query, ice_policy_from_query, ConnectionBanners, PeerList, RoomStatus};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use p2p_streams::{use_p2p, P2pConfig, P2pFrame, PeerId};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Longest chat line, in characters.
const MAX_TEXT: usize = 2_000;

/// One chat line on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// What was typed.
    pub text: String,
}

/// The frame's options from the page's query string, read the same way on both sides ([`page_query`]).
fn config_from_query() -> P2pConfig {
    let millis = |key: &str| page_query(key).and_then(|v| v.parse::<u64>().ok()).filter(|ms| *ms >= 50);
    let defaults = P2pConfig::default();
    P2pConfig {
        keep_signaling_connection: flag_query("keep_signaling"),
        ice_transport_policy: ice_policy_from_query(),
        heartbeat_interval: millis("heartbeat_ms").map_or(defaults.heartbeat_interval, Duration::from_millis),
        idle_timeout: millis("idle_timeout_ms").map_or(defaults.idle_timeout, Duration::from_millis),
        history_limit: page_query("history")
            .and_then(|v| v.parse().ok())
            .filter(|n| *n >= 1)
            .unwrap_or(defaults.history_limit),
        max_message_bytes: page_query("max_message")
            .and_then(|v| v.parse().ok())
            .filter(|n| *n >= 1)
            .unwrap_or(defaults.max_message_bytes),
        ..defaults
    }
}

/// The room page (rendered on the server): signed-in users get the room, others go to the lobby with the room
/// pre-filled.
#[component]
pub fn ChatRoomPage() -> impl IntoView {
    view! {
        <RoomGate loading="Opening the room…" kind=None
            room_view=|room, name| view! { <ChatRoom room name /> }.into_any() />
    }
}

/// The room, hydrated in the browser: `<P2pFrame>` with the Rails-style callbacks feeding a small connection
/// log under the peer list, and the room's content inside it. Its props travel in the page as JSON; the frame's
/// options come from the page's query string on both sides.
#[island]
fn ChatRoom(room: String, name: String) -> impl IntoView {
    let config = config_from_query();
    let expires_in_secs = page_query("expires_in_secs").and_then(|v| v.parse().ok()).unwrap_or(3600);
    let events = RwSignal::new(Vec::<String>::new());
    let log = move |what: &str| events.update(|e| e.push(what.to_owned()));
    let session = RwSignal::new(chat_session(&room));
    let switch = page_query("switch_to").filter(|other| valid_room(other)).map(|other| {
        let target = chat_session(&other);
        view! {
            <button type="button" class="secondary" data-testid="switch-room"
                on:click=move |_| session.set(target.clone())>{format!("Switch to #{other}")}</button>
        }
    });
    view! {
        {switch}
        <P2pFrame session_id=session peer_id=name.clone() config
            expires_in=Duration::from_secs(expires_in_secs)
            on_negotiating=move |()| log("negotiating")
            on_connecting=move |()| log("connecting")
            on_connected=move |()| log("connected")
            on_disconnected=move |()| log("disconnected")
            on_closed=move |()| log("closed")
            on_error=move |e: String| log(&format!("error: {e}"))
            on_message=move |(from, _): (PeerId, serde_json::Value)| log(&format!("message from {}", from.user()))>
            <ChatRoomContent room name events />
        </P2pFrame>
    }
}

/// The room's content, inside `<P2pFrame>`.
#[component]
fn ChatRoomContent(room: String, name: String, events: RwSignal<Vec<String>>) -> impl IntoView {
    let p2p = use_p2p::<ChatMessage>();
    let draft = RwSignal::new(String::new());
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let text: String = draft.get_untracked().trim().chars().take(MAX_TEXT).collect();
        // The draft stays when the frame did not take the message (closed room): nothing typed is lost.
        if !text.is_empty() && p2p.send(ChatMessage { text }).is_ok() {
            draft.set(String::new());
        }
    };
    let lines = move || p2p.messages.get();
    let controls = flag_query("controls").then(|| {
        view! {
            <div class="status-row">
                <button type="button" class="secondary" data-testid="p2p-close" on:click=move |_| p2p.close()>
                    "Leave"
                </button>
                <button type="button" class="secondary" data-testid="p2p-reconnect" on:click=move |_| p2p.reconnect()>
                    "Rejoin"
                </button>
            </div>
            <LazyChatProbe />
        }
    });

    view! {
        <section class="room">
            <header class="room-head">
                <div>
                    <h1 class="room-title">"#" {room}</h1>
                    <p class="muted">"You are " <strong>{name}</strong></p>
                </div>
                <RoomStatus show_signaling=true />
            </header>
            {controls}
            <ConnectionBanners />
            <div class="room-grid">
                <aside class="peers">
                    <PeerList />
                    <details class="events">
                        <summary>"Connection events"</summary>
                        <ol class="event-log" data-testid="event-log">
                            {move || events.get().into_iter().map(|e| view! { <li data-testid="p2p-event">{e}</li> }).collect_view()}
                        </ol>
                    </details>
                </aside>
                <div class="chat">
                    <ol class="chat-log" data-testid="chat-log" aria-live="polite">
                        <For each=lines key=|m| (m.from.clone(), m.seq, m.epoch, m.index) let:m>
                            <li class="chat-line" data-testid="chat-line" data-from=m.from.0.clone()
                                data-seq=m.seq.to_string() data-epoch=m.epoch.to_string() data-index=m.index.to_string()>
                                <span class="author">{m.from.user().to_owned()}</span>": "<span class="text">{m.data.text}</span>
                            </li>
                        </For>
                    </ol>
                    <ChatFiles />
                    <form class="composer" on:submit=on_submit>
                        <input data-testid="chat-input" type="text" placeholder="Say something…" maxlength="2000"
                            autocomplete="off" aria-label="Message" bind:value=draft />
                        <button data-testid="chat-send" type="submit" class="primary">"Send"</button>
                    </form>
                </div>
            </div>
        </section>
    }
}
