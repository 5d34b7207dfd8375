//! The shared whiteboard at `/whiteboard/{room}`, scaffolded by `cargo xtask new-room whiteboard` and grown from
//! there. The page (server) reads the signed-in user (others go to the lobby) and renders the board as a lazy
//! island (`Whiteboard`: in the browser its code is a wasm chunk of its own, fetched only by whiteboard pages),
//! which opens the session `whiteboard_{room}` with `<P2pFrame>`. Every peer draws on an SVG canvas; finished
//! strokes travel as normalized points on the reliable path through the host, which relays them to everyone, so
//! every canvas shows every stroke, in the host's order. A client that (re)connects asks the host for the board
//! it missed. Strokes in progress and every peer's cursor travel on the volatile channel (`send_volatile`): many
//! times a second, never stored or replayed.
//!
//! Test knobs in the query string: `relay=1` (as in the chat room), `volatile_rate=N` (this page's
//! `P2pConfig::volatile_rate`, N per second and a burst of N: the host's value counts), `controls=1`
//! (`p2p-close` / `p2p-reconnect` buttons, a `wb-flood` button that sends `flood=N` cursor positions (default
//! 200) at once on the volatile channel, and the host's `volatile-dropped` count).
//!
//! - `board`: the model every peer holds (strokes, limits, snapshot), pure and unit-tested.
//! - `live`: the volatile layer (cursors and strokes in progress), pure and unit-tested.
//! - `canvas`: the SVG surface and the pointer handling.

mod board;
mod canvas;
mod live;

use crate::app::page_query;
use crate::rooms::gate::RoomGate;
use crate::rooms::parts::{flag_query, ice_policy_from_query, warn_unsent, ConnectionBanners, PeerList, RoomStatus};
use board::{color_of, default_color, Board, PALETTE};
use canvas::Canvas;
use leptos::prelude::*;
use live::{Live, LiveMessage};
use p2p_streams::{use_p2p, use_p2p_volatile, P2pConfig, P2pFrame, P2pState, PeerId, Role, VolatileRate};
use serde::{Deserialize, Serialize};

/// Session kind of this room, listed in `crate::identity::ROOM_KINDS`: its sessions are `whiteboard_{room}`.
pub const KIND: &str = "whiteboard";

/// A point on the board, normalized: `[x, y]`, each in `0..=1` from the left and top edges.
pub type Point = [f32; 2];

/// What whiteboard peers send each other. The host relays every message to every peer, the sender included, and
/// stamps the sender from the link it came on (never from the payload).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WhiteboardMessage {
    /// Points appended to the sender's stroke `stroke`; the first message naming a stroke starts it.
    Draw {
        /// The sender's id for the stroke (unique per sender).
        stroke: u64,
        /// Palette index of the stroke.
        color: u8,
        /// New points, in drawing order.
        points: Vec<Point>,
    },
    /// Clears the board for everyone.
    Clear,
    /// Sent by a client when it (re)connects: asks the host for the whole board.
    SyncRequest,
    /// The host's board, sent to the peer that asked only (`send_to`); accepted from the current host only,
    /// and only as a direct message (a `Sync` relayed to the whole room changes nothing).
    Sync {
        /// The board, oldest stroke first.
        strokes: Vec<SyncedStroke>,
    },
}

/// One stroke in a [`WhiteboardMessage::Sync`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncedStroke {
    /// Who drew it, as stamped by the host when it relayed the stroke.
    pub author: PeerId,
    /// The author's id for it.
    pub stroke: u64,
    /// Palette index.
    pub color: u8,
    /// Its points.
    pub points: Vec<Point>,
}

/// The session id of whiteboard `room`.
pub fn session_id(room: &str) -> String {
    format!("{KIND}_{room}")
}

/// The room page (rendered on the server): signed-in users get the room, others go to the lobby with the room
/// pre-filled.
#[component]
pub fn WhiteboardPage() -> impl IntoView {
    view! {
        <RoomGate loading="Opening the whiteboard…" kind=Some("whiteboard")
            room_view=|room, name| view! { <Whiteboard room name /> }.into_any() />
    }
}

/// The board, hydrated in the browser from its own wasm chunk: `<P2pFrame>` around the room.
#[island(lazy)]
fn Whiteboard(room: String, name: String) -> impl IntoView {
    // The board is built from `on_message`, not from the `messages` history: keep little of it. `?relay=1`
    // forces TURN relay candidates, as in the chat room.
    let volatile_rate = page_query("volatile_rate")
        .and_then(|v| v.parse::<u32>().ok())
        .map_or_else(VolatileRate::default, |n| VolatileRate { per_second: n, burst: n });
    let config = P2pConfig {
        history_limit: 50,
        ice_transport_policy: ice_policy_from_query(),
        volatile_rate,
        ..P2pConfig::default()
    };
    view! {
        <P2pFrame session_id=session_id(&room) peer_id=name.clone() config>
            <WhiteboardRoom room name />
        </P2pFrame>
    }
}

/// The room's content, inside `<P2pFrame>`: header, banners, peer list, toolbar and canvas.
#[component]
fn WhiteboardRoom(room: String, name: String) -> impl IntoView {
    let p2p = use_p2p::<WhiteboardMessage>();
    let volatile = use_p2p_volatile::<LiveMessage>();
    let board = RwSignal::new(Board::default());
    let live = RwSignal::new(Live::default());
    let color = RwSignal::new(default_color(&name));

    p2p.on_message(move |m| {
        let me = p2p.peer_id.get_untracked();
        if m.data == WhiteboardMessage::SyncRequest {
            if p2p.is_host.get_untracked() && me.as_ref() != Some(&m.from) {
                let strokes = board.with_untracked(Board::snapshot);
                warn_unsent(p2p.send_to(&m.from, WhiteboardMessage::Sync { strokes }));
            }
            return;
        }
        match &m.data {
            WhiteboardMessage::Draw { stroke, .. } => live.update(|l| l.finished(&m.from, *stroke)),
            WhiteboardMessage::Clear => live.update(Live::clear),
            _ => {}
        }
        board.maybe_update(|b| b.apply(&m.from, &m.data));
    });
    volatile.on_message(move |m| live.update(|l| l.apply(&m.from, &m.data)));
    // The host's answer to our `SyncRequest` comes as a direct message, in order with the room's strokes.
    p2p.on_direct(move |d| {
        if let WhiteboardMessage::Sync { strokes } = &d.data {
            let host = p2p.host_peer_id.get_untracked();
            board.maybe_update(|b| b.apply_sync(&d.from, strokes, host.as_ref()));
        }
    });
    // Cursors and strokes in progress of peers that left go with them (all of them when this peer leaves).
    Effect::new(move |_| {
        let present: Vec<PeerId> = p2p.peers.with(|peers| peers.iter().map(|p| p.peer.clone()).collect());
        live.update(|l| l.retain_peers(&present));
    });
    // A client asks for the board each time it (re)connects: on joining, and after a new host took over.
    Effect::new(move |was_connected: Option<bool>| {
        let connected = p2p.state.get() == P2pState::Connected;
        if connected && was_connected != Some(true) && p2p.role.get_untracked() == Some(Role::Client) {
            warn_unsent(p2p.send(WhiteboardMessage::SyncRequest));
        }
        connected
    });

    let swatches = (0..PALETTE.len() as u8).map(|i| {
        view! {
            <button type="button" class="swatch" data-testid="whiteboard-color" data-color=i.to_string()
                style:background=color_of(i) aria-label=format!("Pen color {}", i + 1)
                aria-pressed=move || (color.get() == i).to_string() on:click=move |_| color.set(i)></button>
        }
    });

    view! {
        <section class="room">
            <header class="room-head">
                <div>
                    <h1 class="room-title">"Whiteboard #" {room}</h1>
                    <p class="muted">"You are " <strong>{name}</strong></p>
                </div>
                <RoomStatus />
            </header>
            <ConnectionBanners />
            <div class="room-grid">
                <aside class="peers">
                    <PeerList />
                </aside>
                <div class="card whiteboard" data-testid="whiteboard-area">
                    <div class="whiteboard-tools">
                        <div class="palette" role="group" aria-label="Pen color">{swatches.collect_view()}</div>
                        <span class="muted">
                            <span data-testid="stroke-count">{move || board.with(Board::len)}</span>" strokes"
                        </span>
                        <button type="button" class="secondary" data-testid="whiteboard-clear"
                            disabled=move || board.with(Board::is_empty)
                            on:click=move |_| warn_unsent(p2p.send(WhiteboardMessage::Clear))>
                            "Clear for everyone"
                        </button>
                    </div>
                    <Canvas board live color />
                    {flag_query("controls").then(|| view! { <Controls /> })}
                </div>
            </div>
        </section>
    }
}

/// The `?controls=1` test knobs: leave and rejoin, flood the volatile channel, and the host's drop count.
#[component]
fn Controls() -> impl IntoView {
    let p2p = use_p2p::<WhiteboardMessage>();
    let volatile = use_p2p_volatile::<LiveMessage>();
    let flood = page_query("flood").and_then(|v| v.parse::<u32>().ok()).unwrap_or(200).clamp(1, 10_000);
    // `flood` positions along a diagonal, ending at (0.75, 0.25), sent as fast as the page can.
    let on_flood = move |_| {
        for i in 1..=flood {
            let t = i as f32 / flood as f32;
            let at = Some([0.25 + 0.5 * t, 0.75 - 0.5 * t]);
            if let Err(err) = volatile.send(&LiveMessage { at, ink: None }) {
                return leptos::logging::warn!("flood stopped: {err}");
            }
        }
    };
    view! {
        <div class="status-row">
            <button type="button" class="secondary" data-testid="p2p-close" on:click=move |_| p2p.close()>"Leave"</button>
            <button type="button" class="secondary" data-testid="p2p-reconnect" on:click=move |_| p2p.reconnect()>
                "Rejoin"
            </button>
            <button type="button" class="secondary" data-testid="wb-flood" on:click=on_flood>
                {format!("Send {flood} cursor moves")}
            </button>
            <span class="muted">
                "Volatile messages dropped (host): " <span data-testid="volatile-dropped">{move || volatile.dropped.get()}</span>
            </span>
        </div>
    }
}
