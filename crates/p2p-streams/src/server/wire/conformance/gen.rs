//! Generators of client byte streams for the conformance tests (server side, `ssr`, tests only): data
//! messages cut into fragments at random bytes (UTF-8 split across fragments, invalid UTF-8 on purpose) with
//! control frames between the fragments, Pings, Pongs and Closes with every kind of close code, and raw frames
//! that break the RFC (reserved opcodes and bits, unmasked, fragmented or oversized control frames, lengths
//! in a non-minimal or out-of-range form); the stream is then maybe cut short and delivered in chunks.

use super::super::{BINARY, CLOSE, CONTINUATION, PING, PONG, TEXT};
use proptest::prelude::*;
use proptest::sample::Index;

/// Largest frame and message both framings accept here: small, so going over it is cheap.
pub const MAX: usize = 256;

/// How a frame's payload length is written (RFC 6455 §5.2).
#[derive(Clone, Copy, Debug)]
pub enum LenForm {
    /// The shortest form, as the RFC asks of senders.
    Minimal,
    /// Always the 16-bit form (legal to parse, not minimal below 126).
    Sixteen,
    /// Always the 64-bit form.
    SixtyFour,
    /// The 64-bit form with its most significant bit set (RFC 6455 §5.2: it MUST be 0).
    TopBit,
}

/// One client frame as it goes on the wire; any field may break the RFC on purpose.
#[derive(Clone, Debug)]
pub struct RawFrame {
    pub fin: bool,
    /// RSV1-3, as the three bits after FIN.
    pub rsv: u8,
    pub opcode: u8,
    /// `None`: an unmasked frame (RFC 6455 §5.1: a server must refuse it).
    pub mask: Option<[u8; 4]>,
    pub len_form: LenForm,
    pub payload: Vec<u8>,
}

impl RawFrame {
    /// A well-formed, masked client frame.
    fn valid(fin: bool, opcode: u8, mask: [u8; 4], payload: Vec<u8>) -> Self {
        RawFrame { fin, rsv: 0, opcode, mask: Some(mask), len_form: LenForm::Minimal, payload }
    }

    /// The frame's bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push((u8::from(self.fin) << 7) | ((self.rsv & 7) << 4) | (self.opcode & 0x0F));
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let len = self.payload.len();
        match self.len_form {
            LenForm::Minimal if len < 126 => out.push(mask_bit | len as u8),
            LenForm::Minimal | LenForm::Sixteen if len <= 0xFFFF => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            LenForm::TopBit => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&((len as u64) | 1 << 63).to_be_bytes());
            }
            _ => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        let mask = self.mask.unwrap_or_default();
        if self.mask.is_some() {
            out.extend_from_slice(&mask);
        }
        out.extend(self.payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    }
}

/// One generated case: the frames, where the stream is cut, and how it is delivered.
#[derive(Clone, Debug)]
pub struct Case {
    pub frames: Vec<RawFrame>,
    /// Where the peer's bytes stop (an index into the encoded stream), `None`: all of them.
    pub cut: Option<Index>,
    /// Bytes per write, and at most per read (1: byte by byte).
    pub chunk: usize,
    /// The framings' read size (16: reads end inside headers even when the bytes are all there).
    pub read_chunk: usize,
}

impl Case {
    /// The bytes the client sends.
    pub fn input(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.frames.iter().for_each(|frame| frame.encode(&mut out));
        if let Some(cut) = self.cut {
            out.truncate(cut.index(out.len() + 1));
        }
        out
    }
}

/// Invalid UTF-8 to plant in a text message: a lone continuation byte, an overlong form, a surrogate, a code
/// point past U+10FFFF, a byte never valid, a sequence cut short.
const BAD_UTF8: [&[u8]; 6] =
    [&[0x80], &[0xC0, 0xAF], &[0xED, 0xA0, 0x80], &[0xF4, 0x90, 0x80, 0x80], &[0xFF], &[0xE2, 0x82]];

/// A text payload: UTF-8 with multi-byte characters, sometimes with invalid bytes planted.
fn text() -> impl Strategy<Value = Vec<u8>> {
    let valid = "[a-z é€😀]{0,24}".prop_map(String::into_bytes);
    (valid, proptest::option::weighted(0.2, (any::<Index>(), 0..BAD_UTF8.len()))).prop_map(|(mut bytes, bad)| {
        if let Some((at, which)) = bad {
            let at = at.index(bytes.len() + 1);
            bytes.splice(at..at, BAD_UTF8[which].iter().copied());
        }
        bytes
    })
}

/// A binary payload: mostly small, sometimes near or over [`MAX`].
fn binary() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![6 => proptest::collection::vec(any::<u8>(), 0..32), 1 => proptest::collection::vec(any::<u8>(), 200..300)]
}

/// A Close payload: none, one byte (refused), or a code from every class RFC 6455 §7.4 names and a reason
/// (sometimes not UTF-8).
fn close_payload() -> impl Strategy<Value = Vec<u8>> {
    let classes = [0u16, 1, 999, 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012];
    let more = [1013u16, 1014, 1015, 1016, 1100, 2000, 2999, 3000, 3999, 4000, 4999, 5000, 65535];
    let code =
        prop_oneof![4 => proptest::sample::select([classes.as_slice(), more.as_slice()].concat()), 1 => any::<u16>()];
    let reason =
        prop_oneof![4 => "[a-z é]{0,12}".prop_map(String::into_bytes), 1 => Just(vec![0xC3]), 1 => Just(vec![0xFF])];
    prop_oneof![
        1 => Just(Vec::new()),
        1 => any::<u8>().prop_map(|b| vec![b]),
        8 => (code, reason).prop_map(|(code, reason)| [code.to_be_bytes().as_slice(), &reason].concat()),
    ]
}

/// A well-formed control frame (the Ping and Pong payloads sometimes over the 125-byte limit).
fn control() -> impl Strategy<Value = RawFrame> {
    let ping_payload = prop_oneof![8 => proptest::collection::vec(any::<u8>(), 0..16), 1 => proptest::collection::vec(any::<u8>(), 120..130)];
    prop_oneof![
        3 => (prop_oneof![Just(PING), Just(PONG)], ping_payload, any::<[u8; 4]>())
            .prop_map(|(opcode, payload, mask)| RawFrame::valid(true, opcode, mask, payload)),
        1 => (close_payload(), any::<[u8; 4]>()).prop_map(|(payload, mask)| RawFrame::valid(true, CLOSE, mask, payload)),
    ]
}

/// A data message cut into fragments at random bytes, with control frames between fragments.
fn message() -> impl Strategy<Value = Vec<RawFrame>> {
    let cuts = proptest::collection::vec(any::<Index>(), 0..4);
    let between = proptest::collection::vec((any::<Index>(), control()), 0..2);
    (any::<bool>(), text(), binary(), cuts, between, any::<[u8; 4]>()).prop_map(
        |(is_text, text, binary, cuts, between, mask)| {
            let data = if is_text { text } else { binary };
            let mut at: Vec<usize> = cuts.iter().map(|cut| cut.index(data.len() + 1)).collect();
            at.sort_unstable();
            let bounds: Vec<usize> = std::iter::once(0).chain(at).chain(std::iter::once(data.len())).collect();
            let pieces = bounds.len() - 1;
            let mut frames = Vec::new();
            for (i, span) in bounds.windows(2).enumerate() {
                let opcode = match (i, is_text) {
                    (0, true) => TEXT,
                    (0, false) => BINARY,
                    _ => CONTINUATION,
                };
                frames.push(RawFrame::valid(i + 1 == pieces, opcode, mask, data[span[0]..span[1]].to_vec()));
                for (_, ctl) in between.iter().filter(|(after, _)| after.index(pieces) == i && i + 1 < pieces) {
                    frames.push(ctl.clone());
                }
            }
            frames
        },
    )
}

/// Any frame at all: random bits in every field.
fn raw() -> impl Strategy<Value = RawFrame> {
    let rsv = prop_oneof![3 => Just(0u8), 1 => 1u8..8];
    let mask = proptest::option::weighted(0.8, any::<[u8; 4]>());
    let len_form = prop_oneof![
        6 => Just(LenForm::Minimal),
        1 => Just(LenForm::Sixteen),
        1 => Just(LenForm::SixtyFour),
        1 => Just(LenForm::TopBit),
    ];
    (any::<bool>(), rsv, 0u8..16, mask, len_form, binary())
        .prop_map(|(fin, rsv, opcode, mask, len_form, payload)| RawFrame { fin, rsv, opcode, mask, len_form, payload })
}

/// A whole case.
pub fn case() -> impl Strategy<Value = Case> {
    let item = prop_oneof![
        6 => message(),
        3 => control().prop_map(|frame| vec![frame]),
        1 => raw().prop_map(|frame| vec![frame]),
    ];
    let frames = proptest::collection::vec(item, 0..8).prop_map(|items| items.concat());
    let cut = proptest::option::weighted(0.25, any::<Index>());
    let chunk = prop_oneof![2 => Just(1usize), 1 => 2usize..8, 3 => Just(usize::MAX)];
    let read_chunk = prop_oneof![Just(16usize), Just(4096)];
    (frames, cut, chunk, read_chunk).prop_map(|(frames, cut, chunk, read_chunk)| Case {
        frames,
        cut,
        chunk,
        read_chunk,
    })
}
