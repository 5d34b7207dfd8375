//! W2 relay: P pairs of sockets ping-pong SDP-sized signals through the server for a fixed time, one signal
//! in flight per pair. Reports relayed messages per second and one-way latency percentiles (send timestamp in
//! the signal, read on arrival; both ends live in this process, so one clock).

use crate::hist::{self, Hist};
use crate::net::{self, now_ns, Ws};
use crate::proto::{sdp_body, Incoming, Kind, Proto};
use crate::sys::{self, CpuMeter};
use crate::Ctx;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

/// What one socket saw during the measured window.
struct Tally {
    /// One-way latencies in microseconds.
    hist: Hist,
    /// Whether the socket failed before the end.
    failed: bool,
}

/// Runs W2 with `pairs` pairs for `secs` after `warmup`, signals of `payload` bytes of SDP.
pub async fn run(ctx: &Ctx, pairs: usize, warmup: Duration, secs: Duration, payload: usize) -> Value {
    let sdp: Arc<str> = sdp_body(payload).into();
    let gate = Arc::new(Semaphore::new(256));
    let mut opening = tokio::task::JoinSet::new();
    for i in 0..pairs {
        let (proto, gate) = (ctx.proto.clone(), gate.clone());
        let session = format!("w2-{}-{i}", ctx.run_id);
        let (base, base_b) = (ctx.target.url(i).to_owned(), ctx.target.peer_url(i, 0).to_owned());
        let (src_a, src_b) = (ctx.target.source(2 * i), ctx.target.source(2 * i + 1));
        opening.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let (a_user, b_user) = (format!("{session}-a"), format!("{session}-b"));
            let within = Duration::from_secs(20);
            let a = net::open(&proto, &proto.url(&base, &session, &a_user), src_a, within).await.ok()?;
            let b = net::open(&proto, &proto.url(&base_b, &session, &b_user), src_b, within).await.ok()?;
            Some((a, proto.peer_id(&a_user), b, proto.peer_id(&b_user)))
        });
    }
    let mut ready = Vec::with_capacity(pairs);
    let mut failures = 0usize;
    while let Some(result) = opening.join_next().await {
        match result.ok().flatten() {
            Some(pair) => ready.push(pair),
            None => failures += 1,
        }
    }
    let start = Instant::now();
    let (measure_from, end) = (start + warmup, start + warmup + secs);
    let mut tasks = tokio::task::JoinSet::new();
    for (a, a_id, b, b_id) in ready {
        let (proto, sdp_a, sdp_b) = (ctx.proto.clone(), sdp.clone(), sdp.clone());
        let proto_b = proto.clone();
        tasks.spawn(bounce(proto, a, b_id, sdp_a, true, measure_from, end));
        tasks.spawn(bounce(proto_b, b, a_id, sdp_b, false, measure_from, end));
    }
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu = CpuMeter::start(ctx.pid);
    tokio::time::sleep_until(end.into()).await;
    let cpu_pct = cpu.percent();
    let rss = sys::rss_kib(ctx.pid);
    let mut total = Hist::new();
    while let Some(result) = tasks.join_next().await {
        match result {
            Ok(tally) => {
                failures += usize::from(tally.failed);
                total.merge(&tally.hist);
            }
            Err(_) => failures += 1,
        }
    }
    let msgs = total.len();
    json!({
        "workload": "w2", "param": pairs, "pairs": pairs, "payload_bytes": payload, "secs": secs.as_secs_f64(),
        "msgs": msgs, "msgs_per_s": msgs as f64 / secs.as_secs_f64(), "failures": failures,
        "latency_us": hist::summary(&total), "cpu_pct": cpu_pct, "rss_kib": rss,
        "ok": failures == 0 && msgs > 0,
    })
}

/// One socket of a pair: answers every signal with a new one to `peer` until `end`; `first` starts.
async fn bounce(
    proto: Proto,
    mut ws: Ws,
    peer: String,
    sdp: Arc<str>,
    first: bool,
    measure_from: Instant,
    end: Instant,
) -> Tally {
    let mut tally = Tally { hist: Hist::new(), failed: false };
    if first && ws.send(Message::text(proto.signal(&peer, Kind::Offer, now_ns(), &sdp))).await.is_err() {
        tally.failed = true;
        return tally;
    }
    let deadline = tokio::time::sleep_until(end.into());
    tokio::pin!(deadline);
    loop {
        let message = tokio::select! {
            message = ws.next() => message,
            _ = &mut deadline => break,
        };
        let ts = match message {
            Some(Ok(Message::Text(text))) => match proto.parse(text.as_str()) {
                Incoming::Signal { ts, .. } => ts,
                Incoming::Error => {
                    tally.failed = true;
                    break;
                }
                _ => continue,
            },
            Some(Ok(_)) => continue,
            _ => {
                tally.failed = true;
                return tally;
            }
        };
        let now = Instant::now();
        if now >= measure_from && now < end {
            tally.hist.record_us(now_ns().saturating_sub(ts) / 1000);
        }
        if ws.send(Message::text(proto.signal(&peer, Kind::Answer, now_ns(), &sdp))).await.is_err() {
            tally.failed = true;
            return tally;
        }
    }
    net::close(ws, Duration::from_secs(2)).await;
    tally
}
