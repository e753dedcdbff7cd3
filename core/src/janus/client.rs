//! [`JanusClient`]: one participant's conversation with Janus, sans-IO. Given the
//! room's grant and the time, it says what to send and what the app must do with its
//! two connections (the publisher's, which offers, and the one multistream
//! subscriber's, which Janus offers to); fed Janus's frames, it keeps the room's
//! publishers and our subscriber's m-lines ([`Feeds`]).
//!
//! The order: `create` session → `attach` two handles → `join` as publisher (our
//! participant id, the pin, the room token) → the app's offer goes out with `publish`
//! → Janus's answer comes back. The subscriber handle `join`s with the streams the app
//! wants once we have a private id (`require_pvtid`), then `update`s; Janus offers,
//! the app answers with `start`. Layers are chosen per m-line with `configure`.
//!
//! Janus 1.1.2's quirks, handled here: `leave` alone leaves subscribers with a dead
//! stream, so closing sends `unpublish` first; a failed `publish` spoils the handle, so
//! the publisher handle is detached and a fresh one joins again (once).

use super::error::{JanusError, Step};
use super::feeds::{self, Feeds, MediaKind, RemoteStream};
use super::videoroom::{
    Body, Configure, FeedId, Join, LayerChoice, Ptype, Publisher, RoomEvent, StreamDescription,
    StreamRef,
};
use super::wire::{JanusId, Jsep, Reply, Request, SdpKind, SessionVerb, Trickled, Verb, VIDEOROOM};
use crate::layout::TileKind;
use crate::time::{Millis, Time};
use crate::ParticipantId;

/// Janus ends a session after 60 s without a request; a keepalive goes out after this
/// much silence.
pub const KEEPALIVE_AFTER: Millis = Millis::from_secs(25);
/// How long a request may wait for its result.
pub const REPLY_TIMEOUT: Millis = Millis::from_secs(10);
/// Publishing is tried on this many handles before giving up.
const PUBLISH_ATTEMPTS: u32 = 2;

/// VideoRoom's refusal of a publisher id already in the room. Ours is there when this
/// page's previous path to the SFU has not finished leaving, or its session outlives a
/// dropped WebSocket (Janus keeps it for `reclaim_session_timeout`, 5 s, for a claim),
/// or a frozen page of ours has not been put out yet (the server kicks who left).
const ID_IN_ROOM: i64 = 436;
/// How often, and how far apart, the join is tried while our id is still in the room:
/// longer than Janus keeps a session whose WebSocket dropped.
const JOIN_ATTEMPTS: u32 = 20;
const JOIN_RETRY_AFTER: Millis = Millis::from_secs(1);

/// What a browser needs to use the call's room (from the server's `SfuGrant`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomAccess {
    pub room: String,
    pub pin: String,
    /// Janus's core token (token_auth): goes with every request.
    pub token: String,
    /// The VideoRoom's signed token for this room: goes with `join`.
    pub room_token: String,
}

/// Which of our two connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Leg {
    Publisher,
    Subscriber,
}

/// A simulcast layer: `substream` 0 (lowest resolution) to 2, `temporal` 0 (lowest
/// frame rate) to 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layer {
    pub substream: u8,
    pub temporal: u8,
}

/// What the app must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JanusEvent {
    /// We are in the room: make the publisher connection's offer and hand it to
    /// [`JanusClient::publish`] (again after a failed publish, on a fresh handle).
    ReadyToPublish,
    /// Apply this answer to the publisher connection.
    PublisherAnswer(String),
    /// Apply this offer to the subscriber connection and hand the answer to
    /// [`JanusClient::answer`].
    SubscriberOffer(String),
    /// The room's publishers or our subscriber's m-lines changed: map tracks again
    /// ([`JanusClient::carried_by`]) and say what to receive.
    RoomChanged,
    Talking {
        participant: ParticipantId,
        talking: bool,
    },
    /// ICE and DTLS are up on this connection.
    MediaUp(Leg),
    /// Janus closed this connection.
    HungUp(Leg),
    /// Janus sees losses on this connection (`uplink`: media Janus receives).
    SlowLink { leg: Leg, uplink: bool },
    /// A candidate Janus trickled (only with Janus's `full_trickle`).
    RemoteCandidate { leg: Leg, candidate: Trickled },
    /// A request failed without ending anything (a layer choice, a subscription to a
    /// feed that just left).
    Warning(JanusError),
    /// The client is finished: close both connections and the socket.
    Failed(JanusError),
    /// [`JanusClient::close`] is done: close the socket.
    Closed,
}

/// What a transaction waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    Create,
    Attach(Leg),
    /// The publisher handle spoiled by a failed publish.
    DetachSpoiled,
    JoinAsPublisher,
    Publish,
    /// The subscriber's `join` or `update`.
    Subscribe,
    Start,
    Configure,
    Keepalive,
    Claim,
    /// An earlier path's session, claimed to end it (see `end_previous`).
    ClaimPrevious(JanusId),
    DestroyPrevious,
    Unpublish,
    Leave,
    Destroy,
}

impl Waiting {
    fn step(self) -> Step {
        match self {
            Waiting::Create | Waiting::Destroy => Step::CreateSession,
            Waiting::Attach(_) | Waiting::DetachSpoiled => Step::Attach,
            Waiting::JoinAsPublisher | Waiting::Leave => Step::JoinAsPublisher,
            Waiting::Publish | Waiting::Unpublish => Step::Publish,
            Waiting::Subscribe => Step::Subscribe,
            Waiting::Start => Step::Start,
            Waiting::Configure => Step::Configure,
            Waiting::Keepalive => Step::Keepalive,
            Waiting::Claim | Waiting::ClaimPrevious(_) | Waiting::DestroyPrevious => Step::Claim,
        }
    }
}

struct Pending {
    transaction: String,
    waiting: Waiting,
    deadline: Time,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Publishing {
    /// Waiting for a handle and the `joined`.
    Joining,
    /// In the room, waiting for the app's offer.
    Ready,
    Offered,
    Published,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    Closing,
    Done,
}

/// An earlier path's session that [`JanusClient::end_previous`] ends before our join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PreviousSession {
    /// None to end, or it ended: the join goes out once the publisher handle is there.
    None,
    /// Being claimed and destroyed; the publisher handle is not there yet.
    Ending,
    /// Being claimed and destroyed, and the publisher handle is there: the join goes
    /// out when it is gone.
    EndingJoinDue,
}

pub struct JanusClient {
    access: RoomAccess,
    me: FeedId,
    seed: u64,
    counter: u64,
    /// The requests waiting for their result, in the order sent. This and the other
    /// small collections here are lists, not maps: each map type costs the app's wasm
    /// its own copy of the B-tree code, and these hold a few entries.
    pending: Vec<Pending>,
    /// Frames and events to hand out, oldest first (queues of a few: a `VecDeque` of
    /// each type would cost the app's wasm more code than a `Vec`).
    out: Vec<String>,
    events: Vec<JanusEvent>,
    last_sent: Time,
    phase: Phase,
    session: Option<JanusId>,
    /// Our socket dropped and the session is being claimed on a new one: nothing has
    /// come on it yet.
    claiming: bool,
    /// Whether an earlier path's session is being ended (`end_previous`), which our
    /// publisher's join waits for.
    previous: PreviousSession,
    publisher: Option<JanusId>,
    publishing: Publishing,
    publish_failures: u32,
    /// Joins refused because our id was still in the room, and when to try again.
    join_refusals: u32,
    rejoin_at: Option<Time>,
    private_id: Option<u64>,
    subscriber: Option<JanusId>,
    /// The subscriber has `join`ed (later changes are `update`s).
    subscribed: bool,
    /// A subscriber `join`/`update` or its renegotiation is in progress: the next
    /// change waits for it.
    subscriber_busy: bool,
    feeds: Feeds,
    wanted: Vec<RemoteStream>,
    layers: Vec<(RemoteStream, Layer)>,
    /// The layer last asked per subscriber m-line (its mid), and for which stream.
    layers_sent: Vec<(String, RemoteStream, Layer)>,
}

impl JanusClient {
    /// Starts the conversation (`create` goes out). `seed` makes transaction ids differ
    /// between clients.
    pub fn new(access: RoomAccess, me: ParticipantId, seed: u64, now: Time) -> JanusClient {
        let mut client = JanusClient {
            access,
            me: feeds::feed_of(me),
            seed,
            counter: 0,
            pending: Vec::new(),
            out: Vec::new(),
            events: Vec::new(),
            last_sent: now,
            phase: Phase::Running,
            session: None,
            claiming: false,
            previous: PreviousSession::None,
            publisher: None,
            publishing: Publishing::Joining,
            publish_failures: 0,
            join_refusals: 0,
            rejoin_at: None,
            private_id: None,
            subscriber: None,
            subscribed: false,
            subscriber_busy: false,
            feeds: Feeds::default(),
            wanted: Vec::new(),
            layers: Vec::new(),
            layers_sent: Vec::new(),
        };
        client.send(now, Some(Waiting::Create), None, Verb::Create);
        client
    }

    /// The next frame to send (JSON text).
    pub fn poll_transmit(&mut self) -> Option<String> {
        (!self.out.is_empty()).then(|| self.out.remove(0))
    }

    pub fn poll_event(&mut self) -> Option<JanusEvent> {
        (!self.events.is_empty()).then(|| self.events.remove(0))
    }

    /// When [`JanusClient::handle_timeout`] must run next.
    pub fn next_deadline(&self) -> Option<Time> {
        if self.phase == Phase::Done {
            return None;
        }
        let keepalive = self.session.map(|_| self.last_sent + KEEPALIVE_AFTER);
        self.pending
            .iter()
            .map(|p| p.deadline)
            .chain(keepalive)
            .chain(self.rejoin_at)
            .min()
    }

    /// Requests that waited too long fail; a keepalive goes out when due.
    pub fn handle_timeout(&mut self, now: Time) {
        // What a failure clears is not tried; what it sends is not due yet.
        while let Some(i) = self.pending.iter().position(|p| p.deadline <= now) {
            let p = self.pending.remove(i);
            self.no_reply(now, p.waiting);
        }
        if self.rejoin_at.is_some_and(|at| at <= now) {
            self.rejoin_at = None;
            if let (Phase::Running, Some(handle_id)) = (self.phase, self.publisher) {
                self.join_as_publisher(now, handle_id);
            }
        }
        if self.session.is_some()
            && self.phase != Phase::Done
            && now >= self.last_sent + KEEPALIVE_AFTER
        {
            self.session_request(now, Waiting::Keepalive, SessionVerb::Keepalive);
        }
    }

    /// Our WebSocket dropped. True: open a new one and send on it what the client
    /// queued, a claim of our session (Janus keeps it, with its handles and their
    /// media, for its `reclaim_session_timeout`, so the connections never notice).
    /// Requests that were in flight get no answer and fail when their time is up; a
    /// refused claim ends the client (the session is gone). False: this path is lost:
    /// there is no session yet to claim, or the socket that was claiming it dropped
    /// too before Janus said a word (Janus is not there).
    pub fn socket_lost(&mut self, now: Time) -> bool {
        if self.phase == Phase::Done || self.session.is_none() || self.claiming {
            return false;
        }
        self.claiming = true;
        self.pending.retain(|p| p.waiting != Waiting::Keepalive);
        self.session_request(now, Waiting::Claim, SessionVerb::Claim);
        true
    }

    /// `previous` is the session of our path to this room that was lost (its sockets
    /// dropped, its claim failed). Janus keeps it, and our id in the room with it, for
    /// its `reclaim_session_timeout`: a join before then is refused. So it is claimed
    /// on this socket and destroyed, next to our own `create`, and our join gets in at
    /// once. A session already gone is no matter.
    pub fn end_previous(&mut self, now: Time, previous: JanusId) {
        if self.phase == Phase::Running {
            self.previous = PreviousSession::Ending;
            let claim = Verb::Session(SessionVerb::Claim);
            let waiting = Some(Waiting::ClaimPrevious(previous));
            self.send_about(now, waiting, Some(previous), None, claim);
        }
    }

    /// The earlier path's session is gone (or will not answer): our join goes out.
    fn previous_ended(&mut self, now: Time) {
        let previous = std::mem::replace(&mut self.previous, PreviousSession::None);
        if previous == PreviousSession::EndingJoinDue {
            if let Some(handle_id) = self.publisher {
                self.join_as_publisher(now, handle_id);
            }
        }
    }

    /// Our session, for [`JanusClient::end_previous`] on the next path.
    pub fn session(&self) -> Option<JanusId> {
        self.session
    }

    /// `verb` on our session, if there is one.
    fn session_request(&mut self, now: Time, waiting: Waiting, verb: SessionVerb) {
        if self.session.is_some() {
            self.send(now, Some(waiting), None, Verb::Session(verb));
        }
    }

    /// A frame from Janus. An unreadable one is an error and changes nothing.
    pub fn handle_input(&mut self, now: Time, text: &str) -> Result<(), serde_json::Error> {
        let reply = Reply::parse(text)?;
        self.claiming = false;
        if self.phase == Phase::Done {
            return Ok(());
        }
        match reply {
            Reply::Success { transaction, data } => {
                if let Some(waiting) = self.take(transaction) {
                    self.succeeded(now, waiting, data.map(|d| d.id));
                }
            }
            Reply::Error { transaction, error } => match self.take(transaction) {
                // The previous path's session is gone already: all the better.
                Some(Waiting::ClaimPrevious(_) | Waiting::DestroyPrevious) => {
                    self.previous_ended(now)
                }
                _ if error.code == 458 => self.fail(JanusError::SessionLost),
                Some(waiting) => self.refused(now, waiting, error.code, error.reason),
                None => {}
            },
            Reply::Ack { transaction } => {
                // Only a keepalive is finished by its ack; a plugin request's result
                // comes later as an event.
                let keepalive = self.pending.iter().position(|p| {
                    Some(&p.transaction) == transaction.as_ref() && p.waiting == Waiting::Keepalive
                });
                if let Some(i) = keepalive {
                    self.pending.remove(i);
                }
            }
            Reply::Event {
                transaction,
                sender,
                plugindata,
                jsep,
            } => {
                let waiting = self.take(transaction);
                let event = RoomEvent::read(plugindata.data)?;
                if let Some(leg) = self.leg_of(sender) {
                    self.room_event(now, leg, waiting, event, jsep);
                }
            }
            Reply::Webrtcup { sender } => self.notice(sender, JanusEvent::MediaUp),
            Reply::Hangup { sender, .. } => self.notice(sender, JanusEvent::HungUp),
            Reply::Slowlink { sender, uplink } => {
                self.notice(sender, |leg| JanusEvent::SlowLink { leg, uplink })
            }
            Reply::Trickle { sender, candidate } => {
                self.notice(sender, |leg| JanusEvent::RemoteCandidate { leg, candidate })
            }
            Reply::Timeout { session_id } if Some(session_id) == self.session => {
                self.fail(JanusError::SessionLost)
            }
            Reply::Timeout { .. } => {}
            Reply::Media { .. } | Reply::Detached { .. } | Reply::Other => {}
        }
        Ok(())
    }

    /// The publisher connection's offer, with what each of its m-lines carries (a
    /// camera's audio and video, a screen). The first goes out with `publish`, later
    /// ones (a screen added) with `configure`. False if we are not in the room yet.
    pub fn publish(&mut self, now: Time, offer: String, mids: &[(String, TileKind)]) -> bool {
        let Some(handle_id) = self.publisher else {
            return false;
        };
        let descriptions = mids
            .iter()
            .map(|(mid, source)| StreamDescription {
                mid: mid.clone(),
                description: feeds::description(*source).to_string(),
            })
            .collect();
        let body = match self.publishing {
            Publishing::Ready => Body::Publish { descriptions },
            Publishing::Published => Body::Configure(Configure {
                descriptions,
                streams: Vec::new(),
            }),
            Publishing::Joining | Publishing::Offered => return false,
        };
        self.publishing = Publishing::Offered;
        self.message(
            now,
            Waiting::Publish,
            handle_id,
            body,
            Some(offer_jsep(offer)),
        );
        true
    }

    /// The subscriber connection's answer to Janus's last offer.
    pub fn answer(&mut self, now: Time, answer: String) -> bool {
        let Some(handle_id) = self.subscriber.filter(|_| self.subscriber_busy) else {
            return false;
        };
        let jsep = Jsep {
            kind: SdpKind::Answer,
            sdp: answer,
        };
        self.message(now, Waiting::Start, handle_id, Body::Start, Some(jsep));
        true
    }

    /// One of our candidates (or the end of gathering) for Janus. False if that
    /// connection has no handle (it is being replaced): the candidate is dropped.
    pub fn trickle(&mut self, now: Time, leg: Leg, candidate: Trickled) -> bool {
        let (Some(_), Some(handle_id)) = (self.session, self.handle(leg)) else {
            return false;
        };
        self.send(now, None, Some(handle_id), Verb::Trickle { candidate });
        true
    }

    /// The streams to receive. The subscriber connection follows, one change at a time.
    pub fn set_wanted(&mut self, now: Time, wanted: impl IntoIterator<Item = RemoteStream>) {
        self.wanted = wanted.into_iter().collect();
        self.sync_subscription(now);
    }

    /// What to receive, each video in its layer (core's `receive_plan`): the
    /// subscriber connection follows, with one `configure` for every layer changed.
    pub fn receive(&mut self, now: Time, plan: &[(RemoteStream, Option<Layer>)]) {
        self.wanted = plan.iter().map(|(s, _)| *s).collect();
        self.layers = plan.iter().filter_map(|&(s, l)| Some((s, l?))).collect();
        self.sync_subscription(now);
        self.send_layers(now);
    }

    /// What the subscriber connection's m-line `mid` carries.
    pub fn carried_by(&self, mid: &str) -> Option<RemoteStream> {
        self.feeds.carried_by(mid)
    }

    /// Who sent the received stream `ssrc` on m-line `mid`, as
    /// [`PathBudget::sample_streams`](super::PathBudget::sample_streams) keys senders:
    /// the participant's id, or for a stream that cannot be placed (no `mid` yet, one
    /// the subscription no longer lists), a key of its own, so that it counts alone.
    pub fn sender_key(&self, mid: Option<&str>, ssrc: u32) -> u64 {
        match mid.and_then(|mid| self.carried_by(mid)) {
            Some(stream) => stream.participant.get(),
            // Ids stay below 2^53 (JavaScript reads them as numbers): the top bit
            // keeps these clear of them.
            None => 1 << 63 | u64::from(ssrc),
        }
    }

    /// Every stream published in the room but ours.
    pub fn available(&self) -> impl Iterator<Item = RemoteStream> + '_ {
        self.feeds.available()
    }

    /// Fresh signed tokens for the same room (the server's `sfu_grant`): every request
    /// from now on carries them, since Janus checks the token of each one (keepalives
    /// too) and the old one expires.
    pub fn renew(&mut self, token: String, room_token: String) {
        self.access.token = token;
        self.access.room_token = room_token;
    }

    /// Leaves the room: `unpublish`, `leave`, then `destroy` the session, each after
    /// the previous one's result (or its timeout). [`JanusEvent::Closed`] follows.
    pub fn close(&mut self, now: Time) {
        if self.phase != Phase::Running {
            return;
        }
        self.phase = Phase::Closing;
        self.pending.clear();
        self.close_step(now, Waiting::Create);
    }

    /// The next step of closing after `done`.
    fn close_step(&mut self, now: Time, done: Waiting) {
        let publisher = self.publisher;
        match (done, publisher) {
            (Waiting::Create, Some(handle_id)) if self.publishing == Publishing::Published => {
                self.message(now, Waiting::Unpublish, handle_id, Body::Unpublish, None)
            }
            (Waiting::Create | Waiting::Unpublish, Some(handle_id))
                if self.private_id.is_some() =>
            {
                self.message(now, Waiting::Leave, handle_id, Body::Leave, None)
            }
            (Waiting::Create | Waiting::Unpublish | Waiting::Leave, _)
                if self.session.is_some() =>
            {
                self.session_request(now, Waiting::Destroy, SessionVerb::Destroy)
            }
            _ => self.finish(JanusEvent::Closed),
        }
    }

    fn succeeded(&mut self, now: Time, waiting: Waiting, id: Option<JanusId>) {
        match (waiting, id) {
            (Waiting::Create, Some(session_id)) => {
                self.session = Some(session_id);
                self.attach(now, Leg::Publisher);
                self.attach(now, Leg::Subscriber);
            }
            (Waiting::Attach(Leg::Publisher), Some(handle_id)) => {
                self.publisher = Some(handle_id);
                match self.previous {
                    PreviousSession::None => self.join_as_publisher(now, handle_id),
                    _ => self.previous = PreviousSession::EndingJoinDue,
                }
            }
            (Waiting::Attach(Leg::Subscriber), Some(handle_id)) => {
                self.subscriber = Some(handle_id);
                self.sync_subscription(now);
            }
            (Waiting::DetachSpoiled, _) => self.attach(now, Leg::Publisher),
            // The session is ours again, on the new WebSocket.
            (Waiting::Claim, _) => {}
            (Waiting::ClaimPrevious(previous), _) => {
                let destroy = Verb::Session(SessionVerb::Destroy);
                let waiting = Some(Waiting::DestroyPrevious);
                self.send_about(now, waiting, Some(previous), None, destroy);
            }
            (Waiting::DestroyPrevious, _) => self.previous_ended(now),
            (Waiting::Destroy, _) => self.finish(JanusEvent::Closed),
            (waiting, _) => self.fail(JanusError::Refused {
                step: waiting.step(),
                code: 0,
                reason: "an unexpected success".into(),
            }),
        }
    }

    fn refused(&mut self, now: Time, waiting: Waiting, code: i64, reason: String) {
        let error = JanusError::Refused {
            step: waiting.step(),
            code,
            reason: reason.clone(),
        };
        match waiting {
            Waiting::Publish if self.publish_failures + 1 < PUBLISH_ATTEMPTS => {
                self.publish_failures += 1;
                self.replace_publisher(now);
            }
            Waiting::Publish => self.fail(JanusError::PublishFailed { code, reason }),
            Waiting::JoinAsPublisher
                if code == ID_IN_ROOM && self.join_refusals + 1 < JOIN_ATTEMPTS =>
            {
                self.join_refusals += 1;
                self.rejoin_at = Some(now + JOIN_RETRY_AFTER);
                self.events.push(JanusEvent::Warning(error));
            }
            Waiting::Subscribe if self.subscribed => {
                // A feed that left between our look and Janus's: the next room
                // change brings the subscription up to date.
                self.subscriber_busy = false;
                self.events.push(JanusEvent::Warning(error));
            }
            Waiting::Configure => self.events.push(JanusEvent::Warning(error)),
            Waiting::DetachSpoiled => self.attach(now, Leg::Publisher),
            Waiting::Unpublish | Waiting::Leave | Waiting::Destroy => self.close_step(now, waiting),
            _ => self.fail(error),
        }
    }

    fn no_reply(&mut self, now: Time, waiting: Waiting) {
        match waiting {
            Waiting::ClaimPrevious(_) | Waiting::DestroyPrevious => self.previous_ended(now),
            Waiting::Unpublish | Waiting::Leave | Waiting::Destroy => self.close_step(now, waiting),
            Waiting::Configure => self
                .events
                .push(JanusEvent::Warning(JanusError::NoReply(waiting.step()))),
            _ => self.fail(JanusError::NoReply(waiting.step())),
        }
    }

    fn room_event(
        &mut self,
        now: Time,
        leg: Leg,
        waiting: Option<Waiting>,
        event: RoomEvent,
        jsep: Option<Jsep>,
    ) {
        match event {
            RoomEvent::Error { code, reason } => match waiting {
                Some(waiting) => self.refused(now, waiting, code, reason),
                None => self.events.push(JanusEvent::Warning(JanusError::Refused {
                    step: Step::Subscribe,
                    code,
                    reason,
                })),
            },
            RoomEvent::Joined {
                private_id,
                publishers,
            } => {
                self.private_id = Some(private_id);
                self.publishing = Publishing::Ready;
                // A later join (a new publisher handle) gets its own attempts.
                self.join_refusals = 0;
                for publisher in &publishers {
                    self.publisher(publisher);
                }
                self.events.push(JanusEvent::ReadyToPublish);
                self.events.push(JanusEvent::RoomChanged);
                self.sync_subscription(now);
            }
            RoomEvent::Publishers(publishers) => {
                for publisher in &publishers {
                    if publisher.id != self.me {
                        self.publisher(publisher);
                    }
                }
                self.events.push(JanusEvent::RoomChanged);
                self.sync_subscription(now);
            }
            RoomEvent::Gone(feed) => {
                // Janus takes the feed off our subscriber connection itself (an
                // `updated` with an offer follows).
                self.feeds.gone(&feed);
                self.events.push(JanusEvent::RoomChanged);
            }
            RoomEvent::Configured if leg == Leg::Publisher => {
                if waiting == Some(Waiting::Publish) {
                    self.publishing = Publishing::Published;
                    if let Some(answer) = jsep.filter(|j| j.kind == SdpKind::Answer) {
                        self.events.push(JanusEvent::PublisherAnswer(answer.sdp));
                    }
                }
            }
            RoomEvent::Streams(streams) => {
                self.subscribed = true;
                self.feeds.subscribed(&streams);
                let feeds = &self.feeds;
                self.layers_sent
                    .retain(|(mid, stream, _)| feeds.carried_by(mid) == Some(*stream));
                self.events.push(JanusEvent::RoomChanged);
                match jsep.filter(|j| j.kind == SdpKind::Offer) {
                    Some(offer) => {
                        self.subscriber_busy = true;
                        self.events.push(JanusEvent::SubscriberOffer(offer.sdp));
                    }
                    None => {
                        self.subscriber_busy = false;
                        self.sync_subscription(now);
                        self.send_layers(now);
                    }
                }
            }
            RoomEvent::Started => {
                self.subscriber_busy = false;
                self.sync_subscription(now);
                self.send_layers(now);
            }
            RoomEvent::Unpublished => self.close_step(now, Waiting::Unpublish),
            RoomEvent::Left => self.close_step(now, Waiting::Leave),
            RoomEvent::Talking { feed, talking } => {
                if let Some(participant) = feeds::participant_of(&feed) {
                    self.events.push(JanusEvent::Talking {
                        participant,
                        talking,
                    });
                }
            }
            RoomEvent::Destroyed => self.fail(JanusError::RoomDestroyed),
            RoomEvent::Configured | RoomEvent::Other => {}
        }
    }

    /// A publisher listed by Janus: its streams, and whether it is talking now.
    fn publisher(&mut self, publisher: &Publisher) {
        self.feeds.publisher(publisher);
        if publisher.talking {
            if let Some(participant) = feeds::participant_of(&publisher.id) {
                self.events.push(JanusEvent::Talking {
                    participant,
                    talking: true,
                });
            }
        }
    }

    fn join_as_publisher(&mut self, now: Time, handle_id: JanusId) {
        let join = Join {
            ptype: Ptype::Publisher,
            room: self.access.room.clone(),
            pin: self.access.pin.clone(),
            token: self.access.room_token.clone(),
            id: Some(self.me.clone()),
            private_id: None,
            streams: Vec::new(),
        };
        self.message(
            now,
            Waiting::JoinAsPublisher,
            handle_id,
            Body::Join(join),
            None,
        );
    }

    /// Detaches the spoiled publisher handle; a fresh one is attached and joins once
    /// Janus confirms (the same id cannot be in the room twice).
    fn replace_publisher(&mut self, now: Time) {
        let (Some(_), Some(handle_id)) = (self.session, self.publisher.take()) else {
            return;
        };
        self.publishing = Publishing::Joining;
        self.private_id = None;
        self.send(
            now,
            Some(Waiting::DetachSpoiled),
            Some(handle_id),
            Verb::Detach,
        );
    }

    /// Sends the next change of the subscriber connection, if one is due and none is
    /// in progress.
    fn sync_subscription(&mut self, now: Time) {
        let (Some(handle_id), Some(private_id)) = (self.subscriber, self.private_id) else {
            return;
        };
        if self.subscriber_busy || self.phase != Phase::Running {
            return;
        }
        let mut want: Vec<&StreamRef> = Vec::new();
        for at in self
            .wanted
            .iter()
            .filter_map(|s| self.feeds.published_at(*s))
        {
            if !want.contains(&at) {
                want.push(at);
            }
        }
        let have: Vec<&StreamRef> = self.feeds.subscriptions().collect();
        let missing_from = |from: &[&StreamRef], these: &[&StreamRef]| -> Vec<StreamRef> {
            these
                .iter()
                .filter(|s| !from.contains(s))
                .map(|s| (*s).clone())
                .collect()
        };
        let body = if self.subscribed {
            let subscribe = missing_from(&have, &want);
            let unsubscribe = missing_from(&want, &have);
            if subscribe.is_empty() && unsubscribe.is_empty() {
                return;
            }
            Body::Update {
                subscribe,
                unsubscribe,
            }
        } else {
            if want.is_empty() {
                return;
            }
            Body::Join(Join {
                ptype: Ptype::Subscriber,
                room: self.access.room.clone(),
                pin: self.access.pin.clone(),
                token: self.access.room_token.clone(),
                id: None,
                private_id: Some(private_id),
                streams: want.into_iter().cloned().collect(),
            })
        };
        self.subscriber_busy = true;
        self.message(now, Waiting::Subscribe, handle_id, body, None);
    }

    /// Asks for the layers that changed, in one `configure`.
    fn send_layers(&mut self, now: Time) {
        let Some(handle_id) = self.subscriber.filter(|_| self.subscribed) else {
            return;
        };
        if self.subscriber_busy || self.phase != Phase::Running {
            return;
        }
        let mut streams = Vec::new();
        for (stream, layer) in &self.layers {
            let Some(mid) = self.feeds.mid_of(*stream) else {
                continue;
            };
            let sent =
                |(m, s, l): &(String, RemoteStream, Layer)| m == mid && s == stream && l == layer;
            if stream.kind != MediaKind::Video || self.layers_sent.iter().any(sent) {
                continue;
            }
            self.layers_sent.retain(|(m, ..)| m != mid);
            self.layers_sent.push((mid.to_string(), *stream, *layer));
            streams.push(LayerChoice {
                mid: mid.to_string(),
                substream: layer.substream,
                temporal: layer.temporal,
            });
        }
        if !streams.is_empty() {
            let body = Body::Configure(Configure {
                descriptions: Vec::new(),
                streams,
            });
            self.message(now, Waiting::Configure, handle_id, body, None);
        }
    }

    fn attach(&mut self, now: Time, leg: Leg) {
        if self.session.is_some() {
            let plugin = VIDEOROOM;
            self.send(
                now,
                Some(Waiting::Attach(leg)),
                None,
                Verb::Attach { plugin },
            );
        }
    }

    fn message(
        &mut self,
        now: Time,
        waiting: Waiting,
        handle_id: JanusId,
        body: Body,
        jsep: Option<Jsep>,
    ) {
        if self.session.is_some() {
            self.send(
                now,
                Some(waiting),
                Some(handle_id),
                Verb::Message { body, jsep },
            );
        }
    }

    /// Queues a request with a fresh transaction id, about our session (once there is
    /// one) and `handle_id`; `waiting`: what its result means.
    fn send(
        &mut self,
        now: Time,
        waiting: Option<Waiting>,
        handle_id: Option<JanusId>,
        verb: Verb,
    ) {
        self.send_about(now, waiting, self.session, handle_id, verb);
    }

    fn send_about(
        &mut self,
        now: Time,
        waiting: Option<Waiting>,
        session_id: Option<JanusId>,
        handle_id: Option<JanusId>,
        verb: Verb,
    ) {
        self.counter += 1;
        let transaction = format!("{:x}-{}", self.seed, self.counter);
        if let Some(waiting) = waiting {
            let deadline = now + REPLY_TIMEOUT;
            self.pending.push(Pending {
                transaction: transaction.clone(),
                waiting,
                deadline,
            });
        }
        let frame = Request {
            transaction,
            token: self.access.token.clone(),
            session_id,
            handle_id,
            verb,
        };
        self.out.push(frame.to_json());
        self.last_sent = now;
    }

    fn take(&mut self, transaction: Option<String>) -> Option<Waiting> {
        let transaction = transaction?;
        let i = self
            .pending
            .iter()
            .position(|p| p.transaction == transaction)?;
        Some(self.pending.remove(i).waiting)
    }

    fn handle(&self, leg: Leg) -> Option<JanusId> {
        match leg {
            Leg::Publisher => self.publisher,
            Leg::Subscriber => self.subscriber,
        }
    }

    fn leg_of(&self, sender: JanusId) -> Option<Leg> {
        [Leg::Publisher, Leg::Subscriber]
            .into_iter()
            .find(|leg| self.handle(*leg) == Some(sender))
    }

    fn notice(&mut self, sender: JanusId, event: impl FnOnce(Leg) -> JanusEvent) {
        if let Some(leg) = self.leg_of(sender) {
            self.events.push(event(leg));
        }
    }

    fn fail(&mut self, error: JanusError) {
        self.finish(JanusEvent::Failed(error));
    }

    fn finish(&mut self, last: JanusEvent) {
        if self.phase == Phase::Done {
            return;
        }
        self.phase = Phase::Done;
        self.pending.clear();
        self.events.push(last);
    }
}

fn offer_jsep(sdp: String) -> Jsep {
    Jsep {
        kind: SdpKind::Offer,
        sdp,
    }
}
