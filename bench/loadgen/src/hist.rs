//! Latency histograms (HdrHistogram, microseconds, 3 significant digits) and their JSON summary.

use hdrhistogram::Histogram;
use serde_json::{json, Value};

/// A latency histogram in microseconds, 1 µs to 10 min.
pub struct Hist(Histogram<u64>);

impl Hist {
    /// An empty histogram.
    pub fn new() -> Self {
        Hist(Histogram::new_with_bounds(1, 600_000_000, 3).unwrap_or_else(|_| unreachable!("valid bounds")))
    }

    /// Records one latency (clamped into range).
    pub fn record_us(&mut self, us: u64) {
        self.0.saturating_record(us.max(1));
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Hist) {
        let _ = self.0.add(&other.0);
    }

    /// Number of samples.
    pub fn len(&self) -> u64 {
        self.0.len()
    }
}

/// p50, p99, p99.9 and max in microseconds.
pub fn summary(h: &Hist) -> Value {
    let q = |p: f64| if h.0.is_empty() { 0 } else { h.0.value_at_quantile(p) };
    json!({ "p50": q(0.5), "p99": q(0.99), "p999": q(0.999), "max": h.0.max(), "count": h.0.len() })
}
