//! The demo application shell (HTML document, stylesheet, header) and its routes: the lobby at `/` and
//! chat rooms at `/rooms/{room}`. Rendered on the server, hydrated in the browser.
//!
//! The lobby, `/admin` and the whiteboard are lazy routes (`Lazy<...Route>`): built with `cargo leptos build
//! --split`, their browser code is in wasm chunks fetched when one of them is shown (loaded directly or by
//! navigation), so a chat room, the main page, downloads only the main wasm. Lazy routes need
//! `hydrate_lazy` (see `crate::hydrate`) and a `--split` build: without it the chunks do not exist.

use crate::admin::AdminRoute;
use crate::rooms::chat::ChatRoomPage;
use crate::rooms::lobby::LobbyRoute;
use crate::rooms::whiteboard::WhiteboardRoute;
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::{Lazy, ParamSegment, StaticSegment};

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
                <HydrationScripts options />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Routes and page frame.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <header class="topbar">
                <A href="/" attr:class="brand">
                    <span class="brand-mark" aria-hidden="true">"◎"</span>
                    "p2p-streams"
                </A>
                <span class="tagline">"peer-to-peer rooms over WebRTC"</span>
            </header>
            <main class="page">
                <Routes fallback=NotFound>
                    <Route path=StaticSegment("") view={Lazy::<LobbyRoute>::new()} />
                    <Route path=(StaticSegment("rooms"), ParamSegment("room")) view=ChatRoomPage />
                    <Route path=StaticSegment("admin") view={Lazy::<AdminRoute>::new()} />
                    <Route
                        path=(StaticSegment("whiteboard"), ParamSegment("room"))
                        view={Lazy::<WhiteboardRoute>::new()}
                    />
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
            <p>"There is nothing here. " <A href="/">"Back to the lobby"</A></p>
        </section>
    }
}
