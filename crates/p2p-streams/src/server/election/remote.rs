//! Election events across signaling nodes (server side, `ssr`, only with a cluster): what `mod.rs` does for
//! the sockets of this node, carried to the sockets of the others over the bus.
//!
//! - a host elected here is announced (`HostElected`); every other node points its sockets of the session at
//!   it and introduces each of them with `PeerJoined`, exactly once per host socket;
//! - a vacancy with nobody waiting here is offered to the other nodes (`Vacant`), whose waiting sockets race
//!   for the record in the store (exactly one wins);
//! - the periodic sweep promotes a waiting socket when the host's node is dead or the record stayed missing
//!   for `node_ttl` (a host that left a stopping node and did not come back), and re-introduces waiting
//!   sockets to a live remote host whose announcement was lost.
//!
//! Every function is a no-op without a cluster, so a single node behaves exactly as before.

use super::super::cluster::bus::BusMessage;
use super::super::cluster::Location;
use super::super::store::StoreError;
use super::super::Inner;
use super::{elect_if_vacant, follow};
use crate::protocol::{PeerId, Role, ServerToClient, SessionId};

/// Whether `peer` has a socket in `session` on this node or on another live node.
pub(super) async fn is_live(inner: &Inner, session: &SessionId, peer: &PeerId) -> Result<bool, StoreError> {
    if inner.registry.is_live(session, peer) {
        return Ok(true);
    }
    match &inner.cluster {
        Some(cluster) => match cluster.locate(session, peer).await? {
            // A directory entry pointing here without a local socket is stale.
            Some(location) if location.node != cluster.node => cluster.node_alive(&location.node).await,
            _ => Ok(false),
        },
        None => Ok(false),
    }
}

/// Sends `frame` to `to`'s socket on another node. `Ok(false)`: `to` is joined nowhere else.
pub(crate) async fn forward(
    inner: &Inner,
    session: &SessionId,
    to: &PeerId,
    frame: ServerToClient,
) -> Result<bool, StoreError> {
    let Some(cluster) = &inner.cluster else { return Ok(false) };
    match cluster.locate(session, to).await? {
        Some(location) if location.node != cluster.node => {
            let message = BusMessage::Deliver { session: session.clone(), to: to.clone(), frame };
            cluster.publish(cluster.node_channel(&location.node), &message).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// [`forward`], logging failures (used for notifications nobody can retry).
pub(super) async fn deliver(inner: &Inner, session: &SessionId, to: &PeerId, frame: ServerToClient) {
    if let Err(err) = forward(inner, session, to, frame).await {
        tracing::error!(%err, %to, "could not notify a peer on another node");
    }
}

/// Announces that `host`, whose socket is on this node, hosts `session`.
pub(super) async fn publish_elected(inner: &Inner, session: &SessionId, host: &PeerId) {
    let (Some(cluster), Some(socket)) = (&inner.cluster, inner.registry.get(session, host)) else { return };
    let message = BusMessage::HostElected {
        session: session.clone(),
        host: host.clone(),
        node: cluster.node.clone(),
        conn: socket.conn_id,
    };
    if let Err(err) = cluster.publish(cluster.all_channel(), &message).await {
        tracing::error!(%err, "could not announce a host to the other nodes (the sweep retries)");
    }
}

/// Asks the other nodes to elect a host for `session` among their waiting sockets.
pub(super) async fn offer_vacancy(inner: &Inner, session: &SessionId) {
    let Some(cluster) = &inner.cluster else { return };
    let message = BusMessage::Vacant { session: session.clone(), from: cluster.node.clone() };
    if let Err(err) = cluster.publish(cluster.all_channel(), &message).await {
        tracing::error!(%err, "could not offer a vacant host role to the other nodes (their sweep retries)");
    }
}

/// Introduces `peer` (a local waiting socket) to `host` when the host's socket lives on another node.
pub(super) async fn introduce(inner: &Inner, session: &SessionId, peer: &PeerId, host: &PeerId) {
    let Some(cluster) = &inner.cluster else { return };
    match cluster.locate(session, host).await {
        Ok(Some(location)) if location.node != cluster.node => {
            introduce_at(inner, session, peer, host, &location).await
        }
        Ok(_) => {} // in its grace period: it is introduced when it comes back
        Err(err) => tracing::error!(%err, "could not look up the host's node (the sweep retries)"),
    }
}

/// Sends `PeerJoined{peer}` to `host`'s socket at `location`, unless that socket already had it.
async fn introduce_at(inner: &Inner, session: &SessionId, peer: &PeerId, host: &PeerId, location: &Location) {
    let Some(cluster) = &inner.cluster else { return };
    let key = format!("{host}@{}/{}", location.node, location.conn);
    if !inner.registry.introduce(session, peer, &key) {
        return;
    }
    let message = BusMessage::Deliver {
        session: session.clone(),
        to: host.clone(),
        frame: ServerToClient::PeerJoined { peer: peer.clone() },
    };
    if let Err(err) = cluster.publish(cluster.node_channel(&location.node), &message).await {
        tracing::error!(%err, "could not introduce a peer to its remote host (the sweep retries)");
        inner.registry.introduce(session, peer, "");
    }
}

/// `host` hosts `session` from socket `location` on another node (a `HostElected` message).
pub(crate) async fn remote_host(inner: &Inner, session: &SessionId, host: &PeerId, location: &Location) {
    let registry = &inner.registry;
    let _gate = registry.gate(session).await;
    for (peer, socket) in registry.others(session, Some(host)) {
        if registry.set_view(session, &peer, Role::Client, host) {
            socket.send(&ServerToClient::RoleChanged { role: Role::Client, host: host.clone(), grant: None });
        }
        introduce_at(inner, session, &peer, host, location).await;
    }
}

/// Another node's host of `session` left and nobody waits there (a `Vacant` message).
pub(crate) async fn vacant(inner: &Inner, session: &SessionId) {
    let _gate = inner.registry.gate(session).await;
    elect_if_vacant(inner, session).await;
}

/// Periodic check of a session with sockets here but no local host (see `cluster/heartbeat.rs`).
pub(crate) async fn sweep(inner: &Inner, session: &SessionId) {
    let Some(cluster) = &inner.cluster else { return };
    let _gate = inner.registry.gate(session).await;
    let holder = match inner.store.current_host(session).await {
        Ok(Some(holder)) => holder,
        Ok(None) => {
            if cluster.vacant_long_enough(session, true) {
                elect_if_vacant(inner, session).await;
            }
            return;
        }
        Err(err) => return tracing::error!(%err, "sweep: store unavailable"),
    };
    cluster.vacant_long_enough(session, false);
    if inner.registry.is_live(session, &holder) {
        return;
    }
    let location = match cluster.locate(session, &holder).await {
        Ok(Some(location)) if location.node != cluster.node => location,
        Ok(_) => return, // in its grace period, or its record is about to expire
        Err(err) => return tracing::error!(%err, "sweep: store unavailable"),
    };
    match cluster.node_alive(&location.node).await {
        Ok(true) => {
            // Alive elsewhere: make sure every waiting socket here follows it and was introduced to it.
            follow(inner, session, &holder);
            for (peer, _) in inner.registry.others(session, Some(&holder)) {
                introduce_at(inner, session, &peer, &holder, &location).await;
            }
        }
        Ok(false) => {
            tracing::info!(%holder, node = %location.node, "host's node is dead, electing a new host");
            match inner.store.release_host(session, &holder).await {
                Ok(_) => {
                    elect_if_vacant(inner, session).await;
                }
                Err(err) => tracing::error!(%err, "sweep: store failed releasing a dead node's host"),
            }
        }
        Err(err) => tracing::error!(%err, "sweep: store unavailable"),
    }
}
