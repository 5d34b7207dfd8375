//! Who may open the admin inspector, per request (server side, `ssr`): [`AdminAccess`], the value the server
//! provides in the Leptos context, decides a `?token=` login and every server function call.
//!
//! - a presented token is a guess: it takes a token of the client address's [`GuessLimiter`] bucket first,
//!   and an address out of tokens gets 429 with `Retry-After`, right token or not;
//! - a right token in `/admin?token=` sets the session cookie (`auth.rs`) and redirects to `/admin`; the
//!   cookie is `Secure` when the configured proxy header says the request came over HTTPS (the binary itself
//!   speaks plain HTTP, so that header is the only way to know; it is never trusted unless configured);
//! - a session cookie is checked on its own (no guess: it is a MAC nobody can forge without the token).

use super::auth::AdminToken;
use super::limit::GuessLimiter;
use super::AdminError;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Where a successful `?token=` login is sent (the same page, without the token in the address bar).
const ADMIN_PATH: &str = "/admin";

/// The settings of admin access; `Default` gives the binary's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminOptions {
    /// How long a login lasts: the cookie's `Max-Age` and its signed expiry (default 8 hours).
    pub session: Duration,
    /// Header in which a trusted reverse proxy tells the scheme of the client's request, e.g.
    /// `x-forwarded-proto`; `https` there makes the cookie `Secure` (default none: never trusted).
    pub proto_header: Option<HeaderName>,
    /// Header carrying the client address from a trusted proxy (`--client-ip-header`, shared with the
    /// signaling limits; default none: the TCP peer address).
    pub client_ip_header: Option<HeaderName>,
    /// Wrong tokens one address may present at once (default 5)...
    pub max_failures: u32,
    /// ...and per this window (default one minute).
    pub failure_window: Duration,
}

impl Default for AdminOptions {
    fn default() -> Self {
        AdminOptions {
            session: Duration::from_secs(8 * 3600),
            proto_header: None,
            client_ip_header: None,
            max_failures: 5,
            failure_window: Duration::from_secs(60),
        }
    }
}

/// The admin token, the access settings and the guess limiter, shared by every request of a server.
#[derive(Clone, Debug)]
pub struct AdminAccess {
    /// The configured token (`None`: the inspector is off).
    token: AdminToken,
    /// The settings.
    options: AdminOptions,
    /// Wrong guesses per client address (shared by all clones).
    limiter: Arc<GuessLimiter>,
}

impl Default for AdminAccess {
    fn default() -> Self {
        AdminAccess::new(AdminToken::default(), AdminOptions::default())
    }
}

impl AdminAccess {
    /// Access with `token` and `options`.
    pub fn new(token: AdminToken, options: AdminOptions) -> Self {
        let limiter = Arc::new(GuessLimiter::new(options.max_failures, options.failure_window));
        AdminAccess { token, options, limiter }
    }

    /// Checks a presented token, counting it against the client's address. `Limited` when the address is out
    /// of guesses (the token is then not even compared).
    fn check_guess(&self, presented: &str, parts: Option<&http::request::Parts>) -> Result<(), AdminError> {
        if !self.token.enabled() {
            return Err(AdminError::Disabled);
        }
        let client = self.client(parts);
        let attempt = self
            .limiter
            .begin(client, Instant::now())
            .map_err(|wait| AdminError::Limited { retry_after_secs: retry_after_secs(wait) })?;
        let last = attempt.last;
        match self.token.check_token(presented) {
            Ok(()) => {
                self.limiter.refund(attempt);
                Ok(())
            }
            Err(err) => {
                if last {
                    tracing::warn!(%client, "wrong admin tokens: this address is now limited");
                }
                Err(err)
            }
        }
    }

    /// The client's address for the limiter; requests without one (an embedding without `ConnectInfo`)
    /// share one budget.
    fn client(&self, parts: Option<&http::request::Parts>) -> IpAddr {
        let Some(parts) = parts else { return IpAddr::V4(Ipv4Addr::UNSPECIFIED) };
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| *addr);
        p2p_streams::server::client_ip(&parts.headers, peer, self.options.client_ip_header.as_ref())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    /// Whether the request came over HTTPS, as the configured proxy header says (its last entry).
    fn over_https(&self, headers: &HeaderMap) -> bool {
        let Some(name) = &self.options.proto_header else { return false };
        let last = headers.get_all(name).iter().next_back().and_then(|value| value.to_str().ok());
        last.and_then(|value| value.rsplit(',').next()).is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
    }
}

/// Whole seconds of `wait`, rounded up (a `Retry-After` of 0 would invite an immediate retry).
fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// The access settings from the context (absent: the inspector is off).
fn configured() -> AdminAccess {
    use_context::<AdminAccess>().unwrap_or_default()
}

/// Sets the status of a refusal on the current response (the page during SSR, or the server function's
/// response): 403, or 429 with `Retry-After` for a limited client.
fn answer(err: &AdminError) {
    let Some(response) = use_context::<ResponseOptions>() else { return };
    match err {
        AdminError::Limited { retry_after_secs } => {
            response.set_status(StatusCode::TOO_MANY_REQUESTS);
            response.insert_header(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        _ => response.set_status(StatusCode::FORBIDDEN),
    }
}

/// Whether the current request may see the inspector: with `token` (a server function argument: one guess),
/// else with the session cookie. A refusal sets the response's status (403, or 429 with `Retry-After`).
pub(crate) fn authorize(token: Option<&str>) -> Result<(), AdminError> {
    let access = configured();
    let parts = use_context::<http::request::Parts>();
    let allowed = match (token, &parts) {
        (Some(token), _) => access.check_guess(token, parts.as_ref()),
        (None, Some(parts)) => access.token.check_cookie(&parts.headers, SystemTime::now(), access.options.session),
        (None, None) => Err(AdminError::Call("request parts missing from the context".into())),
    };
    if let Err(err) = &allowed {
        tracing::info!(reason = %err, with_token = token.is_some(), "admin inspector refused a request");
        answer(err);
    }
    allowed
}

/// During the SSR of `/admin?token=...`: one guess. A right one sets the session cookie and redirects (303)
/// to `/admin`, so the token leaves the address bar and history at once; a refusal sets the page's status.
pub(crate) fn login_from_query(presented: &str) -> Result<(), AdminError> {
    let access = configured();
    let parts = use_context::<http::request::Parts>();
    authorize_login(&access, presented, parts.as_ref()).inspect_err(|err| {
        tracing::info!(reason = %err, "admin inspector refused a login");
        answer(err);
    })
}

/// [`login_from_query`] once the context is read.
fn authorize_login(
    access: &AdminAccess,
    presented: &str,
    parts: Option<&http::request::Parts>,
) -> Result<(), AdminError> {
    access.check_guess(presented, parts)?;
    let secure = parts.is_some_and(|parts| access.over_https(&parts.headers));
    let cookie = access.token.session_cookie(SystemTime::now(), access.options.session, secure);
    let response = use_context::<ResponseOptions>();
    let (Some(response), Some(cookie)) = (response, cookie.and_then(|c| HeaderValue::from_str(&c).ok())) else {
        return Err(AdminError::Call("cannot set the admin cookie".into()));
    };
    response.append_header(header::SET_COOKIE, cookie);
    response.insert_header(header::LOCATION, HeaderValue::from_static(ADMIN_PATH));
    response.set_status(StatusCode::SEE_OTHER);
    tracing::info!(secure, "admin inspector login");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(options: AdminOptions) -> AdminAccess {
        AdminAccess::new(AdminToken(Some("s3cret-admin".into())), options)
    }

    fn parts(peer: &str, headers: &[(&str, &str)]) -> http::request::Parts {
        let mut request = http::Request::builder().uri("/admin");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let (mut parts, ()) = request.body(()).expect("request").into_parts();
        parts.extensions.insert(ConnectInfo(peer.parse::<SocketAddr>().expect("peer")));
        parts
    }

    #[test]
    fn https_is_believed_only_from_the_configured_header() {
        let sent = parts("127.0.0.1:5000", &[("x-forwarded-proto", "https")]).headers;
        assert!(!access(AdminOptions::default()).over_https(&sent), "not configured: never trusted");
        let trusting = access(AdminOptions {
            proto_header: Some(HeaderName::from_static("x-forwarded-proto")),
            ..Default::default()
        });
        assert!(trusting.over_https(&sent));
        for (value, https) in [("http", false), ("HTTPS", true), ("http, https", true), ("https, http", false)] {
            assert_eq!(
                trusting.over_https(&parts("127.0.0.1:5000", &[("x-forwarded-proto", value)]).headers),
                https,
                "{value}"
            );
        }
        assert!(!trusting.over_https(&HeaderMap::new()));
    }

    #[test]
    fn guesses_count_per_client_address_and_a_forwarded_one_only_when_configured() {
        let plain = access(AdminOptions { max_failures: 2, ..Default::default() });
        let spoofing = parts("192.0.2.1:5000", &[("x-forwarded-for", "198.51.100.9")]);
        for _ in 0..2 {
            assert_eq!(plain.check_guess("wrong", Some(&spoofing)), Err(AdminError::Refused));
        }
        let limited = plain.check_guess("s3cret-admin", Some(&parts("192.0.2.1:6000", &[])));
        assert!(matches!(limited, Err(AdminError::Limited { retry_after_secs: 1..=30 })), "{limited:?}");
        assert_eq!(plain.check_guess("s3cret-admin", Some(&parts("192.0.2.2:5000", &[]))), Ok(()));

        let proxied = access(AdminOptions {
            max_failures: 1,
            client_ip_header: Some(HeaderName::from_static("x-forwarded-for")),
            ..Default::default()
        });
        let via = |client: &str| parts("10.0.0.1:5000", &[("x-forwarded-for", client)]);
        assert_eq!(proxied.check_guess("wrong", Some(&via("198.51.100.1"))), Err(AdminError::Refused));
        assert!(matches!(proxied.check_guess("wrong", Some(&via("198.51.100.1"))), Err(AdminError::Limited { .. })));
        assert_eq!(proxied.check_guess("s3cret-admin", Some(&via("198.51.100.2"))), Ok(()), "another client");
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(12)), 12);
    }
}
