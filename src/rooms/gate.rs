//! The page around every demo room (rendered on the server; with islands, no browser code): the signed-in user
//! gets the room, a visitor goes to the lobby with the room (and its kind) pre-filled, a bad room name or a
//! failed sign-in check gets an error banner (`p2p-error`).

use crate::identity::{current_user, valid_room};
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_params_map;

/// The page of the room named by the route's `room` parameter.
#[component]
pub fn RoomGate<F>(
    /// Shown while the sign-in is read.
    loading: &'static str,
    /// The lobby's `kind` for this room (`None`: the chat room, the lobby's default).
    kind: Option<&'static str>,
    /// The room for a signed-in user, from the room's name and the user's.
    room_view: F,
) -> impl IntoView
where
    F: Fn(String, String) -> AnyView + Clone + Send + Sync + 'static,
{
    let params = use_params_map();
    let user = Resource::new_blocking(|| (), |_| current_user());
    view! {
        <Suspense fallback=move || view! { <p class="muted">{loading}</p> }>
            {move || {
                let room_view = room_view.clone();
                Suspend::new(async move {
                    let room = params.read_untracked().get("room").unwrap_or_default();
                    match user.await {
                        Ok(_) if !valid_room(&room) => view! {
                            <p class="banner banner-error" data-testid="p2p-error">"This room name is not valid."</p>
                        }.into_any(),
                        Ok(Some(name)) => room_view(room, name),
                        Ok(None) => {
                            let path = match kind {
                                Some(kind) => format!("/?room={room}&kind={kind}"),
                                None => format!("/?room={room}"),
                            };
                            view! { <Redirect path /> }.into_any()
                        }
                        Err(err) => view! {
                            <p class="banner banner-error" data-testid="p2p-error">{format!("Could not open the room: {err}")}</p>
                        }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}
