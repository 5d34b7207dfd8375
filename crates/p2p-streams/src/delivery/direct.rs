//! Messages to one peer (`send_to`; shared by both sides, pure). They go through the host like every message,
//! which stamps the sender and hands them to the target's link only; they take no position in the session
//! order and never enter any log, so no other peer ever sees them, not even in a replay.
//!
//! What is guaranteed: the sender keeps each one ([`Directs`], in memory) until the host answers
//! `DirectAck` (handed to the target's open link, or taken by the host itself) or `DirectFailed` (the target
//! is not connected to the host: the app sees the failure). Unanswered ones are sent again after every new
//! link to a host, the same or a new one, and a receiver drops the copies it already took (by sender and
//! id), so a reconnect of the sender loses nothing and duplicates nothing. Not covered: a reload of the
//! sender's tab before the answer (they are not in sessionStorage), and a target whose link breaks while the
//! message is on its way from the host (the sender already had its `DirectAck`).

use super::Payload;
use crate::protocol::PeerId;
use std::collections::{HashMap, VecDeque};

/// Most unanswered direct messages a peer keeps; past that the oldest is reported as failed.
pub const MAX_PENDING_DIRECTS: usize = 1_000;

/// Ids remembered per sender to drop repeated copies.
const SEEN_PER_SENDER: usize = 256;

/// A direct message as its target receives it.
#[derive(Clone, Debug, PartialEq)]
pub struct DirectMessage {
    /// The sender, stamped by the host from the link it came on.
    pub from: PeerId,
    /// The sender's id of this direct message (1, 2, 3 ...).
    pub id: u64,
    /// Its content.
    pub payload: Payload,
}

/// Where the host sends a direct message.
#[derive(Clone, Debug, PartialEq)]
pub enum DirectRoute {
    /// The host is the target: deliver here.
    Local,
    /// Forward to this connected peer.
    Forward(PeerId),
    /// The target is not connected to the host.
    Unknown,
}

/// One peer's direct messages: the unanswered ones it sent, and the ids it took from each sender.
#[derive(Clone, Debug, Default)]
pub struct Directs {
    last_id: u64,
    pending: VecDeque<(u64, PeerId, Payload)>,
    seen: HashMap<PeerId, VecDeque<u64>>,
}

impl Directs {
    /// Numbers a message to `to` and keeps it until answered. Returns its id, and the oldest unanswered one
    /// if it had to make room ([`MAX_PENDING_DIRECTS`]): to be reported as failed.
    pub fn push(&mut self, to: PeerId, payload: Payload) -> (u64, Option<(u64, PeerId)>) {
        self.last_id += 1;
        self.pending.push_back((self.last_id, to, payload));
        let evicted = if self.pending.len() > MAX_PENDING_DIRECTS {
            self.pending.pop_front().map(|(id, to, _)| (id, to))
        } else {
            None
        };
        (self.last_id, evicted)
    }

    /// The host answered message `id` (delivered or failed): it is not sent again. Returns its target if it
    /// was still pending.
    pub fn answered(&mut self, id: u64) -> Option<PeerId> {
        let at = self.pending.iter().position(|(i, _, _)| *i == id)?;
        self.pending.remove(at).map(|(_, to, _)| to)
    }

    /// The unanswered messages, oldest first: `(id, target, content)`.
    pub fn pending(&self) -> impl Iterator<Item = &(u64, PeerId, Payload)> {
        self.pending.iter()
    }

    /// Takes the unanswered messages to `to` (a host that was their sender hands them over itself).
    pub fn take_for(&mut self, to: &PeerId) -> Vec<(u64, Payload)> {
        let (mine, rest): (VecDeque<_>, VecDeque<_>) =
            std::mem::take(&mut self.pending).into_iter().partition(|(_, t, _)| t == to);
        self.pending = rest;
        mine.into_iter().map(|(id, _, payload)| (id, payload)).collect()
    }

    /// Whether message `id` from `from` is new here (false for a copy sent again after a reconnect).
    pub fn first_time(&mut self, from: &PeerId, id: u64) -> bool {
        let seen = self.seen.entry(from.clone()).or_default();
        if seen.contains(&id) {
            return false;
        }
        seen.push_back(id);
        if seen.len() > SEEN_PER_SENDER {
            seen.pop_front();
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(name: &str) -> PeerId {
        PeerId(name.into())
    }

    #[test]
    fn unanswered_messages_are_kept_in_order_until_the_host_answers() {
        let mut directs = Directs::default();
        let (a, _) = directs.push(peer("b"), Payload::Json(1.into()));
        let (b, _) = directs.push(peer("c"), Payload::Bytes(vec![2]));
        let (c, _) = directs.push(peer("b"), Payload::Json(3.into()));
        assert_eq!((a, b, c), (1, 2, 3));
        assert_eq!(directs.answered(2), Some(peer("c")));
        assert_eq!(directs.answered(2), None, "answered once");
        assert_eq!(directs.pending().map(|(id, _, _)| *id).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(directs.take_for(&peer("b")).len(), 2);
        assert_eq!(directs.pending().count(), 0);
    }

    #[test]
    fn the_pending_list_is_bounded_and_reports_what_it_drops() {
        let mut directs = Directs::default();
        for _ in 0..MAX_PENDING_DIRECTS {
            assert_eq!(directs.push(peer("b"), Payload::Json(0.into())).1, None);
        }
        assert_eq!(directs.push(peer("b"), Payload::Json(0.into())).1, Some((1, peer("b"))));
        assert_eq!(directs.pending().count(), MAX_PENDING_DIRECTS);
    }

    #[test]
    fn a_receiver_takes_each_message_once_per_sender() {
        let mut directs = Directs::default();
        assert!(directs.first_time(&peer("a"), 1));
        assert!(!directs.first_time(&peer("a"), 1));
        assert!(directs.first_time(&peer("b"), 1), "ids are per sender");
        for id in 2..(SEEN_PER_SENDER as u64 + 10) {
            assert!(directs.first_time(&peer("a"), id));
        }
        assert!(!directs.first_time(&peer("a"), 20));
    }
}
