//! Differential conformance of our framing ([`Wire`](super::Wire)) against tokio-tungstenite's server-side
//! `WebSocketStream`, which passes the Autobahn suite (server side, `ssr`, tests only).
//!
//! The same generated client byte streams (`gen.rs`) go to both over an in-memory duplex, in chunks down to
//! one byte (`drive.rs`); the messages handed up, the end (and the close code the server answers a failure
//! with) and every byte written back must be equal, except where `exceptions.rs` says the RFC is followed
//! instead. `corpus.txt` holds every stream on which the two ever differed; it is replayed on every run.
//! Cases per run: `PROPTEST_CASES` (default [`DEFAULT_CASES`]); a failure prints a corpus line.
//!
//! Here rather than in `tests/`: `Wire` is crate-private, and a test module needs no test-only public API.

mod drive;
mod exceptions;
mod gen;

use proptest::prelude::*;

/// Cases per run unless `PROPTEST_CASES` says otherwise.
const DEFAULT_CASES: u32 = 3000;

/// Every stream on which the framings once differed, with what differed.
const CORPUS: &str = include_str!("corpus.txt");

/// Runs `input` through both framings; `Ok` with the exceptions applied when ours does what it must.
fn check(input: &[u8], chunk: usize, read_chunk: usize) -> Result<Vec<&'static str>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread().build().map_err(|err| err.to_string())?;
    let (ours, tungstenite) = runtime.block_on(async {
        let ours = drive::ours(input, chunk, read_chunk).await;
        (ours, drive::tungstenite(input, chunk, read_chunk).await)
    });
    let (expected, exception) = exceptions::expected(input, tungstenite.clone());
    if ours == expected {
        return Ok(exception);
    }
    let chunk = if chunk == usize::MAX { "all".to_owned() } else { chunk.to_string() };
    Err(format!(
        "the framings differ (exceptions: {exception:?})\ncorpus line: {chunk} {read_chunk} {}\nours:        {ours:?}\nexpected:    {expected:?}\ntungstenite: {tungstenite:?}",
        hex(input)
    ))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One corpus line: `<chunk|all> <read_chunk> <hex>`.
fn corpus_case(line: &str) -> (Vec<u8>, usize, usize) {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [chunk, read_chunk, hex] = fields[..] else { panic!("bad corpus line {line:?}") };
    let chunk = if chunk == "all" { usize::MAX } else { chunk.parse().expect("chunk") };
    let bytes = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")).collect();
    (bytes, chunk, read_chunk.parse().expect("read chunk"))
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(DEFAULT_CASES);
    ProptestConfig { cases, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn our_framing_matches_tungstenite_or_the_rfc(case in gen::case()) {
        let input = case.input();
        if let Err(diff) = check(&input, case.chunk, case.read_chunk) {
            return Err(TestCaseError::fail(diff));
        }
    }
}

#[test]
fn every_stream_the_framings_ever_differed_on_now_matches() {
    let lines = CORPUS.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#'));
    let mut count = 0;
    for line in lines {
        let (input, chunk, read_chunk) = corpus_case(line);
        // As recorded, and byte by byte with the smallest reads.
        for (chunk, read_chunk) in [(chunk, read_chunk), (1, 16)] {
            if let Err(diff) = check(&input, chunk, read_chunk) {
                panic!("corpus line {line}:\n{diff}");
            }
        }
        count += 1;
    }
    assert!(count > 0, "the corpus is empty");
}

/// A masked client frame with the all-zero mask key (the payload goes on the wire as it is).
fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    [&[b0, 0x80 | payload.len() as u8, 0, 0, 0, 0][..], payload].concat()
}

#[test]
fn each_documented_exception_is_still_needed_and_followed() {
    use exceptions::{CODE_1014, HEADER, OWED};
    // 1: close code 1014 is accepted and echoed (tungstenite answers 1002).
    let close_1014 = frame(0x88, &[0x03, 0xF6, b'g', b'w']);
    assert_eq!(check(&close_1014, usize::MAX, 16), Ok(vec![CODE_1014]));
    assert_eq!(check(&close_1014, 1, 16), Ok(vec![OWED, CODE_1014]));
    // 2: an unmasked Binary frame, a Ping with RSV1, an over-125-byte Ping whose payload never arrives.
    let unmasked = [0x82, 0x10, 1, 2];
    let rsv_ping = [0xC9, 0x85, 0, 0, 0, 0, 1];
    let big_ping = [0x89, 0xFE, 0x00, 0x80, 0, 0, 0, 0, 1, 2, 3];
    for input in [&unmasked[..], &rsv_ping, &big_ping] {
        assert_eq!(check(input, 1, 16), Ok(vec![HEADER]));
    }
    // The same frame complete: no exception, both refuse it with 1002.
    let mut complete_ping = big_ping.to_vec();
    complete_ping.resize(8 + 128, 0);
    assert_eq!(check(&complete_ping, usize::MAX, 4096), Ok(vec![]));
    // 3: a Ping and a Close, then the peer stops sending: through a one-byte buffer tungstenite leaves part of
    // its replies unwritten; with room for them, nothing differs.
    let ping_close = [frame(0x89, b"are you there"), frame(0x88, b"\x03\xe8bye")].concat();
    assert_eq!(check(&ping_close, 1, 16), Ok(vec![OWED]));
    assert_eq!(check(&ping_close, usize::MAX, 4096), Ok(vec![]));
}
