//! The direct-message steps of [`Delivery`] (shared by both sides, pure): sending one (`send_to`), the host
//! routing a client's `SendTo` to its one target, and a client taking `Direct`, `DirectAck` and
//! `DirectFailed`. What is guaranteed is `direct.rs`'s.

use super::{Delivered, Delivery, DirectMessage, DirectRoute, Payload};
use crate::protocol::{PeerFrame, PeerId};

impl Delivery {
    /// Host: where a direct message to `to` goes (only clients whose link resumed get frames).
    pub fn route(&self, to: &PeerId) -> DirectRoute {
        if *to == self.me {
            DirectRoute::Local
        } else if self.resumed.contains(to) {
            DirectRoute::Forward(to.clone())
        } else {
            DirectRoute::Unknown
        }
    }

    /// Our direct message to `to`. Returns its id and, if something goes out now, the frame with the peer it
    /// goes to: a host sends `Direct` to the target's link (or takes it itself, or reports `DirectFailed`
    /// at once); a client with a resumed link sends `SendTo` to its host (the peer named is then the target,
    /// for reports) and keeps the message until the host answers; without a link it waits for the next one.
    pub fn send_to(&mut self, to: PeerId, payload: Payload) -> (u64, Option<(PeerId, PeerFrame)>) {
        if self.sequencer.is_some() {
            let (id, _) = self.directs.push(to.clone(), payload.clone());
            self.directs.answered(id);
            let frame = self.host_route(self.me.clone(), to.clone(), id, payload);
            return (id, frame.map(|frame| (to, frame)));
        }
        let (id, evicted) = self.directs.push(to.clone(), payload.clone());
        if let Some((old, to)) = evicted {
            self.events.push(Delivered::DirectFailed { id: old, to });
        }
        if self.sent_upto.is_none() {
            return (id, None);
        }
        let (payload, bytes) = payload.into_parts();
        (id, Some((to.clone(), PeerFrame::SendTo { to, id, payload, bytes })))
    }

    /// Host: client `from`'s direct message `id` to `to`. Returns the frames to send, each with its peer: the
    /// message to the target (unless it is for us) and the answer to the sender.
    pub fn on_send_to(&mut self, from: PeerId, to: PeerId, id: u64, payload: Payload) -> Vec<(PeerId, PeerFrame)> {
        let route = self.route(&to);
        let mut frames = Vec::new();
        if route == DirectRoute::Unknown {
            frames.push((from, PeerFrame::DirectFailed { id, to }));
            return frames;
        }
        if let Some(frame) = self.host_route(from.clone(), to.clone(), id, payload) {
            frames.push((to, frame));
        }
        frames.push((from, PeerFrame::DirectAck { id }));
        frames
    }

    /// Host: delivers here (`Local`), returns the `Direct` frame for the target (`Forward`), or reports a
    /// failure of our own message (`Unknown`).
    fn host_route(&mut self, from: PeerId, to: PeerId, id: u64, payload: Payload) -> Option<PeerFrame> {
        match self.route(&to) {
            DirectRoute::Local => {
                self.on_direct(from, id, payload);
                None
            }
            DirectRoute::Forward(_) => {
                let (payload, bytes) = payload.into_parts();
                Some(PeerFrame::Direct { from, id, payload, bytes })
            }
            DirectRoute::Unknown => {
                if from == self.me {
                    self.events.push(Delivered::DirectFailed { id, to });
                }
                None
            }
        }
    }

    /// A direct message for us: delivered unless we already took this copy.
    pub fn on_direct(&mut self, from: PeerId, id: u64, payload: Payload) {
        if self.directs.first_time(&from, id) {
            self.events.push(Delivered::Direct(DirectMessage { from, id, payload }));
        }
    }

    /// Client: the host took our direct message `id`.
    pub fn on_direct_ack(&mut self, id: u64) {
        self.directs.answered(id);
    }

    /// Client: our direct message `id` could not go to `to`.
    pub fn on_direct_failed(&mut self, id: u64, to: PeerId) {
        if self.directs.answered(id).is_some() {
            self.events.push(Delivered::DirectFailed { id, to });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::HistoryLimits;

    fn peer(name: &str) -> PeerId {
        PeerId(name.into())
    }

    /// A host `h` with client `c` resumed, and client `c`'s delivery with a resumed link.
    fn room() -> (Delivery, Delivery) {
        let (mut host, mut client) = (
            Delivery::fresh(peer("h"), HistoryLimits::default()),
            Delivery::fresh(peer("c"), HistoryLimits::default()),
        );
        host.start_hosting(None, 1, 0.0);
        let Some(PeerFrame::Hello { epoch, acked }) = host.hello(&peer("c")) else { panic!("no hello") };
        client.on_hello(epoch, acked);
        host.on_resume(&peer("c"), &[]);
        (host, client)
    }

    #[test]
    fn a_direct_message_reaches_only_its_target_once_and_is_answered() {
        let (mut host, mut client) = room();
        let (id, frame) = client.send_to(peer("h"), Payload::Json("hi".into()));
        let Some((_, PeerFrame::SendTo { to, id: sent, payload, bytes })) = frame else { panic!("no SendTo") };
        assert_eq!((to.clone(), sent), (peer("h"), id));
        let replies = host.on_send_to(peer("c"), to.clone(), id, Payload::from_parts(payload.clone(), bytes.clone()));
        assert_eq!(replies, vec![(peer("c"), PeerFrame::DirectAck { id })]);
        let again = host.on_send_to(peer("c"), to, id, Payload::from_parts(payload, bytes));
        assert_eq!(again.len(), 1, "a copy sent again is answered");
        let got: Vec<_> = host.take_events().into_iter().filter(|e| matches!(e, Delivered::Direct(_))).collect();
        assert_eq!(got.len(), 1, "and delivered once: {got:?}");
        assert!(host.log().is_empty(), "no log keeps it");
        client.on_direct_ack(id);
        assert_eq!(client.on_hello(1, 0).iter().filter(|f| matches!(f, PeerFrame::SendTo { .. })).count(), 0);
    }

    #[test]
    fn unanswered_direct_messages_are_resent_on_the_next_link_and_unknown_targets_fail() {
        let (mut host, mut client) = room();
        client.link_down();
        let (id, frame) = client.send_to(peer("x"), Payload::Bytes(vec![1, 2]));
        assert!(frame.is_none(), "no link: kept");
        let resent: Vec<_> =
            client.on_hello(1, 0).into_iter().filter(|f| matches!(f, PeerFrame::SendTo { .. })).collect();
        assert_eq!(resent.len(), 1);
        let replies = host.on_send_to(peer("c"), peer("x"), id, Payload::Bytes(vec![1, 2]));
        assert_eq!(replies, vec![(peer("c"), PeerFrame::DirectFailed { id, to: peer("x") })]);
        client.on_direct_failed(id, peer("x"));
        assert_eq!(client.take_events().last(), Some(&Delivered::DirectFailed { id, to: peer("x") }));
        let (own, frame) = host.send_to(peer("c"), Payload::Json(1.into()));
        assert!(matches!(frame, Some((to, PeerFrame::Direct { id, .. })) if to == peer("c") && id == own));
        assert!(host.send_to(peer("nobody"), Payload::Json(1.into())).1.is_none());
        assert!(host
            .take_events()
            .iter()
            .any(|e| matches!(e, Delivered::DirectFailed { to, .. } if *to == peer("nobody"))));
    }

    #[test]
    fn a_client_that_becomes_host_hands_its_pending_direct_messages_to_their_target() {
        let mut heir = Delivery::fresh(peer("c"), HistoryLimits::default());
        heir.send_to(peer("d"), Payload::Json("later".into()));
        heir.start_hosting(None, 2, 0.0);
        heir.hello(&peer("d"));
        let frames = heir.on_resume(&peer("d"), &[]);
        assert!(frames.iter().any(|f| matches!(f, PeerFrame::Direct { from, .. } if *from == peer("c"))));
        assert!(heir.on_resume(&peer("d"), &[]).iter().all(|f| !matches!(f, PeerFrame::Direct { .. })), "once");
    }
}
