//! The `/admin` page: rendered on the server with the first snapshot (so a refusal is a real 403 page); the
//! inspector is a lazy island ([`Inspector`], a wasm chunk of its own) that, once hydrated, polls
//! [`admin_sessions`] every second while access holds. All session and
//! peer names are text nodes and attribute values set through the view macro, never HTML.

use super::{admin_sessions, AdminError, AdminSession, AdminSnapshot};
use crate::app::page_query;
use leptos::prelude::*;
use std::time::Duration;

/// How often the page asks for a fresh snapshot.
const REFRESH: Duration = Duration::from_secs(1);

/// The inspector page (rendered on the server). A `?token=` logs the browser in (a session cookie).
#[component]
pub fn AdminPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(token) = page_query("token") {
        super::auth::login_from_query(&token);
    }
    view! { <Inspector /> }
}

/// The live sessions, refreshed every [`REFRESH`] in the browser (a lazy island).
#[island(lazy)]
fn Inspector() -> impl IntoView {
    // Blocking: the server function's status (403) must reach the page's response headers. The page's own
    // `?token=` goes with every call (the cookie alone after a login by the form).
    let token = page_query("token");
    let snapshot = Resource::new_blocking(move || token.clone(), admin_sessions);
    Effect::new(move |_| {
        let tick = move || {
            // A refusal does not heal by itself: stop asking (and stop logging 403s) until a new login.
            let refused = matches!(snapshot.get_untracked(), Some(Err(AdminError::Disabled | AdminError::Refused)));
            if !refused {
                snapshot.refetch();
            }
        };
        if let Ok(handle) = set_interval_with_handle(tick, REFRESH) {
            on_cleanup(move || handle.clear());
        }
    });

    view! {
        <section class="card admin">
            <h1>"Inspector"</h1>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match snapshot.await {
                        Ok(snapshot) => sessions(snapshot).into_any(),
                        Err(AdminError::Disabled) => view! {
                            <p class="banner banner-warn" data-testid="admin-disabled">
                                "The admin inspector is disabled: start the server with --admin-token (P2P_ADMIN_TOKEN) to enable it."
                            </p>
                        }.into_any(),
                        Err(AdminError::Refused) => refused().into_any(),
                        Err(err) => view! {
                            <p class="banner banner-error" data-testid="admin-error">{err.to_string()}</p>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Access refused: say so, and offer to present the token (a plain GET form, so it works before hydration).
fn refused() -> impl IntoView {
    view! {
        <p class="banner banner-error" data-testid="admin-refused">"Access refused: the admin token is missing or wrong."</p>
        <form method="get" action="/admin" class="join-form">
            <label>
                <span>"Admin token"</span>
                <input data-testid="admin-token" name="token" type="password" required autocomplete="off" />
            </label>
            <button data-testid="admin-login" type="submit" class="primary">"Open the inspector"</button>
        </form>
    }
}

/// The live sessions.
fn sessions(snapshot: AdminSnapshot) -> impl IntoView {
    let count = snapshot.sessions.len();
    view! {
        <p class="muted">
            {format!("{count} live {}, refreshed every second.", if count == 1 { "session" } else { "sessions" })}
        </p>
        {if snapshot.sessions.is_empty() {
            view! { <p class="muted" data-testid="admin-empty">"No live sessions."</p> }.into_any()
        } else {
            view! {
                <ul class="room-list" data-testid="admin-sessions">
                    {snapshot.sessions.into_iter().map(session).collect_view()}
                </ul>
            }.into_any()
        }}
    }
}

/// One session with its peers.
fn session(s: AdminSession) -> impl IntoView {
    // The macro builds children before attributes: the attributes get their own copies.
    let (id, host, host_id) = (s.session_id, s.host.user().to_owned(), s.host.0.clone());
    let (id_attr, host_attr, peers_attr) = (id.clone(), host.clone(), s.peers.to_string());
    let unreported = s.states.is_empty();
    view! {
        <li data-testid="admin-session" data-session=id_attr data-host=host_attr data-peers=peers_attr>
            <div>
                <strong>{id}</strong>
                <span class="count">{format!(" {} {}, host ", s.peers, if s.peers == 1 { "peer" } else { "peers" })}</span>
                <span class="peer-name" title=host_id>{host}</span>
                {unreported.then(|| view! { <p class="muted">"The host has not reported peer states yet."</p> })}
                <ul class="peer-list">
                    {s.states.into_iter().map(|p| view! {
                        <li class="peer" data-testid="admin-peer" data-peer-name=p.peer.user().to_owned()
                            data-peer-id=p.peer.0.clone() data-state=p.state.as_str() data-host=p.host.to_string()>
                            <span class="dot" data-state=p.state.as_str() aria-hidden="true"></span>
                            <span class="peer-name" title=p.peer.0.clone()>{p.peer.user().to_owned()}</span>
                            {p.host.then(|| view! { <span class="tag">"host"</span> })}
                            <span class="peer-state">{p.state.as_str()}</span>
                        </li>
                    }).collect_view()}
                </ul>
            </div>
        </li>
    }
}
