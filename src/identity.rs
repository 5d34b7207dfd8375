//! The demo app's identity: a signed `p2p_user` cookie set by the join form (`POST /join`), the server
//! functions the pages use (`current_user`, `live_rooms`), and the [`JoinPolicy`] deciding who may join
//! which chat session as whom. Validation rules are shared; cookies and policy exist on the server only. The
//! cookie is sealed with the demo's own key (`identity/cookie_key.rs`: derived from `P2P_SECRET`, distinct from
//! the toolkit's join-token key).
//!
//! [`JoinPolicy`]: p2p_streams::JoinPolicy

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Name of the identity cookie.
pub const USER_COOKIE: &str = "p2p_user";
/// Session id prefix of the demo chat rooms.
pub const CHAT_PREFIX: &str = "chat_room_";

/// Every kind of room the app serves; a session id is `{kind}_{room}`. `cargo xtask new-room` adds to it.
pub const ROOM_KINDS: &[&str] = &[
    "chat_room",
    "whiteboard",
    "stage",
    // new-room: kinds above this line
];

/// The room kind and room name of a session id such as `chat_room_lounge`, if the kind is registered.
pub fn parse_session(session_id: &str) -> Option<(&'static str, &str)> {
    ROOM_KINDS.iter().find_map(|kind| {
        let room = session_id.strip_prefix(kind)?.strip_prefix('_')?;
        valid_room(room).then_some((*kind, room))
    })
}

/// A display name: 1..=32 characters after trimming, no control characters and no `#`.
pub fn valid_name(name: &str) -> bool {
    let name = name.trim();
    (1..=32).contains(&name.chars().count()) && !name.chars().any(|c| c.is_control() || c == '#')
}

/// A room name: 1..=48 ASCII letters, digits, `-` or `_`.
pub fn valid_room(room: &str) -> bool {
    (1..=48).contains(&room.len()) && room.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The session id of chat room `room`.
pub fn chat_session(room: &str) -> String {
    format!("{CHAT_PREFIX}{room}")
}

/// The page of room `room` of kind `kind`: chat rooms live at `/rooms/{room}`, other kinds at `/{kind}/{room}`.
pub fn room_path(kind: &str, room: &str) -> String {
    match kind {
        "chat_room" => format!("/rooms/{room}"),
        other => format!("/{other}/{room}"),
    }
}

/// A live room in the lobby.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSummary {
    /// The room's kind (an entry of [`ROOM_KINDS`]).
    pub kind: String,
    /// The room name.
    pub room: String,
    /// Peers in its star, as its host last reported.
    pub peers: u32,
}

/// The signed-in user's name, from the identity cookie. The room pages call it while the server renders them
/// (in-process); no page calls it from the browser.
#[server(prefix = "/api", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<String>, ServerFnError> {
    let key = use_context::<CookieKey>().ok_or_else(|| ServerFnError::new("CookieKey missing from the context"))?;
    let parts: http::request::Parts = leptos_axum::extract().await?;
    Ok(ssr::user_from_headers(&parts.headers, &key))
}

/// Rooms of every kind that have a live host, with their peer counts.
#[server(prefix = "/api", endpoint = "live_rooms")]
pub async fn live_rooms() -> Result<Vec<RoomSummary>, ServerFnError> {
    let server = use_context::<p2p_streams::P2pServer>()
        .ok_or_else(|| ServerFnError::new("P2pServer missing from the context"))?;
    let sessions = server.signaling().live_sessions().await.map_err(|e| ServerFnError::new(e.to_string()))?;
    let mut rooms: Vec<RoomSummary> = sessions
        .into_iter()
        .filter_map(|s| {
            let (kind, room) = parse_session(&s.session_id.0)?;
            Some(RoomSummary { kind: kind.to_owned(), room: room.to_owned(), peers: s.peers.max(1) })
        })
        .collect();
    rooms.sort_by(|a, b| b.peers.cmp(&a.peers).then_with(|| a.room.cmp(&b.room)));
    Ok(rooms)
}

#[cfg(feature = "ssr")]
mod cookie_key;
#[cfg(feature = "ssr")]
pub use cookie_key::CookieKey;
#[cfg(feature = "ssr")]
pub use ssr::{cookie, join_handler, DemoJoinPolicy};

#[cfg(feature = "ssr")]
mod ssr {
    use super::{parse_session, room_path, valid_name, valid_room, CookieKey, ROOM_KINDS, USER_COOKIE};
    use axum::extract::{Form, State};
    use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
    use axum::response::{IntoResponse, Response};
    use p2p_streams::{async_trait, JoinPolicy, JoinRefusal};
    use serde::Deserialize;

    /// The value of cookie `name` in the request headers.
    pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find_map(|(key, value)| (key == name).then_some(value))
    }

    /// The user in the request's identity cookie, if its seal holds.
    pub fn user_from_headers(headers: &HeaderMap, key: &CookieKey) -> Option<String> {
        cookie(headers, USER_COOKIE).and_then(|value| key.open(value)).filter(|name| valid_name(name))
    }

    /// Fields of the join form.
    #[derive(Deserialize)]
    pub struct JoinForm {
        name: String,
        room: String,
        /// The kind of room to open (default: chat).
        #[serde(default)]
        kind: Option<String>,
    }

    fn see_other(location: &str) -> Response {
        let mut response = StatusCode::SEE_OTHER.into_response();
        if let Ok(value) = HeaderValue::from_str(location) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        response
    }

    /// `POST /join`: validates the form, sets the signed identity cookie and redirects to the room.
    pub async fn join_handler(State(key): State<CookieKey>, Form(form): Form<JoinForm>) -> Response {
        let (name, room) = (form.name.trim().to_owned(), form.room.trim().to_owned());
        let kind =
            form.kind.as_deref().and_then(|k| ROOM_KINDS.iter().find(|known| **known == k)).unwrap_or(&"chat_room");
        if !valid_room(&room) {
            return see_other(&format!("/?error=room&kind={kind}"));
        }
        if !valid_name(&name) {
            return see_other(&format!("/?error=name&room={room}&kind={kind}"));
        }
        let cookie = format!("{USER_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age=2592000", key.seal(&name));
        let mut response = see_other(&room_path(kind, &room));
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
        tracing::info!(room = %room, "user joined through the form");
        response
    }

    /// Lets the cookie's user join chat sessions as themselves only.
    pub struct DemoJoinPolicy {
        /// Opens the identity cookie.
        key: CookieKey,
    }

    impl DemoJoinPolicy {
        /// A policy trusting cookies sealed with `key`.
        pub fn new(key: CookieKey) -> Self {
            DemoJoinPolicy { key }
        }
    }

    /// Refusals: 404 for a session that is no demo room, 401 without a valid identity cookie, 403 for a peer
    /// id that is not the cookie's user.
    #[async_trait]
    impl JoinPolicy for DemoJoinPolicy {
        async fn authorize(
            &self,
            parts: &http::request::Parts,
            session_id: &str,
            peer_id: &str,
        ) -> Result<(), JoinRefusal> {
            parse_session(session_id).ok_or_else(|| JoinRefusal::not_found("unknown room"))?;
            let user = user_from_headers(&parts.headers, &self.key)
                .ok_or_else(|| JoinRefusal::unauthorized("not signed in"))?;
            if user != peer_id {
                return Err(JoinRefusal::forbidden("peer id is not the signed-in user"));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_rooms_are_validated() {
        assert!(valid_name(" ada "));
        assert!(!valid_name(""));
        assert!(!valid_name("a#b"));
        assert!(!valid_name(&"x".repeat(33)));
        assert!(valid_room("team-1_a"));
        assert!(!valid_room("a b"));
        assert!(!valid_room("<script>"));
        assert_eq!(chat_session("x"), "chat_room_x");
        assert_eq!(parse_session("chat_room_x-1"), Some(("chat_room", "x-1")));
        assert_eq!(parse_session("chat_room_"), None);
        assert_eq!(parse_session("other_x"), None);
    }
}
