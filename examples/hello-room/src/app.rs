//! The page: `/?name=alice` joins the room `hello` as `alice`; without a valid name, a form asks for one.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::hooks::use_query_map;
use leptos_router::path;
use p2p_streams::{use_p2p, P2pFrame};
use serde::{Deserialize, Serialize};

/// The one room everybody joins.
pub const ROOM: &str = "hello";

/// A name the join policy accepts: 1 to 32 ASCII letters, digits, `-` or `_`.
pub fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The messages of this room.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Chat {
    pub text: String,
}

/// The HTML document the server renders around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="data:," />
                <title>"hello-room"</title>
                <link rel="stylesheet" href="/pkg/hello-room.css" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The app: one route.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <main>
                <h1>"hello-room"</h1>
                <Routes fallback=|| "not found">
                    <Route path=path!("/") view=Home />
                </Routes>
            </main>
        </Router>
    }
}

/// `/?name=…`: the room for a valid name, the name form otherwise.
#[component]
fn Home() -> impl IntoView {
    let query = use_query_map();
    let name = move || query.read().get("name").filter(|name| valid_name(name));
    view! {
        {move || match name() {
            Some(name) => view! { <Room name /> }.into_any(),
            None => view! {
                <form method="get">
                    <input name="name" placeholder="your name (letters, digits, - or _)" required />
                    <button type="submit">"Join"</button>
                </form>
            }
            .into_any(),
        }}
    }
}

/// The room: the frame joins `hello` as `name`; [`Chat`] renders inside it.
#[component]
fn Room(name: String) -> impl IntoView {
    view! {
        <P2pFrame session_id=ROOM peer_id=name>
            <ChatView />
        </P2pFrame>
    }
}

/// State, peers, messages and a send form, from [`use_p2p`].
#[component]
fn ChatView() -> impl IntoView {
    let p2p = use_p2p::<Chat>();
    let (draft, set_draft) = signal(String::new());
    let (send_error, set_send_error) = signal(None::<String>);
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = draft.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        match p2p.send(Chat { text }) {
            Ok(()) => {
                set_draft.set(String::new());
                set_send_error.set(None);
            }
            Err(err) => set_send_error.set(Some(err.to_string())),
        }
    };
    view! {
        <p>"state: " <span data-testid="state">{move || p2p.state.get().as_str()}</span></p>
        <p data-testid="error">{move || p2p.error.get()}</p>
        <h2>"Peers"</h2>
        <ul>
            {move || {
                p2p.peers
                    .get()
                    .into_iter()
                    .map(|p| view! { <li data-testid="peer">{p.peer.user().to_owned()}</li> })
                    .collect_view()
            }}
        </ul>
        <h2>"Messages"</h2>
        <ul>
            {move || {
                p2p.messages
                    .get()
                    .into_iter()
                    .map(|m| {
                        view! {
                            <li data-testid="message">{m.from.user().to_owned()} ": " {m.data.text}</li>
                        }
                    })
                    .collect_view()
            }}
        </ul>
        <form on:submit=send>
            <input
                data-testid="draft"
                placeholder="message"
                prop:value=draft
                on:input=move |ev| set_draft.set(event_target_value(&ev))
            />
            <button data-testid="send" type="submit">"Send"</button>
        </form>
        <p data-testid="send-error">{send_error}</p>
    }
}
