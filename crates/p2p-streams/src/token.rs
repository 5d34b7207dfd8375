//! Join tokens: what a peer presents to the signaling route. Claims and validation rules are shared by both
//! sides; signing and verification (HMAC-SHA256 with the server secret) exist only on the server (`ssr`).
//!
//! Format: `base64url(claims JSON) "." base64url(HMAC-SHA256(secret, first part))`. The claims bind the
//! session, the app's user id and an expiry; the browser adds only a per-tab nonce (see [`valid_tab`]).

use serde::{Deserialize, Serialize};

/// Longest accepted token, in bytes; anything longer is rejected before decoding.
pub const MAX_TOKEN_LEN: usize = 1024;

/// What a join token asserts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinClaims {
    /// Format version of the claims.
    pub v: u8,
    /// The session the bearer may join.
    pub sid: String,
    /// The app's server-side identity of the user.
    pub pid: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
}

/// A session id is 1..=128 printable characters.
pub fn valid_session_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && !id.chars().any(char::is_control)
}

/// A user id is 1..=64 printable characters without `#` (which separates the tab nonce).
pub fn valid_user_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && !id.chars().any(|c| c.is_control() || c == '#')
}

/// A tab nonce is 1..=32 ASCII letters, digits, `-` or `_`.
pub fn valid_tab(tab: &str) -> bool {
    (1..=32).contains(&tab.len()) && tab.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(feature = "ssr")]
pub use signer::{now_secs, TokenError, TokenSigner};

#[cfg(feature = "ssr")]
mod signer {
    use super::{valid_session_id, valid_user_id, JoinClaims, MAX_TOKEN_LEN};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    type HmacSha256 = Hmac<Sha256>;

    /// Why a token was refused. Every variant is bad input from a peer.
    #[derive(Debug, thiserror::Error, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum TokenError {
        /// No token in the request.
        #[error("missing join token")]
        Missing,
        /// Not two base64url parts, bad JSON, too long, or invalid ids.
        #[error("malformed join token")]
        Malformed,
        /// The MAC does not match (tampered, or signed with another secret).
        #[error("join token signature mismatch")]
        BadSignature,
        /// Past its expiry.
        #[error("join token expired")]
        Expired,
        /// Valid, but for another session than the one requested.
        #[error("join token is for another session")]
        WrongSession,
    }

    impl TokenError {
        /// HTTP status for the refused upgrade: 403 for a valid token used on the wrong session, else 401.
        pub fn status(&self) -> u16 {
            match self {
                TokenError::WrongSession => 403,
                _ => 401,
            }
        }
    }

    /// Signs and verifies join tokens with one server secret.
    #[derive(Clone)]
    pub struct TokenSigner {
        /// HMAC key; never logged.
        key: Vec<u8>,
    }

    impl std::fmt::Debug for TokenSigner {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("TokenSigner { key: <redacted> }")
        }
    }

    impl TokenSigner {
        /// A signer using `secret` (at least 16 bytes is sensible; the caller decides).
        pub fn new(secret: impl Into<Vec<u8>>) -> Self {
            TokenSigner { key: secret.into() }
        }

        /// A signer with 32 random bytes, for development when no secret is configured.
        pub fn random() -> Self {
            use rand::RngCore;
            let mut key = vec![0u8; 32];
            rand::thread_rng().fill_bytes(&mut key);
            TokenSigner { key }
        }

        /// The secret, for keys derived from it (the sealed-history epoch authority); never logged.
        pub(crate) fn secret(&self) -> &[u8] {
            &self.key
        }

        fn mac(&self) -> HmacSha256 {
            // HMAC accepts keys of any length, so this cannot fail.
            HmacSha256::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
        }

        /// Signs claims for `user` in `session`, valid for `ttl` from now.
        pub fn sign(&self, session: &str, user: &str, ttl: Duration) -> String {
            let claims =
                JoinClaims { v: 1, sid: session.to_owned(), pid: user.to_owned(), exp: now_secs() + ttl.as_secs() };
            self.sign_claims(&claims)
        }

        /// Signs arbitrary claims (tests use it for expired tokens).
        pub fn sign_claims(&self, claims: &JoinClaims) -> String {
            let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
            let mut mac = self.mac();
            mac.update(body.as_bytes());
            let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
            format!("{body}.{sig}")
        }

        /// Seals `value` (for example a sign-in cookie): `base64url(value).base64url(mac)`. The MAC is domain
        /// separated from join tokens, so a sealed value is never accepted as a token or the reverse.
        pub fn seal(&self, value: &str) -> String {
            let body = URL_SAFE_NO_PAD.encode(value.as_bytes());
            let mut mac = self.mac();
            mac.update(b"seal:");
            mac.update(body.as_bytes());
            format!("{body}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
        }

        /// Opens a value made by [`TokenSigner::seal`]; `None` if it was tampered with or malformed.
        pub fn open(&self, sealed: &str) -> Option<String> {
            if sealed.len() > MAX_TOKEN_LEN {
                return None;
            }
            let (body, sig) = sealed.split_once('.')?;
            let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
            let mut mac = self.mac();
            mac.update(b"seal:");
            mac.update(body.as_bytes());
            mac.verify_slice(&sig).ok()?;
            String::from_utf8(URL_SAFE_NO_PAD.decode(body).ok()?).ok()
        }

        /// Verifies `token` for `session` (the session the socket asks for) at the current time.
        pub fn verify(&self, token: Option<&str>, session: &str) -> Result<JoinClaims, TokenError> {
            self.verify_at(token, session, now_secs())
        }

        /// Verifies `token` for `session` at `now` (seconds since the epoch). The MAC is compared in
        /// constant time before any claim is looked at.
        pub fn verify_at(&self, token: Option<&str>, session: &str, now: u64) -> Result<JoinClaims, TokenError> {
            let token = token.filter(|t| !t.is_empty()).ok_or(TokenError::Missing)?;
            if token.len() > MAX_TOKEN_LEN {
                return Err(TokenError::Malformed);
            }
            let (body, sig) = token.split_once('.').ok_or(TokenError::Malformed)?;
            let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| TokenError::Malformed)?;
            let mut mac = self.mac();
            mac.update(body.as_bytes());
            mac.verify_slice(&sig).map_err(|_| TokenError::BadSignature)?;
            let raw = URL_SAFE_NO_PAD.decode(body).map_err(|_| TokenError::Malformed)?;
            let claims: JoinClaims = serde_json::from_slice(&raw).map_err(|_| TokenError::Malformed)?;
            if claims.v != 1 || !valid_session_id(&claims.sid) || !valid_user_id(&claims.pid) {
                return Err(TokenError::Malformed);
            }
            if claims.exp <= now {
                return Err(TokenError::Expired);
            }
            if claims.sid != session {
                return Err(TokenError::WrongSession);
            }
            Ok(claims)
        }
    }

    /// Seconds since the Unix epoch.
    pub fn now_secs() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn sign_then_verify_and_every_rejection() {
            let signer = TokenSigner::new(b"test-fixture-secret-not-for-production".to_vec());
            let tok = signer.sign("room", "ada", Duration::from_secs(60));
            assert_eq!(signer.verify(Some(&tok), "room").map(|c| c.pid), Ok("ada".to_owned()));
            assert_eq!(signer.verify(None, "room"), Err(TokenError::Missing));
            assert_eq!(signer.verify(Some(&tok), "other"), Err(TokenError::WrongSession));
            let other = TokenSigner::new(b"another-secret".to_vec());
            assert_eq!(other.verify(Some(&tok), "room"), Err(TokenError::BadSignature));
            let mut tampered = tok.clone().into_bytes();
            tampered[3] ^= 1;
            let tampered = String::from_utf8(tampered).unwrap_or_default();
            assert!(signer.verify(Some(&tampered), "room").is_err());
            assert_eq!(signer.verify(Some(&"a".repeat(5000)), "room"), Err(TokenError::Malformed));
            let old = JoinClaims { v: 1, sid: "room".into(), pid: "ada".into(), exp: 10 };
            assert_eq!(signer.verify(Some(&signer.sign_claims(&old)), "room"), Err(TokenError::Expired));
        }

        #[test]
        fn sealed_values_open_only_untampered_and_never_pass_as_tokens() {
            let signer = TokenSigner::new(b"test-fixture-secret-not-for-production".to_vec());
            let sealed = signer.seal("ada");
            assert_eq!(signer.open(&sealed).as_deref(), Some("ada"));
            assert_eq!(signer.open(&sealed.replace('.', ".x")), None);
            assert_eq!(TokenSigner::new(b"other".to_vec()).open(&sealed), None);
            assert!(signer.verify(Some(&sealed), "room").is_err());
        }
    }
}
