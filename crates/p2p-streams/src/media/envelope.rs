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

    /// The candidate's fields when this is a well-formed [`MediaFrame::Candidate`]; `None` for any other frame
    /// (a malformed candidate included: the media plane's decoder then reports it).
    pub fn as_candidate(&self) -> Option<CandidateFields> {
        let inner = self.0.get("Candidate")?.as_object()?;
        let optional = |key: &str| inner.get(key).filter(|v| !v.is_null());
        let sdp_mid = match optional("sdp_mid") {
            Some(v) => Some(v.as_str()?.to_owned()),
            None => None,
        };
        let sdp_m_line_index = match optional("sdp_m_line_index") {
            Some(v) => Some(u16::try_from(v.as_u64()?).ok()?),
            None => None,
        };
        Some(CandidateFields { candidate: inner.get("candidate")?.as_str()?.to_owned(), sdp_mid, sdp_m_line_index })
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
    fn other_frames_and_malformed_candidates_are_not_candidates() {
        let unpublish = MediaEnvelope::encode(&MediaFrame::Unpublish { id: "s1".into() }).unwrap();
        assert_eq!(unpublish.as_candidate(), None);
        for bad in [
            serde_json::json!({"Candidate": {"sdp_mid": "0"}}),
            serde_json::json!({"Candidate": {"candidate": 1}}),
            serde_json::json!({"Candidate": {"candidate": "c", "sdp_m_line_index": 70000}}),
            serde_json::json!({"Candidate": "c"}),
            serde_json::json!("Candidate"),
        ] {
            let envelope = MediaEnvelope(bad.clone());
            assert_eq!(envelope.as_candidate(), None, "{bad}");
            assert!(envelope.decode().is_err(), "{bad}");
        }
    }
}
