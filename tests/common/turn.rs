//! A TURN client for the embedded STUN/TURN server's tests: webrtc-rs's own client on a fresh loopback UDP
//! socket, listening, authenticating with `username` and `password`.

use std::sync::Arc;
use tokio::net::UdpSocket;
use turn::client::{Client, ClientConfig};

/// A listening TURN client of the server at `addr` (`host:port`).
pub async fn client(addr: &str, username: &str, password: &str) -> Client {
    let conn = UdpSocket::bind("127.0.0.1:0").await.expect("client socket");
    let client = Client::new(ClientConfig {
        stun_serv_addr: addr.to_owned(),
        turn_serv_addr: addr.to_owned(),
        username: username.into(),
        password: password.into(),
        realm: String::new(),
        software: String::new(),
        rto_in_ms: 0,
        conn: Arc::new(conn),
        vnet: None,
    })
    .await
    .expect("client");
    client.listen().await.expect("client listens");
    client
}
