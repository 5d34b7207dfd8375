//! [`Delivery`]: the delivery protocol of one peer as a pure state machine (shared by both sides). The
//! browser driver feeds it the data-channel frames and sends what it returns; the migration property test
//! drives the same code through random host deaths, link drops and reloads.
//!
//! On every new link the host speaks first with `Hello` (its epoch, its tips, and the highest sequence number
//! it ordered for this client). The client answers with `History` (what it holds beyond the host's tips),
//! `Resume` (its own tips) and a resend of its unacknowledged messages. The host merges the history,
//! replays what the client lacks and reports what it pruned as a `Gap`.
//!
//! Entries are sealed by their host (`seal.rs`): the host hands out only sealed entries (after [`Delivery::seal`]),
//! the certificates they need come first (`Certs`), and every entry taken from another peer is checked first;
//! a forged one is refused and reported ([`Delivered::Forged`]).

use super::{
    DirectMessage, Directs, Entry, EpochCert, Forgery, HistoryLimits, Merged, Outbox, Payload, Pos, SealCheck,
    Sequencer, SessionLog, Tips, Verdict,
};
use crate::protocol::{PeerFrame, PeerId};
use std::collections::{HashMap, HashSet};

/// Largest `History` frame a client sends, in bytes of JSON (a data channel carries 256 KiB at most).
pub const HISTORY_CHUNK_BYTES: usize = 48 * 1024;

/// What the app should see after a step.
#[derive(Clone, Debug, PartialEq)]
pub enum Delivered {
    /// An entry to show (or move): `fresh` is true the first time this peer sees the message.
    Message {
        /// The entry at its (possibly new) position.
        entry: Entry,
        /// First delivery of this id here (callbacks fire); false for a move.
        fresh: bool,
    },
    /// The host could not supply this many messages this peer missed.
    Gap(u64),
    /// A message for this peer only (`send_to`), the first time it arrives.
    Direct(DirectMessage),
    /// Direct message `id` of this peer could not go: `to` is not connected to the host.
    DirectFailed {
        /// The message's id (as `send_to` returned it).
        id: u64,
        /// Its target.
        to: PeerId,
    },
    /// An entry handed over by another peer whose seal did not verify: refused, never shown.
    Forged(Forgery),
}

/// One peer's delivery state: its log, its outbox and, while hosting, its sequencer.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub(super) me: PeerId,
    pub(super) log: SessionLog,
    pub(super) outbox: Outbox,
    pub(super) sequencer: Option<Sequencer>,
    /// Client: highest sequence number sent on the current link; `None` until the host's `Hello`.
    pub(super) sent_upto: Option<u64>,
    /// Client: the epoch of the host on the current link (from its `Hello`).
    host_epoch: Option<u64>,
    /// Host: clients whose `Resume` was answered. Only they get live entries: before that, the replay covers
    /// them.
    pub(super) resumed: HashSet<PeerId>,
    /// Host: what each client reported in `History` on its current link, id -> position (its replay skips an
    /// entry only if it is still at the reported position).
    reported: HashMap<PeerId, HashMap<(PeerId, u64), Pos>>,
    /// Direct messages: unanswered ones sent, ids taken per sender.
    pub(super) directs: Directs,
    pub(super) events: Vec<Delivered>,
}

fn pairs(tips: &Tips) -> Vec<(u64, u64)> {
    tips.iter().map(|(e, i)| (*e, *i)).collect()
}

impl Delivery {
    /// A peer `me` starting from a (possibly restored) log and outbox.
    pub fn new(me: PeerId, log: SessionLog, outbox: Outbox) -> Self {
        Delivery {
            me,
            log,
            outbox,
            sequencer: None,
            sent_upto: None,
            host_epoch: None,
            resumed: HashSet::new(),
            reported: HashMap::new(),
            directs: Directs::default(),
            events: Vec::new(),
        }
    }

    /// A fresh peer with `limits`.
    pub fn fresh(me: PeerId, limits: HistoryLimits) -> Self {
        Delivery::new(me, SessionLog::new(limits), Outbox::default())
    }

    /// The log.
    pub fn log(&self) -> &SessionLog {
        &self.log
    }

    /// The outbox.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Takes what the app should see since the last call.
    pub fn take_events(&mut self) -> Vec<Delivered> {
        std::mem::take(&mut self.events)
    }

    /// Whether this peer is hosting.
    pub fn is_host(&self) -> bool {
        self.sequencer.is_some()
    }

    /// Our peer id changed (the server assigned one, or the tab's id was renewed).
    pub fn set_me(&mut self, me: PeerId) {
        self.me = me;
    }

    /// Becomes the host: a new epoch, and our own unacknowledged messages are ordered at once. Returns the
    /// entries to seal and broadcast. The epoch's tag is `cert`'s (the server's grant); without one (no grant)
    /// it is `random`, and what this host orders cannot be sealed, so it never leaves this epoch's peers.
    pub fn start_hosting(&mut self, cert: Option<EpochCert>, random: u32, now_ms: f64) -> Vec<Entry> {
        self.requeue_unsealed();
        let tag = cert.as_ref().map_or(random, |c| c.tag);
        if let Some(cert) = cert {
            self.log.add_cert(cert);
        }
        self.sequencer = Some(Sequencer::new(self.log.tips(), tag));
        self.sent_upto = None;
        self.resumed.clear();
        self.reported.clear();
        // What we ordered or merged before (held in our log, or pruned from it) is delivered.
        self.outbox.ack_through(self.log.high_water(&self.me));
        let pending: Vec<_> = self.outbox.pending().cloned().collect();
        pending.into_iter().filter_map(|(seq, payload)| self.order(self.me.clone(), seq, payload, now_ms)).collect()
    }

    /// Stops hosting (demoted) or loses the link to the host: nothing is sent until the next `Hello`.
    pub fn link_down(&mut self) {
        self.sequencer = None;
        self.sent_upto = None;
        self.host_epoch = None;
        self.resumed.clear();
    }

    /// Host: whether `peer` gets live entries (its `Resume` was answered on the current link).
    pub fn is_resumed(&self, peer: &PeerId) -> bool {
        self.resumed.contains(peer)
    }

    /// Host: the link to `peer` closed.
    pub fn forget(&mut self, peer: &PeerId) {
        self.resumed.remove(peer);
        self.reported.remove(peer);
    }

    /// An app message of ours. A host orders it and returns the entry to broadcast; a client with a resumed
    /// link returns the `Send` frame; otherwise it waits in the outbox.
    pub fn send(&mut self, payload: Payload, now_ms: f64) -> Option<PeerFrame> {
        let seq = self.outbox.push(payload.clone());
        if self.sequencer.is_some() {
            return self.order(self.me.clone(), seq, payload, now_ms).map(PeerFrame::Data);
        }
        let sent = self.sent_upto.as_mut()?;
        *sent = seq;
        let (payload, bytes) = payload.into_parts();
        Some(PeerFrame::Send { seq, payload, bytes })
    }

    fn order(&mut self, from: PeerId, seq: u64, payload: Payload, now_ms: f64) -> Option<Entry> {
        let sequencer = self.sequencer.as_mut()?;
        let entry = self.log.order(from, seq, payload, sequencer, now_ms)?;
        if entry.from == self.me {
            self.outbox.ack(seq);
        }
        self.events.push(Delivered::Message { entry: entry.clone(), fresh: true });
        Some(entry)
    }

    /// Host: the first frame on a new link to `peer` (live entries stop until it resumes).
    pub fn hello(&mut self, peer: &PeerId) -> Option<PeerFrame> {
        self.forget(peer);
        let epoch = self.sequencer.as_ref()?.epoch();
        Some(PeerFrame::Hello { epoch, acked: self.log.high_water(peer) })
    }

    /// Host: a client's message, stamped with the link's peer. Returns the entry to broadcast (`None` for a
    /// duplicate).
    pub fn on_send(&mut self, from: PeerId, seq: u64, payload: Payload, now_ms: f64) -> Option<Entry> {
        self.order(from, seq, payload, now_ms)
    }

    /// Host: history client `peer` reported (everything it holds), with the certificates of its epochs.
    /// Returns the entries every resumed client must take (new here, or moved to an earlier position) and
    /// the ones only the reporter must take (it holds them at a later position than this log). An entry
    /// whose seal does not verify is refused and reported as `peer`'s forgery; an unsealed one is ignored.
    pub fn on_history(
        &mut self,
        peer: &PeerId,
        entries: Vec<Entry>,
        certs: Vec<EpochCert>,
        now_ms: f64,
        check: &dyn SealCheck,
    ) -> (Vec<Entry>, Vec<Entry>) {
        self.take_certs(certs, check);
        let (mut everyone, mut reporter) = (Vec::new(), Vec::new());
        for entry in entries {
            match self.verdict(&entry, check) {
                Verdict::Sealed => {}
                Verdict::Unsealed => continue,
                Verdict::Forged => {
                    self.events.push(Delivered::Forged(Forgery::of(peer, &entry)));
                    continue;
                }
            }
            self.reported.entry(peer.clone()).or_default().insert(entry.id(), entry.pos());
            match self.log.merge(entry.clone(), now_ms) {
                Merged::Added => {
                    self.events.push(Delivered::Message { entry: entry.clone(), fresh: true });
                    everyone.push(entry);
                }
                Merged::Moved(_) => {
                    self.events.push(Delivered::Message { entry: entry.clone(), fresh: false });
                    everyone.push(entry);
                }
                // Not an entry we are still sealing: the reporter gets that one live or in its replay.
                Merged::Earlier(ours) if ours.sig.is_some() => reporter.push(ours),
                Merged::Earlier(_) => {}
                Merged::Same | Merged::Refused => {}
            }
        }
        (everyone, reporter)
    }

    /// Host: client `peer` resumed with `tips`; it gets live entries from now on. Returns every entry it did
    /// not report (`Data`, in order), then a `Gap` if this log pruned messages beyond its tips (only for a
    /// client that had history: a newcomer misses nothing).
    pub fn on_resume(&mut self, peer: &PeerId, tips: &[(u64, u64)]) -> Vec<PeerFrame> {
        self.resumed.insert(peer.clone());
        let reported = self.reported.remove(peer).unwrap_or_default();
        let tips: Tips = tips.iter().copied().collect();
        let certs: Vec<EpochCert> = self.log.certs().cloned().collect();
        let mut frames: Vec<_> = (!certs.is_empty()).then_some(PeerFrame::Certs { certs }).into_iter().collect();
        // Entries still being sealed come live instead: this client is resumed from now on.
        let replay = self.log.iter().filter(|e| e.sig.is_some() && reported.get(&e.id()) != Some(&e.pos()));
        frames.extend(replay.cloned().map(PeerFrame::Data));
        let missed = if tips.is_empty() { 0 } else { self.log.missed(&tips) };
        if missed > 0 {
            frames.push(PeerFrame::Gap { missed });
        }
        // Direct messages we sent to this peer while we were a client and no host answered: we hand them over.
        for (id, payload) in self.directs.take_for(peer) {
            let (payload, bytes) = payload.into_parts();
            frames.push(PeerFrame::Direct { from: self.me.clone(), id, payload, bytes });
        }
        frames
    }

    /// Client: the `Hello` of the host of `epoch`. Returns our whole history (in chunks: the host merges it and skips it in
    /// the replay), our `Resume`, and every message the host has not ordered yet.
    ///
    /// Messages the host says it ordered (`acked`) are not resent, but stay in the outbox until this peer
    /// holds them in its own log: if this host dies before replaying them, the next host gets them again.
    pub fn on_hello(&mut self, epoch: u64, acked: u64) -> Vec<PeerFrame> {
        self.sequencer = None;
        self.host_epoch = Some(epoch);
        self.requeue_unsealed();
        let mut frames = Vec::new();
        let (mut chunk, mut size) = (Vec::new(), 0);
        for entry in self.log.iter().cloned() {
            let len = serde_json::to_string(&entry).map_or(0, |s| s.len());
            if !chunk.is_empty() && size + len > HISTORY_CHUNK_BYTES {
                let entries = std::mem::take(&mut chunk);
                frames.push(PeerFrame::History { certs: self.log.certs_for(&entries), entries });
                size = 0;
            }
            size += len;
            chunk.push(entry);
        }
        if !chunk.is_empty() {
            frames.push(PeerFrame::History { certs: self.log.certs_for(&chunk), entries: chunk });
        }
        frames.push(PeerFrame::Resume { tips: pairs(self.log.tips()) });
        let mut sent = acked;
        for (seq, payload) in self.outbox.pending_after(acked) {
            let (payload, bytes) = payload.clone().into_parts();
            frames.push(PeerFrame::Send { seq: *seq, payload, bytes });
            sent = *seq;
        }
        for (id, to, payload) in self.directs.pending() {
            let (payload, bytes) = payload.clone().into_parts();
            frames.push(PeerFrame::SendTo { to: to.clone(), id: *id, payload, bytes });
        }
        self.sent_upto = Some(sent);
        frames
    }

    /// Client: an entry in the host's order, from `host`. A seal that does not verify is refused and reported
    /// as `host`'s forgery. An unsealed entry is taken only in the host's own epoch (the host is trusted for
    /// its epoch; only a host that cannot seal sends one, `delivery::seal` says when), else ignored.
    pub fn on_data(&mut self, host: &PeerId, entry: Entry, now_ms: f64, check: &dyn SealCheck) {
        match self.verdict(&entry, check) {
            Verdict::Sealed => {}
            Verdict::Unsealed if self.host_epoch == Some(entry.epoch) => {}
            Verdict::Unsealed => return,
            Verdict::Forged => {
                self.events.push(Delivered::Forged(Forgery::of(host, &entry)));
                return;
            }
        }
        if entry.from == self.me {
            self.outbox.ack(entry.seq);
        }
        match self.log.accept(entry.clone(), now_ms) {
            super::Added::Known => {}
            super::Added::New => self.events.push(Delivered::Message { entry, fresh: true }),
            super::Added::Moved(_) => self.events.push(Delivered::Message { entry, fresh: false }),
        }
    }

    /// Client: the host could not supply `missed` messages.
    pub fn on_gap(&mut self, missed: u64) {
        self.events.push(Delivered::Gap(missed));
    }
}
