//! Protocol adapters: the same workloads speak p2p-streams signaling (`/p2p/ws`, `join`, `signal{to}`,
//! server-stamped `from`) or PeerJS server's (`/peerjs?key=&id=&token=`, `OPEN`, `OFFER`/`ANSWER`/`CANDIDATE`
//! with `dst`, server-stamped `src`). Incoming frames are classified by scanning for a few keys instead of
//! parsing the ~1.5 KB bodies, so the generator's core is spent on sockets, not JSON.

use crate::token::Minter;

/// Which signaling server the generator talks to.
#[derive(Clone)]
pub enum Proto {
    /// p2p-streams: tokens minted with the server's secret.
    Ours(Minter),
    /// PeerJS server with its connection key.
    PeerJs(String),
}

/// The three negotiation payloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// SDP offer.
    Offer,
    /// SDP answer.
    Answer,
    /// One ICE candidate.
    Candidate,
}

/// What a received text frame is.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// Registration confirmed (`welcome` / `OPEN`).
    Registered,
    /// Ours only: a peer joined the session this socket hosts.
    PeerJoined(&'a str),
    /// A routed signal with the server-stamped sender and the generator's timestamp.
    Signal { from: &'a str, kind: Kind, ts: u64 },
    /// A refusal from the server.
    Error,
    /// Anything else (role changes, peer left, heartbeats).
    Other,
}

/// The part of an SDP-sized payload that is the same in every message (JSON-escaped line breaks included).
pub fn sdp_body(len: usize) -> String {
    let line = "a=candidate:1467250027 1 udp 2122260223 192.168.0.196 46243 typ host generation 0\\r\\n";
    let mut sdp = String::from("v=0\\r\\no=- 4611731400430051336 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\n");
    while sdp.len() < len {
        sdp.push_str(line);
    }
    sdp.truncate(len);
    // Never end inside an escape sequence.
    while sdp.ends_with('\\') {
        sdp.pop();
    }
    sdp
}

const CANDIDATE: &str = "candidate:842163049 1 udp 1677729535 203.0.113.7 54321 typ srflx raddr 10.0.0.1 rport 54321 generation 0 ufrag EsAw network-cost 999";

impl Proto {
    /// The peer id other peers address: ours is `{user}#{tab}` (tab `t`), PeerJS's is the id itself.
    pub fn peer_id(&self, user: &str) -> String {
        match self {
            Proto::Ours(_) => format!("{user}#t"),
            Proto::PeerJs(_) => user.to_owned(),
        }
    }

    /// WebSocket URL for `user` in `session` on the server at `base` (`ws://host:port`). PeerJS has no
    /// sessions, so its ids must be unique across sessions: pass a `user` that includes the session.
    pub fn url(&self, base: &str, session: &str, user: &str) -> String {
        match self {
            Proto::Ours(minter) => {
                format!("{base}/p2p/ws?session={session}&token={}&tab=t", minter.token(session, user))
            }
            Proto::PeerJs(key) => format!("{base}/peerjs?key={key}&id={user}&token=tok{user}"),
        }
    }

    /// The frame to send right after the upgrade, if the protocol has one (ours: `join`).
    pub fn join_frame(&self) -> Option<&'static str> {
        match self {
            Proto::Ours(_) => Some(r#"{"type":"join","version":1}"#),
            Proto::PeerJs(_) => None,
        }
    }

    /// A signal of `kind` to peer `to`, carrying timestamp `ts` and, for offers and answers, `sdp`.
    pub fn signal(&self, to: &str, kind: Kind, ts: u64, sdp: &str) -> String {
        match (self, kind) {
            (Proto::Ours(_), Kind::Offer | Kind::Answer) => {
                let k = if kind == Kind::Offer { "offer" } else { "answer" };
                format!(r#"{{"type":"signal","to":"{to}","signal":{{"kind":"{k}","link":{ts},"sdp":"{sdp}"}}}}"#)
            }
            (Proto::Ours(_), Kind::Candidate) => format!(
                r#"{{"type":"signal","to":"{to}","signal":{{"kind":"candidate","link":{ts},"candidate":"{CANDIDATE}","sdp_mid":"0","sdp_m_line_index":0}}}}"#
            ),
            (Proto::PeerJs(_), Kind::Offer | Kind::Answer) => {
                let (t, k) = if kind == Kind::Offer { ("OFFER", "offer") } else { ("ANSWER", "answer") };
                format!(
                    r#"{{"type":"{t}","dst":"{to}","payload":{{"ts":{ts},"sdp":{{"type":"{k}","sdp":"{sdp}"}},"type":"data","connectionId":"dc_bench","label":"dc_bench","reliable":true,"serialization":"json"}}}}"#
                )
            }
            (Proto::PeerJs(_), Kind::Candidate) => format!(
                r#"{{"type":"CANDIDATE","dst":"{to}","payload":{{"ts":{ts},"candidate":{{"candidate":"{CANDIDATE}","sdpMid":"0","sdpMLineIndex":0}},"type":"data","connectionId":"dc_bench"}}}}"#
            ),
        }
    }

    /// Classifies a received text frame.
    pub fn parse<'a>(&self, text: &'a str) -> Incoming<'a> {
        let Some(kind) = str_field(text, "type") else { return Incoming::Other };
        match self {
            Proto::Ours(_) => match kind {
                "signal" => {
                    let kind = match str_field(text, "kind") {
                        Some("offer") => Kind::Offer,
                        Some("answer") => Kind::Answer,
                        _ => Kind::Candidate,
                    };
                    let from = str_field(text, "from").unwrap_or_default();
                    Incoming::Signal { from, kind, ts: num_field(text, "link").unwrap_or(0) }
                }
                "welcome" => Incoming::Registered,
                "peer_joined" => str_field(text, "peer").map_or(Incoming::Other, Incoming::PeerJoined),
                "error" => Incoming::Error,
                _ => Incoming::Other,
            },
            Proto::PeerJs(_) => {
                let kind = match kind {
                    "OFFER" => Kind::Offer,
                    "ANSWER" => Kind::Answer,
                    "CANDIDATE" => Kind::Candidate,
                    "OPEN" => return Incoming::Registered,
                    "ERROR" | "ID-TAKEN" => return Incoming::Error,
                    _ => return Incoming::Other,
                };
                // PeerJS appends `src` after the payload: search from the end.
                let from = text.rfind(r#""src":""#).and_then(|at| text[at + 7..].split('"').next()).unwrap_or_default();
                Incoming::Signal { from, kind, ts: num_field(text, "ts").unwrap_or(0) }
            }
        }
    }
}

/// The string value of the first `"key":"..."` in `text`.
fn str_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("\"{key}\":\"");
    let at = text.find(&pat)? + pat.len();
    text[at..].split('"').next()
}

/// The unsigned number value of the first `"key":N` in `text`.
fn num_field(text: &str, key: &str) -> Option<u64> {
    let pat = format!("\"{key}\":");
    let at = text.find(&pat)? + pat.len();
    let digits = text[at..].bytes().take_while(u8::is_ascii_digit).count();
    text[at..at + digits].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_frames_parse_back_as_the_server_would_stamp_them() {
        let ours = Proto::Ours(Minter::new(b"0123456789abcdef"));
        let sent = ours.signal("b#t", Kind::Offer, 42, &sdp_body(1500));
        let v: serde_json::Value = serde_json::from_str(&sent).unwrap();
        assert_eq!(v["signal"]["link"], 42);
        assert!(v["signal"]["sdp"].as_str().unwrap().len() > 1300);
        let relayed = sent.replacen(r#""to":"b#t""#, r#""from":"a#t""#, 1);
        assert_eq!(ours.parse(&relayed), Incoming::Signal { from: "a#t", kind: Kind::Offer, ts: 42 });
        assert_eq!(ours.parse(r#"{"type":"peer_joined","peer":"c#t"}"#), Incoming::PeerJoined("c#t"));
    }

    #[test]
    fn peerjs_frames_carry_src_at_the_end() {
        let pj = Proto::PeerJs("peerjs".into());
        let sent = pj.signal("b", Kind::Candidate, 7, "");
        let v: serde_json::Value = serde_json::from_str(&sent).unwrap();
        assert_eq!(v["payload"]["ts"], 7);
        let relayed = format!(r#"{},"src":"a"}}"#, &sent[..sent.len() - 1]);
        assert_eq!(pj.parse(&relayed), Incoming::Signal { from: "a", kind: Kind::Candidate, ts: 7 });
        assert_eq!(pj.parse(r#"{"type":"OPEN"}"#), Incoming::Registered);
    }
}
