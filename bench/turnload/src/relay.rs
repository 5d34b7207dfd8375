//! The relay workload: two allocations on the server under test (clients A and B), permissions and a channel
//! each way, then a fixed volume pumped from A through A's relay to B's relay address and on to B: the path two
//! relay-only browsers use (relay to relay), every datagram crossing the server twice. Several such pairs may
//! run at once (`--pairs`), which is how one window-limited flow per pair adds up to a server's full core.
//! Figures: wall time, delivered MB/s, loss, and the server's CPU seconds per relayed MB (from `/proc/PID/stat`
//! before and after).
//!
//! Pacing: a window of datagrams in flight (sent but not yet seen at B, by sequence number), so the transfer
//! runs as fast as the server relays without overflowing a socket buffer anywhere on the way (32 datagrams of
//! 1 KB take about 74 KiB of receive buffer: under the 128 KiB coturn gives its relay sockets, where 64 were
//! not); optionally a rate cap on top. A window that
//! makes no progress for [`STALL`] is written off as lost, so a lost datagram never stops the transfer.

use crate::client::{frame, payload, TurnClient, CHANNEL_HEADER, FIRST_CHANNEL};
use crate::credentials::Minter;
use crate::sys;
use serde_json::{json, Value};
use std::cell::Cell;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// A full window with no progress for this long is written off (its datagrams counted as lost at the end).
const STALL: Duration = Duration::from_millis(50);
/// Nothing at all arriving for this long ends the transfer (the path is broken).
const DEAD: Duration = Duration::from_secs(5);
/// After the last datagram is sent, how long B waits for stragglers.
const DRAIN: Duration = Duration::from_millis(300);
/// Datagrams sent and awaited before the measured transfer (proves the path, warms the caches).
const WARMUP: u64 = 200;

/// What to transfer.
pub struct Transfer {
    /// The server under test.
    pub server: SocketAddr,
    /// Local address of the clients' sockets.
    pub bind: IpAddr,
    /// Payload bytes to deliver (in `size`-byte datagrams).
    pub bytes: u64,
    /// Payload bytes per datagram (the ChannelData frame adds 4).
    pub size: usize,
    /// Datagrams in flight at most, per pair.
    pub window: u64,
    /// Client pairs transferring at once (each its own two allocations).
    pub pairs: usize,
    /// Payload bytes per second at most (None: as fast as the window allows).
    pub rate: Option<f64>,
}

/// Counters the sender and the receiver share (one thread: `Cell`s).
#[derive(Default)]
struct Progress {
    /// Datagrams sent.
    sent: Cell<u64>,
    /// Highest sequence number received + 1.
    next: Cell<u64>,
    /// Datagrams and payload bytes received.
    received: Cell<u64>,
    bytes: Cell<u64>,
    /// When the last datagram arrived.
    last: Cell<Option<Instant>>,
    /// The sender is done.
    done: Cell<bool>,
    /// The receiver gave up (nothing arrived for [`DEAD`]).
    dead: Cell<bool>,
    /// Windows written off.
    stalls: Cell<u64>,
    /// Wakes the sender when a datagram arrives.
    arrived: Notify,
}

/// Runs the workload; one JSON object of figures (`ok` false when setup failed or too little arrived).
pub async fn run(minter: &Minter, run_id: u64, t: &Transfer, pid: Option<u32>) -> Value {
    let setup_start = Instant::now();
    let mut pairs = Vec::with_capacity(t.pairs);
    for index in 0..t.pairs.max(1) {
        match setup(minter, run_id, index, t).await {
            Ok(pair) => pairs.push(pair),
            Err(err) => {
                eprintln!("turnload relay: setup failed: {err}");
                return json!({ "workload": "relay", "ok": false, "error": err });
            }
        }
    }
    let setup_ms = setup_start.elapsed().as_secs_f64() * 1000.0;
    for (a, b) in &pairs {
        if pump(a, b, t, WARMUP, 0, None).await.received.get() == 0 {
            eprintln!("turnload relay: not one warm-up datagram arrived through the relays");
            return json!({ "workload": "relay", "ok": false, "error": "no datagram arrived" });
        }
    }
    // The volume and the rate are shared out evenly over the pairs.
    let per_pair = t.bytes.div_ceil(t.size as u64).div_ceil(pairs.len() as u64);
    let total = per_pair * pairs.len() as u64;
    let rate = t.rate.map(|r| r / pairs.len() as f64);
    let (cpu0, own0) = (sys::cpu_secs(pid), sys::own_cpu_secs());
    let start = Instant::now();
    // Sequence numbers continue after the warm-up's, so a late warm-up datagram is not counted twice.
    let progress = join_all(pairs.iter().map(|(a, b)| pump(a, b, t, per_pair, WARMUP, rate)).collect()).await;
    let last = progress.iter().filter_map(|p| p.last.get()).max();
    let wall = last.map_or(start.elapsed(), |last| last.duration_since(start)).as_secs_f64().max(1e-9);
    let elapsed = start.elapsed().as_secs_f64().max(1e-9);
    let (cpu, own) = (sys::cpu_secs(pid) - cpu0, sys::own_cpu_secs() - own0);
    let mut released = Ok(());
    for (a, b) in &mut pairs {
        released = released.and(a.release().await).and(b.release().await);
    }
    if let Err(err) = &released {
        eprintln!("turnload relay: release: {err}");
    }
    let sum = |f: fn(&Progress) -> u64| progress.iter().map(f).sum::<u64>();
    let (sent, received, bytes) = (sum(|p| p.sent.get()), sum(|p| p.received.get()), sum(|p| p.bytes.get()));
    let dead = progress.iter().any(|p| p.dead.get());
    let loss = 1.0 - received as f64 / total.max(1) as f64;
    let mb = bytes as f64 / 1e6;
    // Complete: setup, warm-up and release answered, and (UDP may lose some) nearly everything arrived.
    let ok = released.is_ok() && !dead && loss < 0.05;
    json!({
        "workload": "relay",
        "ok": ok,
        "pairs": pairs.len(),
        "size": t.size,
        "window": t.window,
        "rate_mb_s": t.rate.map(|r| r / 1e6),
        "sent": sent,
        "received": received,
        "loss_pct": 100.0 * loss,
        "stalls": sum(|p| p.stalls.get()),
        "delivered_mb": mb,
        "wall_s": wall,
        "mb_per_s": mb / wall,
        "setup_ms": setup_ms,
        "server_cpu_s": cpu,
        "server_cpu_ms_per_mb": if mb > 0.0 { 1000.0 * cpu / mb } else { 0.0 },
        "server_cpu_pct": 100.0 * cpu / elapsed,
        "generator_cpu_pct": 100.0 * own / elapsed,
    })
}

/// Allocates A and B and opens the path both ways: permission and channel on each side for the other's relay.
async fn setup(minter: &Minter, run_id: u64, index: usize, t: &Transfer) -> Result<(TurnClient, TurnClient), String> {
    let (user_a, pass_a) = minter.credential(&format!("bench-a{index}-{run_id}"));
    let (user_b, pass_b) = minter.credential(&format!("bench-b{index}-{run_id}"));
    let mut a = TurnClient::allocate(t.server, t.bind, &user_a, &pass_a).await.map_err(|e| format!("A: {e}"))?;
    let mut b = TurnClient::allocate(t.server, t.bind, &user_b, &pass_b).await.map_err(|e| format!("B: {e}"))?;
    a.create_permission(b.relay).await.map_err(|e| format!("A: {e}"))?;
    b.create_permission(a.relay).await.map_err(|e| format!("B: {e}"))?;
    a.channel_bind(FIRST_CHANNEL, b.relay).await.map_err(|e| format!("A: {e}"))?;
    b.channel_bind(FIRST_CHANNEL, a.relay).await.map_err(|e| format!("B: {e}"))?;
    Ok((a, b))
}

/// Runs every future to completion on this task (a small `join_all`: the generator has no futures crate, and
/// the pumps borrow their clients, so they cannot be spawned).
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// Sends `count` datagrams A -> B with sequence numbers from `first`, windowed (and rate-capped when `rate`),
/// while B counts what arrives.
async fn pump(a: &TurnClient, b: &TurnClient, t: &Transfer, count: u64, first: u64, rate: Option<f64>) -> Progress {
    let p = Progress::default();
    p.next.set(first);
    let send = async {
        let mut datagram = frame(FIRST_CHANNEL, &vec![0x5a; t.size.max(8)]);
        let start = tokio::time::Instant::now();
        // Sequence numbers up to here are settled: arrived, or written off after a stall.
        let mut floor = first;
        let mut seq = first;
        while seq < first + count && !p.dead.get() {
            if seq - floor.max(p.next.get()) >= t.window {
                if tokio::time::timeout(STALL, p.arrived.notified()).await.is_err() {
                    floor = seq;
                    p.stalls.set(p.stalls.get() + 1);
                }
                continue;
            }
            if let Some(rate) = rate {
                let due = start + Duration::from_secs_f64((seq - first) as f64 * t.size as f64 / rate);
                tokio::time::sleep_until(due).await;
            }
            datagram[CHANNEL_HEADER..CHANNEL_HEADER + 8].copy_from_slice(&seq.to_be_bytes());
            match a.socket.send(&datagram).await {
                Ok(_) => {}
                // An ICMP error from an earlier datagram; UDP: carry on.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
                Err(e) => {
                    eprintln!("turnload relay: send: {e}");
                    break;
                }
            }
            seq += 1;
            p.sent.set(seq - first);
        }
        p.done.set(true);
    };
    let receive = async {
        let mut buf = vec![0u8; 65536];
        let mut quiet_since = Instant::now();
        while p.received.get() < count {
            let wait = if p.done.get() { DRAIN } else { STALL };
            let n = match tokio::time::timeout(wait, b.socket.recv(&mut buf)).await {
                Ok(Ok(n)) => n,
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                Ok(Err(e)) => {
                    eprintln!("turnload relay: recv: {e}");
                    p.dead.set(true);
                    break;
                }
                Err(_) if p.done.get() => break,
                Err(_) if quiet_since.elapsed() >= DEAD => {
                    eprintln!("turnload relay: nothing arrived for {DEAD:?}");
                    p.dead.set(true);
                    break;
                }
                Err(_) => continue,
            };
            let Some(data) = payload(&buf[..n]) else { continue };
            let Some(seq) = data.get(..8).map(|s| u64::from_be_bytes(s.try_into().unwrap_or_default())) else {
                continue;
            };
            if seq < first {
                continue; // a straggler of an earlier pump
            }
            let now = Instant::now();
            quiet_since = now;
            p.received.set(p.received.get() + 1);
            p.bytes.set(p.bytes.get() + data.len() as u64);
            p.next.set(p.next.get().max(seq + 1));
            p.last.set(Some(now));
            p.arrived.notify_one();
        }
    };
    tokio::join!(send, receive);
    p
}
