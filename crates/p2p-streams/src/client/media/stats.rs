//! The host's media uplink (`hydrate` only): every heartbeat tick, the bytes sent on every open link's RTP
//! streams (`getStats()`, `outbound-rtp` rows' `bytesSent`) are summed, and the rate since the previous tick is
//! reported as `DriverEvent::Uplink` (bits per second): what forwarding the room's streams costs the host.

use super::super::browser::{now_ms, warn};
use super::super::{DriverEvent, Inner};
use crate::protocol::Role;
use js_sys::{Array, Reflect};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// The previous sample: total bytes sent and when (ms).
#[derive(Default)]
pub(crate) struct UplinkMeter {
    last: Option<(f64, f64)>,
    /// A measurement is in flight (one at a time).
    measuring: bool,
}

impl UplinkMeter {
    /// Records `bytes` sent in total at `now` (ms); the rate in bits per second since the previous sample. A
    /// total that went down (a link closed) restarts the count.
    pub(crate) fn sample(&mut self, bytes: f64, now: f64) -> Option<u64> {
        let previous = self.last.replace((bytes, now));
        let (before, then) = previous?;
        let seconds = (now - then) / 1000.0;
        (bytes >= before && seconds > 0.0).then(|| ((bytes - before) * 8.0 / seconds) as u64)
    }
}

/// Bytes sent on every `outbound-rtp` row of one `getStats()` report.
fn bytes_sent(report: &JsValue) -> f64 {
    let Ok(values) = Reflect::get(report, &"values".into()).and_then(|f| {
        let f: js_sys::Function = wasm_bindgen::JsCast::dyn_into(f)?;
        f.call0(report)
    }) else {
        return 0.0;
    };
    Array::from(&values)
        .iter()
        .filter(|row| {
            Reflect::get(row, &"type".into()).ok().and_then(|t| t.as_string()).as_deref() == Some("outbound-rtp")
        })
        .filter_map(|row| Reflect::get(&row, &"bytesSent".into()).ok().and_then(|b| b.as_f64()))
        .sum()
}

impl Inner {
    /// Host, every tick: measures the uplink of every link that sends media.
    pub(super) fn media_measure_uplink(&mut self) {
        if self.role != Some(Role::Host) || self.media.uplink.measuring {
            return;
        }
        let pcs: Vec<_> = self.links.values().filter(|l| l.open).map(|l| l.pc.clone()).collect();
        self.media.uplink.measuring = true;
        let weak = self.weak.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let mut total = 0.0;
            for pc in pcs {
                match JsFuture::from(pc.get_stats()).await {
                    Ok(report) => total += bytes_sent(&report),
                    Err(err) => warn(&format!("could not read a link's statistics: {err:?}")),
                }
            }
            weak.with(move |i| {
                i.media.uplink.measuring = false;
                if let Some(bps) = i.media.uplink.sample(total, now_ms()) {
                    i.events.push(DriverEvent::Uplink(bps));
                }
            });
        });
    }
}
