//! The host half of the driver (`hydrate` only): one link per client, offers addressed to one peer, each
//! connected link's route (measured with `route.rs` when its channel opens, shortly after, and every tick),
//! and the peer-state map broadcast whenever it changes. What travels on the links is `relay.rs`'s.

use super::browser::{now_ms, random, random_id, warn};
use super::link::{add_candidate, local_description, set_remote, PeerLink};
use super::{route, DriverEvent, Inner};
use crate::hooks::P2pState;
use crate::hub::StarHub;
use crate::protocol::{ClientToServer, LinkState, PeerFrame, PeerId, Role, SignalPayload};
use crate::volatile::VolatileRelay;
use leptos::prelude::set_timeout;
use std::time::Duration;
use web_sys::RtcSdpType;

/// After a link's channel opens, its route is measured at once and again after each of these delays: the
/// selected candidate pair may still change right after the channel opens. Every tick measures it again.
const ROUTE_RECHECKS: [Duration; 2] = [Duration::from_millis(500), Duration::from_secs(2)];

impl Inner {
    /// We are (or stay) the host.
    pub(crate) fn become_host(&mut self) {
        if self.role == Some(Role::Host) && self.hub.is_some() {
            // A signaling blip: our links and peers are intact.
            self.set_state(P2pState::Connected);
            self.publish_peers();
            return;
        }
        let Some(me) = self.me.clone() else { return };
        self.links.drain().for_each(|(_, mut link)| link.close());
        self.connect_timer.take().into_iter().for_each(|h| h.clear());
        self.role = Some(Role::Host);
        self.host = Some(me.clone());
        self.hub = Some(StarHub::new(me));
        self.volatile = VolatileRelay::new(self.config.volatile_rate);
        self.attempt = 0;
        // A new epoch; our own unacknowledged messages are ordered first (no client is linked yet: they
        // get them in their replay).
        let cert = self.seal_new_epoch();
        let ordered = self.delivery.start_hosting(cert, (random() * 4_294_967_296.0) as u32, now_ms());
        self.host_seal_out(ordered);
        self.set_state(P2pState::Connecting);
        self.set_state(P2pState::Connected);
        self.publish_peers();
        if let Some(media) = self.planes.media {
            (media.new_role)(self);
        }
    }

    /// A peer joined (or rejoined after a reload): replace any old link and send it an offer.
    pub(crate) fn host_accept(&mut self, peer: PeerId) {
        if self.role != Some(Role::Host) || self.me.as_ref() == Some(&peer) {
            return;
        }
        if let Some(mut old) = self.links.remove(&peer) {
            old.close();
        }
        self.delivery.forget(&peer);
        self.seal_forget(&peer);
        self.volatile.forget(&peer);
        if let Some(media) = self.planes.media {
            (media.peer_gone)(self, &peer);
        }
        let id = random_id();
        let link = match PeerLink::new(peer.clone(), id, &self.config, &self.weak, self.planes, true) {
            Ok(link) => link,
            Err(err) => return warn(&format!("could not open a link to {peer}: {err:?}")),
        };
        let pc = link.pc.clone();
        self.links.insert(peer.clone(), link);
        self.set_peer_state(&peer, LinkState::Negotiating);
        let weak = self.weak.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let offer = local_description(&pc, RtcSdpType::Offer).await;
            weak.with(move |i| match offer {
                Ok(sdp) if i.links.get(&peer).is_some_and(|l| l.id == id) => {
                    let signal = SignalPayload::Offer { link: id, sdp };
                    i.signaling_send(&ClientToServer::Signal { to: peer, signal });
                }
                Ok(_) => {}
                Err(err) => {
                    warn(&format!("could not create an offer for {peer}: {err:?}"));
                    i.drop_link(&peer, id);
                }
            });
        });
    }

    /// The client answered our offer.
    pub(crate) fn host_on_answer(&mut self, from: PeerId, link: u64, sdp: String) {
        if self.role != Some(Role::Host) {
            return;
        }
        let Some(pc) = self.links.get(&from).filter(|l| l.id == link).map(|l| l.pc.clone()) else { return };
        let weak = self.weak.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let result = set_remote(&pc, RtcSdpType::Answer, &sdp).await;
            weak.with(move |i| match result {
                Ok(()) => {
                    let Some(l) = i.links.get_mut(&from).filter(|l| l.id == link) else { return };
                    let pc = l.pc.clone();
                    l.remote_description_set().into_iter().for_each(|c| add_candidate(&pc, c));
                    if !l.open {
                        i.set_peer_state(&from, LinkState::Connecting);
                    }
                }
                Err(err) => {
                    warn(&format!("answer from {from} refused: {err:?}"));
                    i.drop_link(&from, link);
                }
            });
        });
    }

    /// A client's signaling socket closed: a link still waiting for its answer is dead. A link past that
    /// point is not (connected clients leave the server on purpose); the heartbeat watches it.
    pub(crate) fn host_peer_left(&mut self, peer: PeerId) {
        if let Some(id) = self.links.get(&peer).filter(|l| !l.remote_set).map(|l| l.id) {
            self.drop_link(&peer, id);
        }
    }

    /// The data channel to `peer` opened: it is connected, the delivery exchange starts, and its route is
    /// measured.
    pub(crate) fn host_link_open(&mut self, peer: PeerId) {
        self.set_peer_state(&peer, LinkState::Connected);
        self.host_send_hello(&peer);
        self.host_measure_route(peer.clone());
        for delay in ROUTE_RECHECKS {
            let (weak, peer) = (self.weak.clone(), peer.clone());
            set_timeout(move || weak.with(move |i| i.host_measure_route(peer)), delay);
        }
    }

    /// Measures how the open link to `peer` is connected (`getStats()`), then records and broadcasts the route
    /// if it changed. A failure is a warning: the peer simply shows no route.
    fn host_measure_route(&mut self, peer: PeerId) {
        let Some(link) = self.links.get(&peer).filter(|l| l.open) else { return };
        let (pc, id, weak) = (link.pc.clone(), link.id, self.weak.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let measured = route::measure(&pc).await;
            weak.with(move |i| {
                if i.role != Some(Role::Host) || i.links.get(&peer).is_none_or(|l| l.id != id) {
                    return; // the link was replaced or closed meanwhile
                }
                match measured {
                    Ok(Some(route)) => {
                        if i.hub.as_mut().is_some_and(|hub| hub.set_route(&peer, route)) {
                            i.publish_peers();
                        }
                    }
                    Ok(None) => {} // no pair selected yet: a later check finds it
                    Err(err) => warn(&format!("could not read the route to {peer}: {err:?}")),
                }
            });
        });
    }

    /// Every tick: measures every open link again (the selected pair can change with the network).
    fn host_measure_routes(&mut self) {
        let open: Vec<PeerId> = self.links.values().filter(|l| l.open).map(|l| l.peer.clone()).collect();
        open.into_iter().for_each(|peer| self.host_measure_route(peer));
    }

    /// Sends one frame, serialized once, on every open link.
    fn broadcast(&self, frame: &PeerFrame) {
        let Ok(text) = serde_json::to_string(frame) else { return };
        for link in self.links.values().filter(|l| l.open) {
            link.send_text(&text);
        }
    }

    /// The link to `peer` closed (its page closed, or the connection failed): it leaves the map.
    pub(crate) fn host_peer_gone(&mut self, peer: PeerId) {
        if let Some(media) = self.planes.media {
            (media.peer_gone)(self, &peer);
        }
        self.delivery.forget(&peer);
        self.seal_forget(&peer);
        self.volatile.forget(&peer);
        if self.hub.as_mut().is_some_and(|hub| hub.remove(&peer)) {
            self.publish_peers();
        }
    }

    /// The link to `peer` went silent: it stays in the map as disconnected until it comes back through
    /// the server (and is renegotiated) or the removal grace passes.
    pub(crate) fn host_peer_timed_out(&mut self, peer: PeerId) {
        if let Some(media) = self.planes.media {
            (media.peer_gone)(self, &peer);
        }
        self.set_peer_state(&peer, LinkState::Disconnected);
    }

    /// Drops negotiations that hang and peers disconnected past the grace period; measures the routes again.
    pub(crate) fn host_housekeeping(&mut self, now: f64) {
        let limit = self.config.connect_timeout.as_secs_f64() * 1000.0;
        let hung: Vec<_> = self
            .links
            .values()
            .filter(|l| !l.open && now - l.created > limit)
            .map(|l| (l.peer.clone(), l.id))
            .collect();
        for (peer, id) in hung {
            warn(&format!("negotiation with {peer} timed out"));
            self.drop_link(&peer, id);
        }
        let grace = self.config.peer_removal_grace.as_secs_f64() * 1000.0;
        if self.hub.as_mut().is_some_and(|hub| !hub.expire_disconnected(now, grace).is_empty()) {
            self.publish_peers();
        }
        self.host_measure_routes();
    }

    /// Closes link `id` to `peer` and removes the peer from the map.
    fn drop_link(&mut self, peer: &PeerId, id: u64) {
        if self.links.get(peer).is_some_and(|l| l.id == id) {
            if let Some(mut link) = self.links.remove(peer) {
                link.close();
            }
            self.host_peer_gone(peer.clone());
        }
    }

    fn set_peer_state(&mut self, peer: &PeerId, state: LinkState) {
        if self.hub.as_mut().is_some_and(|hub| hub.set_state(peer, state, now_ms())) {
            self.publish_peers();
        }
    }

    /// Reports the map locally, broadcasts it to every client and tells the server the roster size.
    pub(crate) fn publish_peers(&mut self) {
        let Some(hub) = self.hub.as_ref() else { return };
        let (frame, statuses, size) = (hub.state_frame(), hub.statuses(), hub.len() as u32);
        self.broadcast(&frame);
        self.signaling_send(&ClientToServer::Roster { peers: size, states: statuses.clone() });
        self.events.push(DriverEvent::Peers(statuses));
    }
}
