//! Which [`Route`] a WebRTC link took, from the rows of its `getStats()` report: pure, so it is unit-tested
//! natively; the browser driver reads the rows (`client/route.rs`) and is its only caller.
//!
//! The selected candidate pair is the one the transport names (`transport.selectedCandidatePairId`, the
//! standard way), else the one Firefox marks `selected`, else a pair that is `nominated` and `succeeded`. Its
//! local and remote candidates each have a `candidateType`; the more indirect of the two is the link's route
//! (relay > prflx > srflx > host), so a link one side forces through TURN is `relay` on both sides.

use crate::protocol::Route;

/// The fields of one `RTCStats` object the route needs (every other field is left in the browser).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct StatsRow {
    /// `id`: how the rows name each other.
    pub(crate) id: String,
    /// `type`: `transport`, `candidate-pair`, `local-candidate`, `remote-candidate` (others are not read).
    pub(crate) kind: String,
    /// Transport: `selectedCandidatePairId`.
    pub(crate) selected_pair: Option<String>,
    /// Candidate pair: `localCandidateId`.
    pub(crate) local: Option<String>,
    /// Candidate pair: `remoteCandidateId`.
    pub(crate) remote: Option<String>,
    /// Candidate pair: `nominated`.
    pub(crate) nominated: bool,
    /// Candidate pair: `selected` (Firefox only, which has no `selectedCandidatePairId`).
    pub(crate) selected: bool,
    /// Candidate pair: `state` (`succeeded` once a check answered).
    pub(crate) state: Option<String>,
    /// Candidate: `candidateType` (`host`, `srflx`, `prflx`, `relay`).
    pub(crate) candidate_type: Option<String>,
}

/// The route of the report's selected candidate pair; `None` when no pair is selected yet or a candidate of
/// it is missing or of an unknown type.
pub(crate) fn selected_route(rows: &[StatsRow]) -> Option<Route> {
    let row = |id: &str, kind: &str| rows.iter().find(|r| r.id == id && r.kind == kind);
    let pairs = || rows.iter().filter(|r| r.kind == "candidate-pair");
    let pair = rows
        .iter()
        .filter(|r| r.kind == "transport")
        .find_map(|t| t.selected_pair.as_deref().and_then(|id| row(id, "candidate-pair")))
        .or_else(|| pairs().find(|p| p.selected))
        .or_else(|| pairs().find(|p| p.nominated && p.state.as_deref() == Some("succeeded")))?;
    let route_of =
        |id: Option<&str>, kind| row(id?, kind)?.candidate_type.as_deref().and_then(Route::from_candidate_type);
    let local = route_of(pair.local.as_deref(), "local-candidate")?;
    let remote = route_of(pair.remote.as_deref(), "remote-candidate")?;
    Some(local.max(remote))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(id: &str, kind: &str, candidate_type: &str) -> StatsRow {
        StatsRow { id: id.into(), kind: kind.into(), candidate_type: Some(candidate_type.into()), ..Default::default() }
    }

    fn pair(id: &str, local: &str, remote: &str, nominated: bool, state: &str) -> StatsRow {
        StatsRow {
            id: id.into(),
            kind: "candidate-pair".into(),
            local: Some(local.into()),
            remote: Some(remote.into()),
            nominated,
            state: Some(state.into()),
            ..Default::default()
        }
    }

    fn transport(selected: Option<&str>) -> StatsRow {
        StatsRow {
            id: "T1".into(),
            kind: "transport".into(),
            selected_pair: selected.map(Into::into),
            ..Default::default()
        }
    }

    /// Two local and two remote candidates, both host pairs checked, the relayed one succeeded too.
    fn report(selected: Option<&str>) -> Vec<StatsRow> {
        vec![
            transport(selected),
            candidate("L1", "local-candidate", "host"),
            candidate("L2", "local-candidate", "relay"),
            candidate("R1", "remote-candidate", "host"),
            candidate("R2", "remote-candidate", "srflx"),
            pair("P1", "L1", "R1", false, "succeeded"),
            pair("P2", "L2", "R2", true, "succeeded"),
            pair("P3", "L1", "R2", false, "in-progress"),
            StatsRow { id: "D1".into(), kind: "data-channel".into(), ..Default::default() },
        ]
    }

    #[test]
    fn the_transport_names_the_selected_pair() {
        assert_eq!(selected_route(&report(Some("P1"))), Some(Route::Host));
        assert_eq!(selected_route(&report(Some("P3"))), Some(Route::Srflx), "the more indirect candidate counts");
    }

    #[test]
    fn without_a_named_pair_a_selected_or_nominated_succeeded_pair_counts() {
        assert_eq!(selected_route(&report(None)), Some(Route::Relay), "nominated and succeeded");
        assert_eq!(selected_route(&report(Some("gone"))), Some(Route::Relay), "a pair the report lacks");
        let mut firefox = report(None);
        firefox.retain(|r| r.kind != "transport");
        firefox[4].selected = true; // P1
        assert_eq!(selected_route(&firefox), Some(Route::Host));
    }

    #[test]
    fn every_candidate_type_and_the_most_indirect_wins() {
        let types = [("host", Route::Host), ("srflx", Route::Srflx), ("prflx", Route::Prflx), ("relay", Route::Relay)];
        for (local, a) in types {
            for (remote, b) in types {
                let rows = vec![
                    transport(Some("P")),
                    pair("P", "L", "R", true, "succeeded"),
                    candidate("L", "local-candidate", local),
                    candidate("R", "remote-candidate", remote),
                ];
                assert_eq!(selected_route(&rows), Some(a.max(b)), "{local}/{remote}");
            }
        }
    }

    #[test]
    fn no_route_until_a_pair_is_selected_and_complete() {
        assert_eq!(selected_route(&[]), None);
        let mut rows = report(None);
        rows.retain(|r| r.id != "P2");
        assert_eq!(selected_route(&rows), None, "nothing nominated and succeeded");
        let mut rows = report(Some("P2"));
        rows.retain(|r| r.id != "R2");
        assert_eq!(selected_route(&rows), None, "the remote candidate is missing");
        let mut rows = report(Some("P1"));
        rows[1].candidate_type = Some("unknown".into());
        assert_eq!(selected_route(&rows), None, "an unknown candidate type");
        let mut rows = report(Some("P1"));
        rows[1].kind = "remote-candidate".into();
        assert_eq!(selected_route(&rows), None, "a local id that names a remote candidate");
    }
}
