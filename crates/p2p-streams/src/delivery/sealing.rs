//! The sealing steps of [`Delivery`] (shared by both sides, pure): a host attaching the seal of an entry it
//! ordered, the certificates that travel ahead of entries, and the verdict on an entry another peer handed
//! over. What a seal guarantees is `seal.rs`'s.

use super::{Bytes, Delivery, Entry, EpochCert, SealCheck, Verdict};
use crate::protocol::PeerFrame;

impl Delivery {
    /// Host: `entry`, which we ordered, sealed with `sig`. Returns the sealed entry to broadcast, or `None`
    /// when we no longer host its epoch.
    pub fn seal(&mut self, entry: Entry, sig: Bytes) -> Option<Entry> {
        if self.sequencer.as_ref().is_none_or(|s| s.epoch() != entry.epoch) {
            return None;
        }
        self.log.seal(entry.pos(), &entry.id(), sig.clone());
        Some(Entry { sig: Some(sig), ..entry })
    }

    /// The certificates of the epochs of `entries`: a `Certs` frame to send before them (`None` if none).
    pub fn certs_for(&self, entries: &[Entry]) -> Option<PeerFrame> {
        let certs = self.log.certs_for(entries);
        (!certs.is_empty()).then_some(PeerFrame::Certs { certs })
    }

    /// Our entries that were never sealed (a host page that went away first) leave the log: no other peer
    /// has them. Our own messages among them go back to the outbox, to be ordered again.
    pub(super) fn requeue_unsealed(&mut self) {
        for entry in self.log.take_unsealed() {
            if entry.from == self.me {
                let seq = entry.seq;
                self.outbox.requeue(seq, entry.content());
            }
        }
    }

    /// Keeps every certificate of `certs` the epoch authority issued.
    pub(super) fn take_certs(&mut self, certs: Vec<EpochCert>, check: &dyn SealCheck) {
        for cert in certs.into_iter().filter(|c| check.cert_valid(c)) {
            self.log.add_cert(cert);
        }
    }

    /// Checks the seal of an entry another peer handed over.
    pub(super) fn verdict(&self, entry: &Entry, check: &dyn SealCheck) -> Verdict {
        if entry.sig.is_none() {
            return Verdict::Unsealed;
        }
        match self.log.cert(entry.epoch) {
            Some(cert) if check.entry_valid(entry, cert) => Verdict::Sealed,
            _ => Verdict::Forged,
        }
    }

    /// Client: certificates the host sent ahead of entries of their epochs.
    pub fn on_certs(&mut self, certs: Vec<EpochCert>, check: &dyn SealCheck) {
        self.take_certs(certs, check);
    }
}
