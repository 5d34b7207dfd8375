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
//! text checked as UTF-8 as each fragment arrives (1007), Ping answered with Pong, a peer's Close answered
//! once with the same code and reason. `conformance/` checks all this against tungstenite, byte for byte.

#[cfg(test)]
mod conformance;
mod frame;
#[cfg(test)]
mod tests;

use bytes::{Bytes, BytesMut};
use frame::{take_frame, Frame};
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
    /// How much of a text message's `data` is known to be UTF-8 (what follows is at most one character cut
    /// short by the fragment's end).
    checked: usize,
}

impl Partial {
    /// Adds a fragment, refusing a message growing past `max` (1009) or text that can no longer be UTF-8
    /// (1007, as soon as the fragment arrives, as tungstenite and Autobahn's fail-fast cases do).
    fn push(&mut self, fragment: &[u8], max: usize) -> Result<(), Error> {
        let size = self.data.len() + fragment.len();
        if size > max {
            return Err(Error::Capacity(CapacityError::MessageTooLong { size, max_size: max }));
        }
        self.data.extend_from_slice(fragment);
        self.check_text()
    }

    /// Checks the text received since the last check.
    fn check_text(&mut self) -> Result<(), Error> {
        if self.opcode == TEXT {
            match std::str::from_utf8(&self.data[self.checked..]) {
                Ok(_) => self.checked = self.data.len(),
                Err(err) if err.error_len().is_none() => self.checked += err.valid_up_to(),
                Err(err) => return Err(Error::Utf8(err.to_string())),
            }
        }
        Ok(())
    }
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
                    partial.push(&payload, self.max_message)?;
                    if let Some(done) = self.partial.take_if(|_| fin) {
                        return message(done.opcode, done.data.freeze()).map(Some);
                    }
                }
                _ if self.partial.is_some() => {
                    let data = if opcode == TEXT { Data::Text } else { Data::Binary };
                    return Err(Error::Protocol(ProtocolError::ExpectedFragment(data)));
                }
                _ if fin => return message(opcode, payload.freeze()).map(Some),
                _ => {
                    let mut partial = Box::new(Partial { opcode, data: payload, checked: 0 });
                    partial.check_text()?;
                    self.partial = Some(partial);
                }
            }
        }
    }

    /// A Close from the peer: answered once with its code and reason (RFC 6455 §5.5.1), then handed up. A code
    /// that must never appear on the wire ([`frame::close_code_allowed`]) is answered and handed up as 1002
    /// "Protocol violation", as tungstenite does.
    fn on_close(&mut self, payload: Bytes) -> Result<Message, Error> {
        let frame = match payload.len() {
            0 => None,
            1 => return Err(Error::Protocol(ProtocolError::InvalidCloseSequence)),
            _ => {
                let code = CloseCode::from(u16::from_be_bytes([payload[0], payload[1]]));
                let reason = Utf8Bytes::try_from(payload.slice(2..)).map_err(|err| Error::Utf8(err.to_string()))?;
                Some(if frame::close_code_allowed(code) {
                    CloseFrame { code, reason }
                } else {
                    CloseFrame { code: CloseCode::Protocol, reason: Utf8Bytes::from_static("Protocol violation") }
                })
            }
        };
        self.close_received = true;
        if !self.close_sent {
            self.close_sent = true;
            let reply = frame
                .as_ref()
                .map_or_else(Vec::new, |f| [&u16::from(f.code).to_be_bytes(), f.reason.as_bytes()].concat());
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
                // A Pong still owed goes out before the stream ends (the write above registered the waker).
                return if this.outbuf.is_empty() { Poll::Ready(None) } else { Poll::Pending };
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
