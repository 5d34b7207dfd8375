//! The sending side of delivery (shared by both sides): [`Outbox`] numbers this peer's messages and keeps
//! each one until the host's order includes it; [`Sequencer`] hands out a host's positions.

use super::{next_epoch, Bytes, Payload, Pos, Tips};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// The persisted form of an [`Outbox`] (sessionStorage survives a reload).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OutboxSnapshot {
    /// The next sequence number.
    pub next_seq: u64,
    /// Unacknowledged JSON messages, oldest first.
    pub pending: Vec<(u64, serde_json::Value)>,
    /// Unacknowledged binary messages, oldest first (absent when there are none, as in older snapshots).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub binary: Vec<(u64, Bytes)>,
}

/// This peer's unacknowledged messages, resent after every reconnect until acknowledged.
#[derive(Clone, Debug, PartialEq)]
pub struct Outbox {
    next_seq: u64,
    pending: VecDeque<(u64, Payload)>,
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox { next_seq: 1, pending: VecDeque::new() }
    }
}

impl Outbox {
    /// Numbers `payload` and keeps it; returns its sequence number.
    pub fn push(&mut self, payload: Payload) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending.push_back((seq, payload));
        seq
    }

    /// The host ordered message `seq`: it no longer needs resending.
    pub fn ack(&mut self, seq: u64) -> bool {
        let before = self.pending.len();
        self.pending.retain(|(s, _)| *s != seq);
        before != self.pending.len()
    }

    /// Puts message `seq` back (its host's order was lost before anyone else got it), in sequence order.
    pub fn requeue(&mut self, seq: u64, payload: Payload) {
        if self.pending.iter().any(|(s, _)| *s == seq) {
            return;
        }
        let at = self.pending.iter().position(|(s, _)| *s > seq).unwrap_or(self.pending.len());
        self.pending.insert(at, (seq, payload));
        self.next_seq = self.next_seq.max(seq + 1);
    }

    /// The host has ordered every message up to `seq` (its high-water mark for this peer).
    pub fn ack_through(&mut self, seq: u64) {
        self.pending.retain(|(s, _)| *s > seq);
    }

    /// Unacknowledged messages, oldest first.
    pub fn pending(&self) -> impl Iterator<Item = &(u64, Payload)> {
        self.pending.iter()
    }

    /// Unacknowledged messages after `seq` (those not yet sent on the current link).
    pub fn pending_after(&self, seq: u64) -> impl Iterator<Item = &(u64, Payload)> {
        self.pending.iter().filter(move |(s, _)| *s > seq)
    }

    /// Number of unacknowledged messages.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether every message was acknowledged.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// The persisted form.
    pub fn snapshot(&self) -> OutboxSnapshot {
        let (mut pending, mut binary) = (Vec::new(), Vec::new());
        for (seq, payload) in &self.pending {
            match payload {
                Payload::Json(value) => pending.push((*seq, value.clone())),
                Payload::Bytes(bytes) => binary.push((*seq, Bytes(bytes.clone()))),
            }
        }
        OutboxSnapshot { next_seq: self.next_seq, pending, binary }
    }

    /// An outbox restored from `snapshot` (sequence numbers continue, never reused).
    pub fn restore(snapshot: OutboxSnapshot) -> Self {
        let json = snapshot.pending.into_iter().map(|(seq, value)| (seq, Payload::Json(value)));
        let binary = snapshot.binary.into_iter().map(|(seq, Bytes(bytes))| (seq, Payload::Bytes(bytes)));
        let mut pending: Vec<_> = json.chain(binary).collect();
        pending.sort_by_key(|(seq, _)| *seq);
        let after_pending = pending.iter().map(|(s, _)| s + 1).max().unwrap_or(1);
        Outbox { next_seq: snapshot.next_seq.max(after_pending).max(1), pending: pending.into() }
    }
}

/// A host's positions: its epoch and the next index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sequencer {
    epoch: u64,
    last_index: u64,
}

impl Sequencer {
    /// A new host's sequencer: an epoch above every epoch in `tips` (`random` breaks ties between hosts
    /// that never heard of each other).
    pub fn new(tips: &Tips, random: u32) -> Self {
        Sequencer { epoch: next_epoch(tips, random), last_index: 0 }
    }

    /// This host's epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The next position.
    pub fn next_pos(&mut self) -> Pos {
        self.last_index += 1;
        Pos { epoch: self.epoch, index: self.last_index }
    }
}
