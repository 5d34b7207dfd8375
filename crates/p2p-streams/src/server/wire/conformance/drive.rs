//! Runs one client byte stream through a server-side framing and records what a peer and the server can
//! observe (server side, `ssr`, tests only): the messages handed up in order, how reading ended and the close
//! code the server answers a read failure with, and every byte written back to the client.
//!
//! Both framings get the same treatment: an in-memory duplex whose buffer holds at most `chunk` bytes (so a
//! chunk of 1 makes every read a single byte), the client writing the input then closing its side, the server
//! reading until the stream ends or fails, and on a failure sending the close frame the real server sends
//! (`read_failure_close`, as `connection.rs` does). Two normalisations, both recorded as [`End::Ended`]:
//! 1. tungstenite reports a peer that stops sending without a close handshake as
//!    `ResetWithoutClosingHandshake`, ours ends the stream: both mean "the peer is gone";
//! 2. after handing up the peer's Close, tungstenite reads on while its reply waits for the socket to take it
//!    (a small duplex buffer) and may then fail on what follows (`ReceivedAfterClosing`, a frame too large);
//!    the close handshake is already done on both sides, ours reads nothing after it, and nothing more is
//!    sent either way (tungstenite sends no second Close).

use super::super::Wire;
use super::gen::MAX;
use crate::server::error::read_failure_close;
use futures::{Sink, SinkExt, Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_tungstenite::tungstenite::error::{Error, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// How reading ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The stream ended: the close handshake finished, or the peer's bytes ran out.
    Ended,
    /// A read failed: the close code the server answered with (`None`: an I/O error, nothing sent).
    Failed(Option<u16>),
}

/// What one run showed.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub messages: Vec<Message>,
    pub end: End,
    /// Everything the server wrote back: Pongs, the close reply, the close frame after a failure.
    pub sent: Vec<u8>,
}

/// A duplex whose buffer holds at most `chunk` bytes.
fn duplex(chunk: usize) -> (DuplexStream, DuplexStream) {
    tokio::io::duplex(chunk.clamp(1, 1 << 16))
}

/// Our framing, with [`MAX`] as its frame and message limit.
pub async fn ours(input: &[u8], chunk: usize, read_chunk: usize) -> Outcome {
    let (server, client) = duplex(chunk);
    drive(Wire::new(server, MAX, read_chunk, 4096), client, input, chunk).await
}

/// tokio-tungstenite's server-side `WebSocketStream`, with the same limits.
pub async fn tungstenite(input: &[u8], chunk: usize, read_chunk: usize) -> Outcome {
    let (server, client) = duplex(chunk);
    let config = WebSocketConfig::default()
        .read_buffer_size(read_chunk)
        .write_buffer_size(0)
        .max_frame_size(Some(MAX))
        .max_message_size(Some(MAX));
    let socket = WebSocketStream::from_raw_socket(server, Role::Server, Some(config)).await;
    drive(socket, client, input, chunk).await
}

/// Feeds `input` to `socket` in `chunk`-byte writes and collects the outcome.
async fn drive<S>(mut socket: S, client: DuplexStream, input: &[u8], chunk: usize) -> Outcome
where
    S: Stream<Item = Result<Message, Error>> + Sink<Message, Error = Error> + Unpin,
{
    let (mut from_server, mut to_server) = tokio::io::split(client);
    let write = async move {
        for piece in input.chunks(chunk.max(1)) {
            if to_server.write_all(piece).await.is_err() {
                return; // the server is gone
            }
        }
        let _ = to_server.shutdown().await;
    };
    let read = async move {
        let mut sent = Vec::new();
        let _ = from_server.read_to_end(&mut sent).await;
        sent
    };
    let serve = async move {
        let mut messages = Vec::new();
        let end = loop {
            match socket.next().await {
                Some(Ok(message)) => messages.push(message),
                Some(Err(Error::Protocol(ProtocolError::ResetWithoutClosingHandshake))) | None => break End::Ended,
                Some(Err(_)) if matches!(messages.last(), Some(Message::Close(_))) => break End::Ended,
                Some(Err(err)) => {
                    let close = read_failure_close(err);
                    if let Some((code, reason)) = close {
                        let frame = CloseFrame { code: code.into(), reason: reason.into() };
                        let _ = socket.send(Message::Close(Some(frame))).await;
                    }
                    break End::Failed(close.map(|(code, _)| code));
                }
            }
        };
        drop(socket); // the client's read sees the end of the stream
        (messages, end)
    };
    let ((), sent, (messages, end)) = tokio::join!(write, read, serve);
    Outcome { messages, end, sent }
}
