//! Sealed history in the driver (`hydrate` only; what it guarantees is `delivery::seal`'s).
//!
//! - Host: the grant from the server (its epoch key) seals every entry it orders before the entry leaves.
//!   WebCrypto is asynchronous, so ordered entries wait in a queue and go out in their order as their seals
//!   come back (all of a batch are signed at once).
//! - Every peer: a frame carrying entries from another peer (a client's `History` at the host; `Data` and
//!   `Certs` at a client) is checked with WebCrypto first. Later frames from the same link wait behind it, so
//!   the engine still sees each link's frames in order; with nothing waiting, a frame that needs no check is
//!   handled at once.
//! - Refused entries are reported: to the app (`DriverEvent::Forged`) and, while the signaling socket is
//!   open, to the server (`ClientToServer::Report`).

mod crypto;

pub(crate) use crypto::{Unchecked, Verified};

use super::browser::warn;
use super::{DriverEvent, Inner};
use crate::delivery::{entry_message, Bytes, Entry, EpochCert, EpochGrant, Forgery};
use crate::protocol::{ClientToServer, PeerFrame, PeerId, Role};
use crypto::{Keys, Pending};
use std::cell::RefCell;
use std::rc::Rc;

/// The host's entries waiting for their seals, for one epoch (a new epoch gets a new queue).
struct SealQueue {
    /// The epoch's private key (PKCS#8), imported by the first batch.
    secret: Bytes,
    waiting: Vec<Entry>,
    running: bool,
}

/// Frames of one link waiting behind a check, oldest first.
struct Waiting {
    peer: PeerId,
    frames: Vec<PeerFrame>,
    /// Which queue this is (a link that closed and came back starts a new one; late answers are ignored).
    generation: u64,
    running: bool,
}

/// The sealing state of one driver.
#[derive(Default)]
pub(crate) struct Seals {
    /// This page has WebCrypto (a secure context): it seals and checks. Known from the first welcome.
    available: Option<bool>,
    /// The session's epoch authority (from the welcome).
    authority: Option<Bytes>,
    /// The grant of the host role the server gave us last, until we start hosting with it.
    grant: Option<EpochGrant>,
    keys: Keys,
    sealing: Option<Rc<RefCell<SealQueue>>>,
    /// One per link with frames waiting (a few at most: plain `Vec`s keep the room page's wasm small).
    waiting: Vec<Waiting>,
    generation: u64,
}

impl Seals {
    /// Whether this page can seal and check (WebCrypto); until the first welcome, assumed so.
    pub(crate) fn available(&self) -> bool {
        self.available.unwrap_or(true)
    }

    fn waiting(&mut self, peer: &PeerId) -> Option<&mut Waiting> {
        self.waiting.iter_mut().find(|w| w.peer == *peer)
    }
}

/// Whether a frame carries entries or certificates to check before a peer in `role` takes it.
fn needs_check(role: Option<Role>, frame: &PeerFrame) -> bool {
    match role {
        Some(Role::Host) => matches!(frame, PeerFrame::History { .. }),
        _ => matches!(frame, PeerFrame::Data(_) | PeerFrame::Certs { .. }),
    }
}

impl Inner {
    /// The welcome named the session's authority and, for a host, gave a grant.
    pub(crate) fn seal_welcome(&mut self, authority: Option<Bytes>, grant: Option<EpochGrant>) {
        if self.seals.available.is_none() {
            let available = crypto::available();
            if !available {
                warn("not a secure context (HTTPS or localhost): no WebCrypto, so history is neither sealed nor checked here");
            }
            self.seals.available = Some(available);
        }
        self.seals.authority = authority;
        self.seal_grant(grant);
    }

    /// The server made us host with `grant` (kept until `become_host` starts the epoch).
    pub(crate) fn seal_grant(&mut self, grant: Option<EpochGrant>) {
        if grant.is_some() {
            self.seals.grant = grant;
        }
    }

    /// A new epoch starts: its certificate (if the server granted one), and a fresh seal queue.
    pub(crate) fn seal_new_epoch(&mut self) -> Option<EpochCert> {
        self.seal_forget_all();
        let Some(grant) = self.seals.grant.take() else {
            warn("hosting without an epoch key: the messages ordered here cannot be sealed");
            self.seals.sealing = None;
            return None;
        };
        let queue = SealQueue { secret: grant.secret, waiting: Vec::new(), running: false };
        self.seals.sealing = Some(Rc::new(RefCell::new(queue)));
        Some(grant.cert)
    }

    /// Host: entries we ordered, to seal and then broadcast in their order (at once, unsealed, on a page
    /// that cannot seal: no WebCrypto, or no grant).
    pub(crate) fn host_seal_out(&mut self, entries: Vec<Entry>) {
        let Some(queue) = self.seals.sealing.clone().filter(|_| self.seals.available()) else {
            return self.host_broadcast_entries(entries);
        };
        let start = {
            let mut q = queue.borrow_mut();
            q.waiting.extend(entries);
            !std::mem::replace(&mut q.running, true)
        };
        if start {
            wasm_bindgen_futures::spawn_local(seal_batches(queue, self.weak.clone()));
        }
    }

    /// Host: `entry`'s seal came back: it goes out (unless we no longer host its epoch).
    fn host_sealed(&mut self, entry: Entry, sig: Bytes) {
        if let Some(sealed) = self.delivery.seal(entry, sig) {
            self.unsaved = true;
            self.host_broadcast_entries(vec![sealed]);
        }
    }

    /// A decoded frame from `peer`: returned to be handled now, or kept (in order) behind a check.
    pub(crate) fn seal_gate(&mut self, peer: &PeerId, frame: PeerFrame) -> Option<PeerFrame> {
        let (role, available, generation) = (self.role, self.seals.available(), self.seals.generation);
        match self.seals.waiting(peer) {
            _ if !available => return Some(frame),
            Some(waiting) => waiting.frames.push(frame),
            None if !needs_check(role, &frame) => return Some(frame),
            None => {
                let waiting = Waiting { peer: peer.clone(), frames: vec![frame], generation, running: false };
                self.seals.waiting.push(waiting);
            }
        }
        self.seal_check_next(peer.clone());
        None
    }

    /// Checks every frame waiting for `peer` at once (they go with the check and come back with its
    /// answers), unless a check is running; frames arriving meanwhile wait for the next one.
    fn seal_check_next(&mut self, peer: PeerId) {
        let Some(waiting) = self.seals.waiting(&peer).filter(|w| !w.running && !w.frames.is_empty()) else { return };
        waiting.running = true;
        let (frames, generation) = (std::mem::take(&mut waiting.frames), waiting.generation);
        let job = Check {
            session: self.ticket.session_id.clone(),
            authority: self.seals.authority.clone(),
            known: self.delivery.log().certs().cloned().collect(),
            keys: self.seals.keys.clone(),
        };
        let weak = self.weak.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let verified = job.run(&frames).await;
            weak.with(move |i| i.seal_checked(peer, generation, frames, verified));
        });
    }

    /// The check of `frames` from `peer` is done: they are handled, in order, before any that came since.
    fn seal_checked(&mut self, peer: PeerId, generation: u64, frames: Vec<PeerFrame>, verified: Verified) {
        let Some(waiting) = self.seals.waiting(&peer).filter(|w| w.generation == generation) else {
            return;
        };
        waiting.running = false;
        if waiting.frames.is_empty() {
            self.seals.waiting.retain(|w| w.peer != peer);
        }
        for frame in frames {
            match self.role {
                Some(Role::Host) => self.host_on_frame(peer.clone(), frame, &verified),
                Some(Role::Client) => self.guest_on_frame(peer.clone(), frame, &verified),
                None => {}
            }
        }
        self.seal_check_next(peer);
    }

    /// `peer`'s link closed or was replaced: what waited for a check from it is dropped with it.
    pub(crate) fn seal_forget(&mut self, peer: &PeerId) {
        self.seals.waiting.retain(|w| w.peer != *peer);
        self.seals.generation += 1;
    }

    /// Our role changed: every link is new.
    pub(crate) fn seal_forget_all(&mut self) {
        self.seals.waiting.clear();
        self.seals.generation += 1;
    }

    /// Reports refused entries: each forger once per handler, to the app and (if connected) the server.
    pub(crate) fn seal_report(&mut self, forgeries: Vec<Forgery>) {
        let mut counts: Vec<(PeerId, u32)> = Vec::new();
        for forgery in forgeries {
            match counts.iter_mut().find(|(by, _)| *by == forgery.by) {
                Some((_, n)) => *n += 1,
                None => counts.push((forgery.by.clone(), 1)),
            }
            self.events.push(DriverEvent::Forged(forgery));
        }
        for (forger, entries) in counts {
            warn(&format!("refused {entries} history entries from {forger}: their seals do not verify"));
            self.signaling_send(&ClientToServer::Report { forger, entries });
        }
    }
}

/// Seals the host's waiting entries batch by batch (all of a batch signed at once, sent in order).
async fn seal_batches(queue: Rc<RefCell<SealQueue>>, weak: super::WeakShared) {
    let secret = queue.borrow().secret.clone();
    let key = match crypto::import_secret(&secret.0).await {
        Ok(key) => key,
        Err(err) => {
            warn(&format!("could not import the epoch key: messages ordered here are not sent ({err:?})"));
            return;
        }
    };
    loop {
        let batch: Vec<Entry> = std::mem::take(&mut queue.borrow_mut().waiting);
        if batch.is_empty() {
            queue.borrow_mut().running = false;
            return;
        }
        // Every signature of the batch starts now; they are awaited, and sent, in order.
        let seals: Vec<_> = batch.iter().map(|e| crypto::sign(&key, &entry_message(e))).collect();
        for (entry, seal) in batch.into_iter().zip(seals) {
            match seal.await {
                Ok(sig) => weak.with(move |i| i.host_sealed(entry, sig)),
                Err(err) => warn(&format!("could not seal a message: it is not sent ({err:?})")),
            }
        }
    }
}

/// What a check needs, taken from the driver before it awaits.
struct Check {
    session: String,
    authority: Option<Bytes>,
    /// The certificates the log holds (the engine looks there first).
    known: Vec<EpochCert>,
    keys: Keys,
}

impl Check {
    /// Asks WebCrypto every question the engine will ask about `frames`, in their order.
    async fn run(self, frames: &[PeerFrame]) -> Verified {
        let mut verified = Verified::default();
        let mut known = self.known;
        let authority = match &self.authority {
            Some(raw) => self.keys.public(&raw.0).await,
            None => None,
        };
        let mut entries: Vec<(&Entry, EpochCert)> = Vec::new();
        for frame in frames {
            let (list, certs): (&[Entry], &[EpochCert]) = match frame {
                PeerFrame::History { entries, certs } => (entries, certs),
                PeerFrame::Certs { certs } => (&[], certs),
                PeerFrame::Data(entry) => (std::slice::from_ref(entry), &[]),
                _ => continue,
            };
            for cert in certs {
                let Some(authority) = &authority else { break };
                let message = crate::delivery::cert_message(&self.session, cert.tag, &cert.key.0);
                if Pending::start(authority, &message, &cert.sig.0).verified().await {
                    verified.cert_ok(cert.clone());
                    if !known.iter().any(|c| c.tag == cert.tag) {
                        known.push(cert.clone());
                    }
                }
            }
            for entry in list.iter().filter(|e| e.sig.is_some()) {
                if let Some(cert) = known.iter().find(|c| c.covers(entry.epoch)) {
                    entries.push((entry, cert.clone()));
                }
            }
        }
        // Every check starts before the first answer is awaited: WebCrypto runs them in parallel.
        let mut pending = Vec::with_capacity(entries.len());
        for (entry, cert) in &entries {
            let sig = entry.sig.as_ref().map_or(&[][..], |s| &s.0[..]);
            pending.push(match self.keys.public(&cert.key.0).await {
                Some(key) => Pending::start(&key, &entry_message(entry), sig),
                None => Pending::failed(),
            });
        }
        for ((entry, cert), check) in entries.iter().zip(pending) {
            if check.verified().await {
                verified.entry_ok(entry, cert);
            }
        }
        verified
    }
}
