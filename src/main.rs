//! The p2p-streams server binary (`ssr`): tracing, configuration from the environment, the signaling server
//! with the in-memory session store, the Leptos SSR routes and server functions, and graceful shutdown.
//!
//! Environment: `LEPTOS_SITE_ADDR` (default 127.0.0.1:3000), `LEPTOS_SITE_ROOT`, `P2P_SECRET` (HMAC key
//! for join tokens and the demo's identity cookie; a random per-process key with a warning when unset),
//! `RUST_LOG` (default `info`).

use axum::routing::post;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use p2p_streams::app::{shell, App};
use p2p_streams::identity::{join_handler, DemoJoinPolicy};
use p2p_streams::p2p::server::{MemoryStore, SignalingConfig, SignalingServer};
use p2p_streams::p2p::token::TokenSigner;
use p2p_streams::p2p::JoinPolicy;
use std::sync::Arc;
use tracing_subscriber::EnvFilter;

/// Shortest `P2P_SECRET` accepted.
const MIN_SECRET_LEN: usize = 16;

fn signer_from_env() -> TokenSigner {
    match std::env::var("P2P_SECRET") {
        Ok(secret) if secret.len() >= MIN_SECRET_LEN => {
            tracing::info!(source = "P2P_SECRET", "join token secret configured");
            TokenSigner::new(secret.into_bytes())
        }
        Ok(_) => {
            tracing::warn!(min_len = MIN_SECRET_LEN, "P2P_SECRET is too short; using a random per-process secret");
            TokenSigner::random()
        }
        Err(_) => {
            tracing::warn!(
                "P2P_SECRET is not set; using a random per-process secret (fine for development: tokens and \
                 sign-in cookies become invalid when the process restarts)"
            );
            TokenSigner::random()
        }
    }
}

async fn shutdown_signal(signaling: SignalingServer) {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();

    let conf = get_configuration(None)?;
    let leptos_options = conf.leptos_options;
    let addr = leptos_options.site_addr;
    let signer = signer_from_env();
    let signaling = SignalingServer::new(signer.clone(), Arc::new(MemoryStore::new()), SignalingConfig::default());
    let policy: Arc<dyn JoinPolicy> = Arc::new(DemoJoinPolicy::new(signer.clone()));

    let context = {
        let (signaling, policy) = (signaling.clone(), policy.clone());
        move || {
            provide_context(signaling.clone());
            provide_context(policy.clone());
        }
    };
    let routes = generate_route_list(App);
    let join = Router::new().route("/join", post(join_handler)).with_state(signer);
    let app = Router::new()
        .leptos_routes_with_context(&leptos_options, routes, context, {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(leptos_options)
        .merge(join)
        .merge(signaling.router());

    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, store = "memory", "p2p-streams listening");
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal(signaling)).await?;
    Ok(())
}
