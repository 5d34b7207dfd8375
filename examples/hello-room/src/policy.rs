//! Who may join (server only): anyone with a valid name, into the one room.

use crate::app::{valid_name, ROOM};
use p2p_streams::{async_trait, JoinPolicy, JoinRefusal};

/// Anyone may join [`ROOM`] under a valid name (no sign-in: this is an example; a real app checks that the
/// name is the signed-in user's, see the library's embedding guide).
pub struct AnyoneWithAName;

#[async_trait]
impl JoinPolicy for AnyoneWithAName {
    async fn authorize(&self, _: &http::request::Parts, session_id: &str, peer_id: &str) -> Result<(), JoinRefusal> {
        if session_id != ROOM {
            return Err(JoinRefusal::not_found("unknown room"));
        }
        if !valid_name(peer_id) {
            return Err(JoinRefusal::forbidden("names are 1-32 letters, digits, - or _"));
        }
        Ok(())
    }
}
