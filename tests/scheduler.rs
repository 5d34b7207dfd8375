//! The server binary on each of its schedulers, run for real: `--worker-threads 1` runs everything on one
//! thread (tokio's current-thread scheduler, what a server allowed one CPU gets by default) and
//! `--worker-threads 2` on tokio's multi-thread scheduler. For each: the start-up summary names the scheduler,
//! and 50 sessions of a host and a client relay 20 signals each way through it at once, every one delivered,
//! in order, to its target only.
#![cfg(all(feature = "ssr", target_os = "linux"))]

mod common;

use common::child::ServerProcess;
use common::{answer, join, offer};
use futures::future::join_all;
use p2p_streams::protocol::{Role, ServerToClient};
use std::net::SocketAddr;

/// Sessions at once.
const SESSIONS: usize = 50;
/// Offers the host sends, each answered by the client.
const EXCHANGES: u64 = 20;

/// One session: the host offers, the client answers, `EXCHANGES` times; both see exactly what the other sent.
async fn exchange(addr: SocketAddr, i: usize) {
    let session = format!("sched-{i}");
    let (mut host, role, _) = join(addr, &session, "host", "h").await;
    assert_eq!(role, Role::Host, "{session}: the first peer hosts");
    let (mut client, role, named) = join(addr, &session, "client", "c").await;
    assert_eq!((role, &named), (Role::Client, &host.peer), "{session}: the second peer is a client of the host");
    assert_eq!(host.recv_frame().await, ServerToClient::PeerJoined { peer: client.peer.clone() });
    for link in 1..=EXCHANGES {
        host.signal(&client.peer, offer(link)).await;
        let got = client.recv_frame().await;
        assert_eq!(got, ServerToClient::Signal { from: host.peer.clone(), signal: offer(link) }, "{session}");
        client.signal(&host.peer, answer(link)).await;
        let got = host.recv_frame().await;
        assert_eq!(got, ServerToClient::Signal { from: client.peer.clone(), signal: answer(link) }, "{session}");
    }
}

/// Starts the binary with `threads` worker threads, checks what its summary says, and relays through it.
async fn serves_with(threads: &str, scheduler: &str) {
    let server = ServerProcess::spawn(&["--worker-threads", threads, "--max-connections-per-ip", "1000"]);
    let summary = server.log_line("configuration").unwrap_or_else(|| panic!("no configuration summary"));
    assert_eq!(summary["worker_threads"].to_string(), threads, "{summary}");
    assert_eq!(summary["scheduler"], scheduler, "{summary}");
    let addr = server.addr;
    join_all((0..SESSIONS).map(|i| exchange(addr, i))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_worker_thread_runs_the_current_thread_scheduler_and_relays_every_signal() {
    serves_with("1", "current_thread").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_threads_run_the_multi_thread_scheduler_and_relay_every_signal() {
    serves_with("2", "multi_thread").await;
}
