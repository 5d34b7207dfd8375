//! The host's data-channel traffic (`hydrate` only): every frame a client sends is checked (size, shape,
//! direction) and fed to the delivery engine, and what the engine returns goes out: `Hello` on a new link,
//! the replay after `Resume`, live entries to resumed clients. A bad frame is dropped and reported (a console
//! warning and the `dropped_messages` count), never fatal: a client cannot crash or stall its host. A
//! client's `History` is checked first (`seal`): entries whose seal does not verify are refused and reported.

use super::browser::{now_ms, warn};
use super::seal::{Unchecked, Verified};
use super::{DriverEvent, Inner};
use crate::chunk::frame_limit;
use crate::delivery::SealCheck;
use crate::delivery::{Entry, Payload};
use crate::protocol::{PeerFrame, PeerId};

/// Largest whole text message a host accepts from a client (Chromium's SCTP limit is 256 KiB as well);
/// longer frames come in chunks, up to `chunk::frame_limit` of the configured `max_message_bytes`.
pub(crate) const MAX_CLIENT_MESSAGE: usize = 256 * 1024;

/// Most epochs a client's tips may list (one per host the session ever had, far fewer in practice).
const MAX_TIPS: usize = 4_096;

/// The frame's type name, for reports.
fn kind(frame: &PeerFrame) -> &'static str {
    match frame {
        PeerFrame::Send { .. } => "Send",
        PeerFrame::SendTo { .. } => "SendTo",
        PeerFrame::Direct { .. } => "Direct",
        PeerFrame::DirectAck { .. } => "DirectAck",
        PeerFrame::DirectFailed { .. } => "DirectFailed",
        PeerFrame::Data(_) => "Data",
        PeerFrame::Hello { .. } => "Hello",
        PeerFrame::History { .. } => "History",
        PeerFrame::Certs { .. } => "Certs",
        PeerFrame::Resume { .. } => "Resume",
        PeerFrame::Gap { .. } => "Gap",
        PeerFrame::ConnectionState { .. } => "Data.Connection.State",
        PeerFrame::Ping { .. } => "Ping",
        PeerFrame::Pong { .. } => "Pong",
        PeerFrame::Media { .. } => "Media",
    }
}

impl Inner {
    /// Opens the delivery exchange on a link that just opened.
    pub(crate) fn host_send_hello(&mut self, peer: &PeerId) {
        if let (Some(frame), Some(link)) = (self.delivery.hello(peer), self.links.get_mut(peer)) {
            link.send(&frame);
        }
    }

    /// A frame from a client: its sender is the link's peer, whatever the frame says.
    pub(crate) fn host_on_message(&mut self, peer: PeerId, text: &str) {
        let limit = MAX_CLIENT_MESSAGE.max(frame_limit(self.config.max_message_bytes));
        if text.len() > limit {
            return self.host_drop(&peer, &format!("a {} byte message (limit {limit})", text.len()));
        }
        let frame = match PeerFrame::decode(text) {
            Ok(PeerFrame::Ping { nonce }) => return self.send_pong(&peer, nonce),
            Ok(frame) => frame,
            Err(err) => return self.host_drop(&peer, &format!("a malformed message ({err})")),
        };
        if let Some(frame) = self.seal_gate(&peer, frame) {
            let nothing = Verified::default();
            let check: &dyn SealCheck = if self.seals.available() { &nothing } else { &Unchecked };
            self.host_on_frame(peer, frame, check);
        }
    }

    /// A client's frame, in its link's order, with the answers of its check.
    pub(crate) fn host_on_frame(&mut self, peer: PeerId, frame: PeerFrame, check: &dyn SealCheck) {
        let now = now_ms();
        match frame {
            PeerFrame::Send { seq, payload, bytes } => {
                let entry = self.delivery.on_send(peer, seq, Payload::from_parts(payload, bytes), now);
                self.host_seal_out(entry.into_iter().collect());
            }
            PeerFrame::SendTo { to, id, payload, bytes } => {
                let frames = self.delivery.on_send_to(peer, to, id, Payload::from_parts(payload, bytes));
                self.host_send_frames(frames);
            }
            PeerFrame::History { entries, certs } if entries.len() <= self.config.history_limit.max(1) => {
                let (everyone, reporter) = self.delivery.on_history(&peer, entries, certs, now, check);
                // The certificates of merged entries go first: a client checks every entry it takes.
                if let Some(certs) = self.delivery.certs_for(&everyone) {
                    self.host_broadcast_resumed(&certs);
                }
                self.host_broadcast_entries(everyone);
                let certs = self.delivery.certs_for(&reporter);
                if let Some(link) = self.links.get_mut(&peer) {
                    certs.into_iter().chain(reporter.into_iter().map(PeerFrame::Data)).for_each(|frame| {
                        link.send(&frame);
                    });
                }
            }
            PeerFrame::Resume { tips } if tips.len() <= MAX_TIPS => {
                let frames = self.delivery.on_resume(&peer, &tips);
                if let Some(link) = self.links.get_mut(&peer) {
                    frames.iter().for_each(|frame| {
                        link.send(frame);
                    });
                }
            }
            PeerFrame::Ping { nonce } => self.send_pong(&peer, nonce),
            PeerFrame::Pong { .. } => {}
            PeerFrame::Media { media } => self.on_media_frame(peer, media),
            other => self.host_drop(&peer, &format!("a {} frame, which is not for a host or too long", kind(&other))),
        }
    }

    /// Sends `frame` to every client that resumed.
    fn host_broadcast_resumed(&mut self, frame: &PeerFrame) {
        let Ok(text) = serde_json::to_string(frame) else { return };
        let delivery = &self.delivery;
        for link in self.links.values_mut().filter(|l| l.open && delivery.is_resumed(&l.peer)) {
            link.send_serialized(text.clone());
        }
    }

    /// Sends sealed entries to every client that resumed (the others get them in their replay). Each frame
    /// is serialized once and queued on every link (a long one goes out in chunks, link by link, as each
    /// link's buffer drains: one slow client does not hold up the others).
    pub(crate) fn host_broadcast_entries(&mut self, entries: Vec<Entry>) {
        for entry in entries {
            let Ok(text) = serde_json::to_string(&PeerFrame::Data(entry)) else { continue };
            let delivery = &self.delivery;
            for link in self.links.values_mut().filter(|l| l.open && delivery.is_resumed(&l.peer)) {
                link.send_serialized(text.clone());
            }
        }
    }

    /// Sends each frame to its peer's link (direct messages and their answers); a peer without a link is
    /// skipped (the delivery engine only routes to resumed links).
    pub(crate) fn host_send_frames(&mut self, frames: Vec<(PeerId, PeerFrame)>) {
        for (peer, frame) in frames {
            if let Some(link) = self.links.get_mut(&peer) {
                link.send(&frame);
            }
        }
    }

    /// Drops a client's frame and reports it.
    pub(crate) fn host_drop(&mut self, peer: &PeerId, what: &str) {
        warn(&format!("dropped {what} from {peer}"));
        self.events.push(DriverEvent::Dropped);
    }
}
