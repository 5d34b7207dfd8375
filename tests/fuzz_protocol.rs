//! Protocol fuzzing, bounded so it runs in every `cargo test` (raise `PROPTEST_CASES` for a longer run):
//! arbitrary bytes, mutated valid frames, deep nesting, huge numbers and long strings fed to the
//! `ClientToServer` decoder and to a running server. The decoder never panics and classifies every failure;
//! the server answers every bad frame with an `Error` frame and keeps the socket usable, except a frame over
//! `max_frame_bytes`, which closes with 1009, and nothing else.
#![cfg(feature = "ssr")]

mod common;

use common::{join, start, test_config, Client};
use p2p_streams::protocol::{
    ClientToServer, ErrorCode, LinkState, PeerId, PeerStatus, ServerToClient, SignalPayload, PROTOCOL_VERSION,
};
use p2p_streams::server::{PeerError, SignalingConfig};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tokio_tungstenite::tungstenite::Message;

/// Largest frame the fuzzed server accepts (small, so oversized frames are cheap to make).
const MAX_FRAME: usize = 4096;

/// Cases per property: `PROPTEST_CASES`, or a default that keeps the file to a few seconds.
fn cases(default: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(default);
    Config { cases, failure_persistence: None, ..Config::default() }
}

fn peer_id() -> impl Strategy<Value = PeerId> {
    "[a-z#0-9]{0,12}".prop_map(PeerId)
}

fn signal() -> impl Strategy<Value = SignalPayload> {
    prop_oneof![
        (any::<u64>(), ".{0,40}").prop_map(|(link, sdp)| SignalPayload::Offer { link, sdp }),
        (any::<u64>(), ".{0,40}").prop_map(|(link, sdp)| SignalPayload::Answer { link, sdp }),
        (any::<u64>(), ".{0,40}", proptest::option::of(".{0,4}"), proptest::option::of(any::<u16>())).prop_map(
            |(link, candidate, sdp_mid, sdp_m_line_index)| SignalPayload::Candidate {
                link,
                candidate,
                sdp_mid,
                sdp_m_line_index
            }
        ),
    ]
}

/// Any well-formed client frame.
fn frame() -> impl Strategy<Value = ClientToServer> {
    let state = prop_oneof![Just(LinkState::Negotiating), Just(LinkState::Connected), Just(LinkState::Disconnected)];
    prop_oneof![
        (any::<u32>(), proptest::option::of(peer_id()))
            .prop_map(|(version, lost_host)| ClientToServer::Join { version, lost_host }),
        (peer_id(), signal()).prop_map(|(to, signal)| ClientToServer::Signal { to, signal }),
        (any::<u32>(), proptest::collection::vec((peer_id(), state, any::<bool>()), 0..4)).prop_map(
            |(peers, states)| ClientToServer::Roster {
                peers,
                states: states
                    .into_iter()
                    .map(|(peer, state, host)| PeerStatus { peer, state, host, route: None })
                    .collect(),
            }
        ),
    ]
}

/// One edit of a byte string.
#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Truncate(usize),
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len().max(1);
        match m {
            Mutation::Flip(at, bits) => {
                if let Some(b) = bytes.get_mut(at % len) {
                    *b ^= bits | 1;
                }
            }
            Mutation::Delete(at, n) => {
                let start = (at % len).min(bytes.len());
                let end = (start + n).min(bytes.len());
                bytes.drain(start..end);
            }
            Mutation::Insert(at, extra) => {
                let at = (at % len).min(bytes.len());
                bytes.splice(at..at, extra.iter().copied());
            }
            Mutation::Truncate(at) => bytes.truncate(at % len),
        }
    }
    bytes
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Mutation::Flip(a, b)),
        (any::<usize>(), 0usize..8).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8)).prop_map(|(a, v)| Mutation::Insert(a, v)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

/// Hostile input as raw bytes (a text frame when they are UTF-8, else binary).
fn garbage() -> impl Strategy<Value = Vec<u8>> {
    let valid = frame().prop_map(|f| serde_json::to_vec(&f).expect("serialize")).boxed();
    prop_oneof![
        2 => proptest::collection::vec(any::<u8>(), 0..600),
        2 => (valid.clone(), proptest::collection::vec(mutation(), 1..4))
            .prop_map(|(v, m): (Vec<u8>, Vec<Mutation>)| mutate(v, &m)),
        1 => valid,
        1 => (0usize..20_000, prop_oneof![Just("["), Just("{\"a\":"), Just("{\"type\":\"signal\",\"signal\":")])
            .prop_map(|(depth, open)| open.repeat(depth).into_bytes()),
        1 => prop_oneof![
            Just("1e999"), Just("18446744073709551616"), Just("-1"), Just("1.5"), Just("1e-999"), Just("NaN")
        ]
            .prop_flat_map(|n| prop_oneof![
                Just(format!(r#"{{"type":"join","version":{n}}}"#)),
                Just(format!(r#"{{"type":"roster","peers":{n}}}"#)),
                Just(format!(r#"{{"type":"signal","to":"a#b","signal":{{"kind":"offer","link":{n},"sdp":""}}}}"#)),
                Just(format!(r#"{{"type":"signal","to":"a#b","signal":{{"kind":"candidate","link":1,"candidate":"","sdp_m_line_index":{n}}}}}"#)),
            ])
            .prop_map(String::into_bytes),
        1 => (MAX_FRAME + 1..3 * MAX_FRAME).prop_map(|n| format!(r#"{{"type":"roster","pad":"{}"}}"#, "x".repeat(n)).into_bytes()),
    ]
}

#[test]
fn the_decoder_never_panics_and_classifies_every_failure() {
    let mut runner = TestRunner::new(cases(2048));
    runner
        .run(&garbage(), |bytes| {
            match serde_json::from_slice::<ClientToServer>(&bytes) {
                Ok(frame) => {
                    let again = serde_json::to_vec(&frame).expect("serialize");
                    prop_assert_eq!(serde_json::from_slice::<ClientToServer>(&again).ok(), Some(frame));
                }
                Err(err) => {
                    let classified = PeerError::from_json(&err);
                    prop_assert!(matches!(classified, PeerError::BadJson | PeerError::UnknownType), "{classified:?}");
                }
            }
            Ok(())
        })
        .expect("decoder property");
}

#[test]
fn pathological_documents_are_refused_without_overflowing_the_stack() {
    for depth in [127, 128, 129, 100_000, 1_000_000] {
        for open in ["[", "{\"a\":", "{\"type\":\"signal\",\"to\":\"a\",\"signal\":"] {
            let text = open.repeat(depth);
            assert!(serde_json::from_str::<ClientToServer>(&text).is_err(), "{open} x {depth}");
        }
    }
    let long = format!(
        r#"{{"type":"signal","to":"a#b","signal":{{"kind":"offer","link":1,"sdp":"{}"}}}}"#,
        "s".repeat(1 << 22)
    );
    assert!(serde_json::from_str::<ClientToServer>(&long).is_ok(), "size is the socket's limit, not the decoder's");
    let version = r#"{"type":"join","version":4294967296}"#;
    assert_eq!(
        PeerError::from_json(&serde_json::from_str::<ClientToServer>(version).unwrap_err()),
        PeerError::UnknownType
    );
}

/// Sends `bytes` on a joined socket, then a probe (`join` again). The socket must answer the probe with
/// `already_joined` (it survived), or, only for an oversized frame, close with 1009.
async fn survives(client: &mut Client, bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let oversized = bytes.len() > MAX_FRAME;
    let message = match String::from_utf8(bytes) {
        Ok(text) => Message::text(text),
        Err(err) => Message::binary(err.into_bytes()),
    };
    client.send_raw(message).await;
    if oversized {
        prop_assert_eq!(client.expect_close().await, 1009);
        return Ok(());
    }
    client.send(&ClientToServer::Join { version: PROTOCOL_VERSION, lost_host: None }).await;
    loop {
        // Anything else (an error for the garbage, a signal the garbage routed to ourselves) is skipped; a
        // close or a silent socket fails the test inside `recv_frame`.
        if let ServerToClient::Error { code: ErrorCode::AlreadyJoined, .. } = client.recv_frame().await {
            return Ok(());
        }
    }
}

#[test]
fn a_running_server_survives_garbage_and_closes_only_oversized_frames() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("rt");
    let config = SignalingConfig { max_frame_bytes: MAX_FRAME, ..test_config() };
    let srv = runtime.block_on(start(config));
    let mut runner = TestRunner::new(cases(192));
    let n = std::sync::atomic::AtomicU64::new(0);
    runner
        .run(&proptest::collection::vec(garbage(), 1..4), |frames| {
            let n = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            runtime.block_on(async {
                let room = format!("fuzz-{n}");
                let (mut client, _, _) = join(srv.addr, &room, "fuzzer", "f").await;
                let (mut bystander, _, _) = join(srv.addr, &room, "bystander", "b").await;
                for bytes in frames {
                    let oversized = bytes.len() > MAX_FRAME;
                    survives(&mut client, bytes).await?;
                    if oversized {
                        break;
                    }
                }
                // The session's other peer saw nothing it should not (only frames addressed to it).
                while let Some(frame) = bystander.recv_within(std::time::Duration::from_millis(10)).await {
                    prop_assert!(
                        matches!(frame, ServerToClient::Signal { .. } | ServerToClient::RoleChanged { .. }),
                        "{frame:?}"
                    );
                }
                bystander.close().await;
                Ok(())
            })
        })
        .expect("server property");
    runtime.block_on(async {
        srv.wait_open(0).await;
        let (_after, _, _) = join(srv.addr, "after-fuzz", "ada", "a").await;
    });
}
