//! The lobby at `/`: the join form (a plain `POST /join`: no code in the browser) and the live rooms with their
//! peer counts, rendered with the page and then refreshed every few seconds by a lazy island (`RoomList`) once
//! its wasm chunk is in.

use crate::identity::{live_rooms, room_path, RoomSummary, ROOM_KINDS};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
#[cfg(feature = "hydrate")]
use std::time::Duration;

/// How often the live room list refreshes in the browser.
#[cfg(feature = "hydrate")]
const REFRESH: Duration = Duration::from_secs(5);

/// The lobby page (rendered on the server).
#[component]
pub fn Lobby() -> impl IntoView {
    let query = use_query_map();
    let prefill = query.read_untracked().get("room").unwrap_or_default();
    let kind = query.read_untracked().get("kind").filter(|k| ROOM_KINDS.contains(&k.as_str()));
    let error = query.read_untracked().get("error").map(|e| match e.as_str() {
        "name" => "Pick a name of 1 to 32 characters (no #).",
        _ => "Room names use letters, digits, - and _ (up to 48).",
    });
    // Blocking: the list is in the page the server sends, and its island hydrates with it.
    let rooms = Resource::new_blocking(|| (), |_| live_rooms());

    view! {
        <section class="lobby">
            <div class="card join-card">
                <h1>"Join a room"</h1>
                <p class="lead">
                    "Everyone in a room talks peer-to-peer over WebRTC. The first to arrive hosts; "
                    "the server only introduces you."
                </p>
                {error.map(|message| view! { <p class="banner banner-error" data-testid="join-error">{message}</p> })}
                <form method="post" action="/join" class="join-form">
                    <label>
                        <span>"Your name"</span>
                        <input data-testid="join-name" name="name" required maxlength="32" autocomplete="nickname" placeholder="Ada" />
                    </label>
                    <label>
                        <span>"Room"</span>
                        <input data-testid="join-room" name="room" required maxlength="48" pattern="[A-Za-z0-9_\\-]{1,48}" placeholder="lounge" value=prefill />
                    </label>
                    {kind.map(|kind| view! { <input type="hidden" name="kind" value=kind /> })}
                    <button data-testid="join-submit" type="submit" class="primary">"Join room"</button>
                </form>
            </div>
            <div class="card rooms-card">
                <h2>"Live rooms"</h2>
                <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        view! { <RoomList initial=rooms.await.map_err(|err| err.to_string()) /> }
                    })}
                </Suspense>
            </div>
        </section>
    }
}

/// The live rooms (or why they could not be listed), shown in place of the server's `initial` answer as the
/// browser asks again every 5 s. A lazy island: its code is a wasm chunk of its own.
#[island(lazy)]
fn RoomList(initial: Result<Vec<RoomSummary>, String>) -> impl IntoView {
    let rooms = RwSignal::new(initial);
    #[cfg(feature = "hydrate")]
    {
        use leptos::server_fn::ServerFn;
        use p2p_streams::client::call_server_fn;
        let fetch = || call_server_fn::<Vec<RoomSummary>>(crate::identity::LiveRooms::PATH, &[]);
        crate::refresh::every(REFRESH, fetch, move |answer| {
            rooms.set(answer.map_err(|err| err.to_string()));
            true
        });
    }
    move || room_list(rooms.get())
}

/// The list as the server renders it and the island re-renders it on each answer.
fn room_list(rooms: Result<Vec<RoomSummary>, String>) -> AnyView {
    match rooms {
        Ok(list) if list.is_empty() => view! { <p class="muted" data-testid="no-rooms">"No live rooms yet. Start one!"</p> }.into_any(),
        Ok(list) => view! {
            <ul class="room-list" data-testid="live-rooms">
                {list.into_iter().map(|r| view! {
                    <li data-testid="live-room" data-room=r.room.clone() data-kind=r.kind.clone() data-peers=r.peers.to_string()>
                        <a href=format!("/?room={}&kind={}", r.room, r.kind) title=room_path(&r.kind, &r.room)>{r.room.clone()}</a>
                        <span class="tag">{if r.kind == "chat_room" { "chat".to_owned() } else { r.kind.clone() }}</span>
                        <span class="count">{format!("{} {}", r.peers, if r.peers == 1 { "peer" } else { "peers" })}</span>
                    </li>
                }).collect_view()}
            </ul>
        }.into_any(),
        Err(err) => view! { <p class="banner banner-error">{format!("Could not list rooms: {err}")}</p> }.into_any(),
    }
}
