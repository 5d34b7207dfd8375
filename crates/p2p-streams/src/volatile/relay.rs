//! What a host does with one volatile frame from a client (shared, pure; the browser driver's `volatile.rs`
//! only carries the verdict out): decode it, stamp the sender from the link it came on, apply that client's
//! rate cap, and relay it to every other peer. Nothing is kept: no history, no outbox, no replay.

use super::{TokenBucket, VolatileError, VolatileFrame, VolatileMessage, VolatileRate};
use crate::protocol::PeerId;
use std::collections::HashMap;

/// Why the host did not relay a client's volatile frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VolatileDrop {
    /// The client is over its rate cap: counted (`volatile_dropped`), not an error.
    RateLimited,
    /// The frame is bad input (malformed, oversized): reported like any bad frame (`dropped_messages`).
    Invalid(VolatileError),
}

/// The host's verdict on one client frame.
#[derive(Clone, Debug, PartialEq)]
pub enum VolatileVerdict {
    /// Deliver here and send `text` (the stamped frame, serialized once) to every client but the sender.
    Relay {
        /// The message, stamped, for the host's own app.
        message: VolatileMessage,
        /// The stamped frame for the other clients.
        text: String,
    },
    /// Drop it.
    Drop(VolatileDrop),
}

/// The host's volatile relay state: one token bucket per client. A new host starts with an empty one.
#[derive(Clone, Debug, Default)]
pub struct VolatileRelay {
    /// The cap every client gets.
    rate: VolatileRate,
    /// Per client, created at its first message and forgotten with its link.
    buckets: HashMap<PeerId, TokenBucket>,
}

impl VolatileRelay {
    /// A relay capping each client at `rate`.
    pub fn new(rate: VolatileRate) -> VolatileRelay {
        VolatileRelay { rate, buckets: HashMap::new() }
    }

    /// Client `from`'s frame `text`, arrived at `now_ms` on `from`'s link. The sender is `from`, whatever
    /// the frame says. A bad frame is refused before it costs a token.
    pub fn on_client(&mut self, from: &PeerId, text: &str, now_ms: f64) -> VolatileVerdict {
        let frame = match VolatileFrame::decode(text) {
            Ok(frame) => frame,
            Err(err) => return VolatileVerdict::Drop(VolatileDrop::Invalid(err)),
        };
        let rate = self.rate;
        let bucket = self.buckets.entry(from.clone()).or_insert_with(|| TokenBucket::new(rate));
        if !bucket.try_take(now_ms) {
            return VolatileVerdict::Drop(VolatileDrop::RateLimited);
        }
        let stamped = VolatileFrame { from: Some(from.clone()), payload: frame.payload };
        let text = stamped.encode();
        VolatileVerdict::Relay { message: VolatileMessage { from: from.clone(), payload: stamped.payload }, text }
    }

    /// The host's own message: the stamped frame for every client (the host's own app does not get it
    /// back, and the host does not cap itself).
    pub fn own(&self, me: &PeerId, payload: crate::delivery::Payload) -> String {
        VolatileFrame { from: Some(me.clone()), payload }.encode()
    }

    /// Forgets `peer`'s bucket (its link is gone; a new link starts with a full bucket).
    pub fn forget(&mut self, peer: &PeerId) {
        self.buckets.remove(peer);
    }

    /// Who gets a message from `sender`: every peer in `linked` but the sender.
    pub fn targets<'a>(sender: &'a PeerId, linked: impl IntoIterator<Item = &'a PeerId>) -> Vec<&'a PeerId> {
        linked.into_iter().filter(|peer| *peer != sender).collect()
    }
}
