//! W3 negotiation: S concurrent sessions, each repeatedly doing one full round: the host joins, N clients
//! join at once, every client-host pair exchanges offer, answer and K candidates each way, then everyone
//! leaves. Ours: the host offers when the server says `peer_joined`. PeerJS: the joining client offers (as
//! the PeerJS client library does). Reports negotiated pairs per second and connect-to-last-candidate.

use crate::hist::{self, Hist};
use crate::net::{self, now_ns, Ws};
use crate::proto::{sdp_body, Incoming, Kind, Proto};
use crate::sys::CpuMeter;
use crate::Ctx;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// Shape of one round.
#[derive(Clone, Copy)]
pub struct Round {
    /// Clients per session.
    pub clients: usize,
    /// Candidates each way per pair.
    pub candidates: usize,
}

/// A round must finish within this, or it counts as failed.
const ROUND_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs W3 with `sessions` concurrent session loops for `secs`.
pub async fn run(ctx: &Ctx, sessions: usize, round: Round, secs: Duration) -> Value {
    let sdp: Arc<str> = sdp_body(1500).into();
    let end = Instant::now() + secs;
    let cpu = CpuMeter::start(ctx.pid);
    let started = Instant::now();
    let mut loops = tokio::task::JoinSet::new();
    for s in 0..sessions {
        let (ctx, sdp) = (ctx.clone(), sdp.clone());
        loops.spawn(async move {
            let (mut hist, mut pairs, mut failures, mut rounds) = (Hist::new(), 0u64, 0u64, 0u64);
            while Instant::now() < end {
                let session = format!("w3-{}-{s}-{rounds}", ctx.run_id);
                let n = s + rounds as usize;
                let sock = s * 7919 + rounds as usize * 5;
                match tokio::time::timeout(ROUND_TIMEOUT, one_round(&ctx, n, &session, sock, round, &sdp)).await {
                    Ok(Some(latencies)) => {
                        pairs += latencies.len() as u64;
                        latencies.into_iter().for_each(|us| hist.record_us(us));
                    }
                    _ => failures += 1,
                }
                rounds += 1;
            }
            (hist, pairs, failures, rounds)
        });
    }
    let (mut hist, mut pairs, mut failures, mut rounds) = (Hist::new(), 0u64, 0u64, 0u64);
    while let Some(result) = loops.join_next().await {
        let Ok((h, p, f, r)) = result else {
            failures += 1;
            continue;
        };
        hist.merge(&h);
        (pairs, failures, rounds) = (pairs + p, failures + f, rounds + r);
    }
    let elapsed = started.elapsed().as_secs_f64();
    json!({
        "workload": "w3", "param": sessions, "sessions": sessions, "clients": round.clients,
        "candidates": round.candidates, "secs": elapsed, "rounds": rounds, "pairs": pairs,
        "pairs_per_s": pairs as f64 / elapsed, "failures": failures,
        "connect_to_last_candidate_us": hist::summary(&hist), "cpu_pct": cpu.percent(),
        "ok": failures == 0 && pairs > 0,
    })
}

/// One round of one session; the latency (µs) of each pair, or `None` if anything failed.
async fn one_round(ctx: &Ctx, n: usize, session: &str, sock: usize, round: Round, sdp: &Arc<str>) -> Option<Vec<u64>> {
    let proto = &ctx.proto;
    let within = Duration::from_secs(10);
    let host_user = format!("{session}-h");
    let host_id = proto.peer_id(&host_user);
    let base = ctx.target.url(n);
    let host = net::open(proto, &proto.url(base, session, &host_user), ctx.target.source(sock), within).await.ok()?;
    // In a JoinSet so a timed-out round aborts the host task with it.
    let mut host_task = tokio::task::JoinSet::new();
    host_task.spawn(host_side(proto.clone(), host, round, sdp.clone()));
    let mut clients = tokio::task::JoinSet::new();
    for k in 0..round.clients {
        let (proto, sdp, host_id) = (proto.clone(), sdp.clone(), host_id.clone());
        let url = proto.url(ctx.target.peer_url(n, k), session, &format!("{session}-c{k}"));
        let my_id = proto.peer_id(&format!("{session}-c{k}"));
        let source = ctx.target.source(sock + 1 + k);
        clients.spawn(async move {
            let t0 = now_ns();
            let ws = net::open(&proto, &url, source, within).await.ok()?;
            let (ws, done) = client_side(&proto, ws, &host_id, round, &sdp).await?;
            Some((my_id, t0, done, ws))
        });
    }
    let mut finished = Vec::with_capacity(round.clients);
    let mut ok = true;
    while let Some(result) = clients.join_next().await {
        match result.ok().flatten() {
            Some(client) => finished.push(client),
            None => ok = false,
        }
    }
    let host_result = if ok { host_task.join_next().await.and_then(|r| r.ok()).flatten() } else { None };
    let latencies = host_result.as_ref().map(|(_, host_done)| {
        finished
            .iter()
            .filter_map(|(id, t0, done, _)| host_done.get(id).map(|h| (*h).max(*done).saturating_sub(*t0) / 1000))
            .collect::<Vec<u64>>()
    });
    for (_, _, _, ws) in finished {
        net::close(ws, Duration::from_secs(2)).await;
    }
    let (host, _) = host_result?;
    net::close(host, Duration::from_secs(2)).await;
    latencies.filter(|l| l.len() == round.clients)
}

/// The host: negotiates with every client and returns when each pair's host side is complete, with the time
/// (ns) each client's last signal arrived.
async fn host_side(proto: Proto, mut ws: Ws, round: Round, sdp: Arc<str>) -> Option<(Ws, HashMap<String, u64>)> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut done: HashMap<String, u64> = HashMap::new();
    while done.len() < round.clients {
        let Message::Text(text) = ws.next().await?.ok()? else { continue };
        let reply = match proto.parse(text.as_str()) {
            // Ours: the host offers to each newcomer.
            Incoming::PeerJoined(peer) => Some((peer.to_owned(), Kind::Offer)),
            Incoming::Signal { from, kind, .. } => {
                let count = seen.entry(from.to_owned()).or_default();
                *count += 1;
                if *count == 1 + round.candidates {
                    done.insert(from.to_owned(), now_ns());
                }
                // PeerJS: the client offered, the host answers.
                (kind == Kind::Offer).then(|| (from.to_owned(), Kind::Answer))
            }
            Incoming::Error => return None,
            _ => None,
        };
        if let Some((peer, kind)) = reply {
            send_description(&proto, &mut ws, &peer, kind, round, &sdp).await?;
        }
    }
    Some((ws, done))
}

/// A client: negotiates with the host; returns once it has the host's description and every candidate.
async fn client_side(proto: &Proto, mut ws: Ws, host: &str, round: Round, sdp: &str) -> Option<(Ws, u64)> {
    if matches!(proto, Proto::PeerJs(_)) {
        send_description(proto, &mut ws, host, Kind::Offer, round, sdp).await?;
    }
    let mut received = 0;
    while received < 1 + round.candidates {
        let Message::Text(text) = ws.next().await?.ok()? else { continue };
        match proto.parse(text.as_str()) {
            Incoming::Signal { kind, .. } => {
                received += 1;
                if kind == Kind::Offer {
                    send_description(proto, &mut ws, host, Kind::Answer, round, sdp).await?;
                }
            }
            Incoming::Error => return None,
            _ => {}
        }
    }
    Some((ws, now_ns()))
}

/// Sends an offer or answer followed by the candidates, as one batch.
async fn send_description(proto: &Proto, ws: &mut Ws, to: &str, kind: Kind, round: Round, sdp: &str) -> Option<()> {
    ws.feed(Message::text(proto.signal(to, kind, now_ns(), sdp))).await.ok()?;
    for _ in 0..round.candidates {
        ws.feed(Message::text(proto.signal(to, Kind::Candidate, now_ns(), ""))).await.ok()?;
    }
    ws.flush().await.ok()
}
