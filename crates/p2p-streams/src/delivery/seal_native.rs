//! Native sealing with the `p256` crate (`ssr`, and the delivery engine's tests): the session's epoch
//! authority the server derives from its secret ([`EpochAuthority`]), a host's sealer ([`NativeSealer`]) and
//! a peer's checker ([`NativeCheck`]). The browser does the same with WebCrypto (`client/seal`).

use super::seal::{cert_message, entry_message, EpochCert, EpochGrant, SealCheck};
use super::{Bytes, Entry};
use hkdf::Hkdf;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use p256::SecretKey;
use sha2::Sha256;

/// Why a key could not be made or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The derived bytes are not a valid P-256 scalar (probability about 2^-128; another round is tried).
    #[error("no valid epoch authority key could be derived")]
    Derive,
    /// A private key that is not PKCS#8 P-256, or could not be encoded as such.
    #[error("invalid epoch key: {0}")]
    Key(String),
}

/// One session's epoch authority: a P-256 key derived with HKDF-SHA256 from the server secret and the
/// session id, so every node sharing the secret derives the same one and nothing is stored.
pub struct EpochAuthority {
    session: String,
    key: SigningKey,
}

impl EpochAuthority {
    /// The authority of `session` for the server secret `secret`.
    ///
    /// # Errors
    /// [`SealError::Derive`] if no round of the derivation gives a valid scalar (never in practice).
    pub fn derive(secret: &[u8], session: &str) -> Result<Self, SealError> {
        let hkdf = Hkdf::<Sha256>::new(Some(b"p2p-streams/epoch-authority/v1"), secret);
        for round in 0u8..8 {
            let mut scalar = [0u8; 32];
            let info = [session.as_bytes(), &[round]].concat();
            hkdf.expand(&info, &mut scalar).map_err(|_| SealError::Derive)?;
            if let Ok(key) = SigningKey::from_bytes(&scalar.into()) {
                return Ok(EpochAuthority { session: session.to_owned(), key });
            }
        }
        Err(SealError::Derive)
    }

    /// The authority's public key (uncompressed SEC1), which every peer of the session gets in its welcome.
    pub fn public_key(&self) -> Bytes {
        Bytes(self.key.verifying_key().to_encoded_point(false).as_bytes().to_vec())
    }

    /// A fresh epoch key pair for tag `tag`, certified.
    ///
    /// # Errors
    /// [`SealError::Key`] if the new key cannot be encoded as PKCS#8.
    pub fn grant(&self, tag: u32) -> Result<EpochGrant, SealError> {
        let secret_key = SecretKey::random(&mut rand::rngs::OsRng);
        let secret = secret_key.to_pkcs8_der().map_err(|err| SealError::Key(err.to_string()))?;
        let epoch_key = SigningKey::from(&secret_key);
        let public = epoch_key.verifying_key().to_encoded_point(false).as_bytes().to_vec();
        let sig: Signature = self.key.sign(&cert_message(&self.session, tag, &public));
        let cert = EpochCert { tag, key: Bytes(public), sig: Bytes(sig.to_bytes().to_vec()) };
        Ok(EpochGrant { cert, secret: Bytes(secret.as_bytes().to_vec()) })
    }
}

/// A host's sealer: the epoch's private key from its grant.
pub struct NativeSealer {
    key: SigningKey,
}

impl NativeSealer {
    /// The sealer of `grant`.
    ///
    /// # Errors
    /// [`SealError::Key`] when the grant's private key is not PKCS#8 P-256.
    pub fn new(grant: &EpochGrant) -> Result<Self, SealError> {
        let key = SecretKey::from_pkcs8_der(&grant.secret.0).map_err(|err| SealError::Key(err.to_string()))?;
        Ok(NativeSealer { key: SigningKey::from(&key) })
    }

    /// The seal of `entry` (ECDSA P-256 / SHA-256, r || s).
    pub fn seal(&self, entry: &Entry) -> Bytes {
        let sig: Signature = self.key.sign(&entry_message(entry));
        Bytes(sig.to_bytes().to_vec())
    }
}

/// A peer's checker: the session id and its epoch authority's public key (from the welcome).
pub struct NativeCheck {
    session: String,
    authority: Option<VerifyingKey>,
}

impl NativeCheck {
    /// A checker for `session` with the authority key `authority` (an invalid key fails every check).
    pub fn new(session: &str, authority: &Bytes) -> Self {
        NativeCheck { session: session.to_owned(), authority: VerifyingKey::from_sec1_bytes(&authority.0).ok() }
    }
}

fn verifies(key: &[u8], message: &[u8], sig: &[u8]) -> bool {
    let (Ok(key), Ok(sig)) = (VerifyingKey::from_sec1_bytes(key), Signature::from_slice(sig)) else { return false };
    key.verify(message, &sig).is_ok()
}

impl SealCheck for NativeCheck {
    fn cert_valid(&self, cert: &EpochCert) -> bool {
        let Some(authority) = &self.authority else { return false };
        let Ok(sig) = Signature::from_slice(&cert.sig.0) else { return false };
        authority.verify(&cert_message(&self.session, cert.tag, &cert.key.0), &sig).is_ok()
    }

    fn entry_valid(&self, entry: &Entry, cert: &EpochCert) -> bool {
        entry.sig.as_ref().is_some_and(|sig| verifies(&cert.key.0, &entry_message(entry), &sig.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PeerId;

    #[test]
    fn a_certified_key_seals_and_anything_else_fails() {
        let authority = EpochAuthority::derive(b"secret", "room").unwrap();
        let same = EpochAuthority::derive(b"secret", "room").unwrap();
        assert_eq!(authority.public_key(), same.public_key(), "every node derives the same authority");
        assert_ne!(authority.public_key(), EpochAuthority::derive(b"secret", "other").unwrap().public_key());
        let grant = authority.grant(7).unwrap();
        let check = NativeCheck::new("room", &authority.public_key());
        assert!(check.cert_valid(&grant.cert));
        assert!(!NativeCheck::new("other", &authority.public_key()).cert_valid(&grant.cert), "bound to its room");
        let forged_tag = EpochCert { tag: 8, ..grant.cert.clone() };
        assert!(!check.cert_valid(&forged_tag), "bound to its tag");
        let mut entry = Entry {
            from: PeerId("a#1".into()),
            seq: 1,
            epoch: (1 << 32) | 7,
            index: 1,
            payload: serde_json::json!({"text": "hi"}),
            bytes: None,
            sig: None,
        };
        entry.sig = Some(NativeSealer::new(&grant).unwrap().seal(&entry));
        assert!(check.entry_valid(&entry, &grant.cert));
        let altered = Entry { from: PeerId("b#1".into()), ..entry.clone() };
        assert!(!check.entry_valid(&altered, &grant.cert), "the stamped sender is sealed");
        let other = authority.grant(7).unwrap();
        assert!(!check.entry_valid(&entry, &other.cert), "another epoch key does not verify it");
        assert!(!format!("{grant:?}").contains("secret:"), "the private key stays out of Debug");
    }

    /// The host seals the value it made; a client checks the value it parsed from the wire. Floats must come
    /// out of that round trip as the same text (serde_json's `float_roundtrip`), or every host's own message
    /// with a float in it (a whiteboard stroke) would be refused as forged.
    #[test]
    fn a_sealed_entry_with_floats_still_verifies_after_the_wire() {
        let authority = EpochAuthority::derive(b"secret", "room").unwrap();
        let grant = authority.grant(3).unwrap();
        let points: Vec<[f64; 2]> =
            (1..40).map(|i| [f64::from(i) * 0.35 * 1000.0 / 7.0, 0.1 + 0.2 * f64::from(i)]).collect();
        let mut entry = Entry {
            from: PeerId("host#1".into()),
            seq: 4,
            epoch: (1 << 32) | 3,
            index: 2,
            payload: serde_json::json!({"Draw": {"stroke": 1, "points": points, "width": 2.5e-7}}),
            bytes: None,
            sig: None,
        };
        entry.sig = Some(NativeSealer::new(&grant).unwrap().seal(&entry));
        let wire = serde_json::to_string(&crate::protocol::PeerFrame::Data(entry)).unwrap();
        let Ok(crate::protocol::PeerFrame::Data(received)) = crate::protocol::PeerFrame::decode(&wire) else {
            panic!("the frame decodes");
        };
        assert!(NativeCheck::new("room", &authority.public_key()).entry_valid(&received, &grant.cert));
    }
}
