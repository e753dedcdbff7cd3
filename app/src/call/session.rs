//! One joined call: the signaling session, the core's [`CallState`] it feeds, and the
//! media transports that carry out what the state wants: the mesh, and while the call
//! is relayed (or switching), the relayed one. A switch is make before break: the new
//! path is built next to the shown one, `topology_ready` goes out once every camera
//! flows on it (its video track unmuted: packets arrive), and from the server's commit
//! each participant's tiles take the new path's media as soon as its camera flows
//! there (each path's streams are kept apart); the old path closes once all do (at
//! most `core::call::path_switch::DRAIN_MAX` after the commit). Three tasks drive it: server
//! messages (one at a time, in order), transport events, and the ticker, which reads
//! every connection once per round ([`SAMPLE_EVERY`]) for link recovery, adaptation
//! and speaker detection, and otherwise sleeps until the next deadline of the state
//! machines.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::channel::mpsc;
use futures::future::{select, Either};
use futures::StreamExt;
use leptos::logging::warn;
use leptos::prelude::*;
use leptos::task::spawn_local;
use nonstop_core::call::{CallEffect, CallState, LinkObservation, Presence, Topology};
use nonstop_core::janus::RoomAccess;
use nonstop_core::layout::TileId;
use nonstop_core::names::{DisplayName, RoomName};
use nonstop_core::peer_msg::PeerMsg;
use nonstop_core::protocol::{
    ClientMsg, ErrorCode, IceServer, MediaState, ServerMsg, SfuGrant, SwitchPhase, PROTOCOL_VERSION,
};
use nonstop_core::time::{Millis, Time};
use nonstop_core::vec_map::VecMap;
use nonstop_core::ParticipantId;
use wasm_bindgen::JsCast;

use super::adaptation::Adaptation;
use super::first_join;
use super::handshake::Refused;
use super::mesh::{MeshTransport, Signal};
use super::reconnect::{reconnect, SignalingWatch};
use super::relayed::{RelayedTransport, SfuAccess};
use super::speaking::Speaking;
use super::transport::{MediaTransport, TransportEvent};
use super::view::{AdaptationView, CallView};
use crate::platform::clock::{now, sleep_until};
use crate::platform::listener::EventListener;
use crate::platform::media::{LocalMedia, MediaStream};
use crate::platform::screen::ScreenTrack;
use crate::platform::signaling::{self, ReceiveError, SignalingReceiver, SignalingSender};
use crate::platform::{debug_hook, page, random_seed as seed};

/// How often every connection is read (`getStats()`): fast enough for speaker
/// detection and to notice stalled media, one reading shared by every consumer.
const SAMPLE_EVERY: Millis = Millis::from_millis(250);
/// The ticker never wakes more often than this, whatever a deadline says.
const MIN_WAIT: Millis = Millis::from_millis(20);

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
    room: String,
    name: String,
    me: ParticipantId,
    signaling: SignalingSender,
    mesh: MeshTransport,
    /// While the call is relayed or switching to or from it.
    relayed: RefCell<Option<RelayedTransport>>,
    /// The remote sources' media on each path, and the path each tile shows.
    streams: RefCell<VecMap<(Topology, TileId), MediaStream>>,
    showing: RefCell<VecMap<TileId, Topology>>,
    ice_servers: RefCell<Vec<IceServer>>,
    /// The SFU room's grant while the call is relayed (its tokens kept fresh), to
    /// build our path there again if it breaks.
    sfu_grant: RefCell<Option<SfuGrant>>,
    /// The Janus session of our path to the SFU that broke: the rebuilt path ends it.
    lost_sfu_session: Cell<Option<u64>>,
    state: RefCell<CallState>,
    watch: RefCell<SignalingWatch>,
    adaptation: RefCell<Adaptation>,
    adaptation_view: AdaptationView,
    speaking: RefCell<Speaking>,
    view: CallView,
    /// Our camera/microphone (replaced on a device switch, see device_switch.rs).
    local: RefCell<LocalMedia>,
    media: Cell<MediaState>,
    /// Our screen share while it lasts, with the watch on its `ended`.
    screen: RefCell<Option<(ScreenTrack, EventListener)>>,
    left: Cell<bool>,
    reconnecting: Cell<bool>,
    /// Wakes the ticker before its deadline; `sample_now`: the links it should read at
    /// once (only those, when a full round is not due).
    wake: mpsc::UnboundedSender<()>,
    /// The transports' event channel (each event with its path), closed on leave
    /// (which ends its task).
    events: mpsc::UnboundedSender<(Topology, TransportEvent)>,
    sample_now: RefCell<Vec<ParticipantId>>,
    /// Called instead of showing "lost the connection" when the server no longer
    /// knows our session (`resume_failed`): the page joins afresh.
    on_session_lost: RefCell<Option<Box<dyn Fn()>>>,
}

impl Call {
    /// Connects, joins `room` (with the meeting's `passcode`, or setting it when the
    /// room is new), and on success starts the links to everyone present. A server that
    /// says `going_away` instead of `welcome` is asked again for a while first
    /// (`first_join.rs`).
    pub async fn join(
        room: &RoomName,
        name: &DisplayName,
        local: LocalMedia,
        media: MediaState,
        passcode: Option<String>,
        view: CallView,
        adaptation_view: AdaptationView,
    ) -> Result<Call, JoinError> {
        let accepted = first_join::join(ClientMsg::Join {
            protocol: PROTOCOL_VERSION,
            room: room.as_str().to_owned(),
            name: name.as_str().to_owned(),
            media,
            passcode,
            token: page::meeting_token(),
        })
        .await
        .map_err(|refused| match refused {
            Refused::Refused {
                code: ErrorCode::PasscodeRequired | ErrorCode::WrongPasscode,
                message,
            } => JoinError::Passcode(message),
            Refused::Refused { message, .. } => JoinError::Refused(message),
            Refused::Unreachable { why, .. } => JoinError::Unreachable(why),
        })?;
        let ServerMsg::Welcome {
            you: me,
            participants,
            ice_servers,
            heartbeat_interval_ms,
            name: named,
            owner,
            ..
        } = accepted.answer
        else {
            accepted.sender.close();
            return Err(JoinError::Unreachable(
                "the server resumed instead of joining".into(),
            ));
        };

        // The room's name for us (a meeting token's user name wins over what was typed).
        let name = named.unwrap_or_else(|| name.as_str().to_owned());
        debug_hook::set_you(Some(me));
        view.clear();
        view.owner.set(owner);
        // `Clone::clone`: the handle. `stream.clone()` is web-sys's `MediaStream.clone()`,
        // new tracks that muting, device switches and `ended` never reach.
        view.set_stream(TileId::camera(me), Some(Clone::clone(&local.stream)));

        let (events_tx, events) = mpsc::unbounded();
        let (wake, woken) = mpsc::unbounded();
        let now = now();
        let mut state = CallState::new(
            me,
            name.clone(),
            media,
            relay_available(&ice_servers),
            seed(),
        );
        for p in participants {
            state.joined(now, p);
        }
        let mesh = MeshTransport::new(
            me,
            accepted.sender.clone(),
            ice_servers.clone(),
            local.clone(),
            sink_for(&events_tx, Topology::Mesh),
        );
        let adaptation = Adaptation::new(adaptation_view.enabled.get_untracked());
        let call = Call {
            inner: Rc::new(Inner {
                room: room.as_str().to_owned(),
                name,
                me,
                signaling: accepted.sender,
                mesh,
                relayed: RefCell::new(None),
                streams: RefCell::new(VecMap::new()),
                showing: RefCell::new(VecMap::new()),
                ice_servers: RefCell::new(ice_servers),
                sfu_grant: RefCell::new(None),
                lost_sfu_session: Cell::new(None),
                state: RefCell::new(state),
                watch: RefCell::new(SignalingWatch::new(now, heartbeat_interval_ms)),
                adaptation: RefCell::new(adaptation),
                adaptation_view,
                speaking: RefCell::new(Speaking::new(me)),
                view,
                local: RefCell::new(local),
                media: Cell::new(media),
                screen: RefCell::new(None),
                left: Cell::new(false),
                reconnecting: Cell::new(false),
                wake,
                events: events_tx,
                sample_now: RefCell::new(Vec::new()),
                on_session_lost: RefCell::new(None),
            }),
        };
        for msg in accepted.before {
            call.inner.handle(msg).await;
        }
        call.inner.refresh();
        spawn_local(call.clone().receive(accepted.receiver));
        spawn_local(call.clone().transport_events(events));
        spawn_local(call.clone().tick(woken));
        Ok(call)
    }

    /// Tells the others about a change of our microphone/camera state.
    pub fn publish_media(&self, media: MediaState) {
        let inner = &self.inner;
        inner.media.set(media);
        inner.state.borrow_mut().set_my_media(media);
        inner.signaling.send(ClientMsg::Media { media });
        inner.refresh();
    }

    /// As the room's owner: takes `participant` out of the call (the server refuses
    /// it from anyone else).
    pub fn remove(&self, participant: ParticipantId) {
        self.inner.signaling.send(ClientMsg::Remove { participant });
    }

    /// As the room's owner: ends the call for everyone; the server's `call_ended`
    /// ends ours too.
    pub fn end_for_everyone(&self) {
        self.inner.signaling.send(ClientMsg::EndCall);
    }

    /// Switches to other local media (another camera or microphone): sent on every
    /// link in place of the old tracks, and shown on our tile.
    pub(crate) fn set_local(&self, local: &LocalMedia) {
        let inner = &self.inner;
        *inner.local.borrow_mut() = local.clone();
        inner.mesh.publish(local);
        if let Some(relayed) = inner.relayed.borrow().as_ref() {
            relayed.publish(local);
        }
        inner.adaptation.borrow_mut().reapply();
        inner
            .view
            .set_stream(TileId::camera(inner.me), Some(Clone::clone(&local.stream)));
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

    /// Sends a chat line to everyone in the call: browser to browser over the mesh's
    /// data channels, or through the server while the call is relayed (there is no
    /// channel between browsers then).
    pub fn send_chat(&self, text: String, sent_at: u64) {
        let inner = &self.inner;
        if inner.state.borrow().topology() == Topology::Relayed {
            inner.signaling.send(ClientMsg::Chat { text, sent_at });
        } else {
            inner.mesh.send_to_all(&PeerMsg::Chat { text, sent_at });
        }
    }

    /// Starts (Some) or stops (None) sending our screen to everyone, now and to
    /// whoever joins while it lasts. `ended`: the watch on the browser's own "Stop
    /// sharing", kept as long as the share.
    pub(crate) fn set_screen(&self, screen: Option<(ScreenTrack, EventListener)>) {
        let inner = &self.inner;
        let sharing = screen.is_some();
        let stream = screen.as_ref().map(|(s, _)| Clone::clone(&s.stream));
        let track = screen.as_ref().map(|(s, _)| s);
        inner.mesh.publish_screen(track);
        if let Some(relayed) = inner.relayed.borrow().as_ref() {
            relayed.publish_screen(track);
        }
        if let Some((old, _)) = inner.screen.replace(screen) {
            if !sharing {
                old.stop();
            }
        }
        inner.view.set_stream(TileId::screen(inner.me), stream);
        inner.state.borrow_mut().set_screen(inner.me, sharing);
        inner.refresh();
    }

    pub(crate) fn sharing_screen(&self) -> bool {
        self.inner.screen.borrow().is_some()
    }

    /// Leaves the call: says goodbye, closes every connection, clears the tiles.
    /// The local camera stays with its owner (the page), which may rejoin.
    pub fn leave(&self) {
        self.inner.end(true);
    }

    /// Server messages, then reconnecting when the socket goes, until we leave.
    async fn receive(self, mut receiver: SignalingReceiver) {
        let inner = &self.inner;
        loop {
            while let Some(next) = receiver.next().await {
                match next {
                    Ok(msg) => inner.handle(msg).await,
                    Err(ReceiveError::Unreadable(e)) => warn!("signaling: {e}"),
                    Err(ReceiveError::Closed { why, .. }) => {
                        warn!("signaling: {why}");
                        break;
                    }
                }
            }
            if inner.left.get() {
                return;
            }
            match inner.resume().await {
                Some(next) => receiver = next,
                None => break,
            }
        }
        if inner.left.get() {
            return;
        }
        let on_lost = inner.on_session_lost.borrow_mut().take();
        if let Some(rejoin) = on_lost {
            warn!("signaling: session lost; joining afresh");
            rejoin();
        } else {
            inner.view.alert.set(Some(
                "Lost the connection to the meeting server. People already here can still see and hear you; nobody new can join you until you rejoin.".into(),
            ));
        }
    }

    async fn transport_events(
        self,
        mut events: mpsc::UnboundedReceiver<(Topology, TransportEvent)>,
    ) {
        while let Some((path, event)) = events.next().await {
            if self.inner.left.get() {
                return;
            }
            self.inner.transport_event(path, event);
        }
    }

    /// The ticker: reads the links, polls the state machines, applies what they decide.
    async fn tick(self, mut woken: mpsc::UnboundedReceiver<()>) {
        let inner = &self.inner;
        let mut next_sample = now();
        loop {
            let deadline = inner.next_deadline(next_sample).max(now() + MIN_WAIT);
            let wait = Box::pin(sleep_until(deadline));
            if let Either::Right((None, _)) = select(wait, woken.next()).await {
                return; // left
            }
            if inner.left.get() {
                return;
            }
            let asked = inner.sample_now.take();
            if now() >= next_sample {
                inner.sample(None).await;
                next_sample = now() + SAMPLE_EVERY;
            } else if !asked.is_empty() {
                // Deciding whether a participant is gone waits on these readings.
                inner.sample(Some(asked)).await;
            }
            inner.step().await;
        }
    }
}

impl Inner {
    /// Ends our part in the call: by leaving (`goodbye`: the server is told), or because
    /// the server ended the call (it closes the socket; nothing to reconnect to).
    fn end(&self, goodbye: bool) {
        if self.left.replace(true) {
            return;
        }
        if let Some((screen, _)) = self.screen.take() {
            screen.stop();
        }
        if goodbye {
            self.signaling.send(ClientMsg::Leave);
        }
        self.signaling.close();
        self.mesh.close();
        if let Some(relayed) = self.relayed.take() {
            relayed.close();
        }
        self.wake.close_channel();
        self.events.close_channel();
        self.view.clear();
        debug_hook::set_you(None);
    }

    /// Makes the transports, the adaptation and the view follow the state, and tells
    /// the server when the path being built carries everyone.
    fn refresh(&self) {
        if self.left.get() {
            return;
        }
        self.follow_paths();
        let (peers, mesh_peers, relayed_in_use, parked, tiles, ready) = {
            let mut state = self.state.borrow_mut();
            let parked: Vec<ParticipantId> = state
                .members()
                .filter(|m| m.presence == Presence::Vanished)
                .map(|m| m.id)
                .collect();
            (
                state.wanted_links(),
                state.mesh_links(),
                state.uses(Topology::Relayed),
                parked,
                state.tiles(),
                state.ready_due(),
            )
        };
        self.mesh.set_peers(&mesh_peers, &parked);
        if !relayed_in_use {
            if let Some(relayed) = self.relayed.take() {
                warn!("call: leaving the SFU room");
                relayed.close();
            }
        }
        if let Some(relayed) = self.relayed.borrow().as_ref() {
            relayed.set_peers(&peers, &parked);
        }
        if let Some(path) = ready {
            warn!("call: every camera arrives on the {path:?} path; ready");
            self.signaling
                .send(ClientMsg::TopologyReady { mode: path.into() });
        }
        self.adaptation.borrow_mut().set_peers(now(), &peers);
        self.speaking.borrow_mut().retain(&peers);
        self.view.set_tiles(tiles);
    }

    fn run(&self, effects: Vec<CallEffect>) {
        for effect in effects {
            match effect {
                CallEffect::RestartIce { peer, relay_only } => {
                    warn!(
                        "peer {peer}: restarting ICE{}",
                        if relay_only {
                            " through the relay only"
                        } else {
                            ""
                        }
                    );
                    self.shown_transport().restart_ice(peer, relay_only);
                }
                CallEffect::Reoffer(peer) => self.mesh.reoffer(peer),
                CallEffect::Renew(peer) => self.mesh.renew(peer),
                CallEffect::SampleNow(peer) => self.sample_soon(peer),
                CallEffect::RebuildRelayed => self.rebuild_relayed(),
                CallEffect::Log(text) => warn!("{text}"),
            }
        }
    }

    /// Handles one server message.
    async fn handle(&self, msg: ServerMsg) {
        let now = now();
        self.watch.borrow_mut().heard(now, &msg);
        match msg {
            ServerMsg::Joined { participant } => self.state.borrow_mut().joined(now, participant),
            ServerMsg::Left { id, .. } => self.state.borrow_mut().left(id),
            ServerMsg::Interrupted { id } => {
                let effects = self.state.borrow_mut().interrupted(now, id);
                self.run(effects);
            }
            ServerMsg::Back { participant } => self.state.borrow_mut().back(now, participant),
            ServerMsg::Media { from, media } => self.state.borrow_mut().media_changed(from, media),
            // In a relayed call there are no mesh links: a mesh offer (from a newcomer
            // before it learnt the call is relayed) is refused by being ignored.
            ServerMsg::Offer { from, sdp } => self.mesh.signal(from, Signal::Offer(sdp)).await,
            ServerMsg::Answer { from, sdp } => self.mesh.signal(from, Signal::Answer(sdp)).await,
            ServerMsg::Candidate { from, candidate } => {
                self.mesh.signal(from, Signal::Candidate(candidate)).await
            }
            ServerMsg::IceServers { ice_servers } => self.set_ice_servers(ice_servers),
            ServerMsg::Ping => self.signaling.send(ClientMsg::Pong),
            ServerMsg::Error { code, message } => {
                warn!("signaling error: {message}");
                // Fatal ones, and codes from a newer server (their text may matter).
                if code.tell_the_user() {
                    self.view.alert.set(Some(message));
                }
                if code.ends_the_call() {
                    self.end(false);
                }
            }
            ServerMsg::GoingAway { .. } => {
                // Nothing else comes on this socket (`watch.heard` kept the schedule):
                // close it and reconnect as announced.
                warn!("signaling: the server is going away; reconnecting");
                self.signaling.close();
            }
            // Taken by `watch.heard` above.
            ServerMsg::Session { .. } => {}
            // From a newer server: nothing this app knows to do with it.
            ServerMsg::Unknown => {}
            ServerMsg::Topology { mode, phase, sfu } => {
                warn!("call: topology {mode:?} ({phase:?})");
                match phase {
                    SwitchPhase::Prepare => self.prepare(mode.into(), sfu),
                    SwitchPhase::Commit => self.commit(mode.into()),
                }
            }
            // Janus checks the token of every request: the newest one goes with each.
            ServerMsg::SfuGrant { sfu } => {
                if let Some(relayed) = self.relayed.borrow().as_ref() {
                    relayed.renew(sfu.token.clone(), sfu.room_token.clone());
                }
                *self.sfu_grant.borrow_mut() = Some(sfu);
            }
            ServerMsg::Chat {
                from,
                text,
                sent_at,
            } => self.chat_line(from, text, sent_at),
            ServerMsg::Welcome { .. } => warn!("signaling: a second welcome, ignored"),
            ServerMsg::Resumed { .. } => warn!("signaling: resumed without a resume, ignored"),
        }
        self.refresh();
    }

    fn set_ice_servers(&self, ice_servers: Vec<IceServer>) {
        self.state
            .borrow_mut()
            .set_relay_available(relay_available(&ice_servers));
        self.mesh.set_ice_servers(ice_servers.clone());
        if let Some(relayed) = self.relayed.borrow().as_ref() {
            relayed.set_ice_servers(ice_servers.clone());
        }
        *self.ice_servers.borrow_mut() = ice_servers;
    }

    /// The transport of the path the tiles show (the mesh if the relayed one could not
    /// be made): it reads the links and takes the receiver hints.
    fn shown_transport(&self) -> Rc<dyn MediaTransport> {
        let relayed = self.relayed.borrow();
        match (self.state.borrow().topology(), relayed.as_ref()) {
            (Topology::Relayed, Some(relayed)) => Rc::new(relayed.clone()),
            _ => Rc::new(self.mesh.clone()),
        }
    }

    /// The server's `Prepare`: builds `path` next to the shown one (for the relayed
    /// path, joins the SFU room of `grant` and publishes there).
    fn prepare(&self, path: Topology, grant: Option<SfuGrant>) {
        if let Some(grant) = &grant {
            let before = self.sfu_grant.replace(Some(grant.clone()));
            // Another SFU room (Janus restarted, say): a path to the old one is no use.
            if before.is_some_and(|b| b.room != grant.room) {
                if let Some(old) = self.relayed.take() {
                    old.close();
                }
            }
        }
        if path == Topology::Relayed && self.relayed.borrow().is_none() {
            let Some(grant) = grant else {
                warn!("call: told to prepare the relayed path without a grant; staying");
                return;
            };
            match self.join_sfu(grant) {
                Ok(relayed) => *self.relayed.borrow_mut() = Some(relayed),
                Err(e) => {
                    warn!("call: cannot reach the SFU ({e}); staying in the mesh");
                    return;
                }
            }
        }
        self.state.borrow_mut().prepare_topology(path);
    }

    fn join_sfu(&self, grant: SfuGrant) -> Result<RelayedTransport, String> {
        let access = SfuAccess {
            url: signaling::endpoint_at(&grant.path),
            room: RoomAccess {
                room: grant.room,
                pin: grant.pin,
                token: grant.token,
                room_token: grant.room_token,
            },
        };
        let relayed = RelayedTransport::new(
            self.me,
            access,
            self.ice_servers.borrow().clone(),
            self.local.borrow().clone(),
            sink_for(&self.events, Topology::Relayed),
        )?;
        if let Some((screen, _)) = self.screen.borrow().as_ref() {
            relayed.publish_screen(Some(screen));
        }
        Ok(relayed)
    }

    /// The server's `Commit`: the tiles take `path`'s media as its cameras flow
    /// (`follow_paths`), then the other path closes (`refresh`). A relayed path that
    /// could not be made keeps the mesh.
    fn commit(&self, path: Topology) {
        if path == Topology::Relayed && self.relayed.borrow().is_none() {
            warn!("call: the relayed path was committed but we have none; staying in the mesh");
            return;
        }
        self.state.borrow_mut().commit_topology(now(), path);
    }

    /// Tells the state whose camera flows on which path, ends the old path's drain
    /// when it is due, and has every tile show the path the state says.
    fn follow_paths(&self) {
        let now = now();
        let tiles: Vec<TileId> = {
            let streams = self.streams.borrow();
            let mut state = self.state.borrow_mut();
            for ((path, tile), stream) in streams.iter() {
                state.remote_media(*path, *tile, flows(stream));
            }
            if state.drain_done(now) {
                warn!(
                    "call: every camera flows on the {:?} path",
                    state.topology()
                );
            }
            let mut tiles = Vec::new();
            for (_, tile) in streams.keys() {
                if !tiles.contains(tile) {
                    tiles.push(*tile);
                }
            }
            tiles
        };
        for tile in tiles {
            let path = self.state.borrow().source_path(tile.participant);
            if self.showing.borrow().get(&tile) != Some(&path) {
                let stream = self.streams.borrow().get(&(path, tile)).cloned();
                self.show(tile, path, stream);
            }
        }
    }

    /// Shows `stream` of `path` on `tile` (a screen tile appears or goes with its stream).
    fn show(&self, tile: TileId, path: Topology, stream: Option<MediaStream>) {
        self.showing.borrow_mut().insert(tile, path);
        if tile.is_screen() {
            self.state
                .borrow_mut()
                .set_screen(tile.participant, stream.is_some());
        }
        self.view.set_stream(tile, stream);
    }

    /// Reconnects the signaling socket and resumes our session; `None` if the server
    /// no longer knows it (or we left meanwhile).
    async fn resume(&self) -> Option<SignalingReceiver> {
        let (outage, token) = {
            let mut watch = self.watch.borrow_mut();
            (watch.take_outage(), watch.token())
        };
        let Some(token) = token else {
            warn!("signaling: no resume token");
            return None;
        };
        self.reconnecting.set(true);
        let hello = || ClientMsg::Resume {
            protocol: PROTOCOL_VERSION,
            room: self.room.clone(),
            name: self.name.clone(),
            media: self.media.get(),
            id: self.me,
            token: token.clone(),
        };
        let result = reconnect(hello, outage, seed, self.view.alert).await;
        self.reconnecting.set(false);
        let accepted = match result {
            Ok(accepted) => accepted,
            Err(why) => {
                warn!("signaling: cannot resume: {why}");
                return None;
            }
        };
        if self.left.get() {
            accepted.sender.send(ClientMsg::Leave);
            accepted.sender.close();
            return None;
        }
        self.signaling.switch_to(&accepted.sender);
        let now = now();
        self.watch.borrow_mut().heard(now, &accepted.answer);
        if let ServerMsg::Resumed {
            participants,
            ice_servers,
            continued,
            ..
        } = accepted.answer
        {
            // Empty when the server withheld credentials (its per-address limit): the
            // current ones stay until its next refresh.
            if !ice_servers.is_empty() {
                self.set_ice_servers(ice_servers);
            }
            self.state
                .borrow_mut()
                .resumed(now, participants, continued);
        }
        for msg in accepted.before {
            self.handle(msg).await;
        }
        self.refresh();
        Some(accepted.receiver)
    }

    fn transport_event(&self, path: Topology, event: TransportEvent) {
        match event {
            TransportEvent::RemoteMedia { source, stream } => {
                {
                    let mut streams = self.streams.borrow_mut();
                    match &stream {
                        Some(s) => streams.insert((path, source), Clone::clone(s)),
                        None => streams.remove(&(path, source)),
                    };
                }
                let flowing = stream.as_ref().is_some_and(flows);
                let shown = {
                    let mut state = self.state.borrow_mut();
                    state.remote_media(path, source, flowing);
                    state.source_path(source.participant) == path
                };
                if shown {
                    self.show(source, path, stream);
                }
                self.refresh();
            }
            TransportEvent::PeerMessage { from, msg } => self.peer_message(from, msg),
            TransportEvent::LinkChanged(peer) => {
                if self.state.borrow().topology() == path {
                    self.sample_soon(peer);
                }
            }
            TransportEvent::PathLost => {
                if let Some(lost) = self.relayed.take() {
                    self.lost_sfu_session.set(lost.session());
                    warn!("call: our path to the SFU broke; building it again");
                    self.state.borrow_mut().relayed_path_lost(now());
                    // The ticker's next deadline is now the rebuild.
                    let _after_leave_nobody_listens = self.wake.unbounded_send(());
                    self.refresh();
                }
            }
        }
    }

    /// The state's `RebuildRelayed`: our path to the SFU again, with the call's grant.
    fn rebuild_relayed(&self) {
        if self.relayed.borrow().is_some() {
            return;
        }
        let grant = self.sfu_grant.borrow().clone();
        match grant.map(|g| self.join_sfu(g)) {
            Some(Ok(relayed)) => {
                if let Some(lost) = self.lost_sfu_session.take() {
                    relayed.end_previous(lost);
                }
                *self.relayed.borrow_mut() = Some(relayed);
                self.state.borrow_mut().relayed_path_built(now());
                self.refresh();
            }
            Some(Err(e)) => {
                warn!("call: cannot reach the SFU ({e}); trying again later");
                self.state.borrow_mut().relayed_path_lost(now());
            }
            None => warn!("call: no grant to reach the SFU with"),
        }
    }

    /// Has the ticker read the link to `peer` now.
    fn sample_soon(&self, peer: ParticipantId) {
        let mut asked = self.sample_now.borrow_mut();
        if !asked.contains(&peer) {
            asked.push(peer);
        }
        let _after_leave_nobody_listens = self.wake.unbounded_send(());
    }

    /// A message from participant `from` that came with the media.
    /// A chat line from `from`, over a data channel or through the server.
    fn chat_line(&self, from: ParticipantId, text: String, sent_at: u64) {
        let name = self
            .view
            .name_of(from)
            .unwrap_or_else(|| format!("Participant {from}"));
        self.view.chat.push(from, name, false, text, sent_at);
    }

    fn peer_message(&self, from: ParticipantId, msg: PeerMsg) {
        if let Some(hint) = msg.receiver_hint() {
            self.adaptation
                .borrow_mut()
                .hint_received(now(), from, hint);
            return;
        }
        match msg {
            PeerMsg::Chat { text, sent_at } => self.chat_line(from, text, sent_at),
            // Handled by the transport (mesh/screen_link.rs) and above.
            PeerMsg::Screen { .. } | PeerMsg::ViewHint { .. } => {}
        }
    }

    /// When the ticker must wake next: the next sampling round or the first deadline of
    /// a state machine, or the time a silent server counts as gone.
    fn next_deadline(&self, next_sample: Time) -> Time {
        let silence = (!self.reconnecting.get()).then(|| self.watch.borrow().silence_deadline());
        [
            Some(next_sample),
            self.state.borrow().next_deadline(),
            self.speaking.borrow().next_deadline(),
            self.adaptation.borrow().next_deadline(),
            silence,
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(next_sample)
    }

    /// Reads every connection once and hands the readings to link recovery, speaker
    /// detection and adaptation.
    async fn sample(&self, only: Option<Vec<ParticipantId>>) {
        let samples = self.shown_transport().sample(only).await;
        if self.left.get() {
            return;
        }
        let now = now();
        let mut effects = Vec::new();
        {
            let mut state = self.state.borrow_mut();
            for s in &samples {
                let report = s.report.as_ref();
                effects.extend(state.observe_link(
                    now,
                    s.peer,
                    LinkObservation {
                        condition: s.condition,
                        packets_received: report.and_then(|r| r.packets_received),
                        bytes_received: report.and_then(|r| r.transport_bytes_received),
                    },
                ));
                if s.route.is_some() {
                    self.view.set_route(s.peer, s.route);
                }
            }
        }
        self.run(effects);
        self.speaking.borrow_mut().observe(now, self.me, &samples);
        let mut adaptation = self.adaptation.borrow_mut();
        adaptation.set_camera(self.local.borrow().video.as_ref());
        adaptation.observe(now, &samples);
    }

    /// Polls the state machines at `now` and carries out what they decide.
    async fn step(&self) {
        let now = now();
        let effects = self.state.borrow_mut().poll(now);
        self.run(effects);
        self.speaking.borrow_mut().show(now, self.view.stage);
        let hints = self.adaptation.borrow_mut().hints_due(
            now,
            &self.view.stage,
            page::device_pixel_ratio(),
            page::hidden(),
        );
        let transport = self.shown_transport();
        for (id, hint) in hints {
            if !transport.want(TileId::camera(id), hint) {
                self.adaptation.borrow_mut().hint_undelivered(id);
            }
        }
        let decided = self.adaptation.borrow_mut().decide(now);
        for (id, want, had) in decided {
            if transport.apply_send(id, want, had).await {
                self.adaptation.borrow_mut().applied(id, want);
            }
        }
        let mesh_shown = self.state.borrow().topology() == Topology::Mesh;
        let report = self.adaptation.borrow_mut().uplink_report(now, mesh_shown);
        if let Some(carries) = report {
            self.signaling.send(ClientMsg::Uplink {
                bps: carries.as_bps(),
            });
        }
        let panel = self.adaptation.borrow().panel();
        if self
            .adaptation_view
            .links
            .try_with_untracked(|l| *l != panel)
            == Some(true)
        {
            self.adaptation_view.links.set(panel);
        }
        if !self.reconnecting.get() && now >= self.watch.borrow().silence_deadline() {
            warn!("signaling: the server went silent; reconnecting");
            self.signaling.close();
        }
        self.refresh();
    }
}

fn relay_available(ice_servers: &[IceServer]) -> bool {
    ice_servers
        .iter()
        .any(|s| s.urls.iter().any(|u| u.starts_with("turn")))
}

/// Where a transport of `path` sends its events: the call's channel, tagged.
fn sink_for(
    events: &mpsc::UnboundedSender<(Topology, TransportEvent)>,
    path: Topology,
) -> impl Fn(TransportEvent) + 'static {
    let events = events.clone();
    move |event| {
        let _after_leave_nobody_listens = events.unbounded_send((path, event));
    }
}

/// Whether a remote stream's video flows: a remote track is muted until its packets
/// arrive.
fn flows(stream: &MediaStream) -> bool {
    stream.get_video_tracks().iter().any(|track| {
        let track: web_sys::MediaStreamTrack = track.unchecked_into();
        !track.muted() && track.ready_state() == web_sys::MediaStreamTrackState::Live
    })
}
