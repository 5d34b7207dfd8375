//! Property tests of the session registry and host election (server side, `ssr`, tests only).
//!
//! Random interleavings of joins (fresh, reloaded tab, naming a lost host), clean and abnormal leaves
//! (an abnormal leave is what a ping timeout, a network drop or a too-slow socket produce), host refreshes
//! and clock advances that let grace periods expire drive the REAL `election`, `Registry` and `MemoryStore`
//! code on a paused Tokio clock. After every step: at most one host per session, the store agrees with the
//! local host, the registry holds exactly the live sockets and no empty session, and every socket's last
//! `Welcome`/`RoleChanged` matches what the registry says it was told. After a quiet grace period: no orphan
//! (every session with peers has exactly one host and everyone follows it). After everyone left: nothing left
//! behind (no socket, session, gate, grace or host record).

use super::election::{self, Leave};
use super::handle::Outbound;
use super::registry::ConnHandle;
use super::{MemoryStore, SignalingConfig, SignalingServer};
use crate::protocol::{PeerId, Role, ServerToClient, SessionId};
use crate::token::TokenSigner;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// Sessions and users the generated steps pick from (small, so collisions are frequent).
const SESSIONS: usize = 2;
const USERS: usize = 4;

/// One generated step.
#[derive(Clone, Debug)]
enum Step {
    /// A socket of `user` joins `session`, possibly naming a host it lost (a reload when `user` is live).
    Join { session: usize, user: usize, lost_host: Option<usize> },
    /// The `nth` live socket (modulo their count) ends.
    Leave { nth: usize, clean: bool },
    /// Time passes (live hosts refresh their record first, as their ping timer does).
    Advance { ms: u64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..SESSIONS, 0..USERS, proptest::option::of(0..USERS))
            .prop_map(|(session, user, lost_host)| Step::Join { session, user, lost_host }),
        3 => (any::<usize>(), any::<bool>()).prop_map(|(nth, clean)| Step::Leave { nth, clean }),
        2 => (0u64..8_000).prop_map(|ms| Step::Advance { ms }),
    ]
}

/// A test socket: the receiving ends of its handle.
struct Socket {
    session: SessionId,
    peer: PeerId,
    out: Arc<Outbound>,
    /// Role and host from the last `Welcome`/`RoleChanged` it received.
    told: Option<(Role, PeerId)>,
}

fn session(i: usize) -> SessionId {
    SessionId(format!("s{i}"))
}

fn peer(i: usize) -> PeerId {
    PeerId::with_tab(&format!("u{i}"), "t")
}

struct World {
    server: SignalingServer,
    sockets: BTreeMap<u64, Socket>,
}

impl World {
    async fn join(&mut self, s: usize, u: usize, lost_host: Option<usize>) {
        let inner = &self.server.inner;
        let conn_id = inner.next_conn_id();
        let handle = ConnHandle::new(conn_id, peer(u), 4096);
        let out = handle.out.clone();
        let (sid, pid) = (session(s), peer(u));
        election::join(inner, &sid, &pid, handle, lost_host.map(peer)).await.expect("memory store never fails");
        self.sockets.insert(conn_id, Socket { session: sid, peer: pid, out, told: None });
        self.reap().await;
    }

    /// Sockets the server asked to close (superseded by a reload) end, as their task would: abnormally.
    async fn reap(&mut self) {
        let closing: Vec<u64> =
            self.sockets.iter().filter(|(_, s)| s.out.close_request().is_some()).map(|(id, _)| *id).collect();
        for id in closing {
            self.leave(id, Leave::Abnormal).await;
        }
    }

    async fn leave(&mut self, conn_id: u64, how: Leave) {
        if let Some(socket) = self.sockets.remove(&conn_id) {
            election::leave(&self.server.inner, &socket.session, &socket.peer, conn_id, how).await;
        }
    }

    async fn advance(&mut self, ms: u64) {
        for (id, socket) in &self.sockets {
            election::refresh(&self.server.inner, &socket.session, &socket.peer, *id).await;
        }
        tokio::time::sleep(Duration::from_millis(ms)).await;
        self.reap().await;
    }

    /// Reads every queued frame, tracking what each socket was told; the first must be its `Welcome`.
    fn drain(&mut self) {
        for socket in self.sockets.values_mut() {
            for message in socket.out.take_frames() {
                let Message::Text(text) = message else { continue };
                match serde_json::from_str::<ServerToClient>(text.as_str()).expect("server frame") {
                    ServerToClient::Welcome { role, host, peer_id, .. } => {
                        assert!(socket.told.is_none(), "one welcome per socket");
                        assert_eq!(peer_id, socket.peer);
                        socket.told = Some((role, host));
                    }
                    ServerToClient::RoleChanged { role, host, .. } => {
                        assert!(socket.told.is_some(), "RoleChanged before Welcome");
                        socket.told = Some((role, host));
                    }
                    _ => {}
                }
            }
        }
    }

    /// The invariants that hold after every step.
    async fn check(&mut self) {
        self.drain();
        let inner = &self.server.inner;
        let registry = &inner.registry;
        let mut live_sessions = 0;
        for s in 0..SESSIONS {
            let sid = session(s);
            let members = registry.others(&sid, None);
            live_sessions += usize::from(!members.is_empty());
            let hosts: Vec<&PeerId> = members.iter().filter(|(_, h)| h.role == Role::Host).map(|(p, _)| p).collect();
            assert!(hosts.len() <= 1, "two hosts in {sid}: {hosts:?}");
            if let Some(host) = hosts.first() {
                let recorded = inner.store.current_host(&sid).await.expect("memory store");
                assert_eq!(recorded.as_ref(), Some(*host), "the store agrees with the local host of {sid}");
            }
            for (p, handle) in &members {
                let socket = self.sockets.get(&handle.conn_id).expect("every registered socket is live");
                assert_eq!((&socket.session, &socket.peer), (&sid, p));
                assert_eq!(socket.told.as_ref(), Some(&(handle.role, handle.host.clone())), "{p} told its view");
            }
        }
        assert_eq!(registry.counts().sessions, live_sessions, "no empty session entry");
        // Every live socket is registered (one socket per peer: older ones were reaped).
        for (id, socket) in &self.sockets {
            assert!(registry.role_of(&socket.session, &socket.peer, *id).is_some(), "{} registered", socket.peer);
        }
    }

    /// After a quiet grace period, every session with peers has exactly one host that everyone follows.
    async fn check_no_orphans(&mut self) {
        let grace = self.server.inner.config.host_grace;
        self.advance(grace.as_millis() as u64 + 50).await;
        self.check().await;
        for s in 0..SESSIONS {
            let members = self.server.inner.registry.others(&session(s), None);
            if members.is_empty() {
                continue;
            }
            let host = members.iter().find(|(_, h)| h.role == Role::Host).map(|(p, _)| p.clone());
            let host = host.unwrap_or_else(|| panic!("orphans in s{s}: {members:?}"));
            for (p, handle) in &members {
                assert_eq!(handle.host, host, "{p} follows the host");
            }
        }
    }
}

fn run(steps: Vec<Step>) {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().expect("runtime");
    runtime.block_on(async move {
        let config = SignalingConfig { host_grace: Duration::from_secs(5), ..SignalingConfig::default() };
        let server = SignalingServer::new(TokenSigner::new(b"prop".to_vec()), Arc::new(MemoryStore::new()), config);
        let mut world = World { server, sockets: BTreeMap::new() };
        for step in steps {
            match step {
                Step::Join { session, user, lost_host } => world.join(session, user, lost_host).await,
                Step::Leave { nth, clean } => {
                    if !world.sockets.is_empty() {
                        let id = *world.sockets.keys().nth(nth % world.sockets.len()).expect("in range");
                        world.leave(id, if clean { Leave::Clean } else { Leave::Abnormal }).await;
                    }
                }
                Step::Advance { ms } => world.advance(ms).await,
            }
            world.check().await;
        }
        world.check_no_orphans().await;
        let ids: Vec<u64> = world.sockets.keys().copied().collect();
        for id in ids {
            world.leave(id, Leave::Abnormal).await;
        }
        world.advance(6_000).await;
        let inner = &world.server.inner;
        assert_eq!(inner.registry.counts(), Default::default(), "no socket or session left");
        assert!(inner.registry.is_idle(), "no gate or grace left");
        assert_eq!(inner.store.sessions().await.expect("memory store"), vec![], "no host record left");
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn one_host_per_session_and_no_orphans_after_any_interleaving(steps in proptest::collection::vec(step(), 1..48)) {
        run(steps);
    }
}
