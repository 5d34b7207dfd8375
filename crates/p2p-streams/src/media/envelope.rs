//! A [`MediaFrame`] as a data-channel frame carries it (shared by both sides): the frame's JSON, kept as it is
//! until media code reads it. Only the ICE candidates of a renegotiated link are read by the driver's core
//! (every link may renegotiate); everything else is decoded by the media plane, so a room that never uses media
//! carries no decoder or encoder of the other media frames in its main wasm.

use super::MediaFrame;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The JSON of one [`MediaFrame`] (`PeerFrame::Media`'s field): `{"Candidate": {...}}`, `{"Publish": {...}}`...
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MediaEnvelope(Value);

/// A renegotiated link's ICE candidate ([`MediaFrame::Candidate`]'s fields), read without the media plane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CandidateFields {
    /// `RTCIceCandidate.candidate`.
    pub candidate: String,
    /// `RTCIceCandidate.sdpMid`.
    pub sdp_mid: Option<String>,
    /// `RTCIceCandidate.sdpMLineIndex`.
    pub sdp_m_line_index: Option<u16>,
}

impl MediaEnvelope {
    /// The envelope of a frame's `media` field, read as it came.
    pub(crate) fn from_json(value: Value) -> Self {
        MediaEnvelope(value)
    }

    /// The envelope of `frame`.
    ///
    /// # Errors
    /// Never for the frames of this crate (every field serializes to JSON); the `serde_json` error otherwise.
    pub fn encode(frame: &MediaFrame) -> Result<Self, serde_json::Error> {
        serde_json::to_value(frame).map(MediaEnvelope)
    }

    /// The data-channel frame carrying `frame` (`PeerFrame::Media`), as text: the JSON value
    /// `PeerFrame::Media { media: MediaEnvelope::encode(frame)? }` serializes to, written in one pass.
    ///
    /// # Errors
    /// As [`encode`](Self::encode).
    pub fn frame_text(frame: &MediaFrame) -> Result<String, serde_json::Error> {
        Ok(format!(r#"{{"type":"Media","media":{}}}"#, serde_json::to_string(frame)?))
    }

    /// The frame it carries.
    ///
    /// # Errors
    /// The `serde_json` error when the JSON is no [`MediaFrame`] (a peer's bad frame).
    pub fn decode(self) -> Result<MediaFrame, serde_json::Error> {
        serde_json::from_value(self.0)
    }

    /// The envelope of a candidate, written by hand: the same JSON as [`MediaFrame::Candidate`]'s.
    pub fn candidate(fields: CandidateFields) -> Self {
        let mut inner = Map::new();
        inner.insert("candidate".into(), Value::String(fields.candidate));
        inner.insert("sdp_mid".into(), fields.sdp_mid.map_or(Value::Null, Value::String));
        inner.insert("sdp_m_line_index".into(), fields.sdp_m_line_index.map_or(Value::Null, Value::from));
        let mut outer = Map::new();
        outer.insert("Candidate".into(), Value::Object(inner));
        MediaEnvelope(Value::Object(outer))
    }

    /// The candidate's fields when this is a well-formed [`MediaFrame::Candidate`] as our encoders write it;
    /// `None` for any other frame (a malformed candidate included: the media plane's decoder then reports it,
    /// and decodes the array form `{"Candidate": [...]}` that only serde's derived decoder takes).
    pub fn as_candidate(&self) -> Option<CandidateFields> {
        crate::decode::media_candidate(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hand_written_candidate_is_the_derived_frame_and_reads_back() {
        for (sdp_mid, sdp_m_line_index) in [(Some("0".to_owned()), Some(1)), (None, None), (None, Some(u16::MAX))] {
            let fields = CandidateFields { candidate: "candidate:1 1 udp".into(), sdp_mid, sdp_m_line_index };
            let frame = MediaFrame::Candidate {
                candidate: fields.candidate.clone(),
                sdp_mid: fields.sdp_mid.clone(),
                sdp_m_line_index: fields.sdp_m_line_index,
            };
            let envelope = MediaEnvelope::candidate(fields.clone());
            assert_eq!(MediaEnvelope::encode(&frame).unwrap(), envelope, "same JSON as the derived encoder");
            assert_eq!(envelope.as_candidate(), Some(fields));
            assert_eq!(envelope.decode().unwrap(), frame);
        }
    }

    #[test]
    fn frame_text_is_the_derived_peer_frame() {
        let frames = [
            MediaFrame::Unpublish { id: "s\"1".into() },
            MediaFrame::Description { offer: true, sdp: "v=0\r\n".into() },
            MediaFrame::Candidate { candidate: "c".into(), sdp_mid: None, sdp_m_line_index: Some(2) },
        ];
        for frame in frames {
            let text = MediaEnvelope::frame_text(&frame).unwrap();
            let derived = crate::protocol::PeerFrame::Media { media: MediaEnvelope::encode(&frame).unwrap() };
            let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(parsed, serde_json::to_value(&derived).unwrap(), "{text}");
            match crate::protocol::PeerFrame::decode(&text).unwrap() {
                crate::protocol::PeerFrame::Media { media } => assert_eq!(media.decode().unwrap(), frame),
                other => panic!("decoded as {other:?}"),
            }
        }
    }

    #[test]
    fn other_frames_and_malformed_candidates_are_not_candidates() {
        let unpublish = MediaEnvelope::encode(&MediaFrame::Unpublish { id: "s1".into() }).unwrap();
        assert_eq!(unpublish.as_candidate(), None);
        for bad in [
            serde_json::json!({"Candidate": {"sdp_mid": "0"}}),
            serde_json::json!({"Candidate": {"candidate": 1}}),
            serde_json::json!({"Candidate": {"candidate": "c", "sdp_m_line_index": 70000}}),
            serde_json::json!({"Candidate": "c"}),
            serde_json::json!("Candidate"),
            serde_json::json!({"Candidate": {"candidate": "c"}, "Unpublish": {"id": "s1"}}),
        ] {
            let envelope = MediaEnvelope(bad.clone());
            assert_eq!(envelope.as_candidate(), None, "{bad}");
            assert!(envelope.decode().is_err(), "{bad}");
        }
    }
}
