//! The WebSocket opening handshake of `GET /p2p/ws` (RFC 6455 §4.2), done here rather than by axum's
//! `WebSocketUpgrade` (server side, `ssr`).
//!
//! Why not axum's extractor: its `on_upgrade` spawns a task whose future keeps the callback, the codec
//! configuration and the protocol header beside the socket's own future for the socket's whole life (about
//! 1.4 KiB of a 3 KiB task per idle socket, measured with heaptrack). Here the route spawns the socket's task
//! itself ([`super::upgrade`]), so an idle socket's task is the connection loop and the codec, nothing more.
//! The checks and statuses are those of axum's extractor: 400 for a missing or wrong `Connection`, `Upgrade`,
//! `Sec-WebSocket-Version` or `Sec-WebSocket-Key` header, 426 when the connection cannot be upgraded.

use super::wire::Wire;
use super::SignalingConfig;
use axum::body::Body;
use axum::http::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;

/// An upgraded signaling socket.
pub(crate) type Socket = Wire<TokioIo<Upgraded>>;

/// Why a request to the signaling route is not a WebSocket opening handshake we can accept.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum HandshakeError {
    /// `Connection` does not list `upgrade`.
    #[error("Connection header did not include 'upgrade'")]
    ConnectionHeader,
    /// `Upgrade` is not `websocket`.
    #[error("`Upgrade` header did not include 'websocket'")]
    UpgradeHeader,
    /// `Sec-WebSocket-Version` is not 13.
    #[error("`Sec-WebSocket-Version` header did not include '13'")]
    VersionHeader,
    /// No `Sec-WebSocket-Key`.
    #[error("`Sec-WebSocket-Key` header missing")]
    KeyMissing,
    /// The HTTP connection has no upgrade to give (not HTTP/1.1, or served without upgrades).
    #[error("WebSocket request couldn't be upgraded since no upgrade state was present")]
    NotUpgradable,
}

impl IntoResponse for HandshakeError {
    fn into_response(self) -> Response {
        let status = match self {
            HandshakeError::NotUpgradable => StatusCode::UPGRADE_REQUIRED,
            _ => StatusCode::BAD_REQUEST,
        };
        (status, self.to_string()).into_response()
    }
}

/// Whether the comma-separated header `name` lists `token` (case-insensitive).
fn lists(headers: &HeaderMap, name: axum::http::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

/// Checks the handshake headers and takes the connection's upgrade from `request`; returns it with the
/// `Sec-WebSocket-Accept` value owed to the client.
pub(crate) fn accept<B>(request: &mut Request<B>) -> Result<(OnUpgrade, HeaderValue), HandshakeError> {
    let headers = request.headers();
    if !lists(headers, CONNECTION, "upgrade") {
        return Err(HandshakeError::ConnectionHeader);
    }
    if !lists(headers, UPGRADE, "websocket") {
        return Err(HandshakeError::UpgradeHeader);
    }
    if headers.get(SEC_WEBSOCKET_VERSION).is_none_or(|v| v.as_bytes() != b"13") {
        return Err(HandshakeError::VersionHeader);
    }
    let key = headers.get(SEC_WEBSOCKET_KEY).ok_or(HandshakeError::KeyMissing)?;
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let accept = HeaderValue::try_from(accept).map_err(|_| HandshakeError::KeyMissing)?;
    let upgrade = request.extensions_mut().remove::<OnUpgrade>().ok_or(HandshakeError::NotUpgradable)?;
    Ok((upgrade, accept))
}

/// The `101 Switching Protocols` answer to an accepted handshake.
pub(crate) fn switching_protocols(accept: HeaderValue) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    response
}

/// Waits for the HTTP connection to be handed over after the 101 and frames it as a WebSocket with
/// `config`'s frame limit and buffer sizes.
pub(crate) async fn open(upgrade: OnUpgrade, config: &SignalingConfig) -> Result<Socket, hyper::Error> {
    let upgraded = TokioIo::new(upgrade.await?);
    Ok(Wire::new(upgraded, config.codec_limit(), config.read_buffer_size, config.write_buffer_size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Request<()> {
        let mut builder = Request::get("/p2p/ws");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).expect("request")
    }

    const GOOD: [(&str, &str); 4] = [
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn each_missing_header_is_named_and_an_unupgradable_connection_gets_426() {
        for (skip, expected) in [
            (0, HandshakeError::ConnectionHeader),
            (1, HandshakeError::UpgradeHeader),
            (2, HandshakeError::VersionHeader),
            (3, HandshakeError::KeyMissing),
        ] {
            let headers: Vec<_> = GOOD.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, h)| *h).collect();
            assert_eq!(accept(&mut request(&headers)).err(), Some(expected.clone()));
            assert_eq!(expected.into_response().status(), StatusCode::BAD_REQUEST);
        }
        // Every header right, but the request did not come over a connection hyper can upgrade.
        assert_eq!(accept(&mut request(&GOOD)).err(), Some(HandshakeError::NotUpgradable));
        assert_eq!(HandshakeError::NotUpgradable.into_response().status(), StatusCode::UPGRADE_REQUIRED);
    }

    #[test]
    fn the_accept_key_is_the_rfc_6455_example() {
        let accept = HeaderValue::from_static("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        let response = switching_protocols(accept.clone());
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(response.headers().get(SEC_WEBSOCKET_ACCEPT), Some(&accept));
        let derived = tokio_tungstenite::tungstenite::handshake::derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(derived, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }
}
