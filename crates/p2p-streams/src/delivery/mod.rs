//! Delivery guarantees of data-channel messages (shared by both sides, free of browser APIs so it is tested
//! natively, including a property test of host migration).
//!
//! - Every app message has an id: its sender (stamped by the host from the link it came on) and the sender's
//!   sequence number ([`Outbox`] numbers them and keeps them until the host's order includes them).
//! - The host gives each message a position ([`Pos`]: its epoch, then an index); every peer keeps the
//!   messages sorted by position in a bounded [`SessionLog`], so all peers show one order, and drops
//!   duplicates by id.
//! - After a reconnect or a host migration, the host and each client exchange what the other lacks, using
//!   per-epoch tips ([`Tips`]); what the host can no longer supply is reported as a history gap.
//! - Every entry carries its host's seal (over [`entry_message`], by a key an [`EpochCert`] vouches for): an
//!   entry handed over by another peer is taken only if the seal verifies; a forged one is refused and
//!   reported ([`Forgery`]).

mod direct;
mod engine;
mod log;
mod outbox;
mod payload;
mod routing;
mod seal;
#[cfg(any(test, feature = "ssr"))]
mod seal_native;
mod sealing;

pub use direct::{DirectMessage, DirectRoute, Directs, MAX_PENDING_DIRECTS};
pub use engine::{Delivered, Delivery, HISTORY_CHUNK_BYTES};
pub use log::{Added, HistoryLimits, LogSnapshot, Merged, SessionLog};
pub use outbox::{Outbox, OutboxSnapshot, Sequencer};
pub use payload::{Bytes, Payload};
pub use seal::{cert_message, entry_message, tag_of, EpochCert, EpochGrant, Forgery, SealCheck, Verdict};
#[cfg(any(test, feature = "ssr"))]
pub use seal_native::{EpochAuthority, NativeCheck, NativeSealer, SealError};

use crate::protocol::PeerId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A message's place in the session order: the epoch of the host that ordered it, then that host's index.
/// Positions compare epoch first, so everything a former host ordered comes before what a newer host
/// orders, whenever each peer learns of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Pos {
    /// The ordering host's epoch: a counter above every epoch the host knew of (high 32 bits) and a random
    /// tie-breaker (low 32 bits), so two hosts that never heard of each other still differ.
    pub epoch: u64,
    /// 1, 2, 3 ... within the epoch.
    pub index: u64,
}

/// One ordered app message, as the host sends it (`Data`) and as every peer stores it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The sender, stamped by the host from the link the message came on (never from the payload).
    pub from: PeerId,
    /// The sender's sequence number: with `from`, the message id.
    pub seq: u64,
    /// Epoch of the host that ordered it.
    pub epoch: u64,
    /// Index within the epoch.
    pub index: u64,
    /// The app's message (`null` for a binary message).
    pub payload: serde_json::Value,
    /// A binary message's bytes (base64 in the JSON); absent for a JSON message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<Bytes>,
    /// The ordering host's seal over [`entry_message`] (ECDSA P-256, r || s; base64 in the JSON). Absent
    /// only on the host, between ordering the entry and sealing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<Bytes>,
}

impl Entry {
    /// The message's content.
    pub fn content(&self) -> Payload {
        Payload::from_parts(self.payload.clone(), self.bytes.clone())
    }

    /// Where the message sits in the session order.
    pub fn pos(&self) -> Pos {
        Pos { epoch: self.epoch, index: self.index }
    }

    /// The message id.
    pub fn id(&self) -> (PeerId, u64) {
        (self.from.clone(), self.seq)
    }
}

/// Per epoch, the highest index a peer has ever held (also after pruning): what a peer tells the other side
/// of a link so that only what is missing is sent.
pub type Tips = BTreeMap<u64, u64>;

/// The epoch a new host uses: the counter above every epoch in `tips`, with `random` as tie-breaker.
pub fn next_epoch(tips: &Tips, random: u32) -> u64 {
    let counter = tips.keys().map(|epoch| epoch >> 32).max().map_or(1, |c| c + 1);
    (counter << 32) | u64::from(random)
}

/// Whether `pos` is beyond what `tips` covers (an epoch it does not know, or a higher index).
pub fn beyond(tips: &Tips, pos: Pos) -> bool {
    tips.get(&pos.epoch).is_none_or(|tip| pos.index > *tip)
}

#[cfg(test)]
mod forgery_tests;
#[cfg(test)]
mod migration_tests;
#[cfg(test)]
mod test_net;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PeerFrame;

    #[test]
    fn epochs_grow_past_every_known_one_and_positions_sort_by_epoch_first() {
        let mut tips = Tips::new();
        assert_eq!(next_epoch(&tips, 7) >> 32, 1);
        tips.insert(next_epoch(&tips, 7), 900);
        let second = next_epoch(&tips, 3);
        assert_eq!(second >> 32, 2);
        assert!(Pos { epoch: second, index: 1 } > Pos { epoch: (1 << 32) | 7, index: 900 });
        assert!(beyond(&tips, Pos { epoch: (1 << 32) | 7, index: 901 }));
        assert!(!beyond(&tips, Pos { epoch: (1 << 32) | 7, index: 900 }));
        assert!(beyond(&tips, Pos { epoch: second, index: 1 }));
    }

    #[test]
    fn entries_travel_as_flat_json() {
        let entry = Entry {
            from: PeerId("a#1".into()),
            seq: 3,
            epoch: 5,
            index: 9,
            payload: serde_json::json!(1),
            bytes: None,
            sig: None,
        };
        let text = serde_json::to_string(&entry).unwrap();
        assert_eq!(text, r#"{"from":"a#1","seq":3,"epoch":5,"index":9,"payload":1}"#);
    }

    fn entry(from: &str, seq: u64, epoch: u64, index: u64) -> Entry {
        Entry { from: PeerId(from.into()), seq, epoch, index, payload: serde_json::json!(seq), bytes: None, sig: None }
    }

    #[test]
    fn the_log_drops_duplicates_adopts_the_hosts_position_and_orders_by_position() {
        let mut log = SessionLog::new(HistoryLimits::default());
        assert_eq!(log.accept(entry("b", 1, 2, 1), 0.0), Added::New);
        assert_eq!(log.accept(entry("a", 1, 1, 5), 0.0), Added::New);
        assert_eq!(log.accept(entry("a", 1, 1, 5), 0.0), Added::Known);
        assert_eq!(log.accept(entry("a", 1, 2, 2), 0.0), Added::Moved(Pos { epoch: 1, index: 5 }));
        let order: Vec<_> = log.iter().map(|e| (e.from.0.clone(), e.index)).collect();
        assert_eq!(order, vec![("b".into(), 1), ("a".into(), 2)]);
        assert_eq!(log.accept(entry("a", 1, 2, 2), 0.0), Added::Known);
        assert_eq!(log.merge(entry("a", 1, 2, 2), 0.0), Merged::Same);
        assert_eq!(log.merge(entry("a", 1, 2, 9), 0.0), Merged::Earlier(entry("a", 1, 2, 2)), "the earliest wins");
        assert_eq!(log.merge(entry("a", 1, 1, 7), 0.0), Merged::Moved(Pos { epoch: 2, index: 2 }));
        assert_eq!(log.merge(entry("z", 1, 1, 7), 0.0), Merged::Refused, "position taken");
        assert_eq!(log.merge(entry("c", 1, 1, 6), 0.0), Merged::Added);
        assert_eq!(log.iter().next().map(|e| e.from.0.as_str()), Some("c"), "an older epoch sorts first");
    }

    #[test]
    fn pruning_bounds_the_log_and_reports_what_a_late_peer_missed() {
        let limits = HistoryLimits { max_messages: 3, max_age_ms: 1_000.0 };
        let mut log = SessionLog::new(limits);
        let mut sequencer = Sequencer::new(&Tips::new(), 0);
        for seq in 1..=5 {
            assert!(log.order(PeerId("a".into()), seq, Payload::Json(seq.into()), &mut sequencer, 0.0).is_some());
        }
        assert!(log.order(PeerId("a".into()), 2, Payload::Json(2.into()), &mut sequencer, 0.0).is_none(), "resent");
        assert_eq!(log.len(), 3);
        let epoch = sequencer.epoch();
        let late: Tips = [(epoch, 1)].into();
        assert_eq!(log.missed(&late), 1, "index 2 is gone, 3..5 are replayed");
        assert_eq!(log.after(&late).len(), 3);
        assert_eq!(log.missed(&Tips::new()), 2);
        assert_eq!(log.merge(entry("z", 9, epoch, 2), 0.0), Merged::Refused, "older than the pruning horizon");
        log.prune(5_000.0);
        assert!(log.is_empty(), "past the age limit");
        assert_eq!(log.tips().get(&epoch), Some(&5), "tips survive pruning");
        let restored = SessionLog::restore(log.snapshot(), limits, 5_000.0);
        assert_eq!(restored.missed(&late), 4);
        assert_eq!(restored.high_water(&PeerId("a".into())), 5);
    }

    fn json(value: &str) -> Payload {
        Payload::Json(serde_json::json!(value))
    }

    #[test]
    fn the_outbox_keeps_unacknowledged_messages_and_never_reuses_a_number() {
        let mut outbox = Outbox::default();
        let (a, b, c) = (outbox.push(json("a")), outbox.push(json("b")), outbox.push(Payload::Bytes(vec![1])));
        assert_eq!((a, b, c), (1, 2, 3));
        assert!(outbox.ack(2));
        assert!(!outbox.ack(2));
        assert_eq!(outbox.pending_after(1).map(|(s, _)| *s).collect::<Vec<_>>(), vec![3]);
        let mut restored = Outbox::restore(outbox.snapshot());
        assert_eq!(restored.pending().map(|(s, _)| *s).collect::<Vec<_>>(), vec![1, 3], "bytes survive a reload");
        assert_eq!(restored.push(json("d")), 4);
        restored.ack_through(3);
        assert_eq!(restored.pending().map(|(s, _)| *s).collect::<Vec<_>>(), vec![4]);
    }

    /// A host's sealer and every peer's checker, as the server would grant them.
    fn keys(tag: u32) -> (EpochGrant, NativeSealer, NativeCheck) {
        let authority = EpochAuthority::derive(b"secret", "room").unwrap();
        let grant = authority.grant(tag).unwrap();
        let sealer = NativeSealer::new(&grant).unwrap();
        (grant, sealer, NativeCheck::new("room", &authority.public_key()))
    }

    #[test]
    fn a_reconnecting_client_reports_only_what_the_host_lacks_and_gets_the_rest() {
        let limits = HistoryLimits::default();
        let (old_grant, old_sealer, check) = keys(1);
        let mut old_host = Delivery::fresh(PeerId("o".into()), limits);
        let early = old_host.start_hosting(Some(old_grant.cert.clone()), 0, 0.0);
        assert!(early.is_empty());
        let mut client = Delivery::fresh(PeerId("c".into()), limits);
        client.on_certs(vec![old_grant.cert.clone()], &check);
        for n in 0..2 {
            let Some(PeerFrame::Data(e)) = old_host.send(json(&n.to_string()), 0.0) else { panic!("not ordered") };
            let sig = old_sealer.seal(&e);
            let sealed = old_host.seal(e, sig).expect("still hosting");
            client.on_data(&PeerId("o".into()), sealed, 0.0, &check);
        }
        assert_eq!(client.log().len(), 2);
        assert!(client.send(json("queued"), 0.0).is_none(), "no link yet: kept in the outbox");
        client.link_down();
        let (grant, sealer, _) = keys(9);
        let mut host = Delivery::fresh(PeerId("h".into()), limits);
        assert!(host.start_hosting(Some(grant.cert.clone()), 0, 0.0).is_empty());
        let Some(PeerFrame::Data(own)) = host.send(json("mine"), 0.0) else { panic!("not ordered") };
        assert_eq!(own.epoch >> 32, 1, "no history yet: epoch 1");
        assert_eq!(tag_of(own.epoch), 9, "the tag is the grant's");
        assert!(host.seal(own.clone(), sealer.seal(&own)).is_some());
        let Some(PeerFrame::Hello { epoch, acked }) = host.hello(&PeerId("c".into())) else { panic!("no hello") };
        let frames = client.on_hello(epoch, acked);
        assert!(matches!(&frames[0], PeerFrame::History { entries, certs } if entries.len() == 2 && certs.len() == 1));
        assert!(matches!(&frames[2], PeerFrame::Send { seq: 1, .. }));
        assert!(!host.is_resumed(&PeerId("c".into())));
        for frame in frames {
            match frame {
                PeerFrame::History { entries, certs } => {
                    let (everyone, reporter) = host.on_history(&PeerId("c".into()), entries, certs, 0.0, &check);
                    assert_eq!((everyone.len(), reporter.len()), (2, 0));
                }
                PeerFrame::Resume { tips } => {
                    for reply in host.on_resume(&PeerId("c".into()), &tips) {
                        match reply {
                            PeerFrame::Data(entry) => client.on_data(&PeerId("h".into()), entry, 0.0, &check),
                            PeerFrame::Certs { certs } => client.on_certs(certs, &check),
                            other => panic!("unexpected {other:?}"),
                        }
                    }
                }
                PeerFrame::Send { seq, payload, bytes } => {
                    let content = Payload::from_parts(payload, bytes);
                    let entry = host.on_send(PeerId("c".into()), seq, content, 0.0).expect("new message");
                    let sealed = host.seal(entry.clone(), sealer.seal(&entry)).expect("hosting");
                    client.on_data(&PeerId("h".into()), sealed, 0.0, &check);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(client.outbox().is_empty());
        let ids = |d: &Delivery| d.log().iter().map(Entry::id).collect::<Vec<_>>();
        assert_eq!(ids(&client), ids(&host));
        assert_eq!(ids(&host).len(), 4);
        let forged =
            client.take_events().into_iter().chain(host.take_events()).any(|e| matches!(e, Delivered::Forged(_)));
        assert!(!forged, "nothing forged here");
    }

    #[test]
    fn a_host_page_gone_before_sealing_orders_its_message_again_and_hands_out_nothing_unsealed() {
        let limits = HistoryLimits::default();
        let (grant, _, check) = keys(3);
        let mut host = Delivery::fresh(PeerId("h".into()), limits);
        host.start_hosting(Some(grant.cert), 0, 0.0);
        let Some(PeerFrame::Data(unsealed)) = host.send(json("late"), 0.0) else { panic!("not ordered") };
        let replay = host.on_resume(&PeerId("c".into()), &[]);
        assert!(!replay.iter().any(|f| matches!(f, PeerFrame::Data(_))), "an unsealed entry is not replayed");
        // The page reloads before the seal came back, and a new host is elected.
        let restored = SessionLog::restore(host.log().snapshot(), limits, 0.0);
        let mut reloaded = Delivery::new(PeerId("h".into()), restored, Outbox::restore(host.outbox().snapshot()));
        let frames = reloaded.on_hello(1 << 32, 0);
        assert!(!frames.iter().any(|f| matches!(f, PeerFrame::History { .. })), "nothing unsealed is reported");
        assert!(
            frames.iter().any(|f| matches!(f, PeerFrame::Send { seq, .. } if *seq == unsealed.seq)),
            "our message goes to the new host again"
        );
        let (everyone, _) = Delivery::fresh(PeerId("n".into()), limits).on_history(
            &PeerId("h".into()),
            vec![unsealed],
            vec![],
            0.0,
            &check,
        );
        assert!(everyone.is_empty(), "an unsealed entry is ignored");
    }

    #[test]
    fn a_client_takes_unsealed_entries_only_live_from_its_host_and_reports_bad_seals() {
        let (grant, sealer, check) = keys(5);
        let host = PeerId("h".into());
        let mut client = Delivery::fresh(PeerId("c".into()), HistoryLimits::default());
        let current = (2 << 32) | 5;
        client.on_hello(current, 0);
        client.on_certs(vec![grant.cert.clone()], &check);
        client.on_data(&host, entry("a", 1, current, 1), 0.0, &check);
        client.on_data(&host, entry("a", 2, (1 << 32) | 5, 1), 0.0, &check);
        let mut sealed = entry("a", 3, current, 2);
        sealed.sig = Some(sealer.seal(&sealed));
        client.on_data(&host, sealed.clone(), 0.0, &check);
        let tampered = Entry { payload: serde_json::json!("changed"), seq: 4, ..sealed };
        client.on_data(&host, tampered, 0.0, &check);
        let held: Vec<u64> = client.log().iter().map(|e| e.seq).collect();
        assert_eq!(held, vec![1, 3], "unsealed only in the host's epoch; a bad seal never");
        let forged: Vec<_> = client
            .take_events()
            .into_iter()
            .filter_map(|e| match e {
                Delivered::Forged(f) => Some((f.by, f.seq)),
                _ => None,
            })
            .collect();
        assert_eq!(forged, vec![(host, 4)], "only the bad seal is reported, as the host's");
    }
}
