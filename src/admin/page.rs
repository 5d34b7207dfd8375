//! The `/admin` page: rendered on the server with the first snapshot (so a refusal is a real 403 page); the
//! inspector is a lazy island (`Inspector`, a wasm chunk of its own) that, once hydrated, polls
//! [`super::admin_sessions`] every second while access holds. All session and
//! peer names are text nodes and attribute values set through the view macro, never HTML.

use super::{first_snapshot, AdminError, AdminSession, AdminSnapshot};
use crate::app::page_query;
use leptos::prelude::*;
#[cfg(feature = "hydrate")]
use std::time::Duration;

/// How often the page asks for a fresh snapshot.
#[cfg(feature = "hydrate")]
const REFRESH: Duration = Duration::from_secs(1);

/// The inspector page (rendered on the server). A `?token=` logs the browser in (a session cookie).
#[component]
pub fn AdminPage() -> impl IntoView {
    let token = page_query("token");
    // Blocking: the status (303, 403, 429) and headers must reach the page's response.
    let snapshot = Resource::new_blocking(|| (), move |_| first_snapshot(token.clone()));
    view! {
        <section class="card admin">
            <h1>"Inspector"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move { view! { <Inspector initial=snapshot.await /> } })}
            </Suspense>
        </section>
    }
}

/// The live sessions (or why they cannot be shown), in place of the server's `initial` answer as the browser
/// asks again every second, the page's own `?token=` with each call (the cookie alone after a login by the
/// form). A refusal does not heal by itself: the island stops asking (and logging 403s) until a new login. A
/// lazy island: its code is a wasm chunk of its own.
#[island(lazy)]
fn Inspector(initial: Result<AdminSnapshot, AdminError>) -> impl IntoView {
    let refused = |answer: &Result<AdminSnapshot, AdminError>| {
        matches!(answer, Err(AdminError::Disabled | AdminError::Refused | AdminError::Limited { .. }))
    };
    let keep_asking = !refused(&initial);
    let snapshot = RwSignal::new(initial);
    #[cfg(feature = "hydrate")]
    if keep_asking {
        let token = page_query("token");
        crate::refresh::every(
            REFRESH,
            move || fetch_snapshot(token.clone()),
            move |answer| {
                let stop = refused(&answer);
                snapshot.set(answer);
                !stop
            },
        );
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = keep_asking;

    move || match snapshot.get() {
        Ok(snapshot) => sessions(snapshot).into_any(),
        Err(AdminError::Disabled) => view! {
            <p class="banner banner-warn" data-testid="admin-disabled">
                "The admin inspector is disabled: start the server with --admin-token (P2P_ADMIN_TOKEN) to enable it."
            </p>
        }
        .into_any(),
        Err(AdminError::Refused) => refused_view().into_any(),
        Err(err @ AdminError::Limited { .. }) => {
            view! { <p class="banner banner-error" data-testid="admin-limited">{err.to_string()}</p> }.into_any()
        }
        Err(err) => view! { <p class="banner banner-error" data-testid="admin-error">{err.to_string()}</p> }.into_any(),
    }
}

/// [`super::admin_sessions`] from the browser with one `fetch`; its errors come in their own JSON encoding.
#[cfg(feature = "hydrate")]
async fn fetch_snapshot(token: Option<String>) -> Result<AdminSnapshot, AdminError> {
    use leptos::server_fn::ServerFn;
    use p2p_streams::client::call_server_fn_raw;
    let args: Vec<(&str, &str)> = token.as_deref().map(|t| ("token", t)).into_iter().collect();
    let answer = call_server_fn_raw(super::AdminSessions::PATH, &args).await.map_err(AdminError::Call)?;
    if answer.ok {
        serde_json::from_str(&answer.body).map_err(|err| AdminError::Call(format!("unreadable answer: {err}")))
    } else {
        Err(serde_json::from_str(&answer.body)
            .unwrap_or_else(|_| AdminError::Call(answer.body.chars().take(200).collect())))
    }
}

/// Access refused: say so, and offer to present the token (a plain GET form, so it works before hydration).
fn refused_view() -> impl IntoView {
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
    let turn = super::turn::turn_view(snapshot.turn);
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
        {turn}
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
