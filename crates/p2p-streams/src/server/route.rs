//! The routing fast path for `signal` frames (server side, `ssr`): the hot path of the signaling server.
//!
//! A `signal` frame is checked for the shape [`SignalPayload`] requires (kind, link, a string `sdp` or
//! `candidate`) without copying its SDP, and forwarded as the exact bytes the sender wrote, inside a
//! `ServerToClient::Signal` frame built once with the server-stamped `from`. For what browsers send (serde's
//! compact output) the forwarded frame is byte-identical to serializing the parsed [`ServerToClient::Signal`].
//! Anything that does not pass the check falls back to the full typed parse, so errors stay exactly the same.
//!
//! [`SignalPayload`]: crate::protocol::SignalPayload
//! [`ServerToClient::Signal`]: crate::protocol::ServerToClient::Signal

use serde::de::{Deserializer, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// A `signal` frame that passed the shape check, borrowing from the received text.
#[derive(Debug)]
pub(crate) struct RawSignal<'a> {
    /// The one recipient (unescaped only if the sender escaped it).
    pub to: Cow<'a, str>,
    /// `offer`, `answer` or `candidate` (for metrics).
    pub kind: &'static str,
    /// The payload exactly as sent.
    pub payload: &'a RawValue,
}

/// Top level of a client frame, reading only what routing needs.
#[derive(Deserialize)]
struct Frame<'a> {
    /// Frame type (`signal` for this path).
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    /// Recipient.
    #[serde(borrow, default)]
    to: Option<Cow<'a, str>>,
    /// Payload, unparsed.
    #[serde(borrow, default)]
    signal: Option<&'a RawValue>,
}

/// The fields of a payload that decide whether it is a valid `SignalPayload`, without keeping the strings.
#[derive(Deserialize)]
struct Shape<'a> {
    /// Payload kind.
    #[serde(borrow)]
    kind: Cow<'a, str>,
    /// Link id: checked to be a u64.
    #[allow(dead_code)] // read by serde only: its presence and type are the check
    link: u64,
    /// Offer and answer SDP.
    #[serde(default)]
    sdp: Option<IsStr>,
    /// Candidate line.
    #[serde(default)]
    candidate: Option<IsStr>,
    /// Optional mid, a string or null.
    #[serde(default)]
    #[allow(dead_code)] // type check only
    sdp_mid: Option<IsStr>,
    /// Optional m-line index, a u16 or null.
    #[serde(default)]
    #[allow(dead_code)] // type check only
    sdp_m_line_index: Option<u16>,
}

/// Accepts any JSON string and keeps nothing of it (a type check without an allocation).
struct IsStr;

impl<'de> Deserialize<'de> for IsStr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IsStr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<IsStr, E> {
                Ok(IsStr)
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// `Some` when `text` is a well-formed `signal` frame; `None` sends it down the full typed parse.
pub(crate) fn parse_signal(text: &str) -> Option<RawSignal<'_>> {
    let frame: Frame<'_> = serde_json::from_str(text).ok()?;
    if frame.kind != "signal" {
        return None;
    }
    let (to, payload) = (frame.to?, frame.signal?);
    let shape: Shape<'_> = serde_json::from_str(payload.get()).ok()?;
    let kind = match (shape.kind.as_ref(), shape.sdp.is_some(), shape.candidate.is_some()) {
        ("offer", true, _) => "offer",
        ("answer", true, _) => "answer",
        ("candidate", _, true) => "candidate",
        _ => return None,
    };
    Some(RawSignal { to, kind, payload })
}

/// The `ServerToClient::Signal` frame for `payload` from the sender whose id, already JSON-encoded (quotes
/// included), is `from_json`: one allocation, the payload copied once.
pub(crate) fn signal_frame(from_json: &str, payload: &RawValue) -> String {
    const HEAD: &str = r#"{"type":"signal","from":"#;
    const MID: &str = r#","signal":"#;
    let raw = payload.get();
    let mut out = String::with_capacity(HEAD.len() + from_json.len() + MID.len() + raw.len() + 1);
    out.push_str(HEAD);
    out.push_str(from_json);
    out.push_str(MID);
    out.push_str(raw);
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ClientToServer, PeerId, ServerToClient, SignalPayload};

    fn payloads() -> Vec<SignalPayload> {
        vec![
            SignalPayload::Offer { link: 7, sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n\"quoted\"".into() },
            SignalPayload::Answer { link: u64::MAX, sdp: String::new() },
            SignalPayload::Candidate {
                link: 1,
                candidate: "candidate:1 1 udp 1 1.2.3.4 5 typ host".into(),
                sdp_mid: Some("0".into()),
                sdp_m_line_index: Some(0),
            },
            SignalPayload::Candidate { link: 2, candidate: String::new(), sdp_mid: None, sdp_m_line_index: None },
        ]
    }

    #[test]
    fn forwarded_frames_are_byte_identical_to_the_typed_serialization() {
        let from = PeerId("ada \"the\" host#t1".into());
        let from_json = serde_json::to_string(&from).unwrap();
        for signal in payloads() {
            let sent =
                serde_json::to_string(&ClientToServer::Signal { to: PeerId("bob#t".into()), signal: signal.clone() })
                    .unwrap();
            let raw = parse_signal(&sent).expect("a valid signal takes the fast path");
            assert_eq!(raw.to, "bob#t");
            assert_eq!(raw.kind, signal.kind());
            let typed = serde_json::to_string(&ServerToClient::Signal { from: from.clone(), signal }).unwrap();
            assert_eq!(signal_frame(&from_json, raw.payload), typed);
        }
    }

    #[test]
    fn anything_else_falls_back_to_the_typed_parse() {
        for text in [
            r#"{"type":"join","version":1}"#,
            r#"{"type":"signal","to":"b","signal":{"kind":"offer","link":1}}"#,
            r#"{"type":"signal","to":"b","signal":{"kind":"offer","link":-1,"sdp":"x"}}"#,
            r#"{"type":"signal","to":"b","signal":{"kind":"answer","link":1,"sdp":5}}"#,
            r#"{"type":"signal","to":"b","signal":{"kind":"candidate","link":1,"candidate":"c","sdp_m_line_index":70000}}"#,
            r#"{"type":"signal","to":"b","signal":{"kind":"bogus","link":1,"sdp":"x"}}"#,
            r#"{"type":"signal","signal":{"kind":"offer","link":1,"sdp":"x"}}"#,
            r#"{"type":"signal","to":"b","signal":"#,
        ] {
            assert!(parse_signal(text).is_none(), "{text}");
        }
    }
}
