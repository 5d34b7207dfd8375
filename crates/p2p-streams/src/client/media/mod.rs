//! Published media in the browser driver (`hydrate` only): the streams this peer publishes, the streams it
//! receives (by `MediaStream` id, with the link they came on), and the room's stream map (the host's own, or
//! the one the host announced). Every change ends in a reconcile: each open link sends exactly the tracks it
//! should (`media_desired`: a client its own streams to the host; the host its own streams and every other
//! client's received ones), added or removed with `addTrack`/`removeTrack`, and renegotiated by
//! `negotiate.rs`. Links lost, a new host, a newcomer: the same reconcile, so migration needs no special path.

mod negotiate;
mod plane;
mod stats;

pub(crate) use negotiate::LinkMedia;
pub(crate) use plane::{MediaPlane, PLANE};
pub(crate) use stats::UplinkMeter;

use super::browser::warn;
use super::link::PeerLink;
use super::{DriverEvent, Inner};
use crate::hooks::{MediaHandle, MediaRequest, RoomStream};
use crate::media::{MediaEnvelope, MediaFrame, MediaKind, MediaQuality, Publication, StreamMap};
use crate::protocol::{PeerId, Role};
use js_sys::{Array, Function, Reflect};
use negotiate::Sent;
use std::collections::HashMap;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{MediaStream, MediaStreamTrack, RtcPeerConnection, RtcRtpSender};

/// A stream this peer publishes.
struct Local {
    stream: MediaStream,
    publication: Publication,
    quality: MediaQuality,
}

/// The driver's media state.
#[derive(Default)]
pub(crate) struct Media {
    /// Streams this peer publishes, in publication order.
    local: Vec<Local>,
    /// Streams received, by id, with the peer whose link they came on.
    received: HashMap<String, (PeerId, MediaStream)>,
    /// Host: the room's streams. Client: the map the host announced.
    map: StreamMap,
    /// Host: the bitrate it sends, measured every tick.
    pub(crate) uplink: UplinkMeter,
}

/// `object.name(args...)`, with a thrown exception as an `Err` (never a trap).
fn call(object: &JsValue, name: &str, args: &[&JsValue]) -> Result<JsValue, JsValue> {
    let method: Function = Reflect::get(object, &name.into())?.dyn_into()?;
    method.apply(object, &args.iter().copied().collect::<Array>())
}

/// Another handle to the same `MediaStream` (`stream.clone()` would be the JS `MediaStream.clone()`, a copy
/// with new tracks and a new id).
pub(crate) fn same(stream: &MediaStream) -> MediaStream {
    Clone::clone(stream)
}

/// `frame` as data-channel text. Encoding fails for no frame of this crate (every field is a string, a number
/// or a flag); it would be a warning.
fn frame_text(frame: &MediaFrame) -> Option<String> {
    MediaEnvelope::frame_text(frame).map_err(|err| warn(&format!("could not encode a media frame: {err}"))).ok()
}

/// Sends `frame` on `link` if it is open.
fn send(link: &mut PeerLink, frame: &MediaFrame) {
    if let Some(text) = frame_text(frame) {
        link.send_serialized(text);
    }
}

fn tracks(stream: &MediaStream) -> Vec<MediaStreamTrack> {
    stream.get_tracks().iter().filter_map(|t| t.dyn_into().ok()).collect()
}

impl Inner {
    /// One request of the app (`use_p2p_media`).
    fn media_request(&mut self, request: MediaRequest) {
        match request {
            MediaRequest::Publish { stream, kind } => self.media_publish(stream, kind),
            MediaRequest::Unpublish(id) => {
                self.media.local.retain(|l| l.publication.id != id);
                match self.role {
                    Some(Role::Host) => self.media_host_unpublish(self.me.clone(), &id),
                    _ => {
                        self.media_to_host(&MediaFrame::Unpublish { id });
                    }
                }
                self.media_sync_all();
                self.media_report();
            }
            MediaRequest::Mute { id, muted } => {
                let Some(local) = self.media.local.iter_mut().find(|l| l.publication.id == id) else { return };
                local.publication.muted = muted;
                tracks(&local.stream).iter().filter(|t| t.kind() == "audio").for_each(|t| t.set_enabled(!muted));
                let publication = local.publication.clone();
                self.media_announce_own(publication);
            }
            MediaRequest::Quality { id, quality } => {
                let Some(local) = self.media.local.iter_mut().find(|l| l.publication.id == id) else { return };
                local.quality = quality;
                for media in self.links.values().filter_map(|l| l.media.as_ref()) {
                    media.sent.iter().filter(|s| s.stream == id).for_each(|s| apply_quality(&s.sender, quality));
                }
            }
        }
    }

    fn media_publish(&mut self, stream: MediaStream, kind: MediaKind) {
        let all = tracks(&stream);
        let has = |k: &str| all.iter().any(|t| t.kind() == k);
        let publication = Publication { id: stream.id(), kind, video: has("video"), audio: has("audio"), muted: false };
        if self.media.local.iter().any(|l| l.publication.id == publication.id) {
            return;
        }
        self.media.local.push(Local { stream, publication: publication.clone(), quality: MediaQuality::default() });
        self.media_announce_own(publication);
    }

    /// Tells the room about one of our publications (new or updated): a host records it, a client asks its host.
    fn media_announce_own(&mut self, publication: Publication) {
        match (self.role, self.me.clone()) {
            (Some(Role::Host), Some(me)) => match self.media.map.publish(&me, &publication, self.config.max_streams) {
                Ok(_) => self.media_host_changed(),
                Err(reason) => self.media_refused(publication.id, reason),
            },
            _ => {
                self.media_to_host(&MediaFrame::Publish(publication));
                self.media_sync_all();
                self.media_report();
            }
        }
    }

    /// Our publication `id` was refused: it stops, and the app hears why.
    fn media_refused(&mut self, id: String, reason: crate::media::Refusal) {
        self.media.local.retain(|l| l.publication.id != id);
        self.media_sync_all();
        self.media_report();
        self.events.push(DriverEvent::MediaRefused { id, reason });
    }

    /// A media frame on the link to `peer`.
    fn media_on_frame(&mut self, peer: PeerId, envelope: MediaEnvelope) {
        let frame = match envelope.decode() {
            Ok(frame) => frame,
            Err(err) => return self.media_misdirected(&peer, &format!("a malformed media frame ({err})")),
        };
        let host = self.role == Some(Role::Host);
        match frame {
            MediaFrame::Description { offer, sdp } => self.media_on_description(peer, offer, sdp),
            MediaFrame::Candidate { candidate, sdp_mid, sdp_m_line_index } => {
                self.media_on_candidate(&peer, &candidate, sdp_mid.as_deref(), sdp_m_line_index)
            }
            MediaFrame::Publish(publication) if host => {
                match self.media.map.publish(&peer, &publication, self.config.max_streams) {
                    Ok(true) => self.media_host_changed(),
                    Ok(false) => {}
                    Err(reason) => {
                        if let Some(link) = self.links.get_mut(&peer) {
                            send(link, &MediaFrame::Refused { id: publication.id, reason });
                        }
                    }
                }
            }
            MediaFrame::Unpublish { id } if host => self.media_host_unpublish(Some(peer), &id),
            MediaFrame::Streams { streams } if !host => {
                let old = std::mem::replace(&mut self.media.map, StreamMap::from_streams(streams));
                let map = &self.media.map;
                let gone: Vec<String> =
                    old.streams().iter().filter(|s| map.get(&s.id).is_none()).map(|s| s.id.clone()).collect();
                gone.iter().for_each(|id| drop(self.media.received.remove(id)));
                self.media_report();
            }
            MediaFrame::Refused { id, reason } if !host => self.media_refused(id, reason),
            _ if host => self.media_misdirected(&peer, "a media frame that is not for a host"),
            _ => self.media_misdirected(&peer, "a media frame that is not for a client"),
        }
    }

    /// A host drops a bad media frame as any bad frame of a client (counted in `dropped_messages`); a client
    /// only warns.
    fn media_misdirected(&mut self, peer: &PeerId, what: &str) {
        match self.role {
            Some(Role::Host) => self.host_drop(peer, what),
            _ => warn(&format!("dropped {what} from {peer}")),
        }
    }

    /// Host: `publisher` (`None`: us) stopped publishing `id`.
    fn media_host_unpublish(&mut self, publisher: Option<PeerId>, id: &str) {
        let Some(publisher) = publisher else { return };
        if self.media.map.unpublish(&publisher, id) {
            self.media.received.remove(id);
            self.media_host_changed();
        }
    }

    /// Host: the map changed: reconcile every link, announce the map, show it here.
    fn media_host_changed(&mut self) {
        self.media_sync_all();
        if let Some(text) = frame_text(&MediaFrame::Streams { streams: self.media.map.streams().to_vec() }) {
            self.links.values_mut().filter(|l| l.open).for_each(|l| {
                l.send_serialized(text.clone());
            });
        }
        self.media_report();
    }

    /// A track arrived on the link to `peer` (link `id`), in `stream`.
    fn media_on_track(&mut self, peer: PeerId, id: u64, stream: MediaStream) {
        if self.links.get(&peer).is_none_or(|l| l.id != id) {
            return;
        }
        let sid = stream.id();
        if self.role == Some(Role::Host) && self.media.map.get(&sid).is_some_and(|s| s.publisher != peer) {
            return warn(&format!("ignored a stream from {peer} that another peer publishes"));
        }
        self.media.received.insert(sid, (peer, stream));
        if self.role == Some(Role::Host) {
            self.media_sync_all();
        }
        self.media_report();
    }

    /// Client: sends `frame` to the host if the link is open (the media plane republishes on a new link).
    fn media_to_host(&mut self, frame: &MediaFrame) {
        if let Some(link) = self.host.as_ref().and_then(|h| self.links.get_mut(h)) {
            send(link, frame);
        }
    }

    /// The data channel to `peer` opened: a client (re)publishes its streams to its (new) host, a host sends
    /// the map; both start sending what the link should carry.
    fn media_link_open(&mut self, peer: PeerId) {
        let media = match self.role {
            Some(Role::Host) => vec![MediaFrame::Streams { streams: self.media.map.streams().to_vec() }],
            _ => self.media.local.iter().map(|l| MediaFrame::Publish(l.publication.clone())).collect(),
        };
        if let Some(link) = self.links.get_mut(&peer) {
            media.iter().for_each(|frame| send(link, frame));
        }
        self.media_sync(&peer);
    }

    /// Host: `peer`'s link is gone (or replaced): its streams leave the room.
    fn media_peer_gone(&mut self, peer: &PeerId) {
        self.media.received.retain(|_, (from, _)| from != peer);
        if self.media.map.remove_publisher(peer) {
            self.media_host_changed();
        }
    }

    /// A new role (host elected, or a client of a new host): the room's streams start over from our own.
    fn media_new_role(&mut self) {
        self.media.received.clear();
        self.media.map.clear();
        if let (Some(Role::Host), Some(me)) = (self.role, self.me.clone()) {
            let limit = self.config.max_streams;
            let refused: Vec<_> = (self.media.local.iter())
                .filter_map(|l| {
                    self.media.map.publish(&me, &l.publication, limit).err().map(|r| (l.publication.id.clone(), r))
                })
                .collect();
            refused.into_iter().for_each(|(id, reason)| self.media_refused(id, reason));
        }
        self.media_report();
    }

    /// Client: the link to the host is gone: so are the streams it carried.
    fn media_host_gone(&mut self) {
        self.media.received.clear();
        self.media.map.clear();
        self.media_report();
    }

    /// The streams the link to `peer` should carry.
    fn media_desired(&self, peer: &PeerId) -> Vec<MediaStream> {
        let mut desired: Vec<MediaStream> = self.media.local.iter().map(|l| same(&l.stream)).collect();
        if self.role == Some(Role::Host) {
            let received = |s: &crate::media::StreamInfo| {
                self.media.received.get(&s.id).filter(|(from, _)| *from == s.publisher).map(|(_, m)| same(m))
            };
            desired.extend(self.media.map.for_peer(peer).filter_map(received));
        }
        desired
    }

    fn media_sync_all(&mut self) {
        let peers: Vec<PeerId> = self.links.values().filter(|l| l.open).map(|l| l.peer.clone()).collect();
        peers.iter().for_each(|peer| self.media_sync(peer));
    }

    /// Adds and removes tracks so the open link to `peer` sends exactly what it should.
    fn media_sync(&mut self, peer: &PeerId) {
        let desired = self.media_desired(peer);
        let quality = |id: &str| self.media.local.iter().find(|l| l.publication.id == id).map(|l| l.quality);
        let want: Vec<(MediaStream, MediaStreamTrack, Option<MediaQuality>)> = desired
            .iter()
            .flat_map(|s| tracks(s).into_iter().map(move |t| (same(s), t)))
            .map(|(s, t)| {
                let q = quality(&s.id());
                (s, t, q)
            })
            .collect();
        let Some(link) = self.links.get_mut(peer).filter(|l| l.open) else { return };
        let pc: RtcPeerConnection = link.pc.clone();
        let Some(media) = link.media.as_mut() else { return };
        media.sent.retain(|sent| {
            let keep = want.iter().any(|(_, t, _)| t.id() == sent.track);
            if !keep {
                if let Err(err) = call(&pc, "removeTrack", &[&sent.sender]) {
                    warn(&format!("could not stop sending a track to {peer}: {err:?}"));
                }
            }
            keep
        });
        for (stream, track, quality) in want {
            if media.sent.iter().any(|s| s.track == track.id()) {
                continue;
            }
            match call(&pc, "addTrack", &[&track, &stream]).and_then(|s| s.dyn_into::<RtcRtpSender>()) {
                Ok(sender) => {
                    if let Some(quality) = quality.filter(|q| *q != MediaQuality::default()) {
                        apply_quality(&sender, quality);
                    }
                    media.sent.push(Sent { stream: stream.id(), track: track.id(), sender });
                }
                Err(err) => warn(&format!("could not send a track to {peer}: {err:?}")),
            }
        }
    }

    /// Reports the room's streams (the map, with the media this peer has for each, and its own streams not in
    /// the map yet) to the frame.
    pub(super) fn media_report(&mut self) {
        let me = self.me.clone().unwrap_or_else(|| PeerId(String::new()));
        let local = |id: &str| self.media.local.iter().find(|l| l.publication.id == id).map(|l| same(&l.stream));
        let mut list: Vec<RoomStream> = (self.media.map.streams().iter())
            .map(|info| {
                let mine = info.publisher == me;
                let stream =
                    if mine { local(&info.id) } else { self.media.received.get(&info.id).map(|(_, s)| same(s)) };
                RoomStream { info: info.clone(), local: mine, stream: stream.map(MediaHandle::new) }
            })
            .collect();
        for l in self.media.local.iter().filter(|l| self.media.map.get(&l.publication.id).is_none()) {
            let info = l.publication.stamped(me.clone());
            list.push(RoomStream { info, local: true, stream: Some(MediaHandle::new(same(&l.stream))) });
        }
        self.events.push(DriverEvent::Streams(list));
    }
}

/// Sets `quality` on `sender`'s encodings (`setParameters`); a refusal is a warning.
fn apply_quality(sender: &RtcRtpSender, quality: MediaQuality) {
    let params: JsValue = sender.get_parameters().into();
    let encodings = Reflect::get(&params, &"encodings".into()).ok().map(|e| Array::from(&e)).unwrap_or_default();
    for encoding in encodings.iter() {
        let value = |v: Option<f64>| v.map_or(JsValue::UNDEFINED, JsValue::from_f64);
        let _ = Reflect::set(&encoding, &"maxBitrate".into(), &value(quality.max_bitrate_bps.map(f64::from)));
        let _ =
            Reflect::set(&encoding, &"scaleResolutionDownBy".into(), &value(quality.scale_down_by.map(|s| s.max(1.0))));
    }
    match call(sender, "setParameters", &[&params]) {
        Ok(promise) => wasm_bindgen_futures::spawn_local(async move {
            if let Err(err) = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(promise)).await {
                warn(&format!("the browser refused a stream's quality limits: {err:?}"));
            }
        }),
        Err(err) => warn(&format!("the browser refused a stream's quality limits: {err:?}")),
    }
}
