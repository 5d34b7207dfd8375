//! Properties of file transfers: whatever the size and content, a sender's chunks fed in order to a receiver
//! complete with matching SHA-256s; a lost, repeated, reordered or altered chunk never yields a good file.

use super::*;
use proptest::prelude::*;

/// The chunks `OutgoingFile` produces for `file`, and its SHA-256.
fn send_all(file: &[u8], transfer: u64) -> (Vec<Vec<u8>>, String) {
    let mut out = OutgoingFile::new(file.len() as u64);
    let mut chunks = Vec::new();
    while let Some((start, end)) = out.next_range() {
        chunks.push(out.take(transfer, &file[start as usize..end as usize]));
    }
    (chunks, out.finish().expect("every byte went"))
}

fn receive(size: u64, chunks: &[Vec<u8>], sha256: &str) -> Result<(), FileError> {
    let mut incoming = IncomingFile::new(size, u64::MAX)?;
    for message in chunks {
        incoming.accept(&FileChunk::decode(message)?)?;
    }
    incoming.finish(sha256)
}

#[test]
fn known_digest_and_names() {
    let (chunks, sha) = send_all(b"abc", 7);
    assert_eq!(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    let chunk = FileChunk::decode(&chunks[0]).expect("a chunk");
    assert_eq!((chunk.transfer, chunk.offset, chunk.data), (7, 0, &b"abc"[..]));
    assert_eq!(FileChunk::decode(&[0xC1; 20]), Err(FileError::BadChunk));
    assert_eq!(FileChunk::decode(&[FILE_MAGIC; 5]), Err(FileError::BadChunk));
    assert_eq!(safe_name("../../etc/passwd"), "passwd");
    assert_eq!(safe_name("C:\\Users\\a\\report.pdf"), "report.pdf");
    assert_eq!(safe_name("a\u{0}b\nc.txt"), "abc.txt");
    assert_eq!(safe_name(".."), "file");
    assert_eq!(safe_name(&"é".repeat(200)).len(), 254);
    assert_eq!(IncomingFile::new(11, 10).err(), Some(FileError::TooLarge { size: 11, limit: 10 }));
}

proptest! {
    // Each case hashes up to 300 KB in a debug build: fewer cases than the default 256 keep this under seconds.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_file_arrives_whole(file in proptest::collection::vec(any::<u8>(), 0..300_000), transfer in any::<u64>()) {
        let (chunks, sha) = send_all(&file, transfer);
        prop_assert_eq!(chunks.len(), file.len().div_ceil(FILE_CHUNK_BYTES));
        let mut joined = Vec::new();
        for message in &chunks {
            let chunk = FileChunk::decode(message).expect("a chunk");
            prop_assert_eq!(chunk.transfer, transfer);
            prop_assert_eq!(chunk.offset as usize, joined.len());
            joined.extend_from_slice(chunk.data);
        }
        prop_assert_eq!(&joined, &file);
        prop_assert_eq!(receive(file.len() as u64, &chunks, &sha), Ok(()));
    }

    #[test]
    fn a_damaged_stream_never_yields_a_good_file(
        file in proptest::collection::vec(any::<u8>(), 1..300_000),
        which in any::<prop::sample::Index>(),
        damage in 0u8..4,
    ) {
        let (mut chunks, sha) = send_all(&file, 1);
        let at = which.index(chunks.len());
        match damage {
            0 => { chunks.remove(at); }
            1 => { let copy = chunks[at].clone(); chunks.insert(at, copy); }
            2 => { let last = chunks.len() - 1; chunks.swap(at, last); if at == last { chunks.pop(); } }
            _ => { let last = chunks[at].len() - 1; chunks[at][last] ^= 0x01; }
        }
        prop_assert!(receive(file.len() as u64, &chunks, &sha).is_err());
    }
}
