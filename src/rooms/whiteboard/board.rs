//! The whiteboard's model (both sides, no browser API, unit-tested natively): the strokes every peer holds, how
//! a received [`WhiteboardMessage`] changes them, the snapshot a host sends a (re)connected client, and how a
//! stroke is drawn (palette colors, SVG `points`). Every limit here bounds what a peer accepts from the others.

use super::{Point, SyncedStroke, WhiteboardMessage};
use crate::decimal::one_decimal;
use p2p_streams::PeerId;
use std::sync::Arc;

/// Width and height of the SVG `viewBox`; points travel normalized to `0..=1` and are scaled to this on render.
pub const VIEW_W: f32 = 1000.0;
/// See [`VIEW_W`].
pub const VIEW_H: f32 = 600.0;
/// Most strokes a board keeps; the oldest go first.
pub const MAX_STROKES: usize = 2_000;
/// Most points in one stroke; later points of a longer stroke are ignored (the canvas starts a new one first).
pub const MAX_STROKE_POINTS: usize = 4_000;
/// Most points in one snapshot (about 16 bytes each in JSON, well under a data channel message's size limit);
/// the newest strokes that fit are sent.
pub const MAX_SYNC_POINTS: usize = 8_000;

/// Stroke colors, picked by index so that a peer can never send an arbitrary CSS value.
pub const PALETTE: [&str; 8] = ["#3d5afe", "#e53935", "#2e9d57", "#fb8c00", "#8e24aa", "#00897b", "#d81b60", "#795548"];

/// The CSS color of palette index `color` (any `u8` maps to one).
pub fn color_of(color: u8) -> &'static str {
    PALETTE[usize::from(color) % PALETTE.len()]
}

/// A stable default color for user `name` (FNV-1a hash), so each peer starts with its own.
pub fn default_color(name: &str) -> u8 {
    let hash = name.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    (hash % PALETTE.len() as u32) as u8
}

/// `p` clamped into the board and rounded to 4 decimals (a tenth of a `viewBox` unit); `None` if not finite.
pub fn normalized(p: Point) -> Option<Point> {
    let fix = |v: f32| v.is_finite().then(|| (v.clamp(0.0, 1.0) * 10_000.0).round() / 10_000.0);
    Some([fix(p[0])?, fix(p[1])?])
}

/// The SVG `points` attribute of `points`, in `viewBox` units. A single point is doubled, so that round line caps
/// draw it as a dot.
pub fn points_attr(points: &[Point]) -> String {
    let mut out = String::with_capacity(points.len() * 12);
    let doubled = if points.len() == 1 { 2 } else { 1 };
    for p in points.iter().flat_map(|p| std::iter::repeat_n(p, doubled)) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&one_decimal(f64::from(p[0] * VIEW_W)));
        out.push(',');
        out.push_str(&one_decimal(f64::from(p[1] * VIEW_H)));
    }
    out
}

/// One stroke on a board.
#[derive(Clone, Debug, PartialEq)]
pub struct Stroke {
    /// Who drew it (stamped by the host, never taken from a `Draw` payload).
    pub author: PeerId,
    /// The author's id for it, unique per author.
    pub id: u64,
    /// Palette index.
    pub color: u8,
    /// Its points so far. Shared, so that cloning the board for rendering copies no points.
    pub points: Arc<Vec<Point>>,
}

/// Every stroke, oldest first (later strokes paint over earlier ones).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Board {
    /// Oldest first; at most [`MAX_STROKES`].
    strokes: Vec<Stroke>,
}

impl Board {
    /// The strokes, oldest first.
    pub fn strokes(&self) -> &[Stroke] {
        &self.strokes
    }

    /// Number of strokes.
    pub fn len(&self) -> usize {
        self.strokes.len()
    }

    /// Whether the board is blank.
    pub fn is_empty(&self) -> bool {
        self.strokes.is_empty()
    }

    /// Applies one room message received from `from`. `SyncRequest` is the host's to answer, and a `Sync`
    /// counts only as a direct message ([`apply_sync`](Self::apply_sync)): neither changes the board here.
    /// Returns whether the board changed.
    pub fn apply(&mut self, from: &PeerId, msg: &WhiteboardMessage) -> bool {
        match msg {
            WhiteboardMessage::Draw { stroke, color, points } => self.draw(from, *stroke, *color, points),
            WhiteboardMessage::Clear => !std::mem::take(&mut self.strokes).is_empty(),
            WhiteboardMessage::SyncRequest | WhiteboardMessage::Sync { .. } => false,
        }
    }

    /// Replaces the board with the one `from` sent this peer directly, if `from` is the current `host`.
    /// Returns whether the board changed.
    pub fn apply_sync(&mut self, from: &PeerId, strokes: &[SyncedStroke], host: Option<&PeerId>) -> bool {
        if host != Some(from) {
            return false;
        }
        self.strokes.clear();
        for s in strokes {
            self.draw(&s.author, s.stroke, s.color, &s.points);
        }
        true
    }

    /// Appends `points` to `author`'s stroke `id`, starting it (with `color`) if it is new.
    fn draw(&mut self, author: &PeerId, id: u64, color: u8, points: &[Point]) -> bool {
        // The stroke being drawn is almost always among the last few.
        let found = self.strokes.iter().rposition(|s| s.id == id && s.author == *author);
        let index = match found {
            Some(index) => index,
            None => {
                if self.strokes.len() >= MAX_STROKES {
                    self.strokes.remove(0);
                }
                let points = Arc::new(Vec::new());
                self.strokes.push(Stroke { author: author.clone(), id, color, points });
                self.strokes.len() - 1
            }
        };
        let stroke = &mut self.strokes[index];
        let room = MAX_STROKE_POINTS.saturating_sub(stroke.points.len());
        let fresh: Vec<Point> = points.iter().filter_map(|p| normalized(*p)).take(room).collect();
        let grew = !fresh.is_empty();
        if grew {
            Arc::make_mut(&mut stroke.points).extend(fresh);
        }
        found.is_none() || grew
    }

    /// What a host sends a (re)connected client: the newest strokes whose points fit in [`MAX_SYNC_POINTS`],
    /// oldest first.
    pub fn snapshot(&self) -> Vec<SyncedStroke> {
        let mut budget = MAX_SYNC_POINTS;
        let mut newest_first = Vec::new();
        for s in self.strokes.iter().rev() {
            let Some(left) = budget.checked_sub(s.points.len()) else { break };
            budget = left;
            newest_first.push(SyncedStroke {
                author: s.author.clone(),
                stroke: s.id,
                color: s.color,
                points: s.points.to_vec(),
            });
        }
        newest_first.reverse();
        newest_first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(id: &str) -> PeerId {
        PeerId(id.to_owned())
    }

    fn draw(stroke: u64, points: &[Point]) -> WhiteboardMessage {
        WhiteboardMessage::Draw { stroke, color: 1, points: points.to_vec() }
    }

    #[test]
    fn draws_append_per_author_and_stroke_and_clear_empties() {
        let (a, b) = (peer("ada#1"), peer("bob#1"));
        let mut board = Board::default();
        assert!(board.apply(&a, &draw(7, &[[0.1, 0.2]])));
        assert!(board.apply(&b, &draw(7, &[[0.5, 0.5]])));
        assert!(board.apply(&a, &draw(7, &[[0.3, 0.4], [2.0, -1.0]])));
        assert_eq!(board.len(), 2);
        assert_eq!(*board.strokes()[0].points, vec![[0.1, 0.2], [0.3, 0.4], [1.0, 0.0]]);
        assert_eq!(board.strokes()[1].author, b);
        assert!(board.apply(&b, &WhiteboardMessage::Clear));
        assert!(board.is_empty());
        assert!(!board.apply(&b, &WhiteboardMessage::Clear));
    }

    #[test]
    fn limits_hold() {
        let a = peer("ada#1");
        let mut board = Board::default();
        let many = vec![[0.5, 0.5]; MAX_STROKE_POINTS + 10];
        board.apply(&a, &draw(1, &many));
        assert_eq!(board.strokes()[0].points.len(), MAX_STROKE_POINTS);
        assert!(!board.apply(&a, &draw(1, &[[0.1, 0.1]])), "a full stroke takes no more points");
        for id in 2..=(MAX_STROKES as u64 + 1) {
            board.apply(&a, &draw(id, &[[0.1, 0.1]]));
        }
        assert_eq!(board.len(), MAX_STROKES);
        assert_eq!(board.strokes()[0].id, 2, "the oldest stroke went first");

        // A snapshot holds the newest strokes that fit in the point budget, oldest first.
        let mut big = Board::default();
        for id in 1..=3 {
            let points: Vec<Point> = (0..3_000).map(|i| [i as f32 / 3_000.0, 0.5]).collect();
            big.apply(&a, &draw(id, &points));
        }
        let ids: Vec<u64> = big.snapshot().iter().map(|s| s.stroke).collect();
        assert_eq!(ids, vec![2, 3]);
    }

    #[test]
    fn sync_counts_only_from_the_host_and_only_directly() {
        let (host, me, other) = (peer("h#1"), peer("me#1"), peer("o#1"));
        let mut source = Board::default();
        source.apply(&other, &draw(3, &[[0.1, 0.1], [0.2, 0.2]]));
        let strokes = source.snapshot();
        let mut board = Board::default();
        board.apply(&me, &draw(9, &[[0.9, 0.9]]));
        assert!(!board.apply(&host, &WhiteboardMessage::Sync { strokes: strokes.clone() }), "not through the room");
        assert!(!board.apply_sync(&other, &strokes, Some(&host)), "not from the host");
        assert!(!board.apply_sync(&host, &strokes, None), "no host known");
        assert!(board.apply_sync(&host, &strokes, Some(&host)));
        assert_eq!(board, source);
    }

    #[test]
    fn rendering_helpers() {
        assert_eq!(points_attr(&[[0.5, 0.5]]), "500.0,300.0 500.0,300.0");
        assert_eq!(points_attr(&[[0.0, 0.0], [1.0, 1.0]]), "0.0,0.0 1000.0,600.0");
        assert_eq!(normalized([0.123_456, 1.5]), Some([0.1235, 1.0]));
        assert_eq!(normalized([f32::NAN, 0.0]), None);
        assert_eq!(color_of(9), PALETTE[1]);
        assert_eq!(default_color("ada"), default_color("ada"));
        assert!(usize::from(default_color("bob")) < PALETTE.len());
    }
}
