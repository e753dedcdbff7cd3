//! The relayed transport: media through the SFU (Janus VideoRoom). One publisher
//! connection sends our camera (three simulcast layers), microphone and screen once
//! for everyone; one subscriber connection receives what core's `receive_plan` says,
//! changed as the page and the speakers change: each video in the layer its tile
//! needs, and in a big call only the latest speakers' audio. The core's `JanusClient`
//! leads the conversation with Janus; this module carries its frames over Janus's
//! WebSocket and does what its events say with the two connections.

mod publisher;
mod subscriber;

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use futures::future::LocalBoxFuture;
use leptos::logging::warn;
use leptos::task::spawn_local;
use nonstop_core::adaptation::{ReceiverHint, SendParams};
use nonstop_core::janus::{
    receive_plan, JanusClient, JanusEvent, Leg, PathBudget, RoomAccess, Speakers, Trickled,
};
use nonstop_core::layout::TileId;
use nonstop_core::protocol::IceServer;
use nonstop_core::time::Millis;
use nonstop_core::vec_map::{VecMap, VecSet};
use nonstop_core::ParticipantId;

use self::publisher::{Offer, Publisher};
use self::subscriber::Subscriber;
use super::transport::{EventSink, LinkSample, MediaTransport, TransportEvent};
use crate::platform::clock;
use crate::platform::ice::Route;
use crate::platform::janus_socket::{self, JanusSocket, SocketEvent};
use crate::platform::media::LocalMedia;
use crate::platform::screen::ScreenTrack;
use crate::platform::stats::AudioReading;

/// What the server's SFU grant gives: Janus's WebSocket and the room's access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfuAccess {
    /// `ws(s)://<our host><grant's path>`: the signaling server proxies it to Janus.
    pub url: String,
    pub room: RoomAccess,
}

/// Timeouts and keepalives are checked at least this often.
const TICK: Millis = Millis::from_millis(1000);

#[derive(Clone)]
pub struct RelayedTransport {
    inner: Rc<Relayed>,
}

struct Relayed {
    me: Weak<Relayed>,
    events: EventSink,
    client: RefCell<JanusClient>,
    socket: RefCell<Option<JanusSocket>>,
    ice_servers: RefCell<Vec<IceServer>>,
    local: RefCell<LocalMedia>,
    screen: RefCell<Option<ScreenTrack>>,
    publisher: Publisher,
    subscriber: Subscriber,
    /// The participants to receive (parked ones left out).
    peers: RefCell<VecSet<ParticipantId>>,
    hints: RefCell<VecMap<TileId, ReceiverHint>>,
    /// Janus's `talking` events: whose audio a big call receives.
    speakers: RefCell<Speakers>,
    /// What arrives on the subscriber connection: how much Janus may send us.
    downlink: RefCell<PathBudget>,
    done: Cell<bool>,
    /// `close` was called.
    closing: Cell<bool>,
    /// Janus's WebSocket, through the server (`/janus`).
    url: String,
    /// Sockets opened so far: events of an earlier one are old news.
    sockets_opened: Cell<u32>,
}

impl RelayedTransport {
    /// Connects to Janus and joins the room; media follows as Janus answers.
    pub fn new(
        me: ParticipantId,
        access: SfuAccess,
        ice_servers: Vec<IceServer>,
        local: LocalMedia,
        events: impl Fn(TransportEvent) + 'static,
    ) -> Result<Self, String> {
        let client = JanusClient::new(
            access.room,
            me,
            crate::platform::random_seed(),
            clock::now(),
        );
        let inner = Rc::new_cyclic(|me| Relayed {
            me: me.clone(),
            events: Rc::new(events),
            client: RefCell::new(client),
            socket: RefCell::new(None),
            ice_servers: RefCell::new(ice_servers),
            local: RefCell::new(local),
            screen: RefCell::new(None),
            publisher: Publisher::default(),
            subscriber: Subscriber::default(),
            peers: RefCell::new(VecSet::new()),
            hints: RefCell::new(VecMap::new()),
            speakers: RefCell::new(Speakers::default()),
            downlink: RefCell::new(PathBudget::default()),
            done: Cell::new(false),
            closing: Cell::new(false),
            url: access.url,
            sockets_opened: Cell::new(0),
        });
        inner.open_socket()?;
        inner.pump();
        spawn_local(ticker(Rc::downgrade(&inner)));
        Ok(RelayedTransport { inner })
    }
}

/// Runs the client's timers (keepalive, request timeouts) until it is done.
async fn ticker(relayed: Weak<Relayed>) {
    loop {
        let wake = {
            let Some(r) = relayed.upgrade() else { return };
            if r.done.get() {
                return;
            }
            let soon = clock::now() + TICK;
            let deadline = r.client.borrow().next_deadline();
            deadline.map_or(soon, |d| d.min(soon))
        };
        clock::sleep_until(wake).await;
        let Some(r) = relayed.upgrade() else { return };
        r.client.borrow_mut().handle_timeout(clock::now());
        r.pump();
    }
}

impl Relayed {
    fn this(&self) -> Rc<Relayed> {
        // `self` is reached through an `Rc`, so the weak self-reference is alive.
        self.me.upgrade().expect("the transport is alive")
    }

    /// A new WebSocket to Janus, in place of the one before.
    fn open_socket(&self) -> Result<(), String> {
        let n = self.sockets_opened.get() + 1;
        self.sockets_opened.set(n);
        let weak = self.me.clone();
        let socket = janus_socket::connect(&self.url, move |event| {
            if let Some(relayed) = weak.upgrade() {
                if relayed.sockets_opened.get() == n {
                    relayed.on_socket(event);
                }
            }
        })?;
        self.socket.replace(Some(socket));
        Ok(())
    }

    fn on_socket(&self, event: SocketEvent) {
        match event {
            SocketEvent::Frame(text) => {
                let handled = self.client.borrow_mut().handle_input(clock::now(), &text);
                if let Err(e) = handled {
                    warn!("janus: unreadable frame ({e}): {text}");
                }
                self.pump();
            }
            SocketEvent::Closed(why) => {
                if self.done.get() || self.closing.get() {
                    return;
                }
                warn!("janus: {why}");
                // The connections to Janus carry on without the socket: a new one claims
                // the session, and they keep their media.
                let claim = self.client.borrow_mut().socket_lost(clock::now());
                if claim && self.open_socket().is_ok() {
                    warn!("janus: claiming our session on a new WebSocket");
                    self.pump();
                } else {
                    self.shut_down();
                }
            }
        }
    }

    /// Sends what the client queued and does what it decided, until it is quiet.
    fn pump(&self) {
        loop {
            let (frames, events) = {
                let mut client = self.client.borrow_mut();
                let frames: Vec<String> = std::iter::from_fn(|| client.poll_transmit()).collect();
                let events: Vec<JanusEvent> = std::iter::from_fn(|| client.poll_event()).collect();
                (frames, events)
            };
            if frames.is_empty() && events.is_empty() {
                return;
            }
            if let Some(socket) = self.socket.borrow().as_ref() {
                for frame in frames {
                    socket.send(frame);
                }
            }
            for event in events {
                self.on_event(event);
            }
        }
    }

    fn on_event(&self, event: JanusEvent) {
        match event {
            JanusEvent::ReadyToPublish => {
                let this = self.this();
                spawn_local(async move { this.start_publishing().await });
            }
            JanusEvent::PublisherAnswer(sdp) => {
                let this = self.this();
                spawn_local(async move {
                    if let Err(e) = this.publisher.accept(&sdp).await {
                        warn!("janus: Janus's answer: {e}");
                    }
                });
            }
            JanusEvent::SubscriberOffer(sdp) => {
                let this = self.this();
                spawn_local(async move { this.answer(sdp).await });
            }
            JanusEvent::RoomChanged => {
                self.show_tiles();
                self.follow_wants();
            }
            // Speaker detection reads audio levels from the stats, as in the mesh;
            // these only say whose audio to receive.
            JanusEvent::Talking {
                participant,
                talking,
            } => {
                let changed =
                    self.speakers
                        .borrow_mut()
                        .talking(participant, talking, clock::now());
                if changed {
                    self.follow_wants();
                }
            }
            JanusEvent::MediaUp(_) | JanusEvent::HungUp(_) | JanusEvent::SlowLink { .. } => {
                // Every participant's media goes through both connections.
                for peer in self.peers.borrow().iter() {
                    (self.events)(TransportEvent::LinkChanged(*peer));
                }
            }
            JanusEvent::RemoteCandidate { leg, candidate } => {
                let Trickled::Candidate(candidate) = candidate else {
                    return;
                };
                let peer = match leg {
                    Leg::Publisher => self.publisher.peer(),
                    Leg::Subscriber => self.subscriber.peer(),
                };
                if let Some(peer) = peer {
                    spawn_local(async move {
                        if let Err(e) = peer.add_candidate(&candidate).await {
                            warn!("janus: Janus's candidate: {e}");
                        }
                    });
                }
            }
            JanusEvent::Warning(e) => warn!("janus: {e}"),
            JanusEvent::Failed(e) => {
                warn!("janus: {e}");
                self.shut_down();
            }
            JanusEvent::Closed => {
                self.done.set(true);
                self.socket.take();
            }
        }
    }

    /// A fresh publisher connection and its offer (again after a failed publish).
    async fn start_publishing(&self) {
        let local = self.local.borrow().clone();
        let screen = self.screen.borrow().clone();
        let ice_servers = self.ice_servers.borrow().clone();
        let started = self
            .publisher
            .start(
                &ice_servers,
                &local,
                screen.as_ref(),
                self.trickle(Leg::Publisher),
            )
            .await;
        self.offer(started);
    }

    fn offer(&self, offer: Result<Offer, String>) {
        match offer {
            Ok((sdp, mids)) => {
                if !self.client.borrow_mut().publish(clock::now(), sdp, &mids) {
                    warn!("janus: an offer while not in the room; dropped");
                }
                self.pump();
            }
            Err(e) => warn!("janus: the publisher's offer: {e}"),
        }
    }

    async fn answer(&self, offer: String) {
        let ice_servers = self.ice_servers.borrow().clone();
        let weak = self.me.clone();
        let on_track = move || {
            if let Some(r) = weak.upgrade() {
                r.show_tiles();
            }
        };
        let answered = self
            .subscriber
            .answer(
                &ice_servers,
                &offer,
                self.trickle(Leg::Subscriber),
                on_track,
            )
            .await;
        match answered {
            Ok(sdp) => {
                self.client.borrow_mut().answer(clock::now(), sdp);
                self.pump();
            }
            Err(e) => warn!("janus: answering Janus's offer: {e}"),
        }
    }

    /// Hands our candidates on `leg` to Janus.
    fn trickle(&self, leg: Leg) -> impl FnMut(Trickled) + 'static {
        let weak = self.me.clone();
        move |candidate| {
            if let Some(r) = weak.upgrade() {
                r.client.borrow_mut().trickle(clock::now(), leg, candidate);
                r.pump();
            }
        }
    }

    /// Tells the call which tiles' media changed.
    fn show_tiles(&self) {
        let changes = self.subscriber.remap(&self.client.borrow());
        for change in changes {
            (self.events)(change);
        }
    }

    /// Subscribes to what the call wants (core's `receive_plan`).
    fn follow_wants(&self) {
        let now = clock::now();
        let wanted = {
            let peers = self.peers.borrow();
            let hints = self.hints.borrow();
            let available: Vec<_> = self.client.borrow().available().collect();
            receive_plan(
                &available,
                &|p| peers.contains(&p),
                &|tile| hints.get(&tile).copied(),
                &self.speakers.borrow(),
                self.downlink.borrow().budget(),
            )
        };
        self.client.borrow_mut().receive(now, &wanted);
        self.pump();
    }

    /// The path broke: both connections end with every tile they fed, the client is
    /// finished, and the call hears it (it builds a new path).
    fn shut_down(&self) {
        if self.done.replace(true) {
            return;
        }
        self.socket.take();
        self.publisher.close();
        for change in self.subscriber.close() {
            (self.events)(change);
        }
        if !self.closing.get() {
            (self.events)(TransportEvent::PathLost);
        }
    }
}

impl RelayedTransport {
    /// Fresh signed tokens for the room (the server's `sfu_grant`).
    pub fn renew(&self, token: String, room_token: String) {
        self.inner.client.borrow_mut().renew(token, room_token);
    }

    /// Our Janus session, if Janus made one.
    pub fn session(&self) -> Option<u64> {
        self.inner.client.borrow().session()
    }

    /// Ends `lost`, the session of our path before this one, so that our join is not
    /// refused while Janus keeps it (`JanusClient::end_previous`).
    pub fn end_previous(&self, lost: u64) {
        self.inner
            .client
            .borrow_mut()
            .end_previous(clock::now(), lost);
        self.inner.pump();
    }
}

impl MediaTransport for RelayedTransport {
    /// Called at every refresh of the call: only a change is followed.
    fn set_peers(&self, peers: &[ParticipantId], parked: &[ParticipantId]) {
        let shown: VecSet<ParticipantId> = peers
            .iter()
            .filter(|p| !parked.contains(p))
            .copied()
            .collect();
        if *self.inner.peers.borrow() == shown {
            return;
        }
        self.inner.peers.replace(shown);
        self.inner.follow_wants();
    }

    fn publish(&self, local: &LocalMedia) {
        self.inner.local.replace(local.clone());
        let inner = Rc::clone(&self.inner);
        let local = local.clone();
        spawn_local(async move {
            if let Err(e) = inner.publisher.replace(&local).await {
                warn!("janus: switching our tracks: {e}");
            }
        });
    }

    fn publish_screen(&self, screen: Option<&ScreenTrack>) {
        self.inner.screen.replace(screen.cloned());
        let inner = Rc::clone(&self.inner);
        let screen = screen.cloned();
        spawn_local(async move {
            if let Some(offer) = inner.publisher.set_screen(screen.as_ref()).await {
                inner.offer(offer);
            }
        });
    }

    fn want(&self, source: TileId, hint: ReceiverHint) -> bool {
        self.inner.hints.borrow_mut().insert(source, hint);
        self.inner.follow_wants();
        true
    }

    /// Every participant's media comes through the subscriber connection: its state
    /// is each one's link condition, and each one's microphone is read from its
    /// stream there (speaker detection). There is no per-participant link report:
    /// nothing is sent per receiver.
    fn sample(&self, only: Option<Vec<ParticipantId>>) -> LocalBoxFuture<'static, Vec<LinkSample>> {
        let inner = Rc::clone(&self.inner);
        let peers: Vec<ParticipantId> =
            only.unwrap_or_else(|| inner.peers.borrow().iter().copied().collect());
        Box::pin(async move {
            let subscriber = inner.subscriber.peer();
            let condition = subscriber.as_ref().and_then(|p| p.condition());
            let (heard, received) = match &subscriber {
                Some(p) => p.inbound().await,
                None => Default::default(),
            };
            let received = {
                let client = inner.client.borrow();
                let streams = received.iter().map(|(mid, ssrc, totals)| {
                    (client.sender_key(mid.as_deref(), *ssrc), *ssrc, *totals)
                });
                streams.collect()
            };
            if inner
                .downlink
                .borrow_mut()
                .sample_streams(clock::now(), received)
            {
                inner.follow_wants();
            }
            let mut audio: VecMap<ParticipantId, AudioReading> = VecMap::new();
            {
                let client = inner.client.borrow();
                for (mid, reading) in heard {
                    if let Some(stream) = client.carried_by(&mid) {
                        audio.insert(stream.participant, reading);
                    }
                }
            }
            let local_audio_level = inner.publisher.sample().await;
            peers
                .into_iter()
                .map(|peer| LinkSample {
                    peer,
                    condition,
                    report: None,
                    route: Some(Route::Sfu),
                    remote_audio: audio.get(&peer).copied(),
                    local_audio_level,
                })
                .collect()
        })
    }

    /// One upload serves everyone: there are no per-receiver sending parameters; the
    /// simulcast layers carry the differences (`core::janus::simulcast`).
    fn apply_send(
        &self,
        _peer: ParticipantId,
        _want: SendParams,
        _had: Option<SendParams>,
    ) -> LocalBoxFuture<'static, bool> {
        Box::pin(std::future::ready(true))
    }

    fn set_ice_servers(&self, servers: Vec<IceServer>) {
        self.inner.ice_servers.replace(servers);
    }

    /// Janus's connections are not per participant: there is no link to one
    /// participant to restart.
    fn restart_ice(&self, _peer: ParticipantId, _relay_only: bool) {}

    fn close(&self) {
        // Closing on purpose: a socket that ends now is no loss to report.
        self.inner.closing.set(true);
        self.inner.client.borrow_mut().close(clock::now());
        self.inner.pump();
        self.inner.publisher.close();
        for change in self.inner.subscriber.close() {
            (self.inner.events)(change);
        }
    }
}
