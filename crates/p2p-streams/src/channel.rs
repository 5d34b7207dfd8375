//! The data-channel side of the wire protocol (shared by both sides): [`PeerFrame`], the JSON messages between
//! a client and its host, and the peer-state map the host broadcasts ([`PeerStatus`], [`LinkState`], [`Route`]).
//! Re-exported by [`protocol`](crate::protocol); what the delivery frames guarantee is `delivery`'s.

use crate::delivery::{Bytes, Entry, EpochCert};
use crate::protocol::PeerId;
use serde::{Deserialize, Serialize};

/// Connection state of one peer as the host sees it (`data-state` in the peer list).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LinkState {
    /// Waiting for or exchanging offer/answer.
    Negotiating,
    /// Descriptions exchanged, ICE/DTLS/data channel opening.
    Connecting,
    /// Data channel open and heartbeats arriving.
    Connected,
    /// Heartbeats stopped or the link failed; waiting for the peer to come back.
    Disconnected,
}

impl LinkState {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Negotiating => "negotiating",
            LinkState::Connecting => "connecting",
            LinkState::Connected => "connected",
            LinkState::Disconnected => "disconnected",
        }
    }
}

/// How the link between the host and one client is connected: the ICE candidate type of the link's selected
/// candidate pair (`data-route` in the peer list). Of the pair's two candidates, the more indirect one counts,
/// so the variants are ordered from direct to relayed (`Ord`): a client that forces relay shows `Relay`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Route {
    /// Direct, between the peers' own addresses (same machine or LAN, or a public address).
    Host,
    /// Through a NAT's public address, learned from a STUN server (server reflexive).
    Srflx,
    /// Through a NAT's address learned from the other peer's connectivity checks (peer reflexive).
    Prflx,
    /// Relayed by a TURN server: neither peer learns the other's address.
    Relay,
}

impl Route {
    /// Lowercase name, as in `RTCIceCandidateStats.candidateType`.
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Host => "host",
            Route::Srflx => "srflx",
            Route::Prflx => "prflx",
            Route::Relay => "relay",
        }
    }

    /// The route of a `candidateType` name; `None` for anything else.
    pub fn from_candidate_type(name: &str) -> Option<Route> {
        [Route::Host, Route::Srflx, Route::Prflx, Route::Relay].into_iter().find(|r| r.as_str() == name)
    }
}

/// One row of the host's peer-state map.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerStatus {
    /// The peer.
    pub peer: PeerId,
    /// Its link state (the host itself is always connected).
    pub state: LinkState,
    /// Whether this peer is the host.
    pub host: bool,
    /// How the host's link to this peer is connected, once the link is connected and the host measured it;
    /// `None` otherwise, and always for the host's own row. Absent from the JSON when `None` (older hosts
    /// never write it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<Route>,
}

/// Messages on the data channel between a client and its host (see `delivery` for the guarantees).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum PeerFrame {
    /// Client -> host: an app message for everyone, numbered by its sender. The sender is the link's peer,
    /// never a field of the frame.
    #[serde(rename = "Send")]
    Send {
        /// The sender's sequence number (1, 2, 3 ...; with the sender, the message id).
        seq: u64,
        /// The app's message (a serialized `T` of `use_p2p::<T>()`; `null` for a binary message).
        payload: serde_json::Value,
        /// A binary message's bytes (base64); absent for a JSON message (older peers never write it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bytes: Option<Bytes>,
    },
    /// Client -> host: a message for one peer only (`send_to`), numbered by its sender. It takes no place in
    /// the session order and no log keeps it.
    #[serde(rename = "SendTo")]
    SendTo {
        /// The one recipient.
        to: PeerId,
        /// The sender's id of this direct message (1, 2, 3 ...).
        id: u64,
        /// The app's message (`null` for a binary message).
        payload: serde_json::Value,
        /// A binary message's bytes (base64).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bytes: Option<Bytes>,
    },
    /// Host -> client: a message for this client only, with the sender the host stamped.
    #[serde(rename = "Direct")]
    Direct {
        /// The sender, stamped by the host from the link the message came on.
        from: PeerId,
        /// The sender's id of the message.
        id: u64,
        /// The app's message (`null` for a binary message).
        payload: serde_json::Value,
        /// A binary message's bytes (base64).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bytes: Option<Bytes>,
    },
    /// Host -> client: direct message `id` of this client went to its target (handed to the target's link,
    /// or taken by the host itself): it is not sent again.
    #[serde(rename = "DirectAck")]
    DirectAck {
        /// The message's id.
        id: u64,
    },
    /// Host -> client: direct message `id` of this client could not go: `to` is not connected to the host.
    #[serde(rename = "DirectFailed")]
    DirectFailed {
        /// The message's id.
        id: u64,
        /// The target that is not in the room.
        to: PeerId,
    },
    /// Host -> client: an app message at its place in the session order, with the sender the host stamped.
    #[serde(rename = "Data")]
    Data(Entry),
    /// Host -> client: the first frame on every new link.
    #[serde(rename = "Hello")]
    Hello {
        /// The host's epoch.
        epoch: u64,
        /// Highest sequence number of this client the host has ordered: the client resends only what follows.
        acked: u64,
    },
    /// Client -> host: every message the client holds, in order and in chunks (the host merges them after a
    /// migration and leaves them out of the replay).
    #[serde(rename = "History")]
    History {
        /// The entries, unchanged (each with its host's seal).
        entries: Vec<Entry>,
        /// The certificates of the entries' epochs (absent when there are none).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        certs: Vec<EpochCert>,
    },
    /// Host -> client: certificates of epochs whose entries follow (first in every replay, and before
    /// entries merged from another client's history). The client keeps those the epoch authority issued.
    #[serde(rename = "Certs")]
    Certs {
        /// The certificates.
        certs: Vec<EpochCert>,
    },
    /// Client -> host: the history is complete; the host replays what the client did not report. The tips
    /// (per epoch, the highest index the client ever held) tell the host which pruned messages it missed.
    #[serde(rename = "Resume")]
    Resume {
        /// Per epoch, the highest index the client holds (empty for a newcomer).
        tips: Vec<(u64, u64)>,
    },
    /// Host -> client: this many messages the client missed are no longer in the host's history.
    #[serde(rename = "Gap")]
    Gap {
        /// How many.
        missed: u64,
    },
    /// Host -> client: the peer-state map, sent whenever it changes.
    #[serde(rename = "Data.Connection.State")]
    ConnectionState {
        /// The host.
        host: PeerId,
        /// Every peer of the session, the host included.
        peers: Vec<PeerStatus>,
    },
    /// Either way: heartbeat probe.
    #[serde(rename = "Ping")]
    Ping {
        /// Echoed in the pong.
        nonce: u64,
    },
    /// Either way: heartbeat answer.
    #[serde(rename = "Pong")]
    Pong {
        /// The probe's nonce.
        nonce: u64,
    },
    /// Either way: published media (`crate::media`): renegotiation of the open link, publications and the
    /// host's stream map.
    #[serde(rename = "Media")]
    Media {
        /// The media frame, decoded by the media code ([`MediaEnvelope::decode`](crate::media::MediaEnvelope)).
        media: crate::media::MediaEnvelope,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_frames_use_their_documented_tags() {
        let send = PeerFrame::Send { seq: 3, payload: serde_json::json!({"text": "hi"}), bytes: None };
        assert_eq!(serde_json::to_string(&send).unwrap(), r#"{"type":"Send","seq":3,"payload":{"text":"hi"}}"#);
        let binary = PeerFrame::Send { seq: 4, payload: serde_json::Value::Null, bytes: Some(Bytes(vec![1, 2])) };
        let text = serde_json::to_string(&binary).unwrap();
        assert_eq!(text, r#"{"type":"Send","seq":4,"payload":null,"bytes":"AQI="}"#);
        let to = PeerFrame::DirectFailed { id: 2, to: PeerId("b#1".into()) };
        assert_eq!(serde_json::to_string(&to).unwrap(), r#"{"type":"DirectFailed","id":2,"to":"b#1"}"#);
        let gap: PeerFrame = serde_json::from_str(r#"{"type":"Gap","missed":4}"#).unwrap();
        assert_eq!(gap, PeerFrame::Gap { missed: 4 });
        let resume = PeerFrame::Resume { tips: vec![(1, 2)] };
        let text = serde_json::to_string(&resume).unwrap();
        assert_eq!(text, r#"{"type":"Resume","tips":[[1,2]]}"#);
        assert!(serde_json::from_str::<PeerFrame>(r#"{"type":"Data","from":"a"}"#).is_err(), "incomplete entry");
    }

    #[test]
    fn routes_have_candidate_type_names_and_order_by_indirectness() {
        for route in [Route::Host, Route::Srflx, Route::Prflx, Route::Relay] {
            assert_eq!(serde_json::to_value(route).unwrap(), serde_json::json!(route.as_str()));
            assert_eq!(Route::from_candidate_type(route.as_str()), Some(route));
        }
        assert_eq!(Route::from_candidate_type("Relay"), None);
        assert!(Route::Host < Route::Srflx && Route::Srflx < Route::Prflx && Route::Prflx < Route::Relay);
    }

    #[test]
    fn peer_status_route_is_optional_on_the_wire() {
        let old = r#"{"peer":"a#1","state":"connected","host":false}"#;
        let status: PeerStatus = serde_json::from_str(old).unwrap();
        assert_eq!(status.route, None);
        assert_eq!(serde_json::to_string(&status).unwrap(), old, "no route, no field");
        let relayed = PeerStatus { route: Some(Route::Relay), ..status };
        let text = serde_json::to_string(&relayed).unwrap();
        assert_eq!(text, r#"{"peer":"a#1","state":"connected","host":false,"route":"relay"}"#);
        assert_eq!(serde_json::from_str::<PeerStatus>(&text).unwrap(), relayed);
    }
}
