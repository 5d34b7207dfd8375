//! The whiteboard's live layer (both sides, no browser API, unit-tested natively): what travels on the volatile
//! channel ([`LiveMessage`]: this peer's cursor and the newest points of the stroke it is drawing) and what a peer
//! shows of the others from it ([`Live`]: one cursor per peer, and each peer's stroke in progress). Volatile
//! messages may be lost or arrive out of order: ink batches carry their place in the stroke, and the finished
//! stroke, sent on the reliable path, replaces the live one (late batches of a finished stroke are ignored).

use super::board::{normalized, MAX_STROKE_POINTS};
use super::Point;
use p2p_streams::PeerId;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// What a whiteboard peer sends on the volatile channel, at most every `canvas::LIVE_EVERY_MS`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveMessage {
    /// Where the sender's pointer is on the board (`None` hides its cursor).
    pub at: Option<Point>,
    /// Points of the stroke being drawn since the last message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ink: Option<LiveInk>,
}

/// A batch of points of a stroke in progress.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveInk {
    /// The sender's id of the stroke (the same the finished `Draw` carries).
    pub stroke: u64,
    /// Palette index.
    pub color: u8,
    /// Index in the stroke of the first point here.
    pub start: u32,
    /// The points.
    pub points: Vec<Point>,
}

/// Another peer's cursor.
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor {
    /// Whose.
    pub peer: PeerId,
    /// Where, normalized.
    pub at: Point,
    /// Cursor positions received from this peer (the test hook `data-moves`).
    pub moves: u64,
}

/// Another peer's stroke in progress.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveStroke {
    /// Who draws it.
    pub author: PeerId,
    /// Its id.
    pub id: u64,
    /// Palette index.
    pub color: u8,
    /// Batches by their first point's index (so a late batch lands where it belongs).
    batches: BTreeMap<u32, Vec<Point>>,
}

impl LiveStroke {
    /// Its points so far, in stroke order (a lost batch leaves a straight gap until the stroke is finished).
    pub fn points(&self) -> Vec<Point> {
        self.batches.values().flatten().copied().collect()
    }
}

/// What this peer shows of the others' live data.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Live {
    /// One per peer that has a cursor on the board, in order of first arrival.
    cursors: Vec<Cursor>,
    /// At most one per author: its newest stroke in progress.
    strokes: Vec<LiveStroke>,
    /// Per author, the newest stroke that arrived finished (ids grow per author).
    finished: HashMap<PeerId, u64>,
}

impl Live {
    /// The cursors.
    pub fn cursors(&self) -> &[Cursor] {
        &self.cursors
    }

    /// The strokes in progress.
    pub fn strokes(&self) -> &[LiveStroke] {
        &self.strokes
    }

    /// Applies `msg` from `from` (stamped by the host).
    pub fn apply(&mut self, from: &PeerId, msg: &LiveMessage) {
        match (msg.at.and_then(normalized), self.cursors.iter().position(|c| c.peer == *from)) {
            (Some(at), Some(i)) => {
                self.cursors[i].at = at;
                self.cursors[i].moves += 1;
            }
            (Some(at), None) => self.cursors.push(Cursor { peer: from.clone(), at, moves: 1 }),
            (None, Some(i)) => {
                self.cursors.remove(i);
            }
            (None, None) => {}
        }
        if let Some(ink) = &msg.ink {
            self.ink(from, ink);
        }
    }

    fn ink(&mut self, from: &PeerId, ink: &LiveInk) {
        if self.finished.get(from).is_some_and(|done| ink.stroke <= *done) || ink.start as usize >= MAX_STROKE_POINTS {
            return;
        }
        let fresh = || LiveStroke { author: from.clone(), id: ink.stroke, color: ink.color, batches: BTreeMap::new() };
        match self.strokes.iter().position(|s| s.author == *from) {
            Some(i) if self.strokes[i].id == ink.stroke => {}
            Some(i) if self.strokes[i].id > ink.stroke => return,
            Some(i) => self.strokes[i] = fresh(),
            None => self.strokes.push(fresh()),
        }
        let Some(stroke) = self.strokes.iter_mut().find(|s| s.author == *from) else { return };
        let room = MAX_STROKE_POINTS.saturating_sub(stroke.batches.values().map(Vec::len).sum());
        let points: Vec<Point> = ink.points.iter().filter_map(|p| normalized(*p)).take(room).collect();
        if !points.is_empty() {
            stroke.batches.insert(ink.start, points);
        }
    }

    /// `author`'s stroke `id` arrived finished (reliable path): its live version goes, late batches are ignored.
    pub fn finished(&mut self, author: &PeerId, id: u64) {
        let done = self.finished.entry(author.clone()).or_insert(id);
        *done = (*done).max(id);
        self.strokes.retain(|s| s.author != *author || s.id > id);
    }

    /// The board was cleared: strokes in progress go too (their finished versions will come).
    pub fn clear(&mut self) {
        self.strokes.clear();
    }

    /// Forgets every peer not in `present` (it left the room, or this peer left it).
    pub fn retain_peers(&mut self, present: &[PeerId]) {
        self.cursors.retain(|c| present.contains(&c.peer));
        self.strokes.retain(|s| present.contains(&s.author));
        self.finished.retain(|peer, _| present.contains(peer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(id: &str) -> PeerId {
        PeerId(id.to_owned())
    }

    fn ink(stroke: u64, start: u32, points: &[Point]) -> LiveMessage {
        LiveMessage {
            at: points.last().copied(),
            ink: Some(LiveInk { stroke, color: 2, start, points: points.to_vec() }),
        }
    }

    #[test]
    fn cursors_follow_each_peer_count_moves_and_leave() {
        let (a, b) = (peer("ada#1"), peer("bob#1"));
        let mut live = Live::default();
        live.apply(&a, &LiveMessage { at: Some([0.1, 0.2]), ink: None });
        live.apply(&b, &LiveMessage { at: Some([2.0, 0.5]), ink: None });
        live.apply(&a, &LiveMessage { at: Some([0.3, 0.4]), ink: None });
        assert_eq!(live.cursors()[0], Cursor { peer: a.clone(), at: [0.3, 0.4], moves: 2 });
        assert_eq!(live.cursors()[1].at, [1.0, 0.5], "clamped to the board");
        live.apply(&a, &LiveMessage { at: Some([f32::NAN, 0.0]), ink: None });
        assert_eq!(live.cursors().len(), 1, "a cursor off the board (or not a number) is hidden");
        live.retain_peers(std::slice::from_ref(&a));
        assert!(live.cursors().is_empty(), "bob left");
    }

    #[test]
    fn batches_land_in_stroke_order_whatever_order_they_arrive_in() {
        let a = peer("ada#1");
        let mut live = Live::default();
        live.apply(&a, &ink(5, 2, &[[0.3, 0.3], [0.4, 0.4]]));
        live.apply(&a, &ink(5, 0, &[[0.1, 0.1], [0.2, 0.2]]));
        live.apply(&a, &ink(5, 0, &[[0.1, 0.1], [0.2, 0.2]]));
        assert_eq!(live.strokes()[0].points(), vec![[0.1, 0.1], [0.2, 0.2], [0.3, 0.3], [0.4, 0.4]]);
        live.apply(&a, &ink(4, 0, &[[0.9, 0.9]]));
        assert_eq!(live.strokes()[0].id, 5, "an older stroke's late batch is ignored");
        live.apply(&a, &ink(6, 0, &[[0.5, 0.5]]));
        assert_eq!((live.strokes().len(), live.strokes()[0].id), (1, 6), "one stroke in progress per author");
    }

    #[test]
    fn a_finished_stroke_replaces_its_live_version_for_good() {
        let (a, b) = (peer("ada#1"), peer("bob#1"));
        let mut live = Live::default();
        live.apply(&a, &ink(5, 0, &[[0.1, 0.1]]));
        live.apply(&b, &ink(9, 0, &[[0.1, 0.1]]));
        live.finished(&a, 5);
        assert_eq!(live.strokes().iter().map(|s| s.author.clone()).collect::<Vec<_>>(), vec![b.clone()]);
        live.apply(&a, &ink(5, 1, &[[0.2, 0.2]]));
        assert_eq!(live.strokes().len(), 1, "a late batch of a finished stroke does not bring it back");
        live.apply(&a, &ink(7, 0, &[[0.2, 0.2]]));
        assert_eq!(live.strokes().len(), 2, "the next stroke shows");
        live.clear();
        assert!(live.strokes().is_empty());
        let long = vec![[0.5, 0.5]; MAX_STROKE_POINTS + 5];
        live.apply(&b, &ink(10, 0, &long));
        assert_eq!(live.strokes()[0].points().len(), MAX_STROKE_POINTS, "bounded like a board stroke");
    }
}
