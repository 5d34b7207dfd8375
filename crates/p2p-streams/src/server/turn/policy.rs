//! Which peer addresses the embedded TURN server relays to (server side, `ssr`). A TURN server that relays
//! anywhere is an open door into the network it sits in, so by default it refuses loopback, private,
//! shared (CGNAT), link-local, multicast and unspecified addresses, and every port of its own addresses except
//! its live relay ports (two relayed peers reach each other through those). Listed ranges
//! (`P2P_TURN_ALLOW_PEERS`) lift the range denial; nothing lifts the own-address one.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why a peer address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Denial {
    /// One of the server's own addresses, on a port that is not a live relay.
    OwnAddress,
    /// A range denied by default (loopback, private, link-local, ...), not listed as allowed.
    DeniedRange,
}

/// The peer-address policy.
#[derive(Debug, Clone, Default)]
pub struct PeerPolicy {
    /// Ranges relayed to despite the default denial.
    allowed: Vec<IpNet>,
    /// The server's own addresses (listen, relay and advertised).
    own: Vec<IpAddr>,
}

impl PeerPolicy {
    /// A policy allowing `allowed` on top of the defaults, for a server whose own addresses are `own`.
    pub fn new(allowed: Vec<IpNet>, own: Vec<IpAddr>) -> Self {
        let own = own.into_iter().map(canonical).filter(|ip| !ip.is_unspecified()).collect();
        PeerPolicy { allowed, own }
    }

    /// Whether the server may relay to `peer`; `is_relay_port` says whether a port of our own address is a
    /// live allocation's relay socket.
    pub fn check(&self, peer: SocketAddr, is_relay_port: impl Fn(u16) -> bool) -> Result<(), Denial> {
        let ip = canonical(peer.ip());
        if self.own.contains(&ip) {
            return if is_relay_port(peer.port()) { Ok(()) } else { Err(Denial::OwnAddress) };
        }
        if denied_by_default(ip) && !self.allowed.iter().any(|net| net.contains(&ip)) {
            return Err(Denial::DeniedRange);
        }
        Ok(())
    }
}

/// Parses `P2P_TURN_ALLOW_PEERS` entries (`10.0.0.0/8`, `127.0.0.1`, `fd00::/8`; a bare address is a /32 or
/// /128).
pub fn parse_ranges(entries: &[String]) -> Result<Vec<IpNet>, String> {
    entries
        .iter()
        .map(|e| e.trim())
        .filter(|e| !e.is_empty())
        .map(|e| {
            e.parse::<IpNet>()
                .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{e:?} is not a CIDR range or an IP address"))
        })
        .collect()
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is (so `::ffff:127.0.0.1` is loopback).
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Loopback, private, shared, link-local, multicast, broadcast, unspecified or reserved.
fn denied_by_default(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => denied_v4(v4),
        IpAddr::V6(v6) => denied_v6(v6),
    }
}

fn denied_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_unspecified()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT), RFC 6598
        || a >= 240 // reserved
}

fn denied_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local, RFC 4193
        || (first & 0xffc0) == 0xfe80 // link-local
        || ip.to_ipv4().is_some_and(|v4| denied_v4(v4) && ip.segments()[..6] == [0; 6])
    // IPv4-compatible
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn default_denies_internal_ranges_and_allows_public_ones() {
        let policy = PeerPolicy::new(Vec::new(), Vec::new());
        for denied in [
            "127.0.0.1:80",
            "10.1.2.3:5000",
            "172.16.0.1:1",
            "192.168.1.1:53",
            "169.254.169.254:80",
            "100.64.0.1:1",
            "0.0.0.0:1",
            "224.0.0.1:1",
            "255.255.255.255:1",
            "[::1]:80",
            "[fd00::1]:1",
            "[fe80::1]:1",
            "[::ffff:127.0.0.1]:6379",
            "[::ffff:10.0.0.1]:1",
        ] {
            assert_eq!(policy.check(addr(denied), |_| false), Err(Denial::DeniedRange), "{denied}");
        }
        for allowed in ["8.8.8.8:3478", "203.0.113.7:9", "[2001:db8::1]:1", "100.128.0.1:1"] {
            assert_eq!(policy.check(addr(allowed), |_| false), Ok(()), "{allowed}");
        }
    }

    #[test]
    fn listed_ranges_are_allowed_but_own_addresses_only_on_relay_ports() {
        let allowed = parse_ranges(&["127.0.0.0/8".into(), " 10.0.1.5 ".into(), "".into()]).unwrap_or_default();
        assert_eq!(allowed.len(), 2);
        let policy = PeerPolicy::new(allowed, vec!["127.0.0.1".parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))]);
        assert_eq!(policy.check(addr("127.0.0.2:80"), |_| false), Ok(()));
        assert_eq!(policy.check(addr("10.0.1.5:80"), |_| false), Ok(()));
        assert_eq!(policy.check(addr("10.0.1.6:80"), |_| false), Err(Denial::DeniedRange));
        // The server's own address: its signaling port never, a live relay port yes.
        assert_eq!(policy.check(addr("127.0.0.1:3000"), |p| p == 50000), Err(Denial::OwnAddress));
        assert_eq!(policy.check(addr("127.0.0.1:50000"), |p| p == 50000), Ok(()));
        assert_eq!(policy.check(addr("[::ffff:127.0.0.1]:3000"), |_| false), Err(Denial::OwnAddress));
        assert!(parse_ranges(&["10.0.0.0/33".into()]).is_err());
        assert!(parse_ranges(&["example.org".into()]).is_err());
    }
}
