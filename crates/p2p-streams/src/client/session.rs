//! The driver's life cycle (`hydrate` only): opening and reopening the signaling socket with backoff and
//! jitter (renewing the join ticket first when needed, `renewal.rs`), reacting to server frames and roles, the
//! heartbeat tick, and routing link events to the host or client half.

use super::browser::{self, now_ms, warn};
use super::extension::FileWork;
use super::signaling::{parse_server_frame, EarlySocket, Signaling};
use super::Inner;
use crate::chunk::Reassembled;
use crate::early::RENEW_MARGIN_SECS;
use crate::hooks::P2pState;
use crate::protocol::PeerFrame;
use crate::protocol::{close_code, ClientToServer, PeerId, Role, ServerToClient, SignalPayload, PROTOCOL_VERSION};
use leptos::prelude::{set_interval_with_handle, set_timeout_with_handle};
use web_sys::RtcIceCandidateInit;

impl Inner {
    /// First step: report negotiating, start the heartbeat, follow the page's life cycle, connect.
    pub(crate) fn start(&mut self) {
        browser::mark("p2p:negotiating");
        self.events.push(crate::client::DriverEvent::State(P2pState::Negotiating));
        self.start_heartbeat();
        self.watch_page();
        self.open_signaling();
    }

    /// Starts the heartbeat and housekeeping tick.
    pub(crate) fn start_heartbeat(&mut self) {
        let weak = self.weak.clone();
        self.heartbeat = set_interval_with_handle(move || weak.with(Inner::tick), self.config.heartbeat_interval).ok();
    }

    /// Opens a new signaling socket (renewing the ticket first when it expired or was refused).
    pub(crate) fn open_signaling(&mut self) {
        if self.signaling.is_some() {
            return;
        }
        if self.renewing {
            // A background renewal is in flight: connect with its ticket.
            self.connect_after_renewal = true;
            return;
        }
        let expired = self.ticket.expires_at <= now_ms() as u64 / 1000 + RENEW_MARGIN_SECS;
        if expired || self.failed_opens >= 2 {
            self.renew_ticket(true);
            return;
        }
        self.connect_signaling();
    }

    /// Opens the socket with the current ticket, or takes over the one the page's early script opened with it.
    pub(crate) fn connect_signaling(&mut self) {
        self.signaling_gen += 1;
        if let Some(early) = Signaling::take_early(&self.ticket, &self.tab, &self.weak, self.signaling_gen) {
            return self.adopt_signaling(early);
        }
        let url = browser::signaling_url(&self.ticket.session_id, &self.ticket.token, &self.tab);
        match url.map(|url| Signaling::connect(&url, &self.weak, self.signaling_gen)) {
            Some(Ok(socket)) => self.signaling = Some(socket),
            _ => {
                warn("could not open the signaling socket");
                self.schedule_reconnect();
            }
        }
    }

    /// Stops for good with an error.
    pub(crate) fn fail(&mut self, message: String) {
        self.close_signaling(1000, "failed");
        self.links.drain().for_each(|(_, mut link)| link.close());
        self.state = P2pState::Failed;
        self.events.push(crate::client::DriverEvent::Fatal(message));
    }

    /// Tries again after a backoff delay with full jitter (at most one pending attempt).
    pub(crate) fn schedule_reconnect(&mut self) {
        if self.reconnect_timer.is_some() {
            return;
        }
        let delay = self.config.reconnect_delay(self.attempt, browser::random());
        self.attempt = self.attempt.saturating_add(1);
        let weak = self.weak.clone();
        self.reconnect_timer = set_timeout_with_handle(
            move || {
                weak.with(|i| {
                    i.reconnect_timer = None;
                    i.open_signaling();
                })
            },
            delay,
        )
        .ok();
    }

    /// Closes the signaling socket on purpose (no reconnect follows).
    pub(crate) fn close_signaling(&mut self, code: u16, reason: &str) {
        if let Some(socket) = self.signaling.take() {
            socket.close(code, reason);
            self.events.push(crate::client::DriverEvent::Signaling(false));
        }
    }

    /// Uses the early script's socket: if it is open, its `join` went out and the frames it received are
    /// handled now, in order; if it is still connecting, its `open` event comes to us (and we send `join`).
    fn adopt_signaling(&mut self, early: EarlySocket) {
        let EarlySocket { socket, open, queued } = early;
        let generation = socket.generation;
        self.signaling = Some(socket);
        if !open {
            return;
        }
        self.mark_signaling_open(generation);
        for frame in queued.iter().filter_map(|text| parse_server_frame(text)) {
            self.on_server_frame(generation, frame);
        }
    }

    /// Records that socket `generation` is open; false if it is not the current socket.
    fn mark_signaling_open(&mut self, generation: u64) -> bool {
        match self.signaling.as_mut() {
            Some(socket) if socket.generation == generation => socket.open = true,
            _ => return false,
        }
        self.failed_opens = 0;
        self.events.push(crate::client::DriverEvent::Signaling(true));
        true
    }

    pub(crate) fn on_signaling_open(&mut self, generation: u64) {
        if !self.mark_signaling_open(generation) {
            return;
        }
        let lost_host = self.lost_host.clone();
        self.signaling_send(&ClientToServer::Join { version: PROTOCOL_VERSION, lost_host });
    }

    pub(crate) fn on_signaling_closed(&mut self, generation: u64, code: u16) {
        let Some(socket) = self.signaling.take_if(|s| s.generation == generation) else { return };
        if !socket.open {
            self.failed_opens += 1;
        }
        drop(socket);
        self.events.push(crate::client::DriverEvent::Signaling(false));
        match code {
            close_code::VERSION_MISMATCH => return self.fail("the server speaks another protocol version".into()),
            close_code::SESSION_FULL => {
                return self.fail("this room is full: it has the most peers the server allows".into())
            }
            // RATE_LIMITED, SERVER_FULL (another node may have room), RECONNECT ...: retry with backoff.
            close_code::SUPERSEDED => self.tab = browser::renew_tab_nonce(),
            _ => {}
        }
        let connected_client = self.role == Some(Role::Client) && self.state == P2pState::Connected;
        if !connected_client || self.config.keep_signaling_connection {
            self.schedule_reconnect();
        }
    }

    pub(crate) fn on_server_frame(&mut self, generation: u64, frame: ServerToClient) {
        if self.signaling.as_ref().is_none_or(|s| s.generation != generation) {
            return;
        }
        match frame {
            ServerToClient::Welcome { peer_id, role, host, authority, grant, .. } => {
                self.seal_welcome(authority, grant);
                self.delivery.set_me(peer_id.clone());
                self.me = Some(peer_id);
                self.lost_host = None;
                self.assume_role(role, host);
            }
            ServerToClient::RoleChanged { role, host, grant } => {
                self.seal_grant(grant);
                self.assume_role(role, host);
            }
            ServerToClient::PeerJoined { peer } => self.host_accept(peer),
            ServerToClient::PeerLeft { peer } => self.host_peer_left(peer),
            ServerToClient::Signal { from, signal } => self.on_signal(from, signal),
            ServerToClient::Error { code, message } => {
                warn(&format!("signaling refused a frame ({code:?}): {message}"))
            }
        }
    }

    /// Takes the role the server assigned.
    fn assume_role(&mut self, role: Role, host: PeerId) {
        match role {
            Role::Host => self.become_host(),
            Role::Client => self.become_client(host),
        }
        self.report_role();
    }

    fn on_signal(&mut self, from: PeerId, signal: SignalPayload) {
        match signal {
            SignalPayload::Offer { link, sdp } => self.guest_on_offer(from, link, sdp),
            SignalPayload::Answer { link, sdp } => self.host_on_answer(from, link, sdp),
            SignalPayload::Candidate { link, candidate, sdp_mid, sdp_m_line_index } => {
                let Some(peer_link) = self.links.get_mut(&from).filter(|l| l.id == link) else { return };
                let init = RtcIceCandidateInit::new(&candidate);
                init.set_sdp_mid(sdp_mid.as_deref());
                init.set_sdp_m_line_index(sdp_m_line_index);
                peer_link.add_remote_candidate(init);
            }
        }
    }

    /// A candidate of ours, trickled to the peer through the server.
    pub(crate) fn on_local_candidate(
        &mut self,
        peer: PeerId,
        link: u64,
        candidate: String,
        sdp_mid: Option<String>,
        sdp_m_line_index: Option<u16>,
    ) {
        if let Some(open) = self.links.get_mut(&peer).filter(|l| l.id == link && l.open) {
            // After the link opened (renegotiation): on its data channel, the signaling server may be gone.
            let fields = crate::media::CandidateFields { candidate, sdp_mid, sdp_m_line_index };
            open.send(&PeerFrame::Media { media: crate::media::MediaEnvelope::candidate(fields) });
        } else if self.links.get(&peer).is_some_and(|l| l.id == link) {
            let signal = SignalPayload::Candidate { link, candidate, sdp_mid, sdp_m_line_index };
            self.signaling_send(&ClientToServer::Signal { to: peer, signal });
        }
    }

    /// One of the client's data channels arrived (the host created them): the volatile one or the reliable one.
    pub(crate) fn on_remote_channel(&mut self, peer: PeerId, link: u64, channel: web_sys::RtcDataChannel) {
        let weak = self.weak.clone();
        if super::volatile::is_volatile(&channel) {
            return match self.planes.volatile {
                Some(volatile) => (volatile.on_remote)(self, peer, link, channel),
                None => channel.close(), // this page has no volatile views
            };
        }
        if let Some(l) = self.links.get_mut(&peer).filter(|l| l.id == link) {
            l.attach_channel(channel, &weak);
            if l.open {
                self.on_channel_open(peer, link);
            }
        }
    }

    pub(crate) fn on_channel_open(&mut self, peer: PeerId, link: u64) {
        let Some(l) = self.links.get_mut(&peer).filter(|l| l.id == link) else { return };
        l.open = true;
        l.last_seen = now_ms();
        match self.role {
            Some(Role::Host) => self.host_link_open(peer.clone()),
            Some(Role::Client) => self.guest_link_open(),
            None => return,
        }
        if let Some(media) = self.planes.media {
            (media.link_open)(self, peer);
        }
    }

    pub(crate) fn on_channel_message(&mut self, peer: PeerId, link: u64, text: String) {
        let Some(l) = self.links.get_mut(&peer).filter(|l| l.id == link) else { return };
        l.last_seen = now_ms();
        match self.role {
            Some(Role::Host) => self.host_on_message(peer, &text),
            Some(Role::Client) => self.guest_on_message(peer, &text),
            None => {}
        }
    }

    /// A binary message: one chunk of a long frame. A complete frame is handled like a text one; a bad
    /// chunk is dropped and reported (the transfer it belongs to is dropped, the link goes on).
    pub(crate) fn on_channel_chunk(&mut self, peer: PeerId, link: u64, bytes: Vec<u8>) {
        let Some(l) = self.links.get_mut(&peer).filter(|l| l.id == link) else { return };
        l.last_seen = now_ms();
        if matches!(bytes.first(), Some(&crate::file::FILE_MAGIC | &crate::file::FILE_CONTROL_MAGIC)) {
            return self.on_file_work(FileWork::Message(peer, bytes));
        }
        let problem = match l.reassembler.accept(&bytes) {
            Ok(Reassembled::Complete(frame)) => match String::from_utf8(frame) {
                Ok(text) => return self.on_channel_message(peer, link, text),
                Err(_) => "a chunked frame that is not UTF-8".to_owned(),
            },
            Ok(Reassembled::Partial | Reassembled::Duplicate) => return,
            Err(err) => format!("a chunk ({err})"),
        };
        match self.role {
            Some(Role::Host) => self.host_drop(&peer, &problem),
            _ => warn(&format!("dropped {problem} from {peer}")),
        }
    }

    /// Answers a heartbeat at once, ahead of queued frames (it has no place in their order, and a long
    /// message in the queue must not make the link look dead).
    pub(crate) fn send_pong(&self, peer: &PeerId, nonce: u64) {
        let (Some(link), Ok(text)) = (self.links.get(peer), serde_json::to_string(&PeerFrame::Pong { nonce })) else {
            return;
        };
        link.send_text(&text);
    }

    /// The link's buffer drained below its low-water mark: send more of what is queued.
    pub(crate) fn on_channel_drained(&mut self, peer: PeerId, link: u64) {
        if let Some(l) = self.links.get_mut(&peer).filter(|l| l.id == link) {
            l.pump();
            self.files_drained();
        }
    }

    /// The link's channel closed or its connection failed.
    pub(crate) fn on_link_down(&mut self, peer: PeerId, link: u64) {
        if self.links.get(&peer).is_none_or(|l| l.id != link) {
            return;
        }
        if let Some(mut l) = self.links.remove(&peer) {
            l.close();
        }
        self.files_link_down(&peer);
        match self.role {
            Some(Role::Host) => self.host_peer_gone(peer),
            Some(Role::Client) => self.guest_host_lost(),
            None => {}
        }
    }

    /// Heartbeat and housekeeping, every `heartbeat_interval`.
    fn tick(&mut self) {
        let now = now_ms();
        let idle = self.config.idle_timeout.as_secs_f64() * 1000.0;
        self.ping_nonce += 1;
        let ping = serde_json::to_string(&crate::protocol::PeerFrame::Ping { nonce: self.ping_nonce });
        let mut dead = Vec::new();
        for link in self.links.values() {
            if link.open && now - link.last_seen > idle {
                dead.push((link.peer.clone(), link.id));
            } else if let Ok(ping) = &ping {
                link.send_text(ping);
            }
        }
        for (peer, link) in dead {
            // Whole milliseconds: formatting an f64 would bring the float formatter into the wasm (~4 KB gzip).
            let idle = self.config.idle_timeout.as_millis();
            warn(&format!("no heartbeat from {peer} for {idle} ms: recovering the link"));
            if let Some(mut l) = self.links.remove(&peer).filter(|l| l.id == link) {
                l.close();
            }
            match self.role {
                Some(Role::Host) => self.host_peer_timed_out(peer),
                Some(Role::Client) => self.guest_host_lost(),
                None => {}
            }
        }
        if self.role == Some(Role::Host) {
            self.host_housekeeping(now);
            if let Some(media) = self.planes.media {
                (media.tick)(self);
            }
        }
        self.renew_ice_credentials(now);
        if self.unsaved {
            self.save_delivery();
        }
    }
}
