//! The receiving and relaying half of file transfers (`hydrate` only): offers, chunks checked and kept as JS
//! arrays folded into a `Blob`, the SHA-256 check at the end, the host's relay with its flow-control acks, and
//! what a lost link does to the transfers on it; plus the sending helpers both halves use.

use super::super::browser::warn;
use super::super::link::PeerLink;
use super::{slowest, Files, Receiving, Relay, Sending, BACKLOG, FOLD_BYTES, MAX_FILE_BYTES, RECEIVED_EVERY};
use crate::client::{DriverEvent, Inner};
use crate::file::{FileChunk, FileFrame, IncomingFile};
use crate::hooks::{FileEvent, FileKey, FileState, FileTransfer};
use crate::protocol::{PeerId, Role};
use js_sys::{Array, Uint8Array};

impl Inner {
    /// Host: client `peer` offers a file: offered to every other open link, received here too.
    pub(super) fn host_file_offer(&mut self, peer: PeerId, transfer: u64, name: String, size: u64, mime: String) {
        self.files.next_number += 1;
        let number = self.files.next_number;
        let offer =
            FileFrame::Offered { from: peer.clone(), transfer: number, name: name.clone(), size, mime: mime.clone() };
        let targets = self.file_broadcast(&offer.encode(), Some(&peer));
        let relay = Relay { number, targets, received: Default::default(), relayed: 0, acked: 0 };
        self.files.relays.insert((peer.clone(), transfer), relay);
        self.file_receive(peer.clone(), transfer, peer, name, size, mime);
    }

    /// Starts receiving transfer `transfer` of link `link` (a file from `from`).
    pub(super) fn file_receive(
        &mut self,
        link: PeerId,
        transfer: u64,
        from: PeerId,
        name: String,
        size: u64,
        mime: String,
    ) {
        self.files.received += 1;
        let key = FileKey { sent: false, n: self.files.received };
        let name = crate::file::safe_name(&name);
        let started = FileTransfer {
            key,
            from,
            name,
            size,
            mime: mime.clone(),
            state: FileState::Receiving,
            bytes: 0,
            url: None,
            error: None,
        };
        self.file_event(FileEvent::Started(started));
        match IncomingFile::new(size, MAX_FILE_BYTES) {
            Ok(file) => {
                let (parts, blob) = (Array::new(), None);
                let receiving = Receiving { key, file, mime, parts, part_bytes: 0, blob, reported: 0, told: 0 };
                self.files.receiving.insert((link, transfer), receiving);
            }
            Err(err) => {
                if self.role == Some(Role::Client) {
                    self.file_to_host(FileFrame::Reject { transfer }.encode());
                }
                self.file_event(FileEvent::Failed { key, reason: err.to_string() });
            }
        }
    }

    /// A chunk of file data from `peer`: relayed (host), then kept if this peer receives the transfer.
    pub(super) fn file_on_chunk(&mut self, peer: &PeerId, chunk: &FileChunk<'_>) {
        if let Some(relay) = self.files.relays.get_mut(&(peer.clone(), chunk.transfer)) {
            relay.relayed = chunk.offset + chunk.data.len() as u64;
            let (number, targets) = (relay.number, relay.targets.clone());
            let message = FileChunk { transfer: number, ..*chunk }.encode();
            self.file_to(&targets, &message);
            self.file_acks();
        }
        let link_key = (peer.clone(), chunk.transfer);
        // Chunks of a transfer cancelled or failed here keep coming until the sender hears of it: ignored.
        let Some(r) = self.files.receiving.get_mut(&link_key) else { return };
        let bytes = match r.file.accept(chunk) {
            Ok(bytes) => bytes,
            Err(err) => {
                let key = r.key;
                self.files.receiving.remove(&link_key);
                if self.role == Some(Role::Client) {
                    self.file_to_host(FileFrame::Reject { transfer: chunk.transfer }.encode());
                }
                return self.file_event(FileEvent::Failed { key, reason: err.to_string() });
            }
        };
        r.parts.push(&Uint8Array::from(chunk.data));
        r.part_bytes += chunk.data.len();
        if r.part_bytes >= FOLD_BYTES {
            fold(r);
        }
        let tell = self.role == Some(Role::Client) && (bytes - r.told >= RECEIVED_EVERY || r.file.fraction() >= 1.0);
        if tell {
            r.told = bytes;
        }
        let percent = (r.file.fraction() * 100.0) as u8;
        let progress = (percent > r.reported).then_some(FileEvent::Progress { key: r.key, bytes });
        r.reported = r.reported.max(percent);
        if tell {
            self.file_to_host(FileFrame::Received { transfer: chunk.transfer, offset: bytes }.encode());
        }
        if let Some(event) = progress {
            self.file_event(event);
        }
    }

    /// The sender of transfer `transfer` on link `peer` sent its end: the file is offered if it checks out.
    pub(super) fn file_finish(&mut self, peer: &PeerId, transfer: u64, sha256: &str) {
        let Some(r) = self.files.receiving.remove(&(peer.clone(), transfer)) else { return };
        let key = r.key;
        if let Err(err) = r.file.clone().finish(sha256) {
            return self.file_event(FileEvent::Failed { key, reason: err.to_string() });
        }
        // The folded part and the chunks since, in order (the constructor takes `Blob`s and arrays alike).
        let options = web_sys::BlobPropertyBag::new();
        options.set_type(&r.mime);
        let parts = Array::new();
        if let Some(blob) = &r.blob {
            parts.push(blob);
        }
        r.parts.for_each(&mut |part, _, _| {
            parts.push(&part);
        });
        let url = web_sys::Blob::new_with_blob_sequence_and_options(&parts, &options)
            .and_then(|blob| web_sys::Url::create_object_url_with_blob(&blob));
        match url {
            Ok(url) => self.file_event(FileEvent::Done { key, url: Some(url) }),
            Err(err) => {
                self.file_event(FileEvent::Failed { key, reason: format!("the browser refused the file: {err:?}") })
            }
        }
    }

    /// Host: acknowledges to each sending client what all its targets took in (when their links have room).
    pub(in crate::client::files) fn file_acks(&mut self) {
        let mut acks = Vec::new();
        for ((origin, transfer), relay) in self.files.relays.iter_mut() {
            let room = relay.targets.iter().all(|t| self.links.get(t).is_none_or(|l| l.backlog() < BACKLOG));
            let taken = slowest(&relay.targets, &relay.received, relay.relayed).min(relay.relayed);
            if taken > relay.acked && room {
                relay.acked = taken;
                acks.push((origin.clone(), FileFrame::Ack { transfer: *transfer, offset: taken }.encode()));
            }
        }
        for (origin, ack) in acks {
            self.file_to(&[origin], &ack);
        }
    }

    /// The link to `peer` is gone: the transfers that needed it fail.
    pub(in crate::client::files) fn file_link_down(&mut self, peer: &PeerId) {
        let lost_host = self.role != Some(Role::Host);
        let Files { sending, receiving, relays, .. } = &mut self.files;
        let mut failed: Vec<(FileKey, &str)> = Vec::new();
        if lost_host {
            failed.extend(sending.drain(..).map(|s| (s.key, "the host left before the file was sent")));
        } else {
            sending.iter_mut().for_each(|s| s.targets.retain(|t| t != peer));
            relays.values_mut().for_each(|r| r.targets.retain(|t| t != peer));
        }
        let gone: Vec<(PeerId, u64)> = receiving.keys().filter(|(link, _)| link == peer).cloned().collect();
        for link_key in gone {
            if let Some(r) = receiving.remove(&link_key) {
                failed
                    .push((r.key, if lost_host { "the host left before the file arrived" } else { "the sender left" }));
            }
        }
        let aborted: Vec<Relay> = relays.extract_if(|(origin, _), _| origin == peer).map(|(_, r)| r).collect();
        for (key, reason) in failed {
            self.file_event(FileEvent::Failed { key, reason: reason.into() });
        }
        for relay in aborted {
            self.file_to(&relay.targets, &FileFrame::Abort { transfer: relay.number, failed: true }.encode());
        }
        self.file_acks();
        self.file_pump();
    }

    /// The frame closed: every transfer in flight stops here (the links closing tell the other peers).
    pub(in crate::client::files) fn file_close_all(&mut self) {
        let sending = self.files.sending.drain(..).map(|s| s.key);
        let keys: Vec<FileKey> = sending.chain(self.files.receiving.drain().map(|(_, r)| r.key)).collect();
        self.files.relays.clear();
        for key in keys {
            self.file_event(FileEvent::Cancelled { key });
        }
    }

    /// Tells the receivers of one of this peer's transfers that it stopped.
    pub(super) fn file_abort_own(&mut self, sending: &Sending, failed: bool) {
        let abort = FileFrame::Abort { transfer: sending.number, failed }.encode();
        match self.role {
            Some(Role::Host) => self.file_to(&sending.targets, &abort),
            _ => self.file_to_host(abort),
        }
    }

    /// Host: sends `message` on every open link but `except`'s and returns the peers it went to.
    pub(super) fn file_broadcast(&mut self, message: &[u8], except: Option<&PeerId>) -> Vec<PeerId> {
        let targets: Vec<PeerId> =
            self.links.values().filter(|l| l.open && Some(&l.peer) != except).map(|l| l.peer.clone()).collect();
        self.file_to(&targets, message);
        targets
    }

    /// Sends `message` on the links of `targets` (those still open).
    pub(super) fn file_to(&mut self, targets: &[PeerId], message: &[u8]) {
        for peer in targets {
            if let Some(link) = self.links.get_mut(peer) {
                link.send_binary(message.to_vec());
            }
        }
    }

    /// Client: sends `message` to the host (dropped when the link is down: the transfer fails with it).
    pub(super) fn file_to_host(&mut self, message: Vec<u8>) {
        if let Some(host) = self.host.clone() {
            if let Some(link) = self.links.get_mut(&host) {
                link.send_binary(message);
            }
        }
    }

    /// Client: the link to the host, when open.
    pub(super) fn host_link(&self) -> Option<&PeerLink> {
        self.host.as_ref().and_then(|host| self.links.get(host)).filter(|l| l.open)
    }

    /// Reports sending progress when it moved by a percent.
    pub(super) fn file_progress_sent(&mut self, at: usize) {
        let s = &mut self.files.sending[at];
        let size = s.blob.size() as u64;
        let percent = (s.out.sent() * 100).checked_div(size).map_or(100, |p| p as u8);
        if percent > s.reported {
            s.reported = percent;
            let (key, bytes) = (s.key, s.out.sent());
            self.file_event(FileEvent::Progress { key, bytes });
        }
    }

    /// A malformed file message: dropped and reported, the link goes on.
    pub(super) fn file_bad_input(&mut self, peer: &PeerId, what: &str) {
        match self.role {
            Some(Role::Host) => self.host_drop(peer, what),
            _ => warn(&format!("dropped {what} from {peer}")),
        }
    }

    /// Reports a file event to the frame.
    pub(super) fn file_event(&mut self, event: FileEvent) {
        self.events.push(DriverEvent::File(event));
    }
}

/// Folds the gathered chunks into the received file's `Blob` (a `Blob` made of `Blob`s shares their bytes),
/// so the JS arrays can go. When the browser refuses, the arrays stay (they go into the file at the end).
fn fold(r: &mut Receiving) {
    if r.part_bytes == 0 {
        return;
    }
    let folded = web_sys::Blob::new_with_u8_array_sequence(&r.parts).and_then(|part| {
        let parts = Array::new();
        if let Some(blob) = &r.blob {
            parts.push(blob);
        }
        parts.push(&part);
        web_sys::Blob::new_with_blob_sequence(&parts)
    });
    match folded {
        Ok(blob) => {
            r.blob = Some(blob);
            r.parts = Array::new();
            r.part_bytes = 0;
        }
        Err(err) => warn(&format!("could not fold a received file's chunks (kept as they are): {err:?}")),
    }
}
