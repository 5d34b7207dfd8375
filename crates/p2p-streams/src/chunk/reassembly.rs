//! [`Reassembler`]: one link's incoming chunks put back into whole frames (shared by both sides, pure). Its
//! memory is bounded twice: no transfer may announce more than `limit` bytes, and all unfinished transfers
//! together may not announce more than `budget` bytes (a peer cannot make it hold more by opening many).

use super::{max_chunks, ChunkError, ChunkHeader};
use std::collections::{HashMap, VecDeque};

/// Completed transfer ids remembered per link, so a chunk repeated after its frame completed is ignored
/// instead of opening a transfer that never ends.
const COMPLETED_MEMORY: usize = 256;

/// What one chunk did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reassembled {
    /// The frame is complete: its bytes, delivered once.
    Complete(Vec<u8>),
    /// Stored; more chunks to come.
    Partial,
    /// A chunk already held, or of a frame already completed: ignored.
    Duplicate,
}

/// An unfinished transfer.
#[derive(Clone, Debug)]
struct Partial {
    count: u32,
    total: u64,
    chunks: Vec<Option<Vec<u8>>>,
    received: u32,
    bytes: u64,
}

/// One link's unfinished transfers.
#[derive(Clone, Debug)]
pub struct Reassembler {
    limit: usize,
    budget: usize,
    open: HashMap<u64, Partial>,
    completed: VecDeque<u64>,
}

impl Reassembler {
    /// A reassembler accepting frames of at most `limit` bytes, with at most `budget` bytes (at least
    /// `limit`) announced by unfinished transfers at any time.
    pub fn new(limit: usize, budget: usize) -> Self {
        Reassembler { limit, budget: budget.max(limit), open: HashMap::new(), completed: VecDeque::new() }
    }

    /// Bytes announced by the unfinished transfers (what they may grow to).
    pub fn announced(&self) -> u64 {
        self.open.values().map(|p| p.total).sum()
    }

    /// Number of unfinished transfers.
    pub fn open_transfers(&self) -> usize {
        self.open.len()
    }

    /// Takes one binary data-channel message.
    ///
    /// # Errors
    /// [`ChunkError`] for a chunk that is malformed, too large, inconsistent with the transfer's earlier
    /// chunks or over the budget; the transfer it belongs to is dropped (the others go on).
    pub fn accept(&mut self, message: &[u8]) -> Result<Reassembled, ChunkError> {
        let (header, data) = ChunkHeader::decode(message)?;
        let result = self.store(header, data);
        if result.is_err() {
            // Its later chunks are ignored rather than opening a transfer that could never complete.
            self.open.remove(&header.transfer);
            self.remember(header.transfer);
        }
        result
    }

    fn remember(&mut self, transfer: u64) {
        self.completed.push_back(transfer);
        if self.completed.len() > COMPLETED_MEMORY {
            self.completed.pop_front();
        }
    }

    fn store(&mut self, header: ChunkHeader, data: &[u8]) -> Result<Reassembled, ChunkError> {
        if self.completed.contains(&header.transfer) {
            return Ok(Reassembled::Duplicate);
        }
        if header.total > self.limit as u64 {
            return Err(ChunkError::TooLarge { announced: header.total, limit: self.limit });
        }
        if header.count == 0 || u64::from(header.count) > max_chunks(header.total) || header.index >= header.count {
            return Err(ChunkError::Inconsistent);
        }
        if !self.open.contains_key(&header.transfer) {
            if self.announced() + header.total > self.budget as u64 {
                return Err(ChunkError::OverBudget);
            }
            let partial = Partial {
                count: header.count,
                total: header.total,
                chunks: vec![None; header.count as usize],
                received: 0,
                bytes: 0,
            };
            self.open.insert(header.transfer, partial);
        }
        let partial = self.open.get_mut(&header.transfer).ok_or(ChunkError::Inconsistent)?;
        if partial.count != header.count || partial.total != header.total {
            return Err(ChunkError::Inconsistent);
        }
        let slot = partial.chunks.get_mut(header.index as usize).ok_or(ChunkError::Inconsistent)?;
        if slot.is_some() {
            return Ok(Reassembled::Duplicate);
        }
        partial.bytes += data.len() as u64;
        if partial.bytes > partial.total {
            return Err(ChunkError::LengthMismatch);
        }
        *slot = Some(data.to_vec());
        partial.received += 1;
        if partial.received < partial.count {
            return Ok(Reassembled::Partial);
        }
        let done = self.open.remove(&header.transfer).ok_or(ChunkError::Inconsistent)?;
        if done.bytes != done.total {
            return Err(ChunkError::LengthMismatch);
        }
        self.remember(header.transfer);
        let mut frame = Vec::with_capacity(done.total as usize);
        done.chunks.into_iter().flatten().for_each(|chunk| frame.extend_from_slice(&chunk));
        Ok(Reassembled::Complete(frame))
    }

    /// Drops every unfinished transfer (the link closed: its frames are resent whole on the next one).
    pub fn clear(&mut self) {
        self.open.clear();
        self.completed.clear();
    }
}
