//! The signaling WebSocket (`hydrate` only): opens `/p2p/ws`, owns its JS closures, parses server frames
//! and forwards open/frame/close events to the driver, tagged with the socket's generation so events of a
//! replaced socket are ignored. Closing detaches the handlers first, so an intentional close reports nothing.

use super::browser::warn;
use super::{Inner, WeakShared};
use crate::p2p::protocol::{ClientToServer, ServerToClient};
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
        let ws = WebSocket::new(url)?;
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
                match ServerToClient::decode(&text) {
                    Ok(frame) => driver.with(move |i| i.on_server_frame(generation, frame)),
                    Err(err) => warn(&format!("ignoring an unreadable signaling frame: {err}")),
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
        Ok(Signaling {
            ws,
            generation,
            open: false,
            detached: false,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
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

/// Keeps `Inner` methods that only the socket calls next to it.
impl Inner {
    pub(crate) fn signaling_send(&mut self, frame: &ClientToServer) -> bool {
        self.signaling.as_ref().is_some_and(|s| s.send(frame))
    }
}
