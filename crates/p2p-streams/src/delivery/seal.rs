//! Sealed history (shared by both sides): what makes a forged history entry detectable.
//!
//! Every host epoch has its own ECDSA P-256 key pair. The server hands the private key to the peer it makes
//! host, with an [`EpochCert`]: the session's epoch authority (a key only the server holds) signing "this key
//! seals epoch tag T of session S". The host seals every entry it orders ([`entry_message`]); the epoch's low
//! 32 bits are the tag, so an entry names the certificate that vouches for it. Every peer verifies the entries
//! it takes from another peer against the certificate of their epoch ([`SealCheck`]) and refuses, and reports
//! ([`Forgery`]), any that fail: a client can no longer slip an entry of a former epoch into a new host's log.
//!
//! Signing and verifying happen outside this pure engine: natively with the `p256` crate (`seal_native.rs`,
//! the server and the tests), in the browser with WebCrypto (`client/seal`), which is asynchronous, so the
//! driver verifies first and hands the engine its answers through the same [`SealCheck`] trait.

use super::{Bytes, Entry, Payload};
use crate::protocol::PeerId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// The server's statement that `key` seals the entries of epoch tag `tag` in one session.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EpochCert {
    /// The epoch's tag: the low 32 bits of the epoch of every entry this key seals (chosen by the server).
    pub tag: u32,
    /// The epoch's public key: an uncompressed SEC1 P-256 point (65 bytes, base64 in JSON).
    pub key: Bytes,
    /// The epoch authority's ECDSA P-256 / SHA-256 signature over [`cert_message`] (r || s, 64 bytes).
    pub sig: Bytes,
}

impl EpochCert {
    /// Whether this certificate vouches for entries of `epoch`.
    pub fn covers(&self, epoch: u64) -> bool {
        tag_of(epoch) == self.tag
    }
}

/// What the server gives the peer it makes host: the epoch's certificate and its private key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochGrant {
    /// The certificate every peer checks the host's entries against.
    pub cert: EpochCert,
    /// The epoch's private key, PKCS#8 DER (base64 in JSON). Only this peer ever receives it.
    pub secret: Bytes,
}

impl fmt::Debug for EpochGrant {
    // The private key never reaches a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EpochGrant").field("cert", &self.cert).finish_non_exhaustive()
    }
}

/// The tag of `epoch` (its low 32 bits, the part the server chose).
pub fn tag_of(epoch: u64) -> u32 {
    (epoch & u64::from(u32::MAX)) as u32
}

/// The bytes the epoch authority signs for a certificate: the session, the tag and the key, length-prefixed
/// so no two certificates share them.
pub fn cert_message(session: &str, tag: u32, key: &[u8]) -> Vec<u8> {
    let mut message = b"p2p-streams/epoch/v1\0".to_vec();
    message.extend_from_slice(&(session.len() as u32).to_be_bytes());
    message.extend_from_slice(session.as_bytes());
    message.extend_from_slice(&tag.to_be_bytes());
    message.extend_from_slice(key);
    message
}

/// The bytes a host seals for an entry: its position, its id (stamped sender, sequence number) and the
/// SHA-256 of its content. The session is bound by the epoch key's certificate.
pub fn entry_message(entry: &Entry) -> Vec<u8> {
    let mut message = b"p2p-streams/entry/v1\0".to_vec();
    message.extend_from_slice(&entry.epoch.to_be_bytes());
    message.extend_from_slice(&entry.index.to_be_bytes());
    message.extend_from_slice(&entry.seq.to_be_bytes());
    message.extend_from_slice(&(entry.from.0.len() as u32).to_be_bytes());
    message.extend_from_slice(entry.from.0.as_bytes());
    let mut digest = Sha256::new();
    match entry.content() {
        // Every peer parses and writes the JSON with the same serde_json, so the text is the same everywhere.
        Payload::Json(value) => {
            digest.update([0]);
            digest.update(serde_json::to_string(&value).unwrap_or_default().as_bytes());
        }
        Payload::Bytes(bytes) => {
            digest.update([1]);
            digest.update(&bytes);
        }
    }
    message.extend_from_slice(&digest.finalize());
    message
}

/// Checks seals. Implemented natively with `p256`, and in the browser by a table of answers WebCrypto gave
/// before the engine runs.
pub trait SealCheck {
    /// Whether the session's epoch authority issued `cert`.
    fn cert_valid(&self, cert: &EpochCert) -> bool;
    /// Whether `entry`'s seal verifies under `cert`'s key (a certificate already found valid).
    fn entry_valid(&self, entry: &Entry, cert: &EpochCert) -> bool;
}

/// An entry a peer refused because its seal did not verify: `by` handed it over, claiming `from` sent it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forgery {
    /// The peer whose frame carried it (a client's `History`, or the host's `Data`): the forger, or a host
    /// that relayed it without checking.
    pub by: PeerId,
    /// The sender the entry claimed.
    pub from: PeerId,
    /// Its claimed sequence number.
    pub seq: u64,
    /// Its claimed epoch.
    pub epoch: u64,
    /// Its claimed index.
    pub index: u64,
}

impl Forgery {
    /// A forgery report of `entry`, handed over by `by`.
    pub fn of(by: &PeerId, entry: &Entry) -> Self {
        Forgery { by: by.clone(), from: entry.from.clone(), seq: entry.seq, epoch: entry.epoch, index: entry.index }
    }
}

/// What a check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Sealed by the host its epoch's certificate names.
    Sealed,
    /// Not sealed: ordered by a host whose page went away before its seal was made, or by a host that
    /// cannot seal (no grant, or a page outside a secure context, where browsers offer no WebCrypto). Taken
    /// only live from the host of its epoch; never merged from a `History`; not held against anyone.
    Unsealed,
    /// A seal that does not verify, or no valid certificate for its epoch.
    Forged,
}
