//! Decoders of the delivery state a browser keeps in sessionStorage ([`LogSnapshot`], [`OutboxSnapshot`]),
//! with the field helpers of `decode` (shared code, like the rest of the module).

use super::{base64, entry, list, pair, pos, string, two, u64_of, DecodeError, Fields, Result};
use crate::delivery::{LogSnapshot, OutboxSnapshot};
use crate::protocol::PeerId;
use serde_json::Value;

impl LogSnapshot {
    /// Decodes the derived `Serialize`'s JSON, parsed.
    ///
    /// # Errors
    /// [`DecodeError`] when `value` is not such a snapshot.
    pub fn decode(value: Value) -> Result<Self> {
        let mut f = Fields::of(value, "log")?;
        Ok(LogSnapshot {
            entries: f.list("entries", |v| {
                let [entry_value, stored] = two(v, "entries")?;
                Ok((entry(entry_value)?, stored.as_f64().ok_or(DecodeError::Invalid("entries"))?))
            })?,
            tips: f.list("tips", pair)?,
            high_water: f.list("high_water", |v| {
                let [peer, seq] = two(v, "high_water")?;
                Ok((PeerId(string(peer, "high_water")?), u64_of(seq, "high_water")?))
            })?,
            pruned: f.list("pruned", pos)?,
            certs: f.certs()?,
        })
    }
}

impl OutboxSnapshot {
    /// Decodes the derived `Serialize`'s JSON, parsed.
    ///
    /// # Errors
    /// [`DecodeError`] when `value` is not such a snapshot.
    pub fn decode(value: Value) -> Result<Self> {
        let mut f = Fields::of(value, "outbox")?;
        Ok(OutboxSnapshot {
            next_seq: f.u64("next_seq")?,
            pending: f.list("pending", |v| {
                let [seq, payload] = two(v, "pending")?;
                Ok((u64_of(seq, "pending")?, payload))
            })?,
            // `default` without `Option`: absent is empty, `null` is an error (as for the derived decoder).
            binary: match f.0.remove("binary") {
                Some(items) => list(items, "binary", |v| {
                    let [seq, bytes] = two(v, "binary")?;
                    Ok((u64_of(seq, "binary")?, base64(bytes, "binary")?))
                })?,
                None => Vec::new(),
            },
        })
    }
}
