//! Abuse limits of the signaling server (server side, `ssr`): the frame-rate token bucket every socket task
//! owns, the per-address connection table the upgrade route consults, and the upgrade's `Origin` check.
//!
//! The session and server limits (`max_peers_per_session`, `max_sessions`) are enforced by the registry at
//! `join`, under the session's gate (`registry.rs`). Every limit and its default is in [`super::SignalingConfig`]
//! and `docs/reliability.md`.

use axum::http::header::{HOST, ORIGIN};
use axum::http::{HeaderMap, HeaderName};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::time::Instant;

/// What the token bucket says about one incoming frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Within the budget: handle it.
    Pass,
    /// Over the budget: drop it. `first` is true for the first drop since the bucket was last full, the one
    /// the peer is told about (an `Error` frame per dropped frame would amplify a flood).
    Drop {
        /// Whether to answer with an `Error` frame.
        first: bool,
    },
    /// Over the budget for the `burst`-th time without the bucket refilling: close the socket.
    Close,
}

/// A token bucket of `burst` frames refilled at `rate` frames per second: plain numbers updated in place,
/// nothing allocated per frame. Uses Tokio's clock, so a paused test clock drives it.
#[derive(Clone, Debug)]
pub(crate) struct TokenBucket {
    /// Tokens added per second.
    rate: f64,
    /// Most tokens held (the burst).
    capacity: f64,
    /// Tokens now (fractional between frames).
    tokens: f64,
    /// When `tokens` was last brought up to date.
    last: Instant,
    /// Frames dropped since the bucket was last full.
    strikes: u32,
    /// Drops tolerated before [`Verdict::Close`].
    max_strikes: u32,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens refilled at `rate_per_sec`; `burst` drops without a full refill close.
    pub(crate) fn new(rate_per_sec: u32, burst: u32, now: Instant) -> Self {
        let capacity = f64::from(burst.max(1));
        TokenBucket {
            rate: f64::from(rate_per_sec.max(1)),
            capacity,
            tokens: capacity,
            last: now,
            strikes: 0,
            max_strikes: burst.max(1),
        }
    }

    /// Charges one frame arriving at `now`.
    pub(crate) fn take(&mut self, now: Instant) -> Verdict {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        if self.tokens >= self.capacity {
            self.strikes = 0;
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Verdict::Pass;
        }
        self.strikes = self.strikes.saturating_add(1);
        if self.strikes >= self.max_strikes {
            Verdict::Close
        } else {
            Verdict::Drop { first: self.strikes == 1 }
        }
    }
}

/// Open signaling sockets per client address on this node. Entries go when their count drops to zero.
#[derive(Debug, Default)]
pub(crate) struct IpConnections {
    /// Count per address.
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// One counted socket of an address; dropping it (socket closed, or the upgrade failed) gives the slot back.
#[derive(Debug)]
pub(crate) struct IpSlot {
    /// The table the slot belongs to.
    table: Arc<IpConnections>,
    /// The counted address.
    ip: IpAddr,
}

impl IpConnections {
    /// Takes a slot for `ip` unless it already has `max` open sockets.
    pub(crate) fn try_acquire(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<IpSlot> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(ip).or_insert(0);
        if *count >= max {
            if *count == 0 {
                counts.remove(&ip);
            }
            return None;
        }
        *count += 1;
        Some(IpSlot { table: self.clone(), ip })
    }

    /// Open sockets counted for `ip`.
    #[cfg(test)]
    pub(crate) fn count(&self, ip: IpAddr) -> usize {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner).get(&ip).copied().unwrap_or(0)
    }

    /// Addresses with at least one counted socket.
    #[cfg(test)]
    pub(crate) fn addresses(&self) -> usize {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut counts = self.table.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// The client's address: from `header` when configured and parseable (the LAST comma-separated entry, the
/// one a trusted proxy appended), else the TCP peer. IPv4-mapped IPv6 addresses count as their IPv4 address.
///
/// The signaling route counts sockets per address with it; an app keying its own per-address limits on it
/// (with [`SignalingConfig::client_ip_header`](super::SignalingConfig::client_ip_header)) sees the same client.
pub fn client_ip(headers: &HeaderMap, peer: Option<SocketAddr>, header: Option<&HeaderName>) -> Option<IpAddr> {
    let forwarded = header.and_then(|name| {
        let value = headers.get_all(name).iter().next_back()?.to_str().ok()?;
        let last = value.rsplit(',').next()?.trim();
        last.parse::<IpAddr>().ok().or_else(|| last.parse::<SocketAddr>().ok().map(|a| a.ip()))
    });
    forwarded.or(peer.map(|p| p.ip())).map(|ip| ip.to_canonical())
}

/// Whether the upgrade request may come from its `Origin`: no `Origin` (not a browser; it still needs a
/// token), the request's own origin (the `Origin` authority equals `Host`), or one of `allowed` (exact, case
/// insensitive, or `*`).
pub(crate) fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(ORIGIN) else { return true };
    let Ok(origin) = origin.to_str() else { return false };
    let origin = origin.trim().trim_end_matches('/');
    if allowed.iter().any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(origin)) {
        return true;
    }
    let authority = origin.split_once("://").map(|(_, rest)| rest);
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    matches!((authority, host), (Some(a), Some(h)) if !a.is_empty() && a.eq_ignore_ascii_case(h.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use std::time::Duration;

    #[test]
    fn the_bucket_passes_a_burst_then_the_rate_drops_then_closes_a_flood() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, 5, start);
        for _ in 0..5 {
            assert_eq!(bucket.take(start), Verdict::Pass);
        }
        assert_eq!(bucket.take(start), Verdict::Drop { first: true });
        assert_eq!(bucket.take(start), Verdict::Drop { first: false });
        // 100 ms refills one token at 10/s.
        assert_eq!(bucket.take(start + Duration::from_millis(100)), Verdict::Pass);
        let at = start + Duration::from_millis(100);
        assert_eq!(bucket.take(at), Verdict::Drop { first: false });
        assert_eq!(bucket.take(at), Verdict::Drop { first: false });
        assert_eq!(bucket.take(at), Verdict::Close, "the fifth drop without a full refill closes");
    }

    #[test]
    fn a_full_refill_forgives_earlier_drops() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, 3, start);
        for _ in 0..3 {
            assert_eq!(bucket.take(start), Verdict::Pass);
        }
        assert_eq!(bucket.take(start), Verdict::Drop { first: true });
        assert_eq!(bucket.take(start), Verdict::Drop { first: false });
        let later = start + Duration::from_secs(1);
        assert_eq!(bucket.take(later), Verdict::Pass);
        for _ in 0..2 {
            assert_eq!(bucket.take(later), Verdict::Pass);
        }
        assert_eq!(bucket.take(later), Verdict::Drop { first: true }, "told again after calming down");
    }

    #[test]
    fn ip_slots_are_bounded_and_given_back() {
        let table = Arc::new(IpConnections::default());
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let a = table.try_acquire(ip, 2).unwrap();
        let b = table.try_acquire(ip, 2).unwrap();
        assert!(table.try_acquire(ip, 2).is_none());
        assert!(table.try_acquire("10.0.0.2".parse().unwrap(), 2).is_some(), "other addresses unaffected");
        drop(a);
        assert_eq!(table.count(ip), 1);
        drop(b);
        assert_eq!(table.addresses(), 0, "no entry left behind");
        assert!(table.try_acquire(ip, 0).is_none());
        assert_eq!(table.addresses(), 0);
    }

    #[test]
    fn the_client_ip_comes_from_the_peer_or_the_trusted_header() {
        let peer: SocketAddr = "[::ffff:192.0.2.7]:5000".parse().unwrap();
        let mut headers = HeaderMap::new();
        assert_eq!(client_ip(&headers, Some(peer), None), Some("192.0.2.7".parse().unwrap()));
        headers.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9, 198.51.100.4"));
        assert_eq!(client_ip(&headers, Some(peer), None), Some("192.0.2.7".parse().unwrap()), "not trusted");
        let name = HeaderName::from_static("x-forwarded-for");
        assert_eq!(client_ip(&headers, Some(peer), Some(&name)), Some("198.51.100.4".parse().unwrap()));
        headers.insert("x-forwarded-for", HeaderValue::from_static("garbage"));
        assert_eq!(client_ip(&headers, Some(peer), Some(&name)), Some("192.0.2.7".parse().unwrap()));
        assert_eq!(client_ip(&HeaderMap::new(), None, None), None);
    }

    #[test]
    fn origins_same_as_host_listed_or_absent_pass() {
        let headers = |origin: Option<&'static str>| {
            let mut h = HeaderMap::new();
            h.insert(HOST, HeaderValue::from_static("chat.example.org"));
            if let Some(o) = origin {
                h.insert(ORIGIN, HeaderValue::from_static(o));
            }
            h
        };
        let none: &[String] = &[];
        assert!(origin_allowed(&headers(None), none));
        assert!(origin_allowed(&headers(Some("https://chat.example.org")), none));
        assert!(origin_allowed(&headers(Some("https://CHAT.example.org/")), none));
        assert!(!origin_allowed(&headers(Some("https://evil.example")), none));
        assert!(!origin_allowed(&headers(Some("null")), none));
        assert!(!origin_allowed(&headers(Some("https://chat.example.org.evil.example")), none));
        let listed = ["https://app.example.org".to_owned()];
        assert!(origin_allowed(&headers(Some("https://app.example.org")), &listed));
        assert!(!origin_allowed(&headers(Some("http://app.example.org")), &listed), "scheme matters");
        assert!(origin_allowed(&headers(Some("https://evil.example")), &["*".to_owned()]));
    }
}
