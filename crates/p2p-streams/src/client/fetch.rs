//! Calling a server function from the browser with one `fetch` (`hydrate` only), for the code a room loads
//! (`<P2pFrame>` getting or renewing its join ticket) and for apps' islands (public API, re-exported as
//! `p2p_streams::client::call_server_fn`; the demo's lobby and `/admin` use it).
//!
//! Why not the server function's own client: it brings server_fn's browser request and response layers
//! (streaming bodies included) into the room's wasm, about 14 KB gzip (docs/performance.md, bundle). This
//! speaks the same HTTP the `#[server]` endpoint expects for its default encodings: the arguments as a
//! `application/x-www-form-urlencoded` POST body, a JSON answer, and on failure a status other than 2xx
//! whose body is `Kind|message` (server_fn's `ServerFnErrorEncoding`); [`call_server_fn_raw`] serves a function
//! with an error encoding of its own (the demo inspector's). No page loads server_fn's client.

use leptos::prelude::ServerFnError;
use send_wrapper::SendWrapper;
use serde::de::DeserializeOwned;
use std::future::Future;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// How long a call may take before it fails as unreachable (`Request`): a server that accepted the connection
/// but never answers must not stall a ticket renewal, which is retried with backoff instead.
const CALL_TIMEOUT_MS: u32 = 10_000;
/// At most this much of an unexpected error body goes into the error.
const MAX_ERROR_CHARS: usize = 200;

/// POSTs `args` to the server function at `path` and decodes its JSON answer as `T`.
///
/// Errors keep server_fn's meaning: `ServerError` when the function ran and returned an error (the server
/// refused), `Request` when no answer came (offline, server restarting, no answer within 10 s), `Response` or
/// `Deserialization` when the answer was not what the function returns.
///
/// The future is `Send` (a [`SendWrapper`]) so that a `Resource` can run it; it must be polled on the
/// browser's one thread, as every future there is.
pub fn call_server_fn<T: DeserializeOwned>(
    path: &str,
    args: &[(&str, &str)],
) -> impl Future<Output = Result<T, ServerFnError>> + Send {
    let request = (path.to_owned(), form_body(args));
    SendWrapper::new(async move { call(&request.0, &request.1).await })
}

/// A server function's answer, undecoded: whether it succeeded (a 2xx status) and its body.
pub struct RawAnswer {
    /// A 2xx status: the body is the function's value; else its error, in the function's error encoding.
    pub ok: bool,
    /// The body as text.
    pub body: String,
}

/// POSTs `args` to the server function at `path` like [`call_server_fn`], for functions with an error type of
/// their own: the answer comes back undecoded; `Err` says why no answer came (offline, no answer within 10 s).
pub fn call_server_fn_raw(path: &str, args: &[(&str, &str)]) -> impl Future<Output = Result<RawAnswer, String>> + Send {
    let request = (path.to_owned(), form_body(args));
    SendWrapper::new(async move {
        post_form(&request.0, &request.1).await.map(|(ok, body)| RawAnswer { ok, body }).map_err(|e| describe(&e))
    })
}

async fn call<T: DeserializeOwned>(path: &str, body: &str) -> Result<T, ServerFnError> {
    let (ok, body) = match post_form(path, body).await {
        Ok(answer) => answer,
        Err(error) => return Err(ServerFnError::Request(describe(&error))),
    };
    if !ok {
        return Err(server_error(body));
    }
    serde_json::from_str(&body).map_err(|e| ServerFnError::Deserialization(e.to_string()))
}

/// `a=1&b=x%20y`: each value percent-encoded (`encodeURIComponent`, which the server's form decoder reads).
fn form_body(args: &[(&str, &str)]) -> String {
    let enc = |s: &str| String::from(js_sys::encode_uri_component(s));
    args.iter().map(|(key, value)| format!("{}={}", enc(key), enc(value))).collect::<Vec<_>>().join("&")
}

/// A failed call's body, `Kind|message`, as the `ServerFnError` the server encoded. Anything else (a proxy's
/// error page) is a `Response` error with the start of the body.
fn server_error(body: String) -> ServerFnError {
    match body.split_once('|') {
        Some(("ServerError", message)) => ServerFnError::ServerError(message.to_owned()),
        _ => ServerFnError::Response(body.chars().take(MAX_ERROR_CHARS).collect()),
    }
}

/// Whether the answer was 2xx, and its body as text.
async fn post_form(path: &str, body: &str) -> Result<(bool, String), JsValue> {
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(body));
    let headers = web_sys::Headers::new()?;
    headers.set("Content-Type", "application/x-www-form-urlencoded")?;
    headers.set("Accept", "application/json")?;
    init.set_headers(&headers);
    init.set_signal(Some(&web_sys::AbortSignal::timeout_with_u32(CALL_TIMEOUT_MS)));
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(path, &init)).await?.dyn_into()?;
    let text = JsFuture::from(response.text()?).await?;
    Ok((response.ok(), text.as_string().unwrap_or_default()))
}

/// A JS error as text (`TypeError: Failed to fetch`).
fn describe(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.to_string()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "the request failed".to_owned())
}
