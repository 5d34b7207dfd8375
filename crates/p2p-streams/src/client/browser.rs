//! Small browser utilities for the driver (`hydrate` only): clock, randomness, performance marks, the
//! per-tab nonce in sessionStorage, the signaling URL and console warnings. Nothing here panics: every
//! browser API that can fail degrades to a sensible fallback.

use crate::early::{TAB_ALPHABET, TAB_LEN, TAB_STORAGE_KEY};
use crate::protocol::SIGNALING_PATH;
use crate::token::valid_tab;
use wasm_bindgen::JsValue;

/// Milliseconds since the epoch.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Uniform in `[0, 1)`.
pub fn random() -> f64 {
    js_sys::Math::random()
}

/// A random id below 2^53 (exact in a JS number).
pub fn random_id() -> u64 {
    (random() * 9_007_199_254_740_992.0) as u64
}

/// `performance.mark(name)`, ignored where unsupported.
pub fn mark(name: &str) {
    if let Some(perf) = web_sys::window().and_then(|w| w.performance()) {
        let _ = perf.mark(name);
    }
}

/// `console.warn` with a `p2p-streams:` prefix (warnings, never errors: nothing a peer sends is our bug).
pub fn warn(message: &str) {
    web_sys::console::warn_1(&JsValue::from_str(&format!("p2p-streams: {message}")));
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

fn fresh_nonce() -> String {
    let alphabet = TAB_ALPHABET.as_bytes();
    (0..TAB_LEN).map(|_| alphabet[(random() * alphabet.len() as f64) as usize % alphabet.len()] as char).collect()
}

/// This tab's nonce: kept in sessionStorage so a reload keeps the same peer id (and replaces its old
/// link), while another tab of the same user gets its own.
pub fn tab_nonce() -> String {
    let storage = session_storage();
    if let Some(tab) = storage.as_ref().and_then(|s| s.get_item(TAB_STORAGE_KEY).ok().flatten()) {
        if valid_tab(&tab) {
            return tab;
        }
    }
    renew_tab_nonce()
}

/// Picks a new nonce for this tab (after the server said another socket took over our peer id, as
/// happens when a tab is duplicated together with its sessionStorage).
pub fn renew_tab_nonce() -> String {
    let tab = fresh_nonce();
    if let Some(storage) = session_storage() {
        let _ = storage.set_item(TAB_STORAGE_KEY, &tab);
    }
    tab
}

/// `ws(s)://{current host}/p2p/ws?session=..&token=..&tab=..`.
pub fn signaling_url(session: &str, token: &str, tab: &str) -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" { "wss" } else { "ws" };
    let host = location.host().ok()?;
    let enc = |s: &str| String::from(js_sys::encode_uri_component(s));
    Some(format!("{scheme}://{host}{SIGNALING_PATH}?session={}&token={}&tab={}", enc(session), enc(token), enc(tab)))
}
