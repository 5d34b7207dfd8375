//! [`serve`]: the HTTP/1.1 accept loop for an app that mounts the signaling server (server side, `ssr`).
//!
//! `axum::serve` never times out a connection that is slow to send its request head: a client can open TCP
//! connections and send nothing (or one byte a minute), or leave a keep-alive connection idle, and each one
//! holds a task and its buffers for ever. This loop is `axum::serve` with hyper's header-read timeout: a
//! connection that does not complete a request head within `header_read_timeout` of starting to wait for one
//! (its first request, or the next one on a keep-alive connection) is closed. An upgraded signaling socket
//! has left hyper by then and is governed by the join and ping timeouts instead. It also hands each request
//! the client's address (`ConnectInfo<SocketAddr>`, for the per-address limit), sets `TCP_NODELAY` (signaling
//! frames are small and often back to back), and shuts down gracefully: on `shutdown` it stops accepting,
//! lets in-flight requests finish, closes idle connections, and returns when every HTTP connection is gone.

use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// How long the accept loop pauses after a failed `accept` (out of file descriptors, typically), so it does
/// not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Connections accepted between two yields of the accept loop.
const ACCEPTS_PER_YIELD: u32 = 4;

/// Serves `app` on `listener` until `shutdown` completes, closing connections that take longer than
/// `header_read_timeout` to send a request head; then drains the open HTTP connections and returns.
pub async fn serve<F>(listener: TcpListener, app: Router, header_read_timeout: Duration, shutdown: F)
where
    F: Future<Output = ()> + Send,
{
    let (stop_tx, stop_rx) = watch::channel(false);
    // Every connection task holds a clone of `done_rx`; `done_tx.closed()` resolves once all are gone.
    let (done_tx, done_rx) = watch::channel(());
    tokio::pin!(shutdown);
    let mut accepts: u32 = 0;
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(%err, "cannot set TCP_NODELAY");
        }
        let service = app.clone().map_request(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(remote));
            request
        });
        let service = TowerToHyperService::new(service);
        let (mut stop, done) = (stop_rx.clone(), done_rx.clone());
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(header_read_timeout);
            let connection = builder.serve_connection(TokioIo::new(tcp), service).with_upgrades();
            tokio::pin!(connection);
            let mut stopping = false;
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(err) = result {
                            tracing::debug!(%err, "HTTP connection ended with an error");
                        }
                        break;
                    }
                    _ = stop.wait_for(|stop| *stop), if !stopping => {
                        stopping = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(done);
        });
        // Every few accepts, let the new connections' tasks run: a burst is then served a few connections at a
        // time instead of up to 128 (tokio's cooperative budget) half-open HTTP connections at once, whose
        // request buffers end up freed between long-lived sockets and keep the heap large (W1 at 19.5k on one
        // thread: 3.2 -> 2.7-2.9 KiB of RSS per idle socket). Not after every accept: under load the loop would
        // then take one connection per round of the run queue and the listen queue would overflow
        // (docs/performance.md).
        accepts = accepts.wrapping_add(1);
        if accepts.is_multiple_of(ACCEPTS_PER_YIELD) {
            tokio::task::yield_now().await;
        }
    }
    drop(listener);
    stop_tx.send_replace(true);
    drop(done_rx);
    done_tx.closed().await;
}
