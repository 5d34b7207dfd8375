//! Shared helpers of the signaling integration tests: a real server on `127.0.0.1:0` and a real WebSocket
//! client (tokio-tungstenite) that speaks the protocol. Every wait has a timeout, so a hang fails the test.
#![allow(dead_code)] // each test binary uses a subset

pub mod child;
pub mod redis;
pub mod turn;

use futures::{SinkExt, StreamExt};
use p2p_streams::delivery::{Entry, EpochAuthority, EpochGrant, NativeCheck, NativeSealer, SealCheck};
use p2p_streams::protocol::{
    ClientToServer, PeerId, Role, ServerToClient, SessionId, SignalPayload, PROTOCOL_VERSION, SIGNALING_PATH,
};
use p2p_streams::server::{install_metrics, MemoryStore, RedisBackend, SessionStore, SignalingConfig, SignalingServer};
use p2p_streams::token::TokenSigner;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The test servers' HMAC secret.
pub const SECRET: &[u8] = b"test-fixture-secret";
/// How long any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(5);
/// How long "nothing arrives" is watched for.
pub const QUIET: Duration = Duration::from_millis(300);

/// Timings small enough for fast tests, long enough not to fire by accident on a busy machine.
pub fn test_config() -> SignalingConfig {
    SignalingConfig {
        ping_interval: Duration::from_secs(1),
        ping_timeout: Duration::from_secs(20),
        join_timeout: Duration::from_secs(10),
        host_ttl: Duration::from_secs(30),
        host_grace: Duration::from_millis(300),
        ..SignalingConfig::default()
    }
}

/// A signaling server serving on an ephemeral port.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The server, to query and shut down.
    pub server: SignalingServer,
}

/// Starts a server with `config` and a fresh [`MemoryStore`] on `127.0.0.1:0`.
pub async fn start(config: SignalingConfig) -> TestServer {
    start_with_store(config, Arc::new(MemoryStore::new())).await
}

/// Starts a server with `config` and `store` on `127.0.0.1:0`.
pub async fn start_with_store(config: SignalingConfig, store: Arc<dyn SessionStore>) -> TestServer {
    start_app(config, store, SignalingServer::router).await
}

/// Starts a server with `config` and a fresh [`MemoryStore`], serving the signaling route plus the ops routes
/// (`/healthz`, and `/metrics` from the process-wide recorder).
pub async fn start_with_ops(config: SignalingConfig) -> TestServer {
    let metrics = install_metrics().expect("install the metrics recorder");
    let app = move |server: &SignalingServer| server.router().merge(server.ops_router(Some(metrics)));
    start_app(config, Arc::new(MemoryStore::new()), app).await
}

/// Starts a server with `config` and `store` on `127.0.0.1:0`, serving the router `app` builds for it.
pub async fn start_app(
    config: SignalingConfig,
    store: Arc<dyn SessionStore>,
    app: impl FnOnce(&SignalingServer) -> axum::Router,
) -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let server = SignalingServer::new(TokenSigner::new(SECRET.to_vec()), store, config);
    let app = app(&server);
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    // As the binary does: small signaling frames go out at once (no Nagle delay behind a delayed ACK).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    TestServer { addr, server }
}

/// Starts a server with `config` on `127.0.0.1:0` behind the binary's accept loop
/// ([`p2p_streams::server::serve`]) with `header_timeout`, serving the signaling and ops routes.
pub async fn start_served(config: SignalingConfig, header_timeout: Duration) -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let server = SignalingServer::new(TokenSigner::new(SECRET.to_vec()), Arc::new(MemoryStore::new()), config);
    let app = server.router().merge(server.ops_router(None));
    tokio::spawn(p2p_streams::server::serve(listener, app, header_timeout, std::future::pending()));
    TestServer { addr, server }
}

/// Starts a clustered node (store and bus in `backend`'s Redis) on `127.0.0.1:0`.
pub async fn start_node_app(config: SignalingConfig, backend: RedisBackend) -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let server = SignalingServer::clustered(TokenSigner::new(SECRET.to_vec()), backend, config);
    let app = server.router().into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    TestServer { addr, server }
}

/// An HTTP response as the tests need it.
#[derive(Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header names (lowercase) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: String,
}

impl HttpResponse {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request over a fresh connection (`Connection: close`), for routes that are not WebSockets.
pub async fn http(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> HttpResponse {
    http_from(None, addr, method, path, headers, body).await
}

/// [`http`] from the local IPv4 address `from` when given (e.g. 127.0.0.2: another client address on loopback).
pub async fn http_from(
    from: Option<std::net::IpAddr>,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> HttpResponse {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    let exchange = async {
        let mut stream = match from {
            None => TcpStream::connect(addr).await.expect("connect"),
            Some(ip) => {
                let socket = tokio::net::TcpSocket::new_v4().expect("socket");
                socket.bind(SocketAddr::new(ip, 0)).expect("bind the client address");
                socket.connect(addr).await.expect("connect")
            }
        };
        stream.write_all(request.as_bytes()).await.expect("write request");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read response");
        raw
    };
    let raw = tokio::time::timeout(WAIT, exchange).await.expect("HTTP request timed out");
    let text = String::from_utf8(raw).expect("UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("header/body separator");
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers.iter().any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked { dechunk(body) } else { body.to_owned() };
    HttpResponse { status, headers, body }
}

/// Decodes a chunked body.
fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if size == 0 {
            break;
        }
        body.push_str(&tail[..size]);
        rest = tail[size..].trim_start_matches("\r\n");
    }
    body
}

impl TestServer {
    /// Waits until this node has exactly `n` open sockets (the count drops after leave handling).
    pub async fn wait_open(&self, n: usize) {
        eventually(|| self.server.open_connections() == n, &format!("{n} open connections")).await;
    }
}

/// Polls `check` until it holds, failing the test after [`WAIT`].
pub async fn eventually(mut check: impl FnMut() -> bool, what: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Awaits `check` until it yields `true`, failing the test after [`WAIT`].
pub async fn eventually_async<F, Fut>(mut check: F, what: &str)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A token for `user` in `session`, valid for an hour.
pub fn token(session: &str, user: &str) -> String {
    TokenSigner::new(SECRET.to_vec()).sign(session, user, Duration::from_secs(3600))
}

/// The upgrade URL; `None` leaves a parameter out.
pub fn ws_url(addr: SocketAddr, session: Option<&str>, token: Option<&str>, tab: Option<&str>) -> String {
    let params: Vec<String> = [("session", session), ("token", token), ("tab", tab)]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
        .collect();
    format!("ws://{addr}{SIGNALING_PATH}?{}", params.join("&"))
}

/// HTTP status of an upgrade attempt: 101 when it upgraded, else the refusal's status.
pub async fn expect_http_status(url: &str) -> u16 {
    match tokio_tungstenite::connect_async(url).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(err) => panic!("upgrade failed without an HTTP answer: {err}"),
    }
}

/// One test peer's signaling socket.
pub struct Client {
    /// Its identity, `{user}#{tab}`.
    pub peer: PeerId,
    /// Its session.
    pub session: String,
    /// The socket.
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// Opens a socket for `user` in tab `tab` of `session` without joining.
pub async fn open(addr: SocketAddr, session: &str, user: &str, tab: &str) -> Client {
    open_within(addr, session, user, tab, WAIT).await
}

/// [`open`], failing after `within` instead of [`WAIT`] (the soak test's loaded server).
pub async fn open_within(addr: SocketAddr, session: &str, user: &str, tab: &str, within: Duration) -> Client {
    let url = ws_url(addr, Some(session), Some(&token(session, user)), Some(tab));
    // No Nagle: a test sends small frames back to back and must not wait for delayed ACKs.
    let (ws, _) = tokio::time::timeout(within, tokio_tungstenite::connect_async_with_config(url, None, true))
        .await
        .expect("connect timed out")
        .expect("connect");
    Client { peer: PeerId::with_tab(user, tab), session: session.to_owned(), ws }
}

/// Opens a socket for `user` in tab `tab` of `session` with extra request headers (`Origin`, a forwarded
/// address...), without joining: the socket, or the HTTP status of the refusal.
pub async fn open_with(
    addr: SocketAddr,
    session: &str,
    user: &str,
    tab: &str,
    headers: &[(&'static str, &str)],
) -> Result<Client, u16> {
    use tungstenite::client::IntoClientRequest;
    let url = ws_url(addr, Some(session), Some(&token(session, user)), Some(tab));
    let mut request = url.into_client_request().expect("request");
    for (name, value) in headers {
        request.headers_mut().insert(*name, value.parse().expect("header value"));
    }
    let connect = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async_with_config(request, None, true)).await;
    match connect.expect("connect timed out") {
        Ok((ws, _)) => Ok(Client { peer: PeerId::with_tab(user, tab), session: session.to_owned(), ws }),
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(err) => panic!("upgrade failed without an HTTP answer: {err}"),
    }
}

/// Opens a socket and sends `join` (no `lost_host`).
pub async fn connect(addr: SocketAddr, session: &str, user: &str, tab: &str) -> Client {
    connect_after_loss(addr, session, user, tab, None).await
}

/// Opens a socket and sends `join` naming the host this peer lost.
pub async fn connect_after_loss(
    addr: SocketAddr,
    session: &str,
    user: &str,
    tab: &str,
    lost_host: Option<PeerId>,
) -> Client {
    let mut client = open(addr, session, user, tab).await;
    client.send(&ClientToServer::Join { version: PROTOCOL_VERSION, lost_host }).await;
    client
}

/// Checks that `grant`'s certificate was signed by `session`'s epoch authority (derived from [`SECRET`], as
/// on every node) and that its key seals what the certificate's key verifies.
pub fn assert_granted(session: &str, grant: &EpochGrant) {
    let authority = EpochAuthority::derive(SECRET, session).expect("authority");
    let check = NativeCheck::new(session, &authority.public_key());
    assert!(check.cert_valid(&grant.cert), "the grant's certificate verifies");
    let mut entry = Entry {
        from: PeerId("x#1".into()),
        seq: 1,
        epoch: (1 << 32) | u64::from(grant.cert.tag),
        index: 1,
        payload: serde_json::json!(1),
        bytes: None,
        sig: None,
    };
    entry.sig = Some(NativeSealer::new(grant).expect("PKCS#8 key").seal(&entry));
    assert!(check.entry_valid(&entry, &grant.cert), "the granted key matches its certificate");
}

/// Connects, joins and returns the client with the role and host of its `Welcome`.
pub async fn join(addr: SocketAddr, session: &str, user: &str, tab: &str) -> (Client, Role, PeerId) {
    let mut client = connect(addr, session, user, tab).await;
    let (role, host) = client.expect_welcome(session).await;
    (client, role, host)
}

impl Client {
    /// Sends one protocol frame.
    pub async fn send(&mut self, frame: &ClientToServer) {
        let text = serde_json::to_string(frame).expect("serialize");
        self.send_raw(Message::text(text)).await;
    }

    /// Sends any WebSocket message.
    pub async fn send_raw(&mut self, message: Message) {
        tokio::time::timeout(WAIT, self.ws.send(message)).await.expect("send timed out").expect("send");
    }

    /// Routes `signal` to `to`.
    pub async fn signal(&mut self, to: &PeerId, signal: SignalPayload) {
        self.send(&ClientToServer::Signal { to: to.clone(), signal }).await;
    }

    /// The next protocol frame within `within`, `None` if none came. Fails on close or garbage.
    pub async fn recv_within(&mut self, within: Duration) -> Option<ServerToClient> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next()).await.ok()?;
            match next {
                Some(Ok(Message::Text(text))) => {
                    return Some(serde_json::from_str(text.as_str()).expect("server sent an unknown frame"));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("{}: expected a frame, got {other:?}", self.peer),
            }
        }
    }

    /// The next protocol frame; fails the test after [`WAIT`].
    pub async fn recv_frame(&mut self) -> ServerToClient {
        match self.recv_within(WAIT).await {
            Some(frame) => frame,
            None => panic!("{}: no frame within {WAIT:?}", self.peer),
        }
    }

    /// Asserts that no frame arrives for [`QUIET`].
    pub async fn expect_silence(&mut self) {
        if let Some(frame) = self.recv_within(QUIET).await {
            panic!("{}: expected nothing, got {frame:?}", self.peer);
        }
    }

    /// Reads the `Welcome` and checks the identity it states; returns role and host.
    pub async fn expect_welcome(&mut self, session: &str) -> (Role, PeerId) {
        match self.recv_frame().await {
            ServerToClient::Welcome { version, session_id, peer_id, role, host, authority, grant } => {
                assert_eq!(version, PROTOCOL_VERSION);
                assert_eq!(session_id, SessionId(session.to_owned()));
                assert_eq!(peer_id, self.peer, "identity comes from the token and tab");
                let expected = EpochAuthority::derive(SECRET, session).expect("authority").public_key();
                assert_eq!(authority, Some(expected), "every node names the authority of the shared secret");
                assert_eq!(grant.is_some(), role == Role::Host, "a grant exactly for a host");
                if let Some(grant) = grant {
                    assert_granted(session, &grant);
                }
                (role, host)
            }
            other => panic!("{}: expected welcome, got {other:?}", self.peer),
        }
    }

    /// Reads a `RoleChanged` that makes this peer host, with a grant the session's authority signed.
    pub async fn expect_promoted(&mut self) {
        let frame = self.recv_frame().await;
        self.check_promoted(Some(frame));
    }

    /// Checks that `frame` is a `RoleChanged` making this peer host, with a valid grant.
    pub fn check_promoted(&self, frame: Option<ServerToClient>) {
        match frame {
            Some(ServerToClient::RoleChanged { role: Role::Host, host, grant: Some(grant) }) if host == self.peer => {
                assert_granted(&self.session, &grant)
            }
            other => panic!("{}: expected to be promoted with a grant, got {other:?}", self.peer),
        }
    }

    /// Reads until the server's close frame and returns its code; fails on EOF without one.
    pub async fn expect_close(&mut self) -> u16 {
        self.expect_close_within(WAIT).await
    }

    /// [`Client::expect_close`], failing after `within` instead of [`WAIT`].
    pub async fn expect_close_within(&mut self, within: Duration) -> u16 {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next()).await;
            match next {
                Ok(Some(Ok(Message::Close(Some(frame))))) => return frame.code.into(),
                Ok(Some(Ok(Message::Close(None)))) => panic!("{}: close frame without a code", self.peer),
                Ok(Some(Ok(_))) => continue,
                Ok(other) => panic!("{}: socket ended without a close frame: {other:?}", self.peer),
                Err(_) => panic!("{}: not closed within {within:?}", self.peer),
            }
        }
    }

    /// The close code the server sent, read from the raw TCP stream: for a socket the test never read, whose
    /// client would otherwise try to answer the buffered pings on a connection the server already closed.
    pub async fn raw_close_code(&mut self) -> u16 {
        use tokio::io::AsyncReadExt;
        let mut bytes = Vec::new();
        let read = self.ws.get_mut().read_to_end(&mut bytes);
        let _ = tokio::time::timeout(WAIT, read).await;
        // Server frames are unmasked: [FIN|opcode] [len] [extended len] payload.
        let mut at = 0;
        while at + 2 <= bytes.len() {
            let opcode = bytes[at] & 0x0f;
            let (len, header) = match bytes[at + 1] & 0x7f {
                126 if at + 4 <= bytes.len() => (u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]) as usize, 4),
                127 => panic!("unexpected 64-bit frame length"),
                len => (len as usize, 2),
            };
            let payload = at + header;
            if opcode == 0x8 && payload + 2 <= bytes.len() {
                return u16::from_be_bytes([bytes[payload], bytes[payload + 1]]);
            }
            at = payload + len;
        }
        panic!("{}: no close frame among {} raw bytes", self.peer, bytes.len());
    }

    /// Leaves cleanly: sends a close frame and waits for the end of the handshake.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(WAIT, self.ws.close(None)).await;
        while let Ok(Some(Ok(_))) = tokio::time::timeout(WAIT, self.ws.next()).await {}
    }

    /// Drops the TCP connection without a close frame (a crashed tab or a network blip).
    pub fn drop_abruptly(self) {
        drop(self.ws);
    }
}

/// An offer for `link` (the SDP is a placeholder, the server never reads it).
pub fn offer(link: u64) -> SignalPayload {
    SignalPayload::Offer { link, sdp: format!("v=0 offer {link}") }
}

/// An answer for `link`.
pub fn answer(link: u64) -> SignalPayload {
    SignalPayload::Answer { link, sdp: format!("v=0 answer {link}") }
}

/// A candidate for `link`.
pub fn candidate(link: u64) -> SignalPayload {
    SignalPayload::Candidate {
        link,
        candidate: format!("candidate:{link} 1 udp 1 127.0.0.1 9 typ host"),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
    }
}
