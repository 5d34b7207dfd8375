//! The app's join policy (server only): who may join which session, as whom. Asynchronous, so it can ask a
//! database; a refusal is typed ([`JoinRefusal`]: the reason shown to the user and the HTTP status the join
//! ticket endpoint answers with), not a bare string.

use http::StatusCode;

/// Why a join was refused: the reason is shown to the user (in the frame's `error` signal and the
/// `on_error` callback, as "not allowed to join: {reason}"), the status is the join ticket endpoint's answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct JoinRefusal {
    /// The HTTP status of the ticket endpoint's answer (4xx).
    status: StatusCode,
    /// Shown to the user: say what they can do about it, never secrets.
    reason: String,
}

impl JoinRefusal {
    /// A refusal with any status (a status outside 400-599 is answered as 403).
    pub fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        let status = if status.is_client_error() || status.is_server_error() { status } else { StatusCode::FORBIDDEN };
        JoinRefusal { status, reason: reason.into() }
    }

    /// 401: the request carries no (valid) sign-in.
    pub fn unauthorized(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, reason)
    }

    /// 403: signed in, but not allowed (another user's peer id, not a member of the room).
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, reason)
    }

    /// 404: no such room.
    pub fn not_found(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, reason)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The reason shown to the user.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// The app's authorization hook, given to [`P2pServer::builder`](crate::server::P2pServer::builder). Every
/// join ticket (rendered into a page or fetched by the browser) is issued only after it agreed.
///
/// ```
/// use p2p_streams::{JoinPolicy, JoinRefusal};
///
/// struct MembersOnly;
///
/// #[async_trait::async_trait]
/// impl JoinPolicy for MembersOnly {
///     async fn authorize(&self, parts: &http::request::Parts, session_id: &str, peer_id: &str) -> Result<(), JoinRefusal> {
///         let user = parts.headers.get("x-user").and_then(|v| v.to_str().ok());
///         let user = user.ok_or_else(|| JoinRefusal::unauthorized("not signed in"))?;
///         if user != peer_id {
///             return Err(JoinRefusal::forbidden("peer id is not the signed-in user"));
///         }
///         if !session_id.starts_with("team_") {
///             return Err(JoinRefusal::not_found("unknown room"));
///         }
///         Ok(()) // a real policy may `.await` a database here
///     }
/// }
/// # let _ = MembersOnly;
/// ```
///
/// During server-side rendering the frame polls the policy once: a policy that answers without waiting (a
/// cookie check) gets its ticket rendered into the page; one that waits (a database query) is dropped there,
/// and the browser fetches its ticket from the endpoint instead, where the policy is awaited.
#[async_trait::async_trait]
pub trait JoinPolicy: Send + Sync + 'static {
    /// Decides whether the request's user may join `session_id` as `peer_id`. Typical policies read the app's
    /// session cookie from `parts` and require `peer_id` to be that user's id.
    async fn authorize(&self, parts: &http::request::Parts, session_id: &str, peer_id: &str)
        -> Result<(), JoinRefusal>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_keep_their_status_and_reason() {
        let refusal = JoinRefusal::not_found("unknown room");
        assert_eq!((refusal.status(), refusal.reason()), (StatusCode::NOT_FOUND, "unknown room"));
        assert_eq!(JoinRefusal::unauthorized("x").status(), StatusCode::UNAUTHORIZED);
        assert_eq!(refusal.to_string(), "unknown room");
        // A success status is not a refusal.
        assert_eq!(JoinRefusal::new(StatusCode::OK, "x").status(), StatusCode::FORBIDDEN);
    }
}
