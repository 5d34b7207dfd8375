//! [`SessionLog`]: one peer's copy of the session's ordered messages (shared by both sides).
//!
//! Entries are kept sorted by position and indexed by id, bounded by count and age ([`HistoryLimits`]).
//! The log also remembers, past pruning, the highest index seen per epoch (its tips), the highest sequence
//! number ordered per sender (to drop resent duplicates whose entry was pruned) and which positions it
//! pruned (to tell a peer how many messages it can no longer supply). It keeps the certificates of the epochs
//! its entries come from (`seal.rs`), so it can show them to the peer it hands its entries to.

use super::{beyond, tag_of, Bytes, Entry, EpochCert, Payload, Pos, Sequencer, Tips};
use crate::protocol::PeerId;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// How much history a peer keeps. Defaults: 1,000 messages and 5 minutes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HistoryLimits {
    /// Most messages kept; the oldest go first.
    pub max_messages: usize,
    /// Messages older than this (ms since this peer stored them) are dropped.
    pub max_age_ms: f64,
}

impl Default for HistoryLimits {
    fn default() -> Self {
        HistoryLimits { max_messages: 1_000, max_age_ms: 300_000.0 }
    }
}

/// What [`SessionLog::accept`] did with an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Added {
    /// A message this peer did not have.
    New,
    /// Already held at that position: a duplicate, ignored.
    Known,
    /// Already held at another position (a message reordered after a host migration): moved from there.
    Moved(Pos),
}

/// What [`SessionLog::merge`] did with a reported entry.
#[derive(Clone, Debug, PartialEq)]
pub enum Merged {
    /// A message this log did not have.
    Added,
    /// This log held it at a later position (the one given) and moved it to the reported, earlier one.
    Moved(Pos),
    /// This log holds it at an earlier position: this entry, which the reporter should take instead.
    Earlier(Entry),
    /// Already held at that position.
    Same,
    /// Refused: its position is taken by another message, or older than what this log pruned.
    Refused,
}

/// Pruned positions remembered for gap reports, as a multiple of `max_messages`.
const PRUNED_MEMORY: usize = 4;

/// Most epoch certificates kept: past it, those of epochs no held entry belongs to go first.
const MAX_CERTS: usize = 256;

/// The persisted form of a [`SessionLog`] (sessionStorage survives a reload).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LogSnapshot {
    /// Entries in order, with the time (ms) each was stored.
    pub entries: Vec<(Entry, f64)>,
    /// Highest index per epoch.
    pub tips: Vec<(u64, u64)>,
    /// Highest ordered sequence number per sender.
    pub high_water: Vec<(PeerId, u64)>,
    /// Pruned positions, oldest first.
    pub pruned: Vec<Pos>,
    /// Certificates of the epochs held (absent in snapshots of older builds).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certs: Vec<EpochCert>,
}

/// One peer's ordered, deduplicated, bounded copy of the session's messages.
#[derive(Clone, Debug, Default)]
pub struct SessionLog {
    limits: HistoryLimits,
    entries: BTreeMap<Pos, (Entry, f64)>,
    ids: HashMap<(PeerId, u64), Pos>,
    high_water: HashMap<PeerId, u64>,
    tips: Tips,
    pruned: VecDeque<Pos>,
    horizon: Option<Pos>,
    /// One per tag, in arrival order (a short list: a plain `Vec` keeps the room page's wasm small).
    certs: Vec<EpochCert>,
}

impl SessionLog {
    /// An empty log with `limits`.
    pub fn new(limits: HistoryLimits) -> Self {
        SessionLog { limits, ..SessionLog::default() }
    }

    /// Takes an entry in the host's order (a client receiving `Data`): the host's position wins over any
    /// other position this peer had for the same id.
    pub fn accept(&mut self, entry: Entry, now_ms: f64) -> Added {
        let pos = entry.pos();
        let added = match self.ids.get(&entry.id()).copied() {
            Some(held) if held == pos => {
                // The host's sealed copy of an entry this peer took before its seal was made.
                if let (Some((ours, _)), Some(sig)) = (self.entries.get_mut(&pos), entry.sig) {
                    ours.sig.get_or_insert(sig);
                }
                return Added::Known;
            }
            Some(held) => {
                self.entries.remove(&held);
                Added::Moved(held)
            }
            None => Added::New,
        };
        if let Some((other, _)) = self.entries.remove(&pos) {
            self.ids.remove(&other.id());
        }
        self.store(entry, now_ms);
        added
    }

    /// Takes an entry a client reported after a reconnect (the host rebuilding the log). One id may have been
    /// ordered twice by hosts that never heard of each other; its earliest position wins everywhere, so the
    /// outcome depends only on what is known, not on who reported first:
    /// - unknown id: added, unless its position is taken or older than what this log already pruned;
    /// - known at a later position: moved to the reported one ([`Merged::Moved`]: everyone must move it);
    /// - known at an earlier position: kept ([`Merged::Earlier`]: the reporter must move its copy);
    /// - known at the same position: nothing to do.
    pub fn merge(&mut self, entry: Entry, now_ms: f64) -> Merged {
        let pos = entry.pos();
        match self.ids.get(&entry.id()).copied() {
            Some(held) if held == pos => Merged::Same,
            Some(held) if held < pos => match self.entries.get(&held) {
                Some((ours, _)) => Merged::Earlier(ours.clone()),
                None => Merged::Same,
            },
            Some(_) if self.entries.contains_key(&pos) => Merged::Refused,
            Some(held) => {
                self.entries.remove(&held);
                self.store(entry, now_ms);
                Merged::Moved(held)
            }
            None => {
                let stale = self.horizon.is_some_and(|horizon| pos <= horizon);
                if stale || self.entries.contains_key(&pos) {
                    return Merged::Refused;
                }
                self.store(entry, now_ms);
                Merged::Added
            }
        }
    }

    /// Orders a new message (the host): `None` for a duplicate (an id already ordered, or a sequence number
    /// at or below the sender's highest ordered one), else the entry at the sequencer's next position.
    pub fn order(
        &mut self,
        from: PeerId,
        seq: u64,
        payload: Payload,
        sequencer: &mut Sequencer,
        now_ms: f64,
    ) -> Option<Entry> {
        if seq <= self.high_water(&from) {
            return None;
        }
        let pos = sequencer.next_pos();
        let (payload, bytes) = payload.into_parts();
        let entry = Entry { from, seq, epoch: pos.epoch, index: pos.index, payload, bytes, sig: None };
        self.store(entry.clone(), now_ms);
        Some(entry)
    }

    /// Attaches the host's seal to the entry at `pos` with id `id`, if held and not sealed yet.
    pub fn seal(&mut self, pos: Pos, id: &(PeerId, u64), sig: Bytes) {
        if let Some((entry, _)) = self.entries.get_mut(&pos).filter(|(e, _)| e.id() == *id) {
            entry.sig.get_or_insert(sig);
        }
    }

    /// Drops the entries that carry no seal (their host's page went away before sealing them, so no other
    /// peer got them) and returns them. Their senders' high-water marks go back below them, so they can be
    /// ordered again: a host seals in order, so each sender's unsealed entries are its last ordered ones.
    pub fn take_unsealed(&mut self) -> Vec<Entry> {
        let unsealed: Vec<Pos> = self.entries.iter().filter(|(_, (e, _))| e.sig.is_none()).map(|(p, _)| *p).collect();
        let mut taken = Vec::new();
        for pos in unsealed {
            if let Some((entry, _)) = self.entries.remove(&pos) {
                self.ids.remove(&entry.id());
                let high = self.high_water.entry(entry.from.clone()).or_default();
                *high = (*high).min(entry.seq.saturating_sub(1));
                taken.push(entry);
            }
        }
        taken
    }

    /// Keeps `cert` for its tag, unless one is already kept (the first valid one wins).
    pub fn add_cert(&mut self, cert: EpochCert) {
        if self.certs.iter().any(|c| c.tag == cert.tag) {
            return;
        }
        self.certs.push(cert);
        if self.certs.len() > MAX_CERTS {
            let entries = &self.entries;
            self.certs.retain(|c| entries.keys().any(|p| tag_of(p.epoch) == c.tag));
        }
    }

    /// The certificate of `epoch`, if kept.
    pub fn cert(&self, epoch: u64) -> Option<&EpochCert> {
        self.certs.iter().find(|c| c.covers(epoch))
    }

    /// The certificates of the epochs of `entries` (each once).
    pub fn certs_for<'a>(&self, entries: impl IntoIterator<Item = &'a Entry>) -> Vec<EpochCert> {
        let mut certs: Vec<EpochCert> = Vec::new();
        for entry in entries {
            if !certs.iter().any(|c| c.covers(entry.epoch)) {
                certs.extend(self.cert(entry.epoch).cloned());
            }
        }
        certs
    }

    /// Every certificate kept.
    pub fn certs(&self) -> impl Iterator<Item = &EpochCert> {
        self.certs.iter()
    }

    fn store(&mut self, entry: Entry, now_ms: f64) {
        let pos = entry.pos();
        let tip = self.tips.entry(pos.epoch).or_default();
        *tip = (*tip).max(pos.index);
        let high = self.high_water.entry(entry.from.clone()).or_default();
        *high = (*high).max(entry.seq);
        self.ids.insert(entry.id(), pos);
        self.entries.insert(pos, (entry, now_ms));
        self.prune(now_ms);
    }

    /// Drops entries past the count or age limit, remembering their positions.
    pub fn prune(&mut self, now_ms: f64) {
        while let Some(entry) = self.entries.first_entry() {
            let (_, stored) = entry.get();
            let over = self.ids.len() > self.limits.max_messages.max(1);
            if !over && now_ms - *stored <= self.limits.max_age_ms {
                break;
            }
            let (pos, (entry, _)) = entry.remove_entry();
            self.ids.remove(&entry.id());
            self.horizon = self.horizon.max(Some(pos));
            self.pruned.push_back(pos);
            if self.pruned.len() > PRUNED_MEMORY * self.limits.max_messages.max(1) {
                self.pruned.pop_front();
            }
        }
    }

    /// Every entry beyond `tips` (what a peer with those tips lacks), in order.
    pub fn after(&self, tips: &Tips) -> Vec<Entry> {
        self.entries.values().filter(|(e, _)| beyond(tips, e.pos())).map(|(e, _)| e.clone()).collect()
    }

    /// How many messages beyond `tips` this log pruned and so cannot supply (a lower bound once more than
    /// four times `max_messages` were pruned).
    pub fn missed(&self, tips: &Tips) -> u64 {
        self.pruned.iter().filter(|pos| beyond(tips, **pos)).count() as u64
    }

    /// Highest index held per epoch, pruned entries included.
    pub fn tips(&self) -> &Tips {
        &self.tips
    }

    /// Highest sequence number of `peer` in the order (0 if none).
    pub fn high_water(&self, peer: &PeerId) -> u64 {
        self.high_water.get(peer).copied().unwrap_or(0)
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values().map(|(e, _)| e)
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The persisted form.
    pub fn snapshot(&self) -> LogSnapshot {
        LogSnapshot {
            entries: self.entries.values().cloned().collect(),
            tips: self.tips.iter().map(|(e, i)| (*e, *i)).collect(),
            high_water: self.high_water.iter().map(|(p, s)| (p.clone(), *s)).collect(),
            pruned: self.pruned.iter().copied().collect(),
            certs: self.certs.clone(),
        }
    }

    /// A log restored from `snapshot`, with `limits` applied at `now_ms`.
    pub fn restore(snapshot: LogSnapshot, limits: HistoryLimits, now_ms: f64) -> Self {
        let mut log = SessionLog::new(limits);
        log.horizon = snapshot.pruned.iter().max().copied();
        log.pruned = snapshot.pruned.into();
        log.tips = snapshot.tips.into_iter().collect();
        log.high_water = snapshot.high_water.into_iter().collect();
        log.certs = snapshot.certs;
        for (entry, stored) in snapshot.entries {
            log.ids.insert(entry.id(), entry.pos());
            log.entries.insert(entry.pos(), (entry, stored));
        }
        log.prune(now_ms);
        log
    }
}
