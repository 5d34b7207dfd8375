//! The pieces every demo room shows, read from the enclosing `<P2pFrame>` (both sides): the status pills
//! (`p2p-status`, `role`, optionally `signaling-status`), the banners (`reconnecting-banner`, `history-gap`,
//! `dropped-messages`, `p2p-error`), and the peer list (`peer-list` / `peer` with `data-peer-name`, `data-state`, `data-host`).

use crate::p2p::{use_p2p, P2pState, Role};
use leptos::prelude::*;

/// The room's untyped view of the frame: these parts read state only, never messages.
fn frame() -> crate::p2p::P2p<serde_json::Value> {
    use_p2p::<serde_json::Value>()
}

/// Connection state and role pills; with `show_signaling`, whether the signaling socket is open.
#[component]
pub fn RoomStatus(#[prop(optional)] show_signaling: bool) -> impl IntoView {
    let p2p = frame();
    let state = move || p2p.state.get().as_str();
    let role = move || p2p.role.get().map_or("", Role::as_str);
    let signaling = move || if p2p.signaling_open.get() { "open" } else { "closed" };
    view! {
        <div class="status-row">
            <span class="pill" data-state=state data-testid="p2p-status">{state}</span>
            <span class="badge" data-role=role data-testid="role">{role}</span>
            {show_signaling.then(|| view! {
                <span class="signal" title="signaling socket">
                    "signaling: " <span data-testid="signaling-status">{signaling}</span>
                </span>
            })}
        </div>
    }
}

/// Banners: reconnecting to a host, a history gap (messages the host could no longer replay), messages
/// this host dropped, and a fatal error.
#[component]
pub fn ConnectionBanners() -> impl IntoView {
    let p2p = frame();
    let missed = move || p2p.missed_messages.get();
    let dropped = move || p2p.dropped_messages.get();
    view! {
        <Show when=move || p2p.state.get() == P2pState::Disconnected>
            <div class="banner banner-warn" data-testid="reconnecting-banner" role="status">
                "Lost the connection to the host. Reconnecting…"
            </div>
        </Show>
        <Show when=move || { missed() > 0 }>
            <div class="banner banner-warn" data-testid="history-gap" data-missed=missed role="status">
                {missed} " earlier message(s) could not be recovered: they left the history before you got them."
            </div>
        </Show>
        <Show when=move || { dropped() > 0 }>
            <div class="banner banner-info" data-testid="dropped-messages" data-dropped=dropped role="status">
                "Dropped " {dropped} " invalid message(s) from peers."
            </div>
        </Show>
        {move || p2p.error.get().map(|e| view! {
            <div class="banner banner-error" data-testid="p2p-error" role="alert">{e}</div>
        })}
    }
}

/// Every peer of the session with its state, host first, marking the host and this peer.
#[component]
pub fn PeerList() -> impl IntoView {
    let p2p = frame();
    let me = move || p2p.peer_id.get();
    view! {
        <h2>"Peers " <span class="count">{move || p2p.peers.get().len()}</span></h2>
        <ul data-testid="peer-list" class="peer-list">
            <For each=move || p2p.peers.get() key=|p| (p.peer.clone(), p.state, p.host) let:p>
                <li class="peer" data-testid="peer" data-peer-name=p.peer.user().to_owned()
                    data-state=p.state.as_str() data-host=p.host.to_string()>
                    <span class="dot" data-state=p.state.as_str() aria-hidden="true"></span>
                    <span class="peer-name">{p.peer.user().to_owned()}</span>
                    {p.host.then(|| view! { <span class="tag">"host"</span> })}
                    {let id = p.peer.clone(); move || (me().as_ref() == Some(&id)).then(|| view! { <span class="tag tag-you">"you"</span> })}
                    <span class="peer-state">{p.state.as_str()}</span>
                </li>
            </For>
        </ul>
    }
}
