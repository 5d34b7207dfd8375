//! The host's data-channel traffic (`hydrate` only): every frame a client sends is checked (size, shape,
//! direction) and fed to the delivery engine, and what the engine returns goes out: `Hello` on a new link,
//! the replay after `Resume`, live entries to resumed clients. A bad frame is dropped and reported (a console
//! warning and the `dropped_messages` count), never fatal: a client cannot crash or stall its host.

use super::browser::{now_ms, warn};
use super::{DriverEvent, Inner};
use crate::delivery::Entry;
use crate::protocol::{PeerFrame, PeerId};

/// Largest data-channel message a host accepts from a client (Chromium's SCTP limit is 256 KiB as well).
pub(crate) const MAX_CLIENT_MESSAGE: usize = 256 * 1024;

/// Most epochs a client's tips may list (one per host the session ever had, far fewer in practice).
const MAX_TIPS: usize = 4_096;

/// The frame's type name, for reports.
fn kind(frame: &PeerFrame) -> &'static str {
    match frame {
        PeerFrame::Send { .. } => "Send",
        PeerFrame::Data(_) => "Data",
        PeerFrame::Hello { .. } => "Hello",
        PeerFrame::History { .. } => "History",
        PeerFrame::Resume { .. } => "Resume",
        PeerFrame::Gap { .. } => "Gap",
        PeerFrame::ConnectionState { .. } => "Data.Connection.State",
        PeerFrame::Ping { .. } => "Ping",
        PeerFrame::Pong { .. } => "Pong",
    }
}

impl Inner {
    /// Opens the delivery exchange on a link that just opened.
    pub(crate) fn host_send_hello(&mut self, peer: &PeerId) {
        if let (Some(frame), Some(link)) = (self.delivery.hello(peer), self.links.get(peer)) {
            link.send(&frame);
        }
    }

    /// A frame from a client: its sender is the link's peer, whatever the frame says.
    pub(crate) fn host_on_message(&mut self, peer: PeerId, text: &str) {
        if text.len() > MAX_CLIENT_MESSAGE {
            return self.host_drop(&peer, &format!("a {} byte message (limit {MAX_CLIENT_MESSAGE})", text.len()));
        }
        let frame = match PeerFrame::decode(text) {
            Ok(frame) => frame,
            Err(err) => return self.host_drop(&peer, &format!("a malformed message ({err})")),
        };
        let now = now_ms();
        match frame {
            PeerFrame::Send { seq, payload } => {
                let entry = self.delivery.on_send(peer, seq, payload, now);
                self.host_broadcast_entries(entry.into_iter().collect());
            }
            PeerFrame::History { entries } if entries.len() <= self.config.history_limit.max(1) => {
                let (everyone, reporter) = self.delivery.on_history(&peer, entries, now);
                self.host_broadcast_entries(everyone);
                if let Some(link) = self.links.get(&peer) {
                    reporter.into_iter().for_each(|entry| {
                        link.send(&PeerFrame::Data(entry));
                    });
                }
            }
            PeerFrame::Resume { tips } if tips.len() <= MAX_TIPS => {
                let frames = self.delivery.on_resume(&peer, &tips);
                if let Some(link) = self.links.get(&peer) {
                    frames.iter().for_each(|frame| {
                        link.send(frame);
                    });
                }
            }
            PeerFrame::Ping { nonce } => {
                if let Some(link) = self.links.get(&peer) {
                    link.send(&PeerFrame::Pong { nonce });
                }
            }
            PeerFrame::Pong { .. } => {}
            other => self.host_drop(&peer, &format!("a {} frame, which is not for a host or too long", kind(&other))),
        }
    }

    /// Sends ordered entries to every client that resumed (the others get them in their replay).
    pub(crate) fn host_broadcast_entries(&mut self, entries: Vec<Entry>) {
        for entry in entries {
            let Ok(text) = serde_json::to_string(&PeerFrame::Data(entry)) else { continue };
            for link in self.links.values().filter(|l| l.open && self.delivery.is_resumed(&l.peer)) {
                link.send_text(&text);
            }
        }
    }

    /// Drops a client's frame and reports it.
    fn host_drop(&mut self, peer: &PeerId, what: &str) {
        warn(&format!("dropped {what} from {peer}"));
        self.events.push(DriverEvent::Dropped);
    }
}
