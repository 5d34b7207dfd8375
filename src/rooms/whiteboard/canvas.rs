//! The whiteboard's drawing surface (both sides; pointer handling runs in the browser only): an SVG that renders
//! every stroke of the [`Board`] as a `<polyline>`, and turns this peer's pointer drags into `Draw` messages,
//! sent at most every [`SEND_EVERY_MS`] while drawing and once more when the pointer lifts. The peer's own stroke
//! shows at once as a preview; the board shows it as the host relays it back, like everyone else's.

use super::board::{color_of, normalized, points_attr, Board, MAX_STROKE_POINTS, VIEW_H, VIEW_W};
use super::{Point, WhiteboardMessage};
use crate::rooms::parts::warn_unsent;
use leptos::ev::PointerEvent;
use leptos::prelude::*;
use p2p_streams::use_p2p;

/// Least time between two `Draw` messages of one stroke, in ms: live for the others, 25 messages a second at most.
pub const SEND_EVERY_MS: f64 = 40.0;
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
    /// Points not sent yet.
    unsent: Vec<Point>,
    /// Points in the stroke so far.
    count: usize,
    /// The last point added.
    last: Point,
    /// Event time (ms) of the last `Draw` sent.
    sent_at: f64,
}

impl Drawing {
    /// Adds `p` unless it is too close to the last point or the stroke is full. Returns whether it was added.
    fn add(&mut self, p: Point) -> bool {
        let (dx, dy) = (p[0] - self.last[0], p[1] - self.last[1]);
        if dx.hypot(dy) < MIN_STEP || self.count >= MAX_STROKE_POINTS {
            return false;
        }
        self.unsent.push(p);
        self.count += 1;
        self.last = p;
        true
    }

    /// The `Draw` message for the unsent points, if there are any and (unless `now` is `None`) it is time.
    fn take_message(&mut self, now: Option<f64>) -> Option<WhiteboardMessage> {
        if self.unsent.is_empty() || now.is_some_and(|t| t - self.sent_at < SEND_EVERY_MS) {
            return None;
        }
        if let Some(t) = now {
            self.sent_at = t;
        }
        Some(WhiteboardMessage::Draw {
            stroke: self.stroke,
            color: self.color,
            points: std::mem::take(&mut self.unsent),
        })
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

/// The SVG canvas. `board` is what every peer sees; `color` is this peer's pen.
#[component]
pub fn Canvas(board: RwSignal<Board>, color: RwSignal<u8>) -> impl IntoView {
    let p2p = use_p2p::<WhiteboardMessage>();
    let svg = NodeRef::<leptos::svg::Svg>::new();
    let drawing: StoredValue<Option<Drawing>> = StoredValue::new(None);
    let last_stroke = StoredValue::new(0_u64);
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
    // Ends the stroke of `pointer` (`None`: whichever is going) and sends its last points.
    let finish = move |pointer: Option<i32>| {
        let done = drawing.try_update_value(|d| {
            let ours = d.as_ref().is_some_and(|d| pointer.is_none_or(|p| p == d.pointer));
            if ours {
                d.take()
            } else {
                None
            }
        });
        let Some(mut done) = done.flatten() else { return };
        preview.set(Vec::new());
        if let Some(message) = done.take_message(None) {
            warn_unsent(p2p.send(message));
        }
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
        let (pointer, color, sent_at) = (ev.pointer_id(), color.get_untracked(), ev.time_stamp());
        drawing.set_value(Some(Drawing { pointer, stroke, color, unsent: vec![p], count: 1, last: p, sent_at }));
        preview.set(vec![p]);
    };
    let on_move = move |ev: PointerEvent| {
        let pointer = ev.pointer_id();
        if !drawing.with_value(|d| d.as_ref().is_some_and(|d| d.pointer == pointer)) {
            return;
        }
        let Some(p) = point_of(&ev) else { return };
        let now = ev.time_stamp();
        let step = drawing.try_update_value(|d| d.as_mut().map(|d| (d.add(p), d.take_message(Some(now)))));
        if let Some((added, message)) = step.flatten() {
            if added {
                preview.update(|points| points.push(p));
            }
            if let Some(message) = message {
                warn_unsent(p2p.send(message));
            }
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
            <polyline class="stroke-preview" stroke=move || color_of(color.get())
                points=move || preview.with(|p| points_attr(p)) />
        </svg>
    }
}
