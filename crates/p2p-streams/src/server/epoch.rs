//! Sealed history, server side (`ssr`): every peer's welcome names its session's epoch authority (a public
//! key), and every peer made host gets a grant: a fresh epoch key, certified by that authority for a tag the
//! server picks at random (`delivery::EpochAuthority`). The authority is derived from the token secret, so
//! every node of a cluster derives the same one and nothing is stored; a host elected on any node gets a
//! certificate every peer can check.

use super::Inner;
use crate::delivery::{Bytes, EpochAuthority, EpochGrant};
use crate::protocol::SessionId;

/// The session's authority, or `None` (logged) if it could not be derived.
fn authority(inner: &Inner, session: &SessionId) -> Option<EpochAuthority> {
    match EpochAuthority::derive(inner.signer.secret(), &session.0) {
        Ok(authority) => Some(authority),
        Err(err) => {
            tracing::error!(%err, "no epoch authority: this session's history is not sealed");
            None
        }
    }
}

/// The authority's public key, for a welcome.
pub(crate) fn authority_key(inner: &Inner, session: &SessionId) -> Option<Bytes> {
    authority(inner, session).map(|authority| authority.public_key())
}

/// A grant for the peer the server makes host of `session` now: a new epoch key with a random tag.
pub(crate) fn grant(inner: &Inner, session: &SessionId) -> Option<EpochGrant> {
    let tag = rand::random::<u32>();
    match authority(inner, session)?.grant(tag) {
        Ok(grant) => Some(grant),
        Err(err) => {
            tracing::error!(%err, "could not make an epoch key: the new host's entries are not sealed");
            None
        }
    }
}
