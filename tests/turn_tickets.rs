//! TURN credentials travel with join tickets, run against the server binary: a signed-in user's ticket carries
//! a credential for the configured URLs and the embedded server's, expiring with the token and minted anew
//! with each ticket; the embedded server accepts it (driven by the `turn` crate's client); a ticket the join
//! policy refuses carries none; and the start-up log names the configuration without the secret.

mod common;

use common::child::ServerProcess;
use common::http;
use p2p_streams::server::turn::TurnCredentials;

/// A clearly-marked test fixture, never a real secret.
const TURN_SECRET: &str = "turn-tickets-test-fixture-secret";
const EXTERNAL_URL: &str = "turn:turn.example.org:3478?transport=tcp";

fn start() -> ServerProcess {
    ServerProcess::spawn_with_env(
        &[],
        &[
            ("P2P_TURN_SECRET", TURN_SECRET),
            ("P2P_TURN_URLS", EXTERNAL_URL),
            ("P2P_TURN_LISTEN", "127.0.0.1:0"),
            ("P2P_TURN_ALLOW_PEERS", "127.0.0.0/8"),
        ],
    )
}

/// Signs in as `name` through the demo's form; returns the identity cookie.
async fn sign_in(server: &ServerProcess, name: &str) -> String {
    let body = format!("name={name}&room=lounge");
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    let response = http(server.addr, "POST", "/join", &headers, &body).await;
    let cookie = response.header("set-cookie").expect("the form sets the identity cookie");
    cookie.split(';').next().expect("cookie pair").to_owned()
}

/// Asks for a ticket for `peer` in the lounge, lasting `secs`.
async fn ticket(server: &ServerProcess, cookie: Option<&str>, peer: &str, secs: u64) -> (u16, serde_json::Value) {
    let body = format!("session_id=chat_room_lounge&peer_id={peer}&expires_in_secs={secs}");
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some(cookie) = cookie {
        headers.push(("Cookie", cookie));
    }
    let response = http(server.addr, "POST", "/api/p2p_join_token", &headers, &body).await;
    (response.status, serde_json::from_str(&response.body).unwrap_or(serde_json::Value::String(response.body)))
}

/// `host:port` of a `turn:` URL.
fn addr_of(url: &str) -> String {
    url.trim_start_matches("turn:").split('?').next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn tickets_carry_a_credential_expiring_with_the_token_that_the_embedded_server_accepts() {
    let server = start();
    let cookie = sign_in(&server, "alice").await;
    let (status, first) = ticket(&server, Some(&cookie), "alice", 120).await;
    assert_eq!(status, 200, "{first}");
    let entry = &first["ice_servers"][0];
    let expires_at = first["expires_at"].as_u64().expect("expiry");
    let username = entry["username"].as_str().expect("minted user name");
    assert_eq!(username, format!("{expires_at}:alice"), "the credential expires with the token");
    let credential = entry["credential"].as_str().expect("minted credential");
    let expected = TurnCredentials::new(TURN_SECRET, Vec::new()).password(username);
    assert_eq!(credential, expected);
    let urls: Vec<&str> = entry["urls"].as_array().expect("urls").iter().filter_map(|u| u.as_str()).collect();
    assert_eq!(urls[0], EXTERNAL_URL);
    let embedded = urls.iter().find(|u| u.starts_with("turn:127.0.0.1:")).expect("the embedded server's URL");
    assert!(urls.iter().any(|u| u.starts_with("stun:127.0.0.1:")), "{urls:?}");

    // A renewed (new) ticket mints a new credential with the new expiry.
    let (_, second) = ticket(&server, Some(&cookie), "alice", 600).await;
    let renewed = second["ice_servers"][0]["username"].as_str().expect("user name");
    assert_eq!(renewed, format!("{}:alice", second["expires_at"].as_u64().expect("expiry")));
    assert_ne!(renewed, username);

    // The embedded server accepts exactly what the ticket carries.
    let client = common::turn::client(&addr_of(embedded), username, credential).await;
    let _relay = client.allocate().await.expect("the minted credential allocates");
    let forger = common::turn::client(&addr_of(embedded), username, "forged").await;
    assert!(forger.allocate().await.is_err());
    let metrics = http(server.addr, "GET", "/metrics", &[], "").await.body;
    assert!(metrics.contains("p2p_turn_allocations 1"), "{metrics}");
    assert!(metrics.contains("p2p_turn_refusals_total{reason=\"bad_credential\"} 1"), "{metrics}");
    assert!(metrics.contains("p2p_turn_relayed_bytes_total{direction=\"to_peer\"} 0"), "{metrics}");
    client.close().await.expect("close");

    // The secret and the credential never reach the log.
    let logs = server.logs.lock().expect("logs").join("\n");
    assert!(!logs.contains(TURN_SECRET) && !logs.contains(credential));
    let summary = server.log_line("stun/turn configuration").expect("summary");
    assert_eq!(summary["secret"], "P2P_TURN_SECRET");
    assert_eq!(summary["minting"], true);
}

#[tokio::test]
async fn a_ticket_the_policy_refuses_carries_no_credential() {
    let server = start();
    let (status, refused) = ticket(&server, None, "mallory", 120).await;
    assert_ne!(status, 200);
    let text = refused.to_string();
    assert!(text.contains("not signed in"), "{text}");
    assert!(!text.contains("credential") && !text.contains("turn:"), "{text}");
    // Signed in as someone else: refused too.
    let cookie = sign_in(&server, "bob").await;
    let (status, refused) = ticket(&server, Some(&cookie), "mallory", 120).await;
    assert_ne!(status, 200);
    assert!(!refused.to_string().contains("credential"));
}
