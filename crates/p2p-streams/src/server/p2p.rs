//! [`P2pServer`]: the one server-side value an app wires. Built from a [`P2pServerBuilder`] (signer, store,
//! signaling limits, join policy, static ICE servers, TURN credentials, an optional embedded TURN server), it
//! gives the axum routes to merge and the single Leptos context value that server-side rendering and the join
//! ticket endpoint read.

use super::turn::{EmbeddedTurn, TurnCredentials};
use super::{MemoryStore, RedisBackend, SessionStore, SignalingConfig, SignalingServer};
use crate::config::IceServer;
use crate::policy::{JoinPolicy, JoinRefusal};
use crate::ticket::{JoinTicket, MAX_EXPIRES_IN_SECS};
use crate::token::{valid_session_id, valid_user_id, TokenSigner};
use http::StatusCode;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::time::Duration;

/// Why no join ticket was issued.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TicketError {
    /// The session or peer id is not well-formed (400).
    #[error("invalid session or peer id")]
    InvalidIds,
    /// The app's [`JoinPolicy`] refused (its status and reason).
    #[error("not allowed to join: {0}")]
    Refused(JoinRefusal),
    /// No [`P2pServer`] in the Leptos context (500): the app did not provide it.
    #[error("p2p-streams: no P2pServer in the Leptos context (provide it with P2pServer::leptos_context)")]
    NotProvided,
}

impl TicketError {
    /// The HTTP status the join ticket endpoint answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            TicketError::InvalidIds => StatusCode::BAD_REQUEST,
            TicketError::Refused(refusal) => refusal.status(),
            TicketError::NotProvided => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Where host records live.
enum Store {
    /// This process's memory (one node).
    Memory,
    /// An app-supplied store.
    Custom(Arc<dyn SessionStore>),
    /// Redis, shared by several nodes, with its signaling bus.
    Redis(Box<RedisBackend>),
}

/// Builds a [`P2pServer`]; every option but the signer and the policy has a default.
pub struct P2pServerBuilder {
    /// Signs and verifies join tokens.
    signer: TokenSigner,
    /// Decides who may join which session as whom.
    policy: Arc<dyn JoinPolicy>,
    /// Host records: memory by default.
    store: Store,
    /// Signaling limits and timings: `SignalingConfig::default()` by default.
    config: SignalingConfig,
    /// Handed to every browser with its ticket: none by default.
    ice_servers: Vec<IceServer>,
    /// Mints a TURN credential per ticket: none by default.
    turn: Option<TurnCredentials>,
    /// The embedded STUN/TURN server, if the app started one.
    embedded_turn: Option<EmbeddedTurn>,
}

impl P2pServerBuilder {
    /// Keeps host records in `store` instead of this process's memory.
    pub fn store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = Store::Custom(store);
        self
    }

    /// Runs as one node of several sharing `backend` (host records and signaling bus in Redis). `build` must
    /// then be called inside a tokio runtime.
    pub fn redis(mut self, backend: RedisBackend) -> Self {
        self.store = Store::Redis(Box::new(backend));
        self
    }

    /// Signaling limits and timings.
    pub fn signaling_config(mut self, config: SignalingConfig) -> Self {
        self.config = config;
        self
    }

    /// Static ICE servers (STUN, or TURN with fixed credentials) handed to every browser with its ticket. A
    /// frame whose `P2pConfig` lists its own ICE servers keeps those.
    pub fn ice_servers(mut self, servers: Vec<IceServer>) -> Self {
        self.ice_servers = servers;
        self
    }

    /// TURN REST API credentials: each ticket carries one, expiring with its token, listed before the static
    /// ICE servers.
    pub fn turn_credentials(mut self, credentials: TurnCredentials) -> Self {
        self.turn = Some(credentials);
        self
    }

    /// The embedded STUN/TURN server: its URLs are added to the TURN credentials' (those of
    /// [`turn_credentials`](Self::turn_credentials), which must share its secret, or else the ones it was started
    /// with), and the app can reach it through [`P2pServer::embedded_turn`].
    pub fn embedded_turn(mut self, turn: EmbeddedTurn) -> Self {
        self.embedded_turn = Some(turn);
        self
    }

    /// The server. With [`redis`](Self::redis), call it inside a tokio runtime (it starts the node's bus).
    pub fn build(self) -> P2pServer {
        let signaling = match self.store {
            Store::Memory => SignalingServer::new(self.signer, Arc::new(MemoryStore::new()), self.config),
            Store::Custom(store) => SignalingServer::new(self.signer, store, self.config),
            Store::Redis(backend) => SignalingServer::clustered(self.signer, *backend, self.config),
        };
        let embedded_urls = self.embedded_turn.iter().flat_map(EmbeddedTurn::urls).collect::<Vec<_>>();
        // An embedded server given without credentials of their own still gets its URLs into tickets, with the
        // credentials it checks.
        let turn = self
            .turn
            .or_else(|| self.embedded_turn.as_ref().map(|t| t.credentials().clone()))
            .map(|credentials| credentials.with_urls(embedded_urls));
        let inner = Inner {
            signaling,
            policy: self.policy,
            ice_servers: self.ice_servers,
            turn,
            embedded_turn: self.embedded_turn,
        };
        P2pServer { inner: Arc::new(inner) }
    }
}

/// The server side of p2p-streams in one value: cheap to clone, every clone shares the same sockets.
#[derive(Clone)]
pub struct P2pServer {
    /// Shared state.
    inner: Arc<Inner>,
}

/// What every clone shares.
struct Inner {
    /// The signaling route's server.
    signaling: SignalingServer,
    /// The app's join policy.
    policy: Arc<dyn JoinPolicy>,
    /// Static ICE servers for tickets.
    ice_servers: Vec<IceServer>,
    /// Per-ticket TURN credentials (with the embedded server's URLs).
    turn: Option<TurnCredentials>,
    /// The embedded STUN/TURN server.
    embedded_turn: Option<EmbeddedTurn>,
}

impl std::fmt::Debug for P2pServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("P2pServer").field("signaling", &self.inner.signaling).finish_non_exhaustive()
    }
}

impl P2pServer {
    /// A builder signing tokens with `signer` and asking `policy` before every ticket.
    pub fn builder(signer: TokenSigner, policy: impl JoinPolicy) -> P2pServerBuilder {
        P2pServerBuilder {
            signer,
            policy: Arc::new(policy),
            store: Store::Memory,
            config: SignalingConfig::default(),
            ice_servers: Vec::new(),
            turn: None,
            embedded_turn: None,
        }
    }

    /// The signaling server (lobby queries, shutdown, open connections).
    pub fn signaling(&self) -> &SignalingServer {
        &self.inner.signaling
    }

    /// The embedded STUN/TURN server, if one was given.
    pub fn embedded_turn(&self) -> Option<&EmbeddedTurn> {
        self.inner.embedded_turn.as_ref()
    }

    /// The signaling route (`GET /p2p/ws`), mergeable into any `Router<S>`.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> axum::Router<S> {
        self.inner.signaling.router()
    }

    /// The ops routes (`/healthz`, and `/metrics` with a handle from `install_metrics`): unauthenticated.
    pub fn ops_router<S: Clone + Send + Sync + 'static>(&self, metrics: Option<PrometheusHandle>) -> axum::Router<S> {
        self.inner.signaling.ops_router(metrics)
    }

    /// What Leptos rendering and the join ticket endpoint need, for `leptos_routes_with_context` (and for
    /// `handle_server_fns_with_context` if the app mounts server functions itself): provides this server.
    pub fn leptos_context(&self) -> impl Fn() + Clone + Send + Sync + 'static {
        let server = self.clone();
        move || leptos::prelude::provide_context(server.clone())
    }

    /// Issues a join ticket for `peer_id` in `session_id`, valid for `expires_in_secs` (capped at 24 h),
    /// after the policy agreed: a signed token, a TURN credential expiring with it, and the ICE servers.
    pub async fn issue_ticket(
        &self,
        parts: &http::request::Parts,
        session_id: String,
        peer_id: String,
        expires_in_secs: u64,
    ) -> Result<JoinTicket, TicketError> {
        if !valid_session_id(&session_id) || !valid_user_id(&peer_id) {
            return Err(TicketError::InvalidIds);
        }
        if let Err(refusal) = self.inner.policy.authorize(parts, &session_id, &peer_id).await {
            tracing::info!(session = %session_id, status = %refusal.status(), reason = %refusal.reason(), "join token refused by policy");
            return Err(TicketError::Refused(refusal));
        }
        let ttl = Duration::from_secs(expires_in_secs.clamp(1, MAX_EXPIRES_IN_SECS));
        let token = self.inner.signaling.signer().sign(&session_id, &peer_id, ttl);
        let expires_at = crate::token::now_secs() + ttl.as_secs();
        let minted = self.inner.turn.as_ref().and_then(|turn| turn.ice_server(&peer_id, expires_at));
        let ice_servers = minted.into_iter().chain(self.inner.ice_servers.iter().cloned()).collect();
        Ok(JoinTicket { session_id, peer_id, token, expires_at, expires_in_secs: ttl.as_secs(), ice_servers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::JoinRefusal;

    /// Lets `ada` in, refuses everyone else as not signed in.
    struct OnlyAda;

    #[async_trait::async_trait]
    impl JoinPolicy for OnlyAda {
        async fn authorize(&self, _: &http::request::Parts, _: &str, peer_id: &str) -> Result<(), JoinRefusal> {
            tokio::task::yield_now().await; // a policy that waits, as a database query would
            if peer_id == "ada" {
                Ok(())
            } else {
                Err(JoinRefusal::unauthorized("not signed in"))
            }
        }
    }

    fn parts() -> http::request::Parts {
        http::Request::new(()).into_parts().0
    }

    fn server() -> P2pServer {
        let stun = IceServer { urls: vec!["stun:stun.example.org".into()], ..Default::default() };
        P2pServer::builder(TokenSigner::new(b"0123456789abcdef".to_vec()), OnlyAda)
            .ice_servers(vec![stun])
            .turn_credentials(TurnCredentials::new(b"turn-secret-0123".to_vec(), vec!["turn:example.org".into()]))
            .build()
    }

    #[tokio::test]
    async fn an_embedded_server_given_alone_mints_its_own_credentials_into_tickets() {
        let listen = "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}"));
        let config = crate::server::turn::TurnConfig::new(listen, std::net::Ipv4Addr::LOCALHOST.into());
        let credentials = TurnCredentials::new(b"embedded-secret-0123".to_vec(), Vec::new());
        let turn = EmbeddedTurn::start(config, credentials.clone()).await.unwrap_or_else(|e| panic!("{e}"));
        let server = P2pServer::builder(TokenSigner::new(b"0123456789abcdef".to_vec()), OnlyAda)
            .embedded_turn(turn.clone())
            .build();
        let ticket = server.issue_ticket(&parts(), "team_1".into(), "ada".into(), 60).await;
        let entry = ticket.ok().and_then(|t| t.ice_servers.first().cloned()).unwrap_or_default();
        assert_eq!(entry.urls, turn.urls());
        let username = entry.username.unwrap_or_default();
        assert_eq!(entry.credential, Some(credentials.password(&username)));
        turn.close().await;
    }

    #[tokio::test]
    async fn an_accepted_peer_gets_a_token_a_turn_credential_and_the_static_servers() {
        let ticket = server().issue_ticket(&parts(), "team_1".into(), "ada".into(), 60).await;
        let ticket = ticket.map_err(|e| e.to_string());
        let urls = ticket.as_ref().map(|t| t.ice_servers.iter().map(|s| s.urls[0].as_str()).collect::<Vec<_>>());
        assert_eq!(urls, Ok(vec!["turn:example.org", "stun:stun.example.org"]));
        let first = ticket.as_ref().ok().and_then(|t| t.ice_servers.first().cloned());
        assert!(first.is_some_and(|s| s.username.is_some() && s.credential.is_some()));
    }

    #[tokio::test]
    async fn a_refusal_keeps_its_status_and_reason() {
        let refused = server().issue_ticket(&parts(), "team_1".into(), "bob".into(), 60).await;
        let err = refused.err();
        assert_eq!(err.as_ref().map(TicketError::status), Some(StatusCode::UNAUTHORIZED));
        assert_eq!(err.map(|e| e.to_string()), Some("not allowed to join: not signed in".to_owned()));
        let invalid = server().issue_ticket(&parts(), "team_1".into(), "a#b".into(), 60).await;
        assert_eq!(invalid.err(), Some(TicketError::InvalidIds));
    }
}
