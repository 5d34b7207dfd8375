//! Property test of the delivery protocol (native, `cargo test`) on the network of `test_net.rs`: random
//! sends, link drops, reloads, host deaths and host reloads. After every run,
//! each survivor's log must hold the same ids in the same order, each once, including every message a
//! survivor sent and every message a survivor ever held (the dead hosts' included).
//!
//! Every host seals what it orders with the epoch key the server would grant it (the real `p256` code) and
//! every peer checks what it takes; no honest peer may ever be reported as a forger. `forgery_tests.rs` runs
//! the same network with a malicious client.

use super::test_net::{id, op, Net, Op};
use super::*;
use proptest::prelude::*;
use std::collections::HashSet;

/// Runs `ops` (with `forger` malicious), settles, and checks that the survivors converged.
pub(super) fn run(ops: Vec<Op>, forger: Option<usize>) -> Result<Net, TestCaseError> {
    let mut net = Net::new(5);
    net.forger = forger;
    for op in ops {
        net.apply(op);
    }
    net.settle();
    net.collect_reports();
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
        prop_assert!(
            net.peers[*i].as_ref().is_some_and(|p| p.engine.outbox().is_empty()),
            "peer {} has unacked messages",
            i
        );
    }
    Ok(net)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn survivors_converge_to_one_log_with_every_survivor_message_once(ops in prop::collection::vec(op(), 1..250)) {
        let net = run(ops, None)?;
        prop_assert!(net.reports.is_empty(), "an honest peer was reported: {:?}", net.reports);
    }
}
