//! Join tokens for p2p-streams, minted here with the server's secret (the loadgen does not depend on the
//! app crate). Same format as `crates/p2p-streams/src/token.rs`: `base64url(claims JSON) "." base64url(HMAC-SHA256)`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::{SystemTime, UNIX_EPOCH};

/// Signs join tokens with one secret.
#[derive(Clone)]
pub struct Minter {
    /// Ready-keyed HMAC, cloned per token.
    mac: Hmac<Sha256>,
}

impl Minter {
    /// A minter for `secret` (the server's `P2P_SECRET`).
    pub fn new(secret: &[u8]) -> Self {
        // HMAC takes keys of any length.
        let mac = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("any key length"));
        Minter { mac }
    }

    /// A token letting `user` join `session` for the next hour.
    pub fn token(&self, session: &str, user: &str) -> String {
        let exp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) + 3600;
        let claims = serde_json::json!({ "v": 1, "sid": session, "pid": user, "exp": exp });
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut mac = self.mac.clone();
        mac.update(body.as_bytes());
        format!("{body}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_has_the_servers_shape_and_a_verifiable_mac() {
        let minter = Minter::new(b"loadgen-test-secret-0123456789");
        let token = minter.token("room-1", "u7");
        let (body, sig) = token.split_once('.').unwrap();
        let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).unwrap()).unwrap();
        assert_eq!(claims["v"], 1);
        assert_eq!(claims["sid"], "room-1");
        assert_eq!(claims["pid"], "u7");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"loadgen-test-secret-0123456789").unwrap();
        mac.update(body.as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
    }
}
