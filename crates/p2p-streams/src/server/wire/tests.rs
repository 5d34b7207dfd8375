//! Unit tests of [`Wire`](super::Wire): reassembly across reads, the refusals RFC 6455 asks for, the close
//! handshake (server side, `ssr`, tests only). The differential conformance tests against tungstenite are in
//! `conformance/`.

use super::frame::{take_frame, unmask};
use super::*;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A client frame: masked with a fixed key.
fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut out = vec![(u8::from(fin) << 7) | opcode];
    match payload.len() {
        len @ 0..=125 => out.push(0x80 | len as u8),
        len @ 126..=0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
    out
}

fn wire() -> (Wire<tokio::io::DuplexStream>, tokio::io::DuplexStream) {
    let (server, client) = tokio::io::duplex(1 << 20);
    (Wire::new(server, 1024, 4096, 4096), client)
}

#[tokio::test]
async fn reassembles_fragments_across_reads_and_answers_pings() {
    let (mut wire, mut client) = wire();
    let long = "é".repeat(100); // 200 bytes: the 16-bit length form, and UTF-8 split across fragments
    let (a, b) = long.as_bytes().split_at(101);
    let mut bytes = client_frame(false, TEXT, a);
    bytes.extend(client_frame(true, PING, b"hi")); // a control frame between fragments
    bytes.extend(client_frame(true, CONTINUATION, b));
    let (first, rest) = bytes.split_at(3); // the first read ends inside a header
    client.write_all(first).await.expect("write");
    client.write_all(rest).await.expect("write");
    assert_eq!(wire.next().await.expect("ping").expect("ok"), Message::Ping(Bytes::from_static(b"hi")));
    assert_eq!(wire.next().await.expect("text").expect("ok"), Message::Text(long.into()));
    assert!(wire.inbuf.capacity() == 0 && wire.outbuf.capacity() == 0, "an idle socket holds no buffer");
    let mut pong = [0u8; 4];
    client.read_exact(&mut pong).await.expect("pong");
    assert_eq!(pong, [0x80 | PONG, 2, b'h', b'i']);
}

#[test]
fn unmasking_by_words_equals_the_rfcs_byte_by_byte_rule() {
    let mask = [0x12, 0x9a, 0xff, 0x01];
    for len in (0..=9).chain([1500, 1501, 1502, 1503]) {
        let original: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
        let mut payload = original.clone();
        unmask(&mut payload, mask);
        let expected: Vec<u8> = original.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]).collect();
        assert_eq!(payload, expected, "length {len}");
    }
}

#[test]
fn refuses_what_the_rfc_forbids_with_the_matching_error() {
    let refused = |bytes: Vec<u8>| take_frame(&mut BytesMut::from(&bytes[..]), 1024).err();
    let mut unmasked = client_frame(true, TEXT, b"x");
    unmasked[1] &= 0x7F;
    assert!(matches!(refused(unmasked), Some(Error::Protocol(ProtocolError::UnmaskedFrameFromClient))));
    let reserved = client_frame(true, TEXT | 0x40, b"x");
    assert!(matches!(refused(reserved), Some(Error::Protocol(ProtocolError::NonZeroReservedBits))));
    assert!(matches!(refused(client_frame(true, 0x3, b"")), Some(Error::Protocol(ProtocolError::InvalidOpcode(3)))));
    let big_ping = client_frame(true, PING, &[0; 126]);
    assert!(matches!(refused(big_ping), Some(Error::Protocol(ProtocolError::ControlFrameTooBig))));
    let split_ping = client_frame(false, PING, b"");
    assert!(matches!(refused(split_ping), Some(Error::Protocol(ProtocolError::FragmentedControlFrame))));
    // Too large is known from the header alone, before the payload is buffered.
    let header = client_frame(true, BINARY, &[0; 2048])[..8].to_vec();
    assert!(matches!(refused(header), Some(Error::Capacity(CapacityError::MessageTooLong { size: 2048, .. }))));
}

#[tokio::test]
async fn bad_utf8_is_refused_and_a_close_is_answered_once_then_the_stream_ends() {
    let (mut wire, mut client) = wire();
    client.write_all(&client_frame(true, TEXT, &[0xff, 0xfe])).await.expect("write");
    assert!(matches!(wire.next().await, Some(Err(Error::Utf8(_)))));
    let mut close = 4000u16.to_be_bytes().to_vec();
    close.extend_from_slice(b"bye");
    client.write_all(&client_frame(true, CLOSE, &close)).await.expect("write");
    let Some(Ok(Message::Close(Some(frame)))) = wire.next().await else { panic!("expected the close") };
    assert_eq!((u16::from(frame.code), frame.reason.as_str()), (4000, "bye"));
    assert!(wire.next().await.is_none(), "both closes went: the stream ends");
    let mut reply = [0u8; 7];
    client.read_exact(&mut reply).await.expect("close reply");
    assert_eq!(reply, [0x80 | CLOSE, 5, 0x0f, 0xa0, b'b', b'y', b'e'], "our close echoes the code and reason");
    assert!(wire.send(Message::text("late")).await.is_err(), "nothing is sent after a close");
}

#[tokio::test]
async fn a_close_code_forbidden_on_the_wire_is_answered_with_a_protocol_error() {
    for forbidden in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
        let (mut wire, mut client) = wire();
        client.write_all(&client_frame(true, CLOSE, &forbidden.to_be_bytes())).await.expect("write");
        let Some(Ok(Message::Close(Some(frame)))) = wire.next().await else { panic!("expected the close") };
        assert_eq!(frame.code, CloseCode::Protocol, "{forbidden}");
        let mut reply = [0u8; 22];
        client.read_exact(&mut reply).await.expect("close reply");
        let expected = [&[0x80 | CLOSE, 20, 0x03, 0xea][..], b"Protocol violation"].concat();
        assert_eq!(reply[..], expected[..], "{forbidden} is answered with 1002, as tungstenite does");
    }
    for allowed in [1000u16, 1001, 1003, 1007, 1011, 1012, 1013, 1014, 3000, 4999] {
        let (mut wire, mut client) = wire();
        client.write_all(&client_frame(true, CLOSE, &allowed.to_be_bytes())).await.expect("write");
        let Some(Ok(Message::Close(Some(frame)))) = wire.next().await else { panic!("expected the close") };
        assert_eq!(u16::from(frame.code), allowed);
    }
}
