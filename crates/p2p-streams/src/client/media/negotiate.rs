//! One link's media (`hydrate` only): the RTP senders of the tracks this peer sends on it, the `track` and
//! `negotiationneeded` closures (owned here, detached on close), and renegotiation of the open link with the
//! "perfect negotiation" pattern: either side may offer when its tracks change; on a collision the polite
//! side (the client) rolls back and answers, the impolite one (the host) ignores the other's offer. Offers,
//! answers and late candidates travel as `MediaFrame`s on the link's reliable data channel (clients leave
//! the signaling server once connected). The first negotiation of a link is the signaling server's, with no
//! media: tracks are added only once the data channel is open.

use super::super::browser::warn;
use super::super::{Inner, WeakShared};
use crate::media::MediaFrame;
use crate::protocol::PeerId;
use js_sys::{Function, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Event, MediaStream, RtcPeerConnection, RtcRtpSender, RtcSignalingState, RtcTrackEvent};

/// One track this peer sends on a link.
pub(crate) struct Sent {
    /// The `MediaStream` id it belongs to.
    pub(crate) stream: String,
    /// The track's id.
    pub(crate) track: String,
    /// Its sender on the link.
    pub(crate) sender: RtcRtpSender,
}

/// The media half of a `PeerLink`.
pub(crate) struct LinkMedia {
    /// Tracks sent on the link.
    pub(crate) sent: Vec<Sent>,
    /// An offer of ours is being made (perfect negotiation's `makingOffer`).
    pub(crate) making_offer: bool,
    /// This side yields on a collision (the client).
    pub(crate) polite: bool,
    _on_track: Closure<dyn FnMut(RtcTrackEvent)>,
    _on_negotiation: Closure<dyn FnMut(Event)>,
}

impl LinkMedia {
    /// Routes `pc`'s `track` and `negotiationneeded` events (of link `id` to `peer`) to the driver.
    pub(crate) fn attach(pc: &RtcPeerConnection, peer: &PeerId, id: u64, driver: &WeakShared, polite: bool) -> Self {
        let on_track = {
            let (driver, peer) = (driver.clone(), peer.clone());
            Closure::<dyn FnMut(RtcTrackEvent)>::new(move |event: RtcTrackEvent| {
                let Some(stream) = event.streams().get(0).dyn_into::<MediaStream>().ok() else {
                    return warn("ignored a media track that belongs to no stream");
                };
                let peer = peer.clone();
                driver.with(move |i| i.media_on_track(peer, id, stream));
            })
        };
        let on_negotiation = {
            let (driver, peer) = (driver.clone(), peer.clone());
            Closure::<dyn FnMut(Event)>::new(move |_| {
                let peer = peer.clone();
                driver.with(move |i| i.media_negotiation_needed(peer, id));
            })
        };
        pc.set_ontrack(Some(on_track.as_ref().unchecked_ref()));
        pc.set_onnegotiationneeded(Some(on_negotiation.as_ref().unchecked_ref()));
        LinkMedia {
            sent: Vec::new(),
            making_offer: false,
            polite,
            _on_track: on_track,
            _on_negotiation: on_negotiation,
        }
    }

    /// Detaches the handlers (the connection is closing).
    pub(crate) fn detach(&mut self, pc: &RtcPeerConnection) {
        pc.set_ontrack(None);
        pc.set_onnegotiationneeded(None);
        self.sent.clear();
    }
}

/// `pc.setLocalDescription()` without arguments: the browser creates the offer or answer its state calls for.
async fn set_local(pc: &RtcPeerConnection) -> Result<String, JsValue> {
    let method: Function = Reflect::get(pc, &"setLocalDescription".into())?.dyn_into()?;
    JsFuture::from(js_sys::Promise::from(method.call0(pc)?)).await?;
    Ok(pc.local_description().map(|d| d.sdp()).unwrap_or_default())
}

impl Inner {
    /// The link to `peer` needs a new offer (tracks added or removed). Before its data channel opens, the
    /// signaling server's negotiation covers it (no tracks are added before then).
    pub(super) fn media_negotiation_needed(&mut self, peer: PeerId, id: u64) {
        let Some(link) = self.links.get_mut(&peer).filter(|l| l.id == id && l.open) else { return };
        let Some(media) = link.media.as_mut() else { return };
        media.making_offer = true;
        let (pc, weak) = (link.pc.clone(), self.weak.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let offer = set_local(&pc).await;
            weak.with(move |i| {
                let Some(link) = i.links.get_mut(&peer).filter(|l| l.id == id) else { return };
                if let Some(media) = link.media.as_mut() {
                    media.making_offer = false;
                }
                match offer {
                    Ok(sdp) => {
                        super::send(link, &MediaFrame::Description { offer: true, sdp });
                    }
                    Err(err) => warn(&format!("could not renegotiate the link to {peer}: {err:?}")),
                }
            });
        });
    }

    /// A renegotiation offer or answer from `peer` (perfect negotiation: an impolite side ignores a colliding
    /// offer, a polite one rolls back its own and answers).
    pub(super) fn media_on_description(&mut self, peer: PeerId, offer: bool, sdp: String) {
        let Some(link) = self.links.get(&peer).filter(|l| l.open) else { return };
        let Some(media) = link.media.as_ref() else { return };
        let stable = link.pc.signaling_state() == RtcSignalingState::Stable;
        let collision = offer && (media.making_offer || !stable);
        if collision && !media.polite {
            return; // ours wins; the peer answers it
        }
        let (pc, id, weak) = (link.pc.clone(), link.id, self.weak.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let kind = if offer { web_sys::RtcSdpType::Offer } else { web_sys::RtcSdpType::Answer };
            let result = match super::super::link::set_remote(&pc, kind, &sdp).await {
                Ok(()) if offer => set_local(&pc).await.map(Some),
                Ok(()) => Ok(None),
                Err(err) => Err(err),
            };
            weak.with(move |i| {
                let Some(link) = i.links.get_mut(&peer).filter(|l| l.id == id) else { return };
                match result {
                    Ok(Some(sdp)) => {
                        super::send(link, &MediaFrame::Description { offer: false, sdp });
                    }
                    Ok(None) => {}
                    Err(err) => warn(&format!("renegotiation with {peer} failed: {err:?}")),
                }
            });
        });
    }

    /// A candidate of `peer` gathered after the link opened.
    pub(crate) fn media_on_candidate(
        &mut self,
        peer: &PeerId,
        candidate: &str,
        sdp_mid: Option<&str>,
        sdp_m_line_index: Option<u16>,
    ) {
        let Some(link) = self.links.get_mut(peer).filter(|l| l.open) else { return };
        let init = web_sys::RtcIceCandidateInit::new(candidate);
        init.set_sdp_mid(sdp_mid);
        init.set_sdp_m_line_index(sdp_m_line_index);
        link.add_remote_candidate(init);
    }
}
