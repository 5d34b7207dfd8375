//! The inspector's view of the embedded TURN server (both sides): the live allocations as the server function
//! sends them ([`AdminTurn`]) and the list `/admin` renders (`admin-turn`, one `admin-allocation` row each).

use crate::decimal::byte_size;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One live TURN allocation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminAllocation {
    /// The peer its credential was minted for.
    pub user: String,
    /// The client's address as the server sees it.
    pub client: String,
    /// The relayed address handed to the client.
    pub relay: String,
    /// Seconds since it was created.
    pub age_secs: u64,
    /// Payload bytes relayed from the client to peers.
    pub bytes_to_peer: u64,
    /// Payload bytes relayed from peers to the client.
    pub bytes_to_client: u64,
}

/// The embedded TURN server's state (`None` in the snapshot: the server is off).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminTurn {
    /// Live allocations, oldest first.
    pub allocations: Vec<AdminAllocation>,
}

#[cfg(feature = "ssr")]
impl From<&p2p_streams::server::turn::EmbeddedTurn> for AdminTurn {
    fn from(server: &p2p_streams::server::turn::EmbeddedTurn) -> Self {
        let allocations = server
            .allocations()
            .into_iter()
            .map(|a| AdminAllocation {
                user: a.user,
                client: a.client,
                relay: a.relay,
                age_secs: a.age_secs,
                bytes_to_peer: a.bytes_to_peer,
                bytes_to_client: a.bytes_to_client,
            })
            .collect();
        AdminTurn { allocations }
    }
}

/// The TURN section of the inspector.
pub(super) fn turn_view(turn: Option<AdminTurn>) -> impl IntoView {
    let Some(turn) = turn else {
        return view! {
            <section class="card turn-card" data-testid="admin-turn-off">
                <h2>"TURN relay"</h2>
                <p class="muted">"The embedded STUN/TURN server is off (set P2P_TURN_LISTEN to turn it on)."</p>
            </section>
        }
        .into_any();
    };
    let count = turn.allocations.len();
    view! {
        <section class="card turn-card" data-testid="admin-turn" data-allocations=count.to_string()>
            <h2>"TURN relay"</h2>
            <p class="muted">{format!("{count} live {}.", if count == 1 { "allocation" } else { "allocations" })}</p>
            <ul class="peer-list">
                {turn.allocations.into_iter().map(|a| {
                    // The macro builds children before attributes: the attributes get their own copies.
                    let (user_attr, relay_attr) = (a.user.clone(), a.relay.clone());
                    view! {
                    <li class="peer" data-testid="admin-allocation" data-user=user_attr data-relay=relay_attr>
                        <span class="peer-name">{a.user}</span>
                        <span class="muted">{format!(" {} via {}, {} s", a.client, a.relay, a.age_secs)}</span>
                        <span class="peer-state">
                            {format!("{} out, {} in", byte_size(a.bytes_to_peer, 1000), byte_size(a.bytes_to_client, 1000))}
                        </span>
                    </li>
                }}).collect_view()}
            </ul>
        </section>
    }
    .into_any()
}
