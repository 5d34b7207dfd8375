//! Time-limited TURN credentials, the "TURN REST API" scheme coturn implements with `use-auth-secret` (server
//! side, `ssr`): the user name is `"{expiry-unix}:{peer}"` and the password `base64(HMAC-SHA1(secret, name))`.
//! The server mints them with each join ticket; the embedded TURN server (and any coturn sharing the secret)
//! checks them without storing anything. The secret itself never leaves this process.

use crate::config::IceServer;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Mints and checks TURN REST API credentials with one shared secret.
#[derive(Clone)]
pub struct TurnCredentials {
    /// The shared secret (`P2P_TURN_SECRET`, or a random one for the embedded server alone).
    secret: Vec<u8>,
    /// The STUN/TURN URLs handed to browsers with each minted credential.
    urls: Vec<String>,
}

impl std::fmt::Debug for TurnCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnCredentials").field("secret", &"<redacted>").field("urls", &self.urls).finish()
    }
}

/// Why a TURN user name is not one of ours (the embedded server answers 401 to each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// Not `"{expiry}:{peer}"` with a decimal expiry and a non-empty peer.
    #[error("malformed TURN user name")]
    Malformed,
    /// The expiry is in the past.
    #[error("TURN credential expired")]
    Expired,
}

/// A user name this scheme accepts, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnUser<'a> {
    /// Seconds since the Unix epoch after which the credential is refused.
    pub expires_at: u64,
    /// The peer the credential was minted for (the app's user id).
    pub peer: &'a str,
}

impl TurnCredentials {
    /// Credentials signed with `secret`, handed out with `urls`.
    pub fn new(secret: impl Into<Vec<u8>>, urls: Vec<String>) -> Self {
        TurnCredentials { secret: secret.into(), urls }
    }

    /// The URLs handed out with each credential.
    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// Adds URLs (the embedded server's own) to the ones handed out, skipping duplicates.
    pub fn with_urls(mut self, urls: impl IntoIterator<Item = String>) -> Self {
        for url in urls {
            if !self.urls.contains(&url) {
                self.urls.push(url);
            }
        }
        self
    }

    /// The user name for `peer`, valid until `expires_at` (Unix seconds).
    pub fn username(expires_at: u64, peer: &str) -> String {
        format!("{expires_at}:{peer}")
    }

    /// The password of `username`: `base64(HMAC-SHA1(secret, username))`.
    pub fn password(&self, username: &str) -> String {
        // HMAC accepts keys of any length: `new_from_slice` cannot fail for it.
        let mut mac = match Hmac::<Sha1>::new_from_slice(&self.secret) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(username.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    /// The ICE server entry for `peer` whose credential expires at `expires_at` (the join token's expiry), or
    /// `None` when there is no URL to hand out.
    pub fn ice_server(&self, peer: &str, expires_at: u64) -> Option<IceServer> {
        if self.urls.is_empty() {
            return None;
        }
        let username = Self::username(expires_at, peer);
        let credential = self.password(&username);
        Some(IceServer { urls: self.urls.clone(), username: Some(username), credential: Some(credential) })
    }

    /// The long-term credential key (RFC 5389 15.4: `MD5(username ":" realm ":" password)`) of `username`,
    /// after checking that it is well formed and not expired at `now` (Unix seconds).
    pub fn key(&self, username: &str, realm: &str, now: u64) -> Result<[u8; 16], CredentialError> {
        self.verify(username, realm, now).map(|(_, key)| key)
    }

    /// [`key`](Self::key) with the parsed user name, so a caller that needs the peer parses it once.
    pub fn verify<'a>(
        &self,
        username: &'a str,
        realm: &str,
        now: u64,
    ) -> Result<(TurnUser<'a>, [u8; 16]), CredentialError> {
        let user = parse_username(username)?;
        if user.expires_at < now {
            return Err(CredentialError::Expired);
        }
        Ok((user, long_term_key(username, realm, &self.password(username))))
    }
}

/// Splits `"{expiry}:{peer}"`.
pub fn parse_username(username: &str) -> Result<TurnUser<'_>, CredentialError> {
    let (expiry, peer) = username.split_once(':').ok_or(CredentialError::Malformed)?;
    if peer.is_empty() || expiry.is_empty() || !expiry.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CredentialError::Malformed);
    }
    let expires_at = expiry.parse().map_err(|_| CredentialError::Malformed)?;
    Ok(TurnUser { expires_at, peer })
}

/// `MD5(username ":" realm ":" password)`, the key of STUN's long-term credential mechanism.
pub fn long_term_key(username: &str, realm: &str, password: &str) -> [u8; 16] {
    use md5::{Digest, Md5};
    let mut hash = Md5::new();
    hash.update(format!("{username}:{realm}:{password}").as_bytes());
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed independently with Python's hmac, hashlib and base64 modules:
    //   base64.b64encode(hmac.new(b'north-wind-test-secret', b'1767225600:alice', hashlib.sha1).digest())
    //   hashlib.md5(b'1767225600:alice:p2p-streams:' + password).hexdigest()
    const SECRET: &[u8] = b"north-wind-test-secret";
    const USERNAME: &str = "1767225600:alice";
    const PASSWORD: &str = "ARhNoOfThk4/SL+NXeZ7WSbGuTI=";
    const KEY_HEX: &str = "3e6ffa9d262cbe3c67be4e7e14aed143";

    #[test]
    fn minting_matches_the_turn_rest_api_vector() {
        let creds = TurnCredentials::new(SECRET, vec!["turn:turn.example.org:3478?transport=udp".into()]);
        let server = creds.ice_server("alice", 1_767_225_600).unwrap_or_else(|| panic!("urls are set"));
        assert_eq!(server.username.as_deref(), Some(USERNAME));
        assert_eq!(server.credential.as_deref(), Some(PASSWORD));
        assert_eq!(server.urls, ["turn:turn.example.org:3478?transport=udp"]);
        let key = creds.key(USERNAME, "p2p-streams", 1_767_225_599).unwrap_or_else(|e| panic!("{e}"));
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, KEY_HEX);
    }

    #[test]
    fn expired_and_malformed_names_have_no_key() {
        let creds = TurnCredentials::new(SECRET, Vec::new());
        assert_eq!(creds.key(USERNAME, "r", 1_767_225_601), Err(CredentialError::Expired));
        assert!(creds.key(USERNAME, "r", 1_767_225_600).is_ok(), "valid through its expiry second");
        for bad in ["alice", ":alice", "12:", "-5:alice", "1e9:alice", "99999999999999999999999:a"] {
            assert_eq!(creds.key(bad, "r", 0), Err(CredentialError::Malformed), "{bad}");
        }
        assert_eq!(parse_username("7:a:b"), Ok(TurnUser { expires_at: 7, peer: "a:b" }));
        assert!(creds.ice_server("alice", 1).is_none(), "no URL, nothing to hand out");
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let creds = TurnCredentials::new("super-secret-value", vec!["stun:x".into()]).with_urls(["stun:x".into()]);
        assert!(!format!("{creds:?}").contains("super-secret"));
        assert_eq!(creds.urls().len(), 1);
    }
}
