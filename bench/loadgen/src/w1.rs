//! W1 idle capacity: open C registered signaling sockets (each its own session, so each is a host on our
//! server), hold them for a while answering server pings, then close them cleanly. Reports time to open,
//! failures (refused, timed out, or dropped while held) and the server's RSS per socket.

use crate::net::{self, Ws};
use crate::sys::{self, CpuMeter};
use crate::Ctx;
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Semaphore};

/// Handshakes in flight at once (a browser fleet does not all connect in the same millisecond either).
const OPENING_AT_ONCE: usize = 512;

/// Runs W1 with `conns` sockets held for `hold`.
pub async fn run(ctx: &Ctx, conns: usize, hold: Duration) -> Value {
    let rss_base = sys::rss_kib(ctx.pid);
    let gate = Arc::new(Semaphore::new(OPENING_AT_ONCE));
    let dropped = Arc::new(AtomicUsize::new(0));
    let (opened_tx, mut opened_rx) = mpsc::unbounded_channel::<bool>();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let start = Instant::now();
    for i in 0..conns {
        let (proto, gate, dropped) = (ctx.proto.clone(), gate.clone(), dropped.clone());
        let (opened_tx, mut stop_rx) = (opened_tx.clone(), stop_rx.clone());
        let session = format!("w1-{}-{i}", ctx.run_id);
        let url = proto.url(ctx.target.url(i), &session, &format!("{session}-u"));
        let source = ctx.target.source(i);
        tasks.spawn(async move {
            let permit = gate.acquire_owned().await;
            let opened = net::open(&proto, &url, source, Duration::from_secs(20)).await;
            drop(permit);
            let Ok(ws) = opened else {
                let _ = opened_tx.send(false);
                return;
            };
            let _ = opened_tx.send(true);
            drop(opened_tx);
            hold_until_stopped(ws, &mut stop_rx, &dropped).await;
        });
    }
    drop(opened_tx);
    let (mut opened, mut failed) = (0usize, 0usize);
    while opened + failed < conns {
        let Some(ok) = opened_rx.recv().await else { break };
        if ok {
            opened += 1;
        } else {
            failed += 1;
        }
    }
    let open_ms = start.elapsed().as_secs_f64() * 1000.0;
    let rss_open = sys::rss_kib(ctx.pid);
    let cpu = CpuMeter::start(ctx.pid);
    tokio::time::sleep(hold).await;
    let rss_held = sys::rss_kib(ctx.pid).max(rss_open);
    let cpu_hold = cpu.percent();
    let dropped = dropped.load(Ordering::Relaxed);
    let _ = stop_tx.send(true);
    let closing = Instant::now();
    while tasks.join_next().await.is_some() {}
    let per_conn = if opened > 0 { rss_held.saturating_sub(rss_base) as f64 / opened as f64 } else { 0.0 };
    json!({
        "workload": "w1", "param": conns, "conns": conns, "opened": opened, "failures": failed + dropped,
        "refused": failed, "dropped": dropped, "open_ms": open_ms, "hold_s": hold.as_secs_f64(),
        "rss_base_kib": rss_base, "rss_kib": rss_held, "rss_per_conn_kib": per_conn,
        "cpu_hold_pct": cpu_hold, "close_ms": closing.elapsed().as_secs_f64() * 1000.0,
        "ok": opened == conns && dropped == 0,
    })
}

/// Reads (so pings are answered) until told to stop, then closes cleanly; counts a socket that ends early.
async fn hold_until_stopped(mut ws: Ws, stop: &mut watch::Receiver<bool>, dropped: &AtomicUsize) {
    loop {
        tokio::select! {
            message = ws.next() => {
                if !matches!(message, Some(Ok(_))) {
                    dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
            _ = stop.changed() => break,
        }
    }
    net::close(ws, Duration::from_secs(5)).await;
}
