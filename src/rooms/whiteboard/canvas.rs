//! The whiteboard's drawing surface (both sides; pointer handling runs in the browser only): an SVG that renders
//! every stroke of the [`Board`] as a `<polyline>`, the other peers' strokes in progress and cursors from the
//! [`Live`] layer, and turns this peer's pointer into messages: while the pointer moves, a [`LiveMessage`] (cursor
//! and new ink) on the volatile channel at most every [`LIVE_EVERY_MS`]; when a stroke ends, the whole stroke as
//! one `Draw` on the reliable path. The peer's own stroke shows at once as a preview; the board shows it as the
//! host relays it back, like everyone else's.

use super::board::{color_of, normalized, points_attr, Board, MAX_STROKE_POINTS, VIEW_H, VIEW_W};
use super::live::{Live, LiveInk, LiveMessage};
use super::{Point, WhiteboardMessage};
use crate::decimal::one_decimal;
use crate::rooms::parts::warn_unsent;
use leptos::ev::PointerEvent;
use leptos::prelude::*;
use p2p_streams::{use_p2p, use_p2p_volatile, SendError};

/// Least time between two live messages (cursor and ink in progress) on the volatile channel, in ms: about 30 a
/// second, half the host's default cap per peer (`P2pConfig::volatile_rate`).
pub const LIVE_EVERY_MS: f64 = 33.0;
/// Most ink points in one live message (about 16 bytes each in JSON, well under the 16 KiB volatile limit).
const MAX_LIVE_POINTS: usize = 500;
/// Smallest move that adds a point, in normalized units (one `viewBox` unit across).
const MIN_STEP: f32 = 1.0 / VIEW_W;

/// The stroke this peer is drawing.
struct Drawing {
    /// The pointer that started it; other pointers are ignored meanwhile.
    pointer: i32,
    /// Its id, unique for this peer.
    stroke: u64,
    /// Its palette color, fixed for the stroke.
    color: u8,
    /// Every point so far (sent whole on the reliable path when the stroke ends).
    points: Vec<Point>,
    /// How many of them went out live already.
    live_sent: usize,
}

impl Drawing {
    /// Adds `p` unless it is too close to the last point or the stroke is full. Returns whether it was added.
    fn add(&mut self, p: Point) -> bool {
        let last = self.points.last().copied().unwrap_or([f32::NAN, f32::NAN]);
        let (dx, dy) = (p[0] - last[0], p[1] - last[1]);
        if dx.hypot(dy) < MIN_STEP || self.points.len() >= MAX_STROKE_POINTS {
            return false;
        }
        self.points.push(p);
        true
    }

    /// The next batch of points not sent live yet, if any.
    fn live_ink(&mut self) -> Option<LiveInk> {
        let start = self.live_sent;
        let end = self.points.len().min(start + MAX_LIVE_POINTS);
        self.live_sent = end;
        let points = self.points.get(start..end).filter(|p| !p.is_empty())?.to_vec();
        Some(LiveInk { stroke: self.stroke, color: self.color, start: start as u32, points })
    }

    /// The finished stroke, for the reliable path (late joiners and every board get it whole).
    fn finished(self) -> WhiteboardMessage {
        WhiteboardMessage::Draw { stroke: self.stroke, color: self.color, points: self.points }
    }
}

/// Milliseconds since the epoch: stroke ids stay unique across reloads, which keep this peer's id.
#[cfg(feature = "hydrate")]
fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// Never called during SSR (no pointer events there).
#[cfg(not(feature = "hydrate"))]
fn now_ms() -> u64 {
    0
}

/// Sends one live message; a peer that is not connected (or left the room) just does not show its cursor.
fn send_live(live: p2p_streams::P2pVolatile<LiveMessage>, message: &LiveMessage) {
    match live.send(message) {
        Ok(()) | Err(SendError::NotConnected | SendError::Closed) => {}
        Err(err) => warn_unsent(Err(err)),
    }
}

/// The SVG canvas. `board` is what every peer sees, `live` the others' cursors and strokes in progress; `color`
/// is this peer's pen.
#[component]
pub fn Canvas(board: RwSignal<Board>, live: RwSignal<Live>, color: RwSignal<u8>) -> impl IntoView {
    let p2p = use_p2p::<WhiteboardMessage>();
    let volatile = use_p2p_volatile::<LiveMessage>();
    let svg = NodeRef::<leptos::svg::Svg>::new();
    let drawing: StoredValue<Option<Drawing>> = StoredValue::new(None);
    let last_stroke = StoredValue::new(0_u64);
    // Event time (ms) of the last live message.
    let live_at = StoredValue::new(f64::NEG_INFINITY);
    let preview = RwSignal::new(Vec::<Point>::new());

    // `offsetX/Y` are relative to the SVG's padding box (polylines ignore pointer events, and the SVG captures
    // the pointer while drawing), so dividing by its client size gives normalized coordinates.
    let point_of = move |ev: &PointerEvent| -> Option<Point> {
        let el = svg.get_untracked()?;
        let (w, h) = (el.client_width(), el.client_height());
        if w <= 0 || h <= 0 {
            return None;
        }
        normalized([ev.offset_x() as f32 / w as f32, ev.offset_y() as f32 / h as f32])
    };
    // The cursor at `at` and the new ink, unless the last live message went less than LIVE_EVERY_MS ago (`force`:
    // send anyway).
    let live_step = move |at: Option<Point>, now: f64, force: bool| {
        if !force && now - live_at.get_value() < LIVE_EVERY_MS {
            return;
        }
        live_at.set_value(now);
        let ink = drawing.try_update_value(|d| d.as_mut().and_then(Drawing::live_ink)).flatten();
        send_live(volatile, &LiveMessage { at, ink });
    };
    // Ends the stroke of `pointer` (`None`: whichever is going) and sends it whole on the reliable path.
    let finish = move |pointer: Option<i32>| {
        let done = drawing.try_update_value(|d| {
            let ours = d.as_ref().is_some_and(|d| pointer.is_none_or(|p| p == d.pointer));
            if ours {
                d.take()
            } else {
                None
            }
        });
        let Some(done) = done.flatten() else { return };
        preview.set(Vec::new());
        warn_unsent(p2p.send(done.finished()));
    };

    let on_down = move |ev: PointerEvent| {
        if !ev.is_primary() || ev.button() != 0 {
            return;
        }
        let Some(p) = point_of(&ev) else { return };
        ev.prevent_default();
        finish(None);
        if let Some(el) = svg.get_untracked() {
            // Keeps the stroke going when the pointer leaves the board; drawing works without it.
            let _ = el.set_pointer_capture(ev.pointer_id());
        }
        let stroke = now_ms().max(last_stroke.get_value() + 1);
        last_stroke.set_value(stroke);
        let (pointer, color) = (ev.pointer_id(), color.get_untracked());
        drawing.set_value(Some(Drawing { pointer, stroke, color, points: vec![p], live_sent: 0 }));
        preview.set(vec![p]);
        live_step(Some(p), ev.time_stamp(), true);
    };
    let on_move = move |ev: PointerEvent| {
        let Some(p) = point_of(&ev) else { return };
        let pointer = ev.pointer_id();
        let added = drawing.try_update_value(|d| d.as_mut().filter(|d| d.pointer == pointer).map(|d| d.add(p)));
        if added.flatten() == Some(true) {
            preview.update(|points| points.push(p));
        }
        if ev.is_primary() {
            live_step(Some(p), ev.time_stamp(), false);
        }
    };
    let on_end = move |ev: PointerEvent| finish(Some(ev.pointer_id()));
    view! {
        <svg node_ref=svg class="whiteboard-canvas" data-testid="whiteboard-canvas"
            viewBox=format!("0 0 {VIEW_W} {VIEW_H}") preserveAspectRatio="none"
            role="img" aria-label="Shared whiteboard: drag to draw"
            on:pointerdown=on_down on:pointermove=on_move on:pointerup=on_end on:pointercancel=on_end>
            <For each=move || board.with(|b| b.strokes().to_vec()) key=|s| (s.author.clone(), s.id, s.points.len()) let:s>
                <polyline data-testid="stroke" data-author=s.author.user().to_owned() stroke=color_of(s.color)
                    points=points_attr(&s.points) />
            </For>
            // The others' strokes in progress, until their finished version is on the board.
            <For each=move || live.with(|l| l.strokes().iter().map(|s| (s.author.clone(), s.id, s.color, s.points())).collect::<Vec<_>>())
                key=|s| (s.0.clone(), s.1, s.3.len()) let:s>
                <polyline data-testid="stroke" data-live="true" data-author=s.0.user().to_owned() stroke=color_of(s.2)
                    points=points_attr(&s.3) />
            </For>
            <polyline class="stroke-preview" stroke=move || color_of(color.get())
                points=move || preview.with(|p| points_attr(p)) />
            <For each=move || live.with(|l| l.cursors().to_vec()) key=|c| (c.peer.clone(), c.moves) let:c>
                <g class="wb-cursor" data-testid="wb-cursor" data-peer=c.peer.user().to_owned() data-peer-id=c.peer.0.clone()
                    data-moves=c.moves.to_string() data-x=one_decimal(f64::from(c.at[0] * VIEW_W))
                    data-y=one_decimal(f64::from(c.at[1] * VIEW_H))>
                    <circle cx=c.at[0] * VIEW_W cy=c.at[1] * VIEW_H r="6" />
                    <text x=c.at[0] * VIEW_W + 9.0 y=c.at[1] * VIEW_H - 9.0>{c.peer.user().to_owned()}</text>
                </g>
            </For>
        </svg>
    }
}
