//! The admin session against the server binary (a child process on `127.0.0.1:0`, real HTTP): a login sets
//! an HttpOnly, SameSite=Strict cookie with the configured `Max-Age`, `Secure` only when the configured proxy
//! header says https; the server refuses the cookie once it has expired, replayed or not; wrong tokens are
//! limited per client address (429 with `Retry-After`, the right token included), other addresses unaffected.
#![cfg(feature = "ssr")]

mod common;

use common::child::ServerProcess;
use common::{http_from, HttpResponse, WAIT};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

/// The admin token of these tests.
const ADMIN: &str = "admin-session-test-token";
/// The default client address, and another one on loopback.
const HOME: Option<IpAddr> = None;
const OTHER: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)));

/// `GET /admin?token=...` (one login attempt) from `from`, with extra `headers`.
async fn login(addr: SocketAddr, from: Option<IpAddr>, token: &str, headers: &[(&str, &str)]) -> HttpResponse {
    http_from(from, addr, "GET", &format!("/admin?token={token}"), headers, "").await
}

/// The admin server function from `from`, with a token argument or a cookie, and extra `headers`.
async fn call(addr: SocketAddr, from: Option<IpAddr>, token: Option<&str>, cookie: Option<&str>) -> HttpResponse {
    call_with(addr, from, token, cookie, &[]).await
}

async fn call_with(
    addr: SocketAddr,
    from: Option<IpAddr>,
    token: Option<&str>,
    cookie: Option<&str>,
    extra: &[(&str, &str)],
) -> HttpResponse {
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")];
    headers.extend(cookie.map(|c| ("Cookie", c)));
    headers.extend_from_slice(extra);
    let body = token.map(|t| format!("token={t}")).unwrap_or_default();
    http_from(from, addr, "POST", "/api/admin_sessions", &headers, &body).await
}

/// The `Set-Cookie` of a successful login (a 303 to `/admin`), and its `name=value` pair.
fn session_cookie(response: &HttpResponse) -> (String, String) {
    assert_eq!(response.status, 303, "login: {response:?}");
    assert_eq!(response.header("location"), Some("/admin"));
    let set = response.header("set-cookie").expect("a login sets the cookie").to_owned();
    let pair = set.split(';').next().expect("pair").trim().to_owned();
    assert!(pair.starts_with("p2p_admin=") && !set.contains(ADMIN), "the cookie never carries the token: {set}");
    (set, pair)
}

/// The attributes of a `Set-Cookie` value after its `name=value`.
fn attributes(set: &str) -> Vec<&str> {
    set.split(';').skip(1).map(str::trim).collect()
}

#[tokio::test]
async fn a_login_cookie_expires_in_the_browser_and_on_the_server() {
    let server = ServerProcess::spawn(&["--admin-token", ADMIN, "--admin-session-secs", "3"]);
    let (set, pair) = session_cookie(&login(server.addr, HOME, ADMIN, &[]).await);
    assert_eq!(attributes(&set), ["Path=/", "Max-Age=3", "HttpOnly", "SameSite=Strict"], "plain HTTP: not Secure");
    let issued = Instant::now();
    let opened = call(server.addr, HOME, None, Some(&pair)).await;
    assert_eq!(opened.status, 200, "the fresh cookie opens the API: {opened:?}");

    // The expiry is signed: moving it later breaks the cookie at once.
    let (expiry, mac) = pair.trim_start_matches("p2p_admin=").split_once('.').expect("expiry.mac");
    let extended = format!("p2p_admin={}.{mac}", expiry.parse::<u128>().expect("millis") + 3_600_000);
    assert_eq!(call(server.addr, HOME, None, Some(&extended)).await.status, 403, "an extended expiry");

    // The browser would drop it after Max-Age; replayed anyway, the server refuses it from its expiry on.
    let deadline = issued + Duration::from_secs(3) + WAIT;
    loop {
        let replay = call(server.addr, HOME, None, Some(&pair)).await;
        if replay.status == 403 {
            assert!(replay.body.contains("Refused"), "{replay:?}");
            break;
        }
        assert_eq!(replay.status, 200, "{replay:?}");
        assert!(Instant::now() < deadline, "the expired cookie still opened the API");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page = http_from(HOME, server.addr, "GET", "/admin", &[("Cookie", &pair)], "").await;
    assert_eq!(page.status, 403, "the page refuses it too");
    assert!(page.body.contains("data-testid=\"admin-refused\""));
}

#[tokio::test]
async fn the_cookie_is_secure_only_when_the_configured_proxy_header_says_https() {
    let https = [("X-Forwarded-Proto", "https")];
    // Not configured: the header is anyone's to send, and is ignored. The default session is 8 hours.
    let plain = ServerProcess::spawn(&["--admin-token", ADMIN]);
    let (set, _) = session_cookie(&login(plain.addr, HOME, ADMIN, &https).await);
    assert_eq!(attributes(&set), ["Path=/", "Max-Age=28800", "HttpOnly", "SameSite=Strict"]);

    let proxied = ServerProcess::spawn(&["--admin-token", ADMIN, "--client-proto-header", "x-forwarded-proto"]);
    let (set, _) = session_cookie(&login(proxied.addr, HOME, ADMIN, &https).await);
    assert_eq!(attributes(&set), ["Path=/", "Max-Age=28800", "HttpOnly", "SameSite=Strict", "Secure"]);
    for headers in [&[][..], &[("X-Forwarded-Proto", "http")][..]] {
        let (set, _) = session_cookie(&login(proxied.addr, HOME, ADMIN, headers).await);
        assert!(!attributes(&set).contains(&"Secure"), "{headers:?}: {set}");
    }
}

#[tokio::test]
async fn wrong_tokens_are_limited_per_address_with_429_and_retry_after() {
    let server = ServerProcess::spawn(&["--admin-token", ADMIN]);
    // The default budget, 5: three page loads and two calls, each one guess.
    for _ in 0..3 {
        let page = login(server.addr, HOME, "wrong-token", &[]).await;
        assert_eq!(page.status, 403, "{page:?}");
        assert!(page.header("set-cookie").is_none());
    }
    for _ in 0..2 {
        assert_eq!(call(server.addr, HOME, Some("wrong-token"), None).await.status, 403);
    }
    // Out of guesses: the right token is refused too, and a spoofed X-Forwarded-For (not trusted) changes nothing.
    let limited = call_with(server.addr, HOME, Some(ADMIN), None, &[("X-Forwarded-For", "198.51.100.7")]).await;
    assert_eq!(limited.status, 429, "{limited:?}");
    assert!(limited.body.contains("Limited"), "{}", limited.body);
    let retry: u64 = limited.header("retry-after").expect("Retry-After").parse().expect("seconds");
    assert!((1..=12).contains(&retry), "one guess back per 60 s / 5: {retry}");
    let page = login(server.addr, HOME, ADMIN, &[]).await;
    assert_eq!(page.status, 429, "{page:?}");
    assert!(page.header("retry-after").is_some() && page.header("set-cookie").is_none());
    assert!(page.body.contains("data-testid=\"admin-limited\""));

    // Another address is unaffected; the cookie it gets opens the API from the limited one (not a guess).
    assert_eq!(call(server.addr, OTHER, Some("wrong-token"), None).await.status, 403);
    assert_eq!(call(server.addr, OTHER, Some(ADMIN), None).await.status, 200);
    let (_, pair) = session_cookie(&login(server.addr, OTHER, ADMIN, &[]).await);
    assert_eq!(call(server.addr, HOME, None, Some(&pair)).await.status, 200);

    let warned = server.log_line("wrong admin tokens: this address is now limited").expect("a warning");
    assert_eq!(warned["client"], "127.0.0.1");
    let logs = server.logs.lock().expect("logs").join("\n");
    let value = pair.trim_start_matches("p2p_admin=");
    assert!(!logs.contains(ADMIN) && !logs.contains(value), "a token or cookie in the logs");
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget() {
    let server = ServerProcess::spawn(&[
        "--admin-token",
        ADMIN,
        "--client-ip-header",
        "x-forwarded-for",
        "--admin-max-failures",
        "1",
    ]);
    let via = |client: &'static str| [("X-Forwarded-For", client)];
    let first = call_with(server.addr, HOME, Some("wrong-token"), None, &via("203.0.113.1")).await;
    assert_eq!(first.status, 403);
    let second = call_with(server.addr, HOME, Some(ADMIN), None, &via("203.0.113.1")).await;
    assert_eq!(second.status, 429, "{second:?}");
    let retry: u64 = second.header("retry-after").expect("Retry-After").parse().expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    let other = call_with(server.addr, HOME, Some(ADMIN), None, &via("203.0.113.2")).await;
    assert_eq!(other.status, 200, "another client behind the same proxy: {other:?}");
}
