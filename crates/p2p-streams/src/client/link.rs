//! One WebRTC link (`hydrate` only): an RTCPeerConnection (ICE servers and transport policy from
//! [`P2pConfig`]) and its data channel to one peer, the JS closures the browser calls (owned here and
//! detached on close, never leaked), and the ICE candidates that arrive before the remote description
//! (queued, then applied in order).
//!
//! Frames leave through the link's [`Outgoing`] queue, in order: long ones in chunks (`crate::chunk`),
//! handed to the browser only while the channel's `bufferedAmount` is under [`HIGH_WATER`], and resumed
//! by its `bufferedamountlow` event, so the browser never holds more than about that much of a big message.
//! Incoming chunks are put back together by the link's [`Reassembler`]. Beside that reliable channel, each link
//! has a volatile one (`volatile.rs`), which the host creates here too.

use super::browser::{now_ms, warn};
use super::extension::Planes;
use super::media::LinkMedia;
use super::volatile::VolatileChannel;
use super::WeakShared;
use crate::chunk::{frame_limit, Outgoing, Piece, Reassembler};
use crate::config::{IceTransportPolicy, P2pConfig};
use crate::protocol::{PeerFrame, PeerId, DATA_CHANNEL_LABEL};
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Event, MessageEvent, RtcConfiguration, RtcDataChannel, RtcDataChannelEvent, RtcDataChannelInit,
    RtcDataChannelState, RtcDataChannelType, RtcIceCandidateInit, RtcIceTransportPolicy, RtcPeerConnection,
    RtcPeerConnectionIceEvent, RtcPeerConnectionState, RtcSdpType, RtcSessionDescriptionInit,
};

/// The link stops handing pieces to the browser while this many bytes wait in the channel's buffer.
pub(crate) const HIGH_WATER: u32 = 1024 * 1024;

/// `bufferedAmountLowThreshold`: below this, the browser fires `bufferedamountlow` and the queue resumes.
const LOW_WATER: u32 = 256 * 1024;

/// Closures attached to a data channel.
struct ChannelHandlers {
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(Event)>,
    _on_low: Closure<dyn FnMut(Event)>,
}

/// A link to `peer`, scoped by the host-chosen link `id`.
pub(crate) struct PeerLink {
    /// The remote peer.
    pub(crate) peer: PeerId,
    /// Link id from the offer; signals for other ids are stale.
    pub(crate) id: u64,
    /// The connection.
    pub(crate) pc: RtcPeerConnection,
    /// The data channel, once created (host) or announced (client).
    channel: Option<RtcDataChannel>,
    /// Whether the remote description is set (candidates are queued until then).
    pub(crate) remote_set: bool,
    /// Candidates that arrived early.
    pending: Vec<RtcIceCandidateInit>,
    /// When anything last arrived on the channel (ms), for the idle timeout.
    pub(crate) last_seen: f64,
    /// When the link was created (ms), to give up on negotiations that hang.
    pub(crate) created: f64,
    /// Whether the data channel is open.
    pub(crate) open: bool,
    /// Frames waiting for room in the channel's buffer, in order.
    outgoing: Outgoing,
    /// Chunks of long incoming frames.
    pub(crate) reassembler: Reassembler,
    /// The unordered, unreliable channel for volatile messages, once created (host) or announced (client).
    pub(crate) volatile: Option<VolatileChannel>,
    /// The media tracks sent on the link and its renegotiation (`media/negotiate.rs`), when media is on.
    pub(crate) media: Option<LinkMedia>,
    _on_ice: Closure<dyn FnMut(RtcPeerConnectionIceEvent)>,
    _on_state: Closure<dyn FnMut(Event)>,
    _on_channel: Option<Closure<dyn FnMut(RtcDataChannelEvent)>>,
    channel_handlers: Option<ChannelHandlers>,
}

fn rtc_configuration(config: &P2pConfig) -> Result<RtcConfiguration, JsValue> {
    let servers = Array::new();
    for server in &config.ice_servers {
        let entry = Object::new();
        let urls: Array = server.urls.iter().map(|u| JsValue::from_str(u)).collect();
        Reflect::set(&entry, &"urls".into(), &urls)?;
        if let Some(user) = &server.username {
            Reflect::set(&entry, &"username".into(), &user.into())?;
        }
        if let Some(credential) = &server.credential {
            Reflect::set(&entry, &"credential".into(), &credential.into())?;
        }
        servers.push(&entry);
    }
    let rtc = RtcConfiguration::new();
    rtc.set_ice_servers(&servers);
    rtc.set_ice_transport_policy(match config.ice_transport_policy {
        IceTransportPolicy::All => RtcIceTransportPolicy::All,
        IceTransportPolicy::Relay => RtcIceTransportPolicy::Relay,
    });
    Ok(rtc)
}

impl PeerLink {
    /// Creates the connection. The host (`initiator`) creates the data channel; a client waits for it.
    pub(crate) fn new(
        peer: PeerId,
        id: u64,
        config: &P2pConfig,
        driver: &WeakShared,
        planes: Planes,
        initiator: bool,
    ) -> Result<PeerLink, JsValue> {
        let pc = RtcPeerConnection::new_with_configuration(&rtc_configuration(config)?)?;
        let on_ice = {
            let (driver, peer) = (driver.clone(), peer.clone());
            Closure::<dyn FnMut(RtcPeerConnectionIceEvent)>::new(move |event: RtcPeerConnectionIceEvent| {
                if let Some(c) = event.candidate() {
                    let (peer, candidate, mid, index) =
                        (peer.clone(), c.candidate(), c.sdp_mid(), c.sdp_m_line_index());
                    driver.with(move |i| i.on_local_candidate(peer, id, candidate, mid, index));
                }
            })
        };
        let on_state = {
            let (driver, peer, conn) = (driver.clone(), peer.clone(), pc.clone());
            Closure::<dyn FnMut(Event)>::new(move |_| {
                if matches!(conn.connection_state(), RtcPeerConnectionState::Failed | RtcPeerConnectionState::Closed) {
                    let peer = peer.clone();
                    driver.with(move |i| i.on_link_down(peer, id));
                }
            })
        };
        pc.set_onicecandidate(Some(on_ice.as_ref().unchecked_ref()));
        pc.set_onconnectionstatechange(Some(on_state.as_ref().unchecked_ref()));
        let now = now_ms();
        let mut link = PeerLink {
            peer: peer.clone(),
            id,
            pc: pc.clone(),
            channel: None,
            remote_set: false,
            pending: Vec::new(),
            last_seen: now,
            created: now,
            open: false,
            outgoing: Outgoing::default(),
            reassembler: Reassembler::new(
                frame_limit(config.max_message_bytes),
                2 * frame_limit(config.max_message_bytes),
            ),
            volatile: None,
            media: planes.media.map(|media| (media.attach)(&pc, &peer, id, driver, !initiator)),
            _on_ice: on_ice,
            _on_state: on_state,
            _on_channel: None,
            channel_handlers: None,
        };
        if initiator {
            let init = RtcDataChannelInit::new();
            init.set_ordered(true);
            let channel = pc.create_data_channel_with_data_channel_dict(DATA_CHANNEL_LABEL, &init);
            link.attach_channel(channel, driver);
            link.volatile = planes.volatile.map(|volatile| (volatile.open)(&pc, &peer, id, driver));
        } else {
            let driver = driver.clone();
            let on_channel = Closure::<dyn FnMut(RtcDataChannelEvent)>::new(move |event: RtcDataChannelEvent| {
                let (peer, channel) = (peer.clone(), event.channel());
                driver.with(move |i| i.on_remote_channel(peer, id, channel));
            });
            pc.set_ondatachannel(Some(on_channel.as_ref().unchecked_ref()));
            link._on_channel = Some(on_channel);
        }
        Ok(link)
    }

    /// Takes ownership of `channel` and routes its events to the driver.
    pub(crate) fn attach_channel(&mut self, channel: RtcDataChannel, driver: &WeakShared) {
        let (id, peer) = (self.id, self.peer.clone());
        let on_open = {
            let (driver, peer) = (driver.clone(), peer.clone());
            Closure::<dyn FnMut(Event)>::new(move |_| {
                let peer = peer.clone();
                driver.with(move |i| i.on_channel_open(peer, id))
            })
        };
        let on_message = {
            let (driver, peer) = (driver.clone(), peer.clone());
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let data = event.data();
                let peer = peer.clone();
                if let Some(text) = data.as_string() {
                    driver.with(move |i| i.on_channel_message(peer, id, text))
                } else if let Some(buffer) = data.dyn_ref::<js_sys::ArrayBuffer>() {
                    let bytes = js_sys::Uint8Array::new(buffer).to_vec();
                    driver.with(move |i| i.on_channel_chunk(peer, id, bytes))
                } else {
                    warn("dropping a data channel message that is neither text nor an ArrayBuffer")
                }
            })
        };
        let on_low = {
            let (driver, peer) = (driver.clone(), peer.clone());
            Closure::<dyn FnMut(Event)>::new(move |_| {
                let peer = peer.clone();
                driver.with(move |i| i.on_channel_drained(peer, id))
            })
        };
        let on_close = {
            let driver = driver.clone();
            Closure::<dyn FnMut(Event)>::new(move |_| {
                let peer = peer.clone();
                driver.with(move |i| i.on_link_down(peer, id))
            })
        };
        channel.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        channel.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        channel.set_onbufferedamountlow(Some(on_low.as_ref().unchecked_ref()));
        channel.set_buffered_amount_low_threshold(LOW_WATER);
        channel.set_binary_type(RtcDataChannelType::Arraybuffer);
        self.open = channel.ready_state() == RtcDataChannelState::Open;
        self.channel = Some(channel);
        self.channel_handlers =
            Some(ChannelHandlers { _on_open: on_open, _on_message: on_message, _on_close: on_close, _on_low: on_low });
    }

    /// Sends a short control frame (heartbeat) at once, ahead of any queued frame; false if the channel is
    /// not open.
    pub(crate) fn send_text(&self, text: &str) -> bool {
        match &self.channel {
            Some(channel) if self.open => channel.send_with_str(text).is_ok(),
            _ => false,
        }
    }

    /// Queues an already serialized frame after every frame queued before and sends what fits; false if the
    /// channel is not open (nothing is queued then).
    pub(crate) fn send_serialized(&mut self, text: String) -> bool {
        if !self.open {
            return false;
        }
        self.outgoing.push(text);
        self.pump();
        true
    }

    /// Queues one bulk binary message (file data or control, never cut) after the bulk queued before (frames
    /// go first) and sends what fits; false if the channel is not open.
    pub(crate) fn send_binary(&mut self, message: Vec<u8>) -> bool {
        if !self.open {
            return false;
        }
        self.outgoing.push_bulk(message);
        self.pump();
        true
    }

    /// Bytes waiting to leave: queued here and in the channel's buffer (file senders wait while it is high, so
    /// chat never queues behind much file data).
    pub(crate) fn backlog(&self) -> usize {
        let buffered = self.channel.as_ref().map_or(0, |c| c.buffered_amount() as usize);
        self.outgoing.queued_bytes() + buffered
    }

    /// Serializes and queues one frame.
    pub(crate) fn send(&mut self, frame: &PeerFrame) -> bool {
        serde_json::to_string(frame).is_ok_and(|text| self.send_serialized(text))
    }

    /// Hands queued pieces to the browser while its buffer is under [`HIGH_WATER`], bulk ones (file data) only
    /// while it is under [`LOW_WATER`], so a frame queued later waits behind at most that much file data
    /// (called after each queued message and on `bufferedamountlow`, which fires below `LOW_WATER`). A
    /// refused send closes the channel (the browser does that when it fails): the link goes down and the
    /// delivery protocol resends on the next one.
    pub(crate) fn pump(&mut self) {
        let Some(channel) = self.channel.as_ref().filter(|_| self.open) else { return };
        while channel.buffered_amount() < HIGH_WATER {
            let bulk = channel.buffered_amount() < LOW_WATER;
            let Some(piece) = self.outgoing.next_piece(bulk) else { return };
            let sent = match &piece {
                Piece::Text(text) => channel.send_with_str(text),
                Piece::Binary(bytes) => channel.send_with_u8_array(bytes),
            };
            if let Err(err) = sent {
                warn(&format!("the data channel refused a {} byte message: {err:?}", piece.len()));
                self.outgoing.clear();
                return;
            }
        }
    }

    /// Marks the remote description set and returns the candidates that waited for it.
    pub(crate) fn remote_description_set(&mut self) -> Vec<RtcIceCandidateInit> {
        self.remote_set = true;
        std::mem::take(&mut self.pending)
    }

    /// Applies a remote candidate now, or queues it until the remote description is set.
    pub(crate) fn add_remote_candidate(&mut self, init: RtcIceCandidateInit) {
        if self.remote_set {
            add_candidate(&self.pc, init);
        } else {
            self.pending.push(init);
        }
    }

    /// Applies `config`'s ICE servers and transport policy to the open connection (renewed TURN credentials).
    ///
    /// # Errors
    /// The browser refused the configuration (`setConfiguration` throws, e.g. on a closed connection).
    pub(crate) fn reconfigure(&self, config: &P2pConfig) -> Result<(), JsValue> {
        self.pc.set_configuration_with_configuration(&rtc_configuration(config)?)
    }

    /// Detaches every handler and closes the channel and the connection.
    pub(crate) fn close(&mut self) {
        self.pc.set_onicecandidate(None);
        self.pc.set_onconnectionstatechange(None);
        self.pc.set_ondatachannel(None);
        if let Some(media) = self.media.as_mut() {
            media.detach(&self.pc);
        }
        if let Some(channel) = self.channel.take() {
            channel.set_onopen(None);
            channel.set_onmessage(None);
            channel.set_onclose(None);
            channel.set_onbufferedamountlow(None);
            channel.close();
        }
        self.channel_handlers = None;
        if let Some(mut channel) = self.volatile.take() {
            channel.close();
        }
        self.open = false;
        self.outgoing.clear();
        self.reassembler.clear();
        self.pc.close();
    }
}

impl Drop for PeerLink {
    fn drop(&mut self) {
        self.close();
    }
}

/// `pc.addIceCandidate(init)`, reporting a refusal as a warning (a bad candidate from a peer is not fatal).
pub(crate) fn add_candidate(pc: &RtcPeerConnection, init: RtcIceCandidateInit) {
    let promise = pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init));
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(err) = wasm_bindgen_futures::JsFuture::from(promise).await {
            warn(&format!("ICE candidate refused: {err:?}"));
        }
    });
}

/// Creates an offer or answer, sets it as the local description and returns its SDP.
pub(crate) async fn local_description(pc: &RtcPeerConnection, kind: RtcSdpType) -> Result<String, JsValue> {
    let promise = if kind == RtcSdpType::Offer { pc.create_offer() } else { pc.create_answer() };
    let description = JsFuture::from(promise).await?;
    let sdp = Reflect::get(&description, &"sdp".into())?.as_string().unwrap_or_default();
    let init = RtcSessionDescriptionInit::new(kind);
    init.set_sdp(&sdp);
    JsFuture::from(pc.set_local_description(&init)).await?;
    Ok(sdp)
}

/// Sets the peer's offer or answer as the remote description.
pub(crate) async fn set_remote(pc: &RtcPeerConnection, kind: RtcSdpType, sdp: &str) -> Result<(), JsValue> {
    let init = RtcSessionDescriptionInit::new(kind);
    init.set_sdp(sdp);
    JsFuture::from(pc.set_remote_description(&init)).await.map(|_| ())
}
