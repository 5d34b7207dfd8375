//! File transfers in the browser driver (`hydrate` only): a sender reads its file slice by slice (only while
//! the link's backlog is low, so chat frames never queue behind much file data, and within a window of what
//! its slowest receiver has taken in: receivers report it, the host acks the minimum to a sending client), the
//! host relays each chunk to the clients that got the offer without keeping it,
//! and every receiver checks and hashes chunks in order (`crate::file`), keeps them as JS arrays folded into a
//! `Blob` every few MiB (one copy of the file), and offers a `blob:` URL once the SHA-256 matched. Links lost
//! mid-transfer fail the transfers on them; nothing partial is ever offered.

mod receive;

use super::{DriverEvent, Inner};
use crate::file::{FileChunk, FileFrame, IncomingFile, OutgoingFile, FILE_MAGIC};
use crate::hooks::{FileEvent, FileKey, FileState, FileTransfer};
use crate::protocol::{PeerId, Role};
use js_sys::{Array, Uint8Array};
use std::collections::HashMap;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Bytes a sender may have in flight beyond what its slowest receiver took in. A receiver's browser hands it
/// every arrived message at once, so this bounds the file data queued ahead of a chat line on its main thread.
const WINDOW: u64 = 1024 * 1024;
/// A receiving client reports what it took in every this many bytes.
const RECEIVED_EVERY: u64 = 256 * 1024;
/// A link with more than this waiting holds back file data (chat and control frames go first).
const BACKLOG: usize = 256 * 1024;
/// Received bytes gathered before they are folded into the file's `Blob`.
const FOLD_BYTES: usize = 4 * 1024 * 1024;
/// Largest file a peer accepts.
const MAX_FILE_BYTES: u64 = 4 << 30;

/// One file this peer sends.
struct Sending {
    key: FileKey,
    number: u64,
    blob: web_sys::Blob,
    out: OutgoingFile,
    acked: u64,
    reading: bool,
    /// Host: the clients that got the offer.
    targets: Vec<PeerId>,
    /// Host: what each target reported it took in.
    received: HashMap<PeerId, u64>,
    reported: u8,
}

/// One file this peer receives.
struct Receiving {
    key: FileKey,
    file: IncomingFile,
    mime: String,
    parts: Array,
    part_bytes: usize,
    blob: Option<web_sys::Blob>,
    reported: u8,
    /// Client: the offset last reported to the host (`FileFrame::Received`).
    told: u64,
}

/// Host: one client's file being relayed.
struct Relay {
    number: u64,
    targets: Vec<PeerId>,
    /// What each target reported it took in.
    received: HashMap<PeerId, u64>,
    relayed: u64,
    acked: u64,
}

/// What the slowest of `targets` took in (`ceiling` when there is none left).
fn slowest(targets: &[PeerId], received: &HashMap<PeerId, u64>, ceiling: u64) -> u64 {
    targets.iter().map(|t| received.get(t).copied().unwrap_or(0)).min().unwrap_or(ceiling)
}

/// The driver's entry points into file transfers, reached only through the `PLANE` that [`load`] returns
/// (see `client/extension.rs`): this module and `crate::file` (SHA-256 included) are a lazy wasm chunk that a
/// page fetches when it first sends or receives a file.
pub(crate) struct FilesPlane {
    /// Starts sending a file (`AppSend::File`).
    pub(crate) send: fn(&mut Inner, FileKey, web_sys::Blob, String),
    /// Cancels a transfer here (`AppSend::CancelFile`).
    pub(crate) cancel: fn(&mut Inner, FileKey),
    /// A binary message of the file protocol from a peer.
    pub(crate) on_message: fn(&mut Inner, PeerId, Vec<u8>),
    /// A link's buffer drained: acks and more slices.
    pub(crate) drained: fn(&mut Inner),
    /// The link to a peer is gone.
    pub(crate) link_down: fn(&mut Inner, &PeerId),
    /// The frame closed.
    pub(crate) close_all: fn(&mut Inner),
}

static PLANE: FilesPlane = FilesPlane {
    send: Inner::file_send,
    cancel: Inner::file_cancel,
    on_message: Inner::file_on_message,
    drained: Inner::file_drained,
    link_down: Inner::file_link_down,
    close_all: Inner::file_close_all,
};

/// The file code: with the `split` feature (and `cargo leptos build --split`), the first call fetches its
/// wasm chunk; without it, the code is in the main wasm and this returns at once.
#[cfg_attr(feature = "split", leptos::lazy)]
#[cfg_attr(not(feature = "split"), allow(clippy::unused_async))]
async fn file_code() -> &'static FilesPlane {
    &PLANE
}

/// [`file_code`] as the plain function an [`Extension`](super::Extension) holds.
pub(crate) fn load() -> std::pin::Pin<Box<dyn std::future::Future<Output = &'static FilesPlane>>> {
    Box::pin(file_code())
}

/// The driver's file transfers.
#[derive(Default)]
pub(crate) struct Files {
    received: u64,
    next_number: u64,
    sending: Vec<Sending>,
    /// By (link peer, transfer number on that link).
    receiving: HashMap<(PeerId, u64), Receiving>,
    /// Host: by (origin client, its number).
    relays: HashMap<(PeerId, u64), Relay>,
}

impl Inner {
    /// Starts sending `blob` to the room (`AppSend::File`).
    fn file_send(&mut self, key: FileKey, blob: web_sys::Blob, name: String) {
        let (size, mime) = (blob.size() as u64, blob.type_());
        let me = self.me.clone().unwrap_or_else(|| PeerId(String::new()));
        let transfer = FileTransfer {
            key,
            from: me.clone(),
            name: name.clone(),
            size,
            mime: mime.clone(),
            state: FileState::Sending,
            bytes: 0,
            url: None,
            error: None,
        };
        self.events.push(DriverEvent::File(FileEvent::Started(transfer)));
        self.files.next_number += 1;
        let number = self.files.next_number;
        let targets = match self.role {
            Some(Role::Host) => {
                let offer = FileFrame::Offered { from: me, transfer: number, name, size, mime };
                self.file_broadcast(&offer.encode(), None)
            }
            Some(Role::Client) if self.host_link().is_some() => {
                let offer = FileFrame::Offer { transfer: number, name, size, mime };
                self.file_to_host(offer.encode());
                Vec::new()
            }
            _ => return self.file_event(FileEvent::Failed { key, reason: "not connected to the room".into() }),
        };
        let out = OutgoingFile::new(size);
        let received = HashMap::new();
        let sending = Sending { key, number, blob, out, acked: 0, reading: false, targets, received, reported: 0 };
        self.files.sending.push(sending);
        self.file_pump();
    }

    /// A link's buffer drained: what the host can ack now, and the next slices.
    fn file_drained(&mut self) {
        self.file_acks();
        self.file_pump();
    }

    /// Cancels a transfer here (`AppSend::CancelFile`).
    fn file_cancel(&mut self, key: FileKey) {
        if let Some(at) = self.files.sending.iter().position(|s| s.key == key) {
            let sending = self.files.sending.remove(at);
            let abort = FileFrame::Abort { transfer: sending.number, failed: false }.encode();
            match self.role {
                Some(Role::Host) => self.file_to(&sending.targets, &abort),
                _ => self.file_to_host(abort),
            }
        } else if let Some(link_key) = self.files.receiving.iter().find(|(_, r)| r.key == key).map(|(k, _)| k.clone()) {
            self.files.receiving.remove(&link_key);
            if self.role == Some(Role::Client) {
                self.file_to_host(FileFrame::Reject { transfer: link_key.1 }.encode());
            }
        } else {
            return;
        }
        self.file_event(FileEvent::Cancelled { key });
    }

    /// Reads the next slice of every file whose link has room for it.
    pub(in crate::client::files) fn file_pump(&mut self) {
        let host = self.role == Some(Role::Host);
        for at in 0..self.files.sending.len() {
            let s = &self.files.sending[at];
            let Some((start, end)) = s.out.next_range().filter(|_| !s.reading) else { continue };
            let room = if host {
                s.out.sent() - slowest(&s.targets, &s.received, s.out.sent()) < WINDOW
                    && s.targets.iter().all(|peer| self.links.get(peer).is_none_or(|l| l.backlog() < BACKLOG))
            } else {
                s.out.sent() - s.acked < WINDOW && self.host_link().is_some_and(|l| l.backlog() < BACKLOG)
            };
            if !room {
                continue;
            }
            let (key, slice) = (s.key, s.blob.slice_with_f64_and_f64(start as f64, end as f64));
            self.files.sending[at].reading = true;
            let weak = self.weak.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let read = match slice {
                    Ok(slice) => JsFuture::from(slice.array_buffer()).await,
                    Err(err) => Err(err),
                };
                let bytes = read
                    .ok()
                    .and_then(|b| b.dyn_into::<js_sys::ArrayBuffer>().ok())
                    .map(|b| Uint8Array::new(&b).to_vec());
                weak.with(move |inner| inner.file_slice_read(key, bytes));
            });
        }
    }

    /// A slice of a file this peer sends was read (`None`: the browser could not read it).
    fn file_slice_read(&mut self, key: FileKey, bytes: Option<Vec<u8>>) {
        let Some(at) = self.files.sending.iter().position(|s| s.key == key) else { return };
        let Some(bytes) = bytes else {
            let sending = self.files.sending.remove(at);
            self.file_abort_own(&sending, true);
            return self.file_event(FileEvent::Failed { key, reason: "the file could not be read".into() });
        };
        let s = &mut self.files.sending[at];
        s.reading = false;
        let chunk = s.out.take(s.number, &bytes);
        let (sent, size, targets) = (s.out.sent(), s.blob.size() as u64, s.targets.clone());
        match self.role {
            Some(Role::Host) => self.file_to(&targets, &chunk),
            _ => self.file_to_host(chunk),
        }
        if sent < size {
            self.file_progress_sent(at);
            return self.file_pump();
        }
        let sending = self.files.sending.remove(at);
        let (number, targets) = (sending.number, sending.targets.clone());
        let sha256 = sending.out.finish().unwrap_or_default();
        let end = FileFrame::End { transfer: number, sha256 }.encode();
        match self.role {
            Some(Role::Host) => self.file_to(&targets, &end),
            _ => self.file_to_host(end),
        }
        // The sender's own copy, for its download link like every receiver's.
        let url = web_sys::Url::create_object_url_with_blob(&sending.blob).ok();
        self.file_event(FileEvent::Done { key, url });
        self.file_pump();
    }

    /// A binary message of the file protocol from `peer` (data chunk or control).
    fn file_on_message(&mut self, peer: PeerId, message: Vec<u8>) {
        if message.first() == Some(&FILE_MAGIC) {
            return match FileChunk::decode(&message) {
                Ok(chunk) => self.file_on_chunk(&peer, &chunk),
                Err(err) => self.file_bad_input(&peer, &err.to_string()),
            };
        }
        let frame = match FileFrame::decode(&message) {
            Ok(frame) => frame,
            Err(err) => return self.file_bad_input(&peer, &err.to_string()),
        };
        let host = self.role == Some(Role::Host);
        match frame {
            FileFrame::Offer { transfer, name, size, mime } if host => {
                self.host_file_offer(peer, transfer, name, size, mime)
            }
            FileFrame::Offered { from, transfer, name, size, mime } if !host => {
                self.file_receive(peer, transfer, from, name, size, mime)
            }
            FileFrame::End { transfer, sha256 } => {
                if host {
                    if let Some(relay) = self.files.relays.remove(&(peer.clone(), transfer)) {
                        self.file_to(
                            &relay.targets,
                            &FileFrame::End { transfer: relay.number, sha256: sha256.clone() }.encode(),
                        );
                    }
                }
                self.file_finish(&peer, transfer, &sha256);
            }
            FileFrame::Abort { transfer, failed } => {
                if host {
                    if let Some(relay) = self.files.relays.remove(&(peer.clone(), transfer)) {
                        self.file_to(&relay.targets, &FileFrame::Abort { transfer: relay.number, failed }.encode());
                    }
                }
                if let Some(r) = self.files.receiving.remove(&(peer, transfer)) {
                    let key = r.key;
                    self.file_event(if failed {
                        FileEvent::Failed { key, reason: "the sender failed or left".into() }
                    } else {
                        FileEvent::Cancelled { key }
                    });
                }
            }
            FileFrame::Reject { transfer } if host => {
                self.files
                    .relays
                    .values_mut()
                    .filter(|r| r.number == transfer)
                    .for_each(|r| r.targets.retain(|t| *t != peer));
                self.files
                    .sending
                    .iter_mut()
                    .filter(|s| s.number == transfer)
                    .for_each(|s| s.targets.retain(|t| *t != peer));
                self.file_acks();
                self.file_pump();
            }
            FileFrame::Received { transfer, offset } if host => {
                let files = &mut self.files;
                let relays = files.relays.values_mut().filter(|r| r.number == transfer).map(|r| &mut r.received);
                let own = files.sending.iter_mut().filter(|s| s.number == transfer).map(|s| &mut s.received);
                for received in relays.chain(own) {
                    let at = received.entry(peer.clone()).or_default();
                    *at = (*at).max(offset);
                }
                self.file_acks();
                self.file_pump();
            }
            FileFrame::Ack { transfer, offset } if !host => {
                self.files
                    .sending
                    .iter_mut()
                    .filter(|s| s.number == transfer)
                    .for_each(|s| s.acked = s.acked.max(offset));
                self.file_pump();
            }
            other => self.file_bad_input(&peer, &format!("a file frame not for this role ({other:?})")),
        }
    }
}
