//! The demo application shell (HTML document, stylesheet, header) and its routes: the lobby at `/`, chat rooms
//! at `/rooms/{room}`, whiteboards at `/whiteboard/{room}` and the inspector at `/admin`.
//!
//! The pages are rendered on the server, routes included; in the browser only their islands run (`#[island]`,
//! see `crate::hydrate`), so following a link loads a page. A chat room's island is in the main wasm; the others
//! are lazy islands (`#[island(lazy)]`) whose code is in wasm chunks fetched when a page shows one (`cargo
//! leptos build --split`), so a chat room downloads only the main wasm. [`page_query`] reads the page's query
//! string on both sides, where the router's hooks only exist on the server.

use crate::admin::AdminPage;
use crate::rooms::chat::ChatRoomPage;
use crate::rooms::lobby::Lobby;
use crate::rooms::whiteboard::WhiteboardPage;
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{ParamSegment, StaticSegment};

/// The HTML document around [`App`] (server only). The title and the stylesheet are plain tags here: no page
/// sets its own, so the browser needs no head-management code (leptos_meta took 6 KB gzip of the room's wasm).
/// The stylesheet's name carries its hash in a hashed build (`crate::site`). `cargo leptos watch` still
/// hot-reloads it: its script finds the `<link>` by `href`.
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let stylesheet = crate::site::stylesheet_href(&options);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="data:," />
                <title>"p2p-streams"</title>
                <link id="leptos" rel="stylesheet" href=stylesheet />
                <AutoReload options=options.clone() />
                <HydrationScripts options islands=true />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Routes and page frame (rendered on the server only: the router has no code in the browser).
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <header class="topbar">
                <a href="/" class="brand">
                    <span class="brand-mark" aria-hidden="true">"◎"</span>
                    "p2p-streams"
                </a>
                <span class="tagline">"peer-to-peer rooms over WebRTC"</span>
            </header>
            <main class="page">
                <Routes fallback=NotFound>
                    <Route path=StaticSegment("") view=Lobby />
                    <Route path=(StaticSegment("rooms"), ParamSegment("room")) view=ChatRoomPage />
                    <Route path=StaticSegment("admin") view=AdminPage />
                    <Route path=(StaticSegment("whiteboard"), ParamSegment("room")) view=WhiteboardPage />
                    <Route path=(StaticSegment("stage"), ParamSegment("room")) view=crate::rooms::stage::StagePage />
                    // new-room: routes above this line (added by `cargo xtask new-room`)
                </Routes>
            </main>
        </Router>
    }
}

/// Any unknown path.
#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="card narrow">
            <h1>"Not found"</h1>
            <p>"There is nothing here. " <a href="/">"Back to the lobby"</a></p>
        </section>
    }
}

/// The value of `name` in the page's query string, decoded: from the router on the server, from
/// `location.search` in the browser, where islands have no router.
pub fn page_query(name: &str) -> Option<String> {
    #[cfg(not(feature = "hydrate"))]
    return leptos_router::hooks::use_query_map().read_untracked().get(name);
    #[cfg(feature = "hydrate")]
    return web_sys::UrlSearchParams::new_with_str(&window().location().search().ok()?).ok()?.get(name);
}
