//! Volatile messages (shared by both sides, pure: tested natively): latest-value data such as cursor
//! positions or a stroke being drawn, sent many times a second where a lost or late message does not matter
//! because the next one replaces it.
//!
//! They travel on a second data channel of every link, labelled [`VOLATILE_CHANNEL_LABEL`], that the host
//! opens beside the reliable one with `ordered: false, maxRetransmits: 0`: no retransmission, no order, no
//! head-of-line blocking behind a large reliable message. Like everything else they go through the host,
//! which stamps the sender from the link the message came on and relays it to every other peer; unlike the
//! reliable path there is no sequence number, outbox, history or replay: a message that cannot go now is
//! gone, and nothing sent before a reconnect is ever delivered after it.
//!
//! - [`VolatileFrame`]: the one frame of the volatile channel, as JSON text (format below).
//! - [`TokenBucket`] and [`VolatileRate`] (`rate.rs`): the host's per-peer rate cap.
//! - [`VolatileRelay`] (`relay.rs`): what the host does with a client's frame (relay, or drop and say why).
//!
//! Wire format, one text data-channel message (never chunked: a frame is at most [`MAX_VOLATILE_FRAME`]
//! characters, well under every SCTP stack's message limit):
//!
//! ```text
//! {"type":"Volatile","payload":{...}}                      client -> host, JSON message
//! {"type":"Volatile","payload":null,"bytes":"AQI="}        client -> host, binary message (base64)
//! {"type":"Volatile","from":"ada#t1","payload":{...}}      host -> client, sender stamped by the host
//! ```
//!
//! A `from` in a client's frame is ignored (the host overwrites it); a host frame without one is malformed.

mod rate;
mod relay;
#[cfg(test)]
mod tests;

pub use rate::{TokenBucket, VolatileRate};
pub use relay::{VolatileDrop, VolatileRelay, VolatileVerdict};

use crate::delivery::{Bytes, Payload};
use crate::protocol::PeerId;
use serde_json::{Map, Value};

/// Label of the volatile data channel (the reliable one is `protocol::DATA_CHANNEL_LABEL`).
pub const VOLATILE_CHANNEL_LABEL: &str = "p2p-streams-volatile";

/// Largest volatile message, in bytes as `Payload::size` counts them (a JSON message's text, a binary
/// message's bytes): 16 KiB. A longer one is refused by the sender (`SendError::TooLarge`) and never chunked.
pub const MAX_VOLATILE_BYTES: usize = 16 * 1024;

/// Largest volatile frame a peer accepts, in bytes of JSON text: the payload as base64 (4/3 of
/// [`MAX_VOLATILE_BYTES`]) plus room for the envelope and the stamped sender.
pub const MAX_VOLATILE_FRAME: usize = MAX_VOLATILE_BYTES * 4 / 3 + 1024;

/// The frame's `type` tag.
const TAG: &str = "Volatile";

/// Why a volatile frame was refused: bad input from the peer that sent it (reported, never fatal).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VolatileError {
    /// The frame is longer than [`MAX_VOLATILE_FRAME`], or its content longer than [`MAX_VOLATILE_BYTES`].
    #[error("a {size} byte volatile message, over the limit of {limit} bytes")]
    TooLarge {
        /// The frame's (or its content's) size.
        size: usize,
        /// The limit it broke.
        limit: usize,
    },
    /// Not JSON, not an object, not tagged `Volatile`, or a field of the wrong type.
    #[error("malformed volatile frame: {0}")]
    Malformed(&'static str),
    /// A frame from the host that names no sender.
    #[error("a volatile frame from the host without a sender")]
    Unstamped,
}

/// One volatile message on the wire.
#[derive(Clone, Debug, PartialEq)]
pub struct VolatileFrame {
    /// The sender, stamped by the host; `None` in a client's frame to its host.
    pub from: Option<PeerId>,
    /// The message.
    pub payload: Payload,
}

impl VolatileFrame {
    /// The frame's JSON text.
    pub fn encode(&self) -> String {
        let mut object = Map::new();
        object.insert("type".into(), Value::String(TAG.into()));
        if let Some(from) = &self.from {
            object.insert("from".into(), Value::String(from.0.clone()));
        }
        let (payload, bytes) = self.payload.clone().into_parts();
        object.insert("payload".into(), payload);
        if let Some(bytes) = bytes {
            object.insert("bytes".into(), Value::String(bytes.to_base64()));
        }
        Value::Object(object).to_string()
    }

    /// Decodes a frame, refusing one longer than [`MAX_VOLATILE_FRAME`] before parsing it and one whose
    /// content is longer than [`MAX_VOLATILE_BYTES`].
    ///
    /// # Errors
    /// [`VolatileError::TooLarge`] or [`VolatileError::Malformed`].
    pub fn decode(text: &str) -> Result<VolatileFrame, VolatileError> {
        if text.len() > MAX_VOLATILE_FRAME {
            return Err(VolatileError::TooLarge { size: text.len(), limit: MAX_VOLATILE_FRAME });
        }
        let Ok(Value::Object(mut object)) = serde_json::from_str::<Value>(text) else {
            return Err(VolatileError::Malformed("not a JSON object"));
        };
        if object.get("type").and_then(Value::as_str) != Some(TAG) {
            return Err(VolatileError::Malformed("not tagged Volatile"));
        }
        let from = match object.remove("from") {
            None | Some(Value::Null) => None,
            Some(Value::String(from)) => Some(PeerId(from)),
            Some(_) => return Err(VolatileError::Malformed("`from` is not a string")),
        };
        let payload = object.remove("payload").ok_or(VolatileError::Malformed("missing field `payload`"))?;
        let bytes = match object.remove("bytes") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => {
                Some(Bytes::from_base64(&text).map_err(|_| VolatileError::Malformed("`bytes` is not base64"))?)
            }
            Some(_) => return Err(VolatileError::Malformed("`bytes` is not a string")),
        };
        let payload = Payload::from_parts(payload, bytes);
        let size = payload.size();
        if size > MAX_VOLATILE_BYTES {
            return Err(VolatileError::TooLarge { size, limit: MAX_VOLATILE_BYTES });
        }
        Ok(VolatileFrame { from, payload })
    }

    /// Decodes a frame from the host: it must name its sender.
    ///
    /// # Errors
    /// Those of [`decode`](Self::decode), and [`VolatileError::Unstamped`].
    pub fn decode_from_host(text: &str) -> Result<(PeerId, Payload), VolatileError> {
        let frame = VolatileFrame::decode(text)?;
        let from = frame.from.ok_or(VolatileError::Unstamped)?;
        Ok((from, frame.payload))
    }
}

/// A volatile message as an app receives it.
#[derive(Clone, Debug, PartialEq)]
pub struct VolatileMessage {
    /// The sender, stamped by the host from the link the message came on (never from the payload).
    pub from: PeerId,
    /// Its content.
    pub payload: Payload,
}
