//! The signaling WebSocket (`hydrate` only): opens `/p2p/ws` (or takes over the socket the page's early script
//! opened, see `crate::early`), owns its JS closures, parses server frames and forwards open/frame/close events to
//! the driver, tagged with the socket's generation so events of a replaced socket are ignored. Closing detaches
//! the handlers first, so an intentional close reports nothing.

use super::browser::warn;
use super::{Inner, WeakShared};
use crate::early::EARLY_GLOBAL;
use crate::protocol::{ClientToServer, ServerToClient};
use crate::ticket::JoinTicket;
use js_sys::{Array, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CloseEvent, Event, MessageEvent, WebSocket};

/// One signaling socket and the closures the browser calls.
pub(crate) struct Signaling {
    /// The socket.
    ws: WebSocket,
    /// Generation this socket was opened with.
    pub(crate) generation: u64,
    /// Whether `open` fired.
    pub(crate) open: bool,
    /// Set by `close`, which detaches the handlers itself.
    detached: bool,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Signaling {
    /// Opens `url`; events go to `driver` tagged with `generation`.
    pub(crate) fn connect(url: &str, driver: &WeakShared, generation: u64) -> Result<Signaling, JsValue> {
        Ok(Signaling::attach(WebSocket::new(url)?, driver, generation))
    }

    /// Takes the socket the early script opened for `ticket`'s session, if any: ours when it was opened with
    /// this ticket and tab nonce and is connecting or open; any other is closed. Either way it leaves the page.
    pub(crate) fn take_early(
        ticket: &JoinTicket,
        tab: &str,
        driver: &WeakShared,
        generation: u64,
    ) -> Option<EarlySocket> {
        let sockets = Reflect::get(&web_sys::window()?.into(), &JsValue::from_str(EARLY_GLOBAL)).ok()?;
        let session = JsValue::from_str(&ticket.session_id);
        let early = Reflect::get(&sockets, &session).ok().filter(JsValue::is_object)?;
        let _ = Reflect::delete_property(sockets.unchecked_ref::<js_sys::Object>(), &session);
        let field = |name: &str| Reflect::get(&early, &JsValue::from_str(name)).ok();
        let ws = field("ws")?.dyn_into::<WebSocket>().ok()?;
        let socket = Signaling::attach(ws, driver, generation);
        let state = socket.ws.ready_state();
        let same = |name: &str, value: &str| field(name).and_then(|v| v.as_string()).is_some_and(|v| v == value);
        if !(same("token", &ticket.token) && same("tab", tab)) || state > WebSocket::OPEN {
            socket.close(1000, "replaced");
            return None;
        }
        let queued = field("queue").map(|q| Array::from(&q).iter().filter_map(|v| v.as_string()).collect());
        Some(EarlySocket { socket, open: state == WebSocket::OPEN, queued: queued.unwrap_or_default() })
    }

    /// Takes over `ws`: its events go to `driver` tagged with `generation`.
    fn attach(ws: WebSocket, driver: &WeakShared, generation: u64) -> Signaling {
        let on_open = {
            let driver = driver.clone();
            Closure::<dyn FnMut(Event)>::new(move |_| driver.with(move |i| i.on_signaling_open(generation)))
        };
        let on_message = {
            let driver = driver.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let Some(text) = event.data().as_string() else {
                    warn("ignoring a non-text signaling frame");
                    return;
                };
                if let Some(frame) = parse_server_frame(&text) {
                    driver.with(move |i| i.on_server_frame(generation, frame));
                }
            })
        };
        let on_close = {
            let driver = driver.clone();
            Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
                let code = event.code();
                driver.with(move |i| i.on_signaling_closed(generation, code))
            })
        };
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Signaling {
            ws,
            generation,
            open: false,
            detached: false,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        }
    }

    /// Sends one frame; false if the socket is not open.
    pub(crate) fn send(&self, frame: &ClientToServer) -> bool {
        if !self.open {
            return false;
        }
        match serde_json::to_string(frame) {
            Ok(text) => self.ws.send_with_str(&text).is_ok(),
            Err(_) => false,
        }
    }

    /// Closes the socket without reporting it back to the driver.
    pub(crate) fn close(mut self, code: u16, reason: &str) {
        self.detached = true;
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
        match self.ws.ready_state() {
            // CONNECTING: closing now makes Chromium log an error, so close as soon as it opens.
            WebSocket::CONNECTING => {
                let ws = self.ws.clone();
                let reason = reason.to_owned();
                let close_on_open = Closure::once_into_js(move || {
                    let _ = ws.close_with_code_and_reason(code, &reason);
                });
                self.ws.set_onopen(Some(close_on_open.unchecked_ref()));
            }
            WebSocket::OPEN => {
                let _ = self.ws.close_with_code_and_reason(code, reason);
            }
            _ => {}
        }
    }
}

impl Drop for Signaling {
    fn drop(&mut self) {
        // Handlers must never outlive their closures.
        if !self.detached {
            self.ws.set_onopen(None);
            self.ws.set_onmessage(None);
            self.ws.set_onclose(None);
        }
    }
}

/// The early script's socket, taken over by the driver.
pub(crate) struct EarlySocket {
    /// The socket, with the driver's handlers.
    pub(crate) socket: Signaling,
    /// Open: the script already sent `join`.
    pub(crate) open: bool,
    /// Frames the server sent before the driver started, oldest first.
    pub(crate) queued: Vec<String>,
}

/// A server frame, or `None` (with a console warning) for text that is not one.
pub(crate) fn parse_server_frame(text: &str) -> Option<ServerToClient> {
    ServerToClient::decode(text).map_err(|err| warn(&format!("ignoring an unreadable signaling frame: {err}"))).ok()
}

/// Keeps `Inner` methods that only the socket calls next to it.
impl Inner {
    pub(crate) fn signaling_send(&mut self, frame: &ClientToServer) -> bool {
        self.signaling.as_ref().is_some_and(|s| s.send(frame))
    }
}
