//! The client half of the driver (`hydrate` only): answers the host's offer, keeps one link to the host,
//! leaves the signaling server once connected (unless configured to stay), and when the host is lost
//! reconnects on its own, naming the lost host so the server can elect a new one at once.

use super::browser::{now_ms, warn};
use super::link::{add_candidate, local_description, set_remote, PeerLink};
use super::seal::{Unchecked, Verified};
use super::{DriverEvent, Inner};
use crate::delivery::Payload;
use crate::delivery::SealCheck;
use crate::hooks::P2pState;
use crate::protocol::{ClientToServer, PeerFrame, PeerId, Role, SignalPayload};
use leptos::prelude::set_timeout_with_handle;
use web_sys::RtcSdpType;

impl Inner {
    /// We are (or become) a client of `host`.
    pub(crate) fn become_client(&mut self, host: PeerId) {
        if self.hub.take().is_some() {
            // Demoted (our role lapsed while we were away): our old star is not ours any more.
            self.links.drain().for_each(|(_, mut link)| link.close());
            self.delivery.link_down();
            self.seal_forget_all();
        }
        self.links.retain(|peer, link| {
            let keep = *peer == host;
            if !keep {
                link.close();
            }
            keep
        });
        self.role = Some(Role::Client);
        self.host = Some(host.clone());
        let connected = self.links.get(&host).is_some_and(|l| l.open);
        if !connected {
            self.set_state(P2pState::Negotiating);
            self.start_connect_timer();
            if let Some(media) = self.planes.media {
                (media.new_role)(self);
            }
        }
    }

    fn start_connect_timer(&mut self) {
        self.connect_timer.take().into_iter().for_each(|h| h.clear());
        let weak = self.weak.clone();
        let timeout = self.config.connect_timeout;
        self.connect_timer = set_timeout_with_handle(
            move || {
                weak.with(|i| {
                    i.connect_timer = None;
                    if i.role == Some(Role::Client) && i.state != P2pState::Connected {
                        warn("no connection to the host in time: starting over");
                        i.links.drain().for_each(|(_, mut link)| link.close());
                        i.delivery.link_down();
                        i.close_signaling(1000, "retry");
                        i.schedule_reconnect();
                    }
                })
            },
            timeout,
        )
        .ok();
    }

    /// The host's offer: open the link and answer it.
    pub(crate) fn guest_on_offer(&mut self, from: PeerId, link: u64, sdp: String) {
        if self.role != Some(Role::Client) || self.host.as_ref() != Some(&from) {
            return warn(&format!("ignored an offer from {from}, who is not our host"));
        }
        if let Some(mut old) = self.links.remove(&from) {
            old.close();
        }
        self.delivery.link_down();
        self.seal_forget(&from);
        if let Some(media) = self.planes.media {
            (media.host_gone)(self);
        }
        let peer_link = match PeerLink::new(from.clone(), link, &self.config, &self.weak, self.planes, false) {
            Ok(peer_link) => peer_link,
            Err(err) => return warn(&format!("could not open a link to the host: {err:?}")),
        };
        let pc = peer_link.pc.clone();
        self.links.insert(from.clone(), peer_link);
        self.set_state(P2pState::Connecting);
        let weak = self.weak.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let answer = match set_remote(&pc, RtcSdpType::Offer, &sdp).await {
                Ok(()) => {
                    let (weak, from) = (weak.clone(), from.clone());
                    weak.with(move |i| {
                        if let Some(l) = i.links.get_mut(&from).filter(|l| l.id == link) {
                            let pc = l.pc.clone();
                            l.remote_description_set().into_iter().for_each(|c| add_candidate(&pc, c));
                        }
                    });
                    local_description(&pc, RtcSdpType::Answer).await
                }
                Err(err) => Err(err),
            };
            weak.with(move |i| match answer {
                Ok(sdp) if i.links.get(&from).is_some_and(|l| l.id == link) => {
                    let signal = SignalPayload::Answer { link, sdp };
                    i.signaling_send(&ClientToServer::Signal { to: from, signal });
                }
                Ok(_) => {}
                Err(err) => {
                    warn(&format!("could not answer the host's offer: {err:?}"));
                    i.on_link_down(from, link);
                }
            });
        });
    }

    /// The data channel to the host opened.
    pub(crate) fn guest_link_open(&mut self) {
        self.connect_timer.take().into_iter().for_each(|h| h.clear());
        self.attempt = 0;
        self.lost_host = None;
        self.set_state(P2pState::Connected);
        if !self.config.keep_signaling_connection {
            self.close_signaling(1000, "connected");
        }
    }

    /// A frame from the host: entries and certificates are checked first (`seal`).
    pub(crate) fn guest_on_message(&mut self, peer: PeerId, text: &str) {
        if self.host.as_ref() != Some(&peer) {
            return;
        }
        match PeerFrame::decode(text) {
            Ok(PeerFrame::Ping { nonce }) => self.send_pong(&peer, nonce),
            Ok(frame) => {
                if let Some(frame) = self.seal_gate(&peer, frame) {
                    let nothing = Verified::default();
                    let check: &dyn SealCheck = if self.seals.available() { &nothing } else { &Unchecked };
                    self.guest_on_frame(peer, frame, check);
                }
            }
            Err(err) => warn(&format!("dropped a malformed message from the host: {err}")),
        }
    }

    /// A frame from the host, in its order, with the answers of its check.
    pub(crate) fn guest_on_frame(&mut self, peer: PeerId, frame: PeerFrame, check: &dyn SealCheck) {
        match frame {
            PeerFrame::Hello { epoch, acked } => {
                // Our history, our tips, then every message the host has not ordered yet.
                for frame in self.delivery.on_hello(epoch, acked) {
                    self.guest_send(&frame);
                }
            }
            PeerFrame::Data(entry) => self.delivery.on_data(&peer, entry, now_ms(), check),
            PeerFrame::Certs { certs } => self.delivery.on_certs(certs, check),
            PeerFrame::Gap { missed } => {
                warn(&format!("the host no longer has {missed} message(s) we missed"));
                self.delivery.on_gap(missed);
            }
            PeerFrame::ConnectionState { peers, .. } => self.events.push(DriverEvent::Peers(peers)),
            PeerFrame::Direct { from, id, payload, bytes } => {
                self.delivery.on_direct(from, id, Payload::from_parts(payload, bytes))
            }
            PeerFrame::DirectAck { id } => self.delivery.on_direct_ack(id),
            PeerFrame::DirectFailed { id, to } => self.delivery.on_direct_failed(id, to),
            PeerFrame::Ping { nonce } => self.send_pong(&peer, nonce),
            PeerFrame::Pong { .. } => {}
            PeerFrame::Media { media } => self.on_media_frame(peer, media),
            _ => warn("dropped a client-only frame sent by the host"),
        }
    }

    /// Sends a frame to the host if the link is open. A message that cannot go now stays in the outbox and
    /// is resent after the next `Hello`.
    pub(crate) fn guest_send(&mut self, frame: &PeerFrame) {
        if let Some(link) = self.host.as_ref().and_then(|h| self.links.get_mut(h)).filter(|l| l.open) {
            link.send(frame);
        }
    }

    /// The link to the host is gone: reconnect through the server, naming the lost host.
    pub(crate) fn guest_host_lost(&mut self) {
        self.delivery.link_down();
        self.seal_forget_all();
        if let Some(media) = self.planes.media {
            (media.host_gone)(self);
        }
        self.lost_host = self.host.clone();
        self.connect_timer.take().into_iter().for_each(|h| h.clear());
        self.set_state(P2pState::Disconnected);
        self.close_signaling(1000, "host lost");
        self.schedule_reconnect();
    }
}
