//! TURN REST API credentials, minted here from the shared secret (the generator does not depend on the app
//! crate): user name `"{expiry-unix}:{peer}"`, password `base64(HMAC-SHA1(secret, username))`, the scheme
//! coturn's `use-auth-secret` and our embedded server (`crates/p2p-streams/src/server/turn/credentials.rs`) both accept.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use std::time::{SystemTime, UNIX_EPOCH};

/// Mints credentials with one shared secret.
#[derive(Clone)]
pub struct Minter {
    /// Ready-keyed HMAC, cloned per credential.
    mac: Hmac<Sha1>,
}

impl Minter {
    /// A minter for `secret` (the servers' shared TURN secret).
    pub fn new(secret: &[u8]) -> Self {
        // HMAC takes keys of any length.
        let mac = Hmac::<Sha1>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("any key length"));
        Minter { mac }
    }

    /// User name and password for `peer`, valid for the next hour.
    pub fn credential(&self, peer: &str) -> (String, String) {
        let expiry = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) + 3600;
        let username = format!("{expiry}:{peer}");
        let password = self.password(&username);
        (username, password)
    }

    /// The password of `username`.
    pub fn password(&self, username: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(username.as_bytes());
        STANDARD.encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_the_turn_rest_api_one() {
        // Computed independently: python3 -c 'import hmac,hashlib,base64;
        //   print(base64.b64encode(hmac.new(b"turnload-test-secret", b"1700000000:alice", hashlib.sha1).digest()).decode())'
        let minter = Minter::new(b"turnload-test-secret");
        assert_eq!(minter.password("1700000000:alice"), "kQ7qx2J4SPAlYyfEez1nwzptQfQ=");
        let (username, password) = minter.credential("bob");
        assert!(username.ends_with(":bob"));
        assert_eq!(password, minter.password(&username));
    }
}
