//! Properties of chunking and reassembly: any size, any chunk size, interleaved transfers, duplicate and
//! out-of-order chunks, a transfer cut by a lost link and sent again, the size limit and the memory budget.

use super::*;
use proptest::prelude::*;

/// A frame of `len` printable bytes, different for each `seed`.
fn frame(len: usize, seed: u64) -> String {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b' ' + (x % 94) as u8)
        })
        .collect()
}

/// Every piece `frames` become on one link.
fn pieces(frames: &[String], chunk: usize) -> Vec<Piece> {
    let mut out = Outgoing::new(chunk);
    frames.iter().cloned().for_each(|f| out.push(f));
    let expected: usize = frames.iter().map(String::len).sum();
    assert_eq!(out.queued_bytes(), expected);
    std::iter::from_fn(|| out.next_piece(true)).collect()
}

/// What a receiver makes of `pieces`, in arrival order.
fn receive(pieces: &[Piece], reassembler: &mut Reassembler) -> Vec<String> {
    let mut frames = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Text(text) => frames.push(text.clone()),
            Piece::Binary(bytes) => {
                if let Ok(Reassembled::Complete(done)) = reassembler.accept(bytes) {
                    frames.push(String::from_utf8(done).expect("frames are text"));
                }
            }
        }
    }
    frames
}

fn sizes() -> impl Strategy<Value = Vec<(usize, u64)>> {
    prop::collection::vec((prop_oneof![0..3_000usize, 3_000..300_000usize], any::<u64>()), 1..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_frame_arrives_once_whole_and_in_order(specs in sizes(), chunk in MIN_CHUNK_BYTES..40_000usize) {
        let frames: Vec<String> = specs.iter().map(|(len, seed)| frame(*len, *seed)).collect();
        let pieces = pieces(&frames, chunk);
        for piece in &pieces {
            prop_assert!(piece.len() <= chunk + HEADER_BYTES, "a piece over the chunk size");
            prop_assert!(!piece.is_empty() || matches!(piece, Piece::Text(t) if t.is_empty()));
        }
        let mut reassembler = Reassembler::new(400_000, 400_000);
        prop_assert_eq!(receive(&pieces, &mut reassembler), frames);
        prop_assert_eq!(reassembler.open_transfers(), 0);
    }

    #[test]
    fn interleaved_shuffled_and_repeated_chunks_make_each_frame_once(
        specs in prop::collection::vec((3_000..120_000usize, any::<u64>()), 1..5),
        chunk in MIN_CHUNK_BYTES..2_900usize,
        repeats in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
        order in any::<u64>(),
    ) {
        let frames: Vec<String> = specs.iter().map(|(len, seed)| frame(*len, *seed)).collect();
        let mut chunks: Vec<Vec<u8>> = pieces(&frames, chunk)
            .into_iter()
            .filter_map(|p| match p { Piece::Binary(b) => Some(b), Piece::Text(_) => None })
            .collect();
        let originals = chunks.clone();
        chunks.extend(repeats.iter().map(|i| originals[i.index(originals.len())].clone()));
        // A deterministic shuffle driven by `order` (Fisher-Yates).
        let mut x = order | 1;
        for i in (1..chunks.len()).rev() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            chunks.swap(i, (x >> 33) as usize % (i + 1));
        }
        let mut reassembler = Reassembler::new(120_000, 1_000_000);
        let mut done = Vec::new();
        for c in &chunks {
            match reassembler.accept(c) {
                Ok(Reassembled::Complete(bytes)) => done.push(String::from_utf8(bytes).expect("text")),
                Ok(_) => {}
                Err(err) => prop_assert!(false, "refused a good chunk: {}", err),
            }
        }
        let (mut got, mut want) = (done, frames.clone());
        got.sort();
        want.sort();
        prop_assert_eq!(got, want, "each frame exactly once");
        prop_assert_eq!(reassembler.open_transfers(), 0);
    }

    #[test]
    fn a_transfer_cut_by_a_lost_link_is_never_delivered_and_arrives_whole_when_resent(
        len in 3_000..200_000usize, seed in any::<u64>(), chunk in MIN_CHUNK_BYTES..2_900usize, cut in any::<prop::sample::Index>(),
    ) {
        let frames = vec![frame(len, seed)];
        let pieces = pieces(&frames, chunk);
        let cut = cut.index(pieces.len());
        let mut old_link = Reassembler::new(200_000, 200_000);
        prop_assert!(receive(&pieces[..cut], &mut old_link).is_empty(), "half a frame was delivered");
        old_link.clear();
        prop_assert_eq!(old_link.announced(), 0);
        // The delivery protocol sends the frame again on the new link (its transfer ids start over); some
        // chunks may come twice or early: the frame still arrives exactly once.
        let mut new_link = Reassembler::new(200_000, 200_000);
        let replayed: Vec<Piece> = pieces[cut..].iter().chain(&pieces).cloned().collect();
        prop_assert_eq!(receive(&replayed, &mut new_link), frames);
        prop_assert_eq!(new_link.open_transfers(), 0);
    }

    #[test]
    fn a_frame_over_the_limit_is_refused_before_anything_is_stored(
        over in 1..50_000usize, chunk in MIN_CHUNK_BYTES..20_000usize, limit in 10_000..60_000usize,
    ) {
        let pieces = pieces(&[frame(limit + over, 7)], chunk);
        let mut reassembler = Reassembler::new(limit, limit);
        let mut first = true;
        for piece in &pieces {
            let Piece::Binary(bytes) = piece else { continue };
            let got = reassembler.accept(bytes);
            if first {
                prop_assert_eq!(got, Err(ChunkError::TooLarge { announced: (limit + over) as u64, limit }));
                first = false;
            } else {
                prop_assert_eq!(got, Ok(Reassembled::Duplicate), "later chunks are ignored");
            }
            prop_assert_eq!(reassembler.announced(), 0);
        }
    }

    #[test]
    fn open_transfers_never_announce_more_than_the_budget(
        totals in prop::collection::vec(2_048..50_000u64, 1..30), budget in 50_000..200_000usize,
    ) {
        let mut reassembler = Reassembler::new(50_000, budget);
        for (i, total) in totals.iter().enumerate() {
            let header = ChunkHeader { transfer: i as u64 + 1, index: 0, count: 2, total: *total };
            let got = reassembler.accept(&header.encode(&[b'x'; 10]));
            prop_assert!(matches!(got, Ok(Reassembled::Partial) | Err(ChunkError::OverBudget)), "{:?}", got);
            prop_assert!(reassembler.announced() <= budget as u64);
        }
    }

    #[test]
    fn garbage_is_refused_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut reassembler = Reassembler::new(1 << 20, 1 << 20);
        let mut message = bytes.clone();
        if let Some(first) = message.first_mut() { *first = CHUNK_MAGIC; }
        let _ = reassembler.accept(&bytes);
        let _ = reassembler.accept(&message);
        prop_assert!(reassembler.announced() <= 1 << 20);
    }
}

#[test]
fn headers_round_trip_and_short_or_foreign_messages_are_not_chunks() {
    let header = ChunkHeader { transfer: 9, index: 2, count: 3, total: 2_500 };
    let message = header.encode(b"abc");
    assert_eq!(message.len(), HEADER_BYTES + 3);
    assert_eq!(ChunkHeader::decode(&message), Ok((header, &b"abc"[..])));
    assert_eq!(ChunkHeader::decode(&message[..HEADER_BYTES - 1]), Err(ChunkError::BadHeader));
    assert_eq!(ChunkHeader::decode(&[0u8; 40]), Err(ChunkError::BadHeader));
}

#[test]
fn chunk_data_must_add_up_to_the_announced_length() {
    let mut reassembler = Reassembler::new(10_000, 10_000);
    let short = ChunkHeader { transfer: 1, index: 0, count: 1, total: 2_000 };
    assert_eq!(reassembler.accept(&short.encode(&[1; 1_000])), Err(ChunkError::LengthMismatch));
    let long = ChunkHeader { transfer: 2, index: 0, count: 2, total: 1_500 };
    assert_eq!(reassembler.accept(&long.encode(&[1; 1_600])), Err(ChunkError::LengthMismatch));
    let too_many = ChunkHeader { transfer: 3, index: 0, count: 5, total: 2_000 };
    assert_eq!(reassembler.accept(&too_many.encode(&[1; 10])), Err(ChunkError::Inconsistent), "1 KiB chunks at least");
    assert_eq!(reassembler.announced(), 0);
}

#[test]
fn the_frame_limit_covers_a_binary_message_of_the_cap_in_base64() {
    let cap = 16 * 1024 * 1024;
    assert!(frame_limit(cap) >= cap / 3 * 4 + 1024);
    assert!(frame_limit(cap) < cap * 2);
}

#[test]
fn bulk_messages_go_only_when_no_frame_waits() {
    let mut out = Outgoing::new(MIN_CHUNK_BYTES);
    out.push_bulk(vec![0xF1, 1]);
    out.push("a".into());
    out.push("x".repeat(MIN_CHUNK_BYTES + 1));
    out.push_bulk(vec![0xF2]);
    assert_eq!(out.queued_bytes(), 2 + 1 + MIN_CHUNK_BYTES + 1 + 1);
    assert_eq!(out.next_piece(true), Some(Piece::Text("a".into())));
    assert!(matches!(out.next_piece(false), Some(Piece::Binary(chunk)) if chunk[0] == CHUNK_MAGIC));
    assert!(matches!(out.next_piece(true), Some(Piece::Binary(chunk)) if chunk[0] == CHUNK_MAGIC));
    // Bulk waits while not allowed, and stays queued.
    assert_eq!(out.next_piece(false), None);
    assert!(!out.is_empty());
    assert_eq!(out.next_piece(true), Some(Piece::Binary(vec![0xF1, 1])));
    out.push("b".into());
    assert_eq!(out.next_piece(true), Some(Piece::Text("b".into())), "a frame overtakes queued bulk");
    assert_eq!(out.next_piece(true), Some(Piece::Binary(vec![0xF2])));
    assert_eq!((out.next_piece(true), out.queued_bytes(), out.is_empty()), (None, 0, true));
}
