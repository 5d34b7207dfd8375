//! Early signaling against the real binary: a signed-in user's server-rendered room page carries the inline
//! script of `p2p_streams::early`, and what that script would send (its session, its token, its `join` frame) is
//! accepted by the server: the first page's socket is welcomed as host, the second's as its client, and the
//! host hears of it. A page without the identity cookie carries no script.
#![cfg(all(feature = "ssr", target_os = "linux"))]

mod common;

use common::child::ServerProcess;
use common::{http, WAIT};
use futures::{SinkExt, StreamExt};
use p2p_streams::protocol::{PeerId, Role, ServerToClient, SIGNALING_PATH};
use std::net::SocketAddr;
use tokio_tungstenite::tungstenite::Message;

/// What the page's early script holds: the session, the token and the `join` frame it sends.
struct EarlyScript {
    session: String,
    token: String,
    join: String,
}

/// The JS string literal (JSON syntax) right after `marker` in `html`.
fn literal_after(html: &str, marker: &str) -> Option<String> {
    let rest = &html[html.find(marker)? + marker.len()..];
    serde_json::Deserializer::from_str(rest).into_iter::<String>().next()?.ok()
}

/// Signs `user` in (`POST /join`) and reads the early script of their room page.
async fn room_page_script(addr: SocketAddr, user: &str, room: &str) -> Option<EarlyScript> {
    let form = format!("name={user}&room={room}");
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    let signed_in = http(addr, "POST", "/join", &headers, &form).await;
    let cookie = signed_in.header("set-cookie").and_then(|c| c.split(';').next()).expect("identity cookie");
    let page = http(addr, "GET", &format!("/rooms/{room}"), &[("Cookie", cookie)], "").await;
    assert_eq!(page.status, 200, "{}", page.body);
    Some(EarlyScript {
        session: literal_after(&page.body, "const s=")?,
        token: literal_after(&page.body, ",t=")?,
        join: literal_after(&page.body, "ws.onopen=()=>ws.send(")?,
    })
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Does what the script does: opens the signaling socket with its session and token and sends its `join`.
async fn run_script(addr: SocketAddr, script: &EarlyScript, tab: &str) -> Socket {
    let url = format!("ws://{addr}{SIGNALING_PATH}?session={}&token={}&tab={tab}", script.session, script.token);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("the script's socket is accepted");
    ws.send(Message::text(script.join.clone())).await.expect("send join");
    ws
}

async fn next_frame(ws: &mut Socket) -> ServerToClient {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next()).await.expect("a frame in time").expect("open").unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).expect("a server frame");
        }
    }
}

#[tokio::test]
async fn the_room_page_script_joins_with_a_ticket_the_server_accepts() {
    let server = ServerProcess::spawn(&[]);
    let addr = server.addr;

    let alice = room_page_script(addr, "alice", "early1").await.expect("alice's page has the early script");
    assert_eq!(alice.session, "chat_room_early1");
    assert_eq!(alice.join, r#"{"type":"join","version":1}"#);
    let mut alice_ws = run_script(addr, &alice, "tab-a").await;
    let host = PeerId::with_tab("alice", "tab-a");
    match next_frame(&mut alice_ws).await {
        ServerToClient::Welcome { peer_id, role: Role::Host, .. } => assert_eq!(peer_id, host),
        other => panic!("alice: expected a host welcome, got {other:?}"),
    }

    let bob = room_page_script(addr, "bob", "early1").await.expect("bob's page has the early script");
    assert_ne!(bob.token, alice.token, "each user's page carries their own token");
    let mut bob_ws = run_script(addr, &bob, "tab-b").await;
    match next_frame(&mut bob_ws).await {
        ServerToClient::Welcome { role: Role::Client, host: named, .. } => assert_eq!(named, host),
        other => panic!("bob: expected a client welcome, got {other:?}"),
    }
    let joined = next_frame(&mut alice_ws).await;
    assert_eq!(joined, ServerToClient::PeerJoined { peer: PeerId::with_tab("bob", "tab-b") });
}

#[tokio::test]
async fn a_page_without_a_signed_in_user_has_no_script() {
    let server = ServerProcess::spawn(&[]);
    let page = http(server.addr, "GET", "/rooms/early2", &[], "").await;
    assert!(!page.body.contains("__p2pEarly"), "no ticket, no script: {}", page.body);
}
