//! Joining, leaving and host election for one session (server side, `ssr`).
//!
//! The store decides who is host (atomic claim / compare-and-swap); this module turns its answers into frames
//! for the sockets on this node. Every entry point holds the session's gate from the registry, so for each
//! socket: `Welcome` comes first, then any `RoleChanged`, and the host hears `PeerJoined` only for peers that
//! were already welcomed.
//!
//! Host loss: a CLEAN leave releases the record and promotes the earliest-joined waiting socket at once; an
//! ABNORMAL drop keeps the record for `host_grace` (the host may come back with its role), then promotes.
//! A peer that joins naming the dead host in `lost_host` takes over immediately.
//!
//! With several nodes (`Inner::cluster`), `remote.rs` carries the same events across nodes: a host elected
//! here is announced on the bus, a vacancy with nobody waiting here is offered to the other nodes, and a peer
//! whose host lives elsewhere is introduced to it through the bus.

mod remote;

pub(crate) use remote::{forward, remote_host, sweep, vacant};

use super::error::PeerError;
use super::registry::{CloseRequest, ConnHandle};
use super::store::{HostClaim, StoreError};
use super::{epoch, metrics, Inner};
use crate::protocol::{close_code, PeerId, Role, ServerToClient, SessionId, PROTOCOL_VERSION};
use std::sync::Arc;
use tracing::Instrument;

/// How a joined socket ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Leave {
    /// The peer sent a Close frame: it means to go.
    Clean,
    /// Error, EOF without Close, ping timeout, too slow: it may come back.
    Abnormal,
    /// This node is shutting down: the host keeps its record for `host_grace` so it can rejoin another node,
    /// and this node starts no timer.
    Shutdown,
}

/// Why a `join` did not happen.
#[derive(Debug)]
pub(crate) enum JoinError {
    /// The session or this node is full (the peer's socket is closed with the error's code).
    Refused(PeerError),
    /// The store failed (our failure).
    Store(StoreError),
}

/// Handles `join` for `peer` in `session`: checks the session and server limits, elects, welcomes,
/// registers `handle` and tells the host.
pub(crate) async fn join(
    inner: &Arc<Inner>,
    session: &SessionId,
    peer: &PeerId,
    mut handle: ConnHandle,
    lost_host: Option<PeerId>,
) -> Result<Role, JoinError> {
    let registry = &inner.registry;
    let _gate = registry.gate(session).await;
    let config = &inner.config;
    registry.admit(session, peer, config.max_peers_per_session, config.max_sessions).map_err(JoinError::Refused)?;
    let host = match claim(inner, session, peer, lost_host.as_ref()).await {
        Ok(host) => host,
        Err(err) => {
            registry.forget_if_empty(session);
            return Err(JoinError::Store(err));
        }
    };
    if let Some(cluster) = &inner.cluster {
        if let Err(err) = cluster.register(session, peer, handle.conn_id).await {
            if host == *peer {
                // Best effort: the record would otherwise keep the session hostless until its TTL.
                let _ = inner.store.release_host(session, peer).await;
            }
            registry.forget_if_empty(session);
            return Err(JoinError::Store(err));
        }
    }
    let role = if host == *peer { Role::Host } else { Role::Client };
    handle.role = role;
    handle.host = host.clone();
    handle.joined = registry.next_join();
    // Queued before the socket is reachable by others, so nothing can overtake the Welcome.
    handle.send(&ServerToClient::Welcome {
        version: PROTOCOL_VERSION,
        session_id: session.clone(),
        peer_id: peer.clone(),
        role,
        host: host.clone(),
        authority: epoch::authority_key(inner, session),
        grant: if role == Role::Host { epoch::grant(inner, session) } else { None },
    });
    if let Some(old) = registry.insert(session, peer, handle) {
        tracing::info!(old_conn = old.conn_id, "peer reconnected, closing its previous socket");
        old.close(CloseRequest { code: close_code::SUPERSEDED, reason: "superseded by a newer connection" });
    }
    registry.cancel_grace(session, peer);
    metrics::joined(role);
    tracing::info!(role = role.as_str(), %host, "peer joined");
    if role == Role::Host {
        announce_host(inner, session, &host);
        remote::publish_elected(inner, session, &host).await;
    } else if let Some(host_socket) = registry.get(session, &host) {
        host_socket.send(&ServerToClient::PeerJoined { peer: peer.clone() });
    } else {
        remote::introduce(inner, session, peer, &host).await;
    }
    // Otherwise the host is in its grace period: the peer waits.
    Ok(role)
}

/// Asks the store who hosts `session`, taking over from `lost_host` when it is dead. Returns the host.
async fn claim(
    inner: &Inner,
    session: &SessionId,
    peer: &PeerId,
    lost_host: Option<&PeerId>,
) -> Result<PeerId, StoreError> {
    let (store, ttl) = (&inner.store, inner.config.host_ttl);
    let holder = match store.claim_host(session, peer, ttl).await? {
        HostClaim::Won => return Ok(peer.clone()),
        HostClaim::Taken(holder) => holder,
    };
    if lost_host != Some(&holder) || remote::is_live(inner, session, &holder).await? {
        return Ok(holder);
    }
    if store.replace_host(session, &holder, peer, ttl).await? {
        tracing::info!(lost = %holder, "took over from a lost host");
        inner.registry.cancel_grace(session, &holder);
        return Ok(peer.clone());
    }
    // Someone else changed the record first: follow the current holder, or claim a vacancy.
    match store.claim_host(session, peer, ttl).await? {
        HostClaim::Won => Ok(peer.clone()),
        HostClaim::Taken(current) => Ok(current),
    }
}

/// Handles the end of `peer`'s socket `conn_id`.
pub(crate) async fn leave(inner: &Arc<Inner>, session: &SessionId, peer: &PeerId, conn_id: u64, how: Leave) {
    let registry = &inner.registry;
    let _gate = registry.gate(session).await;
    // None: a newer socket of the same peer replaced this one and owns everything now.
    let Some(gone) = registry.remove(session, peer, conn_id) else { return };
    tracing::info!(role = gone.role.as_str(), how = ?how, "peer left");
    if let Some(cluster) = &inner.cluster {
        if let Err(err) = cluster.unregister(session, peer, conn_id).await {
            tracing::warn!(%err, "could not remove a peer from the directory; it expires by itself");
        }
    }
    if gone.role == Role::Client {
        if let Some((_, host)) = registry.local_host(session) {
            host.send(&ServerToClient::PeerLeft { peer: peer.clone() });
        } else if gone.host != *peer {
            remote::deliver(inner, session, &gone.host, ServerToClient::PeerLeft { peer: peer.clone() }).await;
        }
        return;
    }
    // Ok(true): the role is vacant now, elect at once.
    let (store, grace) = (&inner.store, inner.config.host_grace);
    let vacant = match how {
        Leave::Clean => store.release_host(session, peer).await.map(|_| true),
        Leave::Abnormal => match store.refresh_host(session, peer, grace).await {
            Ok(false) => Ok(true),
            kept => {
                // On a store failure the timer still runs: it retries the release and election later.
                if let Err(err) = kept {
                    tracing::error!(%err, "store failed shortening a dropped host's record");
                }
                registry.start_grace(session, peer, conn_id);
                spawn_grace_timer(inner.clone(), session.clone(), peer.clone(), conn_id);
                Ok(false)
            }
        },
        Leave::Shutdown => store.refresh_host(session, peer, grace).await.map(|_| false),
    };
    match vacant {
        Ok(true) => elect_or_offer(inner, session).await,
        Ok(false) => {}
        Err(err) => tracing::error!(%err, "store failed while a host left"),
    }
}

/// After `host_grace`, promotes a waiting socket unless the host's socket `conn_id` came back.
fn spawn_grace_timer(inner: Arc<Inner>, session: SessionId, host: PeerId, conn_id: u64) {
    let span = tracing::info_span!("host_grace", %session, %host);
    tokio::spawn(
        async move {
            tokio::time::sleep(inner.config.host_grace).await;
            let registry = &inner.registry;
            let _gate = registry.gate(&session).await;
            if !registry.take_grace(&session, conn_id) || registry.is_live(&session, &host) {
                return;
            }
            match inner.store.release_host(&session, &host).await {
                Ok(released) => tracing::info!(released, "host did not come back"),
                Err(err) => {
                    tracing::error!(%err, "store failed releasing an expired host");
                    return;
                }
            }
            elect_or_offer(&inner, &session).await;
        }
        .instrument(span),
    );
}

/// Elects a host among this node's waiting sockets; with none here, asks the other nodes to (`Vacant`).
async fn elect_or_offer(inner: &Inner, session: &SessionId) {
    if !elect_if_vacant(inner, session).await {
        remote::offer_vacancy(inner, session).await;
    }
}

/// With no local host, promotes the earliest-joined socket of `session` if the store lets it. Returns `false`
/// when this node has no socket of `session` at all.
async fn elect_if_vacant(inner: &Inner, session: &SessionId) -> bool {
    let registry = &inner.registry;
    if registry.local_host(session).is_some() {
        return true;
    }
    let Some((first, handle)) = registry.others(session, None).into_iter().next() else { return false };
    match inner.store.claim_host(session, &first, inner.config.host_ttl).await {
        Ok(HostClaim::Won) => {
            tracing::info!(host = %first, "promoted a waiting peer to host");
            registry.set_view(session, &first, Role::Host, &first);
            let grant = epoch::grant(inner, session);
            handle.send(&ServerToClient::RoleChanged { role: Role::Host, host: first.clone(), grant });
            announce_host(inner, session, &first);
            remote::publish_elected(inner, session, &first).await;
        }
        Ok(HostClaim::Taken(holder)) => follow(inner, session, &holder),
        Err(err) => tracing::error!(%err, "store failed electing a new host"),
    }
    true
}

/// Tells every other local socket that `host` hosts, and the host who waits for an offer.
fn announce_host(inner: &Inner, session: &SessionId, host: &PeerId) {
    let registry = &inner.registry;
    let Some(host_socket) = registry.get(session, host) else { return };
    for (peer, socket) in registry.others(session, Some(host)) {
        if registry.set_view(session, &peer, Role::Client, host) {
            socket.send(&ServerToClient::RoleChanged { role: Role::Client, host: host.clone(), grant: None });
        }
        host_socket.send(&ServerToClient::PeerJoined { peer });
    }
}

/// Points every local socket of `session` at `host`, which lives on another node.
fn follow(inner: &Inner, session: &SessionId, host: &PeerId) {
    let registry = &inner.registry;
    for (peer, socket) in registry.others(session, Some(host)) {
        if registry.set_view(session, &peer, Role::Client, host) {
            socket.send(&ServerToClient::RoleChanged { role: Role::Client, host: host.clone(), grant: None });
        }
    }
}

/// Keeps a live host's record from expiring; called every `ping_interval` by the host's socket task.
/// With several nodes, every joined socket also re-registers its directory entry here (which re-creates it
/// after a Redis restart).
pub(crate) async fn refresh(inner: &Arc<Inner>, session: &SessionId, peer: &PeerId, conn_id: u64) {
    let role = inner.registry.role_of(session, peer, conn_id);
    if let (Some(cluster), Some(_)) = (&inner.cluster, role) {
        if let Err(err) = cluster.register(session, peer, conn_id).await {
            tracing::error!(%err, "store failed refreshing a peer's directory entry");
        }
    }
    if role != Some(Role::Host) {
        return;
    }
    match inner.store.refresh_host(session, peer, inner.config.host_ttl).await {
        Ok(true) => {}
        Ok(false) => reassert(inner, session, peer, conn_id).await,
        Err(err) => tracing::error!(%err, "store failed refreshing a host record"),
    }
}

/// The record of a live host vanished (store blip, delayed refresh): claim it again, or step down.
async fn reassert(inner: &Inner, session: &SessionId, peer: &PeerId, conn_id: u64) {
    let _gate = inner.registry.gate(session).await;
    if inner.registry.role_of(session, peer, conn_id) != Some(Role::Host) {
        return;
    }
    match inner.store.claim_host(session, peer, inner.config.host_ttl).await {
        Ok(HostClaim::Won) => {
            tracing::warn!("host record had vanished, claimed it again");
            remote::publish_elected(inner, session, peer).await;
        }
        Ok(HostClaim::Taken(holder)) => {
            tracing::warn!(%holder, "host record taken by another peer, stepping down");
            follow(inner, session, &holder);
        }
        Err(err) => tracing::error!(%err, "store failed re-claiming a host record"),
    }
}
