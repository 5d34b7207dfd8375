//! The idle workload: N allocations, each by its own user (distinct peer names, so per-user limits do not
//! apply) from its own socket, held without traffic; the server's resident memory before and after gives the
//! memory per idle allocation. Then all are released and the memory read once more.

use crate::client::TurnClient;
use crate::credentials::Minter;
use crate::sys;
use serde_json::{json, Value};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// What to open.
pub struct Idle {
    /// The server under test.
    pub server: SocketAddr,
    /// Local address of the clients' sockets.
    pub bind: IpAddr,
    /// Allocations to open.
    pub allocations: usize,
    /// Allocate handshakes in flight at once.
    pub concurrency: usize,
    /// How long to hold them before reading the memory.
    pub hold: Duration,
}

/// Runs the workload; one JSON object of figures (`ok` false when an allocation or a release failed).
pub async fn run(minter: &Minter, run_id: u64, idle: &Idle, pid: Option<u32>) -> Value {
    let rss_before = sys::rss_kib(pid);
    let start = Instant::now();
    let gate = Arc::new(Semaphore::new(idle.concurrency.max(1)));
    let mut tasks = Vec::with_capacity(idle.allocations);
    for i in 0..idle.allocations {
        let (username, password) = minter.credential(&format!("idle-{run_id}-{i}"));
        let (gate, server, bind) = (Arc::clone(&gate), idle.server, idle.bind);
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await;
            TurnClient::allocate(server, bind, &username, &password).await
        }));
    }
    let mut clients = Vec::with_capacity(idle.allocations);
    let mut errors: Vec<String> = Vec::new();
    for task in tasks {
        match task.await {
            Ok(Ok(client)) => clients.push(client),
            Ok(Err(err)) => errors.push(err),
            Err(err) => errors.push(err.to_string()),
        }
    }
    let open_ms = start.elapsed().as_secs_f64() * 1000.0;
    tokio::time::sleep(idle.hold).await;
    let rss_held = sys::rss_kib(pid);
    let opened = clients.len();
    let mut release_failures = 0usize;
    let releases: Vec<_> = clients
        .into_iter()
        .map(|mut c| {
            let gate = Arc::clone(&gate);
            tokio::spawn(async move {
                let _permit = gate.acquire_owned().await;
                c.release().await
            })
        })
        .collect();
    for release in releases {
        if !matches!(release.await, Ok(Ok(()))) {
            release_failures += 1;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_released = sys::rss_kib(pid);
    if let Some(first) = errors.first() {
        eprintln!("turnload idle: {} allocations failed, the first: {first}", errors.len());
    }
    let per = if opened > 0 { (rss_held as f64 - rss_before as f64) / opened as f64 } else { 0.0 };
    json!({
        "workload": "idle",
        "ok": errors.is_empty() && release_failures == 0,
        "allocations": idle.allocations,
        "opened": opened,
        "failures": errors.len(),
        "release_failures": release_failures,
        "open_ms": open_ms,
        "rss_before_kib": rss_before,
        "rss_held_kib": rss_held,
        "rss_released_kib": rss_released,
        "rss_per_allocation_kib": per,
    })
}
