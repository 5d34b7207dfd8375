//! Large data-channel frames (shared by both sides, pure: tested natively). A serialized frame longer than
//! [`CHUNK_BYTES`] travels as binary data-channel messages of at most that many bytes of data each; a shorter
//! one travels whole as a text message, as it always did (so older peers still understand small frames).
//!
//! - [`Outgoing`]: one link's send queue. Frames leave in the order they were queued (the delivery order
//!   depends on it); a long one is cut into chunks lazily, one at a time, so the browser driver can stop at
//!   its `bufferedAmount` high-water mark and resume on `bufferedamountlow` without queueing the whole
//!   frame in the browser.
//! - [`Reassembler`]: one link's receiving side. It puts chunks back together whatever their order,
//!   ignores duplicates, refuses a transfer that announces more than its limit (before storing any of it),
//!   bounds what all open transfers may hold together, and hands out a frame only once it is complete: a
//!   transfer cut by a lost link is dropped with the link, never delivered in part.
//!
//! Chunk wire format (all integers little-endian), one binary data-channel message:
//!
//! | bytes | field    | meaning |
//! |-------|----------|---------|
//! | 1     | magic    | [`CHUNK_MAGIC`] (format version 1) |
//! | 8     | transfer | the sender's id of this frame on this link (1, 2, 3 ...) |
//! | 4     | index    | this chunk's number, 0-based |
//! | 4     | count    | how many chunks the frame has (at least 1) |
//! | 8     | total    | the frame's length in bytes |
//! | rest  | data     | this chunk's bytes |

mod reassembly;
#[cfg(test)]
mod tests;

pub use reassembly::{Reassembled, Reassembler};

use std::collections::VecDeque;

/// Most bytes of frame data in one chunk. Well under SCTP's 256 KiB message limit in Chromium (and the
/// 64 KiB some older stacks interleave at), large enough that the per-message overhead stays small.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// Smallest chunk a sender may use (but for the last one): bounds the number of chunks a frame may announce,
/// so a reassembler's bookkeeping stays proportional to the frame's size.
pub const MIN_CHUNK_BYTES: usize = 1024;

/// First byte of every chunk (format version 1).
pub const CHUNK_MAGIC: u8 = 0xC1;

/// Length of a chunk's header.
pub const HEADER_BYTES: usize = 1 + 8 + 4 + 4 + 8;

/// Why a chunk was refused: bad input from the peer that sent it (reported, never fatal).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChunkError {
    /// Shorter than a header, or not starting with [`CHUNK_MAGIC`].
    #[error("not a chunk (bad header)")]
    BadHeader,
    /// The frame announced is longer than the receiver accepts.
    #[error("a {announced} byte frame, over the limit of {limit} bytes")]
    TooLarge {
        /// The announced length.
        announced: u64,
        /// The receiver's limit.
        limit: usize,
    },
    /// Index out of range, a chunk count that does not fit the length, or a header that disagrees with the
    /// transfer's first chunk.
    #[error("inconsistent chunk header")]
    Inconsistent,
    /// The chunks hold more (or, once all arrived, other) than the announced length.
    #[error("chunk data does not add up to the announced length")]
    LengthMismatch,
    /// Open transfers would hold more than the receiver's budget: this one was dropped.
    #[error("too many unfinished transfers at once")]
    OverBudget,
}

/// One chunk's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkHeader {
    /// The sender's id of the frame on this link.
    pub transfer: u64,
    /// This chunk's number, 0-based.
    pub index: u32,
    /// How many chunks the frame has.
    pub count: u32,
    /// The frame's length in bytes.
    pub total: u64,
}

impl ChunkHeader {
    /// Encodes the header followed by `data`: one binary data-channel message.
    pub fn encode(&self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_BYTES + data.len());
        out.push(CHUNK_MAGIC);
        out.extend_from_slice(&self.transfer.to_le_bytes());
        out.extend_from_slice(&self.index.to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&self.total.to_le_bytes());
        out.extend_from_slice(data);
        out
    }

    /// Splits one binary message into its header and data.
    ///
    /// # Errors
    /// [`ChunkError::BadHeader`] when `message` is not a chunk.
    pub fn decode(message: &[u8]) -> Result<(ChunkHeader, &[u8]), ChunkError> {
        if message.len() < HEADER_BYTES || message[0] != CHUNK_MAGIC {
            return Err(ChunkError::BadHeader);
        }
        let u64_at = |at: usize| message.get(at..at + 8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes);
        let u32_at = |at: usize| message.get(at..at + 4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes);
        match (u64_at(1), u32_at(9), u32_at(13), u64_at(17)) {
            (Some(transfer), Some(index), Some(count), Some(total)) => {
                Ok((ChunkHeader { transfer, index, count, total }, &message[HEADER_BYTES..]))
            }
            _ => Err(ChunkError::BadHeader),
        }
    }
}

/// The most chunks a frame of `total` bytes may be cut into (chunks of at least [`MIN_CHUNK_BYTES`]).
pub fn max_chunks(total: u64) -> u64 {
    total.div_ceil(MIN_CHUNK_BYTES as u64).max(1)
}

/// The longest serialized frame a peer accepts when app messages may be `max_message_bytes` long: a binary
/// message grows by a third in the frame (base64), and a `History` frame adds up to
/// [`HISTORY_CHUNK_BYTES`](crate::delivery::HISTORY_CHUNK_BYTES) of smaller entries to its last one; 64 KiB
/// more covers the frame's own fields.
pub fn frame_limit(max_message_bytes: usize) -> usize {
    let base64 = max_message_bytes.div_ceil(3).saturating_mul(4);
    base64.saturating_add(crate::delivery::HISTORY_CHUNK_BYTES).saturating_add(64 * 1024)
}

/// What a link sends next: a whole frame as text, or one chunk as binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// A frame short enough to go whole (a text data-channel message).
    Text(String),
    /// One chunk of a long frame (a binary data-channel message).
    Binary(Vec<u8>),
}

impl Piece {
    /// Bytes this piece puts on the wire.
    pub fn len(&self) -> usize {
        match self {
            Piece::Text(text) => text.len(),
            Piece::Binary(bytes) => bytes.len(),
        }
    }

    /// Whether it is empty (never, for pieces an [`Outgoing`] hands out).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A long frame being cut into chunks.
#[derive(Clone, Debug)]
struct Cutting {
    transfer: u64,
    data: Vec<u8>,
    next: u32,
    count: u32,
}

/// One link's outgoing messages in two lanes: frames, in order (long ones cut into chunks of `chunk_bytes` as
/// they go), and bulk binary messages (file data and file control, see `crate::file`), in order among
/// themselves, which go only when no frame waits: a chat line never queues behind file data.
#[derive(Clone, Debug)]
pub struct Outgoing {
    chunk_bytes: usize,
    last_transfer: u64,
    queue: VecDeque<String>,
    bulk: VecDeque<Vec<u8>>,
    cutting: Option<Cutting>,
    queued_bytes: usize,
}

impl Default for Outgoing {
    fn default() -> Self {
        Outgoing::new(CHUNK_BYTES)
    }
}

impl Outgoing {
    /// An empty queue cutting frames longer than `chunk_bytes` (at least [`MIN_CHUNK_BYTES`]).
    pub fn new(chunk_bytes: usize) -> Self {
        let chunk_bytes = chunk_bytes.clamp(MIN_CHUNK_BYTES, u32::MAX as usize);
        let (queue, bulk) = (VecDeque::new(), VecDeque::new());
        Outgoing { chunk_bytes, last_transfer: 0, queue, bulk, cutting: None, queued_bytes: 0 }
    }

    /// Queues one serialized frame after every frame queued before.
    pub fn push(&mut self, frame: String) {
        self.queued_bytes += frame.len();
        self.queue.push_back(frame);
    }

    /// Queues one bulk binary message (at most [`CHUNK_BYTES`] plus a header: it is never cut) after every
    /// bulk message queued before; it goes when no frame waits.
    pub fn push_bulk(&mut self, message: Vec<u8>) {
        self.queued_bytes += message.len();
        self.bulk.push_back(message);
    }

    /// The next piece to send: a frame's (or its next chunk) first; a bulk message only when no frame waits
    /// and `bulk` allows it. `None` when nothing (allowed) waits.
    pub fn next_piece(&mut self, bulk: bool) -> Option<Piece> {
        if self.cutting.is_none() {
            let Some(frame) = self.queue.pop_front() else {
                let message = if bulk { self.bulk.pop_front()? } else { return None };
                self.queued_bytes -= message.len();
                return Some(Piece::Binary(message));
            };
            if frame.len() <= self.chunk_bytes {
                self.queued_bytes -= frame.len();
                return Some(Piece::Text(frame));
            }
            self.last_transfer += 1;
            let count = frame.len().div_ceil(self.chunk_bytes) as u32;
            self.cutting = Some(Cutting { transfer: self.last_transfer, data: frame.into_bytes(), next: 0, count });
        }
        let cutting = self.cutting.as_mut()?;
        let start = cutting.next as usize * self.chunk_bytes;
        let end = (start + self.chunk_bytes).min(cutting.data.len());
        let header = ChunkHeader {
            transfer: cutting.transfer,
            index: cutting.next,
            count: cutting.count,
            total: cutting.data.len() as u64,
        };
        let piece = Piece::Binary(header.encode(&cutting.data[start..end]));
        self.queued_bytes -= end - start;
        cutting.next += 1;
        if cutting.next == cutting.count {
            self.cutting = None;
        }
        Some(piece)
    }

    /// Frame bytes still to send (what the queue holds beyond the browser's buffer).
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// Whether everything went.
    pub fn is_empty(&self) -> bool {
        self.cutting.is_none() && self.queue.is_empty() && self.bulk.is_empty()
    }

    /// Forgets everything queued (the link closed: the delivery protocol resends what matters on the next one).
    pub fn clear(&mut self) {
        self.queue.clear();
        self.bulk.clear();
        self.cutting = None;
        self.queued_bytes = 0;
    }
}
