//! The admin credentials (server side, `ssr`): the configured [`AdminToken`], and the `p2p_admin` session
//! cookie that a login with it sets.
//!
//! A session cookie's value is `<expiry>.<mac>`: the expiry in Unix milliseconds, and the hex HMAC-SHA256 of
//! it keyed with the token. Only a holder of the token can mint one, a leaked cookie reveals nothing of the
//! token, stops working at its expiry even if replayed (the server checks it, not only the browser's
//! `Max-Age`), and every cookie dies when the token changes. Comparisons are constant-time; nothing here logs
//! a token or a cookie.

use super::AdminError;
use crate::identity::cookie;
use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

type HmacSha256 = Hmac<Sha256>;

/// Name of the cookie that carries the admin session.
pub const ADMIN_COOKIE: &str = "p2p_admin";
/// Domain separation of the session MAC (a new version invalidates every session).
const SESSION_CONTEXT: &[u8] = b"p2p-streams admin session v2\0";
/// Longest cookie value looked at (20 digits, a dot, 64 hex digits).
const MAX_COOKIE_LEN: usize = 85;

/// The admin token from the server's configuration. `None` (or an empty string) disables the inspector: the
/// page says so and the server function refuses with 403.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AdminToken(pub Option<String>);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = if self.configured().is_some() { "<redacted>" } else { "<disabled>" };
        f.debug_tuple("AdminToken").field(&format_args!("{state}")).finish()
    }
}

impl AdminToken {
    /// The token, unless the inspector is disabled.
    fn configured(&self) -> Option<&str> {
        self.0.as_deref().filter(|token| !token.is_empty())
    }

    /// Whether the inspector is on.
    pub fn enabled(&self) -> bool {
        self.configured().is_some()
    }

    /// Checks a token presented in the query string or the server function's arguments.
    pub fn check_token(&self, presented: &str) -> Result<(), AdminError> {
        let expected = self.configured().ok_or(AdminError::Disabled)?;
        // Fixed-length digests, so the comparison's time does not depend on the token's length either.
        let digest = |token: &str| -> [u8; 32] { Sha256::digest(token.as_bytes()).into() };
        if ct_eq(&digest(presented), &digest(expected)) {
            Ok(())
        } else {
            Err(AdminError::Refused)
        }
    }

    /// Checks the `p2p_admin` cookie among the request headers at `now`: minted with this token, not expired,
    /// and expiring no later than a session of `max_session` started now (so shortening the setting also
    /// shortens the sessions already handed out).
    pub fn check_cookie(&self, headers: &HeaderMap, now: SystemTime, max_session: Duration) -> Result<(), AdminError> {
        let token = self.configured().ok_or(AdminError::Disabled)?;
        let presented = cookie(headers, ADMIN_COOKIE).ok_or(AdminError::Refused)?;
        let (expiry, mac) =
            presented.split_once('.').filter(|_| presented.len() <= MAX_COOKIE_LEN).ok_or(AdminError::Refused)?;
        let mac = decode_hex(mac).ok_or(AdminError::Refused)?;
        session_mac(token, expiry).verify_slice(&mac).map_err(|_| AdminError::Refused)?;
        let expiry: u128 = expiry.parse().map_err(|_| AdminError::Refused)?;
        let now = unix_millis(now);
        if now < expiry && expiry <= now + max_session.as_millis() {
            Ok(())
        } else {
            Err(AdminError::Refused)
        }
    }

    /// The `Set-Cookie` value of a session started at `now` for `session` (its `Max-Age` in whole seconds):
    /// HttpOnly, SameSite=Strict, and Secure when `secure` (the request came over HTTPS).
    pub fn session_cookie(&self, now: SystemTime, session: Duration, secure: bool) -> Option<String> {
        let token = self.configured()?;
        let expiry = (unix_millis(now) + session.as_millis()).to_string();
        let mac = hex(&session_mac(token, &expiry).finalize().into_bytes());
        let secure = if secure { "; Secure" } else { "" };
        Some(format!(
            "{ADMIN_COOKIE}={expiry}.{mac}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{secure}",
            session.as_secs()
        ))
    }
}

/// The MAC state of a session expiring at `expiry` (its decimal text), keyed with `token`.
fn session_mac(token: &str, expiry: &str) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(token.as_bytes()).unwrap_or_else(|_| unreachable!("any key length"));
    mac.update(SESSION_CONTEXT);
    mac.update(expiry.as_bytes());
    mac
}

/// Milliseconds since the Unix epoch (0 for a clock before it).
fn unix_millis(at: SystemTime) -> u128 {
    at.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis())
}

/// Lowercase hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of a hex string (either case); `None` if it is not one.
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// Equality whose time does not depend on where the inputs differ (only on their length, which is public
/// here: digests have fixed lengths).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{header, HeaderValue};

    const HOUR: Duration = Duration::from_secs(3600);

    fn headers(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(cookie).expect("header"));
        headers
    }

    /// The `name=value` pair of a `Set-Cookie` value.
    fn pair(set_cookie: &str) -> &str {
        set_cookie.split(';').next().expect("pair")
    }

    #[test]
    fn without_a_configured_token_everything_is_disabled() {
        let now = SystemTime::now();
        for token in [AdminToken(None), AdminToken(Some(String::new()))] {
            assert!(!token.enabled());
            assert_eq!(token.check_token(""), Err(AdminError::Disabled));
            assert_eq!(token.check_token("anything"), Err(AdminError::Disabled));
            assert_eq!(token.check_cookie(&headers("p2p_admin=x"), now, HOUR), Err(AdminError::Disabled));
            assert_eq!(token.session_cookie(now, HOUR, false), None);
        }
    }

    #[test]
    fn only_the_exact_token_passes() {
        let token = AdminToken(Some("s3cret-admin".into()));
        assert_eq!(token.check_token("s3cret-admin"), Ok(()));
        for wrong in ["", "s3cret-admi", "s3cret-admin ", "S3CRET-ADMIN"] {
            assert_eq!(token.check_token(wrong), Err(AdminError::Refused), "{wrong:?}");
        }
    }

    #[test]
    fn a_session_cookie_carries_its_attributes_and_passes_until_its_expiry() {
        let token = AdminToken(Some("s3cret-admin".into()));
        let t0 = SystemTime::now();
        let set = token.session_cookie(t0, 8 * HOUR, false).expect("cookie");
        assert!(set.ends_with("; Path=/; Max-Age=28800; HttpOnly; SameSite=Strict"), "{set}");
        assert!(token.session_cookie(t0, HOUR, true).expect("cookie").ends_with("; SameSite=Strict; Secure"));
        assert!(!set.contains("s3cret-admin"), "the cookie never carries the token");
        let sent = headers(&format!("a=1; {}; b=2", pair(&set)));
        assert_eq!(token.check_cookie(&sent, t0, 8 * HOUR), Ok(()));
        let before_expiry = t0 + 8 * HOUR - Duration::from_millis(1);
        assert_eq!(token.check_cookie(&sent, before_expiry, 8 * HOUR), Ok(()));
        assert_eq!(token.check_cookie(&sent, t0 + 8 * HOUR, 8 * HOUR), Err(AdminError::Refused), "expired");
        assert_eq!(token.check_cookie(&sent, t0, HOUR), Err(AdminError::Refused), "longer than the setting now");
        let other = AdminToken(Some("another-token".into()));
        assert_eq!(other.check_cookie(&sent, t0, 8 * HOUR), Err(AdminError::Refused), "a changed token logs out");
    }

    #[test]
    fn forged_and_altered_cookies_are_refused() {
        let token = AdminToken(Some("s3cret-admin".into()));
        let t0 = SystemTime::now();
        let set = token.session_cookie(t0, HOUR, false).expect("cookie");
        let (expiry, mac) = pair(&set).trim_start_matches("p2p_admin=").split_once('.').expect("expiry.mac");
        let later: u128 = expiry.parse::<u128>().expect("millis") + 1000;
        let too_long = format!("p2p_admin={expiry}.{mac}00");
        for forged in [
            String::new(),
            "p2p_admin=s3cret-admin".to_owned(),
            format!("p2p_admin={expiry}"),
            format!("p2p_admin={later}.{mac}"),
            format!("p2p_admin={expiry}.{}", mac.replace(|c: char| c.is_ascii_digit(), "0")),
            format!("p2p_admin={expiry}.{}", &mac[1..]),
            format!("p2p_admin=+{expiry}.{mac}"),
            too_long,
        ] {
            let sent = if forged.is_empty() { HeaderMap::new() } else { headers(&forged) };
            assert_eq!(token.check_cookie(&sent, t0, HOUR), Err(AdminError::Refused), "{forged:?}");
        }
        assert_eq!(
            token.check_cookie(&headers(&format!("p2p_admin={expiry}.{}", mac.to_uppercase())), t0, HOUR),
            Ok(())
        );
    }

    #[test]
    fn debug_never_shows_the_token() {
        let shown = format!("{:?}", AdminToken(Some("s3cret-admin".into())));
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(ct_eq(b"abc", b"abc") && !ct_eq(b"abc", b"abd") && !ct_eq(b"abc", b"ab"));
        assert_eq!(decode_hex("0aFf"), Some(vec![0x0a, 0xff]));
        assert_eq!(decode_hex("0g"), None);
        assert_eq!(decode_hex("abc"), None);
    }
}
