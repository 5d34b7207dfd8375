//! The hand-written decoders against the derived ones: every variant, every field removed or replaced by a
//! value of another type (at every depth), unknown fields added, random contents; and the documented cases
//! where the two differ.

use super::*;
use crate::delivery::{Bytes, Entry, EpochCert, EpochGrant};
use crate::media::MediaFrame;
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;
use std::fmt::Debug;

mod stored;

fn peer(s: &str) -> PeerId {
    PeerId(s.into())
}

fn entry_of(from: &str, seq: u64, payload: Value) -> Entry {
    Entry { from: peer(from), seq, epoch: (3 << 32) | 7, index: 12, payload, bytes: None, sig: None }
}

fn media(frame: &MediaFrame) -> MediaEnvelope {
    MediaEnvelope::encode(frame).unwrap()
}

fn cert_of(tag: u32) -> EpochCert {
    EpochCert { tag, key: Bytes(vec![4; 65]), sig: Bytes(vec![9; 64]) }
}

fn server_frames() -> Vec<ServerToClient> {
    let offer = SignalPayload::Offer { link: 4, sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n".into() };
    let answer = SignalPayload::Answer { link: u64::MAX, sdp: String::new() };
    let candidate = SignalPayload::Candidate {
        link: 9,
        candidate: "candidate:1 1 udp 2122260223 10.0.0.2 50000 typ host".into(),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(u16::MAX),
    };
    let bare = SignalPayload::Candidate { link: 9, candidate: String::new(), sdp_mid: None, sdp_m_line_index: None };
    let mut frames = vec![
        ServerToClient::Welcome {
            version: u32::MAX,
            session_id: SessionId("chat:lobby".into()),
            peer_id: peer("ada#t1"),
            role: Role::Host,
            host: peer("ada#t1"),
            authority: Some(Bytes(vec![4; 65])),
            grant: Some(EpochGrant { cert: cert_of(u32::MAX), secret: Bytes(vec![48, 1, 2]) }),
        },
        ServerToClient::Welcome {
            version: 1,
            session_id: SessionId("s".into()),
            peer_id: peer("bob#t2"),
            role: Role::Client,
            host: peer("ada#t1"),
            authority: None,
            grant: None,
        },
        ServerToClient::RoleChanged { role: Role::Client, host: peer("bob#t2"), grant: None },
        ServerToClient::RoleChanged {
            role: Role::Host,
            host: peer("bob#t2"),
            grant: Some(EpochGrant { cert: cert_of(0), secret: Bytes(vec![]) }),
        },
        ServerToClient::PeerJoined { peer: peer("cleo#\u{e9}\"\\") },
        ServerToClient::PeerLeft { peer: peer("") },
    ];
    for signal in [offer, answer, candidate, bare] {
        frames.push(ServerToClient::Signal { from: peer("ada#t1"), signal });
    }
    for (code, _) in ERROR_CODES {
        frames.push(ServerToClient::Error { code: *code, message: "nope".into() });
    }
    frames
}

fn peer_frames() -> Vec<PeerFrame> {
    let mut frames = vec![
        PeerFrame::Send { seq: 1, payload: json!({"text": "hi", "n": [1, 2.5, null, true]}), bytes: None },
        PeerFrame::Send { seq: u64::MAX, payload: Value::Null, bytes: None },
        PeerFrame::Send { seq: 2, payload: Value::Null, bytes: Some(Bytes(vec![0, 255, 7])) },
        PeerFrame::Data(entry_of("bob#t2", 3, json!({"text": "yo"}))),
        PeerFrame::Data(Entry { bytes: Some(Bytes(vec![])), ..entry_of("bob#t2", 4, Value::Null) }),
        PeerFrame::SendTo { to: peer("b#1"), id: 1, payload: json!("psst"), bytes: None },
        PeerFrame::SendTo { to: peer("b#1"), id: 2, payload: Value::Null, bytes: Some(Bytes(vec![9; 40])) },
        PeerFrame::Direct { from: peer("a#1"), id: 1, payload: json!({"x": 1}), bytes: None },
        PeerFrame::Direct { from: peer("a#1"), id: 3, payload: Value::Null, bytes: Some(Bytes(vec![1])) },
        PeerFrame::DirectAck { id: 5 },
        PeerFrame::DirectFailed { id: 6, to: peer("gone#x") },
        PeerFrame::Hello { epoch: 1 << 40, acked: 0 },
        PeerFrame::History {
            entries: vec![entry_of("a#1", 1, json!("x")), entry_of("b#2", 2, json!(7))],
            certs: vec![cert_of(7)],
        },
        PeerFrame::History { entries: vec![], certs: vec![] },
        PeerFrame::Data(Entry { sig: Some(Bytes(vec![1; 64])), ..entry_of("a#1", 5, json!(1)) }),
        PeerFrame::Certs { certs: vec![cert_of(1), cert_of(2)] },
        PeerFrame::Certs { certs: vec![] },
        PeerFrame::Resume { tips: vec![(1, 2), (u64::MAX, 0)] },
        PeerFrame::Resume { tips: vec![] },
        PeerFrame::Gap { missed: 4 },
        PeerFrame::Ping { nonce: 0 },
        PeerFrame::Pong { nonce: 77 },
        PeerFrame::Media { media: media(&MediaFrame::Unpublish { id: "s1".into() }) },
        PeerFrame::Media { media: media(&MediaFrame::Description { offer: false, sdp: "v=0\r\n".into() }) },
    ];
    let peers = LINK_STATES
        .iter()
        .enumerate()
        .map(|(i, (state, _))| PeerStatus { peer: peer(&format!("p#{i}")), state: *state, host: i == 0, route: None })
        .collect();
    frames.push(PeerFrame::ConnectionState { host: peer("p#0"), peers });
    // Connected clients with every route, beside the host (no route) and a client not measured yet.
    let status = |name: &str, host, route| PeerStatus { peer: peer(name), state: LinkState::Connected, host, route };
    let mut peers = vec![status("h#0", true, None), status("n#1", false, None)];
    peers.extend(ROUTES.iter().map(|(route, name)| status(&format!("{name}#2"), false, Some(*route))));
    frames.push(PeerFrame::ConnectionState { host: peer("h#0"), peers });
    frames
}

/// Values of every JSON type, numbers at the edges of the integer types the frames use. No integer below 3: a
/// valid variant number of `SignalPayload` to the derived decoder (see `documented_differences`).
fn junk() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!("x"),
        json!("connected"),
        json!(-1),
        json!(5),
        json!(1.5),
        json!(65535),
        json!(65536),
        json!(u32::MAX),
        json!(u64::from(u32::MAX) + 1),
        json!([]),
        json!([65535, 65536, 1]),
        json!({}),
    ]
}

/// Every variation of `value`: each member removed, each node replaced by each junk value, an unknown member
/// added to each object.
fn variations(value: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for j in junk() {
        out.push(j);
    }
    match value {
        Value::Object(map) => {
            let mut extra = map.clone();
            extra.insert("unknown_field".into(), json!({"x": 1}));
            out.push(Value::Object(extra));
            for (key, member) in map {
                let mut removed = map.clone();
                removed.remove(key);
                out.push(Value::Object(removed));
                for v in variations(member) {
                    let mut changed = map.clone();
                    changed.insert(key.clone(), v);
                    out.push(Value::Object(changed));
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                for v in variations(item) {
                    let mut changed = items.clone();
                    changed[i] = v;
                    out.push(Value::Array(changed));
                }
            }
        }
        _ => {}
    }
    out
}

/// Both decoders give the same answer for `text`: the same frame, or both an error.
fn agree<T: DeserializeOwned + PartialEq + Debug>(text: &str, ours: fn(&str) -> Result<T>) {
    let derived = serde_json::from_str::<T>(text);
    let hand = ours(text);
    match (&derived, &hand) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{text}"),
        (Err(_), Err(_)) => {}
        _ => panic!("the decoders disagree on {text}: derived {derived:?}, hand-written {hand:?}"),
    }
}

/// Checks `frames` and every variation of each; returns how many variations the derived decoder accepted and
/// rejected (so a test sees both kinds were exercised).
fn check_all<T>(frames: &[T], ours: fn(&str) -> Result<T>) -> (usize, usize)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let (mut accepted, mut rejected) = (0, 0);
    for frame in frames {
        let text = serde_json::to_string(frame).unwrap();
        assert_eq!(&ours(&text).unwrap(), frame, "{text}");
        for variant in variations(&serde_json::to_value(frame).unwrap()) {
            let text = variant.to_string();
            agree(&text, ours);
            if serde_json::from_str::<T>(&text).is_ok() {
                accepted += 1;
            } else {
                rejected += 1;
            }
        }
    }
    (accepted, rejected)
}

#[test]
fn signaling_frames_decode_like_the_derived_decoder() {
    let (accepted, rejected) = check_all(&server_frames(), ServerToClient::decode);
    assert!(accepted > 50 && rejected > 500, "accepted {accepted}, rejected {rejected}");
}

#[test]
fn data_channel_frames_decode_like_the_derived_decoder() {
    let (accepted, rejected) = check_all(&peer_frames(), PeerFrame::decode);
    assert!(accepted > 50 && rejected > 500, "accepted {accepted}, rejected {rejected}");
}

#[test]
fn truncated_reordered_and_foreign_text() {
    for text in [
        "",
        "{",
        r#"{"type":"Send","seq":"#,
        r#"{"type":"Gap","missed":4}x"#,
        r#"{"type":"Gap","missed":4} "#,
        r#"{"missed":4,"type":"Gap"}"#,
        r#"{"type":"gap","missed":4}"#,
        r#"{"type":"Data.Connection.State","host":"a","peers":[{"peer":"a","state":"Connected","host":true}]}"#,
        r#"{"type":"Resume","tips":[[1,2,3]]}"#,
        r#"{"type":"Resume","tips":[[1]]}"#,
        r#"{"type":5,"missed":4}"#,
        r#"{"type":"Send","seq":1e3,"payload":1}"#,
        r#"{"type":"Send","seq":18446744073709551616,"payload":1}"#,
        "null",
        "\"Send\"",
    ] {
        agree(text, PeerFrame::decode);
    }
    for route in ["null", r#""relay""#, r#""Relay""#, r#""turn""#, "[]"] {
        let row = format!(r#"{{"peer":"b","state":"connected","host":false,"route":{route}}}"#);
        agree(&format!(r#"{{"type":"Data.Connection.State","host":"a","peers":[{row}]}}"#), PeerFrame::decode);
    }
    for text in [
        r#"{"session_id":"s","type":"welcome","peer_id":"p","role":"host","host":"p","version":1}"#,
        r#"{"type":"signal","from":"a","signal":{"kind":"candidate","link":1,"candidate":"c","sdp_mid":null}}"#,
        r#"{"type":"signal","from":"a","signal":{"kind":"candidate","link":1,"candidate":"c","sdp_m_line_index":-1}}"#,
        r#"{"type":"signal","from":"a","signal":{"kind":"Offer","link":1,"sdp":""}}"#,
        r#"{"type":"error","code":"BadJson","message":""}"#,
        r#"{"type":"join","version":1}"#,
    ] {
        agree(text, ServerToClient::decode);
    }
}

/// Where the decoders differ on purpose (module docs): forms no encoder writes.
#[test]
fn documented_differences() {
    let derived_only = [
        r#"["Gap",4]"#, // a frame as an array
        r#"{"type":"Data.Connection.State","host":"a","peers":[{"peer":"a","state":{"connected":null},"host":true}]}"#,
        concat!(
            r#"{"type":"Data.Connection.State","host":"a","#,
            r#""peers":[{"peer":"b","state":"connected","host":false,"route":{"relay":null}}]}"#
        ),
    ];
    for text in derived_only {
        assert!(serde_json::from_str::<PeerFrame>(text).is_ok(), "{text}");
        assert!(PeerFrame::decode(text).is_err(), "{text}");
    }
    let numbered = r#"{"type":"signal","from":"a","signal":{"kind":0,"link":4,"sdp":""}}"#; // a nested tag as a number
    assert!(serde_json::from_str::<ServerToClient>(numbered).is_ok());
    assert!(ServerToClient::decode(numbered).is_err());
    let repeated = r#"{"type":"Gap","missed":4,"missed":5}"#;
    assert!(serde_json::from_str::<PeerFrame>(repeated).is_err());
    assert_eq!(PeerFrame::decode(repeated).unwrap(), PeerFrame::Gap { missed: 5 });
}

#[test]
fn every_error_code_and_link_state_is_listed() {
    // Adding a variant breaks this match until it is added to the table (and so to the decoder).
    let listed = |code: ErrorCode| match code {
        ErrorCode::BadJson
        | ErrorCode::UnknownType
        | ErrorCode::BinaryFrame
        | ErrorCode::NotJoined
        | ErrorCode::AlreadyJoined
        | ErrorCode::UnknownPeer
        | ErrorCode::NotHost
        | ErrorCode::RateLimited
        | ErrorCode::Unavailable => ERROR_CODES.iter().any(|(c, _)| *c == code),
    };
    for (code, name) in ERROR_CODES {
        assert!(listed(*code));
        assert_eq!(serde_json::to_value(code).unwrap(), json!(name));
    }
    assert_eq!(ERROR_CODES.len(), 9);
    let state = |s: LinkState| match s {
        LinkState::Negotiating | LinkState::Connecting | LinkState::Connected | LinkState::Disconnected => {
            LINK_STATES.iter().any(|(x, n)| *x == s && *n == s.as_str())
        }
    };
    assert!(LINK_STATES.iter().all(|(s, _)| state(*s)));
    assert_eq!(LINK_STATES.len(), 4);
    let route = |r: Route| match r {
        Route::Host | Route::Srflx | Route::Prflx | Route::Relay => {
            ROUTES.iter().any(|(x, n)| *x == r && *n == r.as_str())
        }
    };
    assert!(ROUTES.iter().all(|(r, _)| route(*r)));
    assert_eq!(ROUTES.len(), 4);
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-z#\"\\\\\u{0}-\u{1f}]{0,12}"]
}

fn any_payload() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        (-1000i32..1000).prop_map(|n| Value::from(f64::from(n) / 4.0)),
        any_text().prop_map(|text| json!({ "text": text })),
    ]
}

fn any_bytes() -> impl Strategy<Value = Option<Bytes>> {
    proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40).prop_map(Bytes))
}

fn any_entry() -> impl Strategy<Value = Entry> {
    (any_text(), any::<u64>(), any::<u64>(), any::<u64>(), any_payload(), any_bytes(), any_bytes()).prop_map(
        |(from, seq, epoch, index, payload, bytes, sig)| Entry {
            from: PeerId(from),
            seq,
            epoch,
            index,
            payload,
            bytes,
            sig,
        },
    )
}

fn any_cert() -> impl Strategy<Value = EpochCert> {
    (any::<u32>(), any_bytes(), any_bytes()).prop_map(|(tag, key, sig)| EpochCert {
        tag,
        key: key.unwrap_or_default(),
        sig: sig.unwrap_or_default(),
    })
}

fn any_peer_frame() -> impl Strategy<Value = PeerFrame> {
    prop_oneof![
        (any::<u64>(), any_payload(), any_bytes()).prop_map(|(seq, payload, bytes)| PeerFrame::Send {
            seq,
            payload,
            bytes
        }),
        (any_text(), any::<u64>(), any_payload(), any_bytes()).prop_map(|(to, id, payload, bytes)| PeerFrame::SendTo {
            to: PeerId(to),
            id,
            payload,
            bytes
        }),
        (any_text(), any::<u64>(), any_payload(), any_bytes())
            .prop_map(|(from, id, payload, bytes)| PeerFrame::Direct { from: PeerId(from), id, payload, bytes }),
        any_entry().prop_map(PeerFrame::Data),
        (proptest::collection::vec(any_entry(), 0..4), proptest::collection::vec(any_cert(), 0..2))
            .prop_map(|(entries, certs)| PeerFrame::History { entries, certs }),
        proptest::collection::vec(any_cert(), 0..3).prop_map(|certs| PeerFrame::Certs { certs }),
        proptest::collection::vec(any::<(u64, u64)>(), 0..4).prop_map(|tips| PeerFrame::Resume { tips }),
        (any_text(), proptest::collection::vec((any_text(), 0..4usize, any::<bool>(), 0..5usize), 0..4)).prop_map(
            |(host, rows)| PeerFrame::ConnectionState {
                host: PeerId(host),
                peers: rows
                    .into_iter()
                    .map(|(p, s, host, r)| PeerStatus {
                        peer: PeerId(p),
                        state: LINK_STATES[s].0,
                        host,
                        route: ROUTES.get(r).map(|(route, _)| *route),
                    })
                    .collect(),
            }
        ),
    ]
}

fn any_signal() -> impl Strategy<Value = ServerToClient> {
    (any_text(), any::<u64>(), any_text(), proptest::option::of(any_text()), proptest::option::of(any::<u16>()))
        .prop_map(|(from, link, candidate, sdp_mid, sdp_m_line_index)| ServerToClient::Signal {
            from: PeerId(from),
            signal: SignalPayload::Candidate { link, candidate, sdp_mid, sdp_m_line_index },
        })
}

proptest! {
    #[test]
    fn random_frames_round_trip(frame in any_peer_frame(), signal in any_signal()) {
        let text = serde_json::to_string(&frame).unwrap();
        prop_assert_eq!(PeerFrame::decode(&text).unwrap(), frame);
        agree(&text, PeerFrame::decode);
        let text = serde_json::to_string(&signal).unwrap();
        prop_assert_eq!(ServerToClient::decode(&text).unwrap(), signal);
    }
}
