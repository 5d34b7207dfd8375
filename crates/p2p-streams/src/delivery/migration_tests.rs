//! Property test of the delivery protocol (native, `cargo test`): peers running the real [`Delivery`]
//! engine exchange frames over FIFO links while messages are sent at random moments, links drop, clients
//! reload from their persisted state, and the host dies or reloads (a survivor takes over). After every run,
//! each survivor's log must hold the same ids in the same order, each once, including every message a
//! survivor sent and every message a survivor ever held (the dead hosts' included).

use super::*;
use crate::protocol::{PeerFrame, PeerId};
use proptest::prelude::*;
use std::collections::{HashSet, VecDeque};

#[derive(Clone, Debug)]
enum Op {
    Send(usize),
    Deliver(usize, bool),
    Drop(usize),
    Connect(usize),
    Reload(usize),
    KillHost(usize),
    HostReload(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..5usize).prop_map(Op::Send),
        12 => (0..5usize, any::<bool>()).prop_map(|(i, up)| Op::Deliver(i, up)),
        1 => (0..5usize).prop_map(Op::Drop),
        4 => (0..5usize).prop_map(Op::Connect),
        1 => (0..5usize).prop_map(Op::Reload),
        1 => (0..5usize).prop_map(Op::KillHost),
        1 => (0..5usize).prop_map(Op::HostReload),
    ]
}

struct Peer {
    engine: Delivery,
    /// Every id this peer ever held.
    seen: HashSet<(PeerId, u64)>,
    linked: bool,
    to_client: VecDeque<PeerFrame>,
    to_host: VecDeque<PeerFrame>,
}

struct Net {
    peers: Vec<Option<Peer>>,
    host: usize,
    sent: Vec<(PeerId, u64)>,
    clock: f64,
    random: u32,
}

fn id(i: usize) -> PeerId {
    PeerId(format!("p{i}"))
}

impl Net {
    fn new(n: usize) -> Net {
        let limits = HistoryLimits { max_messages: 100_000, max_age_ms: f64::INFINITY };
        let peers = (0..n)
            .map(|i| {
                let engine = Delivery::fresh(id(i), limits);
                Some(Peer { engine, ..blank() })
            })
            .collect();
        let mut net = Net { peers, host: 0, sent: Vec::new(), clock: 0.0, random: 1 };
        net.crown(0);
        net
    }

    fn alive(&self) -> Vec<usize> {
        (0..self.peers.len()).filter(|i| self.peers[*i].is_some()).collect()
    }

    fn crown(&mut self, h: usize) {
        self.host = h;
        self.random = self.random.wrapping_mul(2_654_435_761).wrapping_add(1);
        let (random, now) = (self.random, self.clock);
        let Some(peer) = self.peers[h].as_mut() else { return };
        peer.linked = false;
        peer.to_client.clear();
        peer.to_host.clear();
        // No client is linked yet: the entries reach them through Resume.
        let _ = peer.engine.start_hosting(random, now);
    }

    fn broadcast(&mut self, frames: Vec<PeerFrame>) {
        let Some(host) = self.peers[self.host].as_ref() else { return };
        let targets: Vec<_> = (0..self.peers.len()).filter(|i| host.engine.is_resumed(&id(*i))).collect();
        for i in targets {
            if let Some(peer) = self.peers[i].as_mut().filter(|p| p.linked) {
                peer.to_client.extend(frames.iter().cloned());
            }
        }
    }

    fn apply(&mut self, op: Op) {
        self.clock += 1.0;
        let now = self.clock;
        let n = self.peers.len();
        let h = self.host;
        match op {
            Op::Send(i) => {
                let Some(peer) = self.peers[i % n].as_mut() else { return };
                // Every other message is binary: both kinds travel the same ordered, exactly-once path.
                let count = self.sent.len();
                let payload = if count.is_multiple_of(2) {
                    Payload::Json(serde_json::json!(count))
                } else {
                    Payload::Bytes(count.to_le_bytes().to_vec())
                };
                match peer.engine.send(payload, now) {
                    Some(frame @ PeerFrame::Data(_)) => self.broadcast(vec![frame]),
                    Some(frame) => peer.to_host.push_back(frame),
                    None => {}
                }
                let last = self.peers[i % n].as_ref().map(|p| p.engine.outbox().snapshot().next_seq - 1);
                self.sent.push((id(i % n), last.unwrap_or(0)));
            }
            Op::Deliver(i, true) if i % n != h => self.deliver_up(i % n, now),
            Op::Deliver(i, _) => self.deliver_down(i % n, now),
            Op::Drop(i) if i % n != h => {
                if let Some(host) = self.peers[h].as_mut() {
                    host.engine.forget(&id(i % n));
                }
                if let Some(peer) = self.peers[i % n].as_mut() {
                    *peer = Peer { engine: peer.engine.clone(), seen: std::mem::take(&mut peer.seen), ..blank() };
                    peer.engine.link_down();
                }
            }
            Op::Connect(i) if i % n != h => self.connect(i % n),
            Op::Reload(i) if i % n != h => self.reload(i % n),
            Op::KillHost(next) | Op::HostReload(next) if self.alive().len() > 1 => {
                let candidates: Vec<_> = self.alive().into_iter().filter(|c| *c != h).collect();
                let new_host = candidates[next % candidates.len()];
                if matches!(op, Op::KillHost(_)) {
                    self.peers[h] = None;
                } else {
                    self.reload(h);
                }
                for peer in self.peers.iter_mut().flatten() {
                    peer.linked = false;
                    peer.to_client.clear();
                    peer.to_host.clear();
                    peer.engine.link_down();
                }
                self.crown(new_host);
            }
            _ => {}
        }
        for peer in self.peers.iter_mut().flatten() {
            peer.seen.extend(peer.engine.log().iter().map(Entry::id));
        }
    }

    fn connect(&mut self, i: usize) {
        if self.peers[i].as_ref().is_none_or(|p| p.linked) {
            return;
        }
        let hello = self.peers[self.host].as_mut().and_then(|host| host.engine.hello(&id(i)));
        if let (Some(peer), Some(hello)) = (self.peers[i].as_mut(), hello) {
            peer.linked = true;
            peer.to_client.push_back(hello);
        }
    }

    fn reload(&mut self, i: usize) {
        let Some(peer) = self.peers[i].as_mut() else { return };
        let limits = HistoryLimits { max_messages: 100_000, max_age_ms: f64::INFINITY };
        // The page saves both on `pagehide`, so a reload starts from the state it left.
        let log = SessionLog::restore(peer.engine.log().snapshot(), limits, self.clock);
        let outbox = Outbox::restore(peer.engine.outbox().snapshot());
        let seen = std::mem::take(&mut peer.seen);
        *peer = Peer { engine: Delivery::new(id(i), log, outbox), seen, ..blank() };
    }

    /// Client `i` -> host.
    fn deliver_up(&mut self, i: usize, now: f64) {
        let Some(frame) = self.peers[i].as_mut().and_then(|p| p.to_host.pop_front()) else { return };
        let h = self.host;
        let Some(host) = self.peers[h].as_mut() else { return };
        match frame {
            PeerFrame::Send { seq, payload, bytes } => {
                let out = host.engine.on_send(id(i), seq, Payload::from_parts(payload, bytes), now);
                self.broadcast(out.into_iter().map(PeerFrame::Data).collect());
            }
            PeerFrame::History { entries } => {
                let (everyone, reporter) = host.engine.on_history(&id(i), entries, now);
                self.broadcast(everyone.into_iter().map(PeerFrame::Data).collect());
                if let Some(peer) = self.peers[i].as_mut() {
                    peer.to_client.extend(reporter.into_iter().map(PeerFrame::Data));
                }
            }
            PeerFrame::Resume { tips } => {
                let frames = host.engine.on_resume(&id(i), &tips);
                if let Some(peer) = self.peers[i].as_mut() {
                    peer.to_client.extend(frames);
                }
            }
            other => panic!("client sent {other:?}"),
        }
    }

    /// Host -> client `i`.
    fn deliver_down(&mut self, i: usize, now: f64) {
        let Some(peer) = self.peers[i].as_mut() else { return };
        let Some(frame) = peer.to_client.pop_front() else { return };
        match frame {
            PeerFrame::Hello { acked, .. } => {
                let frames = peer.engine.on_hello(acked);
                peer.to_host.extend(frames);
            }
            PeerFrame::Data(entry) => peer.engine.on_data(entry, now),
            PeerFrame::Gap { missed } => peer.engine.on_gap(missed),
            other => panic!("host sent {other:?}"),
        }
    }

    /// Reconnects everyone and delivers until every queue is empty.
    fn settle(&mut self) {
        let others: Vec<_> = self.alive().into_iter().filter(|i| *i != self.host).collect();
        for i in &others {
            self.connect(*i);
        }
        for _ in 0..100_000 {
            let busy: Vec<_> = others
                .iter()
                .copied()
                .filter(|i| self.peers[*i].as_ref().is_some_and(|p| !p.to_client.is_empty() || !p.to_host.is_empty()))
                .collect();
            if busy.is_empty() {
                return;
            }
            for i in busy {
                let now = self.clock;
                self.deliver_down(i, now);
                self.deliver_up(i, now);
            }
        }
        panic!("the network did not settle");
    }
}

fn blank() -> Peer {
    Peer {
        engine: Delivery::fresh(PeerId(String::new()), HistoryLimits::default()),
        seen: HashSet::new(),
        linked: false,
        to_client: VecDeque::new(),
        to_host: VecDeque::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn survivors_converge_to_one_log_with_every_survivor_message_once(ops in prop::collection::vec(op(), 1..250)) {
        let mut net = Net::new(5);
        for op in ops {
            net.apply(op);
        }
        net.settle();
        let alive = net.alive();
        let logs: Vec<Vec<(PeerId, u64)>> = alive
            .iter()
            .map(|i| net.peers[*i].as_ref().map(|p| p.engine.log().iter().map(Entry::id).collect()).unwrap_or_default())
            .collect();
        for (log, i) in logs.iter().zip(&alive) {
            prop_assert_eq!(log, &logs[0], "peer {} differs from peer {}", i, alive[0]);
        }
        let unique: HashSet<_> = logs[0].iter().cloned().collect();
        prop_assert_eq!(unique.len(), logs[0].len(), "an id appears twice");
        for sent in net.sent.iter().filter(|(from, _)| alive.iter().any(|i| id(*i) == *from)) {
            prop_assert!(unique.contains(sent), "{:?} sent by a survivor is missing", sent);
        }
        for i in &alive {
            let seen = net.peers[*i].as_ref().map(|p| p.seen.clone()).unwrap_or_default();
            prop_assert!(seen.is_subset(&unique), "peer {} once held a message that was lost", i);
            prop_assert!(net.peers[*i].as_ref().is_some_and(|p| p.engine.outbox().is_empty()), "peer {} has unacked messages", i);
        }
    }
}
