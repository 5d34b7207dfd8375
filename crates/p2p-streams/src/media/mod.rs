//! Published media streams (shared by both sides, pure: tested natively): what a stream is called on the wire
//! ([`StreamInfo`]: its id, publisher, [`MediaKind`], tracks and muted state), the [`MediaFrame`]s that travel
//! on a link's reliable data channel beside the delivery frames, and [`StreamMap`], the host's record of the
//! room's streams (who publishes what, and the per-room cap).
//!
//! Media goes through the star like everything else: a publisher adds its tracks to its link(s) (a client to
//! its one link to the host, the host to every link), the host adds every client's received tracks to its
//! links to the other clients, and every receiver finds a track's stream by the `MediaStream` id, which the
//! SDP (`msid`) carries unchanged through the host. The host announces the map ([`MediaFrame::Streams`]) so
//! receivers can label what they play. Renegotiation after the link is up ("perfect negotiation", the client
//! polite, the host impolite) sends its descriptions and candidates as [`MediaFrame::Description`] /
//! [`MediaFrame::Candidate`] on the link's reliable channel: connected clients have left the signaling server.

mod envelope;
#[cfg(test)]
mod tests;

pub use envelope::{CandidateFields, MediaEnvelope};

use crate::protocol::PeerId;
use serde::{Deserialize, Serialize};

/// What a published stream shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MediaKind {
    /// A camera, usually with a microphone.
    Camera,
    /// A shared screen, window or tab.
    Screen,
    /// A microphone only.
    Audio,
}

impl MediaKind {
    /// Lowercase name (`data-kind` in the demo).
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Camera => "camera",
            MediaKind::Screen => "screen",
            MediaKind::Audio => "audio",
        }
    }
}

/// One published stream, as the host announces it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamInfo {
    /// The `MediaStream` id (the same on the publisher and every receiver).
    pub id: String,
    /// Who publishes it, stamped by the host from the link the publication came on.
    pub publisher: PeerId,
    /// What it shows.
    pub kind: MediaKind,
    /// Whether it has a video track.
    pub video: bool,
    /// Whether it has an audio track.
    pub audio: bool,
    /// Whether the publisher muted its audio.
    pub muted: bool,
}

/// A publication as a client asks for it (the host stamps the publisher).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publication {
    /// The `MediaStream` id.
    pub id: String,
    /// What it shows.
    pub kind: MediaKind,
    /// Whether it has a video track.
    pub video: bool,
    /// Whether it has an audio track.
    pub audio: bool,
    /// Whether its audio is muted.
    pub muted: bool,
}

impl Publication {
    /// The announced stream, published by `publisher`.
    pub fn stamped(&self, publisher: PeerId) -> StreamInfo {
        let Publication { id, kind, video, audio, muted } = self.clone();
        StreamInfo { id, publisher, kind, video, audio, muted }
    }
}

/// Media frames on a link's reliable data channel (inside `PeerFrame::Media`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum MediaFrame {
    /// Either way: a renegotiation offer (`offer`) or answer of the open link.
    Description {
        /// An offer (else an answer).
        offer: bool,
        /// The session description.
        sdp: String,
    },
    /// Either way: an ICE candidate gathered after the link opened.
    Candidate {
        /// `RTCIceCandidate.candidate`.
        candidate: String,
        /// `RTCIceCandidate.sdpMid`.
        sdp_mid: Option<String>,
        /// `RTCIceCandidate.sdpMLineIndex`.
        sdp_m_line_index: Option<u16>,
    },
    /// Client -> host: this client publishes (or updates) a stream whose tracks it added to the link.
    Publish(Publication),
    /// Client -> host: this client stopped publishing stream `id`.
    Unpublish {
        /// The `MediaStream` id.
        id: String,
    },
    /// Host -> client: every stream published in the room, sent whenever it changes.
    Streams {
        /// The streams, in publication order.
        streams: Vec<StreamInfo>,
    },
    /// Host -> client: the host will not forward this client's stream `id`.
    Refused {
        /// The `MediaStream` id.
        id: String,
        /// Why.
        reason: Refusal,
    },
}

/// Why the host refused a publication: the publisher's request, not the host's failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The room already has as many streams as the host forwards to each client (`P2pConfig::max_streams`).
    #[error("the room already has {limit} published streams, the most the host forwards to each client")]
    RoomFull {
        /// The host's cap.
        limit: usize,
    },
    /// Another peer already publishes a stream with this id.
    #[error("another peer already publishes a stream with this id")]
    Taken,
    /// The id is empty or longer than [`MAX_STREAM_ID`].
    #[error("invalid stream id")]
    BadId,
}

/// A publisher's limits for one of its streams (`RTCRtpSender.setParameters`), applied to every link it is sent
/// on. Forwarded copies keep what the host receives: the publisher's limits bound the whole room.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MediaQuality {
    /// Most bits per second of each of its tracks (`maxBitrate`); `None`: the browser's choice.
    pub max_bitrate_bps: Option<u32>,
    /// Divide the video's width and height by this (`scaleResolutionDownBy`, 1.0 or more); `None`: full size.
    pub scale_down_by: Option<f64>,
}

/// Longest stream id accepted (browsers use 36-character UUIDs).
pub const MAX_STREAM_ID: usize = 128;

/// The host's record of the room's published streams, in publication order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamMap {
    streams: Vec<StreamInfo>,
}

impl StreamMap {
    /// Records (or updates) `publication` by `publisher`, refusing it over `limit` streams, for a taken id or a
    /// bad one. `Ok(true)` when the map changed.
    ///
    /// # Errors
    /// The [`Refusal`] to send back to the publisher.
    pub fn publish(&mut self, publisher: &PeerId, publication: &Publication, limit: usize) -> Result<bool, Refusal> {
        if publication.id.is_empty() || publication.id.len() > MAX_STREAM_ID {
            return Err(Refusal::BadId);
        }
        let info = publication.stamped(publisher.clone());
        let full = self.streams.len() >= limit;
        match self.streams.iter_mut().find(|s| s.id == publication.id) {
            Some(known) if known.publisher != *publisher => Err(Refusal::Taken),
            Some(known) if *known == info => Ok(false),
            Some(known) => {
                *known = info;
                Ok(true)
            }
            None if full => Err(Refusal::RoomFull { limit }),
            None => {
                self.streams.push(info);
                Ok(true)
            }
        }
    }

    /// Removes stream `id` if `publisher` publishes it; true when it did.
    pub fn unpublish(&mut self, publisher: &PeerId, id: &str) -> bool {
        let before = self.streams.len();
        self.streams.retain(|s| !(s.id == id && s.publisher == *publisher));
        self.streams.len() != before
    }

    /// Removes every stream of `publisher` (it left); true when any went.
    pub fn remove_publisher(&mut self, publisher: &PeerId) -> bool {
        let before = self.streams.len();
        self.streams.retain(|s| s.publisher != *publisher);
        self.streams.len() != before
    }

    /// The stream `id`, if published.
    pub fn get(&self, id: &str) -> Option<&StreamInfo> {
        self.streams.iter().find(|s| s.id == id)
    }

    /// Every stream, in publication order.
    pub fn streams(&self) -> &[StreamInfo] {
        &self.streams
    }

    /// The streams peer `to` receives: every one but its own.
    pub fn for_peer<'a>(&'a self, to: &'a PeerId) -> impl Iterator<Item = &'a StreamInfo> + 'a {
        self.streams.iter().filter(move |s| s.publisher != *to)
    }

    /// The map a host announced.
    pub fn from_streams(streams: Vec<StreamInfo>) -> StreamMap {
        StreamMap { streams }
    }

    /// Forgets every stream.
    pub fn clear(&mut self) {
        self.streams.clear();
    }
}
