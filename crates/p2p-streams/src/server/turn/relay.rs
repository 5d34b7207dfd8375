//! Relay sockets of the embedded TURN server (server side, `ssr`): the `turn` crate asks [`RelayPorts`] for a
//! socket per allocation; we bind one in the configured port range and wrap it in a [`RelayConn`] that enters
//! the allocation in the ledger, counts relayed bytes, applies the per-allocation bandwidth cap and refuses
//! denied peers even if a permission somehow named one.

use super::ledger::{refused, Ledger, LedgerEntry, Refusal};
use super::policy::PeerPolicy;
use async_trait::async_trait;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;
use tokio::net::UdpSocket;
use webrtc_util::Conn;

/// Who asked for the allocation being created: set by the gate for the Allocate request it passes on, taken
/// by [`RelayPorts::allocate_conn`] (the `turn` server handles one datagram at a time per listener).
pub(crate) type PendingUser = Arc<Mutex<Option<(String, SocketAddr)>>>;

/// Binds relay sockets for the `turn` server.
pub(crate) struct RelayPorts {
    /// Local address relay sockets bind to (port 0 replaced by one of `ports`).
    pub(crate) bind_ip: IpAddr,
    /// Address advertised in XOR-RELAYED-ADDRESS.
    pub(crate) external_ip: IpAddr,
    /// Ports relay sockets may use (the firewall opens these).
    pub(crate) ports: RangeInclusive<u16>,
    /// The books.
    pub(crate) ledger: Arc<Ledger>,
    /// Peer addresses we relay to.
    pub(crate) policy: Arc<PeerPolicy>,
    /// Bytes per second per allocation, both directions together (0: unlimited).
    pub(crate) bandwidth: u64,
    /// The user of the allocation being created.
    pub(crate) pending: PendingUser,
}

/// Random tries at a free port in the range before giving up.
const BIND_TRIES: usize = 32;

#[async_trait]
impl ::turn::relay::RelayAddressGenerator for RelayPorts {
    fn validate(&self) -> Result<(), ::turn::Error> {
        if self.ports.is_empty() {
            return Err(::turn::Error::ErrListeningAddressInvalid);
        }
        Ok(())
    }

    async fn allocate_conn(
        &self,
        use_ipv4: bool,
        _requested_port: u16,
    ) -> Result<(Arc<dyn Conn + Send + Sync>, SocketAddr), ::turn::Error> {
        if use_ipv4 != self.bind_ip.is_ipv4() {
            return Err(::turn::Error::Other("the relay address family differs from the request".into()));
        }
        let (user, client) = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .ok_or_else(|| ::turn::Error::Other("allocation without an authenticated user".into()))?;
        let socket = self.bind().await?;
        let port = socket.local_addr()?.port();
        let relay = SocketAddr::new(self.external_ip, port);
        let entry = self.ledger.enter(user, client, relay);
        let conn = RelayConn {
            socket,
            entry,
            policy: Arc::clone(&self.policy),
            ledger: Arc::clone(&self.ledger),
            bucket: Bucket::new(self.bandwidth),
        };
        Ok((Arc::new(conn), relay))
    }
}

impl RelayPorts {
    /// A UDP socket on a free port of the range (random tries, then a scan of a window).
    async fn bind(&self) -> Result<UdpSocket, ::turn::Error> {
        let (start, end) = (*self.ports.start(), *self.ports.end());
        let span = u32::from(end - start) + 1;
        for _ in 0..BIND_TRIES {
            let port = start + (rand::random::<u32>() % span) as u16;
            if let Ok(socket) = UdpSocket::bind(SocketAddr::new(self.bind_ip, port)).await {
                return Ok(socket);
            }
        }
        for port in self.ports.clone() {
            if let Ok(socket) = UdpSocket::bind(SocketAddr::new(self.bind_ip, port)).await {
                return Ok(socket);
            }
        }
        Err(::turn::Error::Other(format!("no free relay port in {start}-{end}")))
    }
}

/// A token bucket of bytes: `rate` per second, holding at most one second's worth.
#[derive(Debug)]
struct Bucket {
    /// Bytes per second (0: unlimited).
    rate: u64,
    /// Available bytes and when they were last topped up.
    state: Mutex<(f64, Instant)>,
}

impl Bucket {
    fn new(rate: u64) -> Self {
        Bucket { rate, state: Mutex::new((rate as f64, Instant::now())) }
    }

    /// Takes `bytes` if available.
    fn take(&self, bytes: usize) -> bool {
        if self.rate == 0 {
            return true;
        }
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let refill = now.duration_since(state.1).as_secs_f64() * self.rate as f64;
        state.0 = (state.0 + refill).min(self.rate as f64);
        state.1 = now;
        if state.0 < bytes as f64 {
            return false;
        }
        state.0 -= bytes as f64;
        true
    }
}

/// One allocation's relay socket.
pub(crate) struct RelayConn {
    socket: UdpSocket,
    /// Its place in the books (leaves them when the `turn` server drops this socket).
    entry: LedgerEntry,
    policy: Arc<PeerPolicy>,
    ledger: Arc<Ledger>,
    bucket: Bucket,
}

#[async_trait]
impl Conn for RelayConn {
    async fn connect(&self, addr: SocketAddr) -> webrtc_util::Result<()> {
        Ok(self.socket.connect(addr).await?)
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        Ok(self.recv_from(buf).await?.0)
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        loop {
            let (n, from) = self.socket.recv_from(buf).await?;
            if !self.bucket.take(n) {
                refused(Refusal::Bandwidth);
                continue;
            }
            self.entry.sent_to_client(n);
            return Ok((n, from));
        }
    }

    async fn send(&self, buf: &[u8]) -> webrtc_util::Result<usize> {
        Ok(self.socket.send(buf).await?)
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        if self.policy.check(target, |port| self.ledger.is_relay_port(port)).is_err() {
            refused(Refusal::PeerDenied);
            return Err(webrtc_util::Error::Other(format!("relaying to {target} is not allowed")));
        }
        if !self.bucket.take(buf.len()) {
            // UDP semantics: a datagram over the cap is lost, not an error of the sender.
            refused(Refusal::Bandwidth);
            return Ok(buf.len());
        }
        let sent = self.socket.send_to(buf, target).await?;
        self.entry.sent_to_peer(sent);
        Ok(sent)
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        Ok(self.socket.local_addr()?)
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }

    async fn close(&self) -> webrtc_util::Result<()> {
        Ok(())
    }

    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_caps_a_burst_at_one_second_of_rate() {
        let bucket = Bucket::new(1000);
        assert!(bucket.take(600));
        assert!(bucket.take(400));
        assert!(!bucket.take(100), "the second's budget is spent");
        assert!(Bucket::new(0).take(usize::MAX), "0 is unlimited");
    }
}
