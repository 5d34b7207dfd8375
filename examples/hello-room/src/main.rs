//! The server: the Leptos routes, the p2p-streams signaling route, the site's files.

use axum::Router;
use hello_room::app::{shell, App};
use hello_room::policy::AnyoneWithAName;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use p2p_streams::token::TokenSigner;
use p2p_streams::P2pServer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = get_configuration(None)?.leptos_options;
    // The join-token key: P2P_SECRET (16+ bytes) or a random one per process (tokens die with the process).
    let secret =
        std::env::var("P2P_SECRET").map(String::into_bytes).unwrap_or_else(|_| rand::random::<[u8; 32]>().to_vec());
    let p2p = P2pServer::builder(TokenSigner::new(secret), AnyoneWithAName).build();

    let app = Router::new()
        .leptos_routes_with_context(&options, generate_route_list(App), p2p.leptos_context(), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(options.clone())
        .merge(p2p.router());

    let listener = tokio::net::TcpListener::bind(options.site_addr).await?;
    println!("hello-room listening on http://{}", options.site_addr);
    let signaling = p2p.signaling().clone();
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            signaling.shutdown();
        })
        .await?;
    Ok(())
}
