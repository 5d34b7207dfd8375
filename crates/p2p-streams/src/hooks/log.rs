//! The pure parts of the typed hook (compiled on both sides, tested natively): placing a message at its
//! position in the session order, decoding a delivered message into the app's type once, and keeping count of
//! the messages that did not decode (with the last few reasons) instead of skipping them silently.

use crate::delivery::{Entry, Pos};
use crate::protocol::PeerId;
use serde::de::DeserializeOwned;
use std::collections::VecDeque;

/// One typed message received in the room. `(from, seq)` identifies it; `(epoch, index)` is its place in
/// the session order, the same on every peer.
#[derive(Clone, Debug, PartialEq)]
pub struct Received<T> {
    /// Sender, stamped by the host (never taken from the payload).
    pub from: PeerId,
    /// The sender's sequence number.
    pub seq: u64,
    /// Epoch of the host that ordered it.
    pub epoch: u64,
    /// Index within the epoch.
    pub index: u64,
    /// The message.
    pub data: T,
}

/// A delivered message that did not deserialize as the hook's message type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeFailure {
    /// Sender, stamped by the host.
    pub from: PeerId,
    /// The sender's sequence number.
    pub seq: u64,
    /// What serde said.
    pub reason: String,
}

/// How many reasons [`DecodeFailures`] keeps.
pub const RECENT_DECODE_FAILURES: usize = 16;

/// Decode failures of one message type: a total and the last [`RECENT_DECODE_FAILURES`] reasons. A message
/// seen again (restored after a reload, moved to a new place in the order) is not counted twice while its
/// failure is among the recent ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodeFailures {
    /// Messages that did not decode, in total.
    pub count: u64,
    /// The most recent failures, oldest first.
    pub recent: VecDeque<DecodeFailure>,
}

impl DecodeFailures {
    /// Records `failure`; returns false when it was already counted.
    pub fn record(&mut self, failure: DecodeFailure) -> bool {
        if self.recent.iter().any(|f| f.from == failure.from && f.seq == failure.seq) {
            return false;
        }
        self.count += 1;
        self.recent.push_back(failure);
        while self.recent.len() > RECENT_DECODE_FAILURES {
            self.recent.pop_front();
        }
        true
    }
}

/// A message with an id and a place in the session order: raw entries and typed messages alike.
#[cfg_attr(not(any(test, feature = "hydrate")), allow(dead_code))]
pub(crate) trait Ordered {
    /// `(from, seq)`.
    fn same(&self, from: &PeerId, seq: u64) -> bool;
    /// Its place in the order.
    fn position(&self) -> Pos;
}

impl Ordered for Entry {
    fn same(&self, from: &PeerId, seq: u64) -> bool {
        self.seq == seq && &self.from == from
    }
    fn position(&self) -> Pos {
        self.pos()
    }
}

impl<T> Ordered for Received<T> {
    fn same(&self, from: &PeerId, seq: u64) -> bool {
        self.seq == seq && &self.from == from
    }
    fn position(&self) -> Pos {
        Pos { epoch: self.epoch, index: self.index }
    }
}

/// Puts `message` at its place in `list` (sorted by position), replacing an earlier copy of the same message,
/// and keeps at most `limit` (at least 1) of the latest.
#[cfg_attr(not(any(test, feature = "hydrate")), allow(dead_code))]
pub(crate) fn place<M: Ordered>(list: &mut Vec<M>, message: M, from: &PeerId, seq: u64, limit: usize) {
    list.retain(|m| !m.same(from, seq));
    let pos = message.position();
    let at = list.partition_point(|m| m.position() < pos);
    list.insert(at, message);
    let excess = list.len().saturating_sub(limit.max(1));
    list.drain(..excess);
}

/// Decodes one delivered message as `T`.
pub fn decode<T: DeserializeOwned>(raw: &Entry) -> Result<Received<T>, DecodeFailure> {
    match T::deserialize(&raw.payload) {
        Ok(data) => Ok(Received { from: raw.from.clone(), seq: raw.seq, epoch: raw.epoch, index: raw.index, data }),
        Err(err) => Err(DecodeFailure { from: raw.from.clone(), seq: raw.seq, reason: err.to_string() }),
    }
}

/// Decodes `raw` once and files it: into `messages` at its place, or into `failures`. Returns the decoded
/// message (for listeners).
#[cfg_attr(not(any(test, feature = "hydrate")), allow(dead_code))]
pub(crate) fn file<T: DeserializeOwned + Clone + 'static>(
    codec: super::codec::Codec,
    messages: &mut Vec<Received<T>>,
    failures: &mut DecodeFailures,
    raw: &Entry,
    limit: usize,
) -> Option<Received<T>> {
    match super::codec::decode_entry::<T>(codec, raw)? {
        Ok(received) => {
            place(messages, received.clone(), &raw.from, raw.seq, limit);
            Some(received)
        }
        Err(failure) => {
            messages.retain(|m| !m.same(&raw.from, raw.seq));
            failures.record(failure);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Clone, Debug, PartialEq, Deserialize)]
    struct Chat {
        text: String,
    }

    fn entry(user: &str, seq: u64, index: u64, payload: serde_json::Value) -> Entry {
        Entry { from: PeerId(format!("{user}#t")), seq, epoch: 1, index, payload, bytes: None, sig: None }
    }

    #[test]
    fn decodes_once_in_order_and_keeps_the_latest() {
        let (mut messages, mut failures) = (Vec::<Received<Chat>>::new(), DecodeFailures::default());
        for (seq, index) in [(1, 2), (2, 1), (3, 3)] {
            let raw = entry("ann", seq, index, serde_json::json!({ "text": format!("m{seq}") }));
            assert!(file(super::super::codec::Codec::Json, &mut messages, &mut failures, &raw, 2).is_some());
        }
        let texts: Vec<_> = messages.iter().map(|m| m.data.text.as_str()).collect();
        assert_eq!(texts, ["m1", "m3"]);
        assert_eq!(failures, DecodeFailures::default());
    }

    #[test]
    fn a_moved_message_is_replaced_not_duplicated() {
        let (mut messages, mut failures) = (Vec::<Received<Chat>>::new(), DecodeFailures::default());
        let raw = entry("ann", 1, 1, serde_json::json!({ "text": "a" }));
        file(super::super::codec::Codec::Json, &mut messages, &mut failures, &raw, 10);
        let moved = Entry { epoch: 2, index: 5, ..raw };
        file(super::super::codec::Codec::Json, &mut messages, &mut failures, &moved, 10);
        assert_eq!(messages.len(), 1);
        assert_eq!((messages[0].epoch, messages[0].index), (2, 5));
    }

    #[test]
    fn failures_are_counted_with_sender_and_reason_once_per_message() {
        let (mut messages, mut failures) = (Vec::<Received<Chat>>::new(), DecodeFailures::default());
        let bad = entry("bob", 7, 1, serde_json::json!({ "txt": 1 }));
        assert!(file(super::super::codec::Codec::Json, &mut messages, &mut failures, &bad, 10).is_none());
        assert!(file(super::super::codec::Codec::Json, &mut messages, &mut failures, &bad, 10).is_none());
        assert!(messages.is_empty());
        assert_eq!(failures.count, 1);
        let last = failures.recent.back().map(|f| (f.from.0.as_str(), f.seq, f.reason.contains("text")));
        assert_eq!(last, Some(("bob#t", 7, true)));
    }

    #[test]
    fn only_the_recent_failures_are_kept_but_all_are_counted() {
        let mut failures = DecodeFailures::default();
        for seq in 0..(RECENT_DECODE_FAILURES as u64 + 4) {
            failures.record(DecodeFailure { from: PeerId("x#t".into()), seq, reason: "bad".into() });
        }
        assert_eq!(failures.count, RECENT_DECODE_FAILURES as u64 + 4);
        assert_eq!(failures.recent.len(), RECENT_DECODE_FAILURES);
        assert_eq!(failures.recent.front().map(|f| f.seq), Some(4));
    }
}
