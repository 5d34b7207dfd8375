//! The p2p-streams server binary (`ssr`): tracing, configuration from the environment, the signaling server
//! with the in-memory session store (or Redis, shared by several nodes), the Leptos SSR routes and server
//! functions, and graceful shutdown.
//!
//! Every setting is a flag with an environment variable (`p2p-streams --help`, see `config.rs`); the ones
//! you usually set are `P2P_SECRET` (HMAC key for join tokens; the demo's identity-cookie key is derived from
//! it, `identity/cookie_key.rs`; a random per-process key with a warning when unset), `LEPTOS_SITE_ADDR`,
//! `LEPTOS_SITE_ROOT` and `RUST_LOG`; and
//! `LEPTOS_HASH_FILES=true` for a production build with content-hashed file names (`p2p_streams_demo::site`).

use axum::routing::post;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use p2p_streams::server::turn::EmbeddedTurn;
use p2p_streams::server::{install_metrics, serve, RedisBackend, SignalingServer};
use p2p_streams::token::TokenSigner;
use p2p_streams::P2pServer;
use p2p_streams_demo::app::{shell, App};
use p2p_streams_demo::config::{Config, LogFormat, StoreKind};
use p2p_streams_demo::identity::{join_handler, CookieKey, DemoJoinPolicy};
use tower_http::trace::TraceLayer;
use tracing_subscriber::EnvFilter;

/// Shortest `P2P_SECRET` accepted.
const MIN_SECRET_LEN: usize = 16;

/// The server secret and where it came from (for the start-up summary; never the secret itself): the join-token
/// signer is keyed with it, and the identity-cookie key is derived from it.
fn secret_from(secret: Option<&str>) -> (Vec<u8>, &'static str) {
    match secret {
        Some(secret) if secret.len() >= MIN_SECRET_LEN => (secret.as_bytes().to_vec(), "P2P_SECRET"),
        Some(_) => {
            tracing::warn!(min_len = MIN_SECRET_LEN, "P2P_SECRET is too short; using a random per-process secret");
            (random_secret(), "random (P2P_SECRET too short)")
        }
        None => {
            tracing::warn!(
                "P2P_SECRET is not set; using a random per-process secret (fine for development: tokens and \
                 sign-in cookies become invalid when the process restarts)"
            );
            (random_secret(), "random (P2P_SECRET unset)")
        }
    }
}

/// 32 random bytes, for development when no secret is configured.
fn random_secret() -> Vec<u8> {
    rand::random::<[u8; 32]>().to_vec()
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).init(),
    }
}

/// Resolves on ctrl-c or SIGTERM, then closes the signaling sockets. The SIGTERM handler is installed when this
/// is called, not when the future is first polled, so a signal sent right after "listening" is never missed.
fn shutdown_signal(signaling: SignalingServer) -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    async move {
        let ctrl_c = async {
            if let Err(err) = tokio::signal::ctrl_c().await {
                tracing::error!(error = %err, "cannot listen for ctrl-c");
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let terminate = async {
            match terminate {
                Ok(mut stream) => {
                    stream.recv().await;
                }
                Err(err) => {
                    tracing::error!(error = %err, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {},
            () = terminate => {},
        }
        tracing::info!("shutting down: closing signaling sockets");
        signaling.shutdown();
    }
}

/// Connections the kernel queues until `accept` takes them (capped by `net.core.somaxconn`, 4096 on current
/// Linux). tokio's `TcpListener::bind` asks for 1,024: when a burst of connections finds the queue full, the
/// kernel drops their SYNs and the clients retry a whole second later (W3 showed such 1 s connects).
const LISTEN_BACKLOG: u32 = 4096;

/// A listening socket on `addr` with [`LISTEN_BACKLOG`].
fn listen(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// The runtime for `threads` threads.
///
/// One thread gets tokio's current-thread scheduler: one queue, served in the order tasks became ready. The
/// multi-thread scheduler with a single worker splits its queue in two (a local queue of 256 tasks, and a
/// shared queue that takes the oldest 128 whenever the local one overflows) and can leave one of the two
/// waiting: with 2,000 busy sockets on one core, tasks in the shared queue waited hundreds of milliseconds
/// with tokio's default (W2 at 1,000 pairs: p99 357 ms), and with the shared queue checked every tick a block
/// of exactly 128 sockets sometimes waited seconds (max 1.6-9.5 s). The current-thread scheduler had neither
/// (docs/performance.md, "One core, one queue"). More threads get the multi-thread scheduler's defaults.
fn runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    if threads <= 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_args();
    runtime(config.worker_threads())?.block_on(run(config))
}

/// Builds the store and the app from `config`, and serves until a shutdown signal.
async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    init_tracing(config.log_format);

    // cargo-leptos compiles the site settings into the binary; a plain `cargo build` does not, so fall back
    // to reading them from Cargo.toml in the working directory.
    let mut conf = get_configuration(None)?;
    if conf.leptos_options.output_name.is_empty() {
        conf = get_configuration(Some("Cargo.toml"))?;
    }
    let mut leptos_options = conf.leptos_options;
    if let Some(addr) = config.addr {
        leptos_options.site_addr = addr;
    }
    let addr = leptos_options.site_addr;
    p2p_streams_demo::site::check(&leptos_options).map_err(|err| err.to_string())?;
    let (secret, secret_source) = secret_from(config.secret.as_deref());
    let cookie_key = CookieKey::derive(&secret);
    let signer = TokenSigner::new(secret);
    config.log_summary(addr, secret_source);
    let builder = P2pServer::builder(signer, DemoJoinPolicy::new(cookie_key.clone()))
        .signaling_config(config.signaling())
        .ice_servers(config.ice());
    let builder = match (config.store_kind(), config.redis_url.as_deref()) {
        (StoreKind::Memory, _) => builder,
        (StoreKind::Redis, None) => return Err("--store redis needs --redis-url (P2P_REDIS_URL)".into()),
        (StoreKind::Redis, Some(url)) => {
            let backend = RedisBackend::connect(url, config.redis_options())
                .await
                .map_err(|err| format!("cannot connect to Redis: {err}"))?;
            builder.redis(backend)
        }
    };

    let admin = config.admin.access(config.client_ip_header.clone());
    let metrics = match install_metrics() {
        Ok(handle) => Some(handle),
        Err(err) => {
            tracing::error!(%err, "Prometheus recorder not installed; /metrics disabled");
            None
        }
    };

    let turn_setup = config.turn.setup()?;
    config.turn.log_summary(&turn_setup);
    let builder = match turn_setup.credentials.clone() {
        Some(credentials) => builder.turn_credentials(credentials),
        None => builder,
    };
    // Tickets carry a credential for the configured URLs and the embedded server's own (the builder adds them).
    let builder = match turn_setup.embedded {
        Some(turn_config) => {
            let credentials = turn_setup.credentials.clone().ok_or("the embedded TURN server needs a secret")?;
            builder.embedded_turn(EmbeddedTurn::start(turn_config, credentials).await?)
        }
        None => builder,
    };
    let p2p = builder.build();
    let signaling = p2p.signaling().clone();
    // The one toolkit value (rendering, the join ticket endpoint, /admin) and the demo's own.
    let context = {
        let (p2p_context, cookie_key) = (p2p.leptos_context(), cookie_key.clone());
        move || {
            p2p_context();
            provide_context(cookie_key.clone());
            provide_context(admin.clone());
        }
    };
    let routes = generate_route_list(App);
    let join = Router::new().route("/join", post(join_handler)).with_state(cookie_key);
    let app = Router::new()
        .leptos_routes_with_context(&leptos_options, routes, context, {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        .nest_service(&format!("/{}", leptos_options.site_pkg_dir), p2p_streams_demo::site::site_files(&leptos_options))
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(leptos_options)
        .merge(join)
        .merge(p2p.router())
        .merge(p2p.ops_router(metrics))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            // The path only: query strings carry join and admin tokens.
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
        }));

    let listener = listen(addr)?;
    // The bound address (differs from `addr` for port 0).
    let addr = listener.local_addr()?;
    let shutdown = shutdown_signal(signaling.clone());
    tracing::info!(%addr, store = ?config.store_kind(), node = signaling.node_id(), "p2p-streams listening");
    // The accept loop: client addresses for the per-address limit, a header-read timeout for idle HTTP
    // connections, TCP_NODELAY, graceful shutdown.
    serve(listener, app, config.header_timeout(), shutdown).await;
    // Upgraded sockets are not awaited by the accept loop: let them send their close frames and leave the store.
    signaling.drained(std::time::Duration::from_secs(3)).await;
    if let Some(turn) = p2p.embedded_turn() {
        turn.close().await;
    }
    Ok(())
}
