//! One remote participant: its `RTCPeerConnection`, driven by the core's perfect
//! negotiation [`Negotiator`].

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use leptos::logging::warn;
use leptos::task::spawn_local;
use nonstop_core::negotiation::{CandidateAction, DescriptionAction, Negotiator, Role, SdpKind};
use nonstop_core::peer_msg::PeerMsg;
use nonstop_core::protocol::{ClientMsg, IceCandidate, IceServer};
use nonstop_core::ParticipantId;
use web_sys::MediaStream;

use super::screen_link::{ScreenLink, ScreenTrack};
use super::view::{CallView, LinkState};
use crate::platform::data_channel::DataChannel;
use crate::platform::debug_hook;
use crate::platform::media::LocalMedia;
use crate::platform::peer_connection::{ConnectionState, Kind, PeerConnection};
use crate::platform::signaling::SignalingSender;

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
    on_peer_msg: PeerMsgHandler,
    /// Screen sharing both ways (see `screen_link.rs`).
    screen: Rc<ScreenLink>,
}

/// Receives what the remote participant sends over the data channel.
pub type PeerMsgHandler = Rc<dyn Fn(ParticipantId, PeerMsg)>;

impl PeerLink {
    pub fn new(
        me: ParticipantId,
        remote: ParticipantId,
        ice_servers: &[IceServer],
        local: &LocalMedia,
        signaling: &SignalingSender,
        view: CallView,
        on_peer_msg: PeerMsgHandler,
    ) -> Result<Rc<PeerLink>, String> {
        let role = Role::between(me, remote);
        let mut pc = PeerConnection::new(ice_servers)?;
        let remote_stream = MediaStream::new().map_err(|e| crate::platform::js_error_text(&e))?;

        let to = remote;
        let sig = signaling.clone();
        pc.on_ice_candidate(move |candidate| sig.send(ClientMsg::Candidate { to, candidate }));

        let screen = Rc::new(ScreenLink::new(
            remote,
            view,
            pc.raw().clone(),
            // `Clone::clone` copies the handle; `.clone()` would be MediaStream.clone(),
            // which makes new tracks.
            Clone::clone(&remote_stream),
        ));
        let track_screen = screen.clone();
        pc.on_track(move |track, streams| {
            if track_screen.track_received(&track, &streams) {
                return;
            }
            remote_stream.add_track(&track);
            // Setting the stream again makes the <video> reload with the new track.
            view.set_stream(remote, Clone::clone(&remote_stream));
        });

        pc.on_connection_state_change(move |state| {
            let link = match state {
                ConnectionState::New | ConnectionState::Connecting => LinkState::Connecting,
                ConnectionState::Connected => LinkState::Connected,
                ConnectionState::Disconnected => LinkState::Interrupted,
                ConnectionState::Failed | ConnectionState::Closed => LinkState::Failed,
            };
            view.update_tile(remote, |t| t.link = link);
        });

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
                on_peer_msg,
                screen,
            }
        });
        debug_hook::add_peer(remote, link.pc.raw());

        if role.initiator {
            // Adding the channel and transceivers fires `negotiationneeded`, which sends
            // the offer.
            link.open_channel();
            link.pc.add_transceiver(Kind::Audio, local.audio.as_ref());
            link.pc.add_transceiver(Kind::Video, local.video.as_ref());
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
        self.screen.attach();
    }

    /// Starts or stops sending our screen on this link, and tells the other side.
    pub fn set_screen(&self, screen: Option<ScreenTrack>) {
        self.screen.set_outgoing(screen, self.sending.get());
        self.send_peer(&self.screen.announcement());
    }

    /// The sender of our camera (`Kind::Video`) or microphone (`Kind::Audio`): the
    /// first transceiver of that kind, created for local media (a screen share's comes
    /// later). Replacing its track needs no renegotiation.
    pub fn media_sender(&self, kind: Kind) -> Option<web_sys::RtcRtpSender> {
        if !self.sending.get() {
            // Not attached yet: the first answer takes the track from `set_local`.
            return None;
        }
        let senders = crate::platform::stats::Senders::of(self.pc.raw());
        let slot = match kind {
            Kind::Audio => senders.audio,
            Kind::Video => senders.video,
        };
        slot.map(|(sender, _)| sender)
    }

    /// Our local media changed (another device): what a first answer attaches from now on.
    pub fn set_local(&self, local: &LocalMedia) {
        *self.local.borrow_mut() = local.clone();
    }

    /// The connection, for reading its statistics.
    pub fn connection(&self) -> &web_sys::RtcPeerConnection {
        self.pc.raw()
    }

    /// Sends `msg` to this participant; false if the channel is not open (yet).
    pub fn send_peer(&self, msg: &PeerMsg) -> bool {
        self.channel.borrow().as_ref().is_some_and(|c| c.send(msg))
    }

    fn open_channel(&self) {
        let from = self.remote;
        let handler = self.on_peer_msg.clone();
        let screen = self.screen.clone();
        let mut channel =
            DataChannel::open(self.pc.raw(), move |text| match PeerMsg::parse(&text) {
                Ok(PeerMsg::Screen { stream }) => screen.announced(stream),
                Ok(msg) => handler(from, msg),
                Err(e) => warn!("peer {from}: dropped a data channel message: {e:?}"),
            });
        let screen = self.screen.clone();
        channel.on_open(move || {
            let hello = screen.announcement();
            (hello != PeerMsg::Screen { stream: None }).then_some(hello)
        });
        *self.channel.borrow_mut() = Some(channel);
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
}

impl Drop for PeerLink {
    fn drop(&mut self) {
        debug_hook::remove_peer(self.remote);
    }
}
