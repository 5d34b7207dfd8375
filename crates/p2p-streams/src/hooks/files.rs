//! Files shared with the room, for components inside a `<P2pFrame>` (compiled on both sides; sending is
//! browser only): [`use_p2p_files`] lists every transfer this peer sends or receives as a [`FileTransfer`]
//! (state, bytes so far, and for a received file a `blob:` URL once its SHA-256 checked out), sends a
//! `web_sys::Blob` / `File` with `send_file`, and cancels a transfer on either side with `cancel`.
//!
//! A file goes to the peers in the room when it is offered (a peer that joins later does not get it), through
//! the host, which relays its chunks without keeping them; it is not part of the message history. Each
//! receiver holds one copy of the file (plus a few MiB being folded into it), hashes it as it arrives and
//! offers it only when the length and the SHA-256 match the sender's: a transfer cut by a lost link or a host
//! change fails, it never yields a corrupt file.

use super::P2pContext;
#[cfg(feature = "hydrate")]
use super::SendError;
use crate::protocol::PeerId;
use leptos::prelude::*;

/// Which transfer: the ones this peer sends and the ones it receives are numbered apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileKey {
    /// Sent by this peer (else received).
    pub sent: bool,
    /// Its number among them (1, 2, 3 ...).
    pub n: u64,
}

impl std::fmt::Display for FileKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", if self.sent { "s" } else { "r" }, self.n)
    }
}

/// Where a transfer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileState {
    /// This peer is sending it.
    Sending,
    /// This peer is receiving it.
    Receiving,
    /// Every byte went (sender), or arrived and its SHA-256 matched (receiver).
    Done,
    /// It cannot complete (see [`FileTransfer::error`]).
    Failed,
    /// Cancelled by this peer or by the sender.
    Cancelled,
}

impl FileState {
    /// Lowercase name (`data-state` in the demo).
    pub fn as_str(self) -> &'static str {
        match self {
            FileState::Sending => "sending",
            FileState::Receiving => "receiving",
            FileState::Done => "done",
            FileState::Failed => "failed",
            FileState::Cancelled => "cancelled",
        }
    }

    /// Whether it is still moving.
    pub fn in_flight(self) -> bool {
        matches!(self, FileState::Sending | FileState::Receiving)
    }
}

/// One file transfer as this peer sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct FileTransfer {
    /// Which transfer.
    pub key: FileKey,
    /// The sender (stamped by the host; this peer for its own).
    pub from: PeerId,
    /// The file's name, made safe to offer for download (no path, no control characters).
    pub name: String,
    /// Its length in bytes.
    pub size: u64,
    /// Its MIME type (may be empty).
    pub mime: String,
    /// Where it is.
    pub state: FileState,
    /// Bytes sent or received so far.
    pub bytes: u64,
    /// Once done: a `blob:` URL of the file's bytes (the received copy; the sender's own file on the sender).
    pub url: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

impl FileTransfer {
    /// Progress from 0.0 to 1.0 (1.0 for an empty file).
    pub fn fraction(&self) -> f64 {
        if self.size == 0 {
            1.0
        } else {
            (self.bytes as f64 / self.size as f64).min(1.0)
        }
    }

    /// Progress in whole percent, 0 to 100.
    pub fn percent(&self) -> u8 {
        (self.fraction() * 100.0).floor() as u8
    }
}

/// What the driver reports about file transfers.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FileEvent {
    /// A transfer started (sent by this peer, or offered to it).
    Started(FileTransfer),
    /// More bytes went or arrived.
    Progress {
        /// The transfer.
        key: FileKey,
        /// Bytes so far.
        bytes: u64,
    },
    /// It completed; `url` is the file's `blob:` URL (`None` when the browser could not make one).
    Done {
        /// The transfer.
        key: FileKey,
        /// The received file.
        url: Option<String>,
    },
    /// It failed.
    Failed {
        /// The transfer.
        key: FileKey,
        /// Why.
        reason: String,
    },
    /// It was cancelled here or by the sender.
    Cancelled {
        /// The transfer.
        key: FileKey,
    },
}

/// Applies a driver's file event to the frame's list.
#[cfg(feature = "hydrate")]
pub(crate) fn apply(ctx: P2pContext, event: FileEvent) {
    ctx.files.update(|list| match event {
        FileEvent::Started(transfer) => list.push(transfer),
        FileEvent::Progress { key, bytes } => list.iter_mut().filter(|t| t.key == key).for_each(|t| t.bytes = bytes),
        FileEvent::Done { key, url } => list.iter_mut().filter(|t| t.key == key).for_each(|t| {
            t.state = FileState::Done;
            t.bytes = t.size;
            t.url = url.clone();
        }),
        FileEvent::Failed { key, reason } => list.iter_mut().filter(|t| t.key == key).for_each(|t| {
            t.state = FileState::Failed;
            t.error = Some(reason.clone());
        }),
        FileEvent::Cancelled { key } => {
            list.iter_mut().filter(|t| t.key == key).for_each(|t| t.state = FileState::Cancelled)
        }
    });
}

/// The room's file transfers, in the nearest enclosing `<P2pFrame>`.
#[derive(Clone, Copy)]
pub struct P2pFiles {
    /// Every transfer this peer sent or received since the frame started, oldest first.
    pub transfers: Signal<Vec<FileTransfer>>,
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    ctx: P2pContext,
}

impl P2pFiles {
    /// Sends `file` (a `web_sys::File` is a `Blob`) to every peer in the room under `name`, and returns its
    /// key; its progress shows in [`transfers`](Self::transfers). Browser only.
    ///
    /// # Errors
    /// [`SendError::Closed`] after `close()`. A transfer that cannot start (not connected to the room) or
    /// complete shows as [`FileState::Failed`] with its reason.
    #[cfg(feature = "hydrate")]
    pub fn send_file(&self, file: &web_sys::Blob, name: &str) -> Result<FileKey, SendError> {
        if self.ctx.state.get_untracked() == super::P2pState::Closed {
            return Err(SendError::Closed);
        }
        let n = self.ctx.next_file.try_update_value(|n| {
            *n += 1;
            *n
        });
        let key = FileKey { sent: true, n: n.ok_or(SendError::Closed)? };
        let send = crate::client::AppSend::File { key, file: file.clone(), name: crate::file::safe_name(name) };
        self.ctx.send_control(send);
        Ok(key)
    }

    /// Cancels transfer `key`: a sent file stops for everyone, a received one stops here (the sender and the
    /// other receivers go on). Nothing happens for a transfer that is no longer in flight.
    pub fn cancel(&self, key: FileKey) {
        #[cfg(feature = "hydrate")]
        self.ctx.send_control(crate::client::AppSend::CancelFile(key));
        #[cfg(not(feature = "hydrate"))]
        let _ = key;
    }
}

/// The room's file transfers, in the nearest enclosing `<P2pFrame>`.
///
/// # Panics
/// Outside a `<P2pFrame>`.
pub fn use_p2p_files() -> P2pFiles {
    let ctx = use_context::<P2pContext>().expect("use_p2p_files() must be called inside <P2pFrame>");
    #[cfg(feature = "hydrate")]
    ctx.enable(crate::client::Extension::files());
    P2pFiles { transfers: ctx.files.into(), ctx }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_and_names() {
        let mut t = FileTransfer {
            key: FileKey { sent: false, n: 3 },
            from: PeerId("bob#t".into()),
            name: "a.bin".into(),
            size: 200,
            mime: String::new(),
            state: FileState::Receiving,
            bytes: 199,
            url: None,
            error: None,
        };
        assert_eq!((t.percent(), t.key.to_string()), (99, "r3".to_owned()));
        t.bytes = 200;
        assert_eq!(t.percent(), 100);
        t.size = 0;
        assert_eq!(t.fraction(), 1.0);
        assert!(FileState::Sending.in_flight() && !FileState::Done.in_flight());
        assert_eq!(FileState::Cancelled.as_str(), "cancelled");
    }
}
