//! The key that seals the demo's identity cookie (server only).
//!
//! The demo keeps its own key rather than borrowing the toolkit's join-token signer: the toolkit's signer is
//! its own business (a stranger's app has its own session cookies), and a key per purpose means a value sealed
//! for one can never pass for the other. The key is derived from the same `P2P_SECRET`, so one secret still
//! configures a deployment, and a cookie stays valid across restarts and on every node that shares the secret:
//!
//! `key = HMAC-SHA256(P2P_SECRET, "p2p-streams-demo/identity-cookie/v1")`
//!
//! A sealed value is `base64url(value) "." base64url(HMAC-SHA256(key, "seal:" base64url(value)))`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// What the key is derived for: changing it (a new version) invalidates every cookie.
const LABEL: &[u8] = b"p2p-streams-demo/identity-cookie/v1";
/// Longest sealed value accepted, in bytes; anything longer is refused before decoding.
const MAX_SEALED_LEN: usize = 1024;

/// Seals and opens the identity cookie's value.
#[derive(Clone)]
pub struct CookieKey {
    /// HMAC key derived from the server secret; never logged.
    key: [u8; 32],
}

impl std::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieKey { key: <redacted> }")
    }
}

impl CookieKey {
    /// The cookie key of server secret `secret` (`P2P_SECRET`, or the random per-process secret).
    pub fn derive(secret: &[u8]) -> Self {
        let mut mac = hmac(secret);
        mac.update(LABEL);
        CookieKey { key: mac.finalize().into_bytes().into() }
    }

    /// Seals `value`: anyone can read it, nobody without the key can change it.
    pub fn seal(&self, value: &str) -> String {
        let body = URL_SAFE_NO_PAD.encode(value.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(self.mac(&body).finalize().into_bytes());
        format!("{body}.{sig}")
    }

    /// The value [`CookieKey::seal`] sealed; `None` if it was tampered with, sealed with another key, or
    /// malformed. The MAC is compared in constant time.
    pub fn open(&self, sealed: &str) -> Option<String> {
        if sealed.len() > MAX_SEALED_LEN {
            return None;
        }
        let (body, sig) = sealed.split_once('.')?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        self.mac(body).verify_slice(&sig).ok()?;
        String::from_utf8(URL_SAFE_NO_PAD.decode(body).ok()?).ok()
    }

    fn mac(&self, body: &str) -> HmacSha256 {
        let mut mac = hmac(&self.key);
        mac.update(b"seal:");
        mac.update(body.as_bytes());
        mac
    }
}

/// HMAC-SHA256 keyed with `key`.
fn hmac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_open_with_the_same_secret_only() {
        let key = CookieKey::derive(b"test-fixture-secret-not-for-production");
        let sealed = key.seal("ada lovelace");
        assert_eq!(key.open(&sealed).as_deref(), Some("ada lovelace"));
        // Same secret, new process (a restart, another node): still valid.
        assert_eq!(
            CookieKey::derive(b"test-fixture-secret-not-for-production").open(&sealed).as_deref(),
            Some("ada lovelace")
        );
        assert_eq!(CookieKey::derive(b"another-secret-entirely-0123456").open(&sealed), None);
        let (body, sig) = sealed.split_once('.').expect("two parts");
        let forged = format!("{}.{sig}", URL_SAFE_NO_PAD.encode("grace"));
        assert_eq!(key.open(&forged), None);
        assert_eq!(key.open(body), None);
        assert_eq!(key.open(&"x".repeat(2000)), None);
    }

    #[test]
    fn the_key_is_not_the_secret() {
        // A token signer keyed with the raw secret cannot make a cookie, nor the reverse.
        let secret = b"test-fixture-secret-not-for-production";
        assert_ne!(&CookieKey::derive(secret).key[..], &secret[..32]);
        let signer = p2p_streams::token::TokenSigner::new(secret.to_vec());
        assert_eq!(CookieKey::derive(secret).open(&signer.seal("ada")), None);
    }
}
