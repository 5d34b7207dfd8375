//! [`Wire`]: the WebSocket framing (RFC 6455, server side) of one signaling socket, on the upgraded HTTP
//! connection (server side, `ssr`).
//!
//! Why not tokio-tungstenite's `WebSocketStream`: it keeps a read buffer, a write buffer and two waker
//! proxies per socket for the socket's whole life (about 1 KiB per idle socket with its struct, measured
//! with heaptrack), while a signaling socket is idle almost all the time. Here both buffers exist only while
//! bytes are in flight: an idle socket is its TCP stream and a few words. Messages and errors are
//! tungstenite's types, so the rest of the server is the same either way. What it does: masked client
//! frames only (1002 otherwise), no extensions (reserved bits set: 1002), control frames of at most 125
//! bytes and never fragmented, fragmented data messages reassembled up to the frame limit (over it: 1009),
//! text checked as UTF-8 at the end of its message (1007), Ping answered with Pong, a peer's Close answered
//! once with the same code.

use bytes::{Buf, Bytes, BytesMut};
use futures::{Sink, Stream};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::error::{CapacityError, Error, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::Data;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Opcodes (RFC 6455 §5.2).
const CONTINUATION: u8 = 0x0;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// A message arriving in fragments: its opcode and what arrived so far.
struct Partial {
    opcode: u8,
    data: BytesMut,
}

/// The most one read takes (a buffer on the stack of the polling thread, not in the socket).
const READ_CHUNK: usize = 4096;

/// One server-side WebSocket over `IO`.
pub(crate) struct Wire<IO> {
    io: IO,
    /// Received bytes not yet parsed (empty, and unallocated, between messages).
    inbuf: BytesMut,
    /// Encoded frames not yet written (unallocated when everything is written).
    outbuf: Vec<u8>,
    /// A fragmented message being reassembled.
    partial: Option<Box<Partial>>,
    /// Largest frame, and largest reassembled message, accepted.
    max_message: usize,
    /// How much to read at once (at most [`READ_CHUNK`]).
    read_chunk: usize,
    /// `poll_ready` flushes once this much is buffered.
    write_threshold: usize,
    /// We sent a Close: nothing more may be sent.
    close_sent: bool,
    /// The peer sent a Close: once ours is out too, the stream ends (RFC 6455 §7.1.1: the server closes).
    close_received: bool,
    /// The peer closed its side of the TCP connection.
    eof: bool,
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Wire<IO> {
    /// Frames `io` with frames and messages of at most `max_message` bytes.
    pub fn new(io: IO, max_message: usize, read_chunk: usize, write_threshold: usize) -> Self {
        let read_chunk = read_chunk.clamp(16, READ_CHUNK);
        let (inbuf, outbuf, partial) = (BytesMut::new(), Vec::new(), None);
        Wire {
            io,
            inbuf,
            outbuf,
            partial,
            max_message,
            read_chunk,
            write_threshold,
            close_sent: false,
            close_received: false,
            eof: false,
        }
    }

    /// Appends one unmasked frame to the write buffer.
    fn encode(&mut self, opcode: u8, payload: &[u8]) {
        let out = &mut self.outbuf;
        out.reserve(payload.len() + 10);
        out.push(0x80 | opcode);
        match payload.len() {
            len @ 0..=125 => out.push(len as u8),
            len @ 126..=0xFFFF => {
                out.push(126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                out.push(127);
                out.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(payload);
    }

    /// Writes everything buffered; the buffer's memory is freed once it is all out.
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.outbuf.is_empty() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.outbuf))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.outbuf.drain(..n);
        }
        self.outbuf = Vec::new();
        Pin::new(&mut self.io).poll_flush(cx)
    }

    /// Reads what the connection has; `false` once the peer closed its side.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        // Uninitialized: zeroing 4 KiB before every read was 1.3% of the server's CPU at 1,000 relaying pairs.
        let mut chunk = [std::mem::MaybeUninit::<u8>::uninit(); READ_CHUNK];
        let mut read = ReadBuf::uninit(&mut chunk[..self.read_chunk]);
        ready!(Pin::new(&mut self.io).poll_read(cx, &mut read))?;
        if read.filled().is_empty() {
            return Poll::Ready(Ok(false));
        }
        self.inbuf.extend_from_slice(read.filled());
        Poll::Ready(Ok(true))
    }

    /// Parses the next complete message out of `inbuf`, if one is there; handles control frames.
    fn parse(&mut self) -> Result<Option<Message>, Error> {
        loop {
            let Some(frame) = take_frame(&mut self.inbuf, self.max_message)? else { return Ok(None) };
            let Frame { fin, opcode, payload } = frame;
            match opcode {
                PING => {
                    if !self.close_sent {
                        // Written by the next poll of the stream or flush of the sink.
                        self.encode(PONG, &payload);
                    }
                    return Ok(Some(Message::Ping(payload.freeze())));
                }
                PONG => return Ok(Some(Message::Pong(payload.freeze()))),
                CLOSE => return self.on_close(payload.freeze()).map(Some),
                CONTINUATION => {
                    let Some(partial) = self.partial.as_mut() else {
                        return Err(Error::Protocol(ProtocolError::UnexpectedContinueFrame));
                    };
                    if partial.data.len() + payload.len() > self.max_message {
                        let size = partial.data.len() + payload.len();
                        return Err(Error::Capacity(CapacityError::MessageTooLong {
                            size,
                            max_size: self.max_message,
                        }));
                    }
                    partial.data.extend_from_slice(&payload);
                    if let Some(done) = self.partial.take_if(|_| fin) {
                        return message(done.opcode, done.data.freeze()).map(Some);
                    }
                }
                _ if self.partial.is_some() => {
                    let data = if opcode == TEXT { Data::Text } else { Data::Binary };
                    return Err(Error::Protocol(ProtocolError::ExpectedFragment(data)));
                }
                _ if fin => return message(opcode, payload.freeze()).map(Some),
                _ => self.partial = Some(Box::new(Partial { opcode, data: payload })),
            }
        }
    }

    /// A Close from the peer: answered once with its code (RFC 6455 §5.5.1), then handed up. A code that must
    /// never appear on the wire (RFC 6455 §7.4: 1005, 1006, 1015, reserved or out-of-range ones) is answered
    /// and handed up as 1002 "Protocol violation", as tungstenite does.
    fn on_close(&mut self, payload: Bytes) -> Result<Message, Error> {
        let frame = match payload.len() {
            0 => None,
            1 => return Err(Error::Protocol(ProtocolError::InvalidCloseSequence)),
            _ => {
                let code = CloseCode::from(u16::from_be_bytes([payload[0], payload[1]]));
                let reason = Utf8Bytes::try_from(payload.slice(2..)).map_err(|err| Error::Utf8(err.to_string()))?;
                Some(if code.is_allowed() {
                    CloseFrame { code, reason }
                } else {
                    CloseFrame { code: CloseCode::Protocol, reason: Utf8Bytes::from_static("Protocol violation") }
                })
            }
        };
        self.close_received = true;
        if !self.close_sent {
            self.close_sent = true;
            let reply = frame.as_ref().map_or_else(Vec::new, |f| u16::from(f.code).to_be_bytes().to_vec());
            self.encode(CLOSE, &reply);
        }
        Ok(Message::Close(frame))
    }
}

/// A complete message of a data `opcode`.
fn message(opcode: u8, payload: Bytes) -> Result<Message, Error> {
    if opcode == TEXT {
        Utf8Bytes::try_from(payload).map(Message::Text).map_err(|err| Error::Utf8(err.to_string()))
    } else {
        Ok(Message::Binary(payload))
    }
}

/// One received frame, unmasked.
#[derive(Debug)]
struct Frame {
    fin: bool,
    opcode: u8,
    payload: BytesMut,
}

/// Takes the first complete frame out of `buf` (unmasking it), `None` if it is not all there yet.
fn take_frame(buf: &mut BytesMut, max: usize) -> Result<Option<Frame>, Error> {
    let [b0, b1, ..] = buf[..] else { return Ok(None) };
    let (fin, opcode) = (b0 & 0x80 != 0, b0 & 0x0F);
    if b0 & 0x70 != 0 {
        return Err(Error::Protocol(ProtocolError::NonZeroReservedBits));
    }
    if !matches!(opcode, CONTINUATION | TEXT | BINARY | CLOSE | PING | PONG) {
        return Err(Error::Protocol(ProtocolError::InvalidOpcode(opcode)));
    }
    if b1 & 0x80 == 0 {
        return Err(Error::Protocol(ProtocolError::UnmaskedFrameFromClient));
    }
    let (len, at) = match b1 & 0x7F {
        126 if buf.len() >= 4 => (u64::from(u16::from_be_bytes([buf[2], buf[3]])), 4),
        127 if buf.len() >= 10 => (u64::from_be_bytes(buf[2..10].try_into().unwrap_or_default()), 10),
        126 | 127 => return Ok(None),
        len => (u64::from(len), 2),
    };
    if opcode >= CLOSE && (len > 125 || !fin) {
        let err = if fin { ProtocolError::ControlFrameTooBig } else { ProtocolError::FragmentedControlFrame };
        return Err(Error::Protocol(err));
    }
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if len > max {
        return Err(Error::Capacity(CapacityError::MessageTooLong { size: len, max_size: max }));
    }
    if buf.len() < at + 4 + len {
        buf.reserve(at + 4 + len - buf.len());
        return Ok(None);
    }
    let mask = [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]];
    buf.advance(at + 4);
    let mut payload = buf.split_to(len);
    unmask(&mut payload, mask);
    if buf.is_empty() {
        // Nothing more is pending: let the payload own the allocation and keep none for the idle socket.
        *buf = BytesMut::new();
    }
    Ok(Some(Frame { fin, opcode, payload }))
}

/// XORs `payload` with the client's 4-byte `mask` (RFC 6455 §5.3), four bytes at a time so the compiler can
/// vectorize it (a byte loop indexing `mask[i & 3]` was 2.7% of the server's CPU at 1,000 relaying pairs).
fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    let mut words = payload.chunks_exact_mut(4);
    for word in &mut words {
        word.iter_mut().zip(mask).for_each(|(byte, m)| *byte ^= m);
    }
    words.into_remainder().iter_mut().zip(mask).for_each(|(byte, m)| *byte ^= m);
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Stream for Wire<IO> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            // A Pong or Close reply owed from an earlier read goes out while reading goes on.
            if !this.outbuf.is_empty() {
                if let Poll::Ready(Err(err)) = this.poll_write_out(cx) {
                    return Poll::Ready(Some(Err(Error::Io(err))));
                }
            }
            if this.close_received && this.close_sent {
                // Both Close frames went: the handshake is over once ours is written.
                return if this.outbuf.is_empty() { Poll::Ready(None) } else { Poll::Pending };
            }
            match this.parse() {
                Ok(Some(message)) => {
                    if !this.outbuf.is_empty() {
                        if let Poll::Ready(Err(err)) = this.poll_write_out(cx) {
                            return Poll::Ready(Some(Err(Error::Io(err))));
                        }
                    }
                    return Poll::Ready(Some(Ok(message)));
                }
                Ok(None) => {}
                Err(err) => return Poll::Ready(Some(Err(err))),
            }
            if this.eof {
                return Poll::Ready(None);
            }
            match ready!(this.poll_fill(cx)) {
                Ok(true) => {}
                Ok(false) => this.eof = true,
                Err(err) => return Poll::Ready(Some(Err(Error::Io(err)))),
            }
        }
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Sink<Message> for Wire<IO> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.outbuf.len() >= self.write_threshold {
            return self.poll_flush(cx);
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        let this = self.get_mut();
        if this.close_sent {
            return Err(Error::Protocol(ProtocolError::SendAfterClosing));
        }
        match message {
            Message::Text(text) => this.encode(TEXT, text.as_bytes()),
            Message::Binary(data) => this.encode(BINARY, &data),
            Message::Ping(data) => this.encode(PING, &data),
            Message::Pong(data) => this.encode(PONG, &data),
            Message::Close(frame) => {
                this.close_sent = true;
                let mut payload = Vec::new();
                if let Some(CloseFrame { code, reason }) = frame {
                    payload.extend_from_slice(&u16::from(code).to_be_bytes());
                    payload.extend_from_slice(reason.as_bytes());
                }
                this.encode(CLOSE, &payload);
            }
            Message::Frame(_) => return Err(Error::Protocol(ProtocolError::InvalidOpcode(0xF))),
        }
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_write_out(cx).map_err(Error::Io)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.poll_flush(cx)
    }
}

#[cfg(test)]
mod tests {
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
        assert!(matches!(
            refused(client_frame(true, 0x3, b"")),
            Some(Error::Protocol(ProtocolError::InvalidOpcode(3)))
        ));
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
        let mut reply = [0u8; 4];
        client.read_exact(&mut reply).await.expect("close reply");
        assert_eq!(reply, [0x80 | CLOSE, 2, 0x0f, 0xa0], "our close echoes the code");
        assert!(wire.send(Message::text("late")).await.is_err(), "nothing is sent after a close");
    }

    #[tokio::test]
    async fn a_close_code_forbidden_on_the_wire_is_answered_with_a_protocol_error() {
        for forbidden in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
            let (mut wire, mut client) = wire();
            client.write_all(&client_frame(true, CLOSE, &forbidden.to_be_bytes())).await.expect("write");
            let Some(Ok(Message::Close(Some(frame)))) = wire.next().await else { panic!("expected the close") };
            assert_eq!(frame.code, CloseCode::Protocol, "{forbidden}");
            let mut reply = [0u8; 4];
            client.read_exact(&mut reply).await.expect("close reply");
            assert_eq!(reply, [0x80 | CLOSE, 2, 0x03, 0xea], "{forbidden} is answered with 1002");
        }
        for allowed in [1000u16, 1001, 1003, 1007, 1011, 3000, 4999] {
            let (mut wire, mut client) = wire();
            client.write_all(&client_frame(true, CLOSE, &allowed.to_be_bytes())).await.expect("write");
            let Some(Ok(Message::Close(Some(frame)))) = wire.next().await else { panic!("expected the close") };
            assert_eq!(u16::from(frame.code), allowed);
        }
    }
}
