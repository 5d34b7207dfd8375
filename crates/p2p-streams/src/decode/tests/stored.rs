//! The decoders of what the browser keeps or fetches rather than receives as frames: the delivery state in
//! sessionStorage and the join ticket, against the derived decoders (same variations as the frames).

use super::{agree, cert_of, entry_of, peer, variations};
use crate::decode::Result;
use crate::delivery::{LogSnapshot, OutboxSnapshot, Pos};
use serde_json::{json, Value};

#[test]
fn stored_delivery_state_decodes_like_the_derived_decoder() {
    let log = LogSnapshot {
        entries: vec![
            (entry_of("a#1", 1, json!({"text": "x"})), 1_700_000_000_123.5),
            (entry_of("b#2", 4, json!(2)), 0.0),
        ],
        tips: vec![(1, 2), (u64::MAX, 9)],
        high_water: vec![(peer("a#1"), 1), (peer("b#2"), 4)],
        pruned: vec![Pos { epoch: 1, index: 1 }],
        certs: vec![cert_of(7)],
    };
    let outbox = OutboxSnapshot {
        next_seq: 4,
        pending: vec![(1, json!({"text": "q"})), (2, Value::Null)],
        binary: vec![(3, crate::delivery::Bytes(vec![1, 2, 3]))],
    };
    for (log, outbox) in [(log, outbox), (LogSnapshot::default(), OutboxSnapshot::default())] {
        let (value, out) = (serde_json::to_value(&log).unwrap(), serde_json::to_value(&outbox).unwrap());
        assert_eq!(LogSnapshot::decode(value.clone()).unwrap(), log);
        assert_eq!(OutboxSnapshot::decode(out.clone()).unwrap(), outbox);
        for variant in variations(&value) {
            agree(&variant.to_string(), |t| LogSnapshot::decode(serde_json::from_str(t)?));
        }
        for variant in variations(&out) {
            agree(&variant.to_string(), |t| OutboxSnapshot::decode(serde_json::from_str(t)?));
        }
    }
}

/// `JoinTicket` as it was before its `Deserialize` was written by hand.
#[derive(Debug, PartialEq, serde::Deserialize)]
struct DerivedTicket {
    session_id: String,
    peer_id: String,
    token: String,
    expires_at: u64,
    expires_in_secs: u64,
    #[serde(default)]
    ice_servers: Vec<crate::config::IceServer>,
}

fn ticket_parts(text: &str) -> Result<DerivedTicket> {
    let t: crate::ticket::JoinTicket = serde_json::from_str(text)?;
    let crate::ticket::JoinTicket { session_id, peer_id, token, expires_at, expires_in_secs, ice_servers } = t;
    Ok(DerivedTicket { session_id, peer_id, token, expires_at, expires_in_secs, ice_servers })
}

#[test]
fn join_tickets_decode_like_the_derived_decoder() {
    use crate::config::IceServer;
    let turn = IceServer {
        urls: vec!["turn:10.0.0.1:3478".into(), "turns:example.org".into()],
        username: Some("u".into()),
        credential: Some("c\"".into()),
    };
    let stun = IceServer { urls: vec!["stun:10.0.0.1".into()], username: None, credential: None };
    for ice_servers in [vec![], vec![turn, stun]] {
        let ticket = crate::ticket::JoinTicket {
            session_id: "chat:lobby".into(),
            peer_id: "ada".into(),
            token: "abc.def".into(),
            expires_at: 1_800_000_000,
            expires_in_secs: 3600,
            ice_servers,
        };
        let value = serde_json::to_value(&ticket).unwrap();
        assert_eq!(serde_json::from_value::<crate::ticket::JoinTicket>(value.clone()).unwrap(), ticket);
        let (mut accepted, mut rejected) = (0, 0);
        for variant in variations(&value) {
            let text = variant.to_string();
            agree(&text, ticket_parts);
            match serde_json::from_str::<DerivedTicket>(&text) {
                Ok(_) => accepted += 1,
                Err(_) => rejected += 1,
            }
        }
        assert!(accepted > 10 && rejected > 50, "accepted {accepted}, rejected {rejected}");
    }
    // The server function's response is read from bytes, the page's copy from a string: both go through here.
    let text = r#"{"session_id":"s","peer_id":"p","token":"t","expires_at":1,"expires_in_secs":2}"#;
    assert_eq!(serde_json::from_slice::<crate::ticket::JoinTicket>(text.as_bytes()).unwrap().ice_servers, vec![]);
}
