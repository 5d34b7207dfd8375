//! The migration property test's network with a malicious client (native, `cargo test`): each `History` it
//! sends carries a forged entry of a former epoch, attributed to another peer. No survivor may ever hold one,
//! every host that reads one must report that client, and no honest peer may be reported.

use super::migration_tests::run;
use super::test_net::{id, op, Net, Op};
use super::*;
use crate::protocol::PeerFrame;
use proptest::prelude::*;

impl Net {
    /// A `History` frame with a forged entry of a former epoch (not `current`), attributed to another peer,
    /// sealed in one of three ways that cannot verify: with the forger's own former epoch key (if it ever
    /// hosted), with a key of its own under a certificate of its own, or with a real entry's seal. Not of an
    /// epoch the forger hosted: a host can seal anything in its own epoch (docs/reliability.md says so).
    pub(super) fn forge(&self, forger: usize, current: u64, count: usize) -> Option<PeerFrame> {
        let peer = self.peers[forger].as_ref()?;
        let hosted = |epoch: u64| peer.grants.iter().any(|g| g.cert.covers(epoch));
        let mut former = peer.engine.log().iter().filter(|e| e.from != id(forger) && e.epoch != current);
        let real = former.find(|e| !hosted(e.epoch))?.clone();
        let mut fake = Entry {
            from: real.from.clone(),
            seq: 1_000_000 + count as u64,
            index: real.index + 1_000,
            payload: serde_json::json!("forged"),
            ..real.clone()
        };
        let mut certs: Vec<EpochCert> = peer.engine.log().certs().cloned().collect();
        let own_key = peer.grants.last().and_then(|g| NativeSealer::new(g).ok());
        fake.sig = match (count % 3, own_key) {
            (0, Some(own_key)) => Some(own_key.seal(&fake)),
            (1, _) => {
                let rogue =
                    EpochAuthority::derive(b"the forger's own secret", "room").ok()?.grant(tag_of(real.epoch)).ok()?;
                certs.insert(0, rogue.cert.clone());
                Some(NativeSealer::new(&rogue).ok()?.seal(&fake))
            }
            _ => real.sig.clone(),
        };
        Some(PeerFrame::History { entries: vec![fake], certs })
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn a_forged_history_entry_reaches_no_survivor_and_its_forger_is_reported(
        ops in prop::collection::vec(op(), 1..250),
    ) {
        let net = run(ops, Some(4))?;
        for i in net.alive() {
            let log = net.peers[i].as_ref().map(|p| p.engine.log().iter().map(Entry::id).collect::<Vec<_>>());
            prop_assert!(log.unwrap_or_default().iter().all(|(_, seq)| *seq < 1_000_000), "peer {} holds a forgery", i);
        }
        prop_assert!(net.reports.iter().all(|(_, by)| *by == id(4)), "an honest peer was reported: {:?}", net.reports);
        prop_assert_eq!(net.reports.len(), net.forged_read, "every forged entry a host read is reported");
    }
}

#[test]
fn after_a_migration_the_new_host_refuses_and_reports_a_forged_former_epoch_entry() {
    let mut net = Net::new(5);
    net.forger = Some(4);
    for op in [Op::Send(0), Op::Send(1), Op::Send(2), Op::Send(4)] {
        net.apply(op);
    }
    net.settle();
    assert_eq!(net.forged_read, 0, "no former epoch yet");
    net.apply(Op::KillHost(0));
    net.settle();
    net.collect_reports();
    assert!(net.forged_read >= 1, "the forger reported a forged entry to the new host");
    assert_eq!(net.reports.len(), net.forged_read);
    assert!(net.reports.iter().all(|(reporter, by)| *reporter == net.host && *by == id(4)));
    for i in net.alive() {
        let log: Vec<_> = net.peers[i].as_ref().map(|p| p.engine.log().iter().map(Entry::id).collect()).unwrap();
        assert_eq!(log.len(), 4, "peer {i} holds the four real messages, and nothing else");
        assert!(log.iter().all(|(_, seq)| *seq < 1_000_000));
    }
}
