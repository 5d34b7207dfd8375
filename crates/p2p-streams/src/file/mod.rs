//! File transfers through the star (shared by both sides, pure: tested natively): the bookkeeping of one file
//! sent to the room, on the sending side ([`OutgoingFile`]: which slice of the file goes next, the SHA-256 of
//! what went) and on every receiving side ([`IncomingFile`]: each chunk checked against the offer and the bytes
//! before it, hashed as it arrives, the whole file accepted only when its length and SHA-256 match the sender's).
//! Neither side holds the file's bytes here: the browser keeps the received chunks (one copy) and builds the
//! `Blob` from them; a relaying host forwards chunks without keeping them.
//!
//! File data travels as binary data-channel messages of their own ([`FileChunk`]): one magic byte
//! ([`FILE_MAGIC`], distinct from the large-frame chunks' [`CHUNK_MAGIC`](crate::chunk::CHUNK_MAGIC)), the
//! transfer id and the chunk's offset (little-endian `u64`s), then the data. Channels are ordered and reliable,
//! so a receiver expects every chunk right after the previous one; a gap (a link lost mid-file) fails the
//! transfer instead of producing a corrupt file.

mod frame;
#[cfg(test)]
mod tests;

pub use frame::{BadFileFrame, FileFrame, FILE_CONTROL_MAGIC, MAX_CONTROL_BYTES};

use sha2::{Digest, Sha256};

/// First byte of every file chunk.
pub const FILE_MAGIC: u8 = 0xF1;
/// Bytes of a file chunk's header: magic, transfer id, offset.
pub const FILE_HEADER_BYTES: usize = 1 + 8 + 8;
/// Bytes of file data per chunk: small enough that a chat line never waits long behind one.
pub const FILE_CHUNK_BYTES: usize = 64 * 1024;
/// Longest file name accepted (bytes of UTF-8).
pub const MAX_NAME_BYTES: usize = 255;

/// Why a transfer failed. Every variant is bad input from the peer that sent it, or a lost link: the transfer
/// ends as failed, the room goes on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// Not a file chunk (too short, or the wrong first byte).
    #[error("not a file chunk")]
    BadChunk,
    /// The file is larger than this peer accepts.
    #[error("a {size} byte file is over the limit of {limit} bytes")]
    TooLarge {
        /// The offered size.
        size: u64,
        /// This peer's limit.
        limit: u64,
    },
    /// A chunk did not start where the previous one ended (a chunk was lost with a link).
    #[error("a chunk at byte {got} where byte {expected} was due")]
    Gap {
        /// Where the chunk said it starts.
        got: u64,
        /// Where the next chunk had to start.
        expected: u64,
    },
    /// More bytes than the offer announced.
    #[error("more bytes than the {size} announced")]
    Overrun {
        /// The announced size.
        size: u64,
    },
    /// The transfer ended before all its bytes arrived.
    #[error("ended after {received} of {size} bytes")]
    Incomplete {
        /// Bytes received.
        received: u64,
        /// The announced size.
        size: u64,
    },
    /// What arrived does not hash to the sender's SHA-256: the file is not offered.
    #[error("the file's SHA-256 does not match the sender's")]
    Mismatch,
}

/// One chunk of file data on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileChunk<'a> {
    /// The transfer (the sender's id for it; a host relaying it keeps the id and stamps the sender).
    pub transfer: u64,
    /// Where in the file `data` starts.
    pub offset: u64,
    /// The bytes.
    pub data: &'a [u8],
}

impl<'a> FileChunk<'a> {
    /// The binary data-channel message for this chunk.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FILE_HEADER_BYTES + self.data.len());
        out.push(FILE_MAGIC);
        out.extend_from_slice(&self.transfer.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(self.data);
        out
    }

    /// Reads a binary data-channel message as a file chunk.
    ///
    /// # Errors
    /// [`FileError::BadChunk`] when it is not one.
    pub fn decode(message: &'a [u8]) -> Result<FileChunk<'a>, FileError> {
        let word = |at: usize| message.get(at..at + 8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes);
        match (message.first(), word(1), word(9)) {
            (Some(&FILE_MAGIC), Some(transfer), Some(offset)) => {
                Ok(FileChunk { transfer, offset, data: &message[FILE_HEADER_BYTES..] })
            }
            _ => Err(FileError::BadChunk),
        }
    }
}

/// A file name safe to offer for download: the last path component, control characters dropped, at most
/// [`MAX_NAME_BYTES`] (cut at a character boundary); `"file"` when nothing is left.
pub fn safe_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let mut out = String::new();
    for c in last.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > MAX_NAME_BYTES {
            break;
        }
        out.push(c);
    }
    match out.trim() {
        "" | "." | ".." => "file".to_owned(),
        trimmed => trimmed.to_owned(),
    }
}

/// Lowercase hex of a SHA-256.
pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The sending side of one file: which slice goes next, and the hash of what went.
#[derive(Clone, Debug)]
pub struct OutgoingFile {
    size: u64,
    sent: u64,
    hash: Sha256,
}

impl OutgoingFile {
    /// A file of `size` bytes, nothing sent yet.
    pub fn new(size: u64) -> Self {
        OutgoingFile { size, sent: 0, hash: Sha256::new() }
    }

    /// The byte range of the next slice to read from the file (at most [`FILE_CHUNK_BYTES`]), or `None` when
    /// every byte went.
    pub fn next_range(&self) -> Option<(u64, u64)> {
        (self.sent < self.size).then(|| (self.sent, (self.sent + FILE_CHUNK_BYTES as u64).min(self.size)))
    }

    /// Records the slice read for [`next_range`](Self::next_range) and returns its chunk's message.
    pub fn take(&mut self, transfer: u64, data: &[u8]) -> Vec<u8> {
        self.hash.update(data);
        let offset = self.sent;
        self.sent += data.len() as u64;
        FileChunk { transfer, offset, data }.encode()
    }

    /// Bytes sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// The SHA-256 (hex) of everything sent, once every byte went.
    pub fn finish(self) -> Option<String> {
        (self.sent == self.size).then(|| hex(&self.hash.finalize()))
    }
}

/// The receiving side of one file: every chunk checked and hashed in order.
#[derive(Clone, Debug)]
pub struct IncomingFile {
    size: u64,
    received: u64,
    hash: Sha256,
}

impl IncomingFile {
    /// The receiver of an offer of `size` bytes, refusing it when over `limit`.
    ///
    /// # Errors
    /// [`FileError::TooLarge`].
    pub fn new(size: u64, limit: u64) -> Result<Self, FileError> {
        if size > limit {
            return Err(FileError::TooLarge { size, limit });
        }
        Ok(IncomingFile { size, received: 0, hash: Sha256::new() })
    }

    /// Accepts the next chunk: it must start where the previous one ended and stay within the offer.
    /// Returns the bytes received so far.
    ///
    /// # Errors
    /// [`FileError::Gap`], [`FileError::Overrun`]: the transfer cannot complete.
    pub fn accept(&mut self, chunk: &FileChunk<'_>) -> Result<u64, FileError> {
        if chunk.offset != self.received {
            return Err(FileError::Gap { got: chunk.offset, expected: self.received });
        }
        let end = self.received.checked_add(chunk.data.len() as u64).filter(|end| *end <= self.size);
        let end = end.ok_or(FileError::Overrun { size: self.size })?;
        self.hash.update(chunk.data);
        self.received = end;
        Ok(end)
    }

    /// Progress as a fraction from 0 to 1 (1 for an empty file).
    pub fn fraction(&self) -> f64 {
        if self.size == 0 {
            1.0
        } else {
            self.received as f64 / self.size as f64
        }
    }

    /// Ends the transfer with the sender's SHA-256 (hex): the file is good only when every byte arrived and
    /// the hashes match.
    ///
    /// # Errors
    /// [`FileError::Incomplete`], [`FileError::Mismatch`].
    pub fn finish(self, sha256: &str) -> Result<(), FileError> {
        if self.received != self.size {
            return Err(FileError::Incomplete { received: self.received, size: self.size });
        }
        if !hex(&self.hash.finalize()).eq_ignore_ascii_case(sha256) {
            return Err(FileError::Mismatch);
        }
        Ok(())
    }
}
