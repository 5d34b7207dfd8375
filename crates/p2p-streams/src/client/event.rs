//! What goes between the browser driver and its frame (`hydrate` only): [`AppSend`], one app message the
//! hooks hand to the driver (to the room or to one peer), and [`DriverEvent`], what the driver reports back
//! (state, role, peers, messages in the session order, direct messages and their failures, volatile messages,
//! errors).

use crate::delivery::{DirectMessage, Forgery, Payload};
use crate::hooks::{FileEvent, FileKey, MediaRequest, P2pState, RawMessage, RoomStream};
use crate::protocol::{PeerId, PeerStatus, Role};
use crate::volatile::VolatileMessage;

/// One app message for the driver to send.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum AppSend {
    /// To everyone, at its place in the session order (`send`, `send_bytes`).
    Room(Payload),
    /// To one peer only (`send_to`, `send_bytes_to`).
    To(PeerId, Payload),
    /// A file for the room (`P2pFiles::send_file`).
    File {
        /// Its key, chosen by the hook.
        key: FileKey,
        /// The file.
        file: web_sys::Blob,
        /// Its name (already made safe).
        name: String,
    },
    /// Cancel a file transfer (`P2pFiles::cancel`).
    CancelFile(FileKey),
    /// To every other peer on the volatile channel (`send_volatile`): no order, no retry, no replay.
    Volatile(Payload),
    /// Publish, unpublish or tune a media stream (`use_p2p_media`).
    Media(MediaRequest),
    /// Turn on a part of the driver that only some rooms use (sent by the hook that needs it).
    Enable(super::Extension),
}

/// What the driver reports to its frame.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum DriverEvent {
    /// This peer's state changed.
    State(P2pState),
    /// Role or host assigned or changed.
    Role {
        /// This peer's role.
        role: Role,
        /// This peer's id.
        me: PeerId,
        /// The host's id.
        host: PeerId,
    },
    /// The session's peer-state map changed.
    Peers(Vec<PeerStatus>),
    /// Whether the signaling socket is open.
    Signaling(bool),
    /// An app message at its place in the session order.
    Message {
        /// The message.
        message: RawMessage,
        /// First delivery here (callbacks fire); false when restored after a reload or moved.
        fresh: bool,
    },
    /// The host could not supply this many messages we missed.
    Gap(u64),
    /// A message for this peer only, the first time it arrives.
    Direct(DirectMessage),
    /// A file transfer started, moved on, or ended.
    File(FileEvent),
    /// Our direct message `id` could not go: `to` is not connected to the host.
    DirectFailed {
        /// The message's id (1 for this driver's first `send_to`, 2 for the next ...).
        id: u64,
        /// Its target.
        to: PeerId,
    },
    /// Host: a client's data-channel message was dropped (malformed, oversized or not for the host).
    Dropped,
    /// A history entry another peer handed over was refused: its seal does not verify (`delivery::seal`).
    Forged(Forgery),
    /// A volatile message from another peer (sender stamped by the host).
    Volatile(VolatileMessage),
    /// Host: a client's volatile message was dropped over its rate cap (`P2pConfig::volatile_rate`).
    VolatileDropped,
    /// The room's published streams changed (or the media this peer has for them).
    Streams(Vec<RoomStream>),
    /// The host refused to forward our stream `id`.
    MediaRefused {
        /// The `MediaStream` id.
        id: String,
        /// Why.
        reason: crate::media::Refusal,
    },
    /// Host: the bits per second it sent on all its links' media, over the last tick.
    Uplink(u64),
    /// A fatal error: the driver stopped.
    Fatal(String),
}
