//! File control messages (shared by both sides, pure): offers, ends, cancels and flow-control acks of file
//! transfers, as binary data-channel messages of their own ([`FILE_CONTROL_MAGIC`], then postcard), beside the
//! file data chunks ([`FileChunk`](super::FileChunk)) on the same ordered channel, so a transfer's offer, data
//! and end arrive in that order.
//!
//! Transfer numbers: a client numbers its own transfers (1, 2, 3 ...) in what it sends to its host; the host
//! gives every transfer it relays (and each of its own) a number of its own, used in everything it sends to
//! clients. So a client reads `transfer` as its own number in `Ack`, and as the host's in everything else.

use crate::protocol::PeerId;
use serde::{Deserialize, Serialize};

/// First byte of every file control message.
pub const FILE_CONTROL_MAGIC: u8 = 0xF2;

/// Longest file control message a peer accepts (a name of [`MAX_NAME_BYTES`](super::MAX_NAME_BYTES), a MIME
/// type, a peer id and numbers fit many times over).
pub const MAX_CONTROL_BYTES: usize = 4 * 1024;

/// One file control message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileFrame {
    /// Client -> host: this client starts sending a file to the room.
    Offer {
        /// The client's number of the transfer.
        transfer: u64,
        /// The file's name (a receiver shows `safe_name` of it).
        name: String,
        /// Its length in bytes.
        size: u64,
        /// Its MIME type (may be empty).
        mime: String,
    },
    /// Host -> client: a peer starts sending a file to the room; its data follows under `transfer`.
    Offered {
        /// The sender, stamped by the host from the link the offer came on (or the host itself).
        from: PeerId,
        /// The host's number of the transfer.
        transfer: u64,
        /// The file's name.
        name: String,
        /// Its length in bytes.
        size: u64,
        /// Its MIME type.
        mime: String,
    },
    /// Every byte of `transfer` went; its SHA-256 (lowercase hex) for the receivers to check.
    End {
        /// The transfer (the sender's number toward the host, the host's toward clients).
        transfer: u64,
        /// SHA-256 of the whole file, lowercase hex.
        sha256: String,
    },
    /// The sender gave up on `transfer`: cancelled, or (`failed`) the file could not be read or, toward
    /// clients, the sender left.
    Abort {
        /// The transfer.
        transfer: u64,
        /// A failure rather than a cancel.
        failed: bool,
    },
    /// Client -> host: this client does not want the rest of host transfer `transfer` (cancelled, or it failed
    /// here).
    Reject {
        /// The host's number of the transfer.
        transfer: u64,
    },
    /// Host -> client: every receiver of the client's transfer has its first `offset` bytes (flow control:
    /// the client sends at most a window beyond the last ack).
    Ack {
        /// The client's number of the transfer.
        transfer: u64,
        /// Bytes every receiver has taken in.
        offset: u64,
    },
    /// Client -> host: this client has taken in the first `offset` bytes of host transfer `transfer` (the
    /// host sends or relays at most a window beyond what its slowest receiver has, so file data never piles
    /// up in a receiver's event queue ahead of its chat).
    Received {
        /// The host's number of the transfer.
        transfer: u64,
        /// Bytes checked and kept so far.
        offset: u64,
    },
}

/// Why a file control message was refused (bad input from the peer that sent it).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a malformed file control message")]
pub struct BadFileFrame;

impl FileFrame {
    /// The binary data-channel message.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![FILE_CONTROL_MAGIC];
        // Serializing these plain fields into a Vec cannot fail; an empty body would be refused by decode.
        out.extend(postcard::to_allocvec(self).unwrap_or_default());
        out
    }

    /// Reads a binary data-channel message as a file control message.
    ///
    /// # Errors
    /// [`BadFileFrame`] for anything else, including trailing bytes and messages over [`MAX_CONTROL_BYTES`].
    pub fn decode(message: &[u8]) -> Result<FileFrame, BadFileFrame> {
        match message.split_first() {
            Some((&FILE_CONTROL_MAGIC, body)) if message.len() <= MAX_CONTROL_BYTES => {
                match postcard::take_from_bytes(body) {
                    Ok((frame, [])) => Ok(frame),
                    _ => Err(BadFileFrame),
                }
            }
            _ => Err(BadFileFrame),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refusals() {
        let frames = [
            FileFrame::Offer { transfer: 1, name: "a.bin".into(), size: 50 << 20, mime: String::new() },
            FileFrame::Offered {
                from: PeerId("bob#t1".into()),
                transfer: 9,
                name: "ü.txt".into(),
                size: 0,
                mime: "text/plain".into(),
            },
            FileFrame::End { transfer: 9, sha256: "ab".repeat(32) },
            FileFrame::Abort { transfer: 2, failed: true },
            FileFrame::Reject { transfer: 3 },
            FileFrame::Ack { transfer: 1, offset: u64::MAX },
            FileFrame::Received { transfer: 4, offset: 1 << 20 },
        ];
        for frame in frames {
            let message = frame.encode();
            assert_eq!(message[0], FILE_CONTROL_MAGIC);
            assert_eq!(FileFrame::decode(&message), Ok(frame.clone()));
            let mut longer = message.clone();
            longer.push(0);
            assert_eq!(FileFrame::decode(&longer), Err(BadFileFrame), "trailing bytes");
            assert_eq!(FileFrame::decode(&message[..message.len() - 1]), Err(BadFileFrame), "truncated");
        }
        assert_eq!(FileFrame::decode(&[]), Err(BadFileFrame));
        assert_eq!(FileFrame::decode(&[0xF1, 0]), Err(BadFileFrame));
        assert_eq!(FileFrame::decode(&[FILE_CONTROL_MAGIC, 200]), Err(BadFileFrame));
        let huge = FileFrame::Offer { transfer: 1, name: "x".repeat(MAX_CONTROL_BYTES), size: 1, mime: String::new() };
        assert_eq!(FileFrame::decode(&huge.encode()), Err(BadFileFrame));
    }
}
