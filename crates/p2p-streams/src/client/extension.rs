//! Parts of the browser driver (`hydrate` only) that only some rooms use, turned on at run time by the hooks
//! that need them: media (`use_p2p_media`), the volatile channel (the volatile hooks) and file transfers
//! (`use_p2p_files`). The driver holds no static path to their code, only the [`Planes`] the hooks handed it:
//! a frame whose page never calls those hooks reaches none of it, so `cargo leptos build --split` leaves that
//! code out of the main wasm and puts it in the lazy chunk of the component that calls the hook (the stage
//! room, the whiteboard). File code is a chunk of its own, fetched when the frame first sends or receives a
//! file: until it is in, file requests and file messages wait here, in order.

use super::browser::warn;
use super::files::FilesPlane;
use super::media::MediaPlane;
use super::volatile::VolatilePlane;
use super::Inner;
use crate::delivery::Payload;
use crate::hooks::{FileKey, MediaRequest};
use crate::media::MediaEnvelope;
use crate::protocol::{PeerId, Role};
use std::future::Future;
use std::pin::Pin;

/// A part of the driver a hook turns on ([`AppSend::Enable`](super::AppSend::Enable)).
#[derive(Clone, Copy)]
pub struct Extension(Kind);

/// Fetches the file code (a lazy wasm chunk) and returns its entry points.
type LoadFiles = fn() -> Pin<Box<dyn Future<Output = &'static FilesPlane>>>;

#[derive(Clone, Copy)]
enum Kind {
    Media(&'static MediaPlane),
    Volatile(&'static VolatilePlane),
    Files(LoadFiles),
}

/// File messages waiting for the file code are dropped past this many bytes (a sender keeps at most a window
/// of about 1 MiB in flight, so only a misbehaving peer gets there).
const MAX_WAITING_BYTES: usize = 8 * 1024 * 1024;

/// File work that arrived before the file code.
pub(crate) enum FileWork {
    Send(FileKey, web_sys::Blob, String),
    Cancel(FileKey),
    Message(PeerId, Vec<u8>),
}

/// The file code, until it is in: how to fetch it, and what waits for it.
pub(crate) struct WaitingFiles {
    load: LoadFiles,
    fetching: bool,
    work: Vec<FileWork>,
    bytes: usize,
}

impl Extension {
    /// Published media (`use_p2p_media`).
    pub(crate) fn media() -> Self {
        Extension(Kind::Media(&super::media::PLANE))
    }

    /// The volatile channel (the volatile hooks).
    pub(crate) fn volatile() -> Self {
        Extension(Kind::Volatile(&super::volatile::PLANE))
    }

    /// File transfers (`use_p2p_files`), fetched when first needed.
    pub(crate) fn files() -> Self {
        Extension(Kind::Files(super::files::load))
    }

    fn name(&self) -> &'static str {
        match self.0 {
            Kind::Media(_) => "media",
            Kind::Volatile(_) => "volatile",
            Kind::Files(_) => "files",
        }
    }
}

impl std::fmt::Debug for Extension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Extension({})", self.name())
    }
}

impl PartialEq for Extension {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

/// The optional parts turned on in one driver (each `None` until its hook asks).
#[derive(Clone, Copy, Default)]
pub(crate) struct Planes {
    pub(crate) media: Option<&'static MediaPlane>,
    pub(crate) volatile: Option<&'static VolatilePlane>,
    pub(crate) files: Option<&'static FilesPlane>,
}

impl Inner {
    /// Turns `extension` on (once). Links that exist already get it too: their media half (and the open
    /// ones exchange publications), or, on a host, their volatile channel.
    pub(crate) fn enable(&mut self, extension: Extension) {
        match extension.0 {
            Kind::Media(plane) if self.planes.media.is_none() => {
                self.planes.media = Some(plane);
                let client = self.role == Some(Role::Client);
                let mut open = Vec::new();
                for link in self.links.values_mut() {
                    link.media = Some((plane.attach)(&link.pc, &link.peer, link.id, &self.weak, client));
                    if link.open {
                        open.push(link.peer.clone());
                    }
                }
                (plane.new_role)(self);
                open.into_iter().for_each(|peer| (plane.link_open)(self, peer));
            }
            Kind::Volatile(plane) if self.planes.volatile.is_none() => {
                self.planes.volatile = Some(plane);
                if self.role == Some(Role::Host) {
                    for link in self.links.values_mut() {
                        link.volatile = Some((plane.open)(&link.pc, &link.peer, link.id, &self.weak));
                    }
                }
            }
            Kind::Files(load) if self.planes.files.is_none() && self.waiting_files.is_none() => {
                self.waiting_files = Some(WaitingFiles { load, fetching: false, work: Vec::new(), bytes: 0 });
            }
            _ => {}
        }
    }

    /// File work: done now if the file code is in, else kept (in order) and the code fetched.
    pub(crate) fn on_file_work(&mut self, work: FileWork) {
        if let Some(files) = self.planes.files {
            return match work {
                FileWork::Send(key, blob, name) => (files.send)(self, key, blob, name),
                FileWork::Cancel(key) => (files.cancel)(self, key),
                FileWork::Message(peer, bytes) => (files.on_message)(self, peer, bytes),
            };
        }
        let Some(waiting) = self.waiting_files.as_mut() else {
            return warn("ignored a file message: this page does not use files");
        };
        if let FileWork::Message(peer, bytes) = &work {
            if waiting.bytes + bytes.len() > MAX_WAITING_BYTES {
                return warn(&format!("dropped a file message from {peer}: too much file data before the file code"));
            }
            waiting.bytes += bytes.len();
        }
        waiting.work.push(work);
        if !std::mem::replace(&mut waiting.fetching, true) {
            let (load, weak) = (waiting.load, self.weak.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let files = load().await;
                weak.with(move |inner| inner.files_loaded(files));
            });
        }
    }

    /// The file code is in: what waited for it runs, in arrival order.
    fn files_loaded(&mut self, files: &'static FilesPlane) {
        self.planes.files = Some(files);
        let work = self.waiting_files.take().map(|w| w.work).unwrap_or_default();
        work.into_iter().for_each(|work| self.on_file_work(work));
    }

    /// A link's buffer drained (file acks and slices wait for that).
    pub(crate) fn files_drained(&mut self) {
        if let Some(files) = self.planes.files {
            (files.drained)(self);
        }
    }

    /// The link to `peer` is gone: its transfers fail, and its file messages still waiting are dropped.
    pub(crate) fn files_link_down(&mut self, peer: &PeerId) {
        if let Some(files) = self.planes.files {
            (files.link_down)(self, peer);
        } else if let Some(waiting) = self.waiting_files.as_mut() {
            waiting.work.retain(|w| !matches!(w, FileWork::Message(from, _) if from == peer));
        }
    }

    /// The frame closed: every transfer stops.
    pub(crate) fn files_close_all(&mut self) {
        if let Some(files) = self.planes.files {
            (files.close_all)(self);
        }
    }

    /// An app's media request: only sent by `use_p2p_media`, which turned media on first.
    pub(crate) fn on_media_request(&mut self, request: MediaRequest) {
        match self.planes.media {
            Some(media) => (media.request)(self, request),
            None => warn("dropped a media request: media is not on in this frame"),
        }
    }

    /// One of our volatile messages: only sent by the volatile hooks, which turned the channel on first.
    pub(crate) fn on_volatile_send(&mut self, payload: Payload) {
        match self.planes.volatile {
            Some(volatile) => (volatile.send)(self, payload),
            None => warn("dropped a volatile message: the volatile channel is not on in this frame"),
        }
    }

    /// A media frame from `peer`. A candidate gathered after the link opened is the link's own business;
    /// the rest needs media on (a peer whose page does not use media ignores the others' streams; a host
    /// counts the frame as dropped, as it does a malformed one when media is on).
    pub(crate) fn on_media_frame(&mut self, peer: PeerId, frame: MediaEnvelope) {
        if let Some(c) = frame.as_candidate() {
            return self.media_on_candidate(&peer, &c.candidate, c.sdp_mid.as_deref(), c.sdp_m_line_index);
        }
        match self.planes.media {
            Some(media) => (media.on_frame)(self, peer, frame),
            None if self.role == Some(Role::Host) => {
                self.host_drop(&peer, "a media frame (this page does not use media)")
            }
            None => warn(&format!("ignored a media frame from {peer}: this page does not use media")),
        }
    }
}
