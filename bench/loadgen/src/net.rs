//! Opening and registering one signaling socket: the TCP connection is bound to one of several loopback
//! source addresses (127.0.0.1-4 by default) so 19.5k sockets do not exhaust one address's ephemeral ports.

use crate::proto::{Incoming, Proto};
use futures_util::{SinkExt, StreamExt};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// A client signaling socket.
pub type Ws = WebSocketStream<TcpStream>;

/// Why a socket could not be opened and registered.
#[derive(Debug)]
#[allow(dead_code)] // the fields are read through Debug, in the first failures printed
pub enum OpenError {
    /// TCP connect failed.
    Connect(std::io::Error),
    /// The upgrade was refused or failed.
    Upgrade(tokio_tungstenite::tungstenite::Error),
    /// The server refused the registration or closed the socket.
    Refused,
    /// No registration answer in time.
    Timeout,
}

/// Where sockets go and from which source addresses.
#[derive(Clone, Debug)]
pub struct Target {
    /// Server base URLs (`ws://host:port`), used round-robin per session.
    pub urls: Vec<String>,
    /// Local source addresses, used round-robin per socket.
    pub sources: Vec<IpAddr>,
    /// Peer `k` of session `n` goes to the server after the session's own ([`Target::peer_url`]).
    pub cross_node: bool,
}

impl Target {
    /// The base URL for session number `n`.
    pub fn url(&self, n: usize) -> &str {
        &self.urls[n % self.urls.len()]
    }

    /// The base URL for peer `k` (0-based, the host or first end excluded) of session number `n`: the
    /// session's own server, or with `cross_node` the next ones round-robin.
    pub fn peer_url(&self, n: usize, k: usize) -> &str {
        if self.cross_node {
            self.url(n + 1 + k)
        } else {
            self.url(n)
        }
    }

    /// The source address for socket number `n`.
    pub fn source(&self, n: usize) -> IpAddr {
        self.sources[n % self.sources.len()]
    }
}

/// Nanoseconds since the generator started (the timestamp carried in signals).
pub fn now_ns() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Opens `url` from `source` and waits until the server confirms the registration.
pub async fn open(proto: &Proto, url: &str, source: IpAddr, within: Duration) -> Result<Ws, OpenError> {
    let result = tokio::time::timeout(within, open_inner(proto, url, source)).await.unwrap_or(Err(OpenError::Timeout));
    if let Err(err) = &result {
        // The first few reasons go to stderr; the counts are in the JSON figures.
        static SHOWN: AtomicUsize = AtomicUsize::new(0);
        if SHOWN.fetch_add(1, Ordering::Relaxed) < 3 {
            eprintln!("loadgen: open failed ({source} -> {}): {err:?}", url.split('?').next().unwrap_or(url));
        }
    }
    result
}

async fn open_inner(proto: &Proto, url: &str, source: IpAddr) -> Result<Ws, OpenError> {
    let addr = server_addr(url).ok_or(OpenError::Refused)?;
    let socket = TcpSocket::new_v4().map_err(OpenError::Connect)?;
    socket.bind(SocketAddr::new(source, 0)).map_err(OpenError::Connect)?;
    let stream = socket.connect(addr).await.map_err(OpenError::Connect)?;
    stream.set_nodelay(true).map_err(OpenError::Connect)?;
    // Small buffers: 19.5k client sockets live in this one process too.
    let config = WebSocketConfig::default().read_buffer_size(8 * 1024).write_buffer_size(0);
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await.map_err(OpenError::Upgrade)?;
    if let Some(join) = proto.join_frame() {
        ws.send(Message::text(join)).await.map_err(OpenError::Upgrade)?;
    }
    while let Some(message) = ws.next().await {
        match message.map_err(OpenError::Upgrade)? {
            Message::Text(text) => match proto.parse(text.as_str()) {
                Incoming::Registered => return Ok(ws),
                Incoming::Error => return Err(OpenError::Refused),
                _ => {}
            },
            Message::Close(_) => return Err(OpenError::Refused),
            _ => {}
        }
    }
    Err(OpenError::Refused)
}

/// `host:port` of a `ws://host:port[/...]` URL, as a socket address.
fn server_addr(url: &str) -> Option<SocketAddr> {
    let rest = url.strip_prefix("ws://")?;
    rest.split(['/', '?']).next()?.parse().ok()
}

/// Closes `ws` cleanly (Close frame, then wait for the server's), giving up after `within`.
pub async fn close(mut ws: Ws, within: Duration) {
    let _ = tokio::time::timeout(within, async {
        if ws.close(None).await.is_ok() {
            while let Some(Ok(_)) = ws.next().await {}
        }
    })
    .await;
}
