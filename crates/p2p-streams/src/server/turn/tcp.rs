//! TURN over TCP (server side, `ssr`), for clients whose networks block UDP: the listener accepts
//! connections on the same port as UDP, and each connection is framed into STUN and ChannelData messages
//! (RFC 5766 11.5: a message's own length says where it ends; ChannelData is padded to 4 bytes) and served by
//! its own `turn` server instance behind the same gate, books and limits. Relays to peers stay UDP.

use super::Shared;
use async_trait::async_trait;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, Semaphore};
use webrtc_util::Conn;

/// One client's TCP connection as a datagram socket.
pub(crate) struct TcpConn {
    reader: Mutex<OwnedReadHalf>,
    writer: Mutex<OwnedWriteHalf>,
    local: SocketAddr,
    peer: SocketAddr,
    /// A connection silent this long is closed (clients refresh well within an allocation's lifetime).
    idle: Duration,
}

impl TcpConn {
    fn new(stream: TcpStream, idle: Duration) -> std::io::Result<Self> {
        let (local, peer) = (stream.local_addr()?, stream.peer_addr()?);
        let _ = stream.set_nodelay(true);
        let (reader, writer) = stream.into_split();
        Ok(TcpConn { reader: Mutex::new(reader), writer: Mutex::new(writer), local, peer, idle })
    }

    /// Reads one framed message into `buf`.
    async fn read_frame(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut reader = self.reader.lock().await;
        let mut head = [0u8; 4];
        reader.read_exact(&mut head).await?;
        let length = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let total = match head[0] >> 6 {
            0b00 => 20 + length,                    // STUN: a 20-byte header, then `length` bytes
            0b01 => 4 + length.next_multiple_of(4), // ChannelData, padded on streams
            _ => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "neither STUN nor ChannelData")),
        };
        if total > buf.len() || total < 4 {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "TURN message too large"));
        }
        buf[..4].copy_from_slice(&head);
        reader.read_exact(&mut buf[4..total]).await?;
        // ChannelData's padding is not part of the message.
        Ok(if head[0] >> 6 == 0b01 { 4 + length } else { total })
    }
}

#[async_trait]
impl Conn for TcpConn {
    async fn connect(&self, _addr: SocketAddr) -> webrtc_util::Result<()> {
        Ok(())
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        Ok(self.recv_from(buf).await?.0)
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        match tokio::time::timeout(self.idle, self.read_frame(buf)).await {
            Ok(read) => Ok((read?, self.peer)),
            Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "idle TURN connection").into()),
        }
    }

    async fn send(&self, buf: &[u8]) -> webrtc_util::Result<usize> {
        self.send_to(buf, self.peer).await
    }

    async fn send_to(&self, buf: &[u8], _target: SocketAddr) -> webrtc_util::Result<usize> {
        let mut writer = self.writer.lock().await;
        writer.write_all(buf).await?;
        let channel_data = buf.first().is_some_and(|b| b >> 6 == 0b01);
        let pad = if channel_data { buf.len().next_multiple_of(4) - buf.len() } else { 0 };
        if pad > 0 {
            writer.write_all(&[0u8; 3][..pad]).await?;
        }
        Ok(buf.len())
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        Ok(self.local)
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        Some(self.peer)
    }

    /// Called by the `turn` crate whenever an allocation closes: the connection itself stays open.
    async fn close(&self) -> webrtc_util::Result<()> {
        Ok(())
    }

    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}

/// Accepts TURN-over-TCP clients until the listener fails; at most `max_connections` at once.
pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, max_connections: usize) {
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    loop {
        let (stream, from) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                tracing::warn!(error = %err, "turn tcp accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::debug!(%from, "turn tcp connection refused: too many");
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(err) = serve(stream, shared).await {
                tracing::debug!(%from, error = %err, "turn tcp connection ended");
            }
        });
    }
}

/// Serves one connection with its own `turn` server until the client goes away.
async fn serve(stream: TcpStream, shared: Arc<Shared>) -> Result<(), super::TurnError> {
    let conn = TcpConn::new(stream, shared.max_lifetime + Duration::from_secs(30))
        .map_err(|source| super::TurnError::Bind { addr: shared.listen, source })?;
    let (watch, closed) = tokio::sync::oneshot::channel::<()>();
    let conn = Arc::new(super::gate::Gate::new(Arc::new(conn), &shared, Some(watch)));
    let server = shared.server_for(conn).await?;
    // The read loop ends when the connection does (EOF, error, idle) and drops the gate's watch.
    let _ = closed.await;
    let _ = server.close().await;
    Ok(())
}
