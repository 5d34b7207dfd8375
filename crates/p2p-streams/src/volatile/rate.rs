//! The host's per-peer rate cap on volatile messages (shared, pure): a token bucket per client that refills
//! at [`VolatileRate::per_second`] up to [`VolatileRate::burst`]; a message finding the bucket empty is
//! dropped (and counted) instead of relayed, so one flooding client cannot flood the room through its host.

use serde::{Deserialize, Serialize};

/// How many volatile messages per second the host relays from each client (`P2pConfig::volatile_rate`).
/// Only the host's value counts (it is the one relaying); give every page of a room the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolatileRate {
    /// Sustained messages per second per client. Default 60 (a cursor at a display's refresh rate).
    pub per_second: u32,
    /// Messages a client may send at once above the sustained rate (the bucket's size). Default 60.
    pub burst: u32,
}

impl Default for VolatileRate {
    fn default() -> Self {
        VolatileRate { per_second: 60, burst: 60 }
    }
}

/// One client's token bucket. Starts full.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenBucket {
    /// Tokens added per millisecond.
    per_ms: f64,
    /// The most tokens it holds.
    capacity: f64,
    /// Tokens now (fractional while refilling).
    tokens: f64,
    /// When `tokens` was last brought up to date (ms); `None` before the first message.
    last: Option<f64>,
}

impl TokenBucket {
    /// A full bucket for `rate` (a burst of 0 still lets one message through: the bucket holds at least one).
    pub fn new(rate: VolatileRate) -> TokenBucket {
        let capacity = f64::from(rate.burst.max(1));
        TokenBucket { per_ms: f64::from(rate.per_second) / 1000.0, capacity, tokens: capacity, last: None }
    }

    /// Takes one token at time `now_ms` if there is one: `true` means the message may go. A clock that goes
    /// backwards adds nothing.
    pub fn try_take(&mut self, now_ms: f64) -> bool {
        if let Some(last) = self.last {
            let elapsed = (now_ms - last).max(0.0);
            if elapsed.is_finite() {
                self.tokens = (self.tokens + elapsed * self.per_ms).min(self.capacity);
            }
        }
        if self.last.is_none_or(|last| now_ms > last) {
            self.last = Some(now_ms);
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}
