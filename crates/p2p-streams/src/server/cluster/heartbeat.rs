//! Node liveness and the election sweep (server side, `ssr`).
//!
//! Every `node_ttl / 3` the node re-sets its liveness key and looks at each session that has sockets here but
//! no local host. That is what bounds recovery from a crashed node: its liveness key is gone `node_ttl` after
//! its last beat, it is declared dead once it stayed away another `node_ttl`, and the next sweep of a node with
//! waiting peers promotes one of them (at most `2 * node_ttl + node_ttl / 3` after the crash).
//!
//! The beat also reads the store's epoch: when Redis restarted empty, every joined socket of this node is
//! recorded again and every host here re-claims its record at once, before any sweep elsewhere may treat the
//! session as vacant (that takes `node_ttl`). The sweep also
//! re-introduces waiting sockets to a live remote host when a bus message was lost (Redis restarted). On
//! shutdown the key is deleted at once, so the other nodes do not wait for it to expire.

use super::super::{election, Inner};
use std::sync::Arc;
use std::sync::Weak;
use tokio::time::MissedTickBehavior;

/// Beats and sweeps until the server is dropped or shuts down.
pub(super) async fn run(weak: Weak<Inner>) {
    let (period, mut shutdown) = {
        let Some(inner) = weak.upgrade() else { return };
        let Some(cluster) = inner.cluster.as_ref() else { return };
        ((cluster.options().node_ttl / 3).max(std::time::Duration::from_millis(10)), inner.shutdown.subscribe())
    };
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut healthy = true;
    let mut epoch: Option<String> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => {}
        }
        let Some(inner): Option<Arc<Inner>> = weak.upgrade() else { return };
        let Some(cluster) = inner.cluster.as_ref() else { return };
        if *inner.shutdown.borrow() {
            if let Err(err) = cluster.forget_node().await {
                tracing::warn!(%err, "could not remove this node's liveness key; it expires by itself");
            }
            return;
        }
        match cluster.beat().await {
            Ok(()) if !healthy => {
                tracing::info!(node = %cluster.node, "session store reachable again");
                healthy = true;
            }
            Ok(()) => {}
            Err(err) => {
                if healthy {
                    tracing::error!(%err, node = %cluster.node, "session store unreachable, retrying");
                }
                healthy = false;
                continue;
            }
        }
        match cluster.epoch().await {
            Ok(current) => {
                if epoch.as_ref().is_some_and(|known| *known != current) {
                    tracing::warn!("session store lost its data (Redis restarted empty): recording ours again");
                    for (session, peer, conn) in inner.registry.sockets() {
                        election::refresh(&inner, &session, &peer, conn).await;
                    }
                }
                epoch = Some(current);
            }
            Err(err) => tracing::error!(%err, "session store: cannot read its epoch"),
        }
        for session in inner.registry.sessions_without_host() {
            election::sweep(&inner, &session).await;
        }
    }
}
