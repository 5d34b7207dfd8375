//! The pieces every demo room shows, read from the enclosing `<P2pFrame>` (both sides): the status pills
//! (`p2p-status`, `role`, optionally `signaling-status`), the banners (`reconnecting-banner`, `history-gap`,
//! `dropped-messages`, `p2p-error`), the peer list (`peer-list` / `peer` with `data-peer-name`, `data-state`,
//! `data-host`, and `data-route` once a client's link is connected and measured), and the `?relay=1` query flag.
//!
//! Size note: every reactive value here is a `Signal<String>` ([`text`]) and each list is one `<For>`, so the
//! browser build compiles the reactive text and attribute code once for all of them instead of once per
//! closure type (docs/performance.md, bundle).

use crate::app::page_query;
use leptos::prelude::*;
use p2p_streams::{use_p2p_status, Forgery, IceTransportPolicy, LinkState, P2pState, P2pStatus, Role};

/// Whether the page's query string turns `name` on (`name=1` or `name=true`), the same on both sides.
pub fn flag_query(name: &str) -> bool {
    page_query(name).is_some_and(|v| v == "1" || v == "true")
}

/// `?relay=1`: this page's connections use TURN relay candidates only, so no other peer learns its addresses.
pub fn ice_policy_from_query() -> IceTransportPolicy {
    if flag_query("relay") {
        IceTransportPolicy::Relay
    } else {
        IceTransportPolicy::All
    }
}

/// Reports a message the frame did not take (the room was closed, or the message did not serialize) on the
/// console: the demo's messages always serialize and it never closes a frame, so this is a bug report.
pub fn warn_unsent(result: Result<(), p2p_streams::SendError>) {
    if let Err(err) = result {
        leptos::logging::warn!("message not sent: {err}");
    }
}

/// The room's state: these parts read state only, never messages, so they need no message type.
fn frame() -> P2pStatus {
    use_p2p_status()
}

/// A reactive string for a text node or an attribute: one type for every reactive value of the room pages.
pub fn text(f: impl Fn() -> String + Send + Sync + 'static) -> Signal<String> {
    Signal::derive(f)
}

/// Connection state and role pills; with `show_signaling`, whether the signaling socket is open.
#[component]
pub fn RoomStatus(#[prop(optional)] show_signaling: bool) -> impl IntoView {
    let p2p = frame();
    let state = text(move || p2p.state.get().as_str().to_owned());
    let role = text(move || p2p.role.get().map_or("", Role::as_str).to_owned());
    let signaling = text(move || if p2p.signaling_open.get() { "open" } else { "closed" }.to_owned());
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

/// One banner of [`ConnectionBanners`].
#[derive(Clone, PartialEq, Eq, Hash)]
struct Banner {
    class: &'static str,
    testid: &'static str,
    role: &'static str,
    missed: Option<String>,
    dropped: Option<String>,
    /// Forged history refused: how many entries, and who handed them over (user names, comma-separated).
    forged: Option<(String, String)>,
    text: String,
}

/// The banners showing now, in order: reconnecting, history gap, dropped messages, fatal error, forged history
/// refused.
fn banners(state: P2pState, missed: u64, dropped: u64, error: Option<String>, forgeries: &[Forgery]) -> Vec<Banner> {
    let banner = |class, testid, role, text: String| Banner {
        class,
        testid,
        role,
        missed: None,
        dropped: None,
        forged: None,
        text,
    };
    let mut shown = Vec::new();
    if state == P2pState::Disconnected {
        let text = "Lost the connection to the host. Reconnecting…".to_owned();
        shown.push(banner("banner banner-warn", "reconnecting-banner", "status", text));
    }
    if missed > 0 {
        let text =
            format!("{missed} earlier message(s) could not be recovered: they left the history before you got them.");
        shown.push(Banner {
            missed: Some(missed.to_string()),
            ..banner("banner banner-warn", "history-gap", "status", text)
        });
    }
    if dropped > 0 {
        let text = format!("Dropped {dropped} invalid message(s) from peers.");
        shown.push(Banner {
            dropped: Some(dropped.to_string()),
            ..banner("banner banner-info", "dropped-messages", "status", text)
        });
    }
    if let Some(error) = error {
        shown.push(banner("banner banner-error", "p2p-error", "alert", error));
    }
    if !forgeries.is_empty() {
        let mut forgers: Vec<&str> = forgeries.iter().map(|f| f.by.user()).collect();
        forgers.dedup();
        let (count, forgers) = (forgeries.len().to_string(), forgers.join(","));
        let text = format!("Refused {count} forged history message(s) from {forgers}.");
        shown.push(Banner {
            forged: Some((count, forgers)),
            ..banner("banner banner-error", "forged-history", "alert", text)
        });
    }
    shown
}

/// Banners: reconnecting to a host, a history gap (messages the host could no longer replay), messages
/// this host dropped, a fatal error, and forged history this peer refused.
#[component]
pub fn ConnectionBanners() -> impl IntoView {
    let p2p = frame();
    let shown = move || {
        let forgeries = p2p.forgeries.get();
        banners(p2p.state.get(), p2p.missed_messages.get(), p2p.dropped_messages.get(), p2p.error.get(), &forgeries)
    };
    view! {
        <For each=shown key=|b| b.clone() let:b>
            <div class=b.class data-testid=b.testid data-missed=b.missed data-dropped=b.dropped
                data-forged=b.forged.clone().map(|f| f.0) data-forgers=b.forged.map(|f| f.1) role=b.role>
                {b.text}
            </div>
        </For>
    }
}

/// Every peer of the session with its state, host first, marking the host and this peer, and how each
/// connected client's link to the host runs (`data-route` and a small label, e.g. "relay").
#[component]
pub fn PeerList() -> impl IntoView {
    let p2p = frame();
    let rows = move || {
        let me = p2p.peer_id.get();
        let peers = p2p.peers.get();
        peers.into_iter().map(|p| (me.as_ref() == Some(&p.peer), p)).collect::<Vec<_>>()
    };
    let count = text(move || p2p.peers.with(Vec::len).to_string());
    view! {
        <h2>"Peers " <span class="count">{count}</span></h2>
        <ul data-testid="peer-list" class="peer-list">
            <For each=rows key=|(me, p)| (p.peer.clone(), p.state, p.host, p.route, *me) let:((me, p))>
                {
                    let route = p.route.filter(|_| p.state == LinkState::Connected && !p.host).map(|r| r.as_str());
                    view! {
                        <li class="peer" data-testid="peer" data-peer-name=p.peer.user().to_owned()
                            data-state=p.state.as_str() data-host=p.host.to_string() data-route=route>
                            <span class="dot" data-state=p.state.as_str() aria-hidden="true"></span>
                            <span class="peer-name">{p.peer.user().to_owned()}</span>
                            {p.host.then(|| view! { <span class="tag">"host"</span> })}
                            {me.then(|| view! { <span class="tag tag-you">"you"</span> })}
                            <span class="peer-state">{p.state.as_str()}</span>
                            {route.map(|r| view! {
                                <span class="peer-route muted" data-testid="peer-route"
                                    title="how this peer's link to the host runs">{r}</span>
                            })}
                        </li>
                    }
                }
            </For>
        </ul>
    }
}
