//! The network the delivery property tests run (native, `cargo test`): peers running the real [`Delivery`]
//! engine exchange frames over FIFO links while messages are sent at random moments, links drop, clients
//! reload from their persisted state, and the host dies or reloads (a survivor takes over). Every host seals
//! what it orders with the epoch key the server would grant it (the real `p256` code) and every peer checks
//! what it takes. The properties are in `migration_tests.rs` and `forgery_tests.rs`.

use super::*;
use crate::protocol::{PeerFrame, PeerId};
use proptest::prelude::*;
use std::collections::{HashSet, VecDeque};

#[derive(Clone, Debug)]
pub(super) enum Op {
    Send(usize),
    Deliver(usize, bool),
    Drop(usize),
    Connect(usize),
    Reload(usize),
    KillHost(usize),
    HostReload(usize),
}

pub(super) fn op() -> impl Strategy<Value = Op> {
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

pub(super) struct Peer {
    pub(super) engine: Delivery,
    /// Every id this peer ever held.
    pub(super) seen: HashSet<(PeerId, u64)>,
    /// The malicious client's grants, from when it hosted (it keeps the keys).
    pub(super) grants: Vec<EpochGrant>,
    pub(super) linked: bool,
    pub(super) to_client: VecDeque<PeerFrame>,
    pub(super) to_host: VecDeque<PeerFrame>,
}

pub(super) struct Net {
    pub(super) peers: Vec<Option<Peer>>,
    pub(super) host: usize,
    pub(super) sent: Vec<(PeerId, u64)>,
    pub(super) clock: f64,
    pub(super) random: u32,
    pub(super) authority: EpochAuthority,
    pub(super) check: NativeCheck,
    /// The current host's epoch key.
    pub(super) sealer: Option<NativeSealer>,
    /// The malicious client, if any: its `History` frames carry a forged entry.
    pub(super) forger: Option<usize>,
    /// Forged entries a host read, and the reports: (reporter, reported peer).
    pub(super) forged_read: usize,
    pub(super) reports: Vec<(usize, PeerId)>,
}

pub(super) fn id(i: usize) -> PeerId {
    PeerId(format!("p{i}"))
}

impl Net {
    pub(super) fn new(n: usize) -> Net {
        let limits = HistoryLimits { max_messages: 100_000, max_age_ms: f64::INFINITY };
        let peers = (0..n)
            .map(|i| {
                let engine = Delivery::fresh(id(i), limits);
                Some(Peer { engine, ..blank() })
            })
            .collect();
        let authority = EpochAuthority::derive(b"test secret", "room").expect("authority");
        let check = NativeCheck::new("room", &authority.public_key());
        let mut net = Net {
            peers,
            host: 0,
            sent: Vec::new(),
            clock: 0.0,
            random: 1,
            authority,
            check,
            sealer: None,
            forger: None,
            forged_read: 0,
            reports: Vec::new(),
        };
        net.crown(0);
        net
    }

    /// The current host seals what it ordered.
    fn seal(&mut self, entries: Vec<Entry>) -> Vec<PeerFrame> {
        let (Some(sealer), Some(host)) = (self.sealer.as_ref(), self.peers[self.host].as_mut()) else { return vec![] };
        let sealed = entries.into_iter().filter_map(|e| {
            let sig = sealer.seal(&e);
            host.engine.seal(e, sig)
        });
        sealed.map(PeerFrame::Data).collect()
    }

    pub(super) fn alive(&self) -> Vec<usize> {
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
        let grant = self.authority.grant(random).expect("grant");
        // No client is linked yet: the entries reach them through Resume.
        let ordered = peer.engine.start_hosting(Some(grant.cert.clone()), random, now);
        if Some(h) == self.forger {
            peer.grants.push(grant.clone());
        }
        self.sealer = NativeSealer::new(&grant).ok();
        let _ = self.seal(ordered);
    }

    /// Takes every peer's events: forgery reports are recorded.
    pub(super) fn collect_reports(&mut self) {
        for (i, peer) in self.peers.iter_mut().enumerate() {
            let Some(peer) = peer.as_mut() else { continue };
            for event in peer.engine.take_events() {
                if let Delivered::Forged(forgery) = event {
                    self.reports.push((i, forgery.by));
                }
            }
        }
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

    pub(super) fn apply(&mut self, op: Op) {
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
                    Some(PeerFrame::Data(entry)) => {
                        let frames = self.seal(vec![entry]);
                        self.broadcast(frames);
                    }
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
                    let (seen, grants) = (std::mem::take(&mut peer.seen), std::mem::take(&mut peer.grants));
                    *peer = Peer { engine: peer.engine.clone(), seen, grants, ..blank() };
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
        self.collect_reports();
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
        let (seen, grants) = (std::mem::take(&mut peer.seen), std::mem::take(&mut peer.grants));
        *peer = Peer { engine: Delivery::new(id(i), log, outbox), seen, grants, ..blank() };
    }

    /// Client `i` -> host.
    fn deliver_up(&mut self, i: usize, now: f64) {
        let Some(frame) = self.peers[i].as_mut().and_then(|p| p.to_host.pop_front()) else { return };
        let h = self.host;
        let Some(host) = self.peers[h].as_mut() else { return };
        match frame {
            PeerFrame::Send { seq, payload, bytes } => {
                let out = host.engine.on_send(id(i), seq, Payload::from_parts(payload, bytes), now);
                let frames = self.seal(out.into_iter().collect());
                self.broadcast(frames);
            }
            PeerFrame::History { entries, certs } => {
                self.forged_read += entries.iter().filter(|e| e.seq >= 1_000_000).count();
                let (everyone, reporter) = host.engine.on_history(&id(i), entries, certs, now, &self.check);
                let with_certs = |engine: &Delivery, entries: Vec<Entry>| {
                    let certs = engine.certs_for(&entries);
                    certs.into_iter().chain(entries.into_iter().map(PeerFrame::Data)).collect::<Vec<_>>()
                };
                let (everyone, reporter) = (with_certs(&host.engine, everyone), with_certs(&host.engine, reporter));
                self.broadcast(everyone);
                if let Some(peer) = self.peers[i].as_mut() {
                    peer.to_client.extend(reporter);
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
        let forged = match self.peers[i].as_ref().and_then(|p| p.to_client.front()) {
            Some(PeerFrame::Hello { epoch, .. }) if self.forger == Some(i) => {
                self.forge(i, *epoch, self.reports.len() + self.forged_read)
            }
            _ => None,
        };
        let host = id(self.host);
        let Some(peer) = self.peers[i].as_mut() else { return };
        let Some(frame) = peer.to_client.pop_front() else { return };
        match frame {
            PeerFrame::Hello { epoch, acked } => {
                let mut frames = peer.engine.on_hello(epoch, acked);
                frames.splice(0..0, forged);
                peer.to_host.extend(frames);
            }
            PeerFrame::Data(entry) => peer.engine.on_data(&host, entry, now, &self.check),
            PeerFrame::Certs { certs } => peer.engine.on_certs(certs, &self.check),
            PeerFrame::Gap { missed } => peer.engine.on_gap(missed),
            other => panic!("host sent {other:?}"),
        }
    }

    /// Reconnects everyone and delivers until every queue is empty.
    pub(super) fn settle(&mut self) {
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
        grants: Vec::new(),
        linked: false,
        to_client: VecDeque::new(),
        to_host: VecDeque::new(),
    }
}
