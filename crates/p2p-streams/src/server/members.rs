//! [`Members`]: the sockets of one session on this node, a small map from peer to [`ConnHandle`] kept as a
//! vector sorted by peer (server side, `ssr`).
//!
//! Why not a `HashMap`: the node holds mostly sessions with a single socket (the host: clients leave the
//! server once connected), and a `HashMap` reserves four buckets for one entry (about 400 bytes per session,
//! measured with heaptrack), where the vector holds exactly its entries. Lookups are a binary search, which
//! for the at most `max_peers_per_session` (default 256) entries of a session is a handful of comparisons.

use super::handle::ConnHandle;
use crate::protocol::PeerId;

/// The joined sockets of one session, by peer.
#[derive(Debug, Default)]
pub(crate) struct Members {
    /// Sorted by peer, one entry per peer.
    entries: Vec<(PeerId, ConnHandle)>,
}

impl Members {
    /// Where `peer` is, or where it would go.
    fn find(&self, peer: &PeerId) -> Result<usize, usize> {
        self.entries.binary_search_by(|(p, _)| p.cmp(peer))
    }

    /// Number of sockets.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the session has no socket here.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `peer` has a socket here.
    pub fn contains_key(&self, peer: &PeerId) -> bool {
        self.find(peer).is_ok()
    }

    /// `peer`'s socket.
    pub fn get(&self, peer: &PeerId) -> Option<&ConnHandle> {
        self.find(peer).ok().map(|i| &self.entries[i].1)
    }

    /// `peer`'s socket, to update what it was told.
    pub fn get_mut(&mut self, peer: &PeerId) -> Option<&mut ConnHandle> {
        self.find(peer).ok().map(|i| &mut self.entries[i].1)
    }

    /// Registers `handle` as `peer`'s socket, returning the one it replaces.
    pub fn insert(&mut self, peer: PeerId, handle: ConnHandle) -> Option<ConnHandle> {
        match self.find(&peer) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, handle)),
            Err(i) => {
                // Grow one entry at a time: a session's membership changes rarely, memory is what counts.
                self.entries.reserve_exact(1);
                self.entries.insert(i, (peer, handle));
                None
            }
        }
    }

    /// Unregisters `peer`'s socket.
    pub fn remove(&mut self, peer: &PeerId) -> Option<ConnHandle> {
        let removed = self.find(peer).ok().map(|i| self.entries.remove(i).1);
        if self.entries.capacity() > 2 * self.entries.len() + 4 {
            self.entries.shrink_to_fit();
        }
        removed
    }

    /// Every socket with its peer, in peer order.
    pub fn iter(&self) -> impl Iterator<Item = (&PeerId, &ConnHandle)> {
        self.entries.iter().map(|(p, h)| (p, h))
    }

    /// Every socket, in peer order.
    pub fn values(&self) -> impl Iterator<Item = &ConnHandle> {
        self.entries.iter().map(|(_, h)| h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(name: &str) -> PeerId {
        PeerId(name.into())
    }

    #[test]
    fn behaves_like_a_map_in_peer_order_and_holds_only_its_entries() {
        let mut members = Members::default();
        assert!(members.is_empty() && members.get(&peer("a")).is_none());
        for (i, name) in ["m", "c", "x", "a"].into_iter().enumerate() {
            assert!(members.insert(peer(name), ConnHandle::new(i as u64, peer(name), 1)).is_none());
        }
        assert_eq!(members.entries.capacity(), 4, "no spare room reserved");
        let order: Vec<_> = members.iter().map(|(p, _)| p.0.as_str()).collect();
        assert_eq!(order, ["a", "c", "m", "x"]);
        let replaced = members.insert(peer("c"), ConnHandle::new(9, peer("c"), 1));
        assert_eq!(replaced.map(|h| h.conn_id), Some(1), "a reconnect replaces the old socket");
        assert_eq!(members.get(&peer("c")).map(|h| h.conn_id), Some(9));
        if let Some(h) = members.get_mut(&peer("x")) {
            h.joined = 7;
        }
        assert_eq!(members.values().map(|h| h.joined).max(), Some(7));
        assert_eq!(members.remove(&peer("m")).map(|h| h.conn_id), Some(0));
        assert!(members.remove(&peer("m")).is_none());
        assert!(!members.contains_key(&peer("m")) && members.contains_key(&peer("a")));
        assert_eq!(members.len(), 3);
    }
}
