//! Who may open the admin inspector (server side, `ssr`): the configured [`AdminToken`], the `p2p_admin`
//! cookie that `/admin?token=...` sets, and the constant-time checks of both.
//!
//! The cookie never holds the token itself but a SHA-256 derivation of it, so a leaked cookie does not reveal
//! the token (it still opens the inspector until the token changes). Both checks compare fixed-length digests
//! with a constant-time loop. Nothing here logs a token or a cookie.

use super::AdminError;
use crate::identity::cookie;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use sha2::{Digest, Sha256};

/// Name of the cookie that carries the admin credential.
pub const ADMIN_COOKIE: &str = "p2p_admin";
/// Where a successful `?token=` login is sent (the same page, without the token in the address bar).
const ADMIN_PATH: &str = "/admin";
/// Domain separation for the cookie derivation.
const COOKIE_CONTEXT: &[u8] = b"p2p-streams admin cookie v1\0";

/// The admin token from the server's configuration, provided in the Leptos context. `None` (or an empty
/// string) disables the inspector: the page says so and the server function refuses with 403.
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

    /// Checks a token presented in the query string.
    pub fn check_token(&self, presented: &str) -> Result<(), AdminError> {
        let expected = self.configured().ok_or(AdminError::Disabled)?;
        if ct_eq(&digest(b"", presented), &digest(b"", expected)) {
            Ok(())
        } else {
            Err(AdminError::Refused)
        }
    }

    /// Checks the `p2p_admin` cookie among the request headers.
    pub fn check_cookie(&self, headers: &HeaderMap) -> Result<(), AdminError> {
        let expected = self.configured().ok_or(AdminError::Disabled)?;
        let presented = cookie(headers, ADMIN_COOKIE).ok_or(AdminError::Refused)?;
        if ct_eq(presented.as_bytes(), cookie_value(expected).as_bytes()) {
            Ok(())
        } else {
            Err(AdminError::Refused)
        }
    }

    /// The `Set-Cookie` value that logs a browser in: session-only, HttpOnly, SameSite=Strict.
    fn login_cookie(&self) -> Option<String> {
        let token = self.configured()?;
        Some(format!("{ADMIN_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict", cookie_value(token)))
    }
}

/// SHA-256 of `context` then `token`.
fn digest(context: &[u8], token: &str) -> [u8; 32] {
    Sha256::new().chain_update(context).chain_update(token.as_bytes()).finalize().into()
}

/// The cookie credential for `token`: hex of its derivation (64 characters).
fn cookie_value(token: &str) -> String {
    digest(COOKIE_CONTEXT, token).iter().map(|b| format!("{b:02x}")).collect()
}

/// Equality whose time does not depend on where the inputs differ (only on their length, which is public
/// here: digests and hex digests have fixed lengths).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The configured token from the context (absent context = disabled).
pub(crate) fn configured() -> AdminToken {
    use_context::<AdminToken>().unwrap_or_default()
}

/// Sets the status of the current response (the page during SSR, or the server function's response).
pub(crate) fn set_status(status: StatusCode) {
    if let Some(response) = use_context::<ResponseOptions>() {
        response.set_status(status);
    }
}

/// During the SSR of `/admin?token=...`: with the right token, sets the cookie and redirects (303) to
/// `/admin`, so the token leaves the address bar and history at once. A wrong token changes nothing here (the
/// page's server function call refuses it, and logs that).
pub(crate) fn login_from_query(presented: &str) {
    let token = configured();
    if token.check_token(presented).is_err() {
        return;
    }
    let (Some(response), Some(cookie)) = (use_context::<ResponseOptions>(), token.login_cookie()) else { return };
    let Ok(cookie) = HeaderValue::from_str(&cookie) else { return };
    response.append_header(header::SET_COOKIE, cookie);
    response.insert_header(header::LOCATION, HeaderValue::from_static(ADMIN_PATH));
    response.set_status(StatusCode::SEE_OTHER);
    tracing::info!("admin inspector login");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(cookie).expect("header"));
        headers
    }

    #[test]
    fn without_a_configured_token_everything_is_disabled() {
        for token in [AdminToken(None), AdminToken(Some(String::new()))] {
            assert_eq!(token.check_token(""), Err(AdminError::Disabled));
            assert_eq!(token.check_token("anything"), Err(AdminError::Disabled));
            assert_eq!(token.check_cookie(&headers("p2p_admin=x")), Err(AdminError::Disabled));
            assert_eq!(token.login_cookie(), None);
        }
    }

    #[test]
    fn only_the_exact_token_and_its_cookie_pass() {
        let token = AdminToken(Some("s3cret-admin".into()));
        assert_eq!(token.check_token("s3cret-admin"), Ok(()));
        for wrong in ["", "s3cret-admi", "s3cret-admin ", "S3CRET-ADMIN"] {
            assert_eq!(token.check_token(wrong), Err(AdminError::Refused), "{wrong:?}");
        }
        let set = token.login_cookie().expect("cookie");
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
        assert!(!set.contains("s3cret-admin"), "the cookie never carries the token");
        let pair = set.split(';').next().expect("pair");
        assert_eq!(token.check_cookie(&headers(&format!("a=1; {pair}; b=2"))), Ok(()));
        assert_eq!(token.check_cookie(&HeaderMap::new()), Err(AdminError::Refused));
        assert_eq!(token.check_cookie(&headers("p2p_admin=s3cret-admin")), Err(AdminError::Refused));
        let other = AdminToken(Some("another-token".into()));
        assert_eq!(other.check_cookie(&headers(pair)), Err(AdminError::Refused), "a changed token logs out");
    }

    #[test]
    fn debug_never_shows_the_token() {
        let shown = format!("{:?}", AdminToken(Some("s3cret-admin".into())));
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(ct_eq(b"abc", b"abc") && !ct_eq(b"abc", b"abd") && !ct_eq(b"abc", b"ab"));
    }
}
