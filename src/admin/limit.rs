//! How many admin token guesses one client address may make (server side, `ssr`): a token bucket per
//! address, in a table of bounded size.
//!
//! Each address may get `max_failures` tokens wrong at once, then one more every `window / max_failures`
//! (5 per minute by default: one every 12 s). An attempt takes its token BEFORE the token is compared and a
//! right token gives it back, so parallel guesses cannot all pass a check that has not counted them yet. An
//! address without tokens is refused, right token or not, until one has refilled (the Retry-After).
//!
//! IPv6 clients are counted per /64 (one subscriber usually holds a whole /64). At most [`MAX_TRACKED`]
//! addresses are tracked: when the table is full, buckets that have refilled (the same as absent) are dropped,
//! then the least used one; so an attacker with very many addresses can only win back other addresses' budgets,
//! never grow the table.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Most client addresses (IPv6: /64 prefixes) tracked at once.
pub const MAX_TRACKED: usize = 4096;

/// Counts failed token guesses per client address.
#[derive(Debug)]
pub struct GuessLimiter {
    /// Tokens an address starts with (the burst of wrong guesses allowed).
    capacity: f64,
    /// Tokens regained per second.
    rate: f64,
    /// Most addresses tracked (tests shrink it).
    max_tracked: usize,
    /// Buckets of the addresses that guessed wrong recently.
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

/// One address's budget.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Tokens left (fractional while refilling).
    tokens: f64,
    /// When `tokens` was last brought up to date.
    updated: Instant,
}

/// A guess that took its token: give it back with [`GuessLimiter::refund`] when the token was right.
#[derive(Debug, PartialEq, Eq)]
#[must_use]
pub struct Attempt {
    /// The address (prefix) it counts against.
    key: IpAddr,
    /// Whether this attempt took the address's last token (a wrong one is then worth a warning).
    pub last: bool,
}

impl GuessLimiter {
    /// A limiter allowing `max_failures` wrong guesses per `window` and address (at least one per window).
    pub fn new(max_failures: u32, window: Duration) -> Self {
        let capacity = f64::from(max_failures.max(1));
        let rate = capacity / window.as_secs_f64().max(0.001);
        GuessLimiter { capacity, rate, max_tracked: MAX_TRACKED, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes a token for a guess from `ip` at `now`; `Err(wait)` when the address has none left, `wait` being
    /// how long until it has one.
    pub fn begin(&self, ip: IpAddr, now: Instant) -> Result<Attempt, Duration> {
        let key = key_of(ip);
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if !buckets.contains_key(&key) && buckets.len() >= self.max_tracked {
            self.make_room(&mut buckets, now);
        }
        let bucket = buckets.entry(key).or_insert(Bucket { tokens: self.capacity, updated: now });
        self.refill(bucket, now);
        if bucket.tokens < 1.0 {
            return Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate));
        }
        bucket.tokens -= 1.0;
        Ok(Attempt { key, last: bucket.tokens < 1.0 })
    }

    /// Gives back the token of an attempt whose token was right.
    pub fn refund(&self, attempt: Attempt) {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(bucket) = buckets.get_mut(&attempt.key) {
            bucket.tokens = (bucket.tokens + 1.0).min(self.capacity);
            if bucket.tokens >= self.capacity {
                buckets.remove(&attempt.key);
            }
        }
    }

    /// Adds the tokens regained since the bucket's last update.
    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.capacity);
        bucket.updated = now;
    }

    /// Frees a slot in a full table: refilled buckets first, else the one with the most tokens left.
    fn make_room(&self, buckets: &mut HashMap<IpAddr, Bucket>, now: Instant) {
        buckets.retain(|_, bucket| {
            self.refill(bucket, now);
            bucket.tokens < self.capacity
        });
        if buckets.len() >= self.max_tracked {
            let most = buckets.iter().max_by(|a, b| a.1.tokens.total_cmp(&b.1.tokens)).map(|(key, _)| *key);
            if let Some(key) = most {
                buckets.remove(&key);
            }
        }
    }

    /// Addresses tracked now.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.buckets.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

/// What `ip` is counted as: IPv4 addresses as themselves, IPv6 by their /64 prefix.
fn key_of(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    fn near(wait: Duration, secs: f64) -> bool {
        (wait.as_secs_f64() - secs).abs() < 1e-6
    }

    #[test]
    fn a_burst_of_wrong_guesses_then_one_per_refill() {
        let limiter = GuessLimiter::new(5, Duration::from_secs(60));
        let (t0, a) = (Instant::now(), ip("203.0.113.7"));
        for n in 1..=5 {
            let attempt = limiter.begin(a, t0).expect("within the burst");
            assert_eq!(attempt.last, n == 5, "attempt {n}");
        }
        let wait = limiter.begin(a, t0).expect_err("the sixth is refused");
        assert!(near(wait, 12.0), "one token per 60 s / 5: {wait:?}");
        let wait = limiter.begin(a, t0 + Duration::from_secs(6)).expect_err("half refilled");
        assert!(near(wait, 6.0), "half the wait: {wait:?}");
        let refilled = t0 + Duration::from_secs(12);
        assert!(limiter.begin(a, refilled).expect("one refilled").last);
        assert!(limiter.begin(a, refilled).is_err());
    }

    #[test]
    fn a_right_token_gives_its_token_back_and_other_addresses_are_unaffected() {
        let limiter = GuessLimiter::new(2, Duration::from_secs(60));
        let (t0, a) = (Instant::now(), ip("203.0.113.7"));
        for _ in 0..10 {
            let attempt = limiter.begin(a, t0).expect("refunded each time");
            limiter.refund(attempt);
        }
        assert_eq!(limiter.tracked(), 0, "a full bucket is dropped");
        let _ = limiter.begin(a, t0).expect("first wrong guess");
        let _ = limiter.begin(a, t0).expect("second wrong guess");
        assert!(limiter.begin(a, t0).is_err(), "blocked, even if the next token would be right");
        assert!(limiter.begin(ip("203.0.113.8"), t0).is_ok(), "another address");
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let limiter = GuessLimiter::new(1, Duration::from_secs(60));
        let t0 = Instant::now();
        let _ = limiter.begin(ip("2001:db8:1:2::1"), t0).expect("first");
        assert!(limiter.begin(ip("2001:db8:1:2:ffff::9"), t0).is_err(), "same /64");
        assert!(limiter.begin(ip("2001:db8:1:3::1"), t0).is_ok(), "another /64");
        let _ = limiter.begin(ip("192.0.2.1"), t0).expect("IPv4");
        assert!(limiter.begin(ip("::ffff:192.0.2.1"), t0).is_err(), "the mapped form is the same client");
    }

    #[test]
    fn the_table_stays_bounded_and_evicts_the_least_used_first() {
        let mut limiter = GuessLimiter::new(3, Duration::from_secs(60));
        limiter.max_tracked = 4;
        let t0 = Instant::now();
        let hot = ip("198.51.100.1");
        for _ in 0..3 {
            let _ = limiter.begin(hot, t0).expect("burst");
        }
        for n in 2..=200u8 {
            let _ = limiter.begin(IpAddr::from([198, 51, 100, n]), t0).expect("a new address has its burst");
            assert!(limiter.tracked() <= 4, "bounded at {n}");
        }
        assert!(limiter.begin(hot, t0).is_err(), "the exhausted address was never the one evicted");
        // Once every bucket has refilled, a new address drops them all instead of evicting one by one.
        let _ = limiter.begin(ip("192.0.2.9"), t0 + Duration::from_secs(60)).expect("new");
        assert_eq!(limiter.tracked(), 1);
    }
}
