//! The signaling bus between nodes (server side, `ssr`): Redis pub/sub messages and this node's subscriber.
//!
//! One task per node subscribes to the node's own channel and to the channel all nodes hear, and handles the
//! messages one at a time, in the order Redis delivers them. Redis relays the messages of one publishing
//! connection in order, and a socket's frames are published one after another by its own task, so signals of
//! one link arrive in the order they were sent. When the subscription drops (Redis restarted), the task logs
//! it and subscribes again with a backoff until Redis is back.

use super::super::{election, metrics, Inner};
use super::Location;
use crate::protocol::{PeerId, ServerToClient, SessionId};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::Weak;
use std::time::Duration;

/// Longest wait between two attempts to subscribe again.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// A message between signaling nodes.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum BusMessage {
    /// Queue `frame` for `to`'s socket in `session` (published on the node channel of `to`).
    Deliver {
        /// The session.
        session: SessionId,
        /// The addressee.
        to: PeerId,
        /// The frame, exactly as the socket must receive it.
        frame: ServerToClient,
    },
    /// `host` became (or came back as) host of `session` on `node` with socket `conn`: point local sockets at
    /// it and introduce them to it.
    HostElected {
        /// The session.
        session: SessionId,
        /// The new host.
        host: PeerId,
        /// The host's node.
        node: String,
        /// The host's socket on that node.
        conn: u64,
    },
    /// `session` has no host and the publishing node has no peer of it waiting: promote one of yours.
    Vacant {
        /// The session.
        session: SessionId,
        /// The publishing node (it ignores its own message).
        from: String,
    },
}

/// The subscriber: runs until the server is dropped or shuts down.
pub(crate) async fn run(weak: Weak<Inner>) {
    let mut backoff = Duration::from_millis(100);
    let mut connected_before = false;
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let Some(cluster) = inner.cluster.as_ref() else { return };
        let mut shutdown = inner.shutdown.subscribe();
        if *shutdown.borrow_and_update() {
            return;
        }
        let subscribed = async {
            let mut pubsub = cluster.pubsub().await?;
            pubsub.subscribe(cluster.node_channel(&cluster.node)).await.map_err(super::unavailable)?;
            pubsub.subscribe(cluster.all_channel()).await.map_err(super::unavailable)?;
            Ok::<_, super::StoreError>(pubsub)
        };
        let pubsub = match subscribed.await {
            Ok(pubsub) => pubsub,
            Err(err) => {
                tracing::error!(%err, "signaling bus: cannot subscribe, retrying");
                drop(inner);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        if connected_before {
            tracing::info!(node = %cluster.node, "signaling bus subscribed again");
        }
        connected_before = true;
        backoff = Duration::from_millis(100);
        drop(inner);
        let mut messages = pubsub.into_on_message();
        loop {
            tokio::select! {
                message = messages.next() => match message {
                    Some(message) => handle(&weak, message.get_payload_bytes()).await,
                    None => break,
                },
                _ = shutdown.changed() => return,
            }
        }
        tracing::error!("signaling bus: subscription lost (Redis unreachable?), subscribing again");
    }
}

/// Handles one message from the bus.
async fn handle(weak: &Weak<Inner>, payload: &[u8]) {
    let Some(inner) = weak.upgrade() else { return };
    let Some(cluster) = inner.cluster.as_ref() else { return };
    let message = match serde_json::from_slice::<BusMessage>(payload) {
        Ok(message) => message,
        Err(err) => return tracing::error!(%err, "signaling bus: undecodable message"),
    };
    match message {
        BusMessage::Deliver { session, to, frame } => {
            let Some(socket) = inner.registry.get(&session, &to) else {
                return tracing::debug!(%session, %to, "signaling bus: addressee left this node");
            };
            let kind = match &frame {
                ServerToClient::Signal { signal, .. } => Some(signal.kind()),
                _ => None,
            };
            if socket.send(&frame) {
                if let Some(kind) = kind {
                    metrics::signal_routed(kind);
                }
            }
        }
        BusMessage::HostElected { session, host, node, conn } if node != cluster.node => {
            election::remote_host(&inner, &session, &host, &Location { node, conn }).await;
        }
        BusMessage::Vacant { session, from } if from != cluster.node => {
            election::vacant(&inner, &session).await;
        }
        BusMessage::HostElected { .. } | BusMessage::Vacant { .. } => {}
    }
}
