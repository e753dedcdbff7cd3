//! One remote participant's connection, driven by the core's perfect negotiation
//! [`Negotiator`]: our tracks out, theirs in (reported as [`TransportEvent`]s), and
//! the data channel between us.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use leptos::logging::warn;
use leptos::task::spawn_local;
use nonstop_core::adaptation::SendParams;
use nonstop_core::layout::TileId;
use nonstop_core::negotiation::{
    from_new_connection, CandidateAction, DescriptionAction, Negotiator, Role, SdpKind,
};
use nonstop_core::peer_msg::PeerMsg;
use nonstop_core::protocol::{ClientMsg, IceCandidate, IceServer};
use nonstop_core::ParticipantId;

use super::screen_link::ScreenLink;
use crate::call::transport::{EventSink as Events, LinkSample, TransportEvent};
use crate::platform::data_channel::DataChannel;
use crate::platform::media::{LocalMedia, RemoteStream};
use crate::platform::peer_connection::{Kind, PeerConnection};
use crate::platform::screen::ScreenTrack;
use crate::platform::signaling::SignalingSender;
use crate::platform::stats;

pub struct PeerLink {
    remote: ParticipantId,
    pc: PeerConnection,
    negotiator: RefCell<Negotiator>,
    signaling: SignalingSender,
    /// Our camera/microphone; replaced when the person switches devices.
    local: RefCell<LocalMedia>,
    /// Whether our tracks (and the data channel) are on this connection yet. The
    /// initiator adds them before its first offer; the other side when it answers that
    /// offer, so that neither side's additions start a negotiation of their own.
    sending: Cell<bool>,
    channel: RefCell<Option<DataChannel>>,
    events: Events,
    /// The remote camera and microphone, as their tile plays them.
    camera: Rc<RemoteStream>,
    /// Screen sharing both ways (see `screen_link.rs`).
    screen: Rc<ScreenLink>,
    /// A new link to the same participant took over: its media replace ours.
    replaced: Cell<bool>,
}

impl PeerLink {
    /// `offer_first`: we make the first offer (the link's initiator does, see [`Role`];
    /// so does a side that replaces a failed connection). `on_dtls_failed`: the
    /// connection failed beyond an ICE restart's reach and needs replacing.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        me: ParticipantId,
        remote: ParticipantId,
        ice_servers: &[IceServer],
        local: &LocalMedia,
        signaling: &SignalingSender,
        events: Events,
        offer_first: bool,
        on_dtls_failed: impl FnMut() + 'static,
    ) -> Result<Rc<PeerLink>, String> {
        let role = Role::between(me, remote);
        let mut pc = PeerConnection::new(ice_servers)?;
        let camera = Rc::new(RemoteStream::new()?);

        let to = remote;
        let sig = signaling.clone();
        pc.on_ice_candidate(move |candidate| sig.send(ClientMsg::Candidate { to, candidate }));

        let screen = Rc::new(ScreenLink::new(remote, events.clone()));
        let (track_screen, track_camera, track_events) =
            (screen.clone(), camera.clone(), events.clone());
        pc.on_track(move |received| {
            if track_screen.track_received(&received) {
                return;
            }
            track_events(TransportEvent::RemoteMedia {
                source: TileId::camera(remote),
                stream: Some(track_camera.add(&received.track)),
            });
        });
        let state_events = events.clone();
        pc.on_connection_state_change(move |_| state_events(TransportEvent::LinkChanged(remote)));
        pc.on_dtls_failed(on_dtls_failed);

        let link = Rc::new_cyclic(|weak: &Weak<PeerLink>| {
            let weak = weak.clone();
            pc.on_negotiation_needed(move || {
                if let Some(link) = weak.upgrade() {
                    spawn_local(link.negotiate());
                }
            });
            PeerLink {
                remote,
                pc,
                negotiator: RefCell::new(Negotiator::new(role)),
                signaling: signaling.clone(),
                local: RefCell::new(local.clone()),
                sending: Cell::new(false),
                channel: RefCell::new(None),
                events,
                camera,
                screen,
                replaced: Cell::new(false),
            }
        });

        if offer_first {
            // Adding the channel and transceivers fires `negotiationneeded`, which sends
            // the offer.
            link.open_channel();
            link.pc
                .add_transceivers(local.audio.as_ref(), local.video.as_ref());
            link.sending.set(true);
        }
        Ok(link)
    }

    /// Creates and sends an offer (on `negotiationneeded`).
    async fn negotiate(self: Rc<Self>) {
        self.negotiator.borrow_mut().offer_started();
        match self.pc.set_local_description().await {
            Ok((SdpKind::Offer, sdp)) => self.signaling.send(ClientMsg::Offer {
                to: self.remote,
                sdp,
            }),
            Ok((SdpKind::Answer, _)) => {
                warn!("peer {}: negotiationneeded produced an answer", self.remote)
            }
            Err(e) => warn!("peer {}: could not create an offer: {e}", self.remote),
        }
        self.negotiator.borrow_mut().offer_finished();
    }

    pub async fn remote_description(&self, kind: SdpKind, sdp: String) {
        let action = self
            .negotiator
            .borrow_mut()
            .remote_description(kind, self.pc.signaling_state());
        let DescriptionAction::Apply { answer } = action else {
            return;
        };
        if let Err(e) = self.pc.set_remote_description(kind, &sdp).await {
            self.negotiator.borrow_mut().remote_description_failed();
            warn!("peer {}: remote {kind:?} rejected: {e}", self.remote);
            return;
        }
        let queued = self.negotiator.borrow_mut().remote_description_applied();
        for candidate in queued {
            self.add_candidate(candidate).await;
        }
        if !answer {
            return;
        }
        if !self.sending.replace(true) {
            self.open_channel();
            let (audio, video) = {
                let local = self.local.borrow();
                (local.audio.clone(), local.video.clone())
            };
            if let Err(e) = self
                .pc
                .send_on_offered_transceivers(audio.as_ref(), video.as_ref())
                .await
            {
                warn!("peer {}: could not attach local media: {e}", self.remote);
            }
        }
        match self.pc.set_local_description().await {
            Ok((SdpKind::Answer, sdp)) => self.signaling.send(ClientMsg::Answer {
                to: self.remote,
                sdp,
            }),
            Ok((SdpKind::Offer, _)) => warn!("peer {}: expected an answer", self.remote),
            Err(e) => warn!("peer {}: could not answer: {e}", self.remote),
        }
        // A screen we share goes on once the first negotiation is done.
        self.screen.attach(&self.pc);
    }

    /// Whether `offer` comes from a new connection of the remote side (it replaced a
    /// failed one): ours must be replaced too.
    pub fn superseded_by(&self, offer: &str) -> bool {
        from_new_connection(self.pc.remote_sdp().as_deref(), offer)
    }

    /// Whether the other side has described its end: answered our offer, or offered.
    pub fn answered(&self) -> bool {
        self.pc.remote_sdp().is_some()
    }

    pub async fn remote_candidate(&self, candidate: IceCandidate) {
        let action = self.negotiator.borrow_mut().remote_candidate(candidate);
        if let CandidateAction::Add(candidate) = action {
            self.add_candidate(candidate).await;
        }
    }

    async fn add_candidate(&self, candidate: IceCandidate) {
        if let Err(e) = self.pc.add_ice_candidate(&candidate).await {
            if !self.negotiator.borrow().candidate_error_expected() {
                warn!("peer {}: candidate rejected: {e}", self.remote);
            }
        }
    }

    /// Starts or stops sending our screen on this link, and tells the other side.
    pub fn set_screen(&self, screen: Option<ScreenTrack>) {
        let pc = self.sending.get().then_some(&self.pc);
        self.screen.set_outgoing(screen, pc);
        self.send_peer(&self.screen.announcement());
    }

    /// Our camera and microphone from now on: replaces the tracks being sent (no
    /// renegotiation), or, before the first answer, what it will attach.
    pub async fn set_local(&self, local: LocalMedia) {
        *self.local.borrow_mut() = local.clone();
        if !self.sending.get() {
            return;
        }
        for (kind, track) in [(Kind::Audio, &local.audio), (Kind::Video, &local.video)] {
            if let Err(e) = self.pc.replace_track(kind, track.as_ref()).await {
                warn!("peer {}: replaceTrack ({kind:?}): {e}", self.remote);
            }
        }
    }

    /// A parked link (its participant seems gone, see `MediaTransport::set_peers`) is
    /// not listed in the debug hook, like a closed one.
    pub fn set_parked(&self, parked: bool) {
        if parked {
            self.pc.hide_from_debugging();
        } else {
            self.pc.expose_for_debugging(self.remote);
        }
    }

    /// A new link to the same participant takes over (see [`Drop`]).
    pub fn set_replaced(&self) {
        self.replaced.set(true);
    }

    pub fn is_parked(&self) -> bool {
        !self.pc.is_exposed()
    }

    /// Sends `msg` to this participant; false if the channel is not open (yet).
    pub fn send_peer(&self, msg: &PeerMsg) -> bool {
        self.channel.borrow().as_ref().is_some_and(|c| c.send(msg))
    }

    pub async fn sample(&self) -> LinkSample {
        let report = match self.pc.stats().await {
            Ok(r) => Some(r),
            Err(e) => {
                warn!("peer {}: getStats failed: {e}", self.remote);
                None
            }
        };
        LinkSample {
            peer: self.remote,
            condition: self.pc.condition(),
            remote_audio: report.as_ref().map(|r| r.remote_audio),
            local_audio_level: report.as_ref().and_then(|r| r.local_audio_level),
            route: report.as_ref().and_then(|r| r.route),
            report,
        }
    }

    /// Applies the sending parameters that changed; true if all took.
    pub async fn apply_send(&self, want: SendParams, had: Option<SendParams>) -> bool {
        let senders = self.pc.senders();
        let mut ok = true;
        if had.map(|h| h.video) != Some(want.video) {
            if let Some((sender, _)) = &senders.video {
                ok &= self.took("video", stats::apply_video(sender, &want.video).await);
            }
        }
        if had.map(|h| h.audio) != Some(want.audio) {
            if let Some((sender, _)) = &senders.audio {
                ok &= self.took("audio", stats::apply_audio(sender, &want.audio).await);
            }
        }
        ok
    }

    /// Logs a failed `setParameters`; true if it took.
    fn took(&self, what: &str, r: Result<bool, String>) -> bool {
        r.unwrap_or_else(|e| {
            warn!("peer {}: setParameters ({what}) failed: {e}", self.remote);
            false
        })
    }

    pub fn reconfigure_and_restart_ice(&self, ice_servers: &[IceServer], relay_only: bool) {
        if let Err(e) = self.pc.reconfigure_ice(ice_servers, relay_only) {
            warn!(
                "peer {}: could not update the ICE configuration: {e}",
                self.remote
            );
        }
        self.pc.restart_ice();
    }

    fn open_channel(&self) {
        let from = self.remote;
        let events = self.events.clone();
        let (screen, camera) = (self.screen.clone(), self.camera.clone());
        let mut channel = self
            .pc
            .open_data_channel(move |text| match PeerMsg::parse(&text) {
                Ok(PeerMsg::Screen { stream }) => screen.announced(stream, &camera),
                Ok(msg) => events(TransportEvent::PeerMessage { from, msg }),
                Err(e) => warn!("peer {from}: dropped a data channel message: {e}"),
            });
        let screen = self.screen.clone();
        channel.on_open(move || {
            let hello = screen.announcement();
            (hello != PeerMsg::Screen { stream: None }).then_some(hello)
        });
        *self.channel.borrow_mut() = Some(channel);
    }
}

impl Drop for PeerLink {
    fn drop(&mut self) {
        if self.replaced.get() {
            return;
        }
        for source in [TileId::camera(self.remote), TileId::screen(self.remote)] {
            (self.events)(TransportEvent::RemoteMedia {
                source,
                stream: None,
            });
        }
    }
}
