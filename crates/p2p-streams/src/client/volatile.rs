//! The volatile channel of a link (`hydrate` only): the second data channel the host opens beside the
//! reliable one (`ordered: false, maxRetransmits: 0`, label `volatile::VOLATILE_CHANNEL_LABEL`, negotiated
//! in-band, so every new link, to the same or a new host, gets a fresh one), its JS closures (owned here,
//! detached on close), and the driver's volatile traffic: a client sends to its host, the host relays to every
//! other client with the sender stamped and each client's rate cap applied (`volatile::VolatileRelay`).
//! Nothing is queued, kept or replayed: a message that cannot go now is dropped.

use super::browser::{now_ms, warn};
use super::{DriverEvent, Inner, WeakShared};
use crate::delivery::Payload;
use crate::protocol::{PeerId, Role};
use crate::volatile::{VolatileDrop, VolatileFrame, VolatileMessage, VolatileVerdict, VOLATILE_CHANNEL_LABEL};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Event, MessageEvent, RtcDataChannel, RtcDataChannelInit, RtcDataChannelState, RtcPeerConnection};

/// A volatile message is dropped rather than queued while this many bytes wait in the channel's buffer:
/// stale latest-value data is worth less than the next message.
const HIGH_WATER: u32 = 64 * 1024;

/// The driver's entry points into the volatile channel, reached only through the [`PLANE`] that the volatile
/// hooks hand it (see `extension.rs`): a page without volatile views does not download this code.
pub(crate) struct VolatilePlane {
    /// Host: opens the volatile channel of a new link (before the offer: negotiated in-band) and attaches it.
    pub(crate) open: fn(&RtcPeerConnection, &PeerId, u64, &WeakShared) -> VolatileChannel,
    /// Client: the host's volatile channel of a link arrived.
    pub(crate) on_remote: fn(&mut Inner, PeerId, u64, RtcDataChannel),
    /// Sends one of our volatile messages.
    pub(crate) send: fn(&mut Inner, Payload),
}

/// The volatile channel, for the volatile hooks to turn on (`AppSend::Enable`).
pub(crate) static PLANE: VolatilePlane =
    VolatilePlane { open: open_channel, on_remote: Inner::on_remote_volatile, send: Inner::send_volatile };

/// Host: opens and attaches the volatile channel of link `id` to `peer`.
fn open_channel(pc: &RtcPeerConnection, peer: &PeerId, id: u64, driver: &WeakShared) -> VolatileChannel {
    VolatileChannel::attach(create(pc), peer, id, driver)
}

/// One link's volatile channel and the closures attached to it.
pub(crate) struct VolatileChannel {
    /// The channel.
    channel: RtcDataChannel,
    /// Whether it is open.
    pub(crate) open: bool,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(Event)>,
}

/// Whether `channel` is a link's volatile channel (a client tells its host's two channels apart by label).
pub(crate) fn is_volatile(channel: &RtcDataChannel) -> bool {
    channel.label() == VOLATILE_CHANNEL_LABEL
}

/// Host: opens the volatile channel on `pc` (before the offer, so the offer negotiates it in-band).
fn create(pc: &RtcPeerConnection) -> RtcDataChannel {
    let init = RtcDataChannelInit::new();
    init.set_ordered(false);
    init.set_max_retransmits(0);
    pc.create_data_channel_with_data_channel_dict(VOLATILE_CHANNEL_LABEL, &init)
}

impl VolatileChannel {
    /// Takes ownership of `channel` (of link `id` to `peer`) and routes its events to the driver.
    pub(crate) fn attach(channel: RtcDataChannel, peer: &PeerId, id: u64, driver: &WeakShared) -> VolatileChannel {
        let on_open = {
            let (driver, peer) = (driver.clone(), peer.clone());
            Closure::<dyn FnMut(Event)>::new(move |_| {
                let peer = peer.clone();
                driver.with(move |i| i.on_volatile_open(peer, id, true))
            })
        };
        let on_message = {
            let (driver, peer) = (driver.clone(), peer.clone());
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let (peer, text) = (peer.clone(), event.data().as_string());
                driver.with(move |i| i.on_volatile_message(peer, id, text))
            })
        };
        let on_close = {
            let (driver, peer) = (driver.clone(), peer.clone());
            Closure::<dyn FnMut(Event)>::new(move |_| {
                let peer = peer.clone();
                driver.with(move |i| i.on_volatile_open(peer, id, false))
            })
        };
        channel.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        channel.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        let open = channel.ready_state() == RtcDataChannelState::Open;
        VolatileChannel { channel, open, _on_open: on_open, _on_message: on_message, _on_close: on_close }
    }

    /// Sends one frame now, or drops it (channel not open, or its buffer backed up); true if it went.
    pub(crate) fn send(&self, text: &str) -> bool {
        self.open && self.channel.buffered_amount() < HIGH_WATER && self.channel.send_with_str(text).is_ok()
    }

    /// Detaches the handlers and closes the channel.
    pub(crate) fn close(&mut self) {
        self.channel.set_onopen(None);
        self.channel.set_onmessage(None);
        self.channel.set_onclose(None);
        self.channel.close();
        self.open = false;
    }
}

impl Inner {
    /// Client: the host's volatile channel of link `id` arrived.
    fn on_remote_volatile(&mut self, peer: PeerId, id: u64, channel: RtcDataChannel) {
        let weak = self.weak.clone();
        if let Some(link) = self.links.get_mut(&peer).filter(|l| l.id == id) {
            if let Some(mut old) = link.volatile.replace(VolatileChannel::attach(channel, &peer, id, &weak)) {
                old.close();
            }
        }
    }

    /// The volatile channel of link `id` to `peer` opened or closed (the link itself lives on: its reliable
    /// channel decides).
    pub(crate) fn on_volatile_open(&mut self, peer: PeerId, id: u64, open: bool) {
        if let Some(channel) = self.links.get_mut(&peer).filter(|l| l.id == id).and_then(|l| l.volatile.as_mut()) {
            channel.open = open;
        }
    }

    /// One message on the volatile channel of link `id` to `peer` (`None`: not text).
    pub(crate) fn on_volatile_message(&mut self, peer: PeerId, id: u64, text: Option<String>) {
        let Some(link) = self.links.get_mut(&peer).filter(|l| l.id == id) else { return };
        link.last_seen = now_ms();
        let Some(text) = text else {
            return self.volatile_refused(&peer, "a binary volatile message");
        };
        match self.role {
            Some(Role::Host) => self.host_on_volatile(peer, &text),
            Some(Role::Client) if self.host.as_ref() == Some(&peer) => match VolatileFrame::decode_from_host(&text) {
                Ok((from, payload)) => self.events.push(DriverEvent::Volatile(VolatileMessage { from, payload })),
                Err(err) => self.volatile_refused(&peer, &format!("a volatile message ({err})")),
            },
            _ => {}
        }
    }

    /// Host: relays a client's volatile message to every other client and delivers it here, or drops it.
    fn host_on_volatile(&mut self, peer: PeerId, text: &str) {
        match self.volatile.on_client(&peer, text, now_ms()) {
            VolatileVerdict::Relay { message, text } => {
                self.volatile_broadcast(&peer, &text);
                self.events.push(DriverEvent::Volatile(message));
            }
            VolatileVerdict::Drop(VolatileDrop::RateLimited) => self.events.push(DriverEvent::VolatileDropped),
            VolatileVerdict::Drop(VolatileDrop::Invalid(err)) => {
                self.host_drop(&peer, &format!("a volatile message ({err})"))
            }
        }
    }

    /// Sends `text` on the open volatile channel of every link but `sender`'s.
    fn volatile_broadcast(&self, sender: &PeerId, text: &str) {
        for link in self.links.values().filter(|l| l.peer != *sender) {
            if let Some(channel) = &link.volatile {
                channel.send(text);
            }
        }
    }

    /// Sends one of our volatile messages: a host to every client, a client to its host. Dropped when there
    /// is no open volatile channel (nothing volatile waits for a link).
    fn send_volatile(&mut self, payload: Payload) {
        let Some(me) = self.me.clone() else { return };
        match self.role {
            Some(Role::Host) => {
                let text = self.volatile.own(&me, payload);
                self.volatile_broadcast(&me, &text);
            }
            Some(Role::Client) => {
                let link = self.host.as_ref().and_then(|h| self.links.get(h));
                if let Some(channel) = link.and_then(|l| l.volatile.as_ref()) {
                    channel.send(&VolatileFrame { from: None, payload }.encode());
                }
            }
            None => {}
        }
    }

    /// A bad volatile frame from `peer`: a host counts it like any bad frame, a client warns.
    fn volatile_refused(&mut self, peer: &PeerId, what: &str) {
        match self.role {
            Some(Role::Host) => self.host_drop(peer, what),
            _ => warn(&format!("dropped {what} from {peer}")),
        }
    }
}
