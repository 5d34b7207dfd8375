//! The page's life cycle (`hydrate` only): `pagehide` and `pageshow`. Leaving the page always leaves the room
//! cleanly (links and signaling socket closed, log and outbox saved), so peers see the peer go at once and the
//! server passes a host's role on. A page gone for good (closed, reloaded, not kept) stops the driver. A page
//! the browser keeps in its back/forward cache (`persisted`) is only suspended: Chromium caches a page only
//! without a live WebSocket or RTCPeerConnection, and the log and outbox stay in memory. Restored
//! (`pageshow` with `persisted`), it joins again like a reload, and the history exchange brings what it missed.

use super::{Inner, WeakShared};
use crate::hooks::P2pState;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::PageTransitionEvent;

/// The `pagehide` and `pageshow` listeners on the window, removed when the driver closes.
pub(crate) struct PageListeners {
    on_pagehide: Closure<dyn FnMut(PageTransitionEvent)>,
    on_pageshow: Closure<dyn FnMut(PageTransitionEvent)>,
}

impl PageListeners {
    /// Adds both listeners for `driver`; `None` without a window.
    fn install(driver: &WeakShared) -> Option<PageListeners> {
        let window = web_sys::window()?;
        let hide = driver.clone();
        let on_pagehide = Closure::<dyn FnMut(PageTransitionEvent)>::new(move |event: PageTransitionEvent| {
            let persisted = event.persisted();
            hide.with(move |inner| inner.on_pagehide(persisted));
        });
        let show = driver.clone();
        let on_pageshow = Closure::<dyn FnMut(PageTransitionEvent)>::new(move |event: PageTransitionEvent| {
            if event.persisted() {
                show.with(Inner::resume);
            }
        });
        window.add_event_listener_with_callback("pagehide", on_pagehide.as_ref().unchecked_ref()).ok()?;
        let listeners = PageListeners { on_pagehide, on_pageshow };
        if window.add_event_listener_with_callback("pageshow", listeners.on_pageshow.as_ref().unchecked_ref()).is_err()
        {
            listeners.remove();
            return None;
        }
        Some(listeners)
    }

    /// Removes both listeners (the closures are dropped with `self`).
    pub(crate) fn remove(self) {
        let Some(window) = web_sys::window() else { return };
        let _ = window.remove_event_listener_with_callback("pagehide", self.on_pagehide.as_ref().unchecked_ref());
        let _ = window.remove_event_listener_with_callback("pageshow", self.on_pageshow.as_ref().unchecked_ref());
    }
}

impl Inner {
    /// Starts following the page's life cycle (once, when the driver starts).
    pub(crate) fn watch_page(&mut self) {
        self.page = PageListeners::install(&self.weak);
    }

    /// The page is being left: kept in the back/forward cache (`persisted`) or gone for good.
    fn on_pagehide(&mut self, persisted: bool) {
        match persisted {
            true => self.suspend(),
            false => self.shutdown(),
        }
    }

    /// Leaves the room as a closing page does, but keeps the driver (log, outbox, listeners) for a restore.
    /// Every role is dropped: a restored page is welcomed anew and may come back as host or client.
    fn suspend(&mut self) {
        self.save_delivery();
        self.files_close_all();
        self.close_signaling(1000, "page hidden");
        self.links.drain().for_each(|(_, mut link)| link.close());
        self.delivery.link_down();
        if let Some(media) = self.planes.media {
            (media.host_gone)(self);
        }
        self.hub = None;
        self.role = None;
        self.host = None;
        self.lost_host = None;
        self.reconnect_timer.take().into_iter().for_each(|h| h.clear());
        self.connect_timer.take().into_iter().for_each(|h| h.clear());
        self.heartbeat.take().into_iter().for_each(|h| h.clear());
        // A renewal still in flight must not connect a frozen page; a restore asks again if needed.
        self.connect_after_renewal = false;
        self.set_state(P2pState::Disconnected);
        self.suspended = true;
    }

    /// The page came back from the back/forward cache: join again (renewing the ticket if it expired
    /// meanwhile) and catch up through the history exchange on the new link.
    fn resume(&mut self) {
        if !std::mem::take(&mut self.suspended) {
            return;
        }
        self.attempt = 0;
        self.failed_opens = 0;
        self.set_state(P2pState::Negotiating);
        self.start_heartbeat();
        self.open_signaling();
    }
}
