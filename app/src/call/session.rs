//! The signaling session of one call: joining, then turning server messages into
//! peer links and tile updates until we leave or the server goes away.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use leptos::logging::warn;
use leptos::prelude::*;
use leptos::task::spawn_local;
use nonstop_core::names::{DisplayName, RoomName};
use nonstop_core::negotiation::SdpKind;
use nonstop_core::peer_msg::PeerMsg;
use nonstop_core::protocol::{
    ClientMsg, ErrorCode, MediaState, Participant, ServerMsg, PROTOCOL_VERSION,
};
use nonstop_core::ParticipantId;

use super::peer_link::{PeerLink, PeerMsgHandler};
use super::recovery::{Resilience, SessionInfo, TICK_MS};
use super::screen_link::ScreenTrack;
use super::view::{CallView, LinkState, Tile};
use crate::platform::debug_hook;
use crate::platform::media::LocalMedia;
use crate::platform::signaling::{self, ReceiveError, SignalingReceiver, SignalingSender};

/// Why joining did not work.
#[derive(Debug, Clone)]
pub enum JoinError {
    /// The server said no (room full, invalid name, …), with its explanation.
    Refused(String),
    /// The meeting has a passcode and none, or a wrong one, was given: the server's
    /// explanation; the person may type it and try again.
    Passcode(String),
    /// The server could not be reached or closed the connection.
    Unreachable(String),
}

impl JoinError {
    pub fn message(&self) -> String {
        match self {
            JoinError::Refused(message) | JoinError::Passcode(message) => message.clone(),
            JoinError::Unreachable(why) => {
                format!("Could not reach the meeting server ({why}). Check your connection and try again.")
            }
        }
    }
}

/// A joined call. Dropping it does not leave: call [`Call::leave`].
#[derive(Clone)]
pub struct Call {
    inner: Rc<Inner>,
}

struct Inner {
    me: ParticipantId,
    signaling: SignalingSender,
    /// Our camera/microphone (replaced on a device switch, see device_switch.rs).
    local: RefCell<LocalMedia>,
    /// ICE recovery, routes, reconnecting and resuming (recovery.rs); also holds
    /// the current ICE servers (refreshed by the server).
    resilience: Resilience,
    peers: RefCell<HashMap<ParticipantId, Rc<PeerLink>>>,
    view: CallView,
    left: Cell<bool>,
    /// Handles data-channel messages from any peer.
    on_peer_msg: PeerMsgHandler,
    /// Our screen share, sent on every link (new ones too) while it lasts.
    screen: RefCell<Option<ScreenTrack>>,
    /// Called instead of showing "lost the connection" when the server no longer
    /// knows our session (`resume_failed`): the page joins afresh.
    on_session_lost: RefCell<Option<Box<dyn Fn()>>>,
}

impl Call {
    /// Connects, joins `room` (with the meeting's `passcode`, or setting it when the
    /// room is new), and on success starts the links to everyone present.
    pub async fn join(
        room: &RoomName,
        name: &DisplayName,
        local: LocalMedia,
        media: MediaState,
        passcode: Option<String>,
        view: CallView,
    ) -> Result<Call, JoinError> {
        let (signaling, mut receiver) =
            signaling::connect(&signaling::endpoint()).map_err(JoinError::Unreachable)?;
        signaling.send(ClientMsg::Join {
            protocol: PROTOCOL_VERSION,
            room: room.as_str().to_owned(),
            name: name.as_str().to_owned(),
            media,
            passcode,
        });
        let (me, participants, ice_servers, heartbeat_interval_ms) = loop {
            match receiver.next().await {
                Some(Ok(ServerMsg::Welcome {
                    you,
                    participants,
                    ice_servers,
                    heartbeat_interval_ms,
                    ..
                })) => break (you, participants, ice_servers, heartbeat_interval_ms),
                Some(Ok(ServerMsg::Ping)) => signaling.send(ClientMsg::Pong),
                Some(Ok(ServerMsg::Error { code, message })) => {
                    signaling.close();
                    return Err(match code {
                        ErrorCode::PasscodeRequired | ErrorCode::WrongPasscode => {
                            JoinError::Passcode(message)
                        }
                        _ => JoinError::Refused(message),
                    });
                }
                Some(Ok(other)) => warn!("signaling: unexpected before welcome: {other:?}"),
                Some(Err(ReceiveError::Unreadable(e))) => warn!("signaling: {e}"),
                Some(Err(ReceiveError::Closed(e))) => return Err(JoinError::Unreachable(e)),
                None => return Err(JoinError::Unreachable("connection closed".into())),
            }
        };

        debug_hook::set_you(Some(me));
        view.clear();
        view.upsert_tile(Tile {
            id: me,
            name: name.as_str().to_owned(),
            local: true,
            media,
            link: LinkState::Connected,
        });
        // `Clone::clone`: the handle. `stream.clone()` is web-sys's `MediaStream.clone()`,
        // new tracks that muting, device switches and `ended` never reach.
        view.set_stream(me, Clone::clone(&local.stream));

        let call = Call {
            inner: Rc::new(Inner {
                me,
                signaling,
                local: RefCell::new(local),
                resilience: Resilience::new(
                    SessionInfo {
                        room: room.as_str().to_owned(),
                        name: name.as_str().to_owned(),
                        me,
                    },
                    media,
                    ice_servers,
                    heartbeat_interval_ms,
                ),
                peers: RefCell::new(HashMap::new()),
                view,
                left: Cell::new(false),
                on_peer_msg: Rc::new(move |from, msg| peer_message(view, from, msg)),
                screen: RefCell::new(None),
                on_session_lost: RefCell::new(None),
            }),
        };
        for p in participants {
            call.inner.participant_joined(p);
        }
        let ticking = Rc::downgrade(&call.inner);
        match set_interval_with_handle(
            move || {
                if let Some(inner) = ticking.upgrade() {
                    inner.tick();
                }
            },
            std::time::Duration::from_millis(TICK_MS),
        ) {
            Ok(handle) => call.inner.resilience.set_ticker(handle),
            Err(e) => warn!("no link checks: {e:?}"),
        }
        spawn_local(call.clone().receive(receiver));
        Ok(call)
    }

    /// Tells the others about a change of our microphone/camera state.
    pub fn publish_media(&self, media: MediaState) {
        let inner = &self.inner;
        inner.view.update_tile(inner.me, |t| t.media = media);
        inner.resilience.set_media(media);
        inner.signaling.send(ClientMsg::Media { media });
    }

    /// Switches to other local media (another camera or microphone): shown on our tile,
    /// attached by links made from now on. Replacing the tracks already being sent is
    /// the caller's (device_switch.rs), through [`Call::links`].
    pub(crate) fn set_local(&self, local: &LocalMedia) {
        *self.inner.local.borrow_mut() = local.clone();
        for (_, link) in self.links() {
            link.set_local(local);
        }
        self.inner
            .view
            .set_stream(self.inner.me, Clone::clone(&local.stream));
    }

    /// What to do when signaling comes back but cannot resume this session (the
    /// server forgot us, e.g. we were away longer than its resume grace): typically a
    /// fresh join with the same room, name and media. Without it, an alert says so.
    pub fn on_session_lost(&self, f: impl Fn() + 'static) {
        *self.inner.on_session_lost.borrow_mut() = Some(Box::new(f));
    }

    /// Our id in the call.
    pub fn me(&self) -> ParticipantId {
        self.inner.me
    }

    pub fn view(&self) -> CallView {
        self.inner.view
    }

    pub fn has_left(&self) -> bool {
        self.inner.left.get()
    }

    /// Every remote participant's link, for reading stats or replacing tracks.
    pub(crate) fn links(&self) -> Vec<(ParticipantId, Rc<PeerLink>)> {
        let peers = self.inner.peers.borrow();
        peers.iter().map(|(id, l)| (*id, l.clone())).collect()
    }

    /// Sends a peer message on every link whose channel is open; returns how many.
    pub fn send_to_all(&self, msg: &PeerMsg) -> usize {
        self.links()
            .iter()
            .filter(|(_, l)| l.send_peer(msg))
            .count()
    }

    /// Starts (Some) or stops (None) sending our screen to everyone, now and to
    /// whoever joins while it lasts.
    pub(crate) fn set_screen(&self, screen: Option<ScreenTrack>) {
        *self.inner.screen.borrow_mut() = screen.clone();
        for (_, link) in self.links() {
            link.set_screen(screen.clone());
        }
    }

    pub(crate) fn screen(&self) -> Option<ScreenTrack> {
        self.inner.screen.borrow().clone()
    }

    /// Leaves the call: says goodbye, closes every connection, clears the tiles.
    /// The local camera stays with its owner (the page), which may rejoin.
    pub fn leave(&self) {
        let inner = &self.inner;
        if inner.left.replace(true) {
            return;
        }
        inner.signaling.send(ClientMsg::Leave);
        inner.signaling.close();
        inner.resilience.stop();
        inner.peers.borrow_mut().clear();
        inner.view.clear();
        debug_hook::set_you(None);
    }

    async fn receive(self, mut receiver: SignalingReceiver) {
        loop {
            while let Some(next) = receiver.next().await {
                match next {
                    Ok(msg) => self.inner.handle(msg).await,
                    Err(ReceiveError::Unreadable(e)) => warn!("signaling: {e}"),
                    Err(ReceiveError::Closed(e)) => {
                        warn!("signaling: {e}");
                        break;
                    }
                }
            }
            if self.inner.left.get() {
                return;
            }
            // The socket is gone but the call is not: media keeps flowing on the peer
            // connections while we reconnect and resume the same session.
            match self.inner.resilience.reconnect(self.inner.view).await {
                Ok(resumed) if !self.inner.left.get() => {
                    self.inner.signaling.switch_to(&resumed.sender);
                    self.inner
                        .reconcile(resumed.participants, resumed.continued);
                    receiver = resumed.receiver;
                }
                Ok(resumed) => {
                    resumed.sender.send(ClientMsg::Leave);
                    resumed.sender.close();
                    return;
                }
                Err(why) => {
                    warn!("signaling: cannot resume: {why}");
                    break;
                }
            }
        }
        if self.inner.left.get() {
            return;
        }
        let on_lost = self.inner.on_session_lost.borrow_mut().take();
        if let Some(rejoin) = on_lost {
            warn!("signaling: session lost; joining afresh");
            rejoin();
        } else {
            self.inner.view.alert.set(Some(
                "Lost the connection to the meeting server. People already here can still see and hear you; nobody new can join you until you rejoin.".into(),
            ));
        }
    }
}

impl Inner {
    /// Handles one server message. Messages are handled one at a time, in order, so a
    /// description is applied before the candidates that follow it are looked at.
    async fn handle(&self, msg: ServerMsg) {
        self.resilience.heard(&msg);
        match msg {
            ServerMsg::Joined { participant } => self.participant_joined(participant),
            ServerMsg::Left { id, .. } => self.drop_peer(id),
            ServerMsg::Offer { from, sdp } => {
                if let Some(link) = self.link(from) {
                    link.remote_description(SdpKind::Offer, sdp).await;
                }
            }
            ServerMsg::Answer { from, sdp } => {
                if let Some(link) = self.link(from) {
                    link.remote_description(SdpKind::Answer, sdp).await;
                }
            }
            ServerMsg::Candidate { from, candidate } => {
                if let Some(link) = self.link(from) {
                    link.remote_candidate(candidate).await;
                }
            }
            ServerMsg::Media { from, media } => self.view.update_tile(from, |t| t.media = media),
            ServerMsg::Ping => self.signaling.send(ClientMsg::Pong),
            ServerMsg::Error { code, message } => {
                warn!("signaling error {code:?}: {message}");
                // Fatal ones, and codes from a newer server (their text may matter).
                if code.tell_the_user() {
                    self.view.alert.set(Some(message));
                }
            }
            ServerMsg::GoingAway { .. } => {
                // Nothing else comes on this socket (`resilience.heard` kept the
                // hints): close it and reconnect on the announced schedule.
                warn!("signaling: the server is going away; reconnecting");
                self.signaling.close();
            }
            // From a newer server: nothing this app knows to do with it.
            ServerMsg::Unknown => {}
            ServerMsg::Interrupted { .. } | ServerMsg::Back { .. } => {}
            ServerMsg::Welcome { .. } => warn!("signaling: a second welcome, ignored"),
            // Taken by `resilience.heard` above (recovery.rs).
            ServerMsg::Session { .. } | ServerMsg::IceServers { .. } => {}
            ServerMsg::Resumed { .. } => warn!("signaling: resumed without a resume, ignored"),
        }
    }

    fn link(&self, id: ParticipantId) -> Option<Rc<PeerLink>> {
        let link = self.peers.borrow().get(&id).cloned();
        if link.is_none() {
            warn!("signaling: message from unknown participant {id}");
        }
        link
    }

    fn participant_joined(&self, p: Participant) {
        if p.id == self.me || self.peers.borrow().contains_key(&p.id) {
            return;
        }
        self.view.upsert_tile(Tile {
            id: p.id,
            name: p.name,
            local: false,
            media: p.media,
            link: LinkState::Connecting,
        });
        match PeerLink::new(
            self.me,
            p.id,
            &self.resilience.ice_servers(),
            &self.local.borrow(),
            &self.signaling,
            self.view,
            self.on_peer_msg.clone(),
        ) {
            Ok(link) => {
                if let Some(screen) = self.screen.borrow().clone() {
                    link.set_screen(Some(screen));
                }
                self.peers.borrow_mut().insert(p.id, link);
            }
            Err(e) => {
                warn!("peer {}: could not create a connection: {e}", p.id);
                self.view.update_tile(p.id, |t| t.link = LinkState::Failed);
            }
        }
    }
}

impl Inner {
    fn drop_peer(&self, id: ParticipantId) {
        self.peers.borrow_mut().remove(&id);
        self.resilience.forget(id);
        self.view.remove(id);
        self.view.routes.0.update(|r| {
            r.remove(&id);
        });
    }

    /// Every [`TICK_MS`]: link recovery and routes; a silent server means a dead socket.
    fn tick(&self) {
        if self.left.get() {
            return;
        }
        let links: Vec<_> = self
            .peers
            .borrow()
            .iter()
            .map(|(id, l)| (*id, l.clone()))
            .collect();
        for id in self.resilience.tick(&links, self.view, self.view.routes) {
            warn!("peer {id}: did not come back after the server restarted; dropping it");
            self.drop_peer(id);
        }
        if self.resilience.server_silent() {
            warn!("signaling: the server went silent; reconnecting");
            self.signaling.close();
        }
    }

    /// After a resume: the room as the server sees it now. Someone who left meanwhile
    /// goes (unless the server restarted and they may still be on their way back:
    /// `continued` false), someone new gets a link, names and media are refreshed.
    fn reconcile(&self, participants: Vec<Participant>, continued: bool) {
        if continued {
            let gone: Vec<_> = self
                .peers
                .borrow()
                .keys()
                .filter(|id| !participants.iter().any(|p| p.id == **id))
                .copied()
                .collect();
            for id in gone {
                self.drop_peer(id);
            }
        }
        for p in participants {
            let (id, media) = (p.id, p.media);
            if self.peers.borrow().contains_key(&id) {
                self.view.update_tile(id, |t| t.media = media);
            } else {
                self.participant_joined(p);
            }
        }
    }
}

/// A message from participant `from` over the data channel.
fn peer_message(view: CallView, from: ParticipantId, msg: PeerMsg) {
    match msg {
        PeerMsg::Chat { text, sent_at } => {
            let name = view
                .tiles
                .with_untracked(|ts| ts.iter().find(|t| t.id == from).map(|t| t.name.clone()))
                .unwrap_or_else(|| format!("Participant {from}"));
            view.chat.push(from, name, false, text, sent_at);
        }
        // Handled by the link itself (screen_link.rs).
        PeerMsg::Screen { .. } => {}
        // Per-link adaptation (adaptation.rs).
        msg @ PeerMsg::ViewHint { .. } => super::adaptation::hint_received(from, &msg),
    }
}
