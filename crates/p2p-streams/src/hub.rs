//! The host's bookkeeping, free of any browser API so it is unit-tested natively: the peer-state map it
//! broadcasts (`Data.Connection.State`), with each connected link's route. The order of messages is
//! `delivery`'s. Used by the browser driver (`hydrate`); compiled on both sides.

use crate::protocol::{LinkState, PeerFrame, PeerId, PeerStatus, Route};

/// One peer as the host tracks it.
#[derive(Clone, Debug)]
struct Entry {
    /// The peer.
    peer: PeerId,
    /// Its link state.
    state: LinkState,
    /// When it became disconnected (ms timestamp), to remove it after a grace period.
    disconnected_at: Option<f64>,
    /// How its link is connected, measured once connected; cleared whenever the state changes.
    route: Option<Route>,
}

/// The host's peer-state map, in join order.
#[derive(Clone, Debug)]
pub struct StarHub {
    /// The host itself, always first and connected.
    host: PeerId,
    /// Every client, in the order it first joined.
    peers: Vec<Entry>,
}

impl StarHub {
    /// A hub for `host` with no clients yet.
    pub fn new(host: PeerId) -> Self {
        StarHub { host, peers: Vec::new() }
    }

    /// The host.
    pub fn host(&self) -> &PeerId {
        &self.host
    }

    /// Sets `peer`'s state (adding it if new). Returns whether the map changed. Any change of state forgets
    /// the route: a link that is connected again is measured again.
    pub fn set_state(&mut self, peer: &PeerId, state: LinkState, now_ms: f64) -> bool {
        if *peer == self.host {
            return false;
        }
        let disconnected_at = (state == LinkState::Disconnected).then_some(now_ms);
        match self.peers.iter_mut().find(|e| e.peer == *peer) {
            Some(entry) if entry.state == state => false,
            Some(entry) => {
                entry.state = state;
                entry.disconnected_at = disconnected_at;
                entry.route = None;
                true
            }
            None => {
                self.peers.push(Entry { peer: peer.clone(), state, disconnected_at, route: None });
                true
            }
        }
    }

    /// Records how the link to `peer` is connected. Only a connected client has a route (a measurement that
    /// arrives after its link went down is ignored). Returns whether the map changed.
    pub fn set_route(&mut self, peer: &PeerId, route: Route) -> bool {
        match self.peers.iter_mut().find(|e| e.peer == *peer) {
            Some(entry) if entry.state == LinkState::Connected && entry.route != Some(route) => {
                entry.route = Some(route);
                true
            }
            _ => false,
        }
    }

    /// The route of `peer`'s link, if known.
    pub fn route(&self, peer: &PeerId) -> Option<Route> {
        self.peers.iter().find(|e| e.peer == *peer).and_then(|e| e.route)
    }

    /// The state of `peer`, if tracked.
    pub fn state(&self, peer: &PeerId) -> Option<LinkState> {
        if *peer == self.host {
            return Some(LinkState::Connected);
        }
        self.peers.iter().find(|e| e.peer == *peer).map(|e| e.state)
    }

    /// Removes `peer`. Returns whether it was tracked.
    pub fn remove(&mut self, peer: &PeerId) -> bool {
        let before = self.peers.len();
        self.peers.retain(|e| e.peer != *peer);
        before != self.peers.len()
    }

    /// Removes peers disconnected for longer than `grace_ms`; returns them.
    pub fn expire_disconnected(&mut self, now_ms: f64, grace_ms: f64) -> Vec<PeerId> {
        let (gone, kept): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut self.peers)
            .into_iter()
            .partition(|e| e.disconnected_at.is_some_and(|at| now_ms - at > grace_ms));
        self.peers = kept;
        gone.into_iter().map(|e| e.peer).collect()
    }

    /// Number of peers including the host.
    pub fn len(&self) -> usize {
        self.peers.len() + 1
    }

    /// Always false: the host is a peer.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The map as broadcast: host first (never with a route: it has no link to itself), then clients in
    /// join order.
    pub fn statuses(&self) -> Vec<PeerStatus> {
        let host = PeerStatus { peer: self.host.clone(), state: LinkState::Connected, host: true, route: None };
        let client = |e: &Entry| PeerStatus { peer: e.peer.clone(), state: e.state, host: false, route: e.route };
        std::iter::once(host).chain(self.peers.iter().map(client)).collect()
    }

    /// The `Data.Connection.State` frame for the current map.
    pub fn state_frame(&self) -> PeerFrame {
        PeerFrame::ConnectionState { host: self.host.clone(), peers: self.statuses() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(id: &str) -> PeerId {
        PeerId(id.to_owned())
    }

    #[test]
    fn map_tracks_changes_in_join_order_host_first() {
        let mut hub = StarHub::new(p("h#1"));
        assert!(hub.set_state(&p("b#1"), LinkState::Negotiating, 0.0));
        assert!(hub.set_state(&p("a#1"), LinkState::Negotiating, 0.0));
        assert!(!hub.set_state(&p("a#1"), LinkState::Negotiating, 1.0));
        assert!(hub.set_state(&p("a#1"), LinkState::Connected, 1.0));
        assert!(!hub.set_state(&p("h#1"), LinkState::Disconnected, 1.0));
        let ids: Vec<_> = hub.statuses().into_iter().map(|s| (s.peer.0, s.state, s.host)).collect();
        assert_eq!(
            ids,
            vec![
                ("h#1".into(), LinkState::Connected, true),
                ("b#1".into(), LinkState::Negotiating, false),
                ("a#1".into(), LinkState::Connected, false)
            ]
        );
        assert!(hub.remove(&p("b#1")));
        assert!(!hub.remove(&p("b#1")));
        assert_eq!(hub.len(), 2);
    }

    #[test]
    fn disconnected_peers_expire_after_grace_only() {
        let mut hub = StarHub::new(p("h#1"));
        hub.set_state(&p("a#1"), LinkState::Disconnected, 1000.0);
        hub.set_state(&p("b#1"), LinkState::Connected, 1000.0);
        assert!(hub.expire_disconnected(1500.0, 1000.0).is_empty());
        assert_eq!(hub.expire_disconnected(2500.0, 1000.0), vec![p("a#1")]);
        assert_eq!(hub.len(), 2);
        // Reconnecting clears the disconnection clock.
        hub.set_state(&p("b#1"), LinkState::Disconnected, 3000.0);
        hub.set_state(&p("b#1"), LinkState::Connected, 3100.0);
        assert!(hub.expire_disconnected(9000.0, 1000.0).is_empty());
    }

    #[test]
    fn routes_belong_to_connected_links_only() {
        let mut hub = StarHub::new(p("h#1"));
        assert!(!hub.set_route(&p("a#1"), Route::Host), "unknown peer");
        assert!(!hub.set_route(&p("h#1"), Route::Host), "the host has no link to itself");
        hub.set_state(&p("a#1"), LinkState::Connecting, 0.0);
        assert!(!hub.set_route(&p("a#1"), Route::Relay), "not connected yet");
        assert_eq!(hub.route(&p("a#1")), None);
        hub.set_state(&p("a#1"), LinkState::Connected, 1.0);
        assert!(hub.set_route(&p("a#1"), Route::Srflx));
        assert!(!hub.set_route(&p("a#1"), Route::Srflx), "unchanged");
        assert!(hub.set_route(&p("a#1"), Route::Relay), "the selected pair changed");
        let routes: Vec<_> = hub.statuses().into_iter().map(|s| (s.peer.0, s.route)).collect();
        assert_eq!(routes, vec![("h#1".into(), None), ("a#1".into(), Some(Route::Relay))]);
        match hub.state_frame() {
            PeerFrame::ConnectionState { peers, .. } => assert_eq!(peers[1].route, Some(Route::Relay)),
            other => panic!("not a state frame: {other:?}"),
        }
        // Leaving `connected` forgets the route; a reconnected link is measured again.
        assert!(hub.set_state(&p("a#1"), LinkState::Disconnected, 2.0));
        assert_eq!(hub.route(&p("a#1")), None);
        assert!(!hub.set_route(&p("a#1"), Route::Relay), "a late measurement of the old link");
        hub.set_state(&p("a#1"), LinkState::Connected, 3.0);
        assert_eq!(hub.route(&p("a#1")), None);
        assert!(hub.set_route(&p("a#1"), Route::Host));
    }
}
