//! The Stage room at `/stage/{room}` (both sides),
//! scaffolded by `cargo xtask new-room stage`.
//!
//! The page (server) reads the signed-in user (others go to the lobby) and renders the room as a
//! lazy island (`Stage`: in the browser its code is a wasm chunk of its own, fetched only by
//! this room's pages), which opens the session `stage_{room}` with `<P2pFrame>` and renders
//! status, role, peers and the room's own area from `use_p2p::<StageMessage>()`. Make it yours by changing
//! [`StageMessage`] and the room area; each frame callback below is a stub saying when it fires.

use crate::identity::{current_user, valid_room};
use crate::rooms::parts::{ConnectionBanners, PeerList, RoomStatus};
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_params_map;
use p2p_streams::{use_p2p, P2pConfig, P2pFrame, PeerId};
use serde::{Deserialize, Serialize};

/// Session kind of this room, listed in `crate::identity::ROOM_KINDS`. Its sessions are
/// `stage_{room}`.
pub const KIND: &str = "stage";

/// What the peers of this room send each other. The host relays every message to every peer, the sender
/// included, and stamps the sender from the link it came on (never from the payload).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StageMessage {
    /// A ping, so the generated room has something to send; replace it with the room's own messages.
    Ping,
}

/// The session id of Stage room `room`.
pub fn session_id(room: &str) -> String {
    format!("{KIND}_{room}")
}

/// The room page (rendered on the server): signed-in users get the room, others go to the lobby
/// with the room pre-filled.
#[component]
pub fn StagePage() -> impl IntoView {
    let params = use_params_map();
    let user = Resource::new_blocking(|| (), |_| current_user());
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Opening the room…"</p> }>
            {move || Suspend::new(async move {
                let room = params.read_untracked().get("room").unwrap_or_default();
                match user.await {
                    Ok(_) if !valid_room(&room) => view! {
                        <p class="banner banner-error" data-testid="p2p-error">"This room name is not valid."</p>
                    }.into_any(),
                    Ok(Some(name)) => view! { <Stage room=room.clone() name=name.clone() /> }.into_any(),
                    Ok(None) => view! { <Redirect path=format!("/?room={room}&kind=stage") /> }.into_any(),
                    Err(err) => view! {
                        <p class="banner banner-error" data-testid="p2p-error">{format!("Could not open the room: {err}")}</p>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The room, hydrated in the browser from its own wasm chunk: `<P2pFrame>` around the room's
/// content. Its props travel in the page as JSON.
#[island(lazy)]
fn Stage(room: String, name: String) -> impl IntoView {
    view! {
        // `config`: ICE servers (add STUN/TURN for the internet), heartbeat, reconnect; see P2pConfig.
        <P2pFrame session_id=session_id(&room) peer_id=name.clone() config=P2pConfig::default()
            // Signaling started or restarted: first load, or looking for a (new) host.
            on_negotiating=move |()| {}
            // Offer and answer exchanged; ICE, DTLS and the data channel are opening.
            on_connecting=move |()| {}
            // The data channel to the host is open (on the host: the server made it host).
            on_connected=move |()| {}
            // The link to the host was lost; the frame reconnects on its own.
            on_disconnected=move |()| {}
            // The frame closed: the page left the room.
            on_closed=move |()| {}
            // A fatal error (refused join token, protocol mismatch): the room cannot continue.
            on_error=move |_error: String| {}
            // Every app message, untyped, with its host-stamped sender. Inside the room, prefer
            // the typed `use_p2p::<StageMessage>()`: its `messages` signal and `on_message`.
            on_message=move |(_from, _payload): (PeerId, serde_json::Value)| {}>
            <StageRoom room name />
        </P2pFrame>
    }
}

/// The room's content, inside `<P2pFrame>`: header, banners, peer list and the room area.
#[component]
fn StageRoom(room: String, name: String) -> impl IntoView {
    let p2p = use_p2p::<StageMessage>();
    // Runs in the browser for every message from now on (in the host's order), e.g. to update local state.
    p2p.on_message(|_received| {});
    let pings = move || {
        let messages = p2p.messages.get().into_iter().enumerate();
        messages.filter(|(_, m)| m.data == StageMessage::Ping).collect::<Vec<_>>()
    };

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
                // The room's own area: replace it with what the room is for.
                <div class="card room-area" data-testid="stage-area">
                    // `send` answers Err only after `p2p.close()` or for a message that does not serialize;
                    // while not connected it queues (the outbox delivers later).
                    <button class="primary" data-testid="stage-ping"
                        on:click=move |_| {
                            if let Err(err) = p2p.send(StageMessage::Ping) {
                                leptos::logging::warn!("ping not sent: {err}");
                            }
                        }>
                        "Ping everyone"
                    </button>
                    <ol class="chat-log" data-testid="stage-log" aria-live="polite">
                        <For each=pings key=|(pos, m)| (*pos, m.index) let:((_, m))>
                            <li class="chat-line" data-testid="stage-message"
                                data-author=m.from.user().to_owned()>
                                {m.from.user().to_owned()} " pinged"
                            </li>
                        </For>
                    </ol>
                </div>
            </div>
        </section>
    }
}
