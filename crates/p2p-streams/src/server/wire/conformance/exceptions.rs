//! Where our framing deliberately differs from tungstenite (server side, `ssr`, tests only): each exception
//! names its RFC 6455 section, recognises the inputs it covers, and turns tungstenite's outcome into the one
//! our framing must produce. Everything else must match tungstenite exactly.
//!
//! 1. **Close code 1014 (Bad Gateway)**, RFC 6455 §7.4.2 and §11.7: 1014 is a code of the IANA registry the
//!    RFC set up, like 1012 and 1013, which tungstenite accepts; tungstenite refuses 1014 as "bad" and answers
//!    1002. We accept and echo it. Reserved, unassigned and never-on-the-wire codes (0-999, 1004-1006, 1015,
//!    1016-2999, 5000 and up) are refused with 1002 by both.
//! 2. **A frame refused from its header** (RFC 6455 §5.1 unmasked, §5.2 reserved bits, §5.5 a fragmented or
//!    over-125-byte control frame): the RFC says to fail the connection on receiving it; tungstenite reads the
//!    whole payload first, we fail once the header is in, without buffering the payload. The difference only
//!    shows when the peer's bytes stop inside such a frame's payload: tungstenite sees the end of the stream,
//!    we have already answered 1002.
//! 3. **What is owed is written before the stream ends** (RFC 6455 §5.5.1: a Close MUST be answered with a
//!    Close; §5.5.2: a Ping with a Pong): when the peer stops sending while the socket cannot take all of a
//!    reply at once, tungstenite ends the stream with the rest of its reply unwritten (and the server then
//!    drops the connection); ours ends the stream once the reply is written. tungstenite's bytes are then a
//!    strict prefix of ours.

use super::super::{CLOSE, PONG};
use super::drive::{End, Outcome};
use super::gen::MAX;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// One frame of the input as the test reads it (headers only need to be complete).
struct Scanned {
    fin: bool,
    rsv: u8,
    opcode: u8,
    masked: bool,
    len: u64,
    /// The unmasked payload, `None` when the input ends inside it.
    payload: Option<Vec<u8>>,
}

/// The input's frames up to its first Close (after which neither framing reads) or its end; a last frame
/// whose header is cut short is left out.
fn scan(mut input: &[u8]) -> Vec<Scanned> {
    let mut frames = Vec::new();
    while let [b0, b1, rest @ ..] = input {
        let (ext, masked) = match b1 & 0x7F {
            126 => (2, b1 & 0x80 != 0),
            127 => (8, b1 & 0x80 != 0),
            _ => (0, b1 & 0x80 != 0),
        };
        let header = ext + if masked { 4 } else { 0 };
        if rest.len() < header {
            break;
        }
        let len = match ext {
            0 => u64::from(b1 & 0x7F),
            _ => rest[..ext].iter().fold(0u64, |len, b| len << 8 | u64::from(*b)),
        };
        let mask: Vec<u8> = if masked { rest[ext..ext + 4].to_vec() } else { vec![0; 4] };
        let body = &rest[header..];
        let available = usize::try_from(len).ok().filter(|len| *len <= body.len());
        let payload = available.map(|len| body[..len].iter().enumerate().map(|(i, b)| b ^ mask[i % 4]).collect());
        let opcode = b0 & 0x0F;
        frames.push(Scanned { fin: b0 & 0x80 != 0, rsv: (b0 >> 4) & 7, opcode, masked, len, payload });
        match available {
            Some(len) if opcode != CLOSE => input = &body[len..],
            _ => break,
        }
    }
    frames
}

/// A server frame (unmasked, FIN set, the shortest length form).
fn server_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let length: Vec<u8> = match len {
        0..=125 => vec![len as u8],
        126..=0xFFFF => [&[126u8][..], &(len as u16).to_be_bytes()].concat(),
        _ => [&[127u8][..], &(len as u64).to_be_bytes()].concat(),
    };
    [&[0x80 | opcode][..], &length, payload].concat()
}

/// The close frame our server sends after a protocol error (`read_failure_close`).
fn protocol_error_close() -> Vec<u8> {
    server_frame(CLOSE, &[&1002u16.to_be_bytes()[..], b"protocol error"].concat())
}

/// What a server owes a peer for `messages` handed up: a Pong per Ping, the reply to its Close.
fn owed(messages: &[Message]) -> Vec<u8> {
    let mut out = Vec::new();
    for message in messages {
        match message {
            Message::Ping(data) => out.extend(server_frame(PONG, data)),
            Message::Close(frame) => {
                let payload = frame
                    .as_ref()
                    .map_or_else(Vec::new, |f| [&u16::from(f.code).to_be_bytes()[..], f.reason.as_bytes()].concat());
                out.extend(server_frame(CLOSE, &payload));
            }
            _ => {}
        }
    }
    out
}

/// Exception 1 of the list above, as `check` reports it applied.
pub const CODE_1014: &str = "1: close code 1014";
/// Exception 2.
pub const HEADER: &str = "2: a frame refused from its header, the peer's bytes ending inside it";
/// Exception 3.
pub const OWED: &str = "3: what tungstenite owed and left unwritten";

/// What our framing must produce for `input`, given tungstenite's outcome, and the exceptions applied.
pub fn expected(input: &[u8], mut outcome: Outcome) -> (Outcome, Vec<&'static str>) {
    let mut applied = Vec::new();
    let all_owed = owed(&outcome.messages);
    if outcome.end == End::Ended && outcome.sent.len() < all_owed.len() && all_owed.starts_with(&outcome.sent) {
        outcome.sent = all_owed;
        applied.push(OWED);
    }
    let frames = scan(input);
    let Some(last) = frames.last() else { return (outcome, applied) };
    let violation = last.rsv != 0 || !last.masked || (last.opcode >= CLOSE && (!last.fin || last.len > 125));
    let valid_opcode = matches!(last.opcode, 0..=2 | 8..=10);
    if last.payload.is_none() && outcome.end == End::Ended && valid_opcode && last.len <= MAX as u64 && violation {
        outcome.end = End::Failed(Some(1002));
        outcome.sent.extend(protocol_error_close());
        applied.push(HEADER);
        return (outcome, applied);
    }
    let violation_answer = Message::Close(Some(CloseFrame {
        code: CloseCode::Protocol,
        reason: Utf8Bytes::from_static("Protocol violation"),
    }));
    let reason_1014 = match &last.payload {
        Some(payload) if last.opcode == CLOSE && payload.starts_with(&1014u16.to_be_bytes()) => {
            std::str::from_utf8(&payload[2..]).ok().map(str::to_owned)
        }
        _ => None,
    };
    let tungstenite_reply = owed(std::slice::from_ref(&violation_answer));
    if let Some(reason) = reason_1014 {
        if outcome.messages.last() == Some(&violation_answer) && outcome.sent.ends_with(&tungstenite_reply) {
            let frame = CloseFrame { code: CloseCode::from(1014), reason: reason.into() };
            let answer = Message::Close(Some(frame));
            outcome.sent.truncate(outcome.sent.len() - tungstenite_reply.len());
            outcome.sent.extend(owed(std::slice::from_ref(&answer)));
            outcome.messages.pop();
            outcome.messages.push(answer);
            applied.push(CODE_1014);
        }
    }
    (outcome, applied)
}
